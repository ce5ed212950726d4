//! The client's TLS configuration: which roots it trusts, whether it verifies, its client
//! certificate, ALPN and session resumption. Built once per run and shared by every core's
//! connections and by the control plane, so one run trusts one thing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// What the user asked for (flags, spec or the AIS CLI's environment variables).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// A PEM bundle of CAs to trust instead of the system's roots (`--tls-ca`).
    pub ca_file: Option<PathBuf>,
    /// PEM CAs trusted in addition (the built-in target's throwaway CA, for one run).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Skip certificate verification (`--tls-insecure`).
    pub insecure: bool,
    /// Client certificate chain and key, PEM (`--tls-cert`, `--tls-key`), for mTLS.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The setting that chose whom to trust, as the user gave it (`AIS_CLIENT_CA`, `the
    /// spec's tls_insecure`); `None` for the flag (`--tls-ca`, `--tls-insecure`). Carried
    /// into [`ClientTls::source`] for the plan line, the summary and the result file.
    pub source: Option<String>,
}

/// Where the trusted roots came from, as the plan line and the result file say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// The operating system's store.
    System,
    /// The bundled Mozilla root set (the system store had none).
    Bundled,
    /// `--tls-ca` (or `AIS_CLIENT_CA`).
    CaFile,
    /// The built-in target's throwaway CA.
    Throwaway,
    /// Nothing is verified (`--tls-insecure`).
    None,
}

impl Roots {
    pub fn as_str(self) -> &'static str {
        match self {
            Roots::System => "system",
            Roots::Bundled => "bundled",
            Roots::CaFile => "ca-file",
            Roots::Throwaway => "built-in",
            Roots::None => "none",
        }
    }
}

/// A built client configuration.
#[derive(Clone)]
pub struct ClientTls {
    pub config: Arc<ClientConfig>,
    /// False with `--tls-insecure`.
    pub verified: bool,
    pub roots: Roots,
    /// [`ClientOptions::source`]: the setting behind `roots` (`ca-file` or `none`).
    pub source: Option<String>,
    /// Why the system store gave no roots (its first error, e.g. a bad `SSL_CERT_FILE`), when
    /// the bundled set stood in for it.
    pub roots_note: Option<String>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("verified", &self.verified)
            .field("roots", &self.roots)
            .field("source", &self.source)
            .field("roots_note", &self.roots_note)
            .finish()
    }
}

/// A TLS setting that cannot be used: `flag` names the setting, `why` says what is wrong
/// and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {why}")]
pub struct SetupError {
    pub flag: &'static str,
    pub why: String,
}

fn err(flag: &'static str, why: impl Into<String>) -> SetupError {
    SetupError {
        flag,
        why: why.into(),
    }
}

/// Builds the client configuration: roots (the CA file, else the system store, else the
/// bundled set), verification, the client certificate, ALPN `http/1.1` and an in-memory
/// TLS 1.3 ticket cache sized for many connections.
pub fn client(opts: &ClientOptions) -> Result<ClientTls, SetupError> {
    let builder = ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            err(
                "--tls",
                format!("the crypto provider refused its defaults: {e}"),
            )
        })?;
    let (builder, roots, verified, roots_note) = if opts.insecure {
        let v = Arc::new(NoVerify(super::provider()));
        (
            builder.dangerous().with_custom_certificate_verifier(v),
            Roots::None,
            false,
            None,
        )
    } else {
        let (store, roots, note) = root_store(opts)?;
        (builder.with_root_certificates(store), roots, true, note)
    };
    let mut config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs("--tls-cert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                err(
                    "--tls-key",
                    format!("cannot read a PEM private key from {}: {e}", key.display()),
                )
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                err(
                    "--tls-key",
                    format!("the key does not fit the --tls-cert certificate: {e}"),
                )
            })?
        }
        (Some(_), None) => {
            return Err(err(
                "--tls-cert",
                "a client certificate needs its key: add --tls-key FILE",
            ))
        }
        (None, Some(_)) => {
            return Err(err(
                "--tls-key",
                "a client key needs its certificate: add --tls-cert FILE",
            ))
        }
        (None, None) => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![super::ALPN_HTTP11.to_vec()];
    config.resumption = Resumption::store(Arc::new(super::tickets::Tickets::default()));
    Ok(ClientTls {
        config: Arc::new(config),
        verified,
        roots,
        source: match roots {
            Roots::CaFile | Roots::None => opts.source.clone(),
            _ => None,
        },
        roots_note,
    })
}

/// The roots, their kind, and why the system store gave none (see [`system_or_bundled`]).
fn root_store(opts: &ClientOptions) -> Result<(RootCertStore, Roots, Option<String>), SetupError> {
    let mut store = RootCertStore::empty();
    let mut roots = Roots::System;
    if let Some(path) = &opts.ca_file {
        for c in read_certs("--tls-ca", path)? {
            store.add(c).map_err(|e| {
                err(
                    "--tls-ca",
                    format!("{} holds a certificate rustls refuses: {e}", path.display()),
                )
            })?;
        }
        roots = Roots::CaFile;
    }
    if let Some(pem) = &opts.extra_ca_pem {
        for c in CertificateDer::pem_slice_iter(pem) {
            let c = c.map_err(|e| err("--tls", format!("the built-in target's CA: {e}")))?;
            store
                .add(c)
                .map_err(|e| err("--tls", format!("the built-in target's CA: {e}")))?;
        }
        if opts.ca_file.is_none() {
            roots = Roots::Throwaway;
        }
    }
    let mut note = None;
    if opts.ca_file.is_none() && opts.extra_ca_pem.is_none() {
        let native = rustls_native_certs::load_native_certs();
        let errors = native.errors.iter().map(|e| e.to_string()).collect();
        (roots, note) = system_or_bundled(&mut store, native.certs, errors);
    }
    Ok((store, roots, note))
}

