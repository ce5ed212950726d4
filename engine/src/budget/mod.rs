//! The resources a run needs, checked before anything grows with `--numworkers`: file
//! descriptors, memory and local ports.
//!
//! Owns: the estimate of what a run needs ([`Plan`], [`estimate`]) and the verdict
//! ([`check`]). `limits` reads the limits of this process and machine (and raises the soft
//! descriptor limit); `cause` holds the causes and fixes of the error kinds that say a local
//! resource ran out, so the messages at the end of a failed run give the same advice. The
//! estimate and the verdict are pure functions of their inputs, tested with made-up limits.
//!
//! The estimate is an upper bound of what the run's own design can hold, not a guess of the
//! average: one socket per connection, the idle keep-alive sockets the per-host pools may keep
//! after AIS redirects, the peer socket the in-process built-in target accepts for each client
//! socket, one ring or epoll descriptor per core, the listener, epoll and wake descriptors of
//! each built-in node, the descriptors already open and a margin for files. Memory counts the
//! per-connection buffers of the client (and of the built-in target), the statistics snapshots
//! (each core's and the reporter's, every histogram counted at its full size: latency and four
//! phases per class, and with `--rate` the service and lag histograms), the names held for GETs
//! and the built-in target's objects.

mod cause;
mod limits;

pub use cause::{cause, dominant, io_cause, Dominant};
pub use limits::{hold_all_fds_but, raise_nofile, Limits, TEST_FREE_FDS_ENV};

use crate::http::exchange::{RECV_BUF, VERIFY_RECV_BUF};
use crate::naming::RANDOM_NAME_LEN;
use crate::worker::{conn::Conn, MAX_IDLE_PER_HOST};
use crate::workload::{Protocol, Workload};

/// Descriptors kept free for what a run opens besides sockets: the result file, /proc reads,
/// name resolution, the control client.
pub const FD_MARGIN: u64 = 64;
/// Client memory per connection besides its `Conn`: the request-head buffer, the receive
/// buffer, the driver's queue entries and its ring entries (2 SQEs and 4 CQEs).
const CLIENT_CONN_EXTRA: u64 = 512 + RECV_BUF as u64 + 40 + 2 * 64 + 4 * 16;
/// Client memory of one TLS socket: its ciphertext buffers and rustls's session state
/// (keys, transcript leftovers, a few KiB).
const TLS_SESSION: u64 = (crate::tls::OUT_BUF + crate::tls::IN_BUF) as u64 + 8 * 1024;
/// Kernel memory of one socket (socket, file and inode structures), which leaves
/// MemAvailable although it is not in the process's resident size.
const KERNEL_SOCKET: u64 = 2 * 1024;
/// Memory of one core besides its connections and its statistics snapshots (its ring or
/// epoll state, name buffers). PUT bodies come from the process-wide content pattern,
/// counted in [`PROCESS_FIXED`].
const CORE_FIXED: u64 = 256 * 1024;
/// Bytes of one latency histogram: every histogram has `ringload_core::hist`'s bounds
/// (1 µs .. 1 h, 3 significant digits), 23 × 1,024 counters of 8 bytes, whatever it holds.
pub const HIST_BYTES: u64 = 23 * 1024 * 8;
/// Histograms of one statistics snapshot in a closed loop: per operation class (2), the
/// latency and the four phases every operation records.
pub const SNAPSHOT_HISTS: u64 = 2 * (1 + 4);
/// What a `--rate` run adds to a snapshot: each class's service latency and the schedule lag.
pub const RATE_HISTS: u64 = 2 + 1;
/// Snapshots a core holds: its tick in progress and one rotated on its way to the reporter.
const CORE_SNAPSHOTS: u64 = 2;
/// Snapshots the reporter holds: the run's total, the live line's, an empty one and the
/// intervals still open (a few ticks' worth).
const REPORTER_SNAPSHOTS: u64 = 6;
/// Memory of the process besides the cores: the content pattern, code and the reporter.
const PROCESS_FIXED: u64 = 16 * 1024 * 1024;
/// Memory of one name the built-in target is filled with: the stored key and metadata in the
/// target's map, and the name in the GET list.
const PREFILL_NAME_EXTRA: u64 = 96;
/// Descriptors of one built-in node (one core): its listener, its epoll and its wake eventfd.
const NODE_FDS: u64 = 3;

/// The built-in target a run starts in this process, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinShape {
    /// Nodes (proxies and targets), each one core.
    pub nodes: u64,
    /// Hosts a client connection is redirected to (an AIS cluster's targets; 0 otherwise).
    pub redirect_hosts: u64,
    /// Memory of one connection the target accepts: its receive buffer, its response head
    /// and name buffers, and its slot (`ringload_server::CONN_BYTES`).
    pub conn_bytes: u64,
}

