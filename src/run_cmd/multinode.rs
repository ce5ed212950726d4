//! What a rank of a multi-node run does besides loading: credentials named by the spec, where
//! its result file goes (and refusing to overwrite one), the seed all ranks share, a result
//! file for a rank that failed before its measured phase, and rank 0's wait-and-merge.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ringload_core::result::RunStatus;
use ringload_engine::record::RunMeta;
use ringload_launcher::barrier;
use ringload_launcher::merge::stream::Stream;
use ringload_launcher::merge::MergeOptions;
use ringload_launcher::ranks::Rank;
use ringload_launcher::spec::Loaded;

use super::record::FailReason;
use crate::cli::RunArgs;
use crate::exit::Exit;
/// After a signal, how long rank 0 still waits for ranks that are writing their results.
const SIGNAL_GRACE: Duration = Duration::from_secs(5);

/// Credentials by reference: copies each variable the spec names to the name ringload reads.
pub fn apply_credential_refs(l: &Loaded) {
    for (from, to) in l.spec.target.credentials.env_aliases() {
        match std::env::var_os(from) {
            Some(v) if from != to => std::env::set_var(to, v),
            Some(_) => {}
            None => eprintln!(
                "warning: [target.credentials] names ${from}, which is not set in this \
                 environment"
            ),
        }
    }
}

/// The result file: `--result`, else `<run dir>/rank-<r>.json` (the directory is created).
/// An existing file is an error: results are never overwritten.
pub fn result_path(
    a: &RunArgs,
    run_dir: Option<&Path>,
    r: Rank,
) -> Result<Option<PathBuf>, String> {
    if let Some(id) = a.run_id.as_deref().filter(|_| run_dir.is_some()) {
        if id.is_empty() || id == "." || id == ".." || id.contains(['/', '\0']) {
            return Err(format!(
                "--run-id {id:?} names the results subdirectory: use a plain name without '/', \
                 e.g. fill-2026-11-28"
            ));
        }
    }
    if run_dir.is_some() && r.ranks > 1 && a.run_id.is_none() {
        return Err(format!(
            "{} ranks share --results-dir through their run id: give every rank the same \
             --run-id (a spec's [run] id does)",
            r.ranks
        ));
    }
    if a.result.is_some() && run_dir.is_some() && (a.merge || a.barrier || r.ranks > 1) {
        return Err(
            "--result takes the result out of the run directory that --merge, --barrier and \
             the other ranks use: leave --result out (the result goes to \
             <results dir>/<run id>/rank-<r>.json)"
                .into(),
        );
    }
    let result_path = match (&a.result, run_dir) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(d)) => {
            if let Err(e) = std::fs::create_dir_all(d) {
                return Err(format!("--results-dir: cannot create {}: {e}", d.display()));
            }
            Some(barrier::result_path(d, r.rank))
        }
        (None, None) => None,
    };
    if (a.barrier || a.merge) && run_dir.is_none() {
        return Err("--barrier and --merge coordinate through --results-dir: give one".into());
    }
    if let Some(p) = &result_path {
        let carrier = ringload_core::result::carrier_path(p);
        if carrier == *p {
            return Err(format!(
                "--result {}: the result's interval carrier is FILE with the extension \
                 .intervals, the same name: pick a result path ending in .json",
                p.display()
            ));
        }
        if let Some(taken) = [p, &carrier].into_iter().find(|f| f.exists()) {
            return Err(format!(
                "{} already exists; results are never overwritten: pick a new run id (or \
                 --result path), or move the earlier result (its .json and .intervals) away",
                taken.display()
            ));
        }
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(d) = dir.filter(|d| !d.is_dir()) {
            return Err(format!(
                "--result {}: directory {} does not exist; create it first",
                p.display(),
                d.display()
            ));
        }
    }
    Ok(result_path)
}

/// Writes a result file for a rank that failed before its measured phase: status `failed`
/// (`interrupted` for a signal), `stop_reason` saying where, the target when known, no
/// operations. Best effort: the error is reported anyway.
pub fn record_failure(
    path: &std::path::Path,
    run_id: &str,
    r: Rank,
    workload: &serde_json::Value,
    target: Option<ringload_core::result::TargetInfo>,
    reason: FailReason,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let meta = RunMeta {
        run_id: run_id.to_string(),
        rank: r.rank,
        ranks: r.ranks,
        host: hostname(),
        status: match reason {
            FailReason::Signal => RunStatus::Interrupted,
            FailReason::Setup | FailReason::Unreachable | FailReason::Barrier => RunStatus::Failed,
        },
        workload: workload.clone(),
        stop_reason: reason.as_str().to_string(),
        peak_rss_bytes: ringload_engine::record::peak_rss_bytes(),
        target,
        barrier: None,
    };
    let totals = ringload_engine::report::RunTotals {
        start_unix_ns: now,
        end_unix_ns: now,
        total: ringload_engine::stats::Snapshot::new(now),
        intervals: Vec::new(),
        tls: None,
        proxies: Vec::new(),
        rate: None,
        client: None,
        warnings: Vec::new(),
    };
    match ringload_engine::record::build(meta, &totals).write_atomic(path) {
        Ok(()) => eprintln!("failed rank recorded in {}", path.display()),
        Err(e) => eprintln!(
            "warning: cannot record the failure in {}: {e}",
            path.display()
        ),
    }
}

