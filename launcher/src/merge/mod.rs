//! `ringload merge`: the exact merge of one run's rank result files (docs/results.md).
//!
//! Two passes over the directory, one file at a time:
//! 1. **Heads** ([`head`]): the top-level keys of every `*.json` file, read from its first
//!    64 KiB. They decide completeness ([`plan`]: run id, rank count, missing, failed,
//!    duplicated and foreign files) before anything heavy is read, size the time buckets, and
//!    fix the steady window.
//! 2. **Ranks** ([`rank`]): the ranks are split into `--threads` contiguous sets; each thread
//!    reads its ranks' files one at a time, parsed into borrowed structs from one reused
//!    buffer, their histograms staged without allocation ([`decode`], or copied from a `/2`
//!    carrier) and added into its own [`Partial`]: cluster totals and [`timeline`]. The
//!    partials are then added together ([`partial`]). Only numbers stay behind per rank, so
//!    memory is one time series and one file per thread, whatever the number of ranks.
//!
//! What a `--rate` run adds (service latency, the rate and a sweep's steps) and the ranks'
//! self-diagnosis are merged by [`rate`], on the model of [`phases`].
//!
//! Then [`summary`] builds `summary.json`, [`text`] `summary.txt`, and [`MergeOutput::report`]
//! is the [`model::ReportData`] the plots are drawn from.
//!
//! Invariants: counters add; percentiles come from added histograms, never from averaged
//! percentiles; the outputs depend neither on the order the ranks are folded in nor on how
//! they are split across threads ([`partial`] says how).

pub mod accum;
mod b64;
pub mod classes;
pub mod decode;
pub mod error;
mod fold;
pub mod head;
pub mod hist;
mod mapped;
pub mod model;
pub mod partial;
pub mod phases;
pub mod plan;
pub mod rank;
pub mod rate;
mod scan;
pub mod stream;
pub mod summary;
pub mod text;
pub mod timeline;

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

pub use error::{MergeError, Problem};
use head::Scanned;
use model::{OpSeries, RankSeries, ReportData, Spectrum};
pub use partial::{Frame, Partial};
pub use rank::op_label;
use rank::{RankResult, N_OPS, OP_NAMES};
use summary::{Series, SkippedFile};
pub use summary::{Summary, SUMMARY_SCHEMA};

/// Default width of a time bucket.
pub const DEFAULT_RESOLUTION_NS: u64 = 1_000_000_000;
/// Most points of one rank's series in the report...
pub const RANK_POINTS_MAX: u64 = 600;
/// ...and of all ranks' series together (per operation class), so that 1,024 ranks cost
/// a few MB, not 70: each rank gets `budget / ranks` points, at least [`RANK_POINTS_MIN`].
pub const RANK_POINTS_BUDGET: u64 = 600 * 64;
pub const RANK_POINTS_MIN: u64 = 60;
/// Ticks per half-distance of the percentile spectrum (HdrHistogram's percentile iterator).
pub const SPECTRUM_TICKS: u32 = 5;

/// How to merge.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// Width of a time bucket (≥ 1 s).
    pub resolution_ns: u64,
    /// Merge what is there when ranks are missing, failed or unreadable (report marked
    /// partial) instead of failing.
    pub allow_partial: bool,
    /// Threads that read and fold the ranks (at least 1); the outputs do not depend on it.
    pub threads: usize,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            resolution_ns: DEFAULT_RESOLUTION_NS,
            allow_partial: false,
            threads: online_cpus(),
        }
    }
}

/// The CPUs this process may run on (1 when that cannot be known).
pub fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Everything a merge produces.
#[derive(Debug, Clone)]
pub struct MergeOutput {
    pub summary: Summary,
    /// `summary.json`: pretty JSON ending with a newline.
    pub summary_json: String,
    /// `summary.txt`.
    pub summary_txt: String,
    /// What the plots and `report.html` are drawn from.
    pub report: ReportData,
}

/// Merges the result files of one run found in `dir`.
pub fn merge_dir(dir: &Path, opts: &MergeOptions) -> Result<MergeOutput, MergeError> {
    let plan = plan_dir(dir, opts)?;
    fold(plan, opts)
}