/// What a run will hold, as far as the budget is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub numworkers: u64,
    /// Core threads (never more than the connections).
    pub cores: u64,
    /// Hosts besides the endpoint that a connection may hold keep-alive sockets to.
    pub redirect_hosts: u64,
    pub builtin: Option<BuiltinShape>,
    /// Names the built-in target is filled with (`--prefill`, when it is used).
    pub prefill: u64,
    /// Bytes of a name the built-in target is filled with.
    pub name_len: u64,
    /// Size of the `--filelist` file, whose names are held in memory.
    pub filelist_bytes: u64,
    /// `--verifyhash`: each connection receives into a larger buffer.
    pub verify: bool,
    /// https: each socket (in use or idle in a pool) holds a TLS session and its buffers.
    pub tls: bool,
    /// `--rate`: each statistics snapshot also holds the service and lag histograms.
    pub rate: bool,
}

impl Plan {
    /// The plan of workload `w`. `builtin` is the built-in target the run starts (None with an
    /// endpoint); `prefill` the objects it is filled with when the run reads.
    pub fn new(w: &Workload, builtin: Option<BuiltinShape>, prefill: u64) -> Plan {
        let numworkers = u64::from(w.numworkers);
        let filled = builtin.is_some() && !w.put_only() && w.filelist.is_none();
        let redirect_hosts = match (w.protocol, builtin) {
            (_, Some(b)) => b.redirect_hosts,
            // An external AIS cluster: its targets are not known yet. Each connection holds at
            // least its proxy socket parked while it talks to a target.
            (Protocol::Ais, None) => 1,
            _ => 0,
        };
        Plan {
            numworkers,
            cores: w.active_cores() as u64,
            redirect_hosts,
            builtin,
            prefill: if filled { prefill } else { 0 },
            name_len: w.subdir.as_ref().map_or(0, |s| s.len() as u64 + 1) + RANDOM_NAME_LEN as u64,
            filelist_bytes: w
                .filelist
                .as_deref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map_or(0, |m| m.len()),
            verify: w.verify,
            tls: w.tls.is_some(),
            rate: w.rate.is_some(),
        }
    }
}

/// What a plan needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Need {
    /// Sockets the client may hold (in use and idle).
    pub client_sockets: u64,
    /// Sockets the in-process built-in target may hold (its accepted peers).
    pub server_sockets: u64,
    /// Descriptors besides sockets: rings or epolls, built-in nodes, the margin.
    pub other_fds: u64,
    /// Connections to one destination, each needing its own local port.
    pub ports_per_destination: u64,
    /// Bytes of memory in all: the sum of the three parts below.
    pub memory: u64,
    /// Bytes of the connections (client and built-in target, with the kernel's sockets).
    pub memory_conns: u64,
    /// Bytes of the process and its cores.
    pub memory_cores: u64,
    /// Bytes of the names held for GETs (`--prefill` or `--filelist`).
    pub memory_names: u64,
}

impl Need {
    /// Descriptors in all, not counting those already open.
    pub fn fds(&self) -> u64 {
        self.client_sockets + self.server_sockets + self.other_fds
    }
}

/// The needs of `p`; see the module docs for what is counted.
pub fn estimate(p: &Plan) -> Need {
    let per_core = p.numworkers.div_ceil(p.cores);
    // Each connection holds one socket; the pools may keep idle ones per host (the endpoint
    // and each redirect host), each at most a core's connections and MAX_IDLE_PER_HOST.
    let idle = if p.redirect_hosts > 0 {
        let hosts = p.redirect_hosts + 1;
        let per_host = per_core.min(MAX_IDLE_PER_HOST as u64);
        (hosts * per_host).min(p.redirect_hosts * per_core) * p.cores
    } else {
        0
    };
    let client_sockets = p.numworkers.saturating_add(idle);
    let (server_sockets, node_fds, server_conn) = match p.builtin {
        Some(b) => (client_sockets, b.nodes * NODE_FDS, b.conn_bytes),
        None => (0, 0, 0),
    };
    let verify_extra = if p.verify {
        (VERIFY_RECV_BUF - RECV_BUF) as u64
    } else {
        0
    };
    let conn_mem = std::mem::size_of::<Conn>() as u64 + CLIENT_CONN_EXTRA + verify_extra;
    let tls_mem = if p.tls { TLS_SESSION } else { 0 };
    let memory_conns = p
        .numworkers
        .saturating_mul(conn_mem)
        .saturating_add(client_sockets.saturating_mul(tls_mem))
        .saturating_add((client_sockets + server_sockets).saturating_mul(KERNEL_SOCKET))
        .saturating_add(server_sockets.saturating_mul(server_conn));
    let memory_cores = PROCESS_FIXED
        + REPORTER_SNAPSHOTS * snapshot_bytes(p.rate)
        + p.cores * (CORE_FIXED + CORE_SNAPSHOTS * snapshot_bytes(p.rate));
    let memory_names = p
        .prefill
        .saturating_mul(2 * p.name_len + PREFILL_NAME_EXTRA)
        .saturating_add(p.filelist_bytes.saturating_mul(2));
    Need {
        client_sockets,
        server_sockets,
        other_fds: p.cores + node_fds + FD_MARGIN,
        ports_per_destination: p.numworkers,
        memory: memory_conns
            .saturating_add(memory_cores)
            .saturating_add(memory_names),
        memory_conns,
        memory_cores,
        memory_names,
    }
}

