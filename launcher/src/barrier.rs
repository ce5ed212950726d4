//! Coordination through the shared results directory, with no agent and no network: the start
//! barrier and rank 0's wait for the other ranks' result files.
//!
//! Owns [`check_in_and_wait`] (each rank writes `<run dir>/.barrier/rank-<r>`; rank 0 lists the
//! directory until all `ranks` files exist and publishes `.barrier/gate`, with the time every
//! rank starts, which the other ranks poll) and [`wait_for_results`] (polls for `rank-<r>.json`). Both use only file creation,
//! rename, lookup by name and directory listing, which every shared filesystem (NFS, Lustre, a
//! Kubernetes RWX volume) supports, every 100 ms (slower for thousands of ranks), and both give
//! up after a bounded time, or on a signal, with the missing ranks named. The barrier's cost
//! grows with the number of ranks, not with its square.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ringload_core::result::BarrierRecord;

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

/// How often a rank other than 0 opens the gate file: 100 ms, longer from 1,000 ranks on so
/// that all of them together make about 10,000 lookups a second (1 s at 10,000 ranks).
fn gate_poll(ranks: u32) -> Duration {
    POLL.max(Duration::from_micros(u64::from(ranks) * 100))
        .min(Duration::from_secs(5))
}

/// How often rank 0 lists the barrier and run directories: 100 ms, longer from 10,000 ranks on
/// (a listing reads every name).
fn watch_poll(ranks: u32) -> Duration {
    POLL.max(Duration::from_micros(u64::from(ranks) * 10))
}

/// How far ahead of the gate's opening rank 0 sets the start: two polls of the other ranks and
/// 100 ms, so that each has seen the gate, with a CPU to spare, before any starts its load (on
/// a machine running hundreds of ranks, those that started first would otherwise hold the CPUs
/// the others need to leave the barrier). 0.3 s up to 1,000 ranks.
fn lead(ranks: u32) -> Duration {
    2 * gate_poll(ranks) + POLL
}

/// Now, as Unix nanoseconds.
fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Sleeps until `at_unix_ns`, the start rank 0 set, but never longer than [`lead`] (a clock
/// behind rank 0's does not hold a rank longer than rank 0 meant to); a rank that sees the gate
/// late starts at once.
fn hold_until(at_unix_ns: u64, ranks: u32) {
    let left = Duration::from_nanos(at_unix_ns.saturating_sub(unix_ns()));
    std::thread::sleep(left.min(lead(ranks)));
}

/// A rank other than 0 looks for rank 0's result file every this many polls (rank 0 failed
/// before it checked in, so nobody will open the gate).
const RANK0_EVERY: u32 = 10;

/// What passing the barrier cost a rank.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Passed {
    /// From this rank's check-in until it left the barrier (at the start rank 0 set).
    pub waited: Duration,
    /// File-system calls on barrier and result file names: each stat, open, create, rename and
    /// directory listing (one per listing, however many names it returns).
    pub lookups: u64,
}

impl Passed {
    /// The result file's `barrier` key.
    pub fn record(&self) -> BarrierRecord {
        BarrierRecord {
            waited_s: self.waited.as_secs_f64(),
            lookups: self.lookups,
        }
    }
}

/// One rank's view of the barrier directory, counting every call it makes there.
struct Barrier<'a> {
    run_dir: &'a Path,
    dir: PathBuf,
    ranks: u32,
    lookups: u64,
    /// When this rank checked in (its check-in file's mtime): a gate older than that is
    /// left over from an earlier attempt of the run id, and is not rank 0's verdict.
    checked_in: Option<std::time::SystemTime>,
}

/// Rank 0's verdict, in `.barrier/gate`: `open`, or `closed` and the message every rank fails
/// with.
const GATE: &str = "gate";
/// Attempts rank 0 makes to publish its verdict.
const PUBLISH_TRIES: u32 = 5;

