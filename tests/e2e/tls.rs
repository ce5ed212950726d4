//! End-to-end, TLS: the real binary over https against real peers on loopback, with every
//! certificate made at test time (`common::tls::Pki`): nginx serving https under both drivers
//! (exact PUT counts and sizes on disk, exact per-object GET counts from its access log),
//! failures that each name their cause and fix (unknown issuer, name mismatch, expired
//! certificate, a server demanding a client certificate), `--tls-insecure`, mTLS,
//! `AIS_CLIENT_CA`, s3s-fs behind an nginx TLS proxy (SigV4 over https), the built-in AIS
//! cluster serving https (redirects to https targets), and `run --tls` against the built-in
//! target. The `harness_*` tests check the peers themselves with a plain rustls client, so a
//! failure of the others is ringload's.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::s3s::{S3sFs, AK, NO_FILE, SK};
use common::tls::{self, Pki};
use common::*;

/// `--tls-ca FILE`.
fn ca(r: Run, file: &Path) -> Run {
    r.arg("--tls-ca", file.to_str().unwrap())
}

/// The `tls` object of a result document.
fn tls_of(v: &serde_json::Value) -> &serde_json::Value {
    let t = &v["tls"];
    let keys: Vec<&String> = v.as_object().map_or(vec![], |o| o.keys().collect());
    assert!(
        t.is_object(),
        "the result has no tls object; it has {keys:?}"
    );
    t
}

/// The plan line `ringload run` prints to stderr before the load.
fn plan_line(run: &Ran) -> String {
    let err = run.stderr();
    let line = err
        .lines()
        .find(|l| l.starts_with("ringload: ") && l.contains(" requests in flight on "))
        .map(str::to_string);
    run.check(line.is_some(), "stderr has the plan line");
    line.unwrap()
}

/// The plan line and the summary's `tls:` line of a run verified against `--tls-ca FILE`
/// name that bundle in exactly these words.
fn check_verified_with_ca_flag(run: &Ran) {
    let plan = plan_line(run);
    run.check(
        plan.contains(", TLS verify on (--tls-ca bundle)): "),
        &format!("the plan line says `TLS verify on (--tls-ca bundle)`: {plan}"),
    );
    let line = tls_line(run);
    run.check(
        line.contains(", verified (--tls-ca bundle), "),
        &format!("the tls: line says `verified (--tls-ca bundle)`: {line}"),
    );
}

/// `errors_by_kind[kind]` of `op` (0 when absent).
fn kind(v: &serde_json::Value, op: &str, kind: &str) -> u64 {
    v["ops"][op]["errors_by_kind"][kind].as_u64().unwrap_or(0)
}

/// The longest a run whose every handshake fails may take (it must give up within about 5 s).
const FAIL_WITHIN: Duration = Duration::from_secs(7);

/// Checks what a verified TLS 1.3 run records.
fn check_verified(run: &Ran, v: &serde_json::Value, roots: &str) {
    let t = tls_of(v);
    run.check(t["verified"] == true, "tls.verified");
    run.check(t["version"] == "TLSv1.3", "tls.version");
    run.check(
        t["cipher"]
            .as_str()
            .is_some_and(|c| c.starts_with("TLS13_")),
        "tls.cipher names a TLS 1.3 suite",
    );
    run.check(t["handshakes"].as_u64() >= Some(1), "tls.handshakes >= 1");
    run.check(
        t["resumed"].as_u64() <= t["handshakes"].as_u64(),
        "tls.resumed <= tls.handshakes",
    );
    run.check(t["roots"] == roots, &format!("tls.roots == {roots}"));
}

/// The `tls:` line of a run's summary (stdout or stderr).
fn tls_line(run: &Ran) -> String {
    let all = format!("{}\n{}", run.stdout(), run.stderr());
    let line = all
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with("tls:"))
        .map(str::to_string);
    run.check(line.is_some(), "the summary has a `tls:` line");
    line.unwrap()
}

