//! Unit tests of a sweep's steps, driven through the reporter with synthetic core ticks:
//! attribution of ticks to steps, the line of each step, the stop at the first breach, the
//! steps a stop cuts short, the knee and the result's `rate.steps`.

use super::super::*;
use crate::stats::{ErrorKind, Op};
use ringload_core::rate::{parse_slo, Arrival, RatePlan, RateSteps};
use ringload_core::result::decode_histogram;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

use crate::report::tests::Buf;

fn plan(steps: RateSteps, step_s: u64, slo: Option<&str>) -> RatePlan {
    RatePlan {
        steps,
        arrival: Arrival::Uniform,
        step: Some(Duration::from_secs(step_s)),
        slo: slo.map(|s| parse_slo(s).unwrap()),
    }
}

fn reporter(p: RatePlan, cores: usize) -> (Reporter<Buf, Buf>, Buf) {
    let cfg = ReportConfig {
        statsinterval: Duration::from_secs(1),
        duration: None,
        cores,
        live: false,
        rate: Some(p),
    };
    let out = Buf::default();
    (Reporter::new(cfg, T0, out.clone(), Buf::default()), out)
}

/// Tick `j` (1-based) of a core: `n` GETs at `lat` µs and `e` timeouts.
fn tick(j: u64, n: u64, lat: u64, e: u64) -> Snapshot {
    let mut s = Snapshot::new(T0 + (j - 1) * S);
    s.end_unix_ns = T0 + j * S;
    for _ in 0..n {
        s.get_mut(Op::Get).record_ok(0, lat);
    }
    for _ in 0..e {
        s.get_mut(Op::Get).record_err(ErrorKind::Timeout);
    }
    s
}

#[test]
fn ticks_go_to_the_step_of_their_start_and_each_step_prints_as_it_ends() {
    let p = plan(
        RateSteps::List(vec![100.0, 200.0, 400.0]),
        2,
        Some("p99=50ms"),
    );
    let (mut r, out) = reporter(p, 1);
    for j in 1..=2 {
        r.add_tick(0, tick(j, 100, 1_000, 0));
    }
    r.poll(T0 + 2 * S - 1);
    assert!(out.lines("step").is_empty(), "step 1 has not ended yet");
    r.poll(T0 + 2 * S);
    assert_eq!(
        out.lines("step"),
        ["step 1/3  100 ops/s  achieved 100 ops/s  p99 1ms  errors 0.00%  met"]
    );
    for j in 3..=4 {
        r.add_tick(0, tick(j, 198, 3_400, 2));
    }
    r.poll(T0 + 4 * S);
    for j in 5..=6 {
        r.add_tick(0, tick(j, 400, 20_000, 0));
    }
    r.poll(T0 + 7 * S);
    assert_eq!(
        out.lines("step").len(),
        2,
        "the last step waits for the drain"
    );
    assert!(!r.breached());
    r.stopped(T0 + 6 * S + 3_000_000);
    // Completions of the drain, after the last step's end, join the last step.
    let mut drain = tick(7, 4, 30_000, 0);
    drain.end_unix_ns = T0 + 6 * S + 200_000_000;
    r.add_tick(0, drain);
    let t = r.finish(T0 + 6 * S + 200_000_000);
    assert_eq!(
        out.lines("step"),
        [
            "step 1/3  100 ops/s  achieved 100 ops/s  p99 1ms  errors 0.00%  met",
            "step 2/3  200 ops/s  achieved 200 ops/s  p99 3.4ms  errors 1.00%  met",
            "step 3/3  400 ops/s  achieved 402 ops/s  p99 20ms  errors 0.00%  met",
        ]
    );
    assert_eq!(
        out.lines("sweep:"),
        ["sweep: knee 400 ops/s (p99=50ms); every step met it"]
    );
    let rate = t.rate.expect("a sweep records rate");
    assert_eq!(rate.knee, Some(400.0));
    assert_eq!(rate.slo.as_deref(), Some("p99=50ms"));
    assert_eq!(rate.steps.len(), 3);
    let s2 = &rate.steps[1];
    assert_eq!((s2.target, s2.achieved, s2.complete), (200.0, 200.0, true));
    assert_eq!((s2.start_unix_ns, s2.end_unix_ns), (T0 + 2 * S, T0 + 4 * S));
    assert_eq!((s2.ops["get"].count, s2.ops["get"].errors), (396, 4));
    assert_eq!(s2.ops["put"].count, 0);
    let h = decode_histogram(&s2.ops["get"].histogram).unwrap();
    assert_eq!(h.len(), 396);
    assert_eq!(rate.steps[2].ops["get"].count, 804);
    assert_eq!(rate.steps[2].end_unix_ns, T0 + 6 * S);
}

