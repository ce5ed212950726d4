//! The merge scale benchmark: generate a synthetic run of many ranks × many
//! one-second intervals in the engine's own result format, then time `ringload merge` on it,
//! pinned to one core, and report wall time and peak RSS.
//!
//! Realism: each interval's GET histogram holds 30–50 distinct latencies (log-normal around
//! 2 ms, 1,000–3,000 operations), and 5% of operations are PUTs with 5–15 distinct latencies
//! around 8 ms. Ranks start up to 300 ms apart and rank 7 runs at about half the rate (a
//! straggler). Histograms come from a seeded pool of pre-encoded ones, so generation is fast;
//! the merge still decodes every interval's histogram.
//!
//! Usage (release build of the binary first: `cargo build --release`):
//!   cargo bench --bench merge_scale -- DIR [--ranks 1024] [--intervals 3600] [--runs 3]
//! DIR is created and filled once (kept for later runs); the merge writes into DIR/out.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ringload_core::hist::{new_histogram, LatencySummary};
use ringload_core::result::{
    encode_histogram, encode_histogram_plain, IntervalOp, IntervalRecord, OpSummary, ResultFile,
    RunStatus, SCHEMA,
};

/// Pre-encoded interval histograms per operation class.
const POOL: usize = 512;
const OBJECT_BYTES: u64 = 128 * 1024;
const T0: u64 = 1_764_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// Log-normal around `median_us` (σ = 0.5).
    fn latency(&mut self, median_us: f64) -> u64 {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        let g = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (median_us * (0.5 * g).exp()).max(1.0) as u64
    }
}

struct Entry {
    count: u64,
    values: Vec<(u64, u64)>,
    b64: String,
}

fn pool(rng: &mut Rng, distinct: (u64, u64), ops: (u64, u64), median_us: f64) -> Vec<Entry> {
    (0..POOL)
        .map(|_| {
            let d = rng.range(distinct.0, distinct.1);
            let total = rng.range(ops.0, ops.1);
            let mut values = Vec::new();
            let mut left = total;
            for k in 0..d {
                let n = if k + 1 == d {
                    left
                } else {
                    (total / d).min(left)
                };
                left -= n;
                values.push((rng.latency(median_us), n));
            }
            let mut h = new_histogram();
            for &(v, n) in &values {
                h.saturating_record_n(v, n);
            }
            Entry {
                count: total,
                values,
                b64: encode_histogram_plain(&h),
            }
        })
        .collect()
}

fn write_rank(dir: &Path, rank: u32, ranks: u32, intervals: u64, pools: &[Vec<Entry>; 2]) {
    let mut rng = Rng(0x5eed ^ (u64::from(rank) * 7919));
    let start = T0 + rng.range(0, 300_000_000);
    let mut hists = [new_histogram(), new_histogram()];
    let mut sums = [(0u64, 0u64); 2];
    let mut ivs = Vec::with_capacity(intervals as usize);
    for k in 0..intervals {
        let mut ops = std::collections::BTreeMap::new();
        for (op, name) in ["get", "put"].iter().enumerate() {
            let pick = rng.next() as usize % POOL;
            // The straggler takes its entries from the smallest third of the pool's counts.
            let e = &pools[op][if rank == 7 { pick / 3 } else { pick }];
            for &(v, n) in &e.values {
                hists[op].saturating_record_n(v, n);
            }
            let bytes = e.count * OBJECT_BYTES;
            sums[op].0 += e.count;
            sums[op].1 += bytes;
            let iv = IntervalOp {
                count: e.count,
                bytes,
                errors: 0,
                histogram: e.b64.clone(),
            };
            ops.insert(name.to_string(), iv);
        }
        ivs.push(IntervalRecord {
            start_unix_ns: start + k * SEC,
            end_unix_ns: start + (k + 1) * SEC,
            ops,
        });
    }
    let secs = intervals as f64;
    let ops = ["get", "put"]
        .iter()
        .enumerate()
        .map(|(op, name)| {
            let s = OpSummary {
                count: sums[op].0,
                bytes: sums[op].1,
                errors: 0,
                errors_by_kind: Default::default(),
                throughput_bytes_per_s: sums[op].1 as f64 / secs,
                ops_per_s: sums[op].0 as f64 / secs,
                latency_us: LatencySummary::of(&hists[op]),
                histogram: encode_histogram(&hists[op]),
                phases: None,
                service_latency_us: None,
                service_histogram: None,
            };
            (name.to_string(), s)
        })
        .collect();
    let file = ResultFile {
        schema: SCHEMA.into(),
        run_id: "scale".into(),
        rank,
        ranks,
        host: format!("node-{rank:04}"),
        engine_version: ringload_core::VERSION.into(),
        status: RunStatus::Completed,
        stop_reason: "duration".into(),
        error: None,
        start_unix_ns: start,
        end_unix_ns: start + intervals * SEC,
        target: Some(ringload_core::result::TargetInfo {
            builtin: false,
            endpoint: "http://127.0.0.1:51080".into(),
            protocol: "ais".into(),
            source: "spec".into(),
        }),
        workload: serde_json::json!({"numworkers": 64, "pctput": 5, "statsinterval": 1.0}),
        ops,
        intervals: ivs,
        intervals_file: None,
        peak_rss_bytes: Some(12 << 20),
        tls: None,
        proxies: Vec::new(),
        rate: None,
        client: None,
        barrier: None,
        warnings: Vec::new(),
    };
    let path = dir.join(format!("rank-{rank:04}.json"));
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    serde_json::to_writer(&mut w, &file).unwrap();
    w.write_all(b"\n").unwrap();
}

