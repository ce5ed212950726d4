//! Everything `ringload run` decides before it touches a target: the run id, the workload
//! (`workload_args`), the target and its protocol (`resolve`), the protocol's settings
//! (`target::configure`, the AuthN token among them; `target::check_ais_flags`), whether the
//! run fits this machine (`builtin::check_budget`), the
//! flag combinations that cannot work, and where the result file goes. Every failure here is
//! a usage error and leaves no result file. The TLS settings (`tls`) are decided here too, and
//! an `https://` endpoint's TLS configuration is built here, so a bad CA file is a usage error
//! before any connection.

use std::path::PathBuf;

use ringload_engine::workload::{Protocol, Workload};
use ringload_launcher::ranks::Rank;
use ringload_net::tls::ClientOptions;

use super::resolve::{self, Resolved};
use super::{multinode, rate_args, target, tls, workload_args};
use crate::cli::RunArgs;
use crate::exit::CmdError;

/// A run that passed every check that needs no target.
pub struct Prepared {
    pub run_id: String,
    pub w: Workload,
    pub resolved: Resolved,
    /// `run --tls`: the options for the built-in target's TLS (`None` for a named target,
    /// whose configuration is already in `w.tls`, and for a plaintext run).
    pub builtin_tls: Option<ClientOptions>,
    /// `<results dir>/<run id>`, with `--results-dir`.
    pub run_dir: Option<PathBuf>,
    pub result_path: Option<PathBuf>,
}

pub fn prepare(a: &RunArgs, r: Rank) -> Result<Prepared, CmdError> {
    let (run_id, w, resolved, builtin_tls) = check(a, r)?;
    let run_dir = a.results_dir.as_ref().map(|d| d.join(&run_id));
    let result_path = multinode::result_path(a, run_dir.as_deref(), r).map_err(CmdError::usage)?;
    Ok(Prepared {
        run_id,
        w,
        resolved,
        builtin_tls,
        run_dir,
        result_path,
    })
}

/// Every check of [`prepare`] that touches neither a target nor the file system: the run id,
/// the workload, the target and its protocol, the TLS settings (an https endpoint's
/// configuration, read from its files, goes into `w.tls`; the built-in target's options are
/// returned), the protocol's settings, the budget and the flag combinations.
/// `RINGLOAD_DOC_CHECK` stops after it.
pub fn check(
    a: &RunArgs,
    r: Rank,
) -> Result<(String, Workload, Resolved, Option<ClientOptions>), CmdError> {
    let run_id = a.run_id.clone().unwrap_or_else(default_run_id);
    let mut w = workload_args::workload(a, r, &run_id);
    let env = |k: &str| std::env::var(k).ok();
    w.expect_min = workload_args::expect_min(&env).map_err(CmdError::usage)?;
    w.rate = rate_args::plan(a).map_err(CmdError::usage)?;
    if let (Some(plan), None) = (&w.rate, a.duration) {
        let bounded = a.totalputsize > 0 || a.maxputs > 0 || a.epochs > 0;
        if !bounded {
            let (d, note) = rate_args::default_duration(plan, workload_args::DEFAULT_DURATION);
            w.duration = d;
            eprintln!("note: {note}");
        }
    }
    let resolved =
        resolve::resolve(&resolve::Given::from_args(a), &env).map_err(CmdError::usage)?;
    for n in &resolved.notes {
        eprintln!("note: {n}");
    }
    w.protocol = resolved.protocol;
    let tls = tls::plan(a, resolved.endpoint.as_deref(), &env).map_err(CmdError::usage)?;
    for n in &tls.notes {
        eprintln!("note: {n}");
    }
    let builtin_tls = match (&resolved.endpoint, &tls.opts) {
        (Some(_), Some(o)) => {
            let built =
                ringload_net::tls::client(o).map_err(|e| CmdError::usage(tls.setup_error(&e)))?;
            if let Some(n) = &built.roots_note {
                eprintln!("note: {n}");
            }
            w.tls = Some(built);
            None
        }
        (_, o) => o.clone(),
    };
    target::configure(
        &mut w,
        &a.bucket,
        resolved.builtin(),
        a.token_file.as_deref(),
    )
    .map_err(CmdError::usage)?;
    target::check_ais_flags(&w, a.bprops.as_deref(), resolved.builtin())
        .map_err(CmdError::usage)?;
    // The aisloader front end always passes aisloader's values (its flag table warns about
    // the ones that change nothing); aisloader ignores them where they cannot apply, and so
    // does a run it started.
    let front = a.aisloader.is_some();
    let cksum = a
        .cksum_type
        .filter(|_| !front || w.protocol == Protocol::Ais);
    target::check_cksum_type(&mut w, cksum).map_err(CmdError::usage)?;
    target::check_random_proxy(&w, a.random_proxy, resolved.builtin()).map_err(CmdError::usage)?;
    let evict = target::check_evict_batchsize(&w, a.evict_batchsize, a.cleanup);
    if !front {
        evict.map_err(CmdError::usage)?;
    }
    target::check_create_bucket(&w, &a.bucket, a.create_bucket, resolved.builtin())
        .map_err(CmdError::usage)?;
    target::check_s3_endpoint(&w, resolved.endpoint.as_deref()).map_err(CmdError::usage)?;
    if let Some(n) = target::s3_dotted_bucket_note(&w, resolved.endpoint.as_deref()) {
        eprintln!("note: {n}");
    }
    w.validate().map_err(CmdError::usage)?;
    for n in ringload_engine::workload::ml::notes(&w) {
        eprintln!("note: {n}");
    }
    let serves_tls = builtin_tls.is_some();
    super::builtin::check_budget(&w, resolved.builtin(), serves_tls, a.prefill)
        .map_err(CmdError::usage)?;
    if a.cleanup && r.ranks > 1 {
        return Err(CmdError::usage(format!(
            "--cleanup with {} ranks would let the first rank to finish remove the bucket under \
             the others: leave it out of multi-rank runs and remove the bucket once after the \
             job (e.g. `ais bucket rm ais://BUCKET`)",
            r.ranks
        )));
    }
    if a.cleanup && w.protocol != Protocol::Ais {
        return Err(CmdError::usage(
            "--cleanup works with --protocol ais only (it destroys or empties an AIS bucket)",
        ));
    }
    if a.trace_http && a.statsd.is_none() && !front {
        return Err(CmdError::usage(
            "--trace-http sends the per-phase timers to --statsd, and there is none: the phases \
             (connect, redirect, first byte, body) are always in the result and the summary, so \
             drop --trace-http, or add --statsd HOST:PORT",
        ));
    }
    if let Some(r) = a.max_error_rate {
        if !(0.0..=1.0).contains(&r) {
            return Err(CmdError::usage(format!(
                "--max-error-rate {r} must be a fraction in 0..=1"
            )));
        }
    }
    Ok((run_id, w, resolved, builtin_tls))
}

/// With no `--run-id`: the same fresh id as a spec's `id = "auto"`.
fn default_run_id() -> String {
    ringload_launcher::spec::auto_id(std::time::SystemTime::now())
}
