//! Data preparation for the time plots: the common time origin, and re-bucketing a series to
//! at most a given number of points.
//!
//! Why: a 24-hour run at 1 s buckets has 86,400 points per line, and 1,024 ranks multiply that;
//! drawing more points than the plot has pixels only makes the file big. Re-bucketing merges
//! `k` consecutive buckets into one, and keeps throughput exact (bytes of the merged buckets
//! over the time they cover). Percentiles cannot be merged exactly from percentiles, so a
//! merged bucket takes the *maximum* of each percentile: an upper bound that never hides a
//! spike. Invariants: output is sorted by time, never longer than asked (at least 1 point per
//! group), and all arithmetic saturates, so hostile timestamps cannot overflow or panic.

use std::collections::BTreeMap;

use crate::merge::model::{OpSeries, Point, ReportData};

/// Bucket width assumed when a series says 0 (a malformed input): the engine's default.
pub const DEFAULT_STEP_NS: u64 = 1_000_000_000;

/// One (possibly merged) bucket, ready to draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Middle of the bucket, in seconds since the plot's time origin.
    pub mid_s: f64,
    /// Start of the bucket in nanoseconds since the origin, for gap detection.
    pub key_ns: u64,
    /// Bytes per second over the time covered by the merged source buckets.
    pub bytes_per_s: f64,
    pub ops: u64,
    /// Maxima of the source buckets' percentiles (0 when no source bucket had ops).
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
}

/// The time axis every time plot of a report shares: its origin (the first bucket of any
/// series) and its span in seconds (to the end of the last bucket). `None` without points.
pub fn time_domain(data: &ReportData) -> Option<(u64, f64)> {
    let mut t0 = u64::MAX;
    let mut t1 = 0u64;
    let mut any = false;
    for s in &data.series {
        let lines = std::iter::once((s.step_ns, &s.total))
            .chain(s.per_rank.iter().map(|r| (r.step_ns, &r.points)));
        for (step, pts) in lines {
            let step = effective_step(step);
            for p in pts.iter() {
                any = true;
                t0 = t0.min(p.t_unix_ns);
                t1 = t1.max(p.t_unix_ns.saturating_add(step));
            }
        }
    }
    any.then(|| (t0, t1.saturating_sub(t0) as f64 / 1e9))
}

/// True when the series has at least one point, in the total or in any rank.
pub fn has_data(s: &OpSeries) -> bool {
    !s.total.is_empty() || s.per_rank.iter().any(|r| !r.points.is_empty())
}

/// The bucket width to use for a declared `step_ns`.
pub fn effective_step(step_ns: u64) -> u64 {
    if step_ns == 0 {
        DEFAULT_STEP_NS
    } else {
        step_ns
    }
}

/// Re-buckets `points` (bucket width `step_ns`) relative to origin `t0` into at most
/// `max_points` buckets (at least 1). Returns the width of an output bucket in ns and the buckets.
pub fn rebucket(points: &[Point], step_ns: u64, t0: u64, max_points: usize) -> (u64, Vec<Bucket>) {
    let step = effective_step(step_ns);
    if points.is_empty() {
        return (step, Vec::new());
    }
    let (lo, hi) = points.iter().fold((u64::MAX, 0u64), |(lo, hi), p| {
        (lo.min(p.t_unix_ns), hi.max(p.t_unix_ns))
    });
    let span_buckets = (hi - lo) / step + 1;
    let max_points = max_points.max(1) as u64;
    let k = span_buckets.div_ceil(max_points).max(1);
    let width = step.saturating_mul(k);

    // key (ns since t0, aligned to `width` when merging) -> (bytes, source buckets, point).
    let mut groups: BTreeMap<u64, (u128, u64, Point)> = BTreeMap::new();
    for p in points {
        let rel = p.t_unix_ns.saturating_sub(t0);
        let key = if k == 1 { rel } else { rel / width * width };
        let g = groups.entry(key).or_insert((0, 0, Point::default()));
        g.0 += u128::from(p.bytes);
        g.1 += 1;
        g.2.ops = g.2.ops.saturating_add(p.ops);
        if p.ops > 0 {
            g.2.p50_us = g.2.p50_us.max(p.p50_us);
            g.2.p90_us = g.2.p90_us.max(p.p90_us);
            g.2.p99_us = g.2.p99_us.max(p.p99_us);
        }
    }
    let out = groups
        .into_iter()
        .map(|(key, (bytes, n, p))| {
            let covered_s = (n.min(k) as f64) * (step as f64) / 1e9;
            Bucket {
                mid_s: (key as f64 + width as f64 / 2.0) / 1e9,
                key_ns: key,
                bytes_per_s: bytes as f64 / covered_s,
                ops: p.ops,
                p50_us: p.p50_us,
                p90_us: p.p90_us,
                p99_us: p.p99_us,
            }
        })
        .collect();
    (width, out)
}

