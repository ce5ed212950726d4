//! Multipart uploads (`--multipart-chunks`, `--pctmultipart`; S3 objects above 5 GiB): create,
//! the parts (each a slice of the object's content), complete, and abort when any step fails,
//! so no half-written object or dangling upload is left behind.
//!
//! Each connection's upload is an explicit state ([`MpuStep`]): `Create` → `Part(1..=n)` →
//! `Complete`, and `Abort` after a failed part or completion (an HTTP error, a reset, a
//! timeout, a short body, or the run's cancel once the upload exists). A created upload is
//! always aborted when it does not complete: the run's cancel lets a creation in flight
//! finish, then aborts the upload, and lets a completion in flight finish, so an object that
//! exists is counted (each within [`CANCEL_GRACE`]). An abort that itself fails
//! is said on stderr with the upload's id. The wire format of each step is in `wire.rs`.
//!
//! Accounting: one `put_mpu` operation per upload. It succeeds when the completion does
//! (bytes: the object's size; latency: the whole upload, from its creation's send, and under
//! `--rate` also from its scheduled start, as every rated operation); a failed
//! upload is one error, of the failing step's kind, counted once its abort is done. Each
//! part's latency goes to the operation's `part` phase. A cancelled upload is aborted and not
//! counted, as any cancelled operation.
//!
//! Parts are slices of the object's content (`Body::Content` with the part's offset), so a
//! multipart object has the content a single PUT of the same name would have, and verifies
//! like one. Nothing here allocates once a connection's buffers are warm: the name, the
//! upload id, the ETags, the query and the built bodies live in reused buffers on the
//! connection (the ETag list is bounded by the part count, at most 10,000; only S3's are
//! kept, as AIS completes by part number).

mod wire;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::body::Body;
use super::conn::{Abort, Conn, Phase};
use super::finish::switch_host;
use super::request::Spec;
use super::{Step, Worker};
use crate::http::exchange::Sink;
use crate::http::{Failure, Method};
use crate::stats::{ErrorKind, Op};
use crate::workload::Protocol;
use ringload_core::content;
pub use wire::Dialect;

/// S3's smallest part (every part but the last).
pub const S3_MIN_PART: u64 = 5 << 20;
/// S3's largest single PUT, and largest part.
pub const S3_MAX_PUT: u64 = 5 << 30;
/// How long an upload's creation or abort may run on after the run was cancelled.
pub const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// Where a connection's upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MpuStep {
    /// No upload on this connection.
    #[default]
    Idle,
    /// The creation request is out (no upload id yet).
    Create,
    /// Part `k` (1-based) is being sent.
    Part(u32),
    /// The completion request is out.
    Complete,
    /// The abort request is out; [`MpuConn::failed`] says what to count once it is done.
    Abort,
}

/// A connection's multipart upload state (its buffers are reused from upload to upload).
#[derive(Debug, Default)]
pub struct MpuConn {
    step: MpuStep,
    /// The object's size, its part size and part count.
    size: u64,
    part_size: u64,
    parts: u32,
    /// The object's name (the worker's name buffer is shared by the core's connections).
    name: Vec<u8>,
    /// The upload id the server gave.
    id: Vec<u8>,
    /// The parts' ETags, concatenated, and where each ends.
    etags: Vec<u8>,
    ends: Vec<usize>,
    /// The current step's extra query.
    query: Vec<u8>,
    /// The current answer's body (bounded) and its `ETag` header.
    answer: Vec<u8>,
    etag: Vec<u8>,
    /// The answer's ETag was longer than [`wire::MAX_TOKEN`].
    etag_too_long: bool,
    /// When the upload and the current part started.
    started: Option<Instant>,
    /// `--rate`: the upload's scheduled start (its creation's intended start).
    intended: Option<Instant>,
    part_started: Option<Instant>,
    /// The error the upload counts once its abort is done (`None`: cancelled, uncounted).
    failed: Option<ErrorKind>,
}

