//! One server-side HTTP/1.1 connection: read heads, drop bodies, answer, stream objects.
//!
//! Owns: the per-connection buffers and the request/response sequencing (keep-alive,
//! pipelining, `Expect: 100-continue`, `Content-Length` and chunked bodies, `Connection:
//! close`), handing each complete request to its handler (`object`, `cluster`, `ais`, `s3`,
//! `stats`, `respond`), and carrying out faults (cut bodies, resets, held answers). On an
//! https listener the connection's TLS session (`tls`) sits between the socket and these
//! buffers. The reactor calls [`Conn::drive`] on readiness; `drive` works until the socket
//! would block, the connection must close, its fairness budget is spent, or a delayed answer
//! is held.
//!
//! Why this shape: sockets are registered edge-triggered once and never re-armed, so `drive`
//! must always run to `EAGAIN` (or report [`Drive::Yield`] so the reactor revisits it).
//!
//! Invariants:
//! - No allocation per request: the receive buffer, the response-head buffer and the name
//!   buffer are allocated once per connection and reused.
//! - Object request bodies are never copied when they exceed what is already buffered: the rest
//!   is dropped in the kernel with `recv(MSG_TRUNC)` (over TLS, where bytes must be decrypted,
//!   they are read into the receive buffer and dropped there). Control request bodies (bucket
//!   calls, lists) are kept, up to `exchange::MAX_CONTROL_BODY` (413 beyond); so are AIS
//!   shard PUTs, up to `ais::arch::SHARD_MAX_BYTES`.
//! - A request whose route does not want its body (redirect, refusal) and that asked
//!   `Expect: 100-continue` is answered at once and the connection closed, the body unread.
//! - While an answer is held (delay fault), nothing is sent or read on the connection.
//! - GET bodies are sent straight from a doubled copy of the shared pattern, so any slice of
//!   up to `PATTERN_LEN` bytes is contiguous; memory does not grow with object size.
//! - Output is flushed before every read; heads of pipelined answers are batched.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use super::ais::moss::MossOut;
use super::counters::CoreCounters;
use super::exchange::Pending;
use super::pattern::{doubled_pattern, PATTERN_LEN};
use super::reactor::Shared;
use super::request::{self, Status};
use super::sys;
use super::tls::Tls;

/// Receive buffer per connection (bytes): net's largest request head, since a head must fit
/// in the buffer whole.
const READ_BUF_BYTES: usize = ringload_net::http::MAX_REQUEST_HEAD;
/// Initial capacity of the response-head buffer (bytes; grows once if a client pipelines).
const OUT_BUF_BYTES: usize = 512;
/// Memory one accepted connection holds (its buffers, name buffers and slot), for the budget.
pub const CONN_BYTES: usize =
    READ_BUF_BYTES + OUT_BUF_BYTES + 2 * 128 + 2 * std::mem::size_of::<Conn>();
/// Reused buffers above this capacity (bytes) are released once used, so a connection that
/// once carried a large list or control body does not keep that memory.
pub(super) const KEEP_BUF_BYTES: usize = 64 * 1024;
/// Batched response heads are flushed once they reach this size (bytes).
const OUT_FLUSH_BYTES: usize = 16 * 1024;
/// Largest single `recv(MSG_TRUNC)` of a request body (bytes); bounds one syscall's work.
const DISCARD_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Body bytes one connection may move per turn before others get theirs (fairness).
const DRIVE_BUDGET_BYTES: u64 = 8 * 1024 * 1024;
/// Requests one connection may start per turn before others get theirs (fairness).
const DRIVE_BUDGET_REQUESTS: u32 = 64;

/// What the reactor should do with the connection after [`Conn::drive`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drive {
    /// Waiting for readiness (the socket returned `EAGAIN`).
    Blocked,
    /// Budget spent with work left: drive again soon without waiting for an event.
    Yield,
    /// An answer is held back: drive again once this instant has passed.
    Sleep(Instant),
    /// Close it (the reason is already counted).
    Close,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum BodyState {
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailer,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Phase {
    Head,
    Body(BodyState),
    /// Flush what is queued, then close.
    Closing,
}

/// An object body being sent: position in the pattern and bytes left.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stream {
    pub(super) pos: usize,
    pub(super) remaining: u64,
}

enum Flush {
    Done,
    Blocked,
    Yield,
    Failed,
}

