use super::*;

use hdrhistogram::Histogram;
use ringload_core::hist::{new_histogram, LatencySummary};
use ringload_core::result::encode_histogram;

fn hist(values: &[(u64, u64)]) -> Histogram<u64> {
    let mut h = new_histogram();
    for &(v, n) in values {
        h.record_n(v, n).unwrap();
    }
    h
}

fn summary(h: &Histogram<u64>) -> LatencySummary {
    LatencySummary::of(h)
}

fn step(target: f64, values: &[(u64, u64)], errors: u64, broke: Option<&str>) -> StepRecord {
    let h = hist(values);
    let mut ops = BTreeMap::new();
    ops.insert(
        "get".to_string(),
        StepOp {
            count: h.len(),
            errors,
            latency_us: summary(&h),
            histogram: encode_histogram(&h),
        },
    );
    StepRecord {
        target,
        achieved: target,
        start_unix_ns: 1,
        end_unix_ns: 2,
        complete: true,
        ops,
        broke: broke.map(String::from),
    }
}

fn rate(steps: Vec<StepRecord>, slo: Option<&str>, lag: &[(u64, u64)]) -> RateRecord {
    let h = hist(lag);
    RateRecord {
        target: steps.last().map_or(100.0, |s| s.target),
        achieved: steps.last().map_or(99.0, |s| s.achieved),
        arrival: "uniform".into(),
        lag_us: summary(&h),
        lag_histogram: encode_histogram(&h),
        kept: true,
        slo: slo.map(String::from),
        steps,
        knee: None,
    }
}

#[test]
fn service_latency_merges_exactly_and_names_the_ranks_without() {
    let a = hist(&[(100, 90), (5_000, 10)]);
    let b = hist(&[(200, 50), (9_000, 2)]);
    let one = |h: &Histogram<u64>| {
        Some(Box::new(RankPhase {
            count: h.len(),
            latency: summary(h),
            hist: h.clone(),
        }))
    };
    let mut t = ServiceTotals::default();
    t.add(0, [one(&a), None, None, None, None]);
    t.add(1, Default::default());
    t.add(2, [one(&b), None, None, None, None]);
    let (l, h) = t.record(0);
    let (l, h) = (l.unwrap(), h.unwrap());
    let mut union = a.clone();
    union.add(&b).unwrap();
    assert_eq!(l.p99, union.value_at_quantile(0.99));
    assert_eq!(l.p50, union.value_at_quantile(0.50));
    assert_eq!((l.min, l.max), (100, b.max()));
    assert_eq!(decode_histogram(&h).unwrap().len(), 152);
    assert_eq!(t.record(1), (None, None));
    assert_eq!(
        t.note().unwrap(),
        "service latency comes from ranks 0, 2 only; rank 1 recorded none (closed loop or an \
         older file)"
    );
}

#[test]
fn steps_are_judged_again_on_the_merged_histograms() {
    let slo = Some("p99=10ms");
    // Rank 0's second step alone breaks the objective (1 slow request in 10 is its p99);
    // merged with rank 1's 1,000 fast requests, the slow one is under 1%: the step meets it.
    let r0 = rate(
        vec![
            step(100.0, &[(1_000, 10)], 0, None),
            step(
                200.0,
                &[(1_000, 9), (50_000, 1)],
                0,
                Some("p99 50ms > 10ms"),
            ),
            step(400.0, &[(50_000, 10)], 0, Some("p99 50ms > 10ms")),
        ],
        slo,
        &[(10, 5)],
    );
    let r1 = rate(
        vec![
            step(100.0, &[(1_000, 1_000)], 0, None),
            step(200.0, &[(1_000, 1_000)], 0, None),
            step(400.0, &[(30_000, 1_000)], 0, Some("p99 30ms > 10ms")),
        ],
        slo,
        &[(20, 5), (9_000, 1)],
    );
    assert_eq!(knee(&r0.steps), Some(100.0), "rank 0 alone");
    let mut t = RateTotals::default();
    t.add(0, Some(r0));
    t.add(1, Some(r1));
    let mut notes = Vec::new();
    let m = t.record(&mut notes).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(m.steps.len(), 3);
    assert_eq!(m.steps[1].broke, None);
    assert_eq!(m.steps[1].ops["get"].count, 1_010);
    assert_eq!(m.steps[1].ops["get"].latency_us.p99, 1_000);
    assert_eq!(m.steps[2].broke.as_deref(), Some("p99 30ms > 10ms"));
    assert_eq!(
        m.knee,
        Some(400.0),
        "the merged knee is step 2's summed target"
    );
    assert_eq!((m.target, m.achieved), (800.0, 800.0));
    assert_eq!(m.lag_us.max, hist(&[(9_000, 1)]).max());
    assert_eq!(decode_histogram(&m.lag_histogram).unwrap().len(), 11);
    assert!(m.kept);
}

#[test]
fn an_error_budget_is_judged_on_summed_counts() {
    let slo = Some("p99=10ms,errors=1%");
    let r0 = rate(vec![step(100.0, &[(1_000, 98)], 2, None)], slo, &[(1, 1)]);
    let r1 = rate(vec![step(100.0, &[(1_000, 99)], 1, None)], slo, &[(1, 1)]);
    let mut t = RateTotals::default();
    t.add(0, Some(r0));
    t.add(1, Some(r1));
    let m = t.record(&mut Vec::new()).unwrap();
    assert_eq!(m.steps[0].broke.as_deref(), Some("errors 1.50% > 1%"));
    assert_eq!(m.knee, None);
}

