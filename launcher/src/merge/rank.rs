//! Reading one rank's file in the heavy pass, and folding it into the cluster accumulators.
//!
//! The file is read into one reused buffer and parsed into borrowed structs (histograms stay
//! `&str` slices of the buffer). Every histogram of the file is decoded first into a reused
//! staging list, so a corrupt histogram rejects the whole file before anything is folded:
//! a skipped rank never leaves half its data in the totals. Then the rank is folded: whole-run
//! histograms into the cluster totals, intervals into the [`Timeline`] and into this rank's
//! own (downsampled) series, and the share of each interval inside the steady window.
//!
//! Cache: a rank touches every bucket of the timeline once, and a bucket's histogram is cold
//! by then (the timeline is tens of MB). So interval histograms are not added to the timeline
//! as each rank is read: they are kept (packed, 4 bytes a counter) for [`BATCH_RANKS`] ranks
//! and added bucket by bucket, so each bucket's pages are fetched once per batch, not once per
//! rank. The per-rank series use a [`Dense`] scratch that stays in cache.
//!
//! Memory: one file's buffer and parse tree, the staging list and the batch, all reused; what
//! a rank leaves behind is numbers ([`RankResult`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Deserialize;

use ringload_engine::stats::LatencySummary;

use super::accum::Dense;
use super::decode::HistDecoder;
use super::head::{read_prefix, Head};
use super::hist;
use super::model::{Point, RankSeries};
use super::timeline::Timeline;

/// The operation classes merged, in index order.
pub const OP_NAMES: [&str; 2] = ["get", "put"];

#[derive(Deserialize)]
struct RawFile<'a> {
    #[serde(default)]
    peak_rss_bytes: Option<u64>,
    #[serde(borrow)]
    ops: RawPair<RawOp<'a>>,
    #[serde(borrow)]
    intervals: Vec<RawInterval<'a>>,
}

#[derive(Deserialize)]
struct RawPair<T> {
    get: Option<T>,
    put: Option<T>,
}

impl<T> RawPair<T> {
    fn at(&self, op: usize) -> Option<&T> {
        if op == 0 {
            self.get.as_ref()
        } else {
            self.put.as_ref()
        }
    }
}

#[derive(Deserialize)]
struct RawOp<'a> {
    count: u64,
    bytes: u64,
    errors: u64,
    #[serde(default, borrow)]
    errors_by_kind: BTreeMap<Cow<'a, str>, u64>,
    latency_us: LatencySummary,
    /// Raw bytes, not `str`: base64 rejects non-ASCII, so a UTF-8 check would be wasted.
    #[serde(borrow)]
    histogram: Cow<'a, [u8]>,
}

#[derive(Deserialize)]
struct RawInterval<'a> {
    start_unix_ns: u64,
    end_unix_ns: u64,
    #[serde(borrow)]
    ops: RawPair<RawIntervalOp<'a>>,
}

#[derive(Deserialize)]
struct RawIntervalOp<'a> {
    count: u64,
    bytes: u64,
    errors: u64,
    /// Raw bytes, not `str`: base64 rejects non-ASCII, so a UTF-8 check would be wasted.
    #[serde(borrow)]
    histogram: Cow<'a, [u8]>,
}

/// One rank's figures for one operation class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankOp {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub latency: LatencySummary,
    /// Bytes and operations inside the steady window (prorated at its edges).
    pub steady_bytes: f64,
    pub steady_count: f64,
}

/// What a rank leaves behind after the heavy pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankResult {
    pub rank: u32,
    pub host: String,
    pub status: String,
    pub stop_reason: String,
    pub engine_version: String,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub peak_rss_bytes: Option<u64>,
    pub ops: [RankOp; 2],
    /// The rank's series per operation class (downsampled to the point cap).
    pub series: [RankSeries; 2],
    /// How many resolutions one of this rank's intervals spans (≥ 1).
    pub widen: u64,
    /// Inconsistencies worth a warning (the data is still used).
    pub notes: Vec<String>,
}

impl RankResult {
    pub fn secs(&self) -> f64 {
        self.end_unix_ns.saturating_sub(self.start_unix_ns) as f64 / 1e9
    }
    /// Bytes of all operation classes per second of this rank's measured phase.
    pub fn throughput(&self) -> f64 {
        let s = self.secs();
        if s > 0.0 {
            (self.ops[0].bytes + self.ops[1].bytes) as f64 / s
        } else {
            0.0
        }
    }
}

