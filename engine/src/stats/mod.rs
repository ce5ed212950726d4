//! Per-core operation statistics: counters, errors by kind and latency histograms.
//!
//! Owns what one core records on its hot path and the snapshots it hands to the reporter.
//! Each core owns a [`CoreStats`]; nothing here is shared between threads, so recording takes
//! no lock. Once per [`TICK`] the core calls [`CoreStats::rotate`] and sends the finished
//! [`Snapshot`] to the reporter thread (`report`), which folds snapshots exactly with
//! [`Snapshot::add`].
//!
//! Invariants:
//! - `record_ok` / `record_err` never allocate, format, lock or panic: counters are fixed
//!   arrays (one slot per HTTP status 100..=599) and the histogram has a fixed range
//!   ([`LATENCY_MIN_US`]..=[`LATENCY_MAX_US`], [`LATENCY_SIGFIG`] significant digits, µs);
//!   larger latencies are clamped to the maximum.
//! - A failure increments `errors` and one per-kind counter only; it never touches `count`,
//!   `bytes` or the histogram (aisloader's accounting).
//! - Merging adds counters and histograms; percentiles are never averaged.
//! - `count == histogram().len()` for every `OpStats` built through this API.
//! - A `--trace-http` run's `OpStats` also carry per-phase histograms (`phases.rs`); an
//!   untraced run's carry none.
//! - Failures are counted by kind ([`ErrorKind`], `kind.rs`), in fixed slots; the operation
//!   classes ([`Op`]) are `op.rs`'s.
//! - A `--rate` run's `OpStats` also carry the service latency (from the actual send; the
//!   main histogram then counts from the intended start) and its snapshots the schedule lag
//!   ([`SpanHist`] each); a closed-loop run's carry neither.

mod kind;
mod op;
mod phases;
mod span;

pub use kind::{ErrorKind, HTTP_OTHER};
use kind::{HTTP_FIRST, HTTP_LAST, HTTP_SLOTS, KINDS};
pub use op::{Op, OPS, OP_COUNT};
pub use phases::{OpPhases, PhaseFigures, PhaseKind, PhaseMarks, PhaseTimes, PHASES};
pub use span::SpanHist;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use ringload_core::hist::{add_histogram, new_histogram, LatencySummary};
use ringload_core::result::{encode_histogram_plain, IntervalOp};

/// How often a core rotates its statistics. Ticks are aligned to the run start: tick `j`
/// ends at `start + j·TICK`. One second keeps the live line fresh while costing one channel
/// message (and one snapshot allocation) per core per second.
pub const TICK: Duration = Duration::from_secs(1);

/// Counters and latency histogram of one operation class over some time span.
#[derive(Clone, Debug)]
pub struct OpStats {
    /// Successful operations.
    pub count: u64,
    /// Bytes moved by successful operations (body bytes read or sent).
    pub bytes: u64,
    /// Failed operations (sum of every per-kind counter).
    pub errors: u64,
    /// `get_batch`: objects (or files in shards) delivered by the successful batches; 0 for
    /// every other class.
    pub objects: u64,
    /// Sum of successful latencies, µs (unclamped), for the exact mean.
    latency_sum_us: u64,
    /// Exact smallest and largest successful latency, µs (`u64::MAX`/0 when none).
    min_us: u64,
    max_us: u64,
    kinds: [u64; KINDS.len()],
    http: [u64; HTTP_SLOTS],
    http_other: u64,
    hist: Histogram<u64>,
    /// Per-phase histograms of a traced run (`phases.rs`); `None` when not traced.
    phases: Option<Box<OpPhases>>,
    /// A `--rate` run's service latency (from the actual send), µs; `None` in a closed loop.
    service: Option<Box<SpanHist>>,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats::new()
    }
}

impl OpStats {
    /// Empty stats; the histogram is µs, 3 significant digits, 1 µs .. 1 hour.
    pub fn new() -> Self {
        OpStats {
            count: 0,
            bytes: 0,
            errors: 0,
            objects: 0,
            latency_sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            kinds: [0; KINDS.len()],
            http: [0; HTTP_SLOTS],
            http_other: 0,
            hist: new_histogram(),
            phases: None,
            service: None,
        }
    }

