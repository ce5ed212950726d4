//! One run of the engine: start the pinned cores, fold their statistics, stop on the first
//! stop condition or signal, and hand back totals for the result file.
//!
//! The calling thread is the reporter: it receives each core's one-second ticks, prints the
//! interval table and the live line, enforces `--duration` (and the end of a list of rates),
//! stops a sweep whose step broke its objective (`slo`), and turns SIGINT, SIGTERM, SIGHUP
//! (a dropped SSH session) and SIGQUIT into a graceful stop (stop issuing, drain for up to
//! [`DRAIN_GRACE`], then cancel what is left), so the result is still written. A second signal
//! other than SIGHUP exits at once with code 130 (a hangup can arrive twice).
//!
//! With the aisloader front end's output ([`RunOptions::aisloader`]) the reporter writes
//! aisloader's stream (to the `-stats-output` file, created here before the load, or stdout)
//! and the run ends with aisloader's `Stats written to ...` line on stdout.
//!
//! A core that panics or whose driver fails stops the others at once (stop and cancel); the
//! run still hands back the totals of what was measured, with [`RunOutcome::failure`] saying
//! which core failed and why, so the caller records a failed run instead of a short success.

use std::cell::RefCell;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringload_core::exit::Exit;
use ringload_net::sys::process as sys;
use socket2::SockAddr;

use crate::driver::{run_worker, DriverError};
use crate::inject::{InjectError, Injection};
use crate::names::NameList;
use crate::report::statsd::Statsd;
use crate::report::{ais, ReportConfig, Reporter, RunTotals};
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
    #[error(transparent)]
    Inject(#[from] InjectError),
    #[error(
        "cannot create the statistics output file {}: {err}. Give a path in a directory you \
         can write to",
        path.display()
    )]
    StatsOutput {
        path: std::path::PathBuf,
        err: std::io::Error,
    },
    #[error("--metrics-listen: cannot start serving metrics: {0}")]
    Metrics(std::io::Error),
    #[error("cannot open a UDP socket for StatsD ({addr}): {err}")]
    Statsd {
        addr: std::net::SocketAddr,
        err: std::io::Error,
    },
}

/// Why a core thread ended before its work was done.
#[derive(Debug, thiserror::Error)]
pub enum CoreFailure {
    #[error("core {core} panicked: {message}")]
    Panic { core: usize, message: String },
    #[error("core {core}: {err}")]
    Driver { core: usize, err: DriverError },
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
    /// Set when a core panicked or its driver failed (one [`CoreFailure`] per failed core,
    /// joined by "; "): the run failed, and `totals` cover only what was measured until then.
    pub failure: Option<String>,
}

/// Options that are about presentation, not about the load.
pub struct RunOptions {
    /// Draw the live status line on stderr.
    pub live: bool,
    /// Print the interval table and the summary on stderr instead of stdout (so that stdout
    /// carries only machine-readable output, e.g. with `--json`).
    pub table_to_stderr: bool,
    /// The aisloader front end's output (its table or JSON stream, instead of ringload's
    /// table and summary).
    pub aisloader: Option<crate::report::ais::AisOutput>,
    /// Send each interval's metrics to StatsD (and reset its gauges at the end).
    pub statsd: Option<crate::report::statsd::StatsdConfig>,
    /// Serve live Prometheus metrics on this listener during the run (`--metrics-listen`).
    pub metrics: Option<crate::metrics::MetricsListen>,
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
        // exit_now (`_exit`) is async-signal-safe and ends the process without running
        // destructors or atexit handlers, so no half-updated state is ever observed.
        sys::exit_now(Exit::Interrupted.code());
    }
}

