//! The synthetic run that `ringload merge` is measured and tested on at scale: many ranks ×
//! many one-second intervals in the engine's own result format. Shared by the merge scale
//! benchmark (`benches/merge_scale.rs`) and its end-to-end test (`tests/e2e/merge_scale.rs`),
//! so that the straggler the test checks is the one the benchmark carries.
//!
//! Format: `ringload.result/2` by default (`rank-NNNN.json` and its interval carrier
//! `rank-NNNN.intervals`), or `ringload.result/1` (intervals inline as JSON) on request.
//! The JSON is the engine's [`ResultFile`] serialized as the engine writes it. The carrier's
//! bytes come from the engine's encoder ([`intervals::encode`]), called once per pooled
//! interval; a rank's carrier is those intervals spliced after the encoder's header, each
//! given its own start and end, and the interval count set. (Encoding each rank's intervals
//! whole decodes every base64 histogram again: about 100 CPU-seconds at 1,024 × 3,600.)
//! The end-to-end test reads every generated file back with the engine's reader and checks
//! it against [`Generator::result`]. Files are written without fsync; a marker file,
//! [`MARKER`], written last, records what a complete directory holds, and a directory
//! holding anything else (another schema or size, or an interrupted generation) is
//! regenerated, its `rank-*` files removed first.
//!
//! Realism: each interval's GET histogram holds 30–50 distinct latencies (log-normal around
//! 2 ms, 950–2,850 operations), and about 5% of operations are PUTs with 5–15 distinct
//! latencies around 8 ms; every operation moves 128 KiB. Ranks start up to 300 ms apart.
//! Rank [`STRAGGLER`] runs at half rate: its intervals come from a pool of its own with half
//! the operation counts (so half the bytes) and the same latency shape, so its throughput is
//! about half the median rank's and the merge names it as a straggler. Intervals come from
//! seeded pools of 512, so generation is fast and the same for the same arguments; the
//! merge still adds every interval's histogram.

use std::path::{Path, PathBuf};

use ringload_core::hist::{new_histogram, LatencySummary};
use ringload_core::intervals;
use ringload_core::result::{
    carrier_path, encode_histogram, encode_histogram_plain, IntervalOp, IntervalRecord, OpSummary,
    ResultFile, RunStatus, TargetInfo, SCHEMA, SCHEMA_V1,
};

/// The rank that runs at half rate.
pub const STRAGGLER: u32 = 7;
/// Written last into a complete directory: `<schema> <ranks> <intervals>`.
pub const MARKER: &str = "scale-input.txt";

/// Pre-encoded interval histograms per operation class.
const POOL: usize = 512;
const OBJECT_BYTES: u64 = 128 * 1024;
const T0: u64 = 1_764_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

/// The result schema to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `ringload.result/1`: intervals inline as JSON.
    V1,
    /// `ringload.result/2`: intervals in the binary carrier beside the JSON.
    V2,
}

impl Schema {
    /// `1` or `2`; anything else is refused with the accepted values.
    pub fn parse(s: &str) -> Result<Schema, String> {
        match s {
            "1" => Ok(Schema::V1),
            "2" => Ok(Schema::V2),
            _ => Err(format!(
                "--schema {s:?}: use 1 (ringload.result/1) or 2 (ringload.result/2)"
            )),
        }
    }

    /// The `schema` value of the files.
    pub fn name(self) -> &'static str {
        match self {
            Schema::V1 => SCHEMA_V1,
            Schema::V2 => SCHEMA,
        }
    }
}

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

/// One pooled interval histogram of one class.
struct Entry {
    count: u64,
    values: Vec<(u64, u64)>,
    b64: String,
}

/// `distinct` latencies around `median_us` over `ops` operations, per entry.
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

/// The pools per class (`get`, `put`): the ranks' at full rate, then the straggler's. An
/// interval takes entry `k` of both classes of its pool, so there are [`POOL`] distinct
/// intervals per pool, each encoded into carrier bytes once.
struct Pools {
    full: [Vec<Entry>; 2],
    half: [Vec<Entry>; 2],
    /// A carrier of no intervals (its header), from the engine's encoder.
    header: Vec<u8>,
    /// Per pool entry, the carrier bytes of its interval (timestamps zero): full, then half.
    bodies: [Vec<Vec<u8>>; 2],
}

