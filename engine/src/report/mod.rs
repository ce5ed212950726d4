//! The reporter thread's folding of per-core ticks, and all human output of a run.
//!
//! Owns: the interval table on stdout (aisloader's columns plus p50/p90/p99) and the
//! [`RunTotals`] handed to the result file (the rows' text is in `table`); the live status
//! line on stderr is in `live`, the
//! final summary in `summary`, number formatting in [`fmt`], the run's TLS (summary line and
//! result record) in [`tls`]. In the aisloader front end's mode ([`Reporter::with_aisloader`])
//! the output is aisloader's stream instead ([`ais`]: no ringload table, live line or
//! summary); [`statsd`] metrics go out per interval when asked ([`Reporter::with_statsd`]).
//! A sweep of rates has its steps judged and printed as they end in `sweep`; a `--rate` run's
//! record is built in [`rate`]; live Prometheus pages are rendered per tick for
//! `crate::metrics` ([`Reporter::with_metrics`]).
//!
//! Why here and not in the cores: cores only rotate a [`Snapshot`] once per [`TICK`] and send
//! it; every histogram addition, formatting and write happens on this one thread.
//!
//! Invariants:
//! - Intervals are `--statsinterval` rounded up to whole ticks, aligned to the run start:
//!   interval `k` covers `[start + k·I, start + (k+1)·I)`. A tick belongs to the interval that
//!   holds its start (rounded to the nearest tick boundary, so clock jitter below half a tick
//!   cannot move it). A tick that arrives after its interval was printed joins the oldest
//!   interval still open; it is never lost, and always counts in the totals.
//! - An interval is printed only once its end has passed and every core has delivered ticks
//!   up to that end (within half a tick), so rows are complete and in order.
//! - `intervals` in [`RunTotals`] are contiguous (empty intervals included) and are stored
//!   already encoded ([`IntervalRecord`]): keeping a decoded pair of histograms per interval
//!   would cost ~370 KiB each, i.e. 1.3 GiB for an hour at `--statsinterval 1s`.
//! - Write errors on stdout/stderr are ignored: a closed pipe must not stop a load run.

pub mod ais;
pub mod fmt;
mod live;
pub mod rate;
pub mod statsd;
mod summary;
mod sweep;
mod table;
pub mod tls;

pub use table::header;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use ringload_core::hist::new_histogram;
use ringload_core::result::{encode_histogram, IntervalOp, IntervalRecord};

use crate::stats::{Snapshot, OPS, OP_COUNT, TICK};
use live::{Live, LIVE_REDRAW_NS};

/// How the reporter prints.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// Table interval; rounded up to a whole number of [`TICK`]s (at least one).
    pub statsinterval: Duration,
    /// Planned measured-phase length, shown in the live line; `None` if open-ended.
    pub duration: Option<Duration>,
    /// Number of cores that send ticks (indices `0..cores`).
    pub cores: usize,
    /// Draw the live status line (set when stderr is a TTY).
    pub live: bool,
    /// The run's `--rate` plan (`None`: the closed loop).
    pub rate: Option<ringload_core::rate::RatePlan>,
}

/// Everything a finished run measured, for the result file.
#[derive(Debug, Clone)]
pub struct RunTotals {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    /// Every tick of every core, added exactly; span = `[start_unix_ns, end_unix_ns]`.
    pub total: Snapshot,
    /// One record per interval, in order, contiguous from the run start.
    pub intervals: Vec<IntervalRecord>,
    /// The run's TLS (`None` for plaintext runs).
    pub tls: Option<tls::TlsOutcome>,
    /// `--random-proxy`: requests per proxy (empty otherwise).
    pub proxies: Vec<ringload_core::result::ProxyCount>,
    /// `--rate`: target, achieved, lag and a sweep's steps (`None` for a closed loop).
    pub rate: Option<ringload_core::rate::RateRecord>,
    /// The rank's self-diagnosis, when it was measured.
    pub client: Option<ringload_core::client::ClientRecord>,
    /// What makes the numbers less than they seem (the result's `warnings`).
    pub warnings: Vec<String>,
}

/// Counters accumulated over the intervals printed so far (the `(<total>)` columns).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Printed {
    count: u64,
    bytes: u64,
    errors: u64,
}

