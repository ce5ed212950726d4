//! A small blocking HTTP/1.1 client for the control plane: listing, bucket setup and cleanup
//! before and after a load run. It is deliberately not the hot path (that is [`crate::http`]
//! driven by io_uring or epoll); it favours clarity over speed.
//!
//! Owns [`Client`] (one keep-alive connection per `host:port`, a per-call deadline), the
//! [`Request`]/[`Response`] pair and [`CtlError`]; the submodules `request` (URLs, redirect
//! `Location`, request bytes) and `response` (reading and framing a response) do the wire
//! work. Behaviour (as AIStore's Go client):
//! - only `http://` URLs; `https://` is refused with an error that says TLS is not supported;
//! - 301/302/307/308 are followed up to [`MAX_REDIRECTS`] times, to other hosts too. 307/308
//!   keep the method and body; 301/302 keep them for GET and HEAD and turn anything else into
//!   a body-less GET (as Go does);
//! - `Authorization` goes only to the `host:port` of the original URL, never to a redirect
//!   target elsewhere (Go's rule, which AIS relies on: targets trust the proxy's redirect);
//! - response bodies are framed by Content-Length, chunked encoding, or connection close;
//!   HEAD, 1xx, 204 and 304 responses have none;
//! - a reused connection that turns out closed before any response byte is retried once on a
//!   fresh connection.
//!
//! Invariants: the timeout is one deadline for the whole [`Client::send`] call (connects,
//! writes, reads and redirects together), so a slow-dripping server cannot stretch it; a
//! connection goes back to the pool only after a complete, well-framed keep-alive response
//! with nothing left over; header values never appear in errors or `Debug` output of a
//! [`Request`]'s `Authorization` header (shown as `***`); nothing panics on any input.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use request::{encode, parse_url, resolve_location, validate, Target};
use response::{read_response, Fail};

mod request;
mod response;

/// Most redirects followed by one [`Client::send`] (Go's client allows 10; AIS needs one).
pub const MAX_REDIRECTS: usize = 5;
/// Largest response body accepted (a 10,000-entry list page is about 1 MiB of JSON).
pub const MAX_BODY: usize = 256 << 20;
/// Sent when the caller gives no `User-Agent`.
const USER_AGENT: &str = concat!("ringload/", env!("CARGO_PKG_VERSION"));
/// Request headers the client writes itself; callers' copies are ignored.
const MANAGED_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// One request. `url` is `http://host[:port][/path][?query]`; the path and query are sent as
/// given (the caller percent-encodes them).
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, `DELETE`, `HEAD`, ... (an HTTP token).
    pub method: &'a str,
    /// The absolute `http://` URL.
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
    /// An `https://` URL.
    #[error(
        "{url:?} uses https://, but TLS is not supported yet: use the endpoint's http:// address"
    )]
    Https { url: String },
    /// A URL that is not `http://host[:port][/path]`.
    #[error("bad URL {url:?}: {reason}; expected http://host[:port][/path][?query]")]
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

/// A blocking HTTP/1.1 client with one pooled keep-alive connection per `host:port`.
#[derive(Debug)]
pub struct Client {
    timeout: Duration,
    pool: HashMap<String, TcpStream>,
}

