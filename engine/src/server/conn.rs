//! One server-side HTTP/1.1 connection: read heads, drop bodies, answer, stream objects.
//!
//! Owns: the per-connection buffers and the request/response sequencing (keep-alive,
//! pipelining, `Expect: 100-continue`, `Content-Length` and chunked bodies, `Connection:
//! close`). The reactor calls [`Conn::drive`] on readiness; `drive` works until the socket
//! would block, the connection must close, or its fairness budget is spent.
//!
//! Why this shape: sockets are registered edge-triggered once and never re-armed, so `drive`
//! must always run to `EAGAIN` (or report [`Drive::Yield`] so the reactor revisits it).
//!
//! Invariants:
//! - No allocation per request: the receive buffer, the response-head buffer and the name
//!   buffer are allocated once per connection and reused.
//! - Request bodies are never copied when they exceed what is already buffered: the rest is
//!   dropped in the kernel with `recv(MSG_TRUNC)`.
//! - GET bodies are sent straight from a doubled copy of the shared pattern, so any slice of
//!   up to `PATTERN_LEN` bytes is contiguous; memory does not grow with object size.
//! - Output is flushed before every read; heads of pipelined answers are batched.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;

use super::counters::CoreCounters;
use super::pattern::{object_start, pattern, PATTERN_LEN};
use super::request::{self, Extra, Framing, Head, Method, RangeSpec, Resolved};
use super::store::Store;
use super::sys;

/// Receive buffer per connection (bytes); also the largest request head accepted.
const READ_BUF_BYTES: usize = 8 * 1024;
/// Initial capacity of the response-head buffer (bytes; grows once if a client pipelines).
const OUT_BUF_BYTES: usize = 512;
/// Batched response heads are flushed once they reach this size (bytes).
const OUT_FLUSH_BYTES: usize = 16 * 1024;
/// Largest single `recv(MSG_TRUNC)` of a request body (bytes); bounds one syscall's work.
const DISCARD_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Body bytes one connection may move per turn before others get theirs (fairness).
const DRIVE_BUDGET_BYTES: u64 = 8 * 1024 * 1024;
/// Requests one connection may start per turn before others get theirs (fairness).
const DRIVE_BUDGET_REQUESTS: u32 = 64;
/// Body of 404 answers.
const NOT_FOUND_BODY: &[u8] = b"not found\n";
/// Body of 400 answers.
const BAD_REQUEST_BODY: &[u8] = b"bad request\n";

/// The pattern twice in a row: `[pos, pos + n)` is contiguous for `pos, n <= PATTERN_LEN`.
pub(crate) fn doubled_pattern() -> &'static [u8] {
    static DOUBLED: OnceLock<Box<[u8]>> = OnceLock::new();
    DOUBLED.get_or_init(|| [pattern(), pattern()].concat().into_boxed_slice())
}

/// What the reactor should do with the connection after [`Conn::drive`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drive {
    /// Waiting for readiness (the socket returned `EAGAIN`).
    Blocked,
    /// Budget spent with work left: drive again soon without waiting for an event.
    Yield,
    /// Close it (the reason is already counted).
    Close,
}

#[derive(Clone, Copy, Debug)]
enum BodyState {
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailer,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Head,
    Body(BodyState),
    /// Flush what is queued, then close.
    Closing,
}

/// The request whose body is being consumed.
#[derive(Clone, Copy, Debug)]
struct Pending {
    method: Method,
    keep_alive: bool,
    http10_keep_alive: bool,
    range: Option<RangeSpec>,
    received: u64,
}

