//! [`Client`]: the control plane's entry point. It owns the pool (one keep-alive connection
//! per `host:port`), the per-call deadline and the redirect rules; each hop's request and
//! response go through `conn`.
//!
//! Invariants: one deadline covers the whole [`Client::send`] call, connects and redirects
//! included; a connection goes back to the pool only when `conn` says the response left it
//! reusable; a pooled connection that failed before any response byte is replaced once by a
//! fresh one.

use std::collections::HashMap;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringload_net::tls::rustls::ClientConfig;

use super::conn::{round_trip, Call, Fail};
use super::request::{encode, parse_url, resolve_location, validate, Target};
use super::tls::{handshake, Stream};
use super::{CtlError, Request, Response, MAX_BODY, MAX_REDIRECTS};

/// A blocking HTTP/1.1 client with one pooled keep-alive connection per scheme and
/// `host:port`.
#[derive(Debug)]
pub struct Client {
    timeout: Duration,
    pool: HashMap<String, Stream>,
    /// The run's TLS configuration, for `https://` URLs and redirects.
    tls: Option<Arc<ClientConfig>>,
}

impl Client {
    /// A plain-HTTP client whose every [`send`](Client::send) must finish within `timeout`;
    /// it refuses `https://` URLs.
    pub fn new(timeout: Duration) -> Client {
        Client::with_tls(timeout, None)
    }

    /// A client that speaks TLS to `https://` URLs with `tls` (the run's
    /// `ClientTls::config`, so the control plane trusts what the load trusts).
    pub fn with_tls(timeout: Duration, tls: Option<Arc<ClientConfig>>) -> Client {
        Client {
            timeout,
            pool: HashMap::new(),
            tls,
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

    /// Sends the request; follows 301/302/307/308 redirects (at most [`MAX_REDIRECTS`]; the
    /// method and body are kept for 307/308 and for 301/302 of GET and HEAD), to other hosts
    /// too. `Authorization` is sent only to the `host:port` of the original URL. Bodies are
    /// read by Content-Length, chunked or until close; HEAD/1xx/204/304 have none. Reuses
    /// keep-alive connections per `host:port` and retries once on a fresh connection if a
    /// reused one turns out closed before any response byte. A redirect without `Location`
    /// is returned as the response; one from https to plain http is refused (no silent
    /// downgrade).
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
            if target.tls && !next.tls {
                return Err(CtlError::BadLocation {
                    location: location.to_string(),
                    reason: "an https endpoint redirected to plain http, which would send the \
                             request unencrypted; make the server redirect to https"
                        .into(),
                });
            }
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
        if t.tls && self.tls.is_none() {
            return Err(CtlError::Https {
                url: format!("https://{key}{}", t.path),
            });
        }
        let pool_key = t.pool_key();
        let call = Call {
            key: &key,
            timeout: self.timeout,
            deadline,
            max_body: MAX_BODY,
        };
        if let Some(mut stream) = self.pool.remove(&pool_key) {
            match round_trip(&mut stream, &call, wire, head) {
                Ok((resp, keep)) => return Ok(self.finish(pool_key, stream, resp, keep)),
                Err(Fail::Stale(_)) => {} // closed while idle: try once on a fresh connection
                Err(Fail::Fatal(e)) => return Err(e),
            }
        }
        let tcp = connect(t, &call)?;
        let mut stream = match (t.tls, &self.tls) {
            (true, Some(config)) => handshake(tcp, config, &t.host, &call)?,
            _ => Stream::Plain(tcp),
        };
        let (resp, keep) = round_trip(&mut stream, &call, wire, head).map_err(Fail::into_inner)?;
        Ok(self.finish(pool_key, stream, resp, keep))
    }

    fn finish(&mut self, key: String, stream: Stream, resp: Response, keep: bool) -> Response {
        if keep {
            self.pool.insert(key, stream);
        }
        resp
    }
}

/// Connects to the first address of the host that accepts within the deadline.
fn connect(t: &Target, call: &Call) -> Result<TcpStream, CtlError> {
    let key = call.key;
    let addrs = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|source| CtlError::Resolve {
            addr: key.to_string(),
            source,
        })?;
    let mut last = None;
    for addr in addrs {
        let left = call.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(call.timed_out());
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
            Err(call.timed_out())
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ringload_net::tls::{client, server_from_pem, throwaway, ClientOptions};

    use super::super::fake::{reply, Fake};
    use super::super::{Client, CtlError, Request};

    #[test]
    fn an_https_redirect_to_plain_http_is_refused_naming_the_downgrade() {
        let plain = Fake::start(|_| reply(200, &[], b"in the clear"));
        let to = plain.url("/b");
        let t = throwaway(&["127.0.0.1".into()]).unwrap();
        let cfg = server_from_pem(t.cert_pem.as_bytes(), t.key_pem.as_bytes()).unwrap();
        let srv = Fake::start_tls(cfg, move |_| reply(307, &[("Location", to.as_str())], b""));
        let tls = client(&ClientOptions {
            extra_ca_pem: Some(t.ca_pem.into_bytes()),
            ..Default::default()
        })
        .unwrap();
        let mut c = Client::with_tls(Duration::from_secs(5), Some(tls.config));
        let url = srv.url("/a");
        let err = c
            .send(&Request {
                method: "GET",
                url: &url,
                headers: &[],
                body: b"",
            })
            .unwrap_err();
        assert!(matches!(err, CtlError::BadLocation { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot follow redirect to {:?}: an https endpoint redirected to plain http, \
                 which would send the request unencrypted; make the server redirect to https",
                plain.url("/b")
            )
        );
        assert_eq!(plain.accepts(), 0);
    }
}