/// True when bucket `b` does not directly follow `a` (more than 1.5 bucket widths apart):
/// the line is broken there instead of drawn across time without data.
pub fn is_gap(a: &Bucket, b: &Bucket, width_ns: u64) -> bool {
    b.key_ns.saturating_sub(a.key_ns) > width_ns.saturating_add(width_ns / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::model::RankSeries;

    fn pt(t: u64, bytes: u64, ops: u64, p99: u64) -> Point {
        Point {
            t_unix_ns: t,
            ops,
            bytes,
            p99_us: p99,
            ..Point::default()
        }
    }

    #[test]
    fn rebucket_keeps_every_point_when_it_fits() {
        let s = 1_000_000_000;
        let pts: Vec<Point> = (0..5).map(|i| pt(10 * s + i * s, 1 << 30, 1, 10)).collect();
        let (w, b) = rebucket(&pts, s, 10 * s, 100);
        assert_eq!((w, b.len()), (s, 5));
        assert_eq!(b[0].mid_s, 0.5);
        assert_eq!(b[4].bytes_per_s, (1u64 << 30) as f64);
    }

    #[test]
    fn rebucket_merges_exactly_and_takes_max_percentiles() {
        let s = 1_000_000_000;
        let pts: Vec<Point> = (0..10)
            .map(|i| pt(i * s, 100, 1, if i == 3 { 900 } else { 5 }))
            .collect();
        let (w, b) = rebucket(&pts, s, 0, 5);
        assert_eq!((w, b.len()), (2 * s, 5));
        assert_eq!(b[1].p99_us, 900);
        assert!(b.iter().all(|x| x.bytes_per_s == 100.0), "{b:?}");
    }

    #[test]
    fn rebucket_survives_hostile_input() {
        let pts = [
            pt(u64::MAX, u64::MAX, u64::MAX, u64::MAX),
            pt(0, u64::MAX, 1, 1),
        ];
        let (_, b) = rebucket(&pts, 0, 0, 0);
        assert!(!b.is_empty());
        assert!(b
            .iter()
            .all(|x| x.bytes_per_s.is_finite() && x.mid_s.is_finite()));
        assert!(rebucket(&[], 5, 0, 10).1.is_empty());
    }

    #[test]
    fn time_domain_spans_totals_and_ranks() {
        let s = 1_000_000_000;
        let data = ReportData {
            series: vec![OpSeries {
                op: "get".into(),
                step_ns: s,
                total: vec![pt(5 * s, 1, 1, 1)],
                per_rank: vec![RankSeries {
                    rank: 0,
                    step_ns: 2 * s,
                    points: vec![pt(3 * s, 1, 1, 1), pt(7 * s, 1, 1, 1)],
                }],
            }],
            ..ReportData::default()
        };
        assert_eq!(time_domain(&data), Some((3 * s, 6.0)));
        assert_eq!(time_domain(&ReportData::default()), None);
    }

    #[test]
    fn gaps_are_detected_between_non_adjacent_buckets() {
        let s = 1_000_000_000;
        let (w, b) = rebucket(
            &[pt(0, 1, 1, 1), pt(s, 1, 1, 1), pt(5 * s, 1, 1, 1)],
            s,
            0,
            10,
        );
        assert!(!is_gap(&b[0], &b[1], w));
        assert!(is_gap(&b[1], &b[2], w));
    }
}
