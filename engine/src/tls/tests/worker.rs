//! One core's worker over TLS, under the epoll and the io_uring drivers, against the loopback
//! server: exact counts of GETs (dropped and verified) and PUTs, keep-alive reuse, resumed
//! handshakes, an https redirect to another https host, and a run whose handshakes all fail.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use socket2::SockAddr;

use super::server::{self, Server, GET_SIZE};
use super::trusting;
use crate::driver::run_worker;
use crate::inject::Trigger;
use crate::names::NameList;
use crate::selector::GetSelector;
use crate::stats::{ErrorKind, Op, Snapshot};
use crate::worker::{Shared, StopReason, Worker};
use crate::workload::{DriverKind, Endpoint, Workload};
use ringload_net::tls::{ClientTls, Throwaway};

const NAMES: usize = 6;
const CONNS: usize = 3;

fn workload(port: u16, tls: ClientTls, driver: DriverKind) -> Workload {
    Workload {
        endpoint: Some(Endpoint::parse(&format!("https://127.0.0.1:{port}")).unwrap()),
        tls: Some(tls),
        numworkers: CONNS as u32,
        timeout: Some(Duration::from_secs(10)),
        driver,
        epochs: 2,
        uniquegets: true,
        ..Workload::default()
    }
}

/// Runs one core of `w` over `NAMES` listed names to its end; returns the shared state and
/// everything the core counted.
fn run(w: Workload) -> (Arc<Shared>, Snapshot) {
    let mut names = NameList::new();
    for k in 0..NAMES {
        names.push(&format!("obj{k}"));
    }
    let selector = (w.pctput < 100).then(|| GetSelector::new(NAMES as u64, true, w.epochs, 1));
    let addr = SockAddr::from(w.endpoint.as_ref().unwrap().addr);
    let driver = w.driver;
    let shared = Arc::new(Shared::new(
        w,
        addr,
        b"ringload/".to_vec(),
        names,
        selector,
        Instant::now(),
    ));
    let (tx, rx) = mpsc::channel();
    let mut worker = Worker::new(0, CONNS, shared.clone(), tx);
    run_worker(&mut worker, driver, Trigger::default()).unwrap();
    drop(worker);
    let mut all = Snapshot::new(0);
    for (_, snap) in rx.try_iter() {
        all.add(&snap);
    }
    (shared, all)
}

fn setup() -> (Throwaway, Server) {
    let certs = server::certs();
    let srv = server::start(&certs, None);
    (certs, srv)
}

fn gets_are_exact(driver: DriverKind, verify: bool) {
    let (certs, srv) = setup();
    let mut w = workload(srv.port, trusting(&certs), driver);
    w.verify = verify;
    let (sh, all) = run(w);
    let get = all.get(Op::Get);
    let n = (NAMES * 2) as u64;
    assert_eq!(
        (get.count, get.bytes, get.errors),
        (n, n * GET_SIZE as u64, 0)
    );
    assert_eq!(srv.seen.gets.load(Ordering::Relaxed), n);
    assert_eq!(sh.reason(), StopReason::Epochs);
    assert!(sh.connected.load(Ordering::Relaxed));
    let hs = sh.tls.handshakes.load(Ordering::Relaxed);
    assert!(hs >= 1 && hs <= CONNS as u64, "{hs} handshakes");
    assert_eq!(srv.seen.connections.load(Ordering::Relaxed), hs);
    let (v, cipher) = sh.tls.session.get().unwrap();
    assert_eq!(v, "TLSv1.3");
    assert!(cipher.starts_with("TLS13_"), "{cipher}");
    assert!(sh.tls.failure.get().is_none());
}

#[test]
fn gets_over_tls_are_exact_under_epoll() {
    gets_are_exact(DriverKind::Epoll, false);
}

#[test]
fn gets_over_tls_are_exact_under_uring() {
    gets_are_exact(DriverKind::Uring, false);
}

#[test]
fn verified_gets_over_tls_pass_under_both_drivers() {
    gets_are_exact(DriverKind::Epoll, true);
    gets_are_exact(DriverKind::Uring, true);
}

fn puts_are_exact(driver: DriverKind) {
    let (certs, srv) = setup();
    let size = 100 * 1000 + 3;
    let w = Workload {
        pctput: 100,
        minsize: size,
        maxsize: size,
        maxputs: 8,
        ..workload(srv.port, trusting(&certs), driver)
    };
    let (sh, all) = run(w);
    let put = all.get(Op::Put);
    assert_eq!((put.count, put.bytes, put.errors), (8, 8 * size, 0));
    let puts = srv.seen.puts.lock().unwrap().clone();
    assert_eq!(puts, vec![(size as usize, true); 8]);
    assert_eq!(sh.reason(), StopReason::Maxputs);
}

