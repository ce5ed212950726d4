//! `ringload merge` of runs with the ML classes (`get_batch`, `put_mpu`, `get_mpd`): hand-written
//! rank files where each rank has some of them, merged by the real binary; every class any
//! rank has is merged (a rank without it contributes zero), `get_batch` sums its `objects`,
//! `missing` is among the error kinds, and summary.json, summary.txt and report.html show
//! exactly those classes, with their labels. A run without them keeps get and put only.

use crate::common;

use std::collections::BTreeMap;

use common::*;
use ringload_core::hist::{new_histogram, LatencySummary};
use ringload_core::result::{
    encode_histogram, IntervalOp, IntervalRecord, OpSummary, ResultFile, RunStatus, SCHEMA,
};

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

/// One class of a rank: per interval `count` operations of `bytes` each at `lat_us`, plus
/// `errors` failures of `kind`, and `objects` per operation (GetBatch).
#[derive(Clone, Copy)]
struct Class {
    name: &'static str,
    count: u64,
    bytes: u64,
    lat_us: u64,
    errors: u64,
    kind: &'static str,
    objects: u64,
}

/// A rank of two 1 s intervals, `get` and `put` always, with `classes` (get/put among them
/// replace the empty defaults).
fn rank_file(rank: u32, classes: &[Class]) -> ResultFile {
    let empty = |name| Class {
        name,
        count: 0,
        bytes: 0,
        lat_us: 0,
        errors: 0,
        kind: "",
        objects: 0,
    };
    let mut all: BTreeMap<&str, Class> = [("get", empty("get")), ("put", empty("put"))].into();
    for c in classes {
        all.insert(c.name, *c);
    }
    let start = T0 + u64::from(rank) * SEC / 10;
    let (mut ops, mut ivs) = (BTreeMap::new(), Vec::new());
    for k in 0..2u64 {
        let mut iv = BTreeMap::new();
        for (name, c) in &all {
            let mut h = new_histogram();
            if c.count > 0 {
                h.record_n(c.lat_us, c.count).unwrap();
            }
            iv.insert(
                name.to_string(),
                IntervalOp {
                    count: c.count,
                    bytes: c.count * c.bytes,
                    errors: c.errors,
                    histogram: encode_histogram(&h),
                },
            );
        }
        ivs.push(IntervalRecord {
            start_unix_ns: start + k * SEC,
            end_unix_ns: start + (k + 1) * SEC,
            ops: iv,
        });
    }
    for (name, c) in &all {
        let mut h = new_histogram();
        if c.count > 0 {
            h.record_n(c.lat_us, 2 * c.count).unwrap();
        }
        let n = 2 * c.count;
        // The rank's exact figures (the histogram's are its buckets' edges).
        let mut latency = LatencySummary::of(&h);
        if n > 0 {
            (latency.min, latency.max, latency.mean) = (c.lat_us, c.lat_us, c.lat_us as f64);
        }
        ops.insert(
            name.to_string(),
            OpSummary {
                count: n,
                bytes: n * c.bytes,
                errors: 2 * c.errors,
                objects: (*name == "get_batch").then_some(n * c.objects),
                errors_by_kind: if c.errors > 0 {
                    [(c.kind.to_string(), 2 * c.errors)].into()
                } else {
                    BTreeMap::new()
                },
                throughput_bytes_per_s: (n * c.bytes) as f64 / 2.0,
                ops_per_s: n as f64 / 2.0,
                latency_us: latency,
                histogram: encode_histogram(&h),
                phases: None,
                service_latency_us: None,
                service_histogram: None,
            },
        );
    }
    ResultFile {
        schema: SCHEMA.into(),
        run_id: "ml".into(),
        rank,
        ranks: 2,
        host: format!("node-{rank}"),
        engine_version: "0.1.0".into(),
        status: RunStatus::Completed,
        stop_reason: "epochs".into(),
        error: None,
        start_unix_ns: start,
        end_unix_ns: start + 2 * SEC,
        target: None,
        workload: serde_json::json!({"numworkers": 4, "get_batchsize": 64}),
        ops,
        intervals: ivs,
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

fn merge(tag: &str, ranks: &[ResultFile]) -> (Scratch, serde_json::Value, String, String) {
    let dir = Scratch::new(tag);
    for r in ranks {
        r.write_atomic(&dir.path().join(format!("rank-{}.json", r.rank)))
            .unwrap();
    }
    let out = dir.path().join("out");
    let run = ringload(&[
        "merge",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    run.ok();
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let json = serde_json::from_str(&read("summary.json")).unwrap();
    (dir, json, read("summary.txt"), read("report.html"))
}

const GET: Class = Class {
    name: "get",
    count: 100,
    bytes: 16_384,
    lat_us: 1_000,
    errors: 0,
    kind: "",
    objects: 0,
};

#[test]
fn every_class_any_rank_has_is_merged_exactly_and_shown_with_its_label() {
    // Rank 0: GETs and GetBatch (64 objects a batch, one missing member per interval).
    let batch = Class {
        name: "get_batch",
        count: 8,
        bytes: 64 * 16_384,
        lat_us: 20_000,
        errors: 1,
        kind: "missing",
        objects: 64,
    };
    // Rank 1: GETs, fewer GetBatch requests (no member missing), multipart uploads and
    // multipart download streams (one timeout).
    let batch1 = Class {
        count: 4,
        errors: 0,
        ..batch
    };
    let mpu = Class {
        name: "put_mpu",
        count: 2,
        bytes: 24 << 20,
        lat_us: 500_000,
        errors: 0,
        kind: "",
        objects: 0,
    };
    let mpd = Class {
        name: "get_mpd",
        count: 3,
        bytes: 8 << 20,
        lat_us: 100_000,
        errors: 1,
        kind: "timeout",
        objects: 0,
    };
    let (_d, s, txt, html) = merge(
        "merge-ml",
        &[
            rank_file(0, &[GET, batch]),
            rank_file(1, &[GET, batch1, mpu, mpd]),
        ],
    );
    let ops = s["ops"].as_object().unwrap();
    let keys: Vec<&str> = ops.keys().map(String::as_str).collect();
    assert_eq!(keys, ["get", "get_batch", "get_mpd", "put", "put_mpu"]);
    let b = &ops["get_batch"];
    // 2 intervals × 8 batches on rank 0, 2 × 4 on rank 1.
    assert_eq!(b["count"], 24);
    assert_eq!(b["objects"], 24 * 64);
    assert_eq!(b["bytes"], 24 * 64 * 16_384);
    assert_eq!(b["errors"], 2);
    assert_eq!(b["errors_by_kind"], serde_json::json!({"missing": 2}));
    assert_eq!(b["latency_us"]["p99"], 20_000);
    assert_eq!(ops["put_mpu"]["count"], 4);
    assert_eq!(ops["put_mpu"]["bytes"], 4 * (24u64 << 20));
    assert!(
        ops["put_mpu"].get("objects").is_none(),
        "objects: get_batch only"
    );
    assert_eq!(ops["get_mpd"]["count"], 6);
    assert_eq!(
        ops["get_mpd"]["errors_by_kind"],
        serde_json::json!({"timeout": 2})
    );
    assert_eq!(ops["get"]["count"], 400);
    // Each rank lists the merged run's classes; a rank without one has zeros there.
    assert_eq!(s["ranks"][1]["ops"]["get_batch"]["count"], 8);
    assert_eq!(s["ranks"][1]["ops"]["get_batch"]["objects"], 8 * 64);
    assert_eq!(s["ranks"][0]["ops"]["get_batch"]["objects"], 16 * 64);
    assert_eq!(s["ranks"][0]["ops"]["put_mpu"]["count"], 0);
    assert_eq!(s["ranks"][0]["ops"]["put_mpu"]["errors"], 0);
    // The series: per class, the sum of the ranks per second.
    let series = s["series"]["ops"].as_object().unwrap();
    let keys: Vec<&str> = series.keys().map(String::as_str).collect();
    assert_eq!(keys, ["get", "get_batch", "get_mpd", "put", "put_mpu"]);
    let batches: u64 = series["get_batch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ops"].as_u64().unwrap())
        .sum();
    assert_eq!(batches, 24);
    // summary.txt: the engine's order (get, put, get_batch, put_mpu, get_mpd; PUT did
    // nothing, so it has no row) and labels, the op column widened for GET(batch).
    let rows: Vec<&str> = txt
        .lines()
        .skip_while(|l| !l.starts_with("op "))
        .take(7)
        .collect();
    assert_eq!(
        rows,
        [
            "op                  count      bytes    GiB/s   steady        ops/s      min      \
             p50      p90      p99    p99.9      max  errors",
            "GET                   400    6.2 MiB    0.003    0.003        190.5   1.00ms   \
             1.00ms   1.00ms   1.00ms   1.00ms   1.00ms  0",
            "GET(batch)             24   24.0 MiB    0.011    0.012         11.4  20.00ms  \
             20.00ms  20.00ms  20.00ms  20.00ms  20.00ms  2 (missing 2)",
            "     objects 1,536  731.4 objects/s",
            "PUT(mpu)                4   96.0 MiB    0.045    0.047          1.9 500.00ms \
             500.00ms 500.00ms 500.00ms 500.00ms 500.00ms  0",
            "GET(mpd)                6   48.0 MiB    0.022    0.023          2.9 100.00ms \
             100.00ms 100.00ms 100.00ms 100.00ms 100.00ms  2 (timeout 2)",
            "",
        ]
    );
    for label in [">GET(batch)<", ">PUT(mpu)<", ">GET(mpd)<"] {
        assert!(html.contains(label), "report.html shows {label}");
    }
}

#[test]
fn a_run_without_ml_classes_merges_get_and_put_only() {
    let (_d, s, txt, html) = merge(
        "merge-ml-none",
        &[rank_file(0, &[GET]), rank_file(1, &[GET])],
    );
    let keys: Vec<&str> = s["ops"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["get", "put"]);
    assert!(s["ops"]["get"].get("objects").is_none());
    let rank: Vec<&str> = s["ranks"][0]["ops"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(rank, ["get", "put"]);
    assert!(
        txt.contains("\nop            count      bytes    GiB/s"),
        "the op column keeps its width:\n{txt}"
    );
    assert!(
        !txt.contains("objects") && !html.contains("GET(batch)"),
        "{txt}"
    );
}