/// Folds core ticks and prints the table, live line and summary.
pub struct Reporter<W: Write, S: Write> {
    cfg: ReportConfig,
    start: u64,
    interval_ns: u64,
    out: W,
    status: S,
    covered: Vec<u64>,
    open: BTreeMap<u64, Snapshot>,
    next: u64,
    total: Snapshot,
    printed: [Printed; OP_COUNT],
    intervals: Vec<IntervalRecord>,
    header_done: bool,
    empty: Snapshot,
    empty_hist: String,
    live: Live,
    tls: Option<tls::TlsOutcome>,
    /// Each core's latest in-flight sample: (its tick's end, per op).
    pending: Vec<(u64, [u64; OP_COUNT])>,
    ais: Option<ais::AisOutput>,
    statsd: Option<statsd::Statsd>,
    proxies: Vec<ringload_core::result::ProxyCount>,
    /// A multi-step rate plan's steps (`sweep`).
    sweep: Option<sweep::Sweep>,
    /// `--rate`: what the cores reported about the schedule, its record (set by `finish`).
    rate_ctx: rate::RateContext,
    rate: Option<ringload_core::rate::RateRecord>,
    /// When the run was told to stop ([`Reporter::stopped`]): requests are issued up to it.
    stopped_at: Option<u64>,
    /// The result's `warnings`, set by `finish`.
    client: Option<ringload_core::client::ClientRecord>,
    warnings: Vec<String>,
    /// `--metrics-listen`: renders the page the metrics server serves.
    metrics: Option<crate::metrics::Exporter>,
}

impl<W: Write, S: Write> Reporter<W, S> {
    /// A reporter for a run whose measured phase starts at `start_unix_ns`.
    pub fn new(cfg: ReportConfig, start_unix_ns: u64, out: W, status: S) -> Self {
        let tick = TICK.as_nanos() as u64;
        let want = u64::try_from(cfg.statsinterval.as_nanos()).unwrap_or(u64::MAX);
        let interval_ns = want.div_ceil(tick).max(1).saturating_mul(tick);
        let cores = cfg.cores;
        let sweep = cfg
            .rate
            .as_ref()
            .and_then(|p| sweep::Sweep::new(p, start_unix_ns, cfg.duration));
        Reporter {
            sweep,
            covered: vec![start_unix_ns; cfg.cores],
            cfg,
            start: start_unix_ns,
            interval_ns,
            out,
            status,
            open: BTreeMap::new(),
            next: 0,
            total: Snapshot::new(start_unix_ns),
            printed: [Printed::default(); OP_COUNT],
            intervals: Vec::new(),
            header_done: false,
            empty: Snapshot::new(start_unix_ns),
            empty_hist: encode_histogram(&new_histogram()),
            tls: None,
            pending: vec![(0, [0; OP_COUNT]); cores],
            ais: None,
            statsd: None,
            proxies: Vec::new(),
            rate_ctx: rate::RateContext::default(),
            rate: None,
            stopped_at: None,
            client: None,
            warnings: Vec::new(),
            metrics: None,
            live: Live {
                acc: Snapshot::new(start_unix_ns),
                core_ns: 0,
                last_draw: None,
                rates: String::new(),
                drawn: false,
            },
        }
    }

    /// aisloader's output instead of ringload's (no table, live line or summary): writes the
    /// stream's preamble now, as aisloader does before the load starts.
    pub fn with_aisloader(mut self, o: ais::AisOutput) -> Self {
        self.cfg.live = false;
        let _ = self.out.write_all(ais::preamble(&o).as_bytes());
        let _ = self.out.flush();
        self.ais = Some(o);
        self
    }

    /// Sends each interval's metrics to StatsD.
    pub fn with_statsd(mut self, s: statsd::Statsd) -> Self {
        self.statsd = Some(s);
        self
    }

    /// Renders the live Prometheus metrics from the totals, at most once per tick.
    pub fn with_metrics(mut self, m: crate::metrics::Exporter) -> Self {
        self.metrics = Some(m);
        self
    }

    /// The in-flight gauge per op: the sum of each core's latest sample.
    fn pending_now(&self) -> [u64; OP_COUNT] {
        self.pending.iter().fold([0; OP_COUNT], |a, (_, p)| {
            std::array::from_fn(|k| a[k] + p[k])
        })
    }

    /// The table interval actually used (statsinterval rounded up to whole ticks).
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// Folds one core's tick into the totals, its interval and the live window.
    pub fn add_tick(&mut self, core: usize, snap: Snapshot) {
        if core >= self.covered.len() {
            self.covered.resize(core + 1, self.start);
        }
        self.covered[core] = self.covered[core].max(snap.end_unix_ns);
        if core >= self.pending.len() {
            self.pending.resize(core + 1, (0, [0; OP_COUNT]));
        }
        if snap.end_unix_ns >= self.pending[core].0 {
            self.pending[core] = (snap.end_unix_ns, snap.pending);
        }
        self.total.add_ops(&snap);
        if let Some(sw) = self.sweep.as_mut() {
            sw.add(&snap);
        }
        if let Some(m) = self.metrics.as_mut() {
            m.tick();
        }
        self.live.acc.add_ops(&snap);
        self.live.core_ns += u128::from(snap.end_unix_ns.saturating_sub(snap.start_unix_ns));
        let k = self.interval_of(snap.start_unix_ns).max(self.next);
        let (start, end) = self.bounds(k);
        self.open
            .entry(k)
            .or_insert_with(|| {
                let mut s = Snapshot::new(start);
                s.end_unix_ns = end;
                s
            })
            .add_ops(&snap);
    }

