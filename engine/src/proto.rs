//! Protocol settings of a run: how objects are addressed (plain HTTP, AIS native, S3), the
//! checksum a PUT carries, and the credentials requests are signed with.
//!
//! Secrets (an AIS bearer token, an S3 secret key or session token) live only in [`Secret`],
//! whose `Debug` prints `***` and which is never serialized: a `Workload` goes into result
//! files and plan lines, and none of it may leak there. The engine sends a bearer token only to
//! the endpoint's own host, never to a host a redirect points at.

use serde::Serialize;

/// A value that must never be printed or written anywhere.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// S3 request signing material (SigV4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Keys {
    pub access_key: String,
    pub secret_key: Secret,
    pub session_token: Option<Secret>,
}

pub use ringload_core::kinds::{CksumType, S3Addressing};

/// Protocol settings (see the module doc). Serialized without its secrets.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct ProtoConfig {
    /// AIS bucket provider (`ais`, `aws`, `gcp`, `azure`, `oci`).
    pub provider: String,
    /// AIS bucket namespace (`@ns`), if any.
    pub namespace: Option<String>,
    /// The checksum AIS PUTs carry.
    pub cksum_type: CksumType,
    pub s3_addressing: S3Addressing,
    /// S3 signing region.
    pub s3_region: Option<String>,
    /// S3 keys; `None` sends unsigned requests.
    #[serde(skip)]
    pub s3_keys: Option<S3Keys>,
    /// AIS bearer token (`AIS_AUTHN_TOKEN`), sent as `Authorization: Bearer`.
    #[serde(skip)]
    pub token: Option<Secret>,
    /// Whether a token or keys are in use (recorded instead of the values).
    pub authenticated: bool,
    /// AIS: GETs ask for the latest version (`latest-ver=true`).
    pub latest: bool,
    /// AIS: how a remote bucket is listed.
    pub list: AisListFlags,
}

/// How an AIS remote bucket is listed (aisloader's -cached, -list-dirs, -nbi).
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct AisListFlags {
    /// Only objects present in the cluster.
    pub cached: bool,
    /// Virtual directories too (drops the no-dirs flag).
    pub list_dirs: bool,
    /// Through the bucket inventory.
    pub nbi: bool,
}

impl ProtoConfig {
    /// A SigV4 signer for the configured keys and region (us-east-1 when none was resolved);
    /// `None` sends unsigned requests.
    pub fn s3_signer(&self) -> Option<crate::s3::Signer> {
        let k = self.s3_keys.as_ref()?;
        let creds = crate::s3::Credentials {
            access_key: k.access_key.clone(),
            secret_key: k.secret_key.expose().to_string(),
            session_token: k.session_token.as_ref().map(|s| s.expose().to_string()),
        };
        let region = self.s3_region.as_deref().unwrap_or("us-east-1");
        Some(crate::s3::Signer::new(creds, region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_or_serialize() {
        let p = ProtoConfig {
            provider: "ais".into(),
            token: Some(Secret::new("tok-123")),
            s3_keys: Some(S3Keys {
                access_key: "AK".into(),
                secret_key: Secret::new("sk-456"),
                session_token: Some(Secret::new("st-789")),
            }),
            authenticated: true,
            ..ProtoConfig::default()
        };
        let dbg = format!("{p:?}");
        let json = serde_json::to_string(&p).unwrap();
        for s in ["tok-123", "sk-456", "st-789"] {
            assert!(
                !dbg.contains(s) && !json.contains(s),
                "{s} leaked: {dbg} {json}"
            );
        }
        assert!(json.contains("\"authenticated\":true"));
    }
}
