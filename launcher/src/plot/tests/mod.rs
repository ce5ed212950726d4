//! Tests of the public plot API over synthetic reports: structure (parsed as XML), scale,
//! robustness against hostile input, escaping and determinism.

use super::*;
use crate::merge::model::{OpSeries, Point, RankSeries, Spectrum};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;
const GIB: f64 = 1_073_741_824.0;
const HOSTILE: &str = "</svg><script>alert(1)</script> & \"q\" 'a'";

/// A real-looking run: `ranks` ranks over `secs` seconds, GET and PUT, staggered starts
/// (rank r starts r % 3 s late), a latency spike at 60 % of the run, a steady window.
fn sample(ranks: u32, secs: u64) -> ReportData {
    let series = [("get", 0.45, 700u64), ("put", 0.12, 2_500)]
        .iter()
        .map(|(op, gibps, base_us)| {
            let per_rank: Vec<RankSeries> = (0..ranks)
                .map(|r| RankSeries {
                    rank: r,
                    step_ns: S,
                    points: (u64::from(r % 3)..secs)
                        .map(|i| {
                            let wave = 1.0 + 0.15 * ((i as f64 / 7.0 + f64::from(r)).sin());
                            let bytes = (gibps * GIB * wave) as u64;
                            let spike = if i == secs * 6 / 10 { 6 } else { 1 };
                            Point {
                                t_unix_ns: T0 + i * S,
                                ops: bytes / (1 << 20),
                                bytes,
                                errors: 0,
                                p50_us: base_us + 13 * (i % 5),
                                p90_us: base_us * 3 * spike,
                                p99_us: base_us * 11 * spike,
                            }
                        })
                        .collect(),
                })
                .collect();
            let total = (0..secs)
                .map(|i| {
                    let pts = per_rank.iter().filter_map(|r| {
                        let k = i.checked_sub(u64::from(r.rank % 3))?;
                        r.points.get(k as usize)
                    });
                    pts.fold(
                        Point {
                            t_unix_ns: T0 + i * S,
                            ..Point::default()
                        },
                        |mut acc, p| {
                            acc.ops += p.ops;
                            acc.bytes += p.bytes;
                            acc.p50_us = acc.p50_us.max(p.p50_us);
                            acc.p90_us = acc.p90_us.max(p.p90_us);
                            acc.p99_us = acc.p99_us.max(p.p99_us);
                            acc
                        },
                    )
                })
                .collect();
            OpSeries {
                op: (*op).to_string(),
                step_ns: S,
                total,
                per_rank,
            }
        })
        .collect();
    let pcts = [
        0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0,
    ];
    let spectrum = [("get", 700.0), ("put", 2500.0)]
        .iter()
        .map(|(op, base)| Spectrum {
            op: (*op).to_string(),
            points: pcts
                .iter()
                .map(|p: &f64| {
                    let nines = -((100.0 - p) / 100.0).max(1e-6).log10();
                    (*p, (base * (0.3 + 0.7 * 2.5f64.powf(nines))) as u64)
                })
                .collect(),
        })
        .collect();
    ReportData {
        run_id: "bench-2024-05-01".to_string(),
        partial: false,
        summary_txt: "op   count  GiB/s  p50     p99\nget  12345  1.80   712us   7.7ms\n"
            .to_string(),
        workload: serde_json::json!({"duration": "1m", "numworkers": 16, "pctput": 20}),
        warnings: vec!["rank 3 started 2.0 s late".to_string()],
        steady_window: Some((T0 + 3 * S, T0 + secs.saturating_sub(2) * S)),
        series,
        spectrum,
        ..ReportData::default()
    }
}

fn parse(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("not XML: {e}\n{text}"))
}

/// report.html is polyglot XHTML; its `<!DOCTYPE html>` needs DTDs allowed.
fn parse_html(text: &str) -> roxmltree::Document<'_> {
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, opt)
        .unwrap_or_else(|e| panic!("not XML: {e}\n{text}"))
}

/// Paths with the given class (all of `class`'s words), inside the panel for `op` if given.
fn paths<'a>(
    doc: &'a roxmltree::Document<'a>,
    op: Option<&str>,
    class: &str,
) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("path"))
        .filter(|n| {
            let c: Vec<&str> = n.attribute("class").unwrap_or("").split(' ').collect();
            class.split(' ').all(|w| c.contains(&w))
        })
        .filter(|n| {
            op.is_none_or(|op| {
                n.ancestors()
                    .chain(std::iter::once(*n))
                    .any(|a| a.attribute("data-op") == Some(op))
            })
        })
        .collect()
}

/// Points of a path: one `M` or `L` command each.
fn points(n: &roxmltree::Node<'_, '_>) -> usize {
    let d = n.attribute("d").unwrap_or("");
    d.chars().filter(|c| *c == 'M' || *c == 'L').count()
}

fn assert_clean(text: &str) {
    assert!(!text.contains("NaN"), "NaN in output");
    assert!(!text.contains("inf"), "inf in output");
}

