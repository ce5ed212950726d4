//! Coordination through the shared results directory, with no agent and no network: the start
//! barrier and rank 0's wait for the other ranks' result files.
//!
//! Owns [`check_in_and_wait`] (each rank writes `<run dir>/.barrier/rank-<r>` and waits until
//! all `ranks` files exist) and [`wait_for_results`] (polls for `rank-<r>.json`). Both poll a
//! directory every 100 ms, which every shared filesystem (NFS, Lustre, a Kubernetes RWX volume)
//! supports, and both give up after a bounded time with the missing ranks named.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// The result file of rank `r` in a run directory.
pub fn result_path(run_dir: &Path, rank: u32) -> PathBuf {
    run_dir.join(format!("rank-{rank}.json"))
}

fn missing(ranks: u32, present: impl Fn(u32) -> bool) -> Vec<u32> {
    (0..ranks).filter(|&r| !present(r)).collect()
}

/// "1, 2, 5 and 12 more".
pub fn list(ranks: &[u32]) -> String {
    let shown: Vec<String> = ranks.iter().take(10).map(u32::to_string).collect();
    match ranks.len() {
        n if n > 10 => format!("{} and {} more", shown.join(", "), n - 10),
        _ => shown.join(", "),
    }
}

/// Checks this rank in and waits until every rank has; returns how long it waited.
pub fn check_in_and_wait(
    run_dir: &Path,
    rank: u32,
    ranks: u32,
    timeout: Duration,
) -> Result<Duration, String> {
    let dir = run_dir.join(".barrier");
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("barrier: cannot create {}: {e}", dir.display()))?;
    let me = dir.join(format!("rank-{rank}"));
    std::fs::write(&me, format!("{}\n", std::process::id()))
        .map_err(|e| format!("barrier: cannot write {}: {e}", me.display()))?;
    let start = Instant::now();
    loop {
        let absent = missing(ranks, |r| dir.join(format!("rank-{r}")).exists());
        if absent.is_empty() {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return Err(format!(
                "barrier: after {:?}, {} of {ranks} ranks had not checked in ({}; see {}). Are \
                 all ranks running, and do they share the results directory? Raise [run] \
                 barrier_timeout if they start slowly",
                timeout,
                absent.len(),
                list(&absent),
                dir.display()
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until every rank's result file exists, `timeout` passes or `stop()` says to give up
/// (e.g. a SIGTERM: the scheduler is ending the job); returns the ranks still missing.
pub fn wait_for_results(
    run_dir: &Path,
    ranks: u32,
    timeout: Duration,
    stop: &dyn Fn() -> bool,
) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let absent = missing(ranks, |r| result_path(run_dir, r).exists());
        if absent.is_empty() || start.elapsed() >= timeout || stop() {
            return absent;
        }
        std::thread::sleep(POLL);
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
                    check_in_and_wait(&d, r, 3, Duration::from_secs(5))
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
        let e = check_in_and_wait(&d, 0, 3, Duration::from_millis(250)).unwrap_err();
        assert!(e.contains("2 of 3 ranks") && e.contains("1, 2"), "{e}");
        assert_eq!(
            wait_for_results(&d, 2, Duration::from_millis(150), &|| false),
            [0, 1]
        );
        let t = Instant::now();
        assert_eq!(
            wait_for_results(&d, 2, Duration::from_secs(30), &|| true),
            [0, 1]
        );
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "a stop ends the wait at once"
        );
        std::fs::write(result_path(&d, 0), "{}").unwrap();
        std::fs::write(result_path(&d, 1), "{}").unwrap();
        assert!(wait_for_results(&d, 2, Duration::from_secs(1), &|| false).is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn lists_are_short() {
        let v: Vec<u32> = (0..15).collect();
        assert_eq!(list(&v), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 5 more");
    }
}
