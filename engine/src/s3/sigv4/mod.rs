//! AWS Signature Version 4 for S3: the client-side signer and the server-side verifier.
//!
//! Owns: the canonical request (method, canonical URI, canonical query, canonical headers,
//! signed-header list, payload hash), the string to sign, the signing-key derivation
//! (`kDate → kRegion → kService → kSigning`) and the header lines a signed request carries.
//!
//! Why hand-written: the load engine signs every request it sends, so the signer must be cheap
//! and must not allocate once warm. [`Signer`] keeps its canonical-request buffers between
//! calls, streams the string to sign straight into the HMAC, writes into the caller's
//! `Vec<u8>`, and caches the keyed `kSigning` HMAC per date (re-derived only when the day
//! changes). [`verify`] is the same computation driven from a received request, for the
//! built-in S3 target.
//!
//! Invariants:
//! - The canonical URI is the path as sent, re-encoded per AWS rules: `%XX` escapes are decoded
//!   and every byte outside `A-Za-z0-9-_.~` is written as uppercase `%XX`; a literal `/` is
//!   kept and an escaped `%2F` stays escaped. S3 does not double-encode, so a correctly
//!   encoded path canonicalizes to itself. An empty path is `/`.
//! - The canonical query splits on `&`, takes `name[=value]` (no `=` means an empty value),
//!   re-encodes names and values like the path but with `/` escaped, and sorts by encoded
//!   name, then encoded value. A `+` is a literal plus (`%2B`): send spaces as `%20`.
//! - Header values are canonicalized AWS's way: trimmed, runs of spaces collapsed to one,
//!   repeated headers joined with `,`.
//! - The secret key and session token never appear in `Debug` output or in errors.

use std::fmt;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The hex-digit decoder the verifier shares (one for the whole workspace, in ringload-net).
pub(super) use ringload_net::http::hex_value as hex_val;
use ringload_net::http::{percent_encode_byte, Keep};

type HmacSha256 = Hmac<Sha256>;

/// The payload hash S3 accepts in place of the body's SHA-256.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The hex SHA-256 of the empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub(super) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(super) const TERMINATOR: &str = "aws4_request";
const SIGNED: &str = "host;x-amz-content-sha256;x-amz-date";
const SIGNED_WITH_TOKEN: &str = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token";
const HEX: &[u8; 16] = b"0123456789abcdef";
/// 9999-12-31T23:59:59Z: the last instant an `x-amz-date` stamp (4-digit year) can express.
const MAX_UNIX_SECS: u64 = 253_402_300_799;

/// An access key pair, optionally with an STS session token. `Debug` prints `***` for both
/// secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A request time in the two forms SigV4 uses: `20150830T123600Z` and `20150830`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AmzDate {
    stamp: [u8; 16],
}

impl AmzDate {
    /// The UTC time `secs` after the Unix epoch (clamped to 9999-12-31T23:59:59Z).
    pub fn from_unix(secs: u64) -> AmzDate {
        let secs = secs.min(MAX_UNIX_SECS);
        let (y, m, d) = civil_from_days(secs / 86_400);
        let (h, mi, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
        let mut stamp = *b"00000000T000000Z";
        // Exactly 16 bytes: the year is at most 9999.
        let _ = write!(&mut stamp[..], "{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}Z");
        AmzDate { stamp }
    }

    /// The current time (the epoch if the clock is before it).
    pub fn now() -> AmzDate {
        let since = SystemTime::now().duration_since(UNIX_EPOCH);
        AmzDate::from_unix(since.map_or(0, |d| d.as_secs()))
    }

    /// `YYYYMMDDTHHMMSSZ`, the `x-amz-date` value.
    pub fn stamp(&self) -> &str {
        std::str::from_utf8(&self.stamp).unwrap_or("")
    }

    /// `YYYYMMDD`, the credential-scope day.
    pub fn day(&self) -> &str {
        std::str::from_utf8(&self.stamp[..8]).unwrap_or("")
    }
}

impl fmt::Debug for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AmzDate({})", self.stamp())
    }
}

/// Howard Hinnant's `civil_from_days` for days since 1970-01-01 (non-negative here).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(m <= 2), m, d)
}

