use super::*;
use crate::stats::{ErrorKind, Op};

fn info() -> Info {
    Info {
        run_id: "r\"1".into(),
        rank: 2,
        target: "http://h:8080".into(),
        protocol: "ais".into(),
    }
}

#[test]
fn the_exposition_of_a_synthetic_snapshot_is_exact() {
    let mut snap = Snapshot::new(0);
    let get = snap.get_mut(Op::Get);
    get.record_ok(1024, 80);
    get.record_ok(1024, 1_500);
    get.record_ok(2048, 70_000_000);
    get.record_err(ErrorKind::Timeout);
    get.record_err(ErrorKind::Http(503));
    let cpu = [Some(1_250_000_000), None];
    let extra = Extra {
        pending: [3, 0, 0, 0, 0],
        cpu_ns: &cpu,
    };
    let text = render(&info(), &snap, &extra);
    let want = r#"# HELP ringload_info The run and the system it loads (always 1).
# TYPE ringload_info gauge
ringload_info{run_id="r\"1",rank="2",target="http://h:8080",protocol="ais"} 1
# HELP ringload_operations_total Operations completed, by op and outcome (ok or error).
# TYPE ringload_operations_total counter
ringload_operations_total{op="get",outcome="ok"} 3
ringload_operations_total{op="get",outcome="error"} 2
ringload_operations_total{op="put",outcome="ok"} 0
ringload_operations_total{op="put",outcome="error"} 0
# HELP ringload_bytes_total Body bytes moved by successful operations.
# TYPE ringload_bytes_total counter
ringload_bytes_total{op="get"} 4096
ringload_bytes_total{op="put"} 0
# HELP ringload_errors_total Failed operations, by op and kind (as in the result's errors_by_kind).
# TYPE ringload_errors_total counter
ringload_errors_total{op="get",kind="http-503"} 1
ringload_errors_total{op="get",kind="timeout"} 1
# HELP ringload_latency_seconds Latency of successful operations, from each request's send.
# TYPE ringload_latency_seconds histogram
ringload_latency_seconds_bucket{op="get",le="0.0001"} 1
ringload_latency_seconds_bucket{op="get",le="0.00025"} 1
ringload_latency_seconds_bucket{op="get",le="0.0005"} 1
ringload_latency_seconds_bucket{op="get",le="0.001"} 1
ringload_latency_seconds_bucket{op="get",le="0.0025"} 2
ringload_latency_seconds_bucket{op="get",le="0.005"} 2
ringload_latency_seconds_bucket{op="get",le="0.01"} 2
ringload_latency_seconds_bucket{op="get",le="0.025"} 2
ringload_latency_seconds_bucket{op="get",le="0.05"} 2
ringload_latency_seconds_bucket{op="get",le="0.1"} 2
ringload_latency_seconds_bucket{op="get",le="0.25"} 2
ringload_latency_seconds_bucket{op="get",le="0.5"} 2
ringload_latency_seconds_bucket{op="get",le="1"} 2
ringload_latency_seconds_bucket{op="get",le="2.5"} 2
ringload_latency_seconds_bucket{op="get",le="5"} 2
ringload_latency_seconds_bucket{op="get",le="10"} 2
ringload_latency_seconds_bucket{op="get",le="30"} 2
ringload_latency_seconds_bucket{op="get",le="60"} 2
ringload_latency_seconds_bucket{op="get",le="+Inf"} 3
ringload_latency_seconds_sum{op="get"} 70.00158
ringload_latency_seconds_count{op="get"} 3
"#;
    assert!(text.starts_with(want), "{text}");
    let rest = &text[want.len()..];
    let put_inf = "ringload_latency_seconds_bucket{op=\"put\",le=\"+Inf\"} 0\n\
                   ringload_latency_seconds_sum{op=\"put\"} 0\n\
                   ringload_latency_seconds_count{op=\"put\"} 0\n";
    assert!(rest.contains(put_inf), "{rest}");
    let tail = "# HELP ringload_in_flight Requests in flight.
# TYPE ringload_in_flight gauge
ringload_in_flight{op=\"get\"} 3
ringload_in_flight{op=\"put\"} 0
# HELP ringload_client_cpu_seconds_total CPU time of each core thread of this rank.
# TYPE ringload_client_cpu_seconds_total counter
ringload_client_cpu_seconds_total{core=\"0\"} 1.25
";
    assert!(rest.ends_with(tail), "{rest}");
    assert!(!text.contains("schedule_lag"), "closed loop: no lag");
}

#[test]
fn a_rate_run_shows_its_schedule_lag_and_says_latency_counts_from_the_intended_start() {
    let mut snap = Snapshot::new(0);
    snap.rate_mode();
    if let Some(l) = snap.lag.as_deref_mut() {
        l.record(200);
        l.record(3_000);
    }
    let text = render(&info(), &snap, &Extra::default());
    assert!(
        text.contains("from each request's intended start (--rate)"),
        "{text}"
    );
    for line in [
        "# TYPE ringload_schedule_lag_seconds histogram\n",
        "ringload_schedule_lag_seconds_bucket{le=\"0.00025\"} 1\n",
        "ringload_schedule_lag_seconds_bucket{le=\"+Inf\"} 2\n",
        "ringload_schedule_lag_seconds_sum 0.0032\n",
        "ringload_schedule_lag_seconds_count 2\n",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

#[test]
fn seconds_are_exact_and_label_values_escaped() {
    assert_eq!(seconds(0), "0");
    assert_eq!(seconds(1_500), "0.0015");
    assert_eq!(seconds(60_000_000), "60");
    assert_eq!(seconds(1_000_001), "1.000001");
    assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

#[test]
fn the_schedule_lag_sum_is_the_exact_sum() {
    let mut snap = Snapshot::new(0);
    snap.rate_mode();
    // 2^53 + 1 µs: a float mean times the count would lose the last microsecond.
    if let Some(l) = snap.lag.as_deref_mut() {
        l.record(9_007_199_254_740_992);
        l.record(1);
    }
    let text = render(&info(), &snap, &Extra::default());
    assert!(
        text.contains("ringload_schedule_lag_seconds_sum 9007199254.740993\n"),
        "{text}"
    );
}

#[test]
fn the_ml_classes_show_from_their_first_operation_with_get_batch_objects() {
    let mut snap = Snapshot::new(0);
    let b = snap.get_mut(Op::GetBatch);
    b.record_ok(64 * 16_384, 30_000);
    b.record_objects(63);
    b.record_err(ErrorKind::Missing);
    snap.get_mut(Op::GetMpd).record_err(ErrorKind::Timeout);
    let extra = Extra {
        pending: [0, 0, 2, 0, 1],
        cpu_ns: &[],
    };
    let text = render(&info(), &snap, &extra);
    let ops = "ringload_operations_total{op=\"get\",outcome=\"ok\"} 0
ringload_operations_total{op=\"get\",outcome=\"error\"} 0
ringload_operations_total{op=\"put\",outcome=\"ok\"} 0
ringload_operations_total{op=\"put\",outcome=\"error\"} 0
ringload_operations_total{op=\"get_batch\",outcome=\"ok\"} 1
ringload_operations_total{op=\"get_batch\",outcome=\"error\"} 1
ringload_operations_total{op=\"get_mpd\",outcome=\"ok\"} 0
ringload_operations_total{op=\"get_mpd\",outcome=\"error\"} 1
# HELP ringload_bytes_total Body bytes moved by successful operations.
# TYPE ringload_bytes_total counter
ringload_bytes_total{op=\"get\"} 0
ringload_bytes_total{op=\"put\"} 0
ringload_bytes_total{op=\"get_batch\"} 1048576
ringload_bytes_total{op=\"get_mpd\"} 0
# HELP ringload_objects_total Objects (or files in shards) delivered by successful GetBatch requests.
# TYPE ringload_objects_total counter
ringload_objects_total{op=\"get_batch\"} 63
# HELP ringload_errors_total Failed operations, by op and kind (as in the result's errors_by_kind).
# TYPE ringload_errors_total counter
ringload_errors_total{op=\"get_batch\",kind=\"missing\"} 1
ringload_errors_total{op=\"get_mpd\",kind=\"timeout\"} 1
";
    assert!(text.contains(ops), "{text}");
    assert!(!text.contains("put_mpu"), "no multipart upload: not shown");
    let tail = "ringload_in_flight{op=\"get\"} 0
ringload_in_flight{op=\"put\"} 0
ringload_in_flight{op=\"get_batch\"} 2
ringload_in_flight{op=\"get_mpd\"} 1
";
    assert!(text.contains(tail), "{text}");
}
