//! The worker's side of a TLS connection: it starts the session after the TCP connect, feeds
//! it each I/O result, and accounts handshakes and TLS failures. The session itself
//! ([`crate::tls::Session`]) is sans-IO; this file only maps its answers to steps and
//! outcomes, so plaintext connections never come here.
//!
//! A handshake failure, including a socket reset or close after the TCP connect and before the
//! handshake completed, is handled like a failed connect (backoff, then a retry, and the run
//! gives up with `tls-failed` when no handshake succeeds for the give-up time, or when every
//! completed one was refused before its first answer); a record failure on an established
//! session is an operation error of kind `tls`, named as a record error. Either way the first
//! failure's cause is kept for the summary.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::outcome::{errno_kind, failure_kind};
use super::{Step, Worker};
use crate::http::Failure;
use crate::stats::{ErrorKind, Op};
use crate::tls::{Error, Session, Want};
use ringload_net::tls::Cause;

pub(super) fn want_to_step(w: Want) -> Step {
    match w {
        Want::Send => Step::Send,
        Want::Recv => Step::Recv,
        Want::Done => Step::Idle,
    }
}

impl Worker {
    /// Connection `i`'s TCP connect to a TLS host completed: the handshake starts.
    pub(super) fn tls_connected(&mut self, i: usize) -> Step {
        let c = &mut self.conns[i];
        let name = self.hosts.get(c.host).tls.clone();
        let config = self.shared.workload.tls.as_ref().map(|t| t.config.clone());
        let (Some(name), Some(config)) = (name, config) else {
            let cause = ringload_net::tls::cause(&rustls_general("no TLS configuration"));
            return self.tls_failed(i, cause, true);
        };
        match Session::new(config, name) {
            Ok(s) => c.tls = Some(s),
            Err(e) => return self.tls_failed(i, ringload_net::tls::cause(&e), true),
        }
        c.phase = super::conn::Phase::Exchanging;
        c.started = Instant::now();
        self.tls_advance(i)
    }

    /// The I/O last started for TLS connection `i` completed with `res` (bytes or `-errno`).
    pub(super) fn tls_complete(&mut self, i: usize, res: i32) -> Step {
        let c = &mut self.conns[i];
        let Some(s) = c.tls.as_deref_mut() else {
            return Step::Idle;
        };
        if res < 0 {
            if !s.established() {
                // The TCP connect succeeded: a reset (or any socket error) now is the
                // server refusing the handshake, named as such.
                let cause = ringload_net::tls::cause_io(Some(-res));
                return self.tls_failed(i, cause, true);
            }
            if c.stale_keepalive(-res) {
                return self.retry_fresh(i);
            }
            return self.fail(i, errno_kind(-res));
        }
        match s.want() {
            Want::Send => s.on_sent(res as usize),
            Want::Recv => s.on_recv(res as usize),
            Want::Done => {}
        }
        self.tls_advance(i)
    }

    /// Runs connection `i`'s session as far as it goes and turns its answer into a step.
    fn tls_advance(&mut self, i: usize) -> Step {
        let verify = self.shared.workload.verify;
        let c = &mut self.conns[i];
        let Some(s) = c.tls.as_deref_mut() else {
            return Step::Idle;
        };
        let (src, built) = (c.body, &c.body_buf);
        let body = |sent: u64, max: usize| src.chunk(built, sent, max);
        // A TLS 1.3 server may still refuse the handshake (a missing client certificate)
        // after the client finished it: a failure before the first response on a fresh socket
        // is a handshake failure too.
        let handshaking = !s.established() || (c.reuse == 0 && !c.exch.response_started());
        // Only a verifying GET looks at headers and body bytes.
        let r = if verify && c.op == Op::Get {
            s.advance(&mut c.exch, &body, &mut c.check)
        } else if c.op == Op::GetBatch {
            // The GetBatch drain sees the archive (behind TLS nothing is dropped in the kernel).
            s.advance(&mut c.exch, &body, &mut c.batch)
        } else {
            s.advance(&mut c.exch, &body, &mut |_: &[u8]| {})
        };
        c.marks.response(c.exch.response_started());
        if s.take_established() {
            let tls = &self.shared.tls;
            tls.handshakes.fetch_add(1, Ordering::Relaxed);
            if s.resumed() {
                tls.resumed.fetch_add(1, Ordering::Relaxed);
            }
            if tls.session.get().is_none() {
                if let Some((v, suite)) = s.negotiated() {
                    let _ = tls.session.set((
                        ringload_net::tls::version_name(v),
                        ringload_net::tls::cipher_name(suite),
                    ));
                }
            }
            if !self.shared.connected.load(Ordering::Relaxed) {
                self.shared.connected.store(true, Ordering::Relaxed);
            }
            // The request's latency starts once the handshake is done, as a plaintext one
            // starts once its connect is.
            c.started = Instant::now();
            c.marks.connected(c.started);
        }
        match r {
            Ok(Want::Send) => Step::Send,
            Ok(Want::Recv) => Step::Recv,
            Ok(Want::Done) => self.finish_op(i),
            Err(Error::Http(Failure::Closed)) if c.reuse > 0 && !c.retried => self.retry_fresh(i),
            Err(Error::Http(f)) => self.fail(i, failure_kind(f)),
            Err(Error::Tls(e)) => {
                let cause = if handshaking {
                    ringload_net::tls::cause(&e)
                } else {
                    ringload_net::tls::cause_on_session(&e)
                };
                self.tls_failed(i, cause, handshaking)
            }
            Err(Error::HandshakeClosed) => {
                self.tls_failed(i, ringload_net::tls::cause_io(None), true)
            }
        }
    }

    /// A TLS failure on connection `i`: its cause is kept (the first of the run), and the
    /// connection backs off like a failed connect (`handshake`) or fails its operation.
    fn tls_failed(&mut self, i: usize, cause: Cause, handshake: bool) -> Step {
        let sh = &*self.shared;
        let _ = sh.tls.failure.set(cause);
        let established = self.conns[i]
            .tls
            .as_deref()
            .is_some_and(Session::established);
        if handshake && established {
            // A TLS 1.3 server refuses a handshake (no client certificate) after the client
            // finished it. When every completed handshake was refused that way and nothing
            // has succeeded, no connection got through: give up as a failed handshake would.
            let refused = sh.tls.refused.fetch_add(1, Ordering::Relaxed) + 1;
            if refused >= sh.tls.handshakes.load(Ordering::Relaxed)
                && !sh.any_success.load(Ordering::Relaxed)
                && sh.started.elapsed() >= super::CONNECT_GIVEUP
            {
                sh.stop(super::StopReason::TlsFailed);
            }
        }
        if handshake {
            self.connect_failed(i, ErrorKind::Tls)
        } else {
            self.fail(i, ErrorKind::Tls)
        }
    }
}

fn rustls_general(why: &str) -> ringload_net::tls::rustls::Error {
    ringload_net::tls::rustls::Error::General(why.into())
}
