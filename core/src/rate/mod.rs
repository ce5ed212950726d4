//! Open-loop rate: the plan a run is given (`--rate`, `--arrival`, `--rate-sweep`, `--slo`,
//! `--step`), its parsing, and what the result file records about it (`rate`, its `steps`
//! and the knee).
//!
//! Why in core: the command line parses the plan, the engine schedules by it, and `merge`
//! judges merged steps against the same SLO with the same [`knee`] rule, so there is one
//! parser and one rule.
//!
//! Rates are operations per second per rank; a rank splits its rate evenly across its cores
//! ([`RatePlan::core_rate`]). A sweep's step `k` runs from `start + k·step` to
//! `start + (k+1)·step` of the measured phase.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::hist::LatencySummary;

/// How requests are spread in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Evenly spaced: one request every `1/rate` seconds.
    #[default]
    Uniform,
    /// A Poisson process: exponentially distributed gaps of mean `1/rate`.
    Poisson,
}

impl Arrival {
    pub fn as_str(self) -> &'static str {
        match self {
            Arrival::Uniform => "uniform",
            Arrival::Poisson => "poisson",
        }
    }
}

/// The rates a run steps through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSteps {
    /// `--rate R` (one step, the whole run) or `--rate R1,R2,...` (one step each).
    List(Vec<f64>),
    /// `--rate-sweep START:FACTOR`: `START·FACTOR^k` for step `k`, without end (the SLO, the
    /// error budget or `--duration` ends it).
    Sweep { start: f64, factor: f64 },
}

/// A latency objective and an error budget: `p99=50ms`, `p99.9=20ms,errors=0.5%`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// The percentile judged, e.g. 99.0 or 99.9.
    pub percentile: f64,
    /// Its limit, µs (inclusive: a step meets it when the percentile is at most this).
    pub limit_us: u64,
    /// Largest share of failed operations, percent (default [`DEFAULT_ERROR_BUDGET_PCT`]).
    pub errors_pct: f64,
}

/// The error budget of an SLO that names none, percent.
pub const DEFAULT_ERROR_BUDGET_PCT: f64 = 1.0;

/// Everything a rate-limited run is given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatePlan {
    pub steps: RateSteps,
    pub arrival: Arrival,
    /// Length of each step; `None` for a single `--rate R` (the run is one step).
    #[serde(default, with = "opt_secs")]
    pub step: Option<Duration>,
    /// The objective a sweep stops on (and a single rate is judged against).
    pub slo: Option<Slo>,
}

impl RatePlan {
    /// The rank's target rate in step `k` (ops/s), `None` past the last step of a list.
    pub fn rate_at(&self, k: usize) -> Option<f64> {
        match &self.steps {
            RateSteps::List(v) => v.get(k).copied(),
            RateSteps::Sweep { start, factor } => {
                Some(start * factor.powi(i32::try_from(k).unwrap_or(i32::MAX)))
            }
        }
    }

    /// The step running `elapsed` into the measured phase (always 0 for a single rate).
    pub fn step_at(&self, elapsed: Duration) -> usize {
        match self.step {
            Some(s) if !s.is_zero() => (elapsed.as_nanos() / s.as_nanos()) as usize,
            _ => 0,
        }
    }

    /// How many steps the plan has (`None`: a sweep without end).
    pub fn step_count(&self) -> Option<usize> {
        match &self.steps {
            RateSteps::List(v) => Some(v.len()),
            RateSteps::Sweep { .. } => None,
        }
    }

    /// True for a plan of more than one step (a list of several rates, or a sweep).
    pub fn is_sweep(&self) -> bool {
        self.step_count() != Some(1)
    }

    /// Core `core` of `cores`' share of `rank_rate`: an even split.
    pub fn core_rate(rank_rate: f64, cores: usize) -> f64 {
        rank_rate / cores.max(1) as f64
    }
}

/// Serde for `Option<Duration>` as fractional seconds (the workload's JSON shows `30.0`).
mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let v: Option<f64> = Option::deserialize(d)?;
        Ok(v.filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64))
    }
}

