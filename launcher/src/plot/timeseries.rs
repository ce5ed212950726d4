//! The two time plots: throughput over time (total + each rank) and latency percentiles over
//! time (total series), one stacked panel per operation class that has data.
//!
//! Both share one time axis (seconds since the first bucket of any series, shown as `mm:ss`)
//! and shade the steady window. With several ranks, each rank is a fraction of the total and
//! would lie flat on the x axis, so rank lines get their own right-hand axis ("per rank"). Scale limits, so 1,024 ranks stay well under ~2 MB:
//! - at most [`MAX_RANK_LINES`] rank lines per panel, chosen evenly across ranks when there
//!   are more (the legend says "showing N of M");
//! - rank lines share a budget of [`RANK_POINT_BUDGET`] points per plot (at least
//!   [`MIN_RANK_POINTS`] each), the total line at most [`MAX_TOTAL_POINTS`]; longer series are
//!   re-bucketed (see [`super::bucket`]).
//!
//! Element contract (tests and scripts rely on it): each panel is `<g class="panel"
//! data-op="…">`; throughput lines are `<path class="series total">` and `<path class="series
//! rank" data-rank="N">`; latency lines are `<path class="series p50|p90|p99">`; the steady
//! window is `<rect class="steady">`. One path command (`M`/`L`) per drawn point.

use std::fmt::Write as _;

use super::bucket::{has_data, is_gap, rebucket, time_domain, Bucket};
use super::svg::{self, Panel, Scale, Swatch};
use super::ticks;
use crate::merge::model::{OpSeries, RankSeries, ReportData};

/// Rank lines drawn per panel at most: more are unreadable anyway.
pub const MAX_RANK_LINES: usize = 1024;
/// Points shared by all rank lines of one plot (~12 bytes each in the SVG, so ~0.5 MB).
pub const RANK_POINT_BUDGET: usize = 40_000;
/// Points per rank line at least, however many ranks: enough to show a shape.
pub const MIN_RANK_POINTS: usize = 16;
/// Points of a total or percentile line at most: about two per horizontal pixel.
pub const MAX_TOTAL_POINTS: usize = 1_800;
/// Ranks named one by one in the legend; beyond this one entry stands for all of them.
const LEGEND_RANKS: usize = 6;
/// Title of the time axis.
const TIME_LABEL: &str = "time since start (mm:ss)";
/// Longest op name shown in a panel title (ops are "get" and "put"; this bounds hostile ones).
const OP_CHARS: usize = 24;
/// Longest run id shown in a panel title; the `<title>` element carries it whole.
const TITLE_ID_CHARS: usize = 48;

/// Throughput in GiB/s over time: the total (bold) and each rank (thin), one panel per op.
pub fn throughput_svg(data: &ReportData) -> String {
    draw(data, "throughput", throughput_panel)
}

/// Latency p50 / p90 / p99 over time (total series), log-scale y axis, one panel per op.
pub fn latency_svg(data: &ReportData) -> String {
    draw(data, "latency", latency_panel)
}

/// What the body of one panel needs to know.
struct Ctx<'a> {
    p: Panel,
    /// Time scale: seconds since `t0` to pixels.
    xs: Scale,
    s: &'a OpSeries,
    t0: u64,
    /// Panels in the plot (the rank point budget is shared between them).
    panels: usize,
    /// Whether the steady window was shaded (the legend then names it).
    steady: bool,
}

