//! The streaming merge of rank 0 (`ringload run --merge`): fold each rank's file as it
//! appears, so that little is left to do when the last rank arrives.
//!
//! A [`Stream`] is told each rank whose result file appeared ([`Stream::arrived`]); it reads
//! that file's head and hands it to one of `threads` worker threads, each folding into its own
//! [`Partial`] (fed through one channel, so an idle worker takes the next file and folding keeps
//! pace with arrivals on every CPU). What a fold needs but a stream does not know yet: the
//! timeline span grows with each rank; the point cap comes from the run's rank count; the
//! steady window is deferred ([`Partial::deferred`]). Whenever the channel runs dry, a worker
//! hands its partial in to one shared partial (the pool), so the costly absorbs of timelines
//! happen while waiting. [`Stream::finish`] joins the workers (the last rank's small partial is
//! absorbed then), plans the run from the heads collected exactly as the offline merge does
//! ([`plan::check`]) and builds the outputs with [`super::finish`].
//!
//! Invariant: the outputs are those of [`merge_dir`] on the same directory, byte for byte.
//! Only the plain case is streamed: every rank `0..ranks` arrived once, its head is readable,
//! names that rank, the run's rank count and the others' run id, says `completed`, every file
//! folded without error, and the directory holds no other result file. Anything else (a
//! corrupt head, another run id, a duplicate or out-of-range rank, another rank count, a
//! failed rank, a rank missing at the timeout, a signal, a resolution the merge refuses) falls
//! back to [`merge_dir`] of the directory, which gives `ringload merge`'s outputs and errors.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;

use ringload_core::result::RunStatus;

use super::head::{self, Head, Scanned};
use super::partial::{Frame, Partial};
use super::{merge_dir, plan, MergeError, MergeOptions, MergeOutput, DEFAULT_RESOLUTION_NS};
use crate::barrier;

type Worker = JoinHandle<Result<(), MergeError>>;

/// A merge fed rank by rank (see the module doc).
pub struct Stream {
    dir: PathBuf,
    ranks: u32,
    opts: MergeOptions,
    /// The heads handed to the workers, in arrival order.
    heads: Vec<Head>,
    /// Per rank, whether its arrival was seen.
    seen: Vec<bool>,
    /// Why this is not the plain case (then [`Stream::finish`] merges the directory offline).
    fallback: Option<String>,
    tx: Option<Sender<Head>>,
    /// Set when the folds are of no use any more: the workers skip what is queued.
    stop: Arc<AtomicBool>,
    /// Heads queued and not folded (and handed in) yet.
    queued: Arc<AtomicUsize>,
    /// What the workers folded.
    pool: Arc<Pool>,
    workers: Vec<Worker>,
    buf: Vec<u8>,
}

/// What [`Stream::finish`] gives.
pub struct Finished {
    pub output: Result<MergeOutput, MergeError>,
    /// Why the directory was merged offline instead (`None`: the streamed folds were used).
    pub fallback: Option<String>,
}

