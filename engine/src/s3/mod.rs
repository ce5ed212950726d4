//! S3 client pieces: request signing, credentials, bucket listing and bucket addressing.
//!
//! Owns: how a bucket maps onto the `Host` header and the request path ([`address`]), which
//! endpoints an addressing style can use ([`check_endpoint`]), and the
//! public face of the submodules, re-exported here so callers write `s3::Signer`,
//! `s3::resolve`, `s3::parse_list_page`.
//! - [`sigv4`]: AWS Signature V4 signer (hot path, no allocation once warm); `verify`: the
//!   server-side check the built-in S3 target uses (re-exported from `sigv4`).
//! - [`creds`]: credentials and region from the environment and the shared AWS files.
//! - [`list`]: ListObjectsV2 query strings and response parsing.
//!
//! Why: S3 is one of ringload's targets; these are the sans-I/O parts of talking to it, kept
//! apart from the connection code so each is testable on its own.
//!
//! - [`bucket`]: the signed requests for the bucket itself (HEAD, CreateBucket, the
//!   ListObjectsV2 paging loop), over the control client.
//!
//! Invariants: only `bucket` does network I/O (through the control client); only [`creds`]
//! reads files. No error message carries a secret key or session token.

pub mod bucket;
pub mod creds;
pub mod list;
pub mod sigv4;
mod verify;

use std::net::Ipv4Addr;

use ringload_core::kinds::S3Addressing;

pub use creds::{resolve, CredsError, S3Config};
pub use list::{list_query, parse_error, parse_list_page, ListError, ListPage};
pub use sigv4::{
    sha256_hex, verify, AmzDate, Credentials, SignRequest, Signer, VerifyError, VerifyRequest,
    EMPTY_SHA256, UNSIGNED_PAYLOAD,
};