    /// Records one success. Latencies above one hour are clamped. Hot path: no allocation.
    #[inline]
    pub fn record_ok(&mut self, bytes: u64, latency_us: u64) {
        self.count += 1;
        self.bytes = self.bytes.wrapping_add(bytes);
        self.latency_sum_us = self.latency_sum_us.saturating_add(latency_us);
        self.min_us = self.min_us.min(latency_us);
        self.max_us = self.max_us.max(latency_us);
        self.hist.saturating_record(latency_us);
    }

    /// Records `n` objects delivered by a successful GetBatch (its `record_ok` counts the
    /// batch).
    #[inline]
    pub fn record_objects(&mut self, n: u64) {
        self.objects += n;
    }

    /// Records one failure by kind. Never touches count, bytes or the histogram.
    #[inline]
    pub fn record_err(&mut self, kind: ErrorKind) {
        self.errors += 1;
        *self.slot(kind) += 1;
    }

    #[inline]
    fn slot(&mut self, kind: ErrorKind) -> &mut u64 {
        match kind {
            ErrorKind::Connect => &mut self.kinds[0],
            ErrorKind::Reset => &mut self.kinds[1],
            ErrorKind::Timeout => &mut self.kinds[2],
            ErrorKind::Closed => &mut self.kinds[3],
            ErrorKind::ShortBody => &mut self.kinds[4],
            ErrorKind::Protocol => &mut self.kinds[5],
            ErrorKind::Redirect => &mut self.kinds[6],
            ErrorKind::Verify => &mut self.kinds[7],
            ErrorKind::VerifyUnknown => &mut self.kinds[8],
            ErrorKind::FdLimit => &mut self.kinds[9],
            ErrorKind::NoPorts => &mut self.kinds[10],
            ErrorKind::NoMemory => &mut self.kinds[11],
            ErrorKind::Tls => &mut self.kinds[12],
            ErrorKind::Missing => &mut self.kinds[13],
            ErrorKind::Http(c) if (HTTP_FIRST..=HTTP_LAST).contains(&c) => {
                &mut self.http[usize::from(c - HTTP_FIRST)]
            }
            ErrorKind::Http(_) => &mut self.http_other,
        }
    }

