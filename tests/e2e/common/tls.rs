//! TLS peers for the end-to-end tests, with certificates made at test time: a private CA and
//! the certificates signed by it ([`Pki`]), nginx serving https (GET + WebDAV PUT, optionally
//! demanding a client certificate), nginx as an https reverse proxy in front of an http peer
//! (s3s-fs), a listener that refuses every client without a certificate with a TLS alert, and
//! a small https client for reading a peer's counters.
//!
//! Nothing here comes from the machine's trust store: every test trusts exactly the CA it made.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair,
};
use ringload_net::tls::{self, rustls};

use super::{wait_port, Nginx, Scratch};

/// A certificate and its key, as PEM files.
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Every certificate a TLS test needs, written as PEM files into a scratch directory.
pub struct Pki {
    /// Holds the files; removed on drop.
    _dir: Scratch,
    /// The CA that signed every server certificate below (`--tls-ca`).
    pub ca: PathBuf,
    /// For `127.0.0.1` (an IP SAN), valid now.
    pub server: Pair,
    /// For `wrong.example` only: a name mismatch on `127.0.0.1`.
    pub wrong_name: Pair,
    /// For `127.0.0.1`, valid only in 2020.
    pub expired: Pair,
    /// The CA nginx trusts for client certificates (`ssl_client_certificate`).
    pub client_ca: PathBuf,
    /// A client certificate signed by `client_ca` (`--tls-cert`, `--tls-key`).
    pub client: Pair,
}

/// A CA: its issuer (to sign with) and its certificate PEM.
fn make_ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let pem = p.self_signed(&key).unwrap().pem();
    (Issuer::new(p, key), pem)
}

impl Pki {
    pub fn make() -> Pki {
        let dir = Scratch::new("pki");
        let d = dir.path().to_path_buf();
        let write = |name: &str, text: &str| {
            let p = d.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let (ca, ca_pem) = make_ca("ringload test CA");
        let (client_ca, client_ca_pem) = make_ca("ringload test client CA");
        let leaf = |tag: &str,
                    names: &[&str],
                    issuer: &Issuer<'static, KeyPair>,
                    f: &dyn Fn(&mut CertificateParams)| {
            let key = KeyPair::generate().unwrap();
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut p = CertificateParams::new(names).unwrap();
            p.distinguished_name.push(DnType::CommonName, tag);
            f(&mut p);
            let cert = p.signed_by(&key, issuer).unwrap();
            Pair {
                cert: write(&format!("{tag}.crt"), &cert.pem()),
                key: write(&format!("{tag}.key"), &key.serialize_pem()),
            }
        };
        let server = leaf("server", &["127.0.0.1"], &ca, &|_| {});
        let wrong_name = leaf("wrong-name", &["wrong.example"], &ca, &|_| {});
        let expired = leaf("expired", &["127.0.0.1"], &ca, &|p| {
            p.not_before = date_time_ymd(2020, 1, 1);
            p.not_after = date_time_ymd(2020, 12, 31);
        });
        let client = leaf("client", &[], &client_ca, &|p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        });
        Pki {
            ca: write("ca.pem", &ca_pem),
            client_ca: write("client-ca.pem", &client_ca_pem),
            server,
            wrong_name,
            expired,
            client,
            _dir: dir,
        }
    }
}

/// nginx over https with `pair`, serving and storing (WebDAV PUT) `data/` like the plain test
/// nginx; with `client_ca`, it demands a client certificate signed by it
/// (`ssl_verify_client on`).
pub fn nginx(pair: &Pair, client_ca: Option<&Path>) -> Nginx {
    let verify = client_ca.map_or(String::new(), |ca| {
        format!(
            "        ssl_client_certificate {};\n        ssl_verify_client on;\n",
            ca.display()
        )
    });
    Nginx::start_server(|port, d| {
        format!(
            r#"    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
{verify}        root {d}/data;
        client_max_body_size 0;
        location / {{ dav_methods PUT DELETE MKCOL; create_full_put_path on; dav_access user:rw group:r all:r; }}
    }}
"#,
            cert = pair.cert.display(),
            key = pair.key.display(),
            d = d.display()
        )
    })
}

