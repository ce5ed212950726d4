//! The per-rank result file: `ringload.result/2` (documented key by key in docs/results.md).
//!
//! Owns the serde types of the file, the histogram encoding (HdrHistogram V2 + DEFLATE, then
//! standard base64), and the atomic, no-overwrite write. A `/2` file keeps its intervals in a
//! binary carrier beside it ([`crate::intervals`], `rank-<r>.intervals`, named by the
//! `intervals_file` key); a `/1` file carries them inline as JSON. Both are read. The engine builds a file from a run's statistics
//! (`ringload_engine::record`); `merge` reads it with [`ResultFile::read`].
//!
//! Invariants:
//! - Key names are a contract with users' scripts and `ringload merge`; never rename one.
//!   New keys may be added.
//! - `ops` always holds both `get` and `put`, even when one of them did nothing.
//! - Histograms are carried losslessly so that a merge can add them; percentiles in the file
//!   are conveniences computed from those same histograms.
//! - A result file is never overwritten, and a reader never sees a half-written file: the
//!   carrier is published first, then the JSON (so a JSON file names a carrier that is whole);
//!   each goes to a temp file in the same directory, is fsynced, then hard-linked to its final
//!   name (which fails if the name exists) and the temp name is removed. Where the file
//!   system has no hard links, an existence check plus `rename` is the fallback.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::hist::LatencySummary;

mod file_io;
pub use file_io::carrier_path;

/// The `schema` value of every per-rank result file this ringload writes.
pub const SCHEMA: &str = "ringload.result/2";
/// The earlier schema (intervals inline as JSON), still read; written only on request (tests,
/// benchmarks).
pub const SCHEMA_V1: &str = "ringload.result/1";

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

impl RunStatus {
    /// The name in the file (`completed`, `interrupted`, `failed`), for readers that keep the
    /// status as text (the merge's fast head scanner).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
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
    /// The intervals. In the JSON of a `/1` file only; a `/2` file names its carrier in
    /// `intervals_file` instead, and [`ResultFile::read`] fills this from it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<IntervalRecord>,
    /// `/2`: where the intervals are, on disk only: [`ResultFile::write_atomic`] sets it in
    /// the JSON, [`ResultFile::read`] reads the carrier and clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals_file: Option<crate::intervals::IntervalsFile>,
    /// Peak resident memory of the process that ran this rank, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// The run's TLS, for a run over https (absent for plaintext runs and in files written
    /// before the key existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsRecord>,
    /// `--random-proxy`: the requests sent to each AIS proxy, in the cluster map's order
    /// (absent for other runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxyCount>,
    /// `--rate`: the target, what was achieved, the schedule lag and a sweep's steps (absent
    /// for a closed-loop run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<crate::rate::RateRecord>,
    /// The rank's self-diagnosis (absent in files written before the key existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<crate::client::ClientRecord>,
    /// The rank's wait at the start barrier (`[run] barrier = true`; absent without one, for a
    /// rank that failed at it, and in files written before the key existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barrier: Option<BarrierRecord>,
    /// What makes this rank's numbers less than they seem, one sentence each (a rate not kept,
    /// a client-bound rank); empty when nothing does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The `barrier` key: what passing the start barrier cost this rank.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BarrierRecord {
    /// Seconds from this rank's check-in until it saw the barrier open.
    pub waited_s: f64,
    /// File-system lookups this rank made at the barrier: each stat, open, create or directory
    /// listing of a barrier or result file name, as a shared filesystem's server sees them.
    pub lookups: u64,
}

/// One entry of the `proxies` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyCount {
    /// The proxy's public URL, from the cluster map.
    pub url: String,
    /// Requests sent to it (each redirect a target answers is not counted again).
    pub requests: u64,
}