#[test]
fn a_step_waits_for_every_core() {
    let p = plan(RateSteps::List(vec![100.0, 200.0]), 1, Some("p99=50ms"));
    let (mut r, out) = reporter(p, 2);
    r.add_tick(0, tick(1, 60, 1_000, 0));
    r.poll(T0 + 2 * S);
    assert!(out.lines("step").is_empty(), "core 1 has not delivered");
    r.add_tick(1, tick(1, 40, 2_000, 0));
    r.poll(T0 + 2 * S);
    assert_eq!(
        out.lines("step"),
        ["step 1/2  100 ops/s  achieved 100 ops/s  p99 2ms  errors 0.00%  met"]
    );
}

#[test]
fn the_first_breach_stops_the_sweep_and_the_step_after_it_is_incomplete() {
    let p = plan(
        RateSteps::Sweep {
            start: 100.0,
            factor: 2.0,
        },
        1,
        Some("p99=50ms"),
    );
    let (mut r, out) = reporter(p, 1);
    r.add_tick(0, tick(1, 100, 1_000, 0));
    r.add_tick(0, tick(2, 200, 2_000, 0));
    r.poll(T0 + 2 * S);
    assert!(!r.breached());
    r.add_tick(0, tick(3, 400, 62_100, 0));
    r.poll(T0 + 3 * S);
    assert!(r.breached(), "step 3 broke p99=50ms");
    r.stopped(T0 + 3 * S + 20_000_000);
    let mut last = tick(4, 30, 70_000, 0);
    last.end_unix_ns = T0 + 3 * S + 500_000_000;
    r.add_tick(0, last);
    r.poll(T0 + 4 * S);
    let t = r.finish(T0 + 3 * S + 500_000_000);
    assert_eq!(
        out.lines("step"),
        [
            "step 1  100 ops/s  achieved 100 ops/s  p99 1ms  errors 0.00%  met",
            "step 2  200 ops/s  achieved 200 ops/s  p99 2ms  errors 0.00%  met",
            "step 3  400 ops/s  achieved 400 ops/s  p99 62.1ms  errors 0.00%  broke: p99 62.1ms > 50ms",
            "step 4  800 ops/s  achieved 1,500 ops/s  p99 70ms  errors 0.00%  incomplete (the run stopped inside it)",
        ]
    );
    assert_eq!(
        out.lines("sweep:"),
        ["sweep: knee 200 ops/s (p99=50ms); step 3 at 400 ops/s broke: p99 62.1ms > 50ms"]
    );
    let rate = t.rate.unwrap();
    assert_eq!(rate.knee, Some(200.0));
    let flags: Vec<_> = rate
        .steps
        .iter()
        .map(|s| (s.complete, s.broke.is_some()))
        .collect();
    assert_eq!(
        flags,
        [(true, false), (true, false), (true, true), (false, false)]
    );
}

#[test]
fn an_error_budget_breaks_a_step_too() {
    let p = plan(
        RateSteps::List(vec![100.0, 200.0]),
        1,
        Some("p99=50ms,errors=0.5%"),
    );
    let (mut r, out) = reporter(p, 1);
    r.add_tick(0, tick(1, 90, 1_000, 10));
    r.poll(T0 + S);
    assert!(r.breached());
    r.stopped(T0 + S + 1);
    let t = r.finish(T0 + S + 1);
    assert_eq!(
        out.lines("step"),
        ["step 1/2  100 ops/s  achieved 100 ops/s  p99 1ms  errors 10.00%  broke: errors 10.00% > 0.5%"]
    );
    assert_eq!(
        out.lines("sweep:"),
        ["sweep: no knee (p99=50ms,errors=0.5%); step 1 at 100 ops/s broke: errors 10.00% > 0.5%"]
    );
    assert_eq!(t.rate.unwrap().knee, None);
}

