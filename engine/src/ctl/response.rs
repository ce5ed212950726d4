//! The incoming side of [`super::Client`]: reading one response from a connection against
//! the call's deadline, with HTTP/1.1 framing (Content-Length, chunked, until close).
//!
//! Owns [`read_response`] and [`Fail`]. Invariants: every read is bounded by the deadline,
//! the head by `MAX_HEAD` bytes and the body by [`MAX_BODY`]; a failure is `Stale` only
//! when not one response byte arrived (so the request may be replayed on a fresh
//! connection); a connection is reported reusable only after a complete keep-alive response
//! with no bytes left over; interim 1xx heads are skipped.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::{CtlError, Response, MAX_BODY};

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most response headers parsed.
const MAX_HEADERS: usize = 64;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;
/// Bytes asked of the kernel per read.
const READ_CHUNK: usize = 64 * 1024;

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

/// Reads one response to a request already written on `stream`. `head` marks a HEAD request
/// (no body whatever the headers say). Returns the response and whether the connection may
/// be reused.
pub(super) fn read_response(
    stream: &mut TcpStream,
    key: &str,
    timeout: Duration,
    deadline: Instant,
    head: bool,
) -> Result<(Response, bool), Fail> {
    let mut rd = Wire {
        stream,
        key,
        timeout,
        deadline,
        buf: Vec::new(),
        start: 0,
        received: false,
    };
    let Head {
        status,
        headers,
        keep: keep_alive,
    } = rd.read_head()?;
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let framing = framing(&resp, head).map_err(|r| Fail::Fatal(rd.protocol(r)))?;
    let reusable = match framing {
        Framing::None => keep_alive,
        Framing::Length(n) => {
            rd.read_exact(n, &mut resp.body).map_err(Fail::Fatal)?;
            keep_alive
        }
        Framing::Chunked => {
            rd.read_chunked(&mut resp.body).map_err(Fail::Fatal)?;
            keep_alive
        }
        Framing::Close => {
            rd.read_to_close(&mut resp.body).map_err(Fail::Fatal)?;
            false
        }
    };
    let leftover = rd.start < rd.buf.len();
    Ok((resp, reusable && !leftover))
}

/// How a response body is delimited.
enum Framing {
    None,
    Length(usize),
    Chunked,
    Close,
}

fn framing(resp: &Response, head: bool) -> Result<Framing, String> {
    if head || matches!(resp.status, 100..=199 | 204 | 304) {
        return Ok(Framing::None);
    }
    if let Some(te) = resp.header("transfer-encoding") {
        let last = te.rsplit(',').next().unwrap_or("").trim();
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            Framing::Chunked
        } else {
            Framing::Close
        });
    }
    let mut length = None;
    for (_, v) in resp
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| format!("bad Content-Length {v:?}"))?;
        if length.is_some_and(|l| l != n) {
            return Err("conflicting Content-Length headers".into());
        }
        length = Some(n);
    }
    match length {
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_BODY)
            .map(Framing::Length)
            .ok_or_else(|| format!("Content-Length {n} exceeds the {MAX_BODY}-byte limit")),
        None => Ok(Framing::Close),
    }
}

/// A parsed final response head; `keep` is the HTTP version's keep-alive verdict.
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    keep: bool,
}

/// Buffered reads from one connection against the call's deadline.
struct Wire<'a> {
    stream: &'a mut TcpStream,
    key: &'a str,
    timeout: Duration,
    deadline: Instant,
    buf: Vec<u8>,
    start: usize,
    /// Whether any response byte arrived (after which a failure is never "stale").
    received: bool,
}