impl Client {
    /// A client whose every [`send`](Client::send) must finish within `timeout`.
    pub fn new(timeout: Duration) -> Client {
        Client {
            timeout,
            pool: HashMap::new(),
        }
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes the per-call timeout (used to back off a list page that timed out).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Closes every pooled connection.
    pub fn close_idle(&mut self) {
        self.pool.clear();
    }

    /// Sends the request; follows 301/302/307/308 redirects (at most [`MAX_REDIRECTS`]; the
    /// method and body are kept for 307/308 and for 301/302 of GET and HEAD), to other hosts
    /// too. `Authorization` is sent only to the `host:port` of the original URL. Bodies are
    /// read by Content-Length, chunked or until close; HEAD/1xx/204/304 have none. Reuses
    /// keep-alive connections per `host:port` and retries once on a fresh connection if a
    /// reused one turns out closed before any response byte. A redirect without `Location`
    /// is returned as the response.
    pub fn send(&mut self, req: &Request) -> Result<Response, CtlError> {
        validate(req)?;
        let now = Instant::now();
        // A timeout too large for the clock means "no timeout" in practice (a year).
        let year = Duration::from_secs(365 * 24 * 3600);
        let deadline = now.checked_add(self.timeout).unwrap_or(now + year);
        let origin = parse_url(req.url)?;
        let origin_key = origin.key();
        let (mut target, mut method, mut body) = (origin, req.method, req.body);
        let mut redirects = 0;
        loop {
            let auth = target.key() == origin_key;
            let wire = encode(method, &target, req.headers, body, auth);
            let resp = self.round_trip(&target, &wire, method == "HEAD", deadline)?;
            if !matches!(resp.status, 301 | 302 | 307 | 308) {
                return Ok(resp);
            }
            let Some(location) = resp.header("location") else {
                return Ok(resp);
            };
            if redirects == MAX_REDIRECTS {
                return Err(CtlError::TooManyRedirects {
                    url: req.url.to_string(),
                    max: MAX_REDIRECTS,
                });
            }
            redirects += 1;
            let next = resolve_location(&target, location)?;
            if matches!(resp.status, 301 | 302) && method != "GET" && method != "HEAD" {
                method = "GET";
                body = &[];
            }
            target = next;
        }
    }

    /// One hop on a pooled or fresh connection, with the stale-connection retry.
    fn round_trip(
        &mut self,
        t: &Target,
        wire: &[u8],
        head: bool,
        deadline: Instant,
    ) -> Result<Response, CtlError> {
        let key = t.key();
        if let Some(mut stream) = self.pool.remove(&key) {
            match self.exchange(&mut stream, &key, wire, head, deadline) {
                Ok((resp, keep)) => return Ok(self.finish(key, stream, resp, keep)),
                Err(Fail::Stale(_)) => {} // closed while idle: try once on a fresh connection
                Err(Fail::Fatal(e)) => return Err(e),
            }
        }
        let mut stream = self.connect(t, &key, deadline)?;
        let (resp, keep) = self
            .exchange(&mut stream, &key, wire, head, deadline)
            .map_err(Fail::into_inner)?;
        Ok(self.finish(key, stream, resp, keep))
    }

    fn finish(&mut self, key: String, stream: TcpStream, resp: Response, keep: bool) -> Response {
        if keep {
            self.pool.insert(key, stream);
        }
        resp
    }

    fn timed_out(&self, key: &str) -> CtlError {
        CtlError::Timeout {
            addr: key.to_string(),
            timeout: self.timeout,
        }
    }

    /// Connects to the first address of the host that accepts within the deadline.
    fn connect(&self, t: &Target, key: &str, deadline: Instant) -> Result<TcpStream, CtlError> {
        let addrs = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|source| CtlError::Resolve {
                addr: key.to_string(),
                source,
            })?;
        let mut last = None;
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out(key));
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Err(self.timed_out(key))
            }
            Some(source) => Err(CtlError::Connect {
                addr: key.to_string(),
                source,
            }),
            None => Err(CtlError::Resolve {
                addr: key.to_string(),
                source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
            }),
        }
    }

    /// Writes the request and reads one response. Returns whether the connection may be reused.
    fn exchange(
        &self,
        stream: &mut TcpStream,
        key: &str,
        wire: &[u8],
        head: bool,
        deadline: Instant,
    ) -> Result<(Response, bool), Fail> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Fail::Fatal(self.timed_out(key)));
        }
        let _ = stream.set_write_timeout(Some(left));
        if let Err(e) = stream.write_all(wire) {
            return Err(match e.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    Fail::Fatal(self.timed_out(key))
                }
                _ => Fail::Stale(CtlError::Io {
                    addr: key.to_string(),
                    source: e,
                }),
            });
        }
        read_response(stream, key, self.timeout, deadline, head)
    }
}