/// Points stdout and stderr, where they were terminals, at /dev/null. Async-signal-safe.
fn detach_terminal() {
    let ttys = TTY_OUT.load(Ordering::SeqCst);
    sys::detach_to_dev_null(ttys & 1 != 0, ttys & 2 != 0);
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
    use std::io::IsTerminal;
    if HANDLERS.swap(true, Ordering::SeqCst) {
        return;
    }
    let (out, err) = (
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
    );
    TTY_OUT.store(u8::from(out) | (u8::from(err) << 1), Ordering::SeqCst);
    for sig in STOP_SIGNALS {
        // SAFETY: `on_signal` only touches atomics and calls the async-signal-safe `exit_now`
        // and `detach_to_dev_null`, as `set_signal_handler`'s contract requires of a handler.
        unsafe { sys::set_signal_handler(sig, on_signal) };
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
    let inject = Injection::from_env()?;
    let (table, statsd) = outputs(opts)?;
    install_signal_handlers();
    install_panic_hook();
    let cores = w.active_cores();
    let selector = (!names.is_empty() && !w.put_only()).then(|| {
        let s = GetSelector::new(names.len() as u64, w.uniquegets, w.epochs, w.seed);
        match w.sampler {
            Sampler::Distributed => s.sharded(u64::from(w.shard.0), u64::from(w.shard.1)),
            Sampler::Local => s,
        }
    });
    let prefix = format!("{}/{}/", ep.base_path, w.bucket);
    let started = Instant::now();
    let shared = Arc::new(Shared::new(
        w.clone(),
        SockAddr::from(ep.addr),
        prefix.trim_start_matches('/').as_bytes().to_vec(),
        names,
        selector,
        started,
    ));
    let (tx, rx) = mpsc::channel();
    // The self-diagnosis' first reading, before the cores start: its /proc reads open
    // descriptors for a moment, and a core's ring must not find the last one taken. A plan of
    // several steps is judged over its last complete step.
    let diag_step = w
        .rate
        .as_ref()
        .filter(|p| p.is_sweep())
        .and_then(|p| p.step);
    let mut diag = crate::client::Sampler::start(&shared.core_tids, started, diag_step);
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let mut handles = Vec::with_capacity(cores);
    for core in 0..cores {
        let conns =
            w.numworkers as usize / cores + usize::from(core < w.numworkers as usize % cores);
        let (sh, tx) = (shared.clone(), tx.clone());
        let pin = (!ids.is_empty()).then(|| ids[core % ids.len()]);
        let driver = w.driver;
        let trigger = Injection::trigger(inject, core);
        let h = std::thread::Builder::new()
            .name(format!("{CORE_THREAD}{core}"))
            .spawn(move || {
                let sh2 = sh.clone();
                if let Some(t) = sh.core_tids.get(core) {
                    t.store(ringload_net::sys::process::gettid(), Ordering::Relaxed);
                }
                let out = panic::catch_unwind(AssertUnwindSafe(move || {
                    if let Some(id) = pin {
                        core_affinity::set_for_current(id);
                    }
                    let mut worker = Worker::new(core, conns, sh2, tx);
                    run_worker(&mut worker, driver, trigger).inspect_err(|_| worker.flush())
                }));
                let (failure, reason) = match out {
                    Ok(Ok(d)) => return Ok(d),
                    Ok(Err(err)) => (CoreFailure::Driver { core, err }, StopReason::DriverError),
                    Err(payload) => {
                        let message = panic_message(&*payload);
                        (CoreFailure::Panic { core, message }, StopReason::Panic)
                    }
                };
                // The others stop now: no new operations, and those in flight are cancelled.
                sh.stop(reason);
                sh.cancel.store(true, Ordering::Relaxed);
                Err(failure)
            })
            .map_err(RunError::Thread)?;
        handles.push(h);
    }
    drop(tx);
    // A list of rates ends after its last step, whatever --duration says.
    let steps_end = w.rate.as_ref().and_then(|p| {
        let n = u32::try_from(p.step_count()?).ok()?;
        p.step.filter(|_| n > 1).map(|s| s * n)
    });
    let planned = match (w.duration, steps_end) {
        (Some(d), Some(s)) => Some(d.min(s)),
        (d, s) => d.or(s),
    };
    let cfg = ReportConfig {
        statsinterval: w.statsinterval,
        duration: planned,
        cores,
        live: opts.live,
        rate: w.rate.clone(),
    };
    let mut reporter = Reporter::new(cfg, shared.start_unix_ns, table, std::io::stderr());
    if let Some(o) = &opts.aisloader {
        reporter = reporter.with_aisloader(o.clone());
    }
    if let Some(s) = statsd {
        reporter = reporter.with_statsd(s);
    }
    // Serves until the run's totals are in (dropped at the end of this function).
    let _metrics = match &opts.metrics {
        Some(m) => {
            let (server, exporter) =
                crate::metrics::start(m, shared.clone()).map_err(RunError::Metrics)?;
            reporter = reporter.with_metrics(exporter);
            Some(server)
        }
        None => None,
    };
    let deadline = planned.map(|d| started + d);
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
            if stopped_at.is_none() {
                reporter.stopped(unix_now_ns());
            }
            let t = *stopped_at.get_or_insert(now);
            if now.duration_since(t) >= DRAIN_GRACE {
                shared.cancel.store(true, Ordering::Relaxed);
            }
        }
        if !shared.connected.load(Ordering::Relaxed) && started.elapsed() > CONNECT_GIVEUP * 2 {
            shared.stop(StopReason::ConnectFailed);
        }
        diag.poll(&shared.core_tids, now, shared.stopping());
        reporter.poll(unix_now_ns());
        if reporter.breached() && !shared.stopping() {
            shared.stop(StopReason::Slo);
        }
    }
    let end = unix_now_ns();
    let mut driver = w.driver;
    let mut failures = Vec::new();
    let mut refused = None;
    for (core, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(d)) => driver = d,
            // Refused before any I/O (--driver uring where io_uring is blocked): nothing was
            // measured, so this is a setup failure, not a partial run.
            Ok(Err(CoreFailure::Driver {
                err: e @ DriverError::UringUnavailable(_),
                ..
            })) => refused = refused.or(Some(e)),
            Ok(Err(f)) => failures.push(f.to_string()),
            // Only a panic outside the guarded body (e.g. while unwinding) lands here.
            Err(payload) => failures.push(
                CoreFailure::Panic {
                    core,
                    message: panic_message(&*payload),
                }
                .to_string(),
            ),
        }
    }
    if let Some(e) = refused {
        return Err(e.into());
    }
    reporter.set_tls(crate::report::tls::TlsOutcome::of(
        w.tls.as_ref(),
        &shared.tls,
    ));
    reporter.set_proxies(
        shared
            .proxy_counts()
            .into_iter()
            .map(|(url, requests)| ringload_core::result::ProxyCount { url, requests })
            .collect(),
    );
    reporter.set_client(diag.finish().map(|m| crate::client::judge(&m)));
    reporter.set_rate_context(crate::report::rate::RateContext {
        starved: shared.rate_starved.load(Ordering::Relaxed),
        numworkers: w.numworkers,
        // The reporter's `finish` reads these from the totals and the self-diagnosis.
        service_mean_us: 0.0,
        client_bound: false,
    });
    let totals = reporter.finish(end);
    if let Some(o) = &opts.aisloader {
        println!("{}", ais::written_to(o));
    }
    // A list's last step is judged when the run ends at it: a breach there ends the sweep too.
    // (A single rate's one judged step did not stop the run: its reason stays.)
    let sweep = w.rate.as_ref().is_some_and(|p| p.is_sweep());
    let broke = sweep
        && totals
            .rate
            .as_ref()
            .is_some_and(|r| r.steps.iter().any(|s| s.broke.is_some()));
    let reason = match shared.reason() {
        StopReason::Duration if broke => StopReason::Slo,
        r => r,
    };
    Ok(RunOutcome {
        totals,
        reason,
        driver,
        cores,
        puts: shared.puts.load(Ordering::Relaxed),
        failure: (!failures.is_empty()).then(|| failures.join("; ")),
    })
}

