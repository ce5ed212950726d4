//! What one thread accumulates from a set of ranks ([`Partial`]), and how partial results
//! combine, so that ranks can be split across threads and folded in any order.
//!
//! A [`Partial`] holds everything the heavy pass leaves behind: the [`Timeline`], the whole-run
//! histograms, the phases and service latency, the accepted ranks, the rejected files, the
//! per-rank warnings, and its own [`Reader`] (buffers and batch). [`Partial::fold`] reads one
//! rank into it; [`Partial::absorb`] adds another partial's ranks.
//!
//! Invariant: the result does not depend on how the ranks were split nor on the order they
//! were folded in. Integer counters and histograms add exactly in any order; everything
//! order-sensitive is kept with its rank and put in rank order when read: the accepted ranks
//! and the rejected files are sorted by rank, each warning carries its rank, the weighted
//! means' float terms are summed in rank order ([`Acc`](super::phases::Acc)), and the `rate`
//! keys (whose merge judges ranks against the first one) stay in the ranks and are added in
//! rank order at the end.
//!
//! The steady window depends on every rank's span, which a streaming merge does not know
//! until the last rank arrives. A partial made with [`Partial::deferred`] folds without it
//! and keeps, per rank, what the steady figures need ([`SteadyIv`], 48 bytes per interval:
//! 177 MB at 1,024 ranks × 3,600 intervals); [`Partial::apply_steady`] computes them once the
//! window is known, with the same function ([`add_steady`]) in the same interval order as an
//! immediate fold, so the figures are bit for bit the same.

use hdrhistogram::Histogram;

use ringload_core::hist::{add_histogram, new_histogram};
use ringload_core::result::RunStatus;

use super::error::{MergeError, Problem};
use super::head::Head;
use super::phases::PhaseTotals;
use super::rank::{RankOp, RankResult, Reader, Sinks, N_OPS};
use super::rate::ServiceTotals;
use super::timeline::Timeline;
use super::{RANK_POINTS_BUDGET, RANK_POINTS_MAX, RANK_POINTS_MIN};

/// What every rank's fold needs to know about the whole run before it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Time bucket width.
    pub res_ns: u64,
    /// The earliest start and the latest end of the ranks (the timeline's initial span).
    pub start_ns: u64,
    pub end_ns: u64,
    /// The steady window (every completed rank running), if there is one.
    pub steady: Option<(u64, u64)>,
    /// Most points of one rank's series.
    pub point_cap: u64,
}

impl Frame {
    /// The frame of a run made of `heads` (any order).
    pub fn of(res_ns: u64, heads: &[Head]) -> Frame {
        let start_ns = heads.iter().map(|h| h.start_unix_ns).min().unwrap_or(0);
        let end_ns = heads.iter().map(|h| h.end_unix_ns).max().unwrap_or(0);
        // The steady window spans the completed ranks (a failed rank's early end would hide it).
        let completed: Vec<&Head> = heads
            .iter()
            .filter(|h| h.status == RunStatus::Completed.as_str())
            .collect();
        let basis: Vec<&Head> = if completed.is_empty() {
            heads.iter().collect()
        } else {
            completed
        };
        let ws = basis.iter().map(|h| h.start_unix_ns).max().unwrap_or(0);
        let we = basis.iter().map(|h| h.end_unix_ns).min().unwrap_or(0);
        let n = heads.len() as u64;
        Frame {
            res_ns,
            start_ns,
            end_ns,
            steady: (ws < we).then_some((ws, we)),
            point_cap: Frame::point_cap(n),
        }
    }

    /// Most points of one rank's series in a run of `ranks` ranks.
    pub fn point_cap(ranks: u64) -> u64 {
        (RANK_POINTS_BUDGET / ranks.max(1)).clamp(RANK_POINTS_MIN, RANK_POINTS_MAX)
    }
}

/// The share of the interval `[start_ns, end_ns)` inside the steady `window` (0 without one,
/// or for an empty interval).
#[inline]
pub fn steady_frac(start_ns: u64, end_ns: u64, window: Option<(u64, u64)>) -> f64 {
    let len = end_ns.saturating_sub(start_ns);
    match window {
        Some((ws, we)) if len > 0 => {
            let o = end_ns.min(we).saturating_sub(start_ns.max(ws));
            o as f64 / len as f64
        }
        _ => 0.0,
    }
}