fn generate(dir: &Path, ranks: u32, intervals: u64) {
    let mut rng = Rng(42);
    let pools = [
        pool(&mut rng, (30, 50), (950, 2850), 2000.0),
        pool(&mut rng, (5, 15), (50, 150), 8000.0),
    ];
    std::fs::create_dir_all(dir).unwrap();
    let t = Instant::now();
    std::thread::scope(|s| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        for t in 0..threads {
            let pools = &pools;
            s.spawn(move || {
                for r in (t..ranks).step_by(threads as usize) {
                    write_rank(dir, r, ranks, intervals, pools);
                }
            });
        }
    });
    let bytes: u64 = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    eprintln!(
        "generated {ranks} ranks × {intervals} intervals ({:.2} GB) in {:.1?}",
        bytes as f64 / 1e9,
        t.elapsed()
    );
}

/// Peak RSS (VmHWM) of a running process, in KiB.
fn hwm_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

fn measure(bin: &Path, dir: &Path) -> (Duration, u64) {
    let out = dir.join("out");
    let t = Instant::now();
    let mut child = Command::new("taskset")
        .args(["-c", "1"])
        .arg(bin)
        .arg("merge")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run taskset (util-linux)");
    let mut peak = 0;
    loop {
        if let Some(k) = hwm_kib(child.id()) {
            peak = peak.max(k);
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "ringload merge failed: {status}");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (t.elapsed(), peak)
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut dir: Option<PathBuf> = None;
    let (mut ranks, mut intervals, mut runs) = (1024u32, 3600u64, 3usize);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("flag needs a value");
        match a.as_str() {
            "--ranks" => ranks = val().parse().unwrap(),
            "--intervals" => intervals = val().parse().unwrap(),
            "--runs" => runs = val().parse().unwrap(),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let Some(dir) = dir else {
        eprintln!(
            "usage: cargo bench --bench merge_scale -- DIR [--ranks N] [--intervals N] [--runs N]"
        );
        return;
    };
    if !dir.join(format!("rank-{:04}.json", ranks - 1)).exists() {
        generate(&dir, ranks, intervals);
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/ringload");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release"
    );
    let mut walls = Vec::new();
    for run in 0..runs {
        let (wall, kib) = measure(&bin, &dir);
        println!(
            "run {run}: wall {:.2} s, peak RSS {:.1} MiB",
            wall.as_secs_f64(),
            kib as f64 / 1024.0
        );
        walls.push(wall.as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "median wall {:.2} s over {runs} runs",
        walls[walls.len() / 2]
    );
}