#[test]
fn harness_nginx_serves_https_with_the_test_certificates() {
    let pki = Pki::make();
    let ng = tls::nginx(&pki.server, None);
    std::fs::write(ng.data().join("f"), b"hello").unwrap();
    assert_eq!(
        tls::get(&tls::url(&ng), "/f", &pki.ca, None),
        Ok((200, "hello".to_string()))
    );
    let err = |pair| {
        let ng = tls::nginx(pair, None);
        tls::get(&tls::url(&ng), "/f", &pki.ca, None).unwrap_err()
    };
    assert!(
        err(&pki.wrong_name).contains("not valid for name"),
        "{}",
        err(&pki.wrong_name)
    );
    assert!(
        err(&pki.expired).contains("expired"),
        "{}",
        err(&pki.expired)
    );
    // Another CA's server certificate: the test CA alone does not trust the client CA.
    let other = tls::get(&tls::url(&ng), "/f", &pki.client_ca, None).unwrap_err();
    assert!(other.contains("UnknownIssuer"), "{other}");
}

#[test]
fn harness_client_certificates_are_demanded() {
    let pki = Pki::make();
    let ng = tls::nginx(&pki.server, Some(&pki.client_ca));
    std::fs::write(ng.data().join("f"), b"hello").unwrap();
    let u = tls::url(&ng);
    assert_eq!(
        tls::get(&u, "/f", &pki.ca, Some(&pki.client)),
        Ok((200, "hello".to_string()))
    );
    let (status, body) = tls::get(&u, "/f", &pki.ca, None).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("No required SSL certificate was sent"),
        "{body}"
    );
    let refuser = tls::MtlsRefuser::start(&pki.server, &pki.client_ca);
    let e = tls::get(&refuser.url(), "/", &pki.ca, None).unwrap_err();
    assert!(e.contains("CertificateRequired"), "{e}");
}

#[test]
fn harness_s3s_answers_through_the_tls_proxy() {
    let pki = Pki::make();
    let s = S3sFs::start("bkt");
    let px = tls::proxy(&pki.server, s.port);
    let (status, body) = tls::get(&tls::url(&px), "/bkt", &pki.ca, None).unwrap();
    // s3s-fs itself refuses the unsigned request: the proxy reached it.
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Error>"), "{body}");
}

