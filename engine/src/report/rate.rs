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
/// Share of scheduled requests that found no free connection above which the connections,
/// not the client's CPU, are named as the cause of a schedule not kept.
const STARVED_SHARE: f64 = 0.01;

/// What the cores report about the schedule besides their statistics.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateContext {
    /// Intended starts that fell due while every connection of their core was busy.
    pub starved: u64,
    /// The run's connections (`--numworkers`), named in the advice.
    pub numworkers: u32,
}

/// The rank's rate over the `secs` seconds of the measured phase in which requests were
/// issued (up to the planned end: the drain after it issues none), whose totals are `total`.
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
    let kept = issued as f64 >= KEPT_SHARE * expected && lag_us.p99 <= LAG_KEPT_US;
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

/// The rate of the last step a run of `secs` seconds ran (for a list, at most its last).
fn last_target(plan: &RatePlan, secs: f64) -> f64 {
    // A run ending right on a step boundary ran the step before it.
    let at = Duration::from_secs_f64(secs.max(0.0)).saturating_sub(Duration::from_millis(1));
    let k = plan.step_at(at);
    let last = plan.step_count().map_or(k, |n| k.min(n.saturating_sub(1)));
    plan.rate_at(last).unwrap_or(0.0)
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
/// `scheduled` is how many scheduled requests were sent (the lag histogram's count).
pub fn warning(rec: &RateRecord, ctx: &RateContext, scheduled: u64) -> Option<String> {
    if rec.kept {
        return None;
    }
    let pct = if rec.target > 0.0 {
        (rec.achieved / rec.target * 100.0).round() as u64
    } else {
        0
    };
    let head = format!(
        "rate not kept: {} of {} ops/s ({pct}%), schedule lag p99 {}",
        thousands(rec.achieved.round() as u64),
        thousands(rec.target.round() as u64),
        human_us(rec.lag_us.p99),
    );
    let scheduled = scheduled.max(1);
    let why = if ctx.starved as f64 > STARVED_SHARE * scheduled as f64 {
        format!(
            "every connection was busy when {} of {} requests fell due; raise --numworkers \
             (now {}) or lower --rate",
            thousands(ctx.starved),
            thousands(scheduled),
            ctx.numworkers
        )
    } else {
        "connections were free but the client did not send on time (client-bound); give it \
         more cores (--cores) or ranks, or lower --rate"
            .to_string()
    };
    Some(format!("{head}: {why}"))
}

/// The summary's line: target and arrival, achieved, and the schedule lag.
pub fn line(rec: &RateRecord) -> String {
    format!(
        "rate: target {} ops/s ({})  achieved {} ops/s  schedule lag p99 {}  max {}\n",
        thousands(rec.target.round() as u64),
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
        assert_eq!(warning(&r, &RateContext::default(), 300), None);
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
        let starved = RateContext {
            starved: 1200,
            numworkers: 10,
        };
        assert_eq!(
            warning(&r, &starved, 1520).unwrap(),
            "rate not kept: 1,520 of 2,000 ops/s (76%), schedule lag p99 450ms: every \
             connection was busy when 1,200 of 1,520 requests fell due; raise --numworkers \
             (now 10) or lower --rate"
        );
        let slow = RateContext {
            starved: 0,
            numworkers: 10,
        };
        assert_eq!(
            warning(&r, &slow, 1520).unwrap(),
            "rate not kept: 1,520 of 2,000 ops/s (76%), schedule lag p99 450ms: connections \
             were free but the client did not send on time (client-bound); give it more \
             cores (--cores) or ranks, or lower --rate"
        );
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

    /// A writer the test reads back after the reporter consumed it.
    #[derive(Clone, Default)]
    struct Buf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

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
            starved: 6,
            numworkers: 1,
        });
        let totals = r.finish(T0 + S);
        let text = String::from_utf8(out.0.borrow().clone()).unwrap();
        let want = "     latency min 31ms  mean 31ms  p50 31ms  p90 31ms  p99 31ms  p99.9 31ms  \
                    max 31ms\n     service min 1ms  mean 1ms  p50 1ms  p90 1ms  p99 1ms  \
                    p99.9 1ms  max 1ms\n     errors 0\n";
        assert!(text.contains(want), "{text}");
        let warning = "rate not kept: 8 of 10 ops/s (80%), schedule lag p99 30ms: every \
                       connection was busy when 6 of 8 requests fell due; raise --numworkers \
                       (now 1) or lower --rate";
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
}
