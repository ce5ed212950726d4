//! Unit tests of the reporter: interval assignment and completeness, late and clipped ticks,
//! the table rows, the live line and the summary, driven with synthetic core ticks.

use super::fmt::local_hms;
use super::live::CLEAR_LINE;
use super::*;
use crate::stats::{ErrorKind, Op};
use ringload_core::result::decode_histogram;
use std::cell::RefCell;
use std::rc::Rc;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

/// A writer the tests read back after the reporter consumed it (shared by the report's unit
/// tests: the table, the sweep, the rate line, aisloader's stream).
#[derive(Clone, Default)]
pub(in crate::report) struct Buf(Rc<RefCell<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Buf {
    pub(in crate::report) fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).unwrap()
    }
    /// The lines starting with `prefix`, in order.
    pub(in crate::report) fn lines(&self, prefix: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(String::from)
            .collect()
    }
}

fn cfg(interval_s: u64, cores: usize, live: bool) -> ReportConfig {
    ReportConfig {
        statsinterval: Duration::from_secs(interval_s),
        duration: Some(Duration::from_secs(60)),
        cores,
        live,
        rate: None,
    }
}

/// Tick `j` (1-based) of a core: `n` GETs of 1 MiB at `lat` µs.
fn tick(j: u64, n: u64, lat: u64) -> Snapshot {
    let mut s = Snapshot::new(T0 + (j - 1) * S);
    s.end_unix_ns = T0 + j * S;
    for _ in 0..n {
        s.get_mut(Op::Get).record_ok(1 << 20, lat);
    }
    s
}

fn reporter(c: ReportConfig) -> (Reporter<Buf, Buf>, Buf, Buf) {
    let (out, err) = (Buf::default(), Buf::default());
    (Reporter::new(c, T0, out.clone(), err.clone()), out, err)
}

#[test]
fn interval_rounds_up_to_whole_ticks() {
    let mk = |d: Duration| {
        let c = ReportConfig {
            statsinterval: d,
            ..cfg(1, 1, false)
        };
        Reporter::new(c, T0, Vec::new(), Vec::new()).interval()
    };
    assert_eq!(mk(Duration::from_millis(1500)), Duration::from_secs(2));
    assert_eq!(mk(Duration::ZERO), Duration::from_secs(1));
    assert_eq!(mk(Duration::from_secs(10)), Duration::from_secs(10));
}

#[test]
fn waits_for_every_core_then_prints_once() {
    let (mut r, out, _) = reporter(cfg(2, 2, false));
    r.add_tick(0, tick(1, 10, 100));
    r.add_tick(0, tick(2, 10, 100));
    r.poll(T0 + 3 * S);
    assert_eq!(out.text(), "", "core 1 has not delivered yet");
    r.add_tick(1, tick(1, 5, 300));
    r.add_tick(1, tick(2, 5, 300));
    r.poll(T0 + 2 * S - 1);
    assert_eq!(out.text(), "", "the interval has not ended yet");
    r.poll(T0 + 2 * S);
    let text = out.text();
    assert_eq!(text.matches("Time").count(), 1, "{text}");
    let row = text.lines().find(|l| l.contains("GET")).unwrap();
    assert!(row.contains("30 (30)"), "{row}");
    assert!(row.contains("30.0MiB (30.0MiB)"), "{row}");
    assert!(row.contains("15.00MiB/s (15.00MiB/s)"), "{row}");
    assert!(row.contains("100µs"), "{row}");
    assert!(row.contains("300µs"), "{row}");
    assert!(!row.contains("PUT"), "{row}");
    // Errors column is "-" while the run has no error.
    let fields: Vec<&str> = row.split('\t').collect();
    assert_eq!(fields[4].trim(), "-", "{row}");
    // Nothing printed twice.
    r.poll(T0 + 2 * S + 1);
    assert_eq!(out.text(), text);
    r.add_tick(0, tick(3, 1, 100));
    r.add_tick(1, tick(3, 1, 100));
    r.add_tick(0, tick(4, 1, 100));
    r.add_tick(1, tick(4, 1, 100));
    r.poll(T0 + 4 * S);
    let text = out.text();
    assert_eq!(text.matches("Time").count(), 1, "header once: {text}");
    assert!(text.contains("4 (34)"), "{text}");
}

