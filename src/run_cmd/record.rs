//! This rank's result file, failed or finished: why a rank failed before its measured phase
//! ([`FailReason`], written as `stop_reason`), the [`Recorder`] that leaves a result file for
//! such a failure, and [`finish`], which builds the document of a finished run, prints it
//! with `--json` and writes it (never losing it: a failed write prints it instead).

use std::path::PathBuf;

use ringload_core::result::{BarrierRecord, RunStatus, TargetInfo};
use ringload_engine::record::RunMeta;
use ringload_engine::run::RunOutcome;
use ringload_engine::worker::StopReason;
use ringload_engine::workload::Workload;
use ringload_launcher::ranks::Rank;

use super::multinode;
use super::target::Control;
use crate::cli::RunArgs;
use crate::exit::CmdError;

/// Where a rank failed before or instead of its measured phase; its name is the result file's
/// `stop_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// Setting the run up: the name list, the endpoint, the bucket, the listing, the built-in
    /// target, or the engine refusing to start.
    Setup,
    /// The target did not accept a connection.
    Unreachable,
    /// A signal stopped the rank (at the barrier); its status is `interrupted`.
    Signal,
    /// The ranks did not all check in at the barrier in time.
    Barrier,
}

impl FailReason {
    /// The `stop_reason` written into the result file.
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::Setup => "setup",
            FailReason::Unreachable => "unreachable",
            FailReason::Signal => "signal",
            FailReason::Barrier => "barrier",
        }
    }
}

/// Leaves a result file (status failed, or interrupted for a signal) for a rank that fails
/// after its result path is known, so a merge names the rank and why instead of reporting it
/// missing.
pub struct Recorder {
    path: Option<PathBuf>,
    run_id: String,
    rank: Rank,
    /// The workload as set up, before the endpoint is known.
    setup: serde_json::Value,
    /// The target loaded; the built-in target's URL is filled in once it runs.
    pub target: TargetInfo,
    /// What passing the start barrier cost, once the rank has.
    pub barrier: std::cell::Cell<Option<BarrierRecord>>,
}

impl Recorder {
    pub fn new(
        path: Option<PathBuf>,
        run_id: &str,
        rank: Rank,
        w: &Workload,
        target: TargetInfo,
    ) -> Recorder {
        Recorder {
            path,
            run_id: run_id.to_string(),
            rank,
            setup: serde_json::to_value(w).unwrap_or_default(),
            target,
            barrier: std::cell::Cell::new(None),
        }
    }

    /// The result file's path, if there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Records the failure (when there is a result file) and hands the error back.
    pub fn fail(&self, reason: FailReason, e: CmdError) -> CmdError {
        if let Some(p) = &self.path {
            let t = Some(self.target.clone());
            multinode::record_failure(p, &self.run_id, self.rank, &self.setup, t, reason);
        }
        e
    }
}

/// Builds the finished run's document, prints it with `--json` and writes the result file.
pub fn finish(
    a: &RunArgs,
    w: &Workload,
    rec: &Recorder,
    outcome: &RunOutcome,
    control: Option<&Control>,
) -> Result<(), CmdError> {
    let status = match outcome.reason {
        // A core panicked or its driver failed: the numbers are partial.
        _ if outcome.failure.is_some() => RunStatus::Failed,
        StopReason::Signal => RunStatus::Interrupted,
        StopReason::ConnectFailed | StopReason::TlsFailed | StopReason::Forbidden => {
            RunStatus::Failed
        }
        _ => RunStatus::Completed,
    };
    let mut workload_json = serde_json::to_value(w).unwrap_or_default();
    if let Some(obj) = workload_json.as_object_mut() {
        obj.insert(
            "driver_used".into(),
            serde_json::to_value(outcome.driver).unwrap_or_default(),
        );
        obj.insert("cores_used".into(), outcome.cores.into());
    }
    let meta = RunMeta {
        run_id: rec.run_id.clone(),
        rank: rec.rank.rank,
        ranks: rec.rank.ranks,
        host: multinode::hostname(),
        status,
        workload: workload_json,
        stop_reason: outcome.reason.as_str().to_string(),
        peak_rss_bytes: ringload_engine::record::peak_rss_bytes(),
        target: Some(rec.target.clone()),
        barrier: rec.barrier.get(),
    };
    let mut doc = ringload_engine::record::build(meta, &outcome.totals);
    doc.error = outcome.failure.clone();
    if let Some(c) = control.filter(|c| !c.list_stats.is_empty()) {
        doc.ops.insert("list".into(), c.list_stats.summary());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    if let Some(path) = rec.path() {
        if let Err(e) = doc.write_atomic(path) {
            // Never lose a run's numbers: hand the document over on stderr instead.
            if !a.json {
                eprintln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            return Err(CmdError::failed(format!(
                "{e} (the result document was printed above instead)"
            )));
        }
        eprintln!("result written to {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_reasons_keep_their_result_file_names() {
        let all = [
            FailReason::Setup,
            FailReason::Unreachable,
            FailReason::Signal,
            FailReason::Barrier,
        ];
        assert_eq!(
            all.map(FailReason::as_str),
            ["setup", "unreachable", "signal", "barrier"]
        );
    }
}
