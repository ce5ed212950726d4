//! The live status line on stderr: one line, redrawn in place at most once a second, with
//! per-second rates over the ticks received since the last redraw and the run's error count.
//! A class shows once the run has an operation of it (`get` and `put` as soon as they have
//! one too); a GetBatch's part also has its objects/s.
//!
//! Invariants: the line is cleared ([`CLEAR_LINE`]) before any table row or the summary is
//! written to stdout, so on a terminal the two streams never interleave on one line; rates are
//! computed from the ticks' own lengths, not their arrival times, so they do not jitter.

use std::io::Write;
use std::time::Duration;

use super::fmt::{clock, go_duration_cut, thousands};
use super::Reporter;
use crate::stats::{Op, Snapshot, OPS};

/// How often the live line is redrawn at most.
pub(super) const LIVE_REDRAW_NS: u64 = 1_000_000_000;
/// `\r` + erase to end of line: returns to column 0 and wipes what was drawn there.
pub(super) const CLEAR_LINE: &str = "\r\x1b[K";

/// The live line's state: ticks received since the last rate computation.
pub(super) struct Live {
    pub(super) acc: Snapshot,
    /// Sum over received ticks of their length; divided by the core count it is the window.
    pub(super) core_ns: u128,
    pub(super) last_draw: Option<u64>,
    pub(super) rates: String,
    pub(super) drawn: bool,
}

impl<W: Write, S: Write> Reporter<W, S> {
    pub(super) fn update_rates(&mut self) {
        if self.live.core_ns == 0 {
            return;
        }
        // Ticks arrive in bursts; dividing by the ticks' own length (per core) gives
        // per-second rates that do not jitter with arrival times.
        let cores = self.covered.len().max(1) as f64;
        let window_s = self.live.core_ns as f64 / 1e9 / cores;
        let mut parts = Vec::new();
        for op in OPS {
            let s = self.live.acc.get(op);
            let t = self.total.get(op);
            if t.count == 0 && t.errors == 0 {
                continue;
            }
            let ops_s = s.count as f64 / window_s;
            let gib_s = s.bytes as f64 / window_s / (1u64 << 30) as f64;
            let p99 = s.histogram().value_at_quantile(0.99);
            let objects = if op == Op::GetBatch {
                let n = (s.objects as f64 / window_s).round() as u64;
                format!(" {} objects/s", thousands(n))
            } else {
                String::new()
            };
            parts.push(format!(
                "{} {} ops/s{objects} {gib_s:.2} GiB/s p99 {}",
                op.label(),
                thousands(ops_s.round() as u64),
                go_duration_cut(p99.saturating_mul(1000), 1),
            ));
        }
        self.live.rates = parts.join(" | ");
        self.live.acc.reset(0);
        self.live.core_ns = 0;
    }

    pub(super) fn draw_live(&mut self, now: u64) {
        let ran = Duration::from_nanos(now.saturating_sub(self.start));
        let elapsed = clock(ran);
        let span = match self.cfg.duration {
            Some(d) => format!("[{elapsed} elapsed, {} left]", clock(d.saturating_sub(ran))),
            None => format!("[{elapsed} elapsed]"),
        };
        let rates = if self.live.rates.is_empty() {
            "waiting for the first tick"
        } else {
            &self.live.rates
        };
        let errors = thousands(self.total.errors());
        let _ = write!(self.status, "\r{span} {rates} errors {errors}\x1b[K");
        let _ = self.status.flush();
        self.live.drawn = true;
    }

    pub(super) fn clear_live(&mut self) {
        if self.live.drawn {
            let _ = self.status.write_all(CLEAR_LINE.as_bytes());
            let _ = self.status.flush();
            self.live.drawn = false;
        }
    }
}
