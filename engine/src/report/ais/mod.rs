//! aisloader's output for the aisloader front end: its interval table, final table and JSON
//! stream, written where `-stats-output` says (stdout by default).
//!
//! Owns the text, byte for byte as aisloader prints it; the reporter (`report/mod.rs`) decides
//! when: the preamble (a blank line and the header, or `[`) when the reporter is made, one
//! interval's rows (or JSON object) when an interval is complete, and the final header with the
//! whole run's rows (or the last JSON object and `]`) at the end. The last, partial interval
//! is not printed on its own: like aisloader, it only counts in the final figures.
//!
//! The table: rows only for ops with at least one success in the interval, in aisloader's
//! order and labels: `PUT`, `MPU`, `GET`, `GET-MPDSTREAM`, `GBT` (GetBatch); PUT's and GET's
//! count cell is aisloader's `N (total pending resq)` (the others' `N (total)`): `pending` is the requests in flight
//! when the interval ended (each core's latest sample, summed), and `resq`, aisloader's queue
//! of finished requests not yet accounted, is always 0: ringload's cores account each request
//! as it finishes, there is no such queue. Sizes and rates are IEC in `f32` (`-` for 0), the
//! errors cell is `-` until the run has an error, times are local `15:04:05`, latencies are Go
//! durations cut to 3 decimals.
//!
//! The JSON: aisloader's array, `[` then per interval `\n{...},`, at the end `\n{total}\n]\n`
//! (Go's `MarshalIndent` with 2 spaces). Every object has `get`, `put` and `get_batch`
//! (aisloader's keys; its JSON has none for multipart); counts, bytes and throughput are strings, errors and the
//! latencies and duration numbers in ns, `start_time` is the window's start as Go writes a
//! local time.
//!
//! Latencies: the cores measure in µs, so every figure is a whole number of µs in ns. The
//! average is exact (the stats keep the exact sum of latencies per op); min and max are exact.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::fmt::{
    go_duration_cut, iec, iec_or_dash, local_hms, per_second, rfc3339_local, thousands,
};
use super::Printed;
use crate::stats::{Op, OpStats, Snapshot, OP_COUNT};

/// How the aisloader front end wants the run's statistics written.
#[derive(Debug, Clone, Default)]
pub struct AisOutput {
    /// `-json`: aisloader's JSON array instead of its table.
    pub json: bool,
    /// `-stats-output FILE`: the stream goes there instead of stdout.
    pub stats_output: Option<PathBuf>,
    /// `-statsinterval N` with N > 0: interval rows (or objects) every reporter interval;
    /// false (`-statsinterval 0`): only the final one.
    pub periodic: bool,
}

/// The mode of the `-stats-output` file (aisloader's `cos.PermRWR`).
const STATS_FILE_MODE: u32 = 0o640;

/// Creates (or truncates) the `-stats-output` file as aisloader does: missing parent
/// directories are made, the file is opened write-only with mode 0640.
pub fn create_stats_output(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(STATS_FILE_MODE)
        .open(path)
}

/// The trailer aisloader prints on stdout after the stream: `Stats written to <path>` (the
/// `-stats-output` path as given, else `/dev/stdout`).
pub fn written_to(o: &AisOutput) -> String {
    let path = o
        .stats_output
        .as_ref()
        .map_or_else(|| "/dev/stdout".into(), |p| p.display().to_string());
    format!("Stats written to {path}")
}

/// aisloader's row layout, `%-10s%-6s%-22s\t%-22s\t%-36s\t%-22s\t%-10s\n`.
fn row(time: &str, op: &str, count: &str, size: &str, lat: &str, tp: &str, errs: &str) -> String {
    format!("{time:<10}{op:<6}{count:<22}\t{size:<22}\t{lat:<36}\t{tp:<22}\t{errs:<10}\n")
}

/// aisloader's table header.
pub fn header() -> String {
    row(
        "Time",
        "OP",
        "Count",
        "Size (Total)",
        "Latency (min, avg, max)",
        "Throughput (Avg)",
        "Errors (Total)",
    )
}

/// The start of the stream: a blank line and the header, or the array's `[`.
pub fn preamble(o: &AisOutput) -> String {
    if o.json {
        "[".to_string()
    } else {
        format!("\n{}", header())
    }
}

/// aisloader's `prettySpeed`: `-` for 0, else IEC with 2 decimals and `/s`.
fn speed(n: u64) -> String {
    if n == 0 {
        "-".to_string()
    } else {
        format!("{}/s", iec(n, 2))
    }
}

