//! End-to-end: failures inside the engine, made on purpose with the test-only
//! `RINGLOAD_TEST_INJECT` switch, against the built-in target under both drivers. A core that
//! panics, or whose driver fails, fails the run (exit 1, status `failed`, the message in
//! stderr and in the result file), stops the other core at once instead of letting the run go
//! on to its `--duration`, and the operations measured until then are still in the result.

use crate::common;

use std::time::{Duration, Instant};

use common::*;

/// Long enough that a run which does not stop at the failure is caught by [`BOUND`].
const DURATION: &str = "60s";
/// Wall time within which a failed run must have ended and written its result.
const BOUND: Duration = Duration::from_secs(20);

/// Runs `--cores 2` against the built-in target with `inject`; returns the run, the result
/// document and the wall time.
fn run_injected(driver: &str, inject: &str) -> (Ran, serde_json::Value, Duration) {
    let s = Scratch::new("engine-failure");
    let res = s.path().join("r.json");
    let t = Instant::now();
    let run = Run::new()
        .driver(driver)
        .cores(2)
        .workers(8)
        .sizes("4KiB", "16KiB")
        .duration(DURATION)
        .result(&res)
        .env("RINGLOAD_TEST_INJECT", inject)
        .env("RUST_BACKTRACE", "0")
        .run();
    let took = t.elapsed();
    run.check(res.exists(), "no result file written");
    (run, result(&res), took)
}

/// The checks every injected failure must pass; returns stderr.
fn check_failed(run: &Ran, v: &serde_json::Value, took: Duration, message: &str) -> String {
    let err = run.stderr();
    run.check(run.code() == 1, "a failure inside the engine must exit 1");
    run.check(
        took < BOUND,
        &format!("took {took:?}: the other core did not stop at the failure"),
    );
    assert_eq!(v["status"], "failed", "{v}");
    let e = v["error"].as_str().unwrap_or_default();
    assert!(e.contains(message), "result error {e:?} lacks {message:?}");
    run.check(
        err.matches(message).count() == 1,
        &format!("stderr must show {message:?} exactly once"),
    );
    run.check(
        err.contains(&format!("error: {e}")),
        "stderr must carry the result file's message",
    );
    run.check(
        !err.contains("leaked"),
        "every in-flight operation must have been cancelled and reaped",
    );
    err
}

#[test]
fn core_panic_fails_the_run_and_keeps_the_other_cores_numbers() {
    for driver in DRIVERS {
        // After 2,000 completions, so that core 0 is surely under way too.
        let (run, v, took) = run_injected(driver, "core-panic:core=1:after=2000");
        let err = check_failed(
            &run,
            &v,
            took,
            "core 1 panicked: core-panic injected by RINGLOAD_TEST_INJECT on core 1",
        );
        assert_eq!(v["stop_reason"], "panic", "{driver}");
        run.check(
            err.contains(&format!("(at engine/src/driver/{driver}.rs:")),
            "the panic's location is named",
        );
        run.check(
            !err.contains("thread 'ringload-core-1'"),
            "the default panic report is not printed on top of the error",
        );
        // The panicked core's numbers count only up to its last one-second tick (usually
        // none here), so these are mostly or only the surviving core's.
        let gets = op(&v, "get", "count");
        assert!(
            gets > 0,
            "{driver}: the surviving core's GETs are in the result"
        );
        assert_eq!(op(&v, "get", "errors"), 0, "{driver}: {v}");
        assert_eq!(v["workload"]["driver_used"], driver);
    }
}

#[test]
fn driver_error_fails_the_run_without_hanging() {
    for driver in DRIVERS {
        let (run, v, took) = run_injected(driver, "driver-error:core=0:after=200");
        check_failed(
            &run,
            &v,
            took,
            &format!(
                "core 0: the {driver} driver failed: driver-error injected by \
                 RINGLOAD_TEST_INJECT on core 0"
            ),
        );
        assert_eq!(v["stop_reason"], "driver-error", "{driver}");
        let gets = op(&v, "get", "count");
        assert!(gets > 0, "{driver}: the operations measured are kept");
        assert_eq!(op(&v, "get", "errors"), 0, "{driver}: {v}");
    }
}

#[test]
fn submit_error_is_the_driver_error() {
    let (run, v, took) = run_injected("uring", "submit-error:core=1:after=50");
    check_failed(&run, &v, took, "core 1: the uring driver failed");
}

#[test]
fn a_malformed_switch_is_refused_with_exit_2() {
    let run = Run::new()
        .duration("1s")
        .workers(1)
        .env("RINGLOAD_TEST_INJECT", "core-panik")
        .run();
    run.check(run.code() == 2, "a bad switch value must be refused");
    run.check(
        run.stderr()
            .contains("RINGLOAD_TEST_INJECT=core-panik: unknown fault"),
        "the refusal names the variable and the value",
    );
}

#[test]
fn a_healthy_run_has_no_error_key() {
    let s = Scratch::new("engine-healthy");
    let res = s.path().join("r.json");
    for driver in DRIVERS {
        remove_result(&res);
        let run = Run::new()
            .driver(driver)
            .cores(2)
            .workers(4)
            .sizes("4KiB", "16KiB")
            .duration("1s")
            .result(&res)
            .run();
        run.ok();
        let v = result(&res);
        assert_eq!(v["status"], "completed", "{driver}");
        assert!(v.get("error").is_none(), "{driver}: {v}");
        assert!(op(&v, "get", "count") > 0, "{driver}");
        run.check(!run.stderr().contains("leaked"), "nothing leaked");
    }
}
