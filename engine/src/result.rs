//! The per-rank result file: `ringload.result/1` (DESIGN §4, documented key by key in
//! docs/results.md).
//!
//! Owns the serde types of the file, how they are built from a run's [`RunTotals`], the
//! histogram encoding (HdrHistogram V2 + DEFLATE, then standard base64), and the atomic,
//! no-overwrite write.
//!
//! Invariants:
//! - Key names are a contract with users' scripts and `ringload merge`; never rename one.
//!   New keys may be added.
//! - `ops` always holds both `get` and `put`, even when one of them did nothing.
//! - Histograms are carried losslessly so that a merge can add them; percentiles in the file
//!   are conveniences computed from those same histograms.
//! - A result file is never overwritten, and a reader never sees a half-written file: the
//!   JSON goes to a temp file in the same directory, is fsynced, then hard-linked to its final
//!   name (which fails if the name exists) and the temp name is removed. Where the file
//!   system has no hard links, an existence check plus `rename` is the fallback.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::report::RunTotals;
use crate::stats::{LatencySummary, OpStats, OPS};

/// The `schema` value of every per-rank result file.
pub const SCHEMA: &str = "ringload.result/1";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// A stop condition (duration, maxputs, totalputsize, epochs) ended the run.
    Completed,
    /// A signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) ended the run early; the numbers cover the
    /// time until then.
    Interrupted,
    /// The run could not continue (e.g. the target vanished); the numbers are partial.
    Failed,
}

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
}

/// The `target` key: which system the run loaded, and where that setting came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// True when nothing named a target and the built-in loopback target was loaded.
    pub builtin: bool,
    /// The URL loaded (for the built-in target, its loopback URL).
    pub endpoint: String,
    /// `http`, `ais` or `s3`.
    pub protocol: String,
    /// `flag`, `spec`, `env:<VARIABLE>` or `builtin`.
    pub source: String,
}

/// This process's peak resident set size (`VmHWM` in /proc/self/status), in bytes. Unlike
/// getrusage's maxrss, it covers only this program image, not the parent it was forked from.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One rank's result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    pub schema: String,
    pub run_id: String,
    pub rank: u32,
    pub ranks: u32,
    pub host: String,
    pub engine_version: String,
    pub status: RunStatus,
    pub stop_reason: String,
    /// What failed inside the engine (a core's panic or driver error), when status is
    /// `failed` for that reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    /// Which system was loaded (absent in files written before the key existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetInfo>,
    pub workload: serde_json::Value,
    pub ops: BTreeMap<String, OpSummary>,
    pub intervals: Vec<IntervalRecord>,
    /// Peak resident memory of the process that ran this rank, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
}

/// Whole-run figures of one operation class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpSummary {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub throughput_bytes_per_s: f64,
    pub ops_per_s: f64,
    pub latency_us: LatencySummary,
    /// HdrHistogram V2+DEFLATE, standard base64; µs, 3 significant digits.
    pub histogram: String,
}

/// One `--statsinterval` window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalRecord {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub ops: BTreeMap<String, IntervalOp>,
}

/// One operation class within one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalOp {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    /// HdrHistogram V2+DEFLATE, standard base64; µs, 3 significant digits.
    pub histogram: String,
}

impl IntervalOp {
    /// The interval figures of `s`, with its histogram encoded.
    pub fn of(s: &OpStats) -> IntervalOp {
        IntervalOp {
            count: s.count,
            bytes: s.bytes,
            errors: s.errors,
            histogram: encode_histogram_plain(s.histogram()),
        }
    }
}

/// Why a result file could not be written, read or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error(
        "result file {} already exists; result files are never overwritten: pass another \
         --result path or --run-id, or move the old file away",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a valid result file (JSON): {source}", .path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{} has schema '{found}', expected '{SCHEMA}'; use a ringload that reads that schema",
        .path.display()
    )]
    Schema { path: PathBuf, found: String },
    #[error("histogram is not valid base64 (expected standard alphabet with padding): {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("histogram is not an HdrHistogram V2(+DEFLATE) encoding: {0:?}")]
    Histogram(hdrhistogram::serialization::DeserializeError),
}