/// PUTs over https (60 of 1 KiB..200 KiB, then 3 of 1.5 MiB) land on disk with the sizes the
/// result claims; two unique-GET epochs with `--verifyhash` read every object exactly twice
/// (nginx's access log) and find every body intact; the result, the plan line and the summary
/// record a run verified against the `--tls-ca` bundle.
#[test]
fn nginx_https_exact_puts_and_verified_gets_under_both_drivers() {
    let pki = Pki::make();
    for driver in DRIVERS {
        let ng = tls::nginx(&pki.server, None);
        let u = tls::url(&ng);
        let bucket = ng.data().join("bk");
        // (count, sizes, seed): the seeds keep the two runs' random names apart.
        let puts = [(60u64, ("1K", "200K"), "1"), (3, ("1536K", "1536K"), "2")];
        let mut put_bytes = 0;
        for (n, (min, max), seed) in puts {
            let res = ng.dir.path().join(format!("put-{seed}.json"));
            let put = ca(Run::new(), &pki.ca)
                .endpoint(&u)
                .bucket("bk")
                .driver(driver)
                .pctput(100)
                .maxputs(n)
                .sizes(min, max)
                .arg("--seed", seed)
                .workers(8)
                .cores(2)
                .duration("60s")
                .result(&res)
                .run();
            put.ok();
            let v = result(&res);
            put.check(op(&v, "put", "count") == n, &format!("{driver}: {n} PUTs"));
            put.check(
                op(&v, "put", "errors") == 0,
                &format!("{driver}: no errors"),
            );
            put_bytes += op(&v, "put", "bytes");
            check_verified(&put, &v, "ca-file");
            check_verified_with_ca_flag(&put);
        }
        let (mut files, mut bytes, mut big) = (0u64, 0u64, 0u64);
        let mut list = String::new();
        for e in std::fs::read_dir(&bucket).unwrap() {
            let e = e.unwrap();
            let len = e.metadata().unwrap().len();
            if len == 1536 * 1024 {
                big += 1;
            } else {
                assert!((1024..=200 * 1024).contains(&len), "{driver}: size {len}");
            }
            files += 1;
            bytes += len;
            list.push_str(&e.file_name().into_string().unwrap());
            list.push('\n');
        }
        assert_eq!(files, 63, "{driver}: objects on disk");
        assert_eq!(big, 3, "{driver}: objects of 1.5 MiB on disk");
        assert_eq!(put_bytes, bytes, "{driver}: bytes on disk");

        let fl = ng.dir.path().join("list.txt");
        std::fs::write(&fl, list).unwrap();
        let res = ng.dir.path().join("get.json");
        let get = ca(Run::new(), &pki.ca)
            .endpoint(&u)
            .bucket("bk")
            .driver(driver)
            .filelist(&fl)
            .epochs(2)
            .flag("--uniquegets")
            .flag("--verifyhash")
            .workers(16)
            .cores(2)
            .duration("60s")
            .result(&res)
            .run();
        get.ok();
        let g = result(&res);
        let mut per: BTreeMap<String, u32> = BTreeMap::new();
        for (m, p, s) in ng.requests().into_iter().filter(|r| r.0 == "GET") {
            assert_eq!(s, 200, "{driver}: {m} {p}");
            *per.entry(p).or_default() += 1;
        }
        assert_eq!(per.len(), 63, "{driver}: distinct objects read");
        assert!(per.values().all(|&n| n == 2), "{driver}: {per:?}");
        get.check(
            op(&g, "get", "count") == 126,
            &format!("{driver}: 126 GETs"),
        );
        get.check(
            kind(&g, "get", "verify") == 0 && kind(&g, "get", "verify-unknown") == 0,
            &format!("{driver}: every body verified intact"),
        );
        get.check(
            op(&g, "get", "errors") == 0,
            &format!("{driver}: no errors"),
        );
        get.check(
            op(&g, "get", "bytes") == 2 * bytes,
            &format!("{driver}: every byte on disk, twice"),
        );
        assert_eq!(g["stop_reason"], "epochs", "{driver}");
        check_verified(&get, &g, "ca-file");
        check_verified_with_ca_flag(&get);
        let line = tls_line(&get);
        get.check(line.contains("TLSv1.3"), "the tls: line names the version");
    }
}

/// Each certificate problem fails the run within about 5 s (bounded at 7 s; exit 1), naming
/// the cause and the fix,
/// with every failed handshake counted as error kind `tls`.
#[test]
fn certificate_failures_exit_1_naming_cause_and_fix() {
    let pki = Pki::make();
    // (server certificate, trust the test CA?, the cause, the fix)
    let cases = [
        (&pki.server, false, "unknown issuer", "--tls-ca"),
        (&pki.wrong_name, true, "name mismatch", "--tls-insecure"),
        (&pki.expired, true, "expired certificate", "--tls-insecure"),
    ];
    for (pair, trust, cause, fix) in cases {
        let ng = tls::nginx(pair, None);
        let res = ng.dir.path().join("r.json");
        let mut r = Run::new();
        if trust {
            r = ca(r, &pki.ca);
        }
        let t = Instant::now();
        let run = r
            .endpoint(&tls::url(&ng))
            .bucket("bk")
            .pctput(100)
            .size("1K")
            .workers(4)
            .duration("30s")
            .result(&res)
            .run();
        let took = t.elapsed();
        run.check(run.code() == 1, &format!("{cause}: exit 1"));
        run.check(
            took < FAIL_WITHIN,
            &format!("{cause}: failed within {FAIL_WITHIN:?}, took {took:?}"),
        );
        let err = run.stderr();
        run.check(err.contains(cause), &format!("stderr names `{cause}`"));
        run.check(
            err.contains(fix),
            &format!("{cause}: stderr names the fix {fix}"),
        );
        let v = result(&res);
        run.check(tls::tls_errors(&v) > 0, "errors_by_kind.tls > 0");
        run.check(op(&v, "put", "count") == 0, "no PUT succeeded");
        let on_disk = std::fs::read_dir(ng.data().join("bk")).map_or(0, |d| d.count());
        assert_eq!(on_disk, 0, "{cause}: nothing reached nginx's disk");
    }
}