#[test]
fn a_merged_step_far_below_its_target_breaks_and_an_incomplete_one_is_not_judged() {
    let slo = Some("p99=10ms");
    let mut a = step(100.0, &[(1_000, 100)], 0, None);
    a.achieved = 60.0;
    let mut b = step(200.0, &[(50_000, 100)], 0, Some("p99 50ms > 10ms"));
    b.complete = false;
    let r0 = rate(vec![a.clone(), b.clone()], slo, &[(1, 1)]);
    let r1 = rate(vec![a, b], slo, &[(1, 1)]);
    let mut t = RateTotals::default();
    t.add(0, Some(r0));
    t.add(1, Some(r1));
    let m = t.record(&mut Vec::new()).unwrap();
    assert_eq!(
        m.steps[0].broke.as_deref(),
        Some("achieved 120 of 200 ops/s")
    );
    assert!(!m.steps[1].complete);
    assert_eq!(m.steps[1].broke, None, "an incomplete step is not judged");
    assert_eq!(m.knee, None);
}

#[test]
fn ranks_with_other_plans_or_none_are_left_out_and_named() {
    let r0 = rate(vec![step(100.0, &[(1_000, 10)], 0, None)], None, &[(1, 1)]);
    let mut r1 = r0.clone();
    r1.arrival = "poisson".into();
    r1.kept = false;
    let mut r3 = r0.clone();
    r3.lag_histogram = "not base64!".into();
    let mut t = RateTotals::default();
    t.add(0, Some(r0));
    t.add(1, Some(r1));
    t.add(2, None);
    t.add(3, Some(r3));
    let m = t.record(&mut Vec::new()).unwrap();
    assert_eq!(m.target, 100.0);
    assert!(m.kept, "the left-out rank's schedule does not count");
    assert_eq!(m.knee, None, "no objective, no knee");
    let notes = t.notes();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert_eq!(
        notes[0],
        "rank 1's rate plan (poisson arrivals, steps 100) differs from the first rate rank's \
         (uniform arrivals, steps 100): its rate figures are left out of the merged rate"
    );
    assert!(
        notes[1].starts_with("rank 3's rate is left out of the merged rate: rate.lag_histogram: "),
        "{notes:?}"
    );
    assert_eq!(
        notes[2],
        "rate figures come from rank 0 only; rank 2 ran without --rate"
    );
}

#[test]
fn a_rank_missing_a_step_makes_it_incomplete() {
    let r0 = rate(
        vec![
            step(100.0, &[(1_000, 10)], 0, None),
            step(200.0, &[(1_000, 10)], 0, None),
        ],
        Some("p99=10ms"),
        &[(1, 1)],
    );
    let mut r1 = r0.clone();
    r1.steps[1].complete = false;
    // Rank 2's sweep ended after its first step: it agrees on the step it has.
    let mut r2 = r0.clone();
    r2.steps.truncate(1);
    // Rank 3's second step has another target: another plan.
    let mut r3 = r0.clone();
    r3.steps[1].target = 300.0;
    let mut t = RateTotals::default();
    t.add(0, Some(r0));
    t.add(1, Some(r1));
    t.add(2, Some(r2));
    t.add(3, Some(r3));
    let m = t.record(&mut Vec::new()).unwrap();
    assert_eq!(m.steps.len(), 2);
    assert!(m.steps[0].complete);
    assert_eq!(m.steps[0].target, 300.0, "ranks 0-2");
    assert_eq!(m.steps[1].target, 400.0, "ranks 0-1");
    assert!(!m.steps[1].complete);
    assert_eq!(m.knee, Some(300.0), "an incomplete step is no knee");
    assert_eq!(t.notes().len(), 1, "{:?}", t.notes());
    assert!(
        t.notes()[0]
            == "rank 3's rate plan (uniform arrivals, steps 100,300, --slo p99=10ms) differs \
                from the first rate rank's (uniform arrivals, steps 100,200, --slo p99=10ms): \
                its rate figures are left out of the merged rate",
        "{:?}",
        t.notes()
    );
}

#[test]
fn client_bound_ranks_are_counted_and_named() {
    let rec = |bound: bool| ClientRecord {
        cpu_per_core: vec![0.98],
        sched_wait_per_core: vec![],
        retransmit_pct: None,
        nic_utilization: None,
        client_bound: bound,
        reasons: if bound {
            vec!["core 0 busy 98% of the steady window".into()]
        } else {
            vec![]
        },
    };
    let (a, b) = (rec(false), rec(true));
    let (s, bound) = client([(0, "h0", Some(&a)), (1, "h1", None), (3, "h3", Some(&b))]);
    let s = s.unwrap();
    assert_eq!((s.ranks, s.client_bound), (2, 1));
    assert_eq!(s.client_bound_ranks, [3]);
    assert_eq!(
        bound[0].sentence(),
        "rank 3 was client-bound (core 0 busy 98% of the steady window): it measured itself, \
         not the storage"
    );
    assert_eq!(client([(0, "h0", None)]).0, None);
}
