//! The verdict on a finished run: its exit code, and the message that says why it failed,
//! naming the dominant error kind and, when a local resource ran out (descriptors, ports,
//! memory) or TLS failed (`ringload_net::tls::cause`), its cause and fix; and one `hint:` line when the PUTs were mostly refused with a
//! status that points at a server setting (413, 405, 403, 409, 500). Kept apart from the
//! phases that drive the run.

use ringload_engine::ais::Bucket;
use ringload_engine::budget;
use ringload_engine::run;
use ringload_engine::stats::{ErrorKind, Op, OpStats, OPS};
use ringload_engine::worker::StopReason;
use ringload_engine::workload::Protocol;
use ringload_net::tls::Cause;

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
    for op in OPS {
        let s = o.totals.total.get(op);
        ok += s.count;
        errs += s.errors;
        for (k, n) in s.errors_by_kind() {
            *by_kind.entry(k).or_insert(0) += n;
        }
    }
    let mostly = budget::dominant(&by_kind);
    let tls = o.totals.tls.as_ref().and_then(|t| t.failure.as_ref());
    match failure(url, o.reason, ok, errs, mostly, tls, a.max_error_rate) {
        // aisloader exits 0 for a completed run whatever failed in it; only an opt-in
        // --max-error-rate turns failures into exit 1 there.
        Some(msg) if a.aisloader.is_some() && !error_rate_exceeded(ok, errs, a.max_error_rate) => {
            eprintln!("warning: {msg}");
            Exit::Ok
        }
        Some(msg) => {
            let put = o.totals.total.get(Op::Put);
            let hint = ais_remote_bucket(a)
                .and_then(|b| remote_put_404_hint(&b, put))
                .unwrap_or_default();
            eprintln!("error: {msg}{hint}");
            Exit::Failed
        }
        None => Exit::Ok,
    }
}

/// True when `--max-error-rate` is given and the run's error rate is above it.
fn error_rate_exceeded(ok: u64, errs: u64, max: Option<f64>) -> bool {
    max.is_some_and(|m| errs as f64 / (ok + errs).max(1) as f64 > m)
}

/// The run's bucket when it is an AIS remote bucket (`s3://`, `gs://`, `az://`, `oci://`,
/// `ais://@remote/..`). A bucket written with `://` reaches a run only under AIS: the other
/// protocols refuse a `/` in `--bucket` before the run.
fn ais_remote_bucket(a: &RunArgs) -> Option<Bucket> {
    if a.protocol.is_some_and(|p| p != Protocol::Ais) || !a.bucket.contains("://") {
        return None;
    }
    Bucket::parse(&a.bucket).ok().filter(|b| !b.is_ais())
}

/// When every PUT to the AIS remote bucket `b` was answered 404, what that means: AIS does not
/// create a cloud bucket on PUT, so it must exist in its backend, and the cluster must have
/// that backend.
fn remote_put_404_hint(b: &Bucket, put: &OpStats) -> Option<String> {
    let not_found = put.errors_of(ErrorKind::Http(404));
    if put.count > 0 || not_found == 0 || not_found != put.errors {
        return None;
    }
    let backend = if b.is_remote_ais() {
        "remote AIS cluster".to_string()
    } else {
        format!("{} backend", b.provider)
    };
    Some(format!(
        ". Every PUT to the remote bucket {b} was answered 404 (http-404): AIS does not create \
         a remote bucket, so {b} must already exist in its cloud (create it there first), and \
         the cluster must have the {backend} configured"
    ))
}

/// The dominant error kind with its cause: a local resource's fix, or for `tls` the run's
/// first TLS failure (`tls`). `None` when the kind has no known cause.
fn explained(d: &budget::Dominant, tls: Option<&Cause>) -> Option<String> {
    match (d.cause, tls) {
        (Some(_), _) => Some(d.to_string()),
        (None, Some(c)) if d.kind == "tls" => Some(format!("{d}: {c}")),
        _ => None,
    }
}