impl Barrier<'_> {
    /// Creates the barrier directory (and its parents when missing).
    fn make_dir(&mut self) -> Result<(), String> {
        self.lookups += 1;
        let made = match std::fs::create_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.lookups += 1;
                std::fs::create_dir_all(&self.dir)
            }
            made => made,
        };
        made.map_err(|e| format!("barrier: cannot create {}: {e}", self.dir.display()))
    }

    /// Writes this rank's check-in file.
    fn check_in(&mut self, rank: u32) -> Result<(), String> {
        let me = self.dir.join(format!("rank-{rank}"));
        self.lookups += 2;
        std::fs::write(&me, format!("{}\n", std::process::id()))
            .map_err(|e| format!("barrier: cannot write {}: {e}", me.display()))?;
        self.checked_in = std::fs::metadata(&me).and_then(|m| m.modified()).ok();
        Ok(())
    }

    /// The ranks below `ranks` that have a file `<prefix><r><suffix>` in `dir`: one listing.
    fn listed(&mut self, dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<bool>, String> {
        self.lookups += 1;
        let mut seen = vec![false; self.ranks as usize];
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("barrier: cannot list {}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let name = e.file_name();
            let r = name
                .to_str()
                .and_then(|n| n.strip_prefix(prefix))
                .and_then(|n| n.strip_suffix(suffix))
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(slot) = r.and_then(|r| seen.get_mut(r as usize)) {
                *slot = true;
            }
        }
        Ok(seen)
    }

    /// The ranks that have not checked in: one listing of the barrier directory.
    fn absent(&mut self) -> Result<Vec<u32>, String> {
        let dir = self.dir.clone();
        let seen = self.listed(&dir, "rank-", "")?;
        Ok((0..self.ranks).filter(|&r| !seen[r as usize]).collect())
    }

    /// Those of `absent` that have written their result file: one listing of the run directory.
    fn gone(&mut self, absent: &[u32]) -> Result<Vec<u32>, String> {
        let run_dir = self.run_dir.to_path_buf();
        let seen = self.listed(&run_dir, "rank-", ".json")?;
        Ok(absent
            .iter()
            .copied()
            .filter(|&r| seen[r as usize])
            .collect())
    }

    /// Publishes rank 0's verdict (a temp file renamed over the gate, so it is read whole),
    /// retrying a few times: the other ranks can only learn it from the gate.
    fn publish(&mut self, verdict: &Watched, at_unix_ns: u64) -> Result<(), String> {
        let text = match verdict {
            Watched::Open => format!("open {at_unix_ns}\n"),
            Watched::Closed(e) => format!("closed\n{e}\n"),
            Watched::Signalled(_) => "closed\nbarrier: rank 0 was stopped by a signal at the \
                                     barrier, so the run cannot start together\n"
                .to_string(),
        };
        let tmp = self.dir.join(format!(".{GATE}.tmp.{}", std::process::id()));
        let gate = self.dir.join(GATE);
        let mut last = None;
        for attempt in 0..PUBLISH_TRIES {
            if attempt > 0 {
                std::thread::sleep(POLL);
            }
            self.lookups += 2;
            match std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, &gate)) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        let _ = std::fs::remove_file(&tmp);
        Err(format!(
            "barrier: cannot publish {} ({}), so the other ranks cannot learn that the run \
             starts; check the results directory's file system",
            gate.display(),
            last.map_or_else(String::new, |e| e.to_string())
        ))
    }

    /// Rank 0 removes a gate left over from an earlier attempt of the run id before it
    /// watches (the other ranks ignore it anyway: it is older than their check-in).
    fn clear_stale_gate(&mut self) {
        self.lookups += 1;
        let _ = std::fs::remove_file(self.dir.join(GATE));
    }

    /// Rank 0's verdict, once it has published one: one open of the gate file. An open gate
    /// says when the ranks start (Unix ns; 0 for at once).
    fn verdict(&mut self) -> Option<Result<u64, String>> {
        self.read_gate(false)
    }

    /// The gate as it is; `any_age` also reads one older than this rank's check-in (once
    /// rank 0 has ended, its gate is the newest there is).
    fn read_gate(&mut self, any_age: bool) -> Option<Result<u64, String>> {
        self.lookups += 1;
        let mut file = std::fs::File::open(self.dir.join(GATE)).ok()?;
        // A gate older than this rank's check-in is an earlier attempt's, not rank 0's verdict
        // (rank 0 publishes only after every rank has checked in).
        let written = file.metadata().and_then(|m| m.modified()).ok()?;
        if !any_age && self.checked_in.is_some_and(|me| written < me) {
            return None;
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).ok()?;
        let (head, why) = text.split_once('\n')?;
        match head.split_once(' ') {
            None if head == "open" => Some(Ok(0)),
            Some(("open", at)) => at.parse().ok().map(Ok),
            None if head == "closed" => Some(Err(why.trim_end().to_string())),
            _ => None,
        }
    }

    /// Whether rank 0 has written its result file: one stat.
    fn rank0_ended(&mut self) -> bool {
        self.lookups += 1;
        result_path(self.run_dir, 0).exists()
    }

    fn passed(&self, start: Instant) -> Passed {
        Passed {
            waited: start.elapsed(),
            lookups: self.lookups,
        }
    }

    /// The message for ranks `gone` that ended before checking in.
    fn ended(&self, gone: &[u32]) -> String {
        format!(
            "barrier: {} {} ended before checking in (see {} result file{} in {}), so the run \
             cannot start together",
            noun(gone.len()),
            ranges(gone),
            if gone.len() == 1 { "its" } else { "their" },
            if gone.len() == 1 { "" } else { "s" },
            self.run_dir.display()
        )
    }

    /// The message for a signal while ranks `absent` had not checked in.
    fn signalled(&self, absent: &[u32]) -> String {
        format!(
            "barrier: stopped by a signal while {} of {} {} had not checked in ({})",
            absent.len(),
            self.ranks,
            noun(self.ranks as usize),
            ranges(absent)
        )
    }

    /// The message for a timeout while ranks `absent` had not checked in.
    fn timed_out(&self, timeout: Duration, absent: &[u32]) -> String {
        if absent.is_empty() {
            return format!(
                "barrier: after {timeout:?}, all {} ranks had checked in but rank 0 did not open \
                 the barrier (no {} file in {}). Did rank 0 stop?",
                self.ranks,
                GATE,
                self.dir.display()
            );
        }
        format!(
            "barrier: after {:?}, {} of {} {} had not checked in ({}; see {}). Are all ranks \
             running, and do they share the results directory? Raise [run] barrier_timeout if \
             they start slowly",
            timeout,
            absent.len(),
            self.ranks,
            noun(self.ranks as usize),
            ranges(absent),
            self.dir.display()
        )
    }
}