/// `--tls-insecure` loads a server no trusted CA signed, and says everywhere that nothing
/// was verified.
#[test]
fn tls_insecure_loads_an_untrusted_server() {
    let pki = Pki::make();
    let ng = tls::nginx(&pki.server, None);
    let res = ng.dir.path().join("r.json");
    let run = Run::new()
        .endpoint(&tls::url(&ng))
        .bucket("bk")
        .flag("--tls-insecure")
        .pctput(100)
        .maxputs(20)
        .size("4K")
        .workers(2)
        .duration("30s")
        .result(&res)
        .run();
    run.ok();
    let v = result(&res);
    run.check(op(&v, "put", "count") == 20, "20 PUTs");
    run.check(tls::tls_errors(&v) == 0, "no tls errors");
    let t = tls_of(&v);
    run.check(t["verified"] == false, "tls.verified == false");
    run.check(t["roots"] == "none", "tls.roots == none");
    let line = tls_line(&run);
    run.check(
        line.contains(", NOT verified (--tls-insecure), "),
        &format!("the tls: line says `NOT verified (--tls-insecure)`: {line}"),
    );
    let plan = plan_line(&run);
    run.check(
        plan.contains(", TLS verification OFF (--tls-insecure)): "),
        &format!("the plan line says `TLS verification OFF (--tls-insecure)`: {plan}"),
    );
    assert_eq!(std::fs::read_dir(ng.data().join("bk")).unwrap().count(), 20);
}

