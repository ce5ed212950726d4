//! Tests of the whole merge: the same outputs for every thread count, every fold order and
//! every split of the ranks, for `/1` and `/2` files alike, and where an interval outside
//! its rank's span lands.

use super::timeline::Timeline;
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

use ringload_core::hist::{new_histogram, LatencySummary};
use ringload_core::rate::{RateRecord, StepOp, StepRecord};
use ringload_core::result::{
    encode_histogram, IntervalOp, IntervalRecord, OpSummary, PhaseRecord, PhasesRecord, ResultFile,
    RunStatus, SCHEMA, SCHEMA_V1,
};

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

/// A fresh scratch directory (removed when dropped).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let d =
            std::env::temp_dir().join(format!("ringload-merge-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hist(vals: &[(u64, u64)]) -> Histogram<u64> {
    let mut h = new_histogram();
    for &(v, n) in vals {
        h.record_n(v, n).unwrap();
    }
    h
}

/// A summary whose mean is not the histogram's (as a rank's exact mean is not): the merged
/// mean is a float sum over ranks, which is what order independence must keep.
fn summary(h: &Histogram<u64>, salt: u64) -> LatencySummary {
    let mut l = LatencySummary::of(h);
    l.mean = h.mean() * (1.0 + salt as f64 / 7.0) / 3.0;
    l
}

/// What varies between ranks.
#[derive(Debug, Clone)]
struct Spec {
    /// Per interval and class (`OP_NAMES` order): (latency µs, count) pairs.
    ivs: Vec<[Vec<(u64, u64)>; N_OPS]>,
    offset: u64,
    /// Phases, service latency, a rate record, own warnings, an inconsistent count (bits 1
    /// to 16); the rank has `get_batch`, `put_mpu`, `get_mpd` (bits 32, 64, 128; a rank
    /// without a class has no key for it).
    extras: u8,
}

/// Whether the rank of `spec` has class `op`.
fn has(spec: &Spec, op: usize) -> bool {
    op < 2 || spec.extras & (32 << (op - 2)) != 0
}

fn result_file(rank: u32, ranks: u32, spec: &Spec, schema: &str) -> ResultFile {
    let start = T0 + spec.offset;
    let mut totals: [Histogram<u64>; N_OPS] = std::array::from_fn(|_| new_histogram());
    let mut intervals = Vec::new();
    for (k, pair) in spec.ivs.iter().enumerate() {
        let mut ops = BTreeMap::new();
        for (op, name) in OP_NAMES.iter().enumerate() {
            if !has(spec, op) {
                continue;
            }
            let h = hist(&pair[op]);
            totals[op].add(&h).unwrap();
            let n = h.len();
            ops.insert(
                name.to_string(),
                IntervalOp {
                    count: n,
                    bytes: n * 4096,
                    errors: k as u64 % 2,
                    histogram: encode_histogram(&h),
                },
            );
        }
        intervals.push(IntervalRecord {
            start_unix_ns: start + k as u64 * SEC,
            end_unix_ns: start + (k as u64 + 1) * SEC,
            ops,
        });
    }
    let secs = spec.ivs.len().max(1) as f64;
    let ops = OP_NAMES
        .iter()
        .enumerate()
        .filter(|&(op, _)| has(spec, op))
        .map(|(op, name)| {
            let h = &totals[op];
            let batch = *name == "get_batch";
            let count = h.len() + u64::from(spec.extras & 16 != 0 && op == 0);
            let phase = |salt: u64| PhaseRecord {
                count: h.len(),
                latency: summary(h, salt + u64::from(rank)),
                histogram: encode_histogram(h),
            };
            let service = spec.extras & 2 != 0 && op == 0;
            let s = OpSummary {
                count,
                bytes: h.len() * 4096,
                errors: u64::from(batch) * (u64::from(rank) + 1),
                objects: batch.then(|| h.len() * 64 + u64::from(rank)),
                errors_by_kind: if batch {
                    [("missing".to_string(), u64::from(rank) + 1)].into()
                } else {
                    BTreeMap::new()
                },
                throughput_bytes_per_s: (h.len() * 4096) as f64 / secs,
                ops_per_s: h.len() as f64 / secs,
                latency_us: summary(h, u64::from(rank)),
                histogram: encode_histogram(h),
                phases: (spec.extras & 1 != 0)
                    .then(|| PhasesRecord::from_all([phase(1), phase(2), phase(3), phase(4)])),
                service_latency_us: service.then(|| summary(h, 5 + u64::from(rank))),
                service_histogram: service.then(|| encode_histogram(h)),
            };
            (name.to_string(), s)
        })
        .collect();
    let rate = (spec.extras & 4 != 0).then(|| {
        let lag = hist(&[(50 + u64::from(rank), 90), (2_000, 10)]);
        let g = &totals[0];
        let step = |k: u64| StepRecord {
            target: 100.0 * (k + 1) as f64,
            achieved: 99.0 * (k + 1) as f64 + f64::from(rank) / 3.0,
            start_unix_ns: start + k * SEC,
            end_unix_ns: start + (k + 1) * SEC,
            complete: true,
            ops: [(
                "get".to_string(),
                StepOp {
                    count: g.len(),
                    errors: 0,
                    latency_us: summary(g, u64::from(rank)),
                    histogram: encode_histogram(g),
                },
            )]
            .into(),
            broke: None,
        };
        RateRecord {
            target: 200.0,
            achieved: 198.0 + f64::from(rank) / 7.0,
            arrival: "uniform".into(),
            lag_us: summary(&lag, u64::from(rank)),
            lag_histogram: encode_histogram(&lag),
            kept: true,
            slo: Some("p99=10ms".into()),
            steps: vec![step(0), step(1)],
            knee: None,
        }
    });
    ResultFile {
        schema: schema.into(),
        run_id: "prop".into(),
        rank,
        ranks,
        host: format!("node-{rank}"),
        engine_version: "0.1.0".into(),
        status: RunStatus::Completed,
        stop_reason: "duration".into(),
        error: None,
        start_unix_ns: start,
        end_unix_ns: start + spec.ivs.len() as u64 * SEC,
        target: None,
        workload: serde_json::json!({"numworkers": 4}),
        ops,
        intervals,
        intervals_file: None,
        barrier: None,
        peak_rss_bytes: Some(1 << 20),
        tls: None,
        proxies: Vec::new(),
        rate,
        client: None,
        warnings: if spec.extras & 8 != 0 {
            vec![format!("first of rank {rank}"), "second".into()]
        } else {
            Vec::new()
        },
    }
}

/// Writes every rank (`corrupt`: that rank's whole-run GET histogram is not base64).
fn write_run(dir: &Path, specs: &[Spec], corrupt: Option<usize>, schema: &str) {
    let n = specs.len() as u32;
    for (r, spec) in specs.iter().enumerate() {
        let mut f = result_file(r as u32, n, spec, schema);
        if corrupt == Some(r) {
            f.ops.get_mut("get").unwrap().histogram = "not base64!".into();
        }
        f.write_atomic(&dir.join(format!("rank-{r}.json"))).unwrap();
    }
}

fn opts(threads: usize) -> MergeOptions {
    MergeOptions {
        resolution_ns: DEFAULT_RESOLUTION_NS,
        allow_partial: true,
        threads,
    }
}

/// `x` → the next value of a xorshift sequence.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Folds the plan's heads in a shuffled order, split into shuffled partials absorbed in a
/// shuffled order.
fn merge_shuffled(dir: &Path, seed: u64) -> MergeOutput {
    let o = opts(1);
    let plan = plan_dir(dir, &o).unwrap();
    let frame = Frame::of(o.resolution_ns, &plan.heads);
    let mut x = seed | 1;
    let mut heads: Vec<&head::Head> = plan.heads.iter().collect();
    for i in (1..heads.len()).rev() {
        heads.swap(i, (next(&mut x) % (i as u64 + 1)) as usize);
    }
    let parts = 1 + (next(&mut x) % 3) as usize;
    let mut partials: Vec<Partial> = (0..parts).map(|_| Partial::new(frame).unwrap()).collect();
    for h in heads {
        let k = (next(&mut x) % parts as u64) as usize;
        partials[k].fold(h);
    }
    let mut all = partials.swap_remove((next(&mut x) % parts as u64) as usize);
    while let Some(p) = partials.pop() {
        all.absorb(p).unwrap();
    }
    finish(plan, all, &o).unwrap()
}

fn spec() -> impl Strategy<Value = Spec> {
    let class = |lo: u64, hi: u64| prop::collection::vec((lo..hi, 1u64..300), 0..5);
    let iv = (
        class(100, 20_000),
        class(1_000, 90_000),
        class(5_000, 400_000),
        class(50_000, 2_000_000),
        class(1_000, 60_000),
    );
    (
        prop::collection::vec(iv, 1..5),
        0u64..2_500_000_000,
        any::<u8>(),
    )
        .prop_map(|(ivs, offset, extras)| Spec {
            ivs: ivs
                .into_iter()
                .map(|(g, p, b, m, d)| [g, p, b, m, d])
                .collect(),
            offset,
            extras,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(20)
    })]

    /// Threads 1 to 4 and any fold order and split give byte-identical outputs.
    #[test]
    fn outputs_do_not_depend_on_threads_nor_order(
        specs in prop::collection::vec(spec(), 1..7),
        corrupt in prop::option::of(0usize..7),
        seed in any::<u64>(),
    ) {
        let corrupt = corrupt.filter(|&c| c < specs.len() && specs.len() > 1);
        let dir = Scratch::new("threads");
        write_run(&dir.0, &specs, corrupt, SCHEMA);
        let base = merge_dir(&dir.0, &opts(1)).unwrap();
        prop_assert_eq!(base.summary.partial, corrupt.is_some());
        for threads in 2..=4 {
            let m = merge_dir(&dir.0, &opts(threads)).unwrap();
            prop_assert_eq!(&m.summary_json, &base.summary_json, "threads {}", threads);
            prop_assert_eq!(&m.summary_txt, &base.summary_txt);
            prop_assert_eq!(&m.report, &base.report);
        }
        for k in 0..3 {
            let m = merge_shuffled(&dir.0, seed.wrapping_add(k));
            prop_assert_eq!(&m.summary_json, &base.summary_json, "shuffle {}", k);
            prop_assert_eq!(&m.summary_txt, &base.summary_txt);
            prop_assert_eq!(&m.report, &base.report);
        }
    }
}

