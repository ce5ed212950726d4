//! The merge of what an open-loop (`--rate`) run adds to a rank file: each class's
//! `service_latency_us` (from `service_histogram`), the `rate` key with its schedule lag and a
//! sweep's steps, and the `client` self-diagnosis.
//!
//! The model is [`phases`]': histograms are added exactly ([`Acc`]), counts and rates summed,
//! and ranks that lack a key (a closed-loop rank, an older file) or whose plan differs from
//! the first rank's are left out with a warning naming them, so a merged figure is never read
//! as covering ranks it does not.
//!
//! A sweep's steps are merged by index: targets and achieved rates summed, per-class
//! histograms added, `complete` only when every rate rank completed the step, and `broke`
//! judged again on the merged figures ([`Slo::judge_step`] at the objective's percentile of the
//! step's histogram over all classes), so the merged knee ([`knee`]) is the cluster's, not
//! any one rank's.
//!
//! [`phases`]: super::phases

use std::collections::BTreeMap;

use ringload_core::client::ClientRecord;
use ringload_core::rate::{knee, parse_slo, RateRecord, StepOp, StepRecord};
use ringload_core::result::decode_histogram;
use serde::{Deserialize, Serialize};

use super::error::ranges;
use super::phases::{sorted, Acc, RankPhase};
use super::rank::N_OPS;

fn noun(v: &[u32]) -> &'static str {
    if v.len() == 1 {
        "rank"
    } else {
        "ranks"
    }
}

/// The service latency of both classes over the ranks that recorded it.
#[derive(Debug, Default)]
pub struct ServiceTotals {
    ops: [Option<Acc>; N_OPS],
    with: Vec<u32>,
    without: Vec<u32>,
}

impl ServiceTotals {
    /// Adds rank `rank`'s service latency per class (`None`: the class has none); ranks in
    /// any order.
    pub fn add(&mut self, rank: u32, service: [Option<Box<RankPhase>>; N_OPS]) {
        if service.iter().all(Option::is_none) {
            self.without.push(rank);
            return;
        }
        self.with.push(rank);
        for (acc, s) in self.ops.iter_mut().zip(service) {
            if let Some(s) = s {
                acc.get_or_insert_with(Acc::new).add_ranked(rank, &s);
            }
        }
    }

    /// Adds everything `other` holds (other ranks).
    pub fn absorb(&mut self, other: ServiceTotals) {
        for (mine, theirs) in self.ops.iter_mut().zip(other.ops) {
            match (mine.as_mut(), theirs) {
                (_, None) => {}
                (None, Some(t)) => *mine = Some(t),
                (Some(m), Some(t)) => m.absorb(t),
            }
        }
        self.with.extend(other.with);
        self.without.extend(other.without);
    }

    /// The merged `service_latency_us` and `service_histogram` of class `op`.
    pub fn record(
        &self,
        op: usize,
    ) -> (Option<ringload_core::hist::LatencySummary>, Option<String>) {
        match &self.ops[op] {
            Some(a) => (Some(a.summary()), Some(a.encoded())),
            None => (None, None),
        }
    }

    /// The warning when some ranks recorded a service latency and others did not.
    pub fn note(&self) -> Option<String> {
        if self.with.is_empty() || self.without.is_empty() {
            return None;
        }
        let (with, without) = (sorted(&self.with), sorted(&self.without));
        Some(format!(
            "service latency comes from {} {} only; {} {} recorded none (closed loop or an \
             older file)",
            noun(&with),
            ranges(&with),
            noun(&without),
            ranges(&without)
        ))
    }
}

/// What must agree for two ranks' `rate` keys to be merged: the arrivals, the objective,
/// and each step's target (a rank whose sweep ended earlier has fewer steps: it agrees on
/// those it has).
#[derive(Debug, Clone, PartialEq)]
struct PlanKey {
    arrival: String,
    slo: Option<String>,
    targets: Vec<f64>,
}

impl PlanKey {
    fn of(r: &RateRecord) -> PlanKey {
        PlanKey {
            arrival: r.arrival.clone(),
            slo: r.slo.clone(),
            targets: r.steps.iter().map(|s| s.target).collect(),
        }
    }

    /// Same arrivals and objective, both sweeps or neither, the same targets where both
    /// have a step.
    fn agrees(&self, o: &PlanKey) -> bool {
        self.arrival == o.arrival
            && self.slo == o.slo
            && self.targets.is_empty() == o.targets.is_empty()
            && self.targets.iter().zip(&o.targets).all(|(a, b)| a == b)
    }

