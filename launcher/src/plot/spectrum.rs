//! The whole-run latency percentile spectrum: one line per operation class, x on the usual
//! log "nines" scale (0, 90, 99, 99.9, …), y = latency on a log scale.
//!
//! The x position of percentile `p` is `-log10(1 - p/100)`: 90 → 1, 99 → 2, 99.9 → 3. The
//! axis ends at the first whole number of nines past the largest percentile below 100, and
//! the 100th percentile (the maximum, at infinity on this scale) is drawn at that end.
//! Invariants: percentiles that are not finite are skipped, others are clamped to 0..=100;
//! a latency of 0 sits on the bottom of the axis; at most [`MAX_NINES`] nines are shown.
//! Element contract: `<path class="series spectrum" data-op="…">`, one `M`/`L` per point.

use super::svg::{self, Panel, Scale, Swatch};
use super::ticks;
use crate::merge::model::{ReportData, Spectrum};

/// Most nines the x axis shows (99.9999999999 %): beyond that f64 percentiles are noise.
pub const MAX_NINES: f64 = 10.0;
/// Fewest nines the x axis shows, so a short spectrum still reads as one (0 … 99 %).
const MIN_NINES: f64 = 2.0;

/// The whole-run percentile spectrum of every op with points, on one panel.
pub fn spectrum_svg(data: &ReportData) -> String {
    let lines: Vec<&Spectrum> = data
        .spectrum
        .iter()
        .filter(|s| s.points.iter().any(|(p, _)| p.is_finite()))
        .collect();
    let mut out = String::new();
    svg::open(
        &mut out,
        1,
        &format!("ringload latency spectrum — run {}", data.run_id),
    );
    let p = Panel::nth(0);
    svg::title(&mut out, &p, "Latency percentile spectrum (whole run)");
    if lines.is_empty() {
        svg::message(&mut out, &p, "no latency distribution in this run");
        out.push_str("</svg>\n");
        return out;
    }

    let finite_nines = lines
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(pct, _)| pct.is_finite() && *pct < 100.0)
        .map(|(pct, _)| nines(*pct))
        .fold(0.0f64, f64::max);
    let x_max = (finite_nines + 1e-9).ceil().clamp(MIN_NINES, MAX_NINES);
    let xs = Scale {
        lo: 0.0,
        hi: x_max,
        px_lo: p.x0,
        px_hi: p.x1,
        log: false,
    };
    let lat = lines.iter().flat_map(|s| s.points.iter()).map(|(_, v)| *v);
    let ys = Scale::log_latency(lat, &p);
    let (lo, hi) = (ys.lo, ys.hi);
    // The right edge holds only the maximum (p100) when there is one: label it so.
    let has_max = lines
        .iter()
        .flat_map(|s| s.points.iter())
        .any(|(pct, _)| *pct >= 100.0);
    let every = if x_max > 7.0 { 2 } else { 1 };
    let xt: Vec<(f64, String)> = (0..=x_max as u32)
        .filter(|n| n % every == 0 || f64::from(*n) == x_max)
        .map(|n| {
            let label = if has_max && f64::from(n) == x_max {
                "max".to_string()
            } else {
                nines_label(n)
            };
            (f64::from(n), label)
        })
        .collect();
    let yt: Vec<(f64, String)> = ticks::log_ticks(lo, hi)
        .into_iter()
        .map(|v| (v, ticks::latency_label(v)))
        .collect();
    svg::axes(
        &mut out,
        &p,
        (&xs, &xt, "percentile (log scale of nines)"),
        (&ys, &yt, "latency (log scale)"),
    );

    let mut legend = Vec::new();
    for (i, s) in lines.iter().enumerate() {
        let colour = svg::STRONG[i % svg::STRONG.len()];
        let mut pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|(pct, _)| pct.is_finite())
            .map(|(pct, v)| {
                let n = if *pct >= 100.0 { x_max } else { nines(*pct) };
                (n.min(x_max), *v as f64)
            })
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let px: Vec<Option<(f64, f64)>> = pts
            .iter()
            .map(|(n, v)| Some((xs.px(*n), ys.px(*v))))
            .collect();
        let attrs = format!("class=\"series spectrum\" data-op=\"{}\"", svg::esc(&s.op));
        svg::path(&mut out, &px, colour, 2.0, &attrs);
        legend.push((Swatch::Line(colour, 2.0), crate::merge::op_label(&s.op)));
    }
    svg::legend(&mut out, &p, &legend);
    out.push_str("</svg>\n");
    out
}

/// The x position of a percentile on the nines scale (0 for percentiles at or below 0).
fn nines(pct: f64) -> f64 {
    let rest = ((100.0 - pct.clamp(0.0, 100.0)) / 100.0).max(10f64.powf(-MAX_NINES));
    (-rest.log10()).clamp(0.0, MAX_NINES)
}

/// The label of `n` nines: `0%`, `90%`, `99%`, `99.9%`, …
fn nines_label(n: u32) -> String {
    match n {
        0 => "0%".to_string(),
        1 => "90%".to_string(),
        2 => "99%".to_string(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_scale_and_labels() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(nines(100.0), MAX_NINES);
        assert_eq!(nines(-5.0), 0.0);
        assert_eq!(nines_label(0), "0%");
        assert_eq!(nines_label(2), "99%");
        assert_eq!(nines_label(4), "99.99%");
    }
}