#[test]
fn throughput_has_a_total_and_a_thin_line_per_rank() {
    let data = sample(4, 30);
    let svg = throughput_svg(&data);
    assert_clean(&svg);
    let doc = parse(&svg);
    for op in ["get", "put"] {
        let total = paths(&doc, Some(op), "series total");
        assert_eq!(total.len(), 1, "{op}");
        assert_eq!(points(&total[0]), 30);
        let ranks = paths(&doc, Some(op), "series rank");
        assert_eq!(ranks.len(), 4);
        for (r, node) in ranks.iter().enumerate() {
            assert_eq!(node.attribute("data-rank"), Some(r.to_string().as_str()));
            assert_eq!(points(node), 30 - r % 3);
        }
    }
    assert!(
        svg.contains("GiB/s") && svg.contains("00:10"),
        "units and clock ticks"
    );
    assert!(svg.contains(">rank 3<"), "legend names each of a few ranks");
    assert!(
        svg.contains("per rank (GiB/s)"),
        "several ranks get their own right axis"
    );
    let one = throughput_svg(&sample(1, 30));
    assert!(!one.contains("axes right") && one.contains("throughput (GiB/s)"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("steady"))
            .count(),
        2
    );
}

#[test]
fn latency_has_three_percentile_lines_per_op_on_a_log_axis() {
    let data = sample(2, 20);
    let svg = latency_svg(&data);
    assert_clean(&svg);
    let doc = parse(&svg);
    for op in ["get", "put"] {
        for pct in ["p50", "p90", "p99"] {
            let lines = paths(&doc, Some(op), pct);
            assert_eq!(lines.len(), 1, "{op} {pct}");
            assert_eq!(points(&lines[0]), 20);
        }
    }
    assert!(
        svg.contains(" ms<") && svg.contains(" µs<"),
        "latency units on the y axis"
    );
}

#[test]
fn spectrum_has_a_line_per_op_on_the_nines_scale() {
    let data = sample(1, 5);
    let svg = spectrum_svg(&data);
    assert_clean(&svg);
    let doc = parse(&svg);
    for op in ["get", "put"] {
        let lines = paths(&doc, Some(op), "series spectrum");
        assert_eq!(lines.len(), 1);
        assert_eq!(points(&lines[0]), 14);
    }
    for label in [">90%<", ">99%<", ">99.9%<", ">99.99%<", ">99.999%<"] {
        assert!(svg.contains(label), "{label}");
    }
}

#[test]
fn one_op_only_gives_one_panel() {
    let mut data = sample(2, 10);
    data.series[1].total.clear();
    data.series[1].per_rank.clear();
    for svg in [throughput_svg(&data), latency_svg(&data)] {
        let doc = parse(&svg);
        let panels: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("panel"))
            .collect();
        assert_eq!(panels.len(), 1);
        assert_eq!(panels[0].attribute("data-op"), Some("get"));
    }
}

#[test]
fn empty_data_draws_a_message_instead_of_panicking() {
    let data = ReportData::default();
    for svg in [
        throughput_svg(&data),
        latency_svg(&data),
        spectrum_svg(&data),
    ] {
        assert_clean(&svg);
        let doc = parse(&svg);
        assert!(doc
            .descendants()
            .any(|n| n.attribute("class") == Some("empty")));
        assert!(paths(&doc, None, "series").is_empty());
    }
    let html = report_html(&data);
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains("(no summary)") && html.contains("(no workload recorded)"));
    parse_html(&html);
}

#[test]
fn one_point_and_all_zeros_draw_without_nan() {
    let mut data = sample(1, 1);
    for s in &mut data.series {
        for p in s
            .total
            .iter_mut()
            .chain(s.per_rank.iter_mut().flat_map(|r| &mut r.points))
        {
            *p = Point {
                t_unix_ns: p.t_unix_ns,
                ..Point::default()
            };
        }
    }
    data.spectrum = vec![Spectrum {
        op: "get".into(),
        points: vec![(50.0, 0)],
    }];
    for svg in [
        throughput_svg(&data),
        latency_svg(&data),
        spectrum_svg(&data),
    ] {
        assert_clean(&svg);
        parse(&svg);
    }
    let doc_svg = throughput_svg(&data);
    let doc = parse(&doc_svg);
    assert_eq!(points(&paths(&doc, Some("get"), "series total")[0]), 1);
    // Zero latencies are "no value": the percentile lines have nothing to draw.
    let lat = latency_svg(&data);
    assert!(paths(&parse(&lat), None, "p99").is_empty());
    assert!(lat.contains("no successful operations"));
}

#[test]
fn a_thousand_ranks_stay_small_and_drawn() {
    let data = sample(1024, 600);
    let svg = throughput_svg(&data);
    assert!(
        svg.len() < 2_000_000,
        "throughput.svg is {} bytes",
        svg.len()
    );
    let doc = parse(&svg);
    let ranks = paths(&doc, Some("get"), "series rank");
    assert_eq!(ranks.len(), 1024);
    let budget = (timeseries::RANK_POINT_BUDGET / 2 / 1024).max(timeseries::MIN_RANK_POINTS);
    assert!(
        ranks.iter().all(|r| points(r) <= budget + 1),
        "rank lines are re-bucketed"
    );
    assert!(
        svg.contains(">1024 ranks<"),
        "one legend entry for all ranks"
    );
    let html = report_html(&data);
    assert!(
        html.len() < 2_500_000,
        "report.html is {} bytes",
        html.len()
    );
}

