//! One run of the engine: start the pinned cores, fold their statistics, stop on the first
//! stop condition or signal, and hand back totals for the result file.
//!
//! The calling thread is the reporter: it receives each core's one-second ticks, prints the
//! interval table and the live line, enforces `--duration`, and turns SIGINT, SIGTERM, SIGHUP
//! (a dropped SSH session) and SIGQUIT into a graceful stop (stop issuing, drain for up to
//! [`DRAIN_GRACE`], then cancel what is left), so the result is still written. A second signal
//! other than SIGHUP exits at once with code 130 (a hangup can arrive twice).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
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
    #[error(
        "cannot connect to {url}: {err}. Is the server running and listening there? \
         Check --endpoint (or leave it out to use the built-in target)"
    )]
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

/// Which of stdout (bit 0) and stderr (bit 1) were terminals when the handlers were installed.
static TTY_OUT: AtomicU8 = AtomicU8::new(0);
static HUNG_UP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    if sig == libc::SIGHUP {
        // The terminal is gone (a dropped SSH session): writing to it would fail, so output
        // meant for it is discarded from now on. A hangup may arrive more than once (the shell
        // forwards it to its jobs, then the kernel when the shell exits), so it never forces
        // the exit: the run still stops in order and writes its result.
        if !HUNG_UP.swap(true, Ordering::SeqCst) {
            detach_terminal();
        }
        SIGNALS.fetch_add(1, Ordering::SeqCst);
        return;
    }
    if SIGNALS.fetch_add(1, Ordering::SeqCst) >= 1 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// Points stdout and stderr, where they were terminals, at /dev/null. Async-signal-safe.
fn detach_terminal() {
    let ttys = TTY_OUT.load(Ordering::SeqCst);
    if ttys == 0 {
        return;
    }
    // SAFETY: open, dup2 and close are async-signal-safe; the path is a NUL-terminated
    // literal; the descriptors touched are this process's stdout and stderr.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if null < 0 {
            return;
        }
        for (bit, fd) in [(1u8, 1), (2, 2)] {
            if ttys & bit != 0 {
                libc::dup2(null, fd);
            }
        }
        libc::close(null);
    }
}

/// The signals that stop a run gracefully: SIGINT, SIGTERM, SIGHUP (the terminal hung up) and
/// SIGQUIT. A second one other than SIGHUP exits at once with code 130.
pub const STOP_SIGNALS: [libc::c_int; 4] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// True once one of [`STOP_SIGNALS`] has arrived after [`install_signal_handlers`] (a second one
/// exits at once). Lets the caller cut short what it does around a run, e.g. a barrier or the
/// wait for other ranks; a run started after the signal stops at once, as interrupted.
pub fn signalled() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Installs the handlers of [`STOP_SIGNALS`] (once per process; [`run`] does it too). Call it
/// early when the work before the run (listing, a barrier) must not be killed by a signal.
pub fn install_signal_handlers() {
    if HANDLERS.swap(true, Ordering::SeqCst) {
        return;
    }
    // SAFETY: isatty only inspects the descriptor.
    let tty = |fd| unsafe { libc::isatty(fd) } == 1;
    TTY_OUT.store(u8::from(tty(1)) | (u8::from(tty(2)) << 1), Ordering::SeqCst);
    for sig in STOP_SIGNALS {
        // SAFETY: `on_signal` only touches atomics and calls open, dup2, close and _exit, all
        // async-signal-safe.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

/// Checks that `ep` accepts a TCP connection (within [`PREFLIGHT_TIMEOUT`]), so an endpoint
/// nobody listens on fails as [`RunError::Unreachable`] before anything else is tried.
pub fn preflight(ep: &crate::workload::Endpoint) -> Result<(), RunError> {
    std::net::TcpStream::connect_timeout(&ep.addr, PREFLIGHT_TIMEOUT)
        .map(drop)
        .map_err(|err| RunError::Unreachable {
            url: ep.url.clone(),
            err,
        })
}

/// Runs `w` against its endpoint. GET names come from `names` (may be empty for PUT runs).
pub fn run(w: &Workload, names: NameList, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let ep = w.endpoint.clone().ok_or(RunError::NoEndpoint)?;
    if !w.put_only() && names.is_empty() && w.get_only() {
        return Err(RunError::NoNames {
            pct: 100 - w.pctput,
        });
    }
    preflight(&ep)?;
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
