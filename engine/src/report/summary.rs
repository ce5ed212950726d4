//! The final summary printed on stdout when a run ends: per operation class that has an
//! operation (labels `GET`, `PUT`, `GET(batch)`, `PUT(mpu)`, `GET(mpd)`) the count (a
//! GetBatch's also its objects and objects/s), bytes,
//! throughput, latency percentiles, the per-phase latency of a traced run (`--trace-http`:
//! each phase's count, p50 and p99) and errors by kind, over the whole measured phase; then,
//! for a run over TLS, the `tls:` line and the first TLS failure, when there was one; for a
//! `--random-proxy` run, the `proxies:` line. A `--rate` run's latency counts from each
//! request's intended start (the corrected latency); its `service` line, from the actual send;
//! then the `rate:` line, for a sweep of rates the `sweep:` line (its knee and the step that
//! broke, from `sweep`), the rank's self-diagnosis (`client:`), and last a `warning:` line per
//! warning (a rate not kept, a client-bound rank, a lossy network).
//!
//! Owns only the text; the totals it reads are the reporter's exact sums of every tick.

use std::io::Write;

use super::fmt::{go_duration_cut, iec, latency_us, thousands};
use super::Reporter;
use crate::client::judge::pct;
use crate::stats::{Op, OPS};
use ringload_core::client::ClientRecord;
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
            // A GetBatch counts batches; its objects (and their rate) follow the count.
            let (objects, objects_s) = if op == Op::GetBatch {
                let per_s = if secs > 0.0 {
                    s.objects as f64 / secs
                } else {
                    0.0
                };
                (
                    format!("  objects {}", thousands(s.objects)),
                    format!("  {} objects/s", thousands(per_s.round() as u64)),
                )
            } else {
                (String::new(), String::new())
            };
            text += &format!(
                "{:<4} count {}{objects}  bytes {} ({})  {gib_s:.2} GiB/s  {} ops/s{objects_s}\n",
                op.label(),
                thousands(s.count),
                thousands(s.bytes),
                iec(s.bytes, 1),
                thousands(ops_s.round() as u64),
            );
            if s.count > 0 {
                text += &figures_line("latency", &l);
                if let Some(sv) = s.service().filter(|sv| sv.count() > 0) {
                    text += &figures_line("service", &sv.latency());
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
        if let Some(c) = &self.client {
            text += &client_line(c);
        }
        for w in &self.warnings {
            text += &format!("warning: {w}\n");
        }
        let _ = self.out.write_all(text.as_bytes());
    }
}

/// One latency line of the summary: `     <name> min .. mean .. p50 .. p90 .. p99 .. p99.9 ..
/// max ..` (the corrected latency, and a `--rate` run's service latency).
fn figures_line(name: &str, l: &ringload_core::hist::LatencySummary) -> String {
    format!(
        "     {name} min {}  mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
        latency_us(l.min as f64),
        latency_us(l.mean),
        latency_us(l.p50 as f64),
        latency_us(l.p90 as f64),
        latency_us(l.p99 as f64),
        latency_us(l.p999 as f64),
        latency_us(l.max as f64),
    )
}

/// The self-diagnosis line (each core's busy and CPU-wait share, retransmits, NIC use); a
/// client-bound rank's reasons are in its `warning:` line:
/// `client: cores busy 98% 12% · CPU wait 1% 0% · retransmits 0.00% · NIC n/a`.
pub(crate) fn client_line(c: &ClientRecord) -> String {
    let shares = |v: &[f64]| {
        if v.is_empty() {
            return "n/a".to_string();
        }
        let p: Vec<String> = v.iter().map(|&x| format!("{}%", pct(x))).collect();
        p.join(" ")
    };
    let retransmits = c
        .retransmit_pct
        .map_or("n/a".to_string(), |r| format!("{r:.2}%"));
    let nic = c
        .nic_utilization
        .map_or("n/a".to_string(), |u| format!("{}%", pct(u)));
    format!(
        "client: cores busy {} · CPU wait {} · retransmits {retransmits} · NIC {nic}\n",
        shares(&c.cpu_per_core),
        shares(&c.sched_wait_per_core),
    )
}

#[cfg(test)]
mod client_tests {
    use super::*;

    #[test]
    fn the_client_line() {
        let mut c = ClientRecord {
            cpu_per_core: vec![0.976, 0.12],
            sched_wait_per_core: vec![0.01, 0.0],
            retransmit_pct: Some(0.0),
            nic_utilization: None,
            client_bound: true,
            reasons: vec![
                "core 0 busy 98% of the steady window".into(),
                "NIC eth0 at 93% of its 10 Gb/s link".into(),
            ],
        };
        assert_eq!(
            client_line(&c),
            "client: cores busy 98% 12% · CPU wait 1% 0% · retransmits 0.00% · NIC n/a\n",
            "the reasons of a client-bound rank are in its warning line, not here"
        );
        c.client_bound = false;
        c.reasons.clear();
        c.sched_wait_per_core.clear();
        c.retransmit_pct = None;
        c.nic_utilization = Some(0.934);
        assert_eq!(
            client_line(&c),
            "client: cores busy 98% 12% · CPU wait n/a · retransmits n/a · NIC 93%\n"
        );
    }
}
