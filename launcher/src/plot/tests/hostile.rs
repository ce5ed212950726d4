//! Hostile input never reaches the output: huge or non-finite numbers are clamped or dropped,
//! and every string (hosts, run ids, warnings) is escaped.

use super::*;

#[test]
fn huge_and_hostile_numbers_never_reach_the_output() {
    let p = |t: u64, v: u64| Point {
        t_unix_ns: t,
        ops: v,
        bytes: v,
        errors: v,
        p50_us: v,
        p90_us: v,
        p99_us: v,
    };
    let data = ReportData {
        steady_window: Some((u64::MAX, 0)),
        series: vec![OpSeries {
            op: "get".into(),
            step_ns: 0,
            total: vec![p(0, u64::MAX), p(u64::MAX, 1), p(u64::MAX, u64::MAX)],
            per_rank: vec![RankSeries {
                rank: u32::MAX,
                step_ns: u64::MAX,
                points: vec![p(1, u64::MAX), p(2, 0)],
            }],
        }],
        spectrum: vec![Spectrum {
            op: "get".into(),
            points: vec![
                (f64::NAN, 1),
                (-3.0, 0),
                (150.0, u64::MAX),
                (f64::INFINITY, 5),
                (99.99999999999999, 7),
            ],
        }],
        ..ReportData::default()
    };
    for svg in [
        throughput_svg(&data),
        latency_svg(&data),
        spectrum_svg(&data),
    ] {
        assert_clean(&svg);
        parse(&svg);
    }
    let tiny = ReportData {
        series: vec![OpSeries {
            op: "put".into(),
            step_ns: S,
            total: vec![p(T0, 3), p(T0 + S, 1)],
            per_rank: Vec::new(),
        }],
        ..ReportData::default()
    };
    let svg = throughput_svg(&tiny);
    assert_clean(&svg);
    assert!(
        svg.contains("throughput (B/s)"),
        "tiny rates get a readable unit"
    );
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    let mut data = sample(2, 5);
    data.run_id = HOSTILE.to_string();
    data.series[0].op = HOSTILE.to_string();
    data.spectrum[0].op = HOSTILE.to_string();
    data.summary_txt = format!("{HOSTILE}\n</pre>");
    data.warnings = vec![HOSTILE.to_string(), "ctl\u{1}char".to_string()];
    data.workload = serde_json::json!({ HOSTILE: HOSTILE, "n": [1, HOSTILE] });
    data.partial = true;
    for svg in [
        throughput_svg(&data),
        latency_svg(&data),
        spectrum_svg(&data),
    ] {
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;/svg&gt;&lt;script&gt;"));
        parse(&svg);
    }
    let html = report_html(&data);
    assert!(!html.contains("<script") && !html.contains("</pre>\n</pre>"));
    assert_eq!(
        html.matches("</svg>").count(),
        3,
        "no extra closing tag injected"
    );
    let doc = parse_html(&html);
    let warns: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("li"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        warns,
        vec![HOSTILE.to_string(), "ctl\u{FFFD}char".to_string()]
    );
    let summary = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("summary"))
        .and_then(|n| n.text());
    assert_eq!(summary, Some(format!("{HOSTILE}\n</pre>").as_str()));
    assert!(html.contains("&amp; &quot;q&quot; &#39;a&#39;"));
}