/// A bucket or endpoint that cannot be addressed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum S3Error {
    #[error("bucket name '{bucket}' is invalid: it {rule}; rename the bucket argument to follow the S3 bucket naming rules")]
    InvalidBucket { bucket: String, rule: &'static str },
    #[error("endpoint host '{host}' is invalid: {reason}")]
    InvalidEndpoint { host: String, reason: &'static str },
    #[error("--s3-addressing virtual puts the bucket in the host name, but endpoint host '{host}' is an IP address; use path-style addressing (--s3-addressing path) or a DNS endpoint such as s3.example.com")]
    VirtualHostOnIp { host: String },
}

/// For endpoint host (e.g. `127.0.0.1:9000`) and bucket: the `Host` header value and the path
/// prefix object keys are appended to. Path: `("127.0.0.1:9000", "/bucket/")`; VirtualHost:
/// `("bucket.s3.example.com", "/")`. The one statement of the rule: the load's requests and the
/// bucket's control requests both use it. It checks nothing: [`check_endpoint`] refuses an
/// endpoint the addressing cannot work with, and the bucket name is not checked against the
/// S3 naming rules because S3-compatible stores (AIStore's S3 API) accept names outside them.
pub fn address(endpoint_host: &str, bucket: &str, addressing: S3Addressing) -> (String, String) {
    match addressing {
        S3Addressing::Path => (endpoint_host.to_string(), format!("/{bucket}/")),
        S3Addressing::VirtualHost => (format!("{bucket}.{endpoint_host}"), "/".to_string()),
    }
}

/// Checks endpoint `host[:port]` for `addressing`: a plain host[:port], and not an IP literal
/// under virtual-host addressing (the bucket goes in front of the host name, which then
/// resolves nowhere).
pub fn check_endpoint(endpoint_host: &str, addressing: S3Addressing) -> Result<(), S3Error> {
    let is_ip = endpoint_is_ip(endpoint_host)?;
    if is_ip && addressing == S3Addressing::VirtualHost {
        return Err(S3Error::VirtualHostOnIp {
            host: endpoint_host.to_string(),
        });
    }
    Ok(())
}

/// Checks `bucket` against the S3 bucket naming rules (3..=63 characters, lowercase letters,
/// digits, '.' and '-', alphanumeric at both ends, no '..').
pub fn validate_bucket(bucket: &str) -> Result<(), S3Error> {
    let invalid = |rule| {
        Err(S3Error::InvalidBucket {
            bucket: bucket.chars().take(80).collect(),
            rule,
        })
    };
    let b = bucket.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return invalid("must be 3 to 63 characters long");
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-'))
    {
        return invalid("may contain only lowercase letters, digits, '.' and '-'");
    }
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !b.first().is_some_and(alnum) || !b.last().is_some_and(alnum) {
        return invalid("must begin and end with a lowercase letter or digit");
    }
    if bucket.contains("..") {
        return invalid("must not contain two adjacent periods");
    }
    Ok(())
}

/// Checks `host[:port]` and tells whether the host is an IP literal.
fn endpoint_is_ip(endpoint: &str) -> Result<bool, S3Error> {
    let invalid = |reason| {
        Err(S3Error::InvalidEndpoint {
            host: endpoint.chars().take(120).collect(),
            reason,
        })
    };
    if endpoint.is_empty() {
        return invalid("it is empty; give host[:port], e.g. 127.0.0.1:9000");
    }
    if endpoint.contains("://") {
        return invalid("it has a scheme; give host[:port] without http:// or https://");
    }
    if endpoint
        .bytes()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || b"/?#@\\".contains(&c))
    {
        return invalid("it is not a plain host[:port]; drop any path, query or user part");
    }
    if endpoint.starts_with('[') {
        return match endpoint.find(']') {
            Some(end) if end > 1 => Ok(true),
            _ => invalid("an IPv6 literal needs its closing ']', e.g. [::1]:9000"),
        };
    }
    let host = match endpoint.split_once(':') {
        Some((_, port)) if port.contains(':') => {
            return invalid("an IPv6 address must be in brackets, e.g. [::1]:9000")
        }
        Some((_, port)) if port.is_empty() || !port.bytes().all(|c| c.is_ascii_digit()) => {
            return invalid("the port after ':' must be a number")
        }
        Some((host, _)) => host,
        None => endpoint,
    };
    if host.is_empty() {
        return invalid("the host before ':' is empty");
    }
    Ok(host.parse::<Ipv4Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a run does with an endpoint and a bucket: both checked, then addressed.
    fn checked(
        host: &str,
        bucket: &str,
        addressing: S3Addressing,
    ) -> Result<(String, String), S3Error> {
        validate_bucket(bucket)?;
        check_endpoint(host, addressing)?;
        Ok(address(host, bucket, addressing))
    }

    #[test]
    fn path_style_keeps_the_endpoint_as_host() {
        assert_eq!(
            checked("127.0.0.1:9000", "bucket", S3Addressing::Path),
            Ok(("127.0.0.1:9000".to_string(), "/bucket/".to_string()))
        );
        assert_eq!(
            checked("[::1]:9000", "my.bucket-1", S3Addressing::Path),
            Ok(("[::1]:9000".to_string(), "/my.bucket-1/".to_string()))
        );
    }

    #[test]
    fn virtual_host_prefixes_the_bucket() {
        assert_eq!(
            checked("s3.example.com", "bucket", S3Addressing::VirtualHost),
            Ok(("bucket.s3.example.com".to_string(), "/".to_string()))
        );
        assert_eq!(
            checked("localhost:9000", "bkt", S3Addressing::VirtualHost),
            Ok(("bkt.localhost:9000".to_string(), "/".to_string()))
        );
    }

    #[test]
    fn virtual_host_refuses_ip_endpoints() {
        for host in ["127.0.0.1:9000", "10.1.2.3", "[::1]:9000", "[fe80::1]"] {
            let err = checked(host, "bucket", S3Addressing::VirtualHost).unwrap_err();
            assert_eq!(
                err,
                S3Error::VirtualHostOnIp {
                    host: host.to_string()
                }
            );
            assert!(err.to_string().contains("path-style"), "{err}");
            assert!(err.to_string().contains("--s3-addressing path"), "{err}");
        }
    }

    #[test]
    fn addressing_takes_names_outside_the_s3_rules() {
        // AIStore's S3 API serves buckets such as `Train_1`; a run against it works today.
        assert_eq!(
            address("10.0.0.1:8080", "Train_1", S3Addressing::Path),
            ("10.0.0.1:8080".to_string(), "/Train_1/".to_string())
        );
        for host in ["127.0.0.1:9000", "s3.example.com"] {
            assert_eq!(check_endpoint(host, S3Addressing::Path), Ok(()), "{host}");
        }
    }

    #[test]
    fn bucket_rules_are_named() {
        let cases = [
            ("ab", "3 to 63"),
            (&"a".repeat(64)[..], "3 to 63"),
            ("My-Bucket", "lowercase letters"),
            ("bucket_1", "lowercase letters"),
            ("-bucket", "begin and end"),
            ("bucket.", "begin and end"),
            ("a..b", "adjacent periods"),
        ];
        for (bucket, rule) in cases {
            let err = checked("127.0.0.1:9000", bucket, S3Addressing::Path).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(rule), "{bucket}: {text}");
            assert!(text.contains("naming rules"), "{text}");
        }
        assert!(checked("h", &"a".repeat(63), S3Addressing::Path).is_ok());
        assert!(checked("h", "abc", S3Addressing::Path).is_ok());
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_fix() {
        let cases = [
            ("", "host[:port]"),
            ("http://127.0.0.1:9000", "without http://"),
            ("127.0.0.1:9000/x", "drop any path"),
            ("::1", "brackets"),
            ("[::1", "closing"),
            ("host:", "number"),
            ("host:port", "number"),
            (":9000", "empty"),
        ];
        for (host, fix) in cases {
            let err = checked(host, "bucket", S3Addressing::Path).unwrap_err();
            assert!(err.to_string().contains(fix), "{host}: {err}");
        }
    }
}
