//! One latency-like span's exact figures and histogram ([`SpanHist`]): what a phase, a
//! rate-limited run's service latency and its schedule lag each keep. Recording never
//! allocates; adding is exact (the histograms share one shape, `ringload_core::hist`).

use hdrhistogram::Histogram;
use ringload_core::hist::{add_histogram, new_histogram, LatencySummary};
use ringload_core::result::encode_histogram;

use super::PhaseFigures;

/// One latency-like span's histogram with its exact count, sum, min and max (µs): a phase,
/// a rate-limited run's service latency, its schedule lag.
#[derive(Clone, Debug)]
pub struct SpanHist {
    count: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
    hist: Histogram<u64>,
}

impl SpanHist {
    pub fn new() -> SpanHist {
        SpanHist {
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            hist: new_histogram(),
        }
    }

    #[inline]
    pub fn record(&mut self, us: u64) {
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        self.hist.saturating_record(us);
    }

    pub fn add(&mut self, o: &SpanHist) {
        self.count += o.count;
        self.sum_us = self.sum_us.saturating_add(o.sum_us);
        self.min_us = self.min_us.min(o.min_us);
        self.max_us = self.max_us.max(o.max_us);
        add_histogram(&mut self.hist, &o.hist);
    }

    pub fn reset(&mut self) {
        (self.count, self.sum_us, self.min_us, self.max_us) = (0, 0, u64::MAX, 0);
        self.hist.reset();
    }

    /// Spans recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact sum of the spans recorded, µs.
    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }

    /// The phase's histogram, µs.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Count, exact min, mean and max.
    pub fn figures(&self) -> PhaseFigures {
        if self.count == 0 {
            return PhaseFigures::default();
        }
        PhaseFigures {
            count: self.count,
            min_us: self.min_us,
            mean_us: self.sum_us as f64 / self.count as f64,
            max_us: self.max_us,
        }
    }

    /// The same figures as an operation's latency ([`OpStats::latency`]): exact min, mean
    /// and max, percentiles from the histogram kept within them.
    pub fn latency(&self) -> LatencySummary {
        LatencySummary::exact(
            &self.hist,
            self.count,
            self.sum_us,
            self.min_us,
            self.max_us,
        )
    }
}

impl Default for SpanHist {
    fn default() -> Self {
        SpanHist::new()
    }
}

impl SpanHist {
    /// The histogram, encoded as the result file stores histograms.
    pub fn encoded(&self) -> String {
        encode_histogram(&self.hist)
    }
}