/// The same ranks written as `/1` (intervals in the JSON) and as `/2` (a binary carrier)
/// merge to the same summary.
#[test]
fn v1_and_v2_files_merge_to_the_same_summary() {
    let specs: Vec<Spec> = (0..4u64)
        .map(|r| Spec {
            ivs: (0..5)
                .map(|k| {
                    [
                        // One count too wide to pack (a wide word in the carrier).
                        vec![(1_000 + 17 * r + k, 40 + k), (9_000, 3 + 200_000 * (k / 4))],
                        vec![(20_000 + r, 1 + k)],
                        vec![(60_000 + r, 2 + k)],
                        vec![(900_000, 1)],
                        vec![(7_000 + k, 3)],
                    ]
                })
                .collect(),
            offset: r * 300_000_000,
            // Ranks 1 and 3 have get_batch and get_mpd (a 5-class carrier), ranks 2 and 3
            // put_mpu.
            extras: ((r as u8) * 5) | (160 * (r as u8 % 2)) | (64 * (r as u8 / 2)),
        })
        .collect();
    let (a, b) = (Scratch::new("v1"), Scratch::new("v2"));
    write_run(&a.0, &specs, None, SCHEMA_V1);
    write_run(&b.0, &specs, None, SCHEMA);
    assert!(!a.0.join("rank-0.intervals").exists());
    assert!(b.0.join("rank-0.intervals").exists());
    let (ma, mb) = (
        merge_dir(&a.0, &opts(2)).unwrap(),
        merge_dir(&b.0, &opts(2)).unwrap(),
    );
    assert_eq!(ma.summary.ops["get"].count, mb.summary.ops["get"].count);
    // Ranks 1 and 3: 2 + 3 + 4 + 5 + 6 batches each, 64 objects a batch, plus the rank.
    assert_eq!(
        mb.summary.ops["get_batch"].objects,
        Some(2 * 20 * 64 + 1 + 3)
    );
    assert_eq!(
        mb.summary.ops["get_batch"].errors_by_kind["missing"],
        2 + 4,
        "one missing member per rank, plus the rank"
    );
    let keys: Vec<&str> = mb.summary.ops.keys().map(String::as_str).collect();
    assert_eq!(keys, ["get", "get_batch", "get_mpd", "put", "put_mpu"]);
    assert_eq!(
        std::fs::read(b.0.join("rank-1.intervals")).unwrap()[8..12],
        5u32.to_le_bytes()
    );
    assert_eq!(ma.summary_json, mb.summary_json);
    assert_eq!(ma.summary_txt, mb.summary_txt);
    assert_eq!(ma.report, mb.report);
}

