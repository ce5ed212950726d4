//! Names a failed TLS handshake in the words a user acts on: what went wrong and the fix.
//!
//! Every TLS error ringload reports (the error kind `tls`, the stop message of a run whose
//! handshakes all fail, the control plane's errors) goes through [`cause`] (a handshake
//! failure), [`cause_on_session`] (a record failure after the handshake) or [`cause_io`] (a
//! socket reset or closed during the handshake), so one failure reads the same everywhere.

use rustls::{AlertDescription, CertificateError, Error};

/// What a handshake failure was, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// One of: `unknown issuer`, `expired certificate`, `name mismatch`, `alert`,
    /// `handshake failure`, with detail (`alert: certificate_required`).
    pub what: String,
    /// The flag or action that fixes it.
    pub fix: &'static str,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.what, self.fix)
    }
}

const FIX_TRUST: &str =
    "pass the server's CA bundle with --tls-ca FILE, or skip verification with --tls-insecure";
const FIX_INSECURE: &str =
    "renew the server's certificate, or skip verification with --tls-insecure";
const FIX_NAME: &str = "use the host name the server's certificate names in the endpoint URL, \
     or skip verification with --tls-insecure";
const FIX_CLIENT_CERT: &str =
    "the server wants a client certificate: pass --tls-cert FILE --tls-key FILE";
const FIX_RECORD: &str = "the server or something between sent data that does not decrypt \
     as TLS: check for a proxy or middlebox on the path, and the server's logs";
const FIX_SERVER: &str =
    "check that the endpoint speaks TLS (https) and accepts TLS 1.2 or 1.3 with http/1.1";

/// Names a rustls error.
pub fn cause(e: &Error) -> Cause {
    match e {
        Error::InvalidCertificate(c) => certificate(c),
        Error::AlertReceived(a) => Cause {
            what: format!("alert from the server: {}", alert_name(*a)),
            fix: match a {
                AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown => FIX_CLIENT_CERT,
                _ => FIX_SERVER,
            },
        },
        Error::NoApplicationProtocol => Cause {
            what: "handshake failure: the server does not speak http/1.1 (ALPN)".into(),
            fix: FIX_SERVER,
        },
        Error::InvalidMessage(_) => Cause {
            what: "handshake failure: the server did not answer with TLS".into(),
            fix: FIX_SERVER,
        },
        other => Cause {
            what: format!("handshake failure: {other}"),
            fix: FIX_SERVER,
        },
    }
}

/// Names a rustls error on a session whose handshake completed: an alert reads as an alert,
/// anything else (a record that does not decrypt, one too large for the receive buffer) is a
/// record error, not a handshake failure.
pub fn cause_on_session(e: &Error) -> Cause {
    match e {
        Error::AlertReceived(_) => cause(e),
        other => Cause {
            what: format!("TLS record error: {other}"),
            fix: FIX_RECORD,
        },
    }
}

/// Names a socket failure before the handshake completed: `errno` (a reset, a broken pipe or
/// another error), or `None` when the server closed the connection.
pub fn cause_io(errno: Option<i32>) -> Cause {
    let what = match errno {
        None => "the server closed the connection during the TLS handshake".into(),
        Some(libc::ECONNRESET) => "the server reset the connection during the TLS handshake".into(),
        Some(libc::EPIPE) => "the server closed the connection during the TLS handshake \
                              (broken pipe)"
            .into(),
        Some(e) => format!(
            "socket error during the TLS handshake: {}",
            std::io::Error::from_raw_os_error(e)
        ),
    };
    Cause {
        what,
        fix: FIX_SERVER,
    }
}

fn certificate(c: &CertificateError) -> Cause {
    match c {
        CertificateError::UnknownIssuer => Cause {
            what: "unknown issuer: the server's certificate is not signed by a trusted CA".into(),
            fix: FIX_TRUST,
        },
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => Cause {
            what: "expired certificate: the server's certificate is past its validity".into(),
            fix: FIX_INSECURE,
        },
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => Cause {
            what: "certificate not yet valid (check both clocks)".into(),
            fix: FIX_INSECURE,
        },
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            Cause {
                what: format!("name mismatch: {c}"),
                fix: FIX_NAME,
            }
        }
        other => Cause {
            what: format!("bad certificate: {other}"),
            fix: FIX_TRUST,
        },
    }
}

/// An alert's name as TLS spells it (`certificate_required`).
fn alert_name(a: AlertDescription) -> String {
    let camel = format!("{a:?}");
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_has_its_own_words_and_fix() {
        let unknown = cause(&Error::InvalidCertificate(CertificateError::UnknownIssuer));
        assert!(unknown.what.starts_with("unknown issuer"));
        assert!(unknown.fix.contains("--tls-ca") && unknown.fix.contains("--tls-insecure"));
        let expired = cause(&Error::InvalidCertificate(CertificateError::Expired));
        assert!(expired.what.starts_with("expired"));
        let name = cause(&Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ));
        assert!(name.what.starts_with("name mismatch"));
        let alert = cause(&Error::AlertReceived(AlertDescription::CertificateRequired));
        assert_eq!(alert.what, "alert from the server: certificate_required");
        assert!(alert.fix.contains("--tls-cert"));
        let hs = cause(&Error::AlertReceived(AlertDescription::HandshakeFailure));
        assert_eq!(hs.what, "alert from the server: handshake_failure");
        let other = cause(&Error::HandshakeNotComplete);
        assert!(other.what.starts_with("handshake failure"));
        assert!(unknown
            .to_string()
            .contains("; pass the server's CA bundle"));
    }

    #[test]
    fn a_record_error_on_a_session_is_not_a_handshake_failure() {
        let bad = cause_on_session(&Error::DecryptError);
        assert_eq!(bad.what, "TLS record error: cannot decrypt peer's message");
        assert!(bad.fix.contains("middlebox"));
        let alert = cause_on_session(&Error::AlertReceived(AlertDescription::InternalError));
        assert_eq!(alert.what, "alert from the server: internal_error");
    }

    #[test]
    fn a_socket_failure_in_the_handshake_names_what_the_server_did() {
        assert_eq!(
            cause_io(Some(libc::ECONNRESET)).to_string(),
            "the server reset the connection during the TLS handshake; check that the \
             endpoint speaks TLS (https) and accepts TLS 1.2 or 1.3 with http/1.1"
        );
        assert_eq!(
            cause_io(None).what,
            "the server closed the connection during the TLS handshake"
        );
        assert!(cause_io(Some(libc::ETIMEDOUT))
            .what
            .starts_with("socket error during the TLS handshake: "));
    }
}
