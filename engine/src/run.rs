//! One run of the engine: start the pinned cores, fold their statistics, stop on the first
//! stop condition or signal, and hand back totals for the result file.
//!
//! The calling thread is the reporter: it receives each core's one-second ticks, prints the
//! interval table and the live line, enforces `--duration`, and turns SIGINT/SIGTERM into a
//! graceful stop (stop issuing, drain for up to [`DRAIN_GRACE`], then cancel what is left).
//! A second signal exits at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::SockAddr;

use crate::driver::{run_worker, DriverError};
use crate::names::NameList;
use crate::report::{ReportConfig, Reporter, RunTotals};
use crate::selector::GetSelector;
use crate::stats::unix_now_ns;
use crate::worker::{Shared, StopReason, Worker, CONNECT_GIVEUP};
use crate::workload::{DriverKind, Sampler, Workload};

/// How long in-flight requests may finish after a stop before they are cancelled.
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// How long the pre-flight connection check waits.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the reporter wakes up when no tick arrives.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot connect to {url}: {err}. {}", unreachable_fix(err))]
    Unreachable { url: String, err: std::io::Error },
    #[error("no endpoint: set --endpoint (or leave it out to use the built-in target)")]
    NoEndpoint,
    #[error(
        "nothing to GET: this run reads ({pct}% GET) but has no object names. Give --filelist, \
         or add PUTs with --pctput, or use the built-in target (omit --endpoint)"
    )]
    NoNames { pct: u32 },
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("cannot start core thread: {0}")]
    Thread(std::io::Error),
}

/// The fix for a failed pre-flight connection: the local resource that ran out, if that was
/// the cause, otherwise a wrong or stopped server.
fn unreachable_fix(err: &std::io::Error) -> String {
    match crate::budget::io_cause(err) {
        Some(cause) => format!("This means {cause}"),
        None => "Is the server running and listening there? Check --endpoint (or leave it out \
                 to use the built-in target)"
            .into(),
    }
}

/// What a finished run hands back.
pub struct RunOutcome {
    pub totals: RunTotals,
    pub reason: StopReason,
    pub driver: DriverKind,
    /// Cores actually used.
    pub cores: usize,
    /// PUTs issued (their names are the namer's counters 1..=puts), for `--cleanup`.
    pub puts: u64,
}

/// Options that are about presentation, not about the load.
pub struct RunOptions {
    /// Draw the live status line on stderr.
    pub live: bool,
    /// Print the interval table and the summary on stderr instead of stdout (so that stdout
    /// carries only machine-readable output, e.g. with `--json`).
    pub table_to_stderr: bool,
}

