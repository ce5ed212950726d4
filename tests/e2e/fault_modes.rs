//! End-to-end reliability: the real binary against the built-in AIS cluster with each fault
//! mode on (`ringload serve --fault KIND=RATE`). The run completes, every failure is counted by
//! kind exactly as often as the targets injected it, and no failure is counted as a success:
//! a truncated body is a `short-body` error, never bytes.

use crate::common;

use common::cluster::Cluster;
use common::*;

const OBJ: u64 = 4096;

/// Fills a fresh cluster (faulty only where noted) with objects of `OBJ` bytes; returns the
/// number stored.
fn fill(c: &Cluster, bucket: &str, n: u32) -> u64 {
    let dir = Scratch::new("fault-fill");
    let res = dir.path().join("put.json");
    let run = Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .bucket(bucket)
        .pctput(100)
        .maxputs(n)
        .size("4K")
        .workers(8)
        .result(&res)
        .run();
    run.check(run.code() <= 1, "the PUT run completes");
    op(&result(&res), "put", "count")
}

#[test]
fn each_fault_mode_is_counted_by_kind_and_never_as_success() {
    let cases = [
        ("reset=10%", "reset", "reset"),
        ("truncate=10%", "truncate", "short-body"),
        ("500=10%", "500", "http-500"),
        ("503=10%", "503", "http-503"),
    ];
    for driver in DRIVERS {
        for (spec, fault, kind) in cases {
            let c = Cluster::start(&["--proxies", "1", "--targets", "2", "--fault", spec]);
            let stored = fill(&c, "f", 300);
            assert!(stored > 200, "{spec}: only {stored} objects stored");
            let before = Cluster::faults(&c.targets, fault);
            let dir = Scratch::new("fault-get");
            let res = dir.path().join("get.json");
            let run = Run::new()
                .protocol("ais")
                .endpoint(&c.proxies[0])
                .bucket("f")
                .driver(driver)
                .epochs(1)
                .workers(8)
                .result(&res)
                .run();
            run.check(run.code() == 0, &format!("{spec}: the run completes"));
            let r = result(&res);
            let (count, errors) = (op(&r, "get", "count"), op(&r, "get", "errors"));
            let injected = Cluster::faults(&c.targets, fault) - before;
            let by_kind = r["ops"]["get"]["errors_by_kind"][kind]
                .as_u64()
                .unwrap_or(0);
            run.check(
                injected > 0,
                &format!("{spec}: the targets injected faults"),
            );
            run.check(
                by_kind == injected && errors == injected,
                &format!("{spec}: {injected} injected, client counted {by_kind} {kind} of {errors} errors"),
            );
            run.check(
                count + errors == stored,
                &format!("{spec}: every object read once"),
            );
            run.check(
                op(&r, "get", "bytes") == count * OBJ,
                &format!("{spec}: only whole successful bodies count as bytes"),
            );
        }
    }
}

#[test]
fn delayed_first_bytes_are_latency_not_errors() {
    let c = Cluster::start(&[
        "--proxies",
        "1",
        "--targets",
        "1",
        "--fault",
        "delay=20%:150ms",
    ]);
    let stored = fill(&c, "d", 100);
    let before = Cluster::faults(&c.targets, "delay");
    let dir = Scratch::new("fault-delay");
    let res = dir.path().join("get.json");
    let run = Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .bucket("d")
        .epochs(1)
        .workers(4)
        .result(&res)
        .run();
    run.ok();
    let r = result(&res);
    run.check(op(&r, "get", "count") == stored, "every object read");
    run.check(op(&r, "get", "errors") == 0, "a delay is not an error");
    let delayed = Cluster::faults(&c.targets, "delay") - before;
    run.check(delayed > 0, "some reads were delayed");
    let max = r["ops"]["get"]["latency_us"]["max"].as_u64().unwrap();
    run.check(
        max >= 150_000,
        &format!("max latency {max} µs shows the 150 ms delay"),
    );
}
