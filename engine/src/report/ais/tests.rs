//! aisloader's stream byte for byte: the reporter fed with synthetic core ticks in aisloader
//! mode (table, JSON, no interval output), the `-stats-output` file and StatsD per interval.

use std::io::Write;
use std::time::Duration;

use super::*;
use crate::report::fmt::{local_hms, rfc3339_local};
use crate::report::statsd::{Statsd, StatsdConfig};
use crate::report::{ReportConfig, Reporter};
use crate::stats::ErrorKind;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

use crate::report::tests::Buf;

/// aisloader's header, spelled out: `%-10s%-6s%-22s\t%-22s\t%-36s\t%-22s\t%-10s\n`.
const HEADER: &str = "Time      OP    Count                 \tSize (Total)          \t\
                      Latency (min, avg, max)             \tThroughput (Avg)      \t\
                      Errors (Total)\n";

/// One row with aisloader's cell widths (10, 6, 22, 22, 36, 22, 10).
fn row(cells: [&str; 7]) -> String {
    let [t, op, c, s, l, tp, e] = cells;
    format!("{t:<10}{op:<6}{c:<22}\t{s:<22}\t{l:<36}\t{tp:<22}\t{e:<10}\n")
}

/// Three latencies in 11 columns each.
fn lat(a: &str, b: &str, c: &str) -> String {
    format!("{a:<11}{b:<11}{c:<11}")
}

/// Tick 1 `[T0, T0+1s]`: 3 GETs of 1 MiB (1.5, 2.9, 10.2 ms), a PUT of 1000 B (400 µs) and a
/// failed PUT; 5 GETs and 2 PUTs in flight at its end. Tick 2 `[+1s, +2s]`: 2 PUTs of 1000 B
/// (600, 800 µs); 4 and 1 in flight. Tick 3 `[+2s, +2.5s]`: 1 GET of 1 MiB (2 ms).
fn ticks() -> [Snapshot; 3] {
    let mut t1 = Snapshot::new(T0);
    t1.end_unix_ns = T0 + S;
    for l in [1_500, 2_900, 10_200] {
        t1.get_mut(Op::Get).record_ok(1 << 20, l);
    }
    t1.get_mut(Op::Put).record_ok(1000, 400);
    t1.get_mut(Op::Put).record_err(ErrorKind::Http(500));
    t1.pending = [5, 2, 0, 0, 0];
    let mut t2 = Snapshot::new(T0 + S);
    t2.end_unix_ns = T0 + 2 * S;
    t2.get_mut(Op::Put).record_ok(1000, 600);
    t2.get_mut(Op::Put).record_ok(1000, 800);
    t2.pending = [4, 1, 0, 0, 0];
    let mut t3 = Snapshot::new(T0 + 2 * S);
    t3.end_unix_ns = T0 + 5 * S / 2;
    t3.get_mut(Op::Get).record_ok(1 << 20, 2_000);
    [t1, t2, t3]
}

/// Runs the three ticks through a one-core reporter in aisloader mode `o`; returns the stream.
fn stream(o: AisOutput, statsd: Option<Statsd>) -> String {
    let out = Buf::default();
    let cfg = ReportConfig {
        statsinterval: Duration::from_secs(1),
        duration: Some(Duration::from_secs(2)),
        cores: 1,
        live: true,
        rate: None,
    };
    let mut r = Reporter::new(cfg, T0, out.clone(), Vec::new()).with_aisloader(o);
    if let Some(s) = statsd {
        r = r.with_statsd(s);
    }
    assert_eq!(out.text().len(), preamble(&r.ais.clone().unwrap()).len());
    let [t1, t2, t3] = ticks();
    r.add_tick(0, t1);
    r.poll(T0 + S);
    r.add_tick(0, t2);
    r.poll(T0 + 2 * S);
    r.add_tick(0, t3);
    r.poll(T0 + 5 * S / 2);
    r.finish(T0 + 5 * S / 2);
    out.text()
}

fn table(periodic: bool) -> AisOutput {
    AisOutput {
        json: false,
        stats_output: None,
        periodic,
    }
}

#[test]
fn the_table_is_aisloaders_byte_for_byte() {
    let (t1, t2, end) = (
        local_hms(T0 + S),
        local_hms(T0 + 2 * S),
        local_hms(T0 + 5 * S / 2),
    );
    let mut want = format!("\n{HEADER}");
    want += &row([
        &t1,
        "PUT",
        "1 (1 2 0)",
        "1000B (1000B)",
        &lat("400µs", "400µs", "400µs"),
        "1000B/s (1000B/s)",
        "1 (1)",
    ]);
    want += &row([
        &t1,
        "GET",
        "3 (3 5 0)",
        "3.0MiB (3.0MiB)",
        &lat("1.5ms", "4.866ms", "10.2ms"),
        "3.00MiB/s (3.00MiB/s)",
        "-",
    ]);
    want += &row([
        &t2,
        "PUT",
        "2 (3 1 0)",
        "2.0KiB (2.9KiB)",
        &lat("600µs", "700µs", "800µs"),
        "1.95KiB/s (1.46KiB/s)",
        "0 (1)",
    ]);
    // The partial third interval only counts in the final rows.
    want += &format!("\n{HEADER}");
    want += &row([
        &end,
        "PUT",
        "3",
        "2.9KiB",
        &lat("400µs", "600µs", "800µs"),
        "1.17KiB/s",
        "1",
    ]);
    want += &row([
        &end,
        "GET",
        "4",
        "4.0MiB",
        &lat("1.5ms", "4.15ms", "10.2ms"),
        "1.60MiB/s",
        "0",
    ]);
    assert_eq!(stream(table(true), None), want);
}

