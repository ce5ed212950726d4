//! End-to-end: the client's self-diagnosis (`client` in the result, the summary's `client:`
//! line), both ways. One core driving 512 connections against the in-process built-in target
//! (which shares the machine's CPUs with it) is flagged client-bound, with a reason naming core
//! 0; a rank waiting on a target that delays every answer 50 ms is not.

use crate::common;

use common::*;

/// The `client:` summary line and the `warning: client-bound:` line after it, if any.
fn summary_lines(stdout: &str) -> (String, Option<String>) {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("client: "));
    let line = lines
        .next()
        .unwrap_or_else(|| panic!("no client: line in\n{stdout}"))
        .to_string();
    let bound = lines
        .next()
        .filter(|l| l.starts_with("warning: client-bound: "))
        .map(str::to_string);
    (line, bound)
}

/// The summary line's shape: one busy and one wait share per core, then retransmits and NIC.
fn check_line(ran: &Ran, line: &str, cores: usize) {
    let pcts = |s: &str| {
        s.split(' ').all(|p| {
            p.strip_suffix('%')
                .is_some_and(|n| n.parse::<u64>().is_ok())
        })
    };
    let parts: Vec<&str> = line.trim_start_matches("client: ").split(" · ").collect();
    ran.check(parts.len() == 4, &format!("four parts in {line:?}"));
    let busy = parts[0].trim_start_matches("cores busy ");
    ran.check(
        busy.split(' ').count() == cores && pcts(busy),
        &format!("busy shares in {line:?}"),
    );
    let wait = parts[1].trim_start_matches("CPU wait ");
    ran.check(
        wait == "n/a" || (wait.split(' ').count() == cores && pcts(wait)),
        &format!("waits in {line:?}"),
    );
    ran.check(
        parts[2].starts_with("retransmits "),
        &format!("retransmits in {line:?}"),
    );
    ran.check(parts[3].starts_with("NIC "), &format!("NIC in {line:?}"));
}

#[test]
fn one_core_with_512_connections_against_the_in_process_target_is_client_bound() {
    let dir = Scratch::new("client-bound");
    let res = dir.path().join("r.json");
    let ran = Run::new()
        .cores(1)
        .workers(512)
        .duration("3s")
        .size("4K")
        .result(&res)
        .run();
    ran.ok();
    let r = result(&res);
    let c = &r["client"];
    ran.check(
        c["client_bound"] == true,
        &format!("flagged client-bound: {c}"),
    );
    let reasons: Vec<&str> = c["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ran.check(
        reasons.iter().any(|s| {
            // Any of the three CPU kinds: busy, runnable (busy + waiting), waited.
            [
                "core 0 busy ",
                "core 0 runnable ",
                "core 0 waited for a CPU ",
            ]
            .iter()
            .any(|k| s.starts_with(k))
                && s.contains("% of the steady window")
        }),
        &format!("a reason of a CPU kind names core 0: {reasons:?}"),
    );
    ran.check(
        c["cpu_per_core"].as_array().unwrap().len() == 1,
        &format!("one core measured: {c}"),
    );
    let warnings = r["warnings"].as_array().unwrap();
    ran.check(
        warnings.iter().any(|w| {
            w.as_str().unwrap().starts_with("client-bound: core 0 ")
                && w.as_str().unwrap().ends_with(
                    "; this rank measured its own limits, not the storage's: add cores or \
                     ranks, or lower --numworkers",
                )
        }),
        &format!("a client-bound warning: {warnings:?}"),
    );
    let (line, bound) = summary_lines(&ran.stdout());
    check_line(&ran, &line, 1);
    ran.check(
        bound.as_deref().is_some_and(|b| {
            b.starts_with(&format!("warning: client-bound: {}; ", reasons.join("; ")))
        }),
        &format!("the reasons follow the client line: {bound:?}"),
    );
}

#[test]
fn a_rank_waiting_on_a_slow_target_is_not_client_bound() {
    let target = Serve::start(&["--fault", "delay=100%:50ms"]);
    let url = target.url.clone();
    let dir = Scratch::new("client-free");
    let res = dir.path().join("r.json");
    let ran = Run::new()
        .endpoint(&url)
        .pctput(100)
        .cores(1)
        .workers(8)
        .duration("3s")
        .size("4K")
        .result(&res)
        .run();
    drop(target);
    ran.ok();
    let r = result(&res);
    let c = &r["client"];
    ran.check(
        c["client_bound"] == false,
        &format!("not client-bound: {c}"),
    );
    ran.check(
        c["reasons"].as_array().unwrap().is_empty(),
        &format!("no reasons: {c}"),
    );
    let busy = c["cpu_per_core"][0].as_f64().unwrap();
    ran.check(busy < 0.5, &format!("core 0 mostly idle: {c}"));
    ran.check(
        r.get("warnings").is_none_or(|w| {
            !w.as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().starts_with("client-bound"))
        }),
        &format!("no client-bound warning: {}", r["warnings"]),
    );
    let (line, bound) = summary_lines(&ran.stdout());
    check_line(&ran, &line, 1);
    ran.check(bound.is_none(), &format!("no client-bound line: {bound:?}"));
}
