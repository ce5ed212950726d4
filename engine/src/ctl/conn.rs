//! One request/response of [`super::Client`] on a blocking connection (plain TCP or TLS,
//! [`Stream`]): a small driver loop
//! that writes the request, receives into the [`Exchange`]'s buffer and feeds it, and keeps
//! the response head and body in memory. The exchange does all HTTP/1.1 parsing and framing
//! (the same code as the hot path); this file owns the socket, the deadline, the body cap and
//! the wording of [`CtlError`]s.
//!
//! Owns [`round_trip`], [`Call`] and [`Fail`]. Invariants: every write and read is bounded by
//! the call's deadline; the body is bounded by the caller's cap, checked against what the
//! framing announces before the bytes are received; a failure is `Stale` only when not one
//! response byte arrived (so the request may be replayed on a fresh connection); a connection
//! is reported reusable only after a complete keep-alive response with no bytes left over.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::http::{Exchange, Failure, Need, Sink};

use super::tls::Stream;
use super::{CtlError, Response};

/// Bytes asked of the kernel per read (also the room for a response head).
const RECV_BUF: usize = 64 * 1024;

/// A failed exchange: `Stale` when nothing was received, so a reused connection may simply
/// have been closed by the server and one retry on a fresh connection is safe.
pub(super) enum Fail {
    Stale(CtlError),
    Fatal(CtlError),
}

impl Fail {
    pub(super) fn into_inner(self) -> CtlError {
        match self {
            Fail::Stale(e) | Fail::Fatal(e) => e,
        }
    }
}

/// What one hop needs besides the socket: the `host:port` its errors name, the client's
/// timeout (quoted in timeout errors), the call's deadline and the largest body kept.
pub(super) struct Call<'a> {
    pub(super) key: &'a str,
    pub(super) timeout: Duration,
    pub(super) deadline: Instant,
    pub(super) max_body: usize,
}

impl Call<'_> {
    pub(super) fn timed_out(&self) -> CtlError {
        CtlError::Timeout {
            addr: self.key.to_string(),
            timeout: self.timeout,
        }
    }

    /// A connection error; a TLS one (an alert after the handshake) names its cause and fix.
    fn io(&self, source: io::Error) -> CtlError {
        match super::tls::tls_cause(&source) {
            Some(c) => CtlError::Tls {
                addr: self.key.to_string(),
                what: c.what,
                fix: c.fix,
            },
            None => CtlError::Io {
                addr: self.key.to_string(),
                source,
            },
        }
    }

    fn protocol(&self, reason: impl Into<String>) -> CtlError {
        CtlError::Protocol {
            addr: self.key.to_string(),
            reason: reason.into(),
        }
    }

    fn too_large(&self) -> CtlError {
        CtlError::BodyTooLarge {
            addr: self.key.to_string(),
            limit: self.max_body,
        }
    }

    /// Time left before the deadline, or the timeout error once it passed.
    pub(super) fn left(&self) -> Result<Duration, CtlError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(self.timed_out())
        } else {
            Ok(left)
        }
    }
}

/// Keeps the final head (headers decoded lossily as UTF-8) and the body up to `max` bytes;
/// a body over that sets `over` and is not kept further.
struct Keep {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    max: usize,
    over: bool,
}

impl Sink for Keep {
    fn head(&mut self, _status: u16, headers: &[httparse::Header<'_>]) {
        self.headers = headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
    }

    fn body(&mut self, bytes: &[u8]) {
        if self.over || self.body.len().saturating_add(bytes.len()) > self.max {
            self.over = true;
        } else {
            self.body.extend_from_slice(bytes);
        }
    }
}

/// Writes `wire` (the encoded request, body included) and reads one response. `head` marks
/// a HEAD request (no body whatever the headers say). Returns the response and whether the
/// connection may be reused.
pub(super) fn round_trip(
    stream: &mut Stream,
    call: &Call,
    wire: &[u8],
    head: bool,
) -> Result<(Response, bool), Fail> {
    let mut ex = Exchange::with_recv_buf(RECV_BUF);
    // The request body rides in the head bytes: the exchange only needs to know when all of
    // the request is out. Bodies are kept, never dropped in the kernel.
    ex.head.extend_from_slice(wire);
    ex.begin(0, head, false);
    let mut keep = Keep {
        headers: Vec::new(),
        body: Vec::new(),
        max: call.max_body,
        over: false,
    };
    loop {
        match ex.need() {
            Need::Done => break,
            Need::Send => {
                send(stream, call, ex.head_rest())?;
                let n = ex.head_rest().len();
                ex.on_sent(n);
            }
            Need::Recv | Need::Discard(_) => {
                let started = ex.response_started();
                let n = recv(stream, call, ex.recv_space(), started)?;
                ex.on_recv(n, &mut keep)
                    .map_err(|f| failure(f, &ex, call))?;
                let announced = ex.body_left().unwrap_or(0);
                if keep.over || keep.body.len() as u64 + announced > call.max_body as u64 {
                    return Err(Fail::Fatal(call.too_large()));
                }
            }
        }
    }
    let resp = Response {
        status: ex.status(),
        headers: keep.headers,
        body: keep.body,
    };
    Ok((resp, ex.keep_alive()))
}

/// Writes all of `bytes` before the deadline. A write error other than the deadline is
/// `Stale`: nothing of the response has arrived yet.
fn send(stream: &mut Stream, call: &Call, bytes: &[u8]) -> Result<(), Fail> {
    let left = call.left().map_err(Fail::Fatal)?;
    let _ = stream.tcp().set_write_timeout(Some(left));
    let fail = |e: io::Error| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Fail::Fatal(call.timed_out()),
        _ => Fail::Stale(call.io(e)),
    };
    // A TLS stream buffers what it encrypts: the flush puts it on the wire.
    stream.write_all(bytes).map_err(fail)?;
    stream.flush().map_err(fail)
}

