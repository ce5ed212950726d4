//! SVG plots and the self-contained `report.html`, drawn from a merge's [`ReportData`].
//!
//! Pure Rust, hand-written SVG, no network and no plotting crate (build time matters more
//! than chart features here). Files written by [`write_all`]:
//! - `throughput.svg`: throughput over time, total (bold, left axis) and each rank (thin, on a
//!   right axis of its own when there are several), a panel per op;
//! - `latency.svg`: p50 / p90 / p99 over time of the total series, log y axis, a panel per op;
//! - `spectrum.svg`: the whole-run percentile spectrum on the log "nines" scale;
//! - `report.html`: the three SVGs inline, the summary table, warnings, workload.
//!
//! Invariants, whatever the input (empty, one point, all zeros, 1,024 ranks, u64::MAX):
//! no panic, no `NaN`/`inf` in the output, every data string escaped, the same data gives the
//! same bytes, and the plots stay small (see [`timeseries`] for the caps).

mod bucket;
mod html;
mod spectrum;
mod svg;
mod tables;
mod ticks;
mod timeseries;

#[cfg(test)]
mod tests;

use std::io;
use std::path::Path;

use crate::merge::model::ReportData;

pub use html::report_html;
pub use spectrum::spectrum_svg;
pub use timeseries::{latency_svg, throughput_svg};

/// Writes throughput.svg, latency.svg, spectrum.svg and report.html into `out` (created if
/// missing). Each file is written to a temporary name and renamed, so a reader never sees a
/// half-written plot.
pub fn write_all(out: &Path, data: &ReportData) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let files = [
        ("throughput.svg", throughput_svg(data)),
        ("latency.svg", latency_svg(data)),
        ("spectrum.svg", spectrum_svg(data)),
        ("report.html", report_html(data)),
    ];
    for (name, text) in files {
        let tmp = out.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, out.join(name))?;
    }
    Ok(())
}