/// nginx over https with `pair` in front of `http://127.0.0.1:<upstream>`: the client's
/// `Host` (which SigV4 signs) passes through, bodies stream without buffering or a size limit.
pub fn proxy(pair: &Pair, upstream: u16) -> Nginx {
    Nginx::start_server(|port, _| {
        format!(
            r#"    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 0;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
"#,
            cert = pair.cert.display(),
            key = pair.key.display(),
        )
    })
}

/// `https://127.0.0.1:<port>` of a TLS nginx.
pub fn url(ng: &Nginx) -> String {
    format!("https://127.0.0.1:{}", ng.port)
}

/// A TLS listener on loopback that demands a client certificate signed by `client_ca` and
/// serves nothing: a client without one gets the alert `certificate_required` (TLS 1.3).
/// nginx cannot show that: `ssl_verify_client on` finishes the handshake and answers HTTP 400.
pub struct MtlsRefuser {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MtlsRefuser {
    pub fn start(pair: &Pair, client_ca: &Path) -> MtlsRefuser {
        use tls::pki::pem::PemObject;
        use tls::pki::{CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(client_ca).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            tls::provider(),
        )
        .build()
        .unwrap();
        let chain = CertificateDer::pem_file_iter(&pair.cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(&pair.key).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(tls::provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for s in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut s) = s else { continue };
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                    let mut conn = rustls::ServerConnection::new(config).unwrap();
                    while conn.is_handshaking() {
                        // On failure complete_io has sent the alert.
                        if conn.complete_io(&mut s).is_err() {
                            break;
                        }
                    }
                    // Closing with the client's request unread would send a reset, which can
                    // overtake the alert: half-close, then drain until the client closes.
                    let _ = s.shutdown(std::net::Shutdown::Write);
                    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                    let mut sink = [0u8; 4096];
                    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
                });
            }
        });
        assert!(wait_port(port, std::time::Duration::from_secs(5)));
        MtlsRefuser {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for MtlsRefuser {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One `GET path` over https to `url` (`https://host:port`), trusting only `ca`, with an
/// optional client certificate: the status and body, or the TLS or socket error as text.
pub fn get(
    url: &str,
    path: &str,
    ca: &Path,
    client: Option<&Pair>,
) -> Result<(u16, String), String> {
    let hostport = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("not an https URL: {url}"));
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    let opts = tls::ClientOptions {
        ca_file: Some(ca.to_path_buf()),
        cert: client.map(|p| p.cert.clone()),
        key: client.map(|p| p.key.clone()),
        ..Default::default()
    };
    let config = tls::client(&opts).map_err(|e| e.to_string())?.config;
    let name = tls::server_name(host).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(hostport).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut s = rustls::StreamOwned::new(conn, sock);
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    // A peer that closes without close_notify ends the read with an error after the body.
    if let Err(e) = s.read_to_end(&mut buf) {
        if buf.is_empty() {
            return Err(e.to_string());
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    Ok((status, body))
}

/// The counters (`GET /v1/ringload/stats`) of a built-in listener serving https.
pub fn stats(url: &str, ca: &Path) -> serde_json::Value {
    let (status, body) =
        get(url, "/v1/ringload/stats", ca, None).unwrap_or_else(|e| panic!("stats of {url}: {e}"));
    assert_eq!(status, 200, "stats of {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("stats of {url}: {e}: {body}"))
}

/// The sum of `ops.<op>.errors_by_kind.tls` over every operation of a result document.
pub fn tls_errors(v: &serde_json::Value) -> u64 {
    v["ops"].as_object().map_or(0, |ops| {
        ops.values()
            .map(|o| o["errors_by_kind"]["tls"].as_u64().unwrap_or(0))
            .sum()
    })
}