    fn describe(&self) -> String {
        let mut s = format!("{} arrivals", self.arrival);
        if !self.targets.is_empty() {
            let t: Vec<String> = self.targets.iter().map(|t| format!("{t}")).collect();
            s.push_str(&format!(", steps {}", t.join(",")));
        }
        if let Some(slo) = &self.slo {
            s.push_str(&format!(", --slo {slo}"));
        }
        s
    }
}

/// One step summed over ranks.
#[derive(Debug, Default)]
struct StepAcc {
    target: f64,
    achieved: f64,
    start: u64,
    end: u64,
    ranks: usize,
    complete: bool,
    /// Per class: the latency and the errors.
    ops: BTreeMap<String, (Acc, u64)>,
    /// The first rank's verdict, used only when the objective cannot be read.
    broke: Option<String>,
}

/// One rank's rate figures, decoded (so a corrupt histogram leaves the rank out whole).
struct Decoded {
    lag: hdrhistogram::Histogram<u64>,
    steps: Vec<BTreeMap<String, hdrhistogram::Histogram<u64>>>,
}

fn decode(r: &RateRecord) -> Result<Decoded, String> {
    let lag = decode_histogram(&r.lag_histogram).map_err(|e| format!("rate.lag_histogram: {e}"))?;
    let mut steps = Vec::with_capacity(r.steps.len());
    for (k, s) in r.steps.iter().enumerate() {
        let mut ops = BTreeMap::new();
        for (name, o) in &s.ops {
            let h = decode_histogram(&o.histogram)
                .map_err(|e| format!("rate.steps[{k}].ops.{name}.histogram: {e}"))?;
            ops.insert(name.clone(), h);
        }
        steps.push(ops);
    }
    Ok(Decoded { lag, steps })
}

/// The cluster's `rate`: the ranks whose plan matches the first rate rank's.
#[derive(Debug, Default)]
pub struct RateTotals {
    plan: Option<PlanKey>,
    target: f64,
    achieved: f64,
    lag: Acc,
    kept: bool,
    steps: Vec<StepAcc>,
    with: Vec<u32>,
    without: Vec<u32>,
    notes: Vec<String>,
}

impl RateTotals {
    /// Adds rank `rank`'s `rate` key (folded in rank order).
    pub fn add(&mut self, rank: u32, rate: Option<RateRecord>) {
        let Some(r) = rate else {
            self.without.push(rank);
            return;
        };
        let key = PlanKey::of(&r);
        if let Some(plan) = &self.plan {
            if !plan.agrees(&key) {
                self.notes.push(format!(
                    "rank {rank}'s rate plan ({}) differs from the first rate rank's ({}): its \
                     rate figures are left out of the merged rate",
                    key.describe(),
                    plan.describe()
                ));
                return;
            }
        }
        let d = match decode(&r) {
            Ok(d) => d,
            Err(e) => {
                self.notes.push(format!(
                    "rank {rank}'s rate is left out of the merged rate: {e}"
                ));
                return;
            }
        };
        match &mut self.plan {
            None => {
                self.plan = Some(key);
                self.kept = true;
            }
            // The longest sweep's targets describe the merged plan.
            Some(p) if key.targets.len() > p.targets.len() => p.targets = key.targets,
            Some(_) => {}
        }
        if self.steps.len() < r.steps.len() {
            self.steps.resize_with(r.steps.len(), StepAcc::default);
        }
        self.with.push(rank);
        self.target += r.target;
        self.achieved += r.achieved;
        self.kept &= r.kept;
        self.lag.add_parts(d.lag.len(), &r.lag_us, &d.lag);
        for ((acc, s), hists) in self.steps.iter_mut().zip(&r.steps).zip(&d.steps) {
            add_step(acc, s, hists);
        }
    }

    /// Warnings: ranks left out, ranks without the key.
    pub fn notes(&self) -> Vec<String> {
        let mut out = self.notes.clone();
        if !self.with.is_empty() && !self.without.is_empty() {
            out.push(format!(
                "rate figures come from {} {} only; {} {} ran without --rate",
                noun(&self.with),
                ranges(&self.with),
                noun(&self.without),
                ranges(&self.without)
            ));
        }
        out
    }

