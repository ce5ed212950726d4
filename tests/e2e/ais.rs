//! End-to-end, AIS native protocol: the real binary against the built-in AIS cluster emulation
//! (`ringload serve --protocol ais --proxies 2 --targets 3`, a separate process on loopback).
//! Counts are checked against the listeners' own counters (`GET /v1/ringload/stats`): every
//! object request reaches a proxy once and is redirected, and every body is served by a target.

use crate::common;

use common::cluster::Cluster;
use common::*;

/// `ringload run --protocol ais --endpoint` the cluster's proxy number `proxy`.
fn ais(c: &Cluster, proxy: usize) -> Run {
    Run::new().protocol("ais").endpoint(&c.proxies[proxy])
}

/// PUT through the proxies, then read every object exactly twice (two epochs) with verified
/// bodies: exact counts on the client and on the listeners, bodies only from targets.
#[test]
fn ais_cluster_put_then_two_verified_epochs() {
    for driver in DRIVERS {
        let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
        let dir = Scratch::new("ais-e2e");
        let put_res = dir.path().join("put.json");
        let put = ais(&c, 0)
            .bucket("ais://train")
            .driver(driver)
            .pctput(100)
            .maxputs(300)
            .sizes("1K", "64K")
            .workers(8)
            .result(&put_res)
            .run();
        put.ok();
        put.check(
            put.stderr().contains("created bucket ais://train"),
            "bucket created",
        );
        let r = result(&put_res);
        put.check(op(&r, "put", "count") == 300, "300 PUTs succeeded");
        put.check(op(&r, "put", "errors") == 0, "no PUT errors");
        let put_bytes = op(&r, "put", "bytes");
        assert_eq!(
            Cluster::sum(&c.targets, "put"),
            300,
            "targets stored 300 objects"
        );
        assert_eq!(
            Cluster::redirects(&c.proxies),
            300,
            "every PUT came via a proxy redirect"
        );
        assert_eq!(r["workload"]["protocol"], "ais");

        // Two epochs through the other proxy, bodies verified against the content contract.
        let get_res = dir.path().join("get.json");
        let get = ais(&c, 1)
            .bucket("train")
            .driver(driver)
            .epochs(2)
            .flag("--uniquegets")
            .flag("--verifyhash")
            .workers(6)
            .result(&get_res)
            .run();
        get.ok();
        get.check(
            get.stderr().contains("Found 300 existing objects"),
            "listed 300",
        );
        let g = result(&get_res);
        get.check(op(&g, "get", "count") == 600, "every object read twice");
        get.check(
            op(&g, "get", "errors") == 0,
            "no GET errors (verify included)",
        );
        get.check(
            op(&g, "get", "bytes") == 2 * put_bytes,
            "bytes = twice what was PUT",
        );
        assert_eq!(
            Cluster::sum(&c.targets, "get"),
            600,
            "targets served every body"
        );
        assert_eq!(
            Cluster::redirects(&c.proxies),
            300 + 600,
            "proxies redirected every GET and never served one"
        );
        for p in &c.proxies {
            let s = Cluster::stats(p);
            assert_eq!(
                s["status"]["200"].as_u64().unwrap_or(0),
                s["requests"]["list"].as_u64().unwrap_or(0)
                    + s["requests"]["bucket"].as_u64().unwrap_or(0),
                "a proxy answers 200 only to bucket and list calls: {s}"
            );
        }
    }
}

/// 25,000 objects listed across several pages (the cluster pages at 10,000 names).
#[test]
fn ais_listing_of_25000_objects_spans_pages() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    ais(&c, 0)
        .bucket("many")
        .pctput(100)
        .maxputs(25000)
        .size("100")
        .workers(32)
        .run()
        .ok();
    let dir = Scratch::new("ais-list");
    let res = dir.path().join("r.json");
    let get = ais(&c, 0)
        .bucket("many")
        .epochs(1)
        .workers(32)
        .result(&res)
        .run();
    get.ok();
    get.check(
        get.stderr().contains("Found 25000 existing objects"),
        "all listed",
    );
    let r = result(&res);
    get.check(op(&r, "get", "count") == 25000, "each read once");
    let lists = Cluster::sum(&c.proxies, "list");
    assert!(
        lists >= 3,
        "listing took {lists} pages, expected at least 3"
    );
    get.check(
        op(&r, "list", "count") == lists && op(&r, "list", "errors") == 0,
        "ops.list counts every page the proxy served",
    );
}