#[test]
fn error_only_interval_still_prints_a_row() {
    let (mut r, out, _) = reporter(cfg(1, 1, false));
    let mut s = tick(1, 0, 0);
    s.get_mut(Op::Put).record_err(ErrorKind::Http(503));
    s.get_mut(Op::Put).record_err(ErrorKind::Timeout);
    r.add_tick(0, s);
    r.poll(T0 + S);
    let text = out.text();
    let row = text.lines().find(|l| l.contains("PUT")).expect(&text);
    assert!(row.contains("0 (0)"), "{row}");
    let fields: Vec<&str> = row.split('\t').collect();
    assert_eq!(fields[4].trim(), "2 (2)", "{row}");
    assert!(!text.contains("GET"), "{text}");
    let totals = r.finish(T0 + S);
    assert_eq!(totals.total.get(Op::Put).errors, 2);
    assert_eq!(totals.total.get(Op::Put).count, 0);
}

#[test]
fn finish_flushes_partial_interval_and_totals_are_exact() {
    let (mut r, out, _) = reporter(cfg(2, 1, false));
    r.add_tick(0, tick(1, 4, 100));
    // Ticks 2 and 3 are idle; tick 4 is partial (the run stops at 3.5 s).
    let mut last = tick(4, 2, 5000);
    last.end_unix_ns = T0 + 3 * S + S / 2;
    r.add_tick(0, tick(2, 0, 0));
    r.add_tick(0, tick(3, 0, 0));
    r.add_tick(0, last);
    let totals = r.finish(T0 + 3 * S + S / 2);
    assert_eq!(totals.start_unix_ns, T0);
    assert_eq!(totals.end_unix_ns, T0 + 3 * S + S / 2);
    assert_eq!(totals.total.get(Op::Get).count, 6);
    assert_eq!(totals.total.get(Op::Get).latency().max, 5000);
    let spans: Vec<(u64, u64)> = totals
        .intervals
        .iter()
        .map(|i| (i.start_unix_ns - T0, i.end_unix_ns - T0))
        .collect();
    assert_eq!(spans, [(0, 2 * S), (2 * S, 3 * S + S / 2)]);
    let counts: Vec<u64> = totals
        .intervals
        .iter()
        .map(|i| i.ops["get"].count)
        .collect();
    assert_eq!(counts, [4, 2]);
    let h = decode_histogram(&totals.intervals[1].ops["get"].histogram).unwrap();
    assert_eq!(h.len(), 2);
    assert!(decode_histogram(&totals.intervals[1].ops["put"].histogram)
        .unwrap()
        .is_empty());
    let text = out.text();
    assert!(text.contains("Summary: 3.5s on 1 core(s)"), "{text}");
    assert!(text.contains("GET  count 6"), "{text}");
    assert!(text.contains("max 5ms"), "{text}");
    assert!(text.contains("errors 0"), "{text}");
    assert!(!text.contains("PUT"), "{text}");
}

#[test]
fn empty_run_has_no_intervals_and_says_so() {
    let (r, out, _) = reporter(cfg(10, 2, false));
    let totals = r.finish(T0);
    assert!(totals.intervals.is_empty());
    assert!(out.text().contains("no operations"), "{}", out.text());
}

