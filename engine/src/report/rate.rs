//! A `--rate` run's outcome: the result's `rate` record (target, achieved, schedule lag,
//! whether the schedule was kept), the sentence pushed to the result's `warnings` when it
//! was not, and the summary's `rate:` line.
//!
//! A sweep's steps and knee extend [`record`]; everything here reads the reporter's total
//! snapshot once, at the end of the run.

use std::time::Duration;

use ringload_core::rate::{human_us, RatePlan, RateRecord, LAG_KEPT_US};

use super::fmt::thousands;
use crate::stats::{Snapshot, SpanHist, OPS};

/// Share of the target rate a run must reach for its schedule to count as kept.
pub const KEPT_SHARE: f64 = 0.97;
/// Share of scheduled requests that found every connection busy above which the connections
/// are named as the limit in bursts (a target stalling now and then), when the client was not
/// found client-bound.
const STARVED_SHARE: f64 = 0.01;
/// Share of the connections that must be busy on average (Little's law: achieved rate ×
/// mean service latency) for them, not the client, to be named as the limit of a schedule
/// not kept.
const BUSY_SHARE: f64 = 0.8;

/// What the cores report about the schedule besides their statistics.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateContext {
    /// Intended starts that fell due while every connection of their core was busy.
    pub starved: u64,
    /// The run's connections (`--numworkers`), named in the advice.
    pub numworkers: u32,
    /// Mean service latency (send to answer) over every operation, µs.
    pub service_mean_us: f64,
    /// The rank's self-diagnosis found it client-bound (CPU or scheduler wait).
    pub client_bound: bool,
}

/// The rank's rate over the `secs` seconds of the measured phase in which requests were
/// issued (up to the planned end or the stop, whichever came first: the drain after it
/// issues none), whose totals are `total`. `achieved` counts every issued operation;
/// `kept` counts only the scheduled ones (the lag histogram's count), not the unscheduled
/// `--pctupdate` PUTs.
pub fn record(plan: &RatePlan, total: &Snapshot, secs: f64) -> RateRecord {
    let issued: u64 = OPS
        .iter()
        .map(|&op| total.get(op).count + total.get(op).errors)
        .sum();
    let achieved = if secs > 0.0 {
        issued as f64 / secs
    } else {
        0.0
    };
    let empty = SpanHist::new();
    let lag = total.lag.as_deref().unwrap_or(&empty);
    let lag_us = lag.latency();
    let expected = expected_ops(plan, secs);
    let kept = lag.count() as f64 >= KEPT_SHARE * expected && lag_us.p99 <= LAG_KEPT_US;
    RateRecord {
        target: last_target(plan, secs),
        achieved,
        arrival: plan.arrival.as_str().to_string(),
        lag_histogram: lag.encoded(),
        lag_us,
        kept,
        slo: plan.slo.as_ref().map(|s| s.describe()),
        steps: Vec::new(),
        knee: None,
    }
}

/// The mean service latency over every operation of `total`, µs (0 when none).
pub fn service_mean_us(total: &Snapshot) -> f64 {
    let (mut n, mut sum) = (0u64, 0.0);
    for op in OPS {
        if let Some(sv) = total.get(op).service() {
            n += sv.count();
            sum += sv.latency().mean * sv.count() as f64;
        }
    }
    if n > 0 {
        sum / n as f64
    } else {
        0.0
    }
}

/// The rate of the last step a run of `secs` seconds ran (for a list, at most its last).
fn last_target(plan: &RatePlan, secs: f64) -> f64 {
    // A run ending right on a step boundary ran the step before it.
    let at = Duration::from_secs_f64(secs.max(0.0)).saturating_sub(Duration::from_millis(1));
    let k = plan.step_at(at);
    let last = plan.step_count().map_or(k, |n| k.min(n.saturating_sub(1)));
    plan.rate_at(last).unwrap_or(0.0)
}

/// The plan's mean rate over `secs` seconds (its operations over the time): what a run's
/// achieved rate is compared with.
pub fn planned_rate(plan: &RatePlan, secs: f64) -> f64 {
    if secs > 0.0 {
        expected_ops(plan, secs) / secs
    } else {
        plan.rate_at(0).unwrap_or(0.0)
    }
}

/// Operations the plan asks for over `secs` seconds (each step's rate times its share).
fn expected_ops(plan: &RatePlan, secs: f64) -> f64 {
    let step = match plan.step {
        Some(s) if !s.is_zero() => s.as_secs_f64(),
        _ => return plan.rate_at(0).unwrap_or(0.0) * secs,
    };
    let mut total = 0.0;
    let mut k = 0;
    while (k as f64) * step < secs {
        let Some(r) = plan.rate_at(k) else { break };
        total += r * step.min(secs - k as f64 * step);
        k += 1;
    }
    total
}