/// Parses `--rate`: one rate (`20000`) or a comma-separated rising list (`1000,2000,4000`),
/// in operations per second per rank. `k` and `M` suffixes are accepted (`20k`).
pub fn parse_rates(s: &str) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let r = parse_one_rate(part.trim())?;
        if out.last().is_some_and(|&prev| r <= prev) {
            return Err(format!(
                "{s:?}: the rates of a sweep must rise ({r} after {})",
                out.last().copied().unwrap_or(0.0)
            ));
        }
        out.push(r);
    }
    Ok(out)
}

fn parse_one_rate(s: &str) -> Result<f64, String> {
    let (num, mul) = match s.strip_suffix(['k', 'K']) {
        Some(n) => (n, 1e3),
        None => match s.strip_suffix('M') {
            Some(n) => (n, 1e6),
            None => (s, 1.0),
        },
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a rate (operations per second, e.g. 20000 or 20k)"))?;
    let v = v * mul;
    if !v.is_finite() || v <= 0.0 || v > 1e9 {
        return Err(format!(
            "{s:?}: a rate must be above 0 and at most 1e9 operations per second"
        ));
    }
    Ok(v)
}

/// Parses `--rate-sweep START:FACTOR` (`1000:2` doubles from 1000 ops/s).
pub fn parse_sweep(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: write START:FACTOR, e.g. 1000:2"))?;
    let start = parse_one_rate(a.trim())?;
    let factor: f64 = b
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: the factor {b:?} is not a number (e.g. 1000:2)"))?;
    if !factor.is_finite() || factor <= 1.0 || factor > 1000.0 {
        return Err(format!(
            "{s:?}: the factor must be above 1 (the rate rises each step) and at most 1000"
        ));
    }
    Ok((start, factor))
}

/// Parses `--slo`: `pNN=DURATION` with an optional `,errors=P%` (`p99=50ms`,
/// `p99.9=20ms,errors=0.5%`).
pub fn parse_slo(s: &str) -> Result<Slo, String> {
    let fix = "write pNN=DURATION[,errors=P%], e.g. p99=50ms or p99.9=20ms,errors=0.5%";
    let mut slo: Option<(f64, u64)> = None;
    let mut errors_pct = DEFAULT_ERROR_BUDGET_PCT;
    for part in s.split(',').map(str::trim) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: {part:?} has no '='; {fix}"))?;
        if let Some(p) = k.trim().strip_prefix('p') {
            let pct: f64 = p
                .parse()
                .map_err(|_| format!("{s:?}: {k:?} is not a percentile; {fix}"))?;
            if !(pct > 0.0 && pct < 100.0) {
                return Err(format!("{s:?}: the percentile must be in (0, 100); {fix}"));
            }
            let d =
                crate::units::parse_duration(v.trim()).map_err(|e| format!("{s:?}: {e}; {fix}"))?;
            let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
            if us == 0 {
                return Err(format!(
                    "{s:?}: the latency limit must be at least 1µs; {fix}"
                ));
            }
            slo = Some((pct, us));
        } else if k.trim() == "errors" {
            let n = v.trim().trim_end_matches('%');
            errors_pct = n
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=100.0).contains(p))
                .ok_or_else(|| format!("{s:?}: errors={v} is not a percentage; {fix}"))?;
        } else {
            return Err(format!("{s:?}: unknown objective {k:?}; {fix}"));
        }
    }
    let (percentile, limit_us) = slo.ok_or_else(|| format!("{s:?}: no percentile; {fix}"))?;
    Ok(Slo {
        percentile,
        limit_us,
        errors_pct,
    })
}

impl Slo {
    /// `p99=50ms` (with `,errors=P%` when not the default), as the user would write it.
    pub fn describe(&self) -> String {
        let mut s = format!("p{}={}", self.percentile, human_us(self.limit_us));
        if self.errors_pct != DEFAULT_ERROR_BUDGET_PCT {
            s.push_str(&format!(",errors={}%", self.errors_pct));
        }
        s
    }

    /// Judges a step: `None` when it meets the objective, else why not (e.g.
    /// `"p99 62.1ms > 50ms"`, `"errors 3.2% > 1%"`). `value_us` is the step's latency at
    /// [`Slo::percentile`], from its (merged) histogram.
    pub fn breach(&self, value_us: u64, count: u64, errors: u64) -> Option<String> {
        let total = count + errors;
        let err_pct = if total == 0 {
            0.0
        } else {
            errors as f64 * 100.0 / total as f64
        };
        if err_pct > self.errors_pct {
            return Some(format!("errors {err_pct:.2}% > {}%", self.errors_pct));
        }
        if value_us > self.limit_us {
            return Some(format!(
                "p{} {} > {}",
                self.percentile,
                human_us(value_us),
                human_us(self.limit_us)
            ));
        }
        None
    }