/// Why a finished run failed, naming its dominant error kind and the fix when a local
/// resource ran out or TLS failed; None when it succeeded.
fn failure(
    url: &str,
    reason: StopReason,
    ok: u64,
    errs: u64,
    mostly: Option<budget::Dominant>,
    tls: Option<&Cause>,
    max_error_rate: Option<f64>,
) -> Option<String> {
    if reason == StopReason::TlsFailed {
        return Some(match tls {
            Some(c) => format!("no TLS handshake with {url} succeeded: {c}"),
            None => format!(
                "no TLS handshake with {url} succeeded; check that it speaks TLS, pass its CA \
                 bundle with --tls-ca FILE, or skip verification with --tls-insecure"
            ),
        });
    }
    let why = mostly.as_ref().and_then(|d| explained(d, tls));
    if reason == StopReason::ConnectFailed {
        return Some(match why {
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
        return Some(match (why, mostly) {
            (Some(d), _) => format!("all {errs} operations failed, {d}"),
            (None, Some(d)) => {
                format!("all {errs} operations failed, {d} (see errors by kind above)")
            }
            (None, None) => format!("all {errs} operations failed (see errors by kind above)"),
        });
    }
    let rate = errs as f64 / (ok + errs).max(1) as f64;
    match max_error_rate {
        Some(max) if rate > max => {
            let mut msg = format!("error rate {rate:.4} is above --max-error-rate {max}");
            if let Some(d) = why {
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
        let msg = failure(
            "the built-in target",
            StopReason::Duration,
            0,
            32,
            m,
            None,
            None,
        )
        .unwrap();
        assert!(
            msg.starts_with(
                "all 32 operations failed, mostly fd-limit (30): the process ran out \
                 of file descriptors; raise `ulimit -n`"
            ),
            "{msg}"
        );
        let m = mostly(&[("http-503", 5)]);
        let msg = failure("u", StopReason::Duration, 0, 5, m, None, None).unwrap();
        assert_eq!(
            msg,
            "all 5 operations failed, mostly http-503 (5) (see errors by kind above)"
        );
    }

    #[test]
    fn the_connect_give_up_names_a_resource_that_ran_out() {
        let m = mostly(&[("no-ports", 7)]);
        let msg = failure("http://h:1", StopReason::ConnectFailed, 0, 7, m, None, None).unwrap();
        assert!(
            msg.contains("no connection to http://h:1 succeeded"),
            "{msg}"
        );
        assert!(msg.contains("mostly no-ports (7)"), "{msg}");
        assert!(msg.contains("ip_local_port_range"), "{msg}");
        // A refused connection keeps the question about the server.
        let m = mostly(&[("connect", 7)]);
        let msg = failure("http://h:1", StopReason::ConnectFailed, 0, 7, m, None, None).unwrap();
        assert!(msg.contains("Is the server up"), "{msg}");
    }

    #[test]
    fn every_put_404_on_an_ais_remote_bucket_gets_the_backend_hint() {
        let b = Bucket::parse("s3://my-bucket").unwrap();
        let mut put = OpStats::new();
        for _ in 0..3 {
            put.record_err(ErrorKind::Http(404));
        }
        assert_eq!(
            remote_put_404_hint(&b, &put).unwrap(),
            ". Every PUT to the remote bucket s3://my-bucket was answered 404 (http-404): AIS \
             does not create a remote bucket, so s3://my-bucket must already exist in its cloud \
             (create it there first), and the cluster must have the aws backend configured"
        );
        let gs = Bucket::parse("gs://g").unwrap();
        assert!(remote_put_404_hint(&gs, &put)
            .unwrap()
            .ends_with("must have the gcp backend configured"));
        let remais = Bucket::parse("ais://@remais/x").unwrap();
        assert!(remote_put_404_hint(&remais, &put)
            .unwrap()
            .ends_with("must have the remote AIS cluster configured"));
        // Not when any PUT succeeded, or when another kind of error is in the mix.
        let mut some_ok = put.clone();
        some_ok.record_ok(10, 5);
        assert_eq!(remote_put_404_hint(&b, &some_ok), None);
        let mut mixed = put.clone();
        mixed.record_err(ErrorKind::Timeout);
        assert_eq!(remote_put_404_hint(&b, &mixed), None);
        assert_eq!(remote_put_404_hint(&b, &OpStats::new()), None);
    }

    #[test]
    fn only_an_ais_remote_bucket_is_one() {
        use clap::Parser;
        let args = |protocol: Option<Protocol>, bucket: &str| {
            let argv = ["ringload", "run", "--bucket", bucket];
            let mut a = match crate::cli::Cli::try_parse_from(argv).unwrap().command {
                crate::cli::Command::Run(a) => *a,
                _ => unreachable!(),
            };
            a.protocol = protocol;
            a
        };
        let remote = |p, b: &str| ais_remote_bucket(&args(p, b)).map(|b| b.to_string());
        assert_eq!(remote(None, "s3://x").as_deref(), Some("s3://x"));
        assert_eq!(
            remote(Some(Protocol::Ais), "az://x").as_deref(),
            Some("az://x")
        );
        assert_eq!(
            remote(Some(Protocol::Ais), "ais://@r/x").as_deref(),
            Some("ais://@r/x")
        );
        assert_eq!(remote(Some(Protocol::Ais), "ais://x"), None);
        assert_eq!(remote(Some(Protocol::Ais), "x"), None);
        assert_eq!(remote(Some(Protocol::S3), "s3://x"), None);
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
    fn tls_failures_name_the_cause_and_the_fix() {
        let unknown =
            ringload_net::tls::cause(&ringload_net::tls::rustls::Error::InvalidCertificate(
                ringload_net::tls::rustls::CertificateError::UnknownIssuer,
            ));
        let m = mostly(&[("tls", 40)]);
        let url = "https://127.0.0.1:8443";
        let msg = failure(
            url,
            StopReason::TlsFailed,
            0,
            40,
            m.clone(),
            Some(&unknown),
            None,
        );
        assert_eq!(
            msg.unwrap(),
            "no TLS handshake with https://127.0.0.1:8443 succeeded: unknown issuer: the \
             server's certificate is not signed by a trusted CA; pass the server's CA bundle \
             with --tls-ca FILE, or skip verification with --tls-insecure"
        );
        let msg = failure(url, StopReason::TlsFailed, 0, 0, None, None, None).unwrap();
        assert!(
            msg.contains("--tls-ca FILE") && msg.contains("--tls-insecure"),
            "{msg}"
        );
        // Another stop, but TLS errors dominate: the line names the cause too.
        let msg = failure(
            url,
            StopReason::Duration,
            9,
            40,
            m,
            Some(&unknown),
            Some(0.1),
        )
        .unwrap();
        assert!(
            msg.starts_with(
                "error rate 0.8163 is above --max-error-rate 0.1, mostly tls (40): unknown issuer"
            ),
            "{msg}"
        );
    }

    #[test]
    fn a_run_with_successes_passes_unless_over_the_error_rate() {
        let m = mostly(&[("fd-limit", 1)]);
        assert_eq!(
            failure("u", StopReason::Duration, 9, 1, m.clone(), None, None),
            None
        );
        assert_eq!(
            failure("u", StopReason::Duration, 9, 1, m.clone(), None, Some(0.5)),
            None
        );
        let msg = failure("u", StopReason::Duration, 9, 1, m, None, Some(0.05)).unwrap();
        assert!(
            msg.contains("above --max-error-rate 0.05, mostly fd-limit (1)"),
            "{msg}"
        );
    }
}
