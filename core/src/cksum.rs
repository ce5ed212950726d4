//! AIStore's object checksums ([`CksumType`]): one streaming [`Hasher`] per type and the hex
//! form AIS sends in `Ais-Checksum-Value`, used by the client (a PUT's declared checksum, over
//! the object's content window) and by the built-in target (checking a PUT, answering a GET).
//!
//! Each type is hashed exactly as AIStore's `cmn/cos` does: `xxhash` and `xxhash2` are both
//! XXH64 with seed 0 (AIStore takes them from two Go packages that compute the same value);
//! `md5`, `sha256` (plain SHA-256) and `sha512` are the standard digests; `crc32c` is CRC-32
//! with the Castagnoli polynomial. The value is the big-endian digest as lowercase hex, so its
//! length is fixed per type. Nothing here allocates.
//!
//! It is ringload's one checksum implementation: beyond AIS's types, [`Hasher::sha1`] and
//! [`Hasher::crc32`] (IEEE) hash what S3 announces in `x-amz-checksum-sha1`/`-crc32`, for
//! `--verifyhash`, which compares raw digests ([`Hasher::digest`]).

use md5::Digest as _;

use crate::content;
use crate::kinds::CksumType;

/// Longest hex value (SHA-512).
pub const MAX_HEX: usize = 128;

/// A hex checksum value in a fixed buffer (no allocation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hex {
    buf: [u8; MAX_HEX],
    len: u8,
}

impl Hex {
    /// The empty value (type `none`).
    pub const EMPTY: Hex = Hex {
        buf: [0; MAX_HEX],
        len: 0,
    };

    fn of_digest(d: &[u8]) -> Hex {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut h = Hex::EMPTY;
        for (i, b) in d.iter().enumerate() {
            h.buf[2 * i] = DIGITS[usize::from(b >> 4)];
            h.buf[2 * i + 1] = DIGITS[usize::from(b & 15)];
        }
        h.len = (2 * d.len()) as u8;
        h
    }

    /// A value as received (trimmed); `None` when longer than any checksum.
    pub fn from_bytes(v: &[u8]) -> Option<Hex> {
        let v = v.trim_ascii();
        if v.len() > MAX_HEX {
            return None;
        }
        let mut h = Hex::EMPTY;
        h.buf[..v.len()].copy_from_slice(v);
        h.len = v.len() as u8;
        Some(h)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// Whether `other` names the same digest (hex case ignored).
    pub fn same(&self, other: &[u8]) -> bool {
        self.as_bytes().eq_ignore_ascii_case(other.trim_ascii())
    }
}

impl std::fmt::Debug for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(self.as_bytes()).unwrap_or("?"))
    }
}

/// Longest raw digest (SHA-512).
pub const MAX_DIGEST: usize = 64;

/// A raw big-endian digest in a fixed buffer (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Digest {
    buf: [u8; MAX_DIGEST],
    len: u8,
}

impl Digest {
    /// A digest from its big-endian bytes (at most [`MAX_DIGEST`]; longer input is cut).
    pub fn new(d: &[u8]) -> Digest {
        let d = &d[..d.len().min(MAX_DIGEST)];
        let mut out = Digest {
            buf: [0; MAX_DIGEST],
            len: d.len() as u8,
        };
        out.buf[..d.len()].copy_from_slice(d);
        out
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The lowercase hex form AIS sends.
    pub fn hex(&self) -> Hex {
        Hex::of_digest(self.as_bytes())
    }
}

/// A streaming hash of one checksum type (AIS's, plus S3's SHA-1 and CRC-32).
#[derive(Clone)]
pub enum Hasher {
    Xxh64(xxhash_rust::xxh64::Xxh64),
    Md5(md5::Md5),
    Crc32c(u32),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Sha1(sha1::Sha1),
    Crc32(crc32fast::Hasher),
    None,
}

impl Hasher {
    pub fn new(t: CksumType) -> Hasher {
        match t {
            CksumType::Xxhash | CksumType::Xxhash2 => {
                Hasher::Xxh64(xxhash_rust::xxh64::Xxh64::new(0))
            }
            CksumType::Md5 => Hasher::Md5(md5::Md5::new()),
            CksumType::Crc32c => Hasher::Crc32c(0),
            CksumType::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            CksumType::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            CksumType::None => Hasher::None,
        }
    }

    /// SHA-1 (S3's `x-amz-checksum-sha1`; not an AIS type).
    pub fn sha1() -> Hasher {
        Hasher::Sha1(sha1::Sha1::new())
    }

    /// CRC-32, IEEE polynomial (S3's `x-amz-checksum-crc32`; not an AIS type).
    pub fn crc32() -> Hasher {
        Hasher::Crc32(crc32fast::Hasher::new())
    }

