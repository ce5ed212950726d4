//! Per-phase latency of traced operations (`--trace-http`): where an operation's time went.
//!
//! Owns the four phases' histograms of one operation class ([`OpPhases`], kept in
//! [`OpStats`] only when the run is traced), the per-connection marks the worker stamps at
//! the phase boundaries ([`PhaseMarks`]), the result file's `ops.<op>.phases`
//! ([`OpPhases::record`]) and the interval figures a StatsD sender reads
//! ([`Snapshot::phase_figures`]). The phases are `ringload_core::hist::PHASE_NAMES`:
//! - `connect`: opening the connections the operation needed (TLS handshake included); only
//!   operations that opened one are counted, with the sum of their connects;
//! - `redirect`: the AIS proxy hop, from the request's send to the proxy until its redirect
//!   answer (the sum over hops when there were several); only redirected operations count;
//! - `first_byte`: from the request's send on the final host to the first response byte;
//! - `body`: from that first byte to the last one.
//!
//! A multipart upload (`put_mpu`) also records `part`: each part's latency, from its send to
//! the last byte of its answer (per part, so its count is the parts sent successfully).
//!
//! So `connect + redirect + first_byte + body` is the operation's latency (which counts from
//! the operation's start, before its connect and proxy hop), and every successful operation
//! has a first byte and a body.
//!
//! Invariants: phases are recorded for successful operations only, as latency is; recording
//! never allocates (the histograms come with the tick's snapshot, allocated once per tick off
//! the per-request path); an untraced run has no [`OpPhases`] at all, and its hot path pays one
//! branch per boundary. Merging adds histograms exactly, as [`OpStats::add`] does.

use std::time::Instant;

use ringload_core::hist::PHASE_NAMES;
use ringload_core::result::{PhaseRecord, PhasesRecord};

use super::{CoreStats, Op, OpStats, Snapshot, SpanHist, OPS};

/// One phase of an operation (index order is `PHASE_NAMES` order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseKind {
    Connect = 0,
    Redirect = 1,
    FirstByte = 2,
    Body = 3,
}

/// Every phase, in index order (`PHASES[k as usize] == k`).
pub const PHASES: [PhaseKind; 4] = [
    PhaseKind::Connect,
    PhaseKind::Redirect,
    PhaseKind::FirstByte,
    PhaseKind::Body,
];

impl PhaseKind {
    /// The key in the result file: `connect`, `redirect`, `first_byte`, `body`.
    pub fn as_str(self) -> &'static str {
        PHASE_NAMES[self as usize]
    }
}

/// What one finished operation spent in each phase, µs (`None`: it did not pass through it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    pub connect: Option<u64>,
    pub redirect: Option<u64>,
    pub first_byte: u64,
    pub body: u64,
}

/// The figures of one phase over some span (an interval, the run), µs; zeros without count.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseFigures {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub max_us: u64,
}

/// The four phases of one operation class, and a multipart upload's parts.
#[derive(Clone, Debug)]
pub struct OpPhases {
    phases: [SpanHist; 4],
    /// `put_mpu`: each part's latency (written only when a part was recorded); allocated
    /// only for the class that has parts, so other classes cost no histogram for it.
    part: Option<Box<SpanHist>>,
}

impl Default for OpPhases {
    fn default() -> Self {
        OpPhases::new()
    }
}

impl OpPhases {
    pub fn new() -> OpPhases {
        OpPhases {
            phases: [
                SpanHist::new(),
                SpanHist::new(),
                SpanHist::new(),
                SpanHist::new(),
            ],
            part: None,
        }
    }

    /// Phases plus the parts of multipart uploads (the `put_mpu` class's).
    pub fn with_part() -> OpPhases {
        OpPhases {
            part: Some(Box::new(SpanHist::new())),
            ..OpPhases::new()
        }
    }

    /// Empty phases shaped like `self` (with parts when `self` has them).
    pub fn empty_like(&self) -> OpPhases {
        match self.part {
            Some(_) => OpPhases::with_part(),
            None => OpPhases::new(),
        }
    }

