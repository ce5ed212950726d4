//! AIS bucket providers as the built-in target knows them: `ais` (buckets of the cluster) and
//! the remote ones, `aws`, `gcp`, `azure` and `oci`, whose buckets live in an emulated cloud
//! backend.
//!
//! Owns: [`Provider`], read from a request's `provider=` query parameter (absent or empty means
//! `ais`, as in AIS), its name and its URL scheme (`s3://`, `gs://`, `az://`, `oci://`) for
//! messages, and its slot in the per-provider tables (`Buckets`, `Stores`).
//!
//! Why: the provider is part of a bucket's identity (`ais://b` and `s3://b` are different
//! buckets), so every bucket and object lookup of the AIS dialect carries one. HTTP and S3
//! listeners use [`Provider::Ais`] only.
//!
//! Invariants: parsing is allocation-free (the object hot path reads it); an unknown provider
//! is refused (400), never mapped to another one.

use super::request::query_param;

/// A bucket provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// A bucket of the cluster itself (`ais://`): created and destroyed explicitly.
    Ais,
    /// Amazon S3 (`s3://`).
    Aws,
    /// Google Cloud Storage (`gs://`).
    Gcp,
    /// Azure Blob Storage (`az://`).
    Azure,
    /// Oracle Cloud Infrastructure (`oci://`).
    Oci,
}

/// Number of providers: the size of the per-provider tables.
pub(crate) const PROVIDERS: usize = 5;

/// Accepted spellings: AIS's provider names and their URL schemes (AIS normalizes both).
const NAMES: [(&str, Provider); 9] = [
    ("ais", Provider::Ais),
    ("aws", Provider::Aws),
    ("s3", Provider::Aws),
    ("gcp", Provider::Gcp),
    ("gs", Provider::Gcp),
    ("azure", Provider::Azure),
    ("az", Provider::Azure),
    ("oci", Provider::Oci),
    ("oc", Provider::Oci),
];

impl Provider {
    /// Every provider, in table order.
    pub const ALL: [Provider; PROVIDERS] = [
        Provider::Ais,
        Provider::Aws,
        Provider::Gcp,
        Provider::Azure,
        Provider::Oci,
    ];

    /// A provider by AIS name (`ais`, `aws`, `gcp`, `azure`, `oci`) or URL scheme (`s3`, `gs`,
    /// `az`), case-insensitively.
    pub fn parse(s: &str) -> Option<Provider> {
        Self::parse_bytes(s.as_bytes())
    }

    fn parse_bytes(s: &[u8]) -> Option<Provider> {
        NAMES
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(s))
            .map(|&(_, p)| p)
    }

    /// The provider a request names in its query: `provider=` absent or empty is `ais`; an
    /// unknown one is `Err` with the value as sent.
    pub(crate) fn from_query(query: &[u8]) -> Result<Provider, &[u8]> {
        match query_param(query, b"provider") {
            None | Some(b"") => Ok(Provider::Ais),
            Some(v) => Self::parse_bytes(v).ok_or(v),
        }
    }

    /// AIS's name for it (`ais`, `aws`, `gcp`, `azure`, `oci`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Ais => "ais",
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
            Provider::Oci => "oci",
        }
    }

    /// The URL scheme users write (`ais`, `s3`, `gs`, `az`, `oci`).
    pub fn scheme(self) -> &'static str {
        match self {
            Provider::Ais => "ais",
            Provider::Aws => "s3",
            Provider::Gcp => "gs",
            Provider::Azure => "az",
            Provider::Oci => "oci",
        }
    }

    /// A cloud provider: its buckets exist in the (emulated) backend, not by `create-bck`.
    pub fn is_remote(self) -> bool {
        self != Provider::Ais
    }

    /// The slot in per-provider tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_schemes_and_the_query() {
        for (s, want) in [
            ("ais", Provider::Ais),
            ("AWS", Provider::Aws),
            ("s3", Provider::Aws),
        ] {
            assert_eq!(Provider::parse(s), Some(want), "{s}");
        }
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(Provider::parse(p.scheme()), Some(p));
            assert_eq!(Provider::ALL[p.index()], p);
        }
        assert_eq!(Provider::parse("ht"), None);
        assert_eq!(Provider::from_query(b""), Ok(Provider::Ais));
        assert_eq!(Provider::from_query(b"provider="), Ok(Provider::Ais));
        assert_eq!(
            Provider::from_query(b"skip_vc=true&provider=gcp"),
            Ok(Provider::Gcp)
        );
        assert_eq!(Provider::from_query(b"provider=nope"), Err(&b"nope"[..]));
        assert!(!Provider::Ais.is_remote() && Provider::Azure.is_remote());
    }
}