#[test]
fn a_run_over_tls_ends_its_summary_with_the_tls_line_and_first_failure() {
    let (mut r, out, _) = reporter(cfg(1, 1, false));
    let mut t = tick(1, 3, 100);
    t.get_mut(Op::Get).record_err(ErrorKind::Tls);
    r.add_tick(0, t);
    let failure = ringload_net::tls::cause(&ringload_net::tls::rustls::Error::InvalidCertificate(
        ringload_net::tls::rustls::CertificateError::UnknownIssuer,
    ));
    r.set_tls(Some(tls::TlsOutcome {
        record: ringload_core::result::TlsRecord {
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS13_AES_256_GCM_SHA384".into()),
            verified: true,
            resumed_pct: 97.5,
            handshakes: 1024,
            resumed: 998,
            roots: "system".into(),
            source: None,
        },
        failure: Some(failure),
    }));
    let totals = r.finish(T0 + S);
    assert_eq!(totals.tls.as_ref().unwrap().record.handshakes, 1024);
    let text = out.text();
    assert!(
        text.ends_with(
            "     errors 1: tls 1\n\
             tls: TLSv1.3 TLS13_AES_256_GCM_SHA384, verified (system roots), 97.5% of 1,024 \
             handshakes resumed\n     \
             first TLS failure: unknown issuer: the server's certificate is not signed by a \
             trusted CA; pass the server's CA bundle with --tls-ca FILE, or skip verification \
             with --tls-insecure\n"
        ),
        "{text}"
    );
    // A plaintext run prints no tls line.
    let (mut r, out, _) = reporter(cfg(1, 1, false));
    r.add_tick(0, tick(1, 3, 100));
    assert!(r.finish(T0 + S).tls.is_none());
    assert!(!out.text().contains("tls"), "{}", out.text());
}

#[test]
fn late_tick_joins_an_open_interval_and_is_never_lost() {
    let (mut r, _, _) = reporter(cfg(1, 1, false));
    r.add_tick(0, tick(1, 1, 10));
    r.add_tick(0, tick(2, 1, 10));
    r.poll(T0 + 2 * S);
    // A straggler for interval 0, which is already printed.
    r.add_tick(0, tick(1, 3, 10));
    let totals = r.finish(T0 + 3 * S);
    assert_eq!(totals.total.get(Op::Get).count, 5);
    let sum: u64 = totals.intervals.iter().map(|i| i.ops["get"].count).sum();
    assert_eq!(sum, 5);
    assert_eq!(totals.intervals.len(), 3);
}

#[test]
fn ticks_from_a_clock_step_join_the_last_interval() {
    let (mut r, _, _) = reporter(cfg(1, 1, false));
    r.add_tick(0, tick(1, 1, 10));
    r.add_tick(0, tick(1_000_000, 2, 10));
    let totals = r.finish(T0 + 2 * S);
    assert_eq!(totals.intervals.len(), 2);
    assert_eq!(totals.intervals[1].ops["get"].count, 2);
    assert_eq!(totals.total.get(Op::Get).count, 3);
}

#[test]
fn jittered_rotation_stays_in_its_interval() {
    let (mut r, _, _) = reporter(cfg(2, 1, false));
    // Rotations 30 ms late: tick 2 starts at 1.03 s, tick 3 at 2.03 s.
    let mut a = tick(1, 1, 10);
    a.end_unix_ns += 30_000_000;
    let mut b = tick(2, 1, 10);
    b.start_unix_ns += 30_000_000;
    b.end_unix_ns += 30_000_000;
    let mut c = tick(3, 1, 10);
    c.start_unix_ns += 30_000_000;
    r.add_tick(0, a);
    r.add_tick(0, b);
    r.add_tick(0, c);
    let totals = r.finish(T0 + 3 * S);
    let counts: Vec<u64> = totals
        .intervals
        .iter()
        .map(|i| i.ops["get"].count)
        .collect();
    assert_eq!(counts, [2, 1]);
}

