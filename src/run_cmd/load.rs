//! The measured phase: refuse a read-only run with no names, serve `--metrics-listen` (bound
//! earlier, by [`bind_metrics`], and its URL printed now), resolve `--statsd`, wait at `--barrier` for the other ranks, print the plan
//! line, run the engine (holding descriptors when the test-only budget switch asks), map its
//! refusal to an exit, and run `--cleanup` after it.

use std::io::IsTerminal;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::Path;

use ringload_engine::budget;
use ringload_engine::metrics::{self, MetricsListen};
use ringload_engine::names::NameList;
use ringload_engine::naming::loader_id;
use ringload_engine::report::statsd::{self, StatsdConfig};
use ringload_engine::run::{self, RunError, RunOptions, RunOutcome};
use ringload_engine::workload::Workload;
use ringload_launcher::barrier;
use ringload_launcher::ranks::Rank;

use super::plan;
use super::record::{FailReason, Recorder};
use super::resolve::Resolved;
use super::target::Control;
use crate::cli::RunArgs;
use crate::exit::CmdError;

/// What the load needs besides the workload and its names.
pub struct Load<'a> {
    pub a: &'a RunArgs,
    pub r: Rank,
    pub run_id: &'a str,
    pub resolved: &'a Resolved,
    pub run_dir: Option<&'a Path>,
    /// Descriptors to leave free (test-only, `budget::TEST_FREE_FDS_ENV`).
    pub test_free_fds: Option<usize>,
    /// `--metrics-listen`, bound by [`bind_metrics`].
    pub metrics: Option<TcpListener>,
}

/// Runs the load over `names`; a failure before the measured phase is recorded in `rec`.
pub fn load(
    l: Load,
    w: &Workload,
    names: NameList,
    control: Option<&mut Control>,
    rec: &Recorder,
) -> Result<RunOutcome, CmdError> {
    let a = l.a;
    // Whatever readied the endpoint (a named one, or the built-in target), an https one runs
    // only with its TLS configuration.
    w.validate()
        .map_err(|e| rec.fail(FailReason::Setup, CmdError::usage(e)))?;
    if w.get_only() && names.is_empty() {
        return Err(rec.fail(
            FailReason::Setup,
            CmdError::usage(
                "nothing to GET: a read-only run needs object names. Give --filelist FILE, add \
                 PUTs with --pctput, or omit --endpoint to use the built-in target",
            ),
        ));
    }
    // Bound before the target was readied ([`bind_metrics`]); served from the load's start.
    let metrics = l.metrics.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            eprintln!("metrics: {}", metrics::url(addr));
        }
        MetricsListen {
            listener,
            info: metrics_info(l.run_id, &l.r, l.resolved, w),
        }
    });
    let statsd = match a.statsd.as_deref().map(|v| statsd_config(v, w)).transpose() {
        Ok(s) => s,
        // aisloader prints its line and runs without StatsD.
        Err(_) if a.aisloader.is_some() => {
            crate::aisloader::statsd_failed();
            None
        }
        Err(e) => return Err(rec.fail(FailReason::Setup, e)),
    };
    if let (true, Some(d)) = (a.barrier, l.run_dir) {
        let stop = run::signalled;
        let r = l.r;
        match barrier::check_in_and_wait(d, r.rank, r.ranks, a.barrier_timeout, &stop) {
            Ok(passed) => {
                eprintln!("{}", barrier::checked_in_note(r.ranks, passed.waited));
                rec.barrier.set(Some(passed.record()));
            }
            Err(e) if stop() => return Err(rec.fail(FailReason::Signal, CmdError::failed(e))),
            Err(e) => return Err(rec.fail(FailReason::Barrier, CmdError::failed(e))),
        }
    }
    eprintln!(
        "{}",
        plan::line(w, names.len(), names.total_bytes(), l.resolved)
    );
    let opts = RunOptions {
        live: std::io::stderr().is_terminal() && !a.json,
        table_to_stderr: a.json,
        aisloader: a.aisloader.as_ref().map(|m| m.output.clone()),
        statsd,
        metrics,
    };
    let listed = if a.cleanup {
        names.clone()
    } else {
        NameList::new()
    };
    // Test-only (budget::TEST_FREE_FDS_ENV): descriptors taken so that the load hits EMFILE.
    let held = l.test_free_fds.map(budget::hold_all_fds_but);
    let outcome = run::run(w, names, &opts);
    drop(held);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e @ (RunError::NoNames { .. } | RunError::NoEndpoint | RunError::Inject(_))) => {
            return Err(rec.fail(FailReason::Setup, CmdError::usage(e)))
        }
        Err(RunError::Unreachable { url, err }) => {
            let msg = l.resolved.unreachable(&url, &err);
            return Err(rec.fail(FailReason::Unreachable, CmdError::failed(msg)));
        }
        Err(e) => return Err(rec.fail(FailReason::Setup, CmdError::failed(e))),
    };
    if let Some(c) = control.filter(|_| a.cleanup) {
        // `prepare` refused a batch size that cannot apply (the aisloader front end's is
        // ignored then, as aisloader does).
        let batch = super::target::check_evict_batchsize(w, a.evict_batchsize, a.cleanup)
            .unwrap_or(super::target::DEFAULT_EVICT_BATCH);
        let ais_lines = a.aisloader.is_some();
        if let Err(e) = c.cleanup(w, (&listed, outcome.puts), batch, ais_lines) {
            eprintln!("warning: {e}");
        }
    }
    Ok(outcome)
}

