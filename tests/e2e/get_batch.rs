//! End-to-end, AIS GetBatch (`--get-batchsize`, `--cont-on-err`): the real binary against the
//! built-in AIS cluster. Every count is checked against the listeners' own counters
//! (`ml.get_batch`, `get_batch_members`, `get_batch_missing` in `GET /v1/ringload/stats`).

use std::io::{Read, Write};

use crate::common;

use common::cluster::Cluster;
use common::*;

fn ais(c: &Cluster) -> Run {
    Run::new().protocol("ais").endpoint(&c.proxies[0])
}

/// Sum of `ml.<key>` over the targets.
fn ml(c: &Cluster, key: &str) -> u64 {
    c.targets
        .iter()
        .map(|u| Cluster::stats(u)["ml"][key].as_u64().unwrap())
        .sum()
}

/// The result document a `--json` run printed.
fn json(r: &Ran) -> serde_json::Value {
    serde_json::from_str(&r.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout(), r.stderr()))
}

fn missing(r: &serde_json::Value) -> u64 {
    r["ops"]["get_batch"]["errors_by_kind"]["missing"]
        .as_u64()
        .unwrap_or(0)
}

/// PUTs `n` objects into `bucket` through the proxy; returns the bytes written.
fn put(c: &Cluster, bucket: &str, n: u64) -> u64 {
    let r = ais(c)
        .bucket(bucket)
        .pctput(100)
        .maxputs(n)
        .sizes("1K", "16K")
        .workers(8)
        .flag("--json")
        .run();
    r.ok();
    let v = json(&r);
    r.check(op(&v, "put", "count") == n, "every PUT succeeded");
    op(&v, "put", "bytes")
}

/// Every object name of `ais://<b>`, through the proxy's listing.
fn names(c: &Cluster, b: &str) -> Vec<String> {
    let body = r#"{"action":"list","value":{"prefix":"","continuation_token":"","flags":"8192"}}"#;
    let hostport = c.proxies[0].trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(hostport).unwrap();
    write!(
        s,
        "GET /v1/buckets/{b}?provider=ais HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: \
         application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let json = text.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// 256 objects at batch 32, one epoch, every member verified: 8 batches, 256 objects, 0
/// errors, on the client and on the targets, with both drivers.
#[test]
fn batches_of_32_deliver_every_object_once_verified() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let put_bytes = put(&c, "gb", 256);
    for (k, driver) in DRIVERS.iter().enumerate() {
        let r = ais(&c)
            .bucket("gb")
            .driver(driver)
            .epochs(1)
            .flag("--uniquegets")
            .flag("--verifyhash")
            .arg("--get-batchsize", 32)
            .workers(4)
            .cores(1)
            .flag("--json")
            .run();
        r.ok();
        let v = json(&r);
        let k = k as u64 + 1;
        r.check(op(&v, "get_batch", "count") == 8, "8 batches");
        r.check(op(&v, "get_batch", "objects") == 256, "256 objects");
        r.check(op(&v, "get_batch", "errors") == 0, "no errors");
        r.check(
            op(&v, "get_batch", "bytes") == put_bytes,
            "bytes = bytes PUT",
        );
        r.check(op(&v, "get", "count") == 0, "no per-object GETs");
        assert_eq!(ml(&c, "get_batch"), 8 * k, "targets answered 8 batches");
        assert_eq!(ml(&c, "get_batch_members"), 256 * k);
        assert_eq!(ml(&c, "get_batch_missing"), 0);
    }
}

/// 10 objects that exist and 6 that do not, at batch 4: with `--cont-on-err` the 6 are
/// `missing` errors and the 10 objects; without it each batch with a missing name fails.
#[test]
fn missing_members_are_counted_exactly() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("get-batch-missing");
    put(&c, "m", 10);
    let mut list = names(&c, "m");
    assert_eq!(list.len(), 10);
    for i in 0..6 {
        list.insert(i * 2 + 1, format!("no-such-object-{i}"));
    }
    let fl = dir.path().join("list.txt");
    std::fs::write(&fl, list.join("\n")).unwrap();
    let run = |coer: bool| {
        let mut r = ais(&c)
            .bucket("m")
            .filelist(&fl)
            .epochs(1)
            .flag("--uniquegets")
            .arg("--get-batchsize", 4)
            .workers(1)
            .cores(1)
            .flag("--json");
        if coer {
            r = r.flag("--cont-on-err");
        }
        r.run()
    };
    let r = run(true);
    r.ok();
    let v = json(&r);
    r.check(op(&v, "get_batch", "count") == 4, "4 batches");
    r.check(op(&v, "get_batch", "objects") == 10, "10 objects");
    r.check(missing(&v) == 6, "6 missing");
    r.check(
        op(&v, "get_batch", "errors") == 6,
        "only the missing are errors",
    );
    assert_eq!(ml(&c, "get_batch_missing"), 6);
    assert_eq!(ml(&c, "get_batch_members"), 10);
    assert_eq!(ml(&c, "get_batch"), 4);
    let r = run(false);
    let v = json(&r);
    let ok = op(&v, "get_batch", "count");
    let failed = v["ops"]["get_batch"]["errors_by_kind"]["http-404"]
        .as_u64()
        .unwrap_or(0);
    r.check(ok + failed == 4, "every batch answered once");
    r.check(
        op(&v, "get_batch", "objects") == 4 * ok,
        "only whole batches count",
    );
    r.check(missing(&v) == 0, "no missing without --cont-on-err");
    // Each failed batch holds a missing name; 6 names fill at least 2 of 4 batches.
    r.check(failed >= 2, "batches with a missing name failed");
    assert_eq!(
        ml(&c, "get_batch"),
        4 + ok,
        "targets answered only whole batches"
    );
}