/// Checks this rank in and waits until every rank has; returns how long it waited and the
/// lookups it made. Gives up at `timeout`, when a signal arrives (`stop()`), or at once when a
/// rank that has not checked in has already written its result (it failed before the
/// barrier).
///
/// Each rank writes `.barrier/rank-<r>`. Rank 0 alone watches: every [`watch_poll`] it lists
/// the barrier directory (and, while ranks are missing, the run directory for their result
/// files), and publishes its verdict in `.barrier/gate`: `open` and a start time [`lead`] ahead
/// once every rank has checked in, or `closed` and the message it fails with. The other ranks
/// open only the gate file, every [`gate_poll`], and fail with rank 0's message; every
/// [`RANK0_EVERY`] polls they also look for rank 0's result file (rank 0 failed before it
/// checked in). Every rank leaves at the start time ([`hold_until`]). So the ranks together
/// make about `ranks / gate_poll` lookups a second, not `ranks²`.
pub fn check_in_and_wait(
    run_dir: &Path,
    rank: u32,
    ranks: u32,
    timeout: Duration,
    stop: &dyn Fn() -> bool,
) -> Result<Passed, String> {
    let mut b = Barrier {
        run_dir,
        dir: run_dir.join(".barrier"),
        ranks,
        lookups: 0,
        checked_in: None,
    };
    b.make_dir()?;
    if rank == 0 {
        b.clear_stale_gate();
    }
    b.check_in(rank)?;
    let start = Instant::now();
    if rank == 0 {
        let verdict = watch(&mut b, start, timeout, stop);
        let at = unix_ns() + lead(ranks).as_nanos() as u64;
        b.publish(&verdict, at)?;
        return match verdict {
            Watched::Open => {
                hold_until(at, ranks);
                Ok(b.passed(start))
            }
            Watched::Closed(e) | Watched::Signalled(e) => Err(e),
        };
    }
    let mut polls = 0u32;
    loop {
        match b.verdict() {
            Some(Ok(at)) => {
                hold_until(at, ranks);
                return Ok(b.passed(start));
            }
            Some(Err(e)) => return Err(e),
            None => {}
        }
        polls += 1;
        if polls.is_multiple_of(RANK0_EVERY) && b.rank0_ended() {
            // Rank 0 closed the gate before this rank checked in, or ended without one.
            return Err(match b.read_gate(true) {
                Some(Err(e)) => e,
                _ => b.ended(&[0]),
            });
        }
        if stop() {
            let absent = b.absent()?;
            return Err(b.signalled(&absent));
        }
        if start.elapsed() >= timeout {
            let absent = b.absent()?;
            return Err(b.timed_out(timeout, &absent));
        }
        std::thread::sleep(gate_poll(ranks));
    }
}

