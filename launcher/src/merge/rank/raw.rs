//! The serde shapes of a rank's result file (the borrowed `Raw*` structs): what the heavy
//! pass parses before staging. Kept apart from the reader so the file layout it accepts
//! reads in one place; histograms stay borrowed byte slices until they are decoded.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use ringload_core::client::ClientRecord;
use ringload_core::hist::LatencySummary;
use ringload_core::intervals::IntervalsFile;
use ringload_core::rate::RateRecord;
use ringload_core::result::{PhasesRecord, ProxyCount, TlsRecord};

use super::super::scan;

#[derive(Deserialize)]
pub(super) struct RawFile<'a> {
    #[serde(default)]
    pub(super) peak_rss_bytes: Option<u64>,
    /// Absent for plaintext runs and in files written before the key existed.
    #[serde(default)]
    pub(super) tls: Option<TlsRecord>,
    /// Absent except for `--random-proxy` runs.
    #[serde(default)]
    pub(super) proxies: Vec<ProxyCount>,
    #[serde(borrow)]
    pub(super) ops: RawClasses<RawOp<'a>>,
    #[serde(default, borrow)]
    pub(super) intervals: Vec<RawInterval<'a>>,
    /// A `/2` file's interval carrier.
    #[serde(default)]
    pub(super) intervals_file: Option<IntervalsFile>,
    /// A `--rate` run's schedule and steps (absent for a closed loop and older files).
    #[serde(default)]
    pub(super) rate: Option<RateRecord>,
    /// The rank's self-diagnosis (absent in older files).
    #[serde(default)]
    pub(super) client: Option<ClientRecord>,
    #[serde(default)]
    pub(super) warnings: Vec<String>,
}

/// The classes of an `ops` map (any other key is ignored, as before).
#[derive(Deserialize)]
pub(super) struct RawClasses<T> {
    pub(super) get: Option<T>,
    pub(super) put: Option<T>,
    pub(super) get_batch: Option<T>,
    pub(super) put_mpu: Option<T>,
    pub(super) get_mpd: Option<T>,
}

impl<T> RawClasses<T> {
    pub(super) fn at(&self, op: usize) -> Option<&T> {
        match op {
            0 => self.get.as_ref(),
            1 => self.put.as_ref(),
            2 => self.get_batch.as_ref(),
            3 => self.put_mpu.as_ref(),
            _ => self.get_mpd.as_ref(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RawOp<'a> {
    pub(super) count: u64,
    pub(super) bytes: u64,
    pub(super) errors: u64,
    /// `get_batch`: the objects its batches delivered.
    #[serde(default)]
    pub(super) objects: Option<u64>,
    #[serde(default, borrow)]
    pub(super) errors_by_kind: BTreeMap<Cow<'a, str>, u64>,
    pub(super) latency_us: LatencySummary,
    /// Raw bytes, not `str`: base64 rejects non-ASCII, so a UTF-8 check would be wasted.
    #[serde(borrow)]
    pub(super) histogram: Cow<'a, [u8]>,
    /// The phases (absent in older files).
    #[serde(default)]
    pub(super) phases: Option<PhasesRecord>,
    /// A `--rate` run's latency from the actual send (absent for a closed loop).
    #[serde(default)]
    pub(super) service_latency_us: Option<LatencySummary>,
    #[serde(default)]
    pub(super) service_histogram: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawInterval<'a> {
    pub(super) start_unix_ns: u64,
    pub(super) end_unix_ns: u64,
    #[serde(borrow)]
    pub(super) ops: RawClasses<RawIntervalOp<'a>>,
}

impl RawInterval<'_> {
    /// The scanner's form (a missing class adds nothing, exactly like an all-zero one).
    pub(super) fn scanned(&self) -> scan::Interval<'_> {
        fn op<'s>(o: &'s Option<RawIntervalOp>) -> scan::Op<'s> {
            o.as_ref().map_or_else(scan::Op::default, |o| scan::Op {
                count: o.count,
                bytes: o.bytes,
                errors: o.errors,
                histogram: &o.histogram,
            })
        }
        scan::Interval {
            start_unix_ns: self.start_unix_ns,
            end_unix_ns: self.end_unix_ns,
            ops: [
                op(&self.ops.get),
                op(&self.ops.put),
                op(&self.ops.get_batch),
                op(&self.ops.put_mpu),
                op(&self.ops.get_mpd),
            ],
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RawIntervalOp<'a> {
    pub(super) count: u64,
    pub(super) bytes: u64,
    pub(super) errors: u64,
    /// Raw bytes, not `str`: base64 rejects non-ASCII, so a UTF-8 check would be wasted.
    #[serde(borrow)]
    pub(super) histogram: Cow<'a, [u8]>,
}