/// What of one request the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// `GET`, `PUT`, ... as sent.
    pub method: &'a str,
    /// Exactly the `Host` header value, e.g. `127.0.0.1:9000` or `bkt.s3.example.com`.
    pub host: &'a str,
    /// The path as sent on the wire (percent-encoded per RFC 3986, `/` kept).
    pub canonical_uri: &'a [u8],
    /// The query as sent, without `?`; canonicalized by the signer.
    pub query: &'a [u8],
    /// [`UNSIGNED_PAYLOAD`] or the hex SHA-256 of the body.
    pub payload_hash: &'a str,
}

/// The credential scope after the access key, `[day, region, service]`.
pub(super) type Scope<'a> = [&'a str; 3];

/// The pieces of `DAY/REGION/SERVICE/aws4_request`.
fn scope_parts<'a>(scope: Scope<'a>) -> [&'a str; 7] {
    let [day, region, service] = scope;
    [day, "/", region, "/", service, "/", TERMINATOR]
}

/// Signs S3 requests for one key pair and region, reusing its buffers between requests.
pub struct Signer {
    creds: Credentials,
    region: String,
    service: String,
    state: SignState,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("creds", &self.creds)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for service `s3` in `region`.
    pub fn new(creds: Credentials, region: &str) -> Signer {
        Signer::for_service(creds, region, "s3")
    }

    fn for_service(creds: Credentials, region: &str, service: &str) -> Signer {
        let (region, service) = (region.to_string(), service.to_string());
        Signer {
            creds,
            region,
            service,
            state: SignState::default(),
        }
    }

    /// Appends complete header lines, each ending `\r\n`: `x-amz-content-sha256`,
    /// `x-amz-date`, `x-amz-security-token` (with a session token) and `Authorization`,
    /// signing `host;x-amz-content-sha256;x-amz-date[;x-amz-security-token]`.
    pub fn sign(&mut self, req: &SignRequest, date: &AmzDate, out: &mut Vec<u8>) {
        let token = self.creds.session_token.as_deref();
        let all = [
            ("host", req.host),
            ("x-amz-content-sha256", req.payload_hash),
            ("x-amz-date", date.stamp()),
            ("x-amz-security-token", token.unwrap_or("")),
        ];
        let headers = if token.is_some() { &all[..] } else { &all[..3] };
        let scope = [date.day(), &self.region, &self.service];
        let secret = &self.creds.secret_key;
        let sig = self.state.compute(secret, scope, req, date, headers);
        let mut sig_hex = [0u8; 64];
        hex_into(&sig, &mut sig_hex);

        let (payload, stamp) = (req.payload_hash.as_bytes(), date.stamp().as_bytes());
        put(out, &[b"x-amz-content-sha256: ", payload, b"\r\n"]);
        put(out, &[b"x-amz-date: ", stamp, b"\r\n"]);
        if let Some(token) = token {
            put(out, &[b"x-amz-security-token: ", token.as_bytes(), b"\r\n"]);
        }
        let signed = token.map_or(SIGNED, |_| SIGNED_WITH_TOKEN);
        let ak = self.creds.access_key.as_bytes();
        out.extend_from_slice(b"Authorization: AWS4-HMAC-SHA256 Credential=");
        put(out, &[ak, b"/"]);
        for part in scope_parts(scope) {
            out.extend_from_slice(part.as_bytes());
        }
        put(out, &[b", SignedHeaders=", signed.as_bytes()]);
        put(out, &[b", Signature=", &sig_hex, b"\r\n"]);
    }

    /// The 64-hex signature of `req`, signing `host` (from `req.host`), `x-amz-date` (from
    /// `date`) and `signed_headers` (name, value) on top; a `host` or `x-amz-date` entry in
    /// `signed_headers` replaces the default one. Names are case-insensitive; a repeated name
    /// signs its values joined by `,` in the order given.
    pub fn signature(
        &mut self,
        req: &SignRequest,
        date: &AmzDate,
        signed_headers: &[(&str, &str)],
    ) -> String {
        let mut owned: Vec<(String, &str)> = signed_headers
            .iter()
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), *v))
            .collect();
        for (name, value) in [("host", req.host), ("x-amz-date", date.stamp())] {
            if !owned.iter().any(|(n, _)| n == name) {
                owned.push((name.to_string(), value));
            }
        }
        owned.sort_by(|a, b| a.0.cmp(&b.0));
        let headers: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let scope = [date.day(), &self.region, &self.service];
        let secret = &self.creds.secret_key;
        let sig = self.state.compute(secret, scope, req, date, &headers);
        hex_string(&sig)
    }

    /// The canonical request of the last signature computed (test support: the signing
    /// tests and the S3 listing's tests read it).
    #[cfg(test)]
    pub fn last_canonical_request(&self) -> &[u8] {
        &self.state.canon.creq
    }
}