/// How rank 0's watch ended.
enum Watched {
    /// Every rank checked in.
    Open,
    /// The run cannot start: the message every rank fails with.
    Closed(String),
    /// A signal stopped rank 0: its message (the others are told rank 0 was stopped).
    Signalled(String),
}

/// Rank 0's watch of the barrier and run directories.
fn watch(b: &mut Barrier, start: Instant, timeout: Duration, stop: &dyn Fn() -> bool) -> Watched {
    // A listing that fails (a shared file system's passing EIO or ESTALE) is tried again at
    // the next poll; only one still failing at the timeout ends the watch.
    let mut all: Vec<u32> = (0..b.ranks).collect();
    loop {
        let mut failed = None;
        match b.absent() {
            Ok(a) if a.is_empty() => return Watched::Open,
            Ok(a) => all = a,
            Err(e) => failed = Some(e),
        }
        let absent = all.clone();
        if failed.is_none() {
            match b.gone(&absent) {
                Ok(gone) if gone.is_empty() => {}
                Ok(gone) => return Watched::Closed(b.ended(&gone)),
                Err(e) => failed = Some(e),
            }
        }
        if stop() {
            return Watched::Signalled(b.signalled(&absent));
        }
        if start.elapsed() >= timeout {
            return Watched::Closed(match failed {
                Some(e) => e,
                None => b.timed_out(timeout, &absent),
            });
        }
        std::thread::sleep(watch_poll(b.ranks));
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
        assert_eq!(gate_poll(1_000), POLL);
        assert_eq!(lead(1_000), Duration::from_millis(300));
        assert_eq!(gate_poll(1_024), Duration::from_micros(102_400));
        assert_eq!(gate_poll(10_000), Duration::from_secs(1));
        assert_eq!(gate_poll(100_000), Duration::from_secs(5));
        assert_eq!(watch_poll(10_000), POLL);
        assert_eq!(watch_poll(100_000), Duration::from_secs(1));
    }

    #[test]
    fn lookups_grow_with_the_wait_not_with_the_ranks() {
        let d = scratch("cost");
        let ranks = 64;
        let hs: Vec<_> = (0..ranks)
            .map(|r| {
                let d = d.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5 * u64::from(r)));
                    check_in_and_wait(&d, r, ranks, Duration::from_secs(30), &|| false)
                })
            })
            .collect();
        let passed: Vec<Passed> = hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
        // Rank 0: the directory, an earlier gate removed, its check-in (write and stat), two
        // listings a poll, the gate (temp + rename).
        let polls = |p: &Passed| p.waited.as_millis() as u64 / POLL.as_millis() as u64 + 1;
        assert!(
            passed[0].lookups <= 4 + 2 * polls(&passed[0]) + 2,
            "{:?}",
            passed[0]
        );
        // The others: the directory, their check-in (write and stat), the gate once a poll,
        // rank 0's result file every tenth.
        for p in &passed[1..] {
            assert!(p.lookups >= 4, "{p:?}");
            assert!(p.lookups <= 3 + polls(p) + polls(p) / 10 + 1, "{p:?}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Writes a gate dated after (rank 0's verdict) or before (an earlier attempt's) any
    /// check-in, whatever the file system's timestamp granularity.
    fn written(gate: &Path, text: impl AsRef<[u8]>, after: bool) {
        std::fs::write(gate, text).unwrap();
        let hour = Duration::from_secs(3600);
        let now = std::time::SystemTime::now();
        let when = if after { now + hour } else { now - hour };
        std::fs::File::options()
            .write(true)
            .open(gate)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn the_others_pass_or_fail_with_rank_0s_verdict() {
        let d = scratch("gate");
        let gate = d.join(".barrier").join(GATE);
        std::fs::create_dir_all(d.join(".barrier")).unwrap();
        // A gate older than the rank's check-in is an earlier attempt's: not a verdict.
        written(&gate, "open\n", false);
        let e = check_in_and_wait(&d, 2, 3, Duration::from_millis(300), &|| false).unwrap_err();
        assert!(e.contains("had not checked in"), "{e}");
        // Rank 0 removes it before it watches.
        let p = check_in_and_wait(&d, 0, 1, Duration::from_secs(5), &|| false).unwrap();
        assert!(p.lookups >= 5, "{p:?}");
        assert!(std::fs::read_to_string(&gate).unwrap().starts_with("open "));
        std::fs::remove_file(d.join(".barrier").join("rank-0")).unwrap();
        // A fresh gate is rank 0's verdict.
        written(&gate, "open\n", true);
        let p = check_in_and_wait(&d, 2, 3, Duration::from_secs(5), &|| false).unwrap();
        assert_eq!(
            p.lookups, 4,
            "mkdir, check-in (write and stat), gate: {p:?}"
        );
        assert_eq!(
            p.record(),
            BarrierRecord {
                waited_s: p.waited.as_secs_f64(),
                lookups: 4
            }
        );
        // An open gate names the start: the rank holds until then, but never longer than rank
        // 0's lead (a clock behind rank 0's), and a start in the past is at once.
        let at = |ahead: Duration| format!("open {}\n", unix_ns() + ahead.as_nanos() as u64);
        written(&gate, at(Duration::from_millis(200)), true);
        let p = check_in_and_wait(&d, 2, 3, Duration::from_secs(5), &|| false).unwrap();
        assert!(p.waited >= Duration::from_millis(150), "{p:?}");
        written(&gate, at(Duration::from_secs(3600)), true);
        let p = check_in_and_wait(&d, 2, 3, Duration::from_secs(5), &|| false).unwrap();
        assert!(
            p.waited >= lead(3) && p.waited < Duration::from_secs(60),
            "{p:?}"
        );
        written(&gate, "open 1\n", true);
        let p = check_in_and_wait(&d, 2, 3, Duration::from_secs(5), &|| false).unwrap();
        assert!(p.waited < lead(3), "{p:?}");
        written(&gate, "closed\nbarrier: why\n", true);
        let e = check_in_and_wait(&d, 1, 3, Duration::from_secs(5), &|| false).unwrap_err();
        assert_eq!(e, "barrier: why");
        // A half-written gate is not a verdict: the rank waits on, here until its timeout,
        // and names the rank that has not checked in.
        written(&gate, "op", true);
        let e = check_in_and_wait(&d, 1, 3, Duration::from_millis(150), &|| false).unwrap_err();
        assert!(e.contains("1 of 3 ranks had not checked in (0;"), "{e}");
        // All checked in, but rank 0 never opened the gate.
        std::fs::write(d.join(".barrier").join("rank-0"), "").unwrap();
        let e = check_in_and_wait(&d, 1, 3, Duration::from_millis(150), &|| false).unwrap_err();
        assert!(
            e.contains("all 3 ranks had checked in but rank 0 did not open the barrier"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn rank_0_stopping_stops_the_others() {
        let d = scratch("rank0");
        // Rank 0 is stopped by a signal: it says so, and tells the others.
        let e = check_in_and_wait(&d, 0, 2, Duration::from_secs(30), &|| true).unwrap_err();
        assert_eq!(
            e,
            "barrier: stopped by a signal while 1 of 2 ranks had not checked in (1)"
        );
        let e = check_in_and_wait(&d, 1, 2, Duration::from_secs(30), &|| false).unwrap_err();
        assert_eq!(
            e,
            "barrier: rank 0 was stopped by a signal at the barrier, so the run cannot start \
             together"
        );
        // Rank 0 failed before it checked in: the others find its result file within a second
        // or so.
        let d = scratch("rank0-gone");
        std::fs::write(result_path(&d, 0), "{}").unwrap();
        let t = Instant::now();
        let e = check_in_and_wait(&d, 1, 2, Duration::from_secs(30), &|| false).unwrap_err();
        assert!(e.contains("rank 0 ended before checking in"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        let _ = std::fs::remove_dir_all(&d);
    }
}
