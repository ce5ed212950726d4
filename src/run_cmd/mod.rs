//! `ringload run`, as an outline of its phases, each in its own file: find this process's
//! rank (`ranks`), decide the workload and the target and check them (`prepare`), ready a
//! named target (`remote`) or start the built-in one (`builtin`), load (`load`), write the
//! result file (`record`), then the verdict (`verdict`) and rank 0's `--merge`
//! (`multinode`). A failure after the result path is known still leaves a result file.

mod builtin;
mod load;
mod multinode;
mod plan;
mod prepare;
mod ranks;
mod record;
mod remote;
mod resolve;
mod target;
mod tls;
mod verdict;
mod workload_args;

use ringload_engine::budget;
use ringload_engine::names::NameList;
use ringload_launcher::spec::Loaded;

use crate::cli::RunArgs;
use crate::exit::{CmdError, Exit};
use record::{FailReason, Recorder};

/// Runs `ringload run`: `Ok` carries the verdict of a run that completed (it may still be
/// `Exit::Failed`, its message already printed); `Err` a run that could not complete.
pub fn run(a: RunArgs, spec: Option<&Loaded>) -> Result<Exit, CmdError> {
    if a.getloaderid {
        return print_loader_id(&a, spec);
    }
    let test_free_fds = ready_process(spec);
    let r = ranks::rank(&a, spec)?;
    let prepare::Prepared {
        run_id,
        mut w,
        resolved,
        builtin_tls,
        run_dir,
        result_path,
    } = prepare::prepare(&a, r)?;
    // From here on a failure still leaves this rank's result file (status failed), so a merge
    // names the rank and why instead of reporting it missing.
    let url = resolved.endpoint.as_deref().unwrap_or_default();
    let mut rec = Recorder::new(result_path, &run_id, r, &w, resolved.info(url));
    let mut names = match &w.filelist {
        Some(p) => NameList::from_filelist(p)
            .map_err(|e| rec.fail(FailReason::Setup, CmdError::usage(e)))?,
        None => NameList::new(),
    };
    // The built-in target serves as long as `server` lives.
    let (server, mut control) = match &resolved.endpoint {
        Some(url) => (
            None,
            remote::ready(
                &mut w,
                url,
                &resolved,
                (a.create_bucket, a.random_proxy),
                a.bprops.as_deref(),
                &mut names,
                &rec,
            )?,
        ),
        None => {
            // `prepare` refused --random-proxy here (no cluster map).
            let (b, c) = builtin::start(
                &mut w,
                a.prefill,
                a.cleanup,
                &mut names,
                &mut rec,
                builtin_tls,
            )?;
            (Some(b), c)
        }
    };
    // The aisloader front end prints its runtime configuration once the names are known; its
    // -dry-run stops there.
    if let Some(m) = &a.aisloader {
        if crate::aisloader::before_load(m, names.len() as u64, !w.put_only()) {
            return Ok(Exit::Ok);
        }
    }
    let l = load::Load {
        a: &a,
        r,
        resolved: &resolved,
        run_dir: run_dir.as_deref(),
        test_free_fds,
    };
    let outcome = load::load(&l, &w, names, control.as_mut(), &rec)?;
    drop(server);
    record::finish(&a, &w, &rec, &outcome, control.as_ref())?;
    if resolved.builtin() {
        eprintln!(
            "note: this run loaded the built-in target on loopback ({}): nothing named a \
             target, so the figures are ringload's own server, not a storage system",
            rec.target.endpoint
        );
    }
    let verdict = verdict::exit_code(&a, w.protocol, &rec.target.endpoint, &outcome);
    match (&run_dir, a.merge && r.rank == 0) {
        (Some(d), true) => Ok(verdict.max(multinode::merge_when_done(d, r.ranks, a.merge_timeout))),
        _ => Ok(verdict),
    }
}

/// The checks `run` makes before its first connection or file, and nothing else (for the
/// documentation tests' parse-only mode).
pub fn check_only(a: &RunArgs, spec: Option<&Loaded>) -> Result<(), CmdError> {
    let r = ranks::rank(a, spec)?;
    prepare::check(a, r).map(|_| ())
}

/// The loader id this command line's names and StatsD prefix use (`--getloaderid`).
/// `run --getloaderid`: this rank's loader id as `0x<hex>` (the one names and StatsD use),
/// with no connection and no file.
fn print_loader_id(a: &RunArgs, spec: Option<&Loaded>) -> Result<Exit, CmdError> {
    let r = ranks::rank(a, spec)?;
    let w = workload_args::workload(a, r, "");
    w.validate().map_err(CmdError::usage)?;
    println!("0x{:x}", ringload_engine::naming::loader_id(&w));
    Ok(Exit::Ok)
}

pub fn loader_id(a: &RunArgs) -> u64 {
    let r = ringload_launcher::ranks::Rank {
        rank: 0,
        ranks: 1,
        source: "flags",
    };
    ringload_engine::naming::loader_id(&workload_args::workload(a, r, ""))
}

/// What the process needs before any phase: the descriptor limit raised, the spec's
/// credentials in place, and signal handlers that let a signal during the listing or at the
/// barrier end the rank in order (a result file, status interrupted) instead of killing it.
/// Returns the test-only count of descriptors to leave free (`budget::TEST_FREE_FDS_ENV`).
fn ready_process(spec: Option<&Loaded>) -> Option<usize> {
    if let Err(e) = budget::raise_nofile() {
        eprintln!("note: cannot raise the descriptor limit (ulimit -n) to its hard limit: {e}");
    }
    // Test-only switch, read once.
    let test_free_fds = std::env::var(budget::TEST_FREE_FDS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(l) = spec {
        multinode::apply_credential_refs(l);
    }
    ringload_engine::run::install_signal_handlers();
    test_free_fds
}
