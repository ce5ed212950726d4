//! Coordination through the shared results directory, with no agent and no network: the start
//! barrier and rank 0's wait for the other ranks' result files.
//!
//! Owns [`check_in_and_wait`] (each rank writes `<run dir>/.barrier/rank-<r>` and waits until
//! all `ranks` files exist) and [`wait_for_results`] (polls for `rank-<r>.json`). Both look up
//! files by name every 100 ms (slower for thousands of ranks), which every shared filesystem
//! (NFS, Lustre, a Kubernetes RWX volume) supports, only for the ranks not seen yet, and both
//! give up after a bounded time, or on a signal, with the missing ranks named.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::merge::error::ranges;

const POLL: Duration = Duration::from_millis(100);

/// The result file of rank `r` in a run directory.
pub fn result_path(run_dir: &Path, rank: u32) -> PathBuf {
    run_dir.join(format!("rank-{rank}.json"))
}

/// `rank` or `ranks`, for a count of `n`.
fn noun(n: usize) -> &'static str {
    if n == 1 {
        "rank"
    } else {
        "ranks"
    }
}

/// The note a rank prints once the barrier opens: `all 4 ranks checked in (...)`, or `the 1
/// rank checked in (...)` for a one-rank run.
pub fn checked_in_note(ranks: u32, waited: Duration) -> String {
    let who = if ranks == 1 {
        "the 1 rank".to_string()
    } else {
        format!("all {ranks} ranks")
    };
    format!(
        "note: {who} checked in (waited {:.1} s at the barrier)",
        waited.as_secs_f64()
    )
}

/// Poll interval for `ranks` ranks: 100 ms, longer for large runs so that a shared filesystem
/// sees at most about 10,000 lookups a second from all ranks together.
fn poll(ranks: u32) -> Duration {
    POLL.max(Duration::from_micros(
        u64::from(ranks) * u64::from(ranks) / 10,
    ))
    .min(Duration::from_secs(5))
}

/// Checks this rank in and waits until every rank has; returns how long it waited. Gives up
/// at `timeout`, when a signal arrives (`stop()`), or at once when a rank that has not
/// checked in has already written its result (it failed before the barrier).
pub fn check_in_and_wait(
    run_dir: &Path,
    rank: u32,
    ranks: u32,
    timeout: Duration,
    stop: &dyn Fn() -> bool,
) -> Result<Duration, String> {
    let dir = run_dir.join(".barrier");
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("barrier: cannot create {}: {e}", dir.display()))?;
    let me = dir.join(format!("rank-{rank}"));
    std::fs::write(&me, format!("{}\n", std::process::id()))
        .map_err(|e| format!("barrier: cannot write {}: {e}", me.display()))?;
    let start = Instant::now();
    // Only the ranks not seen yet are looked up again.
    let mut absent: Vec<u32> = (0..ranks).collect();
    loop {
        absent.retain(|r| !dir.join(format!("rank-{r}")).exists());
        if absent.is_empty() {
            return Ok(start.elapsed());
        }
        let gone: Vec<u32> = absent
            .iter()
            .copied()
            .filter(|&r| result_path(run_dir, r).exists())
            .collect();
        if !gone.is_empty() {
            return Err(format!(
                "barrier: {} {} ended before checking in (see {} result file{} in {}), so the \
                 run cannot start together",
                noun(gone.len()),
                ranges(&gone),
                if gone.len() == 1 { "its" } else { "their" },
                if gone.len() == 1 { "" } else { "s" },
                run_dir.display()
            ));
        }
        if stop() {
            return Err(format!(
                "barrier: stopped by a signal while {} of {ranks} {} had not checked in ({})",
                absent.len(),
                noun(ranks as usize),
                ranges(&absent)
            ));
        }
        if start.elapsed() >= timeout {
            return Err(format!(
                "barrier: after {:?}, {} of {ranks} {} had not checked in ({}; see {}). Are \
                 all ranks running, and do they share the results directory? Raise [run] \
                 barrier_timeout if they start slowly",
                timeout,
                absent.len(),
                noun(ranks as usize),
                ranges(&absent),
                dir.display()
            ));
        }
        std::thread::sleep(poll(ranks));
    }
}