/// Where the table (or aisloader's stream) goes, and the StatsD sender: made before the load,
/// so a statistics file that cannot be created or a socket that cannot be opened fails the run
/// before anything is sent.
fn outputs(opts: &RunOptions) -> Result<(Box<dyn Write>, Option<Statsd>), RunError> {
    let table: Box<dyn Write> = match &opts.aisloader {
        Some(ais::AisOutput {
            stats_output: Some(path),
            ..
        }) => {
            let f = ais::create_stats_output(path).map_err(|err| RunError::StatsOutput {
                path: path.clone(),
                err,
            })?;
            Box::new(std::io::BufWriter::new(f))
        }
        Some(_) => Box::new(std::io::stdout()),
        None if opts.table_to_stderr => Box::new(std::io::stderr()),
        None => Box::new(std::io::stdout()),
    };
    let statsd = opts
        .statsd
        .clone()
        .map(|cfg| {
            let addr = cfg.addr;
            Statsd::new(cfg).map_err(|err| RunError::Statsd { addr, err })
        })
        .transpose()?;
    Ok((table, statsd))
}

/// Core threads are named this plus their index.
const CORE_THREAD: &str = "ringload-core-";

thread_local! {
    /// Where the current core thread panicked, left by the panic hook for [`panic_message`].
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that keeps a core thread's panic quiet, noting
/// only its location: the run reports it once, as `core N panicked: <message> (at
/// <file:line>)`, in stderr and in the result file. With `RUST_BACKTRACE` set (and not `0`),
/// the standard report with its backtrace is printed as well. Panics of other threads go to
/// the previous hook.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let core = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(CORE_THREAD));
            if core {
                let at = info.location().map(|l| l.to_string());
                PANIC_AT.with(|p| *p.borrow_mut() = at);
                if std::env::var_os("RUST_BACKTRACE").is_none_or(|v| v == "0") {
                    return;
                }
            }
            prev(info);
        }));
    });
}

