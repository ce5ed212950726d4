//! The verdict of the self-diagnosis: from what the rank measured about itself over the steady
//! window ([`Measured`]), whether it was client-bound and why ([`judge`]), and what the result's
//! `warnings` say about it ([`warnings`]).
//!
//! Why separate from the sampling: the thresholds are a judgement, kept in one place with
//! their reasons, and testable on synthetic figures both ways without a loaded machine.

use ringload_core::client::ClientRecord;

/// A core thread on a CPU this share of the window or more is saturated: an event loop that
/// busy has no slack left to send on time or to read answers as they arrive, so what it
/// measures includes its own queueing. Below it, the loop still sleeps between events.
pub const BUSY_LIMIT: f64 = 0.90;

/// A core thread runnable but waiting for a CPU this share of the window or more shares its
/// CPU with another busy process (or an in-process target): every answer it reads late by the
/// wait shows up as storage latency. A quarter of the window is well above the scheduling
/// noise of a quiet host (a few percent) and well below a CPU split between two busy threads.
pub const WAIT_LIMIT: f64 = 0.25;

/// A core thread runnable (on a CPU or waiting for one) this share of the window or more never
/// waited on the network or the storage: it always had work of its own to do, so the answers
/// it read were queued behind it. Busy and wait each may stay under their own limit while
/// their sum shows a thread that never slept (e.g. busy 48%, waiting for a CPU 48%).
pub const RUNNABLE_LIMIT: f64 = 0.90;

/// A NIC moving this share of its link speed or more in its busiest direction is the limit
/// (headers, retransmits and other traffic use the rest).
pub const NIC_LIMIT: f64 = 0.90;

/// Retransmitted TCP segments above this percent of those sent mean the network loses
/// packets: latencies then include retransmission timeouts. That is a warning about the
/// network, not a client-bound rank (the client's CPU did not cause it).
pub const RETRANSMIT_WARN_PCT: f64 = 1.0;

/// The window a rank judged itself over, as its reasons name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// The steady window of the measured phase (`the steady window`).
    #[default]
    Steady,
    /// Step N (from 1) of a rate plan of several steps: the last step that ran to its end
    /// before the stop (`step N`), so a client-bound top step is not averaged away.
    Step(usize),
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Window::Steady => f.write_str("the steady window"),
            Window::Step(n) => write!(f, "step {n}"),
        }
    }
}

/// What a rank measured about itself over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Each core thread's time on a CPU, as a share of the window, in core order.
    pub busy: Vec<f64>,
    /// Each core thread's time runnable but waiting for a CPU, as a share of the window
    /// (empty when the kernel keeps no scheduler statistics).
    pub wait: Vec<f64>,
    /// The window measured.
    pub window: Window,
    /// TCP segments retransmitted per segment sent, percent (host-wide).
    pub retransmit_pct: Option<f64>,
    /// The busiest NIC that reports a link speed.
    pub nic: Option<NicUse>,
}

/// A NIC's busiest direction against its link speed.
#[derive(Debug, Clone, PartialEq)]
pub struct NicUse {
    pub name: String,
    pub speed_mbps: u64,
    /// Bytes per second (the busier of receive and transmit) over the link's bytes per second.
    pub utilization: f64,
}

/// A share as a whole percent (`0.976` → `98`).
pub fn pct(share: f64) -> u64 {
    (share * 100.0).round().max(0.0) as u64
}

/// A link speed in Mb/s as people say it: `10 Gb/s`, `2.5 Gb/s`, `100 Mb/s`.
pub fn link_speed(mbps: u64) -> String {
    if mbps >= 1000 {
        // `f64`'s Display drops a zero fraction: 10000 → `10`, 2500 → `2.5`.
        format!("{} Gb/s", mbps as f64 / 1000.0)
    } else {
        format!("{mbps} Mb/s")
    }
}

/// The record of `m`, with one sentence per reason the rank was client-bound.
pub fn judge(m: &Measured) -> ClientRecord {
    let mut reasons = Vec::new();
    for (core, &b) in m.busy.iter().enumerate() {
        if b >= BUSY_LIMIT {
            reasons.push(format!("core {core} busy {}% of {}", pct(b), m.window));
        }
    }
    // A core not busy that was runnable most of the window says so with both parts (one
    // sentence, not the wait alone); otherwise a long wait for a CPU is its own reason.
    for (core, (&b, &w)) in m.busy.iter().zip(&m.wait).enumerate() {
        if b >= BUSY_LIMIT {
            continue;
        }
        if b + w >= RUNNABLE_LIMIT {
            reasons.push(format!(
                "core {core} runnable {}% of {} (busy {}%, waiting for a CPU {}%)",
                pct(b + w),
                m.window,
                pct(b),
                pct(w)
            ));
        } else if w >= WAIT_LIMIT {
            reasons.push(format!(
                "core {core} waited for a CPU {}% of {}",
                pct(w),
                m.window
            ));
        }
    }
    if let Some(n) = m.nic.as_ref().filter(|n| n.utilization >= NIC_LIMIT) {
        reasons.push(format!(
            "NIC {} at {}% of its {} link",
            n.name,
            pct(n.utilization),
            link_speed(n.speed_mbps)
        ));
    }
    ClientRecord {
        cpu_per_core: m.busy.clone(),
        sched_wait_per_core: m.wait.clone(),
        retransmit_pct: m.retransmit_pct,
        nic_utilization: m.nic.as_ref().map(|n| n.utilization),
        client_bound: !reasons.is_empty(),
        reasons,
    }
}

/// The result's `warnings` about the client: a client-bound rank, and a lossy network.
pub fn warnings(c: &ClientRecord) -> Vec<String> {
    let mut out = Vec::new();
    if c.client_bound {
        out.push(format!(
            "client-bound: {}; this rank measured its own limits, not the storage's: add \
             cores or ranks, or lower --numworkers",
            c.reasons.join("; ")
        ));
    }
    if let Some(r) = c.retransmit_pct.filter(|&r| r > RETRANSMIT_WARN_PCT) {
        out.push(format!(
            "retransmits: {r:.2}% of the TCP segments sent during the steady window were \
             retransmitted (host-wide): the network lost packets, so latencies include \
             retransmission timeouts"
        ));
    }
    out
}

#[cfg(test)]
mod tests;