/// Ranks whose interval histograms are added to the timeline together (about 0.8 MB each for
/// an hour of 1 s intervals with a few dozen latencies per interval).
pub const BATCH_RANKS: usize = 32;
/// A packed counter: index in the top 15 bits, count in the low 17 (an interval's count at one
/// latency is far below 131,072; a larger one is added at once instead of batched).
const COUNT_BITS: u32 = 17;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// Interval counters waiting to be added to the timeline.
#[derive(Default)]
struct Batch {
    packed: Vec<u32>,
    runs: Vec<Run>,
    /// Per rank of the batch, its range of `runs` (buckets non-decreasing within it).
    ranks: Vec<(usize, usize)>,
}

#[derive(Clone, Copy)]
struct Run {
    bucket: u32,
    op: u8,
    start: u32,
    end: u32,
}

/// Where a rank's data goes.
pub struct Sinks<'a> {
    pub timeline: &'a mut Timeline,
    pub totals: &'a mut [Histogram<u64>; 2],
    /// The steady window, if there is one.
    pub steady: Option<(u64, u64)>,
    /// Most points of one rank's series.
    pub point_cap: u64,
}

/// Reads rank files one at a time with reused buffers.
#[derive(Default)]
pub struct Reader {
    buf: Vec<u8>,
    dec: HistDecoder,
    /// Decoded counters of the file being read; `spans[k]` delimits histogram `k`.
    staged: Vec<(u32, u64)>,
    spans: Vec<(usize, usize)>,
    acc: [Dense; 2],
    batch: Batch,
}