impl Wire<'_> {
    fn protocol(&self, reason: impl Into<String>) -> CtlError {
        CtlError::Protocol {
            addr: self.key.to_string(),
            reason: reason.into(),
        }
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Reads more bytes; `Ok(0)` at end of stream.
    fn fill(&mut self) -> Result<usize, CtlError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let result = loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(CtlError::Timeout {
                    addr: self.key.to_string(),
                    timeout: self.timeout,
                });
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.stream.read(&mut self.buf[old..]) {
                Ok(n) => break Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break Err(CtlError::Timeout {
                        addr: self.key.to_string(),
                        timeout: self.timeout,
                    })
                }
                Err(source) => {
                    break Err(CtlError::Io {
                        addr: self.key.to_string(),
                        source,
                    })
                }
            }
        };
        let n = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(old + n);
        self.received |= n > 0;
        result
    }

    /// Reads the status line and headers, skipping interim 1xx responses.
    fn read_head(&mut self) -> Result<Head, Fail> {
        loop {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut slots);
            match parsed.parse(self.avail()) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.unwrap_or(0);
                    let version = parsed.version.unwrap_or(1);
                    let headers: Vec<(String, String)> = parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    self.start += len;
                    if status == 101 {
                        return Err(Fail::Fatal(
                            self.protocol("unexpected 101 Switching Protocols"),
                        ));
                    }
                    if (100..200).contains(&status) {
                        continue;
                    }
                    let conn = headers
                        .iter()
                        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
                        .flat_map(|(_, v)| v.split(','))
                        .map(|t| t.trim().to_ascii_lowercase())
                        .collect::<Vec<_>>();
                    let keep = if version == 0 {
                        conn.iter().any(|t| t == "keep-alive")
                    } else {
                        !conn.iter().any(|t| t == "close")
                    };
                    return Ok(Head {
                        status,
                        headers,
                        keep,
                    });
                }
                Ok(httparse::Status::Partial) if self.avail().len() > MAX_HEAD => {
                    return Err(Fail::Fatal(
                        self.protocol(format!("response head exceeds {MAX_HEAD} bytes")),
                    ));
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => {
                    return Err(Fail::Fatal(
                        self.protocol(format!("bad status line or header ({e})")),
                    ))
                }
            }
            let was_received = self.received;
            match self.fill() {
                Ok(0) if !was_received => {
                    return Err(Fail::Stale(CtlError::Closed {
                        addr: self.key.to_string(),
                    }))
                }
                Ok(0) => {
                    return Err(Fail::Fatal(
                        self.protocol("connection closed inside the response head"),
                    ))
                }
                Ok(_) => {}
                Err(e @ CtlError::Io { .. }) if !was_received => return Err(Fail::Stale(e)),
                Err(e) => return Err(Fail::Fatal(e)),
            }
        }
    }

    /// Appends exactly `n` body bytes to `out`.
    fn read_exact(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), CtlError> {
        let mut need = n;
        out.reserve(n.min(1 << 20));
        loop {
            let take = need.min(self.avail().len());
            out.extend_from_slice(&self.buf[self.start..self.start + take]);
            self.start += take;
            need -= take;
            if need == 0 {
                return Ok(());
            }
            if self.fill()? == 0 {
                return Err(
                    self.protocol(format!("the body ended after {} of {n} bytes", n - need))
                );
            }
        }
    }

    /// One CRLF- (or LF-) terminated line, without the terminator.
    fn line(&mut self) -> Result<String, CtlError> {
        loop {
            if let Some(i) = self.avail().iter().position(|&b| b == b'\n') {
                let raw = &self.avail()[..i];
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                let line = String::from_utf8_lossy(raw).into_owned();
                self.start += i + 1;
                return Ok(line);
            }
            if self.avail().len() > MAX_LINE {
                return Err(self.protocol(format!("a chunk line exceeds {MAX_LINE} bytes")));
            }
            if self.fill()? == 0 {
                return Err(self.protocol("the connection closed inside the chunked body"));
            }
        }
    }

    /// Decodes a chunked body (extensions and trailers are skipped).
    fn read_chunked(&mut self, out: &mut Vec<u8>) -> Result<(), CtlError> {
        loop {
            let line = self.line()?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| self.protocol(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                while !self.line()?.is_empty() {}
                return Ok(());
            }
            if out.len().saturating_add(size) > MAX_BODY {
                return Err(CtlError::BodyTooLarge {
                    addr: self.key.to_string(),
                    limit: MAX_BODY,
                });
            }
            self.read_exact(size, out)?;
            if !self.line()?.is_empty() {
                return Err(self.protocol("a chunk is longer than its size line says"));
            }
        }
    }

    /// Reads until the server closes the connection.
    fn read_to_close(&mut self, out: &mut Vec<u8>) -> Result<(), CtlError> {
        loop {
            out.extend_from_slice(self.avail());
            self.start = self.buf.len();
            if out.len() > MAX_BODY {
                return Err(CtlError::BodyTooLarge {
                    addr: self.key.to_string(),
                    limit: MAX_BODY,
                });
            }
            if self.fill()? == 0 {
                return Ok(());
            }
        }
    }
}
