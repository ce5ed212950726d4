//! The server's view of object content: a thin adapter over [`ringload_core::content`], the contract
//! shared with the client's `--verifyhash` path. Byte `i` of object `name` (the percent-decoded
//! URL path without its leading `/`, e.g. `bucket/obj`) is
//! `pattern()[(object_start(name) + i) % PATTERN_LEN]`; nothing is stored.
//!
//! Also owns the doubled pattern that GET bodies are sent from, and [`object_xxh64`], the
//! checksum of an object's bytes computed from it.

use std::sync::OnceLock;

pub use ringload_core::content::PATTERN_LEN;

/// The pattern twice in a row: `[pos, pos + n)` is contiguous for `pos, n <= PATTERN_LEN`.
pub(crate) fn doubled_pattern() -> &'static [u8] {
    static DOUBLED: OnceLock<Box<[u8]>> = OnceLock::new();
    DOUBLED.get_or_init(|| [pattern(), pattern()].concat().into_boxed_slice())
}

/// XXH64 (seed 0) of the `size` bytes of object `name` (see [`ringload_core::content::Pattern::xxh64`]).
pub(crate) fn object_xxh64(name: &[u8], size: u64) -> u64 {
    ringload_core::content::pattern().xxh64(ringload_core::content::object_start(name), size)
}

/// The shared pattern bytes.
pub fn pattern() -> &'static [u8] {
    ringload_core::content::pattern().as_bytes()
}

/// Where in the pattern object `name` starts.
pub fn object_start(name: &[u8]) -> usize {
    // The modulus is a power of two below 2^32, so the value fits usize on every target.
    ringload_core::content::object_start(name) as usize
}

/// Fills `out` with the object's bytes starting at byte `offset` of the object.
#[cfg(test)]
pub fn fill(name: &[u8], offset: u64, out: &mut [u8]) {
    let pat = pattern();
    let mut pos = ((object_start(name) as u64 + offset) % PATTERN_LEN as u64) as usize;
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
    fn server_bytes_verify_with_the_client_contract() {
        let mut buf = vec![0u8; 3 * PATTERN_LEN / 2];
        fill(b"bucket/obj", 12345, &mut buf);
        let start = ringload_core::content::object_start(b"bucket/obj");
        assert!(ringload_core::content::pattern().verify(start, 12345, &buf));
    }

    #[test]
    fn object_checksum_is_xxh64_of_the_bytes() {
        for size in [0usize, 1, 1000, PATTERN_LEN + 17] {
            let mut buf = vec![0u8; size];
            fill(b"b/o", 0, &mut buf);
            assert_eq!(
                object_xxh64(b"b/o", size as u64),
                xxhash_rust::xxh64::xxh64(&buf, 0)
            );
        }
    }
}