/// mTLS: nginx with `ssl_verify_client on` takes PUTs from a client with `--tls-cert/--tls-key`
/// and, the same again, from one given `AIS_CRT`/`AIS_CRT_KEY` (and `AIS_CLIENT_CA`) instead;
/// a server that refuses clients without one (TLS alert `certificate_required`) fails the run
/// with exit 1, naming the alert and `--tls-cert`.
#[test]
fn mtls_with_and_without_a_client_certificate() {
    let pki = Pki::make();
    let ng = tls::nginx(&pki.server, Some(&pki.client_ca));
    let res = ng.dir.path().join("r.json");
    let run = ca(Run::new(), &pki.ca)
        .endpoint(&tls::url(&ng))
        .bucket("bk")
        .arg("--tls-cert", pki.client.cert.to_str().unwrap())
        .arg("--tls-key", pki.client.key.to_str().unwrap())
        .pctput(100)
        .maxputs(25)
        .size("2K")
        .workers(4)
        .duration("30s")
        .result(&res)
        .run();
    run.ok();
    let v = result(&res);
    run.check(op(&v, "put", "count") == 25, "25 PUTs");
    check_verified(&run, &v, "ca-file");
    let stored: Vec<_> = ng
        .requests()
        .into_iter()
        .filter(|r| r.0 == "PUT" && r.2 == 201)
        .collect();
    assert_eq!(stored.len(), 25, "nginx stored 25 PUTs");

    // The AIS CLI's variables in place of every flag.
    let res = ng.dir.path().join("env.json");
    let env = Run::new()
        .env("AIS_CLIENT_CA", pki.ca.to_str().unwrap())
        .env("AIS_CRT", pki.client.cert.to_str().unwrap())
        .env("AIS_CRT_KEY", pki.client.key.to_str().unwrap())
        .endpoint(&tls::url(&ng))
        .bucket("env")
        .pctput(100)
        .maxputs(25)
        .size("2K")
        .workers(4)
        .duration("30s")
        .result(&res)
        .run();
    env.ok();
    let v = result(&res);
    env.check(op(&v, "put", "count") == 25, "25 PUTs");
    env.check(op(&v, "put", "errors") == 0, "no errors");
    check_verified(&env, &v, "ca-file");
    let stored = ng
        .requests()
        .into_iter()
        .filter(|r| r.0 == "PUT" && r.2 == 201 && r.1.starts_with("/env/"))
        .count();
    assert_eq!(stored, 25, "nginx stored 25 PUTs given the AIS variables");
    let on_disk = std::fs::read_dir(ng.data().join("env")).unwrap().count();
    assert_eq!(on_disk, 25, "25 objects on disk under env/");

    // nginx finishes the handshake without a client certificate and answers every request
    // 400: a failed run (exit 1), never a success.
    let res = ng.dir.path().join("none.json");
    let none = ca(Run::new(), &pki.ca)
        .endpoint(&tls::url(&ng))
        .bucket("bk")
        .pctput(100)
        .size("2K")
        .workers(2)
        .duration("3s")
        .result(&res)
        .run();
    none.check(none.code() == 1, "exit 1 without a client certificate");
    let v = result(&res);
    none.check(
        op(&v, "put", "count") == 0
            && v["ops"]["put"]["errors_by_kind"]["http-400"].as_u64() > Some(0),
        "nginx refused every PUT with 400",
    );

    let refuser = tls::MtlsRefuser::start(&pki.server, &pki.client_ca);
    let dir = Scratch::new("mtls");
    let res = dir.path().join("r.json");
    let t = Instant::now();
    let bad = ca(Run::new(), &pki.ca)
        .endpoint(&refuser.url())
        .bucket("bk")
        .pctput(100)
        .size("1K")
        .workers(2)
        .duration("30s")
        .result(&res)
        .run();
    let took = t.elapsed();
    bad.check(bad.code() == 1, "exit 1 without a client certificate");
    let err = bad.stderr();
    bad.check(
        err.contains("alert from the server: certificate_required"),
        "names the alert",
    );
    bad.check(err.contains("--tls-cert"), "names the fix --tls-cert");
    bad.check(tls::tls_errors(&result(&res)) > 0, "errors_by_kind.tls > 0");
    // In TLS 1.3 the client's side of the handshake ends before the server refuses its
    // (missing) certificate: the alert still means that no connection ever got through.
    bad.check(
        took < FAIL_WITHIN,
        &format!(
            "a refused client certificate stops the run within {FAIL_WITHIN:?}, took {took:?}"
        ),
    );
}

