//! `--verifyhash`: checking a GET's body against what ringload wrote, on any server.
//!
//! Owns [`BodyCheck`], the per-connection [`Sink`] a verifying GET's response goes through, and
//! its [`Verdict`]. Every ringload PUT sends the object's [`ringload_core::content`] bytes (a window of
//! the fixed-seed pattern at the name's offset), so any server's copy of an object any
//! ringload run wrote can be compared byte for byte. Two pieces of evidence, in this order:
//!
//! 1. **The pattern.** The first [`RECOGNISE_LEN`] body bytes (the whole body if shorter)
//!    decide whether the object was written by ringload: when they equal the name's pattern
//!    window, every later byte must too, else the object is corrupt. Limit: corruption inside
//!    that prefix makes the object unrecognised (step 2 then decides).
//! 2. **The server's checksum**, where the protocol carries one for the whole object (a 200
//!    answer): AIS `Ais-Checksum-Type`/`-Value` (every AIS type: xxhash, xxhash2, md5,
//!    crc32c, sha256, sha512), S3
//!    `x-amz-checksum-crc32`/`-crc32c`/`-sha1`/`-sha256` (full-object, base64). It is hashed
//!    while the body streams in and must match, whether or not the pattern was recognised.
//!    For S3, a single-part ETag (a quoted 32-hex string; multipart ETags carry `-N` and are
//!    skipped) is only *maybe* the body's MD5 (not under SSE-KMS or SSE-C), so it can verify
//!    an unrecognised body but its disagreement proves nothing; it is not hashed once the
//!    pattern recognised the object.
//!
//! Outcome: recognised and intact (and checksum, if any, matching) = [`Verdict::Ok`];
//! unrecognised but a checksum or the ETag matches = [`Verdict::Ok`] (verified by checksum);
//! a pattern or checksum mismatch = [`Verdict::Corrupt`]; unrecognised and nothing matching
//! = [`Verdict::Unknown`], counted as `verify-unknown`, never passed silently. Headers are looked at only through this
//! sink, so a run without `--verifyhash` pays nothing for them. Nothing here allocates.

use base64::Engine as _;

use crate::http::Sink;
use ringload_core::cksum::{self, Hasher};
use ringload_core::content;
use ringload_core::kinds::CksumType;

/// Leading body bytes that must match the pattern for an object to count as written by
/// ringload: a foreign object passes by chance with probability 2^-256.
pub const RECOGNISE_LEN: u64 = 32;

/// What a verified GET's body turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Matches what ringload wrote (or, unrecognised, the server's checksum).
    Ok,
    /// The pattern or the checksum disagrees with the bytes received.
    Corrupt,
    /// Not written by ringload and no checksum to check it against.
    Unknown,
}

/// Longest digest announced (SHA-512).
const MAX_DIGEST: usize = cksum::MAX_DIGEST;

/// Checksum kinds in the order they are preferred when a response carries several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Sha512,
    Sha256,
    Sha1,
    Xxh64,
    Crc32c,
    Crc32,
    Md5,
}

impl Kind {
    /// The one checksum implementation's hasher for this kind.
    fn hasher(self) -> Hasher {
        match self {
            Kind::Xxh64 => Hasher::new(CksumType::Xxhash),
            Kind::Md5 => Hasher::new(CksumType::Md5),
            Kind::Sha1 => Hasher::sha1(),
            Kind::Sha256 => Hasher::new(CksumType::Sha256),
            Kind::Sha512 => Hasher::new(CksumType::Sha512),
            Kind::Crc32 => Hasher::crc32(),
            Kind::Crc32c => Hasher::new(CksumType::Crc32c),
        }
    }

    fn len(self) -> usize {
        match self {
            Kind::Sha512 => 64,
            Kind::Sha256 => 32,
            Kind::Sha1 => 20,
            Kind::Md5 => 16,
            Kind::Xxh64 => 8,
            Kind::Crc32c | Kind::Crc32 => 4,
        }
    }
}

/// A checksum announced in a response head: its kind and digest bytes.
#[derive(Clone, Copy)]
struct Announced {
    kind: Kind,
    want: [u8; MAX_DIGEST],
    /// A mismatch proves corruption (false for an S3 ETag, which may not be an MD5).
    proof: bool,
}

/// The verification state of one connection's current GET; see the module docs.
#[derive(Clone)]
pub struct BodyCheck {
    /// S3: a 32-hex ETag is the body's MD5 (other protocols' ETags are opaque).
    etag_is_md5: bool,
    /// The object's start in the pattern.
    start: u64,
    /// First object position requested (a range's start, else 0).
    range_start: u64,
    /// Object position of the next body byte.
    pos: u64,
    /// Body bytes seen.
    seen: u64,
    /// The current response is a 2xx whose body is checked.
    active: bool,
    prefix_ok: bool,
    rest_ok: bool,
    sum: Option<(Hasher, Announced)>,
}