/// Rank 0's `--merge`: wait (bounded) for every rank's result, folding each as it appears
/// (`merge::stream`), then write the merge of the run directory, the same outputs as
/// `ringload merge` gives. Missing or failed ranks still give a report, marked partial, and
/// exit 1.
pub fn merge_when_done(dir: &std::path::Path, ranks: u32, timeout: Duration) -> Exit {
    if ranks > 1 {
        eprintln!(
            "note: waiting up to {timeout:?} for the other ranks' results in {}",
            dir.display()
        );
    }
    let mut stream = Stream::new(dir, ranks, MergeOptions::default());
    // Kubernetes ends the other pods with SIGTERM when one fails (backoffLimit 0): merge what
    // is there at once, within the grace period, instead of waiting it out.
    let mut missing = barrier::wait_for_results(
        dir,
        ranks,
        timeout,
        &ringload_engine::run::signalled,
        &mut |r| stream.arrived(r),
    );
    if !missing.is_empty() && ringload_engine::run::signalled() {
        // The other ranks got the same signal and are writing their numbers: a short grace.
        missing = barrier::wait_for_results(dir, ranks, SIGNAL_GRACE, &|| false, &mut |_| {});
    }
    if !missing.is_empty() && ringload_engine::run::signalled() {
        eprintln!(
            "error: stopped by a signal while waiting for {} of {ranks} ranks ({}); merging what \
             is there, marked partial",
            missing.len(),
            barrier::ranges(&missing)
        );
    } else if !missing.is_empty() {
        eprintln!(
            "error: after {timeout:?}, {} of {ranks} ranks had written no result ({}); merging \
             what is there, marked partial",
            missing.len(),
            barrier::ranges(&missing)
        );
    }
    // A merge's error is printed here, as `ringload merge` prints it; the exit says the rest.
    let offline = |allow_partial| {
        crate::merge_cmd::merge(crate::cli::MergeArgs {
            results_dir: dir.to_path_buf(),
            out: None,
            allow_partial,
            resolution: Duration::from_secs(1),
            threads: None,
        })
        .map_or_else(|e| e.report(), |()| Exit::Ok)
    };
    if !missing.is_empty() {
        // Not the plain case: the folds are of no use.
        drop(stream);
        offline(true);
        return Exit::Failed;
    }
    // The streamed folds, or (when the run is not plain) the offline merge of the directory.
    let first = match stream.finish().output {
        Ok(m) => crate::merge_cmd::write(dir, &m),
        Err(e) => Err(crate::merge_cmd::merge_error(e)),
    }
    .map_or_else(|e| e.report(), |()| Exit::Ok);
    match first {
        // A rank failed: the report is still written, marked partial and naming it.
        Exit::Failed => {
            offline(true);
            Exit::Failed
        }
        exit => exit,
    }
}

/// This machine's host name, for the result file.
pub fn hostname() -> String {
    ringload_net::sys::process::hostname().unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(reason: FailReason) -> serde_json::Value {
        let dir = std::env::temp_dir().join(format!(
            "ringload-failed-rank-{}-{}",
            std::process::id(),
            reason.as_str()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rank-0.json");
        let r = Rank {
            rank: 0,
            ranks: 1,
            source: "default",
        };
        record_failure(&path, "id", r, &serde_json::json!({}), None, reason);
        let doc = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        doc
    }

    #[test]
    fn a_failed_rank_records_its_reason_and_a_signal_is_an_interruption() {
        let doc = recorded(FailReason::Signal);
        assert_eq!(doc["status"], "interrupted", "{doc}");
        assert_eq!(doc["stop_reason"], "signal", "{doc}");
        let doc = recorded(FailReason::Unreachable);
        assert_eq!(doc["status"], "failed", "{doc}");
        assert_eq!(doc["stop_reason"], "unreachable", "{doc}");
    }
}