/// An interval outside its rank's span goes into the rank's last (or first) bucket, wherever
/// the other ranks' spans put the timeline's ends.
#[test]
fn an_interval_outside_its_rank_span_is_clamped_into_the_span() {
    let dir = Scratch::new("clamp");
    let class = |n: u64| vec![(1_000, n)];
    let specs = [
        Spec {
            ivs: (0..3)
                .map(|k| [class(10 + k), vec![], vec![], vec![], vec![]])
                .collect(),
            offset: 0,
            extras: 0,
        },
        Spec {
            ivs: (0..10)
                .map(|_| [class(1), vec![], vec![], vec![], vec![]])
                .collect(),
            offset: 0,
            extras: 0,
        },
    ];
    let mut f0 = result_file(0, 2, &specs[0], SCHEMA);
    // Rank 0 ran 2 s: its third interval claims [T0+6 s, T0+7 s).
    f0.end_unix_ns = T0 + 2 * SEC;
    let late = &mut f0.intervals[2];
    (late.start_unix_ns, late.end_unix_ns) = (T0 + 6 * SEC, T0 + 7 * SEC);
    f0.write_atomic(&dir.0.join("rank-0.json")).unwrap();
    result_file(1, 2, &specs[1], SCHEMA)
        .write_atomic(&dir.0.join("rank-1.json"))
        .unwrap();
    for threads in [1, 2] {
        let m = merge_dir(&dir.0, &opts(threads)).unwrap();
        let ops: Vec<u64> = m.summary.series.ops["get"].iter().map(|p| p.ops).collect();
        // Bucket 2 (rank 0's end) holds the late interval's 12, not bucket 6.
        assert_eq!(
            ops,
            [11, 12, 13, 1, 1, 1, 1, 1, 1, 1, 0],
            "threads {threads}"
        );
    }
}