    /// Prints every finished, complete interval and redraws the live line (at most once a
    /// second). Call it often (e.g. after every channel receive or timeout).
    pub fn poll(&mut self, now_unix_ns: u64) {
        let half = TICK.as_nanos() as u64 / 2;
        let mut printed_rows = false;
        loop {
            let (_, end) = self.bounds(self.next);
            let complete = self.covered.iter().all(|&c| c.saturating_add(half) >= end);
            if now_unix_ns < end || !complete {
                break;
            }
            printed_rows |= self.flush(self.next, None);
            self.next += 1;
        }
        if let Some(sw) = self.sweep.as_mut() {
            let lines = sw.poll(now_unix_ns, &self.covered);
            printed_rows |= !lines.is_empty();
            self.print_steps(lines);
        }
        if self.metrics.is_some() {
            let pending = self.pending_now();
            if let Some(m) = self.metrics.as_mut() {
                m.refresh(&self.total, pending, std::time::Instant::now());
            }
        }
        if !self.cfg.live {
            return;
        }
        let due = self
            .live
            .last_draw
            .is_none_or(|t| now_unix_ns >= t.saturating_add(LIVE_REDRAW_NS));
        if due {
            self.live.last_draw = Some(now_unix_ns);
            self.update_rates();
        }
        if due || printed_rows {
            self.draw_live(now_unix_ns);
        }
    }

    /// Prints the remaining intervals (the last one cut at `end_unix_ns`), clears the live
    /// line, prints the summary and returns the run's totals.
    /// The run's TLS, read after the load: the summary prints it and the totals carry it.
    pub fn set_tls(&mut self, tls: Option<tls::TlsOutcome>) {
        self.tls = tls;
    }

    /// `--random-proxy`: the requests each proxy got, read after the load (the summary's
    /// `proxies:` line and the result's `proxies` key).
    pub fn set_proxies(&mut self, proxies: Vec<ringload_core::result::ProxyCount>) {
        self.proxies = proxies;
    }

    /// `--rate`: what the cores reported about the schedule, read after the load.
    pub fn set_rate_context(&mut self, ctx: rate::RateContext) {
        self.rate_ctx = ctx;
    }

    /// The rank's self-diagnosis, judged after the load: the summary's `client:` line, the
    /// result's `client` key, and its warnings (a client-bound rank, a lossy network).
    pub fn set_client(&mut self, client: Option<ringload_core::client::ClientRecord>) {
        if let Some(c) = &client {
            self.warnings.extend(crate::client::warnings(c));
        }
        self.client = client;
    }

    pub fn finish(mut self, end_unix_ns: u64) -> RunTotals {
        let end = end_unix_ns.max(self.start);
        let last = if end > self.start {
            (end - self.start - 1) / self.interval_ns
        } else {
            0
        };
        // Ticks stamped after the end (a clock step) join the last interval instead of
        // creating empty intervals up to them.
        let late = self.open.split_off(&(last + 1));
        if !late.is_empty() {
            let k = last.max(self.next);
            let (s, e) = self.bounds(k);
            let slot = self.open.entry(k).or_insert_with(|| {
                let mut snap = Snapshot::new(s);
                snap.end_unix_ns = e;
                snap
            });
            for snap in late.values() {
                slot.add_ops(snap);
            }
        }
        let upto = self.open.keys().next_back().map_or(last, |&k| k.max(last));
        for k in self.next..=upto {
            let (s, _) = self.bounds(k);
            if s >= end && !self.open.contains_key(&k) {
                continue;
            }
            self.flush(k, Some(end));
        }
        if let Some(sw) = self.sweep.as_mut() {
            let lines = sw.finish(end);
            self.print_steps(lines);
        }
        self.clear_live();
        self.total.start_unix_ns = self.start;
        self.total.end_unix_ns = end;
        if let Some(plan) = &self.cfg.rate {
            // Requests are issued until the planned end or the stop, whichever came first;
            // the drain after it issues none.
            let issuing_end = self.stopped_at.unwrap_or(end).clamp(self.start, end);
            let ran = (issuing_end - self.start) as f64 / 1e9;
            let secs = self.cfg.duration.map_or(ran, |d| ran.min(d.as_secs_f64()));
            let rec = rate::record(plan, &self.total, secs);
            let sent = self.total.lag.as_deref().map_or(0, |l| l.count());
            self.rate_ctx.service_mean_us = rate::service_mean_us(&self.total);
            self.rate_ctx.client_bound = self.client.as_ref().is_some_and(|c| c.client_bound);
            let planned = rate::planned_rate(plan, secs);
            self.warnings
                .extend(rate::warning(&rec, &self.rate_ctx, sent, planned));
            self.rate = Some(rec);
        }
        if let (Some(sw), Some(r)) = (&self.sweep, self.rate.as_mut()) {
            sw.fill(r);
            self.warnings.extend(sw.single_warning());
        }
        match &self.ais {
            Some(o) => {
                let text = ais::final_text(o, &self.total, self.start, end);
                let _ = self.out.write_all(text.as_bytes());
            }
            None => self.print_summary(end),
        }
        let _ = self.out.flush();
        let pending = self.pending_now();
        if let Some(m) = self.metrics.as_mut() {
            m.finish(&self.total, pending);
        }
        if let Some(sd) = self.statsd.as_mut() {
            // Without interval output (aisloader's -statsinterval 0) the whole run goes at once.
            if self.ais.as_ref().is_some_and(|o| !o.periodic) {
                sd.send_interval(&self.total, pending, end - self.start);
            }
            sd.send_reset();
        }
        self.note_statsd();
        RunTotals {
            start_unix_ns: self.start,
            end_unix_ns: end,
            total: self.total,
            intervals: self.intervals,
            tls: self.tls,
            proxies: self.proxies,
            rate: self.rate,
            client: self.client,
            warnings: self.warnings,
        }
    }

