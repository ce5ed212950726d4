//! A saturation sweep's steps (`--rate R1,R2,...` or `--rate-sweep START:FACTOR`, with
//! `--step`): the ticks of each step, its judgement against `--slo`, the line printed as it
//! ends, the stop at the first breach, and the result's `rate.steps` and `rate.knee`.
//!
//! Why in the reporter: steps are judged on the exact sum of every core's ticks, which only
//! the reporter thread has; the run's loop asks [`Reporter::breached`] and stops the run
//! with the `slo` reason.
//!
//! Invariants:
//! - Step `k` covers `[start + k·step, start + (k+1)·step)` of the measured phase; steps are
//!   whole seconds, ticks one second aligned to the run start, so a tick belongs to the step
//!   that holds its start (rounded to the nearest tick boundary, as for intervals). A list's
//!   ticks past its last step (completions while the run drains) join its last step.
//! - A step is judged once its end has passed and every core has delivered ticks up to it,
//!   unless the run stopped before (or at) its end: the step running at the stop is recorded
//!   when the run finishes, with its drain included. A step the run stopped inside is
//!   `complete: false`, not judged, and never the knee.
//! - After the first breach no later step is judged: the run is stopping.
//! - A single `--rate` with `--slo` is one step over the measured phase (`--duration`, or
//!   up to the run's end without one), judged when the run ends: its breach does not stop
//!   the run; it is reported on a `slo:` line instead of the step and sweep lines, in
//!   `rate.steps` (one step, no knee) and in `warnings`.

use std::collections::BTreeMap;
use std::io::Write;

use ringload_core::rate::{self, human_us, RatePlan, RateRecord, StepOp, StepRecord};
use ringload_core::result::encode_histogram;

use super::fmt::thousands;
use super::Reporter;
use crate::stats::{OpStats, Snapshot, OPS, TICK};

/// How far before a step's end a stop may come and the step still count as complete: the
/// deadline of a list of rates falls on its last step's end, measured on another clock.
const STOP_SLACK_NS: u64 = 100_000_000;

/// The one step of a single rate without `--duration`: it lasts until the run ends.
const UNBOUNDED: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// The percentile printed for each step of a sweep without `--slo`.
const DEFAULT_PERCENTILE: f64 = 99.0;

/// The steps of a multi-step rate plan, folded from the core ticks.
#[derive(Debug)]
pub(super) struct Sweep {
    plan: RatePlan,
    start: u64,
    step_ns: u64,
    /// Steps with ticks, not yet recorded.
    open: BTreeMap<u64, Snapshot>,
    /// The first step not yet recorded.
    next: u64,
    steps: Vec<StepRecord>,
    breached: bool,
    /// When the run was told to stop (wall clock, ns), once it was.
    stopped_at: Option<u64>,
    /// A single rate judged against `--slo` (one step over the measured phase), and its
    /// latency at the objective's percentile once recorded.
    single: bool,
    single_value: u64,
}

impl Sweep {
    /// The sweep of `plan`, when it has several steps, or the one step of a single rate
    /// with `--slo` over the run's `duration` (`None` for a single rate without one).
    pub(super) fn new(
        plan: &RatePlan,
        start_unix_ns: u64,
        duration: Option<std::time::Duration>,
    ) -> Option<Sweep> {
        let single = !plan.is_sweep();
        let step = match (single, plan.slo) {
            (false, _) => plan.step?,
            (true, Some(_)) => duration.unwrap_or(UNBOUNDED),
            (true, None) => return None,
        };
        let step_ns = u64::try_from(step.as_nanos()).ok().filter(|&n| n > 0)?;
        Some(Sweep {
            single,
            single_value: 0,
            plan: plan.clone(),
            start: start_unix_ns,
            step_ns,
            open: BTreeMap::new(),
            next: 0,
            steps: Vec::new(),
            breached: false,
            stopped_at: None,
        })
    }

    fn bounds(&self, k: u64) -> (u64, u64) {
        let s = self.start.saturating_add(k.saturating_mul(self.step_ns));
        (s, s.saturating_add(self.step_ns))
    }

    /// The step a tick starting at `tick_start` belongs to.
    fn step_of(&self, tick_start: u64) -> u64 {
        let tick = TICK.as_nanos() as u64;
        let ticks = (tick_start.saturating_sub(self.start) + tick / 2) / tick;
        let mut k = ticks.saturating_mul(tick) / self.step_ns;
        if let Some(n) = self.plan.step_count() {
            k = k.min(n.saturating_sub(1) as u64);
        }
        // Completions while the run drains belong to the step it stopped in.
        if let Some(t) = self.stopped_at {
            k = k.min(t.saturating_sub(STOP_SLACK_NS).saturating_sub(self.start) / self.step_ns);
        }
        k.max(self.next)
    }

