//! The data a merge produces and the plots and report consume.
//!
//! This is the contract between `merge` (which fills it, exactly, from the rank files) and
//! `plot` (which draws it). Times are Unix nanoseconds; latencies are microseconds; every
//! percentile comes from a merged histogram, never from averaging percentiles.

use serde::{Deserialize, Serialize};

/// One time bucket of a series (default width 1 s), for one operation class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Start of the bucket.
    pub t_unix_ns: u64,
    /// Successful operations that ended in this bucket, and their bytes.
    pub ops: u64,
    pub bytes: u64,
    pub errors: u64,
    /// Latency percentiles of the bucket's merged histogram (0 when `ops` is 0).
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
}

/// The series of one rank (possibly downsampled for plotting; `step_ns` says how).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RankSeries {
    pub rank: u32,
    pub step_ns: u64,
    pub points: Vec<Point>,
}

/// The time series of one operation class (`"get"` or `"put"`): the cluster total plus each rank.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpSeries {
    pub op: String,
    /// Width of one bucket of `total`.
    pub step_ns: u64,
    pub total: Vec<Point>,
    pub per_rank: Vec<RankSeries>,
}

/// The whole-run latency distribution of one operation class: (percentile 0..=100, µs) pairs,
/// from the merged histogram, for a percentile-spectrum plot on a log scale.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    pub op: String,
    pub points: Vec<(f64, u64)>,
}

/// What `report.html` shows: plots are drawn from these fields, tables are given as text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub run_id: String,
    /// True when ranks are missing or failed and `--allow-partial` produced the report anyway.
    pub partial: bool,
    /// The human table (`summary.txt`), shown as preformatted text.
    pub summary_txt: String,
    /// The effective workload of rank 0 (flag names as keys).
    pub workload: serde_json::Value,
    /// Warnings to show at the top (missing ranks, stragglers, skew, ...).
    pub warnings: Vec<String>,
    /// The steady window (every rank running), if there was one.
    pub steady_window: Option<(u64, u64)>,
    pub series: Vec<OpSeries>,
    pub spectrum: Vec<Spectrum>,
    /// The latency tables, per class that did something.
    #[serde(default)]
    pub latency: Vec<OpLatency>,
    /// The merged `rate` of a `--rate` run (a sweep's steps and knee).
    #[serde(default)]
    pub rate: Option<ringload_core::rate::RateRecord>,
    /// Ranks that were client-bound, with their reasons.
    #[serde(default)]
    pub client_bound: Vec<super::rate::ClientBound>,
}

/// One class's merged latency: from the intended start, from the send (a `--rate` run), and
/// per phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpLatency {
    pub op: String,
    pub count: u64,
    pub latency: ringload_core::hist::LatencySummary,
    pub service: Option<ringload_core::hist::LatencySummary>,
    /// Per phase (connect, redirect, first_byte, body): count, p50, p99.
    pub phases: Option<[(u64, u64, u64); 4]>,
}