/// A panic payload as text (a `&str` or `String` message), with the location the panic hook
/// noted on this thread, if any.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    match PANIC_AT.with(|p| p.borrow_mut().take()) {
        Some(at) => format!("{msg} (at {at})"),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_message_reads_str_and_string_payloads_with_the_hooked_location() {
        install_panic_hook();
        let h = std::thread::Builder::new()
            .name(format!("{CORE_THREAD}7"))
            .spawn(|| {
                let msg = |f: fn()| panic_message(&*panic::catch_unwind(f).unwrap_err());
                (
                    msg(|| panic!("boom {}", 7)),
                    msg(|| std::panic::panic_any("plain")),
                    msg(|| std::panic::panic_any(7u8)),
                )
            })
            .unwrap();
        let (formatted, plain, other) = h.join().unwrap();
        assert!(
            formatted.starts_with("boom 7 (at ") && formatted.contains("run.rs:"),
            "{formatted}"
        );
        assert!(plain.starts_with("plain (at "), "{plain}");
        assert!(other.starts_with("(a panic without a message)"), "{other}");
    }

    fn opts() -> RunOptions {
        RunOptions {
            aisloader: None,
            statsd: None,
            metrics: None,
            live: false,
            table_to_stderr: true,
        }
    }

    #[test]
    fn a_run_without_an_endpoint_or_names_is_refused_before_any_core_starts() {
        let w = Workload::default();
        let err = run(&w, NameList::new(), &opts()).err().unwrap();
        assert!(matches!(err, RunError::NoEndpoint), "{err}");
        let w = Workload {
            endpoint: Some(crate::workload::Endpoint::parse("http://127.0.0.1:1").unwrap()),
            pctput: 0,
            ..Workload::default()
        };
        let err = run(&w, NameList::new(), &opts()).err().unwrap();
        assert!(matches!(err, RunError::NoNames { pct: 100 }), "{err}");
        assert!(err.to_string().contains("--filelist"), "{err}");
    }

    #[test]
    fn an_unreachable_endpoint_says_what_to_check() {
        // Nothing listens on port 1 of the loopback: the pre-flight connect is refused.
        let ep = crate::workload::Endpoint::parse("http://127.0.0.1:1").unwrap();
        let err = preflight(&ep).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("cannot connect to http://127.0.0.1:1: "),
            "{text}"
        );
        assert!(text.contains("Is the server running"), "{text}");
        // A local resource that ran out is named instead.
        let fix = unreachable_fix(&std::io::Error::from_raw_os_error(libc::EMFILE));
        assert!(
            fix.starts_with("This means the process ran out of file descriptors"),
            "{fix}"
        );
        let fix = unreachable_fix(&std::io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert!(fix.starts_with("Is the server running"), "{fix}");
    }

    #[test]
    fn a_stats_output_that_cannot_be_created_fails_before_the_load() {
        // Something listens, so the pre-flight check passes and the file is what fails.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let w = Workload {
            endpoint: Some(crate::workload::Endpoint::parse(&url).unwrap()),
            pctput: 100,
            ..Workload::default()
        };
        let o = RunOptions {
            aisloader: Some(crate::report::ais::AisOutput {
                stats_output: Some("/proc/version/stats.json".into()),
                ..Default::default()
            }),
            ..opts()
        };
        let err = run(&w, NameList::new(), &o).err().unwrap();
        assert!(matches!(err, RunError::StatsOutput { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with("cannot create the statistics output file /proc/version/stats.json: "),
            "{text}"
        );
        // Only the pre-flight check connected: no core started.
        l.set_nonblocking(true).unwrap();
        assert!(l.accept().is_ok(), "the pre-flight connection");
        assert_eq!(
            l.accept().map(|_| ()).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "no other connection"
        );
    }
}
