//! The sans-IO HTTP/1.1 client exchange: one request out, one response in, on a keep-alive
//! connection, without ever performing I/O itself.
//!
//! The driver asks [`Exchange::need`] what to do next (send, receive into [`Exchange::recv_space`],
//! or drop `n` bytes in the kernel), performs it, and reports the result with `on_sent`,
//! `on_recv` or `on_discarded`. Both drivers (io_uring and epoll) run this same logic, so one set
//! of tests covers both. Invariants:
//! - at most one I/O is outstanding per exchange, so buffers stay put while the kernel owns them;
//! - after every `on_recv` all buffered bytes are consumed, so a body phase always starts with
//!   an empty buffer and `Discard` never skips bytes that were already copied;
//! - body bytes are counted exactly once, whether they were copied (and shown to the sink) or
//!   dropped with `MSG_TRUNC`; a response that ends early is a `ShortBody` failure, never a
//!   success with fewer bytes.
//!
//! The hot path drops GET bodies (`discard`); the control plane ([`crate::ctl`]) copies every
//! body byte into a [`Sink`] instead and reads [`Exchange::failure_reason`] and
//! [`Exchange::body_left`] to word its errors and cap its bodies. Both live off the per-byte
//! path: a reason is written only when an exchange fails. Parsing a response head is
//! `head.rs`'s.

use ringload_net::http::{parse_chunk_size, MAX_RESPONSE_HEAD};

mod head;

/// Receive buffer per connection: holds a response head (nginx's is about 250 bytes) and the
/// first body bytes. 4 KiB keeps 10,000 connections at 40 MiB.
pub const RECV_BUF: usize = 4096;
/// Receive buffer of a connection whose bodies are copied to be verified: 16 times fewer
/// receives than [`RECV_BUF`] per byte. Measured on 1 MiB GETs: 0.35–0.40 client CPU-s/GiB
/// instead of 0.57 (benches/RESULTS.md, "Cost of `--verifyhash`").
pub const VERIFY_RECV_BUF: usize = 64 * 1024;
/// Largest single kernel drop request (io_uring lengths are 32-bit).
pub const MAX_DISCARD: usize = 1 << 30;
/// Longest chunk-size or trailer line tolerated.
const MAX_LINE: usize = 4096;

/// Where a response goes: its final head (only a sink that verifies looks at the headers, so
/// a plain closure costs nothing) and the body bytes that were copied.
pub trait Sink {
    /// Called once per final (non-1xx) response head, before any of its body bytes.
    #[inline]
    fn head(&mut self, _status: u16, _headers: &[httparse::Header<'_>]) {}
    /// Body bytes, in order.
    fn body(&mut self, bytes: &[u8]);
}

impl<F: FnMut(&[u8])> Sink for F {
    #[inline]
    fn body(&mut self, bytes: &[u8]) {
        self(bytes)
    }
}

/// What the exchange needs the driver to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Send [`Exchange::head_rest`] and then the request body.
    Send,
    /// Receive into [`Exchange::recv_space`].
    Recv,
    /// Drop up to this many bytes in the kernel (`recv` with `MSG_TRUNC`).
    Discard(usize),
    /// The response is complete.
    Done,
}

/// Why an exchange failed. The worker maps these to error kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server closed the connection before sending any byte of a response.
    Closed,
    /// The connection ended before the announced body was complete.
    ShortBody,
    /// The response was not valid HTTP/1.1 (or its head was too large).
    Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Sending,
    Head,
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkCrlf,
    Trailer,
    UntilClose,
    Done,
}

/// One request/response on one connection; reused for every request of that connection.
pub struct Exchange {
    /// The encoded request head; the worker writes it before [`Exchange::begin`].
    pub head: Vec<u8>,
    head_sent: usize,
    body_len: u64,
    body_sent: u64,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    state: State,
    status: u16,
    keep_alive: bool,
    head_only: bool,
    discard: bool,
    /// Body bytes the caller allows to be dropped in the kernel when `discard` is off
    /// ([`Exchange::allow_discard`]): a GetBatch drops member bodies, never TAR headers.
    allow: u64,
    got_any: bool,
    body_bytes: u64,
    content_length: Option<u64>,
    location: Vec<u8>,
    /// The head carries `Expect: 100-continue`: the body waits for `100 Continue`.
    expect: bool,
    /// The server said `100 Continue` (or the body may go anyway).
    continued: bool,
    /// Why the last `Protocol` failure happened, for error messages.
    why: &'static str,
}

impl Default for Exchange {
    fn default() -> Self {
        Self::new()
    }
}

impl Exchange {
    pub fn new() -> Exchange {
        Exchange::with_recv_buf(RECV_BUF)
    }