/// s3s-fs (SigV4 checked) behind nginx terminating TLS: PUT, ListObjectsV2, whole and Range
/// GETs over https under both drivers, with exact counts against what s3s-fs stored and the
/// proxy passed.
#[test]
fn s3_over_https_through_a_tls_proxy_under_both_drivers() {
    let pki = Pki::make();
    for driver in DRIVERS {
        let s = S3sFs::start("bkt");
        let px = tls::proxy(&pki.server, s.port);
        let s3 = || {
            ca(Run::new(), &pki.ca)
                .protocol("s3")
                .arg("--s3endpoint", tls::url(&px))
                .bucket("bkt")
                .driver(driver)
                .env("AWS_ACCESS_KEY_ID", AK)
                .env("AWS_SECRET_ACCESS_KEY", SK)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_PROFILE", "")
                .env("AWS_SHARED_CREDENTIALS_FILE", NO_FILE)
                .env("AWS_CONFIG_FILE", NO_FILE)
                .duration("60s")
        };
        let dir = Scratch::new("s3-tls");
        let put_res = dir.path().join("put.json");
        let put = s3()
            .pctput(100)
            .maxputs(40)
            .sizes("1K", "32K")
            .workers(4)
            .result(&put_res)
            .run();
        put.ok();
        let r = result(&put_res);
        put.check(
            op(&r, "put", "count") == 40 && op(&r, "put", "errors") == 0,
            &format!("{driver}: 40 PUTs"),
        );
        check_verified(&put, &r, "ca-file");
        let (n, bytes) = s.stored("bkt");
        assert_eq!(
            (n, bytes),
            (40, op(&r, "put", "bytes")),
            "{driver}: s3s-fs stored what was PUT"
        );

        let get_res = dir.path().join("get.json");
        let get = s3().epochs(2).workers(4).result(&get_res).run();
        get.ok();
        get.check(
            get.stderr().contains("Found 40 existing objects"),
            &format!("{driver}: ListObjectsV2 over https listed 40"),
        );
        let g = result(&get_res);
        get.check(
            op(&g, "get", "count") == 80,
            &format!("{driver}: two epochs"),
        );
        get.check(
            op(&g, "get", "bytes") == 2 * bytes,
            &format!("{driver}: whole objects, twice"),
        );
        get.check(
            op(&g, "get", "errors") == 0,
            &format!("{driver}: no errors"),
        );

        let range_res = dir.path().join("range.json");
        let rg = s3()
            .epochs(1)
            .arg("--readoff", "100")
            .arg("--readlen", "500")
            .result(&range_res)
            .run();
        rg.ok();
        let x = result(&range_res);
        rg.check(
            op(&x, "get", "count") == 40,
            &format!("{driver}: one Range GET per object"),
        );
        rg.check(
            op(&x, "get", "bytes") == 40 * 500,
            &format!("{driver}: 500 bytes each"),
        );
        let reqs = px.requests();
        let count = |m: &str, st: u16| reqs.iter().filter(|r| r.0 == m && r.2 == st).count();
        assert_eq!(count("PUT", 200), 40, "{driver}: the proxy passed 40 PUTs");
        assert_eq!(
            count("GET", 206),
            40,
            "{driver}: the proxy passed 40 partial answers"
        );
    }
}

