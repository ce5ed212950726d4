//! The client's view of itself: what this process's core threads cost, read from `/proc`, for
//! the self-diagnosis in the result (`client`) and the live metrics.
//!
//! Why: a rank whose own CPU, scheduler or NIC was the bottleneck measured itself, not the
//! storage. Everything here is read off the hot path (the reporter thread, or a metrics scrape),
//! from files the kernel keeps anyway, so the cores pay nothing for it.
//!
//! Here: the per-thread readers (`schedstat`, `stat`); in [`net`] the host's TCP and NIC
//! counters; in [`sample`] the readings over the steady window; in [`judge`] the verdict
//! (`client_bound` and its reasons) and the result's warnings.

pub mod judge;
pub mod net;
pub mod sample;

pub use judge::{judge, warnings, Measured};
pub use sample::Sampler;

use std::path::Path;

/// One thread's scheduler figures, from `/proc/self/task/<tid>/schedstat`: time on a CPU and
/// time runnable but waiting for one, ns since the thread started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedStat {
    pub run_ns: u64,
    pub wait_ns: u64,
}

/// Thread `tid`'s scheduler figures (`None` when the thread or the file is gone).
pub fn thread_sched(tid: i32) -> Option<SchedStat> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    parse_schedstat(&text)
}

/// Parses a `schedstat` line: `<run ns> <wait ns> <timeslices>`.
pub fn parse_schedstat(text: &str) -> Option<SchedStat> {
    let mut f = text.split_ascii_whitespace().map(str::parse::<u64>);
    Some(SchedStat {
        run_ns: f.next()?.ok()?,
        wait_ns: f.next()?.ok()?,
    })
}

/// Thread `tid`'s CPU time (user + system) in clock ticks, from `/proc/self/task/<tid>/stat`.
pub fn thread_cpu_ticks(tid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(Path::new(&format!("/proc/self/task/{tid}/stat"))).ok()?;
    parse_stat_cpu(&text)
}

/// `utime + stime` (fields 14 and 15) of a `stat` line. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so the fields count from the last
/// `)`.
pub fn parse_stat_cpu(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_and_stat_lines_parse_and_garbage_does_not() {
        assert_eq!(
            parse_schedstat("248142516 52299128 1330\n"),
            Some(SchedStat {
                run_ns: 248_142_516,
                wait_ns: 52_299_128
            })
        );
        assert_eq!(parse_schedstat("12"), None);
        assert_eq!(parse_schedstat("x y z"), None);
        let stat = "30885 (ring load) core0) R 30882 30882 12365 0 -1 4194304 127 0 0 0 \
                    7 5 0 0 20 0 1 0 4513529";
        assert_eq!(parse_stat_cpu(stat), Some(12));
        assert_eq!(parse_stat_cpu("30885 (cat R"), None);
        assert_eq!(parse_stat_cpu(""), None);
    }

    #[test]
    fn this_thread_reads_its_own_figures() {
        let tid = ringload_net::sys::process::gettid();
        let t0 = std::time::Instant::now();
        while t0.elapsed().as_millis() < 30 {
            std::hint::black_box(0u64);
        }
        let s = thread_sched(tid).expect("schedstat of a live thread");
        // Spinning, the thread was on a CPU or waiting for one (a loaded host) all along.
        assert!(s.run_ns > 0 && s.run_ns + s.wait_ns >= 20_000_000, "{s:?}");
        assert!(thread_cpu_ticks(tid).is_some());
    }
}
