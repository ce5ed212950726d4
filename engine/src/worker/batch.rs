//! GetBatch operations (`--get-batchsize`): one request for the next N names of the epoch, to
//! a proxy (following its redirect to the designated target), answered with one TAR stream
//! that is drained header by header, member bodies dropped in the kernel (`drain.rs`).
//!
//! The request is AIS's `GET /v1/ml/moss/<bucket>` with a JSON body
//! `{"in":[{"objname":..,"archpath":..},..],"mime":".tar","coer":..,"onob":false,"strm":true}`;
//! a listed name `<shard>\0<archpath>` asks for a file inside a shard. Members come back in
//! request order, named `<bucket>/<objname>[/<archpath>]`, a missing one (with `coer`) as
//! `__404__/<name>` of size 0.
//!
//! Accounting: a successful batch is one `get_batch` operation (its latency the whole
//! stream's), its bytes the member bodies, `objects` the members delivered, and one `missing`
//! error per `__404__` member. A batch whose stream fails is one error of its kind and counts
//! no objects. Nothing allocates per batch once the connection's buffers are warm: the
//! request body is escaped into the reused `body_buf`, expected names and the verify
//! scratch are reused, and TAR headers are parsed in place.

mod drain;

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::body::Body;
use super::conn::Conn;
use super::finish::switch_host;
use super::request::{PathKind, Spec};
use super::shard::write_own_put;
use super::{Step, Worker};
use crate::http::{Failure, Method, Sink};
use crate::names::split_arch;
use crate::stats::{ErrorKind, Op};
use drain::{Drain, DrainError};
use ringload_core::{content, escape};

/// A connection's GetBatch state: the drain of its current answer.
#[derive(Debug, Default)]
pub struct BatchConn {
    drain: Drain,
    /// The current response is the final 2xx answer (a redirect's or an error's body is not
    /// the archive).
    ok: bool,
}

impl Sink for BatchConn {
    #[inline]
    fn head(&mut self, status: u16, _headers: &[httparse::Header<'_>]) {
        self.ok = (200..300).contains(&status);
    }

    #[inline]
    fn body(&mut self, bytes: &[u8]) {
        if self.ok {
            self.drain.feed(bytes);
        }
    }
}

impl BatchConn {
    /// Body bytes that may be dropped unseen now.
    fn droppable(&self) -> u64 {
        if self.ok {
            self.drain.droppable()
        } else {
            0
        }
    }
}

impl Worker {
    /// Starts a GetBatch on connection `i`; the batch's first name is in `self.name`, the
    /// rest are drawn here (fewer at the end of the epochs).
    pub(super) fn start_batch(&mut self, i: usize) -> Step {
        let sh = &*self.shared;
        let w = &sh.workload;
        let c = &mut self.conns[i];
        c.op = Op::GetBatch;
        c.retried = false;
        c.redirects = 0;
        c.marks.begin_op();
        c.batch.ok = false;
        c.batch.drain.begin(w.verify, w.ml.cont_on_err);
        let out = &mut c.body_buf;
        out.clear();
        out.extend_from_slice(b"{\"in\":[");
        let at = Members {
            bucket: w.bucket.as_bytes(),
            prefix: &sh.object_prefix,
            verify: w.verify,
        };
        let d = &mut c.batch.drain;
        push_member(out, d, &mut self.ident, &at, &self.name, self.name_size);
        for _ in 1..w.ml.get_batchsize {
            self.name.clear();
            let size = if let Some(sel) = &sh.selector {
                // The end of the epochs: a shorter batch (the next operation stops the run).
                let Some(idx) = sel.next(&mut self.rng) else {
                    break;
                };
                self.name
                    .extend_from_slice(sh.names.get(idx as usize).as_bytes());
                sh.names.size(idx as usize)
            } else {
                let (own, fmt) = (&self.own_puts, &w.ml.arch.format);
                write_own_put(own, &mut self.rng, &self.namer, fmt, &mut self.name);
                None
            };
            out.push(b',');
            push_member(out, d, &mut self.ident, &at, &self.name, size);
        }
        out.extend_from_slice(b"],\"mime\":\".tar\",\"coer\":");
        out.extend_from_slice(if w.ml.cont_on_err { b"true" } else { b"false" });
        out.extend_from_slice(b",\"onob\":false,\"strm\":true}");
        let len = out.len() as u64;
        let h = if self.proxies.is_empty() {
            0
        } else {
            let k = self.rng.below(self.proxies.len() as u64) as usize;
            self.proxy_counts[k] += 1;
            self.proxies[k]
        };
        switch_host(&mut self.conns[i], &mut self.hosts, h);
        let c = &mut self.conns[i];
        let host = if h == 0 {
            &self.host0
        } else {
            &self.hosts.get(h).header
        };
        let spec = Spec {
            method: Method::Get,
            path: PathKind::Moss,
            content_type: Some(JSON),
            checksum: false,
            ..Spec::object(b"", Some(len), host, h == 0)
        };
        c.method = Method::Get;
        c.content_type = Some(JSON);
        c.checksum = false;
        c.range = None;
        c.body = Body::Built;
        self.req.encode(&spec, 0, &mut c.exch.head);
        c.exch.begin(len, false, false);
        self.launch(i)
    }