impl Flush {
    /// What `drive` must return after this flush, if it cannot go on (a failure counts as an
    /// error).
    fn stop(self, ctr: &CoreCounters) -> Option<Drive> {
        match self {
            Flush::Done => None,
            Flush::Blocked => Some(Drive::Blocked),
            Flush::Yield => Some(Drive::Yield),
            Flush::Failed => {
                ctr.error();
                Some(Drive::Close)
            }
        }
    }
}

enum Step {
    Progress,
    NeedInput,
}

pub(crate) struct Conn {
    pub(super) fd: OwnedFd,
    pub(super) rbuf: Box<[u8]>,
    pub(super) rpos: usize,
    pub(super) rend: usize,
    pub(super) out: Vec<u8>,
    out_sent: usize,
    pub(super) stream: Option<Stream>,
    pub(super) phase: Phase,
    pub(super) req: Pending,
    /// Decoded path of the current request.
    pub(super) name: Vec<u8>,
    /// Raw origin-form target (`/path?query`) of the current request.
    pub(super) target: Vec<u8>,
    /// Kept body of the current control request.
    pub(super) body: Vec<u8>,
    /// Bodies of control and error answers, built before their length is known.
    pub(super) scratch: Vec<u8>,
    /// A delayed answer: nothing is sent before this instant.
    pub(super) hold: Option<Instant>,
    /// The reactor already has a timer for `hold`.
    timer_armed: bool,
    /// The TLS session of an https listener's connection (see `tls`).
    pub(super) tls: Option<Box<Tls>>,
    /// A GetBatch archive being sent: its next header and member body are queued once the
    /// previous piece is out.
    pub(super) moss: MossOut,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd, tls: Option<Box<Tls>>) -> Self {
        Self {
            fd,
            rbuf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
            rpos: 0,
            rend: 0,
            out: Vec::with_capacity(OUT_BUF_BYTES),
            out_sent: 0,
            stream: None,
            phase: Phase::Head,
            req: Pending::idle(),
            name: Vec::with_capacity(128),
            target: Vec::with_capacity(128),
            body: Vec::new(),
            scratch: Vec::new(),
            hold: None,
            timer_armed: false,
            tls,
            moss: MossOut::default(),
        }
    }

    pub(crate) fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// True between requests (nothing buffered, nothing owed): closing now loses nothing.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Head)
            && self.rpos == self.rend
            && self.out_sent == self.out.len()
            && self.stream.is_none()
            && !self.moss.active()
            && self.hold.is_none()
            && !self.tls.as_ref().is_some_and(|t| t.pending())
    }

    /// Makes all the progress the socket allows (see the module doc).
    ///
    /// `trust_short_reads`: the caller got an edge event without `EPOLLRDHUP`. Then a receive
    /// that returns less than asked proves the socket empty (later data, or the peer's FIN,
    /// raises a new edge), which saves the final `recv` that would only return `EAGAIN`. Pass
    /// false when not driven by such an event.
    pub(crate) fn drive(
        &mut self,
        shared: &Shared,
        ctr: &CoreCounters,
        trust_short_reads: bool,
    ) -> Drive {
        let mut budget = DRIVE_BUDGET_BYTES;
        let mut requests = DRIVE_BUDGET_REQUESTS;
        let mut drained = false;
        loop {
            if let Some(until) = self.hold {
                if Instant::now() < until {
                    // Later events find the timer armed: wait for it, do nothing else.
                    if std::mem::replace(&mut self.timer_armed, true) {
                        return Drive::Blocked;
                    }
                    return Drive::Sleep(until);
                }
                self.hold = None;
                self.timer_armed = false;
            }
            let streaming = self.stream.is_some() || self.moss.active();
            let queued = self.out_sent < self.out.len() || streaming;
            let closing = matches!(self.phase, Phase::Closing);
            if queued && (streaming || self.out.len() >= OUT_FLUSH_BYTES || closing) {
                if let Some(stop) = self.flush(ctr, &mut budget).stop(ctr) {
                    return stop;
                }
            }
            match self.phase {
                Phase::Closing => return self.close_tls(ctr),
                Phase::Head if self.rpos < self.rend => {
                    if requests == 0 {
                        return Drive::Yield;
                    }
                    let buf = &self.rbuf[self.rpos..self.rend];
                    match request::parse_head(buf, &mut self.name, &mut self.target) {
                        Ok(Some(head)) => {
                            requests -= 1;
                            self.start_request(head, shared, ctr);
                            continue;
                        }
                        Ok(None) => {}
                        Err(_) => {
                            self.abort(ctr, Status::BadRequest);
                            continue;
                        }
                    }
                }
                Phase::Head => {}
                Phase::Body(state) => {
                    if let Step::Progress = self.consume_body(state, shared, ctr) {
                        continue;
                    }
                }
            }
            // Input is needed. Send batched answers first so the peer is never left waiting.
            if self.out_sent < self.out.len() {
                if let Some(stop) = self.flush(ctr, &mut budget).stop(ctr) {
                    return stop;
                }
            }
            if drained {
                return Drive::Blocked;
            }
            if budget == 0 {
                return Drive::Yield;
            }
            let result = match self.phase {
                Phase::Body(BodyState::Fixed(left) | BodyState::ChunkData(left))
                    if self.rpos == self.rend && !self.req.capture && self.tls.is_none() =>
                {
                    self.discard(left, ctr, &mut budget)
                }
                _ => self.fill(&mut budget),
            };
            match result {
                Ok((n, asked)) if trust_short_reads && n > 0 && n < asked => drained = true,
                _ => {}
            }
            match result.map(|(n, _)| n) {
                Ok(0) => {
                    // End of stream: clean between requests, an error in the middle of one.
                    if !self.is_idle() {
                        ctr.error();
                    }
                    return Drive::Close;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drive::Blocked,
                Err(e) if e.kind() == io::ErrorKind::OutOfMemory => {
                    // Our marker for "buffer full": a head or chunk line too large.
                    self.abort(ctr, Status::BadRequest);
                }
                Err(_) => {
                    ctr.error();
                    return Drive::Close;
                }
            }
        }
    }

    /// Ends a closing connection: a TLS one sends `close_notify` and any queued ciphertext
    /// first (waiting for write readiness if the socket is full).
    fn close_tls(&mut self, ctr: &CoreCounters) -> Drive {
        let Some(tls) = self.tls.as_deref_mut() else {
            return Drive::Close;
        };
        tls.close_notify();
        match tls.push(&self.fd) {
            Ok(false) => Drive::Blocked,
            Ok(true) => Drive::Close,
            Err(_) => {
                ctr.error();
                Drive::Close
            }
        }
    }

    /// Reads into the receive buffer, compacting it first; returns (got, asked). A full buffer
    /// is reported as `OutOfMemory` (the head or chunk line does not fit). Decrypted bytes
    /// count against `budget` (a TLS request body is read, not dropped in the kernel), and
    /// never as a short read: rustls may hold more than it handed over.
    fn fill(&mut self, budget: &mut u64) -> io::Result<(usize, usize)> {
        if self.rpos == self.rend {
            self.rpos = 0;
            self.rend = 0;
        } else if self.rend == self.rbuf.len() && self.rpos > 0 {
            self.rbuf.copy_within(self.rpos..self.rend, 0);
            self.rend -= self.rpos;
            self.rpos = 0;
        }
        if self.rend == self.rbuf.len() {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        let asked = self.rbuf.len() - self.rend;
        if let Some(tls) = self.tls.as_deref_mut() {
            let n = tls.recv(&self.fd, &mut self.rbuf[self.rend..])?;
            self.rend += n;
            *budget = budget.saturating_sub(n as u64);
            return Ok((n, n));
        }
        let n = sys::recv(self.fd.as_raw_fd(), &mut self.rbuf[self.rend..])?;
        self.rend += n;
        Ok((n, asked))
    }

    /// Drops up to `left` body bytes in the kernel and advances the body state; returns
    /// (dropped, asked).
    fn discard(
        &mut self,
        left: u64,
        ctr: &CoreCounters,
        budget: &mut u64,
    ) -> io::Result<(usize, usize)> {
        let want = left.min(DISCARD_MAX_BYTES) as usize;
        let n = sys::discard(self.fd.as_raw_fd(), want)?;
        if n > 0 {
            *budget = budget.saturating_sub(n as u64);
            self.body_bytes(n as u64, ctr);
        }
        Ok((n, want))
    }

    /// Accounts `n` body bytes (already taken off the socket or buffer) to the current chunk.
    fn body_bytes(&mut self, n: u64, ctr: &CoreCounters) {
        ctr.bytes_in(n);
        self.req.received += n;
        self.phase = match self.phase {
            Phase::Body(BodyState::Fixed(left)) => Phase::Body(BodyState::Fixed(left - n)),
            Phase::Body(BodyState::ChunkData(left)) if left == n => {
                Phase::Body(BodyState::ChunkDataEnd)
            }
            Phase::Body(BodyState::ChunkData(left)) => Phase::Body(BodyState::ChunkData(left - n)),
            other => other,
        };
    }

    /// Advances the body using buffered bytes only.
    fn consume_body(&mut self, state: BodyState, shared: &Shared, ctr: &CoreCounters) -> Step {
        if let BodyState::Fixed(0) = state {
            self.finish_request(shared, ctr);
            return Step::Progress;
        }
        let avail = &self.rbuf[self.rpos..self.rend];
        if avail.is_empty() {
            return Step::NeedInput;
        }
        match state {
            BodyState::Fixed(left) | BodyState::ChunkData(left) => {
                let take = (avail.len() as u64).min(left);
                if self.req.capture {
                    if self.body.len() as u64 + take > self.req.capture_max {
                        self.abort(ctr, Status::PayloadTooLarge);
                        return Step::Progress;
                    }
                    self.body.extend_from_slice(&avail[..take as usize]);
                }
                self.rpos += take as usize;
                self.body_bytes(take, ctr);
            }
            BodyState::ChunkSize | BodyState::Trailer => {
                let Some(nl) = avail.iter().position(|&b| b == b'\n') else {
                    return Step::NeedInput;
                };
                let line = avail[..nl].strip_suffix(b"\r").unwrap_or(&avail[..nl]);
                let next = match state {
                    BodyState::ChunkSize => match request::parse_chunk_size(line) {
                        Some(0) => Some(BodyState::Trailer),
                        Some(n) => Some(BodyState::ChunkData(n)),
                        None => {
                            self.abort(ctr, Status::BadRequest);
                            return Step::Progress;
                        }
                    },
                    // An empty line ends the trailers (and the request); others are skipped.
                    _ if line.is_empty() => None,
                    _ => Some(BodyState::Trailer),
                };
                self.rpos += nl + 1;
                match next {
                    Some(s) => self.phase = Phase::Body(s),
                    None => self.finish_request(shared, ctr),
                }
            }
            BodyState::ChunkDataEnd => {
                if avail.starts_with(b"\r\n") {
                    self.rpos += 2;
                } else if avail.starts_with(b"\n") {
                    self.rpos += 1;
                } else if avail == b"\r" {
                    return Step::NeedInput;
                } else {
                    self.abort(ctr, Status::BadRequest);
                    return Step::Progress;
                }
                self.phase = Phase::Body(BodyState::ChunkSize);
            }
        }
        Step::Progress
    }

    /// Sends queued heads and the current object body until done, blocked or out of budget.
    fn flush(&mut self, ctr: &CoreCounters, budget: &mut u64) -> Flush {
        let doubled = doubled_pattern();
        loop {
            let head = &self.out[self.out_sent..];
            let body: &[u8] = match self.stream {
                Some(s) => {
                    let len = s.remaining.min(PATTERN_LEN as u64).min(*budget) as usize;
                    &doubled[s.pos..s.pos + len]
                }
                None => &[],
            };
            if head.is_empty() && self.stream.is_none() {
                self.out.clear();
                self.out_sent = 0;
                if self.moss.active() {
                    // A GetBatch archive: its next header, then that member's body.
                    self.stream = self.moss.refill(&mut self.out);
                    continue;
                }
                if self.out.capacity() > KEEP_BUF_BYTES {
                    // A big control answer went out; do not keep its memory per connection.
                    self.out.shrink_to(OUT_BUF_BYTES);
                }
                return Flush::Done;
            }
            if head.is_empty() && body.is_empty() {
                return Flush::Yield; // budget spent mid-body
            }
            let sent = match self.tls.as_deref_mut() {
                None => sys::send2(self.fd.as_raw_fd(), head, body),
                Some(tls) => tls.send(&self.fd, head, body),
            };
            match sent {
                Ok(0) => return Flush::Failed,
                Ok(n) => {
                    let from_head = n.min(head.len());
                    self.out_sent += from_head;
                    let from_body = (n - from_head) as u64;
                    if let Some(s) = &mut self.stream {
                        if from_body > 0 {
                            ctr.bytes_out(from_body);
                            *budget = budget.saturating_sub(from_body);
                            s.remaining -= from_body;
                            s.pos = (s.pos + from_body as usize) % PATTERN_LEN;
                        }
                        if s.remaining == 0 {
                            self.stream = None;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flush::Blocked,
                Err(_) => return Flush::Failed,
            }
        }
    }
}
