//! The streaming merge equals the offline merge of the same directory, byte for byte, for
//! rank files fed in a random arrival order, and falls back to it when the run is not plain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use ringload_core::hist::{new_histogram, LatencySummary};
use ringload_core::rate::RateRecord;
use ringload_core::result::{
    encode_histogram, IntervalOp, IntervalRecord, OpSummary, PhaseRecord, PhasesRecord, ResultFile,
    RunStatus, SCHEMA,
};

use super::*;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn hist(rng: &mut Rng, n: u64) -> Histogram<u64> {
    let mut h = new_histogram();
    for _ in 0..n {
        h.record(rng.range(100, 90_000)).unwrap();
    }
    h
}

fn summary(h: &Histogram<u64>, secs: f64, phases: bool) -> OpSummary {
    let phase = || PhaseRecord {
        count: h.len(),
        latency: LatencySummary::of(h),
        histogram: encode_histogram(h),
    };
    OpSummary {
        count: h.len(),
        bytes: h.len() * 4096,
        errors: 0,
        objects: None,
        errors_by_kind: BTreeMap::new(),
        throughput_bytes_per_s: (h.len() * 4096) as f64 / secs,
        ops_per_s: h.len() as f64 / secs,
        latency_us: LatencySummary::of(h),
        histogram: encode_histogram(h),
        phases: phases.then(|| PhasesRecord::from_all([phase(), phase(), phase(), phase()])),
        service_latency_us: None,
        service_histogram: None,
    }
}