impl Pools {
    fn new() -> Result<Pools, String> {
        let mut rng = Rng(42);
        let full = [
            pool(&mut rng, (30, 50), (950, 2850), 2000.0),
            pool(&mut rng, (5, 15), (50, 150), 8000.0),
        ];
        // Drawn after the full-rate pools, which stay what they were before the straggler
        // had a pool of its own.
        let half = [
            pool(&mut rng, (30, 50), (475, 1425), 2000.0),
            pool(&mut rng, (5, 15), (25, 75), 8000.0),
        ];
        let header = intervals::encode(&[])?;
        let body = |classes: &[Vec<Entry>; 2], k: usize| -> Result<Vec<u8>, String> {
            let one = intervals::encode(&[interval(classes, k, 0)])?;
            Ok(one[intervals::HEADER_LEN..].to_vec())
        };
        let bodies = [
            (0..POOL)
                .map(|k| body(&full, k))
                .collect::<Result<_, _>>()?,
            (0..POOL)
                .map(|k| body(&half, k))
                .collect::<Result<_, _>>()?,
        ];
        Ok(Pools {
            full,
            half,
            header,
            bodies,
        })
    }
}

/// Interval `k` of a pool, starting at `start`.
fn interval(classes: &[Vec<Entry>; 2], k: usize, start: u64) -> IntervalRecord {
    let ops = ["get", "put"]
        .iter()
        .enumerate()
        .map(|(op, name)| {
            let e = &classes[op][k];
            let iv = IntervalOp {
                count: e.count,
                bytes: e.count * OBJECT_BYTES,
                errors: 0,
                histogram: e.b64.clone(),
            };
            (name.to_string(), iv)
        })
        .collect();
    IntervalRecord {
        start_unix_ns: start,
        end_unix_ns: start + SEC,
        ops,
    }
}

/// One rank's run: its start, its pool (1: the straggler's) and the pool entry of each
/// interval, and its result file without intervals.
struct Rank {
    start: u64,
    pool: usize,
    picks: Vec<usize>,
    file: ResultFile,
}

/// The generator: its pools, built once, and what each rank ran.
pub struct Generator {
    pools: Pools,
}

impl Generator {
    pub fn new() -> Result<Generator, String> {
        Ok(Generator {
            pools: Pools::new()?,
        })
    }