/// A scripted HTTP server on 127.0.0.1 for tests of this module and of [`crate::ais`].
#[cfg(test)]
pub(crate) mod fake {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// One request as the server saw it.
    #[derive(Debug, Clone)]
    pub struct Seen {
        pub method: String,
        /// Path and query.
        pub target: String,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
        /// Which accepted connection (0-based) carried it.
        pub conn: usize,
    }

    impl Seen {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).expect("request body is JSON")
        }

        pub fn path(&self) -> &str {
            self.target.split('?').next().unwrap_or("")
        }
    }

    /// What the server does with a request.
    pub enum Reply {
        /// Write these bytes and keep reading requests.
        Send(Vec<u8>),
        /// Write these bytes, then close the connection.
        SendClose(Vec<u8>),
        /// Never answer; wait for the client to go away.
        Silent,
    }

    /// A response with a Content-Length body.
    pub fn reply(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut out =
            format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len()).into_bytes();
        for (n, v) in headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        Reply::Send(out)
    }

    /// A JSON response.
    pub fn json(status: u16, body: &str) -> Reply {
        reply(
            status,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

    pub struct Fake {
        pub addr: String,
        accepts: Arc<AtomicUsize>,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Fake {
        pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fake {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr").to_string();
            let accepts = Arc::new(AtomicUsize::new(0));
            let seen = Arc::new(Mutex::new(Vec::new()));
            let handler: Arc<Handler> = Arc::new(handler);
            let (a, s) = (accepts.clone(), seen.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { return };
                    let conn = a.fetch_add(1, Ordering::SeqCst);
                    let (s, h) = (s.clone(), handler.clone());
                    std::thread::spawn(move || serve(stream, conn, &s, &*h));
                }
            });
            Fake {
                addr,
                accepts,
                seen,
            }
        }

        pub fn url(&self, path_and_query: &str) -> String {
            format!("http://{}{}", self.addr, path_and_query)
        }

        pub fn accepts(&self) -> usize {
            self.accepts.load(Ordering::SeqCst)
        }

        pub fn seen(&self) -> Vec<Seen> {
            self.seen.lock().expect("lock").clone()
        }
    }

    fn serve(mut stream: TcpStream, conn: usize, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
        let mut buf = Vec::new();
        loop {
            let Some(req) = read_request(&mut stream, &mut buf, conn) else {
                return;
            };
            seen.lock().expect("lock").push(req.clone());
            match handler(&req) {
                Reply::Send(bytes) => {
                    if stream.write_all(&bytes).is_err() {
                        return;
                    }
                }
                Reply::SendClose(bytes) => {
                    let _ = stream.write_all(&bytes);
                    return;
                }
                Reply::Silent => {
                    let mut sink = [0u8; 1024];
                    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
                    return;
                }
            }
        }
    }

    fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, conn: usize) -> Option<Seen> {
        loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut slots);
            if let Ok(httparse::Status::Complete(len)) = req.parse(buf) {
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let mut seen = Seen {
                    method: req.method.unwrap_or("").to_string(),
                    target: req.path.unwrap_or("").to_string(),
                    headers,
                    body: Vec::new(),
                    conn,
                };
                let cl: usize = seen
                    .header("content-length")
                    .map_or(0, |v| v.parse().unwrap_or(0));
                buf.drain(..len);
                while buf.len() < cl {
                    let mut tmp = [0u8; 4096];
                    match stream.read(&mut tmp) {
                        Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                        _ => return None,
                    }
                }
                seen.body = buf.drain(..cl).collect();
                return Some(seen);
            }
            let mut tmp = [0u8; 4096];
            match stream.read(&mut tmp) {
                Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{reply, Fake, Reply};
    use super::*;

    fn get<'a>(url: &'a str, headers: &'a [(&'a str, String)]) -> Request<'a> {
        Request {
            method: "GET",
            url,
            headers,
            body: b"",
        }
    }

    fn client() -> Client {
        Client::new(Duration::from_secs(5))
    }

    #[test]
    fn reads_a_content_length_body_and_headers_case_insensitively() {
        let srv = Fake::start(|_| reply(200, &[("X-Thing", "v")], b"hello"));
        let resp = client().send(&get(&srv.url("/a?b=c"), &[])).unwrap();
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(resp.header("x-THING"), Some("v"));
        let seen = &srv.seen()[0];
        assert_eq!(
            (seen.method.as_str(), seen.target.as_str()),
            ("GET", "/a?b=c")
        );
        assert_eq!(seen.header("host"), Some(srv.addr.as_str()));
        assert!(seen.header("user-agent").unwrap().starts_with("ringload/"));
        assert_eq!(
            seen.header("content-length"),
            None,
            "no Content-Length on a body-less GET"
        );
    }

    #[test]
    fn decodes_a_chunked_body_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: a\r\n\r\n";
        let srv = Fake::start(move |_| Reply::Send(raw.to_vec()));
        let mut c = client();
        assert_eq!(
            c.send(&get(&srv.url("/"), &[])).unwrap().body,
            b"hello world"
        );
        // The connection stays usable after a chunked body.
        assert_eq!(
            c.send(&get(&srv.url("/"), &[])).unwrap().body,
            b"hello world"
        );
        assert_eq!(srv.accepts(), 1);
    }

    #[test]
    fn reads_a_body_until_close_and_does_not_reuse_that_connection() {
        let srv = Fake::start(|_| {
            Reply::SendClose(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end".to_vec())
        });
        let mut c = client();
        assert_eq!(
            c.send(&get(&srv.url("/"), &[])).unwrap().body,
            b"until the end"
        );
        assert_eq!(
            c.send(&get(&srv.url("/"), &[])).unwrap().body,
            b"until the end"
        );
        assert_eq!(srv.accepts(), 2);
    }

    #[test]
    fn reuses_one_keep_alive_connection_per_host() {
        let srv = Fake::start(|s| reply(200, &[], s.target.as_bytes()));
        let mut c = client();
        for i in 0..5 {
            let url = srv.url(&format!("/{i}"));
            assert_eq!(
                c.send(&get(&url, &[])).unwrap().body,
                format!("/{i}").as_bytes()
            );
        }
        assert_eq!(srv.accepts(), 1);
        assert!(srv.seen().iter().all(|s| s.conn == 0));
    }

    #[test]
    fn head_204_and_304_have_no_body_and_keep_the_connection() {
        let srv = Fake::start(|s| match s.target.as_str() {
            "/head" => Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n".to_vec()),
            "/204" => Reply::Send(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
            _ => Reply::Send(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n".to_vec()),
        });
        let mut c = client();
        let head = c
            .send(&Request {
                method: "HEAD",
                url: &srv.url("/head"),
                headers: &[],
                body: b"",
            })
            .unwrap();
        assert_eq!(
            (head.status, head.header("content-length"), head.body.len()),
            (200, Some("10"), 0)
        );
        assert_eq!(c.send(&get(&srv.url("/204"), &[])).unwrap().status, 204);
        assert_eq!(c.send(&get(&srv.url("/304"), &[])).unwrap().status, 304);
        assert_eq!(srv.accepts(), 1);
    }

    #[test]
    fn skips_interim_100_continue() {
        let srv = Fake::start(|_| {
            Reply::Send(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
                    .to_vec(),
            )
        });
        let resp = client()
            .send(&Request {
                method: "PUT",
                url: &srv.url("/o"),
                headers: &[],
                body: b"x",
            })
            .unwrap();
        assert_eq!((resp.status, resp.body.as_slice()), (201, &b"ok"[..]));
    }

    #[test]
    fn retries_once_when_a_pooled_connection_was_closed_by_the_server() {
        // A keep-alive answer, then the server drops the connection while it sits in the pool.
        let srv = Fake::start(|_| match reply(200, &[], b"ok") {
            Reply::Send(b) => Reply::SendClose(b),
            other => other,
        });
        let mut c = client();
        assert_eq!(c.send(&get(&srv.url("/1"), &[])).unwrap().body, b"ok");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(c.send(&get(&srv.url("/2"), &[])).unwrap().body, b"ok");
        assert_eq!(srv.accepts(), 2);
        assert_eq!(
            srv.seen().len(),
            2,
            "the stale connection never delivered the second request"
        );
    }

    #[test]
    fn redirect_to_another_port_drops_authorization_and_307_replays_the_body() {
        let target = Fake::start(|_| reply(200, &[], b"stored"));
        let loc = target.url("/v1/objects/b/o?provider=ais&pid=p");
        let proxy = Fake::start(move |_| reply(307, &[("Location", loc.as_str())], b""));
        let headers = [
            ("Authorization", "Bearer s3cr3t".to_string()),
            ("X-Keep", "1".to_string()),
        ];
        let url = proxy.url("/v1/objects/b/o?provider=ais");
        let req = Request {
            method: "PUT",
            url: &url,
            headers: &headers,
            body: b"payload",
        };
        let resp = client().send(&req).unwrap();
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"stored"[..]));
        let first = &proxy.seen()[0];
        assert_eq!(first.header("authorization"), Some("Bearer s3cr3t"));
        let second = &target.seen()[0];
        assert_eq!(
            second.header("authorization"),
            None,
            "the token must not leave the original host"
        );
        assert_eq!(second.header("x-keep"), Some("1"));
        assert_eq!(
            (second.method.as_str(), second.body.as_slice()),
            ("PUT", &b"payload"[..])
        );
        assert_eq!(second.target, "/v1/objects/b/o?provider=ais&pid=p");
    }

    #[test]
    fn redirect_on_the_same_host_keeps_authorization_and_301_keeps_a_get_body() {
        let srv = Fake::start(|s| match s.path() {
            "/a" => reply(301, &[("Location", "/b?x=1")], b""),
            _ => reply(200, &[], b"done"),
        });
        let headers = [("Authorization", "Bearer t".to_string())];
        let url = srv.url("/a");
        let req = Request {
            method: "GET",
            url: &url,
            headers: &headers,
            body: b"{}",
        };
        assert_eq!(client().send(&req).unwrap().body, b"done");
        let seen = srv.seen();
        assert_eq!(seen[1].target, "/b?x=1");
        assert_eq!(seen[1].header("authorization"), Some("Bearer t"));
        assert_eq!(seen[1].body, b"{}");
    }

    #[test]
    fn a_302_of_a_post_becomes_a_get_without_body() {
        let srv = Fake::start(|s| match s.path() {
            "/dir/a" => reply(302, &[("Location", "b")], b""),
            _ => reply(200, &[], b""),
        });
        let url = srv.url("/dir/a");
        client()
            .send(&Request {
                method: "POST",
                url: &url,
                headers: &[],
                body: b"x",
            })
            .unwrap();
        let seen = srv.seen();
        assert_eq!(
            (seen[1].method.as_str(), seen[1].target.as_str()),
            ("GET", "/dir/b")
        );
        assert!(seen[1].body.is_empty());
    }

    #[test]
    fn a_redirect_loop_stops_after_five_redirects() {
        let srv = Fake::start(|s| reply(302, &[("Location", s.target.as_str())], b""));
        let err = client().send(&get(&srv.url("/loop"), &[])).unwrap_err();
        assert!(
            matches!(err, CtlError::TooManyRedirects { max: 5, .. }),
            "{err}"
        );
        assert_eq!(srv.seen().len(), 1 + MAX_REDIRECTS);
    }

    #[test]
    fn a_silent_server_times_out() {
        let srv = Fake::start(|_| Reply::Silent);
        let mut c = Client::new(Duration::from_millis(200));
        let t0 = Instant::now();
        let err = c.send(&get(&srv.url("/"), &[])).unwrap_err();
        assert!(matches!(err, CtlError::Timeout { .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        assert!(err.to_string().contains("raise the client timeout"));
    }

    #[test]
    fn a_slow_dripping_body_cannot_stretch_the_deadline() {
        let srv = Fake::start(|_| {
            // Headers promise 100 bytes; 10 come, then nothing.
            Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789".to_vec())
        });
        let err = Client::new(Duration::from_millis(200))
            .send(&get(&srv.url("/"), &[]))
            .unwrap_err();
        assert!(matches!(err, CtlError::Timeout { .. }), "{err}");
    }

    #[test]
    fn a_bad_status_line_is_a_protocol_error() {
        let srv = Fake::start(|_| Reply::SendClose(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()));
        let err = client().send(&get(&srv.url("/"), &[])).unwrap_err();
        assert!(matches!(err, CtlError::Protocol { .. }), "{err}");
    }

    #[test]
    fn a_short_body_is_a_protocol_error() {
        let srv = Fake::start(|_| {
            Reply::SendClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec())
        });
        let err = client().send(&get(&srv.url("/"), &[])).unwrap_err();
        assert!(err.to_string().contains("3 of 10 bytes"), "{err}");
    }

    #[test]
    fn a_refused_connection_names_the_address() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let err = client().send(&get(&url, &[])).unwrap_err();
        assert!(matches!(err, CtlError::Connect { .. }), "{err}");
        assert!(err.to_string().contains(&format!("127.0.0.1:{port}")));
    }

    #[test]
    fn refuses_https_and_malformed_urls_with_the_fix() {
        let mut c = client();
        let err = c.send(&get("https://example.com/", &[])).unwrap_err();
        assert!(
            matches!(err, CtlError::Https { .. }) && err.to_string().contains("TLS"),
            "{err}"
        );
        for bad in [
            "ftp://h/",
            "host:80/x",
            "http://:80/",
            "http://h:99999/",
            "http://h/a b",
            "http://u@h/",
        ] {
            let err = c.send(&get(bad, &[])).unwrap_err();
            assert!(matches!(err, CtlError::BadUrl { .. }), "{bad}: {err}");
            assert!(err.to_string().contains("http://host"), "{err}");
        }
    }

    #[test]
    fn header_values_never_leak_into_errors_or_debug() {
        let headers = [("Authorization", "Bearer top\r\nsecret".to_string())];
        let req = get("http://127.0.0.1:1/", &headers);
        let err = client().send(&req).unwrap_err();
        assert!(matches!(err, CtlError::BadRequest { .. }));
        assert!(!format!("{err} {err:?}").contains("secret"));
        let ok = [
            ("authorization", "Bearer topsecret".to_string()),
            ("X-A", "b".to_string()),
        ];
        let dbg = format!("{:?}", get("http://h/", &ok));
        assert!(
            !dbg.contains("topsecret") && dbg.contains("***") && dbg.contains("\"b\""),
            "{dbg}"
        );
        let err = client()
            .send(&Request {
                method: "GE T",
                url: "http://h/",
                headers: &[],
                body: b"",
            })
            .unwrap_err();
        assert!(matches!(err, CtlError::BadRequest { .. }));
    }

    #[test]
    fn an_empty_post_sends_content_length_zero() {
        let srv = Fake::start(|_| reply(200, &[], b""));
        client()
            .send(&Request {
                method: "POST",
                url: &srv.url("/"),
                headers: &[],
                body: b"",
            })
            .unwrap();
        assert_eq!(srv.seen()[0].header("content-length"), Some("0"));
    }
}