#[test]
fn more_ranks_than_lines_are_sampled_evenly() {
    let data = sample(1500, 3);
    let svg = throughput_svg(&data);
    let doc = parse(&svg);
    let ranks = paths(&doc, Some("get"), "series rank");
    assert_eq!(ranks.len(), timeseries::MAX_RANK_LINES);
    assert_eq!(ranks[0].attribute("data-rank"), Some("0"));
    assert!(svg.contains("showing 1024 of 1500"));
}

#[test]
fn long_runs_are_rebucketed_but_keep_their_shape() {
    let data = sample(1, 7200);
    let doc_svg = throughput_svg(&data);
    let doc = parse(&doc_svg);
    let total = points(&paths(&doc, Some("get"), "series total")[0]);
    assert!(
        total <= timeseries::MAX_TOTAL_POINTS && total > 1000,
        "{total}"
    );
    assert!(doc_svg.contains("1:00:00"), "h:mm:ss past an hour");
}

#[test]
fn report_is_self_contained_with_plots_summary_and_banner() {
    let mut data = sample(3, 12);
    let html = report_html(&data);
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains("get  12345  1.80"), "summary text");
    assert!(html.contains("rank 3 started 2.0 s late"), "warnings");
    assert!(
        html.contains("<td>numworkers</td><td>16</td>"),
        "workload table"
    );
    assert!(
        !html.contains("id=\"partial\""),
        "no banner on a complete run"
    );
    let warn_at = html.find("id=\"warnings\"").unwrap_or(usize::MAX);
    assert!(
        warn_at < html.find("<svg").unwrap_or(0),
        "warnings come first"
    );
    for banned in ["<script", "<link", "src=", "@import", "url(", "https://"] {
        assert!(!html.contains(banned), "{banned}");
    }
    let external = html.matches("http://").count();
    assert_eq!(external, html.matches("http://www.w3.org/2000/svg").count());
    parse_html(&html);

    data.partial = true;
    let html = report_html(&data);
    let banner = html.find("id=\"partial\"").unwrap_or(usize::MAX);
    assert!(
        banner < html.find("id=\"warnings\"").unwrap_or(0),
        "banner on top"
    );
    assert!(html.contains("PARTIAL"));

    data.workload = serde_json::json!([1, "two"]);
    assert!(
        report_html(&data).contains("&quot;two&quot;"),
        "non-object workload as JSON"
    );
}

#[test]
fn output_is_deterministic() {
    let a = sample(5, 40);
    let b = sample(5, 40);
    assert_eq!(report_html(&a), report_html(&b));
    assert_eq!(throughput_svg(&a), throughput_svg(&b));
    assert_eq!(spectrum_svg(&a), spectrum_svg(&b));
}

#[test]
fn no_steady_window_means_no_band_and_no_legend_entry() {
    let mut data = sample(2, 10);
    data.steady_window = None;
    for svg in [throughput_svg(&data), latency_svg(&data)] {
        assert!(!svg.contains("class=\"steady\"") && !svg.contains("steady window"));
    }
}

/// Writes the four files; with `RINGLOAD_PLOT_SAMPLE_DIR` set, also a real-looking sample
/// there (for looking at the plots: `rsvg-convert` them to PNG).
#[test]
fn write_all_writes_four_files() {
    let dir = std::env::temp_dir().join(format!("ringload-plot-{}", std::process::id()));
    let data = sample(4, 90);
    write_all(&dir, &data).expect("write_all");
    for name in [
        "throughput.svg",
        "latency.svg",
        "spectrum.svg",
        "report.html",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect(name);
        assert!(text.contains("<svg"), "{name}");
    }
    assert!(!dir.join(".report.html.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(out) = std::env::var_os("RINGLOAD_PLOT_SAMPLE_DIR") {
        let out = std::path::PathBuf::from(out);
        write_all(&out.join("small"), &data).expect("sample");
        write_all(&out.join("big"), &sample(64, 600)).expect("sample");
        write_all(&out.join("empty"), &ReportData::default()).expect("sample");
        write_all(&out.join("one"), &sample(1, 1)).expect("sample");
        let mut hostile = sample(3, 20);
        hostile.partial = true;
        hostile.run_id = HOSTILE.repeat(3);
        hostile.series[1].op = HOSTILE.to_string();
        hostile.spectrum[1].op = HOSTILE.repeat(2);
        hostile.warnings.push(HOSTILE.to_string());
        hostile.workload = serde_json::json!({ HOSTILE: HOSTILE, "n": [1, 2] });
        write_all(&out.join("hostile"), &hostile).expect("sample");
    }
}

mod hostile;
mod tables;