    fn rank(&self, rank: u32, ranks: u32, intervals: u64, schema: Schema) -> Rank {
        let mut rng = Rng(0x5eed ^ (u64::from(rank) * 7919));
        let start = T0 + rng.range(0, 300_000_000);
        let pool = usize::from(rank == STRAGGLER);
        let classes = [&self.pools.full, &self.pools.half][pool];
        let mut hists = [new_histogram(), new_histogram()];
        let mut sums = [(0u64, 0u64); 2];
        let picks: Vec<usize> = (0..intervals)
            .map(|_| {
                let k = rng.next() as usize % POOL;
                for (op, sum) in sums.iter_mut().enumerate() {
                    let e = &classes[op][k];
                    for &(v, n) in &e.values {
                        hists[op].saturating_record_n(v, n);
                    }
                    sum.0 += e.count;
                    sum.1 += e.count * OBJECT_BYTES;
                }
                k
            })
            .collect();
        let secs = intervals as f64;
        let ops = ["get", "put"]
            .iter()
            .enumerate()
            .map(|(op, name)| {
                let s = OpSummary {
                    count: sums[op].0,
                    bytes: sums[op].1,
                    errors: 0,
                    objects: None,
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
            schema: schema.name().into(),
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
            target: Some(TargetInfo {
                builtin: false,
                endpoint: "http://127.0.0.1:51080".into(),
                protocol: "ais".into(),
                source: "spec".into(),
            }),
            workload: serde_json::json!({"numworkers": 64, "pctput": 5, "statsinterval": 1.0}),
            ops,
            intervals: Vec::new(),
            intervals_file: None,
            barrier: None,
            peak_rss_bytes: Some(12 << 20),
            tls: None,
            proxies: Vec::new(),
            rate: None,
            client: None,
            warnings: Vec::new(),
        };
        Rank {
            start,
            pool,
            picks,
            file,
        }
    }

    /// Rank `rank`'s result file as [`ResultFile::read`] gives it back (intervals filled in,
    /// `intervals_file` not).
    pub fn result(&self, rank: u32, ranks: u32, intervals: u64, schema: Schema) -> ResultFile {
        let r = self.rank(rank, ranks, intervals, schema);
        let classes = [&self.pools.full, &self.pools.half][r.pool];
        let ivs = r.picks.iter().enumerate();
        let ivs = ivs.map(|(i, &k)| interval(classes, k, r.start + i as u64 * SEC));
        ResultFile {
            intervals: ivs.collect(),
            ..r.file
        }
    }

    /// Writes rank `rank`'s files into `dir`: for `/2` the carrier (the pooled intervals'
    /// bytes, each given its own timestamps) and then the JSON naming it; for `/1` the JSON
    /// with the intervals inline.
    fn write(
        &self,
        dir: &Path,
        rank: u32,
        ranks: u32,
        intervals: u64,
        schema: Schema,
    ) -> Result<(), String> {
        let json = dir.join(format!("rank-{rank:04}.json"));
        let file = match schema {
            Schema::V1 => self.result(rank, ranks, intervals, schema),
            Schema::V2 => {
                let r = self.rank(rank, ranks, intervals, schema);
                let bodies = &self.pools.bodies[r.pool];
                let mut carrier = self.pools.header.clone();
                // The header's last field is the interval count.
                let count_at = intervals::HEADER_LEN - 8;
                carrier[count_at..].copy_from_slice(&intervals.to_le_bytes());
                for (i, &k) in r.picks.iter().enumerate() {
                    let at = carrier.len();
                    carrier.extend_from_slice(&bodies[k]);
                    // An interval opens with its start and end.
                    let start = r.start + i as u64 * SEC;
                    carrier[at..at + 8].copy_from_slice(&start.to_le_bytes());
                    carrier[at + 8..at + 16].copy_from_slice(&(start + SEC).to_le_bytes());
                }
                let side = carrier_path(&json);
                std::fs::write(&side, &carrier)
                    .map_err(|e| format!("cannot write {}: {e}", side.display()))?;
                ResultFile {
                    intervals_file: Some(intervals::IntervalsFile {
                        name: format!("rank-{rank:04}.intervals"),
                        format: intervals::FORMAT.into(),
                        intervals,
                        bytes: carrier.len() as u64,
                    }),
                    ..r.file
                }
            }
        };
        let mut text = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
        text.push(b'\n');
        std::fs::write(&json, text).map_err(|e| format!("cannot write {}: {e}", json.display()))
    }
}

/// Whether `name` is one of the generated files (or a temp file of an interrupted write).
fn is_input_name(name: &str) -> bool {
    let rank = name.starts_with("rank-") || name.starts_with(".rank-");
    rank && (name.ends_with(".json") || name.ends_with(".intervals") || name.contains(".tmp."))
}

/// The generated files in `dir` (`rank-*.json` and `rank-*.intervals`), by name.
pub fn input_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let kept = name.ends_with(".json") || name.ends_with(".intervals");
            (name.starts_with("rank-") && kept).then(|| e.path())
        })
        .collect();
    out.sort();
    Ok(out)
}

/// What a complete directory's marker says for these arguments.
fn marker_text(ranks: u32, intervals: u64, schema: Schema) -> String {
    format!("{} {ranks} {intervals}\n", schema.name())
}

impl Generator {
    /// Makes `dir` hold `ranks` × `intervals` of `schema`: kept when its marker says so, else
    /// regenerated (the `rank-*` files removed first) on every available CPU. Returns whether
    /// it generated.
    pub fn prepare(
        &self,
        dir: &Path,
        ranks: u32,
        intervals: u64,
        schema: Schema,
    ) -> Result<bool, String> {
        let want = marker_text(ranks, intervals, schema);
        let marker = dir.join(MARKER);
        if std::fs::read_to_string(&marker).is_ok_and(|m| m == want) {
            return Ok(false);
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(&marker);
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(is_input_name) {
                std::fs::remove_file(e.path())
                    .map_err(|err| format!("cannot remove {}: {err}", e.path().display()))?;
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let failed: Vec<String> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || -> Result<(), String> {
                        for r in (t..ranks).step_by(threads as usize) {
                            self.write(dir, r, ranks, intervals, schema)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            workers
                .into_iter()
                .filter_map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err("a generator thread panicked".into()))
                        .err()
                })
                .collect()
        });
        if let Some(e) = failed.into_iter().next() {
            return Err(e);
        }
        std::fs::write(&marker, want)
            .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
        Ok(true)
    }
}
