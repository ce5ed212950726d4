//! StatsD over UDP, with aisloader's metric names and types, sent once per interval from the
//! reporter thread (no per-request cost).
//!
//! Owns the metric text and the socket. Per interval, for each series in aisloader's order
//! (`get`, `put`, `getbatch`, `getmpdstream`: the classes `get`, `put`, `get_batch`, `get_mpd`;
//! aisloader has no series for multipart uploads, so `put_mpu` is not sent), one datagram per
//! aisloader `Send` call:
//! - `<prefix>.<series>.count:<n>|c`, sent even when `n` is 0;
//! - when `n > 0`: `pending:<p>|g`, then `latency:<avg>|ms`, `minlatency:<min>|ms` and
//!   `maxlatency:<max>|ms` together (lines joined by `\n`), then `throughput:<B/s>|g`; each
//!   with the sample rate `|@<1/n>` (Go's `%f`) unless `n` is 1, as aisloader marks them;
//! - [`phase_datagram`]: the hook for `--trace-http`'s per-phase timers.
//!
//! At the end of the run each series' `throughput` and `pending` gauges go back to 0.
//!
//! Values as aisloader computes them: latencies in whole milliseconds (the sum truncated to
//! ms, then divided by the count, printed as Go's `%v` of a float), throughput as interval
//! bytes over the interval's length in whole bytes per second. `pending` is the requests in
//! flight at the interval's end (the sum of each core's latest sample); aisloader averages
//! the in-flight count it sees at each completion, which would cost work per request.
//!
//! Unlike aisloader, which drops the last partial interval (it only resets the gauges at the
//! end), the last interval is sent too, so the counters add up to the run's totals; with
//! aisloader's `-statsinterval 0`, the whole run is sent once at the end.
//!
//! Send errors are counted, never fatal (UDP, fire and forget); the first one is noted once on
//! stderr by the reporter.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use super::fmt::{go_float, per_second};
use crate::stats::{Op, OpStats, PhaseFigures, PhaseKind, Snapshot, OP_COUNT};

/// Where and under which prefix the metrics go.
#[derive(Debug, Clone)]
pub struct StatsdConfig {
    pub addr: SocketAddr,
    /// `aisloader.<host>-<loader id hex>`.
    pub prefix: String,
    /// `--trace-http`: send the per-phase timers too (aisloader sends its `latency.*` timers
    /// only when tracing).
    pub phase_timers: bool,
}

/// aisloader's metric prefix: `aisloader.<hostname>-<loader id in lowercase hex>`.
pub fn prefix(hostname: &str, loader_id: u64) -> String {
    format!("aisloader.{hostname}-{loader_id:x}")
}

/// aisloader's series, in the order it sends them.
const SERIES: [&str; 4] = ["get", "put", "getbatch", "getmpdstream"];

/// The series of an op ringload measures.
fn series_op(series: &str) -> Option<Op> {
    match series {
        "get" => Some(Op::Get),
        "put" => Some(Op::Put),
        "getbatch" => Some(Op::GetBatch),
        "getmpdstream" => Some(Op::GetMpd),
        _ => None,
    }
}

/// One metric line: `<prefix>.<series>.<name>:<value>|<type>[|@<rate>]`.
fn line(prefix: &str, series: &str, name: &str, value: &str, kind: &str, agg: u64) -> String {
    if agg == 1 {
        format!("{prefix}.{series}.{name}:{value}|{kind}")
    } else {
        format!(
            "{prefix}.{series}.{name}:{value}|{kind}|@{:.6}",
            1.0 / agg as f64
        )
    }
}

