//! The cluster time series: every rank's intervals aligned on wall-clock time.
//!
//! Buckets are `--resolution` wide and numbered from the Unix epoch (bucket `k` covers
//! `[k·res, (k+1)·res)`), so alignment does not depend on which rank came first. An interval
//! goes whole into the bucket that holds its midpoint: histograms cannot be split, and ranks
//! that started a fraction of a second apart still share buckets. When ranks report intervals
//! longer than the resolution, [`Timeline::series`] widens the buckets to a multiple of the
//! resolution that holds one interval, so the series has no empty teeth.
//!
//! An interval outside its own rank's span (a broken clock, a hand-edited file) goes into the
//! rank's first or last bucket: its midpoint is clamped into `[start_unix_ns, end_unix_ns]` of
//! the rank, so where it lands does not depend on which other ranks were merged. The timeline
//! grows ([`Timeline::ensure`]) to cover each rank's span before the rank is folded, so ranks
//! can be folded in any order and as they arrive.
//!
//! Each bucket keeps exact counters and a [`Paged`] histogram per operation class; percentiles
//! come from those merged histograms. Timelines of disjoint rank sets add ([`Timeline::absorb`]):
//! every counter is an integer, so the sum does not depend on how the ranks were split.

use super::accum::Paged;
use super::error::MergeError;
use super::model::Point;
use super::rank::N_OPS;

/// Most buckets one merge allocates (about 4 months at 1 s); more means broken clocks.
pub const MAX_BUCKETS: u64 = 10_000_000;

/// One operation class in one bucket.
#[derive(Default, Clone)]
pub struct Cell {
    pub ops: u64,
    pub bytes: u64,
    pub errors: u64,
    pub hist: Paged,
}

/// Buckets from the earliest rank start to the latest rank end.
#[derive(Clone)]
pub struct Timeline {
    pub res_ns: u64,
    /// Epoch-based number of `cells[0]`.
    pub first: u64,
    pub cells: Vec<[Cell; N_OPS]>,
}

impl Timeline {
    /// Buckets covering `[start_ns, end_ns]` (`res_ns` > 0).
    pub fn new(res_ns: u64, start_ns: u64, end_ns: u64) -> Result<Timeline, MergeError> {
        let (first, n) = span(res_ns, start_ns, end_ns)?;
        Ok(Timeline {
            res_ns,
            first,
            cells: vec![Default::default(); n as usize],
        })
    }

    /// Grows the timeline (at the front or the back) to cover `[start_ns, end_ns]`. Returns
    /// whether the front moved: then every cell index changed, so a reader's batch (which
    /// holds cell indices) must have been flushed before.
    pub fn ensure(&mut self, start_ns: u64, end_ns: u64) -> Result<bool, MergeError> {
        let last = self.first + self.cells.len() as u64 - 1;
        let lo = (start_ns / self.res_ns).min(self.first);
        let hi = (end_ns.max(start_ns) / self.res_ns).max(last);
        if lo == self.first && hi == last {
            return Ok(false);
        }
        let (first, n) = span(self.res_ns, lo * self.res_ns, hi * self.res_ns)?;
        let front = (self.first - first) as usize;
        if front > 0 {
            let mut cells = vec![<[Cell; N_OPS]>::default(); front];
            cells.append(&mut self.cells);
            self.cells = cells;
            self.first = first;
        }
        self.cells.resize_with(n as usize, Default::default);
        Ok(front > 0)
    }

    /// The bucket (index into `cells`) of an interval with midpoint `mid_ns` of a rank that
    /// ran over `[start_ns, end_ns]` (covered by the timeline): the midpoint is clamped into
    /// the rank's span.
    pub fn index_of(&self, mid_ns: u64, start_ns: u64, end_ns: u64) -> usize {
        let t = mid_ns.min(end_ns).max(start_ns);
        let b = (t / self.res_ns).saturating_sub(self.first) as usize;
        b.min(self.cells.len() - 1)
    }

