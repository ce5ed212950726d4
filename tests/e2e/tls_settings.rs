//! End-to-end: a run's TLS settings (`--tls`, `--tls-ca`, `--tls-insecure`, `--tls-cert`,
//! `--tls-key` and the AIS CLI's variables) are used or refused with exit 2 naming the
//! setting and the fix, before any connection; and a TLS failure of the control plane exits 1
//! naming its cause. No TLS peer is needed here (the loads over TLS are in the peers' modules).

use crate::common;

use std::io::Read;
use std::net::TcpListener;

use common::*;

/// The AIS CLI's TLS variables, removed from every run here so the host's cannot leak in.
const AIS_TLS_VARS: [&str; 4] = [
    "AIS_CLIENT_CA",
    "AIS_SKIP_VERIFY_CRT",
    "AIS_CRT",
    "AIS_CRT_KEY",
];

fn run() -> Run {
    AIS_TLS_VARS.iter().fold(Run::new(), |r, v| r.env_remove(v))
}

/// Runs only the checks before the first connection (`RINGLOAD_DOC_CHECK=1`).
fn check_only(r: Run) -> Ran {
    r.env("RINGLOAD_DOC_CHECK", "1").run()
}

fn usage_error(r: &Ran, expected: &str) {
    r.check(r.code() == 2, "expected exit 2");
    r.check(
        r.stderr().contains(expected),
        &format!("stderr should say: {expected}"),
    );
}