    /// The GetBatch response on connection `i` is complete (redirects are followed before).
    pub(super) fn finish_batch(&mut self, i: usize, now: Instant) -> Step {
        let c = &mut self.conns[i];
        let status = c.exch.status();
        let lat = now.duration_since(c.op_started).as_micros() as u64;
        if !(200..300).contains(&status) {
            self.stats.record_err(Op::GetBatch, ErrorKind::Http(status));
            return self.next_op(i);
        }
        let d = &c.batch.drain;
        match d.finish() {
            Ok(()) => {
                let sh = &self.shared;
                if !sh.any_success.load(Ordering::Relaxed) {
                    sh.any_success.store(true, Ordering::Relaxed);
                }
                match (self.sched.is_some(), c.intended) {
                    (false, _) => self.stats.record_ok(Op::GetBatch, d.body_bytes, lat),
                    (true, t) => {
                        let corrected =
                            t.map_or(lat, |t| now.saturating_duration_since(t).as_micros() as u64);
                        self.stats
                            .record_ok_rated(Op::GetBatch, d.body_bytes, corrected, lat);
                    }
                }
                self.stats.record_objects(Op::GetBatch, d.delivered);
                for _ in 0..d.missing {
                    self.stats.record_err(Op::GetBatch, ErrorKind::Missing);
                }
                self.stats
                    .record_phases(Op::GetBatch, &c.marks.times(c.started, now));
            }
            Err(DrainError::Corrupt) => self.stats.record_err(Op::GetBatch, ErrorKind::Verify),
            Err(_) => self.stats.record_err(Op::GetBatch, ErrorKind::Protocol),
        }
        self.next_op(i)
    }
}

/// The request body's content type.
const JSON: &str = "application/json";

/// What every member of one batch shares: the bucket its archive names start with, the object
/// prefix its content names start with, and whether its bodies are verified.
#[derive(Clone, Copy)]
struct Members<'a> {
    bucket: &'a [u8],
    prefix: &'a [u8],
    verify: bool,
}

/// Appends one `in` entry for listed `name` to the JSON `out` and its expected member to the
/// drain (`<bucket>/<objname>[/<archpath>]`, of `size` bytes when the listing gave it; its
/// content name is the object prefix instead of the bucket, computed into `scratch` only when
/// verifying).
fn push_member(
    out: &mut Vec<u8>,
    d: &mut Drain,
    scratch: &mut Vec<u8>,
    at: &Members<'_>,
    name: &[u8],
    size: Option<u64>,
) {
    let Members {
        bucket,
        prefix,
        verify,
    } = *at;
    let (obj, arch) = split_arch(name);
    out.extend_from_slice(b"{\"objname\":\"");
    escape::json(obj, out);
    if let Some(a) = arch {
        out.extend_from_slice(b"\",\"archpath\":\"");
        escape::json(a, out);
    }
    out.extend_from_slice(b"\"}");
    let start = if verify {
        scratch.clear();
        scratch.extend_from_slice(prefix);
        scratch.extend_from_slice(obj);
        if let Some(a) = arch {
            scratch.push(b'/');
            scratch.extend_from_slice(a);
        }
        content::object_start(scratch)
    } else {
        0
    };
    match arch {
        Some(a) => d.expect(&[bucket, b"/", obj, b"/", a], size, start),
        None => d.expect(&[bucket, b"/", obj], size, start),
    }
}

/// `n` bytes were received for connection `c`'s GetBatch: the archive's bytes go to the
/// drain, which then says how many of the next ones may be dropped in the kernel.
pub(super) fn on_recv(c: &mut Conn, n: usize) -> Result<(), Failure> {
    let r = c.exch.on_recv(n, &mut c.batch);
    c.exch.allow_discard(c.batch.droppable());
    r
}

/// `n` body bytes of connection `c`'s GetBatch were dropped in the kernel.
pub(super) fn on_discarded(c: &mut Conn, n: usize) -> Result<(), Failure> {
    c.exch.on_discarded(n)?;
    if c.batch.ok {
        c.batch.drain.dropped(n as u64);
    }
    c.exch.allow_discard(c.batch.droppable());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_carry_their_archpath() {
        let (mut out, mut d, mut s) = (Vec::new(), Drain::default(), Vec::new());
        d.begin(true, false);
        let at = |verify| Members {
            bucket: b"bk",
            prefix: b"bk/",
            verify,
        };
        push_member(
            &mut out,
            &mut d,
            &mut s,
            &at(true),
            b"shard.tar\0f/1.bin",
            Some(7),
        );
        assert_eq!(out, b"{\"objname\":\"shard.tar\",\"archpath\":\"f/1.bin\"}");
        assert_eq!(s, b"bk/shard.tar/f/1.bin");
        assert_eq!(d.expected(), 1);
        // Names are escaped in the JSON, and expected as they are in the archive.
        out.clear();
        push_member(&mut out, &mut d, &mut s, &at(false), b"a\"b\\\n\0f\"", None);
        assert_eq!(
            out,
            b"{\"objname\":\"a\\\"b\\\\\\n\",\"archpath\":\"f\\\"\"}"
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["objname"], "a\"b\\\n");
        assert_eq!(v["archpath"], "f\"");
        assert_eq!(d.expected(), 2);
    }
}