/// Rank `rank` of `ranks`: random start (within 2 s of T0), interval count and latencies;
/// every third rank has phases; `rate` gives it a `rate` key and service latency.
fn rank_file(rng: &mut Rng, run: &str, rank: u32, ranks: u32, rate: bool) -> ResultFile {
    let start = T0 + rng.range(0, 2 * SEC);
    let n = rng.range(8, 20);
    let mut totals = [new_histogram(), new_histogram()];
    let mut intervals = Vec::new();
    for k in 0..n {
        let mut ops = BTreeMap::new();
        for (op, name) in ["get", "put"].iter().enumerate() {
            let n = rng.range(0, 30) * (op as u64 + 1);
            let h = hist(rng, n);
            totals[op].add(&h).unwrap();
            let op = IntervalOp {
                count: h.len(),
                bytes: h.len() * rng.range(1000, 5000),
                errors: rng.range(0, 2),
                histogram: encode_histogram(&h),
            };
            ops.insert(name.to_string(), op);
        }
        // Uneven edges, so the steady window prorates.
        let jitter = rng.range(0, SEC / 3);
        intervals.push(IntervalRecord {
            start_unix_ns: start + k * SEC + jitter / 2,
            end_unix_ns: start + (k + 1) * SEC + jitter,
            ops,
        });
    }
    let secs = n as f64;
    let mut ops = BTreeMap::new();
    for (op, name) in ["get", "put"].iter().enumerate() {
        let mut s = summary(&totals[op], secs, rank % 3 == 1);
        if rate {
            s.service_latency_us = Some(LatencySummary::of(&totals[op]));
            s.service_histogram = Some(encode_histogram(&totals[op]));
        }
        ops.insert(name.to_string(), s);
    }
    let lag = hist(rng, 50);
    ResultFile {
        schema: SCHEMA.into(),
        run_id: run.into(),
        rank,
        ranks,
        host: format!("node-{rank}"),
        engine_version: "0.1.0".into(),
        status: RunStatus::Completed,
        stop_reason: "duration".into(),
        error: None,
        start_unix_ns: start,
        end_unix_ns: start + n * SEC + SEC / 3,
        target: Some(ringload_core::result::TargetInfo {
            builtin: true,
            endpoint: "http://127.0.0.1:1".into(),
            protocol: "http".into(),
            source: "builtin".into(),
        }),
        workload: serde_json::json!({"numworkers": 4}),
        ops,
        intervals,
        intervals_file: None,
        barrier: None,
        peak_rss_bytes: Some(1 << 20),
        tls: None,
        proxies: Vec::new(),
        rate: rate.then(|| RateRecord {
            target: 100.0,
            achieved: 99.0 + rank as f64 / 10.0,
            arrival: "uniform".into(),
            lag_us: LatencySummary::of(&lag),
            lag_histogram: encode_histogram(&lag),
            kept: true,
            slo: None,
            steps: Vec::new(),
            knee: None,
        }),
        client: None,
        warnings: Vec::new(),
    }
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ringload-stream-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a run of `ranks` ranks into `dir`.
fn write_run(dir: &Path, seed: u64, ranks: u32, rate: bool) {
    let mut rng = Rng(seed);
    for r in 0..ranks {
        let f = rank_file(&mut rng, "run-a", r, ranks, rate);
        f.write_atomic(&barrier::result_path(dir, r)).unwrap();
    }
}

/// A shuffled `0..n`.
fn order(seed: u64, n: u32) -> Vec<u32> {
    let mut rng = Rng(seed);
    let mut v: Vec<u32> = (0..n).collect();
    for i in (1..v.len()).rev() {
        v.swap(i, rng.range(0, i as u64 + 1) as usize);
    }
    v
}

fn opts(threads: usize, allow_partial: bool) -> MergeOptions {
    MergeOptions {
        threads,
        allow_partial,
        ..MergeOptions::default()
    }
}

/// Feeds `arrivals` to a stream over `dir`; `spaced`: each once the previous one is folded
/// and handed in (arrivals far apart: many small partials absorbed into the pool).
fn stream(dir: &Path, ranks: u32, arrivals: &[u32], o: &MergeOptions, spaced: bool) -> Finished {
    let mut s = Stream::new(dir, ranks, o.clone());
    for &r in arrivals {
        s.arrived(r);
        while spaced && s.backlog() > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    s.finish()
}

fn same(a: &MergeOutput, b: &MergeOutput) {
    assert!(a.summary_json == b.summary_json, "summary.json differs");
    assert!(a.summary_txt == b.summary_txt, "summary.txt differs");
    let report = |m: &MergeOutput| serde_json::to_string(&m.report).unwrap();
    assert!(report(a) == report(b), "the report data differ");
}

#[test]
fn a_stream_in_any_arrival_order_equals_the_offline_merge() {
    for (seed, ranks, rate, threads) in [(7, 9, false, 3), (11, 6, true, 2), (5, 1, false, 1)] {
        let dir = scratch(&format!("same-{seed}"));
        write_run(&dir, seed, ranks, rate);
        // A previous summary.json is not a result file: both merges ignore it.
        std::fs::write(dir.join("summary.json"), "{\"schema\": \"x\"}").unwrap();
        let offline = merge_dir(&dir, &opts(1, false)).unwrap();
        assert!(offline.summary.steady_window.is_some());
        for k in 0..3 {
            let arrivals = order(seed * 31 + k, ranks);
            let done = stream(&dir, ranks, &arrivals, &opts(threads, false), k == 1);
            assert_eq!(done.fallback, None, "seed {seed}");
            same(&done.output.unwrap(), &offline);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn what_is_not_the_plain_case_falls_back_to_the_offline_merge() {
    let ranks = 5;
    type Spoil<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Spoil); 6] = [
        ("corrupt", &|d| {
            std::fs::write(barrier::result_path(d, 2), "{ not json").unwrap()
        }),
        ("runid", &|d| {
            let mut f = rank_file(&mut Rng(3), "run-b", 3, ranks, false);
            f.run_id = "run-b".into();
            std::fs::remove_file(barrier::result_path(d, 3)).unwrap();
            std::fs::remove_file(d.join("rank-3.intervals")).unwrap();
            f.write_atomic(&barrier::result_path(d, 3)).unwrap();
        }),
        ("duplicate", &|d| {
            let f = rank_file(&mut Rng(4), "run-a", 1, ranks, false);
            f.write_atomic(&d.join("rank-1-again.json")).unwrap();
        }),
        ("count", &|d| {
            let f = rank_file(&mut Rng(5), "run-a", 4, ranks + 1, false);
            std::fs::remove_file(barrier::result_path(d, 4)).unwrap();
            std::fs::remove_file(d.join("rank-4.intervals")).unwrap();
            f.write_atomic(&barrier::result_path(d, 4)).unwrap();
        }),
        ("missing", &|d| {
            std::fs::remove_file(barrier::result_path(d, 0)).unwrap();
        }),
        ("failed", &|d| {
            let mut f = rank_file(&mut Rng(6), "run-a", 2, ranks, false);
            f.status = RunStatus::Failed;
            std::fs::remove_file(barrier::result_path(d, 2)).unwrap();
            std::fs::remove_file(d.join("rank-2.intervals")).unwrap();
            f.write_atomic(&barrier::result_path(d, 2)).unwrap();
        }),
    ];
    for (tag, spoil) in cases {
        let dir = scratch(tag);
        write_run(&dir, 17, ranks, false);
        spoil(&dir);
        let arrivals: Vec<u32> = order(9, ranks)
            .into_iter()
            .filter(|&r| barrier::result_path(&dir, r).exists())
            .collect();
        for allow_partial in [false, true] {
            let o = opts(2, allow_partial);
            let done = stream(&dir, ranks, &arrivals, &o, false);
            assert!(done.fallback.is_some(), "{tag}: not streamed");
            match (done.output, merge_dir(&dir, &o)) {
                (Ok(a), Ok(b)) => same(&a, &b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{tag}"),
                (a, b) => panic!("{tag}: {:?} vs {:?}", a.is_ok(), b.is_ok()),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_stream_dropped_unfinished_stops_its_workers() {
    let dir = scratch("drop");
    write_run(&dir, 23, 4, false);
    let mut s = Stream::new(&dir, 4, opts(2, false));
    s.arrived(0);
    s.arrived(9);
    assert!(s.fallback.is_some(), "rank 9 of 4 is not the plain case");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
