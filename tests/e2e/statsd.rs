//! End-to-end, StatsD: `ringload run --statsd` against the built-in target, with a UDP socket
//! in the test as the StatsD server. The metrics carry aisloader's prefix and names, and the
//! GET counters sent over the intervals add up to the result file's count.

use std::net::UdpSocket;
use std::time::Duration;

use crate::common;

use common::*;

/// Every datagram the socket receives until it stays quiet for half a second.
fn drain(rx: &UdpSocket) -> Vec<String> {
    rx.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 65_536];
    let mut grams = Vec::new();
    while let Ok(n) = rx.recv(&mut buf) {
        grams.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    grams
}

/// The sum of `<prefix><series>.count:<n>|c` over the datagrams.
fn counted(grams: &[String], prefix: &str, series: &str) -> u64 {
    let key = format!("{prefix}{series}.count:");
    grams
        .iter()
        .filter_map(|g| g.strip_prefix(&key))
        .map(|v| v.strip_suffix("|c").unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn statsd_gets_aisloaders_metrics_and_the_counts_add_up() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let dir = Scratch::new("statsd");
    let res = dir.path().join("r.json");
    let run = Run::new()
        .arg("--statsd", format!("127.0.0.1:{port}"))
        .arg("--statsinterval", "1s")
        .arg("--loaderid", "10")
        .duration("2s")
        .workers(2)
        .cores(1)
        .result(&res)
        .run();
    run.ok();
    let grams = drain(&rx);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // Loader id 10 is `a` in hex.
    let prefix = format!("aisloader.{}-a.", host.trim());
    for line in grams.iter().flat_map(|g| g.lines()) {
        run.check(line.starts_with(&prefix), &format!("prefix of {line:?}"));
    }
    let gets = op(&result(&res), "get", "count");
    run.check(gets > 0, "the run read something");
    run.check(
        counted(&grams, &prefix, "get") == gets,
        &format!("get.count adds up to {gets}: {grams:?}"),
    );
    run.check(counted(&grams, &prefix, "put") == 0, "no PUT");
    let has = |suffix: &str| grams.iter().any(|g| g.contains(suffix));
    for metric in [
        "get.pending:",
        "get.latency:",
        "get.minlatency:",
        "get.maxlatency:",
        "get.throughput:",
    ] {
        run.check(has(&format!("{prefix}{metric}")), metric);
    }
    // At the end every series' gauges go back to 0.
    run.check(
        grams.last().map(String::as_str)
            == Some(&*format!(
                "{prefix}getmpdstream.throughput:0|g\n{prefix}getmpdstream.pending:0|g"
            )),
        "the last datagram resets the gauges",
    );
}

#[test]
fn a_bad_statsd_address_is_refused_naming_the_flag() {
    let run = Run::new()
        .arg("--statsd", "127.0.0.1")
        .duration("1s")
        .workers(1)
        .cores(1)
        .run();
    run.check(run.code() == 2, "usage error");
    run.check(run.stderr().contains("--statsd"), "names the flag");
    run.check(run.stderr().contains("HOST:PORT"), "says the fix");
}