/// A timeline grown at the front and back keeps its buckets on the epoch grid, and one that
/// absorbs another adds bucket by bucket.
#[test]
fn timelines_grow_and_absorb() {
    let mut a = Timeline::new(SEC, 10 * SEC, 12 * SEC).unwrap();
    a.cells[0][0].ops = 5;
    assert!(!a.ensure(10 * SEC, 12 * SEC + 5).unwrap());
    assert!(a.ensure(8 * SEC, 11 * SEC).unwrap(), "the front moved");
    assert!(!a.ensure(9 * SEC, 14 * SEC).unwrap(), "only the back");
    assert_eq!((a.first, a.cells.len()), (8, 7));
    assert_eq!(a.cells[2][0].ops, 5);
    let mut b = Timeline::new(SEC, 6 * SEC, 9 * SEC).unwrap();
    b.cells[2][0].ops = 7;
    b.cells[2][0].hist.add(1000, 2);
    a.absorb(&b).unwrap();
    assert_eq!((a.first, a.cells.len()), (6, 9));
    assert_eq!(a.cells[2][0].ops, 7);
    assert_eq!(a.cells[2][0].hist.total(), 2);
    assert_eq!(a.cells[4][0].ops, 5);
    assert!(a.ensure(0, u64::MAX / 2).is_err());
}
