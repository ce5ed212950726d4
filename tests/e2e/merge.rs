//! `ringload merge`: exact merging, wall-clock alignment, the steady window, completeness
//! (missing, failed, corrupt, duplicate, foreign ranks), `--allow-partial`, a single-rank
//! merge, order independence (property tests), and the real binary end to end on rank files
//! written by `ringload run` on loopback.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use hdrhistogram::Histogram;
use proptest::prelude::*;
use ringload_core::hist::{add_histogram, new_histogram, LatencySummary};
use ringload_core::result::{
    decode_histogram, encode_histogram, IntervalOp, IntervalRecord, OpSummary, ResultFile,
    RunStatus, SCHEMA,
};
use ringload_launcher::merge::{merge_dir, MergeError, MergeOptions};

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

/// A synthetic rank: interval `k` starts at `start + k s` and holds GETs with `lat[k]`
/// (latency µs, count) pairs of 4 KiB each.
fn rank_file(rank: u32, ranks: u32, start: u64, lat: &[Vec<(u64, u64)>]) -> ResultFile {
    let mut total = new_histogram();
    let (mut count, mut min, mut max, mut sum) = (0u64, u64::MAX, 0u64, 0f64);
    let mut intervals = Vec::new();
    for (k, vals) in lat.iter().enumerate() {
        let mut h = new_histogram();
        let mut n = 0;
        for &(v, c) in vals {
            h.record_n(v, c).unwrap();
            n += c;
            min = min.min(v);
            max = max.max(v);
            sum += (v * c) as f64;
        }
        count += n;
        add_histogram(&mut total, &h);
        let mut ops = BTreeMap::new();
        ops.insert("get".to_string(), interval_op(n, &h));
        ops.insert("put".to_string(), interval_op(0, &new_histogram()));
        intervals.push(IntervalRecord {
            start_unix_ns: start + k as u64 * SEC,
            end_unix_ns: start + (k as u64 + 1) * SEC,
            ops,
        });
    }
    let secs = lat.len() as f64;
    let mut latency = LatencySummary::of(&total);
    if count > 0 {
        (latency.min, latency.max, latency.mean) = (min, max, sum / count as f64);
    }
    let mut ops = BTreeMap::new();
    ops.insert(
        "get".to_string(),
        OpSummary {
            count,
            bytes: count * 4096,
            errors: 0,
            objects: None,
            errors_by_kind: BTreeMap::new(),
            throughput_bytes_per_s: (count * 4096) as f64 / secs,
            ops_per_s: count as f64 / secs,
            latency_us: latency,
            histogram: encode_histogram(&total),
            phases: None,
            service_latency_us: None,
            service_histogram: None,
        },
    );
    ops.insert(
        "put".to_string(),
        OpSummary {
            count: 0,
            bytes: 0,
            errors: 0,
            objects: None,
            errors_by_kind: BTreeMap::new(),
            throughput_bytes_per_s: 0.0,
            ops_per_s: 0.0,
            latency_us: LatencySummary::default(),
            histogram: encode_histogram(&new_histogram()),
            phases: None,
            service_latency_us: None,
            service_histogram: None,
        },
    );
    ResultFile {
        schema: SCHEMA.into(),
        run_id: "synth".into(),
        rank,
        ranks,
        host: format!("node-{rank}"),
        engine_version: "0.1.0".into(),
        status: RunStatus::Completed,
        stop_reason: "duration".into(),
        error: None,
        start_unix_ns: start,
        end_unix_ns: start + lat.len() as u64 * SEC,
        // The merge reads files that carry the `target` key.
        target: Some(ringload_core::result::TargetInfo {
            builtin: false,
            endpoint: "http://127.0.0.1:51080".into(),
            protocol: "ais".into(),
            source: "spec".into(),
        }),
        workload: serde_json::json!({"numworkers": 4}),
        ops,
        intervals,
        intervals_file: None,
        peak_rss_bytes: None,
        tls: None,
        proxies: Vec::new(),
        rate: None,
        client: None,
        barrier: None,
        warnings: Vec::new(),
    }
}

fn interval_op(count: u64, h: &Histogram<u64>) -> IntervalOp {
    IntervalOp {
        count,
        bytes: count * 4096,
        errors: 0,
        histogram: encode_histogram(h),
    }
}

fn write(dir: &Path, name: &str, f: &ResultFile) {
    let mut text = serde_json::to_string_pretty(f).unwrap();
    text.push('\n');
    std::fs::write(dir.join(name), text).unwrap();
}

