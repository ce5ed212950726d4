use super::*;

#[test]
fn rates_parse_with_suffixes_and_must_rise() {
    assert_eq!(parse_rates("20000").unwrap(), vec![20000.0]);
    assert_eq!(parse_rates("1k, 2k,4000").unwrap(), vec![1e3, 2e3, 4e3]);
    assert_eq!(parse_rates("1.5M").unwrap(), vec![1.5e6]);
    for bad in ["", "0", "-5", "x", "1000,500", "1000,1000", "2e9", "inf"] {
        assert!(parse_rates(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_sweep_is_start_and_a_rising_factor() {
    assert_eq!(parse_sweep("1000:2").unwrap(), (1000.0, 2.0));
    assert_eq!(parse_sweep("1k:1.5").unwrap(), (1000.0, 1.5));
    for bad in ["1000", "1000:1", "1000:0.5", ":2", "1000:x"] {
        assert!(parse_sweep(bad).is_err(), "{bad}");
    }
}

#[test]
fn an_slo_is_a_percentile_limit_with_an_optional_error_budget() {
    let s = parse_slo("p99=50ms").unwrap();
    assert_eq!(
        (s.percentile, s.limit_us, s.errors_pct),
        (99.0, 50_000, 1.0)
    );
    assert_eq!(s.describe(), "p99=50ms");
    let s = parse_slo("p99.9=20ms,errors=0.5%").unwrap();
    assert_eq!(
        (s.percentile, s.limit_us, s.errors_pct),
        (99.9, 20_000, 0.5)
    );
    assert_eq!(s.describe(), "p99.9=20ms,errors=0.5%");
    for bad in [
        "",
        "p99",
        "p100=1ms",
        "p0=1ms",
        "p99=0s",
        "q99=1ms",
        "errors=1%",
        "p99=1ms,x=1",
    ] {
        let e = parse_slo(bad).unwrap_err();
        assert!(e.contains("e.g. p99=50ms"), "{bad}: {e}");
    }
}

#[test]
fn a_breach_names_the_figure_and_the_limit() {
    let s = parse_slo("p99=50ms").unwrap();
    assert_eq!(s.breach(50_000, 100, 0), None);
    assert_eq!(s.breach(62_100, 100, 0).unwrap(), "p99 62.1ms > 50ms");
    assert_eq!(s.breach(1, 90, 10).unwrap(), "errors 10.00% > 1%");
    assert_eq!(s.breach(1, 0, 0), None);
}

#[test]
fn a_step_far_below_its_target_breaks_whatever_its_latency() {
    let s = parse_slo("p99=50ms").unwrap();
    // An empty step (p99 of nothing reads 0) is not "met".
    assert_eq!(
        s.judge_step(0, 0, 0, 0.0, 50.0).unwrap(),
        "achieved 0 of 50 ops/s"
    );
    assert_eq!(
        s.judge_step(1_000, 37, 0, 37.0, 50.0).unwrap(),
        "achieved 37 of 50 ops/s"
    );
    // At 90% of the target the schedule counts as kept: the latency decides.
    assert_eq!(s.judge_step(1_000, 45, 0, 45.0, 50.0), None);
    assert_eq!(
        s.judge_step(62_100, 45, 0, 45.0, 50.0).unwrap(),
        "p99 62.1ms > 50ms"
    );
}

#[test]
fn human_latencies_keep_three_digits() {
    assert_eq!(human_us(750), "750µs");
    assert_eq!(human_us(1_000), "1ms");
    assert_eq!(human_us(62_140), "62.1ms");
    assert_eq!(human_us(1_500_000), "1.5s");
    assert_eq!(human_us(123_456), "123ms");
}

fn step(target: f64, complete: bool, broke: Option<&str>) -> StepRecord {
    StepRecord {
        target,
        achieved: target,
        start_unix_ns: 0,
        end_unix_ns: 0,
        complete,
        ops: BTreeMap::new(),
        broke: broke.map(String::from),
    }
}

#[test]
fn the_knee_is_the_last_good_complete_step_before_the_first_breach() {
    let s = [
        step(1e3, true, None),
        step(2e3, true, None),
        step(4e3, true, Some("p99 62ms > 50ms")),
        step(8e3, false, None),
    ];
    assert_eq!(knee(&s), Some(2e3));
    assert_eq!(knee(&s[2..]), None);
    assert_eq!(knee(&[step(1e3, false, None)]), None);
    assert_eq!(
        knee(&[step(1e3, true, None), step(2e3, false, None)]),
        Some(1e3)
    );
}

#[test]
fn plans_give_each_step_its_rate_and_split_it_across_cores() {
    let sweep = RatePlan {
        steps: RateSteps::Sweep {
            start: 1000.0,
            factor: 2.0,
        },
        arrival: Arrival::Poisson,
        step: Some(Duration::from_secs(30)),
        slo: None,
    };
    assert_eq!(sweep.rate_at(3), Some(8000.0));
    assert_eq!(sweep.step_at(Duration::from_secs(61)), 2);
    assert!(sweep.is_sweep());
    let one = RatePlan {
        steps: RateSteps::List(vec![500.0]),
        arrival: Arrival::Uniform,
        step: None,
        slo: None,
    };
    assert_eq!(one.rate_at(0), Some(500.0));
    assert_eq!(one.rate_at(1), None);
    assert_eq!(one.step_at(Duration::from_secs(1000)), 0);
    assert!(!one.is_sweep());
    assert_eq!(RatePlan::core_rate(1000.0, 4), 250.0);
    let json = serde_json::to_value(&sweep).unwrap();
    assert_eq!(json["step"], 30.0);
    assert_eq!(json["arrival"], "poisson");
    let back: RatePlan = serde_json::from_value(json).unwrap();
    assert_eq!(back, sweep);
}
