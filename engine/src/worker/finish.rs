//! How an operation ends: accounting its outcome (success, HTTP error, the 403 early stop) and
//! following redirects, to the same host or to another one (an AIS proxy's target) through
//! the core's per-host socket pool. Split from `mod.rs`, which keeps the closed loop.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::conn::{Conn, Update};
use super::hosts::{split_location, Hosts};
use super::request::Spec;
use super::shared::keeps_put_names;
use super::{Step, StopReason, Worker, FORBIDDEN_STOP, MAX_REDIRECTS};
use crate::http::Method;
use crate::stats::{ErrorKind, Op};
use crate::verify::Verdict;

impl Worker {
    pub(super) fn finish_op(&mut self, i: usize) -> Step {
        let now = Instant::now();
        let c = &mut self.conns[i];
        let status = c.exch.status();
        let keep = c.exch.keep_alive();
        c.reuse += 1;
        if !keep {
            c.close();
        }
        if (300..400).contains(&status) && !c.exch.location().is_empty() {
            c.marks.redirected(c.started, now);
            return self.redirect(i);
        }
        match c.op {
            Op::GetBatch => return self.finish_batch(i, now),
            Op::PutMpu => return self.mpu_step_done(i, now),
            Op::GetMpd => return self.mpd_step_done(i, now),
            Op::Get | Op::Put => {}
        }
        let lat = now.duration_since(c.op_started).as_micros() as u64;
        let op = c.op;
        let update = std::mem::replace(&mut c.update, Update::None);
        if (200..300).contains(&status) {
            let sh = &self.shared;
            if !sh.any_success.load(Ordering::Relaxed) {
                sh.any_success.store(true, Ordering::Relaxed);
            }
            let verdict = if op == Op::Get && self.shared.workload.verify {
                c.check.verdict()
            } else {
                Verdict::Ok
            };
            if verdict == Verdict::Corrupt {
                self.stats.record_err(op, ErrorKind::Verify);
            } else if verdict == Verdict::Unknown {
                self.stats.record_err(op, ErrorKind::VerifyUnknown);
            } else {
                let bytes = match op {
                    Op::Put | Op::PutMpu => c.exch.body_progress().1,
                    _ => c.exch.body_bytes(),
                };
                match (self.sched.is_some(), c.intended) {
                    (false, _) => self.stats.record_ok(op, bytes, lat),
                    (true, t) => {
                        let corrected =
                            t.map_or(lat, |t| now.saturating_duration_since(t).as_micros() as u64);
                        self.stats.record_ok_rated(op, bytes, corrected, lat);
                    }
                }
                self.stats.record_phases(op, &c.marks.times(c.started, now));
                let sh = &self.shared;
                if op == Op::Put
                    && update != Update::Putting
                    && keeps_put_names(sh.workload.pctput, sh.selector.is_some())
                {
                    self.own_puts.push(c.put_cnt);
                }
                if update == Update::After && status == 200 {
                    // `--pctupdate`: a new version of the object, as large as it was.
                    c.update = Update::Due(bytes);
                }
            }
        } else {
            self.stats.record_err(op, ErrorKind::Http(status));
            let sh = &self.shared;
            if status == 403 && !sh.any_success.load(Ordering::Relaxed) {
                let n = sh.forbidden.fetch_add(1, Ordering::Relaxed) + 1;
                if n >= FORBIDDEN_STOP {
                    sh.stop(StopReason::Forbidden);
                }
            }
        }
        self.next_op(i)
    }

    /// Follows a redirect: re-encodes the request for the host and path-and-query its
    /// `Location` names (the same host, or another one such as an AIS target, whose sockets
    /// come from this core's pool).
    fn redirect(&mut self, i: usize) -> Step {
        let c = &mut self.conns[i];
        c.redirects += 1;
        let loc = c.exch.location();
        let (host, target) = if loc.first() == Some(&b'/') {
            (Some(c.host), loc)
        } else {
            match split_location(loc) {
                // An https location needs the run's TLS configuration (an https endpoint's),
                // and a run that has one promised TLS: a plain http location is a downgrade.
                Some((tls, h, t)) if tls == self.shared.workload.tls.is_some() => {
                    (self.hosts.find_or_add(tls, h), t)
                }
                _ => (None, &b""[..]),
            }
        };
        let Some(h) = host.filter(|_| c.redirects <= MAX_REDIRECTS) else {
            self.stats.record_err(c.op, ErrorKind::Redirect);
            return self.next_op(i);
        };
        self.ident.clear();
        self.ident.extend_from_slice(target);
        // The request goes again as it was (method, body, content type, checksum); only the
        // host and the path-and-query change.
        let (method, content_type, checksum) = (c.method, c.content_type, c.checksum);
        let size = match c.exch.body_progress().1 {
            0 if method != Method::Put => None,
            n => Some(n),
        };
        let range = c.range;
        switch_host(&mut self.conns[i], &mut self.hosts, h);
        let host = if h == 0 {
            self.host0.as_str()
        } else {
            self.hosts.get(h).header.as_str()
        };
        let c = &mut self.conns[i];
        self.req.encode(
            &Spec {
                method,
                range,
                target: Some(&self.ident),
                content_type,
                checksum,
                ..Spec::object(b"", size, host, h == 0)
            },
            c.content_start,
            &mut c.exch.head,
        );
        self.reissue(i)
    }
}

/// Moves connection `c` to host `h`: its current keep-alive socket is parked in the
/// pool with its TLS session, and an idle socket of `h` is taken with its own (or none: the
/// launch connects a fresh one).
pub(super) fn switch_host(c: &mut Conn, hosts: &mut Hosts, h: usize) {
    if c.host == h {
        return;
    }
    if c.fd >= 0 {
        hosts.park(c.host, (c.fd, c.reuse, c.tls.take()));
        c.fd = -1;
    }
    c.tls = None;
    c.host = h;
    c.peer = hosts.get(h).addr.clone();
    c.reuse = 0;
    if let Some((fd, reuse, tls)) = hosts.take(h) {
        c.fd = fd;
        c.reuse = reuse;
        c.tls = tls;
    }
}