    /// Adds `other`'s buckets (same resolution) into this timeline, growing it if needed.
    pub fn absorb(&mut self, other: &Timeline) -> Result<(), MergeError> {
        let res = self.res_ns;
        let other_last = other.first + other.cells.len() as u64 - 1;
        self.ensure(other.first * res, other_last * res)?;
        let at = (other.first - self.first) as usize;
        for (mine, theirs) in self.cells[at..].iter_mut().zip(&other.cells) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.ops += t.ops;
                m.bytes += t.bytes;
                m.errors += t.errors;
                m.hist.add_all(&t.hist);
            }
        }
        Ok(())
    }

    /// The series of operation class `op` with buckets `widen` resolutions wide (epoch-aligned).
    pub fn series(&self, op: usize, widen: u64) -> Vec<Point> {
        let widen = widen.max(1);
        let mut out = Vec::new();
        let mut i = 0usize;
        while i < self.cells.len() {
            let abs = self.first + i as u64;
            let group = abs / widen;
            let end = (((group + 1) * widen - self.first) as usize).min(self.cells.len());
            let mut p = Point {
                t_unix_ns: group * widen * self.res_ns,
                ..Point::default()
            };
            let cells = &self.cells[i..end];
            for c in cells {
                p.ops += c[op].ops;
                p.bytes += c[op].bytes;
                p.errors += c[op].errors;
            }
            let [p50, p90, p99] = if cells.len() == 1 {
                cells[0][op].hist.quantiles([0.5, 0.9, 0.99])
            } else {
                let mut merged = Paged::default();
                for c in cells {
                    merged.add_all(&c[op].hist);
                }
                merged.quantiles([0.5, 0.9, 0.99])
            };
            (p.p50_us, p.p90_us, p.p99_us) = (p50, p90, p99);
            out.push(p);
            i = end;
        }
        out
    }
}

/// The first bucket and the bucket count of `[start_ns, end_ns]`, refused past [`MAX_BUCKETS`].
fn span(res_ns: u64, start_ns: u64, end_ns: u64) -> Result<(u64, u64), MergeError> {
    let first = start_ns / res_ns;
    let last = end_ns.max(start_ns) / res_ns;
    let n = last - first + 1;
    if n > MAX_BUCKETS {
        return Err(MergeError::Span {
            span_s: end_ns.saturating_sub(start_ns) as f64 / 1e9,
            buckets: n,
        });
    }
    Ok((first, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_epoch_aligned_and_widen() {
        let s = 1_000_000_000u64;
        let mut t = Timeline::new(s, 100 * s + 300, 110 * s).unwrap();
        assert_eq!(t.cells.len(), 11);
        let all = (100 * s, 110 * s);
        assert_eq!(t.index_of(100 * s + 999, all.0, all.1), 0);
        assert_eq!(t.index_of(105 * s, all.0, all.1), 5);
        assert_eq!(t.index_of(999 * s, all.0, all.1), 10);
        // Clamped into the rank's own span, not the timeline's.
        assert_eq!(t.index_of(999 * s, 101 * s, 103 * s), 3);
        assert_eq!(t.index_of(5 * s, 104 * s, 106 * s), 4);
        for (i, c) in t.cells.iter_mut().enumerate() {
            c[0].ops = i as u64 + 1;
            c[0].hist.add(1000 + i, 1);
        }
        let fine = t.series(0, 1);
        assert_eq!(fine.len(), 11);
        assert_eq!(fine[3].t_unix_ns, 103 * s);
        assert_eq!(fine[3].ops, 4);
        assert_eq!(fine[3].p50_us, 1003);
        // Widened ×4 on epoch boundaries: [100,104) [104,108) [108,111).
        let wide = t.series(0, 4);
        assert_eq!(wide.iter().map(|p| p.ops).collect::<Vec<_>>(), [10, 26, 30]);
        assert_eq!(wide[1].t_unix_ns, 104 * s);
        assert_eq!(wide[1].p99_us, 1007);
        assert_eq!(t.series(1, 1).iter().map(|p| p.ops).sum::<u64>(), 0);
    }

    #[test]
    fn absurd_spans_are_refused() {
        let e = Timeline::new(1_000_000_000, 0, 1 << 62).err().unwrap();
        assert!(matches!(e, MergeError::Span { .. }));
    }
}