    /// How many failures of this kind were recorded.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        match kind {
            ErrorKind::Http(c) if (HTTP_FIRST..=HTTP_LAST).contains(&c) => {
                self.http[usize::from(c - HTTP_FIRST)]
            }
            ErrorKind::Http(_) => self.http_other,
            k => KINDS
                .iter()
                .position(|x| *x == k)
                .map_or(0, |i| self.kinds[i]),
        }
    }

    /// Adds `other` into `self` exactly: counters and histogram.
    pub fn add(&mut self, other: &OpStats) {
        self.count += other.count;
        self.bytes = self.bytes.wrapping_add(other.bytes);
        self.errors += other.errors;
        self.objects += other.objects;
        self.latency_sum_us = self.latency_sum_us.saturating_add(other.latency_sum_us);
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
        for (a, b) in self.kinds.iter_mut().zip(other.kinds.iter()) {
            *a += b;
        }
        for (a, b) in self.http.iter_mut().zip(other.http.iter()) {
            *a += b;
        }
        self.http_other += other.http_other;
        add_histogram(&mut self.hist, &other.hist);
        self.add_phases(other);
        if let Some(o) = other.service.as_deref() {
            self.service
                .get_or_insert_with(|| Box::new(SpanHist::new()))
                .add(o);
        }
    }

    /// A `--rate` run's service latency (from the actual send); `None` in a closed loop.
    pub fn service(&self) -> Option<&SpanHist> {
        self.service.as_deref()
    }

    /// Records the service latency of a success recorded with [`OpStats::record_ok`] (whose
    /// latency counted from the intended start); a no-op in a closed loop. Hot path: no
    /// allocation.
    #[inline]
    pub fn record_service(&mut self, us: u64) {
        if let Some(s) = self.service.as_deref_mut() {
            s.record(us);
        }
    }

    /// Non-zero error counters by name (`"timeout"`, `"http-503"`, ...).
    pub fn errors_by_kind(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (k, n) in KINDS.iter().zip(self.kinds.iter()) {
            if *n > 0 {
                out.insert(k.as_str(), *n);
            }
        }
        for (i, n) in self.http.iter().enumerate() {
            if *n > 0 {
                let code = HTTP_FIRST + i as u16;
                out.insert(ErrorKind::Http(code).as_str(), *n);
            }
        }
        if self.http_other > 0 {
            out.insert(HTTP_OTHER.to_string(), self.http_other);
        }
        out
    }

    /// Sum of the successes' latencies, µs (exact; saturates).
    pub fn latency_sum_us(&self) -> u64 {
        self.latency_sum_us
    }

    /// The latency histogram (µs) of the successes.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// The interval figures (`intervals[].ops.<op>` in the result file), histogram encoded.
    pub fn interval(&self) -> IntervalOp {
        IntervalOp {
            count: self.count,
            bytes: self.bytes,
            errors: self.errors,
            histogram: encode_histogram_plain(&self.hist),
        }
    }

    /// min, mean, p50, p90, p99, p99.9 and max in µs; zeros when `count == 0`.
    /// min, max and mean are exact (as aisloader's); the percentiles come from the histogram
    /// (within 0.1%) and are kept within `[min, max]`.
    pub fn latency(&self) -> LatencySummary {
        LatencySummary::exact(
            &self.hist,
            self.count,
            self.latency_sum_us,
            self.min_us,
            self.max_us,
        )
    }

    /// Zeroes everything, keeping the histogram's allocation.
    pub fn reset(&mut self) {
        self.count = 0;
        self.bytes = 0;
        self.errors = 0;
        self.objects = 0;
        self.latency_sum_us = 0;
        self.min_us = u64::MAX;
        self.max_us = 0;
        self.kinds = [0; KINDS.len()];
        self.http = [0; HTTP_SLOTS];
        self.http_other = 0;
        self.hist.reset();
        if let Some(p) = self.phases.as_deref_mut() {
            p.reset();
        }
        if let Some(p) = self.service.as_deref_mut() {
            p.reset();
        }
    }
}

/// The statistics of every operation class over `[start_unix_ns, end_unix_ns]`.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    /// Indexed by `Op as usize`.
    pub ops: [OpStats; OP_COUNT],
    /// Requests in flight per op (indexed by `Op as usize`) on the sending core when it
    /// rotated this tick: a gauge, set by the worker, never added by [`Snapshot::add`].
    pub pending: [u64; OP_COUNT],
    /// A `--rate` run's schedule lag: how late each request went out against its intended
    /// start, µs (`None` in a closed loop).
    pub lag: Option<Box<SpanHist>>,
}

impl Snapshot {
    /// An empty snapshot starting (and, for now, ending) at `start_unix_ns`.
    pub fn new(start_unix_ns: u64) -> Self {
        Snapshot {
            start_unix_ns,
            end_unix_ns: start_unix_ns,
            ops: std::array::from_fn(|_| OpStats::new()),
            pending: [0; OP_COUNT],
            lag: None,
        }
    }

    /// Gives this snapshot the histograms of a `--rate` run: service latency per op and the
    /// schedule lag.
    pub fn rate_mode(&mut self) {
        for o in &mut self.ops {
            o.service.get_or_insert_with(|| Box::new(SpanHist::new()));
        }
        self.lag.get_or_insert_with(|| Box::new(SpanHist::new()));
    }

    /// Whether this snapshot is a `--rate` run's.
    pub fn rated(&self) -> bool {
        self.lag.is_some()
    }

    /// The stats of one operation class.
    pub fn get(&self, op: Op) -> &OpStats {
        &self.ops[op as usize]
    }

    /// Mutable stats of one operation class.
    pub fn get_mut(&mut self, op: Op) -> &mut OpStats {
        &mut self.ops[op as usize]
    }

