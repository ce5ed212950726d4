//! Tests for the run's statistics.

use super::*;

/// The end of `c`'s tick in progress for a run that started at `run_start_unix_ns`: the first
/// `run start + j·TICK` after the tick's start.
fn next_rotate_at(c: &CoreStats, run_start_unix_ns: u64) -> u64 {
    let tick = TICK.as_nanos() as u64;
    let since = c.current().start_unix_ns.saturating_sub(run_start_unix_ns);
    run_start_unix_ns.saturating_add((since / tick + 1).saturating_mul(tick))
}
use ringload_core::hist::LATENCY_MAX_US;

#[test]
fn op_names() {
    assert_eq!(
        OPS.map(|o| o.as_str()),
        ["get", "put", "get_batch", "put_mpu", "get_mpd"]
    );
    assert_eq!(
        OPS.map(|o| o.label()),
        ["GET", "PUT", "GET(batch)", "PUT(mpu)", "GET(mpd)"]
    );
    for (i, op) in OPS.iter().enumerate() {
        assert_eq!(*op as usize, i);
    }
}

#[test]
fn error_kind_names_round_trip() {
    let all = [
        (ErrorKind::Connect, "connect"),
        (ErrorKind::Reset, "reset"),
        (ErrorKind::Timeout, "timeout"),
        (ErrorKind::Closed, "closed"),
        (ErrorKind::ShortBody, "short-body"),
        (ErrorKind::Protocol, "protocol"),
        (ErrorKind::Redirect, "redirect"),
        (ErrorKind::Verify, "verify"),
        (ErrorKind::VerifyUnknown, "verify-unknown"),
        (ErrorKind::FdLimit, "fd-limit"),
        (ErrorKind::NoPorts, "no-ports"),
        (ErrorKind::NoMemory, "no-memory"),
        (ErrorKind::Tls, "tls"),
        (ErrorKind::Http(404), "http-404"),
        (ErrorKind::Http(100), "http-100"),
        (ErrorKind::Http(599), "http-599"),
    ];
    for (k, name) in all {
        assert_eq!(k.as_str(), name);
        assert_eq!(ErrorKind::parse(name), Some(k), "{name}");
    }
    assert_eq!(ErrorKind::Http(99).as_str(), HTTP_OTHER);
    assert_eq!(ErrorKind::Http(600).as_str(), HTTP_OTHER);
    assert_eq!(ErrorKind::parse("http-other"), None);
    assert_eq!(ErrorKind::parse("http-abc"), None);
    assert_eq!(ErrorKind::parse("nonsense"), None);
}

#[test]
fn errors_never_touch_successes() {
    let mut s = OpStats::new();
    s.record_ok(100, 250);
    s.record_err(ErrorKind::Timeout);
    s.record_err(ErrorKind::Http(503));
    s.record_err(ErrorKind::Http(503));
    s.record_err(ErrorKind::Http(0));
    s.record_err(ErrorKind::Http(u16::MAX));
    assert_eq!((s.count, s.bytes, s.errors), (1, 100, 5));
    assert_eq!(s.histogram().len(), 1);
    assert_eq!(s.errors_of(ErrorKind::Http(503)), 2);
    assert_eq!(s.errors_of(ErrorKind::Timeout), 1);
    assert_eq!(s.errors_of(ErrorKind::Reset), 0);
    let by: Vec<_> = s.errors_by_kind().into_iter().collect();
    assert_eq!(
        by,
        vec![
            ("http-503".to_string(), 2),
            ("http-other".to_string(), 2),
            ("timeout".to_string(), 1)
        ]
    );
}

#[test]
fn latency_summary_and_clamping() {
    let mut s = OpStats::new();
    assert_eq!(s.latency(), LatencySummary::default());
    for v in 1..=1000u64 {
        s.record_ok(1, v);
    }
    let l = s.latency();
    assert_eq!(l.min, 1);
    assert_eq!(l.max, 1000);
    assert_eq!(l.p50, 500);
    assert_eq!(l.p90, 900);
    assert_eq!(l.p99, 990);
    assert_eq!(l.p999, 999);
    assert!((l.mean - 500.5).abs() < 1e-9, "{}", l.mean);
    // Far above one hour: clamped, never a panic.
    s.record_ok(1, u64::MAX);
    assert_eq!(s.latency().max, u64::MAX, "exact max is kept");
    let hmax = s.histogram().max();
    assert!((LATENCY_MAX_US..LATENCY_MAX_US + LATENCY_MAX_US / 500).contains(&hmax));
    s.record_ok(1, 0);
    assert_eq!(s.latency().min, 0);
    // Percentiles never leave [min, max], though histogram buckets are wider.
    let mut t = OpStats::new();
    t.record_ok(1, 5000);
    let l = t.latency();
    assert_eq!((l.min, l.p50, l.p999, l.max), (5000, 5000, 5000, 5000));
    assert!(t.histogram().max() > 5000);
}