/// The first pass over `dir`: every file's head, and which of them make up the run (an
/// error when the run is incomplete and `opts` does not allow a partial merge).
pub fn plan_dir(dir: &Path, opts: &MergeOptions) -> Result<plan::Plan, MergeError> {
    if opts.resolution_ns < DEFAULT_RESOLUTION_NS {
        return Err(MergeError::Resolution {
            got_ns: opts.resolution_ns,
        });
    }
    let files = head::list_json(dir).map_err(|source| MergeError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut buf = Vec::new();
    let mut heads = Vec::new();
    let mut problems = Vec::new();
    for f in &files {
        match head::scan(f, &mut buf) {
            Scanned::Head(h) => heads.push(*h),
            Scanned::Ignored => {}
            Scanned::Corrupt(error) => problems.push(Problem::Corrupt {
                file: name_of(f),
                error,
            }),
        }
    }
    if heads.is_empty() {
        return Err(if problems.is_empty() {
            MergeError::NoResults {
                path: dir.to_path_buf(),
            }
        } else {
            MergeError::NoneReadable {
                path: dir.to_path_buf(),
                problems,
            }
        });
    }
    let plan = plan::check(heads, problems);
    if !plan.problems.is_empty() && !opts.allow_partial {
        return Err(MergeError::Incomplete {
            problems: plan.problems,
        });
    }
    Ok(plan)
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
}

/// The heavy pass, on `opts.threads` threads, and the outputs.
fn fold(plan: plan::Plan, opts: &MergeOptions) -> Result<MergeOutput, MergeError> {
    let frame = Frame::of(opts.resolution_ns, &plan.heads);
    let partial = partial::fold_all(frame, &plan.heads, opts.threads)?;
    finish(plan, partial, opts)
}

/// The outputs of a merge whose ranks (`plan.heads`, each folded once into `partial`, in any
/// order and split in any way) are all read: the same for every order and split. They equal
/// the offline merge's when `partial` was made with `Frame::of(opts.resolution_ns,
/// &plan.heads)` (the steady window and the series' point cap shape each rank's fold).
pub fn finish(
    mut plan: plan::Plan,
    mut partial: Partial,
    opts: &MergeOptions,
) -> Result<MergeOutput, MergeError> {
    let frame = Frame::of(opts.resolution_ns, &plan.heads);
    let (start, end, window) = (frame.start_ns, frame.end_ns, frame.steady);
    partial.settle();
    partial.apply_steady(window);
    partial.timeline.ensure(start, end)?;
    let Partial {
        timeline,
        totals,
        phases: phase_totals,
        service: service_totals,
        mut ranks,
        rejected,
        warnings: rank_warnings,
        ..
    } = partial;
    let mut warnings: Vec<String> = plan.problems.iter().map(|p| p.to_string()).collect();
    warnings.extend(rank_warnings.into_iter().map(|w| w.1));
    plan.problems.extend(rejected.into_iter().map(|p| p.1));
    let mut rate_totals = rate::RateTotals::default();
    for r in &mut ranks {
        rate_totals.add(r.rank, r.rate.take());
    }
    let mut skipped = Vec::new();
    if !plan.problems.is_empty() && !opts.allow_partial {
        return Err(MergeError::Incomplete {
            problems: plan.problems,
        });
    }
    if ranks.is_empty() {
        return Err(MergeError::NoneReadable {
            path: PathBuf::from(
                plan.heads
                    .first()
                    .and_then(|h| h.path.parent())
                    .unwrap_or(Path::new(".")),
            ),
            problems: plan.problems,
        });
    }
    for p in &plan.problems {
        if let Problem::Corrupt { file, error }
        | Problem::Status {
            file,
            status: error,
            ..
        } = p
        {
            if matches!(p, Problem::Corrupt { .. }) {
                skipped.push(SkippedFile {
                    file: file.clone(),
                    reason: error.clone(),
                });
            }
        }
        match p {
            Problem::Duplicate { file, rank, .. } => skipped.push(SkippedFile {
                file: file.clone(),
                reason: format!("a second file for rank {rank}"),
            }),
            Problem::RunId { file, found, .. } => skipped.push(SkippedFile {
                file: file.clone(),
                reason: format!("from run '{found}'"),
            }),
            Problem::Ranks { file, found, .. } => skipped.push(SkippedFile {
                file: file.clone(),
                reason: format!("says the run has {found} ranks"),
            }),
            _ => {}
        }
    }
    skipped.sort_by(|a, b| a.file.cmp(&b.file));
    if window.is_none() {
        warnings.push(
            "no steady window: some rank started after another had ended, so no moment had \
             every rank running"
                .into(),
        );
    }
    warnings.extend(phase_totals.note());
    warnings.extend(service_totals.note());
    warnings.extend(rate_totals.notes());
    let merged_rate = rate_totals.record(&mut warnings);
    let (client, client_bound) = rate::client(
        ranks
            .iter()
            .map(|r| (r.rank, r.host.as_str(), r.client.as_ref())),
    );
    // A rank's own `client-bound:` warning (listed above as `rank N: client-bound: ...`)
    // already says it; the merge's sentence stands in for ranks whose file has none.
    for b in &client_bound {
        let own = format!("rank {}: client-bound:", b.rank);
        if !warnings.iter().any(|w| w.starts_with(&own)) {
            warnings.push(b.sentence());
        }
    }
    let stragglers = summary::outliers(&ranks, &mut warnings);
    let widen = ranks.iter().map(|r| r.widen).max().unwrap_or(1);
    let secs = end.saturating_sub(start) as f64 / 1e9;
    let present: Vec<u32> = ranks.iter().map(|r| r.rank).collect();
    let mut missing = plan.missing.clone();
    for h in &plan.heads {
        if !present.contains(&h.rank) {
            missing.push(h.rank);
        }
    }
    missing.sort_unstable();
    let shown = summary::shown(&ranks);
    let s = Summary {
        schema: SUMMARY_SCHEMA.into(),
        run_id: plan.run_id.clone(),
        partial: !plan.problems.is_empty(),
        ranks_expected: plan.ranks,
        ranks_present: ranks.len() as u32,
        ranks_missing: missing,
        ranks_failed: plan.failed.clone(),
        skipped_files: skipped,
        start_unix_ns: start,
        end_unix_ns: end,
        duration_s: secs,
        ops: OP_NAMES
            .iter()
            .enumerate()
            .filter(|&(op, _)| shown[op])
            .map(|(op, name)| {
                let mut t = summary::op_totals(&ranks, op, &totals[op], secs);
                t.phases = phase_totals.record(op);
                (t.service_latency_us, t.service_histogram) = service_totals.record(op);
                (name.to_string(), t)
            })
            .collect(),
        steady_window: summary::steady(&ranks, window),
        start_skew_ns: ranks.iter().map(|r| r.start_unix_ns).max().unwrap_or(0)
            - ranks.iter().map(|r| r.start_unix_ns).min().unwrap_or(0),
        end_skew_ns: ranks.iter().map(|r| r.end_unix_ns).max().unwrap_or(0)
            - ranks.iter().map(|r| r.end_unix_ns).min().unwrap_or(0),
        stragglers,
        warnings,
        ranks: ranks
            .iter()
            .map(|r| summary::rank_totals(r, &shown))
            .collect(),
        tls: summary::tls(ranks.iter().filter_map(|r| r.tls.as_ref())),
        proxies: ringload_core::result::ProxyCount::merge(ranks.iter().map(|r| &r.proxies[..])),
        rate: merged_rate,
        client,
        client_bound,
        series: Series {
            step_ns: widen * opts.resolution_ns,
            ops: OP_NAMES
                .iter()
                .enumerate()
                .filter(|&(op, _)| shown[op])
                .map(|(op, name)| (name.to_string(), timeline.series(op, widen)))
                .collect(),
        },
    };
    let summary_txt = text::render(&s);
    let workload = plan
        .heads
        .first()
        .map(|h| h.workload.clone())
        .unwrap_or_default();
    let report = report(&s, ranks, &totals, summary_txt.clone(), workload, window);
    let mut summary_json = serde_json::to_string_pretty(&s).unwrap_or_default();
    summary_json.push('\n');
    Ok(MergeOutput {
        summary: s,
        summary_json,
        summary_txt,
        report,
    })
}

/// The plots' data: series of the classes that did something (GET at least), spectra.
fn report(
    s: &Summary,
    ranks: Vec<RankResult>,
    totals: &[Histogram<u64>; N_OPS],
    summary_txt: String,
    workload: serde_json::Value,
    window: Option<(u64, u64)>,
) -> ReportData {
    let mut per_rank: [Vec<RankSeries>; N_OPS] = Default::default();
    for r in ranks {
        for (op, s) in r.series.into_iter().enumerate() {
            per_rank[op].push(s);
        }
    }
    let mut series = Vec::new();
    let mut spectrum = Vec::new();
    let mut latency = Vec::new();
    for (op, name) in OP_NAMES.iter().enumerate() {
        let Some(t) = s.ops.get(*name) else {
            continue;
        };
        if op > 0 && t.count + t.errors == 0 {
            continue;
        }
        series.push(OpSeries {
            op: name.to_string(),
            step_ns: s.series.step_ns,
            total: s.series.ops[*name].clone(),
            per_rank: std::mem::take(&mut per_rank[op]),
        });
        latency.push(model::OpLatency {
            op: name.to_string(),
            count: t.count,
            latency: t.latency_us,
            service: t.service_latency_us,
            phases: t.phases.as_ref().map(|p| p.line_figures()),
        });
        let h = &totals[op];
        let points = if h.is_empty() {
            Vec::new()
        } else {
            h.iter_quantiles(SPECTRUM_TICKS)
                .map(|v| (v.quantile_iterated_to() * 100.0, v.value_iterated_to()))
                .collect()
        };
        spectrum.push(Spectrum {
            op: name.to_string(),
            points,
        });
    }
    ReportData {
        run_id: s.run_id.clone(),
        partial: s.partial,
        summary_txt,
        workload,
        warnings: s.warnings.clone(),
        steady_window: window,
        series,
        spectrum,
        latency,
        rate: s.rate.clone(),
        client_bound: s.client_bound.clone(),
    }
}

/// Writes `summary.json` and `summary.txt` into `out` (created if needed), each through a
/// temp file and a rename, replacing earlier ones.
pub fn write_outputs(out: &Path, m: &MergeOutput) -> Result<(), MergeError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MergeError::Write { path, source }
    };
    std::fs::create_dir_all(out).map_err(err(out))?;
    for (name, text) in [
        ("summary.json", &m.summary_json),
        ("summary.txt", &m.summary_txt),
    ] {
        let path = out.join(name);
        let tmp = out.join(format!(".{name}.tmp.{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(err(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
