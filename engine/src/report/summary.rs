//! The final summary printed on stdout when a run ends: per operation the count, bytes,
//! throughput, latency percentiles, the per-phase latency of a traced run (`--trace-http`:
//! each phase's count, p50 and p99) and errors by kind, over the whole measured phase; then,
//! for a run over TLS, the `tls:` line and the first TLS failure, when there was one; for a
//! `--random-proxy` run, the `proxies:` line. A `--rate` run's latency counts from each
//! request's intended start (the corrected latency); its `service` line, from the actual send;
//! the run ends with the `rate:` line, for a sweep of rates the `sweep:` line (its knee and
//! the step that broke, from `sweep`), and a `warning:` line per warning (a rate not kept).
//!
//! Owns only the text; the totals it reads are the reporter's exact sums of every tick.

use std::io::Write;

use super::fmt::{go_duration_cut, iec, latency_us, thousands};
use super::Reporter;
use crate::stats::OPS;
use ringload_core::hist::phases_line;

impl<W: Write, S: Write> Reporter<W, S> {
    pub(super) fn print_summary(&mut self, end: u64) {
        let ns = end - self.start;
        let secs = ns as f64 / 1e9;
        let mut text = format!(
            "\nSummary: {} on {} core(s)\n",
            go_duration_cut(ns, 3),
            self.covered.len()
        );
        let mut any = false;
        for op in OPS {
            let s = self.total.get(op);
            if s.count == 0 && s.errors == 0 {
                continue;
            }
            any = true;
            let (gib_s, ops_s) = if secs > 0.0 {
                (
                    s.bytes as f64 / secs / (1u64 << 30) as f64,
                    s.count as f64 / secs,
                )
            } else {
                (0.0, 0.0)
            };
            let l = s.latency();
            text += &format!(
                "{:<4} count {}  bytes {} ({})  {gib_s:.2} GiB/s  {} ops/s\n",
                op.label(),
                thousands(s.count),
                thousands(s.bytes),
                iec(s.bytes, 1),
                thousands(ops_s.round() as u64),
            );
            if s.count > 0 {
                text += &format!(
                    "     latency min {}  mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
                    latency_us(l.min as f64),
                    latency_us(l.mean),
                    latency_us(l.p50 as f64),
                    latency_us(l.p90 as f64),
                    latency_us(l.p99 as f64),
                    latency_us(l.p999 as f64),
                    latency_us(l.max as f64),
                );
                if let Some(sv) = s.service().filter(|sv| sv.count() > 0) {
                    let l = sv.latency();
                    text += &format!(
                        "     service min {}  mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
                        latency_us(l.min as f64),
                        latency_us(l.mean),
                        latency_us(l.p50 as f64),
                        latency_us(l.p90 as f64),
                        latency_us(l.p99 as f64),
                        latency_us(l.p999 as f64),
                        latency_us(l.max as f64),
                    );
                }
                if let Some(p) = s.phases() {
                    text += &phases_line(&p.line_figures(), |us| latency_us(us as f64));
                }
            }
            let kinds: Vec<String> = s
                .errors_by_kind()
                .into_iter()
                .map(|(k, n)| format!("{k} {}", thousands(n)))
                .collect();
            if kinds.is_empty() {
                text += "     errors 0\n";
            } else {
                text += &format!(
                    "     errors {}: {}\n",
                    thousands(s.errors),
                    kinds.join(", ")
                );
            }
        }
        if !any {
            text += "no operations completed or failed\n";
        }
        if let Some(t) = &self.tls {
            text += &t.line();
            text.push('\n');
            if let Some(f) = &t.failure {
                text += &format!("     first TLS failure: {f}\n");
            }
        }
        if let Some(line) = ringload_core::result::ProxyCount::line(&self.proxies) {
            text += &line;
        }
        if let Some(r) = &self.rate {
            text += &super::rate::line(r);
        }
        text += &self.sweep_line();
        for w in &self.warnings {
            text += &format!("warning: {w}\n");
        }
        let _ = self.out.write_all(text.as_bytes());
    }
}