/// Ranks `0..n`, each with `secs` intervals of 100 GETs at 1000 + 10·rank µs.
fn run_dir(tag: &str, n: u32, secs: usize) -> (Scratch, Vec<ResultFile>) {
    let dir = Scratch::new(tag);
    let files: Vec<ResultFile> = (0..n)
        .map(|r| {
            let lat = vec![vec![(1000 + 10 * u64::from(r), 100)]; secs];
            rank_file(r, n, T0 + u64::from(r) * 100_000_000, &lat)
        })
        .collect();
    for f in &files {
        write(dir.path(), &format!("rank-{}.json", f.rank), f);
    }
    (dir, files)
}

fn merge(dir: &Path, partial: bool) -> Result<ringload_launcher::merge::MergeOutput, MergeError> {
    let opts = MergeOptions {
        allow_partial: partial,
        ..MergeOptions::default()
    };
    merge_dir(dir, &opts)
}

fn json(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[test]
fn counters_add_and_percentiles_come_from_the_summed_histogram() {
    let dir = Scratch::new("merge-exact");
    // Two ranks with very different latencies: the merged p50 is neither rank's p50 nor their mean.
    let a = rank_file(0, 2, T0, &[vec![(100, 900)], vec![(120, 100)]]);
    let b = rank_file(1, 2, T0, &[vec![(5000, 300)], vec![(9000, 700)]]);
    write(dir.path(), "a.json", &a);
    write(dir.path(), "b.json", &b);
    let m = merge(dir.path(), false).unwrap();
    let get = &m.summary.ops["get"];
    assert_eq!(get.count, 2000);
    assert_eq!(get.bytes, 2000 * 4096);
    let mut all = new_histogram();
    for f in [&a, &b] {
        add_histogram(
            &mut all,
            &decode_histogram(&f.ops["get"].histogram).unwrap(),
        );
    }
    assert_eq!(get.latency_us.p50, all.value_at_quantile(0.5));
    assert_eq!(get.latency_us.p90, all.value_at_quantile(0.9).min(9000));
    assert_eq!(get.latency_us.p99, all.value_at_quantile(0.99).min(9000));
    assert_eq!((get.latency_us.min, get.latency_us.max), (100, 9000));
    let mean = (100.0 * 900.0 + 120.0 * 100.0 + 5000.0 * 300.0 + 9000.0 * 700.0) / 2000.0;
    assert!((get.latency_us.mean - mean).abs() < 1e-9);
    assert_eq!(decode_histogram(&get.histogram).unwrap(), all);
    // Throughput: summed bytes over the merged wall-clock window (2 s).
    assert_eq!(get.throughput_bytes_per_s, 2000.0 * 4096.0 / 2.0);
}

/// The engine's compact files take the merge's fast path; pretty-printed, reordered or
/// escaped ones take serde. Both must give the same merge, byte for byte, including counts
/// too large for the batch's packing and classes with errors but no successes.
#[test]
fn tls_is_carried_and_files_without_it_still_merge() {
    let dir = Scratch::new("merge-tls");
    let rec = |verified: bool, handshakes: u64, resumed: u64| ringload_core::result::TlsRecord {
        version: Some("TLSv1.3".into()),
        cipher: Some("TLS13_AES_256_GCM_SHA384".into()),
        verified,
        resumed_pct: ringload_core::result::TlsRecord::pct(resumed, handshakes),
        handshakes,
        resumed,
        roots: "system".into(),
        source: None,
    };
    let mut a = rank_file(0, 3, T0, &[vec![(100, 10)]]);
    a.tls = Some(rec(true, 100, 90));
    let mut b = rank_file(1, 3, T0, &[vec![(100, 10)]]);
    b.tls = Some(rec(false, 300, 270));
    // A file written before the key existed.
    let c = rank_file(2, 3, T0, &[vec![(100, 10)]]);
    for (name, f) in [("a.json", &a), ("b.json", &b), ("c.json", &c)] {
        write(dir.path(), name, f);
    }
    let m = merge(dir.path(), false).unwrap();
    let v = serde_json::to_value(&m.summary).unwrap();
    assert_eq!(
        v["tls"],
        serde_json::json!({
            "version": "TLSv1.3",
            "cipher": "TLS13_AES_256_GCM_SHA384",
            "verified": false,
            "resumed_pct": 90.0,
            "handshakes": 400,
            "resumed": 360,
            "roots": "system"
        })
    );
    let text = ringload_launcher::merge::text::render(&m.summary);
    assert!(
        text.contains(
            "\ntls: TLSv1.3 TLS13_AES_256_GCM_SHA384, NOT verified on every rank, 90.0% of 400 \
             handshakes resumed\n"
        ),
        "{text}"
    );
    // Plaintext ranks only: no tls key at all.
    let (plain, _) = run_dir("merge-plain-tls", 2, 1);
    let m = merge(plain.path(), false).unwrap();
    assert!(serde_json::to_value(&m.summary)
        .unwrap()
        .get("tls")
        .is_none());
    assert!(!ringload_launcher::merge::text::render(&m.summary).contains("tls:"));
}

/// `merge` words the trust as a single run's summary does, naming the setting behind it.
#[test]
fn merge_words_the_trust_as_the_run_does() {
    let dir = Scratch::new("merge-tls-words");
    for r in 0..2u32 {
        let mut f = rank_file(r, 2, T0, &[vec![(100, 10)]]);
        f.tls = Some(ringload_core::result::TlsRecord {
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS13_AES_256_GCM_SHA384".into()),
            verified: true,
            resumed_pct: 50.0,
            handshakes: 2,
            resumed: 1,
            roots: "ca-file".into(),
            source: Some("AIS_CLIENT_CA".into()),
        });
        write(dir.path(), &format!("{r}.json"), &f);
    }
    let m = merge(dir.path(), false).unwrap();
    let text = ringload_launcher::merge::text::render(&m.summary);
    assert!(
        text.contains(
            "\ntls: TLSv1.3 TLS13_AES_256_GCM_SHA384, verified (AIS_CLIENT_CA bundle), 50.0% of \
             4 handshakes resumed\n"
        ),
        "{text}"
    );
    let v = serde_json::to_value(&m.summary).unwrap();
    assert_eq!(v["tls"]["source"], "AIS_CLIENT_CA");
}

#[test]
fn every_json_layout_merges_identically() {
    let files: Vec<ResultFile> = (0..3u32)
        .map(|r| {
            let lat: Vec<Vec<(u64, u64)>> = (0..5u64)
                .map(|k| match (r, k) {
                    (0, 2) => vec![(700, 200_000), (3_000_000_000, 2)],
                    (_, 3) => vec![],
                    _ => vec![(900 + 10 * k, 40 + k), (5000 + 333 * u64::from(r), 7)],
                })
                .collect();
            let mut f = rank_file(r, 3, T0 + u64::from(r) * 7_000_000, &lat);
            let put = f.intervals[1].ops.get_mut("put").unwrap();
            put.errors = 3;
            f.ops.get_mut("put").unwrap().errors = 3;
            f.ops
                .get_mut("put")
                .unwrap()
                .errors_by_kind
                .insert("http-503".into(), 3);
            f
        })
        .collect();
    type Render = fn(&ResultFile) -> String;
    let layouts: [(&str, Render); 3] = [
        ("compact", |f| serde_json::to_string(f).unwrap()),
        ("pretty", |f| serde_json::to_string_pretty(f).unwrap()),
        // `intervals` first, and a histogram with an escaped character.
        ("reordered", |f| {
            let v = serde_json::to_value(f).unwrap();
            let mut text = String::from("{\"intervals\":");
            text += &serde_json::to_string(&v["intervals"]).unwrap();
            for (k, x) in v.as_object().unwrap() {
                if k != "intervals" {
                    text += &format!(",{}:{}", serde_json::to_string(k).unwrap(), x);
                }
            }
            text.replacen("\"histogram\":\"H", "\"histogram\":\"\\u0048", 1) + "}"
        }),
    ];
    let mut summaries = Vec::new();
    for (name, render) in layouts {
        let dir = Scratch::new(&format!("merge-layout-{name}"));
        for f in &files {
            std::fs::write(dir.path().join(format!("rank-{}.json", f.rank)), render(f)).unwrap();
        }
        let m = merge(dir.path(), false).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want: u64 = files.iter().map(|f| f.ops["get"].count).sum();
        assert_eq!(m.summary.ops["get"].count, want, "{name}");
        assert_eq!(m.summary.ops["put"].errors, 9, "{name}");
        summaries.push((name, m.summary_json));
    }
    for (name, s) in &summaries[1..] {
        assert_eq!(s, &summaries[0].1, "{name} differs from compact");
    }
}

#[test]
fn intervals_align_on_wall_clock_and_the_steady_window_is_reported() {
    let dir = Scratch::new("merge-align");
    // Rank 0 runs [T0, T0+4s), rank 1 starts 1.2 s later and runs 4 s: steady = [T0+1.2, T0+4).
    let r0 = rank_file(0, 2, T0, &vec![vec![(1000, 10)]; 4]);
    let r1 = rank_file(1, 2, T0 + 1_200_000_000, &vec![vec![(3000, 30)]; 4]);
    write(dir.path(), "r0.json", &r0);
    write(dir.path(), "r1.json", &r1);
    let m = merge(dir.path(), false).unwrap();
    let s = &m.summary;
    let w = s.steady_window.as_ref().unwrap();
    assert_eq!(
        (w.start_unix_ns, w.end_unix_ns),
        (T0 + 1_200_000_000, T0 + 4 * SEC)
    );
    assert_eq!(s.start_skew_ns, 1_200_000_000);
    // Inside the window: rank 0 contributes 2.8 s of 10 ops/s, rank 1 2.8 s of 30 ops/s.
    assert!(
        (w.ops["get"].count - 2.8 * 40.0).abs() < 1e-6,
        "{:?}",
        w.ops["get"]
    );
    // Buckets: interval midpoints fall at T0+0.5.. (rank 0) and T0+1.7.. (rank 1).
    let pts = &s.series.ops["get"];
    assert_eq!(pts[0].t_unix_ns, T0);
    let ops: Vec<u64> = pts.iter().map(|p| p.ops).collect();
    // The timeline runs to the last end (T0+5.2 s): its last bucket is empty.
    assert_eq!(ops, [10, 40, 40, 40, 30, 0]);
    assert_eq!(pts[0].p50_us, 1000);
    // Bucket 1 holds 10 ops at 1000 µs and 30 at 3000 µs: p50 comes from the merged histogram.
    assert_eq!(pts[1].p50_us, 3001);
    assert_eq!(s.series.step_ns, SEC);
    assert_eq!(m.report.series[0].per_rank.len(), 2);
    assert_eq!(
        m.report.steady_window,
        Some((w.start_unix_ns, w.end_unix_ns))
    );
    assert!(!m.report.spectrum[0].points.is_empty());
}

#[test]
fn several_stragglers_are_listed_as_ranks() {
    let dir = Scratch::new("merge-stragglers");
    for r in 0..5u32 {
        let per = if r == 0 || r == 3 { 50 } else { 100 };
        write(
            dir.path(),
            &format!("{r}.json"),
            &rank_file(r, 5, T0, &vec![vec![(900, per)]; 10]),
        );
    }
    let m = merge(dir.path(), false).unwrap();
    assert!(
        m.summary_txt
            .contains("\nstragglers: ranks 0 (50% below median), 3 (50% below median)\n"),
        "{}",
        m.summary_txt
    );
}

#[test]
fn skew_and_stragglers_are_flagged() {
    let dir = Scratch::new("merge-skew");
    for r in 0..4u32 {
        let per = if r == 3 { 50 } else { 100 };
        let start = T0 + if r == 2 { 3 * SEC } else { 0 };
        write(
            dir.path(),
            &format!("{r}.json"),
            &rank_file(r, 4, start, &vec![vec![(900, per)]; 10]),
        );
    }
    let m = merge(dir.path(), false).unwrap();
    assert_eq!(
        m.summary
            .stragglers
            .iter()
            .map(|s| s.rank)
            .collect::<Vec<_>>(),
        [3]
    );
    let w = m.summary.warnings.join("\n");
    assert!(w.contains("rank 2 (node-2) started 3.0 s after"), "{w}");
    assert!(w.contains("rank 3 (node-3) is a straggler"), "{w}");
    assert!(
        m.summary_txt
            .contains("\nstragglers: rank 3 (50% below median)\n"),
        "{}",
        m.summary_txt
    );
}

#[test]
fn completeness_problems_fail_with_exit_1_naming_rank_and_file() {
    // Missing rank 2.
    let (dir, _) = run_dir("merge-missing", 3, 2);
    std::fs::remove_file(dir.path().join("rank-2.json")).unwrap();
    let run = ringload(&["merge", dir.path().to_str().unwrap()]);
    run.check(run.code() == 1, "missing rank exits 1");
    run.check(
        run.stderr().contains("rank 2 of 3 missing"),
        "names the rank",
    );
    run.check(!dir.path().join("summary.json").exists(), "writes nothing");

    // Failed rank, duplicate rank, foreign run, corrupt file.
    let (dir, files) = run_dir("merge-bad", 3, 2);
    let mut failed = files[1].clone();
    failed.status = RunStatus::Interrupted;
    failed.stop_reason = "signal".into();
    std::fs::remove_file(dir.path().join("rank-1.json")).unwrap();
    write(dir.path(), "rank-1.json", &failed);
    write(dir.path(), "rank-0-copy.json", &files[0]);
    let mut other = files[2].clone();
    other.run_id = "another-run".into();
    write(dir.path(), "stray.json", &other);
    let text = std::fs::read_to_string(dir.path().join("rank-2.json")).unwrap();
    std::fs::write(dir.path().join("rank-2.json"), &text[..text.len() / 2]).unwrap();
    let run = ringload(&["merge", dir.path().to_str().unwrap()]);
    run.check(run.code() == 1, "exit 1");
    let err = run.stderr();
    for want in [
        "rank 1 (rank-1.json) has status 'interrupted'",
        "rank 0 has two result files: rank-0-copy.json and rank-0.json",
        "rank 2 (stray.json) belongs to run 'another-run'",
        "--allow-partial",
    ] {
        run.check(err.contains(want), &format!("stderr should say: {want}"));
    }

    // --allow-partial merges what is there, marks every output partial, and exits 0.
    let out = Scratch::new("merge-bad-out");
    let run = ringload(&[
        "merge",
        dir.path().to_str().unwrap(),
        "--allow-partial",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    run.check(run.code() == 0, "partial merge exits 0");
    run.check(run.stderr().contains("partial merge"), "warns");
    let txt = std::fs::read_to_string(out.path().join("summary.txt")).unwrap();
    run.check(
        txt.starts_with("PARTIAL MERGE: 2 of 3 ranks merged"),
        "first line says partial",
    );
    let s = json(out.path(), "summary.json");
    assert_eq!(s["partial"], true);
    assert_eq!(s["ranks_present"], 2);
    assert_eq!(s["ranks_missing"], serde_json::json!([2]));
    assert_eq!(s["ranks_failed"], serde_json::json!([1]));
    let skipped: Vec<&str> = s["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["rank-0.json", "rank-2.json", "stray.json"]);
    assert_eq!(s["ops"]["get"]["count"], 2 * 2 * 100);

    // A file truncated after its head is found by the full read: exit 1, naming the file.
    let (dir, _) = run_dir("merge-trunc", 2, 3);
    let p = dir.path().join("rank-1.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, &text[..text.len() - 40]).unwrap();
    let run = ringload(&["merge", dir.path().to_str().unwrap()]);
    run.check(run.code() == 1, "truncated file exits 1");
    run.check(
        run.stderr()
            .contains("rank-1.json is not a readable result file: EOF while parsing"),
        "names the file and the parse error",
    );
}

#[test]
fn empty_dirs_and_non_result_files_exit_2() {
    let dir = Scratch::new("merge-empty");
    let run = ringload(&["merge", dir.path().to_str().unwrap()]);
    run.check(run.code() == 2, "empty dir exits 2");
    run.check(
        run.stderr().contains("holds no result files"),
        "clear message",
    );
    std::fs::write(
        dir.path().join("summary.json"),
        r#"{"schema":"ringload.summary/1"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.json"), "[1, 2]").unwrap();
    let run = ringload(&["merge", dir.path().to_str().unwrap()]);
    run.check(run.code() == 2, "only non-result JSON exits 2");
    let run = ringload(&["merge", "/nonexistent/results"]);
    run.check(run.code() == 2, "a missing dir exits 2");
    let run = ringload(&[
        "merge",
        dir.path().to_str().unwrap(),
        "--resolution",
        "10ms",
    ]);
    run.check(
        run.code() == 2 && run.stderr().contains("--resolution"),
        "bad resolution",
    );
}

#[test]
fn a_previous_summary_is_ignored_and_a_rerun_is_identical() {
    let (dir, _) = run_dir("merge-rerun", 2, 3);
    let d = dir.path().to_str().unwrap();
    ringload(&["merge", d]).ok();
    let first = std::fs::read(dir.path().join("summary.json")).unwrap();
    ringload(&["merge", d]).ok();
    assert_eq!(
        std::fs::read(dir.path().join("summary.json")).unwrap(),
        first
    );
}

/// Real rank files from the binary: two ranks of one run, and a single plain `ringload run`.
#[test]
fn end_to_end_on_real_rank_files() {
    let dir = Scratch::new("merge-e2e");
    let d = dir.path().to_path_buf();
    let runs: Vec<Ran> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|r| {
                let d = d.clone();
                s.spawn(move || {
                    let res = d.join(format!("rank-{r}.json"));
                    Run::new()
                        .duration("2s")
                        .size("4K")
                        .workers(4)
                        .arg("--statsinterval", "1s")
                        .rank(r)
                        .arg("--ranks", "2")
                        .arg("--run-id", "e2e")
                        .result(&res)
                        .cores(1)
                        .run()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        r.ok();
    }
    let run = ringload(&["merge", d.to_str().unwrap()]);
    run.ok();
    run.check(
        run.stdout().contains("run e2e: 2 of 2 ranks"),
        "prints the table",
    );
    let s = json(&d, "summary.json");
    assert_eq!(s["schema"], "ringload.summary/1");
    assert_eq!(s["partial"], false);
    let ranks: Vec<serde_json::Value> = (0..2)
        .map(|r| result(&d.join(format!("rank-{r}.json"))))
        .collect();
    let count: u64 = ranks.iter().map(|r| op(r, "get", "count")).sum();
    assert!(count > 0);
    assert_eq!(s["ops"]["get"]["count"], count);
    let mut all = new_histogram();
    for r in &ranks {
        let h = decode_histogram(r["ops"]["get"]["histogram"].as_str().unwrap()).unwrap();
        add_histogram(&mut all, &h);
    }
    let p99 = all.value_at_quantile(0.99);
    let max = ranks
        .iter()
        .map(|r| r["ops"]["get"]["latency_us"]["max"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(s["ops"]["get"]["latency_us"]["p99"], p99.min(max));
    let series_ops: u64 = s["series"]["ops"]["get"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ops"].as_u64().unwrap())
        .sum();
    assert_eq!(series_ops, count, "every interval lands in the series");
    // The plots and the report land next to the summary, drawn from the same merge.
    for svg in ["throughput.svg", "latency.svg", "spectrum.svg"] {
        let text = std::fs::read_to_string(d.join(svg)).unwrap();
        let doc =
            roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{svg} is not XML: {e}"));
        let paths = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("path") && n.attribute("class").is_some_and(|c| c.contains("series"))
            })
            .count();
        assert!(paths > 0, "{svg} draws no series");
    }
    let tp = std::fs::read_to_string(d.join("throughput.svg")).unwrap();
    assert!(
        tp.contains("rank 0") && tp.contains("rank 1"),
        "a line per rank"
    );
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 3, "three inline plots");
    assert!(html.contains("run e2e: 2 of 2 ranks"), "the summary table");
    for fetch in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(!html.contains(fetch), "report.html loads nothing ({fetch})");
    }

    // A single `ringload run` (rank 0 of 1) merges too.
    let one = Scratch::new("merge-single");
    let res = one.path().join("result.json");
    Run::new()
        .duration("1s")
        .size("4K")
        .workers(2)
        .arg("--statsinterval", "1s")
        .result(&res)
        .cores(1)
        .run()
        .ok();
    let out = one.path().join("report");
    ringload(&[
        "merge",
        one.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let s = json(&out, "summary.json");
    assert_eq!(s["ranks_expected"], 1);
    assert_eq!(s["ops"]["get"]["count"], op(&result(&res), "get", "count"));
}

proptest! {
    // The saved failing seeds are in merge.proptest-regressions next to this file (the default
    // would look beside `main.rs`, in tests/proptest-regressions/merge.txt).
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::with_cases(24)
    })]

    /// Any order of the rank files gives a byte-identical summary.json, and the merged
    /// percentiles equal those of one histogram built from all the values.
    #[test]
    fn order_does_not_matter_and_percentiles_are_exact(
        ranks in prop::collection::vec(
            prop::collection::vec(prop::collection::vec((1u64..3_000_000, 1u64..500), 1..8), 1..5),
            1..5),
        offsets in prop::collection::vec(0u64..3_000_000_000, 5),
        perm_seed in any::<u64>(),
    ) {
        let n = ranks.len() as u32;
        let files: Vec<ResultFile> = ranks
            .iter()
            .enumerate()
            .map(|(r, lat)| rank_file(r as u32, n, T0 + offsets[r], lat))
            .collect();
        let mut all = new_histogram();
        let (mut lo, mut hi) = (u64::MAX, 0);
        for lat in &ranks {
            for iv in lat {
                for &(v, c) in iv {
                    all.record_n(v, c).unwrap();
                    (lo, hi) = (lo.min(v), hi.max(v));
                }
            }
        }
        // The files in rank order, then in a permuted order (names decide the read order).
        let mut order: Vec<usize> = (0..files.len()).collect();
        let mut x = perm_seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = Scratch::new("merge-prop-a");
        let b = Scratch::new("merge-prop-b");
        for (i, f) in files.iter().enumerate() {
            write(a.path(), &format!("f{i}.json"), f);
            write(b.path(), &format!("f{}.json", order[i]), f);
        }
        let ma = merge(a.path(), false).unwrap();
        let mb = merge(b.path(), false).unwrap();
        prop_assert_eq!(&ma.summary_json, &mb.summary_json);
        prop_assert_eq!(&ma.report, &mb.report);
        let l = &ma.summary.ops["get"].latency_us;
        // Like the engine, percentiles are clamped into the exact [min, max].
        let clamp = |v: u64| v.clamp(lo, hi);
        prop_assert_eq!(l.p50, clamp(all.value_at_quantile(0.5)));
        prop_assert_eq!(l.p90, clamp(all.value_at_quantile(0.9)));
        prop_assert_eq!(l.p99, clamp(all.value_at_quantile(0.99)));
        prop_assert_eq!(l.p999, clamp(all.value_at_quantile(0.999)));
        prop_assert_eq!((l.min, l.max), (lo, hi));
        prop_assert_eq!(ma.summary.ops["get"].count, all.len());
        prop_assert_eq!(decode_histogram(&ma.summary.ops["get"].histogram).unwrap(), all);
    }
}

/// A `--rate` rank: its GETs' service latency (`service`, value and count pairs) and a sweep
/// against `p99=10ms` whose step `k` holds the GET latencies `steps[k]`.
fn with_rate(f: &mut ResultFile, service: &[(u64, u64)], steps: &[(f64, &[(u64, u64)])]) {
    use ringload_core::rate::{RateRecord, StepOp, StepRecord};
    let hist = |vals: &[(u64, u64)]| {
        let mut h = new_histogram();
        vals.iter().for_each(|&(v, n)| h.record_n(v, n).unwrap());
        h
    };
    let s = hist(service);
    let get = f.ops.get_mut("get").unwrap();
    get.service_latency_us = Some(LatencySummary::of(&s));
    get.service_histogram = Some(encode_histogram(&s));
    let lag = hist(&[(50, 90), (2_000, 10)]);
    let steps: Vec<StepRecord> = steps
        .iter()
        .enumerate()
        .map(|(k, (target, vals))| {
            let h = hist(vals);
            let mut ops = BTreeMap::new();
            ops.insert(
                "get".to_string(),
                StepOp {
                    count: h.len(),
                    errors: 0,
                    latency_us: LatencySummary::of(&h),
                    histogram: encode_histogram(&h),
                },
            );
            StepRecord {
                target: *target,
                achieved: target * 0.99,
                start_unix_ns: f.start_unix_ns + k as u64 * SEC,
                end_unix_ns: f.start_unix_ns + (k as u64 + 1) * SEC,
                complete: true,
                ops,
                // What the rank judged alone; the merge judges again.
                broke: (h.value_at_quantile(0.99) > 10_000).then(|| "alone".to_string()),
            }
        })
        .collect();
    f.rate = Some(RateRecord {
        target: steps.last().map_or(0.0, |s| s.target),
        achieved: steps.last().map_or(0.0, |s| s.achieved),
        arrival: "uniform".into(),
        lag_us: LatencySummary::of(&lag),
        lag_histogram: encode_histogram(&lag),
        kept: true,
        slo: Some("p99=10ms".into()),
        knee: ringload_core::rate::knee(&steps),
        steps,
    });
}

#[test]
fn rate_runs_merge_service_latency_and_steps_exactly_and_rejudge_the_knee() {
    let dir = Scratch::new("merge-rate");
    let mut a = rank_file(0, 2, T0, &[vec![(1_000, 100)], vec![(1_000, 100)]]);
    let mut b = rank_file(1, 2, T0, &[vec![(1_000, 100)], vec![(1_000, 100)]]);
    // Rank 0's second step alone breaks p99=10ms (one slow GET in ten); with rank 1's 1,000
    // fast GETs the slow one is under 1%, so the merged step meets it and the knee moves up.
    with_rate(
        &mut a,
        &[(300, 190), (4_000, 10)],
        &[
            (100.0, &[(1_000, 10)]),
            (200.0, &[(1_000, 9), (50_000, 1)]),
            (400.0, &[(40_000, 10)]),
        ],
    );
    with_rate(
        &mut b,
        &[(500, 150), (9_000, 50)],
        &[
            (100.0, &[(1_000, 1_000)]),
            (200.0, &[(1_000, 1_000)]),
            (400.0, &[(30_000, 1_000)]),
        ],
    );
    assert_eq!(a.rate.as_ref().unwrap().knee, Some(100.0), "rank 0 alone");
    write(dir.path(), "a.json", &a);
    write(dir.path(), "b.json", &b);
    let m = merge(dir.path(), false).unwrap();
    let get = &m.summary.ops["get"];
    let mut union = new_histogram();
    for f in [&a, &b] {
        let text = f.ops["get"].service_histogram.as_ref().unwrap();
        add_histogram(&mut union, &decode_histogram(text).unwrap());
    }
    let service = get.service_latency_us.unwrap();
    assert_eq!(service.p99, union.value_at_quantile(0.99));
    assert_eq!(service.p50, union.value_at_quantile(0.5));
    assert_eq!((service.min, service.max), (300, union.max()));
    let merged = decode_histogram(get.service_histogram.as_ref().unwrap()).unwrap();
    assert_eq!(merged, union);
    let r = m.summary.rate.as_ref().unwrap();
    assert_eq!((r.target, r.achieved), (800.0, 792.0));
    assert_eq!(r.steps.len(), 3);
    let mut step2 = new_histogram();
    for f in [&a, &b] {
        let text = &f.rate.as_ref().unwrap().steps[1].ops["get"].histogram;
        add_histogram(&mut step2, &decode_histogram(text).unwrap());
    }
    assert_eq!(
        r.steps[1].ops["get"].latency_us.p99,
        step2.value_at_quantile(0.99)
    );
    assert_eq!(r.steps[1].broke, None, "judged on the merged step");
    assert_eq!(r.steps[2].broke.as_deref(), Some("p99 30ms > 10ms"));
    assert_eq!(r.knee, Some(400.0));
    let text = &m.summary_txt;
    for line in [
        "     service  min 300µs  p50 500µs  p90 9.01ms  p99 9.01ms  p99.9 9.01ms  max 9.01ms",
        "rate: target 800.0 ops/s, achieved 792.0 ops/s, uniform arrivals; schedule lag p99 \
         2.00ms, max 2.00ms; latency from each request's intended start, service from its send",
        "sweep of 3 steps against --slo p99=10ms: knee 400.0 ops/s",
        "step        target     achieved        count   errors   get p99  verdict",
        "1            200.0        198.0        1,010        0    1.00ms  met",
        "2            400.0        396.0        1,010        0    1.00ms  met",
        "3            800.0        792.0        1,010        0   30.02ms  broke: p99 30ms > 10ms",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    let html = ringload_launcher::plot::report_html(&m.report);
    xhtml(&html);
    assert!(
        html.contains("<strong>knee: 400.0 ops/s</strong>"),
        "{html}"
    );
    assert!(html.contains("<td>send (service)</td>"), "{html}");
    assert!(html.contains("<table id=\"steps\">"), "{html}");
}

#[test]
fn client_bound_ranks_and_rank_warnings_are_named() {
    let dir = Scratch::new("merge-client");
    let client = |bound: bool| ringload_core::client::ClientRecord {
        cpu_per_core: vec![if bound { 0.98 } else { 0.2 }],
        sched_wait_per_core: vec![0.0],
        retransmit_pct: Some(0.0),
        nic_utilization: None,
        client_bound: bound,
        reasons: if bound {
            vec!["core 0 busy 98% of the steady window".into()]
        } else {
            Vec::new()
        },
    };
    let mut files: Vec<ResultFile> = (0..3)
        .map(|r| rank_file(r, 3, T0, &[vec![(1_000, 100)]]))
        .collect();
    files[0].client = Some(client(false));
    files[1].client = Some(client(true));
    files[2].warnings = vec!["the rate was not kept: 2 connections for 900 ops/s".into()];
    for f in &files {
        write(dir.path(), &format!("rank-{}.json", f.rank), f);
    }
    let m = merge(dir.path(), false).unwrap();
    let c = m.summary.client.as_ref().unwrap();
    assert_eq!((c.ranks, c.client_bound), (2, 1));
    assert_eq!(c.client_bound_ranks, [1]);
    let text = &m.summary_txt;
    let sentence = "rank 1 was client-bound (core 0 busy 98% of the steady window): it measured \
                    itself, not the storage";
    for line in [
        "client: 1 of 2 ranks client-bound (rank 1): their figures measured the client, not the \
         storage",
        "1      node-1               completed       0.000        100.0   1.00ms  0  client-bound",
        "0      node-0               completed       0.000        100.0   1.00ms  0",
        "  - rank 2: the rate was not kept: 2 connections for 900 ops/s",
        &format!("  - {sentence}"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    let html = ringload_launcher::plot::report_html(&m.report);
    xhtml(&html);
    assert!(
        html.contains("<div class=\"banner\" id=\"client-bound\">"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<li>{sentence} (host node-1)</li>")),
        "{html}"
    );
    assert!(html.contains("<li>rank 2: the rate was not kept: 2 connections for 900 ops/s</li>"));
}

/// report.html is polyglot XHTML: it parses as XML once its doctype is allowed.
fn xhtml(text: &str) {
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    if let Err(e) = roxmltree::Document::parse_with_options(text, opt) {
        panic!("report.html is not XML: {e}\n{text}");
    }
}