/// Bytes of one statistics snapshot: its histograms (the counters around them are noise).
pub fn snapshot_bytes(rate: bool) -> u64 {
    HIST_BYTES * (SNAPSHOT_HISTS + if rate { RATE_HISTS } else { 0 })
}

/// Why a run cannot fit.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "--numworkers {numworkers} needs about {need} file descriptors ({parts}), but this \
         process may open {limit} (ulimit -n, RLIMIT_NOFILE; hard limit {hard}). Raise the limit \
         (`ulimit -n {need}`{hard_note}), use at most {max_workers} --numworkers, or spread the \
         load over more ranks"
    )]
    Fds {
        numworkers: u64,
        need: u64,
        parts: String,
        limit: u64,
        hard: u64,
        hard_note: String,
        max_workers: u64,
    },
    #[error(
        "this run needs about {need_mib} MiB of memory ({parts}), but {avail_mib} MiB is \
         available ({source_name}). {fix}"
    )]
    Memory {
        need_mib: u64,
        parts: String,
        avail_mib: u64,
        source_name: &'static str,
        /// The most connections that fit (0: the names alone do not fit).
        max_workers: u64,
        fix: String,
    },
    #[error(
        "--numworkers {numworkers} opens {numworkers} connections to one address, each needing \
         its own local port, but net.ipv4.ip_local_port_range ({lo} {hi}) holds {count}. Use at \
         most {count} --numworkers per rank, widen the range (sysctl -w \
         net.ipv4.ip_local_port_range=\"1024 65535\"), or spread the load over more ranks on \
         more machines"
    )]
    Ports {
        numworkers: u64,
        lo: u64,
        hi: u64,
        count: u64,
    },
}

/// Checks `p` against `l`: the first limit the run does not fit in, or what it needs.
pub fn check(p: &Plan, l: &Limits) -> Result<Need, BudgetError> {
    let need = estimate(p);
    let with = |n: u64| Plan {
        numworkers: n,
        cores: p.cores.min(n).max(1),
        ..p.clone()
    };
    let fds = need.fds().saturating_add(l.open_fds);
    if fds > l.nofile {
        let parts = fd_parts(&need, l.open_fds);
        return Err(BudgetError::Fds {
            numworkers: p.numworkers,
            need: fds,
            parts,
            limit: l.nofile,
            hard: l.nofile_hard,
            hard_note: match l.nr_open {
                Some(most) if fds > most => format!(
                    "; that is above this kernel's most per process, fs.nr_open = {most}, so \
                     only fewer workers per process help"
                ),
                _ if fds > l.nofile_hard => "; above the hard limit this needs root or a higher \
                                             nofile in /etc/security/limits.conf"
                    .into(),
                _ => String::new(),
            },
            max_workers: most(p.numworkers, |n| {
                estimate(&with(n)).fds().saturating_add(l.open_fds) <= l.nofile
            }),
        });
    }
    if let Some((avail, source_name)) = l.memory {
        if need.memory > avail {
            let max_workers = most(p.numworkers, |n| estimate(&with(n)).memory <= avail);
            return Err(BudgetError::Memory {
                need_mib: need.memory >> 20,
                parts: memory_parts(p, &need),
                avail_mib: avail >> 20,
                source_name,
                max_workers,
                fix: if max_workers > 0 {
                    format!(
                        "Use at most {max_workers} --numworkers, fewer --cores, or spread the \
                         load over more ranks on more machines"
                    )
                } else {
                    "Even one connection does not fit: use a smaller --prefill or a shorter \
                     --filelist, or a machine with more memory"
                        .into()
                },
            });
        }
    }
    if let Some((lo, hi)) = l.ports {
        let count = hi.saturating_sub(lo) + 1;
        if need.ports_per_destination > count {
            return Err(BudgetError::Ports {
                numworkers: p.numworkers,
                lo,
                hi,
                count,
            });
        }
    }
    Ok(need)
}

/// The largest `n` in `0..=max` for which `ok(n)` holds (`ok` is monotone: true, then false).
fn most(max: u64, ok: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0, max);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

fn memory_parts(p: &Plan, n: &Need) -> String {
    let mut parts = vec![
        format!(
            "--numworkers {}: {} MiB",
            p.numworkers,
            n.memory_conns >> 20
        ),
        format!("{} core(s): {} MiB", p.cores, n.memory_cores >> 20),
    ];
    if p.prefill > 0 {
        parts.push(format!(
            "--prefill {} names: {} MiB",
            p.prefill,
            n.memory_names >> 20
        ));
    } else if p.filelist_bytes > 0 {
        parts.push(format!("--filelist names: {} MiB", n.memory_names >> 20));
    }
    parts.join(", ")
}

fn fd_parts(n: &Need, open: u64) -> String {
    let mut parts = vec![format!("{} client sockets", n.client_sockets)];
    if n.server_sockets > 0 {
        parts.push(format!(
            "{} accepted by the built-in target, which runs in this process",
            n.server_sockets
        ));
    }
    parts.push(format!(
        "{} for rings, built-in listeners and files",
        n.other_fds
    ));
    parts.push(format!("{open} open now"));
    parts.join(" + ")
}

#[cfg(test)]
mod tests;
