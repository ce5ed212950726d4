//! Parsing a response head: the status line and the headers the exchange acts on
//! (Content-Length, Transfer-Encoding, Connection, Location), and the state the body is read
//! in. Kept apart from the byte-moving state machine in `mod.rs`; a bad head is a
//! [`Failure::Protocol`], never a panic.

use ringload_net::http::{parse_decimal, MAX_RESPONSE_HEADERS};

use super::{Exchange, Failure, Sink, State};

impl Exchange {
    /// Parses a complete head if the buffer holds one; returns false when more bytes are needed.
    pub(super) fn parse_head(&mut self, sink: &mut impl Sink) -> Result<bool, Failure> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let len = match resp.parse(&self.buf[self.start..self.end]) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(false),
            Err(_) => return Err(self.protocol("bad status line or header")),
        };
        let status = resp.code.unwrap_or(0);
        let mut keep_alive = resp.version == Some(1);
        let mut chunked = false;
        let mut content_length: Option<u64> = None;
        for h in resp.headers.iter() {
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                let Some(v) = parse_decimal(h.value.trim_ascii()) else {
                    return Err(self.protocol("bad Content-Length"));
                };
                if content_length.is_some_and(|c| c != v) {
                    return Err(self.protocol("conflicting Content-Length headers"));
                }
                content_length = Some(v);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = contains_token(h.value, b"chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                if contains_token(h.value, b"close") {
                    keep_alive = false;
                } else if contains_token(h.value, b"keep-alive") {
                    keep_alive = true;
                }
            } else if name.eq_ignore_ascii_case(b"location") {
                self.location.clear();
                self.location.extend_from_slice(h.value);
            }
        }
        self.start += len;
        if status == 101 {
            // The server switched to another protocol: nothing HTTP follows.
            return Err(self.protocol("unexpected 101 Switching Protocols"));
        }
        if (100..200).contains(&status) {
            // An interim response (e.g. 100 Continue): the real one follows.
            if status == 100 && !self.may_send_body() {
                self.continued = true;
                self.state = State::Sending;
            }
            return Ok(true);
        }
        if !self.may_send_body() {
            // Answered before the body went out: the server may still expect it.
            keep_alive = false;
        }
        sink.head(status, resp.headers);
        self.status = status;
        self.keep_alive = keep_alive;
        self.content_length = content_length;
        self.state = if self.head_only || status == 204 || status == 304 {
            State::Done
        } else if chunked {
            State::ChunkSize
        } else if let Some(cl) = content_length {
            if cl == 0 {
                State::Done
            } else {
                State::Fixed(cl)
            }
        } else {
            self.keep_alive = false;
            State::UntilClose
        };
        Ok(true)
    }
}

fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}