/// A bearer token goes to the proxy only and never into output or result files; a read-only
/// run on a bucket that had to be created is refused with a hint.
#[test]
fn ais_token_is_never_written_and_new_buckets_need_puts() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "1"]);
    let dir = Scratch::new("ais-token");
    let res = dir.path().join("r.json");
    let secret = "tok-SECRET-4242";
    let run = ais(&c, 0)
        .bucket("tokb")
        .pctput(100)
        .maxputs(20)
        .size("1K")
        .result(&res)
        .flag("--json")
        .env("AIS_AUTHN_TOKEN", secret)
        .run();
    run.ok();
    let file = std::fs::read_to_string(&res).unwrap();
    for (what, text) in [
        ("stdout", run.stdout()),
        ("stderr", run.stderr()),
        ("result", file),
    ] {
        run.check(
            !text.contains(secret),
            &format!("the token leaked into {what}"),
        );
    }
    run.check(
        result(&res)["workload"]["authenticated"] == true,
        "auth recorded as a flag",
    );
    // AIS_ENDPOINT stands in for --endpoint.
    let via_env = Run::new()
        .protocol("ais")
        .bucket("envb")
        .pctput(100)
        .maxputs(5)
        .size("1K")
        .env("AIS_ENDPOINT", &c.proxies[0])
        .run();
    via_env.ok();
    via_env.check(!via_env.stderr().contains("built-in"), "used AIS_ENDPOINT");
    let fresh = ais(&c, 0).bucket("empty-new").duration("2s").run();
    fresh.check(
        fresh.code() == 2,
        "a GET run on a just-created bucket is a usage error",
    );
    fresh.check(
        fresh.stderr().contains("--pctput 100"),
        "the hint names the fix",
    );
}

/// `--cleanup` destroys the ais:// bucket the run filled: the next read-only run finds no
/// bucket (and is told to fill it first).
#[test]
fn ais_cleanup_destroys_the_bucket() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let run = ais(&c, 0)
        .bucket("tmp")
        .pctput(100)
        .maxputs(50)
        .size("1K")
        .flag("--cleanup")
        .run();
    run.ok();
    run.check(
        run.stderr()
            .contains("Cleaning up: destroying ais://tmp...\nDone\n"),
        "says so, naming the bucket",
    );
    assert_eq!(Cluster::sum(&c.targets, "put"), 50);
    let after = ais(&c, 0).bucket("tmp").duration("1s").run();
    after.check(
        after.code() == 2,
        "the bucket is gone: a read-only run is refused",
    );
    after.check(after.stderr().contains("did not exist"), "and says why");
}

/// The example of docs/protocols.md for a cloud bucket through AIS, as written (with the
/// sizes the docs give), with `AIS_ENDPOINT` from the example above it naming a
/// `ringload serve --protocol ais` cluster.
const CLOUD_EXAMPLE: [&str; 13] = [
    "--protocol",
    "ais",
    "--bucket",
    "s3://my-bucket",
    "--pctput",
    "100",
    "--maxputs",
    "1000",
    "--cleanup",
    "--minsize",
    "4K",
    "--maxsize",
    "4K",
];

/// The names in bucket `b` of `provider`, as the proxy at `url` lists them (one page), or the
/// status of a refused listing.
fn listing(url: &str, b: &str, provider: &str) -> Result<Vec<String>, u16> {
    use std::io::{Read, Write};
    let hostport = url.trim_start_matches("http://");
    let body = r#"{"action":"list","value":{"prefix":"","continuation_token":"","pagesize":0}}"#;
    let mut s = std::net::TcpStream::connect(hostport).unwrap();
    write!(
        s,
        "GET /v1/buckets/{b}?provider={provider} HTTP/1.1\r\nHost: {hostport}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status: u16 = text[9..12].parse().unwrap();
    if status != 200 {
        return Err(status);
    }
    let v: serde_json::Value = serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1)
        .unwrap_or_else(|e| panic!("list of {provider}://{b}: {e}: {text}"));
    Ok(v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect())
}

