//! Folding a parsed rank into the cluster accumulators, and the batch that makes it cheap.
//!
//! A rank's whole-run histograms go into the cluster totals; its intervals go into the
//! [`Timeline`] buckets (counters and histograms), into this rank's own downsampled series,
//! and, prorated, into its steady-window figures.
//!
//! Cache: a rank touches every bucket of the timeline once, and a bucket's histogram is cold
//! by then (the timeline is tens of MB). So interval histograms are not added to the timeline
//! as each rank is read: their counters stay where they were decoded, packed 4 bytes each
//! ([`Staged`]), for [`BATCH_RANKS`] ranks, and are then added bucket by bucket, so each
//! bucket's pages are fetched once per batch, not once per rank. The per-rank series use a
//! [`Dense`](super::accum::Dense) scratch that stays in cache.

use super::hist;
use super::model::Point;
use super::partial::{add_steady, steady_frac};
use super::rank::{RankResult, Reader, Sinks, N_OPS};
use super::timeline::Timeline;

/// Ranks whose interval histograms are added to the timeline together (about 0.8 MB each for
/// an hour of 1 s intervals with a few dozen latencies per interval).
pub const BATCH_RANKS: usize = 32;
/// A packed counter: index in the top 15 bits, count in the low 17. Count 0 means "too
/// large to pack: the next entry of the big list" (a real counter is never 0).
pub const COUNT_BITS: u32 = ringload_core::intervals::COUNT_BITS;
pub const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// One decoded histogram: its packed counters in the batch and its big counts.
#[derive(Clone, Copy, Default, Debug)]
pub struct Staged {
    pub start: u32,
    pub end: u32,
    pub big_start: u32,
    pub big_end: u32,
}

impl Staged {
    /// `(index, count)` in non-decreasing index order.
    #[inline]
    pub fn entries<'a>(
        &self,
        packed: &'a [u32],
        big: &'a [u64],
    ) -> impl Iterator<Item = (usize, u64)> + 'a {
        let mut b = self.big_start as usize;
        packed[self.start as usize..self.end as usize]
            .iter()
            .map(move |&p| {
                let mut c = u64::from(p) & COUNT_MASK;
                if c == 0 {
                    c = big[b];
                    b += 1;
                }
                ((p >> COUNT_BITS) as usize, c)
            })
    }

    fn all_packed(&self) -> bool {
        self.big_start == self.big_end
    }
}

/// Interval counters waiting to be added to the timeline; also the staging area of the file
/// being read (its counters are decoded straight into `packed`).
#[derive(Default)]
pub struct Batch {
    pub packed: Vec<u32>,
    runs: Vec<Run>,
    /// Per rank of the batch, its range of `runs` (buckets non-decreasing within it).
    pub ranks: Vec<(usize, usize)>,
}

/// Where the batch stood before a file was staged.
#[derive(Clone, Copy)]
pub struct Mark(usize);

impl Batch {
    pub fn mark(&self) -> Mark {
        Mark(self.packed.len())
    }
    /// Forgets what was staged after `m` (a file that turned out corrupt).
    pub fn rollback(&mut self, m: Mark) {
        self.packed.truncate(m.0);
    }
}

#[derive(Clone, Copy)]
struct Run {
    bucket: u32,
    op: u8,
    start: u32,
    end: u32,
}

impl Reader {
    /// Adds the batched interval histograms to `timeline`, bucket by bucket.
    pub fn flush_batch(&mut self, timeline: &mut Timeline) {
        let b = &mut self.batch;
        let mut cursor: Vec<usize> = b.ranks.iter().map(|r| r.0).collect();
        loop {
            let mut next = u32::MAX;
            for (k, &(_, end)) in b.ranks.iter().enumerate() {
                if cursor[k] < end {
                    next = next.min(b.runs[cursor[k]].bucket);
                }
            }
            if next == u32::MAX {
                break;
            }
            let cells = &mut timeline.cells[next as usize];
            std::hint::black_box(cells[0].hist.warm() ^ cells[1].hist.warm());
            for (k, &(_, end)) in b.ranks.iter().enumerate() {
                while cursor[k] < end && b.runs[cursor[k]].bucket == next {
                    let run = b.runs[cursor[k]];
                    let hist = &mut cells[run.op as usize].hist;
                    hist.add_packed(&b.packed[run.start as usize..run.end as usize]);
                    cursor[k] += 1;
                }
            }
        }
        b.packed.clear();
        b.runs.clear();
        b.ranks.clear();
    }

