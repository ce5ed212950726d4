//! The worker's open loop (`--rate`) under the scripted driver: a free connection waits for
//! the next intended start and never sends before it; a backlog of due starts goes out oldest
//! first as the connection frees up, counted as found without a free connection; the lag,
//! the corrected and the service latency are recorded.

use super::*;
use ringload_core::rate::{Arrival, RatePlan, RateSteps};

/// A one-connection GET run at `rate` ops/s, evenly spaced.
fn rated(rate: f64) -> Workload {
    Workload {
        rate: Some(RatePlan {
            steps: RateSteps::List(vec![rate]),
            arrival: Arrival::Uniform,
            step: None,
            slo: None,
        }),
        ..workload(0)
    }
}

#[test]
fn a_free_connection_waits_for_the_next_intended_start() {
    let mut r = run(rated(10.0));
    let t0 = r.shared().started;
    // Every connection starts free; the first intended start is the run start.
    assert_eq!(r.step(), Step::Idle);
    r.s.advance(Duration::ZERO);
    r.connect();
    assert_eq!(r.s.worker.conns[0].intended, Some(t0));
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    // Done long before the next start (100 ms later): the connection waits, sending nothing.
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Idle);
    assert_eq!(r.s.worker.conns[0].phase, Phase::Waiting);
    assert_eq!(r.ops(), 1);
    r.s.advance(Duration::from_millis(50));
    assert_eq!((r.step(), r.ops()), (Step::Idle, 1), "not before its start");
    // Past the start, the maintenance hands it out: the request goes out on the same socket.
    r.s.advance(Duration::from_millis(60));
    assert_eq!((r.step(), r.ops()), (Step::Send, 2));
    assert_eq!(
        r.s.worker.conns[0].intended,
        Some(t0 + Duration::from_millis(100))
    );
    let get = r.totals(Op::Get);
    assert_eq!(get.count, 1);
    assert_eq!(get.service().map(|s| s.count()), Some(1));
    assert_eq!(r.s.worker.starved, 0);
}

#[test]
fn a_backlog_goes_out_oldest_first_when_the_connection_frees_up() {
    let mut r = run(rated(1000.0));
    let t0 = r.shared().started;
    r.s.advance(Duration::ZERO);
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    // The answer takes 5 ms: the starts at 1..5 ms fall due with no connection free.
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    let ms = Duration::from_millis(1);
    assert_eq!(r.s.worker.conns[0].intended, Some(t0 + ms));
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_eq!(r.s.worker.conns[0].intended, Some(t0 + 2 * ms));
    assert_eq!(r.s.worker.starved, 2);
    // The second request went out at least 4 ms late, and its corrected latency shows it
    // while its service latency does not.
    let lag = r.s.worker.stats.current().lag.as_deref().unwrap();
    assert_eq!(lag.count(), 3);
    assert!(lag.latency().max >= 4_000, "{:?}", lag.latency());
    let get = r.totals(Op::Get);
    assert_eq!(get.count, 2);
    assert!(get.latency().max >= 4_000, "{:?}", get.latency());
    assert!(get.service().unwrap().latency().max < get.latency().max);
}

#[test]
fn a_closed_loop_keeps_no_schedule() {
    let mut r = run(workload(0));
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_eq!(r.s.worker.conns[0].intended, None);
    assert!(r.s.worker.stats.current().lag.is_none());
    assert!(r.totals(Op::Get).service().is_none());
}

/// A rated multipart upload counts its latency from its scheduled start (the corrected
/// latency) and from its creation's send (the service latency), as every rated operation.
#[test]
fn a_rated_multipart_upload_records_its_corrected_and_service_latency() {
    let mut w = rated(10.0);
    w.pctput = 100;
    w.protocol = crate::workload::Protocol::Ais;
    w.ml.multipart_chunks = 1;
    w.ml.pctmultipart = 100;
    let mut r = run(w);
    r.s.advance(Duration::ZERO);
    r.connect();
    assert_eq!(r.s.worker.conns[0].op, Op::PutMpu);
    // Create, its one part, Complete.
    let id = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\"u1\"";
    for answer in [&id[..], OK_EMPTY, OK_EMPTY] {
        assert_eq!(r.answer(Answer::SentAll), Step::Recv);
        r.answer(recv(answer));
    }
    let mpu = r.totals(Op::PutMpu);
    assert_eq!((mpu.count, mpu.bytes, mpu.errors), (1, SIZE, 0));
    assert_eq!(mpu.service().map(|s| s.count()), Some(1));
}