    /// Adds every op of `other` and widens the time span to cover both.
    pub fn add(&mut self, other: &Snapshot) {
        self.add_ops(other);
        self.start_unix_ns = self.start_unix_ns.min(other.start_unix_ns);
        self.end_unix_ns = self.end_unix_ns.max(other.end_unix_ns);
    }

    /// Adds every op of `other`, leaving this snapshot's time span as it is.
    pub fn add_ops(&mut self, other: &Snapshot) {
        for (a, b) in self.ops.iter_mut().zip(other.ops.iter()) {
            a.add(b);
        }
        if let Some(o) = other.lag.as_deref() {
            self.lag
                .get_or_insert_with(|| Box::new(SpanHist::new()))
                .add(o);
        }
    }

    /// Total failures over every op.
    pub fn errors(&self) -> u64 {
        self.ops.iter().map(|o| o.errors).sum()
    }

    /// Zeroes every op (keeping allocations) and sets the span to `[start, start]`.
    pub fn reset(&mut self, start_unix_ns: u64) {
        self.start_unix_ns = start_unix_ns;
        self.end_unix_ns = start_unix_ns;
        for o in &mut self.ops {
            o.reset();
        }
        if let Some(l) = self.lag.as_deref_mut() {
            l.reset();
        }
    }
}

/// One core's statistics: the tick in progress.
#[derive(Debug)]
pub struct CoreStats {
    cur: Snapshot,
}

impl CoreStats {
    /// Starts the first tick at the run start.
    pub fn new(start_unix_ns: u64) -> Self {
        CoreStats {
            cur: Snapshot::new(start_unix_ns),
        }
    }

    /// Records a success of `op`. Hot path: no allocation, formatting or lock.
    #[inline]
    pub fn record_ok(&mut self, op: Op, bytes: u64, latency_us: u64) {
        self.cur.ops[op as usize].record_ok(bytes, latency_us);
    }

    /// Records `n` objects delivered by a successful operation of `op` (a GetBatch's members).
    #[inline]
    pub fn record_objects(&mut self, op: Op, n: u64) {
        self.cur.ops[op as usize].record_objects(n);
    }

    /// Records a failure of `op`. Hot path: no allocation, formatting or lock.
    #[inline]
    pub fn record_err(&mut self, op: Op, kind: ErrorKind) {
        self.cur.ops[op as usize].record_err(kind);
    }

    /// Records a success of `op` in a `--rate` run: `corrected_us` from the request's
    /// intended start (the latency), `service_us` from its actual send. Hot path: no
    /// allocation, formatting or lock.
    #[inline]
    pub fn record_ok_rated(&mut self, op: Op, bytes: u64, corrected_us: u64, service_us: u64) {
        let o = &mut self.cur.ops[op as usize];
        o.record_ok(bytes, corrected_us);
        o.record_service(service_us);
    }

    /// Records how late a request went out against its intended start (a `--rate` run's
    /// schedule lag); a no-op in a closed loop. Hot path: no allocation.
    #[inline]
    pub fn record_lag(&mut self, us: u64) {
        if let Some(l) = self.cur.lag.as_deref_mut() {
            l.record(us);
        }
    }

    /// Turns the `--rate` histograms on, from the tick in progress on (every rotated tick
    /// keeps them).
    pub fn rate_mode(&mut self) {
        self.cur.rate_mode();
    }

    /// The tick in progress (read-only).
    pub fn current(&self) -> &Snapshot {
        &self.cur
    }

    /// Ends the tick in progress at `now_unix_ns`, returns it, and starts the next one there.
    /// Allocates the next tick's histograms (once per tick, off the per-request path).
    pub fn rotate(&mut self, now_unix_ns: u64) -> Snapshot {
        let end = now_unix_ns.max(self.cur.start_unix_ns);
        let mut next = Snapshot::new(end);
        next.trace_phases_like(&self.cur);
        if self.cur.rated() {
            next.rate_mode();
        }
        let mut done = std::mem::replace(&mut self.cur, next);
        done.end_unix_ns = end;
        done
    }
}

/// Wall-clock now, ns since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