    /// Folds one core's tick into its step.
    pub(super) fn add(&mut self, snap: &Snapshot) {
        let k = self.step_of(snap.start_unix_ns);
        self.open
            .entry(k)
            .or_insert_with(|| Snapshot::new(snap.start_unix_ns))
            .add_ops(snap);
    }

    /// Notes that the run was told to stop at `at` (the first call counts).
    pub(super) fn stopped(&mut self, at: u64) {
        self.stopped_at.get_or_insert(at);
    }

    /// True once a step broke the objective and the run should stop (a single rate's breach
    /// does not stop it: it is judged when the run ends).
    pub(super) fn breached(&self) -> bool {
        self.breached && !self.single
    }

    /// Judges every step that has ended and is complete; returns the lines to print.
    pub(super) fn poll(&mut self, now: u64, covered: &[u64]) -> Vec<String> {
        let half = TICK.as_nanos() as u64 / 2;
        let mut lines = Vec::new();
        while !self.breached {
            let (_, end) = self.bounds(self.next);
            let last = self
                .plan
                .step_count()
                .is_some_and(|n| self.next + 1 >= n as u64);
            // The step running at the stop (and a list's last step) waits for the drain.
            let stopping = self
                .stopped_at
                .is_some_and(|t| t <= end.saturating_add(STOP_SLACK_NS));
            let complete = covered.iter().all(|&c| c.saturating_add(half) >= end);
            if now < end || !complete || last || stopping {
                break;
            }
            lines.push(self.record(self.next, end, true));
            self.next += 1;
        }
        lines
    }

    /// Records the steps left when the run ends at `end`; returns the lines to print.
    pub(super) fn finish(&mut self, end: u64) -> Vec<String> {
        let stop = self.stopped_at.unwrap_or(end).min(end);
        let upto = self.open.keys().next_back().copied();
        let mut lines = Vec::new();
        let Some(upto) = upto else {
            return lines;
        };
        for k in self.next..=upto {
            let (s, e) = self.bounds(k);
            if s >= stop && !self.open.contains_key(&k) {
                continue;
            }
            let whole = self.single && self.step_ns == UNBOUNDED.as_nanos() as u64;
            let complete = !self.breached && (whole || stop.saturating_add(STOP_SLACK_NS) >= e);
            let line = self.record(k, e.min(stop).max(s), complete);
            if !self.single {
                lines.push(line);
            }
        }
        self.next = upto + 1;
        lines
    }

    /// Records step `k` (ending at `end`), judges it when complete, and returns its line.
    fn record(&mut self, k: u64, end: u64, complete: bool) -> String {
        let (start, _) = self.bounds(k);
        let snap = self.open.remove(&k).unwrap_or_else(|| Snapshot::new(start));
        let target = self.plan.rate_at(k as usize).unwrap_or(0.0);
        let mut all = OpStats::new();
        for op in OPS {
            all.add(snap.get(op));
        }
        let secs = end.saturating_sub(start) as f64 / 1e9;
        let issued = all.count + all.errors;
        let achieved = if secs > 0.0 {
            issued as f64 / secs
        } else {
            0.0
        };
        let slo = self.plan.slo;
        let pct = slo.map_or(DEFAULT_PERCENTILE, |s| s.percentile);
        let value = percentile(&all, pct);
        let broke = match (slo, complete) {
            (Some(s), true) => s.judge_step(value, all.count, all.errors, achieved, target),
            _ => None,
        };
        self.breached |= broke.is_some();
        self.single_value = value;
        let err_pct = if issued == 0 {
            0.0
        } else {
            all.errors as f64 * 100.0 / issued as f64
        };
        let of = self
            .plan
            .step_count()
            .map_or(String::new(), |n| format!("/{n}"));
        let verdict = match (&broke, complete, slo) {
            (_, false, _) => "  incomplete (the run stopped inside it)".to_string(),
            (Some(why), true, _) => format!("  broke: {why}"),
            (None, true, Some(_)) => "  met".to_string(),
            (None, true, None) => String::new(),
        };
        let line = format!(
            "step {}{of}  {} ops/s  achieved {} ops/s  p{pct} {}  errors {err_pct:.2}%{verdict}\n",
            k + 1,
            thousands(target.round() as u64),
            thousands(achieved.round() as u64),
            human_us(value),
        );
        // The step's classes: get and put always, the others when the step has them.
        let ops = snap
            .shown_ops()
            .into_iter()
            .map(|op| {
                let s = snap.get(op);
                let rec = StepOp {
                    count: s.count,
                    errors: s.errors,
                    latency_us: s.latency(),
                    histogram: encode_histogram(s.histogram()),
                };
                (op.as_str().to_string(), rec)
            })
            .collect();
        self.steps.push(StepRecord {
            target,
            achieved,
            start_unix_ns: start,
            end_unix_ns: end,
            complete,
            ops,
            broke,
        });
        line
    }