    /// Folds the parsed file (staged by `parse`) into `sinks` and `r`.
    pub(super) fn fold(&mut self, r: &mut RankResult, sinks: &mut Sinks) {
        for (op, staged) in self.whole.iter().enumerate() {
            for (i, c) in staged.entries(&self.batch.packed, &self.big) {
                sinks.totals[op].saturating_record_n(hist::value_for(i), c);
            }
        }
        self.fold_intervals(r, sinks);
    }

    fn fold_intervals(&mut self, r: &mut RankResult, sinks: &mut Sinks) {
        let res = sinks.timeline.res_ns;
        let widen = match &self.ivs[..] {
            [a, _, ..] => a.end_unix_ns.saturating_sub(a.start_unix_ns).div_ceil(res),
            _ => 1,
        }
        .max(1);
        let fine = r
            .end_unix_ns
            .saturating_sub(r.start_unix_ns)
            .div_ceil(res)
            .max(1);
        let group = widen * fine.div_ceil(sinks.point_cap.max(1) * widen).max(1);
        r.widen = widen;
        for (op, s) in r.series.iter_mut().enumerate() {
            s.rank = r.rank;
            s.step_ns = group * res;
            self.acc[op].clear();
        }
        let mut current: Option<u64> = None;
        let mut points: [Point; N_OPS] = std::array::from_fn(|_| Point::default());
        let first_run = self.batch.runs.len();
        let mut last_bucket = 0usize;
        for iv in &self.ivs {
            let mid = iv.start_unix_ns / 2 + iv.end_unix_ns / 2;
            let key = mid / res / group;
            if current != Some(key) {
                if current.is_some() {
                    flush(&mut self.acc, &mut points, r);
                }
                current = Some(key);
                for p in &mut points {
                    *p = Point {
                        t_unix_ns: key * group * res,
                        ..Point::default()
                    };
                }
            }
            let b = sinks.timeline.index_of(mid, r.start_unix_ns, r.end_unix_ns);
            let frac = steady_frac(iv.start_unix_ns, iv.end_unix_ns, sinks.steady);
            for (op, (p, o)) in points.iter_mut().zip(&iv.ops).enumerate() {
                let cell = &mut sinks.timeline.cells[b][op];
                cell.ops += o.count;
                cell.bytes += o.bytes;
                cell.errors += o.errors;
                p.ops += o.count;
                p.bytes += o.bytes;
                p.errors += o.errors;
                add_steady(&mut r.ops[op], o.count, o.bytes, frac);
                let h = o.hist;
                if h.start == h.end {
                    continue;
                }
                for (i, c) in h.entries(&self.batch.packed, &self.big) {
                    self.acc[op].add(i, c);
                }
                // Batch the counters unless this rank's intervals go back in time or a count
                // did not fit the packing; then add them now.
                if b >= last_bucket && h.all_packed() {
                    last_bucket = b;
                    self.batch.runs.push(Run {
                        bucket: b as u32,
                        op: op as u8,
                        start: h.start,
                        end: h.end,
                    });
                } else {
                    for (i, c) in h.entries(&self.batch.packed, &self.big) {
                        cell.hist.add(i, c);
                    }
                }
            }
        }
        if current.is_some() {
            flush(&mut self.acc, &mut points, r);
        }
        self.batch.ranks.push((first_run, self.batch.runs.len()));
    }
}

/// Ends the rank's current group: percentiles from its merged histogram.
fn flush(acc: &mut [super::accum::Dense; N_OPS], points: &mut [Point; N_OPS], r: &mut RankResult) {
    for ((p, acc), series) in points.iter().zip(acc.iter_mut()).zip(&mut r.series) {
        let mut p = *p;
        [p.p50_us, p.p90_us, p.p99_us] = acc.quantiles([0.5, 0.9, 0.99]);
        series.points.push(p);
        acc.clear();
    }
}