/// Reads into `space` before the deadline; `Ok(0)` at end of stream. A connection error is
/// `Stale` when no response byte had arrived (`started` false).
fn recv(stream: &mut Stream, call: &Call, space: &mut [u8], started: bool) -> Result<usize, Fail> {
    loop {
        let left = call.left().map_err(Fail::Fatal)?;
        let _ = stream.tcp().set_read_timeout(Some(left));
        match stream.read(space) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Fail::Fatal(call.timed_out()))
            }
            Err(e) if started => return Err(Fail::Fatal(call.io(e))),
            Err(e) => return Err(Fail::Stale(call.io(e))),
        }
    }
}

/// Words an exchange failure for the caller.
fn failure(f: Failure, ex: &Exchange, call: &Call) -> Fail {
    match f {
        Failure::Closed => Fail::Stale(CtlError::Closed {
            addr: call.key.to_string(),
        }),
        Failure::ShortBody => Fail::Fatal(call.protocol(match ex.content_length() {
            Some(n) => format!("the body ended after {} of {n} bytes", ex.body_bytes()),
            None => "the connection closed inside the chunked body".to_string(),
        })),
        Failure::Protocol => Fail::Fatal(call.protocol(ex.failure_reason())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{Fake, Reply};
    use super::*;

    /// Runs one GET against a server that answers `raw`, keeping at most `max_body` bytes.
    fn get(raw: &'static [u8], max_body: usize) -> Result<(Response, bool), CtlError> {
        let srv = Fake::start(move |_| Reply::SendClose(raw.to_vec()));
        let mut stream = Stream::Plain(std::net::TcpStream::connect(&srv.addr).unwrap());
        let call = Call {
            key: &srv.addr,
            timeout: Duration::from_secs(5),
            deadline: Instant::now() + Duration::from_secs(5),
            max_body,
        };
        let wire = format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", srv.addr);
        round_trip(&mut stream, &call, wire.as_bytes(), false).map_err(Fail::into_inner)
    }

    #[test]
    fn a_body_at_the_cap_is_kept_and_one_byte_more_is_refused() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n";
        assert_eq!(get(raw, 4).unwrap().0.body, b"abcd");
        let err = get(raw, 3).unwrap_err();
        assert!(
            matches!(err, CtlError::BodyTooLarge { limit: 3, .. }),
            "{err}"
        );
        let until_close = b"HTTP/1.1 200 OK\r\n\r\nabcdef";
        assert_eq!(get(until_close, 6).unwrap().0.body, b"abcdef");
        let err = get(until_close, 5).unwrap_err();
        assert!(err.to_string().contains("exceeds 5 bytes"), "{err}");
    }

    #[test]
    fn an_announced_body_over_the_cap_is_refused_before_it_arrives() {
        // The server promises 100 bytes and sends none: the cap answers at once, no timeout.
        let t0 = Instant::now();
        let err = get(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 99).unwrap_err();
        assert!(
            matches!(err, CtlError::BodyTooLarge { limit: 99, .. }),
            "{err}"
        );
        let err = get(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n",
            99,
        )
        .unwrap_err();
        assert!(matches!(err, CtlError::BodyTooLarge { .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn failures_are_worded_from_the_exchange() {
        let err = get(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            100,
        )
        .unwrap_err();
        assert!(err.to_string().contains("inside the chunked body"), "{err}");
        let err = get(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            100,
        )
        .unwrap_err();
        assert!(err.to_string().contains("bad chunk size"), "{err}");
        let err = get(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", 100).unwrap_err();
        assert!(err.to_string().contains("unexpected 101"), "{err}");
        let err = get(b"HTTP/1.1 200 O", 100).unwrap_err();
        assert!(
            err.to_string().contains("inside the response head"),
            "{err}"
        );
        assert!(matches!(
            get(b"", 100).unwrap_err(),
            CtlError::Closed { .. }
        ));
    }

    #[test]
    fn bytes_after_the_response_spoil_the_connection() {
        let (resp, reusable) =
            get(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 100).unwrap();
        assert_eq!((resp.body.as_slice(), reusable), (&b"ok"[..], false));
        let (resp, reusable) = get(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 100).unwrap();
        assert_eq!((resp.status, reusable), (200, true));
    }
}
