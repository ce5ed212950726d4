//! The control plane's connections: plain TCP, or TLS over a blocking
//! `rustls::StreamOwned` with the run's client configuration, so AIS bucket calls, S3
//! listings and the rest work against `https://` endpoints (and follow redirects to `https://`
//! locations) with the same trust as the load itself.
//!
//! Owns [`Stream`] and [`handshake`]. Invariants: the handshake runs to completion under the
//! call's deadline before any request byte is written, so a TLS failure is reported as a
//! [`CtlError::Tls`] naming its cause and fix (through `ringload_net::tls::cause`), never as
//! a generic I/O error; a TLS peer that closes without `close_notify` reads as end of stream,
//! as it does for Go's client, and the exchange's framing decides whether that was complete.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use ringload_net::tls::rustls::{self, ClientConfig, ClientConnection, StreamOwned};
use ringload_net::tls::{cause, server_name, Cause};

use super::conn::Call;
use super::CtlError;

/// One control connection.
pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Plain(s) => f.debug_tuple("Plain").field(s).finish(),
            Stream::Tls(s) => f.debug_tuple("Tls").field(&s.sock).finish(),
        }
    }
}

impl Stream {
    /// The socket under the stream, for its timeouts.
    pub(super) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => match s.read(buf) {
                // Closed without close_notify: end of stream; the framing judges it.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                r => r,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The TLS cause inside an I/O error of a TLS stream (an alert the server sent after the
/// handshake, e.g. `certificate_required` when it wants a client certificate), if any.
pub(super) fn tls_cause(e: &io::Error) -> Option<Cause> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .map(cause)
}

/// Runs the TLS handshake with `host` on `tcp` before the call's deadline.
pub(super) fn handshake(
    mut tcp: TcpStream,
    config: &Arc<ClientConfig>,
    host: &str,
    call: &Call,
) -> Result<Stream, CtlError> {
    let tls_err = |c: Cause| CtlError::Tls {
        addr: call.key.to_string(),
        what: c.what,
        fix: c.fix,
    };
    let name = server_name(host).map_err(|e| {
        tls_err(Cause {
            what: format!("handshake failure: {}", e.why),
            fix: "use a valid host name or IP address in the URL",
        })
    })?;
    let mut conn = ClientConnection::new(config.clone(), name).map_err(|e| tls_err(cause(&e)))?;
    while conn.is_handshaking() {
        let left = call.left()?;
        let _ = tcp.set_read_timeout(Some(left));
        let _ = tcp.set_write_timeout(Some(left));
        match conn.complete_io(&mut tcp) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Err(tls_err(Cause {
                    what: "handshake failure: the server closed the connection during the \
                           handshake"
                        .into(),
                    fix: cause(&rustls::Error::HandshakeNotComplete).fix,
                }))
            }
            Ok(_) => {}
            Err(e) => {
                if let Some(c) = tls_cause(&e) {
                    return Err(tls_err(c));
                }
                return Err(match e.kind() {
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => call.timed_out(),
                    io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted => tls_err(Cause {
                        what: format!(
                            "handshake failure: the server closed the connection during the \
                             handshake ({e})"
                        ),
                        fix: cause(&rustls::Error::HandshakeNotComplete).fix,
                    }),
                    _ => CtlError::Io {
                        addr: call.key.to_string(),
                        source: e,
                    },
                });
            }
        }
    }
    Ok(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ringload_net::tls::{client, server_from_pem, throwaway, ClientOptions, Throwaway};

    use super::super::fake::{reply, Fake};
    use super::super::{Client, CtlError, Request};
    use super::*;

    fn get(url: &str) -> Request<'_> {
        Request {
            method: "GET",
            url,
            headers: &[],
            body: b"",
        }
    }

    /// A TLS server for 127.0.0.1 with a throwaway certificate, answering `body`.
    fn tls_server(body: &'static [u8]) -> (Fake, Throwaway) {
        let t = throwaway(&["127.0.0.1".into()]).unwrap();
        let cfg = server_from_pem(t.cert_pem.as_bytes(), t.key_pem.as_bytes()).unwrap();
        (Fake::start_tls(cfg, move |_| reply(200, &[], body)), t)
    }

    fn tls_client(opts: &ClientOptions) -> Client {
        Client::with_tls(Duration::from_secs(5), Some(client(opts).unwrap().config))
    }

    #[test]
    fn https_round_trips_reuse_the_tls_connection() {
        let (srv, t) = tls_server(b"over tls");
        let mut c = tls_client(&ClientOptions {
            extra_ca_pem: Some(t.ca_pem.into_bytes()),
            ..Default::default()
        });
        for _ in 0..3 {
            let resp = c.send(&get(&srv.url("/a"))).unwrap();
            assert_eq!((resp.status, resp.body.as_slice()), (200, &b"over tls"[..]));
        }
        assert_eq!(srv.accepts(), 1, "one TLS connection for three calls");
        let seen = srv.seen();
        assert_eq!(seen[0].header("host"), Some(srv.addr.as_str()));
        // Without a TLS configuration the same URL is refused before any connection.
        let err = Client::new(Duration::from_secs(5))
            .send(&get(&srv.url("/a")))
            .unwrap_err();
        assert!(matches!(err, CtlError::Https { .. }), "{err}");
        assert_eq!(srv.accepts(), 1);
    }

    #[test]
    fn an_unknown_issuer_names_the_cause_and_the_fix() {
        let (srv, _) = tls_server(b"x");
        // The system's roots do not hold the throwaway CA.
        let mut c = tls_client(&ClientOptions::default());
        let err = c.send(&get(&srv.url("/a"))).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, CtlError::Tls { .. }), "{msg}");
        assert!(
            msg.contains(&format!("TLS handshake with {} failed", srv.addr)),
            "{msg}"
        );
        assert!(msg.contains("unknown issuer"), "{msg}");
        assert!(
            msg.contains("--tls-ca FILE") && msg.contains("--tls-insecure"),
            "{msg}"
        );
        assert!(
            srv.seen().is_empty(),
            "no request is sent over a failed handshake"
        );
        // --tls-insecure reaches it.
        let mut c = tls_client(&ClientOptions {
            insecure: true,
            ..Default::default()
        });
        assert_eq!(c.send(&get(&srv.url("/b"))).unwrap().status, 200);
    }

    #[test]
    fn a_plain_server_fails_the_handshake_with_its_fix() {
        // A plain HTTP server answers the ClientHello with a 400, as nginx does.
        let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = plain.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = plain.accept() {
                let mut hello = [0u8; 512];
                let _ = s.read(&mut hello);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let mut c = tls_client(&ClientOptions {
            insecure: true,
            ..Default::default()
        });
        let url = format!("https://{addr}/");
        let err = c.send(&get(&url)).unwrap_err();
        assert!(matches!(err, CtlError::Tls { .. }), "{err}");
        assert!(err.to_string().contains("speaks TLS (https)"), "{err}");
    }

    #[test]
    fn a_server_that_wants_a_client_certificate_names_the_fix() {
        use ringload_net::tls::pki::pem::PemObject;
        use ringload_net::tls::pki::{CertificateDer, PrivateKeyDer};
        use ringload_net::tls::rustls::server::WebPkiClientVerifier;
        use ringload_net::tls::rustls::{RootCertStore, ServerConfig};
        let t = throwaway(&["127.0.0.1".into()]).unwrap();
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(t.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            ringload_net::tls::provider(),
        )
        .build()
        .unwrap();
        let cfg = ServerConfig::builder_with_provider(ringload_net::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(t.cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(t.key_pem.as_bytes()).unwrap(),
            )
            .unwrap();
        let srv = Fake::start_tls(Arc::new(cfg), |_| reply(200, &[], b"x"));
        let mut c = tls_client(&ClientOptions {
            extra_ca_pem: Some(t.ca_pem.into_bytes()),
            ..Default::default()
        });
        let err = c.send(&get(&srv.url("/a"))).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, CtlError::Tls { .. }), "{msg}");
        assert!(
            msg.contains("alert from the server: certificate_required"),
            "{msg}"
        );
        assert!(msg.contains("--tls-cert FILE --tls-key FILE"), "{msg}");
    }

    #[test]
    fn a_plain_proxy_redirects_to_an_https_target() {
        let (target, t) = tls_server(b"from the target");
        let location = target.url("/v1/objects/b/o");
        let proxy = Fake::start(move |_| reply(307, &[("Location", &location)], b""));
        let mut c = tls_client(&ClientOptions {
            extra_ca_pem: Some(t.ca_pem.into_bytes()),
            ..Default::default()
        });
        let resp = c.send(&get(&proxy.url("/v1/objects/b/o"))).unwrap();
        assert_eq!(resp.body, b"from the target");
        assert_eq!(target.seen()[0].target, "/v1/objects/b/o");
        // An https proxy redirecting to an https target works too.
        let (target2, t2) = tls_server(b"second");
        let loc2 = target2.url("/z");
        let cfg = server_from_pem(t2.cert_pem.as_bytes(), t2.key_pem.as_bytes()).unwrap();
        let proxy2 = Fake::start_tls(cfg, move |_| reply(302, &[("Location", &loc2)], b""));
        let mut c = tls_client(&ClientOptions {
            extra_ca_pem: Some(t2.ca_pem.into_bytes()),
            ..Default::default()
        });
        assert_eq!(c.send(&get(&proxy2.url("/y"))).unwrap().body, b"second");
    }
}