#[test]
fn puts_over_tls_arrive_intact_under_both_drivers() {
    puts_are_exact(DriverKind::Epoll);
    puts_are_exact(DriverKind::Uring);
}

fn redirect_is_followed(driver: DriverKind) {
    let certs = server::certs();
    let target = server::start(&certs, None);
    let proxy = server::start(&certs, Some(format!("https://127.0.0.1:{}", target.port)));
    let (sh, all) = run(workload(proxy.port, trusting(&certs), driver));
    let get = all.get(Op::Get);
    let n = (NAMES * 2) as u64;
    assert_eq!(
        (get.count, get.bytes, get.errors),
        (n, n * GET_SIZE as u64, 0)
    );
    assert_eq!(proxy.seen.redirected.load(Ordering::Relaxed), n);
    assert_eq!(target.seen.gets.load(Ordering::Relaxed), n);
    // Each host has its own sessions: one handshake per connection and host at most.
    let conns = proxy.seen.connections.load(Ordering::Relaxed)
        + target.seen.connections.load(Ordering::Relaxed);
    assert_eq!(sh.tls.handshakes.load(Ordering::Relaxed), conns);
    assert!(target.seen.connections.load(Ordering::Relaxed) >= 1);
    assert!(conns <= 2 * CONNS as u64, "{conns} connections");
}

#[test]
fn an_https_redirect_to_another_https_host_is_followed_under_both_drivers() {
    redirect_is_followed(DriverKind::Epoll);
    redirect_is_followed(DriverKind::Uring);
}

#[test]
fn reconnects_resume_their_sessions() {
    let (certs, srv) = setup();
    let tls = trusting(&certs);
    // Two runs share the configuration (and its ticket cache), as the cores of a run do:
    // the second run's handshakes all resume.
    let (first, _) = run(workload(srv.port, tls.clone(), DriverKind::Epoll));
    assert_eq!(first.tls.resumed.load(Ordering::Relaxed), 0);
    let (second, all) = run(workload(srv.port, tls, DriverKind::Uring));
    assert_eq!(all.get(Op::Get).errors, 0);
    let hs = second.tls.handshakes.load(Ordering::Relaxed);
    assert!(hs >= 1);
    assert_eq!(second.tls.resumed.load(Ordering::Relaxed), hs);
}

fn all_handshakes_fail(driver: DriverKind) {
    let (_, srv) = setup();
    let t = Instant::now();
    // No epoch budget: every retry takes a name, and the give-up must come first.
    let w = Workload {
        epochs: 0,
        ..workload(srv.port, super::stranger(), driver)
    };
    let (sh, all) = run(w);
    let took = t.elapsed();
    assert_eq!(sh.reason(), StopReason::TlsFailed);
    assert!(
        took >= crate::worker::CONNECT_GIVEUP && took < Duration::from_secs(7),
        "{took:?}"
    );
    let get = all.get(Op::Get);
    assert_eq!(get.count, 0);
    assert!(get.errors_of(ErrorKind::Tls) > 0 && get.errors_of(ErrorKind::Tls) == get.errors);
    let cause = sh.tls.failure.get().unwrap();
    assert!(cause.what.starts_with("unknown issuer"), "{cause}");
    assert!(!sh.connected.load(Ordering::Relaxed));
    assert_eq!(sh.tls.handshakes.load(Ordering::Relaxed), 0);
}

#[test]
fn a_run_whose_handshakes_all_fail_stops_as_tls_failed_under_epoll() {
    all_handshakes_fail(DriverKind::Epoll);
}

#[test]
fn a_run_whose_handshakes_all_fail_stops_as_tls_failed_under_uring() {
    all_handshakes_fail(DriverKind::Uring);
}

fn stale_sockets_are_retried(driver: DriverKind) {
    let certs = server::certs();
    // Every connection is dropped after two answers: the third request on it finds it
    // closed and goes again on a fresh one, with a new (resumed) handshake.
    let srv = server::start_with(&certs, None, 2);
    let (sh, all) = run(workload(srv.port, trusting(&certs), driver));
    let get = all.get(Op::Get);
    let n = (NAMES * 2) as u64;
    assert_eq!((get.count, get.errors), (n, 0));
    assert_eq!(srv.seen.gets.load(Ordering::Relaxed), n);
    let hs = sh.tls.handshakes.load(Ordering::Relaxed);
    assert!(hs > CONNS as u64, "{hs} handshakes");
    assert!(sh.tls.resumed.load(Ordering::Relaxed) >= 1);
}

