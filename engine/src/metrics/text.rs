//! The Prometheus text exposition format (version 0.0.4) of a run's cumulative figures: what
//! `/metrics` serves.
//!
//! Owns the metric names, their HELP and TYPE lines, the fixed latency buckets and the
//! escaping of label values. Everything is rendered from one cumulative [`Snapshot`] (the
//! reporter's total), so counters only rise within a run and a scrape never touches the cores.
//!
//! The `op` label's values are the result file's keys; the classes shown are the total's
//! [`Snapshot::shown_ops`] (`get` and `put` always, an ML class from its first operation on),
//! so a run without them exposes what it always did. `get_batch` also has
//! `ringload_objects_total`.

use std::fmt::Write;

use hdrhistogram::Histogram;

use crate::stats::{Op, Snapshot, SpanHist, OP_COUNT};

/// The upper bounds (`le`) of the latency histograms, µs: 100 µs .. 60 s.
pub const BUCKETS_US: [u64; 18] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

/// Which system is loaded, for `ringload_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub run_id: String,
    pub rank: u32,
    pub target: String,
    pub protocol: String,
}

/// What the exposition shows besides the snapshot's own figures.
#[derive(Debug, Clone, Default)]
pub struct Extra<'a> {
    /// In-flight requests per op (the reporter's latest sample of each core, summed).
    pub pending: [u64; OP_COUNT],
    /// CPU time of each core thread, ns (`None` where it could not be read).
    pub cpu_ns: &'a [Option<u64>],
}

/// Renders the exposition of `total` (cumulative since the run start).
pub fn render(info: &Info, total: &Snapshot, extra: &Extra) -> String {
    let mut s = String::with_capacity(8 * 1024);
    let shown = total.shown_ops();
    head(
        &mut s,
        "ringload_info",
        "gauge",
        "The run and the system it loads (always 1).",
    );
    let _ = writeln!(
        s,
        "ringload_info{{run_id=\"{}\",rank=\"{}\",target=\"{}\",protocol=\"{}\"}} 1",
        escape(&info.run_id),
        info.rank,
        escape(&info.target),
        escape(&info.protocol)
    );
    head(
        &mut s,
        "ringload_operations_total",
        "counter",
        "Operations completed, by op and outcome (ok or error).",
    );
    for &op in &shown {
        let o = total.get(op);
        let op = op.as_str();
        let _ = writeln!(
            s,
            "ringload_operations_total{{op=\"{op}\",outcome=\"ok\"}} {}",
            o.count
        );
        let _ = writeln!(
            s,
            "ringload_operations_total{{op=\"{op}\",outcome=\"error\"}} {}",
            o.errors
        );
    }
    head(
        &mut s,
        "ringload_bytes_total",
        "counter",
        "Body bytes moved by successful operations.",
    );
    for &op in &shown {
        let _ = writeln!(
            s,
            "ringload_bytes_total{{op=\"{}\"}} {}",
            op.as_str(),
            total.get(op).bytes
        );
    }
    if shown.contains(&Op::GetBatch) {
        head(
            &mut s,
            "ringload_objects_total",
            "counter",
            "Objects (or files in shards) delivered by successful GetBatch requests.",
        );
        let _ = writeln!(
            s,
            "ringload_objects_total{{op=\"get_batch\"}} {}",
            total.get(Op::GetBatch).objects
        );
    }
    head(
        &mut s,
        "ringload_errors_total",
        "counter",
        "Failed operations, by op and kind (as in the result's errors_by_kind).",
    );
    for &op in &shown {
        for (kind, n) in total.get(op).errors_by_kind() {
            let _ = writeln!(
                s,
                "ringload_errors_total{{op=\"{}\",kind=\"{}\"}} {n}",
                op.as_str(),
                escape(&kind)
            );
        }
    }
    let what = if total.rated() {
        "from each request's intended start (--rate)"
    } else {
        "from each request's send"
    };
    head(
        &mut s,
        "ringload_latency_seconds",
        "histogram",
        &format!("Latency of successful operations, {what}."),
    );
    for &op in &shown {
        let o = total.get(op);
        let label = format!("op=\"{}\"", op.as_str());
        histogram(
            &mut s,
            "ringload_latency_seconds",
            &label,
            o.histogram(),
            o.latency_sum_us(),
            o.count,
        );
    }
    head(&mut s, "ringload_in_flight", "gauge", "Requests in flight.");
    for &op in &shown {
        let _ = writeln!(
            s,
            "ringload_in_flight{{op=\"{}\"}} {}",
            op.as_str(),
            extra.pending[op as usize]
        );
    }
    if let Some(lag) = total.lag.as_deref() {
        schedule_lag(&mut s, lag);
    }
    head(
        &mut s,
        "ringload_client_cpu_seconds_total",
        "counter",
        "CPU time of each core thread of this rank.",
    );
    for (core, ns) in extra.cpu_ns.iter().enumerate() {
        if let Some(ns) = ns {
            let _ = writeln!(
                s,
                "ringload_client_cpu_seconds_total{{core=\"{core}\"}} {}",
                seconds(*ns / 1_000)
            );
        }
    }
    s
}

/// `--rate`: how late requests were issued against their schedule.
fn schedule_lag(s: &mut String, lag: &SpanHist) {
    head(
        s,
        "ringload_schedule_lag_seconds",
        "histogram",
        "How late each request was sent after its intended start (--rate).",
    );
    histogram(
        s,
        "ringload_schedule_lag_seconds",
        "",
        lag.histogram(),
        lag.sum_us(),
        lag.count(),
    );
}

fn head(s: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        s,
        "# HELP {name} {}",
        help.replace('\\', "\\\\").replace('\n', "\\n")
    );
    let _ = writeln!(s, "# TYPE {name} {kind}");
}

/// One histogram's cumulative buckets, `_sum` (seconds, from the exact µs sum) and `_count`.
fn histogram(s: &mut String, name: &str, label: &str, h: &Histogram<u64>, sum_us: u64, count: u64) {
    let sep = if label.is_empty() { "" } else { "," };
    for le in BUCKETS_US {
        let n = if h.is_empty() {
            0
        } else {
            h.count_between(0, le)
        };
        let _ = writeln!(
            s,
            "{name}_bucket{{{label}{sep}le=\"{}\"}} {}",
            seconds(le),
            n.min(count)
        );
    }
    let _ = writeln!(s, "{name}_bucket{{{label}{sep}le=\"+Inf\"}} {count}");
    let braces = if label.is_empty() {
        String::new()
    } else {
        format!("{{{label}}}")
    };
    let _ = writeln!(s, "{name}_sum{braces} {}", seconds(sum_us));
    let _ = writeln!(s, "{name}_count{braces} {count}");
}

/// µs as seconds, exactly (no float rounding: `1500` is `0.0015`).
fn seconds(us: u64) -> String {
    let (whole, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let f = format!("{frac:06}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// A label value escaped as the format requires: backslash, double quote and newline.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
