//! Statistics of the listing phase before a run (AIS list-objects pages, S3 ListObjectsV2
//! pages), written to the result file as `ops.list`.
//!
//! Every page request is one operation: a page that arrives is a success (its latency into
//! the histogram, its body bytes counted), and every failed attempt, including one that a
//! retry later repairs, is an error of its kind (`timeout`, `connect`, `http-503`, ...), the
//! same kinds as the load's. Nothing here is on the hot path.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::ctl::CtlError;
use ringload_core::hist::{new_histogram, LatencySummary};
use ringload_core::result::{encode_histogram, OpSummary};

/// The listing's operations (see the module doc).
pub struct ListStats {
    pub count: u64,
    pub bytes: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    hist: Histogram<u64>,
    min: u64,
    max: u64,
    sum: u64,
    started: Option<Instant>,
    elapsed: Duration,
}

impl Default for ListStats {
    fn default() -> Self {
        ListStats {
            count: 0,
            bytes: 0,
            errors_by_kind: BTreeMap::new(),
            hist: new_histogram(),
            min: u64::MAX,
            max: 0,
            sum: 0,
            started: None,
            elapsed: Duration::ZERO,
        }
    }
}

impl ListStats {
    /// Marks the start of one page request.
    pub fn begin(&mut self) -> Instant {
        let now = Instant::now();
        self.started.get_or_insert(now);
        now
    }

    /// A page that arrived (2xx) after the request begun at `t`, with `bytes` of body.
    pub fn ok(&mut self, t: Instant, bytes: usize) {
        let us = (t.elapsed().as_micros() as u64).max(1);
        self.hist.saturating_record(us);
        self.min = self.min.min(us);
        self.max = self.max.max(us);
        self.sum += us;
        self.count += 1;
        self.bytes += bytes as u64;
        self.touch();
    }

    /// A failed page attempt, by kind (`http-NNN`, `timeout`, `connect`, ...).
    pub fn error(&mut self, kind: &str) {
        *self.errors_by_kind.entry(kind.to_string()).or_default() += 1;
        self.touch();
    }

    /// The error kind of a control-client failure.
    pub fn ctl_kind(e: &CtlError) -> &'static str {
        match e {
            CtlError::Timeout { .. } => "timeout",
            CtlError::Connect { .. } | CtlError::Resolve { .. } => "connect",
            CtlError::Closed { .. } => "closed",
            CtlError::Io { .. } => "reset",
            CtlError::TooManyRedirects { .. } | CtlError::BadLocation { .. } => "redirect",
            _ => "protocol",
        }
    }

    /// The kind of an HTTP status that failed a page.
    pub fn http_kind(status: u16) -> String {
        if (100..=599).contains(&status) {
            format!("http-{status}")
        } else {
            "http-other".into()
        }
    }

    fn touch(&mut self) {
        if let Some(s) = self.started {
            self.elapsed = s.elapsed();
        }
    }

    /// Whether any page was requested.
    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.errors_by_kind.is_empty()
    }

    /// The `ops.list` record: like `get`/`put`, over the listing's wall-clock time.
    pub fn summary(&self) -> OpSummary {
        let secs = self.elapsed.as_secs_f64();
        let per_s = |v: u64| if secs > 0.0 { v as f64 / secs } else { 0.0 };
        let mut latency = LatencySummary::of(&self.hist);
        if self.count > 0 {
            latency.min = self.min;
            latency.max = self.max;
            latency.mean = self.sum as f64 / self.count as f64;
        }
        OpSummary {
            count: self.count,
            bytes: self.bytes,
            errors: self.errors_by_kind.values().sum(),
            objects: None,
            errors_by_kind: self.errors_by_kind.clone(),
            throughput_bytes_per_s: per_s(self.bytes),
            ops_per_s: per_s(self.count),
            latency_us: latency,
            histogram: encode_histogram(&self.hist),
            phases: None,
            service_latency_us: None,
            service_histogram: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_failed_attempts_are_counted() {
        let mut s = ListStats::default();
        assert!(s.is_empty());
        let t = s.begin();
        s.error("timeout");
        s.ok(t, 100);
        let t = s.begin();
        s.ok(t, 50);
        s.error(&ListStats::http_kind(503));
        let sum = s.summary();
        assert_eq!((sum.count, sum.bytes, sum.errors), (2, 150, 2));
        assert_eq!(sum.errors_by_kind["timeout"], 1);
        assert_eq!(sum.errors_by_kind["http-503"], 1);
        assert!(sum.latency_us.max >= sum.latency_us.min && sum.latency_us.min >= 1);
        assert_eq!(ListStats::http_kind(700), "http-other");
    }
}
