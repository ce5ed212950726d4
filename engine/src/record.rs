//! How a finished run becomes its result file: the run's metadata ([`RunMeta`]), the
//! reporter's totals ([`RunTotals`]) and [`build`], which turns both into a
//! [`ResultFile`].
//!
//! The file's types, its atomic write and the histogram codec live in
//! `ringload_core::result`, so that `merge` reads the format without linking the engine;
//! this module is the engine's side of that contract: it knows [`OpStats`] and the
//! reporter.

use ringload_core::result::{
    encode_histogram, BarrierRecord, OpSummary, ResultFile, RunStatus, TargetInfo, SCHEMA,
};

use crate::report::RunTotals;
use crate::stats::Op;

/// What the caller knows about the run besides its statistics.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub run_id: String,
    pub rank: u32,
    pub ranks: u32,
    pub host: String,
    pub status: RunStatus,
    /// The effective workload (`serde_json::to_value(&workload)`), without secrets.
    pub workload: serde_json::Value,
    /// Why the run stopped: one token, e.g. `"duration"`, `"epochs"`, `"signal"`.
    pub stop_reason: String,
    /// The process's peak resident memory ([`peak_rss_bytes`]), if known.
    pub peak_rss_bytes: Option<u64>,
    /// Which system was loaded and why, when known.
    pub target: Option<TargetInfo>,
    /// What passing the start barrier cost, when the rank waited at one.
    pub barrier: Option<BarrierRecord>,
}

/// Builds the file from the run's metadata and the reporter's totals.
pub fn build(meta: RunMeta, totals: &RunTotals) -> ResultFile {
    let secs = totals.end_unix_ns.saturating_sub(totals.start_unix_ns) as f64 / 1e9;
    let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let shown = totals.total.shown_ops();
    let ops = shown
        .iter()
        .map(|&op| {
            let s = totals.total.get(op);
            let summary = OpSummary {
                count: s.count,
                bytes: s.bytes,
                errors: s.errors,
                objects: (op == Op::GetBatch).then_some(s.objects),
                errors_by_kind: s.errors_by_kind(),
                throughput_bytes_per_s: per_s(s.bytes),
                ops_per_s: per_s(s.count),
                latency_us: s.latency(),
                histogram: encode_histogram(s.histogram()),
                phases: s.phases().map(|p| p.record()),
                service_latency_us: s.service().map(|v| v.latency()),
                service_histogram: s.service().map(|v| v.encoded()),
            };
            (op.as_str().to_string(), summary)
        })
        .collect();
    ResultFile {
        schema: SCHEMA.to_string(),
        run_id: meta.run_id,
        rank: meta.rank,
        ranks: meta.ranks,
        host: meta.host,
        engine_version: ringload_core::VERSION.to_string(),
        status: meta.status,
        stop_reason: meta.stop_reason,
        error: None,
        start_unix_ns: totals.start_unix_ns,
        end_unix_ns: totals.end_unix_ns,
        target: meta.target,
        workload: meta.workload,
        ops,
        intervals: totals
            .intervals
            .iter()
            .map(|iv| {
                let mut iv = iv.clone();
                iv.ops
                    .retain(|k, _| shown.iter().any(|op| op.as_str() == k));
                iv
            })
            .collect(),
        intervals_file: None,
        peak_rss_bytes: meta.peak_rss_bytes,
        tls: totals.tls.as_ref().map(|t| t.record.clone()),
        proxies: totals.proxies.clone(),
        rate: totals.rate.clone(),
        client: totals.client.clone(),
        barrier: meta.barrier,
        warnings: totals.warnings.clone(),
    }
}

