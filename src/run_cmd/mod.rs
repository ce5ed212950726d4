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
mod rate_args;
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
    // The aisloader front end's `-duration 0`: no load; `-cleanup` destroys an ais:// bucket.
    if a.aisloader.as_ref().is_some_and(|m| m.noop) {
        return Ok(noop_cleanup(&a, &mut w, resolved.endpoint.as_deref()));
    }
    // From here on a failure still leaves this rank's result file (status failed), so a merge
    // names the rank and why instead of reporting it missing.
    let url = resolved.endpoint.as_deref().unwrap_or_default();
    let mut rec = Recorder::new(result_path, &run_id, r, &w, resolved.info(url));
    let metrics = load::bind_metrics(&a).map_err(|e| rec.fail(FailReason::Setup, e))?;
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
        let stop = crate::aisloader::before_load(m, names.len() as u64, !w.put_only())
            .map_err(|e| rec.fail(FailReason::Setup, CmdError::failed(e)))?;
        if stop {
            return Ok(Exit::Ok);
        }
    }
    let l = load::Load {
        a: &a,
        r,
        run_id: &run_id,
        resolved: &resolved,
        run_dir: run_dir.as_deref(),
        test_free_fds,
        metrics,
    };
    let outcome = load::load(l, &w, names, control.as_mut(), &rec)?;
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
    println!("0x{:x}", loader_id_of(a, r)?);
    Ok(Exit::Ok)
}

/// The loader id of a one-rank run of this command line, once its workload passed the checks
/// (no connection, no file, no credentials: the aisloader front end's `-getloaderid`).
pub fn checked_loader_id(a: &RunArgs) -> Result<u64, CmdError> {
    let r = ringload_launcher::ranks::Rank {
        rank: 0,
        ranks: 1,
        source: "flags",
    };
    loader_id_of(a, r)
}

/// Rank `r`'s loader id for this command line, once its workload passed the checks.
fn loader_id_of(a: &RunArgs, r: ringload_launcher::ranks::Rank) -> Result<u64, CmdError> {
    let mut w = workload_args::workload(a, r, "");
    // The protocol is resolved with the target; the checks that depend on it (e.g. --latest
    // is AIS only) see the one the command line names, else AIS, the only one they allow.
    w.protocol = a
        .protocol
        .unwrap_or(ringload_engine::workload::Protocol::Ais);
    // The bucket is checked with the target (`PROVIDER://NAME` is split there); its name here.
    if let Some((_, name)) = w.bucket.rsplit_once('/') {
        w.bucket = name.to_string();
    }
    if w.bucket.is_empty() {
        w.bucket = "checked-with-the-target".into();
    }
    w.validate().map_err(CmdError::usage)?;
    Ok(ringload_engine::naming::loader_id(&w))
}

/// aisloader's cleanup-only run (`-duration 0 -cleanup=true`): destroys an `ais://` bucket
/// (its error ignored, as aisloader does); a remote bucket has no names to delete.
fn noop_cleanup(
    a: &RunArgs,
    w: &mut ringload_engine::workload::Workload,
    url: Option<&str>,
) -> Exit {
    if a.cleanup {
        crate::aisloader::cleanup_line("Cleaning up...");
        if let Some(ep) = url.and_then(|u| ringload_engine::workload::Endpoint::parse(u).ok()) {
            w.endpoint = Some(ep);
            target::Control::new(w).destroy_ais_bucket(w);
        }
        crate::aisloader::cleanup_line("Done");
    }
    Exit::Ok
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
