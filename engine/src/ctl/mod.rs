//! A small blocking HTTP/1.1 client for the control plane: listing, bucket setup and cleanup
//! before and after a load run. It is deliberately not the hot path (that is [`crate::http`]
//! driven by io_uring or epoll); it favours clarity over speed, but parses responses with the
//! same sans-IO [`crate::http::Exchange`], so the client has one HTTP/1.1 response parser.
//!
//! This file is the outline: the [`Request`]/[`Response`] pair, [`CtlError`] and the limits.
//! The submodules do the work: `client` ([`Client`]: the keep-alive pool per `host:port`, the
//! per-call deadline, redirects), `conn` (one request/response on a blocking socket, driving
//! the exchange and keeping the body), `request` (URLs, redirect `Location`, request
//! bytes) and `tls` (the connection: plain TCP or a blocking rustls stream). Behaviour (as
//! AIStore's Go client):
//! - `http://` and `https://` URLs; `https://` needs the run's TLS configuration
//!   ([`Client::with_tls`]) and is refused without one; a failed handshake names its cause
//!   and fix ([`CtlError::Tls`]);
//! - 301/302/307/308 are followed up to [`MAX_REDIRECTS`] times, to other hosts too. 307/308
//!   keep the method and body; 301/302 keep them for GET and HEAD and turn anything else into
//!   a body-less GET (as Go does);
//! - `Authorization` goes only to the `host:port` of the original URL, never to a redirect
//!   target elsewhere (Go's rule, which AIS relies on: targets trust the proxy's redirect);
//! - response bodies are framed by Content-Length, chunked encoding, or connection close;
//!   HEAD, 1xx, 204 and 304 responses have none; bodies are kept up to [`MAX_BODY`];
//! - a reused connection that turns out closed before any response byte is retried once on a
//!   fresh connection.
//!
//! Invariants: the timeout is one deadline for the whole [`Client::send`] call (connects,
//! writes, reads and redirects together), so a slow-dripping server cannot stretch it; a
//! connection goes back to the pool only after a complete, well-framed keep-alive response
//! with nothing left over; header values never appear in errors or `Debug` output of a
//! [`Request`]'s `Authorization` header (shown as `***`); nothing panics on any input.

use std::fmt;
use std::io;
use std::time::Duration;

pub use client::Client;

mod client;
mod conn;
mod request;
mod tls;

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;

/// Most redirects followed by one [`Client::send`] (Go's client allows 10; AIS needs one):
/// the data path's limit too.
pub use ringload_net::http::MAX_REDIRECTS;
/// Largest response body accepted (a 10,000-entry list page is about 1 MiB of JSON).
pub const MAX_BODY: usize = 256 << 20;
/// Sent when the caller gives no `User-Agent` (the one every ringload request carries).
use ringload_net::http::USER_AGENT;
/// Request headers the client writes itself; callers' copies are ignored.
const MANAGED_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// One request. `url` is `http[s]://host[:port][/path][?query]`; the path and query are sent as
/// given (the caller percent-encodes them).
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, `DELETE`, `HEAD`, ... (an HTTP token).
    pub method: &'a str,
    /// The absolute `http://` or `https://` URL.
    pub url: &'a str,
    /// Extra headers. `Host`, `Content-Length`, `Transfer-Encoding` and `Connection` are set
    /// by the client and ignored here.
    pub headers: &'a [(&'a str, String)],
    /// The body; sent with a Content-Length (also `0` for an empty POST, PUT or PATCH).
    pub body: &'a [u8],
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if n.eq_ignore_ascii_case("authorization") {
                    (*n, "***")
                } else {
                    (*n, v.as_str())
                }
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A complete response: the final one after redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in arrival order (values decoded lossily as UTF-8).
    pub headers: Vec<(String, String)>,
    /// The whole body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a control request failed. Messages name the bad input and what to do about it; header
/// values (tokens) are never included.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// An `https://` URL, and the client has no TLS configuration (the run's endpoint is
    /// plain `http://`).
    #[error(
        "{url:?} uses https://, but this run's endpoint is plain http:// so it has no TLS \
         settings: give the https:// endpoint itself"
    )]
    Https { url: String },
    /// The TLS handshake failed: `what` names the cause, `fix` the flag or action.
    #[error("TLS handshake with {addr} failed: {what}; {fix}")]
    Tls {
        addr: String,
        what: String,
        fix: &'static str,
    },
    /// A URL that is not `http[s]://host[:port][/path]`.
    #[error("bad URL {url:?}: {reason}; expected http[s]://host[:port][/path][?query]")]
    BadUrl { url: String, reason: String },
    /// An invalid method or header name, or a header value with CR, LF or NUL.
    #[error("bad request header or method {name:?}: {reason}")]
    BadRequest { name: String, reason: String },
    /// The host name did not resolve.
    #[error("cannot resolve {addr}: {source}; check the host name in the endpoint")]
    Resolve { addr: String, source: io::Error },
    /// No address of the host accepted a connection.
    #[error(
        "cannot connect to {addr}: {source}; check that the endpoint is up and the port is right"
    )]
    Connect { addr: String, source: io::Error },
    /// The deadline passed before the response was complete.
    #[error("no complete answer from {addr} within {timeout:?}: check the endpoint, or raise the client timeout")]
    Timeout { addr: String, timeout: Duration },
    /// The connection failed mid-exchange.
    #[error("connection to {addr} failed: {source}")]
    Io { addr: String, source: io::Error },
    /// The server closed the connection without answering.
    #[error("{addr} closed the connection without answering; is it an HTTP server?")]
    Closed { addr: String },
    /// A malformed response (bad status line, headers, chunking or length).
    #[error("bad HTTP response from {addr}: {reason}; is it an HTTP/1.1 server?")]
    Protocol { addr: String, reason: String },
    /// The body exceeds [`MAX_BODY`].
    #[error("response body from {addr} exceeds {limit} bytes; ask for smaller pages")]
    BodyTooLarge { addr: String, limit: usize },
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("{url:?} redirected more than {max} times (a redirect loop?); check the endpoint")]
    TooManyRedirects { url: String, max: usize },
    /// A redirect's `Location` that cannot be followed.
    #[error("cannot follow redirect to {location:?}: {reason}")]
    BadLocation { location: String, reason: String },
}
