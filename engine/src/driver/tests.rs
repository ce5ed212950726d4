//! Both drivers against a real socket on loopback: an operation whose send blocks (the server
//! accepts and never reads) times out and the run ends on time. Under io_uring the request
//! goes as a fused send+receive pair, whose receive is not issued while the send blocks, so
//! only a cancel that reaches the send ends it.

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use super::run_worker;
use crate::inject::Trigger;
use crate::names::NameList;
use crate::stats::{ErrorKind, Op, Snapshot};
use crate::worker::{Shared, StopReason, Worker};
use crate::workload::{DriverKind, Endpoint, Workload};

/// The per-operation timeout, and when the run stops starting operations.
const TIMEOUT: Duration = Duration::from_millis(300);
const STOP_AFTER: Duration = Duration::from_millis(1000);

/// A server that accepts and never reads, with a tiny receive window and a small MSS (which
/// keeps the client's send buffer small), so a 256 KiB request cannot be sent whole.
fn silent_server() -> (u16, mpsc::Sender<()>) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(4096).unwrap();
    s.set_tcp_mss(536).unwrap();
    s.bind(&SockAddr::from(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        0,
    ))))
    .unwrap();
    s.listen(16).unwrap();
    let listener: TcpListener = s.into();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        // Until the test is over (its sender dropped): accept, hold, never read.
        while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_millis(5)) {
            if let Ok((c, _)) = listener.accept() {
                held.push(c);
            }
        }
    });
    (port, tx)
}

/// One core, one connection of 256 KiB PUTs to the silent server, stopped after
/// [`STOP_AFTER`]; returns how long the driver ran and what it counted, or `None` if it did
/// not end within 10 s.
fn run_against_silent(driver: DriverKind) -> Option<(Duration, Snapshot)> {
    let (port, _server) = silent_server();
    let w = Workload {
        endpoint: Some(Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap()),
        pctput: 100,
        minsize: 256 * 1024,
        maxsize: 256 * 1024,
        numworkers: 1,
        timeout: Some(TIMEOUT),
        driver,
        ..Workload::default()
    };
    let addr = SockAddr::from(w.endpoint.as_ref().unwrap().addr);
    let shared = Arc::new(Shared::new(
        w,
        addr,
        b"ringload/".to_vec(),
        NameList::new(),
        None,
        Instant::now(),
    ));
    let (done_tx, done_rx) = mpsc::channel();
    let sh = shared.clone();
    // A driver that never ends leaks this thread; the test fails instead of hanging.
    std::thread::spawn(move || {
        let (tx, rx) = mpsc::channel();
        let mut worker = Worker::new(0, 1, sh, tx);
        let t = Instant::now();
        run_worker(&mut worker, driver, Trigger::default()).unwrap();
        let took = t.elapsed();
        drop(worker);
        let mut all = Snapshot::new(0);
        for (_, snap) in rx.try_iter() {
            all.add(&snap);
        }
        let _ = done_tx.send((took, all));
    });
    std::thread::sleep(STOP_AFTER);
    shared.stop(StopReason::Duration);
    let out = done_rx.recv_timeout(Duration::from_secs(10)).ok();
    assert!(!shared.cancel.load(Ordering::Relaxed));
    out
}

fn a_blocked_send_times_out_and_the_run_ends_on_time(driver: DriverKind) {
    let (took, all) = run_against_silent(driver)
        .unwrap_or_else(|| panic!("{driver:?}: the run did not end within 10 s"));
    let put = all.get(Op::Put);
    assert_eq!(put.count, 0, "{driver:?}");
    assert!(
        put.errors_of(ErrorKind::Timeout) >= 2,
        "{driver:?}: {} timeouts",
        put.errors_of(ErrorKind::Timeout)
    );
    // Stopped at 1 s: the operation in progress then times out within its 300 ms.
    assert!(
        took < STOP_AFTER + TIMEOUT + Duration::from_millis(700),
        "{driver:?}: took {took:?}"
    );
}

#[test]
fn a_blocked_fused_send_is_cancelled_under_io_uring() {
    a_blocked_send_times_out_and_the_run_ends_on_time(DriverKind::Uring);
}

#[test]
fn a_blocked_send_is_aborted_under_epoll() {
    a_blocked_send_times_out_and_the_run_ends_on_time(DriverKind::Epoll);
}
