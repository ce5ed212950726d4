//! End-to-end, S3: the real binary against s3s-fs 0.14.1, an S3 server that checks SigV4
//! (installed by `.ci/run`). PUT, ListObjectsV2, full
//! and Range GETs with exact counts checked against the files s3s-fs stored, and a wrong
//! secret: every request an `http-403`, a message naming the likely causes, exit 1.

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

/// The built-in S3 target checks SigV4 with the same verifier: right keys pass, a wrong
/// secret is refused on every request (and the run says why).
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
    // Create the bucket with a signed `PUT /b` (ringload never creates S3 buckets).
    {
        use ringload_engine::s3::sigv4::{AmzDate, Credentials, SignRequest, Signer, EMPTY_SHA256};
        use std::io::{Read, Write};
        let host = url.trim_start_matches("http://");
        let creds = Credentials {
            access_key: AK.into(),
            secret_key: SK.into(),
            session_token: None,
        };
        let mut lines = Vec::new();
        Signer::new(creds, "us-east-1").sign(
            &SignRequest {
                method: "PUT",
                host,
                canonical_uri: b"/b",
                query: b"",
                payload_hash: EMPTY_SHA256,
            },
            &AmzDate::now(),
            &mut lines,
        );
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "PUT /b HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n"
        )
        .unwrap();
        s.write_all(&lines).unwrap();
        s.write_all(b"\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "bucket creation: {resp}");
    }
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
    let good = args.clone().envs(&env(SK)).run();
    good.ok();
    let r: serde_json::Value = serde_json::from_str(&good.stdout()).unwrap();
    good.check(op(&r, "put", "count") == 50, "signed PUTs accepted");
    let bad = args.envs(&env("wrong")).run();
    bad.check(
        bad.code() == 1 && bad.stderr().contains("403"),
        "refused with a message",
    );
}
