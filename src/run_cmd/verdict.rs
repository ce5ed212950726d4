//! The verdict on a finished run: its exit code, and the message that says why it failed,
//! naming the dominant error kind and, when a local resource ran out (descriptors, ports,
//! memory), its cause and fix. Kept apart from the phases that drive the run.

use ringload_engine::budget;
use ringload_engine::run;
use ringload_engine::stats::Op;
use ringload_engine::worker::StopReason;

use crate::cli::RunArgs;
use crate::exit::Exit;

/// Decides the exit code of a finished run and says why it failed.
/// `url` is the endpoint the run loaded (the built-in target's, when nothing named one).
pub fn exit_code(a: &RunArgs, url: &str, o: &run::RunOutcome) -> Exit {
    if let Some(f) = &o.failure {
        eprintln!(
            "error: {f}; the run failed and its numbers cover only what was measured until then"
        );
        return Exit::Failed;
    }
    let (mut ok, mut errs) = (0u64, 0u64);
    let mut by_kind = std::collections::BTreeMap::new();
    for op in [Op::Get, Op::Put] {
        let s = o.totals.total.get(op);
        ok += s.count;
        errs += s.errors;
        for (k, n) in s.errors_by_kind() {
            *by_kind.entry(k).or_insert(0) += n;
        }
    }
    let mostly = budget::dominant(&by_kind);
    match failure(url, o.reason, ok, errs, mostly, a.max_error_rate) {
        Some(msg) => {
            eprintln!("error: {msg}");
            Exit::Failed
        }
        None => Exit::Ok,
    }
}

/// Why a finished run failed, naming its dominant error kind and the fix when a local
/// resource ran out; None when it succeeded.
fn failure(
    url: &str,
    reason: StopReason,
    ok: u64,
    errs: u64,
    mostly: Option<budget::Dominant>,
    max_error_rate: Option<f64>,
) -> Option<String> {
    if reason == StopReason::ConnectFailed {
        return Some(match mostly.filter(|d| d.cause.is_some()) {
            Some(d) => format!("no connection to {url} succeeded; the run gave up, {d}"),
            None => format!(
                "no connection to {url} succeeded; the run gave up. Is the server up and is \
                 --endpoint right?"
            ),
        });
    }
    if reason == StopReason::Forbidden {
        return Some(
            "every request was refused with HTTP 403 (http-403), so the run stopped early. \
             Likely causes: wrong credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
             AWS_PROFILE, AIS_AUTHN_TOKEN), a wrong region (AWS_REGION), or this machine's clock \
             being more than 15 minutes off (SigV4 rejects skewed requests)"
                .into(),
        );
    }
    if ok == 0 && errs > 0 {
        return Some(match mostly {
            Some(d) if d.cause.is_some() => format!("all {errs} operations failed, {d}"),
            Some(d) => format!("all {errs} operations failed, {d} (see errors by kind above)"),
            None => format!("all {errs} operations failed (see errors by kind above)"),
        });
    }
    let rate = errs as f64 / (ok + errs).max(1) as f64;
    match max_error_rate {
        Some(max) if rate > max => {
            let mut msg = format!("error rate {rate:.4} is above --max-error-rate {max}");
            if let Some(d) = mostly.filter(|d| d.cause.is_some()) {
                msg.push_str(&format!(", {d}"));
            }
            Some(msg)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn mostly(kinds: &[(&str, u64)]) -> Option<budget::Dominant> {
        let m: BTreeMap<String, u64> = kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        budget::dominant(&m)
    }

    #[test]
    fn all_failed_names_the_dominant_kind_and_its_fix() {
        let m = mostly(&[("fd-limit", 30), ("connect", 2)]);
        let msg = failure("the built-in target", StopReason::Duration, 0, 32, m, None).unwrap();
        assert!(
            msg.starts_with(
                "all 32 operations failed, mostly fd-limit (30): the process ran out \
                 of file descriptors; raise `ulimit -n`"
            ),
            "{msg}"
        );
        let m = mostly(&[("http-503", 5)]);
        let msg = failure("u", StopReason::Duration, 0, 5, m, None).unwrap();
        assert_eq!(
            msg,
            "all 5 operations failed, mostly http-503 (5) (see errors by kind above)"
        );
    }

    #[test]
    fn the_connect_give_up_names_a_resource_that_ran_out() {
        let m = mostly(&[("no-ports", 7)]);
        let msg = failure("http://h:1", StopReason::ConnectFailed, 0, 7, m, None).unwrap();
        assert!(
            msg.contains("no connection to http://h:1 succeeded"),
            "{msg}"
        );
        assert!(msg.contains("mostly no-ports (7)"), "{msg}");
        assert!(msg.contains("ip_local_port_range"), "{msg}");
        // A refused connection keeps the question about the server.
        let m = mostly(&[("connect", 7)]);
        let msg = failure("http://h:1", StopReason::ConnectFailed, 0, 7, m, None).unwrap();
        assert!(msg.contains("Is the server up"), "{msg}");
    }

    #[test]
    fn a_run_with_successes_passes_unless_over_the_error_rate() {
        let m = mostly(&[("fd-limit", 1)]);
        assert_eq!(
            failure("u", StopReason::Duration, 9, 1, m.clone(), None),
            None
        );
        assert_eq!(
            failure("u", StopReason::Duration, 9, 1, m.clone(), Some(0.5)),
            None
        );
        let msg = failure("u", StopReason::Duration, 9, 1, m, Some(0.05)).unwrap();
        assert!(
            msg.contains("above --max-error-rate 0.05, mostly fd-limit (1)"),
            "{msg}"
        );
    }
}
