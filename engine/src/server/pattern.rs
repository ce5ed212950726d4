//! Private copy of the object-content contract (to be replaced by `crate::content`).
//!
//! Owns: the bytes of every object the built-in target serves. An object's bytes are never
//! stored; byte `i` of object `name` is `pattern()[(object_start(name) + i) % PATTERN_LEN]`,
//! so any client can verify what it reads from the name alone.
//!
//! Invariants (the contract, shared with the client's `--verifyhash` path; must not change):
//! - `PATTERN_LEN = 1 << 20` bytes.
//! - The pattern is the little-endian bytes of consecutive splitmix64 outputs from
//!   `PATTERN_SEED` (`0x5249_4e47_4c4f_4144`, "RINGLOAD" in ASCII), generated once.
//! - `object_start(name) = xxh64(name, 0) % PATTERN_LEN`, `name` being the percent-decoded
//!   URL path without its leading `/` (for example `bucket/obj`).

use std::sync::OnceLock;

/// Length of the shared content pattern in bytes (1 MiB: large enough that objects do not
/// repeat within typical sizes, small enough to stay cache- and memory-cheap).
pub const PATTERN_LEN: usize = 1 << 20;

/// Seed of the splitmix64 generator that fills the pattern ("RINGLOAD" in ASCII).
pub const PATTERN_SEED: u64 = 0x5249_4e47_4c4f_4144;

/// One step of splitmix64 (Steele, Lea, Flood 2014): advances `state` and returns the output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 1 MiB pattern, generated on first use and shared by every thread.
pub fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Box<[u8]>> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut state = PATTERN_SEED;
        let mut bytes = vec![0u8; PATTERN_LEN];
        for chunk in bytes.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        bytes.into_boxed_slice()
    })
}

/// Where in the pattern object `name` (decoded path, no leading `/`) starts.
pub fn object_start(name: &[u8]) -> usize {
    // The modulus is a power of two below 2^64, so the result fits usize on every target.
    (xxhash_rust::xxh64::xxh64(name, 0) % PATTERN_LEN as u64) as usize
}

/// Fills `out` with the object's bytes starting at byte `offset` of the object.
#[cfg(test)]
pub fn fill(name: &[u8], offset: u64, out: &mut [u8]) {
    let pat = pattern();
    let mut pos =
        ((object_start(name) as u64 + offset % PATTERN_LEN as u64) % PATTERN_LEN as u64) as usize;
    let mut done = 0;
    while done < out.len() {
        let n = (out.len() - done).min(PATTERN_LEN - pos);
        out[done..done + n].copy_from_slice(&pat[pos..pos + n]);
        done += n;
        pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_splitmix64_from_the_seed() {
        let p = pattern();
        assert_eq!(p.len(), PATTERN_LEN);
        let mut s = PATTERN_SEED;
        let first = splitmix64(&mut s);
        let second = splitmix64(&mut s);
        assert_eq!(p[..8], first.to_le_bytes());
        assert_eq!(p[8..16], second.to_le_bytes());
        // Reference value of splitmix64 for state 0 -> first output (well-known constant).
        let mut zero = 0u64;
        assert_eq!(splitmix64(&mut zero), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn object_bytes_follow_the_contract_across_the_wrap() {
        let name = b"bucket/obj";
        let start = object_start(name);
        assert_eq!(
            start as u64,
            xxhash_rust::xxh64::xxh64(name, 0) % PATTERN_LEN as u64
        );
        let offset = (PATTERN_LEN - start) as u64 - 3; // straddles the end of the pattern
        let mut out = [0u8; 8];
        fill(name, offset, &mut out);
        for (i, b) in out.iter().enumerate() {
            let idx = (start + offset as usize + i) % PATTERN_LEN;
            assert_eq!(*b, pattern()[idx], "byte {i}");
        }
    }
}