impl ProxyCount {
    /// The summary's line for a `--random-proxy` run (the run's and the merge's):
    /// `proxies: 2, requests 51% / 49%`, each proxy's share of the requests in the map's order;
    /// `None` for other runs.
    pub fn line(p: &[ProxyCount]) -> Option<String> {
        if p.is_empty() {
            return None;
        }
        let total: u64 = p.iter().map(|x| x.requests).sum();
        let shares: Vec<String> = p
            .iter()
            .map(|x| match total {
                0 => "0%".to_string(),
                t => format!("{}%", (x.requests * 100 + t / 2) / t),
            })
            .collect();
        Some(format!(
            "proxies: {}, requests {}\n",
            p.len(),
            shares.join(" / ")
        ))
    }

    /// The ranks' `proxies` keys merged: each proxy's requests summed by URL, in the order the
    /// URLs first appear (ranks of one run read the same map, so the same order).
    pub fn merge<'a>(ranks: impl IntoIterator<Item = &'a [ProxyCount]>) -> Vec<ProxyCount> {
        let mut out: Vec<ProxyCount> = Vec::new();
        for p in ranks.into_iter().flatten() {
            match out.iter_mut().find(|o| o.url == p.url) {
                Some(o) => o.requests += p.requests,
                None => out.push(p.clone()),
            }
        }
        out
    }
}

/// The `tls` key: how a run over https spoke TLS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsRecord {
    /// `TLSv1.3` or `TLSv1.2`; null when no handshake completed; `mixed` in a merge whose
    /// ranks differ.
    pub version: Option<String>,
    /// The cipher suite (IANA name, e.g. `TLS13_AES_256_GCM_SHA384`); null and `mixed` as
    /// `version`.
    pub cipher: Option<String>,
    /// False with `--tls-insecure` (or `AIS_SKIP_VERIFY_CRT`): certificates were not checked.
    pub verified: bool,
    /// `resumed` as a percentage of `handshakes` (0 when there were none).
    pub resumed_pct: f64,
    /// Handshakes completed, fresh and resumed.
    pub handshakes: u64,
    /// Handshakes that resumed an earlier session (TLS 1.3 tickets).
    pub resumed: u64,
    /// Whom the run trusted: `system`, `bundled`, `ca-file`, `built-in` or `none`
    /// (`--tls-insecure`); `mixed` in a merge whose ranks differ.
    pub roots: String,
    /// The setting behind `ca-file` or `none` when it was not the flag: `AIS_CLIENT_CA`,
    /// `AIS_SKIP_VERIFY_CRT`, `the spec's tls_ca`, `the spec's tls_insecure` (absent for the
    /// flags, the other kinds, and a merge whose ranks differ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Whom a run trusts, in the words of the plan line, the summary and `merge`: `roots` is a
/// [`TlsRecord::roots`] kind and `source` the setting behind it ([`TlsRecord::source`]).
pub fn roots_words(roots: &str, source: Option<&str>) -> String {
    match roots {
        "system" => "system roots".into(),
        "bundled" => "bundled roots, the system has none".into(),
        "ca-file" => format!("{} bundle", source.unwrap_or("--tls-ca")),
        "built-in" => "the built-in target's throwaway CA".into(),
        "none" => source.unwrap_or("--tls-insecure").into(),
        other => format!("{other} roots"),
    }
}

impl TlsRecord {
    /// `verified (system roots)`, `NOT verified (AIS_SKIP_VERIFY_CRT)`: the summary's and
    /// `merge`'s words for the trust.
    pub fn trust_words(&self) -> String {
        let words = roots_words(&self.roots, self.source.as_deref());
        if self.verified {
            format!("verified ({words})")
        } else if self.roots == "none" {
            format!("NOT verified ({words})")
        } else {
            // A merge where some ranks verified and others did not.
            "NOT verified on every rank".into()
        }
    }

    /// `resumed` as a percentage of `handshakes`; 0 without handshakes.
    pub fn pct(resumed: u64, handshakes: u64) -> f64 {
        if handshakes == 0 {
            0.0
        } else {
            resumed as f64 * 100.0 / handshakes as f64
        }
    }
}