/// The part both plots share: document, panels, titles, steady band; `body` draws the lines,
/// the axes and the legend of one panel.
fn draw(data: &ReportData, what: &str, body: fn(&mut String, &Ctx<'_>)) -> String {
    let ops: Vec<&OpSeries> = data.series.iter().filter(|s| has_data(s)).collect();
    let mut out = String::new();
    svg::open(
        &mut out,
        ops.len(),
        &format!("ringload {what} — run {}", data.run_id),
    );
    let Some((t0, span_s)) = time_domain(data).filter(|_| !ops.is_empty()) else {
        let p = Panel::nth(0);
        svg::title(&mut out, &p, &format!("{} — no data", capitalise(what)));
        run_id(&mut out, &p, &data.run_id);
        svg::message(&mut out, &p, "no time series in this run");
        out.push_str("</svg>\n");
        return out;
    };
    let span_s = if span_s > 0.0 { span_s } else { 1.0 };
    for (i, s) in ops.iter().enumerate() {
        let p = Panel::nth(i);
        let xs = Scale {
            lo: 0.0,
            hi: span_s,
            px_lo: p.x0,
            px_hi: p.x1,
            log: false,
        };
        let _ = writeln!(out, "<g class=\"panel\" data-op=\"{}\">", svg::esc(&s.op));
        svg::title(
            &mut out,
            &p,
            &format!(
                "{} {what}",
                svg::short(&crate::merge::op_label(&s.op), OP_CHARS)
            ),
        );
        run_id(&mut out, &p, &data.run_id);
        let rel = |t: u64| t.saturating_sub(t0) as f64 / 1e9;
        let steady = data
            .steady_window
            .is_some_and(|(a, b)| svg::band(&mut out, &p, &xs, rel(a), rel(b)));
        let ctx = Ctx {
            p,
            xs,
            s,
            t0,
            panels: ops.len(),
            steady,
        };
        body(&mut out, &ctx);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The run id, right-aligned on the title line, shortened to [`TITLE_ID_CHARS`].
fn run_id(out: &mut String, p: &Panel, id: &str) {
    if id.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\">run {}</text>",
        svg::num(p.x1),
        svg::num(p.top + 22.0),
        svg::esc(&svg::short(id, TITLE_ID_CHARS))
    );
}

/// The x ticks of a time axis spanning `xs`.
fn time_ticks(xs: &Scale) -> Vec<(f64, String)> {
    let (step, ticks) = ticks::time_ticks(xs.hi);
    ticks
        .into_iter()
        .map(|t| (t, ticks::clock_label(t, step < 1.0)))
        .collect()
}

/// The throughput unit for a maximum rate: GiB/s for ordinary runs (0.1 to 1024 GiB/s),
/// otherwise the largest binary unit that keeps the maximum at or above 1.
fn rate_unit(max_bps: f64) -> (f64, &'static str) {
    const UNITS: [(f64, &str); 7] = [
        (1.0, "B/s"),
        (1024.0, "KiB/s"),
        (1_048_576.0, "MiB/s"),
        (1_073_741_824.0, "GiB/s"),
        (1_099_511_627_776.0, "TiB/s"),
        (1_125_899_906_842_624.0, "PiB/s"),
        (1_152_921_504_606_846_976.0, "EiB/s"),
    ];
    let gib = UNITS[3];
    if !(max_bps.is_finite() && max_bps > 0.0)
        || (max_bps >= 0.1 * gib.0 && max_bps < 1024.0 * gib.0)
    {
        return gib;
    }
    UNITS
        .iter()
        .rev()
        .find(|(u, _)| max_bps >= *u)
        .copied()
        .unwrap_or(UNITS[0])
}

/// Rank lines to draw: sorted by rank, at most [`MAX_RANK_LINES`], evenly spread.
fn pick_ranks(per_rank: &[RankSeries]) -> Vec<&RankSeries> {
    let mut all: Vec<&RankSeries> = per_rank.iter().filter(|r| !r.points.is_empty()).collect();
    all.sort_by_key(|r| r.rank);
    if all.len() <= MAX_RANK_LINES {
        return all;
    }
    let n = all.len();
    (0..MAX_RANK_LINES)
        .map(|i| all[i * n / MAX_RANK_LINES])
        .collect()
}

/// Pixel points of a bucketed line, broken at gaps; `y` returns `None` for "no value".
fn line_points(
    buckets: &[Bucket],
    width_ns: u64,
    xs: &Scale,
    y: impl Fn(&Bucket) -> Option<f64>,
) -> Vec<Option<(f64, f64)>> {
    let mut pts = Vec::with_capacity(buckets.len() + 4);
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 && is_gap(&buckets[i - 1], b, width_ns) {
            pts.push(None);
        }
        pts.push(y(b).map(|v| (xs.px(b.mid_s), v)));
    }
    pts
}

/// A linear y axis from 0 over the panel's plot area for values up to `max` (in `unit`s).
fn rate_axis(p: &Panel, max: f64) -> (Scale, Vec<(f64, String)>) {
    let (top, ticks) = ticks::linear_ticks(max);
    let step = ticks.get(1).copied().unwrap_or(top);
    let labels = ticks
        .iter()
        .map(|v| (*v, ticks::linear_label(*v, step)))
        .collect();
    let scale = Scale {
        lo: 0.0,
        hi: top,
        px_lo: p.y1,
        px_hi: p.y0,
        log: false,
    };
    (scale, labels)
}

/// Total on the left axis; ranks on a right axis of their own when there are several (each
/// is a fraction of the total and would lie flat on the x axis), else on the same axis.
fn throughput_panel(out: &mut String, c: &Ctx<'_>) {
    let (p, xs, s, t0) = (&c.p, &c.xs, c.s, c.t0);
    let ranks = pick_ranks(&s.per_rank);
    let per_rank_pts =
        (RANK_POINT_BUDGET / c.panels.max(1) / ranks.len().max(1)).max(MIN_RANK_POINTS);
    let total = rebucket(&s.total, s.step_ns, t0, MAX_TOTAL_POINTS);
    let rank_lines: Vec<(u32, (u64, Vec<Bucket>))> = ranks
        .iter()
        .map(|r| (r.rank, rebucket(&r.points, r.step_ns, t0, per_rank_pts)))
        .collect();

    let peak = |b: &mut dyn Iterator<Item = &Bucket>| b.map(|b| b.bytes_per_s).fold(0.0, f64::max);
    let total_max = peak(&mut total.1.iter());
    let rank_max = peak(&mut rank_lines.iter().flat_map(|(_, (_, b))| b.iter()));
    let dual = rank_lines.len() > 1;
    let left_max = if dual {
        total_max
    } else {
        total_max.max(rank_max)
    };
    let (unit, unit_name) = rate_unit(left_max.max(rank_max));
    let (ys, yt) = rate_axis(p, left_max / unit);
    let xt = time_ticks(xs);
    let (left_label, right_label) = if dual {
        (
            format!("total ({unit_name})"),
            format!("per rank ({unit_name})"),
        )
    } else {
        (format!("throughput ({unit_name})"), String::new())
    };
    svg::axes(out, p, (xs, &xt, TIME_LABEL), (&ys, &yt, &left_label));
    let (rs, rt) = if dual {
        rate_axis(p, rank_max / unit)
    } else {
        (ys, Vec::new())
    };
    if dual {
        svg::right_axis(out, p, (&rs, &rt, &right_label), svg::STRONG[5]);
    }

    for (rank, (w, buckets)) in &rank_lines {
        let colour = svg::LIGHT[*rank as usize % svg::LIGHT.len()];
        let attrs = format!("class=\"series rank\" data-rank=\"{rank}\" stroke-opacity=\"0.9\"");
        let y = |b: &Bucket| Some(rs.px(b.bytes_per_s / unit));
        svg::path(out, &line_points(buckets, *w, xs, y), colour, 1.1, &attrs);
    }
    let y = |b: &Bucket| Some(ys.px(b.bytes_per_s / unit));
    let pts = line_points(&total.1, total.0, xs, y);
    svg::path(out, &pts, svg::STRONG[0], 2.6, "class=\"series total\"");

    let mut legend = vec![(Swatch::Line(svg::STRONG[0], 2.6), "total".to_string())];
    if rank_lines.len() <= LEGEND_RANKS {
        for (rank, _) in &rank_lines {
            let colour = svg::LIGHT[*rank as usize % svg::LIGHT.len()];
            legend.push((Swatch::Line(colour, 1.5), format!("rank {rank}")));
        }
    } else {
        let present = s.per_rank.iter().filter(|r| !r.points.is_empty()).count();
        let label = if present > rank_lines.len() {
            format!("ranks (showing {} of {present})", rank_lines.len())
        } else {
            format!("{present} ranks")
        };
        legend.push((Swatch::Line(svg::LIGHT[0], 1.5), label));
    }
    if c.steady {
        legend.push((Swatch::Fill(svg::STEADY_FILL), "steady window".to_string()));
    }
    svg::legend(out, p, &legend);
}

fn latency_panel(out: &mut String, c: &Ctx<'_>) {
    let (p, xs, s) = (&c.p, &c.xs, c.s);
    let (w, buckets) = rebucket(&s.total, s.step_ns, c.t0, MAX_TOTAL_POINTS);
    type Pick = fn(&Bucket) -> u64;
    let pick: [(&str, Pick); 3] = [
        ("p50", |b| b.p50_us),
        ("p90", |b| b.p90_us),
        ("p99", |b| b.p99_us),
    ];
    let values = buckets
        .iter()
        .filter(|b| b.ops > 0)
        .flat_map(|b| [b.p50_us, b.p90_us, b.p99_us]);
    let any = values.clone().any(|v| v > 0);
    let ys = Scale::log_latency(values, p);
    let (lo, hi) = (ys.lo, ys.hi);
    let yt: Vec<(f64, String)> = ticks::log_ticks(lo, hi)
        .into_iter()
        .map(|v| (v, ticks::latency_label(v)))
        .collect();
    let xt = time_ticks(xs);
    svg::axes(
        out,
        p,
        (xs, &xt, TIME_LABEL),
        (&ys, &yt, "latency (log scale)"),
    );
    let mut legend = Vec::new();
    for (i, (name, get)) in pick.iter().enumerate() {
        let colour = svg::STRONG[i];
        let y = |b: &Bucket| {
            let v = get(b);
            (b.ops > 0 && v > 0).then(|| ys.px(v as f64))
        };
        let attrs = format!("class=\"series {name}\"");
        svg::path(out, &line_points(&buckets, w, xs, y), colour, 1.8, &attrs);
        legend.push((Swatch::Line(colour, 2.0), name.to_string()));
    }
    if !any {
        svg::message(out, p, "no successful operations");
    }
    if c.steady {
        legend.push((Swatch::Fill(svg::STEADY_FILL), "steady window".to_string()));
    }
    svg::legend(out, p, &legend);
}