    /// Records one successful operation's phases. Hot path: no allocation.
    #[inline]
    pub fn add_times(&mut self, t: &PhaseTimes) {
        if let Some(us) = t.connect {
            self.phases[PhaseKind::Connect as usize].record(us);
        }
        if let Some(us) = t.redirect {
            self.phases[PhaseKind::Redirect as usize].record(us);
        }
        self.phases[PhaseKind::FirstByte as usize].record(t.first_byte);
        self.phases[PhaseKind::Body as usize].record(t.body);
    }

    /// Adds `other` exactly.
    pub fn add(&mut self, other: &OpPhases) {
        for (a, b) in self.phases.iter_mut().zip(other.phases.iter()) {
            a.add(b);
        }
        if let Some(o) = other.part.as_deref() {
            self.part
                .get_or_insert_with(|| Box::new(SpanHist::new()))
                .add(o);
        }
    }

    /// Zeroes every phase, keeping the histograms' allocations.
    pub fn reset(&mut self) {
        self.phases.iter_mut().for_each(SpanHist::reset);
        if let Some(p) = self.part.as_deref_mut() {
            p.reset();
        }
    }

    /// The parts of multipart uploads (`None` for a class without parts).
    pub fn part(&self) -> Option<&SpanHist> {
        self.part.as_deref()
    }

    /// One phase.
    pub fn get(&self, k: PhaseKind) -> &SpanHist {
        &self.phases[k as usize]
    }

    /// The result file's `ops.<op>.phases`.
    pub fn record(&self) -> PhasesRecord {
        let rec = |p: &SpanHist| PhaseRecord {
            count: p.count(),
            latency: p.latency(),
            histogram: p.encoded(),
        };
        PhasesRecord {
            part: self.part().filter(|p| p.count() > 0).map(rec),
            ..PhasesRecord::from_all(PHASES.map(|k| rec(self.get(k))))
        }
    }

    /// `(count, p50, p99)` of each phase, for `ringload_core::hist::phases_line`.
    pub fn line_figures(&self) -> [(u64, u64, u64); 4] {
        PHASES.map(|k| {
            let l = self.get(k).latency();
            (self.get(k).count(), l.p50, l.p99)
        })
    }
}

impl OpStats {
    /// The phases of a traced run (`None` when the run is not traced).
    pub fn phases(&self) -> Option<&OpPhases> {
        self.phases.as_deref()
    }

    /// Adds `other`'s phases, if it has any (allocating this side's on first use: the
    /// reporter's folds, never a core's hot path).
    pub(super) fn add_phases(&mut self, other: &OpStats) {
        if let Some(o) = other.phases.as_deref() {
            self.phases
                .get_or_insert_with(|| Box::new(OpPhases::new()))
                .add(o);
        }
    }
}

impl Snapshot {
    /// Gives every operation class phase histograms (a traced run's snapshots).
    pub fn trace_phases(&mut self) {
        self.trace_phases_of(&OPS);
    }

    /// Gives the classes `ops` phase histograms (`put_mpu` with its parts'); a run traces only
    /// the classes it can issue, so the others cost no histograms.
    pub fn trace_phases_of(&mut self, ops: &[Op]) {
        for &op in ops {
            let o = &mut self.ops[op as usize];
            if o.phases.is_none() {
                o.phases = Some(Box::new(match op {
                    Op::PutMpu => OpPhases::with_part(),
                    _ => OpPhases::new(),
                }));
            }
        }
    }

    /// Gives each class the phase histograms `like` has for it (empty).
    pub fn trace_phases_like(&mut self, like: &Snapshot) {
        for (o, l) in self.ops.iter_mut().zip(like.ops.iter()) {
            if let (None, Some(p)) = (&o.phases, l.phases.as_deref()) {
                o.phases = Some(Box::new(p.empty_like()));
            }
        }
    }

    /// Whether this snapshot records phases.
    pub fn traced(&self) -> bool {
        self.ops.iter().any(|o| o.phases.is_some())
    }

    /// Per phase (`PHASES` order) the interval's count, min, mean and max of `op`, µs; `None`
    /// when the run is not traced. What a StatsD sender sends as aisloader's per-phase timers.
    pub fn phase_figures(&self, op: Op) -> Option<[(PhaseKind, PhaseFigures); 4]> {
        let p = self.get(op).phases()?;
        Some(PHASES.map(|k| (k, p.get(k).figures())))
    }
}

