//! A small blocking HTTPS/1.1 server on loopback for the TLS tests: one thread per
//! connection, rustls's `StreamOwned` over a `TcpStream`, keep-alive, `Expect: 100-continue`.
//!
//! GETs of `/…/obj…` answer `200` with the object's content (as `--verifyhash` expects it,
//! `GET_SIZE` bytes, several records), unless the server was told to redirect them; PUTs
//! read their whole body and record whether it was the object's content. Everything the
//! server saw is counted in [`Seen`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ringload_core::content;
use ringload_net::tls::pki::{pem::PemObject, CertificateDer, PrivateKeyDer};
use ringload_net::tls::rustls::{self, ServerConfig, ServerConnection, StreamOwned};
use ringload_net::tls::{server_from_pem, throwaway, Throwaway};

/// The body of every GET: several records (and more than one incoming buffer).
pub const GET_SIZE: usize = 200 * 1000 + 7;

/// What a server saw.
#[derive(Default)]
pub struct Seen {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    pub gets: AtomicU64,
    pub redirected: AtomicU64,
    /// PUT bodies: their length and whether they were the object's content.
    pub puts: Mutex<Vec<(usize, bool)>>,
    /// The most requests one connection carried.
    pub max_per_conn: AtomicU64,
}

pub struct Server {
    pub port: u16,
    pub seen: Arc<Seen>,
}

/// Certificates for `127.0.0.1` and `localhost`, signed by a throwaway CA.
pub fn certs() -> Throwaway {
    throwaway(&["127.0.0.1".into(), "localhost".into()]).unwrap()
}

/// Starts a server with `certs`; GETs are redirected (307) to `redirect` when given
/// (`https://host:port`, the path kept).
pub fn start(certs: &Throwaway, redirect: Option<String>) -> Server {
    start_with(certs, redirect, u64::MAX)
}

/// Starts a server that closes each connection (without a word, as an idle keep-alive
/// timeout does) after it answered `close_after` requests on it.
pub fn start_with(certs: &Throwaway, redirect: Option<String>, close_after: u64) -> Server {
    let config = server_from_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes()).unwrap();
    start_config(config, redirect, close_after)
}

/// A configuration that requires a client certificate signed by `certs`'s CA.
pub fn mtls_config(certs: &Throwaway) -> Arc<ServerConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(certs.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = ringload_net::tls::provider();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .unwrap();
    let chain = vec![CertificateDer::from_pem_slice(certs.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(certs.key_pem.as_bytes()).unwrap();
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

/// Starts a server with its own TLS configuration.
pub fn start_config(
    config: Arc<ServerConfig>,
    redirect: Option<String>,
    close_after: u64,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (config, seen, redirect) = (config.clone(), s.clone(), redirect.clone());
            std::thread::spawn(move || {
                serve(config, stream, &seen, redirect.as_deref(), close_after)
            });
        }
    });
    Server { port, seen }
}

fn serve(
    config: Arc<ServerConfig>,
    tcp: TcpStream,
    seen: &Seen,
    redirect: Option<&str>,
    close_after: u64,
) {
    seen.connections.fetch_add(1, Ordering::Relaxed);
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut io = BufReader::new(StreamOwned::new(conn, tcp));
    let mut served = 0;
    while served < close_after {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            match io.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == b"\r\n" {
                break;
            }
            head.extend_from_slice(&line);
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut parts = text.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let header = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        seen.requests.fetch_add(1, Ordering::Relaxed);
        served += 1;
        seen.max_per_conn.fetch_max(served, Ordering::Relaxed);
        let ident = path.trim_start_matches('/').split('?').next().unwrap_or("");
        let start = content::object_start(ident.as_bytes());
        let out: Vec<u8> = if method == "PUT" {
            let len: usize = header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if header("expect").is_some() {
                let _ = io.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            let mut body = vec![0; len];
            if io.read_exact(&mut body).is_err() {
                return;
            }
            let ok = content::pattern().verify(start, 0, &body);
            seen.puts.lock().unwrap().push((len, ok));
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()
        } else if let Some(to) = redirect {
            seen.redirected.fetch_add(1, Ordering::Relaxed);
            format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}{path}\r\nContent-Length: 0\r\n\r\n")
                .into_bytes()
        } else {
            seen.gets.fetch_add(1, Ordering::Relaxed);
            let mut out =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {GET_SIZE}\r\n\r\n").into_bytes();
            let mut pos = 0;
            while pos < GET_SIZE {
                let chunk = content::pattern().chunk(start, pos as u64, GET_SIZE - pos);
                out.extend_from_slice(chunk);
                pos += chunk.len();
            }
            out
        };
        if io
            .get_mut()
            .write_all(&out)
            .and_then(|_| io.get_mut().flush())
            .is_err()
        {
            return;
        }
    }
}

/// The body of [`start_until_close`]'s answers.
pub const UNTIL_CLOSE_BODY: &[u8] = b"a body that runs until the connection closes";

/// Starts a server that answers one request per connection with a body delimited by the end
/// of the connection (no Content-Length), then ends it with close_notify or, when
/// `close_notify` is false, by closing TCP without it (a truncation).
pub fn start_until_close(certs: &Throwaway, close_notify: bool) -> u16 {
    let config = server_from_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let Ok(conn) = ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut io = BufReader::new(StreamOwned::new(conn, tcp));
            let mut line = Vec::new();
            while io.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) && line != b"\r\n" {
                line.clear();
            }
            let s = io.get_mut();
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(UNTIL_CLOSE_BODY);
            if close_notify {
                s.conn.send_close_notify();
            }
            let _ = s.flush();
            let _ = s.sock.shutdown(std::net::Shutdown::Both);
        }
    });
    port
}

/// Starts a server that reads the client's first flight and resets the connection (a TCP
/// RST, as a server that does not want TLS, or a load balancer refusing it, does).
pub fn start_resetting() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { continue };
            let _ = tcp.read(&mut [0; 4096]);
            let _ = socket2::SockRef::from(&tcp).set_linger(Some(std::time::Duration::ZERO));
        }
    });
    port
}

/// Starts a server that answers each connection's first request (`200`, an empty body) and
/// then, for its second, writes an application-data record that does not decrypt, as a
/// corrupting middlebox would.
pub fn start_corrupting(certs: &Throwaway) -> u16 {
    let config = server_from_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = ServerConnection::new(config) else {
                    return;
                };
                let mut io = BufReader::new(StreamOwned::new(conn, tcp));
                for round in 0..2 {
                    let mut line = Vec::new();
                    while io.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) && line != b"\r\n" {
                        line.clear();
                    }
                    if line != b"\r\n" {
                        return;
                    }
                    let s = io.get_mut();
                    if round == 0 {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                        let _ = s.flush();
                    } else {
                        let mut junk = vec![0x17, 0x03, 0x03, 0x00, 0x40];
                        junk.extend_from_slice(&[0x5a; 0x40]);
                        let _ = s.sock.write_all(&junk);
                    }
                }
                // Hold the connection until the client gives up on it.
                let _ = io.get_mut().sock.read(&mut [0; 64]);
            });
        }
    });
    port
}