#[test]
fn stale_tls_keep_alive_sockets_are_retried_without_errors_under_both_drivers() {
    stale_sockets_are_retried(DriverKind::Epoll);
    stale_sockets_are_retried(DriverKind::Uring);
}

#[test]
fn a_refused_client_certificate_backs_off_like_a_failed_handshake() {
    let certs = server::certs();
    let srv = server::start_config(server::mtls_config(&certs), None, u64::MAX);
    // A PUT run (no names): every operation needs the server to accept the handshake.
    let w = Workload {
        epochs: 0,
        pctput: 100,
        minsize: 1000,
        maxsize: 1000,
        ..workload(srv.port, trusting(&certs), DriverKind::Epoll)
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
    let sh = shared.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        sh.stop(StopReason::Signal);
    });
    let (tx, rx) = mpsc::channel();
    let mut worker = Worker::new(0, CONNS, shared.clone(), tx);
    run_worker(&mut worker, DriverKind::Epoll, Trigger::default()).unwrap();
    stopper.join().unwrap();
    drop(worker);
    let mut all = Snapshot::new(0);
    for (_, snap) in rx.try_iter() {
        all.add(&snap);
    }
    let put = all.get(Op::Put);
    assert_eq!(put.count, 0);
    assert_eq!(put.errors_of(ErrorKind::Tls), put.errors);
    // Each failure waits out the connect backoff (100 ms): about 10 per connection a second.
    assert!(
        put.errors >= CONNS as u64 && put.errors <= 15 * CONNS as u64,
        "{} errors",
        put.errors
    );
    let cause = shared.tls.failure.get().unwrap();
    assert!(cause.what.starts_with("alert from the server"), "{cause}");
}

fn handshakes_all_reset(driver: DriverKind) {
    let port = server::start_resetting();
    let certs = server::certs();
    let t = Instant::now();
    let w = Workload {
        epochs: 0,
        ..workload(port, trusting(&certs), driver)
    };
    let (sh, all) = run(w);
    let took = t.elapsed();
    assert_eq!(sh.reason(), StopReason::TlsFailed, "{driver:?}");
    assert!(took < Duration::from_secs(7), "{took:?}");
    let get = all.get(Op::Get);
    assert_eq!(get.count, 0);
    assert!(get.errors_of(ErrorKind::Tls) > 0 && get.errors_of(ErrorKind::Tls) == get.errors);
    let cause = sh.tls.failure.get().unwrap();
    assert_eq!(
        cause.what, "the server reset the connection during the TLS handshake",
        "{driver:?}"
    );
}

#[test]
fn a_run_whose_handshakes_are_all_reset_stops_as_tls_failed_under_epoll() {
    handshakes_all_reset(DriverKind::Epoll);
}

#[test]
fn a_run_whose_handshakes_are_all_reset_stops_as_tls_failed_under_uring() {
    handshakes_all_reset(DriverKind::Uring);
}

#[test]
fn a_record_that_does_not_decrypt_after_the_handshake_is_a_record_error() {
    let certs = server::certs();
    let port = server::start_corrupting(&certs);
    let (sh, all) = run(workload(port, trusting(&certs), DriverKind::Epoll));
    let get = all.get(Op::Get);
    // Each connection's first GET succeeds; its second meets the bad record.
    assert!(
        get.count >= 1 && get.errors_of(ErrorKind::Tls) >= 1,
        "{get:?}"
    );
    assert_eq!(get.errors_of(ErrorKind::Tls), get.errors);
    let cause = sh.tls.failure.get().unwrap();
    assert_eq!(
        cause.what, "TLS record error: cannot decrypt peer's message",
        "{cause}"
    );
}

#[test]
fn an_https_redirect_to_plain_http_is_a_redirect_error_never_followed() {
    let certs = server::certs();
    // A plain server that would answer; it must never be reached.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    plain.set_nonblocking(true).unwrap();
    let proxy = server::start(&certs, Some(format!("http://127.0.0.1:{plain_port}")));
    let (_, all) = run(workload(proxy.port, trusting(&certs), DriverKind::Epoll));
    let get = all.get(Op::Get);
    let n = (NAMES * 2) as u64;
    assert_eq!((get.count, get.errors), (0, n));
    assert_eq!(get.errors_of(ErrorKind::Redirect), n);
    assert_eq!(proxy.seen.redirected.load(Ordering::Relaxed), n);
    assert!(
        plain.accept().is_err(),
        "the plain http location was contacted"
    );
}
