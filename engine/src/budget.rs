//! The resources a run needs, checked before anything grows with `--numworkers`: file
//! descriptors, memory and local ports. Also the causes and fixes of the error kinds that say
//! a local resource ran out (`fd-limit`, `no-ports`, `no-memory`), so the messages at the end
//! of a failed run and the budget check give the same advice.
//!
//! Owns: raising the soft `RLIMIT_NOFILE` to the hard limit ([`raise_nofile`]), reading the
//! limits of this machine and process ([`Limits::read`]), the estimate of what a run needs
//! ([`Plan`], [`estimate`]) and the verdict ([`check`]). The estimate and the verdict are pure
//! functions of their inputs, so they are tested with made-up limits.
//!
//! The estimate is an upper bound of what the run's own design can hold, not a guess of the
//! average: one socket per connection, the idle keep-alive sockets the per-host pools may keep
//! after AIS redirects, the peer socket the in-process built-in target accepts for each client
//! socket, one ring or epoll descriptor per core, the listener, epoll and wake descriptors of
//! each built-in node, the descriptors already open and a margin for files. Memory counts the
//! per-connection buffers of the client (and of the built-in target), the per-core payload and
//! histograms, the names held for GETs and the built-in target's objects.

use std::collections::BTreeMap;
use std::path::Path;

use crate::http::exchange::RECV_BUF;
use crate::naming::RANDOM_NAME_LEN;
use crate::payload::PAYLOAD_LEN;
use crate::stats::ErrorKind;
use crate::worker::{conn::Conn, MAX_IDLE_PER_HOST};
use crate::workload::{Protocol, Workload};

/// Descriptors kept free for what a run opens besides sockets: the result file, /proc reads,
/// name resolution, the control client.
pub const FD_MARGIN: u64 = 64;
/// Client memory per connection besides its `Conn`: the request-head buffer, the receive
/// buffer, the driver's queue entries and its ring entries (2 SQEs and 4 CQEs).
const CLIENT_CONN_EXTRA: u64 = 512 + RECV_BUF as u64 + 40 + 2 * 64 + 4 * 16;
/// Kernel memory of one socket (socket, file and inode structures), which leaves
/// MemAvailable although it is not in the process's resident size.
const KERNEL_SOCKET: u64 = 2 * 1024;
/// Memory of one core besides its connections: the payload buffer and the statistics
/// histograms (measured: a few hundred KiB).
const CORE_FIXED: u64 = PAYLOAD_LEN as u64 + 1024 * 1024;
/// Memory of the process besides the cores: the content pattern, code and the reporter.
const PROCESS_FIXED: u64 = 16 * 1024 * 1024;
/// Memory of one name the built-in target is filled with: the stored key and metadata in the
/// target's map, and the name in the GET list.
const PREFILL_NAME_EXTRA: u64 = 96;
/// Descriptors of one built-in node (one core): its listener, its epoll and its wake eventfd.
const NODE_FDS: u64 = 3;
/// Memory of one connection the built-in target accepted: its receive buffer, its response
/// head and name buffers, and its slot.
const SERVER_CONN: u64 = crate::server::SERVER_CONN_BYTES as u64;

/// The built-in target a run starts in this process, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinShape {
    /// Nodes (proxies and targets), each one core.
    pub nodes: u64,
    /// Hosts a client connection is redirected to (an AIS cluster's targets; 0 otherwise).
    pub redirect_hosts: u64,
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
            cores: (w.cores as u64).min(numworkers).max(1),
            redirect_hosts,
            builtin,
            prefill: if filled { prefill } else { 0 },
            name_len: w.subdir.as_ref().map_or(0, |s| s.len() as u64 + 1) + RANDOM_NAME_LEN as u64,
            filelist_bytes: w
                .filelist
                .as_deref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map_or(0, |m| m.len()),
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
    /// Bytes of memory.
    pub memory: u64,
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
    let (server_sockets, node_fds) = match p.builtin {
        Some(b) => (client_sockets, b.nodes * NODE_FDS),
        None => (0, 0),
    };
    let conn_mem = std::mem::size_of::<Conn>() as u64 + CLIENT_CONN_EXTRA;
    let memory = PROCESS_FIXED
        + p.cores * CORE_FIXED
        + p.numworkers.saturating_mul(conn_mem)
        + (client_sockets + server_sockets).saturating_mul(KERNEL_SOCKET)
        + server_sockets.saturating_mul(SERVER_CONN)
        + p.prefill
            .saturating_mul(2 * p.name_len + PREFILL_NAME_EXTRA)
        + p.filelist_bytes.saturating_mul(2);
    Need {
        client_sockets,
        server_sockets,
        other_fds: p.cores + node_fds + FD_MARGIN,
        ports_per_destination: p.numworkers,
        memory,
    }
}

/// The limits a run must fit in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The soft `RLIMIT_NOFILE` (after [`raise_nofile`]).
    pub nofile: u64,
    pub nofile_hard: u64,
    /// The kernel's most descriptors per process (`fs.nr_open`), above any hard limit.
    pub nr_open: Option<u64>,
    /// Descriptors open now.
    pub open_fds: u64,
    /// Bytes of memory available, and where that figure comes from.
    pub memory: Option<(u64, &'static str)>,
    /// `net.ipv4.ip_local_port_range`.
    pub ports: Option<(u64, u64)>,
}

