//! End-to-end: the open loop (`--rate`). The rate is kept within 3% for uniform and Poisson
//! arrivals under both drivers; against a target that stalls now and then, one connection at
//! a fixed rate shows the stalls in the corrected latency (from each request's intended
//! start) but not in the service latency (from its send), with the operation count still on
//! schedule, and the summary says the rate was not kept and why.

use crate::common;

use common::*;

/// `n` within `pct` percent of `want`.
fn within(n: u64, want: f64, pct: f64) -> bool {
    (n as f64 - want).abs() <= want * pct / 100.0
}

#[test]
fn the_rate_is_kept_for_uniform_and_poisson_arrivals_under_both_drivers() {
    // A Poisson count over 3 s at 4,000 ops/s has a standard deviation of 110 (0.9%), so ±3%
    // is a fair bound for it (at 2,000 ops/s, 1.3%: seed 7 drew 3.0% short). The seed fixes
    // the draw: 11,803 arrivals here, so the margin left covers a loaded machine's losses.
    const RATE: u64 = 4000;
    const SECS: u64 = 3;
    for driver in DRIVERS {
        for arrival in ["uniform", "poisson"] {
            let dir = Scratch::new("rate-accuracy");
            let res = dir.path().join("r.json");
            let run = Run::new()
                .driver(driver)
                .cores(1)
                .workers(16)
                .size("1KiB")
                .duration(&format!("{SECS}s"))
                .arg("--rate", RATE)
                .arg("--arrival", arrival)
                .arg("--seed", 7)
                .result(&res)
                .run();
            run.ok();
            let r = result(&res);
            let n = op(&r, "get", "count") + op(&r, "get", "errors");
            let want = (RATE * SECS) as f64;
            run.check(
                within(n, want, 3.0),
                &format!("{driver} {arrival}: {n} operations, want {want} ± 3%"),
            );
            run.check(
                r["rate"]["target"].as_f64() == Some(RATE as f64)
                    && r["rate"]["arrival"] == arrival,
                &format!(
                    "{driver} {arrival}: the rate record names the plan: {}",
                    r["rate"]
                ),
            );
            run.check(
                r["rate"]["lag_us"]["max"].as_u64().is_some()
                    && r["rate"]["lag_histogram"]
                        .as_str()
                        .is_some_and(|h| !h.is_empty())
                    && r["ops"]["get"]["service_latency_us"]["p50"]
                        .as_u64()
                        .is_some()
                    && r["ops"]["get"]["service_histogram"].as_str().is_some(),
                &format!("{driver} {arrival}: lag and service latency are recorded"),
            );
            run.check(
                run.stdout()
                    .contains(&format!("rate: target 4,000 ops/s ({arrival})  achieved "))
                    && run.stdout().contains("\n     service min "),
                &format!("{driver} {arrival}: the summary has the rate and service lines"),
            );
        }
    }
}

#[test]
fn a_stalling_target_shows_in_the_corrected_latency_not_the_service_latency() {
    // One answer in a hundred is held 200 ms: with one connection at 200 ops/s, the requests
    // falling due meanwhile wait for it, which only the corrected latency shows.
    let serve = Serve::start(&["--protocol", "http", "--fault", "delay=1%:200ms"]);
    let dir = Scratch::new("rate-co");
    let res = dir.path().join("r.json");
    let run = Run::new()
        .endpoint(&serve.url)
        .protocol("http")
        .pctput(100)
        .size("1KiB")
        .workers(1)
        .cores(1)
        .arg("--rate", 200)
        .duration("5s")
        .result(&res)
        .run();
    run.ok();
    let r = result(&res);
    let corrected = r["ops"]["put"]["latency_us"]["p90"].as_u64().unwrap();
    let service = r["ops"]["put"]["service_latency_us"]["p90"]
        .as_u64()
        .unwrap();
    run.check(
        corrected > 50_000,
        &format!("corrected p90 {corrected} µs shows the stalls"),
    );
    run.check(
        service < 10_000,
        &format!("service p90 {service} µs does not"),
    );
    let n = op(&r, "put", "count") + op(&r, "put", "errors");
    run.check(
        within(n, 1000.0, 3.0),
        &format!("{n} operations, want 1,000 ± 3%"),
    );
    // A lag p99 of hundreds of ms: the schedule was not kept, for want of connections.
    run.check(r["rate"]["kept"] == false, "the rate is not kept");
    let warnings = r["warnings"].as_array().cloned().unwrap_or_default();
    run.check(
        warnings.len() == 1
            && warnings[0].as_str().is_some_and(|w| {
                w.starts_with("rate not kept: ")
                    && w.contains(" of 200 ops/s (")
                    && w.contains(": the connections were the limit")
                    && w.ends_with("); raise --numworkers (now 1) or lower --rate")
            }),
        &format!("the warning names the cause and the fix: {warnings:?}"),
    );
    run.check(
        run.stdout().contains("\nwarning: rate not kept: "),
        "the summary prints the warning",
    );
}

#[test]
fn a_single_rate_with_an_slo_is_judged_and_keeps_the_exit_code() {
    // Every answer is held 20 ms: p99 above the 5 ms objective, and the run still succeeds.
    let serve = Serve::start(&["--protocol", "http", "--fault", "delay=100%:20ms"]);
    let dir = Scratch::new("rate-slo");
    let res = dir.path().join("r.json");
    let run = Run::new()
        .endpoint(&serve.url)
        .protocol("http")
        .pctput(100)
        .size("1KiB")
        .workers(8)
        .cores(1)
        .arg("--rate", 50)
        .arg("--slo", "p99=5ms")
        .duration("2s")
        .result(&res)
        .run();
    run.ok();
    let r = result(&res);
    let steps = r["rate"]["steps"].as_array().cloned().unwrap_or_default();
    run.check(steps.len() == 1, "one step over the measured phase");
    let broke = steps
        .first()
        .and_then(|s| s["broke"].as_str())
        .unwrap_or("");
    run.check(
        broke.starts_with("p99 ") && broke.ends_with(" > 5ms"),
        &format!("the step broke the objective: {broke:?}"),
    );
    run.check(r["rate"]["knee"].is_null(), "a single rate has no knee");
    run.check(
        r["stop_reason"] == "duration",
        "the breach does not stop the run",
    );
    let out = run.stdout();
    run.check(
        out.lines().any(|l| {
            l.starts_with("slo: p99=5ms over the measured phase  p99 ")
                && l.ends_with(&format!("  broke: {broke}"))
        }),
        "the summary's slo: line",
    );
    let warnings = r["warnings"].as_array().cloned().unwrap_or_default();
    run.check(
        warnings.iter().any(|w| {
            w.as_str()
                .is_some_and(|w| w.starts_with(&format!("slo broke: {broke} over the measured")))
        }),
        &format!("the warning: {warnings:?}"),
    );
}