    /// An exchange whose receive buffer starts at `len` bytes (it grows only for a response
    /// head larger than that, up to [`MAX_RESPONSE_HEAD`]).
    pub fn with_recv_buf(len: usize) -> Exchange {
        Exchange {
            head: Vec::with_capacity(512),
            head_sent: 0,
            body_len: 0,
            body_sent: 0,
            buf: vec![0; len],
            start: 0,
            end: 0,
            state: State::Done,
            status: 0,
            keep_alive: true,
            head_only: false,
            discard: true,
            allow: 0,
            got_any: false,
            body_bytes: 0,
            content_length: None,
            location: Vec::new(),
            expect: false,
            continued: false,
            why: "",
        }
    }

    /// Starts a new exchange for the head already in `self.head`, with a request body of
    /// `body_len` bytes. `head_only` is true for HEAD requests; `discard` allows bodies to be
    /// dropped in the kernel (false when the caller must see every byte).
    pub fn begin(&mut self, body_len: u64, head_only: bool, discard: bool) {
        self.head_sent = 0;
        self.body_len = body_len;
        self.body_sent = 0;
        self.start = 0;
        self.end = 0;
        self.state = State::Sending;
        self.status = 0;
        self.keep_alive = true;
        self.head_only = head_only;
        self.discard = discard;
        self.allow = 0;
        self.got_any = false;
        self.body_bytes = 0;
        self.content_length = None;
        self.location.clear();
        self.expect = false;
        self.continued = false;
    }

    /// Marks the exchange just begun as sent with `Expect: 100-continue` (the head must carry
    /// it): the body goes only after `100 Continue`. A final answer before that ends the
    /// exchange without the body, and the connection is not reused (the server cannot know
    /// whether a body follows).
    pub fn expect_continue(&mut self) {
        self.expect = self.body_len > 0;
    }

    /// Whether body bytes may be sent now.
    pub fn may_send_body(&self) -> bool {
        !self.expect || self.continued
    }

    /// Allows the next `n` body bytes to be dropped in the kernel in an exchange begun
    /// without `discard` (the caller's count; it replaces the previous one). Bytes already in
    /// the buffer are still shown to the sink: the caller counts them against its own `n`.
    pub fn allow_discard(&mut self, n: u64) {
        self.allow = n;
    }

    pub fn need(&self) -> Need {
        let empty = self.start == self.end;
        let cap = match (self.discard, self.allow) {
            (true, _) => MAX_DISCARD as u64,
            (false, n) => n.min(MAX_DISCARD as u64),
        };
        match self.state {
            State::Sending => Need::Send,
            State::Fixed(rem) | State::ChunkData(rem) if cap > 0 && empty => {
                Need::Discard(rem.min(cap) as usize)
            }
            State::UntilClose if cap > 0 && empty => Need::Discard(cap as usize),
            State::Done => Need::Done,
            _ => Need::Recv,
        }
    }

    /// The part of the request head not yet sent.
    pub fn head_rest(&self) -> &[u8] {
        &self.head[self.head_sent.min(self.head.len())..]
    }

    /// Request body bytes sent so far and the body's total length.
    pub fn body_progress(&self) -> (u64, u64) {
        (self.body_sent, self.body_len)
    }

    /// Accounts for `n` bytes sent (head first, then body).
    pub fn on_sent(&mut self, mut n: usize) {
        let head_left = self.head.len() - self.head_sent;
        let h = n.min(head_left);
        self.head_sent += h;
        n -= h;
        self.body_sent = (self.body_sent + n as u64).min(self.body_len);
        let head_done = self.head_sent == self.head.len();
        if head_done && (self.body_sent == self.body_len || !self.may_send_body()) {
            self.state = State::Head;
        }
    }

