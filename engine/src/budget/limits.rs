//! The limits a run must fit in, read from this process and machine: the descriptor limit
//! (raised from soft to hard first, as Go programs do), the descriptors open now,
//! `fs.nr_open`, the available memory (MemAvailable, a cgroup limit) and the local port range.
//! Also the test-only switch that takes descriptors away from a run.

use std::path::Path;

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

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as the Go runtime does at start, so a
/// run may open as many descriptors as the administrator allows. Returns (soft, hard) after.
pub fn raise_nofile() -> std::io::Result<(u64, u64)> {
    let (soft, hard) = nofile()?;
    if soft < hard {
        ringload_net::sys::process::set_nofile_limit(hard, hard)?;
    }
    nofile()
}

fn nofile() -> std::io::Result<(u64, u64)> {
    ringload_net::sys::process::nofile_limit()
}

/// `MemAvailable` of a /proc/meminfo text, in bytes.
pub(super) fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The two numbers of `ip_local_port_range`.
pub(super) fn port_range(text: &str) -> Option<(u64, u64)> {
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