impl CoreStats {
    /// Records the phases of a success of `op` (recorded with [`CoreStats::record_ok`]); a
    /// no-op when the run is not traced. Hot path: no allocation.
    #[inline]
    pub fn record_phases(&mut self, op: Op, t: &PhaseTimes) {
        if let Some(p) = self.cur.ops[op as usize].phases.as_deref_mut() {
            p.add_times(t);
        }
    }

    /// Records one part of a multipart upload of class `op` (`put_mpu`), µs; a no-op when the
    /// run is not traced. Hot path: no allocation.
    #[inline]
    pub fn record_part(&mut self, op: Op, us: u64) {
        let phases = self.cur.ops[op as usize].phases.as_deref_mut();
        if let Some(p) = phases.and_then(|p| p.part.as_deref_mut()) {
            p.record(us);
        }
    }

    /// Turns phase recording on for the classes `ops`, from the tick in progress on (every
    /// rotated tick keeps it).
    pub fn trace_phases(&mut self, ops: &[Op]) {
        self.cur.trace_phases_of(ops);
    }
}

/// The instants one connection's operation crossed so far, stamped by the worker on a traced
/// run (see the module doc for the phases). Plain data: no allocation, and nothing when not
/// traced.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseMarks {
    /// When the connect under way started.
    connect_from: Option<Instant>,
    /// Connect time of this operation so far, µs, and whether it opened a connection.
    connect_us: u64,
    opened: bool,
    /// Redirect hops of this operation so far, µs, and whether there was one.
    redirect_us: u64,
    redirected: bool,
    /// The first response byte of the current request.
    first_byte: Option<Instant>,
}

fn us(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_micros() as u64
}

impl PhaseMarks {
    /// A new operation starts.
    #[inline]
    pub fn begin_op(&mut self) {
        *self = PhaseMarks::default();
    }

    /// A connect (socket open, TCP connect, TLS handshake) starts at `now`.
    #[inline]
    pub fn connect_from(&mut self, now: Instant) {
        self.connect_from = Some(now);
    }

    /// The connect under way completed at `now` (for TLS, when the handshake did).
    #[inline]
    pub fn connected(&mut self, now: Instant) {
        if let Some(from) = self.connect_from.take() {
            self.connect_us += us(from, now);
            self.opened = true;
        }
    }

    /// Called after each receive: stamps the first response byte once (`started`: whether
    /// any byte of the response arrived).
    #[inline]
    pub fn response(&mut self, started: bool) {
        if started && self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
    }

    /// The request sent at `sent` was answered with a redirect at `now`; a new request follows.
    #[inline]
    pub fn redirected(&mut self, sent: Instant, now: Instant) {
        self.redirect_us += us(sent, now);
        self.redirected = true;
        self.first_byte = None;
    }