    /// Judges a complete step, the one rule for the run and the merge: a step whose issued
    /// operations fell below [`KEPT_FRACTION`] of its target breaks with `achieved 37 of 50
    /// ops/s` (the schedule was not kept, so its latency is not the system's at that rate;
    /// an empty step's p99 would read 0), else as [`Slo::breach`]. `achieved` and `target`
    /// are in ops/s over the step.
    pub fn judge_step(
        &self,
        value_us: u64,
        count: u64,
        errors: u64,
        achieved: f64,
        target: f64,
    ) -> Option<String> {
        if achieved < KEPT_FRACTION * target {
            return Some(format!(
                "achieved {} of {} ops/s",
                achieved.round() as u64,
                target.round() as u64
            ));
        }
        self.breach(value_us, count, errors)
    }
}

/// The share of a step's target rate its issued operations must reach for its latency to be
/// judged against the objective (see [`Slo::judge_step`]).
pub const KEPT_FRACTION: f64 = 0.9;

/// A latency in µs as Go's duration syntax, to 3 significant digits: `750µs`, `62.1ms`,
/// `1.5s`; what the objective and its breaches print.
pub fn human_us(us: u64) -> String {
    let (v, unit) = match us {
        0..=999 => return format!("{us}µs"),
        1_000..=999_999 => (us as f64 / 1e3, "ms"),
        _ => (us as f64 / 1e6, "s"),
    };
    let s = format!(
        "{v:.*}",
        if v >= 100.0 {
            0
        } else if v >= 10.0 {
            1
        } else {
            2
        }
    );
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{unit}")
}

/// The knee of judged steps: the highest target rate among the complete steps that met the
/// objective before the first that broke it (`None` when the first step already broke it or
/// no step completed).
pub fn knee(steps: &[StepRecord]) -> Option<f64> {
    let mut best = None;
    for s in steps.iter().filter(|s| s.complete) {
        if s.broke.is_some() {
            break;
        }
        best = Some(s.target);
    }
    best
}

/// The result file's `rate` key: what a rate-limited run asked for and what it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRecord {
    /// Target rate, ops/s (of this rank; in a merged summary, of every rank). For a sweep,
    /// the last step's.
    pub target: f64,
    /// Operations issued per second over the measured phase (successes and failures).
    pub achieved: f64,
    /// `uniform` or `poisson`.
    pub arrival: String,
    /// How late requests went out against their intended start, µs.
    pub lag_us: LatencySummary,
    /// HdrHistogram of the lag (V2+DEFLATE, base64), for exact merges.
    pub lag_histogram: String,
    /// True when the schedule was kept (achieved within 3% of target and lag p99 within
    /// [`LAG_KEPT_US`]); the reason otherwise is in the result's `warnings`.
    pub kept: bool,
    /// The objective, as given (`p99=50ms`), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<String>,
    /// A sweep's steps, in order (absent for a single rate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
    /// A sweep's knee: the highest rate that met the objective ([`knee`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<f64>,
}

/// A schedule is kept while its lag p99 stays within this, µs.
pub const LAG_KEPT_US: u64 = 10_000;

/// One step of a sweep: its target, what it got, and how it was judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Target rate of the step, ops/s (per rank; summed over ranks when merged).
    pub target: f64,
    /// Operations issued per second during the step.
    pub achieved: f64,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    /// False for a step the run stopped inside (after a breach, a signal, `--duration`).
    pub complete: bool,
    /// Per operation class, as `ops` (corrected latency from intended starts).
    pub ops: BTreeMap<String, StepOp>,
    /// Why the step broke the objective (`None`: it met it, or there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broke: Option<String>,
}

/// One operation class within one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOp {
    pub count: u64,
    pub errors: u64,
    pub latency_us: LatencySummary,
    /// HdrHistogram V2+DEFLATE, standard base64; µs, 3 significant digits.
    pub histogram: String,
}

#[cfg(test)]
mod tests;
