//! The worker's per-request features under the scripted driver: the phase boundaries every
//! operation records, the in-flight gauge each tick carries, `--pctupdate`'s GET-then-PUT and
//! `--random-proxy`'s pick, each checked with exact counters.

use super::*;

/// Per phase (`PHASES` order) how many operations passed through it.
fn phase_counts(s: &OpStats) -> [u64; 4] {
    let p = s.phases().expect("every run records phases");
    PHASES.map(|k| p.get(k).count())
}

#[test]
fn a_get_splits_its_latency_into_connect_first_byte_and_body() {
    let mut r = run(workload(0));
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
    assert_eq!(r.answer(recv(head)), Step::Discard(6));
    std::thread::sleep(Duration::from_millis(3));
    assert_eq!(r.answer(Answer::Discarded(6)), Step::Send);
    let get = r.totals(Op::Get);
    assert_eq!(phase_counts(&get), [1, 0, 1, 1]);
    let p = get.phases().unwrap();
    let (connect, fb, body) = (
        p.get(PhaseKind::Connect).figures().max_us,
        p.get(PhaseKind::FirstByte).figures().max_us,
        p.get(PhaseKind::Body).figures().max_us,
    );
    // The operation opened its connection: its latency counts from before the connect.
    let latency = get.latency().max;
    let sum = connect + fb + body;
    assert!(
        sum <= latency + 2 && latency <= sum + 2,
        "connect {connect} + first byte {fb} + body {body} != latency {latency}"
    );
    assert!(
        body >= 3_000,
        "the body took the 3 ms between its bytes: {body}"
    );
    // The second GET reuses the socket: no connect, one more first byte and body.
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_eq!(phase_counts(&r.totals(Op::Get)), [1, 0, 2, 2]);
}

#[test]
fn a_redirect_to_another_host_counts_one_redirect_and_one_connect_per_operation() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    std::thread::sleep(Duration::from_millis(2));
    let moved = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:2/t/obj\r\n\
                  Content-Length: 0\r\n\r\n";
    assert_eq!(r.answer(recv(moved)), Step::Connect);
    r.connect();
    r.answer(Answer::SentAll);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    let get = r.totals(Op::Get);
    // One operation: its two connects are one connect record, its proxy hop one redirect.
    assert_eq!(phase_counts(&get), [1, 1, 1, 1]);
    let p = get.phases().unwrap();
    let hop = p.get(PhaseKind::Redirect).figures().max_us;
    assert!(
        hop >= 2_000,
        "the proxy hop took the 2 ms before its answer: {hop}"
    );
    // The hop is not part of the final request's first byte.
    assert!(p.get(PhaseKind::FirstByte).figures().max_us < hop, "{p:?}");
}

#[test]
fn errors_record_no_phases() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    r.answer(recv(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"));
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(phase_counts(&get), [0; 4]);
}

#[test]
fn each_tick_carries_the_requests_in_flight_per_op() {
    let mut r = run(workload(100));
    let pending = |r: &mut Run| {
        r.s.worker.flush();
        r.ticks.try_recv().unwrap().1.pending
    };
    // A connecting PUT is in flight already.
    assert_eq!(pending(&mut r), [0, 1, 0, 0, 0]);
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert_eq!(pending(&mut r)[Op::Put as usize], 1);
    // Stopped: the answer ends the connection's work, and nothing is in flight.
    r.shared().stop(StopReason::Duration);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Idle);
    assert_eq!(pending(&mut r), [0; 5]);
    // The gauge is a sample, not a sum: adding ticks leaves it alone.
    let mut one = Snapshot::new(0);
    one.pending = [3, 4, 0, 0, 0];
    let mut sum = Snapshot::new(0);
    sum.add(&one);
    assert_eq!(sum.pending, [0; 5]);
}

#[test]
fn an_update_get_is_followed_by_a_put_of_the_same_object_and_size() {
    let mut r = run(Workload {
        pctupdate: 100,
        ..workload(0)
    });
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    let get = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    // The PUT goes out next on the same keep-alive socket, without a new order.
    assert_eq!(r.answer(recv(get)), Step::Send);
    assert_eq!(r.ops(), 1, "the update took no order");
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    let sent = r.sent();
    let put = sent
        .find("PUT /ringload/obj HTTP/1.1\r\n")
        .expect("a PUT of obj");
    assert!(sent[put..].contains("Content-Length: 10\r\n"), "{sent}");
    let start = content::object_start(b"ringload/obj");
    let head_end = put + sent[put..].find("\r\n\r\n").unwrap() + 4;
    assert!(content::pattern().verify(start, 0, &r.s.sent[0][head_end..]));
    assert_eq!(r.s.sent[0].len() - head_end, 10);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_counts(&r.totals(Op::Get), 1, 10, 0);
    assert_counts(&r.totals(Op::Put), 1, 10, 0);
    assert_eq!(r.ops(), 2, "then the next GET");
    // A failed GET is not followed by an update.
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    let missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(r.answer(recv(missing)), Step::Send);
    assert_eq!(r.ops(), 3);
    assert_counts(&r.totals(Op::Put), 1, 10, 0);
}

#[test]
fn random_proxy_requests_go_to_the_proxies_and_are_counted() {
    let proxies = ["127.0.0.1:2", "127.0.0.1:3"];
    let mut r = run(Workload {
        proxies: proxies
            .iter()
            .map(|p| Endpoint::parse(&format!("http://{p}")).unwrap())
            .collect(),
        ..workload(0)
    });
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for _ in 0..40 {
        if r.step() == Step::Connect {
            r.connect();
        }
        assert_eq!(r.answer(Answer::SentAll), Step::Recv);
        let host =
            r.s.worker
                .hosts
                .get(r.s.worker.conns[0].host)
                .header
                .clone();
        assert!(proxies.contains(&host.as_str()), "{host}");
        let sent = r.sent();
        let last = &sent[sent.rfind("GET ").unwrap()..];
        assert!(last.contains(&format!("Host: {host}\r\n")), "{last}");
        r.answer(recv(ok));
    }
    let counts = r.s.worker.proxy_counts.clone();
    assert_eq!(counts.iter().sum::<u64>(), 41, "40 done and one in flight");
    assert!(counts.iter().all(|&n| n >= 8), "{counts:?}");
    r.s.worker.flush();
    let shared = r.shared().proxy_counts();
    assert_eq!(
        shared,
        vec![
            ("http://127.0.0.1:2".to_string(), counts[0]),
            ("http://127.0.0.1:3".to_string(), counts[1])
        ]
    );
}
