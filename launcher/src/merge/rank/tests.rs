//! Tests for the per-rank merge.

use super::*;
use ringload_core::hist::new_histogram;
use ringload_core::result::{
    encode_histogram, IntervalOp, IntervalRecord, OpSummary, ResultFile, RunStatus, SCHEMA,
};

const SEC: u64 = 1_000_000_000;

fn file() -> ResultFile {
    let mut total = new_histogram();
    let intervals = (0..4u64)
        .map(|k| {
            let empty = new_histogram();
            let mut h = new_histogram();
            h.record_n(1000 + k, 10 + k).unwrap();
            h.record_n(9000, 200_000).unwrap();
            total.add(&h).unwrap();
            let op = |count| IntervalOp {
                count,
                bytes: count * 10,
                errors: k,
                histogram: encode_histogram(if count > 0 { &h } else { &empty }),
            };
            IntervalRecord {
                start_unix_ns: 5 * SEC + k * SEC,
                end_unix_ns: 6 * SEC + k * SEC,
                ops: [("get".into(), op(h.len())), ("put".into(), op(0))].into(),
            }
        })
        .collect();
    let op = |h: &Histogram<u64>| OpSummary {
        count: h.len(),
        bytes: h.len() * 10,
        errors: 6,
        objects: None,
        errors_by_kind: [("timeout".to_string(), 6)].into(),
        throughput_bytes_per_s: 0.0,
        ops_per_s: 0.0,
        latency_us: LatencySummary::of(h),
        histogram: encode_histogram(h),
        phases: None,
        service_latency_us: None,
        service_histogram: None,
    };
    ResultFile {
        schema: SCHEMA.into(),
        run_id: "t".into(),
        rank: 0,
        ranks: 1,
        host: "h".into(),
        engine_version: "0".into(),
        status: RunStatus::Completed,
        stop_reason: "duration".into(),
        error: None,
        start_unix_ns: 5 * SEC,
        end_unix_ns: 9 * SEC,
        target: Some(ringload_core::result::TargetInfo {
            builtin: true,
            endpoint: "http://127.0.0.1:1".into(),
            protocol: "http".into(),
            source: "builtin".into(),
        }),
        workload: serde_json::json!({}),
        ops: [
            ("get".into(), op(&total)),
            ("put".into(), op(&new_histogram())),
        ]
        .into(),
        intervals,
        intervals_file: None,
        peak_rss_bytes: Some(77),
        tls: Some(ringload_core::result::TlsRecord {
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS13_AES_128_GCM_SHA256".into()),
            verified: true,
            resumed_pct: 50.0,
            handshakes: 8,
            resumed: 4,
            roots: "ca-file".into(),
            source: None,
        }),
        proxies: Vec::new(),
        rate: None,
        client: None,
        barrier: None,
        warnings: Vec::new(),
    }
}

fn read(text: &str) -> (RankResult, Path, Timeline, [Histogram<u64>; N_OPS]) {
    let f = file();
    let head = Head {
        path: "rank-0.json".into(),
        name: "rank-0.json".into(),
        run_id: f.run_id.clone(),
        rank: 0,
        ranks: 1,
        host: f.host.clone(),
        engine_version: f.engine_version.clone(),
        status: "completed".into(),
        stop_reason: f.stop_reason.clone(),
        start_unix_ns: f.start_unix_ns,
        end_unix_ns: f.end_unix_ns,
        workload: f.workload.clone(),
    };
    let mut timeline = Timeline::new(SEC, 5 * SEC, 9 * SEC).unwrap();
    let mut totals: [_; N_OPS] = std::array::from_fn(|_| new_histogram());
    let mut reader = Reader::default();
    let mut sinks = Sinks {
        timeline: &mut timeline,
        totals: &mut totals,
        steady: Some((6 * SEC, 8 * SEC)),
        point_cap: 100,
    };
    let (r, path) = reader
        .read_bytes(&head, text.as_bytes(), &mut sinks)
        .unwrap();
    reader.flush_batch(&mut timeline);
    (r, path, timeline, totals)
}

#[test]
fn engine_files_take_the_fast_path_and_agree_with_serde() {
    let f = file();
    let (fast, p1, t1, h1) = read(&serde_json::to_string(&f).unwrap());
    let (slow, p2, t2, h2) = read(&serde_json::to_string_pretty(&f).unwrap());
    assert_eq!((p1, p2), (Path::Fast, Path::Serde));
    assert_eq!(fast, slow);
    assert_eq!(h1, h2);
    assert_eq!(fast.ops[0].count, 4 * 200_000 + 10 + 11 + 12 + 13);
    assert_eq!(fast.ops[1].errors_by_kind["timeout"], 6);
    assert_eq!(fast.peak_rss_bytes, Some(77));
    assert_eq!(fast.tls, f.tls);
    assert!(fast.notes.is_empty(), "{:?}", fast.notes);
    // A file without the key (plaintext, or written before it existed) still reads.
    let old = ResultFile {
        tls: None,
        proxies: Vec::new(),
        rate: None,
        client: None,
        warnings: Vec::new(),
        ..f.clone()
    };
    let (r, _, _, _) = read(&serde_json::to_string(&old).unwrap());
    assert_eq!(r.tls, None);
    assert_eq!(r.ops[0].count, fast.ops[0].count);
    for (a, b) in t1.cells.iter().zip(&t2.cells) {
        for op in 0..2 {
            assert_eq!(
                (
                    a[op].ops,
                    a[op].errors,
                    a[op].hist.iter().collect::<Vec<_>>()
                ),
                (
                    b[op].ops,
                    b[op].errors,
                    b[op].hist.iter().collect::<Vec<_>>()
                )
            );
        }
    }
    assert_eq!(t1.cells[1][0].hist.quantiles([0.5]), [9007]);
}

#[test]
fn a_corrupt_interval_rejects_the_file_and_leaves_nothing_behind() {
    let f = file();
    let text = serde_json::to_string(&f).unwrap();
    let at = text.find("\"intervals\"").unwrap();
    let (head_part, rest) = text.split_at(at);
    // The third interval's GET histogram loses its last 4 characters (a truncated V2).
    let cut = rest.match_indices("\"histogram\":\"").nth(4).unwrap().0 + 13;
    let end = cut + rest[cut..].find('"').unwrap();
    let bad = format!("{head_part}{}{}", &rest[..end - 4], &rest[end..]);
    let mut reader = Reader::default();
    let mut timeline = Timeline::new(SEC, 5 * SEC, 9 * SEC).unwrap();
    let mut totals: [_; N_OPS] = std::array::from_fn(|_| new_histogram());
    let head = Head {
        path: "r.json".into(),
        name: "r.json".into(),
        run_id: "t".into(),
        rank: 0,
        ranks: 1,
        host: String::new(),
        engine_version: String::new(),
        status: "completed".into(),
        stop_reason: String::new(),
        start_unix_ns: 5 * SEC,
        end_unix_ns: 9 * SEC,
        workload: serde_json::Value::Null,
    };
    let mut sinks = Sinks {
        timeline: &mut timeline,
        totals: &mut totals,
        steady: None,
        point_cap: 100,
    };
    let e = reader
        .read_bytes(&head, bad.as_bytes(), &mut sinks)
        .unwrap_err();
    assert!(e.contains("intervals[2].ops.get.histogram"), "{e}");
    assert!(reader.batch.packed.is_empty() && reader.batch.ranks.is_empty());
    assert!(totals.iter().all(|h| h.is_empty()));
    assert!(timeline.cells.iter().all(|c| c[0].ops == 0));
}
