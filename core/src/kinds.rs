//! The closed lists a run is configured with, in one place: the object API a client speaks
//! ([`Protocol`]), how S3 buckets are addressed ([`S3Addressing`]) and the checksum an AIS PUT
//! carries ([`CksumType`]).
//!
//! The engine runs with these types, the launcher checks a spec's `[target]` against them and
//! the command line parses its flags with them, so a value added here is accepted everywhere
//! at once. Each type has `ALL` (every value, in the order messages list them), `as_str` (the
//! name written on the command line and in a spec), `parse` (exactly those names), `NAMES`
//! (the same names, for "one of" messages) and its serde form for result files.

use serde::{Deserialize, Serialize};

/// Which object API the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `<endpoint>/<bucket>/<name>`, GET and WebDAV-style PUT.
    Http,
    /// AIStore native API (`/v1/objects/...`).
    Ais,
    /// S3 with SigV4.
    S3,
}

impl Protocol {
    /// Every protocol, in the order messages list them.
    pub const ALL: [Protocol; 3] = [Protocol::Http, Protocol::Ais, Protocol::S3];
    /// Their names, in the same order.
    pub const NAMES: [&'static str; 3] = ["http", "ais", "s3"];

    /// The lowercase name used on the command line, in specs and in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Ais => "ais",
            Protocol::S3 => "s3",
        }
    }

    /// The protocol named exactly `s` (lowercase), if any.
    pub fn parse(s: &str) -> Option<Protocol> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// How S3 buckets are addressed. Named `path` and `virtual` on the command line and in specs;
/// result files record the serde form, `path` and `virtual-host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum S3Addressing {
    /// `http://endpoint/bucket/key` (MinIO, most on-premises stores).
    #[default]
    Path,
    /// `http://bucket.endpoint/key` (AWS's default).
    VirtualHost,
}

impl S3Addressing {
    /// Every addressing style, in the order messages list them.
    pub const ALL: [S3Addressing; 2] = [S3Addressing::Path, S3Addressing::VirtualHost];
    /// Their names, in the same order.
    pub const NAMES: [&'static str; 2] = ["path", "virtual"];

    /// The name used on the command line and in specs (`path`, `virtual`).
    pub fn as_str(self) -> &'static str {
        match self {
            S3Addressing::Path => "path",
            S3Addressing::VirtualHost => "virtual",
        }
    }

    /// The addressing named exactly `s`, if any.
    pub fn parse(s: &str) -> Option<S3Addressing> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The checksum an AIS PUT declares (`Ais-Checksum-Type/Value`): AIStore's list, each hashed
/// as AIStore does and printed as lowercase hex of its big-endian digest
/// ([`crate::cksum`] computes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CksumType {
    /// XXH64, seed 0, 16 hex digits (AIS's default).
    #[default]
    Xxhash,
    /// The same XXH64, seed 0, from AIStore's second xxhash implementation (same digits).
    Xxhash2,
    /// MD5, 32 hex digits.
    Md5,
    /// CRC-32C (Castagnoli), 8 hex digits.
    Crc32c,
    /// SHA-256, 64 hex digits.
    Sha256,
    /// SHA-512, 128 hex digits.
    Sha512,
    /// No checksum headers.
    None,
}

impl CksumType {
    /// Every checksum type, in the order messages list them.
    pub const ALL: [CksumType; 7] = [
        CksumType::Xxhash,
        CksumType::Xxhash2,
        CksumType::Md5,
        CksumType::Crc32c,
        CksumType::Sha256,
        CksumType::Sha512,
        CksumType::None,
    ];
    /// Their names, in the same order.
    pub const NAMES: [&'static str; 7] = [
        "xxhash", "xxhash2", "md5", "crc32c", "sha256", "sha512", "none",
    ];

    /// The `Ais-Checksum-Type` value, also the name on the command line and in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            CksumType::Xxhash => "xxhash",
            CksumType::Xxhash2 => "xxhash2",
            CksumType::Md5 => "md5",
            CksumType::Crc32c => "crc32c",
            CksumType::Sha256 => "sha256",
            CksumType::Sha512 => "sha512",
            CksumType::None => "none",
        }
    }

    /// The type named exactly `s` (lowercase, as AIS spells it), if any.
    pub fn parse(s: &str) -> Option<CksumType> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The type an `Ais-Checksum-Type` header value names (ASCII case ignored), if any.
    pub fn parse_header(v: &[u8]) -> Option<CksumType> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().as_bytes().eq_ignore_ascii_case(v))
    }

    /// Digest length in bytes (0 for `none`); its hex form is twice as long.
    pub fn digest_len(self) -> usize {
        match self {
            CksumType::Xxhash | CksumType::Xxhash2 => 8,
            CksumType::Md5 => 16,
            CksumType::Crc32c => 4,
            CksumType::Sha256 => 32,
            CksumType::Sha512 => 64,
            CksumType::None => 0,
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Protocol, S3Addressing, CksumType);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_list_every_value_in_order_and_parse_back() {
        for (p, n) in Protocol::ALL.into_iter().zip(Protocol::NAMES) {
            assert_eq!((p.as_str(), Protocol::parse(n)), (n, Some(p)));
        }
        for (a, n) in S3Addressing::ALL.into_iter().zip(S3Addressing::NAMES) {
            assert_eq!((a.as_str(), S3Addressing::parse(n)), (n, Some(a)));
        }
        for (c, n) in CksumType::ALL.into_iter().zip(CksumType::NAMES) {
            assert_eq!((c.as_str(), CksumType::parse(n)), (n, Some(c)));
        }
        assert_eq!(Protocol::NAMES, ["http", "ais", "s3"]);
        assert_eq!(S3Addressing::NAMES, ["path", "virtual"]);
        assert_eq!(
            CksumType::NAMES,
            ["xxhash", "xxhash2", "md5", "crc32c", "sha256", "sha512", "none"]
        );
        for c in CksumType::ALL {
            assert_eq!(
                CksumType::parse_header(c.as_str().to_uppercase().as_bytes()),
                Some(c)
            );
        }
    }

    #[test]
    fn parsing_is_exact() {
        for bad in ["HTTP", "ftp", "", " ais"] {
            assert_eq!(Protocol::parse(bad), None, "{bad:?}");
        }
        for bad in ["virtual-host", "Path", "vhost"] {
            assert_eq!(S3Addressing::parse(bad), None, "{bad:?}");
        }
        for bad in ["crc32", "sha1", "XXHASH", "xxhash64", ""] {
            assert_eq!(CksumType::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn result_files_keep_their_spelling() {
        let json = serde_json::to_string(&(
            Protocol::S3,
            S3Addressing::VirtualHost,
            S3Addressing::Path,
            CksumType::Xxhash,
            CksumType::None,
        ))
        .unwrap();
        assert_eq!(json, r#"["s3","virtual-host","path","xxhash","none"]"#);
        assert_eq!(CksumType::default(), CksumType::Xxhash);
        assert_eq!(S3Addressing::default(), S3Addressing::Path);
    }
}