/// Adds one interval's prorated share to a rank's steady figures: the one place they are
/// summed, in interval order, by an immediate fold and by [`Partial::apply_steady`] alike.
#[inline]
pub fn add_steady(op: &mut RankOp, count: u64, bytes: u64, frac: f64) {
    op.steady_bytes += bytes as f64 * frac;
    op.steady_count += count as f64 * frac;
}

/// What the steady figures need of one interval (kept by a [`Partial::deferred`]).
#[derive(Debug, Clone, Copy)]
pub struct SteadyIv {
    pub start_ns: u64,
    pub end_ns: u64,
    pub count: [u64; N_OPS],
    pub bytes: [u64; N_OPS],
}

/// Everything folded from a set of ranks (see the module doc).
pub struct Partial {
    pub frame: Frame,
    pub timeline: Timeline,
    /// The whole-run histogram per operation class.
    pub totals: [Histogram<u64>; N_OPS],
    pub phases: PhaseTotals,
    pub service: ServiceTotals,
    /// The accepted ranks, in the order folded (their `rate` keys still in them).
    pub ranks: Vec<RankResult>,
    /// The rejected files (`Problem::Corrupt`) with their rank.
    pub rejected: Vec<(u32, Problem)>,
    /// Per rank, its warning lines in the order that rank produced them.
    pub warnings: Vec<(u32, String)>,
    /// Per accepted rank, its intervals' steady inputs, when the steady window is deferred.
    steady_log: Option<Vec<(u32, Vec<SteadyIv>)>>,
    reader: Reader,
}

impl Partial {
    /// An empty partial whose timeline covers the frame's span.
    pub fn new(frame: Frame) -> Result<Partial, MergeError> {
        Ok(Partial {
            frame,
            timeline: Timeline::new(frame.res_ns, frame.start_ns, frame.end_ns)?,
            totals: std::array::from_fn(|_| new_histogram()),
            phases: PhaseTotals::default(),
            service: ServiceTotals::default(),
            ranks: Vec::new(),
            rejected: Vec::new(),
            warnings: Vec::new(),
            steady_log: None,
            reader: Reader::default(),
        })
    }

    /// An empty partial that folds without the steady window (`frame.steady` is ignored):
    /// [`Partial::apply_steady`] adds the steady figures once the window is known.
    pub fn deferred(frame: Frame) -> Result<Partial, MergeError> {
        let mut p = Partial::new(Frame {
            steady: None,
            ..frame
        })?;
        p.steady_log = Some(Vec::new());
        Ok(p)
    }

    /// Reads `head`'s file and folds it in (ranks in any order, each once). A file that
    /// cannot be read or decoded is rejected whole: nothing of it is folded.
    pub fn fold(&mut self, head: &Head) {
        // Grow the timeline to the rank's span first; batched runs hold cell indices, so
        // they go in before the front moves.
        let (s, e) = (head.start_unix_ns, head.end_unix_ns);
        let first = s / self.timeline.res_ns;
        if first < self.timeline.first {
            self.reader.flush_batch(&mut self.timeline);
        }
        if let Err(err) = self.timeline.ensure(s, e) {
            self.reject(head, err.to_string());
            return;
        }
        let mut sinks = Sinks {
            timeline: &mut self.timeline,
            totals: &mut self.totals,
            steady: self.frame.steady,
            point_cap: self.frame.point_cap,
        };
        match self.reader.read(head, &mut sinks) {
            Ok(mut r) => {
                self.phases.add(r.rank, std::mem::take(&mut r.phases));
                self.service.add(r.rank, std::mem::take(&mut r.service));
                for note in &r.notes {
                    let line = format!("rank {} ({}): {note}", head.rank, head.name);
                    self.warnings.push((head.rank, line));
                }
                for w in std::mem::take(&mut r.warnings) {
                    self.warnings
                        .push((head.rank, format!("rank {}: {w}", head.rank)));
                }
                if let Some(log) = &mut self.steady_log {
                    let ivs = self.reader.ivs.iter().map(|iv| SteadyIv {
                        start_ns: iv.start_unix_ns,
                        end_ns: iv.end_unix_ns,
                        count: iv.ops.map(|o| o.count),
                        bytes: iv.ops.map(|o| o.bytes),
                    });
                    log.push((r.rank, ivs.collect()));
                }
                self.ranks.push(r);
            }
            Err(error) => self.reject(head, error),
        }
    }