/// The built-in AIS cluster serving https: PUTs and verified GETs through the proxy, every one
/// redirected to an https target, with exact counts on the listeners; `AIS_CLIENT_CA` stands
/// in for `--tls-ca` and `AIS_SKIP_VERIFY_CRT=true` for `--tls-insecure`.
#[test]
fn ais_cluster_over_https_follows_redirects_with_exact_counts() {
    let pki = Pki::make();
    let c = Cluster::start(&[
        "--proxies",
        "1",
        "--targets",
        "2",
        "--tls-cert",
        pki.server.cert.to_str().unwrap(),
        "--tls-key",
        pki.server.key.to_str().unwrap(),
    ]);
    for u in c.proxies.iter().chain(&c.targets) {
        assert!(
            u.starts_with("https://127.0.0.1:"),
            "serve announces https: {u}"
        );
    }
    let sum = |urls: &[String], kind: &str| -> u64 {
        urls.iter()
            .map(|u| tls::stats(u, &pki.ca)["requests"][kind].as_u64().unwrap())
            .sum()
    };
    let redirects = |urls: &[String]| -> u64 {
        urls.iter()
            .map(|u| tls::stats(u, &pki.ca)["redirects"].as_u64().unwrap())
            .sum()
    };
    let ais = || {
        Run::new()
            .protocol("ais")
            .endpoint(&c.proxies[0])
            .duration("60s")
    };
    let dir = Scratch::new("ais-tls");
    for driver in DRIVERS {
        let bucket = format!("ais://tls-{driver}");
        let before = (
            sum(&c.targets, "put"),
            sum(&c.targets, "get"),
            redirects(&c.proxies),
        );
        let put_res = dir.path().join(format!("put-{driver}.json"));
        let put = ca(ais(), &pki.ca)
            .bucket(&bucket)
            .driver(driver)
            .pctput(100)
            .maxputs(150)
            .sizes("1K", "64K")
            .workers(8)
            .result(&put_res)
            .run();
        put.ok();
        let r = result(&put_res);
        put.check(
            op(&r, "put", "count") == 150 && op(&r, "put", "errors") == 0,
            "150 PUTs",
        );
        check_verified(&put, &r, "ca-file");
        assert_eq!(
            sum(&c.targets, "put") - before.0,
            150,
            "{driver}: targets stored 150"
        );
        assert_eq!(
            redirects(&c.proxies) - before.2,
            150,
            "{driver}: every PUT redirected"
        );

        let get_res = dir.path().join(format!("get-{driver}.json"));
        let get = ais()
            .env("AIS_CLIENT_CA", pki.ca.to_str().unwrap())
            .bucket(&bucket)
            .driver(driver)
            .epochs(2)
            .flag("--uniquegets")
            .flag("--verifyhash")
            .workers(6)
            .result(&get_res)
            .run();
        get.ok();
        get.check(
            get.stderr().contains("Found 150 existing objects"),
            "listed 150",
        );
        let g = result(&get_res);
        get.check(op(&g, "get", "count") == 300, "every object read twice");
        get.check(op(&g, "get", "errors") == 0, "no errors, hashes verified");
        get.check(
            op(&g, "get", "bytes") == 2 * op(&r, "put", "bytes"),
            "bytes twice",
        );
        check_verified(&get, &g, "ca-file");
        assert_eq!(
            sum(&c.targets, "get") - before.1,
            300,
            "{driver}: targets served 300"
        );
        assert_eq!(
            redirects(&c.proxies) - before.2,
            150 + 300,
            "{driver}: every GET redirected to an https target"
        );
    }
    // A PUT of 1 MiB goes to the proxy with `Expect: 100-continue`, and the proxy closes that
    // connection after its redirect: each of the 24 PUTs reconnects to the proxy. The tickets
    // are shared by the run's connections, so only the first handshakes with each host (3
    // hosts, 2 connections) may be full; every other one resumes.
    let res = dir.path().join("resume.json");
    let resume = ca(ais(), &pki.ca)
        .bucket("ais://tls-resume")
        .pctput(100)
        .maxputs(24)
        .size("1M")
        .workers(2)
        .cores(1)
        .result(&res)
        .run();
    resume.ok();
    let v = result(&res);
    resume.check(op(&v, "put", "count") == 24, "24 PUTs of 1 MiB");
    let t = tls_of(&v);
    let (hs, resumed) = (
        t["handshakes"].as_u64().unwrap_or(0),
        t["resumed"].as_u64().unwrap_or(0),
    );
    resume.check(hs >= 24, "a handshake per proxy reconnect at least");
    resume.check(
        resumed + 6 >= hs,
        "every handshake resumed but the first per host and connection (2 x 3)",
    );
    let pct = t["resumed_pct"].as_f64().unwrap_or(-1.0);
    resume.check(
        (pct - 100.0 * resumed as f64 / hs as f64).abs() < 1.0,
        "resumed_pct is the resumed share of the handshakes",
    );

    let res = dir.path().join("skip.json");
    let skip = ais()
        .env("AIS_SKIP_VERIFY_CRT", "true")
        .bucket("ais://tls-uring")
        .epochs(1)
        .workers(2)
        .result(&res)
        .run();
    skip.ok();
    let v = result(&res);
    skip.check(op(&v, "get", "count") == 150, "one epoch");
    skip.check(
        tls_of(&v)["verified"] == false,
        "AIS_SKIP_VERIFY_CRT turns verification off",
    );
}

/// `run --tls` with no endpoint loads the built-in target over https, trusting its throwaway
/// CA for that run only.
#[test]
fn run_tls_loads_the_builtin_target_verified() {
    let dir = Scratch::new("run-tls");
    let res = dir.path().join("r.json");
    let run = Run::new()
        .flag("--tls")
        .pctput(50)
        .size("4K")
        .workers(4)
        .duration("2s")
        .result(&res)
        .run();
    run.ok();
    let v = result(&res);
    run.check(
        op(&v, "get", "count") > 0 && op(&v, "put", "count") > 0,
        "ops went through",
    );
    run.check(tls::tls_errors(&v) == 0, "no tls errors");
    check_verified(&run, &v, "built-in");
    run.check(v["target"]["source"] == "builtin", "the built-in target");
}