/// This process's peak resident set size (`VmHWM` in /proc/self/status), in bytes. Unlike
/// getrusage's maxrss, it covers only this program image, not the parent it was forked from.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use ringload_core::hist::LatencySummary;
    use ringload_core::result::{decode_histogram, IntervalRecord};

    use super::*;
    use crate::stats::{ErrorKind, Op, Snapshot, OPS};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "ringload-record-{name}-{}-{}",
            std::process::id(),
            crate::stats::unix_now_ns()
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }
    fn sample() -> ResultFile {
        sample_with_totals().0
    }

    fn sample_with_totals() -> (ResultFile, RunTotals) {
        let t0 = 1_700_000_000_000_000_000u64;
        let mut total = Snapshot::new(t0);
        let mut iv = Snapshot::new(t0);
        for i in 0..10_000u64 {
            total.get_mut(Op::Get).record_ok(1 << 20, 100 + i * 3);
            iv.get_mut(Op::Get).record_ok(1 << 20, 100 + i * 3);
        }
        total.get_mut(Op::Put).record_ok(4096, 77_000);
        total.get_mut(Op::Put).record_err(ErrorKind::Http(503));
        total.end_unix_ns = t0 + 2_000_000_000;
        let rec = IntervalRecord {
            start_unix_ns: t0,
            end_unix_ns: t0 + 2_000_000_000,
            ops: OPS
                .iter()
                .map(|&op| (op.as_str().to_string(), iv.get(op).interval()))
                .collect(),
        };
        let totals = RunTotals {
            start_unix_ns: t0,
            end_unix_ns: t0 + 2_000_000_000,
            total,
            intervals: vec![rec],
            tls: None,
            proxies: Vec::new(),
            rate: None,
            client: None,
            warnings: Vec::new(),
        };
        (build(meta(), &totals), totals)
    }

    fn meta() -> RunMeta {
        RunMeta {
            run_id: "r1".into(),
            rank: 0,
            ranks: 1,
            host: "h".into(),
            status: RunStatus::Completed,
            workload: serde_json::json!({"numworkers": 10}),
            stop_reason: "duration 2s reached".into(),
            peak_rss_bytes: Some(12 << 20),
            barrier: None,
            target: Some(TargetInfo {
                builtin: false,
                endpoint: "http://127.0.0.1:8080".into(),
                protocol: "ais".into(),
                source: "env:AIS_ENDPOINT".into(),
            }),
        }
    }

    #[test]
    fn tls_is_written_for_a_run_over_tls_only() {
        let (plain, mut totals) = sample_with_totals();
        let v = serde_json::to_value(&plain).unwrap();
        assert!(v.get("tls").is_none(), "no tls key for a plaintext run");
        totals.tls = Some(crate::report::tls::TlsOutcome {
            record: ringload_core::result::TlsRecord {
                version: Some("TLSv1.3".into()),
                cipher: Some("TLS13_AES_128_GCM_SHA256".into()),
                verified: false,
                resumed_pct: 75.0,
                handshakes: 4,
                resumed: 3,
                roots: "none".into(),
                source: None,
            },
            failure: None,
        });
        let meta = RunMeta {
            run_id: "r1".into(),
            rank: 0,
            ranks: 1,
            host: "h".into(),
            status: RunStatus::Completed,
            workload: serde_json::json!({}),
            stop_reason: "duration".into(),
            peak_rss_bytes: None,
            target: None,
            barrier: None,
        };
        let v = serde_json::to_value(build(meta, &totals)).unwrap();
        assert_eq!(
            v["tls"],
            serde_json::json!({
                "version": "TLSv1.3",
                "cipher": "TLS13_AES_128_GCM_SHA256",
                "verified": false,
                "resumed_pct": 75.0,
                "handshakes": 4,
                "resumed": 3,
                "roots": "none"
            })
        );
    }

    #[test]
    fn error_is_written_only_when_set_and_read_back() {
        let mut r = sample();
        let v = serde_json::to_value(&r).unwrap();
        assert!(v.get("error").is_none(), "no error key on a healthy run");
        r.error = Some("core 1 panicked: boom".into());
        let text = serde_json::to_string(&r).unwrap();
        let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
        assert!(at("stop_reason") < at("error") && at("error") < at("start_unix_ns"));
        let back: ResultFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.error.as_deref(), Some("core 1 panicked: boom"));
    }

    #[test]
    fn build_fills_the_contract() {
        let r = sample();
        assert_eq!(r.schema, SCHEMA);
        assert_eq!(r.engine_version, ringload_core::VERSION);
        assert_eq!(r.ops.keys().collect::<Vec<_>>(), ["get", "put"]);
        let get = &r.ops["get"];
        assert_eq!(get.count, 10_000);
        assert!((get.ops_per_s - 5000.0).abs() < 1e-6);
        assert!((get.throughput_bytes_per_s - 5000.0 * 1048576.0).abs() < 1e-3);
        let put = &r.ops["put"];
        assert_eq!(put.errors_by_kind["http-503"], 1);
        assert_eq!((put.latency_us.min, put.latency_us.max), (77_000, 77_000));
        assert_eq!(put.latency_us.p50, 77_000);
        let v = serde_json::to_value(&r).unwrap();
        for key in [
            "schema",
            "run_id",
            "rank",
            "ranks",
            "host",
            "engine_version",
            "status",
            "stop_reason",
            "start_unix_ns",
            "end_unix_ns",
            "target",
            "workload",
            "ops",
            "intervals",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["target"]["source"], "env:AIS_ENDPOINT");
        assert_eq!(v["target"]["builtin"], false);
        // A file written before the key existed still reads.
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("target");
        let back: ResultFile = serde_json::from_value(old).unwrap();
        assert_eq!(back.target, None);
        assert_eq!(v["status"], "completed");
        let lat = &v["ops"]["get"]["latency_us"];
        for key in ["min", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(lat.get(key).is_some(), "missing latency_us.{key}");
        }
        let iv = &v["intervals"][0]["ops"]["put"];
        for key in ["count", "bytes", "errors", "histogram"] {
            assert!(iv.get(key).is_some(), "missing intervals[].ops.put.{key}");
        }
        for (s, st) in [
            ("interrupted", RunStatus::Interrupted),
            ("failed", RunStatus::Failed),
        ] {
            assert_eq!(serde_json::to_value(st).unwrap(), s);
        }
    }

    #[test]
    fn round_trip_keeps_histograms_exact() {
        let dir = scratch("rt");
        let path = dir.join("rank-0.json");
        let (r, totals) = sample_with_totals();
        r.write_atomic(&path).unwrap();
        let back = ResultFile::read(&path).unwrap();
        assert_eq!(back, r);
        let shown = totals.total.shown_ops();
        assert_eq!(shown, [Op::Get, Op::Put], "no ML class: get and put only");
        let keys: Vec<&str> = back.ops.keys().map(String::as_str).collect();
        assert_eq!(keys, ["get", "put"]);
        for op in shown {
            let s = &back.ops[op.as_str()];
            let h = decode_histogram(&s.histogram).unwrap();
            let orig = totals.total.get(op).histogram();
            assert_eq!(&h, orig, "{op:?}");
            assert_eq!(h.len(), s.count, "{op:?}");
            assert_eq!(LatencySummary::of(&h), LatencySummary::of(orig), "{op:?}");
            let l = totals.total.get(op).latency();
            assert_eq!(s.latency_us, l, "{op:?}");
        }
        let iv = decode_histogram(&back.intervals[0].ops["get"].histogram).unwrap();
        assert_eq!(iv.len(), 10_000);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_get_batch_run_round_trips_with_its_objects_and_a_five_class_carrier() {
        let dir = scratch("ml");
        let path = dir.join("rank-0.json");
        let (_, mut totals) = sample_with_totals();
        let b = totals.total.get_mut(Op::GetBatch);
        b.record_ok(64 * 16_384, 40_000);
        b.record_objects(63);
        b.record_err(ErrorKind::Missing);
        let mut iv = Snapshot::new(totals.start_unix_ns);
        iv.get_mut(Op::GetBatch).record_ok(64 * 16_384, 40_000);
        totals.intervals[0]
            .ops
            .insert("get_batch".into(), iv.get(Op::GetBatch).interval());
        let r = build(meta(), &totals);
        let keys: Vec<&str> = r.ops.keys().map(String::as_str).collect();
        assert_eq!(keys, ["get", "get_batch", "put"]);
        let ivk: Vec<&str> = r.intervals[0].ops.keys().map(String::as_str).collect();
        assert_eq!(ivk, ["get", "get_batch", "put"], "the shown classes only");
        let gb = &r.ops["get_batch"];
        assert_eq!((gb.count, gb.errors, gb.objects), (1, 1, Some(63)));
        assert_eq!(gb.errors_by_kind.get("missing"), Some(&1));
        assert_eq!(r.ops["get"].objects, None);
        r.write_atomic(&path).unwrap();
        let carrier = fs::read(dir.join("rank-0.intervals")).unwrap();
        assert_eq!(carrier[8..12], 5u32.to_le_bytes(), "a 5-class carrier");
        assert_eq!(ResultFile::read(&path).unwrap(), r);
        fs::remove_dir_all(&dir).unwrap();
    }
}
