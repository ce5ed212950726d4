//! End-to-end: misbehaving servers (written here, on loopback) under both drivers. Every
//! failure is counted by kind and none is counted as a success.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

/// A loopback server answering every request on each connection with `respond`.
struct Fake {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Fake {
    fn start(respond: fn(&mut TcpStream, usize) -> bool) -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !s2.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let s3 = s2.clone();
                        std::thread::spawn(move || {
                            c.set_nonblocking(false).unwrap();
                            c.set_read_timeout(Some(Duration::from_millis(200)))
                                .unwrap();
                            let mut buf = [0u8; 4096];
                            while !s3.load(Ordering::Relaxed) {
                                match c.read(&mut buf) {
                                    Ok(0) => return,
                                    Ok(_) => {
                                        n += 1;
                                        if !respond(&mut c, n) {
                                            return;
                                        }
                                    }
                                    Err(_) => continue,
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Fake { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn run_against(f: &Fake, driver: &str, extra: &[&str]) -> (Ran, serde_json::Value) {
    let s = Scratch::new("fault");
    let fl = s.path().join("l");
    std::fs::write(&fl, "obj\n").unwrap();
    let res = s.path().join("r.json");
    let run = Run::new()
        .endpoint(&f.url())
        .driver(driver)
        .filelist(&fl)
        .workers(2)
        .cores(1)
        .result(&res)
        .args(extra)
        .run();
    let v = if res.exists() {
        result(&res)
    } else {
        serde_json::Value::Null
    };
    run.check(!v.is_null(), "no result file");
    (run, v)
}

#[test]
fn truncated_bodies_are_short_body_errors() {
    for driver in DRIVERS {
        let f = Fake::start(|c, _| {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nabc");
            false // close mid-body
        });
        let (run, v) = run_against(&f, driver, &["--duration", "1s"]);
        run.check(run.code() == 1, "nothing succeeded → exit 1");
        assert_eq!(op(&v, "get", "count"), 0, "{driver}: no success");
        assert_eq!(op(&v, "get", "bytes"), 0);
        let e = op(&v, "get", "errors");
        assert!(e > 0);
        assert_eq!(v["ops"]["get"]["errors_by_kind"]["short-body"], e);
    }
}

#[test]
fn silent_server_times_out() {
    for driver in DRIVERS {
        let f = Fake::start(|_, _| true); // reads requests, never answers
        let (run, v) = run_against(&f, driver, &["--duration", "2s", "--timeout", "300ms"]);
        run.check(run.code() == 1, "only timeouts → exit 1");
        let e = op(&v, "get", "errors");
        assert!(e >= 4, "{driver}: {e} timeouts");
        assert_eq!(v["ops"]["get"]["errors_by_kind"]["timeout"], e);
    }
}

#[test]
fn chunked_responses_and_5xx_mix() {
    for driver in DRIVERS {
        let f = Fake::start(|c, n| {
            let r: &[u8] = if n % 2 == 0 {
                b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy"
            } else {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
            };
            c.write_all(r).is_ok()
        });
        let (run, v) = run_against(&f, driver, &["--duration", "1s", "--numworkers", "1"]);
        run.ok();
        let (ok, errs) = (op(&v, "get", "count"), op(&v, "get", "errors"));
        assert!(ok > 10, "{driver}: {ok}");
        assert_eq!(
            op(&v, "get", "bytes"),
            ok * 7,
            "chunked bodies counted exactly"
        );
        assert_eq!(v["ops"]["get"]["errors_by_kind"]["http-503"], errs);
        assert!(ok.abs_diff(errs) <= 1, "alternating: {ok} vs {errs}");
    }
}

#[test]
fn server_closing_idle_keepalive_is_not_an_error() {
    for driver in DRIVERS {
        // Answers one request per connection, then closes without saying so.
        let f = Fake::start(|c, _| {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            std::thread::sleep(Duration::from_millis(5));
            false
        });
        let (run, v) = run_against(&f, driver, &["--duration", "1s", "--numworkers", "1"]);
        run.ok();
        assert!(op(&v, "get", "count") > 5, "{driver}");
        assert_eq!(
            op(&v, "get", "errors"),
            0,
            "{driver}: {}",
            v["ops"]["get"]["errors_by_kind"]
        );
    }
}

/// A redirect loop is capped at 5 hops and counted as a `redirect` error; so is a `Location`
/// the client cannot follow (not `http://`, or an unresolvable host). Nothing counts as success.
#[test]
fn redirect_loops_and_bad_targets_are_redirect_errors() {
    let looping = Fake::start(|c, _| {
        c.write_all(b"HTTP/1.1 301 Moved\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n")
            .is_ok()
    });
    let https = Fake::start(|c, _| {
        c.write_all(
            b"HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1/x\r\nContent-Length: 0\r\n\r\n",
        )
        .is_ok()
    });
    let nohost = Fake::start(|c, _| {
        c.write_all(
            b"HTTP/1.1 307 Moved\r\nLocation: http://no-such-host.invalid:1/x\r\nContent-Length: 0\r\n\r\n",
        )
        .is_ok()
    });
    for driver in DRIVERS {
        for f in [&looping, &https, &nohost] {
            let (run, v) = run_against(f, driver, &["--duration", "1s"]);
            run.check(run.code() == 1, "nothing succeeded → exit 1");
            assert_eq!(op(&v, "get", "count"), 0, "{driver}: no success");
            let e = op(&v, "get", "errors");
            assert!(e > 0, "{driver}: errors counted");
            assert_eq!(
                v["ops"]["get"]["errors_by_kind"]["redirect"], e,
                "{driver}: {v}"
            );
        }
    }
}
