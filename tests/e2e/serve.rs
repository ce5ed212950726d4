//! End-to-end: `ringload serve` as a process. An AIS cluster of 2 proxies and 3 targets prints
//! its 5 listeners, takes a PUT through a proxy (redirect followed by hand), reports it in the
//! stats endpoint, and stops on SIGTERM; bad serve flags exit 2 naming the problem; an S3
//! target started with `--bucket` takes a PUT run and a GET run into it; `--tls-cert` and
//! `--tls-key` serve https (the line says so) and bad ones exit 2 naming the flag; `run --tls`
//! without a target says it loads the built-in target over TLS, at an https URL.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The serve process, killed on drop if a test fails before stopping it.
struct Serve(Child);

impl Serve {
    /// `ringload serve ARGS`, its stdout piped (it prints its listeners there), stderr
    /// inherited so a failure shows the server's own words.
    fn start(args: &[&str]) -> Serve {
        let child = Command::new(env!("CARGO_BIN_EXE_ringload"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Serve(child)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP exchange on a fresh connection: (status, headers, body).
fn exchange(
    url: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let addr = url.strip_prefix("http://").expect("http URL");
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut w = s.try_clone().unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    w.write_all(head.as_bytes()).unwrap();
    w.write_all(body).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let mut body = Vec::new();
    r.read_to_end(&mut body).unwrap();
    (status, headers, body)
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

/// Splits `http://host:port/path?query` into (`http://host:port`, `/path?query`).
fn split_url(loc: &str) -> (String, String) {
    let rest = loc.strip_prefix("http://").unwrap();
    let slash = rest.find('/').unwrap();
    (
        format!("http://{}", &rest[..slash]),
        rest[slash..].to_string(),
    )
}

#[test]
fn serve_ais_cluster_prints_listeners_takes_a_put_and_reports_stats() {
    let mut serve = Serve::start(&["--protocol", "ais", "--proxies", "2", "--targets", "3"]);
    let stdout = serve.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let lines: Vec<serde_json::Value> = (0..5)
        .map(|i| {
            let l = rx
                .recv_timeout(TIMEOUT)
                .unwrap_or_else(|e| panic!("listener line {i} not printed: {e}"));
            serde_json::from_str(&l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}"))
        })
        .collect();
    let roles: Vec<&str> = lines.iter().map(|v| v["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["proxy", "proxy", "target", "target", "target"]);
    assert!(lines.iter().all(|v| v["protocol"] == "ais"));
    let urls: Vec<String> = lines
        .iter()
        .map(|v| v["url"].as_str().unwrap().to_string())
        .collect();
    let (proxies, targets) = urls.split_at(2);

    let (st, _, _) = exchange(
        &proxies[0],
        "POST",
        "/v1/buckets/b?provider=ais",
        br#"{"action":"create-bck"}"#,
    );
    assert_eq!(st, 200);
    let body = vec![3u8; 4096];
    let (st, h, _) = exchange(&proxies[1], "PUT", "/v1/objects/b/obj?provider=ais", &body);
    assert_eq!(st, 307);
    let (target, path) = split_url(header(&h, "location"));
    assert!(targets.contains(&target), "{target} is not a target");
    assert!(
        path.starts_with("/v1/objects/b/obj?provider=ais&pid=p2&utm="),
        "{path}"
    );
    let (st, _, _) = exchange(&target, "PUT", &path, &body);
    assert_eq!(st, 200);

    let (st, h, _) = exchange(&proxies[0], "GET", "/v1/objects/b/obj?provider=ais", b"");
    assert_eq!(st, 301);
    let (t2, path) = split_url(header(&h, "location"));
    assert_eq!(t2, target, "the GET goes where the PUT went");
    let (st, h, got) = exchange(&target, "GET", &path, b"");
    assert_eq!((st, got.len()), (200, 4096));
    assert_eq!(header(&h, "ais-checksum-type"), "xxhash");

    let (st, _, stats) = exchange(&target, "GET", "/v1/ringload/stats", b"");
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(
        (v["role"].as_str(), v["url"].as_str()),
        (Some("target"), Some(target.as_str()))
    );
    assert_eq!(
        (v["requests"]["put"].as_u64(), v["requests"]["get"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["bytes_received"], 4096);
    assert_eq!(v["bytes_sent"], 4096);
    let (_, _, stats) = exchange(&proxies[1], "GET", "/v1/ringload/stats", b"");
    let v: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(
        (v["role"].as_str(), v["redirects"].as_u64()),
        (Some("proxy"), Some(1))
    );
    assert_eq!(v["status"]["307"], 1);

    // SIGTERM stops it cleanly.
    let pid = serve.0.id() as i32;
    // SAFETY: signals the child this test started; kill takes no pointers; the child is not reaped yet, so its pid cannot have been
    // reused by another process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = serve.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_rejects_bad_flags_with_exit_2() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["serve", "--bucket", "bkt"],
            "--bucket pre-creates buckets of the built-in S3 target: add --protocol s3 (not http)",
        ),
        (
            &["serve", "--protocol", "s3", "--bucket", "B"],
            "--bucket B:",
        ),
        (&["serve", "--proxies", "2"], "--protocol ais"),
        (&["serve", "--protocol", "ais", "--targets", "0"], "1..=64"),
        (&["serve", "--fault", "boom=1%"], "\"boom\""),
        (
            &["serve", "--fault", "500=1%", "--fault", "500=2%"],
            "twice",
        ),
        (
            &["serve", "--access-key", "a", "--secret-key", "b"],
            "--protocol s3",
        ),
        (
            &["serve", "--protocol", "s3", "--access-key", "a"],
            "--secret-key",
        ),
    ];
    for (args, want) in cases {
        let run = common::ringload(args);
        run.check(run.code() == 2, "expected exit code 2");
        run.check(
            run.stderr().contains(want),
            &format!("stderr should name {want:?}"),
        );
    }
}

#[test]
fn serve_http_prints_one_server_line() {
    let mut serve = Serve::start(&["--protocol", "s3"]);
    let mut out = BufReader::new(serve.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (v["role"].as_str(), v["protocol"].as_str()),
        (Some("server"), Some("s3"))
    );
    let url = v["url"].as_str().unwrap();
    let (st, _, _) = exchange(url, "PUT", "/b", b"");
    assert_eq!(st, 200);
    let (st, _, xml) = exchange(url, "GET", "/b?list-type=2", b"");
    assert_eq!(st, 200);
    assert!(String::from_utf8_lossy(&xml).contains("<KeyCount>0</KeyCount>"));
}

/// `serve --protocol s3 --bucket NAME` (repeatable) starts with those buckets, lists them in
/// its line, and a PUT run then a GET run into one of them work without creating anything.
#[test]
fn serve_s3_with_buckets_takes_a_put_then_a_get_run() {
    use common::s3s::{AK, NO_FILE, SK};
    let mut serve = Serve::start(&["--protocol", "s3", "--bucket", "one", "--bucket", "two"]);
    let mut out = BufReader::new(serve.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["buckets"], serde_json::json!(["one", "two"]), "{line}");
    let url = v["url"].as_str().unwrap();
    let run = |r: common::run::Run| {
        r.protocol("s3")
            .arg("--s3endpoint", url)
            .bucket("two")
            .env("AWS_ACCESS_KEY_ID", AK)
            .env("AWS_SECRET_ACCESS_KEY", SK)
            .env("AWS_PROFILE", "")
            .env("AWS_SHARED_CREDENTIALS_FILE", NO_FILE)
            .env("AWS_CONFIG_FILE", NO_FILE)
            .workers(2)
            .flag("--json")
            .run()
    };
    let put = run(common::run::Run::new().pctput(100).maxputs(30).size("2K"));
    put.ok();
    put.check(!put.stderr().contains("created bucket"), "nothing created");
    let r: serde_json::Value = serde_json::from_str(&put.stdout()).unwrap();
    put.check(common::op(&r, "put", "count") == 30, "30 PUTs");
    let get = run(common::run::Run::new().epochs(1));
    get.ok();
    get.check(
        get.stderr().contains("Found 30 existing objects"),
        "listed the PUTs",
    );
    let g: serde_json::Value = serde_json::from_str(&get.stdout()).unwrap();
    get.check(
        common::op(&g, "get", "count") == 30 && common::op(&g, "get", "bytes") == 30 * 2048,
        "every object read once, whole",
    );
}

/// A throwaway CA and a certificate it signed for 127.0.0.1, written as `ca.pem`, `cert.pem`
/// and `key.pem` in a scratch directory.
fn tls_files() -> common::Scratch {
    let dir = common::Scratch::new("serve-tls");
    let t = ringload_net::tls::throwaway(&["127.0.0.1".to_string()]).unwrap();
    for (name, pem) in [
        ("ca", &t.ca_pem),
        ("cert", &t.cert_pem),
        ("key", &t.key_pem),
    ] {
        std::fs::write(dir.path().join(format!("{name}.pem")), pem).unwrap();
    }
    dir
}

#[test]
fn serve_tls_flags_are_refused_with_exit_2_naming_the_flag() {
    let dir = tls_files();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (cert, key, ca) = (p("cert.pem"), p("key.pem"), p("ca.pem"));
    let (missing, junk, other_key) = (p("missing.pem"), p("junk.pem"), p("other-key.pem"));
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let other = ringload_net::tls::throwaway(&["127.0.0.1".to_string()]).unwrap();
    std::fs::write(&other_key, other.key_pem).unwrap();
    let cases: [(Vec<&str>, &str); 6] = [
        (
            vec!["--tls-cert", &cert],
            "error: --tls-key is missing: --tls-cert FILE needs the certificate's private key, \
             --tls-key FILE (or give neither to serve plain http)\n",
        ),
        (
            vec!["--tls-key", &key, "--protocol", "ais"],
            "error: --tls-cert is missing: --tls-key FILE needs its certificate chain, \
             --tls-cert FILE (or give neither to serve plain http)\n",
        ),
        (
            vec!["--tls-cert", &missing, "--tls-key", &key],
            "error: --tls-cert: cannot read ",
        ),
        (
            vec!["--tls-cert", &junk, "--tls-key", &key],
            "error: --tls-cert: ",
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &ca],
            "error: --tls-key: ",
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &other_key],
            "error: --tls-key: the key does not fit the --tls-cert certificate",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend(&args);
        let run = common::ringload(&all);
        run.check(run.code() == 2, "expected exit code 2");
        run.check(
            run.stderr().starts_with(want),
            &format!("stderr should start {want:?}"),
        );
    }
}

#[test]
fn serve_tls_prints_an_https_url_and_serves_it() {
    use ringload_net::tls::rustls::{ClientConnection, StreamOwned};
    let dir = tls_files();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let mut serve = Serve::start(&["--tls-cert", &p("cert.pem"), "--tls-key", &p("key.pem")]);
    let mut out = BufReader::new(serve.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = v["url"].as_str().unwrap();
    let addr = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("{line} should name an https:// URL"));
    let tls = ringload_net::tls::client(&ringload_net::tls::ClientOptions {
        ca_file: Some(dir.path().join("ca.pem")),
        ..Default::default()
    })
    .unwrap();
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    let name = ringload_net::tls::server_name("127.0.0.1").unwrap();
    let conn = ClientConnection::new(tls.config, name).unwrap();
    let mut s = StreamOwned::new(conn, sock);
    s.write_all(b"GET /v1/ringload/stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    // The target ends the session with close_notify: a clean end of stream.
    s.read_to_end(&mut got).unwrap();
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 200 "), "{got}");
    let body: serde_json::Value = serde_json::from_str(got.split("\r\n\r\n").nth(1).unwrap())
        .unwrap_or_else(|e| panic!("{got}: {e}"));
    assert_eq!(body["url"], url);
}

/// The note line of `run --tls` without a target, for plain HTTP and the AIS cluster. (What
/// the run then measures over TLS is the TLS run tests' concern.)
#[test]
fn run_tls_notes_the_builtin_target_over_tls() {
    for (protocol, what) in [("http", "built-in target"), ("ais", "built-in ais target")] {
        let run = common::run::Run::new()
            .protocol(protocol)
            .flag("--tls")
            .arg("--prefill", 5)
            .size("1K")
            .workers(1)
            .duration("1s")
            .run();
        let err = run.stderr();
        let want =
            format!("note: nothing names a target: loading the {what} at https://127.0.0.1:");
        let line = err.lines().find(|l| l.starts_with(&want));
        run.check(line.is_some(), &format!("a line starting {want:?}"));
        let port = line.unwrap()[want.len()..].strip_suffix(" over TLS");
        run.check(
            port.is_some_and(|p| p.parse::<u16>().is_ok()),
            "the note names the https URL, then says over TLS",
        );
    }
}
