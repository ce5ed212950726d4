//! StatsD over UDP, with aisloader's metric names and types, sent once per interval from the
//! reporter thread (no per-request cost).

use std::net::SocketAddr;

/// Where and under which prefix the metrics go.
#[derive(Debug, Clone)]
pub struct StatsdConfig {
    pub addr: SocketAddr,
    /// `aisloader.<host>-<loader id hex>`.
    pub prefix: String,
}
