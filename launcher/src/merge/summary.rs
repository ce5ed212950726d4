//! `summary.json` (`ringload.summary/1`): the merged figures of a run, built from the ranks'
//! leftovers ([`RankResult`]s), the cluster totals and the timeline.
//!
//! Exactness: counters are summed; whole-run percentiles come from the sum of the ranks'
//! histograms (clamped into [min of mins, max of maxes]); `mean` is `Σ(mean·count)/Σcount`;
//! rates are summed amounts over one merged wall-clock window. Every float is computed in
//! rank order from integers or per-rank values, so the output is byte-identical whatever the
//! order of the files (a property test checks it).
//!
//! Classes: `get` and `put` always; an ML class (`get_batch`, `put_mpu`, `get_mpd`) when any
//! rank's file has it ([`shown`]), a rank without it contributing zero; `get_batch` also sums
//! its `objects`. Every per-class map of the summary (`ops`, the steady window, each rank's
//! `ops`, the series) has the same classes.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use ringload_core::hist::LatencySummary;
use ringload_core::result::{encode_histogram, ProxyCount, TlsRecord};

use ringload_core::client::ClientRecord;
use ringload_core::rate::RateRecord;

use super::model::Point;
use super::rank::{RankResult, BASIC_OPS, N_OPS, OP_NAMES};
use super::rate::{ClientBound, ClientSummary};

/// The `schema` value of `summary.json`.
pub const SUMMARY_SCHEMA: &str = "ringload.summary/1";

/// A rank is a straggler when its throughput is this fraction of the median rank's or less.
pub const STRAGGLER_FRACTION: f64 = 0.8;
/// A rank that started or ended this far from the median rank is flagged.
pub const SKEW_LIMIT_NS: u64 = 2_000_000_000;

/// The merged report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    pub run_id: String,
    pub partial: bool,
    pub ranks_expected: u32,
    pub ranks_present: u32,
    pub ranks_missing: Vec<u32>,
    pub ranks_failed: Vec<u32>,
    pub skipped_files: Vec<SkippedFile>,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub duration_s: f64,
    pub ops: BTreeMap<String, OpTotals>,
    pub steady_window: Option<SteadyWindow>,
    pub start_skew_ns: u64,
    pub end_skew_ns: u64,
    pub stragglers: Vec<Straggler>,
    pub warnings: Vec<String>,
    pub ranks: Vec<RankTotals>,
    pub series: Series,
    /// The ranks' TLS, merged ([`tls`]); absent when no rank ran over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsRecord>,
    /// The ranks' `--random-proxy` requests per proxy, summed ([`ProxyCount::merge`]); absent
    /// for other runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxyCount>,
    /// The ranks' `rate` merged ([`super::rate::RateTotals`]); absent for a closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateRecord>,
    /// How many ranks diagnosed themselves, and which were client-bound; absent when no rank
    /// has a `client` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientSummary>,
    /// The client-bound ranks with their reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_bound: Vec<ClientBound>,
}

/// A file left out of a `--allow-partial` merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedFile {
    pub file: String,
    pub reason: String,
}

/// The same shape as a rank file's `ops.<op>` (the engine's own type), over all ranks.
pub type OpTotals = ringload_core::result::OpSummary;

/// The time in which every (completed) rank was running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SteadyWindow {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub duration_s: f64,
    pub ops: BTreeMap<String, SteadyOp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SteadyOp {
    pub count: f64,
    pub bytes: f64,
    pub throughput_bytes_per_s: f64,
    pub ops_per_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Straggler {
    pub rank: u32,
    pub throughput_bytes_per_s: f64,
    pub median_throughput_bytes_per_s: f64,
}

/// One rank's totals, as its file states them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankTotals {
    pub rank: u32,
    pub host: String,
    pub status: String,
    pub stop_reason: String,
    pub engine_version: String,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub throughput_bytes_per_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    pub ops: BTreeMap<String, RankOpTotals>,
    /// The rank's `client` key, as its file states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankOpTotals {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub throughput_bytes_per_s: f64,
    pub ops_per_s: f64,
    pub latency_us: LatencySummary,
    /// `get_batch`: the objects the rank's batches delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
    /// The rank's service latency (a `--rate` run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_latency_us: Option<LatencySummary>,
}

