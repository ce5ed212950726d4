//! The bytes a PUT sends.
//!
//! Owns [`Payload`]: one buffer of [`PAYLOAD_LEN`] seeded random bytes, filled once when a
//! core starts, and read as an endless stream (byte `i` is `buf[i % PAYLOAD_LEN]`). A PUT body
//! of any length is sent as consecutive slices of that one buffer, so no bytes are generated
//! per request and memory does not grow with object size (a 1 GiB PUT needs no 1 GiB buffer).
//!
//! Invariants: the buffer is immutable after [`Payload::new`]; the same seed gives the same
//! bytes on every platform (xoshiro256+ from `rand_xoshiro`, seeded by splitmix64);
//! [`Payload::chunk`] never allocates and never returns a slice that wraps the buffer's end.

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;

/// Bytes in the payload buffer: 1 MiB. Large enough that one slice fills a socket send
/// buffer (Linux's default maximum is 4 MiB, but a single send rarely takes more than
/// ~1 MiB) and that consecutive objects do not repeat within typical small sizes, so
/// deduplicating or compressing targets see realistic data; small enough to stay cache- and
/// memory-cheap per core.
pub const PAYLOAD_LEN: usize = 1 << 20;

/// A per-core, read-only buffer of seeded random bytes; see the module docs.
pub struct Payload {
    buf: Box<[u8]>,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("len", &self.buf.len())
            .finish()
    }
}

impl Payload {
    /// Fills [`PAYLOAD_LEN`] bytes from `Xoshiro256Plus::seed_from_u64(seed)`.
    pub fn new(seed: u64) -> Payload {
        let mut buf = vec![0u8; PAYLOAD_LEN].into_boxed_slice();
        Xoshiro256Plus::seed_from_u64(seed).fill_bytes(&mut buf);
        Payload { buf }
    }

    /// Up to `max` contiguous bytes of the endless stream starting at `object_off`. The slice
    /// is shorter than `max` when it reaches the end of the buffer; the caller continues at
    /// `object_off + returned.len()`. Empty only when `max == 0`.
    #[inline]
    pub fn chunk(&self, object_off: u64, max: usize) -> &[u8] {
        let start = (object_off % PAYLOAD_LEN as u64) as usize;
        let end = start + max.min(PAYLOAD_LEN - start);
        &self.buf[start..end]
    }

    /// The whole buffer (one period of the stream).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reassembles `len` stream bytes from `off` through `chunk`, as a PUT would send them.
    fn stream(p: &Payload, off: u64, len: u64, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut pos = off;
        while pos < off + len {
            let want = ((off + len - pos) as usize).min(max);
            let c = p.chunk(pos, want);
            assert!(!c.is_empty());
            out.extend_from_slice(c);
            pos += c.len() as u64;
        }
        out
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = Payload::new(1);
        assert_eq!(a.as_bytes(), Payload::new(1).as_bytes());
        assert_ne!(a.as_bytes(), Payload::new(2).as_bytes());
        assert_eq!(a.as_bytes().len(), PAYLOAD_LEN);
        // Random-looking: every byte value occurs in 1 MiB.
        let mut seen = [false; 256];
        a.as_bytes().iter().for_each(|&b| seen[b as usize] = true);
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn chunks_never_wrap_and_follow_the_stream() {
        let p = Payload::new(7);
        let n = PAYLOAD_LEN as u64;
        assert_eq!(p.chunk(n - 10, 100).len(), 10);
        assert_eq!(p.chunk(n, 5), &p.as_bytes()[..5]);
        assert_eq!(p.chunk(3 * n + 2, 0), &[] as &[u8]);
        assert_eq!(p.chunk(u64::MAX, 1).len(), 1);
        let s = stream(&p, n - 100, 300, 64);
        for (i, &b) in s.iter().enumerate() {
            assert_eq!(b, p.as_bytes()[((n - 100 + i as u64) % n) as usize]);
        }
    }

    #[test]
    fn large_object_is_sent_from_one_buffer() {
        let p = Payload::new(3);
        let len = 3 * PAYLOAD_LEN as u64 + 12345;
        let mut pos = 0;
        let mut slices = 0;
        while pos < len {
            let c = p.chunk(pos, usize::MAX);
            assert!(std::ptr::eq(
                c.as_ptr(),
                p.as_bytes()[(pos % PAYLOAD_LEN as u64) as usize..].as_ptr()
            ));
            pos += c.len() as u64;
            slices += 1;
        }
        assert_eq!(slices, 4);
    }
}