#[test]
fn add_is_exact_and_order_free() {
    let mut a = OpStats::new();
    let mut b = OpStats::new();
    let mut all = OpStats::new();
    for v in 0..500u64 {
        a.record_ok(10, v * 7 + 3);
        all.record_ok(10, v * 7 + 3);
        b.record_ok(20, v * 1000 + 11);
        all.record_ok(20, v * 1000 + 11);
    }
    a.record_err(ErrorKind::Reset);
    all.record_err(ErrorKind::Reset);
    b.record_err(ErrorKind::Http(500));
    all.record_err(ErrorKind::Http(500));
    let mut ab = a.clone();
    ab.add(&b);
    let mut ba = b.clone();
    ba.add(&a);
    for m in [&ab, &ba] {
        assert_eq!((m.count, m.bytes, m.errors), (1000, 15000, 2));
        assert_eq!(m.histogram(), all.histogram());
        assert_eq!(m.latency(), all.latency());
        assert_eq!(m.errors_by_kind(), all.errors_by_kind());
    }
}

#[test]
fn add_folds_foreign_bounds() {
    let mut dst = new_histogram();
    let mut wide = Histogram::<u64>::new_with_bounds(1, u64::MAX / 4, 2).unwrap();
    wide.record(5).unwrap();
    wide.record(u64::MAX / 8).unwrap();
    add_histogram(&mut dst, &wide);
    assert_eq!(dst.len(), 2);
    assert!(dst.max() >= LATENCY_MAX_US);
}

#[test]
fn reset_clears_everything() {
    let mut s = OpStats::new();
    s.record_ok(5, 5);
    s.record_err(ErrorKind::Verify);
    s.reset();
    assert_eq!((s.count, s.bytes, s.errors), (0, 0, 0));
    assert!(s.histogram().is_empty());
    assert!(s.errors_by_kind().is_empty());
    assert_eq!(s.latency(), LatencySummary::default());
}

#[test]
fn rotate_hands_over_ticks() {
    let t0 = 1_000_000_000_000u64;
    let tick = TICK.as_nanos() as u64;
    let mut c = CoreStats::new(t0);
    assert_eq!(next_rotate_at(&c, t0), t0 + tick);
    c.record_ok(Op::Get, 10, 100);
    c.record_err(Op::Put, ErrorKind::Connect);
    let s1 = c.rotate(t0 + tick);
    assert_eq!((s1.start_unix_ns, s1.end_unix_ns), (t0, t0 + tick));
    assert_eq!(s1.get(Op::Get).count, 1);
    assert_eq!(s1.get(Op::Put).errors, 1);
    assert_eq!(s1.errors(), 1);
    assert_eq!(c.current().start_unix_ns, t0 + tick);
    assert_eq!(c.current().get(Op::Get).count, 0);
    assert_eq!(next_rotate_at(&c, t0), t0 + 2 * tick);
    // A late rotation still lands the next boundary on the grid.
    c.record_ok(Op::Put, 7, 9);
    let s2 = c.rotate(t0 + 2 * tick + tick / 3);
    assert_eq!(next_rotate_at(&c, t0), t0 + 3 * tick);
    let mut both = Snapshot::new(s2.start_unix_ns);
    both.add(&s2);
    both.add(&s1);
    assert_eq!(both.start_unix_ns, t0);
    assert_eq!(both.end_unix_ns, t0 + 2 * tick + tick / 3);
    assert_eq!(both.get(Op::Put).count, 1);
    assert_eq!(both.get(Op::Put).errors, 1);
    // A clock that went backwards never yields an inverted span.
    let s3 = c.rotate(0);
    assert!(s3.end_unix_ns >= s3.start_unix_ns);
}

#[test]
fn now_is_after_2020() {
    assert!(unix_now_ns() > 1_577_836_800_000_000_000);
}
