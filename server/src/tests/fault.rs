//! Injected faults over loopback: each kind at 100% shows exactly its symptom and is counted;
//! partial rates follow `Faults::decide` exactly; delays do not block the core; proxies never
//! fault.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use super::{expected, server, Client};
use crate::*;

fn faulty(protocol: ServeProtocol, spec: &str) -> ServerHandle {
    start(ServeConfig {
        cores: 1,
        protocol,
        faults: Faults::parse(spec).unwrap(),
        ..ServeConfig::default()
    })
    .expect("start a faulty target")
}

fn content_length(headers: &[(String, String)]) -> usize {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .unwrap()
        .1
        .parse()
        .unwrap()
}

#[test]
fn fault_reset_sends_part_of_the_body_then_rst() {
    let h = faulty(ServeProtocol::Http, "reset=100%");
    h.insert("b/o", 100_000);
    let mut c = Client::connect(&h);
    c.send(b"GET /b/o HTTP/1.1\r\n\r\n");
    let (status, headers) = c.read_head();
    assert_eq!((status, content_length(&headers)), (200, 100_000));
    let mut got = Vec::new();
    let err =
        c.r.read_to_end(&mut got)
            .expect_err("a reset, not a clean end");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(got.len() < 100_000);
    assert!(
        got == expected("b/o", 0, got.len()),
        "the part sent is the object's"
    );
    // PUTs are not reset; HEADs are not drawn.
    let mut c = Client::connect(&h);
    assert_eq!(c.req("PUT", "b/p", "", b"xyz").status, 201);
    assert_eq!(c.req("HEAD", "b/o", "", b"").status, 200);
    let f = h.counters().faults;
    assert_eq!(
        f,
        FaultCounts {
            reset: 1,
            ..FaultCounts::default()
        }
    );
}

#[test]
fn fault_truncate_sends_half_the_body_then_closes() {
    let h = faulty(ServeProtocol::Ais, "truncate=1");
    h.insert("b/o", 10_000);
    let mut c = Client::connect(&h);
    c.send(b"GET /v1/objects/b/o?provider=ais HTTP/1.1\r\n\r\n");
    let (status, headers) = c.read_head();
    assert_eq!((status, content_length(&headers)), (200, 10_000));
    let mut got = Vec::new();
    c.r.read_to_end(&mut got).expect("a clean close");
    assert_eq!(got.len(), 5_000);
    assert!(got == expected("b/o", 0, 5_000));
    assert_eq!(h.counters().faults.truncate, 1);
    assert_eq!(h.counters().bytes_out, 5_000);
}

#[test]
fn fault_500_and_503_answer_keep_alive_and_drop_put_bodies() {
    let h = faulty(ServeProtocol::Http, "500=100%");
    h.insert("b/o", 10);
    let mut c = Client::connect(&h);
    let r = c.req("GET", "b/o", "", b"");
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, "internal server error\n")
    );
    let r = c.req("PUT", "b/new", "", &[1u8; 100_000]);
    assert_eq!(r.status, 500);
    assert_eq!(h.object_size("b/new"), None, "a faulted PUT stores nothing");
    // Same connection, still in step: HEAD and DELETE are never faulted.
    assert_eq!(c.req("HEAD", "b/o", "", b"").status, 200);
    assert_eq!(c.req("DELETE", "b/o", "", b"").status, 204);
    let t = h.counters();
    assert_eq!(
        (t.faults.http500, t.status.get(500), t.bytes_in),
        (2, 2, 100_000)
    );

    let h = faulty(ServeProtocol::Ais, "503=100%");
    h.insert("b/o", 10);
    let mut c = Client::connect(&h);
    let r = c.call("GET", "v1/objects/b/o?provider=ais", "", b"");
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["status"], 503);
    let head = "PUT /v1/objects/b/o?provider=ais HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    c.send(head.as_bytes());
    assert_eq!(
        c.read_head().0,
        100,
        "the body of a faulted PUT is read first"
    );
    c.send(b"12345");
    assert_eq!(c.read_resp(false).status, 503);
    assert_eq!(h.counters().faults.http503, 2);
}

#[test]
fn fault_delay_holds_the_answer_without_blocking_the_core() {
    let h = faulty(ServeProtocol::Http, "delay=100%:300ms");
    h.insert("b/o", 10);
    let mut slow = Client::connect(&h);
    let t0 = Instant::now();
    slow.send(b"GET /b/o HTTP/1.1\r\n\r\n");
    // The same (single) core answers another connection meanwhile.
    std::thread::sleep(Duration::from_millis(20));
    let mut other = Client::connect(&h);
    let r = other.req("HEAD", "b/o", "", b"");
    assert_eq!(r.status, 200);
    assert!(
        t0.elapsed() < Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    let r = slow.read_resp(false);
    assert_eq!((r.status, r.body.len()), (200, 10));
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    // Pipelined requests stay in order behind a held answer.
    slow.send(b"GET /b/o HTTP/1.1\r\n\r\nHEAD /b/o HTTP/1.1\r\n\r\n");
    assert_eq!(slow.read_resp(false).body.len(), 10);
    assert_eq!(slow.read_resp(true).status, 200);
    assert_eq!(h.counters().faults.delay, 2);
}

#[test]
fn fault_partial_rates_match_the_decision_function_exactly() {
    let spec = "503=30%,500=10%";
    let h = faulty(ServeProtocol::Http, spec);
    h.insert("b/o", 1);
    let plan = Faults::parse(spec).unwrap();
    let mut c = Client::connect(&h);
    let (mut e503, mut e500) = (0, 0);
    for seq in 0..300u64 {
        let put = seq % 3 == 0;
        let r = if put {
            c.req("PUT", "b/o", "", b"x")
        } else {
            c.req("GET", "b/o", "", b"")
        };
        let want = match plan.decide(seq).kind {
            Some(FaultKind::Http503) => 503,
            Some(FaultKind::Http500) => 500,
            _ if put => 204,
            _ => 200,
        };
        assert_eq!(r.status, want, "request {seq}");
        e503 += u64::from(r.status == 503);
        e500 += u64::from(r.status == 500);
    }
    let f = h.counters().faults;
    assert_eq!((f.http503, f.http500), (e503, e500));
    assert!(e503 > 60 && e500 > 10, "{e503} {e500}");
}

#[test]
fn fault_only_on_targets_never_on_proxies() {
    let c = start_cluster(ClusterConfig {
        proxies: 1,
        targets: 1,
        base: ServeConfig {
            cores: 1,
            protocol: ServeProtocol::Ais,
            faults: Faults::parse("500=100%").unwrap(),
            ..ServeConfig::default()
        },
    })
    .unwrap();
    c.insert(Provider::Ais, "b", "o", 10);
    let proxy = c.proxy_urls()[0]
        .strip_prefix("http://")
        .unwrap()
        .parse()
        .unwrap();
    let r = Client::to(proxy).call("GET", "v1/objects/b/o?provider=ais", "", b"");
    assert_eq!(r.status, 301);
    let loc = r.header("location").unwrap();
    let target = c.target_urls()[0].clone();
    let rest = loc.strip_prefix(&format!("{target}/")).unwrap();
    let taddr = target.strip_prefix("http://").unwrap().parse().unwrap();
    assert_eq!(Client::to(taddr).call("GET", rest, "", b"").status, 500);
    let s = c.stats();
    assert_eq!(
        (s[0].counters.faults.http500, s[1].counters.faults.http500),
        (0, 1)
    );
    // A plain server without faults never counts any.
    assert_eq!(server(1).counters().faults, FaultCounts::default());
}
