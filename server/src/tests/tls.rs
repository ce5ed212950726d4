//! The target over https, with a throwaway CA and a blocking rustls client trusting it:
//! PUT then GET with exact byte counts on the http and S3 dialects, keep-alive and large
//! bodies on one TLS connection, session resumption on a second connection, an AIS cluster
//! redirecting to `https://` targets, the stats endpoint, cut answers (a truncated body ends
//! with `close_notify`, a reset without it), and a plaintext client refused.

use std::net::SocketAddr;

use ringload_net::tls::rustls::{self, ClientConnection, HandshakeKind, StreamOwned};
use ringload_net::tls::{self as nettls, ClientOptions};

use super::*;

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A throwaway CA and the target's configuration for a certificate it signed.
struct Certs {
    ca: String,
    server: Arc<rustls::ServerConfig>,
}

fn certs() -> Certs {
    let t = nettls::throwaway(&["127.0.0.1".into(), "localhost".into()]).expect("rcgen");
    Certs {
        server: nettls::server_from_pem(t.cert_pem.as_bytes(), t.key_pem.as_bytes())
            .expect("the throwaway certificate serves"),
        ca: t.ca_pem,
    }
}

/// The client configuration a run gets: the throwaway CA trusted, verification on, tickets
/// kept (so one config resumes across connections).
fn client_config(ca: &str) -> Arc<rustls::ClientConfig> {
    nettls::client(&ClientOptions {
        extra_ca_pem: Some(ca.as_bytes().to_vec()),
        ..ClientOptions::default()
    })
    .expect("client config")
    .config
}

fn https_server(protocol: ServeProtocol, certs: &Certs) -> ServerHandle {
    start(ServeConfig {
        cores: 1,
        protocol,
        tls: Some(Arc::clone(&certs.server)),
        ..ServeConfig::default()
    })
    .expect("start an https target")
}

fn addr_of(url: &str) -> SocketAddr {
    url.strip_prefix("https://")
        .unwrap_or_else(|| panic!("{url} is not https"))
        .parse()
        .unwrap()
}

/// Connects and completes the handshake (so `handshake_kind` is known).
fn connect(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> Client<TlsStream> {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.set_nodelay(true).unwrap();
    let raw = sock.try_clone().unwrap();
    let conn = ClientConnection::new(
        Arc::clone(config),
        nettls::server_name("127.0.0.1").unwrap(),
    )
    .expect("client connection");
    let mut stream = StreamOwned::new(conn, sock);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .expect("TLS handshake");
    }
    assert_eq!(stream.conn.alpn_protocol(), Some(nettls::ALPN_HTTP11));
    Client {
        r: BufReader::new(stream),
        w: raw,
    }
}

fn kind(c: &Client<TlsStream>) -> Option<HandshakeKind> {
    c.r.get_ref().conn.handshake_kind()
}

#[test]
fn tls_http_put_then_get_exact_bytes_and_keep_alive() {
    let certs = certs();
    let h = https_server(ServeProtocol::Http, &certs);
    assert!(h.url().starts_with("https://127.0.0.1:"), "{}", h.url());
    let config = client_config(&certs.ca);
    let mut c = connect(h.local_addr(), &config);
    // Several requests on one TLS connection: small, a body larger than a TLS record and
    // than the receive buffer, and large GETs that take several sends.
    let sizes = [1000usize, 100_000, 3 << 20];
    for (i, &size) in sizes.iter().enumerate() {
        let r = c.req("PUT", &format!("b/o{i}"), "", &vec![7u8; size]);
        assert_eq!(r.status, 201, "PUT o{i}");
        assert_eq!(h.object_size(&format!("b/o{i}")), Some(size as u64));
    }
    for (i, &size) in sizes.iter().enumerate() {
        let r = c.req("GET", &format!("b/o{i}"), "", b"");
        assert_eq!((r.status, r.body.len()), (200, size), "GET o{i}");
        assert!(
            r.body == expected(&format!("b/o{i}"), 0, size),
            "o{i}: body differs from the pattern"
        );
    }
    let r = c.req("GET", "b/o1", "Range: bytes=10-19\r\n", b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, expected("b/o1", 10, 10));
    // The stats endpoint answers over https, with the https URL.
    let r = c.req("GET", "v1/ringload/stats", "", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["url"], h.url());
    let total: u64 = sizes.iter().map(|&s| s as u64).sum();
    eventually("bytes_out", || h.counters().bytes_out == total + 10);
    // Object GETs only: the stats request is not one.
    let t = h.counters();
    assert_eq!(
        (t.puts, t.gets, t.bytes_in, t.errors),
        (3, 4, total, 0),
        "{t:?}"
    );
    assert_eq!(kind(&c), Some(HandshakeKind::Full));
}