#[test]
fn tls_flags_that_cannot_apply_exit_2_with_the_fix() {
    let r = check_only(
        run()
            .endpoint("http://127.0.0.1:9")
            .arg("--tls-ca", "/ca.pem"),
    );
    usage_error(
        &r,
        "error: --tls-ca is a TLS setting, but the endpoint http://127.0.0.1:9 is plain \
         http://\n  hint: use https:// in the endpoint URL, or leave --tls-ca out\n",
    );
    let r = check_only(run().flag("--tls-insecure"));
    usage_error(
        &r,
        "error: --tls-insecure is a TLS setting, but no target is named, so the run loads the \
         built-in target over plain HTTP\n  hint: add --tls (the built-in target over TLS), or \
         name an https:// endpoint\n",
    );
    let r = check_only(run().endpoint("https://127.0.0.1:9").flag("--tls"));
    usage_error(
        &r,
        "error: --tls starts the built-in target over TLS; for your endpoint \
         https://127.0.0.1:9 use https:// in its URL instead\n  hint: leave --tls out\n",
    );
    let r = check_only(
        run()
            .endpoint("https://127.0.0.1:9")
            .flag("--tls-insecure")
            .arg("--tls-ca", "/ca.pem"),
    );
    usage_error(&r, "--tls-insecure and --tls-ca contradict each other");
    // S3 through --s3endpoint counts the same.
    let r = check_only(
        run()
            .arg("--s3endpoint", "http://127.0.0.1:9")
            .arg("--tls-cert", "/c.pem")
            .arg("--tls-key", "/k.pem"),
    );
    usage_error(&r, "--tls-cert is a TLS setting, but the endpoint");
    // And S3_ENDPOINT from the environment.
    let r = check_only(
        run()
            .protocol("s3")
            .env("S3_ENDPOINT", "http://127.0.0.1:9")
            .flag("--tls-insecure"),
    );
    usage_error(
        &r,
        "--tls-insecure is a TLS setting, but the endpoint http://127.0.0.1:9 is plain http://",
    );
    // An https S3_ENDPOINT takes it.
    let r = check_only(
        run()
            .protocol("s3")
            .env("S3_ENDPOINT", "https://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "k")
            .env("AWS_SECRET_ACCESS_KEY", "s")
            .flag("--tls-insecure"),
    );
    r.ok();
}

#[test]
fn unreadable_tls_files_exit_2_naming_the_flag_or_the_variable() {
    let s = Scratch::new("tls-files");
    let missing = s.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let r = check_only(
        run()
            .endpoint("https://127.0.0.1:9")
            .arg("--tls-ca", missing),
    );
    usage_error(&r, &format!("error: --tls-ca: cannot read {missing}"));
    let not_pem = s.path().join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let r = check_only(
        run()
            .endpoint("https://127.0.0.1:9")
            .arg("--tls-ca", not_pem.to_str().unwrap()),
    );
    usage_error(&r, "holds no PEM certificate");
    let r = check_only(
        run()
            .endpoint("https://127.0.0.1:9")
            .arg("--tls-cert", not_pem.to_str().unwrap()),
    );
    usage_error(
        &r,
        "--tls-cert: a client certificate needs its key: add --tls-key FILE",
    );
    // The AIS CLI's variable is named when it was the source.
    let r = check_only(
        run()
            .protocol("ais")
            .env("AIS_ENDPOINT", "https://127.0.0.1:9")
            .env("AIS_CLIENT_CA", missing),
    );
    usage_error(
        &r,
        &format!("error: AIS_CLIENT_CA (for --tls-ca): cannot read {missing}"),
    );
}

#[test]
fn ais_variables_with_a_plain_endpoint_get_a_note_not_an_error() {
    let r = check_only(
        run()
            .protocol("ais")
            .env("AIS_ENDPOINT", "http://127.0.0.1:9")
            .env("AIS_SKIP_VERIFY_CRT", "true"),
    );
    r.ok();
    r.check(
        r.stderr().contains(
            "note: AIS_SKIP_VERIFY_CRT is not used: the endpoint http://127.0.0.1:9 is plain \
             http://\n",
        ),
        "one note line",
    );
    // With an https endpoint the same variable is taken, silently.
    let r = check_only(
        run()
            .protocol("ais")
            .env("AIS_ENDPOINT", "https://127.0.0.1:9")
            .env("AIS_SKIP_VERIFY_CRT", "True"),
    );
    r.ok();
    r.check(!r.stderr().contains("AIS_SKIP_VERIFY_CRT"), "no note");
}

/// `AIS_SKIP_VERIFY_CRT` is read as Go's `strconv.ParseBool` reads it: any other value is a
/// note naming it, and verification stays on.
#[test]
fn ais_skip_verify_crt_outside_parse_bool_is_noted_and_not_used() {
    let r = check_only(
        run()
            .protocol("ais")
            .env("AIS_ENDPOINT", "https://127.0.0.1:9")
            .env("AIS_SKIP_VERIFY_CRT", "yes"),
    );
    r.ok();
    r.check(
        r.stderr().contains(
            "note: AIS_SKIP_VERIFY_CRT=\"yes\" is not used: it is not a boolean (1, t, T, \
             TRUE, true, True, 0, f, F, FALSE, false, False), so verification stays on\n",
        ),
        "one note line naming the variable and the value",
    );
}

/// `AIS_CLIENT_CA` is the environment: with `run --tls` (the built-in target's throwaway CA)
/// it is a note, not the exit 2 a typed `--tls-ca` gets.
#[test]
fn ais_client_ca_with_run_tls_is_a_note() {
    let r = check_only(run().flag("--tls").env("AIS_CLIENT_CA", "/etc/ais/ca.pem"));
    r.ok();
    r.check(
        r.stderr().contains(
            "note: AIS_CLIENT_CA is not used: the built-in target's throwaway certificate is \
             trusted for this run\n",
        ),
        "one note line",
    );
    let r = check_only(run().flag("--tls").arg("--tls-ca", "/etc/ais/ca.pem"));
    usage_error(
        &r,
        "error: --tls-ca: the built-in target's throwaway certificate is trusted for this run \
         already, so a CA file cannot apply\n  hint: leave --tls-ca out\n",
    );
}

/// A system store that cannot be read (`SSL_CERT_FILE` naming no file) falls back to the
/// bundled roots with a note saying why.
#[test]
fn an_unreadable_system_store_is_noted_before_the_bundled_roots() {
    let s = Scratch::new("tls-ssl-cert-file");
    let missing = s.path().join("no-such-bundle.pem");
    let r = check_only(
        run()
            .endpoint("https://127.0.0.1:9")
            .env("SSL_CERT_FILE", missing.to_str().unwrap())
            .env_remove("SSL_CERT_DIR"),
    );
    r.ok();
    let note = r
        .stderr()
        .lines()
        .find(|l| l.starts_with("note: the system's roots could not be read ("))
        .map(str::to_string);
    r.check(note.is_some(), "a note on the fallback");
    let note = note.unwrap_or_default();
    r.check(
        note.contains(missing.to_str().unwrap())
            && note.ends_with("), so the bundled roots are used"),
        "the note names the file and the fallback",
    );
}

/// An https AIS endpoint whose server does not speak TLS: the control plane's handshake fails
/// and the run exits 1 naming the cause and its fix, before any load.
#[test]
fn a_failed_control_plane_handshake_exits_1_naming_the_cause() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Answer every connection (the preflight's and the handshake's) as plain HTTP would.
        for s in l.incoming().take(4) {
            let Ok(mut s) = s else { return };
            let mut hello = [0u8; 512];
            let _ = s.read(&mut hello);
            let _ = std::io::Write::write_all(
                &mut s,
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let r = run()
        .protocol("ais")
        .endpoint(&format!("https://127.0.0.1:{port}"))
        .flag("--tls-insecure")
        .pctput(100)
        .duration("2s")
        .run();
    r.check(r.code() == 1, "expected exit 1");
    r.check(
        r.stderr().contains(&format!(
            "TLS handshake with 127.0.0.1:{port} failed: handshake failure"
        )),
        "names the handshake",
    );
    r.check(
        r.stderr()
            .contains("check that the endpoint speaks TLS (https)"),
        "names the fix",
    );
}