#[test]
fn a_step_far_below_its_target_breaks_and_is_never_the_knee() {
    let p = plan(RateSteps::List(vec![50.0, 100.0]), 1, Some("p99=50ms"));
    let (mut r, out) = reporter(p, 1);
    // 37 of 50 scheduled operations issued: fast, but the schedule was not kept.
    r.add_tick(0, tick(1, 37, 1_000, 0));
    r.poll(T0 + S);
    assert!(r.breached());
    r.stopped(T0 + S + 1);
    let t = r.finish(T0 + S + 1);
    assert_eq!(
        out.lines("step"),
        ["step 1/2  50 ops/s  achieved 37 ops/s  p99 1ms  errors 0.00%  broke: achieved 37 of 50 ops/s"]
    );
    assert_eq!(t.rate.unwrap().knee, None);
}

#[test]
fn a_signal_inside_a_step_leaves_it_incomplete_and_never_the_knee() {
    let p = plan(
        RateSteps::List(vec![100.0, 200.0, 400.0]),
        2,
        Some("p99=50ms"),
    );
    let (mut r, out) = reporter(p, 1);
    r.add_tick(0, tick(1, 100, 1_000, 0));
    r.add_tick(0, tick(2, 100, 1_000, 0));
    r.poll(T0 + 2 * S);
    r.add_tick(0, tick(3, 200, 1_000, 0));
    r.stopped(T0 + 3 * S + 1);
    let mut last = tick(4, 50, 1_000, 0);
    last.end_unix_ns = T0 + 3 * S + 500_000_000;
    r.add_tick(0, last);
    r.poll(T0 + 4 * S);
    assert_eq!(out.lines("step").len(), 1, "step 2 waits for the end");
    let t = r.finish(T0 + 3 * S + 500_000_000);
    assert_eq!(
        out.lines("step")[1],
        "step 2/3  200 ops/s  achieved 250 ops/s  p99 1ms  errors 0.00%  incomplete (the run stopped inside it)"
    );
    assert_eq!(
        out.lines("sweep:"),
        ["sweep: knee 100 ops/s (p99=50ms); the run stopped inside step 2 at 200 ops/s"]
    );
    let rate = t.rate.unwrap();
    assert_eq!(rate.knee, Some(100.0));
    assert_eq!(rate.steps.len(), 2, "step 3 never started");
    assert!(!rate.steps[1].complete);
    assert_eq!(rate.steps[1].end_unix_ns, T0 + 3 * S + 1);
}

#[test]
fn without_an_slo_every_step_is_reported_and_none_is_judged() {
    let p = plan(RateSteps::List(vec![100.0, 200.0]), 1, None);
    let (mut r, out) = reporter(p, 1);
    r.add_tick(0, tick(1, 100, 90_000, 0));
    r.poll(T0 + S);
    r.add_tick(0, tick(2, 200, 90_000, 0));
    r.stopped(T0 + 2 * S);
    let t = r.finish(T0 + 2 * S);
    assert!(!r_breached_after(&t));
    assert_eq!(
        out.lines("step"),
        [
            "step 1/2  100 ops/s  achieved 100 ops/s  p99 90ms  errors 0.00%",
            "step 2/2  200 ops/s  achieved 200 ops/s  p99 90ms  errors 0.00%",
        ]
    );
    assert_eq!(
        out.lines("sweep:"),
        ["sweep: 2 step(s), no --slo: none judged, no knee"]
    );
    let rate = t.rate.unwrap();
    assert_eq!(rate.knee, None);
    assert!(rate.steps.iter().all(|s| s.complete && s.broke.is_none()));
}

fn r_breached_after(t: &RunTotals) -> bool {
    t.rate
        .as_ref()
        .is_some_and(|r| r.steps.iter().any(|s| s.broke.is_some()))
}

#[test]
fn a_single_rate_has_no_steps() {
    let p = RatePlan {
        steps: RateSteps::List(vec![100.0]),
        arrival: Arrival::Uniform,
        step: None,
        slo: None,
    };
    let (mut r, out) = reporter(p, 1);
    r.add_tick(0, tick(1, 100, 1_000, 0));
    let t = r.finish(T0 + S);
    assert!(out.lines("step").is_empty() && out.lines("sweep:").is_empty());
    let rate = t.rate.expect("a --rate run records rate");
    assert!(rate.steps.is_empty() && rate.knee.is_none());
}