/// Binds `--metrics-listen ADDR`, before the target is readied (a listing or a prefill can
/// take long), so a bad or busy address fails at once.
pub fn bind_metrics(a: &RunArgs) -> Result<Option<TcpListener>, CmdError> {
    a.metrics_listen
        .as_deref()
        .map(|v| metrics::bind(v).map_err(CmdError::usage))
        .transpose()
}

/// What `ringload_info` says about the run: its id, this rank, the URL loaded, the protocol.
fn metrics_info(run_id: &str, r: &Rank, resolved: &Resolved, w: &Workload) -> metrics::Info {
    metrics::Info {
        run_id: run_id.to_string(),
        rank: r.rank,
        target: w
            .endpoint
            .as_ref()
            .map(|e| e.url.clone())
            .unwrap_or_default(),
        protocol: resolved.protocol.as_str().to_string(),
    }
}

/// `--statsd HOST:PORT` resolved (the first address), under aisloader's prefix for this host
/// and loader id.
fn statsd_config(value: &str, w: &Workload) -> Result<StatsdConfig, CmdError> {
    let addr = resolve_statsd(value).map_err(CmdError::usage)?;
    let host = ringload_net::sys::process::hostname()
        .map_err(|e| CmdError::failed(format!("--statsd: cannot read the host name: {e}")))?;
    Ok(StatsdConfig {
        addr,
        prefix: statsd::prefix(&host, loader_id(w)),
        phase_timers: w.trace_http,
    })
}

/// The address of `--statsd HOST:PORT`, or why it is refused and the fix.
fn resolve_statsd(value: &str) -> Result<SocketAddr, String> {
    let fix = "Give HOST:PORT, e.g. --statsd 127.0.0.1:8125 ([ADDR]:PORT for IPv6)";
    let mut addrs = value
        .to_socket_addrs()
        .map_err(|e| format!("--statsd {value:?}: {e}. {fix}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("--statsd {value:?}: the host has no address. {fix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statsd_takes_host_and_port_and_refuses_the_rest_naming_the_flag() {
        assert_eq!(
            resolve_statsd("127.0.0.1:8125").unwrap(),
            "127.0.0.1:8125".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(resolve_statsd("[::1]:9").unwrap().port(), 9);
        assert_eq!(resolve_statsd("localhost:8125").unwrap().port(), 8125);
        for bad in ["127.0.0.1", "127.0.0.1:port", ":8125x", ""] {
            let e = resolve_statsd(bad).unwrap_err();
            assert!(e.starts_with("--statsd "), "{e}");
            assert!(e.contains("Give HOST:PORT"), "{e}");
        }
        let w = Workload {
            loaderid: "10".into(),
            ..Workload::default()
        };
        let c = statsd_config("127.0.0.1:8125", &w).unwrap();
        assert!(c.prefix.starts_with("aisloader."), "{}", c.prefix);
        assert!(c.prefix.ends_with("-a"), "{}", c.prefix);
    }
}