/// Two cores and three epochs: every name is delivered exactly three times.
#[test]
fn epochs_are_exact_across_cores() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let put_bytes = put(&c, "e", 200);
    let r = ais(&c)
        .bucket("e")
        .epochs(3)
        .flag("--uniquegets")
        .arg("--get-batchsize", 16)
        .workers(3)
        .cores(2)
        .flag("--json")
        .run();
    r.ok();
    let v = json(&r);
    r.check(op(&v, "get_batch", "objects") == 600, "600 objects");
    r.check(op(&v, "get_batch", "bytes") == 3 * put_bytes, "bytes 3x");
    r.check(op(&v, "get_batch", "errors") == 0, "no errors");
    assert_eq!(ml(&c, "get_batch_members"), 600);
    assert_eq!(ml(&c, "get_batch"), op(&v, "get_batch", "count"));
}

/// GetBatch is refused where it cannot run, naming the flag (exit 2).
#[test]
fn refusals_name_the_flag() {
    for (args, want) in [
        (
            &["--protocol", "http", "--get-batchsize", "8"][..],
            "--get-batchsize '8' is invalid: GetBatch is an AIStore API",
        ),
        (
            &["--protocol", "ais", "--cont-on-err"][..],
            "--cont-on-err 'set' is invalid",
        ),
        (
            &["--protocol", "ais", "--get-batchsize", "1001"][..],
            "--get-batchsize '1001' is invalid: must be 0..=1000",
        ),
    ] {
        let mut all = vec![
            "run",
            "--endpoint",
            "http://127.0.0.1:9",
            "--duration",
            "1s",
        ];
        all.extend_from_slice(args);
        let r = ringload(&all);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(r.stderr().contains(want), "{args:?}: {}", r.stderr());
    }
}

/// Over https the archive is read through the TLS session (nothing dropped in the kernel):
/// the same exact counts, with and without `--verifyhash`, under both drivers.
#[test]
fn batches_over_https_are_exact() {
    use common::tls::{self, Pki};
    let pki = Pki::make();
    let c = Cluster::start(&[
        "--proxies",
        "1",
        "--targets",
        "2",
        "--tls-cert",
        pki.server.cert.to_str().unwrap(),
        "--tls-key",
        pki.server.key.to_str().unwrap(),
    ]);
    let ca = pki.ca.to_str().unwrap();
    let ml = |key: &str| -> u64 {
        c.targets
            .iter()
            .map(|u| tls::stats(u, &pki.ca)["ml"][key].as_u64().unwrap())
            .sum()
    };
    let r = ais(&c)
        .arg("--tls-ca", ca)
        .bucket("tb")
        .pctput(100)
        .maxputs(96)
        .sizes("1K", "16K")
        .workers(8)
        .flag("--json")
        .run();
    r.ok();
    let put_bytes = op(&json(&r), "put", "bytes");
    let mut k = 0;
    for driver in DRIVERS {
        for verify in [false, true] {
            k += 1;
            let mut run = ais(&c)
                .arg("--tls-ca", ca)
                .bucket("tb")
                .driver(driver)
                .epochs(1)
                .flag("--uniquegets")
                .arg("--get-batchsize", 32)
                .workers(2)
                .cores(1)
                .flag("--json");
            if verify {
                run = run.flag("--verifyhash");
            }
            let r = run.run();
            r.ok();
            let v = json(&r);
            r.check(op(&v, "get_batch", "count") == 3, "3 batches");
            r.check(op(&v, "get_batch", "objects") == 96, "96 objects");
            r.check(op(&v, "get_batch", "errors") == 0, "no errors");
            r.check(
                op(&v, "get_batch", "bytes") == put_bytes,
                "bytes = bytes PUT",
            );
            assert_eq!(ml("get_batch"), 3 * k, "{driver} verify {verify}");
            assert_eq!(ml("get_batch_members"), 96 * k);
        }
    }
}
