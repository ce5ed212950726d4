//! Reading one rank's file in the heavy pass: parsing and decoding, before anything is folded.
//!
//! The file is memory-mapped ([`mapped`](super::mapped)). Its `intervals` array, 99% of the
//! file, goes through the [`scan`](super::scan) fast path when it has the engine's layout,
//! and through serde (borrowed structs, histograms as byte slices) otherwise; the rest of
//! the file always goes through serde. Every histogram is decoded first into the staging
//! area ([`Staged`]: packed counters that later batches reuse in place), so a corrupt
//! histogram rejects the whole file before anything is folded: a skipped rank never leaves
//! half its data in the totals. Folding is [`fold`](super::fold)'s.
//!
//! Memory: the mapping, a small parse tree and the staging area, all reused; what a rank
//! leaves behind is numbers ([`RankResult`]). The file's serde shapes are `raw.rs`'s.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use ringload_core::client::ClientRecord;
use ringload_core::hist::LatencySummary;
use ringload_core::rate::RateRecord;
use ringload_core::result::{decode_histogram, ProxyCount, TlsRecord};

use super::accum::Dense;
use super::decode::HistDecoder;
use super::fold::{Batch, Staged};
use super::head::Head;
use super::mapped;
use super::model::RankSeries;
use super::phases::{self, RankPhase, RankPhases};
use super::scan;
use super::timeline::Timeline;

pub use super::classes::{op_label, BASIC_OPS, N_OPS, OP_LABELS, OP_NAMES};
use raw::{RawFile, RawOp};

/// One rank's figures for one operation class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankOp {
    /// Whether the rank's file has this class (`get` and `put` are always shown).
    pub present: bool,
    pub count: u64,
    /// `get_batch`: the objects its batches delivered (0 for the other classes).
    pub objects: u64,
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
    /// The rank's `tls` key, for a run over https.
    pub tls: Option<TlsRecord>,
    /// The rank's `proxies` key, for a `--random-proxy` run.
    pub proxies: Vec<ProxyCount>,
    pub ops: [RankOp; N_OPS],
    /// The rank's phases (absent in older files), decoded; the merge takes them out once the file is
    /// accepted ([`phases::PhaseTotals::add`]).
    pub phases: RankPhases,
    /// The rank's service latency per class (a `--rate` run), decoded; taken out like the
    /// phases ([`super::rate::ServiceTotals::add`]).
    pub service: [Option<Box<RankPhase>>; N_OPS],
    /// The rank's `rate` key, taken out by the merge ([`super::rate::RateTotals::add`]).
    pub rate: Option<RateRecord>,
    /// The rank's `client` key.
    pub client: Option<ClientRecord>,
    /// The rank's own `warnings`.
    pub warnings: Vec<String>,
    /// The rank's series per operation class (downsampled to the point cap).
    pub series: [RankSeries; N_OPS],
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
            self.ops.iter().map(|o| o.bytes).sum::<u64>() as f64 / s
        } else {
            0.0
        }
    }
}

/// Where a rank's data goes.
pub struct Sinks<'a> {
    pub timeline: &'a mut Timeline,
    pub totals: &'a mut [Histogram<u64>; N_OPS],
    /// The steady window, if there is one.
    pub steady: Option<(u64, u64)>,
    /// Most points of one rank's series.
    pub point_cap: u64,
}

/// One interval of the file being read, its histograms staged.
#[derive(Clone, Copy, Default)]
pub struct Iv {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    /// Per class: count, bytes, errors and the staged histogram.
    pub ops: [IvOp; N_OPS],
}

#[derive(Clone, Copy, Default)]
pub struct IvOp {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    pub hist: Staged,
}

/// Reads rank files one at a time with reused buffers.
#[derive(Default)]
pub struct Reader {
    buf: Vec<u8>,
    /// The read buffer of a `/2` file's carrier (when it cannot be mapped).
    side: Vec<u8>,
    small: Vec<u8>,
    dec: HistDecoder,
    /// The intervals of the file being read.
    pub(super) ivs: Vec<Iv>,
    /// Counts too large to pack, in staging order (see [`Staged`]).
    pub(super) big: Vec<u64>,
    pub(super) acc: [Dense; N_OPS],
    /// The staged whole-run histograms of the file being read.
    pub(super) whole: [Staged; N_OPS],
    /// Packed counters: the staging area of the file being read, and the batch.
    pub(super) batch: Batch,
}