fn put(out: &mut Vec<u8>, parts: &[&[u8]]) {
    parts.iter().for_each(|p| out.extend_from_slice(p));
}

/// A signer's reusable state: the canonical-request buffers and the `kSigning` HMAC keyed for
/// `key_day` (region and service are fixed per [`Signer`]).
#[derive(Default)]
struct SignState {
    canon: Canon,
    key_day: String,
    key: Option<HmacSha256>,
}

impl SignState {
    /// The signature bytes; `headers` are lowercase and sorted, repeated names adjacent.
    fn compute(
        &mut self,
        secret: &str,
        scope: Scope,
        req: &SignRequest,
        date: &AmzDate,
        headers: &[(&str, &str)],
    ) -> [u8; 32] {
        let canon = &mut self.canon;
        canon.begin(req.method.as_bytes(), req.canonical_uri, req.query);
        let mut rest = headers;
        while let Some(&(name, _)) = rest.first() {
            let n = rest.iter().take_while(|h| h.0 == name).count();
            canon.header(name.as_bytes(), rest[..n].iter().map(|h| h.1.as_bytes()));
            rest = &rest[n..];
        }
        let names = headers.iter().enumerate();
        let names = names.filter(|&(i, h)| i == 0 || headers[i - 1].0 != h.0);
        let digest = canon.finish(names.map(|(_, h)| h.0.as_bytes()), req.payload_hash);
        let mut mac = match &self.key {
            Some(mac) if self.key_day == scope[0] => mac.clone(),
            _ => {
                let mac = derive_signing_mac(secret, scope);
                self.key_day.clear();
                self.key_day.push_str(scope[0]);
                self.key = Some(mac.clone());
                mac
            }
        };
        feed_string_to_sign(&mut mac, date.stamp(), scope, &digest);
        mac.finalize().into_bytes().into()
    }
}

/// The hex SHA-256 of `data`, for signed payloads (`payload_hash`).
pub fn sha256_hex(data: &[u8]) -> String {
    hex_string(&Sha256::digest(data).into())
}

fn mac_with_key(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    }
}

fn hmac(key: &[u8], data: &str) -> [u8; 32] {
    let mut mac = mac_with_key(key);
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().into()
}

/// `kSigning` as a keyed HMAC ready to take the string to sign.
pub(super) fn derive_signing_mac(secret: &str, scope: Scope) -> HmacSha256 {
    let mut seed = Vec::with_capacity(4 + secret.len());
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.as_bytes());
    let [day, region, service] = scope;
    let k_date = hmac(&seed, day);
    seed.fill(0);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    mac_with_key(&hmac(&k_service, TERMINATOR))
}

/// Streams `ALGORITHM\nSTAMP\nSCOPE\nhex(sha256(canonical request))` into `mac`.
pub(super) fn feed_string_to_sign(
    mac: &mut HmacSha256,
    stamp: &str,
    scope: Scope,
    creq_digest: &[u8; 32],
) {
    let mut digest_hex = [0u8; 64];
    hex_into(creq_digest, &mut digest_hex);
    for part in [ALGORITHM, "\n", stamp, "\n"] {
        mac.update(part.as_bytes());
    }
    for part in scope_parts(scope) {
        mac.update(part.as_bytes());
    }
    mac.update(b"\n");
    mac.update(&digest_hex);
}

fn hex_into(bytes: &[u8; 32], out: &mut [u8; 64]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 15)];
    }
}

fn hex_string(bytes: &[u8; 32]) -> String {
    let mut buf = [0u8; 64];
    hex_into(bytes, &mut buf);
    buf.iter().map(|&b| char::from(b)).collect()
}