/// Waits until every rank's result file exists, `timeout` passes or `stop()` says to give up
/// (e.g. a SIGTERM: the scheduler is ending the job); returns the ranks still missing.
/// `on_seen(r)` is called once per rank whose file appeared (those already there first), as
/// soon as it is seen, so the caller can read it while waiting for the others.
pub fn wait_for_results(
    run_dir: &Path,
    ranks: u32,
    timeout: Duration,
    stop: &dyn Fn() -> bool,
    on_seen: &mut dyn FnMut(u32),
) -> Vec<u32> {
    let start = Instant::now();
    let mut absent: Vec<u32> = (0..ranks).collect();
    loop {
        absent.retain(|&r| {
            let seen = result_path(run_dir, r).exists();
            if seen {
                on_seen(r);
            }
            !seen
        });
        if absent.is_empty() || start.elapsed() >= timeout || stop() {
            return absent;
        }
        std::thread::sleep(poll(ranks));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ringload-barrier-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn all_ranks_pass_together() {
        let d = scratch("pass");
        let hs: Vec<_> = (0..3)
            .map(|r| {
                let d = d.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(50 * u64::from(r)));
                    check_in_and_wait(&d, r, 3, Duration::from_secs(5), &|| false)
                })
            })
            .collect();
        for h in hs {
            assert!(h.join().unwrap().is_ok());
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_missing_rank_times_out_by_name() {
        let d = scratch("timeout");
        let e = check_in_and_wait(&d, 0, 3, Duration::from_millis(250), &|| false).unwrap_err();
        assert!(e.contains("2 of 3 ranks") && e.contains("(1-2;"), "{e}");
        let e = check_in_and_wait(&d, 0, 3, Duration::from_secs(30), &|| true).unwrap_err();
        assert!(e.contains("stopped by a signal"), "{e}");
        let none = &mut |r| panic!("rank {r} has no file");
        assert_eq!(
            wait_for_results(&d, 2, Duration::from_millis(150), &|| false, none),
            [0, 1]
        );
        let t = Instant::now();
        assert_eq!(
            wait_for_results(&d, 2, Duration::from_secs(30), &|| true, none),
            [0, 1]
        );
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "a stop ends the wait at once"
        );
        std::fs::write(result_path(&d, 1), "{}").unwrap();
        let (d2, mut seen) = (d.clone(), Vec::new());
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(result_path(&d2, 0), "{}").unwrap();
        });
        let missing = wait_for_results(&d, 2, Duration::from_secs(30), &|| false, &mut |r| {
            seen.push(r)
        });
        late.join().unwrap();
        assert!(missing.is_empty());
        assert_eq!(seen, [1, 0], "each rank once, as it appears");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_rank_that_ended_before_checking_in_stops_the_barrier_at_once() {
        let d = scratch("ended");
        std::fs::write(result_path(&d, 1), "{}").unwrap();
        let t = Instant::now();
        let e = check_in_and_wait(&d, 0, 2, Duration::from_secs(30), &|| false).unwrap_err();
        assert!(e.contains("rank 1 ended before checking in"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(2));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn messages_count_ranks_in_the_singular_and_plural() {
        let w = Duration::from_millis(1250);
        assert_eq!(
            checked_in_note(1, w),
            "note: the 1 rank checked in (waited 1.2 s at the barrier)"
        );
        assert_eq!(
            checked_in_note(4, w),
            "note: all 4 ranks checked in (waited 1.2 s at the barrier)"
        );
        let d = scratch("singular");
        let e = check_in_and_wait(&d, 5, 1, Duration::from_secs(1), &|| true);
        // Rank 5 of 1 is not rank 0: the only rank, 0, never checks in.
        let e = e.unwrap_err();
        assert_eq!(
            e,
            "barrier: stopped by a signal while 1 of 1 rank had not checked in (0)"
        );
        std::fs::write(result_path(&d, 2), "{}").unwrap();
        std::fs::write(result_path(&d, 3), "{}").unwrap();
        let e = check_in_and_wait(&d, 0, 4, Duration::from_secs(30), &|| false).unwrap_err();
        assert_eq!(
            e,
            format!(
                "barrier: ranks 2-3 ended before checking in (see their result files in {}), so \
                 the run cannot start together",
                d.display()
            )
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn polls_slow_down_for_large_runs() {
        assert_eq!(poll(8), POLL);
        assert_eq!(poll(10_000), Duration::from_secs(5));
        assert!(poll(2_000) > POLL);
    }
}