#[test]
fn live_line_is_drawn_and_cleared() {
    let (mut r, out, err) = reporter(cfg(2, 1, true));
    r.add_tick(0, tick(1, 1000, 1200));
    r.poll(T0 + S);
    let status = err.text();
    assert!(
        status.starts_with("\r[00:01 elapsed, 00:59 left] GET 1,000 ops/s"),
        "{status:?}"
    );
    assert!(
        status.contains("0.98 GiB/s p99 1.2ms errors 0"),
        "{status:?}"
    );
    assert_eq!(out.text(), "");
    // Redrawn at most once a second.
    r.poll(T0 + S + S / 2);
    assert_eq!(err.text(), status);
    r.add_tick(0, tick(2, 10, 100));
    r.poll(T0 + 2 * S);
    let status = err.text();
    assert!(
        status.contains(CLEAR_LINE),
        "cleared before rows: {status:?}"
    );
    assert!(status.ends_with("\x1b[K"), "{status:?}");
    assert!(out.text().contains("GET"));
    r.finish(T0 + 2 * S);
    assert!(err.text().ends_with(CLEAR_LINE), "cleared at the end");
}

#[test]
fn quiet_when_not_live() {
    let (mut r, _, err) = reporter(cfg(1, 1, false));
    r.add_tick(0, tick(1, 3, 10));
    r.poll(T0 + S);
    r.finish(T0 + S);
    assert_eq!(err.text(), "");
}

#[test]
fn header_keeps_aisloader_columns() {
    let h = header();
    assert!(
        h.starts_with("Time      OP    Count                 \tSize (Total)"),
        "{h:?}"
    );
    let cols: Vec<&str> = h.trim_end().split('\t').map(str::trim).collect();
    assert_eq!(
        cols,
        [
            "Time      OP    Count",
            "Size (Total)",
            "Latency (min, avg, max)",
            "Throughput (Avg)",
            "Errors (Total)",
            "Latency (p50, p90, p99)"
        ]
    );
}

#[test]
fn wind_down_row_carries_its_own_end_and_an_honest_rate() {
    let (mut r, out, _) = reporter(cfg(10, 1, false));
    for j in 1..=10 {
        r.add_tick(0, tick(j, 1, 100));
    }
    r.poll(T0 + 10 * S);
    // After the stop, 10 requests in flight (2 s each) complete within 0.3 s.
    let mut drain = Snapshot::new(T0 + 10 * S);
    drain.end_unix_ns = T0 + 10 * S + 3 * S / 10;
    for _ in 0..10 {
        drain.get_mut(Op::Get).record_ok(1 << 20, 2_000_000);
    }
    r.add_tick(0, drain);
    r.finish(T0 + 10 * S + 3 * S / 10);
    let text = out.text();
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("GET ")).collect();
    let full = format!("{}  GET   10 (10)", local_hms(T0 + 10 * S));
    let wind = format!("{}.3 GET  10 (20)", local_hms(T0 + 10 * S));
    assert!(rows[0].starts_with(&full), "{rows:?}");
    assert_eq!(
        rows[1],
        format!(
            "{wind:<38}\t10.0MiB (20.0MiB)     \t2s         2s         2s            \t\
             5.00MiB/s (1.94MiB/s) \t-         \t2s         2s         2s"
        )
    );
}

#[test]
fn a_traced_run_prints_one_phases_line_per_op_under_its_latency() {
    use crate::stats::{CoreStats, PhaseTimes};
    let (mut r, out, _) = reporter(cfg(1, 1, false));
    let mut core = CoreStats::new(T0);
    core.trace_phases(&crate::stats::OPS);
    for i in 0..4u64 {
        core.record_ok(Op::Get, 1 << 20, 1_500);
        let p = PhaseTimes {
            connect: (i == 0).then_some(120),
            redirect: None,
            first_byte: 1_200,
            body: 300,
        };
        core.record_phases(Op::Get, &p);
    }
    r.add_tick(0, core.rotate(T0 + S));
    r.finish(T0 + S);
    let text = out.text();
    assert!(
        text.contains(
            "     latency min 1.5ms  mean 1.5ms  p50 1.5ms  p90 1.5ms  p99 1.5ms  p99.9 1.5ms  \
             max 1.5ms\n     phases  connect 1 p50 120µs p99 120µs  redirect 0  \
             first byte 4 p50 1.2ms p99 1.2ms  body 4 p50 300µs p99 300µs\n     errors 0\n"
        ),
        "{text}"
    );
    let (mut r, out, _) = reporter(cfg(1, 1, false));
    r.add_tick(0, tick(1, 2, 100));
    r.finish(T0 + S);
    assert!(!out.text().contains("phases"), "{}", out.text());
}

