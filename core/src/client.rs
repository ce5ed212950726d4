//! The result file's `client` key: what a rank measured about itself (its core threads' CPU,
//! scheduler wait, TCP retransmits and NIC use) and whether it was the bottleneck.
//!
//! Why in core: the engine fills it and `merge` flags client-bound ranks from it; a rank that
//! was client-bound measured itself, not the storage.

use serde::{Deserialize, Serialize};

/// A rank's self-diagnosis over the steady window of its measured phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// Each core thread's CPU time (user + system) as a share of the window, 0.0..=1.0, in
    /// core order.
    pub cpu_per_core: Vec<f64>,
    /// Each core thread's time spent runnable but waiting for a CPU, as a share of the window.
    #[serde(default)]
    pub sched_wait_per_core: Vec<f64>,
    /// TCP segments retransmitted per segment sent during the window, percent (host-wide,
    /// from `/proc/net/snmp`); `None` when unreadable.
    pub retransmit_pct: Option<f64>,
    /// Bytes moved per second against the busiest known NIC's link speed, 0.0..=1.0; `None`
    /// when no NIC reports a speed (loopback, most virtual NICs).
    pub nic_utilization: Option<f64>,
    /// True when the rank, not the storage, limited the run.
    pub client_bound: bool,
    /// Why it was judged client-bound, one sentence each (`"core 1 busy 98% of the steady
    /// window"`); empty when it was not.
    pub reasons: Vec<String>,
}
