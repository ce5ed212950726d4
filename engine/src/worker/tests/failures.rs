//! The worker's failure paths under the scripted driver: timeouts (aborted, cancelled in the
//! kernel, swept again, completed late), operations cancelled at the stop, refused connects
//! and their give-up, HTTP error statuses, and `--verifyhash` catching a changed byte.

use super::*;

/// Sends a GET and lets its deadline pass; returns the run with the operation expired.
fn expired_get() -> Run {
    let mut r = run(workload(0));
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert!(r.s.advance(TIMEOUT / 2).is_empty(), "not yet");
    assert_eq!(r.s.advance(TIMEOUT), vec![0]);
    assert_counts(&r.totals(Op::Get), 0, 0, 0);
    r
}

fn assert_one_timeout(r: &mut Run) {
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Timeout), 1);
    assert_eq!(r.ops(), 2);
}

#[test]
fn an_expired_operation_aborted_by_the_driver_is_one_timeout() {
    let mut r = expired_get();
    // The epoll driver aborts it; its socket is dropped and the next operation reconnects.
    assert_eq!(r.s.abort(0), Step::Connect);
    assert_one_timeout(&mut r);
}

#[test]
fn an_expired_operation_cancelled_in_the_kernel_is_one_timeout() {
    let mut r = expired_get();
    assert_eq!(r.answer(Answer::Errno(libc::ECANCELED)), Step::Connect);
    assert_one_timeout(&mut r);
}

#[test]
fn an_expired_operation_still_outstanding_is_cancelled_again_on_each_sweep() {
    let mut r = expired_get();
    assert!(r.s.worker.recancel.is_empty());
    // The kernel has not completed it yet: the next sweeps list it again, not as expired.
    for _ in 0..2 {
        assert!(r.s.advance(super::super::SWEEP).is_empty());
        assert_eq!(r.s.worker.recancel, vec![0]);
    }
    assert_eq!(r.answer(Answer::Errno(libc::ECANCELED)), Step::Connect);
    assert_one_timeout(&mut r);
    r.s.advance(super::super::SWEEP);
    assert!(r.s.worker.recancel.is_empty());
}

#[test]
fn an_expired_operation_that_completes_before_its_cancel_is_still_a_timeout() {
    let mut r = expired_get();
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Connect);
    assert_one_timeout(&mut r);
}

#[test]
fn operations_cancelled_at_the_end_of_the_run_are_not_errors() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    r.shared().stop(StopReason::Duration);
    r.shared().cancel.store(true, Ordering::Relaxed);
    assert_eq!(r.s.advance(Duration::from_secs(1)), vec![0]);
    assert_eq!(r.s.abort(0), Step::Idle);
    assert!(r.s.worker.done());
    assert_counts(&r.totals(Op::Get), 0, 0, 0);
    assert_eq!(r.shared().reason(), StopReason::Duration);
}

#[test]
fn a_refused_connect_is_a_connect_error_then_a_backoff_then_a_new_operation() {
    let mut r = run(workload(0));
    let before = Instant::now();
    assert_eq!(r.answer(Answer::Errno(libc::ECONNREFUSED)), Step::Idle);
    let after = Instant::now();
    let Phase::Sleeping(until) = r.s.worker.conns[0].phase else {
        panic!("not backing off: {:?}", r.s.worker.conns[0].phase);
    };
    assert!(before + CONNECT_BACKOFF <= until && until <= after + CONNECT_BACKOFF);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Connect), 1);
    assert!(!r.shared().stopping(), "the run has not given up yet");
    assert!(r.s.advance(CONNECT_BACKOFF * 2).is_empty());
    assert_eq!(r.step(), Step::Connect, "woken with a new operation");
    assert_eq!(r.ops(), 2);
    r.connect();
    r.answer(Answer::SentAll);
    r.answer(recv(OK_EMPTY));
    assert_counts(&r.totals(Op::Get), 1, 0, 1);
}

#[test]
fn refused_connects_give_up_after_the_give_up_time_with_no_success() {
    let long_ago = Instant::now().checked_sub(CONNECT_GIVEUP).unwrap();
    let mut r = run_at(workload(0), long_ago);
    assert_eq!(r.answer(Answer::Errno(libc::ECONNREFUSED)), Step::Idle);
    assert!(r.s.worker.done());
    assert_eq!(r.shared().reason(), StopReason::ConnectFailed);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Connect), 1);
}

#[test]
fn refused_connects_never_give_up_once_a_connection_succeeded() {
    let long_ago = Instant::now().checked_sub(CONNECT_GIVEUP).unwrap();
    let mut r = run_at(workload(0), long_ago);
    r.connect();
    r.answer(Answer::SentAll);
    let close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(r.answer(recv(close)), Step::Connect);
    assert_eq!(r.answer(Answer::Errno(libc::ECONNREFUSED)), Step::Idle);
    assert!(!r.shared().stopping());
    assert!(matches!(r.s.worker.conns[0].phase, Phase::Sleeping(_)));
    let get = r.totals(Op::Get);
    assert_counts(&get, 1, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Connect), 1);
}

#[test]
fn an_http_error_is_counted_by_its_status_and_403s_alone_stop_the_run() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    let busy = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(r.answer(recv(busy)), Step::Send);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Http(503)), 1);
    let denied = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    for k in 1..FORBIDDEN_STOP {
        r.answer(Answer::SentAll);
        assert_eq!(r.answer(recv(denied)), Step::Send, "403 number {k}");
    }
    assert!(!r.shared().stopping());
    r.answer(Answer::SentAll);
    assert_eq!(r.answer(recv(denied)), Step::Idle);
    assert!(r.s.worker.done());
    assert_eq!(r.shared().reason(), StopReason::Forbidden);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1 + FORBIDDEN_STOP);
    assert_eq!(get.errors_of(ErrorKind::Http(403)), FORBIDDEN_STOP);
}

/// A verifying GET of `obj` answered with `body` (200, exact length) on a fresh run.
fn verified_get(body: &[u8]) -> Run {
    let mut r = run(Workload {
        verify: true,
        ..workload(0)
    });
    r.connect();
    r.answer(Answer::SentAll);
    let mut resp =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    resp.extend_from_slice(body);
    // The body is copied and checked, never dropped in the kernel.
    assert_eq!(r.answer(Answer::Recv(resp)), Step::Send);
    r
}

#[test]
fn a_verified_get_counts_its_object_as_a_success_and_a_changed_byte_as_an_error() {
    let start = content::object_start(b"ringload/obj");
    let good = content::pattern().chunk(start, 0, 100).to_vec();
    assert_eq!(good.len(), 100);
    let mut r = verified_get(&good);
    assert_counts(&r.totals(Op::Get), 1, 100, 0);
    let mut bad = good;
    bad[60] ^= 1;
    let mut r = verified_get(&bad);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Verify), 1);
}