impl BodyCheck {
    pub fn new(etag_is_md5: bool) -> BodyCheck {
        BodyCheck {
            etag_is_md5,
            start: 0,
            range_start: 0,
            pos: 0,
            seen: 0,
            active: false,
            prefix_ok: true,
            rest_ok: true,
            sum: None,
        }
    }

    /// Arms the check for a GET of the object whose content starts at `start` in the
    /// pattern ([`content::object_start`] of its identity), from object position `range_start`.
    pub fn begin(&mut self, start: u64, range_start: u64) {
        self.start = start;
        self.range_start = range_start;
        self.active = false;
        self.sum = None;
    }

    /// The outcome once the whole body was received. A non-2xx answer is not checked (the
    /// caller counts its status) and reads [`Verdict::Ok`].
    pub fn verdict(&mut self) -> Verdict {
        if !self.active {
            return Verdict::Ok;
        }
        let sum = self
            .sum
            .take()
            .map(|(h, a)| (h.digest().as_bytes() == &a.want[..a.kind.len()], a.proof));
        match (self.prefix_ok, sum) {
            (true, s) if self.rest_ok && s != Some((false, true)) => Verdict::Ok,
            (true, _) | (false, Some((false, true))) => Verdict::Corrupt,
            (false, Some((true, _))) => Verdict::Ok,
            (false, Some((false, false)) | None) => Verdict::Unknown,
        }
    }
}

/// A checksum-related response header.
enum Header<'a> {
    AisType(Option<Kind>),
    AisValue(&'a [u8]),
    Sum(Kind, [u8; MAX_DIGEST], usize),
    /// An S3 single-part ETag: maybe the body's MD5.
    Etag([u8; MAX_DIGEST]),
}

/// Reads one header if it concerns a supported whole-object checksum.
fn parse<'a>(name: &[u8], value: &'a [u8], etag_is_md5: bool) -> Option<Header<'a>> {
    let value = value.trim_ascii();
    let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
    let amz = |kind| b64(value).map(|(w, n)| Header::Sum(kind, w, n));
    if is(b"ais-checksum-type") {
        Some(Header::AisType(match CksumType::parse_header(value) {
            Some(CksumType::Xxhash | CksumType::Xxhash2) => Some(Kind::Xxh64),
            Some(CksumType::Md5) => Some(Kind::Md5),
            Some(CksumType::Crc32c) => Some(Kind::Crc32c),
            Some(CksumType::Sha256) => Some(Kind::Sha256),
            Some(CksumType::Sha512) => Some(Kind::Sha512),
            Some(CksumType::None) | None => None,
        }))
    } else if is(b"ais-checksum-value") {
        Some(Header::AisValue(value))
    } else if is(b"x-amz-checksum-sha256") {
        amz(Kind::Sha256)
    } else if is(b"x-amz-checksum-sha1") {
        amz(Kind::Sha1)
    } else if is(b"x-amz-checksum-crc32c") {
        amz(Kind::Crc32c)
    } else if is(b"x-amz-checksum-crc32") {
        amz(Kind::Crc32)
    } else if is(b"etag") && etag_is_md5 {
        let v = value.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        (v.len() == 32)
            .then(|| hex(v))
            .flatten()
            .map(|(w, _)| Header::Etag(w))
    } else {
        None
    }
}