impl ResultFile {
    /// Builds the file from the run's metadata and the reporter's totals.
    pub fn build(meta: RunMeta, totals: &RunTotals) -> ResultFile {
        let secs = totals.end_unix_ns.saturating_sub(totals.start_unix_ns) as f64 / 1e9;
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let ops = OPS
            .iter()
            .map(|&op| {
                let s = totals.total.get(op);
                let summary = OpSummary {
                    count: s.count,
                    bytes: s.bytes,
                    errors: s.errors,
                    errors_by_kind: s.errors_by_kind(),
                    throughput_bytes_per_s: per_s(s.bytes),
                    ops_per_s: per_s(s.count),
                    latency_us: s.latency(),
                    histogram: encode_histogram(s.histogram()),
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
            engine_version: crate::ENGINE_VERSION.to_string(),
            status: meta.status,
            stop_reason: meta.stop_reason,
            error: None,
            start_unix_ns: totals.start_unix_ns,
            end_unix_ns: totals.end_unix_ns,
            target: meta.target,
            workload: meta.workload,
            ops,
            intervals: totals.intervals.clone(),
            peak_rss_bytes: meta.peak_rss_bytes,
        }
    }

    /// Writes the file atomically; refuses to replace an existing file.
    pub fn write_atomic(&self, path: &Path) -> Result<(), ResultError> {
        let io_err = |action: &'static str, p: &Path| {
            let path = p.to_path_buf();
            move |source| ResultError::Io {
                action,
                path,
                source,
            }
        };
        if path.exists() {
            return Err(ResultError::Exists(path.to_path_buf()));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().ok_or_else(|| ResultError::Io {
            action: "write",
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        })?;
        let tmp = dir.join(format!(
            ".{}.tmp.{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err("create temp file", &tmp))?;
        let written = self.write_to(file, &tmp).and_then(|()| publish(&tmp, path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        // Make the new directory entry durable; failure here is not worth failing the run.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn write_to(&self, file: File, tmp: &Path) -> Result<(), ResultError> {
        let mut w = io::BufWriter::new(file);
        serde_json::to_writer(&mut w, self).map_err(|e| ResultError::Io {
            action: "write",
            path: tmp.to_path_buf(),
            source: io::Error::other(e),
        })?;
        w.write_all(b"\n").map_err(|source| ResultError::Io {
            action: "write",
            path: tmp.to_path_buf(),
            source,
        })?;
        let file = w.into_inner().map_err(|e| ResultError::Io {
            action: "write",
            path: tmp.to_path_buf(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| ResultError::Io {
            action: "fsync",
            path: tmp.to_path_buf(),
            source,
        })
    }

    /// Reads and checks a result file (schema must be [`SCHEMA`]).
    pub fn read(path: &Path) -> Result<ResultFile, ResultError> {
        let text = fs::read_to_string(path).map_err(|source| ResultError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        // Check the schema first so that a different schema gets the clearer error.
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ResultError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        let found = v.get("schema").and_then(|s| s.as_str()).unwrap_or("");
        if found != SCHEMA {
            return Err(ResultError::Schema {
                path: path.to_path_buf(),
                found: found.to_string(),
            });
        }
        serde_json::from_value(v).map_err(|source| ResultError::Json {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Moves the finished temp file to `path` without ever replacing an existing file.
fn publish(tmp: &Path, path: &Path) -> Result<(), ResultError> {
    match fs::hard_link(tmp, path) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(ResultError::Exists(path.to_path_buf()))
        }
        // No hard links here (some network or FAT file systems): check, then rename.
        Err(_) => {
            if path.exists() {
                return Err(ResultError::Exists(path.to_path_buf()));
            }
            fs::rename(tmp, path).map_err(|source| ResultError::Io {
                action: "rename the temp file to",
                path: path.to_path_buf(),
                source,
            })
        }
    }
}

/// Encodes a histogram as HdrHistogram V2+DEFLATE in standard base64 (with padding).
/// Returns an empty string only if the histogram cannot be serialized at all (a count above
/// `i64::MAX`), which [`decode_histogram`] then rejects.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut buf) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(&buf),
        Err(_) => String::new(),
    }
}

/// Encodes a histogram as HdrHistogram V2 without compression, base64 (standard alphabet).
///
/// Used for interval histograms: a one-second histogram holds a few dozen buckets, DEFLATE
/// barely shrinks it, and inflating millions of tiny streams dominated the cost of merging
/// many ranks (benches/RESULTS.md). Whole-run histograms keep [`encode_histogram`].
pub fn encode_histogram_plain(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    match V2Serializer::new().serialize(h, &mut buf) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(&buf),
        Err(_) => String::new(),
    }
}

/// Decodes [`encode_histogram`]'s output (also accepts uncompressed V2).
pub fn decode_histogram(s: &str) -> Result<Histogram<u64>, ResultError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim())?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(ResultError::Histogram)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{ErrorKind, Op, Snapshot};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "ringload-result-{name}-{}-{}",
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
                .map(|&op| (op.as_str().to_string(), IntervalOp::of(iv.get(op))))
                .collect(),
        };
        let totals = RunTotals {
            start_unix_ns: t0,
            end_unix_ns: t0 + 2_000_000_000,
            total,
            intervals: vec![rec],
        };
        let meta = RunMeta {
            run_id: "r1".into(),
            rank: 0,
            ranks: 1,
            host: "h".into(),
            status: RunStatus::Completed,
            workload: serde_json::json!({"numworkers": 10}),
            stop_reason: "duration 2s reached".into(),
            peak_rss_bytes: Some(12 << 20),
            target: Some(TargetInfo {
                builtin: false,
                endpoint: "http://127.0.0.1:8080".into(),
                protocol: "ais".into(),
                source: "env:AIS_ENDPOINT".into(),
            }),
        };
        (ResultFile::build(meta, &totals), totals)
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
        assert_eq!(r.engine_version, crate::ENGINE_VERSION);
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
        for op in OPS {
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
    fn atomic_write_leaves_no_temp_and_refuses_overwrite() {
        let dir = scratch("atomic");
        let path = dir.join("rank-0.json");
        sample().write_atomic(&path).unwrap();
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["rank-0.json"]);
        let before = fs::read(&path).unwrap();
        let err = sample().write_atomic(&path).unwrap_err();
        assert!(matches!(err, ResultError::Exists(_)), "{err}");
        assert!(err.to_string().contains("rank-0.json"), "{err}");
        assert!(err.to_string().contains("never overwritten"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "temp file left behind"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_into_missing_dir_names_the_path() {
        let dir = scratch("missing");
        let path = dir.join("no/such/dir/rank-0.json");
        let err = sample().write_atomic(&path).unwrap_err().to_string();
        assert!(err.contains("no/such/dir"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn read_rejects_bad_input_with_clear_errors() {
        let dir = scratch("bad");
        let p = dir.join("x.json");
        fs::write(&p, "{not json").unwrap();
        assert!(matches!(
            ResultFile::read(&p).unwrap_err(),
            ResultError::Json { .. }
        ));
        fs::write(&p, r#"{"schema":"ringload.summary/1"}"#).unwrap();
        let e = ResultFile::read(&p).unwrap_err();
        assert!(e.to_string().contains("ringload.summary/1"), "{e}");
        let e = ResultFile::read(&dir.join("absent.json")).unwrap_err();
        assert!(e.to_string().contains("absent.json"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(matches!(
            decode_histogram("***"),
            Err(ResultError::Base64(_))
        ));
        assert!(matches!(
            decode_histogram("AAAAAAAA"),
            Err(ResultError::Histogram(_))
        ));
        assert!(decode_histogram("").is_err());
        // V2 compressed cookie 0x1c849314, as docs/results.md states.
        assert!(encode_histogram(&crate::stats::new_histogram()).starts_with("HISTFA"));
        let empty = decode_histogram(&encode_histogram(&crate::stats::new_histogram())).unwrap();
        assert!(empty.is_empty());
    }
}