    fn reject(&mut self, head: &Head, error: String) {
        let p = Problem::Corrupt {
            file: head.name.clone(),
            error,
        };
        self.warnings.push((head.rank, p.to_string()));
        self.rejected.push((head.rank, p));
    }

    /// Adds the batched interval histograms to the timeline (before it is read or absorbed).
    pub fn flush(&mut self) {
        self.reader.flush_batch(&mut self.timeline);
    }

    /// Adds `other` (other ranks, same frame) into this partial.
    pub fn absorb(&mut self, mut other: Partial) -> Result<(), MergeError> {
        self.flush();
        other.flush();
        self.timeline.absorb(&other.timeline)?;
        for (mine, theirs) in self.totals.iter_mut().zip(&other.totals) {
            add_histogram(mine, theirs);
        }
        self.phases.absorb(other.phases);
        self.service.absorb(other.service);
        self.ranks.append(&mut other.ranks);
        self.rejected.append(&mut other.rejected);
        self.warnings.append(&mut other.warnings);
        // Partials of one merge are all deferred or all immediate.
        debug_assert_eq!(self.steady_log.is_some(), other.steady_log.is_some());
        if let (Some(mine), Some(mut theirs)) = (&mut self.steady_log, other.steady_log) {
            mine.append(&mut theirs);
        }
        Ok(())
    }

    /// The steady figures of a [`Partial::deferred`]'s ranks, now that the `window` is known
    /// (nothing for an immediate partial, whose fold added them).
    pub fn apply_steady(&mut self, window: Option<(u64, u64)>) {
        let Some(log) = self.steady_log.take() else {
            return;
        };
        for (rank, ivs) in log {
            let Some(r) = self.ranks.iter_mut().find(|r| r.rank == rank) else {
                continue;
            };
            for op in &mut r.ops {
                (op.steady_bytes, op.steady_count) = (0.0, 0.0);
            }
            for iv in &ivs {
                let frac = steady_frac(iv.start_ns, iv.end_ns, window);
                for (op, o) in r.ops.iter_mut().enumerate() {
                    add_steady(o, iv.count[op], iv.bytes[op], frac);
                }
            }
        }
    }

    /// Flushes the batch and puts the rank-keyed parts in rank order (stable: a rank's own
    /// lines keep their order).
    pub fn settle(&mut self) {
        self.flush();
        self.ranks.sort_by_key(|r| r.rank);
        self.rejected.sort_by_key(|p| p.0);
        self.warnings.sort_by_key(|w| w.0);
    }
}

/// Folds `heads` on `threads` threads (at most one per head, at least one): contiguous
/// chunks, one [`Partial`] each, absorbed in chunk order. One thread folds inline.
pub fn fold_all(frame: Frame, heads: &[Head], threads: usize) -> Result<Partial, MergeError> {
    let n = threads.clamp(1, heads.len().max(1));
    let chunk = heads.len().div_ceil(n).max(1);
    let mut chunks = heads.chunks(chunk);
    let Some(first) = chunks.next() else {
        return Partial::new(frame);
    };
    let fold = |part: &[Head]| -> Result<Partial, MergeError> {
        let mut p = Partial::new(frame)?;
        for h in part {
            p.fold(h);
        }
        p.flush();
        Ok(p)
    };
    std::thread::scope(|s| {
        let others: Vec<_> = chunks.map(|c| s.spawn(move || fold(c))).collect();
        let mut all = fold(first)?;
        for t in others {
            let p = t.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?;
            all.absorb(p)?;
        }
        Ok(all)
    })
}