/// Re-encodes `raw` per AWS rules (see the module invariants); `keep_slash` keeps literal `/`.
fn aws_encode(raw: &[u8], keep_slash: bool, out: &mut Vec<u8>) {
    let keep = if keep_slash {
        Keep::UnreservedAndSlash
    } else {
        Keep::Unreserved
    };
    let mut i = 0;
    while i < raw.len() {
        let (mut b, mut escaped) = (raw[i], false);
        if b == b'%' && i + 2 < raw.len() {
            if let (Some(hi), Some(lo)) = (hex_val(raw[i + 1]), hex_val(raw[i + 2])) {
                (b, escaped) = (hi << 4 | lo, true);
                i += 2;
            }
        }
        i += 1;
        // An escaped `/` (`%2F`) is data, not a separator: it stays escaped.
        percent_encode_byte(b, if escaped { Keep::Unreserved } else { keep }, out);
    }
}

/// Reusable buffers holding one canonical request while it is built.
#[derive(Default)]
pub(super) struct Canon {
    creq: Vec<u8>,
    qbuf: Vec<u8>,
    spans: Vec<[usize; 4]>,
}

impl Canon {
    /// Starts a canonical request: method, canonical URI and canonical query lines.
    pub(super) fn begin(&mut self, method: &[u8], uri: &[u8], query: &[u8]) {
        self.creq.clear();
        self.creq.extend_from_slice(method);
        self.creq.push(b'\n');
        let uri = if uri.is_empty() { b"/" } else { uri };
        aws_encode(uri, true, &mut self.creq);
        self.creq.push(b'\n');
        if !query.is_empty() {
            self.canonical_query(query);
        }
        self.creq.push(b'\n');
    }

    fn canonical_query(&mut self, query: &[u8]) {
        let Canon { creq, qbuf, spans } = self;
        qbuf.clear();
        spans.clear();
        for param in query.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let eq = param.iter().position(|&b| b == b'=');
            let (name, value) = match eq {
                Some(eq) => (&param[..eq], &param[eq + 1..]),
                None => (param, &param[param.len()..]),
            };
            let ns = qbuf.len();
            aws_encode(name, false, qbuf);
            let vs = qbuf.len();
            aws_encode(value, false, qbuf);
            spans.push([ns, vs, vs, qbuf.len()]);
        }
        let key = |s: &[usize; 4]| (&qbuf[s[0]..s[1]], &qbuf[s[2]..s[3]]);
        if !spans.is_sorted_by(|a, b| key(a) <= key(b)) {
            spans.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
        }
        for (i, s) in spans.iter().enumerate() {
            let sep: &[u8] = if i > 0 { b"&" } else { b"" };
            put(creq, &[sep, &qbuf[s[0]..s[1]], b"=", &qbuf[s[2]..s[3]]]);
        }
    }

    /// Writes `name:value[,value...]\n` with AWS's trimall of each value; returns how many.
    pub(super) fn header<'v>(
        &mut self,
        name: &[u8],
        values: impl Iterator<Item = &'v [u8]>,
    ) -> usize {
        self.creq.extend(name.iter().map(u8::to_ascii_lowercase));
        self.creq.push(b':');
        let mut count = 0;
        for value in values {
            if count > 0 {
                self.creq.push(b',');
            }
            count += 1;
            let words = value.split(|&b| b == b' ' || b == b'\t');
            let words = words.filter(|w| !w.is_empty());
            for (i, word) in words.enumerate() {
                put(&mut self.creq, &[if i > 0 { b" " } else { b"" }, word]);
            }
        }
        self.creq.push(b'\n');
        count
    }

    /// Ends the canonical request with the signed-header list and payload hash; returns its
    /// SHA-256.
    pub(super) fn finish<'n>(
        &mut self,
        names: impl Iterator<Item = &'n [u8]>,
        payload: &str,
    ) -> [u8; 32] {
        self.creq.push(b'\n');
        for (i, name) in names.enumerate() {
            if i > 0 {
                self.creq.push(b';');
            }
            self.creq.extend(name.iter().map(u8::to_ascii_lowercase));
        }
        put(&mut self.creq, &[b"\n", payload.as_bytes()]);
        Sha256::digest(&self.creq).into()
    }
}

pub use super::verify::{verify, VerifyError, VerifyRequest};

#[cfg(test)]
mod tests;
