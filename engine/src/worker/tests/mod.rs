//! The worker's closed loop under a scripted driver ([`crate::driver::script`]): each test
//! answers the worker's steps with canned completions and checks the exact counters, error
//! kinds and next steps it produces. No byte goes over a network.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::SockAddr;

use super::conn::Phase;
use super::{
    Shared, Step, StopReason, Worker, CONNECT_BACKOFF, CONNECT_GIVEUP, FORBIDDEN_STOP,
    MAX_REDIRECTS,
};
use crate::driver::script::{recv, Answer, Script};
use crate::names::NameList;
use crate::selector::GetSelector;
use crate::stats::{ErrorKind, Op, OpStats, PhaseKind, Snapshot, PHASES};
use crate::workload::{Endpoint, Workload};
use ringload_core::content;

/// Every PUT's body size.
const SIZE: u64 = 1000;
/// The per-operation timeout of these workloads.
const TIMEOUT: Duration = Duration::from_secs(10);
const OK_EMPTY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
/// The request line of every GET of the one listed name.
const GET_LINE: &str = "GET /ringload/obj HTTP/1.1\r\n";

/// A one-connection run of `pctput`% PUTs; GETs read the one listed name, `obj`.
fn workload(pctput: u32) -> Workload {
    Workload {
        endpoint: Some(Endpoint::parse("http://127.0.0.1:1").unwrap()),
        pctput,
        minsize: SIZE,
        maxsize: SIZE,
        numworkers: 1,
        timeout: Some(TIMEOUT),
        ..Workload::default()
    }
}

struct Run {
    s: Script,
    ticks: Receiver<(usize, Snapshot)>,
    /// The ticks the worker already sent.
    sent_ticks: Snapshot,
}

/// A worker for `w` with one connection, under the scripted driver; the run started at
/// `started` (the connect give-up counts from it).
fn run_at(w: Workload, started: Instant) -> Run {
    let mut names = NameList::new();
    names.push("obj");
    let selector = (w.pctput < 100).then(|| GetSelector::new(1, false, 0, w.seed));
    let addr = SockAddr::from(w.endpoint.as_ref().unwrap().addr);
    let shared = Arc::new(Shared::new(
        w,
        addr,
        b"ringload/".to_vec(),
        names,
        selector,
        started,
    ));
    let (tx, ticks) = mpsc::channel();
    Run {
        s: Script::new(Worker::new(0, 1, shared, tx)),
        ticks,
        sent_ticks: Snapshot::new(0),
    }
}

fn run(w: Workload) -> Run {
    run_at(w, Instant::now())
}

impl Run {
    fn answer(&mut self, a: Answer) -> Step {
        self.s.answer(0, a)
    }

    fn step(&self) -> Step {
        self.s.step(0)
    }

    fn shared(&self) -> &Shared {
        &self.s.worker.shared
    }

    /// Operations issued so far (redirects and retries are not new operations).
    fn ops(&self) -> u64 {
        self.shared().ops.load(Ordering::Relaxed)
    }

    /// Everything the worker counted: the ticks it sent plus the one in progress.
    fn totals(&mut self, op: Op) -> OpStats {
        for (_, snap) in self.ticks.try_iter() {
            self.sent_ticks.add(&snap);
        }
        let mut all = self.sent_ticks.clone();
        all.add(self.s.worker.stats.current());
        all.get(op).clone()
    }

    /// The bytes sent on the connection so far, as text.
    fn sent(&self) -> String {
        String::from_utf8_lossy(&self.s.sent[0]).into_owned()
    }

    /// The number of bytes sent after the first request head (the PUT body), checked to be
    /// the object's content.
    fn body_sent(&self) -> usize {
        let sent = &self.s.sent[0];
        let head = sent.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let start = self.s.worker.conns[0].content_start;
        assert!(
            content::pattern().verify(start, 0, &sent[head..]),
            "the body is not the object's content"
        );
        sent.len() - head
    }

    /// Connects the fresh socket the worker asked for.
    fn connect(&mut self) {
        assert_eq!(self.step(), Step::Connect);
        assert_eq!(self.answer(Answer::Connected), Step::Send);
    }
}

/// Asserts the counters of one operation class: successes, bytes, errors, and the histogram
/// holding one latency per success.
fn assert_counts(s: &OpStats, count: u64, bytes: u64, errors: u64) {
    assert_eq!((s.count, s.bytes, s.errors), (count, bytes, errors));
    assert_eq!(s.histogram().len(), count, "one latency per success");
}