    /// Free space to receive into. Compacts, or grows the buffer for an oversized head.
    pub fn recv_space(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() < MAX_RESPONSE_HEAD {
                let len = (self.buf.len() * 2).min(MAX_RESPONSE_HEAD);
                self.buf.resize(len, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Accounts for `n` bytes received into [`Exchange::recv_space`] (0 = end of stream).
    /// Body bytes that arrived in the buffer are shown to `sink` before they are consumed.
    pub fn on_recv(&mut self, n: usize, sink: &mut impl Sink) -> Result<(), Failure> {
        if n == 0 {
            return self.on_eof();
        }
        self.got_any = true;
        self.end += n;
        let r = self.process(sink);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        r
    }

    /// Accounts for `n` body bytes dropped in the kernel (0 = end of stream).
    pub fn on_discarded(&mut self, n: usize) -> Result<(), Failure> {
        if n == 0 {
            return self.on_eof();
        }
        let n = n as u64;
        self.body_bytes += n;
        if !self.discard {
            self.allow = self.allow.saturating_sub(n);
        }
        self.state = match self.state {
            State::Fixed(rem) if n >= rem => State::Done,
            State::Fixed(rem) => State::Fixed(rem - n),
            State::ChunkData(rem) if n >= rem => State::ChunkCrlf,
            State::ChunkData(rem) => State::ChunkData(rem - n),
            s => s,
        };
        Ok(())
    }

    fn on_eof(&mut self) -> Result<(), Failure> {
        self.keep_alive = false;
        match self.state {
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            State::Head | State::Sending if !self.got_any => Err(Failure::Closed),
            State::Head | State::Sending => {
                Err(self.protocol("the connection closed inside the response head"))
            }
            State::Done => Ok(()),
            _ => Err(Failure::ShortBody),
        }
    }

    fn process(&mut self, sink: &mut impl Sink) -> Result<(), Failure> {
        loop {
            let avail = self.end - self.start;
            match self.state {
                State::Sending | State::Done => {
                    if avail > 0 {
                        // Bytes nobody asked for: the connection cannot be trusted again.
                        self.keep_alive = false;
                        self.start = self.end;
                    }
                    return Ok(());
                }
                State::Head => {
                    if !self.parse_head(sink)? {
                        if self.end - self.start >= MAX_RESPONSE_HEAD {
                            return Err(self.protocol("the response head exceeds 64 KiB"));
                        }
                        return Ok(());
                    }
                }
                State::Fixed(rem) | State::ChunkData(rem) => {
                    if avail == 0 {
                        return Ok(());
                    }
                    let take = (avail as u64).min(rem) as usize;
                    sink.body(&self.buf[self.start..self.start + take]);
                    self.start += take;
                    self.body_bytes += take as u64;
                    let left = rem - take as u64;
                    self.state = match (self.state, left) {
                        (State::Fixed(_), 0) => State::Done,
                        (State::Fixed(_), l) => State::Fixed(l),
                        (_, 0) => State::ChunkCrlf,
                        (_, l) => State::ChunkData(l),
                    };
                }
                State::UntilClose => {
                    sink.body(&self.buf[self.start..self.end]);
                    self.body_bytes += avail as u64;
                    self.start = self.end;
                    return Ok(());
                }
                State::ChunkSize | State::ChunkCrlf | State::Trailer => {
                    let Some(line) = self.take_line()? else {
                        return Ok(());
                    };
                    self.state = match self.state {
                        State::ChunkCrlf if line.is_empty() => State::ChunkSize,
                        State::ChunkCrlf => {
                            return Err(self.protocol("a chunk is longer than its size line says"))
                        }
                        State::Trailer if line.is_empty() => State::Done,
                        State::Trailer => State::Trailer,
                        _ => match parse_chunk_size(&self.buf[line]) {
                            Some(0) => State::Trailer,
                            Some(n) => State::ChunkData(n),
                            None => return Err(self.protocol("bad chunk size")),
                        },
                    };
                }
            }
        }
    }

    /// Takes one CRLF-terminated line from the buffer, returning its range without the CRLF.
    fn take_line(&mut self) -> Result<Option<std::ops::Range<usize>>, Failure> {
        let hay = &self.buf[self.start..self.end];
        match hay.windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                let r = self.start..self.start + i;
                self.start += i + 2;
                Ok(Some(r))
            }
            None if hay.len() > MAX_LINE => {
                Err(self.protocol("a chunk-size or trailer line exceeds 4 KiB"))
            }
            None => Ok(None),
        }
    }

    /// Records why the exchange failed and returns the `Protocol` failure.
    fn protocol(&mut self, why: &'static str) -> Failure {
        self.why = why;
        Failure::Protocol
    }

    /// Why the last [`Failure::Protocol`] happened (e.g. "bad chunk size"), for messages;
    /// meaningful only right after such a failure.
    pub fn failure_reason(&self) -> &'static str {
        self.why
    }

    /// Body bytes the framing still announces: the rest of a Content-Length body or of the
    /// current chunk. `None` before the final head, between chunks, for a body that runs
    /// until close, and once the response is complete. A caller that keeps bodies checks it
    /// against its cap before receiving them.
    pub fn body_left(&self) -> Option<u64> {
        match self.state {
            State::Fixed(rem) | State::ChunkData(rem) => Some(rem),
            _ => None,
        }
    }

    pub fn status(&self) -> u16 {
        self.status
    }
    /// Whether the connection may carry another request after this one.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }
    /// Response body bytes received (copied or dropped).
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }
    /// The `Location` header of the last response (empty if none).
    pub fn location(&self) -> &[u8] {
        &self.location
    }
    /// Whether any byte of a response arrived (a failure before that means the request may
    /// never have reached the server).
    pub fn response_started(&self) -> bool {
        self.got_any
    }
}

#[cfg(test)]
mod tests;
