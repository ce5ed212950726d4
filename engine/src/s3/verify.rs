//! The server side of SigV4: checking a header-signed S3 request against the one key pair the
//! built-in S3 target knows (`ringload serve --protocol s3 --access-key .. --secret-key ..`).
//!
//! It rebuilds the canonical request from what arrived (path and query re-encoded by AWS's
//! rules, the signed headers' values trimmed with inner spaces collapsed) with the signer's
//! own code, so a request `Signer::sign` produced always verifies. Errors never carry the
//! secret; untrusted input in messages is clipped.

use std::cell::RefCell;

use hmac::Mac;

use super::sigv4::{
    derive_signing_mac, feed_string_to_sign, hex_val, Canon, Scope, ALGORITHM, TERMINATOR,
};

/// A received request, as the server sees it, for [`verify`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    pub method: &'a str,
    /// The path from the request line, still percent-encoded.
    pub raw_path: &'a [u8],
    /// The query from the request line without `?`, still percent-encoded.
    pub raw_query: &'a [u8],
    /// Every header as received (names in any case).
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// Why [`verify`] refused a request. Never carries the secret key.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VerifyError {
    #[error("the request has no {0} header; sign it with AWS SigV4 (header authentication) and send {0}")]
    Missing(&'static str),
    #[error("header '{0}' is listed in SignedHeaders but was not sent; send it or drop it from SignedHeaders")]
    MissingSigned(String),
    #[error("unsupported authorization '{0}'; this server accepts only AWS4-HMAC-SHA256 header signatures (no SigV2, no presigned URLs)")]
    Unsupported(String),
    #[error("malformed SigV4 request: {0}; sign requests with an AWS SigV4 client (header authentication)")]
    Malformed(String),
    #[error("unknown access key '{0}'; use the access key the server was started with")]
    UnknownKey(String),
    #[error("signature does not match; check the secret key, and that the client signs the path, query and headers exactly as sent")]
    SignatureMismatch,
}

fn malformed(what: impl Into<String>) -> VerifyError {
    VerifyError::Malformed(what.into())
}

/// At most `n` characters of untrusted input, for messages.
fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// An `Authorization: AWS4-HMAC-SHA256 ...` header's access key, scope, `SignedHeaders` and
/// signature bytes.
type ParsedAuth<'a> = (&'a str, Scope<'a>, &'a str, [u8; 32]);

fn parse_authorization(value: &str) -> Result<ParsedAuth<'_>, VerifyError> {
    let value = value.trim();
    let Some((ALGORITHM, rest)) = value.split_once(' ').or(Some((value, ""))) else {
        let scheme = value.split(' ').next().unwrap_or("");
        return Err(VerifyError::Unsupported(clip(scheme, 32)));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {
                return Err(malformed(format!(
                    "bad Authorization part '{}'",
                    clip(part, 40)
                )))
            }
        }
    }
    let missing = |what| malformed(format!("Authorization has no {what}= part"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;

    let shape = "Credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request";
    let mut parts = credential.split('/');
    let parts: [Option<&str>; 6] = std::array::from_fn(|_| parts.next());
    let [Some(access_key), Some(day), Some(region), Some(service), Some(TERMINATOR), None] = parts
    else {
        return Err(malformed(shape));
    };
    if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) || region.is_empty() {
        return Err(malformed(shape));
    }
    let sig = signature.as_bytes();
    let mut bytes = [0u8; 32];
    let hex_ok = sig.len() == 64
        && sig.chunks_exact(2).zip(&mut bytes).all(|(pair, slot)| {
            let pair = hex_val(pair[0]).zip(hex_val(pair[1]));
            pair.map(|(hi, lo)| *slot = hi << 4 | lo).is_some()
        });
    if !hex_ok {
        return Err(malformed("Signature must be 64 hex digits"));
    }
    Ok((access_key, [day, region, service], signed_headers, bytes))
}

/// All values of header `name` (case-insensitive), in arrival order.
fn header_values<'a>(
    headers: &'a [(&'a str, &'a [u8])],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let matching = headers
        .iter()
        .filter(move |h| h.0.trim().eq_ignore_ascii_case(name));
    matching.map(|(_, v)| *v)
}

thread_local! {
    static VERIFY_CANON: RefCell<Canon> = RefCell::new(Canon::default());
}

/// Checks a header-signed (`Authorization: AWS4-HMAC-SHA256 ...`) S3 request against the one
/// key pair the server knows. The region and day come from the credential scope; the payload
/// hash is the `x-amz-content-sha256` value as sent (the body is not hashed); the signature is
/// compared in constant time. `host`, `x-amz-date` and `x-amz-content-sha256` must be signed.
/// No clock-skew check is made.
pub fn verify(access_key: &str, secret_key: &str, req: &VerifyRequest) -> Result<(), VerifyError> {
    let header = |name| header_values(req.headers, name).next();
    let missing = VerifyError::Missing;
    let presigned = req.raw_query.windows(16).any(|w| w == b"X-Amz-Signature=");
    if presigned && header("authorization").is_none() {
        return Err(VerifyError::Unsupported("presigned URL".to_string()));
    }
    let auth = header("authorization").ok_or(missing("Authorization"))?;
    let auth = std::str::from_utf8(auth).map_err(|_| malformed("Authorization is not UTF-8"))?;
    let (key, scope, signed_headers, signature) = parse_authorization(auth)?;
    if key != access_key {
        return Err(VerifyError::UnknownKey(key.to_string()));
    }
    if scope[2] != "s3" {
        return Err(malformed(format!(
            "scope service '{}' is not s3",
            clip(scope[2], 32)
        )));
    }
    let date = header("x-amz-date").ok_or(missing("x-amz-date"))?;
    let stamp = std::str::from_utf8(date).unwrap_or("");
    let stamp_ok = stamp.len() == 16
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !stamp_ok || stamp[..8] != *scope[0] {
        return Err(malformed(
            "x-amz-date must be YYYYMMDDTHHMMSSZ on the scope's day",
        ));
    }
    let payload = header("x-amz-content-sha256").ok_or(missing("x-amz-content-sha256"))?;
    let payload =
        std::str::from_utf8(payload).map_err(|_| malformed("x-amz-content-sha256 is not UTF-8"))?;
    let names = signed_headers.split(';');
    let bad_name = |n: &str| n.is_empty() || n.bytes().any(|b| b.is_ascii_uppercase() || b <= b' ');
    if names.clone().any(bad_name) {
        return Err(malformed(
            "SignedHeaders must be lowercase names separated by ';'",
        ));
    }
    for required in ["host", "x-amz-content-sha256", "x-amz-date"] {
        if !names.clone().any(|n| n == required) {
            return Err(malformed(format!("SignedHeaders must include {required}")));
        }
    }

    let digest = VERIFY_CANON.with(|cell| {
        let mut fresh = Canon::default();
        let mut borrowed = cell.try_borrow_mut();
        let canon = borrowed.as_deref_mut().unwrap_or(&mut fresh);
        canon.begin(req.method.as_bytes(), req.raw_path, req.raw_query);
        for name in names.clone() {
            if canon.header(name.as_bytes(), header_values(req.headers, name)) == 0 {
                return Err(VerifyError::MissingSigned(name.to_string()));
            }
        }
        Ok(canon.finish(names.clone().map(str::as_bytes), payload))
    })?;
    let mut mac = derive_signing_mac(secret_key, scope);
    feed_string_to_sign(&mut mac, stamp, scope, &digest);
    let checked = mac.verify_slice(&signature);
    checked.map_err(|_| VerifyError::SignatureMismatch)
}
