//! The verdict on a finished run: its exit code, and the message that says why it failed,
//! naming the dominant error kind and, when a local resource ran out (descriptors, ports,
//! memory), its cause and fix; and one `hint:` line when the PUTs were mostly refused with a
//! status that points at a server setting (413, 405, 403, 409, 500). Kept apart from the
//! phases that drive the run.

use ringload_engine::budget;
use ringload_engine::run;
use ringload_engine::stats::Op;
use ringload_engine::worker::StopReason;
use ringload_engine::workload::Protocol;

use crate::cli::RunArgs;
use crate::exit::Exit;

/// Decides the exit code of a finished run and says why it failed, then prints the PUT hint
/// (once per run). `url` is the endpoint the run loaded (the built-in target's, when nothing
/// named one).
pub fn exit_code(a: &RunArgs, protocol: Protocol, url: &str, o: &run::RunOutcome) -> Exit {
    let exit = verdict(a, url, o);
    let put_kinds = o.totals.total.get(Op::Put).errors_by_kind();
    if let Some(h) = budget::dominant(&put_kinds).and_then(|d| put_hint(protocol, &d.kind)) {
        eprintln!("hint: {h}");
    }
    exit
}

fn verdict(a: &RunArgs, url: &str, o: &run::RunOutcome) -> Exit {
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

/// What the dominant PUT error `kind` most likely means on a `protocol` server, and the
/// setting to change; None for kinds without a likely setting (and for 403 on S3, which the
/// listing and the verdict already explain as credentials).
fn put_hint(protocol: Protocol, kind: &str) -> Option<&'static str> {
    let status: u16 = kind.strip_prefix("http-")?.parse().ok()?;
    Some(match (protocol, status) {
        (Protocol::Http, 413) => {
            "the server refused the PUT bodies as too large (HTTP 413): raise its request body \
             limit (nginx: `client_max_body_size`, default 1m; 0 lifts it) or lower --maxsize"
        }
        (Protocol::Http, 405) => {
            "the server does not accept PUT (HTTP 405): enable WebDAV methods where --endpoint \
             points (nginx: `dav_methods PUT DELETE;` in that location)"
        }
        (Protocol::Http, 403) => {
            "the server may not write the PUT objects (HTTP 403): give its worker user write \
             access to the served directory (nginx: the `root` of that location)"
        }
        (Protocol::Http, 409) => {
            "a directory in the PUT objects' paths is missing (HTTP 409): let the server create \
             it (nginx: `create_full_put_path on;`) or create it first"
        }
        (Protocol::Http, 500) => {
            "the server could not store the PUT objects (HTTP 500): check that its worker user \
             may write the served directory and its body temp directory (nginx: `root`, \
             `client_body_temp_path`; and `create_full_put_path on;`), and its error log"
        }
        (Protocol::S3, 413) => {
            "the S3 endpoint (or a proxy in front of it) refused the PUT bodies as too large \
             (HTTP 413): raise that body limit or lower --maxsize"
        }
        (Protocol::S3, 405) => {
            "the S3 endpoint does not allow PUT there (HTTP 405): check that --endpoint is the \
             S3 API (not a console port) and --s3-addressing"
        }
        (Protocol::S3, 500) => {
            "the S3 endpoint failed to store the PUT objects (HTTP 500, InternalError): see its \
             log (often a full or unwritable data directory)"
        }
        (Protocol::Ais, 413) => {
            "AIS (or a proxy in front of it) refused the PUT bodies as too large (HTTP 413): \
             raise that body limit or lower --maxsize"
        }
        (Protocol::Ais, 405) => {
            "AIS does not allow PUT there (HTTP 405): check that --endpoint is an AIS proxy and \
             that the bucket's provider accepts writes"
        }
        (Protocol::Ais, 403) => {
            "AIS refused the PUTs (HTTP 403): the token (AIS_AUTHN_TOKEN) lacks write permission \
             on the bucket, or the bucket's access attributes forbid PUT"
        }
        (Protocol::Ais, 500) => {
            "AIS failed to store the PUT objects (HTTP 500): see the target's log (often a full \
             or read-only mountpath)"
        }
        _ => return None,
    })
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
    fn a_put_hint_names_the_server_setting_of_its_status() {
        let h = put_hint(Protocol::Http, "http-413").unwrap();
        assert!(h.contains("`client_max_body_size`"), "{h}");
        let h = put_hint(Protocol::Http, "http-405").unwrap();
        assert!(h.contains("`dav_methods PUT DELETE;`"), "{h}");
        let h = put_hint(Protocol::Http, "http-500").unwrap();
        assert!(h.contains("`create_full_put_path on;`"), "{h}");
        assert!(put_hint(Protocol::Http, "http-403")
            .unwrap()
            .contains("`root`"));
        assert!(put_hint(Protocol::Ais, "http-403")
            .unwrap()
            .contains("AIS_AUTHN_TOKEN"));
        assert!(!put_hint(Protocol::S3, "http-413")
            .unwrap()
            .contains("nginx"));
        // 403 on S3 is explained as credentials elsewhere; other kinds have no setting.
        assert_eq!(put_hint(Protocol::S3, "http-403"), None);
        assert_eq!(put_hint(Protocol::Http, "http-404"), None);
        assert_eq!(put_hint(Protocol::Http, "connect"), None);
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