    /// The phases of the operation whose final request was sent at `sent` and ended at `now`.
    /// A response whose first byte was not seen (it cannot happen for a finished exchange)
    /// counts as arriving whole at `now`.
    #[inline]
    pub fn times(&self, sent: Instant, now: Instant) -> PhaseTimes {
        let fb = self.first_byte.unwrap_or(now).clamp(sent, now);
        PhaseTimes {
            connect: self.opened.then_some(self.connect_us),
            redirect: self.redirected.then_some(self.redirect_us),
            first_byte: us(sent, fb),
            body: us(fb, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(base: Instant, us: u64) -> Instant {
        base + Duration::from_micros(us)
    }

    #[test]
    fn a_keepalive_get_has_first_byte_and_body_summing_to_its_latency() {
        let t0 = Instant::now();
        let mut m = PhaseMarks::default();
        m.begin_op();
        // No connect: the socket was kept alive. The first byte is stamped with now(), so
        // the test takes the instants around it.
        let before = Instant::now();
        m.response(false);
        m.response(true);
        let after = Instant::now();
        m.response(true); // later receives do not move it
        let end = after + Duration::from_micros(700);
        let t = m.times(t0, end);
        assert_eq!(t.connect, None);
        assert_eq!(t.redirect, None);
        let latency = us(t0, end);
        assert!(t.first_byte + t.body <= latency && latency <= t.first_byte + t.body + 1);
        assert!(
            t.first_byte >= us(t0, before) && t.first_byte <= us(t0, after),
            "{t:?}"
        );
        assert!(t.body >= 700, "{t:?}");
    }

    #[test]
    fn connects_and_redirects_add_up_over_the_operation() {
        let t0 = Instant::now();
        let mut m = PhaseMarks::default();
        m.begin_op();
        m.connect_from(t0);
        m.connected(at(t0, 150));
        m.connected(at(t0, 900)); // no connect under way: nothing added
        m.response(true);
        m.redirected(at(t0, 150), at(t0, 400));
        // The target needs a fresh connection too.
        m.connect_from(at(t0, 400));
        m.connected(at(t0, 480));
        let t = m.times(at(t0, 480), at(t0, 1_480));
        assert_eq!(t.connect, Some(150 + 80));
        assert_eq!(t.redirect, Some(250));
        // The redirect reset the first byte; none seen on the final host: arrives at the end.
        assert_eq!((t.first_byte, t.body), (1_000, 0));
        m.begin_op();
        assert_eq!(m.times(t0, at(t0, 5)).connect, None);
    }

    #[test]
    fn op_phases_count_only_phases_passed_and_merge_exactly() {
        let mut a = OpPhases::new();
        for i in 0..100u64 {
            a.add_times(&PhaseTimes {
                connect: (i % 10 == 0).then_some(200 + i),
                redirect: None,
                first_byte: 1_000 + i,
                body: 10 + i,
            });
        }
        let mut b = OpPhases::new();
        b.add_times(&PhaseTimes {
            connect: None,
            redirect: Some(77),
            first_byte: 5,
            body: 3_000,
        });
        let counts = |p: &OpPhases| PHASES.map(|k| p.get(k).count());
        assert_eq!(counts(&a), [10, 0, 100, 100]);
        let mut sum = OpPhases::new();
        sum.add(&a);
        sum.add(&b);
        assert_eq!(counts(&sum), [10, 1, 101, 101]);
        let fb = sum.get(PhaseKind::FirstByte);
        assert_eq!(fb.histogram().len(), 101);
        let f = fb.figures();
        assert_eq!((f.min_us, f.max_us), (5, 1_099));
        let exact = ((0..100u64).map(|i| 1_000 + i).sum::<u64>() + 5) as f64 / 101.0;
        assert!((f.mean_us - exact).abs() < 1e-9, "{f:?}");
        let body = sum.get(PhaseKind::Body).latency();
        assert_eq!((body.min, body.max), (10, 3_000));
        assert!(body.p50 >= 10 && body.p50 <= 110, "{body:?}");
        let rec = sum.record();
        assert_eq!(rec.redirect.count, 1);
        assert_eq!(rec.redirect.latency.p50, 77);
        assert_eq!(rec.connect.latency.min, 200);
        sum.reset();
        assert_eq!(counts(&sum), [0; 4]);
        assert_eq!(
            sum.get(PhaseKind::Connect).figures(),
            PhaseFigures::default()
        );
    }

    #[test]
    fn snapshots_carry_phases_only_when_traced_and_rotate_with_them() {
        let mut core = CoreStats::new(1);
        let t = PhaseTimes {
            connect: Some(9),
            redirect: None,
            first_byte: 40,
            body: 2,
        };
        core.record_ok(Op::Get, 10, 42);
        core.record_phases(Op::Get, &t);
        assert!(core.current().phase_figures(Op::Get).is_none());
        core.trace_phases(&OPS);
        core.record_ok(Op::Get, 10, 42);
        core.record_phases(Op::Get, &t);
        let first = core.rotate(2);
        let figs = first.phase_figures(Op::Get).unwrap();
        assert_eq!(figs[0].0, PhaseKind::Connect);
        assert_eq!(figs[0].1.count, 1);
        assert_eq!(figs[2].1.max_us, 40);
        assert_eq!(figs[1].1, PhaseFigures::default());
        assert!(core.current().traced(), "the next tick keeps tracing");
        let mut total = Snapshot::new(0);
        assert!(!total.traced());
        total.add(&first);
        total.add(&first);
        assert_eq!(total.phase_figures(Op::Get).unwrap()[3].1.count, 2);
        assert_eq!(total.phase_figures(Op::Put).unwrap()[3].1.count, 0);
    }
}