    /// The merged `rate` (`None` when no rank had one); a note when the objective is unreadable.
    pub fn record(&self, notes: &mut Vec<String>) -> Option<RateRecord> {
        let plan = self.plan.as_ref()?;
        let slo = match plan.slo.as_deref().map(parse_slo) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                notes.push(format!(
                    "the sweep's steps keep rank {}'s verdicts: its objective cannot be read \
                     ({e})",
                    self.with[0]
                ));
                None
            }
            None => None,
        };
        let n = self.with.len();
        let steps: Vec<StepRecord> = self
            .steps
            .iter()
            .map(|a| {
                let mut all = Acc::new();
                let (mut count, mut errors) = (0u64, 0u64);
                let ops = a
                    .ops
                    .iter()
                    .map(|(name, (acc, errs))| {
                        all.add_parts(acc.count(), &acc.summary(), acc.hist());
                        count += acc.count();
                        errors += errs;
                        let o = StepOp {
                            count: acc.count(),
                            errors: *errs,
                            latency_us: acc.summary(),
                            histogram: acc.encoded(),
                        };
                        (name.clone(), o)
                    })
                    .collect();
                let complete = a.complete && a.ranks == n;
                let broke = match (&slo, plan.slo.is_some(), complete) {
                    (_, _, false) => None,
                    (Some(s), _, true) => s.judge_step(
                        all.at(s.percentile / 100.0),
                        count,
                        errors,
                        a.achieved,
                        a.target,
                    ),
                    (None, true, true) => a.broke.clone(),
                    (None, false, true) => None,
                };
                StepRecord {
                    target: a.target,
                    achieved: a.achieved,
                    start_unix_ns: a.start,
                    end_unix_ns: a.end,
                    complete,
                    ops,
                    broke,
                }
            })
            .collect();
        // A single rate's one judged step has no knee.
        let knee = if steps.len() < 2 || plan.slo.is_none() {
            None
        } else {
            knee(&steps)
        };
        Some(RateRecord {
            target: self.target,
            achieved: self.achieved,
            arrival: plan.arrival.clone(),
            lag_us: self.lag.summary(),
            lag_histogram: self.lag.encoded(),
            kept: self.kept,
            slo: plan.slo.clone(),
            steps,
            knee,
        })
    }
}

fn add_step(
    acc: &mut StepAcc,
    s: &StepRecord,
    hists: &BTreeMap<String, hdrhistogram::Histogram<u64>>,
) {
    if acc.ranks == 0 {
        acc.start = s.start_unix_ns;
        acc.complete = true;
        acc.broke = s.broke.clone();
    }
    acc.ranks += 1;
    acc.target += s.target;
    acc.achieved += s.achieved;
    acc.start = acc.start.min(s.start_unix_ns);
    acc.end = acc.end.max(s.end_unix_ns);
    acc.complete &= s.complete;
    for (name, o) in &s.ops {
        let (a, errs) = acc.ops.entry(name.clone()).or_default();
        if let Some(h) = hists.get(name) {
            a.add_parts(o.count, &o.latency_us, h);
        }
        *errs += o.errors;
    }
}

/// `summary.json`'s `client`: how many ranks diagnosed themselves and which were the
/// bottleneck (absent when no rank reported a `client` key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientSummary {
    /// Ranks whose file has a `client` key.
    pub ranks: u32,
    /// How many of them were client-bound, and which.
    pub client_bound: u32,
    pub client_bound_ranks: Vec<u32>,
}

/// One client-bound rank, for the summary and the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientBound {
    pub rank: u32,
    pub host: String,
    pub reasons: Vec<String>,
}

impl ClientBound {
    /// `rank 3 was client-bound (core 0 busy 98% of the steady window): it measured itself,
    /// not the storage`.
    pub fn sentence(&self) -> String {
        let why = if self.reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.reasons.join("; "))
        };
        format!(
            "rank {} was client-bound{why}: it measured itself, not the storage",
            self.rank
        )
    }
}

/// The merged `client` and the client-bound ranks, from `(rank, host, client)` in rank order.
pub fn client<'a>(
    ranks: impl IntoIterator<Item = (u32, &'a str, Option<&'a ClientRecord>)>,
) -> (Option<ClientSummary>, Vec<ClientBound>) {
    let mut s = ClientSummary::default();
    let mut bound = Vec::new();
    for (rank, host, c) in ranks {
        let Some(c) = c else { continue };
        s.ranks += 1;
        if c.client_bound {
            s.client_bound += 1;
            s.client_bound_ranks.push(rank);
            bound.push(ClientBound {
                rank,
                host: host.to_string(),
                reasons: c.reasons.clone(),
            });
        }
    }
    ((s.ranks > 0).then_some(s), bound)
}

#[cfg(test)]
mod tests;
