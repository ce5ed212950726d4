//! Deterministic object content: what every ringload PUT sends, what the built-in server
//! serves, and what `--verifyhash` checks.
//!
//! Owns [`Pattern`], one process-wide buffer of [`PATTERN_LEN`] bytes generated once from
//! [`PATTERN_SEED`] (xoshiro256+ via `rand_xoshiro`). Object `name` of any length has bytes
//! `pattern[(object_start(name) + i) % PATTERN_LEN]`, with `object_start(name) =
//! XXH64(name, 0) % PATTERN_LEN`. Writer, server and reader derive the same bytes from the
//! name alone, so no content is stored, a PUT body is sent as slices of the one shared buffer
//! (zero-copy, memory flat in object size), and any GET (whole or ranged) of an object any
//! ringload run wrote can be checked. The price: content repeats with the 1 MiB period, so
//! a deduplicating or compressing target sees at most 1 MiB of distinct data.
//!
//! Invariants: the pattern depends only on [`PATTERN_SEED`] (stable across runs, builds and
//! platforms; changing it changes every object's content); [`Pattern::chunk`] and
//! [`Pattern::verify`] never allocate and never return or compare a wrapped slice.

use std::sync::OnceLock;

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;

/// Bytes in the content pattern: 1 MiB, so that objects of typical sizes starting at
/// different offsets differ, while the table stays one cache-friendly allocation per process.
pub const PATTERN_LEN: usize = 1 << 20;

/// Fixed seed of the content pattern ("ringload" in ASCII). Part of the server/client
/// contract: both sides must agree on it.
pub const PATTERN_SEED: u64 = 0x7269_6e67_6c6f_6164;

/// The content pattern; get the shared instance with [`pattern`].
pub struct Pattern {
    buf: Box<[u8]>,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pattern")
            .field("len", &self.buf.len())
            .finish()
    }
}

/// The process-wide pattern, generated on first use.
pub fn pattern() -> &'static Pattern {
    static PATTERN: OnceLock<Pattern> = OnceLock::new();
    PATTERN.get_or_init(|| Pattern::with_seed(PATTERN_SEED))
}

/// Where object `name`'s bytes start in the pattern: `XXH64(name, 0) % PATTERN_LEN`.
#[inline]
pub fn object_start(name: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(name, 0) % PATTERN_LEN as u64
}

impl Pattern {
    fn with_seed(seed: u64) -> Pattern {
        let mut buf = vec![0u8; PATTERN_LEN].into_boxed_slice();
        Xoshiro256Plus::seed_from_u64(seed).fill_bytes(&mut buf);
        Pattern { buf }
    }

    /// Up to `max` contiguous bytes of the object whose start is `start`, from object
    /// position `pos`. Shorter than `max` at the pattern's end (continue at
    /// `pos + returned.len()`); empty only when `max == 0`.
    #[inline]
    pub fn chunk(&self, start: u64, pos: u64, max: usize) -> &[u8] {
        let len = PATTERN_LEN as u64;
        let off = ((start % len + pos % len) % len) as usize;
        let end = off + max.min(PATTERN_LEN - off);
        &self.buf[off..end]
    }

    /// True when `data` equals the object's bytes at positions `pos..pos + data.len()`.
    #[inline]
    pub fn verify(&self, start: u64, pos: u64, data: &[u8]) -> bool {
        let mut rest = data;
        let mut at = pos;
        while !rest.is_empty() {
            let want = self.chunk(start, at, rest.len());
            let (head, tail) = rest.split_at(want.len());
            if head != want {
                return false;
            }
            rest = tail;
            at = at.wrapping_add(want.len() as u64);
        }
        true
    }

    /// XXH64 (seed 0) of the `size` bytes of the object whose start is `start`, streamed
    /// from the pattern (no allocation; measured at about 0.15 CPU-s per GiB, benches/RESULTS.md,
    /// "PUT bodies from the shared content pattern").
    pub fn xxh64(&self, start: u64, size: u64) -> u64 {
        let mut h = xxhash_rust::xxh64::Xxh64::new(0);
        let mut pos = 0u64;
        while pos < size {
            let c = self.chunk(start, pos, (size - pos).min(PATTERN_LEN as u64) as usize);
            h.update(c);
            pos += c.len() as u64;
        }
        h.digest()
    }

    /// The whole pattern.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte(start: u64, i: u64) -> u8 {
        pattern().as_bytes()[((start + i) % PATTERN_LEN as u64) as usize]
    }

    #[test]
    fn pattern_is_shared_and_fixed() {
        assert!(std::ptr::eq(pattern(), pattern()));
        assert_eq!(
            pattern().as_bytes(),
            Pattern::with_seed(PATTERN_SEED).as_bytes()
        );
        assert_ne!(pattern().as_bytes(), Pattern::with_seed(1).as_bytes());
    }

    #[test]
    fn object_start_is_xxh64_mod_len() {
        // XXH64("", 0) = 0xef46db3751d8e999 (the xxHash reference test vector).
        assert_eq!(
            object_start(b""),
            0xef46_db37_51d8_e999 % PATTERN_LEN as u64
        );
        assert!(object_start(b"a/b/c") < PATTERN_LEN as u64);
        assert_ne!(object_start(b"x"), object_start(b"y"));
    }

    #[test]
    fn chunk_follows_the_definition_across_the_wrap() {
        let p = pattern();
        let start = PATTERN_LEN as u64 - 5;
        let c = p.chunk(start, 0, 100);
        assert_eq!(c.len(), 5);
        assert!(c
            .iter()
            .enumerate()
            .all(|(i, &b)| b == byte(start, i as u64)));
        let c = p.chunk(start, 5, 10);
        assert_eq!(c.len(), 10);
        assert_eq!(c, &p.as_bytes()[..10]);
        assert_eq!(p.chunk(start, 3, 0).len(), 0);
        assert_eq!(
            p.chunk(start, u64::MAX, 1)[0],
            byte(start % PATTERN_LEN as u64, u64::MAX % PATTERN_LEN as u64)
        );
    }

    #[test]
    fn verify_accepts_the_object_and_rejects_changes() {
        let p = pattern();
        let start = object_start(b"bucket/obj");
        let len = 3 * PATTERN_LEN as u64;
        let obj: Vec<u8> = (0..len).map(|i| byte(start, i)).collect();
        assert!(p.verify(start, 0, &obj));
        // Ranged reads anywhere, including across the pattern's end.
        // Object position whose pattern offset is PATTERN_LEN - 3, for any start.
        let wrap = 2 * PATTERN_LEN as u64 - start - 3;
        assert!(p.verify(start, wrap, &obj[wrap as usize..wrap as usize + 10]));
        assert!(p.verify(start, 17, &obj[17..4000]));
        assert!(p.verify(start, 0, &[]));
        let mut bad = obj[wrap as usize..wrap as usize + 10].to_vec();
        bad[6] ^= 1;
        assert!(!p.verify(start, wrap, &bad));
        assert!(
            !p.verify(start, 1, &obj[..100]),
            "shifted bytes must not verify"
        );
        assert!(!p.verify(object_start(b"other"), 0, &obj[..100]));
    }
}
