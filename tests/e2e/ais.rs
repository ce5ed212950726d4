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
        run.stderr().contains("Cleaning up...") && run.stderr().contains("Done"),
        "says so",
    );
    assert_eq!(Cluster::sum(&c.targets, "put"), 50);
    let after = ais(&c, 0).bucket("tmp").duration("1s").run();
    after.check(
        after.code() == 2,
        "the bucket is gone: a read-only run is refused",
    );
    after.check(after.stderr().contains("did not exist"), "and says why");
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
