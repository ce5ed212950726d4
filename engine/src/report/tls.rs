//! A run's TLS as it is reported: read once from the cores' [`TlsShared`] counters and the
//! run's client configuration after the load ([`TlsOutcome::of`]), printed as the summary's
//! `tls:` line ([`TlsOutcome::line`]), and written as the result file's `tls` key
//! ([`TlsRecord`]). The plan line names whom the run trusts with the same words
//! ([`roots_words`]).

use std::sync::atomic::Ordering;

use ringload_core::result::TlsRecord;
use ringload_net::tls::{Cause, ClientTls};

use super::fmt::thousands;
use crate::worker::shared::TlsShared;

/// What a run over TLS learned: the result file's record and the first handshake failure.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsOutcome {
    pub record: TlsRecord,
    /// The first TLS failure, named by `ringload_net::tls::cause` (for the verdict).
    pub failure: Option<Cause>,
}

/// Whom a run trusts, in the words of the plan line, the summary and `merge`
/// ([`ringload_core::result::roots_words`]), naming the setting that chose it.
pub fn roots_words(tls: &ClientTls) -> String {
    ringload_core::result::roots_words(tls.roots.as_str(), tls.source.as_deref())
}

impl TlsOutcome {
    /// The outcome of a run whose client configuration was `tls`; `None` for plaintext.
    pub fn of(tls: Option<&ClientTls>, shared: &TlsShared) -> Option<TlsOutcome> {
        let tls = tls?;
        let handshakes = shared.handshakes.load(Ordering::Relaxed);
        let resumed = shared.resumed.load(Ordering::Relaxed);
        let session = shared.session.get();
        Some(TlsOutcome {
            record: TlsRecord {
                version: session.map(|s| s.0.clone()),
                cipher: session.map(|s| s.1.clone()),
                verified: tls.verified,
                resumed_pct: TlsRecord::pct(resumed, handshakes),
                handshakes,
                resumed,
                roots: tls.roots.as_str().to_string(),
                source: tls.source.clone(),
            },
            failure: shared.failure.get().cloned(),
        })
    }

    /// The summary's line, e.g. `tls: TLSv1.3 TLS13_AES_256_GCM_SHA384, verified (system
    /// roots), 97.5% of 1,024 handshakes resumed`.
    pub fn line(&self) -> String {
        let r = &self.record;
        let session = match (&r.version, &r.cipher) {
            (Some(v), Some(c)) => format!("{v} {c}"),
            _ => "no handshake completed".to_string(),
        };
        format!(
            "tls: {session}, {}, {:.1}% of {} handshake{} resumed",
            r.trust_words(),
            r.resumed_pct,
            thousands(r.handshakes),
            if r.handshakes == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringload_net::tls::{client, ClientOptions};

    #[test]
    fn reads_the_counters_and_words_the_summary_line() {
        let shared = TlsShared::default();
        assert_eq!(TlsOutcome::of(None, &shared), None, "plaintext has no tls");
        let verified = client(&ClientOptions::default()).unwrap();
        shared.handshakes.store(1024, Ordering::Relaxed);
        shared.resumed.store(998, Ordering::Relaxed);
        let _ = shared
            .session
            .set(("TLSv1.3".into(), "TLS13_AES_256_GCM_SHA384".into()));
        let o = TlsOutcome::of(Some(&verified), &shared).unwrap();
        assert_eq!(o.record.handshakes, 1024);
        assert_eq!(o.record.resumed, 998);
        assert!((o.record.resumed_pct - 97.4609375).abs() < 1e-9);
        let roots = roots_words(&verified);
        assert_eq!(
            o.line(),
            format!(
                "tls: TLSv1.3 TLS13_AES_256_GCM_SHA384, verified ({roots}), 97.5% of 1,024 \
                 handshakes resumed"
            )
        );
        let insecure = client(&ClientOptions {
            insecure: true,
            ..Default::default()
        })
        .unwrap();
        let none = TlsShared::default();
        let o = TlsOutcome::of(Some(&insecure), &none).unwrap();
        assert_eq!(o.record.roots, "none");
        assert_eq!(
            o.line(),
            "tls: no handshake completed, NOT verified (--tls-insecure), 0.0% of 0 handshakes \
             resumed"
        );
        // The setting that turned verification off is named, and recorded.
        let from_env = client(&ClientOptions {
            insecure: true,
            source: Some("AIS_SKIP_VERIFY_CRT".into()),
            ..Default::default()
        })
        .unwrap();
        let o = TlsOutcome::of(Some(&from_env), &none).unwrap();
        assert_eq!(o.record.source.as_deref(), Some("AIS_SKIP_VERIFY_CRT"));
        assert_eq!(
            o.line(),
            "tls: no handshake completed, NOT verified (AIS_SKIP_VERIFY_CRT), 0.0% of 0 \
             handshakes resumed"
        );
    }
}