/// Whole-run figures of one operation class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpSummary {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    /// `get_batch`: the objects (or files in shards) the successful batches delivered; absent
    /// for every other class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub throughput_bytes_per_s: f64,
    pub ops_per_s: f64,
    pub latency_us: LatencySummary,
    /// HdrHistogram V2+DEFLATE, standard base64; µs, 3 significant digits.
    pub histogram: String,
    /// Per-phase latency (`--trace-http`); absent when the run was not traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhasesRecord>,
    /// `--rate`: latency from each request's actual send (`latency_us` then counts from its
    /// intended start); absent for a closed-loop run, whose two are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_latency_us: Option<LatencySummary>,
    /// The histogram of `service_latency_us` (same encoding as `histogram`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_histogram: Option<String>,
}

/// `ops.<op>.phases`: one latency summary per phase of a traced run (the phases are
/// [`crate::hist::PHASE_NAMES`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhasesRecord {
    pub connect: PhaseRecord,
    pub redirect: PhaseRecord,
    pub first_byte: PhaseRecord,
    pub body: PhaseRecord,
    /// `put_mpu` only: each part's latency (send to last answer byte), one per part sent
    /// and answered with success; absent for every other class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<PhaseRecord>,
}

impl PhasesRecord {
    /// The phases in [`crate::hist::PHASE_NAMES`] order.
    pub fn all(&self) -> [&PhaseRecord; 4] {
        [&self.connect, &self.redirect, &self.first_byte, &self.body]
    }

    /// Builds the record from the phases in [`crate::hist::PHASE_NAMES`] order.
    pub fn from_all([connect, redirect, first_byte, body]: [PhaseRecord; 4]) -> PhasesRecord {
        PhasesRecord {
            connect,
            redirect,
            first_byte,
            body,
            part: None,
        }
    }

    /// `(count, p50, p99)` of each phase, for [`crate::hist::phases_line`].
    pub fn line_figures(&self) -> [(u64, u64, u64); 4] {
        self.all().map(|p| (p.count, p.latency.p50, p.latency.p99))
    }
}