static SIGNALS: AtomicU64 = AtomicU64::new(0);
static HANDLERS: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    if SIGNALS.fetch_add(1, Ordering::SeqCst) >= 1 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// True once SIGINT or SIGTERM has arrived after [`install_signal_handlers`] (a second one
/// exits at once). Lets the caller cut short what it does around a run, e.g. a barrier or the
/// wait for other ranks; a run started after the signal stops at once, as interrupted.
pub fn signalled() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Installs the SIGINT/SIGTERM handlers (once per process; [`run`] does it too). Call it
/// early when the work before the run (listing, a barrier) must not be killed by a signal.
pub fn install_signal_handlers() {
    if HANDLERS.swap(true, Ordering::SeqCst) {
        return;
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only touches an atomic and calls _exit, both async-signal-safe.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

/// Runs `w` against its endpoint. GET names come from `names` (may be empty for PUT runs).
pub fn run(w: &Workload, names: NameList, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let ep = w.endpoint.clone().ok_or(RunError::NoEndpoint)?;
    if !w.put_only() && names.is_empty() && w.get_only() {
        return Err(RunError::NoNames {
            pct: 100 - w.pctput,
        });
    }
    std::net::TcpStream::connect_timeout(&ep.addr, PREFLIGHT_TIMEOUT).map_err(|err| {
        RunError::Unreachable {
            url: ep.url.clone(),
            err,
        }
    })?;
    install_signal_handlers();
    let cores = w.cores.min(w.numworkers as usize).max(1);
    let selector = (!names.is_empty() && !w.put_only()).then(|| {
        let s = GetSelector::new(names.len() as u64, w.uniquegets, w.epochs, w.seed);
        match w.sampler {
            Sampler::Distributed => s.sharded(u64::from(w.shard.0), u64::from(w.shard.1)),
            Sampler::Local => s,
        }
    });
    let prefix = format!("{}/{}/", ep.base_path, w.bucket);
    let started = Instant::now();
    let shared = Arc::new(Shared {
        workload: w.clone(),
        addr: SockAddr::from(ep.addr),
        object_prefix: prefix.trim_start_matches('/').as_bytes().to_vec(),
        names,
        selector,
        ops: AtomicU64::new(0),
        puts: AtomicU64::new(0),
        put_bytes: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        cancel: AtomicBool::new(false),
        connected: AtomicBool::new(false),
        any_success: AtomicBool::new(false),
        forbidden: AtomicU64::new(0),
        reason: Default::default(),
        started,
        start_unix_ns: unix_now_ns(),
    });
    let (tx, rx) = mpsc::channel();
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let mut handles = Vec::with_capacity(cores);
    for core in 0..cores {
        let conns =
            w.numworkers as usize / cores + usize::from(core < w.numworkers as usize % cores);
        let (sh, tx) = (shared.clone(), tx.clone());
        let pin = (!ids.is_empty()).then(|| ids[core % ids.len()]);
        let driver = w.driver;
        let h = std::thread::Builder::new()
            .name(format!("ringload-core-{core}"))
            .spawn(move || {
                if let Some(id) = pin {
                    core_affinity::set_for_current(id);
                }
                let mut worker = Worker::new(core, conns, sh.clone(), tx);
                let r = run_worker(&mut worker, driver);
                if r.is_err() {
                    sh.stop(StopReason::Finished);
                    sh.cancel.store(true, Ordering::Relaxed);
                }
                r
            })
            .map_err(RunError::Thread)?;
        handles.push(h);
    }
    drop(tx);
    let cfg = ReportConfig {
        statsinterval: w.statsinterval,
        duration: w.duration,
        cores,
        live: opts.live,
    };
    let table: Box<dyn std::io::Write> = if opts.table_to_stderr {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let mut reporter = Reporter::new(cfg, shared.start_unix_ns, table, std::io::stderr());
    let deadline = w.duration.map(|d| started + d);
    let mut stopped_at: Option<Instant> = None;
    loop {
        // Wake at the deadline itself, so --duration is not overshot by a poll period.
        let wait = deadline.map_or(POLL, |d| {
            d.saturating_duration_since(Instant::now()).min(POLL)
        });
        match rx.recv_timeout(wait) {
            Ok((core, snap)) => reporter.add_tick(core, snap),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if SIGNALS.load(Ordering::SeqCst) > 0 && !shared.stopping() {
            shared.stop(StopReason::Signal);
        }
        if deadline.is_some_and(|d| now >= d) && !shared.stopping() {
            shared.stop(StopReason::Duration);
        }
        if shared.stopping() {
            let t = *stopped_at.get_or_insert(now);
            if now.duration_since(t) >= DRAIN_GRACE {
                shared.cancel.store(true, Ordering::Relaxed);
            }
        }
        if !shared.connected.load(Ordering::Relaxed) && started.elapsed() > CONNECT_GIVEUP * 2 {
            shared.stop(StopReason::ConnectFailed);
        }
        reporter.poll(unix_now_ns());
    }
    let end = unix_now_ns();
    let mut driver = w.driver;
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(d)) => driver = d,
            Ok(Err(e)) => first_err = first_err.or(Some(e)),
            Err(_) => {}
        }
    }
    if let Some(e) = first_err {
        return Err(e.into());
    }
    let totals = reporter.finish(end);
    Ok(RunOutcome {
        totals,
        reason: shared.reason(),
        driver,
        cores,
        puts: shared.puts.load(Ordering::Relaxed),
    })
}