/// An object body being sent: position in the pattern and bytes left.
#[derive(Clone, Copy, Debug)]
struct Stream {
    pos: usize,
    remaining: u64,
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
    fd: OwnedFd,
    rbuf: Box<[u8]>,
    rpos: usize,
    rend: usize,
    out: Vec<u8>,
    out_sent: usize,
    stream: Option<Stream>,
    phase: Phase,
    req: Pending,
    name: Vec<u8>,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            rbuf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
            rpos: 0,
            rend: 0,
            out: Vec::with_capacity(OUT_BUF_BYTES),
            out_sent: 0,
            stream: None,
            phase: Phase::Head,
            req: Pending {
                method: Method::Other,
                keep_alive: true,
                http10_keep_alive: false,
                range: None,
                received: 0,
            },
            name: Vec::with_capacity(128),
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
    }

    /// Makes all the progress the socket allows (see the module doc).
    ///
    /// `trust_short_reads`: the caller got an edge event without `EPOLLRDHUP`. Then a receive
    /// that returns less than asked proves the socket empty (later data, or the peer's FIN,
    /// raises a new edge), which saves the final `recv` that would only return `EAGAIN`. Pass
    /// false when not driven by such an event.
    pub(crate) fn drive(
        &mut self,
        store: &Store,
        ctr: &CoreCounters,
        trust_short_reads: bool,
    ) -> Drive {
        let mut budget = DRIVE_BUDGET_BYTES;
        let mut requests = DRIVE_BUDGET_REQUESTS;
        let mut drained = false;
        loop {
            let queued = self.out_sent < self.out.len() || self.stream.is_some();
            let closing = matches!(self.phase, Phase::Closing);
            if queued && (self.stream.is_some() || self.out.len() >= OUT_FLUSH_BYTES || closing) {
                if let Some(stop) = self.flush(ctr, &mut budget).stop(ctr) {
                    return stop;
                }
            }
            match self.phase {
                Phase::Closing => return Drive::Close,
                Phase::Head if self.rpos < self.rend => {
                    if requests == 0 {
                        return Drive::Yield;
                    }
                    match request::parse_head(&self.rbuf[self.rpos..self.rend], &mut self.name) {
                        Ok(Some(head)) => {
                            requests -= 1;
                            self.start_request(head, store, ctr);
                            continue;
                        }
                        Ok(None) => {}
                        Err(_) => {
                            self.bad_request(ctr);
                            continue;
                        }
                    }
                }
                Phase::Head => {}
                Phase::Body(state) => {
                    if let Step::Progress = self.consume_body(state, store, ctr) {
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
                    if self.rpos == self.rend =>
                {
                    self.discard(left, ctr, &mut budget)
                }
                _ => self.fill(),
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
                    self.bad_request(ctr);
                }
                Err(_) => {
                    ctr.error();
                    return Drive::Close;
                }
            }
        }
    }

    /// Reads into the receive buffer, compacting it first; returns (got, asked). A full buffer
    /// is reported as `OutOfMemory` (the head or chunk line does not fit).
    fn fill(&mut self) -> io::Result<(usize, usize)> {
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
    fn consume_body(&mut self, state: BodyState, store: &Store, ctr: &CoreCounters) -> Step {
        if let BodyState::Fixed(0) = state {
            self.finish_request(store, ctr);
            return Step::Progress;
        }
        let avail = &self.rbuf[self.rpos..self.rend];
        if avail.is_empty() {
            return Step::NeedInput;
        }
        match state {
            BodyState::Fixed(left) | BodyState::ChunkData(left) => {
                let take = (avail.len() as u64).min(left);
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
                            self.bad_request(ctr);
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
                    None => self.finish_request(store, ctr),
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
                    self.bad_request(ctr);
                    return Step::Progress;
                }
                self.phase = Phase::Body(BodyState::ChunkSize);
            }
        }
        Step::Progress
    }

    fn start_request(&mut self, head: Head, store: &Store, ctr: &CoreCounters) {
        self.rpos += head.len;
        self.req = Pending {
            method: head.method,
            keep_alive: head.keep_alive,
            http10_keep_alive: head.http10_keep_alive,
            range: head.range,
            received: 0,
        };
        if head.expect_continue {
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        match head.framing {
            Framing::Length(0) => self.finish_request(store, ctr),
            Framing::Length(n) => self.phase = Phase::Body(BodyState::Fixed(n)),
            Framing::Chunked => self.phase = Phase::Body(BodyState::ChunkSize),
        }
    }

    /// The body is complete: apply the request and queue the answer.
    fn finish_request(&mut self, store: &Store, ctr: &CoreCounters) {
        let req = self.req;
        let close = !req.keep_alive;
        let ka10 = req.http10_keep_alive;
        // The name was validated as UTF-8 by `parse_head`; the fallback is unreachable.
        let name = std::str::from_utf8(&self.name).unwrap_or("");
        let out = &mut self.out;
        let none = Extra::default();
        match req.method {
            Method::Put => {
                ctr.put();
                if store.put(name, req.received) {
                    request::write_head(out, b"204 No Content", None, none, close, ka10);
                } else {
                    request::write_head(out, b"201 Created", Some(0), none, close, ka10);
                }
            }
            Method::Get | Method::Head => {
                let is_get = req.method == Method::Get;
                if is_get {
                    ctr.get();
                } else {
                    ctr.head();
                }
                let size = store.get(name);
                let Some(size) = size else {
                    ctr.not_found();
                    let len = Some(NOT_FOUND_BODY.len() as u64);
                    request::write_head(out, b"404 Not Found", len, none, close, ka10);
                    if is_get {
                        out.extend_from_slice(NOT_FOUND_BODY);
                    }
                    self.phase = if close { Phase::Closing } else { Phase::Head };
                    return;
                };
                let ranges = Extra {
                    accept_ranges: true,
                    ..none
                };
                let (first, len) = match request::resolve(req.range, size) {
                    Resolved::Full => {
                        request::write_head(out, b"200 OK", Some(size), ranges, close, ka10);
                        (0, size)
                    }
                    Resolved::Part(a, b) => {
                        let extra = Extra {
                            range: Some((a, b, size)),
                            ..ranges
                        };
                        let len = b - a + 1;
                        let status = b"206 Partial Content";
                        request::write_head(out, status, Some(len), extra, close, ka10);
                        (a, len)
                    }
                    Resolved::Unsatisfiable => {
                        let extra = Extra {
                            unsatisfied_size: Some(size),
                            ..ranges
                        };
                        let status = b"416 Range Not Satisfiable";
                        request::write_head(out, status, Some(0), extra, close, ka10);
                        (0, 0)
                    }
                };
                if is_get && len > 0 {
                    let pos = (object_start(name.as_bytes()) as u64 + first % PATTERN_LEN as u64)
                        % PATTERN_LEN as u64;
                    self.stream = Some(Stream {
                        pos: pos as usize,
                        remaining: len,
                    });
                }
            }
            Method::Delete => {
                ctr.delete();
                if store.remove(name) {
                    request::write_head(out, b"204 No Content", None, none, close, ka10);
                } else {
                    ctr.not_found();
                    let len = Some(NOT_FOUND_BODY.len() as u64);
                    request::write_head(out, b"404 Not Found", len, none, close, ka10);
                    out.extend_from_slice(NOT_FOUND_BODY);
                }
            }
            Method::Other => {
                let allow = Extra {
                    allow: true,
                    ..none
                };
                let status = b"405 Method Not Allowed";
                request::write_head(out, status, Some(0), allow, close, ka10);
            }
        }
        self.phase = if close { Phase::Closing } else { Phase::Head };
    }

    /// Queues a 400 and closes after it; the rest of the input is ignored.
    fn bad_request(&mut self, ctr: &CoreCounters) {
        ctr.error();
        self.rpos = self.rend;
        let len = Some(BAD_REQUEST_BODY.len() as u64);
        request::write_head(
            &mut self.out,
            b"400 Bad Request",
            len,
            Extra::default(),
            true,
            false,
        );
        self.out.extend_from_slice(BAD_REQUEST_BODY);
        self.phase = Phase::Closing;
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
                return Flush::Done;
            }
            if head.is_empty() && body.is_empty() {
                return Flush::Yield; // budget spent mid-body
            }
            match sys::send2(self.fd.as_raw_fd(), head, body) {
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