#[test]
fn a_random_proxy_run_ends_its_summary_with_each_proxys_share() {
    let (mut r, out, _) = reporter(cfg(1, 1, false));
    r.add_tick(0, tick(1, 3, 100));
    let pc = |url: &str, requests| ringload_core::result::ProxyCount {
        url: url.into(),
        requests,
    };
    r.set_proxies(vec![pc("http://a:1", 102), pc("http://b:2", 98)]);
    let totals = r.finish(T0 + S);
    assert_eq!(totals.proxies[1], pc("http://b:2", 98));
    let text = out.text();
    assert!(
        text.ends_with("     errors 0\nproxies: 2, requests 51% / 49%\n"),
        "{text}"
    );
    assert_eq!(
        ringload_core::result::ProxyCount::line(&[pc("x", 0)]).as_deref(),
        Some("proxies: 1, requests 0%\n")
    );
    // Other runs print no proxies line.
    let (mut r, out, _) = reporter(cfg(1, 1, false));
    r.add_tick(0, tick(1, 3, 100));
    assert!(r.finish(T0 + S).proxies.is_empty());
    assert!(!out.text().contains("proxies"), "{}", out.text());
}

/// Tick `j` of a core: `n` GetBatch requests of 64 objects of 16 KiB at `lat` µs, one of
/// them missing a member.
fn batch_tick(j: u64, n: u64, lat: u64) -> Snapshot {
    let mut s = Snapshot::new(T0 + (j - 1) * S);
    s.end_unix_ns = T0 + j * S;
    let b = s.get_mut(Op::GetBatch);
    for _ in 0..n {
        b.record_ok(64 * 16_384, lat);
        b.record_objects(64);
    }
    b.objects -= 1;
    b.record_err(ErrorKind::Missing);
    s
}

#[test]
fn a_get_batch_run_shows_its_class_objects_and_missing_members_everywhere() {
    let (mut r, out, err) = reporter(cfg(1, 1, true));
    r.add_tick(0, batch_tick(1, 10, 2_000));
    r.poll(T0 + S);
    let status = err.text();
    assert!(
        status.starts_with(
            "\r[00:01 elapsed, 00:59 left] GET(batch) 10 ops/s 639 objects/s 0.01 GiB/s p99 2ms \
             errors 1"
        ),
        "{status:?}"
    );
    let totals = r.finish(T0 + 2 * S);
    assert_eq!(totals.total.shown_ops(), [Op::Get, Op::Put, Op::GetBatch]);
    let text = out.text();
    let rows = out.lines(&local_hms(T0 + S));
    assert_eq!(rows.len(), 1, "{text}");
    assert!(
        rows[0].starts_with(&format!(
            "{}  GET(batch) 10 (10)               \t10.0MiB (10.0MiB)",
            local_hms(T0 + S)
        )),
        "{:?}",
        rows[0]
    );
    let summary = &text[text.find("\nSummary:").unwrap()..];
    assert_eq!(
        summary,
        "\nSummary: 2s on 1 core(s)\n\
         GET(batch) count 10  objects 639  bytes 10,485,760 (10.0MiB)  0.00 GiB/s  5 ops/s  \
         320 objects/s\n     \
         latency min 2ms  mean 2ms  p50 2ms  p90 2ms  p99 2ms  p99.9 2ms  max 2ms\n     \
         errors 1: missing 1\n"
    );
}
