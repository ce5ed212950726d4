//! Index arithmetic of ringload's latency histograms, without a `Histogram` in hand.
//!
//! Every ringload histogram has the same bounds (1 µs .. 1 h, 3 significant digits, see
//! [`crate::hist`]), so a recorded value maps to one of [`COUNTS_LEN`] counter indices, and an
//! index maps back to a value range. The binary interval carrier ([`crate::intervals`]) stores
//! histograms as `(index, count)` pairs, and the merge keeps many small histograms that way;
//! this module gives them the exact semantics of `hdrhistogram::Histogram<u64>` with those
//! bounds: the same index of a value (proved against the crate in the merge's tests).
//!
//! Invariant: indices are `< COUNTS_LEN` (< 2^15, so they fit the carrier's 15-bit field).

use crate::hist::{LATENCY_MIN_US, LATENCY_SIGFIG};

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