impl Stream {
    /// A stream for the result files of a run of `ranks` ranks in `dir`, merged with `opts`
    /// (`opts.threads` workers).
    pub fn new(dir: &Path, ranks: u32, opts: MergeOptions) -> Stream {
        let (tx, rx) = channel::<Head>();
        let rx = Arc::new(Mutex::new(rx));
        let stop = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicUsize::new(0));
        let pool: Arc<Pool> = Arc::new(Mutex::new(None));
        let frame = Frame {
            res_ns: opts.resolution_ns.max(1),
            start_ns: 0,
            end_ns: 0,
            steady: None,
            point_cap: Frame::point_cap(u64::from(ranks)),
        };
        let workers = (0..opts.threads.max(1))
            .map(|_| {
                let (rx, pool) = (Arc::clone(&rx), Arc::clone(&pool));
                let (stop, queued) = (Arc::clone(&stop), Arc::clone(&queued));
                std::thread::spawn(move || work(frame, &rx, &pool, &stop, &queued))
            })
            .collect();
        let fallback = (opts.resolution_ns < DEFAULT_RESOLUTION_NS)
            .then(|| "the resolution is refused".to_string());
        Stream {
            dir: dir.to_path_buf(),
            ranks,
            opts,
            heads: Vec::new(),
            seen: vec![false; ranks as usize],
            fallback,
            tx: Some(tx),
            stop,
            queued,
            pool,
            workers,
            buf: Vec::new(),
        }
    }

    /// Rank `rank`'s result file appeared: read its head and queue it for folding. A second
    /// notice for the same rank is ignored.
    pub fn arrived(&mut self, rank: u32) {
        if self.fallback.is_some() {
            return;
        }
        match self.seen.get_mut(rank as usize) {
            Some(seen) if !*seen => *seen = true,
            Some(_) => return,
            None => return self.give_up(format!("rank {rank} is not one of {}", self.ranks)),
        }
        let path = barrier::result_path(&self.dir, rank);
        let h = match head::scan(&path, &mut self.buf) {
            Scanned::Head(h) => *h,
            Scanned::Ignored => return self.give_up(format!("rank {rank}'s file is not a result")),
            Scanned::Corrupt(e) => return self.give_up(format!("rank {rank}'s head: {e}")),
        };
        if h.rank != rank || h.ranks != self.ranks {
            return self.give_up(format!(
                "{} says rank {} of {}, not {rank} of {}",
                h.name, h.rank, h.ranks, self.ranks
            ));
        }
        if let Some(first) = self.heads.first().filter(|f| f.run_id != h.run_id) {
            let msg = format!(
                "{} is from run {:?}, not {:?}",
                h.name, h.run_id, first.run_id
            );
            return self.give_up(msg);
        }
        if h.status != RunStatus::Completed.as_str() {
            return self.give_up(format!("rank {rank} {}", h.status));
        }
        self.heads.push(h.clone());
        if let Some(tx) = &self.tx {
            self.queued.fetch_add(1, Ordering::SeqCst);
            // A worker that ended early (a refused span) is found when it is joined.
            if tx.send(h).is_err() {
                self.queued.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Files queued and not folded (and handed in) yet.
    pub fn backlog(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Marks the stream as not the plain case: the folds stop, and [`Stream::finish`] merges
    /// the directory offline.
    pub fn give_up(&mut self, why: String) {
        if self.fallback.is_none() {
            self.fallback = Some(why);
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The ranks' outputs: the streamed folds in the plain case, else the offline merge.
    pub fn finish(mut self) -> Finished {
        self.tx = None;
        for w in std::mem::take(&mut self.workers) {
            if let Err(e) = w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)) {
                self.give_up(format!("a fold failed: {e}"));
            }
        }
        let folded = self.pool.lock().unwrap_or_else(|e| e.into_inner()).take();
        if self.fallback.is_none() {
            match self.streamed(folded) {
                Ok(output) => {
                    return Finished {
                        output: Ok(output),
                        fallback: None,
                    }
                }
                Err(why) => self.give_up(why),
            }
        }
        Finished {
            output: merge_dir(&self.dir, &self.opts),
            fallback: self.fallback.take(),
        }
    }

    /// The outputs from the folds, or why they cannot stand for the offline merge.
    fn streamed(&mut self, folded: Option<Partial>) -> Result<MergeOutput, String> {
        if self.heads.len() != self.ranks as usize {
            return Err(format!(
                "{} of {} ranks arrived",
                self.heads.len(),
                self.ranks
            ));
        }
        // The offline merge reads every result file of the directory: there must be no other.
        let files = head::list_json(&self.dir).map_err(|e| e.to_string())?;
        let mut heads = std::mem::take(&mut self.heads);
        heads.sort_by(|a, b| a.path.cmp(&b.path));
        for f in &files {
            if heads.binary_search_by(|h| h.path.cmp(f)).is_err()
                && !matches!(head::scan(f, &mut self.buf), Scanned::Ignored)
            {
                return Err(format!("{} is another result file", f.display()));
            }
        }
        let plan = plan::check(heads, Vec::new());
        if !plan.problems.is_empty() || plan.heads.len() != self.ranks as usize {
            return Err("the run is not complete".into());
        }
        let all = folded.ok_or("nothing was folded")?;
        if !all.rejected.is_empty() {
            return Err("a rank's file was rejected".into());
        }
        super::finish(plan, all, &self.opts).map_err(|e| e.to_string())
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tx = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Where the workers hand in what they folded: one partial holding every rank handed in.
type Pool = Mutex<Option<Partial>>;

/// A worker: folds the heads it takes off the channel into its own partial (made from the
/// first one's span). Whenever the channel is empty it hands that partial in to the pool (the
/// costly absorb of a timeline happens while waiting), so after the last arrival only the last
/// rank's small partial is left to absorb. Returns the first error (it keeps draining the
/// channel, so the backlog still counts down).
fn work(
    frame: Frame,
    rx: &Mutex<Receiver<Head>>,
    pool: &Pool,
    stop: &AtomicBool,
    queued: &AtomicUsize,
) -> Result<(), MergeError> {
    let mut partial: Option<Partial> = None;
    let mut failed: Option<MergeError> = None;
    let mut next: Option<Head> = None;
    loop {
        let h = match next.take() {
            Some(h) => h,
            None => match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                Ok(h) => h,
                Err(_) => break,
            },
        };
        if !stop.load(Ordering::Relaxed) && failed.is_none() {
            let p = match partial.take() {
                Some(p) => Ok(p),
                None => Partial::deferred(Frame {
                    start_ns: h.start_unix_ns,
                    end_ns: h.end_unix_ns,
                    ..frame
                }),
            };
            match p {
                Ok(mut p) => {
                    p.fold(&h);
                    partial = Some(p);
                }
                Err(e) => failed = Some(e),
            }
        }
        // Another worker holding the channel is waiting on it: it is empty for this one.
        let more = match rx.try_lock() {
            Ok(rx) => rx.try_recv().ok(),
            Err(TryLockError::Poisoned(rx)) => rx.into_inner().try_recv().ok(),
            Err(TryLockError::WouldBlock) => None,
        };
        match more {
            Some(h) => next = Some(h),
            None => {
                if let Err(e) = hand_in(pool, partial.take()) {
                    failed.get_or_insert(e);
                }
            }
        }
        queued.fetch_sub(1, Ordering::SeqCst);
    }
    if let Err(e) = hand_in(pool, partial.take()) {
        failed.get_or_insert(e);
    }
    failed.map_or(Ok(()), Err)
}

/// Adds `partial` (flushed) into the pool.
fn hand_in(pool: &Pool, partial: Option<Partial>) -> Result<(), MergeError> {
    let Some(mut p) = partial else {
        return Ok(());
    };
    p.flush();
    let mut all = pool.lock().unwrap_or_else(|e| e.into_inner());
    match &mut *all {
        Some(all) => all.absorb(p),
        None => {
            *all = Some(p);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
