//! End-to-end: per-phase latency (`ops.<op>.phases`, recorded for every operation). Against the built-in
//! target with keep-alive, connects are counted once per connection opened (over https with
//! their handshake) and first byte and body once per GET; against the built-in AIS cluster every GET and PUT has its proxy hop as
//! one redirect; with resets injected (`ringload serve --fault reset`) the connect count grows
//! with the operations; and `merge` adds the ranks' phases exactly, naming a rank whose file
//! has none (written before every run recorded them).

use crate::common;

use common::cluster::Cluster;
use common::*;
use ringload_core::hist::{phases_line, PHASE_NAMES};
use ringload_core::result::decode_histogram;
use ringload_launcher::merge::{merge_dir, text, MergeOptions};

/// `ops.<op>.phases.<phase>.<key>` of a result document.
fn phase(v: &serde_json::Value, op: &str, phase: &str, key: &str) -> u64 {
    v["ops"][op]["phases"][phase][key]
        .as_u64()
        .unwrap_or_else(|| panic!("ops.{op}.phases.{phase}.{key} missing in {}", v["ops"]))
}

/// `ops.<op>.latency_us.<key>` of a result document.
fn latency(v: &serde_json::Value, op: &str, key: &str) -> u64 {
    v["ops"][op]["latency_us"][key].as_u64().unwrap()
}

/// The per-op invariants of every result: first byte and body once per success, the
/// first byte's median at most the latency's, and each phase's histogram holding its count.
fn check_phases(v: &serde_json::Value, op: &str) {
    let count = common::op(v, op, "count");
    assert_eq!(
        phase(v, op, "first_byte", "count"),
        count,
        "{op}: {}",
        v["ops"]
    );
    assert_eq!(phase(v, op, "body", "count"), count, "{op}");
    if count > 0 {
        assert!(
            phase(v, op, "first_byte", "p50") <= latency(v, op, "p50"),
            "{op}: p50 of the first byte above p50 of the latency: {}",
            v["ops"][op]
        );
    }
    for name in PHASE_NAMES {
        let h = v["ops"][op]["phases"][name]["histogram"].as_str().unwrap();
        assert_eq!(
            decode_histogram(h).unwrap().len(),
            phase(v, op, name, "count"),
            "{op}.{name}: the histogram holds its count"
        );
    }
}

#[test]
fn keep_alive_gets_connect_once_per_connection_and_time_every_get() {
    for driver in DRIVERS {
        let dir = Scratch::new("phases-keepalive");
        let res = dir.path().join("r.json");
        let workers = 4;
        let run = Run::new()
            .driver(driver)
            .size("4K")
            .workers(workers)
            .cores(1)
            .duration("1s")
            .result(&res)
            .run();
        run.ok();
        let v = result(&res);
        let gets = op(&v, "get", "count");
        run.check(gets > 100, "the run made GETs");
        let connects = phase(&v, "get", "connect", "count");
        run.check(
            (1..=workers).contains(&connects),
            &format!("{driver}: {connects} connects for {workers} keep-alive connections"),
        );
        assert_eq!(phase(&v, "get", "redirect", "count"), 0);
        check_phases(&v, "get");
        // The summary prints the phases under the GET's latency.
        let line = run
            .stdout()
            .lines()
            .find(|l| l.starts_with("     phases  connect "))
            .map(str::to_string);
        run.check(
            line.as_deref().is_some_and(|l| {
                l.contains(&format!("  first byte {gets} p50 "))
                    && l.contains(&format!("  body {gets} p50 "))
                    && l.contains("  redirect 0  ")
            }),
            &format!("the phases line: {line:?}"),
        );
    }
}

#[test]
fn an_https_connect_includes_its_handshake_once_per_connection() {
    let dir = Scratch::new("phases-tls");
    let res = dir.path().join("r.json");
    let workers = 3;
    let run = Run::new()
        .flag("--tls")
        .size("4K")
        .workers(workers)
        .cores(1)
        .duration("1s")
        .result(&res)
        .run();
    run.ok();
    let v = result(&res);
    let connects = phase(&v, "get", "connect", "count");
    run.check(
        (1..=workers).contains(&connects),
        &format!("{connects} connects (TCP and handshake) for {workers} connections"),
    );
    // A handshake is a round trip and a key exchange: never under 100 µs, even on loopback.
    run.check(
        phase(&v, "get", "connect", "min") >= 100,
        &format!(
            "the handshake is in the connect: {}",
            v["ops"]["get"]["phases"]["connect"]
        ),
    );
    check_phases(&v, "get");
}