impl Sink for BodyCheck {
    fn head(&mut self, status: u16, headers: &[httparse::Header<'_>]) {
        self.active = (200..300).contains(&status);
        self.pos = if status == 206 { self.range_start } else { 0 };
        self.seen = 0;
        self.prefix_ok = true;
        self.rest_ok = true;
        self.sum = None;
        if status != 200 {
            // A partial body cannot be checked against a whole-object checksum.
            return;
        }
        let (mut ais_type, mut ais_value, mut best) = (None, None, None::<Announced>);
        let mut etag = None;
        let mut offer = |kind: Kind, want: [u8; MAX_DIGEST], n: usize| {
            if n == kind.len() && best.is_none_or(|b| kind < b.kind) {
                best = Some(Announced {
                    kind,
                    want,
                    proof: true,
                });
            }
        };
        for h in headers {
            match parse(h.name.as_bytes(), h.value, self.etag_is_md5) {
                Some(Header::AisType(k)) => ais_type = k,
                Some(Header::AisValue(v)) => ais_value = Some(v),
                Some(Header::Sum(kind, want, n)) => offer(kind, want, n),
                Some(Header::Etag(want)) => etag = Some(want),
                None => {}
            }
        }
        match (ais_type, ais_value) {
            // XXH64 as up to 16 hex digits (leading zeros may be dropped).
            (Some(Kind::Xxh64), Some(v)) if !v.is_empty() && v.len() <= 16 => {
                let x = v.iter().try_fold(0u64, |acc, &c| {
                    Some(acc << 4 | u64::from((c as char).to_digit(16)?))
                });
                if let Some(x) = x {
                    let mut want = [0u8; MAX_DIGEST];
                    want[..8].copy_from_slice(&x.to_be_bytes());
                    offer(Kind::Xxh64, want, 8);
                }
            }
            (Some(kind), Some(v)) => {
                if let Some((want, n)) = hex(v) {
                    offer(kind, want, n);
                }
            }
            _ => {}
        }
        let etag = etag.map(|want| Announced {
            kind: Kind::Md5,
            want,
            proof: false,
        });
        self.sum = best.or(etag).map(|a| (a.kind.hasher(), a));
    }

    fn body(&mut self, b: &[u8]) {
        if !self.active {
            return;
        }
        if let Some((h, _)) = &mut self.sum {
            h.update(b);
        }
        let p = content::pattern();
        let split = (RECOGNISE_LEN.saturating_sub(self.seen) as usize).min(b.len());
        let (head, tail) = b.split_at(split);
        if !head.is_empty() {
            self.prefix_ok &= p.verify(self.start, self.pos, head);
        }
        if self.prefix_ok && self.rest_ok && !tail.is_empty() {
            self.rest_ok = p.verify(self.start, self.pos + split as u64, tail);
        }
        self.pos += b.len() as u64;
        self.seen += b.len() as u64;
        if self.prefix_ok
            && self.seen >= RECOGNISE_LEN
            && self.sum.as_ref().is_some_and(|s| !s.1.proof)
        {
            // Recognised: the pattern decides, and an ETag could not overrule it.
            self.sum = None;
        }
    }
}

/// Hex digits (either case, even count, at most `2 * MAX_DIGEST`) as bytes.
fn hex(v: &[u8]) -> Option<([u8; MAX_DIGEST], usize)> {
    if v.is_empty() || v.len() > 2 * MAX_DIGEST || v.len() % 2 == 1 {
        return None;
    }
    let mut out = [0u8; MAX_DIGEST];
    for (i, pair) in v.chunks_exact(2).enumerate() {
        let d = |c: u8| (c as char).to_digit(16);
        out[i] = (d(pair[0])? * 16 + d(pair[1])?) as u8;
    }
    Some((out, v.len() / 2))
}

/// Standard base64 (padded) of at most 32 bytes.
fn b64(v: &[u8]) -> Option<([u8; MAX_DIGEST], usize)> {
    let mut out = [0u8; 48];
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(v, &mut out)
        .ok()?;
    let mut want = [0u8; MAX_DIGEST];
    (n <= 32).then(|| {
        want[..n].copy_from_slice(&out[..n]);
        (want, n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest;

    const NAME: &[u8] = b"bk/obj";

    fn object(len: usize) -> Vec<u8> {
        let start = content::object_start(NAME);
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let c = content::pattern().chunk(start, out.len() as u64, len - out.len());
            out.extend_from_slice(c);
        }
        out
    }

    /// Runs `body` through a fresh check as a `status` answer with `headers`, in pieces.
    fn check(status: u16, headers: &[(&str, &str)], body: &[u8], etag_md5: bool) -> Verdict {
        let hs: Vec<httparse::Header> = headers
            .iter()
            .map(|(n, v)| httparse::Header {
                name: n,
                value: v.as_bytes(),
            })
            .collect();
        let mut c = BodyCheck::new(etag_md5);
        c.begin(content::object_start(NAME), 0);
        c.head(status, &hs);
        for piece in body.chunks(7) {
            c.body(piece);
        }
        c.verdict()
    }

    #[test]
    fn pattern_decides_when_recognised() {
        let obj = object(5000);
        assert_eq!(check(200, &[], &obj, false), Verdict::Ok);
        assert_eq!(check(200, &[], &[], false), Verdict::Ok);
        let mut bad = obj.clone();
        bad[2500] ^= 1;
        assert_eq!(check(200, &[], &bad, false), Verdict::Corrupt);
        // Corruption inside the recognising prefix: unknown without a checksum.
        let mut early = obj.clone();
        early[RECOGNISE_LEN as usize - 1] ^= 1;
        assert_eq!(check(200, &[], &early, false), Verdict::Unknown);
        assert_eq!(
            check(200, &[], b"not ringload's bytes", false),
            Verdict::Unknown
        );
        // Non-2xx answers are not checked here.
        assert_eq!(check(404, &[], b"<html>", false), Verdict::Ok);
    }

    #[test]
    fn every_ais_checksum_type_is_checked() {
        let foreign = b"bytes ringload did not write, checked by the server's checksum".to_vec();
        let obj = object(5000);
        for t in CksumType::ALL {
            let good = format!("{:?}", ringload_core::cksum::of_bytes(t, &foreign));
            let on_obj = format!("{:?}", ringload_core::cksum::of_bytes(t, &obj));
            let bad = format!("{:?}", ringload_core::cksum::of_bytes(t, b"other"));
            let ais = |v: &str, body: &[u8]| {
                check(
                    200,
                    &[("Ais-Checksum-Type", t.as_str()), ("Ais-Checksum-Value", v)],
                    body,
                    false,
                )
            };
            if t == CksumType::None {
                assert_eq!(ais("", &foreign), Verdict::Unknown);
                continue;
            }
            assert_eq!(ais(&good, &foreign), Verdict::Ok, "{t}");
            assert_eq!(ais(&good.to_uppercase(), &foreign), Verdict::Ok, "{t}");
            assert_eq!(ais(&bad, &foreign), Verdict::Corrupt, "{t}");
            assert_eq!(ais(&on_obj, &obj), Verdict::Ok, "{t}");
            assert_eq!(ais(&bad, &obj), Verdict::Corrupt, "{t}");
        }
    }

    #[test]
    fn checksums_decide_for_foreign_bytes_and_must_agree_with_the_pattern() {
        let foreign = b"hello, this object was not written by ringload at all".to_vec();
        let xx = format!("{:016x}", xxhash_rust::xxh64::xxh64(&foreign, 0));
        let ais = |v: &str| {
            check(
                200,
                &[("Ais-Checksum-Value", v), ("ais-checksum-type", "xxhash")],
                &foreign,
                false,
            )
        };
        assert_eq!(ais(&xx), Verdict::Ok);
        assert_eq!(ais("0123456789abcdef"), Verdict::Corrupt);
        let md5hex: String = md5::Md5::digest(&foreign)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let etag = format!("\"{md5hex}\"");
        assert_eq!(check(200, &[("ETag", &etag)], &foreign, true), Verdict::Ok);
        // An ETag that disagrees proves nothing (it may not be an MD5).
        let other = format!("\"{}\"", "0".repeat(32));
        assert_eq!(
            check(200, &[("ETag", &other)], &foreign, true),
            Verdict::Unknown
        );
        let obj = object(3000);
        assert_eq!(check(200, &[("ETag", &other)], &obj, true), Verdict::Ok);
        // Only S3's ETag is an MD5; multipart ETags are not.
        assert_eq!(
            check(200, &[("ETag", &etag)], &foreign, false),
            Verdict::Unknown
        );
        let multi = format!("\"{md5hex}-3\"");
        assert_eq!(
            check(200, &[("ETag", &multi)], &foreign, true),
            Verdict::Unknown
        );
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let crc = b64(&crc32fast::hash(&foreign).to_be_bytes());
        assert_eq!(
            check(200, &[("x-amz-checksum-crc32", &crc)], &foreign, true),
            Verdict::Ok
        );
        let crcc = b64(&crc32c::crc32c(&foreign).to_be_bytes());
        assert_eq!(
            check(200, &[("x-amz-checksum-crc32c", &crcc)], &foreign, true),
            Verdict::Ok
        );
        let sha = b64(&sha2::Sha256::digest(&foreign));
        assert_eq!(
            check(200, &[("x-amz-checksum-sha256", &sha)], &foreign, true),
            Verdict::Ok
        );
        let sha1 = b64(&sha1::Sha1::digest(&foreign));
        assert_eq!(
            check(200, &[("x-amz-checksum-sha1", &sha1)], &foreign, true),
            Verdict::Ok
        );
        assert_eq!(
            check(200, &[("x-amz-checksum-sha1", &sha)], &foreign, true),
            Verdict::Unknown
        );
        // A recognised object whose checksum disagrees is corrupt; a 206 ignores checksums.
        assert_eq!(
            check(200, &[("x-amz-checksum-crc32", &crc)], &obj, true),
            Verdict::Corrupt
        );
        assert_eq!(
            check(200, &[("x-amz-checksum-crc32", &crc)], &obj[..0], true),
            Verdict::Corrupt
        );
        assert_eq!(
            check(206, &[("x-amz-checksum-crc32", &crc)], &obj, true),
            Verdict::Ok
        );
    }

    #[test]
    fn ranged_answers_are_checked_from_the_range_start() {
        let obj = object(10_000);
        let mut c = BodyCheck::new(false);
        c.begin(content::object_start(NAME), 4000);
        c.head(206, &[]);
        c.body(&obj[4000..6000]);
        assert_eq!(c.verdict(), Verdict::Ok);
        // A server that ignores the range and answers 200 with the whole object.
        c.begin(content::object_start(NAME), 4000);
        c.head(200, &[]);
        c.body(&obj);
        assert_eq!(c.verdict(), Verdict::Ok);
    }
}