/// A cloud bucket through AIS (the docs' example): no create call, every PUT redirected to a
/// target, `--cleanup` deletes them all in one batch (`--evict-batchsize`, 1000 by default, as
/// aisloader), and every message names the bucket
/// as given, `s3://my-bucket`.
#[test]
fn ais_cloud_bucket_example_runs_as_written() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let run = Run::new()
        .args(&CLOUD_EXAMPLE)
        .env("AIS_ENDPOINT", &c.proxies[0])
        .run();
    run.ok();
    let err = run.stderr();
    run.check(
        err.contains(&format!(
            "against {} from AIS_ENDPOINT (ais bucket s3://my-bucket): 100% PUT of 4096..4096 \
             bytes, until 1000 PUTs",
            c.proxies[0]
        )),
        "the plan line names s3://my-bucket",
    );
    run.check(
        err.contains(
            "Cleaning up: deleting the 1000 names this run listed or wrote from \
             s3://my-bucket...\nDone\n",
        ),
        "the cleanup names s3://my-bucket",
    );
    run.check(
        !err.contains("ais://") && !err.contains("warning"),
        "no message names ais:// or warns",
    );
    assert_eq!(
        Cluster::sum(&c.targets, "put"),
        1000,
        "targets stored 1000 PUTs"
    );
    assert_eq!(
        Cluster::redirects(&c.proxies),
        1000,
        "every PUT came via a proxy"
    );
    let proxy = Cluster::stats(&c.proxies[0]);
    assert_eq!(
        (
            proxy["requests"]["bucket"].as_u64(),
            proxy["requests"]["list"].as_u64()
        ),
        (Some(1), Some(0)),
        "no presence check or create before the run, 1 delete batch after: {proxy}"
    );
    assert_eq!(
        listing(&c.proxies[0], "my-bucket", "aws"),
        Ok(vec![]),
        "the cleanup emptied s3://my-bucket"
    );
    assert_eq!(
        listing(&c.proxies[0], "my-bucket", "ais"),
        Err(404),
        "ais://my-bucket is another bucket, never created"
    );
    // The same example with nothing naming a target loads the built-in cluster.
    let builtin = Run::new().args(&CLOUD_EXAMPLE).run();
    builtin.ok();
    builtin.check(
        builtin.stderr().contains("(ais bucket s3://my-bucket)")
            && builtin.stderr().contains(
                "Cleaning up: deleting the 1000 names this run listed or wrote from \
                 s3://my-bucket...\nDone\n",
            ),
        "the built-in target takes the cloud bucket too",
    );
}

/// Every rank of a run creates a missing bucket (a second create is accepted), but only rank
/// 0 says so: a 64-rank run prints the note once, not 64 times.
#[test]
fn only_rank_0_notes_the_created_bucket() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let rank = |r: u32, bucket: &str| {
        ais(&c, 0)
            .bucket(bucket)
            .pctput(100)
            .maxputs(10)
            .size("1K")
            .rank(r)
            .arg("--ranks", "2")
            .arg("--run-id", "note-1")
            .run()
    };
    let r1 = rank(1, "made-by-1");
    r1.ok();
    r1.check(
        !r1.stderr().contains("created bucket"),
        "rank 1 stays quiet",
    );
    let r0 = rank(0, "made-by-0");
    r0.ok();
    r0.check(
        r0.stderr()
            .contains("note: created bucket ais://made-by-0\n"),
        "rank 0 says it created the bucket",
    );
}

/// `run --protocol ais` without an endpoint loads a built-in cluster (1 proxy, 2 targets), so
/// redirects and the per-host pool work out of the box; `--protocol s3` gets a built-in S3.
#[test]
fn builtin_targets_for_ais_and_s3() {
    for proto in ["ais", "s3"] {
        let run = Run::new()
            .protocol(proto)
            .duration("2s")
            .size("4K")
            .arg("--prefill", "200")
            .workers(4)
            .flag("--json")
            .env("AWS_ACCESS_KEY_ID", "AK")
            .env("AWS_SECRET_ACCESS_KEY", "SK")
            .env("AWS_PROFILE", "")
            .run();
        run.ok();
        run.check(
            run.stderr().contains(&format!("built-in {proto} target")),
            "says so",
        );
        let r: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        run.check(op(&r, "get", "count") > 200, "reads went through");
        run.check(op(&r, "get", "errors") == 0, "no errors");
        run.check(r["workload"]["protocol"] == proto, "protocol recorded");
    }
}
