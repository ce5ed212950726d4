//! Object checksums as AIS sends and checks them (`cmn/cos` in AIStore): the type
//! names of `Ais-Checksum-Type` and the lowercase hex of `Ais-Checksum-Value`.
//!
//! Owns [`parse`] (a [`CksumType`] name, refused with the supported ones; the type itself is
//! `ringload_core::kinds::CksumType`) and [`Hasher`], an
//! incremental XXH64 with seed 0. Invariants: feeding bytes in any split gives the same
//! digest as one call; [`Hasher::hex`] is always 16 lowercase hex digits of the u64 read
//! big-endian, i.e. `format!("{:016x}", h)`, which is what AIS's `xxhash` values look like.

use std::fmt;

use xxhash_rust::xxh64::Xxh64;

use super::AisError;

pub use ringload_core::kinds::CksumType;

/// The checksum type named `s`: `"none"` or `"xxhash"` (exact, lowercase, as AIS spells them).
/// AIS's other types (`crc32c`, `md5`, `sha256`, `sha512`, ...) are refused with an error
/// naming the supported ones.
pub fn parse(s: &str) -> Result<CksumType, AisError> {
    CksumType::parse(s).ok_or_else(|| AisError::Cksum {
        given: s.to_string(),
    })
}

/// Incremental XXH64 (seed 0) over the bytes fed in order.
#[derive(Clone)]
pub struct Hasher(Xxh64);

impl Hasher {
    /// A hasher over no bytes yet.
    pub fn new() -> Self {
        Hasher(Xxh64::new(0))
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, b: &[u8]) {
        self.0.update(b);
    }

    /// The digest so far.
    pub fn digest(&self) -> u64 {
        self.0.digest()
    }

    /// Writes the digest as 16 lowercase hex digits (big-endian), as AIS expects.
    pub fn hex(&self, out: &mut [u8; 16]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes = self.digest().to_be_bytes();
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({:016x})", self.digest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hasher) -> String {
        let mut out = [0u8; 16];
        h.hex(&mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn empty_input_matches_the_known_xxh64() {
        let h = Hasher::new();
        assert_eq!(h.digest(), 0xef46db3751d8e999);
        assert_eq!(hex(&h), "ef46db3751d8e999");
    }

    #[test]
    fn pieces_equal_one_shot_and_the_crate() {
        let one = xxhash_rust::xxh64::xxh64(b"abc", 0);
        let mut h = Hasher::new();
        for piece in [&b"a"[..], b"", b"bc"] {
            h.update(piece);
        }
        assert_eq!(h.digest(), one);
        assert_eq!(hex(&h), format!("{one:016x}"));
        // A longer input crossing the 32-byte stripe in uneven pieces.
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut h = Hasher::new();
        for chunk in data.chunks(33) {
            h.update(chunk);
        }
        assert_eq!(h.digest(), xxhash_rust::xxh64::xxh64(&data, 0));
    }

    #[test]
    fn hex_is_big_endian_lowercase_with_leading_zeros() {
        // Find an input whose digest has a zero top nibble so the padding is exercised.
        let (data, h) = (0u32..)
            .map(|i| {
                let mut h = Hasher::new();
                h.update(&i.to_le_bytes());
                (i, h)
            })
            .find(|(_, h)| h.digest() >> 60 == 0)
            .unwrap();
        let text = hex(&h);
        assert_eq!(text, format!("{:016x}", h.digest()), "input {data}");
        assert!(
            text.starts_with('0')
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn parses_supported_types_and_names_them_on_error() {
        assert_eq!(parse("none").unwrap(), CksumType::None);
        assert_eq!(parse("xxhash").unwrap(), CksumType::Xxhash);
        assert_eq!(CksumType::Xxhash.to_string(), "xxhash");
        for other in ["crc32c", "md5", "sha256", "sha512", "XXHASH", ""] {
            let err = parse(other).unwrap_err().to_string();
            assert!(
                err.contains("\"xxhash\"") && err.contains("\"none\""),
                "{err}"
            );
            assert!(err.contains(&format!("{other:?}")), "{err}");
        }
    }
}