    fn interval_of(&self, tick_start: u64) -> u64 {
        let tick = TICK.as_nanos() as u64;
        let ticks = (tick_start.saturating_sub(self.start) + tick / 2) / tick;
        ticks / (self.interval_ns / tick)
    }

    fn bounds(&self, k: u64) -> (u64, u64) {
        let s = self
            .start
            .saturating_add(k.saturating_mul(self.interval_ns));
        (s, s.saturating_add(self.interval_ns))
    }

    /// Prints interval `k`'s rows and records it; returns whether any row was printed.
    fn flush(&mut self, k: u64, clip: Option<u64>) -> bool {
        let (start, nominal_end) = self.bounds(k);
        let end = clip.map_or(nominal_end, |c| nominal_end.min(c).max(start));
        let snap = self.open.remove(&k);
        let iv = snap.as_ref().unwrap_or(&self.empty);
        let mut rows = Vec::new();
        for op in OPS {
            let s = iv.get(op);
            let p = &mut self.printed[op as usize];
            p.count += s.count;
            p.bytes = p.bytes.wrapping_add(s.bytes);
            p.errors += s.errors;
            if (s.count > 0 || s.errors > 0) && self.ais.is_none() {
                rows.push(self.row(op, s, start, end));
            }
        }
        let ops = OPS
            .iter()
            .map(|&op| {
                let s = iv.get(op);
                let rec = if s.count == 0 {
                    IntervalOp {
                        count: 0,
                        bytes: s.bytes,
                        errors: s.errors,
                        histogram: self.empty_hist.clone(),
                    }
                } else {
                    s.interval()
                };
                (op.as_str().to_string(), rec)
            })
            .collect();
        self.intervals.push(IntervalRecord {
            start_unix_ns: start,
            end_unix_ns: end,
            ops,
        });
        let periodic = self.ais.as_ref().is_none_or(|o| o.periodic);
        let pending = self.pending_now();
        if let (Some(sd), true) = (self.statsd.as_mut(), periodic) {
            sd.send_interval(iv, pending, end - start);
        }
        if let Some(o) = &self.ais {
            // The last, partial interval only counts in the final figures, as in aisloader.
            if periodic && end == nominal_end {
                let text =
                    ais::interval_text(o, iv, &self.printed, pending, self.start, start, end);
                let _ = self.out.write_all(text.as_bytes());
                let _ = self.out.flush();
            }
            self.note_statsd();
            return false;
        }
        self.note_statsd();
        if rows.is_empty() {
            return false;
        }
        self.clear_live();
        if !self.header_done {
            self.header_done = true;
            let _ = writeln!(self.out);
            let _ = self.out.write_all(header().as_bytes());
        }
        for r in rows {
            let _ = self.out.write_all(r.as_bytes());
        }
        let _ = self.out.flush();
        true
    }

    /// Notes the first StatsD send error on stderr, once.
    fn note_statsd(&mut self) {
        if let Some(note) = self.statsd.as_mut().and_then(statsd::Statsd::take_note) {
            self.clear_live();
            let _ = writeln!(self.status, "{note}");
        }
    }
}

#[cfg(test)]
mod tests;
