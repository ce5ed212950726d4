//! Latency histograms and their summaries: the one histogram shape every part of ringload
//! uses (the engine's per-core statistics, the result file, `merge`).
//!
//! Invariants: every histogram has the same bounds ([`LATENCY_MIN_US`]..=[`LATENCY_MAX_US`],
//! [`LATENCY_SIGFIG`] significant digits, µs), so adding two is exact; percentiles are read
//! from a histogram, never averaged.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Lowest distinguishable latency, µs.
pub const LATENCY_MIN_US: u64 = 1;
/// Highest trackable latency, µs (one hour); larger values are clamped to it.
pub const LATENCY_MAX_US: u64 = 3_600_000_000;
/// Significant decimal digits kept by every latency histogram (≤ 0.1% value error).
pub const LATENCY_SIGFIG: u8 = 3;

/// Latency figures of one histogram, µs. All zeros when nothing succeeded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl LatencySummary {
    /// Summarizes a histogram (mean from the histogram's bucket midpoints).
    pub fn of(hist: &Histogram<u64>) -> LatencySummary {
        if hist.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            min: hist.min(),
            mean: hist.mean(),
            p50: hist.value_at_quantile(0.50),
            p90: hist.value_at_quantile(0.90),
            p99: hist.value_at_quantile(0.99),
            p999: hist.value_at_quantile(0.999),
            max: hist.max(),
        }
    }
}

/// A new, empty latency histogram with the engine-wide bounds.
pub fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(LATENCY_MIN_US, LATENCY_MAX_US, LATENCY_SIGFIG) {
        Ok(h) => h,
        // The bounds are constants that hdrhistogram accepts (low >= 1, high >= 2·low,
        // sigfig <= 5); the unit test `histogram_bounds_are_valid` proves it.
        Err(e) => unreachable!("constant histogram bounds rejected: {e:?}"),
    }
}

/// Adds `src` into `dst` exactly. Histograms with other bounds (e.g. decoded from a file
/// written by another version) are folded value by value, clamping to `dst`'s range.
pub fn add_histogram(dst: &mut Histogram<u64>, src: &Histogram<u64>) {
    if dst.add(src).is_err() {
        for v in src.iter_recorded() {
            dst.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bounds_are_valid() {
        let h = new_histogram();
        assert_eq!(h.low(), LATENCY_MIN_US);
        assert!(h.high() >= LATENCY_MAX_US);
        assert_eq!(h.sigfig(), LATENCY_SIGFIG);
    }
}