impl Reader {
    /// Reads `head`'s file and folds it into `sinks`. On error nothing has been folded.
    pub fn read(&mut self, head: &Head, sinks: &mut Sinks) -> Result<RankResult, String> {
        read_prefix(&head.path, &mut self.buf, usize::MAX)
            .map_err(|e| format!("cannot read it: {e}"))?;
        let buf = std::mem::take(&mut self.buf);
        let out = self.read_parsed(head, &buf, sinks);
        self.buf = buf;
        if self.batch.ranks.len() >= BATCH_RANKS {
            self.flush_batch(sinks.timeline);
        }
        out
    }

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
                    for &p in &b.packed[run.start as usize..run.end as usize] {
                        hist.add((p >> COUNT_BITS) as usize, u64::from(p) & COUNT_MASK);
                    }
                    cursor[k] += 1;
                }
            }
        }
        b.packed.clear();
        b.runs.clear();
        b.ranks.clear();
    }

    fn stage(&mut self, text: &[u8], what: impl FnOnce() -> String) -> Result<u64, String> {
        let at = self.staged.len();
        let staged = &mut self.staged;
        let total = self
            .dec
            .decode(text, |i, c| {
                let fresh = staged.len() == at;
                match staged.last_mut() {
                    Some(last) if !fresh && last.0 == i as u32 => last.1 += c,
                    _ => staged.push((i as u32, c)),
                }
            })
            .map_err(|e| format!("{}: {e}", what()))?;
        self.spans.push((at, self.staged.len()));
        Ok(total)
    }

    fn read_parsed(
        &mut self,
        head: &Head,
        buf: &[u8],
        sinks: &mut Sinks,
    ) -> Result<RankResult, String> {
        let file: RawFile = serde_json::from_slice(buf).map_err(|e| e.to_string())?;
        self.staged.clear();
        self.spans.clear();
        let mut notes = Vec::new();
        // Stage every histogram: whole-run ones first (spans 0 and 1), then the intervals'.
        for (op, name) in OP_NAMES.iter().enumerate() {
            match file.ops.at(op) {
                Some(o) => {
                    let total = self.stage(&o.histogram, || format!("ops.{name}.histogram"))?;
                    if total != o.count {
                        notes.push(format!(
                            "ops.{name}: histogram holds {total} operations, count says {}",
                            o.count
                        ));
                    }
                }
                None => self.spans.push((0, 0)),
            }
        }
        let mut interval_sums = [0u64; 2];
        for (k, iv) in file.intervals.iter().enumerate() {
            for (op, name) in OP_NAMES.iter().enumerate() {
                match iv.ops.at(op) {
                    Some(o) if o.count > 0 => {
                        self.stage(&o.histogram, || {
                            format!("intervals[{k}].ops.{name}.histogram")
                        })?;
                        interval_sums[op] += o.count;
                    }
                    _ => self.spans.push((0, 0)),
                }
            }
        }
        let mut r = RankResult {
            rank: head.rank,
            host: head.host.clone(),
            status: head.status.clone(),
            stop_reason: head.stop_reason.clone(),
            engine_version: head.engine_version.clone(),
            start_unix_ns: head.start_unix_ns,
            end_unix_ns: head.end_unix_ns,
            peak_rss_bytes: file.peak_rss_bytes,
            ..RankResult::default()
        };
        for (op, name) in OP_NAMES.iter().enumerate() {
            let Some(o) = file.ops.at(op) else { continue };
            if interval_sums[op] != o.count {
                notes.push(format!(
                    "intervals hold {} {name} operations, ops.{name}.count says {}",
                    interval_sums[op], o.count
                ));
            }
            let ro = &mut r.ops[op];
            (ro.count, ro.bytes, ro.errors, ro.latency) =
                (o.count, o.bytes, o.errors, o.latency_us);
            ro.errors_by_kind = o
                .errors_by_kind
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect();
            let (a, b) = self.spans[op];
            for &(i, c) in &self.staged[a..b] {
                sinks.totals[op].saturating_record_n(hist::value_for(i as usize), c);
            }
        }
        r.notes = notes;
        self.fold_intervals(&file.intervals, &mut r, sinks);
        Ok(r)
    }

    fn fold_intervals(&mut self, ivs: &[RawInterval], r: &mut RankResult, sinks: &mut Sinks) {
        let res = sinks.timeline.res_ns;
        let widen = match ivs {
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
        let mut points = [Point::default(), Point::default()];
        let first_run = self.batch.runs.len();
        let mut last_bucket = 0usize;
        for (k, iv) in ivs.iter().enumerate() {
            let mid = iv.start_unix_ns / 2 + iv.end_unix_ns / 2;
            let key = mid / res / group;
            if current != Some(key) {
                if current.is_some() {
                    self.flush(&mut points, r);
                }
                current = Some(key);
                for p in &mut points {
                    *p = Point {
                        t_unix_ns: key * group * res,
                        ..Point::default()
                    };
                }
            }
            let b = sinks.timeline.index_of(mid);
            let len = iv.end_unix_ns.saturating_sub(iv.start_unix_ns);
            let frac = match sinks.steady {
                Some((ws, we)) if len > 0 => {
                    let o = iv
                        .end_unix_ns
                        .min(we)
                        .saturating_sub(iv.start_unix_ns.max(ws));
                    o as f64 / len as f64
                }
                _ => 0.0,
            };
            for (op, p) in points.iter_mut().enumerate() {
                let Some(o) = iv.ops.at(op) else { continue };
                let cell = &mut sinks.timeline.cells[b][op];
                cell.ops += o.count;
                cell.bytes += o.bytes;
                cell.errors += o.errors;
                p.ops += o.count;
                p.bytes += o.bytes;
                p.errors += o.errors;
                r.ops[op].steady_bytes += o.bytes as f64 * frac;
                r.ops[op].steady_count += o.count as f64 * frac;
                let (a, z) = self.spans[2 + 2 * k + op];
                let list = &self.staged[a..z];
                for &(i, c) in list {
                    self.acc[op].add(i as usize, c);
                }
                // Batch the counters unless this rank's intervals go back in time or a count
                // does not fit the packing; then add them now.
                let batchable = b >= last_bucket && list.iter().all(|e| e.1 <= COUNT_MASK);
                if batchable && !list.is_empty() {
                    last_bucket = b;
                    let start = self.batch.packed.len() as u32;
                    self.batch
                        .packed
                        .extend(list.iter().map(|&(i, c)| (i << COUNT_BITS) | c as u32));
                    self.batch.runs.push(Run {
                        bucket: b as u32,
                        op: op as u8,
                        start,
                        end: self.batch.packed.len() as u32,
                    });
                } else if !batchable {
                    for &(i, c) in list {
                        cell.hist.add(i as usize, c);
                    }
                }
            }
        }
        if current.is_some() {
            self.flush(&mut points, r);
        }
        self.batch.ranks.push((first_run, self.batch.runs.len()));
    }

    /// Ends the rank's current group: percentiles from its merged histogram.
    fn flush(&mut self, points: &mut [Point; 2], r: &mut RankResult) {
        for ((p, acc), series) in points.iter().zip(&mut self.acc).zip(&mut r.series) {
            let mut p = *p;
            [p.p50_us, p.p90_us, p.p99_us] = acc.quantiles([0.5, 0.9, 0.99]);
            series.points.push(p);
            acc.clear();
        }
    }
}