/// One phase of one operation class: how many operations passed through it, the same latency
/// figures as `latency_us` (µs; zeros when `count` is 0) and its histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub count: u64,
    #[serde(flatten)]
    pub latency: LatencySummary,
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
    use crate::hist::new_histogram;
    use std::fs;

    #[test]
    fn proxies_merge_by_url_in_first_seen_order_and_word_their_shares() {
        let pc = |url: &str, requests| ProxyCount {
            url: url.into(),
            requests,
        };
        let a = [pc("http://p0", 10), pc("http://p1", 30)];
        let b = [pc("http://p0", 20), pc("http://p1", 40)];
        let m = ProxyCount::merge([&a[..], &b[..], &[][..]]);
        assert_eq!(m, [pc("http://p0", 30), pc("http://p1", 70)]);
        assert_eq!(
            ProxyCount::line(&m).as_deref(),
            Some("proxies: 2, requests 30% / 70%\n")
        );
        assert_eq!(ProxyCount::line(&[]), None);
        assert!(ProxyCount::merge([&[][..]]).is_empty());
    }

    #[test]
    fn trust_is_worded_once_naming_its_source() {
        let mut r = TlsRecord {
            version: None,
            cipher: None,
            verified: true,
            resumed_pct: 0.0,
            handshakes: 0,
            resumed: 0,
            roots: "ca-file".into(),
            source: None,
        };
        assert_eq!(r.trust_words(), "verified (--tls-ca bundle)");
        r.source = Some("AIS_CLIENT_CA".into());
        assert_eq!(r.trust_words(), "verified (AIS_CLIENT_CA bundle)");
        (r.verified, r.roots) = (false, "none".into());
        r.source = Some("the spec's tls_insecure".into());
        assert_eq!(r.trust_words(), "NOT verified (the spec's tls_insecure)");
        r.roots = "mixed".into();
        assert_eq!(r.trust_words(), "NOT verified on every rank");
        assert_eq!(roots_words("system", None), "system roots");
        // Files written before the key existed read without it.
        let old = r#"{"version":null,"cipher":null,"verified":true,"resumed_pct":0.0,"handshakes":0,"resumed":0,"roots":"system"}"#;
        let back: TlsRecord = serde_json::from_str(old).unwrap();
        assert_eq!(back.source, None);
    }

    fn scratch(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let d = std::env::temp_dir().join(format!(
            "ringload-core-result-{name}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// A file with one GET histogram of 1,000 values and an empty PUT.
    fn sample() -> ResultFile {
        let mut h = new_histogram();
        for i in 0..1_000u64 {
            h.record(100 + i * 7).unwrap();
        }
        let op = |h: &Histogram<u64>| OpSummary {
            count: h.len(),
            bytes: h.len() * 4096,
            errors: 0,
            objects: None,
            errors_by_kind: BTreeMap::new(),
            throughput_bytes_per_s: 0.0,
            ops_per_s: 0.0,
            latency_us: LatencySummary::of(h),
            histogram: encode_histogram(h),
            phases: None,
            service_latency_us: None,
            service_histogram: None,
        };
        let ops = [("get", op(&h)), ("put", op(&new_histogram()))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        ResultFile {
            schema: SCHEMA.to_string(),
            run_id: "r1".into(),
            rank: 0,
            ranks: 1,
            host: "h".into(),
            engine_version: crate::VERSION.into(),
            status: RunStatus::Completed,
            stop_reason: "duration".into(),
            error: None,
            start_unix_ns: 1,
            end_unix_ns: 2,
            target: None,
            workload: serde_json::json!({"numworkers": 1}),
            tls: None,
            proxies: Vec::new(),
            rate: None,
            client: None,
            barrier: None,
            warnings: Vec::new(),
            ops,
            intervals_file: None,
            intervals: vec![IntervalRecord {
                start_unix_ns: 1,
                end_unix_ns: 2,
                ops: [(
                    "get".to_string(),
                    IntervalOp {
                        count: h.len(),
                        bytes: 0,
                        errors: 0,
                        histogram: encode_histogram_plain(&h),
                    },
                )]
                .into_iter()
                .chain([(
                    "put".to_string(),
                    IntervalOp {
                        count: 0,
                        bytes: 0,
                        errors: 0,
                        histogram: encode_histogram_plain(&new_histogram()),
                    },
                )])
                .collect(),
            }],
            peak_rss_bytes: None,
        }
    }

    #[test]
    fn write_then_read_is_identity_and_histograms_are_exact() {
        let dir = scratch("rt");
        let path = dir.join("rank-0.json");
        let r = sample();
        r.write_atomic(&path).unwrap();
        let back = ResultFile::read(&path).unwrap();
        // The JSON names the carrier; the intervals come back from it.
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let named: crate::intervals::IntervalsFile =
            serde_json::from_value(json["intervals_file"].clone()).unwrap();
        assert_eq!(named.name, "rank-0.intervals");
        assert_eq!(named.intervals, 1);
        assert_eq!(
            named.bytes,
            fs::metadata(dir.join("rank-0.intervals")).unwrap().len()
        );
        assert_eq!(json["schema"], SCHEMA);
        assert!(json.get("intervals").is_none(), "{json}");
        assert_eq!(back, r);
        // A `/1` file carries them inline, and reads back the same.
        let v1 = ResultFile {
            schema: SCHEMA_V1.into(),
            ..r.clone()
        };
        let p1 = dir.join("rank-1.json");
        v1.write_atomic(&p1).unwrap();
        assert!(!dir.join("rank-1.intervals").exists());
        assert_eq!(ResultFile::read(&p1).unwrap(), v1);
        // A carrier that is not what the JSON says is refused, naming it.
        fs::write(dir.join("rank-0.intervals"), b"RLIVALS1").unwrap();
        let e = ResultFile::read(&path).unwrap_err().to_string();
        assert!(
            e.contains("rank-0.intervals") && e.contains("bytes, but"),
            "{e}"
        );
        let h = decode_histogram(&back.ops["get"].histogram).unwrap();
        assert_eq!(h.len(), 1_000);
        assert_eq!(LatencySummary::of(&h), back.ops["get"].latency_us);
        let iv = decode_histogram(&back.intervals[0].ops["get"].histogram).unwrap();
        assert_eq!(iv, h);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn phases_are_absent_unless_traced_and_flat_like_latency_when_present() {
        let mut f = sample();
        let plain = serde_json::to_value(&f).unwrap();
        assert!(plain["ops"]["get"].get("phases").is_none(), "{plain}");
        let mut h = new_histogram();
        h.record(250).unwrap();
        let one = PhaseRecord {
            count: 1,
            latency: LatencySummary::of(&h),
            histogram: encode_histogram(&h),
        };
        let none = PhaseRecord {
            count: 0,
            latency: LatencySummary::default(),
            histogram: encode_histogram(&new_histogram()),
        };
        let rec = PhasesRecord::from_all([one.clone(), none, one.clone(), one]);
        f.ops.get_mut("get").unwrap().phases = Some(rec.clone());
        let v = serde_json::to_value(&f).unwrap();
        let fb = &v["ops"]["get"]["phases"]["first_byte"];
        assert_eq!(fb["count"], 1);
        assert_eq!(fb["p50"], v["ops"]["get"]["phases"]["body"]["p50"]);
        assert!(fb["p999"].is_u64() && fb["histogram"].is_string(), "{fb}");
        assert_eq!(v["ops"]["get"]["phases"]["redirect"]["count"], 0);
        let back: ResultFile = serde_json::from_value(v).unwrap();
        assert_eq!(back.ops["get"].phases.as_ref(), Some(&rec));
        assert_eq!(rec.line_figures()[1], (0, 0, 0));
        let old: ResultFile = serde_json::from_value(plain).unwrap();
        assert!(old.ops["get"].phases.is_none());
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
        let mut names = names;
        names.sort();
        assert_eq!(names, ["rank-0.intervals", "rank-0.json"]);
        let before = fs::read(&path).unwrap();
        let err = sample().write_atomic(&path).unwrap_err();
        assert!(matches!(err, ResultError::Exists(_)), "{err}");
        assert!(err.to_string().contains("rank-0.json"), "{err}");
        assert!(err.to_string().contains("never overwritten"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            2,
            "temp file left behind"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_carrier_is_never_overwritten_nor_left_ambiguous() {
        let dir = scratch("carrier");
        // A carrier left behind by an earlier attempt: refused, and no JSON appears.
        fs::write(dir.join("rank-0.intervals"), b"old").unwrap();
        let e = sample().write_atomic(&dir.join("rank-0.json")).unwrap_err();
        assert!(
            matches!(e, ResultError::Exists(ref p) if p.ends_with("rank-0.intervals")),
            "{e}"
        );
        assert!(!dir.join("rank-0.json").exists());
        assert_eq!(fs::read(dir.join("rank-0.intervals")).unwrap(), b"old");
        // A result path that is its own carrier's name.
        let e = sample().write_atomic(&dir.join("x.intervals")).unwrap_err();
        assert!(
            e.to_string().contains("end the result path in .json"),
            "{e}"
        );
        // A file with both inline intervals and a carrier is refused, not half read.
        let path = dir.join("rank-1.json");
        sample().write_atomic(&path).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        v["intervals"] = serde_json::to_value(&sample().intervals).unwrap();
        fs::write(&path, v.to_string()).unwrap();
        let e = ResultFile::read(&path).unwrap_err().to_string();
        assert!(
            e.contains("both inline intervals and an intervals_file"),
            "{e}"
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
    fn status_names_are_the_serde_names() {
        for st in [
            RunStatus::Completed,
            RunStatus::Interrupted,
            RunStatus::Failed,
        ] {
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
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
        assert!(encode_histogram(&new_histogram()).starts_with("HISTFA"));
        let empty = decode_histogram(&encode_histogram(&new_histogram())).unwrap();
        assert!(empty.is_empty());
    }
}