#[test]
fn tls_s3_put_then_get_and_chunked_body() {
    let certs = certs();
    let h = https_server(ServeProtocol::S3, &certs);
    h.create_bucket("b");
    let config = client_config(&certs.ca);
    let mut c = connect(h.local_addr(), &config);
    let r = c.call("PUT", "b/k", "", &[1u8; 5000]);
    assert_eq!(r.status, 200);
    // A chunked PUT: the body's framing is parsed from decrypted bytes.
    c.send(b"PUT /b/chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(b"1000\r\n");
    c.send(&[2u8; 0x1000]);
    c.send(b"\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
    assert_eq!(c.read_resp(false).status, 200);
    assert_eq!(h.object_size("b/chunked"), Some(0x1010));
    let r = c.call("GET", "b/k", "", b"");
    assert_eq!((r.status, r.body.len()), (200, 5000));
    assert!(r.body == expected("b/k", 0, 5000));
    let r = c.call("GET", "b?list-type=2", "", b"");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<Key>chunked</Key>"), "{}", r.text());
    eventually("bytes_out", || h.counters().bytes_out == 5000);
    let t = h.counters();
    assert_eq!(
        (t.puts, t.bytes_in, t.errors),
        (2, 5000 + 0x1010, 0),
        "{t:?}"
    );
}

#[test]
fn tls_second_connection_resumes_the_session() {
    let certs = certs();
    let h = https_server(ServeProtocol::Http, &certs);
    h.insert("b/x", 10);
    let config = client_config(&certs.ca);
    let mut first = connect(h.local_addr(), &config);
    assert_eq!(kind(&first), Some(HandshakeKind::Full));
    // TLS 1.3 tickets arrive after the handshake: an exchange takes them in.
    assert_eq!(first.req("GET", "b/x", "", b"").status, 200);
    drop(first);
    let mut second = connect(h.local_addr(), &config);
    assert_eq!(kind(&second), Some(HandshakeKind::Resumed));
    let r = second.req("GET", "b/x", "", b"");
    assert_eq!(r.body, expected("b/x", 0, 10));
    assert_eq!(h.counters().errors, 0);
}

#[test]
fn tls_cluster_redirects_to_https_targets() {
    let certs = certs();
    let c = start_cluster(ClusterConfig {
        proxies: 1,
        targets: 2,
        base: ServeConfig {
            cores: 1,
            protocol: ServeProtocol::Ais,
            tls: Some(Arc::clone(&certs.server)),
            ..ServeConfig::default()
        },
    })
    .expect("start an https cluster");
    assert!(c
        .proxy_urls()
        .iter()
        .chain(&c.target_urls())
        .all(|u| u.starts_with("https://")));
    assert!(c
        .json_lines()
        .iter()
        .all(|l| l.contains("\"url\":\"https://")));
    c.create_bucket(Provider::Ais, "b");
    let config = client_config(&certs.ca);
    let mut proxy = connect(addr_of(&c.proxy_urls()[0]), &config);
    let body = vec![5u8; 70_000];
    let r = proxy.call("PUT", "v1/objects/b/o?provider=ais", "", &body);
    assert_eq!(r.status, 307);
    let loc = r.header("location").unwrap().to_string();
    let t = c.owner("b", "o");
    let target_url = &c.target_urls()[t];
    assert!(loc.starts_with(&format!("{target_url}/")), "{loc}");
    let rest = &loc[target_url.len() + 1..];
    let mut target = connect(addr_of(target_url), &config);
    assert_eq!(target.call("PUT", rest, "", &body).status, 200);
    assert_eq!(c.object_size(Provider::Ais, "b", "o"), Some(70_000));
    let r = proxy.call("GET", "v1/objects/b/o?provider=ais", "", b"");
    assert_eq!(r.status, 301);
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.starts_with(&format!("{target_url}/")), "{loc}");
    let r = target.call("GET", &loc[target_url.len() + 1..], "", b"");
    assert_eq!((r.status, r.body.len()), (200, 70_000));
    assert!(r.body == expected("b/o", 0, 70_000));
    let s = c.stats();
    assert_eq!((s[0].role, s[0].counters.redirects), ("proxy", 2));
    assert_eq!(s[1 + t].url, *target_url);
    assert!(s.iter().all(|l| l.counters.errors == 0), "{s:?}");
}

#[test]
fn tls_plaintext_request_is_refused_and_the_target_serves_on() {
    let certs = certs();
    let h = https_server(ServeProtocol::Http, &certs);
    h.insert("b/x", 10);
    let mut plain = Client::connect(&h);
    plain.send(b"GET /b/x HTTP/1.1\r\nHost: t\r\n\r\n");
    // The answer is a TLS alert record (content type 21), never an HTTP answer, then EOF.
    let mut got = Vec::new();
    let _ = plain.r.read_to_end(&mut got);
    assert!(!got.starts_with(b"HTTP/"), "{got:?}");
    assert!(got.is_empty() || got[0] == 21, "{got:?}");
    eventually("the refusal counted", || h.counters().errors == 1);
    assert_eq!(h.counters().gets, 0);
    // A client that vanishes mid-handshake costs nothing either; TLS clients still work.
    let half = TcpStream::connect(h.local_addr()).unwrap();
    drop(half);
    let config = client_config(&certs.ca);
    let mut c = connect(h.local_addr(), &config);
    assert_eq!(c.req("GET", "b/x", "", b"").body, expected("b/x", 0, 10));
}

#[test]
fn tls_faults_truncate_cleanly_and_reset_abruptly() {
    let certs = certs();
    let config = client_config(&certs.ca);
    for (spec, clean) in [("truncate=100%", true), ("reset=100%", false)] {
        let h = start(ServeConfig {
            cores: 1,
            faults: Faults::parse(spec).unwrap(),
            tls: Some(Arc::clone(&certs.server)),
            ..ServeConfig::default()
        })
        .unwrap();
        h.insert("b/o", 100_000);
        let mut c = connect(h.local_addr(), &config);
        c.send(b"GET /b/o HTTP/1.1\r\nHost: t\r\n\r\n");
        let (status, _) = c.read_head();
        assert_eq!(status, 200, "{spec}");
        let mut got = Vec::new();
        let end = c.r.read_to_end(&mut got);
        // A clean end is the server's close_notify; anything else is a reset (or the EOF
        // rustls reports when no close_notify came).
        assert_eq!(end.is_ok(), clean, "{spec}: {end:?}");
        assert!(got.len() < 100_000, "{spec}");
        assert!(got == expected("b/o", 0, got.len()), "{spec}");
    }
}