#[test]
fn every_ais_get_and_put_has_its_proxy_hop_as_one_redirect() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("phases-ais");
    let put_res = dir.path().join("put.json");
    Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .bucket("ph")
        .pctput(100)
        .maxputs(200)
        .size("4K")
        .workers(4)
        .result(&put_res)
        .run()
        .ok();
    let p = result(&put_res);
    assert_eq!(op(&p, "put", "count"), 200);
    assert_eq!(phase(&p, "put", "redirect", "count"), 200, "{}", p["ops"]);
    check_phases(&p, "put");
    let res = dir.path().join("get.json");
    let run = Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .bucket("ph")
        .epochs(1)
        .workers(4)
        .result(&res)
        .run();
    run.ok();
    let v = result(&res);
    assert_eq!(op(&v, "get", "count"), 200);
    assert_eq!(phase(&v, "get", "redirect", "count"), 200, "{}", v["ops"]);
    check_phases(&v, "get");
    // The proxy hop is a phase of its own, timed apart from the final request.
    let hop = phase(&v, "get", "redirect", "p50");
    run.check(hop > 0, "the proxy hop takes time");
}

#[test]
fn resets_make_the_connect_count_grow_with_the_operations() {
    let s = Serve::start(&["--fault", "reset=30%"]);
    let dir = Scratch::new("phases-reset");
    let res = dir.path().join("r.json");
    let workers = 2;
    let run = Run::new()
        .endpoint(&s.url)
        .protocol("http")
        .pctput(50)
        .size("4K")
        .workers(workers)
        .cores(1)
        .duration("1s")
        .result(&res)
        .run();
    run.check(run.code() <= 1, "the run completes");
    let v = result(&res);
    let resets = v["ops"]["get"]["errors_by_kind"]["reset"]
        .as_u64()
        .unwrap_or(0);
    run.check(resets > 20, &format!("resets were injected: {resets}"));
    let connects = phase(&v, "get", "connect", "count") + phase(&v, "put", "connect", "count");
    // Every reset closes its connection: the next operation on it opens a new one.
    run.check(
        connects > 10 * workers && connects * 2 >= resets,
        &format!("{connects} connects for {resets} resets on {workers} connections"),
    );
    check_phases(&v, "get");
    check_phases(&v, "put");
}

#[test]
fn a_rank_file_without_phases_merges_with_ranks_that_have_them() {
    let dir = Scratch::new("phases-merge");
    let res = dir.path().join("r.json");
    let run = Run::new()
        .size("4K")
        .workers(2)
        .cores(1)
        .duration("1s")
        .result(&res)
        .run();
    run.ok();
    let t = result(&res);
    check_phases(&t, "get");
    // An older file: the same run without the `phases` keys.
    let mut old = t.clone();
    for o in ["get", "put"] {
        old["ops"][o].as_object_mut().unwrap().remove("phases");
    }
    // Three ranks of one run: 0 and 1 with phases (the same file twice), 2 without.
    let ranks = dir.path().join("ranks");
    std::fs::create_dir_all(&ranks).unwrap();
    // All three name the run's one carrier.
    std::fs::copy(dir.path().join("r.intervals"), ranks.join("r.intervals")).unwrap();
    for (rank, src) in [(0, &t), (1, &t), (2, &old)] {
        let mut f = src.clone();
        f["run_id"] = "ph".into();
        f["rank"] = rank.into();
        f["ranks"] = 3.into();
        let path = ranks.join(format!("rank-{rank}.json"));
        std::fs::write(path, serde_json::to_string(&f).unwrap()).unwrap();
    }
    let m = merge_dir(&ranks, &MergeOptions::default()).unwrap();
    let got = m.summary.ops["get"].phases.as_ref().expect("merged phases");
    for (name, p) in PHASE_NAMES.iter().zip(got.all()) {
        assert_eq!(p.count, 2 * phase(&t, "get", name, "count"), "{name}");
        assert_eq!(decode_histogram(&p.histogram).unwrap().len(), p.count);
        if p.count > 0 {
            assert_eq!(p.latency.min, phase(&t, "get", name, "min"), "{name}");
            assert_eq!(p.latency.max, phase(&t, "get", name, "max"), "{name}");
        }
    }
    assert!(
        m.summary
            .warnings
            .iter()
            .any(|w| w
                == "phases come from ranks 0-1 only; rank 2 recorded none (older result files)"),
        "{:?}",
        m.summary.warnings
    );
    // summary.txt: the phases line right under the GET row.
    let lines: Vec<&str> = m.summary_txt.lines().collect();
    let row = lines.iter().position(|l| l.starts_with("GET ")).unwrap();
    let want = phases_line(&got.line_figures(), text::latency);
    assert_eq!(format!("{}\n", lines[row + 1]), want, "{}", m.summary_txt);
    assert!(m.summary_json.contains("\"first_byte\""));
    // The report's phases table.
    let html = ringload_launcher::plot::report_html(&m.report);
    assert!(html.contains("<table id=\"phases\">"), "{html}");
    let first_byte = &got.first_byte;
    assert!(
        html.contains(&format!(
            "<tr><td>GET</td><td>first byte</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            text::thousands(first_byte.count),
            text::latency(first_byte.latency.p50),
            text::latency(first_byte.latency.p99)
        )),
        "{html}"
    );
}
