//! Index arithmetic of ringload's latency histograms, without a `Histogram` in hand.
//!
//! Every ringload histogram has the same bounds (1 µs .. 1 h, 3 significant digits, see
//! `ringload_core::hist`), so a recorded value maps to one of [`COUNTS_LEN`] counter
//! indices, and an index maps back to a value range. The merge keeps many small histograms
//! as sparse `(index, count)` lists; this module gives them the exact semantics of
//! `hdrhistogram::Histogram<u64>` with those bounds: the same index of a value, and the same
//! `value_at_quantile` (proved against the crate in the tests).
//!
//! Invariants: indices are `< COUNTS_LEN` (so they fit a `u16`); quantile answers equal
//! `Histogram::value_at_quantile` on a histogram holding the same counts.

use ringload_core::hist::{LATENCY_MIN_US, LATENCY_SIGFIG};

/// log2 of half the sub-bucket count for 3 significant digits (2 × 10³ → 2048 sub-buckets).
const HALF_MAG: u32 = 10;
const HALF: usize = 1 << HALF_MAG;
/// `64 − unit_magnitude(0) − sub_bucket_count_magnitude(11)`.
const LZC_BASE: u32 = 53;
const SUB_BUCKET_MASK: u64 = (2 * HALF as u64) - 1;
/// Buckets needed to reach `LATENCY_MAX_US` (3.6e9 < 2^32 = 2048 · 2^21 → 22 buckets).
const BUCKETS: usize = 22;
/// Length of the counts array of a ringload histogram.
pub const COUNTS_LEN: usize = (BUCKETS + 1) * HALF;

/// The low bound and precision this arithmetic is valid for (checked against each decoded
/// header; the high bound only changes the array length, so it is not checked).
pub const LOW: u64 = LATENCY_MIN_US;
pub const SIGFIG: u8 = LATENCY_SIGFIG;

#[inline]
fn bucket_of(value: u64) -> u32 {
    LZC_BASE - (value | SUB_BUCKET_MASK).leading_zeros()
}

/// The counter index of `value` (values above the range land in the last index).
#[inline]
pub fn index_for(value: u64) -> usize {
    let b = bucket_of(value);
    let sub = (value >> b) as usize;
    let idx = ((b as usize + 1) << HALF_MAG) + sub - HALF;
    idx.min(COUNTS_LEN - 1)
}

/// The lowest value counted at `index`.
#[inline]
pub fn value_for(index: usize) -> u64 {
    let mut b = (index >> HALF_MAG) as i64 - 1;
    let mut sub = ((index & (HALF - 1)) + HALF) as u64;
    if b < 0 {
        sub -= HALF as u64;
        b = 0;
    }
    sub << b
}

/// The highest value counted at `index` (what percentiles report, like HdrHistogram).
#[inline]
pub fn highest_for(index: usize) -> u64 {
    let v = value_for(index);
    v + (1u64 << bucket_of(v)) - 1
}

/// `Histogram::value_at_quantile` for counts given as `(index, count)` in ascending index
/// order, with `total` their sum. Answers several ascending quantiles in one pass.
pub fn quantiles<I, const N: usize>(sorted: I, total: u64, qs: [f64; N]) -> [u64; N]
where
    I: IntoIterator<Item = (usize, u64)>,
{
    let mut out = [0u64; N];
    if total == 0 {
        return out;
    }
    let mut it = sorted.into_iter();
    let mut seen = 0u64;
    let mut at = 0usize;
    for (k, &q) in qs.iter().enumerate() {
        let target = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        while seen < target {
            match it.next() {
                Some((i, c)) => {
                    seen += c;
                    at = i;
                }
                None => break,
            }
        }
        out[k] = if q == 0.0 {
            value_for(at)
        } else {
            highest_for(at)
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringload_core::hist::{new_histogram, LATENCY_MAX_US};

    #[test]
    fn counts_len_matches_the_crate() {
        let mut h = new_histogram();
        h.record(LATENCY_MAX_US).unwrap();
        // The highest value fits; anything larger is clamped to the last counter.
        assert!(index_for(LATENCY_MAX_US) < COUNTS_LEN);
        assert_eq!(index_for(u64::MAX), COUNTS_LEN - 1);
        assert_eq!(h.distinct_values(), COUNTS_LEN);
    }

    #[test]
    fn index_and_value_agree_with_the_crate() {
        let h = new_histogram();
        let mut v = 0u64;
        while v <= LATENCY_MAX_US {
            let i = index_for(v);
            assert_eq!(value_for(i), h.lowest_equivalent(v), "value {v}");
            assert_eq!(highest_for(i), h.highest_equivalent(v), "value {v}");
            v = v * 21 / 20 + 1;
        }
    }

    #[test]
    fn quantiles_agree_with_the_crate() {
        let mut h = new_histogram();
        let mut seed = 7u64;
        for _ in 0..5000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = 1 + (seed >> 40) % 2_000_000;
            h.record_n(v, 1 + (seed >> 20) % 5).unwrap();
        }
        let sparse: Vec<(usize, u64)> = h
            .iter_recorded()
            .map(|r| (index_for(r.value_iterated_to()), r.count_at_value()))
            .collect();
        let qs = [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0];
        let got = quantiles(sparse.iter().copied(), h.len(), qs);
        for (k, q) in qs.iter().enumerate() {
            assert_eq!(got[k], h.value_at_quantile(*q), "q {q}");
        }
    }
}
