//! End-to-end, S3: the real binary against s3s-fs 0.14.1, an S3 server that checks SigV4
//! (installed by `.ci/run`). PUT, ListObjectsV2, full
//! and Range GETs with exact counts checked against the files s3s-fs stored, and a wrong
//! secret: every request an `http-403`, a message naming the likely causes, exit 1.
//! `--create-bucket` against s3s-fs and the built-in target; the built-in target loaded with no
//! endpoint and no AWS keys at all.

use crate::common;

use std::process::{Child, Command, Stdio};

use common::s3s::*;
use common::*;

#[test]
fn s3_put_list_get_and_range_with_exact_counts() {
    let s = S3sFs::start("bkt");
    let dir = Scratch::new("s3-e2e");
    let put_res = dir.path().join("put.json");
    s3(&s, SK)
        .bucket("bkt")
        .pctput(100)
        .maxputs(40)
        .sizes("1K", "32K")
        .workers(4)
        .result(&put_res)
        .run()
        .ok();
    let r = result(&put_res);
    assert_eq!(op(&r, "put", "count"), 40);
    assert_eq!(op(&r, "put", "errors"), 0);
    let (n, bytes) = s.stored("bkt");
    assert_eq!(
        (n, bytes),
        (40, op(&r, "put", "bytes")),
        "s3s-fs stored what was PUT"
    );

    let get_res = dir.path().join("get.json");
    let get = s3(&s, SK)
        .bucket("bkt")
        .epochs(2)
        .workers(4)
        .result(&get_res)
        .run();
    get.ok();
    get.check(
        get.stderr().contains("Found 40 existing objects"),
        "listed 40",
    );
    let g = result(&get_res);
    get.check(op(&g, "get", "count") == 80, "two epochs");
    get.check(op(&g, "get", "bytes") == 2 * bytes, "whole objects, twice");

    let range_res = dir.path().join("range.json");
    let rg = s3(&s, SK)
        .bucket("bkt")
        .epochs(1)
        .arg("--readoff", "100")
        .arg("--readlen", "500")
        .result(&range_res)
        .run();
    rg.ok();
    let x = result(&range_res);
    rg.check(op(&x, "get", "count") == 40, "one Range GET per object");
    rg.check(op(&x, "get", "bytes") == 40 * 500, "500 bytes each");
}

#[test]
fn s3_wrong_secret_is_403_with_a_clear_message_and_exit_1() {
    let s = S3sFs::start("bkt");
    let dir = Scratch::new("s3-403");
    let res = dir.path().join("r.json");
    let run = s3(&s, "not-the-secret")
        .bucket("bkt")
        .pctput(100)
        .size("1K")
        .duration("20s")
        .result(&res)
        .run();
    run.check(run.code() == 1, "exit 1");
    run.check(run.stderr().contains("403"), "names the status");
    run.check(
        run.stderr().contains("credentials") && run.stderr().contains("clock"),
        "names the likely causes",
    );
    let r = result(&res);
    let errs = op(&r, "put", "errors");
    run.check(errs > 0 && op(&r, "put", "count") == 0, "no success");
    run.check(
        r["ops"]["put"]["errors_by_kind"]["http-403"].as_u64() == Some(errs),
        "every error is http-403",
    );
    run.check(r["stop_reason"] == "forbidden", "the run ended early");
    let text = std::fs::read_to_string(&res).unwrap();
    run.check(
        !text.contains("not-the-secret") && !run.stderr().contains("not-the-secret"),
        "secret never written",
    );
}

