//! The report's tables (latency with the service row, phases, a sweep's steps and knee,
//! client-bound ranks): present, well-formed and escaped.

use super::*;

#[test]
fn rate_steps_phases_and_client_bound_ranks_are_tables_with_escaped_text() {
    use crate::merge::model::OpLatency;
    use crate::merge::rate::ClientBound;
    use ringload_core::hist::LatencySummary;
    use ringload_core::rate::{RateRecord, StepOp, StepRecord};
    let mut data = sample(2, 5);
    let l = |p99| LatencySummary {
        min: 10,
        mean: 20.0,
        p50: 20,
        p90: 30,
        p99,
        p999: p99,
        max: p99,
    };
    data.latency = vec![OpLatency {
        op: "get".into(),
        count: 1_000,
        latency: l(9_000),
        service: Some(l(400)),
        phases: Some([(4, 100, 200), (0, 0, 0), (1_000, 300, 900), (1_000, 5, 7)]),
    }];
    let step = |target: f64, broke: Option<&str>| StepRecord {
        target,
        achieved: target,
        start_unix_ns: 0,
        end_unix_ns: 1,
        complete: true,
        ops: [(
            "get".to_string(),
            StepOp {
                count: 10,
                errors: 0,
                latency_us: l(1_000),
                histogram: String::new(),
            },
        )]
        .into(),
        broke: broke.map(String::from),
    };
    data.rate = Some(RateRecord {
        target: 400.0,
        achieved: 390.0,
        arrival: HOSTILE.into(),
        lag_us: l(50),
        lag_histogram: String::new(),
        kept: false,
        slo: Some("p99=10ms".into()),
        steps: vec![step(200.0, None), step(400.0, Some("p99 30ms > 10ms"))],
        knee: Some(200.0),
    });
    data.client_bound = vec![ClientBound {
        rank: 3,
        host: HOSTILE.into(),
        reasons: vec!["core 0 busy 98% of the steady window".into()],
    }];
    let html = report_html(&data);
    assert!(!html.contains("<script"), "{html}");
    parse_html(&html);
    for want in [
        "<tr><td>GET</td><td>intended start</td><td>1,000</td><td>10µs</td><td>20µs</td>\
         <td>30µs</td><td>9.00ms</td><td>9.00ms</td><td>9.00ms</td></tr>",
        "<tr><td>GET</td><td>send (service)</td><td>1,000</td><td>10µs</td><td>20µs</td>\
         <td>30µs</td><td>400µs</td><td>400µs</td><td>400µs</td></tr>",
        "<tr><td>GET</td><td>connect</td><td>4</td><td>100µs</td><td>200µs</td></tr>",
        "<tr><td>GET</td><td>redirect</td><td>0</td><td>-</td><td>-</td></tr>",
        "<p id=\"knee\">objective p99=10ms; <strong>knee: 200.0 ops/s</strong></p>",
        "<tr><td>2</td><td>400.0</td><td>400.0</td><td>GET</td><td>10</td><td>0</td>\
         <td>20µs</td><td>1.00ms</td><td>broke: p99 30ms &gt; 10ms</td></tr>",
        "the rate was not kept",
        "<li>rank 3 was client-bound (core 0 busy 98% of the steady window): it measured \
         itself, not the storage (host &lt;/svg&gt;&lt;script&gt;",
    ] {
        assert!(html.contains(want), "no {want:?} in\n{html}");
    }
    // A closed-loop report has none of these tables but the latency one.
    let plain = report_html(&sample(2, 5));
    for absent in ["id=\"steps\"", "id=\"client-bound\"", "id=\"phases\""] {
        assert!(!plain.contains(absent), "{absent}");
    }
}