impl MpuConn {
    /// True while the connection creates, completes or aborts an upload: the run's cancel
    /// lets it finish (within [`CANCEL_GRACE`]), so a created upload is known and then
    /// aborted, and a completed object is counted.
    pub fn finishes_on_cancel(&self) -> bool {
        matches!(
            self.step,
            MpuStep::Create | MpuStep::Complete | MpuStep::Abort
        )
    }

    /// True when no upload exists to abort (none started, or its creation is still out);
    /// the step is then forgotten, as a failure before the upload exists ends it.
    pub fn uncreated(&mut self) -> bool {
        let none = matches!(self.step, MpuStep::Idle | MpuStep::Create);
        if none {
            self.step = MpuStep::Idle;
        }
        none
    }

    /// Byte range `(offset, len)` of part `k` (1-based).
    fn part(&self, k: u32) -> (u64, u64) {
        let off = (k as u64 - 1) * self.part_size;
        (off, self.part_size.min(self.size - off.min(self.size)))
    }
}

/// The part size of an upload of `size` bytes in `chunks` parts (0: as few as the protocol
/// allows): `ceil(size / chunks)`, raised for S3 to its 5 MiB minimum (so a small object
/// has fewer parts) and capped at its 5 GiB maximum (so a huge object has more).
pub fn part_size(size: u64, chunks: u32, d: Dialect) -> u64 {
    let even = match chunks {
        0 => size,
        n => size.div_ceil(n as u64),
    }
    .max(1);
    match d {
        Dialect::Ais => even,
        Dialect::S3 => even.clamp(S3_MIN_PART, S3_MAX_PUT),
    }
}

/// Captures an upload step's answer: its `ETag` header and the first body bytes.
struct Capture<'a>(&'a mut MpuConn);

