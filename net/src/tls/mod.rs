//! TLS for the client and the built-in target: one place that builds rustls configurations,
//! names handshake failures, and makes throwaway certificates.
//!
//! Both sides use rustls with one crypto provider, chosen at build time by this crate's
//! features (`aws-lc-rs`, the default, or `ring`); [`provider`] is the only place that
//! choice is read. The client's data path drives rustls's unbuffered connection from the
//! per-core loop (engine `tls`); the control plane and the built-in target use the same
//! configurations built here.

mod cause;
mod cert;
mod client;
mod server;
mod tickets;

use std::sync::Arc;

pub use cause::{cause, cause_io, cause_on_session, Cause};
pub use cert::{throwaway, Throwaway};
pub use client::{client, server_name, ClientOptions, ClientTls, Roots, SetupError};
pub use server::{server, server_from_pem};

pub use rustls;
pub use rustls_pki_types as pki;

#[cfg(all(feature = "aws-lc-rs", feature = "ring"))]
compile_error!(
    "ringload-net: enable exactly one TLS crypto provider feature, `aws-lc-rs` or `ring`"
);
#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!("ringload-net: enable one TLS crypto provider feature, `aws-lc-rs` or `ring`");

/// The crypto provider every TLS configuration of this process uses (aws-lc-rs when both
/// features are on, as a workspace build with `--features ring` alone would have them).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Arc::new(rustls::crypto::ring::default_provider());
}

/// The provider's name, as benches and `--version`-style output report it.
pub const PROVIDER: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "ring"
};

/// The only application protocol ringload speaks, offered and accepted through ALPN.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A TLS protocol version as the result file records it (`TLSv1.3`, `TLSv1.2`).
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// A cipher suite as the result file records it (IANA name, e.g. `TLS13_AES_128_GCM_SHA256`).
pub fn cipher_name(s: rustls::SupportedCipherSuite) -> String {
    format!("{:?}", s.suite())
}

/// Runs a handshake between two in-memory connections (tests), then lets the client read
/// the server's tickets (sent right after the handshake).
#[cfg(test)]
pub(crate) fn memory_handshake(c: &mut rustls::ClientConnection, s: &mut rustls::ServerConnection) {
    let mut buf = Vec::new();
    for _ in 0..16 {
        let mut moved = false;
        while c.wants_write() {
            buf.clear();
            c.write_tls(&mut buf).unwrap();
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets().unwrap();
            moved = true;
        }
        while s.wants_write() {
            buf.clear();
            s.write_tls(&mut buf).unwrap();
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets().unwrap();
            moved = true;
        }
        if !moved && !c.is_handshaking() && !s.is_handshaking() {
            return;
        }
    }
    panic!("the in-memory handshake did not finish");
}