/// The system store's certificates, else the bundled set; when the system store gave none
/// and reading it failed (`errors`, e.g. an `SSL_CERT_FILE` that does not exist), the first
/// error says why, so the fallback is not silent.
fn system_or_bundled(
    store: &mut RootCertStore,
    certs: Vec<CertificateDer<'static>>,
    errors: Vec<String>,
) -> (Roots, Option<String>) {
    let (added, _) = store.add_parsable_certificates(certs);
    if added > 0 {
        return (Roots::System, None);
    }
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let note = errors.into_iter().next().map(|e| {
        format!("the system's roots could not be read ({e}), so the bundled roots are used")
    });
    (Roots::Bundled, note)
}

/// Reads every certificate of a PEM file; refuses a file with none.
fn read_certs(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let bytes = std::fs::read(path)
        .map_err(|e| err(flag, format!("cannot read {}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            err(
                flag,
                format!("{} is not a PEM certificate bundle: {e}", path.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(err(
            flag,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

/// The name a connection to `host` (without port or brackets) verifies and sends as SNI.
/// An IP address verifies against the certificate's IP SANs (TLS sends no SNI for one).
pub fn server_name(host: &str) -> Result<ServerName<'static>, SetupError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string()).map_err(|e| {
        err(
            "--endpoint",
            format!("{host:?} is not a valid TLS server name: {e}"),
        )
    })
}

/// `--tls-insecure`: accepts any certificate, but still checks that the server holds the key
/// of the one it showed (the handshake signatures), as curl's `-k` does.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn defaults_verify_with_system_or_bundled_roots_and_offer_http11() {
        let t = client(&ClientOptions::default()).unwrap();
        assert!(t.verified);
        assert!(matches!(t.roots, Roots::System | Roots::Bundled));
        assert_eq!(t.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(t.config.enable_sni);
    }

    #[test]
    fn insecure_and_ca_file_and_client_certs() {
        let dir = std::env::temp_dir().join(format!("ringload-tls-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = super::super::throwaway(&["127.0.0.1".into()]).unwrap();
        let ca_file = write(&dir, "ca.pem", &ca.ca_pem);
        let t = client(&ClientOptions {
            ca_file: Some(ca_file.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(t.roots, Roots::CaFile);
        let t = client(&ClientOptions {
            insecure: true,
            ..Default::default()
        })
        .unwrap();
        assert!(!t.verified);
        assert_eq!(t.roots, Roots::None);
        let cert = write(&dir, "c.pem", &ca.cert_pem);
        let key = write(&dir, "k.pem", &ca.key_pem);
        client(&ClientOptions {
            cert: Some(cert.clone()),
            key: Some(key.clone()),
            ..Default::default()
        })
        .unwrap();
        let e = client(&ClientOptions {
            cert: Some(cert),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.flag, "--tls-cert");
        let empty = write(&dir, "empty.pem", "nothing here\n");
        let e = client(&ClientOptions {
            ca_file: Some(empty),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.flag, "--tls-ca");
        assert!(e.why.contains("no PEM certificate"), "{e}");
        let e = client(&ClientOptions {
            ca_file: Some(dir.join("missing.pem")),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.why.contains("cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_empty_system_store_falls_back_to_the_bundled_roots_saying_why() {
        let mut store = RootCertStore::empty();
        let (roots, note) = system_or_bundled(
            &mut store,
            vec![],
            vec!["could not load certs from file /nope: No such file".into()],
        );
        assert_eq!(roots, Roots::Bundled);
        assert!(!store.is_empty());
        assert_eq!(
            note.as_deref(),
            Some(
                "the system's roots could not be read (could not load certs from file /nope: No \
                 such file), so the bundled roots are used"
            )
        );
        // No errors: an empty store is no news.
        let (_, note) = system_or_bundled(&mut RootCertStore::empty(), vec![], vec![]);
        assert_eq!(note, None);
    }

    #[test]
    fn the_source_of_the_trust_is_carried() {
        let t = client(&ClientOptions {
            insecure: true,
            source: Some("AIS_SKIP_VERIFY_CRT".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(t.source.as_deref(), Some("AIS_SKIP_VERIFY_CRT"));
        assert_eq!(t.roots_note, None);
    }

    #[test]
    fn sni_carries_the_host_name_and_alpn_offers_http11() {
        let certs = super::super::throwaway(&["localhost".into()]).unwrap();
        let server =
            super::super::server_from_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes())
                .unwrap();
        let tls = client(&ClientOptions {
            extra_ca_pem: Some(certs.ca_pem.into_bytes()),
            ..Default::default()
        })
        .unwrap();
        let mut c =
            rustls::ClientConnection::new(tls.config, server_name("localhost").unwrap()).unwrap();
        let mut s = rustls::ServerConnection::new(server).unwrap();
        super::super::memory_handshake(&mut c, &mut s);
        assert_eq!(s.server_name(), Some("localhost"));
        assert_eq!(s.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    }

    #[test]
    fn server_names_take_hosts_and_addresses() {
        assert!(matches!(
            server_name("example.com"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(server_name("bad name").is_err());
    }
}