#[test]
fn the_first_interval_rows_spelled_out_by_hand() {
    // The cells of aisloader's `%-10s%-6s%-22s\t%-22s\t%-36s\t%-22s\t%-10s\n`, padded by
    // hand here (rune counts: `µ` is one), not by a format string.
    let t = local_hms(T0 + S);
    let put = format!(
        "{t}  PUT   1 (1 2 0)             \t1000B (1000B)         \t400µs      400µs      \
         400µs         \t1000B/s (1000B/s)     \t1 (1)     \n"
    );
    let get = format!(
        "{t}  GET   3 (3 5 0)             \t3.0MiB (3.0MiB)       \t1.5ms      4.866ms    \
         10.2ms        \t3.00MiB/s (3.00MiB/s) \t-         \n"
    );
    assert_eq!(t.len(), 8, "{t}");
    let text = stream(table(true), None);
    let body = text.strip_prefix(&format!("\n{HEADER}")).unwrap();
    assert!(body.starts_with(&format!("{put}{get}")), "{body}");
}

#[test]
fn without_interval_output_only_the_final_rows_follow_the_header() {
    let text = stream(table(false), None);
    assert!(text.starts_with(&format!("\n{HEADER}\n{HEADER}")), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("PUT")).count(), 1);
    assert_eq!(text.lines().filter(|l| l.contains("GET")).count(), 1);
}

/// The whole run's object, as aisloader writes it.
fn final_object() -> String {
    let st = rfc3339_local(T0);
    let op = |key: &str, count, bytes, errors, lat, min, max, tp: &str, comma| {
        format!(
            "  \"{key}\": {{\n    \"start_time\": \"{st}\",\n    \"count\": \"{count}\",\n    \
             \"bytes\": \"{bytes}\",\n    \"errors\": {errors},\n    \"latency\": {lat},\n    \
             \"duration\": 2500000000,\n    \"min_latency\": {min},\n    \"max_latency\": {max},\n    \
             \"throughput\": \"{tp}\"\n  }}{comma}\n"
        )
    };
    format!(
        "{{\n{}{}{}}}",
        op("get", 4, 4_194_304, 0, 4_150_000, 1_500_000, 10_200_000, "1677721", ","),
        op("put", 3, 3000, 1, 600_000, 400_000, 800_000, "1200", ","),
        op("get_batch", 0, 0, 0, 0, 0, 0, "0", ""),
    )
}