    pub fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Xxh64(h) => h.update(b),
            Hasher::Md5(h) => h.update(b),
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, b),
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
            Hasher::Sha1(h) => h.update(b),
            Hasher::Crc32(h) => h.update(b),
            Hasher::None => {}
        }
    }

    /// The big-endian digest (empty for `none`).
    pub fn digest(self) -> Digest {
        match self {
            Hasher::Xxh64(h) => Digest::new(&h.digest().to_be_bytes()),
            Hasher::Md5(h) => Digest::new(&h.finalize()),
            Hasher::Crc32c(c) => Digest::new(&c.to_be_bytes()),
            Hasher::Sha256(h) => Digest::new(&h.finalize()),
            Hasher::Sha512(h) => Digest::new(&h.finalize()),
            Hasher::Sha1(h) => Digest::new(&h.finalize()),
            Hasher::Crc32(h) => Digest::new(&h.finalize().to_be_bytes()),
            Hasher::None => Digest::new(&[]),
        }
    }

    /// The big-endian digest as lowercase hex.
    pub fn finish(self) -> Hex {
        self.digest().hex()
    }
}

/// The checksum of `data`.
pub fn of_bytes(t: CksumType, data: &[u8]) -> Hex {
    let mut h = Hasher::new(t);
    h.update(data);
    h.finish()
}

/// The checksum of the `size` content bytes starting at `start` in the pattern (an object
/// ringload wrote: [`content::object_start`] of its name).
pub fn of_content(t: CksumType, start: u64, size: u64) -> Hex {
    content_digest(t, start, size).hex()
}

/// [`of_content`] as raw digest bytes (what the built-in target keeps per object).
pub fn content_digest(t: CksumType, start: u64, size: u64) -> Digest {
    if t == CksumType::None {
        return Digest::new(&[]);
    }
    let p = content::pattern();
    let mut h = Hasher::new(t);
    let mut pos = 0u64;
    while pos < size {
        let c = p.chunk(start, pos, (size - pos).min(1 << 20) as usize);
        h.update(c);
        pos += c.len() as u64;
    }
    h.digest()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(t: CksumType, data: &[u8]) -> String {
        format!("{:?}", of_bytes(t, data))
    }

    #[test]
    fn known_vectors() {
        // "abc" under each algorithm (RFC 1321, RFC 6234, the CRC-32C check value's input
        // family, xxHash's reference implementation).
        let abc = b"abc";
        assert_eq!(hex(CksumType::Xxhash, abc), "44bc2cf5ad770999");
        assert_eq!(hex(CksumType::Xxhash2, abc), "44bc2cf5ad770999");
        assert_eq!(hex(CksumType::Xxhash, b""), "ef46db3751d8e999");
        assert_eq!(hex(CksumType::Md5, abc), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex(CksumType::Crc32c, b"123456789"), "e3069283");
        assert_eq!(
            hex(CksumType::Sha256, abc),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(CksumType::Sha512, abc),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(hex(CksumType::None, abc), "");
        for t in CksumType::ALL {
            assert_eq!(of_bytes(t, abc).as_bytes().len(), 2 * t.digest_len(), "{t}");
        }
    }

    #[test]
    fn s3_only_digests_match_their_vectors() {
        let raw = |mut h: Hasher, data: &[u8]| {
            h.update(data);
            h.digest()
        };
        // FIPS 180 SHA-1 of "abc"; the CRC-32 (IEEE) check value.
        assert_eq!(
            Hex::of_digest(raw(Hasher::sha1(), b"abc").as_bytes()).as_bytes(),
            b"a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            raw(Hasher::crc32(), b"123456789").as_bytes(),
            0xcbf4_3926u32.to_be_bytes()
        );
        assert_eq!(
            raw(Hasher::new(CksumType::Crc32c), b"123456789").as_bytes(),
            0xe306_9283u32.to_be_bytes()
        );
    }

    #[test]
    fn content_windows_hash_like_their_bytes() {
        let p = content::pattern();
        let start = content::object_start(b"b/obj");
        let size = 3 * (1 << 20) + 17;
        let mut bytes = Vec::new();
        let mut pos = 0;
        while pos < size {
            let c = p.chunk(start, pos, (size - pos) as usize);
            bytes.extend_from_slice(c);
            pos += c.len() as u64;
        }
        for t in CksumType::ALL {
            assert_eq!(of_content(t, start, size), of_bytes(t, &bytes), "{t}");
        }
        assert_eq!(
            u64::from_str_radix(
                &format!("{:?}", of_content(CksumType::Xxhash, start, size)),
                16
            )
            .unwrap(),
            p.xxh64(start, size)
        );
    }

    #[test]
    fn hex_values_compare_ignoring_case_and_refuse_overlong_input() {
        let h = of_bytes(CksumType::Md5, b"abc");
        assert!(h.same(b" 900150983CD24FB0D6963F7D28E17F72 "));
        assert!(!h.same(b"900150983cd24fb0d6963f7d28e17f73"));
        assert_eq!(Hex::from_bytes(&[b'a'; 129]), None);
        assert_eq!(Hex::from_bytes(b" ab ").unwrap().as_bytes(), b"ab");
    }
}
