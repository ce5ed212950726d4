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

    /// The figures of `count` latencies whose sum, min and max were kept exactly: those three
    /// exact (as aisloader's), the percentiles from `hist` (within 0.1%) kept within
    /// `[min, max]`; zeros when `count` is 0.
    pub fn exact(hist: &Histogram<u64>, count: u64, sum: u64, min: u64, max: u64) -> Self {
        if count == 0 {
            return LatencySummary::default();
        }
        let h = LatencySummary::of(hist);
        let (lo, hi) = (min, max.max(min));
        LatencySummary {
            min: lo,
            mean: sum as f64 / count as f64,
            p50: h.p50.clamp(lo, hi),
            p90: h.p90.clamp(lo, hi),
            p99: h.p99.clamp(lo, hi),
            p999: h.p999.clamp(lo, hi),
            max: hi,
        }
    }
}

/// The phases of one traced operation (`--trace-http`), in the order they happen: `connect`
/// (opening the connections the operation needed, TLS handshakes included), `redirect` (the
/// AIS proxy hop: the request to the proxy until its redirect answer), `first_byte` (the
/// request's send on the final host until the first response byte) and `body` (the first
/// response byte until the last). The keys of `ops.<op>.phases` in the result file.
pub const PHASE_NAMES: [&str; 4] = ["connect", "redirect", "first_byte", "body"];

/// The phases' names in human text (the summary's `phases` line), in [`PHASE_NAMES`] order.
pub const PHASE_LABELS: [&str; 4] = ["connect", "redirect", "first byte", "body"];

/// The summary's `phases` line of one operation class (the run's summary and `merge`'s
/// `summary.txt` print the same line): for each phase in [`PHASE_NAMES`] order its count, and
/// its p50 and p99 when it has any, `latency` formatting the microseconds:
/// `     phases  connect 4 p50 120µs p99 310µs  redirect 0  first byte 980 p50 ...`.
/// `phases[k]` is `(count, p50, p99)` of phase `k`.
pub fn phases_line(phases: &[(u64, u64, u64); 4], latency: impl Fn(u64) -> String) -> String {
    let mut line = String::from("     phases");
    for (label, &(count, p50, p99)) in PHASE_LABELS.iter().zip(phases) {
        line.push_str(&format!("  {label} {count}"));
        if count > 0 {
            line.push_str(&format!(" p50 {} p99 {}", latency(p50), latency(p99)));
        }
    }
    line.push('\n');
    line
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

    #[test]
    fn phases_line_shows_counts_and_percentiles_of_phases_that_happened() {
        let line = phases_line(
            &[(4, 120, 310), (0, 0, 0), (980, 1500, 2000), (980, 7, 40)],
            |us| format!("{us}us"),
        );
        assert_eq!(
            line,
            "     phases  connect 4 p50 120us p99 310us  redirect 0  \
             first byte 980 p50 1500us p99 2000us  body 980 p50 7us p99 40us\n"
        );
    }
}