/// The built-in S3 target checks SigV4 with the same verifier: a missing bucket is an error
/// naming --create-bucket, which creates it with a signed CreateBucket; right keys pass, a
/// wrong secret is refused on every request (and the run says why).
#[test]
fn builtin_s3_target_verifies_signatures() {
    use std::io::BufRead;
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringload"))
        .args([
            "serve",
            "--protocol",
            "s3",
            "--access-key",
            AK,
            "--secret-key",
            SK,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Kill(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    let env = |secret: &'static str| {
        [
            ("AWS_ACCESS_KEY_ID", AK),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_PROFILE", ""),
            ("AWS_SHARED_CREDENTIALS_FILE", NO_FILE),
            ("AWS_CONFIG_FILE", NO_FILE),
        ]
    };
    let args = Run::new()
        .protocol("s3")
        .arg("--s3endpoint", &url)
        .bucket("b")
        .pctput(100)
        .maxputs(50)
        .size("1K")
        .flag("--json");
    // The target starts with no buckets: without --create-bucket the run says how to get one.
    let missing = args.clone().envs(&env(SK)).run();
    missing.check(missing.code() == 1, "exit 1");
    missing.check(
        missing
            .stderr()
            .contains("bucket s3://b does not exist at http://")
            && missing
                .stderr()
                .contains("; add --create-bucket to have ringload create it (off by default against a named endpoint), or create it"),
        "the error names --create-bucket",
    );
    // With it, a signed CreateBucket (checked by the same verifier) makes the bucket.
    let good = args.clone().flag("--create-bucket").envs(&env(SK)).run();
    good.ok();
    good.check(
        good.stderr().contains("note: created bucket s3://b\n"),
        "says it created the bucket",
    );
    let r: serde_json::Value = serde_json::from_str(&good.stdout()).unwrap();
    good.check(op(&r, "put", "count") == 50, "signed PUTs accepted");
    let bad = args.envs(&env("wrong")).run();
    bad.check(
        bad.code() == 1 && bad.stderr().contains("403"),
        "refused with a message",
    );
}

/// `--create-bucket` against s3s-fs: a signed CreateBucket makes the bucket, the PUTs land.
#[test]
fn s3_create_bucket_on_s3s_fs() {
    let s = S3sFs::start("bkt");
    let run = s3(&s, SK)
        .bucket("fresh")
        .flag("--create-bucket")
        .pctput(100)
        .maxputs(10)
        .size("1K")
        .workers(2)
        .run();
    run.ok();
    run.check(
        run.stderr().contains("note: created bucket s3://fresh\n"),
        "says it created the bucket",
    );
    assert_eq!(s.stored("fresh"), (10, 10 * 1024), "the PUTs landed in it");
    // The bucket exists now: a second run with the flag leaves it as it is.
    let again = s3(&s, SK)
        .bucket("fresh")
        .flag("--create-bucket")
        .epochs(1)
        .run();
    again.ok();
    again.check(
        !again.stderr().contains("created bucket"),
        "no second create",
    );
    again.check(
        again.stderr().contains("Found 10 existing objects"),
        "listed what the first run wrote",
    );
}

/// `--protocol s3` with no endpoint and no AWS settings at all: the built-in S3 target is
/// loaded with throwaway keys, and the run says so in one note.
#[test]
fn builtin_s3_run_needs_no_aws_keys() {
    let mut r = Run::new().protocol("s3");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "S3_ENDPOINT",
        "RINGLOAD_ENDPOINT",
        "AIS_ENDPOINT",
    ] {
        r = r.env_remove(var);
    }
    let run = r
        .env("AWS_SHARED_CREDENTIALS_FILE", NO_FILE)
        .env("AWS_CONFIG_FILE", NO_FILE)
        .pctput(50)
        .size("1K")
        .workers(2)
        .duration("1s")
        .run();
    run.ok();
    let err = run.stderr();
    let notes: Vec<&str> = err.lines().filter(|l| l.contains("throwaway")).collect();
    run.check(
        notes == ["note: the built-in S3 target accepts any credentials; using throwaway keys"],
        "one note about the throwaway keys",
    );
}

/// `--create-bucket` where it cannot apply is refused before anything runs (exit 2): plain
/// HTTP has no buckets, and AIS cannot create a remote bucket.
#[test]
fn create_bucket_is_refused_where_it_cannot_apply() {
    let cases: [(&[&str], &str); 2] = [
        (
            &["--protocol", "http"],
            "error: --create-bucket is for --protocol s3 (and ais): plain HTTP has no buckets; \
             leave it out",
        ),
        (
            &["--protocol", "ais", "--bucket", "s3://far"],
            "error: --create-bucket cannot create the remote bucket s3://far through AIS",
        ),
    ];
    for (args, want) in cases {
        let run = Run::new()
            .args(args)
            .flag("--create-bucket")
            .duration("1s")
            .env_remove("RINGLOAD_ENDPOINT")
            .env_remove("AIS_ENDPOINT")
            .env_remove("S3_ENDPOINT")
            .run();
        run.check(run.code() == 2, "exit 2");
        run.check(run.stderr().contains(want), want);
    }
}

/// Virtual-host addressing puts the bucket in the host name, which an IP endpoint cannot
/// carry: refused before any connection, naming the flag and the fix.
#[test]
fn virtual_host_addressing_on_an_ip_endpoint_is_refused() {
    let run = Run::new()
        .protocol("s3")
        .arg("--s3endpoint", "http://127.0.0.1:9")
        .arg("--s3-addressing", "virtual")
        .duration("1s")
        .env("AWS_ACCESS_KEY_ID", "AK")
        .env("AWS_SECRET_ACCESS_KEY", "SK")
        .env("AWS_REGION", "us-east-1")
        .run();
    run.check(run.code() == 2, "exit 2");
    run.check(
        run.stderr()
            .contains("use path-style addressing (--s3-addressing path)"),
        "names the fix",
    );
}