/// The warning of a schedule not kept (`None` when it was): what happened, why, and the fix.
/// `scheduled` is how many scheduled requests were sent (the lag histogram's count);
/// `planned` the plan's mean rate over the run ([`planned_rate`]), which a sweep's last
/// target is not. The connections are blamed when Little's law says they were the limit
/// (achieved × mean service latency ≥ 80% of them busy), or when every one was busy for more
/// than 1% of the due starts while the rank was not client-bound (a target stalling in
/// bursts: the mean hides them); else the client could not keep up (a stalled client also
/// finds every connection busy as its backlog goes out, so that count alone blames nobody).
pub fn warning(
    rec: &RateRecord,
    ctx: &RateContext,
    scheduled: u64,
    planned: f64,
) -> Option<String> {
    if rec.kept {
        return None;
    }
    let pct = if planned > 0.0 {
        (rec.achieved / planned * 100.0).round() as u64
    } else {
        0
    };
    let head = format!(
        "rate not kept: {} of {} ops/s ({pct}%), schedule lag p99 {}",
        thousands(rec.achieved.round() as u64),
        thousands(planned.round() as u64),
        human_us(rec.lag_us.p99),
    );
    let busy = rec.achieved * ctx.service_mean_us / 1e6;
    let little = format!(
        "{} ops/s × mean service {} keeps {busy:.1} of {} connections busy",
        thousands(rec.achieved.round() as u64),
        human_us(ctx.service_mean_us.round() as u64),
        ctx.numworkers
    );
    let starved = format!(
        "every one was busy when {} of {} requests fell due",
        thousands(ctx.starved),
        thousands(scheduled)
    );
    let bursts = !ctx.client_bound && ctx.starved as f64 > STARVED_SHARE * scheduled as f64;
    let why = if busy >= BUSY_SHARE * f64::from(ctx.numworkers) {
        format!(
            "the connections were the limit ({little}; {starved}); raise --numworkers (now \
             {}) or lower --rate",
            ctx.numworkers
        )
    } else if bursts {
        format!(
            "the connections were the limit in bursts ({starved}, though {little} on \
             average: the target stalled now and then); raise --numworkers (now {}) or lower \
             --rate",
            ctx.numworkers
        )
    } else {
        format!(
            "the client could not keep up ({little}): give it more cores (--cores) or ranks, \
             or lower --rate"
        )
    };
    Some(format!("{head}: {why}"))
}