impl Sink for Capture<'_> {
    fn head(&mut self, _status: u16, headers: &[httparse::Header<'_>]) {
        // Each answer stands alone: a redirect's body or ETag is not the final answer's.
        let m = &mut *self.0;
        m.answer.clear();
        m.etag.clear();
        m.etag_too_long = false;
        if let Some(h) = headers.iter().find(|h| h.name.eq_ignore_ascii_case("etag")) {
            let v = h.value.trim_ascii();
            m.etag_too_long = v.len() > wire::MAX_TOKEN;
            if !m.etag_too_long {
                m.etag.extend_from_slice(v);
            }
        }
    }

    fn body(&mut self, bytes: &[u8]) {
        let a = &mut self.0.answer;
        let room = wire::MAX_ANSWER.saturating_sub(a.len());
        a.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// `n` bytes were received for connection `c`'s upload step.
pub(super) fn on_recv(c: &mut Conn, n: usize) -> Result<(), Failure> {
    let Conn { exch, mpu, .. } = c;
    exch.on_recv(n, &mut Capture(mpu))
}

impl Worker {
    fn dialect(&self) -> Dialect {
        match self.shared.workload.protocol {
            Protocol::S3 => Dialect::S3,
            _ => Dialect::Ais,
        }
    }

    /// Starts a multipart upload of `size` bytes on connection `i`; its name is in `self.name`.
    pub(super) fn start_mpu(&mut self, i: usize, size: u64) -> Step {
        let d = self.dialect();
        let chunks = self.shared.workload.ml.multipart_chunks;
        self.ident.clear();
        self.ident.extend_from_slice(&self.shared.object_prefix);
        self.ident.extend_from_slice(&self.name);
        let c = &mut self.conns[i];
        c.content_start = content::object_start(&self.ident);
        c.op = Op::PutMpu;
        let m = &mut c.mpu;
        m.name.clear();
        m.name.extend_from_slice(&self.name);
        m.size = size;
        m.part_size = part_size(size, chunks, d);
        m.parts = size.div_ceil(m.part_size).max(1) as u32;
        m.id.clear();
        m.etags.clear();
        m.ends.clear();
        if d == Dialect::S3 {
            m.ends.reserve(m.parts as usize);
        }
        m.failed = None;
        m.started = None;
        m.intended = c.intended;
        m.step = MpuStep::Create;
        self.mpu_send(i)
    }

    /// Encodes and launches the request of connection `i`'s current upload step.
    fn mpu_send(&mut self, i: usize) -> Step {
        let d = self.dialect();
        let c = &mut self.conns[i];
        c.retried = false;
        c.redirects = 0;
        c.marks.begin_op();
        if c.mpu.step != MpuStep::Create {
            // Only the upload's start is a scheduled arrival.
            c.intended = None;
        }
        switch_host(c, &mut self.hosts, 0);
        let c = &mut self.conns[i];
        let m = &mut c.mpu;
        m.answer.clear();
        m.etag.clear();
        m.etag_too_long = false;
        m.query.clear();
        c.body_buf.clear();
        let step = m.step;
        let json = Some("application/json");
        let (method, len, body, content_type) = match (step, d) {
            (MpuStep::Create, Dialect::Ais) => {
                c.body_buf.extend_from_slice(wire::AIS_CREATE);
                (Method::Post, c.body_buf.len() as u64, Body::Built, json)
            }
            (MpuStep::Create, Dialect::S3) => {
                m.query.extend_from_slice(b"uploads");
                (Method::Post, 0, Body::Built, None)
            }
            (MpuStep::Part(k), _) => {
                let (offset, len) = m.part(k);
                if crate::inject::mpu_part_fails(k) {
                    // A well-formed id no server issued (S3 ids may be UUIDs).
                    wire::part_query(b"00000000-0000-4000-8000-000000000000", k, &mut m.query);
                } else {
                    wire::part_query(&m.id, k, &mut m.query);
                }
                m.part_started = Some(Instant::now());
                let start = c.content_start;
                (Method::Put, len, Body::Content { start, offset }, None)
            }
            (MpuStep::Complete, _) => {
                wire::upload_query(&m.id, &mut m.query);
                if d == Dialect::Ais {
                    // AIS completes by part number; the ETags are not kept.
                    let none = std::iter::repeat_n(&[][..], m.parts as usize);
                    wire::complete_body(d, none, &mut c.body_buf);
                } else {
                    let etags = m.ends.iter().scan(0, |from, &end| {
                        let e = &m.etags[*from..end];
                        *from = end;
                        Some(e)
                    });
                    wire::complete_body(d, etags, &mut c.body_buf);
                }
                let ct = match d {
                    Dialect::Ais => json,
                    Dialect::S3 => Some("application/xml"),
                };
                (Method::Post, c.body_buf.len() as u64, Body::Built, ct)
            }
            (MpuStep::Abort, _) => {
                wire::upload_query(&m.id, &mut m.query);
                if d == Dialect::Ais {
                    c.body_buf.extend_from_slice(wire::AIS_ABORT);
                }
                let ct = (d == Dialect::Ais).then_some("application/json");
                (Method::Delete, c.body_buf.len() as u64, Body::Built, ct)
            }
            (MpuStep::Idle, _) => unreachable!("an idle upload sends nothing"),
        };
        let spec = Spec {
            method,
            query_extra: &m.query,
            content_type,
            checksum: false,
            ..Spec::object(&m.name, Some(len), &self.host0, true)
        };
        c.method = method;
        c.content_type = content_type;
        c.checksum = false;
        c.range = None;
        c.body = body;
        let expect = self.req.expects(&spec);
        self.req.encode(&spec, c.content_start, &mut c.exch.head);
        c.exch.begin(len, false, false);
        if expect {
            c.exch.expect_continue();
        }
        let step = self.launch(i);
        let c = &mut self.conns[i];
        if c.mpu.started.is_none() {
            c.mpu.started = Some(c.op_started);
        }
        if c.mpu.step == MpuStep::Abort && self.shared.cancel.load(Ordering::Relaxed) {
            // After the run's cancel, the abort still goes out, within a bound.
            let grace = Instant::now() + CANCEL_GRACE;
            c.deadline = Some(c.deadline.map_or(grace, |d| d.min(grace)));
        }
        step
    }

    /// One request of connection `i`'s upload has its complete answer.
    pub(super) fn mpu_step_done(&mut self, i: usize, now: Instant) -> Step {
        let d = self.dialect();
        let c = &mut self.conns[i];
        let status = c.exch.status();
        if !(200..300).contains(&status) {
            return self.mpu_failed(i, ErrorKind::Http(status));
        }
        let m = &mut c.mpu;
        match m.step {
            MpuStep::Create => {
                let Some(id) = wire::upload_id(d, &m.answer) else {
                    return self.mpu_failed(i, ErrorKind::Protocol);
                };
                // `upload_id` borrows the answer; the id is copied into its own buffer.
                let n = id.len();
                let at = id.as_ptr() as usize - m.answer.as_ptr() as usize;
                m.id.clear();
                m.id.extend_from_slice(&m.answer[at..at + n]);
                m.step = MpuStep::Part(1);
            }
            MpuStep::Part(k) => {
                if d == Dialect::S3 {
                    if m.etag_too_long || m.etag.is_empty() {
                        return self.mpu_failed(i, ErrorKind::Protocol);
                    }
                    m.etags.extend_from_slice(&m.etag);
                    m.ends.push(m.etags.len());
                }
                if let Some(t) = m.part_started {
                    let us = now.saturating_duration_since(t).as_micros() as u64;
                    self.stats.record_part(Op::PutMpu, us);
                }
                let m = &mut self.conns[i].mpu;
                m.step = if k < m.parts {
                    MpuStep::Part(k + 1)
                } else {
                    MpuStep::Complete
                };
            }
            MpuStep::Complete => {
                if wire::completion_failed(d, &m.answer) {
                    return self.mpu_failed(i, ErrorKind::Http(status));
                }
                let (size, started) = (m.size, m.started.unwrap_or(now));
                m.step = MpuStep::Idle;
                let lat = now.saturating_duration_since(started).as_micros() as u64;
                match (self.sched.is_some(), m.intended) {
                    (false, _) => self.stats.record_ok(Op::PutMpu, size, lat),
                    (true, t) => {
                        let corrected =
                            t.map_or(lat, |t| now.saturating_duration_since(t).as_micros() as u64);
                        self.stats.record_ok_rated(Op::PutMpu, size, corrected, lat);
                    }
                }
                let sh = &self.shared;
                if !sh.any_success.load(Ordering::Relaxed) {
                    sh.any_success.store(true, Ordering::Relaxed);
                }
                return self.next_op(i);
            }
            MpuStep::Abort => {
                m.step = MpuStep::Idle;
                if let Some(kind) = m.failed.take() {
                    self.stats.record_err(Op::PutMpu, kind);
                }
                return self.next_op(i);
            }
            MpuStep::Idle => return self.next_op(i),
        }
        if self.shared.cancel.load(Ordering::Relaxed) {
            // Cancelled between steps: the created upload is aborted, uncounted.
            let m = &mut self.conns[i].mpu;
            m.failed = None;
            m.step = MpuStep::Abort;
        }
        self.mpu_send(i)
    }

    /// One request of connection `i`'s upload failed with `kind` (an HTTP error, or the
    /// exchange failed: its socket is closed).
    pub(super) fn mpu_failed(&mut self, i: usize, kind: ErrorKind) -> Step {
        let c = &mut self.conns[i];
        c.close();
        let cancelled = c.aborted == Some(Abort::Cancel);
        c.aborted = None;
        c.phase = Phase::Idle;
        let m = &mut c.mpu;
        let counted = (!cancelled).then_some(kind);
        match m.step {
            MpuStep::Part(_) | MpuStep::Complete => {
                m.failed = counted;
                m.step = MpuStep::Abort;
                self.mpu_send(i)
            }
            MpuStep::Abort => {
                eprintln!(
                    "ringload: the abort of multipart upload {} of '{}' failed ({}); the \
                     upload may be left on the target: abort it there",
                    String::from_utf8_lossy(&m.id),
                    String::from_utf8_lossy(&m.name),
                    kind.as_str(),
                );
                m.step = MpuStep::Idle;
                if let Some(k) = m.failed.take() {
                    self.stats.record_err(Op::PutMpu, k);
                }
                self.next_op(i)
            }
            MpuStep::Create | MpuStep::Idle => {
                // No upload id: nothing to abort.
                m.step = MpuStep::Idle;
                if let Some(k) = counted {
                    self.stats.record_err(Op::PutMpu, k);
                }
                self.next_op(i)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_split_evenly_and_follow_s3_limits() {
        assert_eq!(part_size(24 << 20, 4, Dialect::S3), 6 << 20);
        assert_eq!(part_size(24 << 20, 4, Dialect::Ais), 6 << 20);
        assert_eq!(part_size(10, 3, Dialect::Ais), 4);
        // S3: a small object gets 5 MiB parts (fewer of them), a huge one 5 GiB parts.
        assert_eq!(part_size(8 << 20, 4, Dialect::S3), S3_MIN_PART);
        assert_eq!(part_size(12 << 30, 2, Dialect::S3), S3_MAX_PUT);
        assert_eq!(part_size(12 << 30, 0, Dialect::S3), S3_MAX_PUT);
        assert_eq!(part_size(0, 4, Dialect::Ais), 1);
    }

    #[test]
    fn a_completion_in_flight_finishes_on_cancel_as_a_creation_and_an_abort_do() {
        let at = |step| MpuConn {
            step,
            ..Default::default()
        };
        for step in [MpuStep::Create, MpuStep::Complete, MpuStep::Abort] {
            assert!(at(step).finishes_on_cancel(), "{step:?}");
        }
        for step in [MpuStep::Idle, MpuStep::Part(1)] {
            assert!(!at(step).finishes_on_cancel(), "{step:?}");
        }
    }

    #[test]
    fn each_answer_is_captured_alone_a_redirect_leaves_nothing_behind() {
        let mut m = MpuConn::default();
        let etag = [httparse::Header {
            name: "ETag",
            value: b"\"redirect\"",
        }];
        let mut cap = Capture(&mut m);
        cap.head(307, &etag);
        cap.body(b"<a href=...>");
        cap.head(200, &[]);
        cap.body(b"\"upload-1\"");
        assert_eq!(m.answer, b"\"upload-1\"");
        assert!(m.etag.is_empty());
        let long = vec![b'x'; wire::MAX_TOKEN + 1];
        let mut cap = Capture(&mut m);
        cap.head(
            307,
            &[httparse::Header {
                name: "etag",
                value: &long,
            }],
        );
        cap.head(200, &etag);
        assert!(!m.etag_too_long);
        assert_eq!(m.etag, b"\"redirect\"");
    }

    #[test]
    fn parts_cover_the_object_exactly() {
        for (size, chunks) in [(10u64, 3u32), (24 << 20, 4), (7, 7), (1, 4), (0, 2)] {
            let mut m = MpuConn {
                size,
                part_size: part_size(size, chunks, Dialect::Ais),
                ..Default::default()
            };
            m.parts = size.div_ceil(m.part_size).max(1) as u32;
            assert!(m.parts <= chunks.max(1), "{size} {chunks}");
            let mut next = 0;
            for k in 1..=m.parts {
                let (off, len) = m.part(k);
                assert_eq!(off, next);
                assert!(len > 0 || size == 0);
                next += len;
            }
            assert_eq!(next, size);
        }
    }
}