    /// Adds the steps and the knee (none for a single rate) to the run's `rate` record.
    pub(super) fn fill(&self, r: &mut RateRecord) {
        r.steps = self.steps.clone();
        r.knee = match self.single {
            true => None,
            false => self.plan.slo.and_then(|_| rate::knee(&self.steps)),
        };
        if r.slo.is_none() {
            r.slo = self.plan.slo.map(|s| s.describe());
        }
    }

    /// A single rate's verdict: the `warnings` sentence when it broke `--slo`.
    pub(super) fn single_warning(&self) -> Option<String> {
        let slo = self.plan.slo.filter(|_| self.single)?;
        let why = self.steps.first()?.broke.as_ref()?;
        Some(format!(
            "slo broke: {why} over the measured phase (--slo {}); the latency at this rate \
             is above the objective: lower --rate or look at the slow operations",
            slo.describe()
        ))
    }

    /// The summary's `sweep:` line: the knee and the step that broke (or why there is none);
    /// for a single rate, its `slo:` line.
    pub(super) fn line(&self) -> String {
        let rate = |r: f64| format!("{} ops/s", thousands(r.round() as u64));
        if let (true, Some(slo)) = (self.single, self.plan.slo) {
            let Some(s) = self.steps.first() else {
                return format!("slo: {}: not judged, nothing ran\n", slo.describe());
            };
            let count: u64 = s.ops.values().map(|o| o.count).sum();
            let errors: u64 = s.ops.values().map(|o| o.errors).sum();
            let err_pct = if count + errors == 0 {
                0.0
            } else {
                errors as f64 * 100.0 / (count + errors) as f64
            };
            let verdict = match (&s.broke, s.complete) {
                (_, false) => "not judged: the run stopped before its --duration".to_string(),
                (Some(why), true) => format!("broke: {why}"),
                (None, true) => "met".to_string(),
            };
            return format!(
                "slo: {} over the measured phase  p{} {}  errors {err_pct:.2}%  {verdict}\n",
                slo.describe(),
                slo.percentile,
                human_us(self.single_value),
            );
        }
        let Some(slo) = self.plan.slo else {
            return format!(
                "sweep: {} step(s), no --slo: none judged, no knee\n",
                self.steps.len()
            );
        };
        let knee = match rate::knee(&self.steps) {
            Some(k) => format!("knee {} ({})", rate(k), slo.describe()),
            None => format!("no knee ({})", slo.describe()),
        };
        let (k, s) = match self
            .steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.broke.is_some() || !s.complete)
        {
            Some(found) => found,
            None if self.steps.is_empty() => return format!("sweep: {knee}; no step ran\n"),
            None => return format!("sweep: {knee}; every step met it\n"),
        };
        match &s.broke {
            Some(why) => format!(
                "sweep: {knee}; step {} at {} broke: {why}\n",
                k + 1,
                rate(s.target)
            ),
            None => format!(
                "sweep: {knee}; the run stopped inside step {} at {}\n",
                k + 1,
                rate(s.target)
            ),
        }
    }
}

/// The latency at `pct` of `s`'s successes, µs, kept within their exact min and max (0 when
/// there are none).
fn percentile(s: &OpStats, pct: f64) -> u64 {
    if s.count == 0 {
        return 0;
    }
    let l = s.latency();
    s.histogram()
        .value_at_quantile(pct / 100.0)
        .clamp(l.min, l.max.max(l.min))
}

impl<W: Write, S: Write> Reporter<W, S> {
    /// True once a step of the sweep broke its objective: the run should stop (`slo`).
    pub fn breached(&self) -> bool {
        self.sweep.as_ref().is_some_and(Sweep::breached)
    }

    /// Tells the reporter the run was told to stop at `unix_ns` (call it when the stop is
    /// first seen): the rate's issuing time ends there (the drain issues nothing), and a
    /// sweep's step running then is recorded when the run ends, as incomplete unless it had
    /// reached its end.
    pub fn stopped(&mut self, unix_ns: u64) {
        self.stopped_at.get_or_insert(unix_ns);
        if let Some(s) = self.sweep.as_mut() {
            s.stopped(unix_ns);
        }
    }

    /// Prints the sweep's lines (one per ended step) on the table's stream.
    pub(super) fn print_steps(&mut self, lines: Vec<String>) {
        if lines.is_empty() || self.ais.is_some() {
            return;
        }
        self.clear_live();
        for l in lines {
            let _ = self.out.write_all(l.as_bytes());
        }
        let _ = self.out.flush();
    }

    /// The summary's `sweep:` line, for a multi-step plan (empty otherwise).
    pub(super) fn sweep_line(&self) -> String {
        self.sweep.as_ref().map_or(String::new(), Sweep::line)
    }
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