/// The summary's line: target (a sweep's steps: how many, first → last) and arrival,
/// achieved, and the schedule lag.
pub fn line(rec: &RateRecord) -> String {
    let target = match (rec.steps.first(), rec.steps.last()) {
        (Some(a), Some(b)) if rec.steps.len() > 1 => format!(
            "{} steps {} → {} ops/s",
            rec.steps.len(),
            thousands(a.target.round() as u64),
            thousands(b.target.round() as u64)
        ),
        _ => format!("target {} ops/s", thousands(rec.target.round() as u64)),
    };
    format!(
        "rate: {target} ({})  achieved {} ops/s  schedule lag p99 {}  max {}\n",
        rec.arrival,
        thousands(rec.achieved.round() as u64),
        human_us(rec.lag_us.p99),
        human_us(rec.lag_us.max),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Op;
    use ringload_core::rate::{Arrival, RateSteps};

    fn plan(rates: Vec<f64>, step: Option<u64>) -> RatePlan {
        RatePlan {
            steps: RateSteps::List(rates),
            arrival: Arrival::Uniform,
            step: step.map(Duration::from_secs),
            slo: None,
        }
    }

    fn snap(ok: u64, err: u64, lag_us: u64) -> Snapshot {
        let mut s = Snapshot::new(0);
        s.rate_mode();
        for _ in 0..ok {
            s.get_mut(Op::Get).record_ok(10, 100);
            s.lag.as_deref_mut().unwrap().record(lag_us);
        }
        for _ in 0..err {
            s.get_mut(Op::Put)
                .record_err(crate::stats::ErrorKind::Http(503));
            s.lag.as_deref_mut().unwrap().record(lag_us);
        }
        s
    }

    #[test]
    fn a_kept_rate_counts_failures_as_issued_and_warns_nothing() {
        let r = record(&plan(vec![100.0], None), &snap(290, 10, 50), 3.0);
        assert_eq!((r.target, r.achieved, r.kept), (100.0, 100.0, true));
        assert_eq!(r.arrival, "uniform");
        assert_eq!(r.lag_us.p99, 50);
        assert!(r.steps.is_empty() && r.knee.is_none() && r.slo.is_none());
        assert_eq!(warning(&r, &RateContext::default(), 300, 100.0), None);
        assert_eq!(
            line(&r),
            "rate: target 100 ops/s (uniform)  achieved 100 ops/s  schedule lag p99 50µs  max 50µs\n"
        );
    }

    #[test]
    fn too_few_connections_and_a_slow_client_are_told_apart() {
        // 76% of the rate, a 450 ms lag.
        let r = record(&plan(vec![2000.0], None), &snap(1520, 0, 450_000), 1.0);
        assert!(!r.kept);
        // 1,520 ops/s × 6 ms keeps 9.1 of 10 connections busy: they were the limit.
        let starved = RateContext {
            starved: 1200,
            numworkers: 10,
            service_mean_us: 6_000.0,
            client_bound: false,
        };
        assert_eq!(
            warning(&r, &starved, 1520, 2000.0).unwrap(),
            "rate not kept: 1,520 of 2,000 ops/s (76%), schedule lag p99 450ms: the \
             connections were the limit (1,520 ops/s × mean service 6ms keeps 9.1 of 10 \
             connections busy; every one was busy when 1,200 of 1,520 requests fell due); \
             raise --numworkers (now 10) or lower --rate"
        );
        // The same starved count with a fast service from a client-bound rank: the
        // connections were mostly idle, so the client stalled (it did not send, and
        // requests piled up behind it).
        let slow = RateContext {
            starved: 1200,
            numworkers: 10,
            service_mean_us: 1_000.0,
            client_bound: true,
        };
        assert_eq!(
            warning(&r, &slow, 1520, 2000.0).unwrap(),
            "rate not kept: 1,520 of 2,000 ops/s (76%), schedule lag p99 450ms: the client \
             could not keep up (1,520 ops/s × mean service 1ms keeps 1.5 of 10 connections \
             busy): give it more cores (--cores) or ranks, or lower --rate"
        );
        // A rank not client-bound whose connections were all busy for many due starts
        // while idle on average: the target stalled in bursts.
        let bursts = RateContext {
            client_bound: false,
            ..slow
        };
        assert_eq!(
            warning(&r, &bursts, 1520, 2000.0).unwrap(),
            "rate not kept: 1,520 of 2,000 ops/s (76%), schedule lag p99 450ms: the \
             connections were the limit in bursts (every one was busy when 1,200 of 1,520 \
             requests fell due, though 1,520 ops/s × mean service 1ms keeps 1.5 of 10 \
             connections busy on average: the target stalled now and then); raise \
             --numworkers (now 10) or lower --rate"
        );
        // Neither: the client could not keep up.
        let few = RateContext {
            starved: 10,
            ..bursts
        };
        assert!(warning(&r, &few, 1520, 2000.0)
            .unwrap()
            .contains(": the client could not keep up ("));
        // The full count but a lag beyond the bound is not kept either.
        let late = record(&plan(vec![100.0], None), &snap(100, 0, 20_000), 1.0);
        assert!(!late.kept);
    }

    #[test]
    fn a_stepped_plan_reports_its_last_step_and_expects_each_steps_share() {
        let p = plan(vec![10.0, 20.0, 40.0], Some(1));
        // 2.5 s: steps of 10 and 20, then half a step of 40 = 50 operations.
        let r = record(&p, &snap(50, 0, 10), 2.5);
        assert_eq!((r.target, r.kept), (40.0, true));
        assert!(!record(&p, &snap(47, 0, 10), 2.5).kept);
        // Ending on a boundary (or past the list) names the step that ran.
        assert_eq!(record(&p, &snap(30, 0, 10), 2.0).target, 20.0);
        assert_eq!(record(&p, &snap(70, 0, 10), 3.4).target, 40.0);
    }

    #[test]
    fn unscheduled_puts_do_not_count_as_kept() {
        // 100 scheduled of 100 expected would be kept; 80 scheduled and 20 unscheduled
        // --pctupdate PUTs are 100 issued but not a kept schedule.
        let mut s = snap(80, 0, 10);
        for _ in 0..20 {
            s.get_mut(Op::Put).record_ok(10, 100);
        }
        let r = record(&plan(vec![100.0], None), &s, 1.0);
        assert_eq!(r.achieved, 100.0, "achieved counts every issued operation");
        assert!(!r.kept, "kept counts only the scheduled ones");
    }

    #[test]
    fn a_sweep_is_compared_with_its_planned_operations_and_shows_its_steps() {
        let p = plan(vec![100.0, 300.0], Some(1));
        // 2 s: 400 planned operations, 200 ops/s on average; 300 issued is 75%, not 50%.
        let mut r = record(&p, &snap(300, 0, 10), 2.0);
        assert!(!r.kept);
        assert_eq!(planned_rate(&p, 2.0), 200.0);
        let w = warning(&r, &RateContext::default(), 300, planned_rate(&p, 2.0)).unwrap();
        assert!(
            w.starts_with("rate not kept: 150 of 200 ops/s (75%), "),
            "{w}"
        );
        let step = |target: f64| ringload_core::rate::StepRecord {
            target,
            achieved: target,
            start_unix_ns: 0,
            end_unix_ns: 0,
            complete: true,
            ops: Default::default(),
            broke: None,
        };
        r.steps = vec![step(100.0), step(300.0)];
        assert_eq!(
            line(&r),
            "rate: 2 steps 100 → 300 ops/s (uniform)  achieved 150 ops/s  schedule lag p99 \
             10µs  max 10µs\n"
        );
    }

    use crate::report::tests::Buf;

    #[test]
    fn the_summary_shows_service_latency_the_rate_line_and_the_warning() {
        use crate::report::{ReportConfig, Reporter};
        use crate::stats::CoreStats;
        const S: u64 = 1_000_000_000;
        const T0: u64 = 1_700_000_000 * S;
        let cfg = ReportConfig {
            statsinterval: Duration::from_secs(1),
            duration: Some(Duration::from_secs(1)),
            cores: 1,
            live: false,
            rate: Some(plan(vec![10.0], None)),
        };
        let out = Buf::default();
        let mut r = Reporter::new(cfg, T0, out.clone(), Buf::default());
        let mut core = CoreStats::new(T0);
        core.rate_mode();
        for _ in 0..8 {
            core.record_lag(30_000);
            core.record_ok_rated(Op::Get, 1024, 31_000, 1_000);
        }
        r.add_tick(0, core.rotate(T0 + S));
        r.set_rate_context(RateContext {
            starved: 0,
            numworkers: 1,
            service_mean_us: 0.0,
            client_bound: false,
        });
        let totals = r.finish(T0 + S);
        let text = out.text();
        let want = "     latency min 31ms  mean 31ms  p50 31ms  p90 31ms  p99 31ms  p99.9 31ms  \
                    max 31ms\n     service min 1ms  mean 1ms  p50 1ms  p90 1ms  p99 1ms  \
                    p99.9 1ms  max 1ms\n     errors 0\n";
        assert!(text.contains(want), "{text}");
        let warning = "rate not kept: 8 of 10 ops/s (80%), schedule lag p99 30ms: the client \
                       could not keep up (8 ops/s × mean service 1ms keeps 0.0 of 1 \
                       connections busy): give it more cores (--cores) or ranks, or lower \
                       --rate";
        assert!(
            text.ends_with(&format!(
                "     errors 0\nrate: target 10 ops/s (uniform)  achieved 8 ops/s  schedule \
                 lag p99 30ms  max 30ms\nwarning: {warning}\n"
            )),
            "{text}"
        );
        assert_eq!(totals.warnings, [warning]);
        let rec = totals.rate.unwrap();
        assert_eq!((rec.target, rec.achieved, rec.kept), (10.0, 8.0, false));
    }

    #[test]
    fn a_stop_before_the_planned_end_ends_the_issuing_time() {
        use crate::report::{ReportConfig, Reporter};
        use crate::stats::CoreStats;
        const S: u64 = 1_000_000_000;
        const T0: u64 = 1_700_000_000 * S;
        let cfg = ReportConfig {
            statsinterval: Duration::from_secs(1),
            duration: Some(Duration::from_secs(10)),
            cores: 1,
            live: false,
            rate: Some(plan(vec![10.0], None)),
        };
        let mut r = Reporter::new(cfg, T0, Buf::default(), Buf::default());
        let mut core = CoreStats::new(T0);
        core.rate_mode();
        for _ in 0..20 {
            core.record_lag(10);
            core.record_ok_rated(Op::Get, 1024, 1_000, 1_000);
        }
        r.add_tick(0, core.rotate(T0 + S));
        // A signal at 2 s; the drain runs to 3 s.
        r.stopped(T0 + 2 * S);
        r.add_tick(0, core.rotate(T0 + 2 * S));
        let totals = r.finish(T0 + 3 * S);
        let rec = totals.rate.unwrap();
        assert_eq!((rec.achieved, rec.kept), (10.0, true), "{rec:?}");
        assert!(totals.warnings.is_empty(), "{:?}", totals.warnings);
    }
}
