//! End-to-end: a saturation sweep against the built-in target throttled by a delay fault
//! (`ringload serve --fault delay=100%:20ms`: with 8 connections it serves at most ~400 ops/s).
//! The steps are judged against `--slo`, the run stops at the first step that breaks it with
//! the `slo` reason, and the knee is the highest rate that met it, in the result and the
//! summary.

use crate::common;

use common::*;

/// A sweep of PUTs against `s` with `rates` (the flag and its value), one-second steps.
fn sweep(s: &Serve, tag: &str, rates: &[&str]) -> (Ran, serde_json::Value) {
    let dir = Scratch::new(tag);
    let res = dir.path().join("r.json");
    let run = Run::new()
        .endpoint(&s.url)
        .protocol("http")
        .pctput(100)
        .size("1K")
        .workers(8)
        .cores(1)
        .args(rates)
        .arg("--step", "1s")
        .arg("--slo", "p99=400ms")
        .result(&res)
        .run();
    run.check(run.code() <= 1, "the sweep completes");
    (run, result(&res))
}

/// The steps' (target, complete, broke) from the result.
fn steps(v: &serde_json::Value) -> Vec<(f64, bool, bool)> {
    v["rate"]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no rate.steps: {}", v["rate"]))
        .iter()
        .map(|s| {
            (
                s["target"].as_f64().unwrap(),
                s["complete"].as_bool().unwrap(),
                s.get("broke").is_some_and(|b| b.is_string()),
            )
        })
        .collect()
}

#[test]
fn the_knee_of_a_throttled_target_is_found_and_the_sweep_stops_at_the_breach() {
    let s = Serve::start(&["--fault", "delay=100%:20ms"]);
    let (run, v) = sweep(&s, "sweep-list", &["--rate", "100,200,1600"]);
    let out = run.stdout();
    let st = steps(&v);
    assert_eq!(
        st[..3],
        [
            (100.0, true, false),
            (200.0, true, false),
            (1600.0, true, true)
        ],
        "100 and 200 ops/s meet p99=400ms, 1,600 (four times what the target serves) breaks it\n{out}"
    );
    assert_eq!(v["rate"]["knee"].as_f64(), Some(200.0), "{out}");
    assert_eq!(v["rate"]["slo"], "p99=400ms");
    assert_eq!(v["stop_reason"], "slo", "{out}");
    let first = &v["rate"]["steps"][0];
    assert!(
        first["ops"]["put"]["count"].as_u64().unwrap() > 50,
        "{first}"
    );
    assert!(first["ops"]["put"]["histogram"].is_string(), "{first}");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("step ")).collect();
    assert_eq!(lines.len(), st.len(), "one line per step\n{out}");
    assert!(
        lines[0].starts_with("step 1/3  100 ops/s  achieved ") && lines[0].ends_with("  met"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("step 2/3  200 ops/s  achieved "),
        "{out}"
    );
    assert!(
        // Far beyond the throttled target: too slow (p99 above 400ms), or too few issued
        // (below 90% of 1,600 ops/s), whichever is judged first.
        lines[2].starts_with("step 3/3  1,600 ops/s  achieved ")
            && (lines[2].contains("  broke: p99 ") && lines[2].ends_with(" > 400ms")
                || lines[2].contains("  broke: achieved ") && lines[2].ends_with(" of 1600 ops/s")),
        "{out}"
    );
    let knee = out.lines().find(|l| l.starts_with("sweep: ")).unwrap_or("");
    assert!(
        knee.starts_with("sweep: knee 200 ops/s (p99=400ms); step 3 at 1,600 ops/s broke: "),
        "{out}"
    );

    let (run, v) = sweep(
        &s,
        "sweep-open",
        &["--rate-sweep", "100:2", "--duration", "8s"],
    );
    let out = run.stdout();
    assert_eq!(
        v["stop_reason"], "slo",
        "the sweep ends at the breach\n{out}"
    );
    let st = steps(&v);
    let broke = st
        .iter()
        .position(|s| s.2)
        .unwrap_or_else(|| panic!("no step broke\n{out}"));
    assert!(
        st[..broke].iter().all(|s| s.1 && !s.2) && st[broke].1,
        "complete steps met it up to the one that broke: {st:?}\n{out}"
    );
    assert!(
        st[broke + 1..].iter().all(|s| !s.1),
        "a step after the breach is cut short: {st:?}"
    );
    assert!(
        st[broke].0 >= 400.0,
        "the target serves 200 ops/s within p99=400ms: {st:?}\n{out}"
    );
    assert_eq!(
        v["rate"]["knee"].as_f64(),
        Some(st[broke].0 / 2.0),
        "the knee is the step before the breach\n{out}"
    );
}

#[test]
fn a_list_without_an_slo_runs_every_step_and_ends_after_the_last() {
    let s = Serve::start(&[]);
    let dir = Scratch::new("sweep-noslo");
    let res = dir.path().join("r.json");
    let t = std::time::Instant::now();
    let run = Run::new()
        .endpoint(&s.url)
        .protocol("http")
        .pctput(100)
        .size("1K")
        .workers(4)
        .cores(1)
        .arg("--rate", "50,100")
        .arg("--step", "1s")
        .duration("30s")
        .result(&res)
        .run();
    run.check(run.code() == 0, "the sweep completes");
    let took = t.elapsed();
    assert!(
        took < std::time::Duration::from_secs(15),
        "the run ends after its 2 steps, not at --duration: {took:?}"
    );
    let v = result(&res);
    let out = run.stdout();
    assert_eq!(v["stop_reason"], "duration", "{out}");
    assert_eq!(
        steps(&v),
        [(50.0, true, false), (100.0, true, false)],
        "{out}"
    );
    assert!(v["rate"].get("knee").is_none(), "{}", v["rate"]);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("step ")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[1].starts_with("step 2/2  100 ops/s  achieved ") && lines[1].ends_with("%"),
        "no verdict without --slo: {out}"
    );
    assert!(
        out.lines()
            .any(|l| l == "sweep: 2 step(s), no --slo: none judged, no knee"),
        "{out}"
    );
}
