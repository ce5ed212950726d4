//! The interval table's text: aisloader's row layout with ringload's percentile column, the
//! header, and one row of an op over an interval (with the `(<total>)` columns of the rows
//! printed so far). Split from the reporter (`mod.rs`), which decides when rows are printed.

use super::fmt::{iec_or_dash, latency_us, local_hms, local_hms_tenths, per_second, thousands};
use super::Reporter;
use crate::stats::{Op, OpStats};
use std::io::Write;

impl<W: Write, S: Write> Reporter<W, S> {
    pub(super) fn row(&self, op: Op, s: &OpStats, start: u64, end: u64) -> String {
        let p = self.printed[op as usize];
        let lat = s.latency();
        let dash = || "-".to_string();
        let three = |a: String, b: String, c: String| format!("{a:<11}{b:<11}{c:<11}");
        let (minmax, pct) = if s.count > 0 {
            (
                three(
                    latency_us(lat.min as f64),
                    latency_us(lat.mean),
                    latency_us(lat.max as f64),
                ),
                three(
                    latency_us(lat.p50 as f64),
                    latency_us(lat.p90 as f64),
                    latency_us(lat.p99 as f64),
                ),
            )
        } else {
            (three(dash(), dash(), dash()), three(dash(), dash(), dash()))
        };
        let size = if s.bytes == 0 && p.bytes == 0 {
            dash()
        } else {
            format!("{} ({})", iec_or_dash(s.bytes, 1), iec_or_dash(p.bytes, 1))
        };
        // A request's bytes count when it completes, so a row shorter than its slowest request
        // (the wind-down after the stop, a few ms of completions) would show them as if they
        // had moved in that instant: its rate is taken over the span those requests really
        // ran, at least the slowest one's latency. A full interval is never shorter.
        let slowest_ns = if s.count > 0 {
            lat.max.saturating_mul(1_000)
        } else {
            0
        };
        let iv_tp = per_second(s.bytes, (end - start).max(slowest_ns));
        let tot_tp = per_second(p.bytes, end.saturating_sub(self.start));
        let tp = if iv_tp == 0 && tot_tp == 0 {
            dash()
        } else {
            format!("{}/s ({}/s)", iec_or_dash(iv_tp, 2), iec_or_dash(tot_tp, 2))
        };
        let errors = if p.errors == 0 {
            dash()
        } else {
            format!("{} ({})", thousands(s.errors), thousands(p.errors))
        };
        // A partial interval (the last one) ends at its own instant, often within the same
        // second as the row before it: tenths of a second tell the two apart.
        let time = if end - start < self.interval_ns {
            local_hms_tenths(end)
        } else {
            local_hms(end)
        };
        format_row(
            &time,
            op.label(),
            &format!("{} ({})", thousands(s.count), thousands(p.count)),
            &size,
            &minmax,
            &tp,
            &errors,
            &pct,
        )
    }
}

/// The table header (aisloader's, plus the percentile column).
pub fn header() -> String {
    format_row(
        "Time",
        "OP",
        "Count",
        "Size (Total)",
        "Latency (min, avg, max)",
        "Throughput (Avg)",
        "Errors (Total)",
        "Latency (p50, p90, p99)",
    )
}

/// aisloader's row layout (`%-10s%-6s%-22s\t%-22s\t%-36s\t%-22s\t%-10s\t`), then the
/// percentile column last so that aisloader's columns keep their positions. Time and OP share
/// their 16 columns, so a partial row's `HH:MM:SS.s` keeps a space before the OP and every
/// later column in place; a longer label (`GET(batch)`) keeps one space before the count and
/// pushes that row's later columns right.
#[allow(clippy::too_many_arguments)]
fn format_row(
    time: &str,
    op: &str,
    count: &str,
    size: &str,
    lat: &str,
    tp: &str,
    errors: &str,
    pct: &str,
) -> String {
    format!(
        "{:<16}{count:<22}\t{size:<22}\t{lat:<36}\t{tp:<22}\t{errors:<10}\t{}\n",
        format!("{time:<9} {op} "),
        pct.trim_end()
    )
}