/// The cluster time series (all ranks), one list of points per operation class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub step_ns: u64,
    pub ops: BTreeMap<String, Vec<Point>>,
}

fn rate(n: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        n / secs
    } else {
        0.0
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn median_u64(v: impl Iterator<Item = u64>) -> u64 {
    let mut v: Vec<u64> = v.collect();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// Whole-run totals of operation class `op` over `ranks`.
pub fn op_totals(ranks: &[RankResult], op: usize, hist: &Histogram<u64>, secs: f64) -> OpTotals {
    let mut t = OpTotals {
        count: 0,
        bytes: 0,
        errors: 0,
        objects: None,
        errors_by_kind: BTreeMap::new(),
        throughput_bytes_per_s: 0.0,
        ops_per_s: 0.0,
        latency_us: LatencySummary::default(),
        histogram: encode_histogram(hist),
        phases: None,
        service_latency_us: None,
        service_histogram: None,
    };
    let (mut min, mut max, mut weighted) = (u64::MAX, 0u64, 0.0f64);
    if OP_NAMES[op] == "get_batch" {
        t.objects = Some(ranks.iter().map(|r| r.ops[op].objects).sum());
    }
    for r in ranks {
        let o = &r.ops[op];
        t.count += o.count;
        t.bytes += o.bytes;
        t.errors += o.errors;
        for (k, v) in &o.errors_by_kind {
            *t.errors_by_kind.entry(k.clone()).or_default() += v;
        }
        if o.count > 0 {
            min = min.min(o.latency.min);
            max = max.max(o.latency.max);
            weighted += o.latency.mean * o.count as f64;
        }
    }
    t.throughput_bytes_per_s = rate(t.bytes as f64, secs);
    t.ops_per_s = rate(t.count as f64, secs);
    if t.count > 0 && !hist.is_empty() {
        let q = |x: f64| hist.value_at_quantile(x).clamp(min, max.max(min));
        t.latency_us = LatencySummary {
            min,
            mean: weighted / t.count as f64,
            p50: q(0.50),
            p90: q(0.90),
            p99: q(0.99),
            p999: q(0.999),
            max,
        };
    }
    t
}

/// The steady window's figures, from the ranks' prorated shares.
pub fn steady(ranks: &[RankResult], window: Option<(u64, u64)>) -> Option<SteadyWindow> {
    let (s, e) = window?;
    let secs = (e - s) as f64 / 1e9;
    let shown = shown(ranks);
    let ops = OP_NAMES
        .iter()
        .enumerate()
        .filter(|&(op, _)| shown[op])
        .map(|(op, name)| {
            let bytes: f64 = ranks.iter().map(|r| r.ops[op].steady_bytes).sum();
            let count: f64 = ranks.iter().map(|r| r.ops[op].steady_count).sum();
            let o = SteadyOp {
                count,
                bytes,
                throughput_bytes_per_s: rate(bytes, secs),
                ops_per_s: rate(count, secs),
            };
            (name.to_string(), o)
        })
        .collect();
    Some(SteadyWindow {
        start_unix_ns: s,
        end_unix_ns: e,
        duration_s: secs,
        ops,
    })
}

/// Stragglers, and warnings for ranks that started or ended far from the others.
pub fn outliers(ranks: &[RankResult], warnings: &mut Vec<String>) -> Vec<Straggler> {
    let med = median(ranks.iter().map(RankResult::throughput).collect());
    let mut out = Vec::new();
    for r in ranks {
        let t = r.throughput();
        if med > 0.0 && t < STRAGGLER_FRACTION * med {
            warnings.push(format!(
                "rank {} ({}) is a straggler: {:.3} GiB/s, {:.0}% below the median rank's \
                 {:.3} GiB/s",
                r.rank,
                r.host,
                t / GIB,
                (1.0 - t / med) * 100.0,
                med / GIB
            ));
            out.push(Straggler {
                rank: r.rank,
                throughput_bytes_per_s: t,
                median_throughput_bytes_per_s: med,
            });
        }
    }
    let mid_start = median_u64(ranks.iter().map(|r| r.start_unix_ns));
    let mid_end = median_u64(ranks.iter().map(|r| r.end_unix_ns));
    for r in ranks {
        for (what, t, m) in [
            ("started", r.start_unix_ns, mid_start),
            ("ended", r.end_unix_ns, mid_end),
        ] {
            if t.abs_diff(m) > SKEW_LIMIT_NS {
                let side = if t > m { "after" } else { "before" };
                warnings.push(format!(
                    "rank {} ({}) {what} {:.1} s {side} the median rank",
                    r.rank,
                    r.host,
                    t.abs_diff(m) as f64 / 1e9
                ));
            }
        }
    }
    out
}

pub const GIB: f64 = (1u64 << 30) as f64;

/// The ranks' `tls` keys merged: handshakes and resumptions summed and the share recomputed,
/// `verified` only when every rank verified, and the version, cipher and roots the ranks'
/// common value (else `mixed`; the roots' source, else none). Ranks without the key (plaintext, or older files) are left
/// out; `None` when no rank has it.
pub fn tls<'a>(ranks: impl IntoIterator<Item = &'a TlsRecord>) -> Option<TlsRecord> {
    let mut out: Option<TlsRecord> = None;
    for t in ranks {
        let Some(m) = out.as_mut() else {
            out = Some(t.clone());
            continue;
        };
        m.handshakes += t.handshakes;
        m.resumed += t.resumed;
        m.verified &= t.verified;
        let common = |a: &mut Option<String>, b: &Option<String>| match (a.as_deref(), b) {
            // A rank without a completed handshake says nothing about the session.
            (_, None) => {}
            (None, Some(v)) => *a = Some(v.clone()),
            (Some(x), Some(v)) if x != v => *a = Some("mixed".into()),
            _ => {}
        };
        common(&mut m.version, &t.version);
        common(&mut m.cipher, &t.cipher);
        if m.roots != t.roots {
            m.roots = "mixed".into();
        }
        if m.source != t.source {
            m.source = None;
        }
    }
    if let Some(m) = out.as_mut() {
        m.resumed_pct = TlsRecord::pct(m.resumed, m.handshakes);
    }
    out
}

/// The classes the merged outputs show (by index into [`OP_NAMES`]): `get` and `put` always,
/// an ML class when any rank's file has it.
pub fn shown(ranks: &[RankResult]) -> [bool; N_OPS] {
    std::array::from_fn(|op| op < BASIC_OPS || ranks.iter().any(|r| r.ops[op].present))
}

/// One rank's totals, over the classes `shown` (the merged run's).
pub fn rank_totals(r: &RankResult, shown: &[bool; N_OPS]) -> RankTotals {
    let secs = r.secs();
    RankTotals {
        rank: r.rank,
        host: r.host.clone(),
        status: r.status.clone(),
        stop_reason: r.stop_reason.clone(),
        engine_version: r.engine_version.clone(),
        start_unix_ns: r.start_unix_ns,
        end_unix_ns: r.end_unix_ns,
        throughput_bytes_per_s: r.throughput(),
        peak_rss_bytes: r.peak_rss_bytes,
        ops: OP_NAMES
            .iter()
            .enumerate()
            .filter(|&(op, _)| shown[op])
            .map(|(op, name)| {
                let o = &r.ops[op];
                let t = RankOpTotals {
                    count: o.count,
                    bytes: o.bytes,
                    errors: o.errors,
                    errors_by_kind: o.errors_by_kind.clone(),
                    throughput_bytes_per_s: rate(o.bytes as f64, secs),
                    ops_per_s: rate(o.count as f64, secs),
                    latency_us: o.latency,
                    objects: (*name == "get_batch").then_some(o.objects),
                    service_latency_us: r.service[op].as_ref().map(|s| s.latency),
                };
                (name.to_string(), t)
            })
            .collect(),
        client: r.client.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(version: Option<&str>, verified: bool, handshakes: u64, resumed: u64) -> TlsRecord {
        TlsRecord {
            version: version.map(String::from),
            cipher: version.map(|_| "TLS13_AES_256_GCM_SHA384".to_string()),
            verified,
            resumed_pct: TlsRecord::pct(resumed, handshakes),
            handshakes,
            resumed,
            roots: "system".into(),
            source: None,
        }
    }

    #[test]
    fn tls_merges_sums_and_agreement() {
        assert_eq!(tls([]), None);
        let a = rec(Some("TLSv1.3"), true, 100, 90);
        let b = rec(Some("TLSv1.3"), true, 300, 270);
        let m = tls([&a, &b]).unwrap();
        assert_eq!((m.handshakes, m.resumed), (400, 360));
        assert!((m.resumed_pct - 90.0).abs() < 1e-9);
        assert!(m.verified);
        assert_eq!(m.version.as_deref(), Some("TLSv1.3"));
        assert_eq!(m.cipher.as_deref(), Some("TLS13_AES_256_GCM_SHA384"));
        assert_eq!(m.roots, "system");
        // One rank unverified, one on TLS 1.2 with other roots: verified false, mixed values.
        let mut c = rec(Some("TLSv1.2"), false, 100, 0);
        c.roots = "none".into();
        let m = tls([&a, &b, &c]).unwrap();
        assert!(!m.verified);
        assert_eq!(m.version.as_deref(), Some("mixed"));
        assert_eq!(m.roots, "mixed");
        assert!((m.resumed_pct - 72.0).abs() < 1e-9);
        // A rank that completed no handshake does not make the session mixed.
        let none = rec(None, true, 0, 0);
        let m = tls([&none, &a]).unwrap();
        assert_eq!(m.version.as_deref(), Some("TLSv1.3"));
        assert_eq!(m.handshakes, 100);
    }

    fn rank(n: u32, start_s: u64, end_s: u64, bytes: u64) -> RankResult {
        let mut r = RankResult {
            rank: n,
            host: format!("h{n}"),
            start_unix_ns: start_s * 1_000_000_000,
            end_unix_ns: end_s * 1_000_000_000,
            ..RankResult::default()
        };
        r.ops[0].bytes = bytes;
        r
    }

    #[test]
    fn stragglers_and_skew_are_flagged() {
        let ranks = vec![
            rank(0, 100, 110, 1000),
            rank(1, 100, 110, 1000),
            rank(2, 100, 110, 790),
            rank(3, 103, 110, 700),
        ];
        let mut w = Vec::new();
        let s = outliers(&ranks, &mut w);
        // Rank 3 ran 7 s: 100 B/s is above the median; rank 2's 79 B/s is 21% below.
        assert_eq!(s.iter().map(|x| x.rank).collect::<Vec<_>>(), [2]);
        assert!(
            w.iter()
                .any(|x| x.starts_with("rank 3 (h3) started 3.0 s after")),
            "{w:?}"
        );
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn steady_window_prorates_nothing_when_absent() {
        assert!(steady(&[rank(0, 1, 2, 5)], None).is_none());
        let mut r = rank(0, 0, 10, 0);
        r.ops[0].steady_bytes = 500.0;
        let w = steady(&[r], Some((2_000_000_000, 7_000_000_000))).unwrap();
        assert_eq!(w.ops["get"].throughput_bytes_per_s, 100.0);
        assert_eq!(w.duration_s, 5.0);
    }
}