/// Whether the scanner or serde read the intervals (tests check both are taken).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Path {
    Fast,
    Serde,
    /// A `/2` file: the intervals came from its binary carrier.
    Carrier,
}

impl Reader {
    /// Reads `head`'s file and folds it into `sinks`. On error nothing has been folded.
    pub fn read(&mut self, head: &Head, sinks: &mut Sinks) -> Result<RankResult, String> {
        let mut buf = std::mem::take(&mut self.buf);
        let out = match mapped::open(&head.path, &mut buf) {
            Ok(bytes) => self.read_bytes(head, &bytes, sinks).map(|r| r.0),
            Err(e) => Err(format!("cannot read it: {e}")),
        };
        self.buf = buf;
        if self.batch.ranks.len() >= super::fold::BATCH_RANKS {
            self.flush_batch(sinks.timeline);
        }
        out
    }

    /// Parses and folds one file's bytes; also says which path read the intervals.
    pub fn read_bytes(
        &mut self,
        head: &Head,
        buf: &[u8],
        sinks: &mut Sinks,
    ) -> Result<(RankResult, Path), String> {
        let mark = self.batch.mark();
        let out = self.parse(head, buf);
        match out {
            Ok((r, path)) => {
                let mut r = r;
                self.fold(&mut r, sinks);
                Ok((r, path))
            }
            Err(e) => {
                self.batch.rollback(mark);
                Err(e)
            }
        }
    }

    /// Decodes one histogram into the staging area; returns it and its total count.
    fn stage(
        &mut self,
        text: &[u8],
        what: impl FnOnce() -> String,
    ) -> Result<(Staged, u64), String> {
        let packed = &mut self.batch.packed;
        let big = &mut self.big;
        let (start, big_start) = (packed.len() as u32, big.len() as u32);
        let total = self
            .dec
            .decode_packed(text, packed, big)
            .map_err(|e| format!("{}: {e}", what()))?;
        let staged = Staged {
            start,
            end: packed.len() as u32,
            big_start,
            big_end: big.len() as u32,
        };
        Ok((staged, total))
    }

    fn stage_interval(
        &mut self,
        k: usize,
        iv: &scan::Interval,
        sums: &mut [u64; N_OPS],
    ) -> Result<(), String> {
        let mut rec = Iv {
            start_unix_ns: iv.start_unix_ns,
            end_unix_ns: iv.end_unix_ns,
            ..Iv::default()
        };
        for (op, (o, out)) in iv.ops.iter().zip(&mut rec.ops).enumerate() {
            (out.count, out.bytes, out.errors) = (o.count, o.bytes, o.errors);
            if o.count > 0 {
                let name = OP_NAMES[op];
                out.hist = self
                    .stage(o.histogram, || {
                        format!("intervals[{k}].ops.{name}.histogram")
                    })?
                    .0;
                sums[op] += o.count;
            }
        }
        self.ivs.push(rec);
        Ok(())
    }

    /// Stages a whole-run class: its histogram, and its figures into `r`.
    fn stage_op(&mut self, op: usize, o: &RawOp, r: &mut RankResult) -> Result<(), String> {
        let name = OP_NAMES[op];
        let (staged, total) = self.stage(&o.histogram, || format!("ops.{name}.histogram"))?;
        self.whole[op] = staged;
        if total != o.count {
            r.notes.push(format!(
                "ops.{name}: histogram holds {total} operations, count says {}",
                o.count
            ));
        }
        if let Some(p) = &o.phases {
            r.phases[op] = Some(phases::decode(op, p)?);
        }
        match (&o.service_latency_us, &o.service_histogram) {
            (Some(latency), Some(text)) => {
                let hist = decode_histogram(text)
                    .map_err(|e| format!("ops.{name}.service_histogram: {e}"))?;
                r.service[op] = Some(Box::new(RankPhase {
                    count: hist.len(),
                    latency: *latency,
                    hist,
                }));
            }
            (None, None) => {}
            _ => r.notes.push(format!(
                "ops.{name}: service_latency_us and service_histogram come together; the                  service latency is left out"
            )),
        }
        let ro = &mut r.ops[op];
        (ro.count, ro.bytes, ro.errors, ro.latency) = (o.count, o.bytes, o.errors, o.latency_us);
        (ro.present, ro.objects) = (true, o.objects.unwrap_or(0));
        ro.errors_by_kind = o
            .errors_by_kind
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        Ok(())
    }

