//! `summary.txt`: the table a human reads first.
//!
//! Layout: a `PARTIAL MERGE` line first when ranks are missing or failed; the run line; one
//! row per operation class that did something, in the engine's order and with its labels
//! (`GET`, `PUT`, `GET(batch)`, `PUT(mpu)`, `GET(mpd)`; the op column widens only when a
//! longer label has a row) (count, bytes, GiB/s over the whole run and the steady window,
//! ops/s, latency min/p50/p90/p99/p99.9/max, errors) and its errors by kind, under it a
//! GetBatch's `objects` line (objects and objects/s), the
//! phases line (the run summary's line: each phase's count, p50, p99) and, for a `--rate` run,
//! the service latency; a `--rate` run's rate line and a sweep's steps with the knee; the
//! client line when ranks diagnosed themselves; then one row per rank (client-bound ones
//! marked); then stragglers and warnings (with each rank's own and the client-bound ranks). Every number is taken from the [`Summary`], so the
//! text never disagrees with `summary.json`.

use std::fmt::Write as _;

use super::error::ranges;
use super::rank::{OP_LABELS, OP_NAMES};
use super::rate::ClientSummary;
use super::summary::{Summary, GIB};
use ringload_core::hist::phases_line;
use ringload_core::rate::RateRecord;

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `812µs`, `1.20ms`, `2.51s`.
pub fn latency(us: u64) -> String {
    match us {
        0..=999 => format!("{us}µs"),
        1_000..=999_999 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

/// IEC bytes with one decimal: `4.6 TiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn errors(total: u64, by_kind: &std::collections::BTreeMap<String, u64>) -> String {
    if total == 0 {
        return "0".into();
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("{} ({})", thousands(total), kinds.join(", "))
}

/// Renders the summary table.
pub fn render(s: &Summary) -> String {
    let mut t = String::new();
    if s.partial {
        let _ = writeln!(
            t,
            "PARTIAL MERGE: {} of {} ranks merged{}{}{}; the figures cover only what is here",
            s.ranks_present,
            s.ranks_expected,
            if s.ranks_missing.is_empty() {
                String::new()
            } else {
                format!(", missing {}", ranges(&s.ranks_missing))
            },
            if s.ranks_failed.is_empty() {
                String::new()
            } else {
                format!(", not completed {}", ranges(&s.ranks_failed))
            },
            if s.skipped_files.is_empty() {
                String::new()
            } else {
                format!(", {} file(s) skipped", s.skipped_files.len())
            },
        );
    }
    let steady = match &s.steady_window {
        Some(w) => format!("steady window {:.2} s", w.duration_s),
        None => "no steady window".into(),
    };
    let _ = writeln!(
        t,
        "run {}: {} of {} ranks, {:.2} s ({steady}; start skew {:.2} s, end skew {:.2} s)\n",
        s.run_id,
        s.ranks_present,
        s.ranks_expected,
        s.duration_s,
        s.start_skew_ns as f64 / 1e9,
        s.end_skew_ns as f64 / 1e9
    );
    // The rows: every class that did something, GET always.
    let rows: Vec<(&str, &str, &super::summary::OpTotals)> = OP_NAMES
        .iter()
        .zip(OP_LABELS)
        .filter_map(|(name, label)| {
            let o = s.ops.get(*name)?;
            (*name == "get" || o.count + o.errors > 0).then_some((*name, label, o))
        })
        .collect();
    let w = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(4);
    let _ = writeln!(
        t,
        "{:<w$} {:>14} {:>10} {:>8} {:>8} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
        "op",
        "count",
        "bytes",
        "GiB/s",
        "steady",
        "ops/s",
        "min",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max"
    );
    for (name, label, o) in rows {
        let steady = s
            .steady_window
            .as_ref()
            .and_then(|w| w.ops.get(name))
            .map_or("-".to_string(), |w| {
                format!("{:.3}", w.throughput_bytes_per_s / GIB)
            });
        let l = &o.latency_us;
        let _ = writeln!(
            t,
            "{:<w$} {:>14} {:>10} {:>8.3} {:>8} {:>12.1} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  {}",
            label,
            thousands(o.count),
            bytes(o.bytes),
            o.throughput_bytes_per_s / GIB,
            steady,
            o.ops_per_s,
            latency(l.min),
            latency(l.p50),
            latency(l.p90),
            latency(l.p99),
            latency(l.p999),
            latency(l.max),
            errors(o.errors, &o.errors_by_kind)
        );
        if let Some(n) = o.objects {
            let per_s = if s.duration_s > 0.0 {
                n as f64 / s.duration_s
            } else {
                0.0
            };
            let _ = writeln!(t, "     objects {}  {per_s:.1} objects/s", thousands(n));
        }
        if let Some(p) = &o.phases {
            t.push_str(&phases_line(&p.line_figures(), latency));
        }
        if let Some(l) = &o.service_latency_us {
            let _ = writeln!(
                t,
                "     service  min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                latency(l.min),
                latency(l.p50),
                latency(l.p90),
                latency(l.p99),
                latency(l.p999),
                latency(l.max)
            );
        }
    }
    if let Some(r) = &s.rate {
        rate(&mut t, r);
    }
    if let Some(x) = &s.tls {
        let session = match (&x.version, &x.cipher) {
            (Some(v), Some(c)) => format!("{v} {c}"),
            _ => "no handshake completed".to_string(),
        };
        let _ = writeln!(
            t,
            "\ntls: {session}, {}, {:.1}% of {} handshakes resumed",
            x.trust_words(),
            x.resumed_pct,
            thousands(x.handshakes)
        );
    }
    if let Some(line) = ringload_core::result::ProxyCount::line(&s.proxies) {
        t.push('\n');
        t.push_str(&line);
    }
    if let Some(c) = &s.client {
        let _ = writeln!(t, "\n{}", client_line(c));
    }
    let _ = writeln!(
        t,
        "\nranks: {} of {} present\n{:<6} {:<20} {:<12} {:>8} {:>12} {:>8}  errors",
        s.ranks_present, s.ranks_expected, "rank", "host", "status", "GiB/s", "ops/s", "p99"
    );
    for r in &s.ranks {
        let ops: f64 = r.ops.values().map(|o| o.ops_per_s).sum();
        let p99 = r.ops.values().map(|o| o.latency_us.p99).max().unwrap_or(0);
        let errs: u64 = r.ops.values().map(|o| o.errors).sum();
        let bound = r.client.as_ref().is_some_and(|c| c.client_bound);
        let _ = writeln!(
            t,
            "{:<6} {:<20} {:<12} {:>8.3} {:>12.1} {:>8}  {}{}",
            r.rank,
            r.host,
            r.status,
            r.throughput_bytes_per_s / GIB,
            ops,
            latency(p99),
            thousands(errs),
            if bound { "  client-bound" } else { "" }
        );
    }
    if s.stragglers.is_empty() {
        let _ = writeln!(t, "\nstragglers: none");
    } else {
        let list: Vec<String> = s
            .stragglers
            .iter()
            .map(|x| {
                format!(
                    "{} ({:.0}% below median)",
                    x.rank,
                    (1.0 - x.throughput_bytes_per_s / x.median_throughput_bytes_per_s) * 100.0
                )
            })
            .collect();
        // `rank 3 (...)`, `ranks 0 (...), 3 (...)`: the numbers are ranks, not a count.
        let noun = if list.len() == 1 { "rank" } else { "ranks" };
        let _ = writeln!(t, "\nstragglers: {noun} {}", list.join(", "));
    }
    if s.warnings.is_empty() {
        let _ = writeln!(t, "warnings: none");
    } else {
        let _ = writeln!(t, "warnings:");
        for w in &s.warnings {
            let _ = writeln!(t, "  - {w}");
        }
    }
    t
}

/// `client: 1 of 4 ranks client-bound (rank 3): ...` or `client: no rank client-bound ...`.
pub fn client_line(c: &ClientSummary) -> String {
    if c.client_bound == 0 {
        return format!(
            "client: no rank client-bound ({} of the ranks diagnosed themselves)",
            c.ranks
        );
    }
    let noun = if c.client_bound_ranks.len() == 1 {
        "rank"
    } else {
        "ranks"
    };
    format!(
        "client: {} of {} ranks client-bound ({noun} {}): their figures measured the client, \
         not the storage",
        c.client_bound,
        c.ranks,
        ranges(&c.client_bound_ranks)
    )
}

/// The rate line and, for a sweep, the steps table.
fn rate(t: &mut String, r: &RateRecord) {
    let _ = writeln!(
        t,
        "\nrate: target {:.1} ops/s, achieved {:.1} ops/s, {} arrivals; schedule lag p99 {}, \
         max {}{}; latency from each request's intended start, service from its send",
        r.target,
        r.achieved,
        r.arrival,
        latency(r.lag_us.p99),
        latency(r.lag_us.max),
        if r.kept {
            ""
        } else {
            "; the rate was NOT kept"
        }
    );
    if r.steps.is_empty() {
        return;
    }
    let knee = match (r.knee, &r.slo) {
        (Some(k), _) => format!("knee {k:.1} ops/s"),
        (None, Some(_)) => "no step met the objective".to_string(),
        (None, None) => "no objective, no knee".to_string(),
    };
    let slo = r
        .slo
        .as_ref()
        .map_or(String::new(), |s| format!(" against --slo {s}"));
    if let [one] = r.steps.as_slice() {
        // A single rate judged against --slo: one step over the measured phase, no knee.
        let verdict = match (&one.broke, one.complete) {
            (Some(b), _) => format!("broke: {b}"),
            (None, true) => "met".to_string(),
            (None, false) => "not judged (a rank stopped before its --duration)".to_string(),
        };
        let _ = writeln!(t, "one rate{slo}: {verdict}");
        return;
    }
    let _ = writeln!(t, "sweep of {} steps{slo}: {knee}", r.steps.len());
    let classes: Vec<&String> = {
        let mut v: Vec<&String> = r.steps.iter().flat_map(|s| s.ops.keys()).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut head = format!(
        "{:<5} {:>12} {:>12} {:>12} {:>8}",
        "step", "target", "achieved", "count", "errors"
    );
    for c in &classes {
        let _ = write!(head, " {:>9}", format!("{c} p99"));
    }
    let _ = writeln!(t, "{head}  verdict");
    for (k, st) in r.steps.iter().enumerate() {
        let count: u64 = st.ops.values().map(|o| o.count).sum();
        let errors: u64 = st.ops.values().map(|o| o.errors).sum();
        let mut row = format!(
            "{:<5} {:>12.1} {:>12.1} {:>12} {:>8}",
            k + 1,
            st.target,
            st.achieved,
            thousands(count),
            thousands(errors)
        );
        for c in &classes {
            let v = st
                .ops
                .get(*c)
                .filter(|o| o.count > 0)
                .map_or("-".to_string(), |o| latency(o.latency_us.p99));
            let _ = write!(row, " {v:>9}");
        }
        let verdict = match (&st.broke, st.complete, r.slo.is_some()) {
            (_, false, _) => "incomplete".to_string(),
            (Some(b), true, _) => format!("broke: {b}"),
            (None, true, true) => "met".to_string(),
            (None, true, false) => "-".to_string(),
        };
        let _ = writeln!(t, "{row}  {verdict}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_rate_judged_against_its_slo_is_one_line_not_a_sweep() {
        let step = |broke: Option<&str>, complete| ringload_core::rate::StepRecord {
            target: 400.0,
            achieved: 399.0,
            start_unix_ns: 0,
            end_unix_ns: 1,
            complete,
            ops: Default::default(),
            broke: broke.map(String::from),
        };
        let mut r = RateRecord {
            target: 400.0,
            achieved: 399.0,
            arrival: "uniform".into(),
            lag_us: Default::default(),
            lag_histogram: String::new(),
            kept: true,
            slo: Some("p99=50ms".into()),
            steps: vec![step(Some("p99 62.1ms > 50ms"), true)],
            knee: None,
        };
        let text = |r: &RateRecord| {
            let mut t = String::new();
            rate(&mut t, r);
            assert_eq!(t.lines().filter(|l| !l.is_empty()).count(), 2, "{t}");
            t.lines().last().unwrap_or_default().to_string()
        };
        assert_eq!(
            text(&r),
            "one rate against --slo p99=50ms: broke: p99 62.1ms > 50ms"
        );
        r.steps = vec![step(None, true)];
        assert_eq!(text(&r), "one rate against --slo p99=50ms: met");
        r.steps = vec![step(None, false)];
        assert_eq!(
            text(&r),
            "one rate against --slo p99=50ms: not judged (a rank stopped before its --duration)"
        );
    }

    #[test]
    fn units_read_well() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(latency(812), "812µs");
        assert_eq!(latency(1203), "1.20ms");
        assert_eq!(latency(2_510_000), "2.51s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(5 << 40), "5.0 TiB");
    }

    #[test]
    fn an_incomplete_step_reads_incomplete_whatever_a_rank_said() {
        use ringload_core::rate::{RateRecord, StepRecord};
        let step = |complete: bool, broke: Option<&str>| StepRecord {
            target: 100.0,
            achieved: 100.0,
            complete,
            broke: broke.map(String::from),
            start_unix_ns: 0,
            end_unix_ns: 0,
            ops: Default::default(),
        };
        let r = RateRecord {
            arrival: "uniform".into(),
            slo: Some("p99=10ms".into()),
            steps: vec![
                step(true, Some("p99 30ms > 10ms")),
                step(false, Some("p99 30ms > 10ms")),
            ],
            target: 100.0,
            achieved: 100.0,
            lag_us: Default::default(),
            lag_histogram: String::new(),
            kept: true,
            knee: None,
        };
        let mut t = String::new();
        rate(&mut t, &r);
        let verdicts: Vec<&str> = t
            .lines()
            .filter(|l| l.starts_with(['1', '2']))
            .map(|l| l.rsplit("  ").next().unwrap())
            .collect();
        assert_eq!(verdicts, ["broke: p99 30ms > 10ms", "incomplete"]);
    }
}
