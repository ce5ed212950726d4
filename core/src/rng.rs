//! Cheap, deterministic randomness for the hot path.
//!
//! Owns two things:
//! - [`mix64`] / [`pct_fires`]: aisloader v2's stateless per-order decision hash, so that
//!   "is order T a PUT?" is the same function of T as in aisloader (and independent of the
//!   seed and of how many cores run).
//! - [`FastRng`]: a per-core xoshiro256++ generator (no locks, no allocation) plus
//!   [`hash2`], a stateless keyed hash used to derive values from `(seed, counter)`.
//!
//! Invariants: every function here is pure integer arithmetic with wrapping semantics, so
//! results are bit-identical on every platform and build profile. Nothing allocates.

/// splitmix64's increment (2^64 / golden ratio), added before each finalizer round.
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One full splitmix64 step on a state `x`: add the golden gamma, then the finalizer
/// (xor-shift-multiply by the two Stafford "mix13" constants, final xor-shift).
#[inline]
fn splitmix64_step(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// aisloader v2's order mixer.
///
/// Exact definition (the one that reproduces aisloader's published vector
/// `mix64(T) % 100 = 23 23 24 12 87 34 73 78 85 59` for T = 1..=10):
/// `z = splitmix64_step(splitmix64_step(x))`, where each step first adds
/// `0x9e3779b97f4a7c15` and then applies the splitmix64 finalizer; then
/// `rotl(z * 5, 7) * 9`, all wrapping mod 2^64 (the xoshiro `**` scrambler).
/// Variants without the golden-gamma addition do not match the vector.
#[inline]
pub fn mix64(x: u64) -> u64 {
    let z = splitmix64_step(splitmix64_step(x));
    z.wrapping_mul(5).rotate_left(7).wrapping_mul(9)
}

/// aisloader v2's "percent p fires for order t": `p >= 100` always, `p == 0` never,
/// otherwise `mix64(t) % 100 < p`.
#[inline]
pub fn pct_fires(pct: u32, t: u64) -> bool {
    if pct >= 100 {
        true
    } else if pct == 0 {
        false
    } else {
        mix64(t) % 100 < u64::from(pct)
    }
}

/// A seed derived from a string (XXH64, seed 0; never 0), for values every rank must derive
/// alike from a shared name such as the run id.
pub fn seed_from(s: &str) -> u64 {
    xxhash_rust::xxh64::xxh64(s.as_bytes(), 0) | 1
}

/// A stateless keyed hash of two words: `mix64(a ^ mix64(b))`.
///
/// Used to derive per-object values (name letters, sizes, permutation keys) from
/// `(seed, counter)` without shared state, so any core computes the same value.
#[inline]
pub fn hash2(a: u64, b: u64) -> u64 {
    mix64(a ^ mix64(b))
}

/// Maps a uniform 64-bit word onto `[0, n)` with one multiply (Lemire's multiply-shift,
/// without rejection). The bias is at most `n / 2^64`, negligible for load generation;
/// returns 0 when `n == 0`.
#[inline]
pub fn scale(word: u64, n: u64) -> u64 {
    ((u128::from(word) * u128::from(n)) >> 64) as u64
}

/// xoshiro256++ (Blackman & Vigna), seeded through splitmix64.
///
/// One per core; `Clone` so tests can replay a stream. Not cryptographic.
#[derive(Debug, Clone)]
pub struct FastRng {
    s: [u64; 4],
}

impl FastRng {
    /// Seeds the four state words from successive splitmix64 outputs of `seed` (the
    /// reference seeding procedure). Never yields the all-zero state, since splitmix64 is a
    /// bijection of successive distinct states and cannot emit four zeros in a row.
    pub fn new(seed: u64) -> FastRng {
        let mut x = seed;
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = splitmix64_step(x);
            x = x.wrapping_add(GOLDEN_GAMMA);
        }
        FastRng { s }
    }

    /// The next 64 uniformly distributed bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform value in `[0, n)` (Lemire's multiply-shift with rejection, unbiased).
    /// `n` must be > 0; `below(0)` returns 0 rather than panicking.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        let mut low = m as u64;
        if low < n {
            let threshold = n.wrapping_neg() % n;
            while low < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
                low = m as u64;
            }
        }
        (m >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix64_matches_aisloader_vector() {
        let got: Vec<u64> = (1..=10).map(|t| mix64(t) % 100).collect();
        assert_eq!(got, vec![23, 23, 24, 12, 87, 34, 73, 78, 85, 59]);
    }

    #[test]
    fn pct_fires_matches_aisloader_pctput_50_example() {
        // aisloader's own sequence: with pctput=50, orders 1-4 and 6 are PUTs.
        let puts: Vec<u64> = (1..=10).filter(|&t| pct_fires(50, t)).collect();
        assert_eq!(puts, vec![1, 2, 3, 4, 6]);
        assert!((1..1000).all(|t| pct_fires(100, t) && pct_fires(250, t)));
        assert!((1..1000).all(|t| !pct_fires(0, t)));
    }

    #[test]
    fn pct_fires_rate_is_close_to_pct() {
        let n = 100_000u64;
        let fired = (1..=n).filter(|&t| pct_fires(30, t)).count() as f64;
        let rate = fired / n as f64;
        assert!((rate - 0.30).abs() < 0.01, "rate {rate}");
    }

    #[test]
    fn xoshiro256pp_reference_output() {
        // Reference xoshiro256++ with state {1, 2, 3, 4}: first outputs from the C code.
        let mut r = FastRng { s: [1, 2, 3, 4] };
        assert_eq!(r.next_u64(), 41_943_041);
        assert_eq!(r.next_u64(), 58_720_359);
        assert_eq!(r.next_u64(), 3_588_806_011_781_223);
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a: Vec<u64> = {
            let mut r = FastRng::new(7);
            (0..16).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = FastRng::new(7);
            (0..16).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = FastRng::new(8);
            (0..16).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Seed 0 must not produce a stuck generator.
        let mut z = FastRng::new(0);
        assert_ne!(z.next_u64(), z.next_u64());
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = FastRng::new(1);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let v = r.below(7);
            assert!(v < 7);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
        assert_eq!(r.below(1), 0);
        assert_eq!(r.below(0), 0);
        let big = u64::MAX - 3;
        assert!((0..100).all(|_| r.below(big) < big));
    }

    #[test]
    fn scale_maps_into_range() {
        assert_eq!(scale(0, 10), 0);
        assert_eq!(scale(u64::MAX, 10), 9);
        assert_eq!(scale(u64::MAX, 0), 0);
        assert_eq!(scale(1 << 63, 10), 5);
    }

    #[test]
    fn hash2_depends_on_both_inputs() {
        assert_ne!(hash2(1, 2), hash2(2, 1));
        assert_ne!(hash2(1, 2), hash2(1, 3));
        assert_eq!(hash2(5, 6), hash2(5, 6));
    }
}