#[test]
fn a_duration_ending_on_a_step_boundary_keeps_the_drain_in_that_step() {
    let p = plan(
        RateSteps::Sweep {
            start: 100.0,
            factor: 2.0,
        },
        1,
        Some("p99=50ms"),
    );
    let (mut r, out) = reporter(p, 1);
    r.add_tick(0, tick(1, 100, 1_000, 0));
    r.add_tick(0, tick(2, 200, 1_000, 0));
    r.stopped(T0 + 2 * S + 5_000_000);
    r.poll(T0 + 2 * S + 10_000_000);
    assert_eq!(out.lines("step").len(), 1, "step 2 waits for the drain");
    let mut drain = tick(3, 6, 1_000, 0);
    drain.end_unix_ns = T0 + 2 * S + 300_000_000;
    r.add_tick(0, drain);
    let t = r.finish(T0 + 2 * S + 300_000_000);
    assert_eq!(
        out.lines("step")[1],
        "step 2  200 ops/s  achieved 206 ops/s  p99 1ms  errors 0.00%  met"
    );
    let rate = t.rate.unwrap();
    assert_eq!(rate.steps.len(), 2, "no step 3 made of the drain alone");
    assert_eq!(rate.knee, Some(200.0));
    assert_eq!(
        out.lines("sweep:"),
        ["sweep: knee 200 ops/s (p99=50ms); every step met it"]
    );
}

/// A single rate with `--slo`, run for `secs` seconds with `n` GETs a second at `lat` µs;
/// the run stops at `stop` seconds.
fn single_slo(n: u64, lat: u64, secs: u64, stop: u64) -> (RunTotals, Buf) {
    let p = RatePlan {
        steps: RateSteps::List(vec![100.0]),
        arrival: Arrival::Uniform,
        step: None,
        slo: Some(parse_slo("p99=50ms").unwrap()),
    };
    let cfg = ReportConfig {
        statsinterval: Duration::from_secs(1),
        duration: Some(Duration::from_secs(secs)),
        cores: 1,
        live: false,
        rate: Some(p),
    };
    let out = Buf::default();
    let mut r = Reporter::new(cfg, T0, out.clone(), Buf::default());
    for j in 1..=stop {
        r.add_tick(0, tick(j, n, lat, 0));
        r.poll(T0 + j * S);
        assert!(
            !r.breached(),
            "a single rate's breach does not stop the run"
        );
    }
    r.stopped(T0 + stop * S);
    let mut t = r.finish(T0 + stop * S);
    // The synthetic ticks record no schedule lag: leave out the "rate not kept" warning.
    t.warnings.retain(|w| w.starts_with("slo"));
    (t, out)
}

#[test]
fn a_single_rate_with_an_slo_is_judged_over_the_measured_phase() {
    let (t, out) = single_slo(100, 1_000, 2, 2);
    assert!(out.lines("step").is_empty() && out.lines("sweep:").is_empty());
    assert_eq!(
        out.lines("slo:"),
        ["slo: p99=50ms over the measured phase  p99 1ms  errors 0.00%  met"]
    );
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    let rate = t.rate.unwrap();
    assert_eq!(rate.steps.len(), 1);
    assert!(rate.steps[0].complete && rate.steps[0].broke.is_none());
    assert_eq!(rate.knee, None, "a single rate has no knee");

    let (t, out) = single_slo(100, 62_100, 2, 2);
    assert_eq!(
        out.lines("slo:"),
        ["slo: p99=50ms over the measured phase  p99 62.1ms  errors 0.00%  broke: p99 62.1ms > 50ms"]
    );
    let warning = "slo broke: p99 62.1ms > 50ms over the measured phase (--slo p99=50ms); the \
                   latency at this rate is above the objective: lower --rate or look at the \
                   slow operations";
    assert_eq!(t.warnings, [warning]);
    assert!(out.text().contains(&format!("warning: {warning}\n")));
    let rate = t.rate.unwrap();
    assert_eq!(rate.steps[0].broke.as_deref(), Some("p99 62.1ms > 50ms"));
}

#[test]
fn a_single_rate_stopped_early_is_not_judged() {
    let (t, out) = single_slo(100, 62_100, 5, 2);
    assert_eq!(
        out.lines("slo:"),
        [
            "slo: p99=50ms over the measured phase  p99 62.1ms  errors 0.00%  not judged: the run \
          stopped before its --duration"
        ]
    );
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert!(!t.rate.unwrap().steps[0].complete);
}