impl Limits {
    /// Reads the limits of this process and machine (what cannot be read is not checked).
    pub fn read() -> Limits {
        let (nofile, nofile_hard) = nofile().unwrap_or((u64::MAX, u64::MAX));
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
        let avail = meminfo.as_deref().and_then(mem_available);
        let cgroup = cgroup_room();
        let memory = match (avail, cgroup) {
            (Some(a), Some(c)) if c < a => Some((c, "the cgroup's memory limit less its usage")),
            (Some(a), _) => Some((a, "MemAvailable in /proc/meminfo")),
            (None, Some(c)) => Some((c, "the cgroup's memory limit less its usage")),
            (None, None) => None,
        };
        let ports = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|t| port_range(&t));
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|t| t.trim().parse().ok());
        Limits {
            nofile,
            nofile_hard,
            nr_open,
            open_fds,
            memory,
            ports,
        }
    }
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
        "--numworkers {numworkers} on {cores} core(s) needs about {need_mib} MiB of memory, but \
         {avail_mib} MiB is available ({source_name}). Use at most {max_workers} --numworkers, \
         fewer --cores, or spread the load over more ranks on more machines"
    )]
    Memory {
        numworkers: u64,
        cores: u64,
        need_mib: u64,
        avail_mib: u64,
        source_name: &'static str,
        max_workers: u64,
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
            return Err(BudgetError::Memory {
                numworkers: p.numworkers,
                cores: p.cores,
                need_mib: need.memory >> 20,
                avail_mib: avail >> 20,
                source_name,
                max_workers: most(p.numworkers, |n| estimate(&with(n)).memory <= avail),
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

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as the Go runtime does at start, so a
/// run may open as many descriptors as the administrator allows. Returns (soft, hard) after.
pub fn raise_nofile() -> std::io::Result<(u64, u64)> {
    let (soft, hard) = nofile()?;
    if soft < hard {
        let lim = libc::rlimit {
            rlim_cur: hard,
            rlim_max: hard,
        };
        // SAFETY: `lim` is a valid rlimit that lives across the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    nofile()
}

fn nofile() -> std::io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit that lives across the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// `MemAvailable` of a /proc/meminfo text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The two numbers of `ip_local_port_range`.
fn port_range(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_whitespace().map(|t| t.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// Memory left under this process's cgroup limit (v2 `memory.max`, or v1
/// `memory.limit_in_bytes`), if one is set.
fn cgroup_room() -> Option<u64> {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let own = read(Path::new("/proc/self/cgroup")).unwrap_or_default();
    let mut tries = Vec::new();
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        let path = path.trim_start_matches('/');
        if ctrl.is_empty() {
            tries.push((
                format!("/sys/fs/cgroup/{path}"),
                "memory.max",
                "memory.current",
            ));
        } else if ctrl.split(',').any(|c| c == "memory") {
            tries.push((
                format!("/sys/fs/cgroup/memory/{path}"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            ));
            tries.push((
                "/sys/fs/cgroup/memory".into(),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            ));
        }
    }
    tries.into_iter().find_map(|(dir, max, cur)| {
        let dir = Path::new(&dir);
        let limit: u64 = read(&dir.join(max))?.trim().parse().ok()?;
        let used: u64 = read(&dir.join(cur))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        // "max" (v2) does not parse; v1 writes a huge number for "no limit".
        (limit < 1 << 60).then(|| limit.saturating_sub(used))
    })
}

/// What a local resource running out means and how to fix it, for the kinds that say so.
pub fn cause(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::FdLimit => {
            "the process ran out of file descriptors; raise `ulimit -n` or use fewer --numworkers"
        }
        ErrorKind::NoPorts => {
            "no local port was free for another connection to the same address; use fewer \
             --numworkers, widen net.ipv4.ip_local_port_range, or spread the load over more \
             ranks on more machines"
        }
        ErrorKind::NoMemory => {
            "the kernel had no memory or socket buffers left; use fewer --numworkers or free \
             memory on this machine"
        }
        _ => return None,
    })
}

/// The most frequent error kind of a run, and its cause and fix when it is a local resource.
/// Displays as `mostly KIND (N)`, followed by `: CAUSE` when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dominant {
    pub kind: String,
    pub count: u64,
    pub cause: Option<&'static str>,
}

impl std::fmt::Display for Dominant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mostly {} ({})", self.kind, self.count)?;
        match self.cause {
            Some(c) => write!(f, ": {c}"),
            None => Ok(()),
        }
    }
}

/// The most frequent kind of `by_kind` (ties go to the first name); None without errors.
pub fn dominant(by_kind: &BTreeMap<String, u64>) -> Option<Dominant> {
    let (name, n) = by_kind
        .iter()
        .filter(|(_, n)| **n > 0)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    Some(Dominant {
        kind: name.clone(),
        count: *n,
        cause: ErrorKind::parse(name).and_then(cause),
    })
}

/// The fix of a failed connection attempt's OS error, when it is a local resource.
pub fn io_cause(err: &std::io::Error) -> Option<&'static str> {
    err.raw_os_error()
        .map(crate::worker::connect_kind)
        .and_then(cause)
}

/// Test-only: when set to N, `ringload run` takes every free descriptor but N just before
/// the load starts (after the budget check and the built-in target), so the tests can make a
/// run hit EMFILE honestly. Read once at the start of `ringload run`; not for users.
pub const TEST_FREE_FDS_ENV: &str = "RINGLOAD_TEST_FREE_FDS";

/// Test-only ([`TEST_FREE_FDS_ENV`]): opens /dev/null until the descriptor limit is reached,
/// then closes `free` of them; the returned files hold the rest until dropped.
pub fn hold_all_fds_but(free: usize) -> Vec<std::fs::File> {
    let mut held = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        held.push(f);
    }
    held.truncate(held.len().saturating_sub(free));
    held
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