#[test]
fn a_put_counts_once_with_its_exact_bytes() {
    let mut r = run(workload(100));
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert!(r.sent().starts_with("PUT /ringload/"), "{}", r.sent());
    assert_eq!(r.body_sent(), SIZE as usize, "the whole body went out");
    // The next PUT goes out on the same keep-alive socket: no connect.
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_counts(&r.totals(Op::Put), 1, SIZE, 0);
    assert_counts(&r.totals(Op::Get), 0, 0, 0);
    assert_eq!(r.ops(), 2);
    assert_eq!(r.s.worker.conns[0].reuse, 1);
}

#[test]
fn a_get_counts_once_with_its_exact_bytes() {
    let mut r = run(workload(0));
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert!(r.sent().starts_with(GET_LINE), "{}", r.sent());
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
    // Four body bytes came with the head; the other six are dropped in the kernel.
    assert_eq!(r.answer(recv(head)), Step::Discard(6));
    assert_eq!(r.answer(Answer::Discarded(6)), Step::Send);
    assert_counts(&r.totals(Op::Get), 1, 10, 0);
    assert_counts(&r.totals(Op::Put), 0, 0, 0);
    assert_eq!(r.ops(), 2);
}

#[test]
fn a_fused_send_and_receive_counts_like_two_steps() {
    let mut r = run(workload(100));
    r.connect();
    assert_eq!(r.s.send_fused(0), Some(Step::Recv));
    assert_eq!(r.body_sent(), SIZE as usize);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_counts(&r.totals(Op::Put), 1, SIZE, 0);
}

#[test]
fn would_block_on_connect_send_and_receive_is_waited_out_without_an_error() {
    let mut r = run(workload(100));
    assert_eq!(r.answer(Answer::WouldBlock), Step::Connect);
    r.connect();
    // A short send, then the socket is full, then the rest.
    assert_eq!(r.answer(Answer::Sent(10)), Step::Send);
    assert_eq!(r.answer(Answer::WouldBlock), Step::Send);
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert_eq!(
        r.body_sent(),
        SIZE as usize,
        "no byte sent twice or skipped"
    );
    assert_eq!(r.answer(Answer::WouldBlock), Step::Recv);
    assert_eq!(r.answer(recv(b"HTTP/1.1 200 OK\r\n")), Step::Recv);
    assert_eq!(r.answer(Answer::WouldBlock), Step::Recv);
    assert_eq!(r.answer(recv(b"Content-Length: 0\r\n\r\n")), Step::Send);
    assert_counts(&r.totals(Op::Put), 1, SIZE, 0);
    assert_eq!(r.ops(), 2);
}

#[test]
fn would_block_on_a_drop_is_waited_out_without_an_error() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n";
    assert_eq!(r.answer(recv(head)), Step::Discard(8));
    assert_eq!(r.answer(Answer::Discarded(3)), Step::Discard(5));
    assert_eq!(r.answer(Answer::WouldBlock), Step::Discard(5));
    assert_eq!(r.answer(Answer::Discarded(5)), Step::Send);
    assert_counts(&r.totals(Op::Get), 1, 8, 0);
}

#[test]
fn a_reset_mid_response_is_one_reset_error_and_the_connection_reopens() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
    assert_eq!(r.answer(recv(head)), Step::Discard(97));
    // The next operation starts on a fresh socket.
    assert_eq!(r.answer(Answer::Errno(libc::ECONNRESET)), Step::Connect);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Reset), 1);
    assert_eq!(r.ops(), 2);
    assert_eq!(r.s.worker.conns[0].reuse, 0);
    assert!(r.s.worker.fd(0) >= 0, "a new socket for the next operation");
}

#[test]
fn a_stale_keep_alive_socket_is_retried_once_without_an_error() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    // The kept socket was closed by the server before it read the second request.
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert_eq!(r.answer(Answer::Errno(libc::ECONNRESET)), Step::Connect);
    assert_counts(&r.totals(Op::Get), 1, 0, 0);
    assert_eq!(r.ops(), 2, "a retry is not a new operation");
    r.connect();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    assert_eq!(r.sent().matches(GET_LINE).count(), 3);
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_counts(&r.totals(Op::Get), 2, 0, 0);
    assert_eq!(r.ops(), 3);
}