/// min, avg and max latency in ns, as aisloader computes them (0 without a success).
fn latency_ns(s: &OpStats) -> (u64, u64, u64) {
    if s.count == 0 {
        return (0, 0, 0);
    }
    let l = s.latency();
    let avg = u128::from(s.latency_sum_us()) * 1_000 / u128::from(s.count);
    (
        l.min.saturating_mul(1_000),
        u64::try_from(avg).unwrap_or(u64::MAX),
        l.max.saturating_mul(1_000),
    )
}

/// aisloader's `prettyLatency`: min, avg and max, each a cut Go duration in 11 columns.
fn latency_cell(s: &OpStats) -> String {
    let (min, avg, max) = latency_ns(s);
    let d = |ns| go_duration_cut(ns, 3);
    format!("{:<11}{:<11}{:<11}", d(min), d(avg), d(max))
}

/// The ops of the table, in aisloader's order, with aisloader's labels (`MPU`,
/// `GET-MPDSTREAM`, `GBT`); only PUT and GET show the in-flight gauge in their count.
const TABLE_OPS: [(Op, &str); 5] = [
    (Op::Put, "PUT"),
    (Op::PutMpu, "MPU"),
    (Op::Get, "GET"),
    (Op::GetMpd, "GET-MPDSTREAM"),
    (Op::GetBatch, "GBT"),
];

/// One interval's text: its rows, or its JSON object and comma. `iv` covers `[start, end]`;
/// `acc` holds the run's counters up to and including it; `pending` the in-flight gauge.
pub(super) fn interval_text(
    o: &AisOutput,
    iv: &Snapshot,
    acc: &[Printed; OP_COUNT],
    pending: [u64; OP_COUNT],
    run_start: u64,
    start: u64,
    end: u64,
) -> String {
    if o.json {
        return format!("\n{},", json_object(iv, start, end));
    }
    let mut out = String::new();
    let time = local_hms(end);
    for (op, label) in TABLE_OPS {
        let s = iv.get(op);
        if s.count == 0 {
            continue;
        }
        let t = acc[op as usize];
        let count = if matches!(op, Op::Get | Op::Put) {
            format!(
                "{} ({} {} 0)",
                thousands(s.count),
                thousands(t.count),
                thousands(pending[op as usize])
            )
        } else {
            format!("{} ({})", thousands(s.count), thousands(t.count))
        };
        let size = format!("{} ({})", iec_or_dash(s.bytes, 1), iec_or_dash(t.bytes, 1));
        let tp = format!(
            "{} ({})",
            speed(per_second(s.bytes, end.saturating_sub(start))),
            speed(per_second(t.bytes, end.saturating_sub(run_start)))
        );
        let errs = if t.errors == 0 {
            "-".to_string()
        } else {
            format!("{} ({})", thousands(s.errors), thousands(t.errors))
        };
        out += &row(&time, label, &count, &size, &latency_cell(s), &tp, &errs);
    }
    out
}

/// The end of the stream: the final header and the whole run's rows, or the last JSON object
/// and the array's end. `total` covers `[run_start, end]`.
pub(super) fn final_text(o: &AisOutput, total: &Snapshot, run_start: u64, end: u64) -> String {
    if o.json {
        return format!("\n{}\n]\n", json_object(total, run_start, end));
    }
    let mut out = format!("\n{}", header());
    let time = local_hms(end);
    for (op, label) in TABLE_OPS {
        let s = total.get(op);
        if s.count == 0 {
            continue;
        }
        out += &row(
            &time,
            label,
            &thousands(s.count),
            &iec_or_dash(s.bytes, 1),
            &latency_cell(s),
            &speed(per_second(s.bytes, end.saturating_sub(run_start))),
            &thousands(s.errors),
        );
    }
    out
}

/// `{"get": ..., "put": ..., "get_batch": ...}` for the window `[start, end]`, indented as Go's
/// `json.MarshalIndent(v, "", "  ")`.
fn json_object(s: &Snapshot, start: u64, end: u64) -> String {
    let parts = [
        ("get", s.get(Op::Get)),
        ("put", s.get(Op::Put)),
        ("get_batch", s.get(Op::GetBatch)),
    ];
    let span = end.saturating_sub(start);
    let start_time = rfc3339_local(start);
    let mut out = String::from("{\n");
    for (i, (key, op)) in parts.iter().enumerate() {
        let (min, avg, max) = latency_ns(op);
        let _ = write!(
            out,
            "  \"{key}\": {{\n    \"start_time\": \"{start_time}\",\n    \"count\": \"{}\",\n    \
             \"bytes\": \"{}\",\n    \"errors\": {},\n    \"latency\": {avg},\n    \
             \"duration\": {span},\n    \"min_latency\": {min},\n    \"max_latency\": {max},\n    \
             \"throughput\": \"{}\"\n  }}{}\n",
            op.count,
            op.bytes,
            op.errors,
            per_second(op.bytes, span),
            if i + 1 < parts.len() { "," } else { "" },
        );
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests;