#[test]
fn the_json_stream_is_aisloaders_array() {
    let o = AisOutput {
        json: true,
        ..table(true)
    };
    let text = stream(o, None);
    assert!(text.starts_with("[\n{\n  \"get\": {\n"), "{text}");
    assert!(
        text.ends_with(&format!("\n{}\n]\n", final_object())),
        "{text}"
    );
    assert_eq!(
        text.matches("\n},").count(),
        2,
        "two interval objects: {text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 3);
    for obj in all {
        let obj = obj.as_object().unwrap();
        assert_eq!(obj.len(), 3);
        for key in ["get", "put", "get_batch"] {
            let s = obj[key].as_object().unwrap();
            assert_eq!(s.len(), 9, "{key}: {s:?}");
            for f in ["start_time", "count", "bytes", "throughput"] {
                assert!(s[f].is_string(), "{key}.{f} is a string: {s:?}");
            }
            for f in [
                "errors",
                "latency",
                "duration",
                "min_latency",
                "max_latency",
            ] {
                assert!(s[f].is_u64(), "{key}.{f} is a number: {s:?}");
            }
        }
    }
    // Interval 2 holds only its own two PUTs, over its own second.
    let put2 = &all[1]["put"];
    assert_eq!(put2["count"], "2");
    assert_eq!(put2["throughput"], "2000");
    assert_eq!(put2["duration"], 1_000_000_000u64);
    assert_eq!(put2["start_time"], rfc3339_local(T0 + S).as_str());
    assert_eq!(all[1]["get"]["count"], "0");
}

#[test]
fn json_without_interval_output_is_one_object() {
    let o = AisOutput {
        json: true,
        ..table(false)
    };
    assert_eq!(stream(o, None), format!("[\n{}\n]\n", final_object()));
}

#[test]
fn statsd_gets_every_interval_and_counts_add_up() {
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let sd = Statsd::new(StatsdConfig {
        addr: rx.local_addr().unwrap(),
        prefix: "aisloader.h-0".into(),
        phase_timers: false,
    })
    .unwrap();
    stream(table(true), Some(sd));
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut grams = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = rx.recv(&mut buf) {
        grams.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    let counts = |series: &str| -> u64 {
        let key = format!("aisloader.h-0.{series}.count:");
        grams
            .iter()
            .filter_map(|g| g.strip_prefix(&key))
            .map(|v| v.trim_end_matches("|c").parse::<u64>().unwrap())
            .sum()
    };
    // Three intervals (the partial one too), then the reset of every series' gauges.
    assert_eq!(counts("get"), 4);
    assert_eq!(counts("put"), 3);
    assert_eq!(
        grams.iter().filter(|g| g.contains(".count:")).count(),
        12,
        "{grams:?}"
    );
    assert!(grams.contains(&"aisloader.h-0.get.pending:5|g|@0.333333".to_string()));
    assert_eq!(
        grams.last().unwrap(),
        "aisloader.h-0.getmpdstream.throughput:0|g\naisloader.h-0.getmpdstream.pending:0|g"
    );
}

#[test]
fn the_stats_file_is_made_with_its_directories_mode_0640_and_truncated() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ringload-ais-{}", std::process::id()));
    let path = dir.join("a/b/stats.json");
    std::fs::create_dir_all(&dir).unwrap();
    {
        let mut f = create_stats_output(&path).unwrap();
        f.write_all(b"0123456789").unwrap();
    }
    create_stats_output(&path).unwrap().write_all(b"x").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"x");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    // The umask may only take bits away.
    assert_eq!(mode & !0o640, 0, "{mode:o}");
    assert_eq!(mode & 0o600, 0o600, "{mode:o}");
    // A parent that is a file cannot hold it.
    assert!(create_stats_output(&path.join("under-a-file")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        written_to(&AisOutput {
            stats_output: Some(path.clone()),
            ..table(true)
        }),
        format!("Stats written to {}", path.display())
    );
    assert_eq!(written_to(&table(true)), "Stats written to /dev/stdout");
}

#[test]
fn the_ml_classes_have_aisloaders_rows_in_its_order_and_get_batch_its_json_key() {
    let mut iv = Snapshot::new(T0);
    iv.end_unix_ns = T0 + S;
    iv.get_mut(Op::GetBatch).record_ok(2 << 20, 4_000);
    iv.get_mut(Op::GetBatch).record_objects(128);
    iv.get_mut(Op::GetMpd).record_ok(1 << 20, 3_000);
    iv.get_mut(Op::PutMpu).record_ok(4 << 20, 9_000);
    iv.get_mut(Op::Get).record_ok(1 << 20, 1_000);
    iv.get_mut(Op::Put).record_ok(1000, 500);
    let acc = [Printed {
        count: 1,
        bytes: 0,
        errors: 0,
    }; OP_COUNT];
    let text = interval_text(&table(true), &iv, &acc, [3, 2, 1, 1, 1], T0, T0, T0 + S);
    let t = local_hms(T0 + S);
    let want = [
        row([
            &t,
            "PUT",
            "1 (1 2 0)",
            "1000B (-)",
            &lat("500µs", "500µs", "500µs"),
            "1000B/s (-)",
            "-",
        ]),
        row([
            &t,
            "MPU",
            "1 (1)",
            "4.0MiB (-)",
            &lat("9ms", "9ms", "9ms"),
            "4.00MiB/s (-)",
            "-",
        ]),
        row([
            &t,
            "GET",
            "1 (1 3 0)",
            "1.0MiB (-)",
            &lat("1ms", "1ms", "1ms"),
            "1.00MiB/s (-)",
            "-",
        ]),
        row([
            &t,
            "GET-MPDSTREAM",
            "1 (1)",
            "1.0MiB (-)",
            &lat("3ms", "3ms", "3ms"),
            "1.00MiB/s (-)",
            "-",
        ]),
        row([
            &t,
            "GBT",
            "1 (1)",
            "2.0MiB (-)",
            &lat("4ms", "4ms", "4ms"),
            "2.00MiB/s (-)",
            "-",
        ]),
    ]
    .concat();
    assert_eq!(text, want);
    let fin = final_text(&table(true), &iv, T0, T0 + S);
    assert!(
        fin.ends_with(&row([
            &t,
            "GBT",
            "1",
            "2.0MiB",
            &lat("4ms", "4ms", "4ms"),
            "2.00MiB/s",
            "0"
        ])),
        "{fin}"
    );
    let json = json_object(&iv, T0, T0 + S);
    assert!(
        json.contains("\"get_batch\": {\n    \"start_time\"")
            && json.contains("\"count\": \"1\",\n    \"bytes\": \"2097152\""),
        "{json}"
    );
}