#[test]
fn a_close_before_any_response_on_a_fresh_socket_is_a_closed_error() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    // No earlier request could have made this socket stale: the close is the server's answer.
    assert_eq!(r.answer(Answer::Eof), Step::Connect);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Closed), 1);
    assert_eq!(r.ops(), 2);
}

#[test]
fn a_body_shorter_than_its_content_length_is_an_error_never_a_success() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
    assert_eq!(r.answer(recv(head)), Step::Discard(6));
    assert_eq!(r.answer(Answer::Discarded(2)), Step::Discard(4));
    assert_eq!(r.answer(Answer::Eof), Step::Connect);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::ShortBody), 1);
}

#[test]
fn a_redirect_is_followed_and_counted_as_one_operation() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    let moved = b"HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere/o2?x=1\r\n\
                  Content-Length: 0\r\n\r\n";
    // Same host, kept socket: the request goes out again at once.
    assert_eq!(r.answer(recv(moved)), Step::Send);
    assert_eq!(r.ops(), 1);
    assert_counts(&r.totals(Op::Get), 0, 0, 0);
    let first = r.sent().len();
    assert_eq!(r.answer(Answer::SentAll), Step::Recv);
    let again = r.sent()[first..].to_string();
    assert!(
        again.starts_with("GET /elsewhere/o2?x=1 HTTP/1.1\r\n"),
        "{again}"
    );
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    assert_eq!(r.answer(recv(ok)), Step::Send);
    assert_counts(&r.totals(Op::Get), 1, 5, 0);
    assert_eq!(r.ops(), 2);
}

#[test]
fn a_redirect_to_another_host_connects_there_and_the_next_operation_comes_back() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    let moved = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:2/t/obj\r\n\
                  Content-Length: 0\r\n\r\n";
    assert_eq!(r.answer(recv(moved)), Step::Connect);
    assert_eq!(r.s.worker.peer(0).as_socket().unwrap().port(), 2);
    r.connect();
    let first = r.sent().len();
    r.answer(Answer::SentAll);
    let again = r.sent()[first..].to_string();
    assert!(again.starts_with("GET /t/obj HTTP/1.1\r\n"), "{again}");
    assert!(again.contains("\r\nHost: 127.0.0.1:2\r\n"), "{again}");
    // The next operation takes the endpoint's parked socket: no new connect.
    assert_eq!(r.answer(recv(OK_EMPTY)), Step::Send);
    assert_eq!(r.s.worker.peer(0).as_socket().unwrap().port(), 1);
    assert_counts(&r.totals(Op::Get), 1, 0, 0);
    assert_eq!(r.ops(), 2);
}

#[test]
fn an_https_redirect_without_a_tls_configuration_is_one_redirect_error() {
    let mut r = run(workload(0));
    r.connect();
    r.answer(Answer::SentAll);
    let moved = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://127.0.0.1:2/t/obj\r\n\
                  Content-Length: 0\r\n\r\n";
    // No connect to the https host: the operation fails, the next one reuses the socket.
    assert_eq!(r.answer(recv(moved)), Step::Send);
    assert_eq!(r.s.worker.peer(0).as_socket().unwrap().port(), 1);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Redirect), 1);
    assert_eq!(r.ops(), 2);
}

#[test]
fn more_redirects_than_the_limit_are_one_redirect_error() {
    let mut r = run(workload(0));
    r.connect();
    let moved = b"HTTP/1.1 301 Moved Permanently\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n";
    for k in 0..MAX_REDIRECTS {
        assert_eq!(r.answer(Answer::SentAll), Step::Recv);
        assert_eq!(r.answer(recv(moved)), Step::Send, "redirect {}", k + 1);
    }
    assert_counts(&r.totals(Op::Get), 0, 0, 0);
    r.answer(Answer::SentAll);
    // One more: the operation fails, and the next one starts on the kept socket.
    assert_eq!(r.answer(recv(moved)), Step::Send);
    let get = r.totals(Op::Get);
    assert_counts(&get, 0, 0, 1);
    assert_eq!(get.errors_of(ErrorKind::Redirect), 1);
    assert_eq!(r.ops(), 2);
    assert_eq!(
        r.s.worker.conns[0].redirects, 0,
        "the new operation starts afresh"
    );
}

mod failures;
mod features;
mod mpd;
mod rate;
