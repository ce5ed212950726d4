//! End-to-end, live Prometheus metrics: `ringload run --metrics-listen` against the built-in
//! target, scraped twice during the run. Each scrape parses with the official Python client's
//! parser (tests/e2e/data/parse_prom.py, the Python named by `RINGLOAD_PROM_PYTHON`), and the
//! counters rise between the scrapes. A busy or malformed address is refused before the target
//! is readied, exit 2, naming `--metrics-listen`. A `--rate` run's histograms are well formed
//! (buckets never decrease, `+Inf` equals `_count`) and include the schedule lag. A spec's `[run] metrics_port` listens on every
//! address, plus the node-local rank.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;

use common::*;

/// The Python with `prometheus_client`: never skipped, a missing one fails loudly.
fn python() -> String {
    std::env::var("RINGLOAD_PROM_PYTHON").unwrap_or_else(|_| {
        panic!(
            "RINGLOAD_PROM_PYTHON is not set: point it at a Python with prometheus-client \
             installed (.ci/run installs prometheus-client==0.21.1 into its venv)"
        )
    })
}

/// One exposition parsed by the official parser: (family → type, samples).
fn parse(text: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/data/parse_prom.py");
    let py = python();
    let mut child = Command::new(&py)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("RINGLOAD_PROM_PYTHON={py}: cannot start it: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "RINGLOAD_PROM_PYTHON={py}: the parser refused the exposition (or prometheus_client \
         is missing):\n{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(doc: &Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    doc["samples"].as_array().unwrap().iter().find_map(|s| {
        let matches = s[0] == name && labels.iter().all(|(k, v)| s[1][*k].as_str() == Some(*v));
        matches.then(|| s[2].as_f64().unwrap())
    })
}

/// `GET path` over a fresh connection: (status line, headers, body).
fn get(addr: SocketAddr, method: &str, path: &str) -> (String, String, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(c, "{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_string(), body.to_string())
}

#[test]
fn metrics_are_scraped_twice_parse_with_the_official_parser_and_rise() {
    python();
    let dir = Scratch::new("metrics");
    let res = dir.path().join("r.json");
    let mut child = Run::new()
        .arg("--metrics-listen", "127.0.0.1:0")
        .duration("4s")
        .workers(2)
        .cores(1)
        .result(&res)
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr as it comes: the URL line first, the rest kept for failure messages.
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("metrics: ") {
                let _ = tx.send(url.to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = rx.recv_timeout(Duration::from_secs(60));
    let Ok(url) = url else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no `metrics: URL` line:\n{}", reader.join().unwrap());
    };
    let addr: SocketAddr = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("URL {url:?}"))
        .parse()
        .unwrap();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(1_200));
    let (status, headers, first) = get(addr, "GET", "/metrics");
    let first_at = t0.elapsed();
    std::thread::sleep(Duration::from_millis(1_500));
    let (_, _, second) = get(addr, "GET", "/metrics");
    let (not_found, _, _) = get(addr, "GET", "/");
    let (not_allowed, _, _) = get(addr, "POST", "/metrics");
    let status_code = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    let ctx = format!("exit {status_code}\n--- stderr ---\n{stderr}");
    assert!(status_code.success(), "{ctx}");
    assert!(
        first_at < Duration::from_secs(3),
        "the first scrape took {first_at:?}"
    );
    assert_eq!(status, "HTTP/1.1 200 OK", "{ctx}");
    assert!(
        headers.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{headers}"
    );
    assert!(not_found.starts_with("HTTP/1.1 404 "), "{not_found}");
    assert!(not_allowed.starts_with("HTTP/1.1 405 "), "{not_allowed}");

    let (a, b) = (parse(&first), parse(&second));
    for (name, kind) in [
        ("ringload_info", "gauge"),
        ("ringload_operations", "counter"),
        ("ringload_bytes", "counter"),
        ("ringload_errors", "counter"),
        ("ringload_latency_seconds", "histogram"),
        ("ringload_in_flight", "gauge"),
        ("ringload_client_cpu_seconds", "counter"),
    ] {
        assert_eq!(b["families"][name], kind, "{name} in {second}");
    }
    let ok = [("op", "get"), ("outcome", "ok")];
    let gets = |d: &Value| sample(d, "ringload_operations_total", &ok).unwrap();
    assert!(
        gets(&b) > gets(&a),
        "GETs rise between scrapes: {} then {}\n{ctx}",
        gets(&a),
        gets(&b)
    );
    let bytes = |d: &Value| sample(d, "ringload_bytes_total", &[("op", "get")]).unwrap();
    assert!(bytes(&b) > bytes(&a), "bytes rise");
    let count = sample(&b, "ringload_latency_seconds_count", &[("op", "get")]).unwrap();
    let inf = sample(
        &b,
        "ringload_latency_seconds_bucket",
        &[("op", "get"), ("le", "+Inf")],
    )
    .unwrap();
    assert_eq!(count, gets(&b), "the histogram counts every success");
    assert_eq!(inf, count);
    let cpu = sample(&b, "ringload_client_cpu_seconds_total", &[("core", "0")]).unwrap();
    assert!(cpu > 0.0, "core 0's CPU: {second}");
    let info = sample(&b, "ringload_info", &[("rank", "0")]).unwrap();
    assert_eq!(info, 1.0);
    // The run's final count is at least what the last scrape saw.
    let total = op(&result(&res), "get", "count") as f64;
    assert!(total >= gets(&b), "{total} >= {}", gets(&b));
}

#[test]
fn a_busy_or_malformed_address_is_refused_before_the_load_naming_the_flag() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    for value in [addr.as_str(), "no-port", "127.0.0.1:http-ish"] {
        let run = Run::new()
            .arg("--metrics-listen", value)
            .duration("2s")
            .workers(1)
            .cores(1)
            .run();
        run.check(run.code() == 2, "exit 2");
        let err = run.stderr();
        run.check(
            err.contains(&format!("--metrics-listen {value:?}")) && err.contains("Give HOST:PORT"),
            "names the flag and the fix",
        );
        run.check(!err.contains("metrics: http"), "no URL printed");
        run.check(
            !err.contains("filled the built-in target"),
            "refused before the target is readied",
        );
    }
}

#[test]
fn a_spec_s_metrics_port_listens_on_every_address_plus_the_node_local_rank() {
    let dir = Scratch::new("metrics-spec");
    let port = free_port();
    let spec = dir.path().join("run.toml");
    let results = dir.path().join("results");
    std::fs::write(
        &spec,
        format!(
            "[run]\nid = \"prom-spec\"\nresults_dir = {:?}\nmetrics_port = {}\n\
             [workload]\nnumworkers = 1\nduration = \"1s\"\n",
            results.to_str().unwrap(),
            port - 1
        ),
    )
    .unwrap();
    // The second rank on its node (as Slurm would say) takes the port after the spec's.
    let run = Run::new()
        .spec(spec.to_str().unwrap())
        .cores(1)
        .env("SLURM_LOCALID", "1")
        .run();
    run.ok();
    run.check(
        run.stderr()
            .contains(&format!("metrics: http://0.0.0.0:{port}/metrics\n")),
        "listens on every address, on the spec's port plus the node-local rank",
    );
}

/// Starts a run with `--metrics-listen` and `args`, scrapes `/metrics` once `after` in, and
/// waits for the run: (the page, the run's context for failure messages).
fn scrape_during(args: &[(&str, &str)], after: Duration) -> (String, String) {
    let mut run = Run::new()
        .arg("--metrics-listen", "127.0.0.1:0")
        .workers(2)
        .cores(1);
    for (k, v) in args {
        run = run.arg(k, v);
    }
    let mut child = run
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("metrics: ") {
                let _ = tx.send(url.to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let Ok(url) = rx.recv_timeout(Duration::from_secs(60)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no `metrics: URL` line:\n{}", reader.join().unwrap());
    };
    let addr: SocketAddr = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("URL {url:?}"))
        .parse()
        .unwrap();
    std::thread::sleep(after);
    let (_, _, page) = get(addr, "GET", "/metrics");
    let code = child.wait().unwrap();
    let ctx = format!("exit {code}\n--- stderr ---\n{}", reader.join().unwrap());
    assert!(code.success(), "{ctx}");
    (page, ctx)
}

/// Every histogram family of `doc`: for each label set, the buckets in `le` order never
/// decrease and `+Inf` equals `_count`. Returns the families checked.
fn check_histograms(doc: &Value, page: &str) -> Vec<String> {
    let fams: Vec<String> = doc["families"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, t)| *t == "histogram")
        .map(|(n, _)| n.clone())
        .collect();
    let samples = doc["samples"].as_array().unwrap();
    for fam in &fams {
        // Label sets without `le`, as JSON text, to their (le, value) buckets.
        let mut sets: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
        for s in samples.iter().filter(|s| s[0] == format!("{fam}_bucket")) {
            let mut labels = s[1].as_object().unwrap().clone();
            let le = labels.remove("le").unwrap();
            let le: f64 = match le.as_str().unwrap() {
                "+Inf" => f64::INFINITY,
                x => x.parse().unwrap(),
            };
            sets.entry(Value::Object(labels).to_string())
                .or_default()
                .push((le, s[2].as_f64().unwrap()));
        }
        assert!(!sets.is_empty(), "{fam} has buckets:\n{page}");
        for (labels, mut buckets) in sets {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{fam}{labels}: buckets never decrease: {buckets:?}"
            );
            let (last_le, inf) = *buckets.last().unwrap();
            assert_eq!(last_le, f64::INFINITY, "{fam}{labels} has +Inf");
            let want: Value = serde_json::from_str(&labels).unwrap();
            let count = samples
                .iter()
                .find(|s| s[0] == format!("{fam}_count") && s[1] == want)
                .unwrap_or_else(|| panic!("{fam}_count{labels}:\n{page}"))[2]
                .as_f64()
                .unwrap();
            assert_eq!(inf, count, "{fam}{labels}: +Inf equals _count");
        }
    }
    fams
}

#[test]
fn a_rate_run_s_histograms_are_well_formed_and_include_the_schedule_lag() {
    python();
    let (page, ctx) = scrape_during(
        &[("--rate", "200"), ("--duration", "3s")],
        Duration::from_millis(2_000),
    );
    let doc = parse(&page);
    let fams = check_histograms(&doc, &page);
    for want in ["ringload_latency_seconds", "ringload_schedule_lag_seconds"] {
        assert!(
            fams.iter().any(|f| f == want),
            "{want} among the histograms {fams:?}\n{page}\n{ctx}"
        );
    }
    let lag = sample(&doc, "ringload_schedule_lag_seconds_count", &[]).unwrap();
    assert!(lag > 0.0, "requests were scheduled by then: {page}");
}