    /// Stages the rest of the file (parsed by serde) into `r`.
    fn stage_rest(&mut self, file: &RawFile, r: &mut RankResult) -> Result<(), String> {
        r.peak_rss_bytes = file.peak_rss_bytes;
        r.tls = file.tls.clone();
        r.proxies = file.proxies.clone();
        r.rate = file.rate.clone();
        r.client = file.client.clone();
        r.warnings = file.warnings.clone();
        for op in 0..N_OPS {
            if let Some(o) = file.ops.at(op) {
                self.stage_op(op, o, r)?;
            }
        }
        Ok(())
    }

    /// Stages the intervals (fast path if it applies) and the rest of the file.
    fn parse_file(
        &mut self,
        head: &Head,
        buf: &[u8],
        r: &mut RankResult,
        sums: &mut [u64; N_OPS],
    ) -> Result<Path, String> {
        let mark = self.batch.mark();
        if let Some(at) = scan::find(buf) {
            let mut k = 0;
            let scanned = scan::intervals(buf, at, |iv| {
                let out = self.stage_interval(k, &iv, sums);
                k += 1;
                out
            })?;
            if let Some(close) = scanned {
                // The rest of the file, with an empty array in place of the scanned one.
                let mut small = std::mem::take(&mut self.small);
                small.clear();
                small.extend_from_slice(&buf[..at]);
                small.extend_from_slice(&buf[close..]);
                let out = match serde_json::from_slice::<RawFile>(&small) {
                    // The scanned array was the top-level one: the file is read.
                    Ok(file) if file.intervals.is_empty() && file.intervals_file.is_none() => {
                        self.stage_rest(&file, r).map(|()| Some(Path::Fast))
                    }
                    // It was nested somewhere else: serde decides below.
                    Ok(_) => Ok(None),
                    Err(e) => Err(e.to_string()),
                };
                self.small = small;
                if let Some(path) = out? {
                    return Ok(path);
                }
            }
        }
        // Not the engine's layout: serde reads everything.
        self.batch.rollback(mark);
        self.ivs.clear();
        self.big.clear();
        *sums = [0; N_OPS];
        let file: RawFile = serde_json::from_slice(buf).map_err(|e| e.to_string())?;
        if let Some(f) = &file.intervals_file {
            if !file.intervals.is_empty() {
                return Err("the file has both inline intervals and an intervals_file".into());
            }
            self.stage_carrier(head, f, sums)?;
            self.stage_rest(&file, r)?;
            return Ok(Path::Carrier);
        }
        for (k, iv) in file.intervals.iter().enumerate() {
            self.stage_interval(k, &iv.scanned(), sums)?;
        }
        self.stage_rest(&file, r)?;
        Ok(Path::Serde)
    }

    fn parse(&mut self, head: &Head, buf: &[u8]) -> Result<(RankResult, Path), String> {
        self.ivs.clear();
        self.big.clear();
        self.whole = [Staged::default(); N_OPS];
        let mut r = RankResult {
            rank: head.rank,
            host: head.host.clone(),
            status: head.status.clone(),
            stop_reason: head.stop_reason.clone(),
            engine_version: head.engine_version.clone(),
            start_unix_ns: head.start_unix_ns,
            end_unix_ns: head.end_unix_ns,
            ..RankResult::default()
        };
        let mut sums = [0u64; N_OPS];
        let path = self.parse_file(head, buf, &mut r, &mut sums)?;
        for (op, name) in OP_NAMES.iter().enumerate() {
            if r.ops[op].count != sums[op] {
                r.notes.push(format!(
                    "intervals hold {} {name} operations, ops.{name}.count says {}",
                    sums[op], r.ops[op].count
                ));
            }
        }
        Ok((r, path))
    }
}

mod carrier;
mod raw;

#[cfg(test)]
mod tests;
