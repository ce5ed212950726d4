//! The built-in target's TLS configuration: its certificate and key, ALPN `http/1.1`, and
//! TLS 1.3 tickets so that clients resume their sessions on reconnect.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::client::SetupError;

/// Reads `serve --tls-cert FILE --tls-key FILE`.
pub fn server(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, SetupError> {
    let read = |flag: &'static str, p: &Path| {
        std::fs::read(p).map_err(|e| SetupError {
            flag,
            why: format!("cannot read {}: {e}", p.display()),
        })
    };
    // A file that does not parse is named; a key that does not fit names both flags already.
    server_from_pem(&read("--tls-cert", cert)?, &read("--tls-key", key)?).map_err(|e| {
        let path = if e.flag == "--tls-cert" { cert } else { key };
        if e.why.starts_with("the key does not fit") {
            return e;
        }
        SetupError {
            flag: e.flag,
            why: format!("{} {}", path.display(), e.why),
        }
    })
}

/// Builds the target's configuration from PEM text (a chain, leaf first, and its key).
pub fn server_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, SetupError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SetupError {
            flag: "--tls-cert",
            why: format!("is not a PEM certificate chain: {e}"),
        })?;
    if chain.is_empty() {
        return Err(SetupError {
            flag: "--tls-cert",
            why: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| SetupError {
        flag: "--tls-key",
        why: format!("is not a PEM private key: {e}"),
    })?;
    let mut config = ServerConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| SetupError {
            flag: "--tls-key",
            why: format!("the key does not fit the --tls-cert certificate: {e}"),
        })?;
    config.alpn_protocols = vec![super::ALPN_HTTP11.to_vec()];
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(16 * 1024);
    Ok(Arc::new(config))
}