/// `--trace-http`: one more datagram per series after `throughput`, with the interval's
/// per-phase timers, each line `<avg ms>|ms` at the sample rate of its count, as aisloader sends
/// its `latency.*` timers. ringload times four phases, not aisloader's eleven, so only the two
/// whose meaning is the same keep aisloader's names: `latency.proxy` (the AIS proxy hop, ours
/// `redirect`) and `latency.target` (the request on the final host, ours `first_byte + body`);
/// the others are ringload's `latency.connect`, `latency.firstbyte` and `latency.body`. `None`
/// for an untraced run, and for a phase no operation passed through the line is left out.
pub fn phase_datagram(prefix: &str, series: &str, s: &OpStats) -> Option<String> {
    let p = s.phases()?;
    let fig = |k: PhaseKind| p.get(k).figures();
    let (connect, redirect) = (fig(PhaseKind::Connect), fig(PhaseKind::Redirect));
    let (first, body) = (fig(PhaseKind::FirstByte), fig(PhaseKind::Body));
    let target = PhaseFigures {
        mean_us: first.mean_us + body.mean_us,
        ..first
    };
    let lines: Vec<String> = [
        ("latency.proxy", redirect),
        ("latency.target", target),
        ("latency.connect", connect),
        ("latency.firstbyte", first),
        ("latency.body", body),
    ]
    .into_iter()
    .filter(|(_, f)| f.count > 0)
    .map(|(name, f)| {
        line(
            prefix,
            series,
            name,
            &go_float(f.mean_us / 1_000.0),
            "ms",
            f.count,
        )
    })
    .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The datagrams of one interval of `span_ns` nanoseconds, in the order aisloader sends them.
/// `pending` is the in-flight gauge per op (indexed by `Op as usize`).
pub fn interval_datagrams(
    prefix: &str,
    iv: &Snapshot,
    pending: [u64; OP_COUNT],
    span_ns: u64,
    phase_timers: bool,
) -> Vec<String> {
    let empty = OpStats::new();
    let mut out = Vec::with_capacity(SERIES.len() * 5);
    for series in SERIES {
        let op = series_op(series);
        let s = op.map_or(&empty, |op| iv.get(op));
        let n = s.count;
        out.push(line(prefix, series, "count", &n.to_string(), "c", 1));
        if n == 0 {
            continue;
        }
        let p = op.map_or(0, |op| pending[op as usize]);
        out.push(line(prefix, series, "pending", &p.to_string(), "g", n));
        let l = s.latency();
        let avg_ms = (s.latency_sum_us() / 1_000) as f64 / n as f64;
        out.push(
            [
                line(prefix, series, "latency", &go_float(avg_ms), "ms", n),
                line(
                    prefix,
                    series,
                    "minlatency",
                    &go_float((l.min / 1_000) as f64),
                    "ms",
                    n,
                ),
                line(
                    prefix,
                    series,
                    "maxlatency",
                    &go_float((l.max / 1_000) as f64),
                    "ms",
                    n,
                ),
            ]
            .join("\n"),
        );
        let tp = per_second(s.bytes, span_ns);
        out.push(line(prefix, series, "throughput", &tp.to_string(), "g", n));
        if phase_timers {
            out.extend(phase_datagram(prefix, series, s));
        }
    }
    out
}

/// The datagrams that reset every series' `throughput` and `pending` gauges at the end.
pub fn reset_datagrams(prefix: &str) -> Vec<String> {
    SERIES
        .iter()
        .map(|series| {
            format!(
                "{}\n{}",
                line(prefix, series, "throughput", "0", "g", 1),
                line(prefix, series, "pending", "0", "g", 1)
            )
        })
        .collect()
}

/// The UDP sender.
pub struct Statsd {
    sock: UdpSocket,
    cfg: StatsdConfig,
    errors: u64,
    first_error: Option<String>,
    noted: bool,
}

impl Statsd {
    /// A socket on an ephemeral port of the address family of `cfg.addr`.
    pub fn new(cfg: StatsdConfig) -> io::Result<Statsd> {
        let any: SocketAddr = if cfg.addr.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        Ok(Statsd {
            sock: UdpSocket::bind(any)?,
            cfg,
            errors: 0,
            first_error: None,
            noted: false,
        })
    }

    /// Sends one interval's metrics.
    pub fn send_interval(&mut self, iv: &Snapshot, pending: [u64; OP_COUNT], span_ns: u64) {
        let grams = interval_datagrams(
            &self.cfg.prefix,
            iv,
            pending,
            span_ns,
            self.cfg.phase_timers,
        );
        self.send_all(&grams);
    }

    /// Sends the end-of-run reset of the gauges.
    pub fn send_reset(&mut self) {
        let grams = reset_datagrams(&self.cfg.prefix);
        self.send_all(&grams);
    }

    fn send_all(&mut self, grams: &[String]) {
        for g in grams {
            let r = self.sock.send_to(g.as_bytes(), self.cfg.addr);
            let err = match r {
                Ok(n) if n == g.len() => continue,
                Ok(n) => format!("short send ({n} of {} bytes)", g.len()),
                Err(e) => e.to_string(),
            };
            self.errors += 1;
            self.first_error.get_or_insert(err);
        }
    }

    /// Datagrams that could not be sent so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The first send error, once: the note the reporter prints on stderr.
    pub fn take_note(&mut self) -> Option<String> {
        let e = self.first_error.as_ref().filter(|_| !self.noted)?;
        self.noted = true;
        Some(format!(
            "warning: StatsD: cannot send to {}: {e} (metrics are dropped; the run goes on)",
            self.cfg.addr
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "aisloader.host-a";

    fn snap() -> Snapshot {
        let mut s = Snapshot::new(0);
        // GETs: 3 of 1 MiB at 1.5 ms, 2.9 ms and 10.2 ms (sum 14.6 ms → 14 ms / 3).
        for lat in [1_500, 2_900, 10_200] {
            s.get_mut(Op::Get).record_ok(1 << 20, lat);
        }
        // One PUT of 1000 B at 0.4 ms, one failure.
        s.get_mut(Op::Put).record_ok(1000, 400);
        s.get_mut(Op::Put)
            .record_err(crate::stats::ErrorKind::Timeout);
        s
    }

    #[test]
    fn a_traced_interval_sends_its_phase_timers_under_aisloaders_names_where_they_match() {
        use crate::stats::{CoreStats, PhaseTimes};
        let mut core = CoreStats::new(0);
        core.trace_phases(&crate::stats::OPS);
        // Two redirected GETs, one of them on a fresh connection.
        for (connect, first_byte) in [(Some(300), 1_000), (None, 3_000)] {
            core.record_ok(Op::Get, 1 << 20, 5_000);
            let t = PhaseTimes {
                connect,
                redirect: Some(500),
                first_byte,
                body: 2_000,
            };
            core.record_phases(Op::Get, &t);
        }
        let traced = core.rotate(1_000_000_000);
        assert_eq!(
            phase_datagram(P, "get", traced.get(Op::Get)).as_deref(),
            Some(
                "aisloader.host-a.get.latency.proxy:0.5|ms|@0.500000\n\
                 aisloader.host-a.get.latency.target:4|ms|@0.500000\n\
                 aisloader.host-a.get.latency.connect:0.3|ms\n\
                 aisloader.host-a.get.latency.firstbyte:2|ms|@0.500000\n\
                 aisloader.host-a.get.latency.body:2|ms|@0.500000"
            )
        );
        // No PUT passed through any phase; an untraced run has no phases at all.
        assert_eq!(phase_datagram(P, "put", traced.get(Op::Put)), None);
        assert_eq!(phase_datagram(P, "get", snap().get(Op::Get)), None);
    }

    #[test]
    fn prefix_is_aisloaders() {
        assert_eq!(prefix("node-1", 0), "aisloader.node-1-0");
        assert_eq!(prefix("h", 0xdb), "aisloader.h-db");
    }

    #[test]
    fn interval_datagrams_are_aisloaders_text() {
        let got = interval_datagrams(P, &snap(), [7, 2, 0, 0, 0], 2_000_000_000, false);
        let want = [
            "aisloader.host-a.get.count:3|c",
            "aisloader.host-a.get.pending:7|g|@0.333333",
            "aisloader.host-a.get.latency:4.666666666666667|ms|@0.333333\n\
             aisloader.host-a.get.minlatency:1|ms|@0.333333\n\
             aisloader.host-a.get.maxlatency:10|ms|@0.333333",
            "aisloader.host-a.get.throughput:1572864|g|@0.333333",
            "aisloader.host-a.put.count:1|c",
            "aisloader.host-a.put.pending:2|g",
            "aisloader.host-a.put.latency:0|ms\n\
             aisloader.host-a.put.minlatency:0|ms\n\
             aisloader.host-a.put.maxlatency:0|ms",
            "aisloader.host-a.put.throughput:500|g",
            "aisloader.host-a.getbatch.count:0|c",
            "aisloader.host-a.getmpdstream.count:0|c",
        ];
        assert_eq!(got, want);
        // An idle interval: counts only.
        let idle = interval_datagrams(P, &Snapshot::new(0), [0; 5], 1, false);
        assert_eq!(idle.len(), 4);
        assert!(idle.iter().all(|g| g.ends_with(".count:0|c")), "{idle:?}");
    }

    #[test]
    fn getbatch_and_getmpdstream_carry_their_classes_and_mpu_is_not_sent() {
        let mut iv = Snapshot::new(0);
        iv.get_mut(Op::GetBatch).record_ok(64 * 16_384, 30_000);
        iv.get_mut(Op::GetBatch).record_ok(64 * 16_384, 50_000);
        iv.get_mut(Op::GetBatch).record_objects(128);
        iv.get_mut(Op::GetMpd).record_ok(1 << 20, 8_000);
        iv.get_mut(Op::PutMpu).record_ok(24 << 20, 900_000);
        let got = interval_datagrams(P, &iv, [0, 0, 3, 1, 1], 1_000_000_000, false);
        let want = [
            "aisloader.host-a.get.count:0|c",
            "aisloader.host-a.put.count:0|c",
            "aisloader.host-a.getbatch.count:2|c",
            "aisloader.host-a.getbatch.pending:3|g|@0.500000",
            "aisloader.host-a.getbatch.latency:40|ms|@0.500000\n\
             aisloader.host-a.getbatch.minlatency:30|ms|@0.500000\n\
             aisloader.host-a.getbatch.maxlatency:50|ms|@0.500000",
            "aisloader.host-a.getbatch.throughput:2097152|g|@0.500000",
            "aisloader.host-a.getmpdstream.count:1|c",
            "aisloader.host-a.getmpdstream.pending:1|g",
            "aisloader.host-a.getmpdstream.latency:8|ms\n\
             aisloader.host-a.getmpdstream.minlatency:8|ms\n\
             aisloader.host-a.getmpdstream.maxlatency:8|ms",
            "aisloader.host-a.getmpdstream.throughput:1048576|g",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn datagrams_arrive_one_per_send() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut tx = Statsd::new(StatsdConfig {
            addr: rx.local_addr().unwrap(),
            prefix: P.to_string(),
            phase_timers: false,
        })
        .unwrap();
        tx.send_interval(&snap(), [7, 2, 0, 0, 0], 2_000_000_000);
        tx.send_reset();
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        for _ in 0..14 {
            let n = rx.recv(&mut buf).unwrap();
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        assert_eq!(got[0], "aisloader.host-a.get.count:3|c");
        assert_eq!(got[9], "aisloader.host-a.getmpdstream.count:0|c");
        assert_eq!(
            got[10],
            "aisloader.host-a.get.throughput:0|g\naisloader.host-a.get.pending:0|g"
        );
        assert_eq!(
            got[13],
            "aisloader.host-a.getmpdstream.throughput:0|g\naisloader.host-a.getmpdstream.pending:0|g"
        );
        assert_eq!(tx.errors(), 0);
        assert_eq!(tx.take_note(), None);
    }

    #[test]
    fn send_errors_are_counted_and_noted_once() {
        // A datagram larger than UDP allows fails at once, whoever listens.
        let mut tx = Statsd::new(StatsdConfig {
            addr: "127.0.0.1:9".parse().unwrap(),
            prefix: "x".repeat(70_000),
            phase_timers: false,
        })
        .unwrap();
        tx.send_reset();
        assert_eq!(tx.errors(), 4);
        let note = tx.take_note().unwrap();
        assert!(
            note.starts_with("warning: StatsD: cannot send to 127.0.0.1:9: "),
            "{note}"
        );
        assert_eq!(tx.take_note(), None, "noted once");
        tx.send_reset();
        assert_eq!(tx.errors(), 8);
        assert_eq!(tx.take_note(), None, "still once");
    }
}
