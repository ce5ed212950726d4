//! The little that all cores of a run share: atomics and read-only setup.
//!
//! Cores coordinate only through these atomics (operation counter, PUT counter and bytes, the
//! GET selector's cursor, the stop and cancel flags); everything else is per core. The stop
//! reason is set once, by whichever core or thread stops the run first.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use serde::Serialize;
use socket2::SockAddr;

use crate::names::NameList;
use crate::selector::GetSelector;
use crate::workload::Workload;

/// Why the run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    Duration,
    Maxputs,
    Totalputsize,
    Epochs,
    Signal,
    /// No connection to the endpoint could be made.
    ConnectFailed,
    /// Connections were made, but no TLS handshake succeeded (`Shared::tls.failure` names
    /// the cause).
    TlsFailed,
    /// There was nothing to GET.
    NoNames,
    /// Every request so far was refused with HTTP 403 (credentials, region or clock).
    Forbidden,
    /// Every core ended without another stop reason (e.g. all workers finished).
    Finished,
    /// A core thread panicked; the others were stopped.
    Panic,
    /// A core's I/O driver failed; the others were stopped.
    DriverError,
    /// A sweep's step broke its objective (`--slo`) or error budget.
    Slo,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Duration => "duration",
            StopReason::Maxputs => "maxputs",
            StopReason::Totalputsize => "totalputsize",
            StopReason::Epochs => "epochs",
            StopReason::Signal => "signal",
            StopReason::ConnectFailed => "connect-failed",
            StopReason::TlsFailed => "tls-failed",
            StopReason::NoNames => "no-names",
            StopReason::Forbidden => "forbidden",
            StopReason::Finished => "finished",
            StopReason::Panic => "panic",
            StopReason::DriverError => "driver-error",
            StopReason::Slo => "slo",
        }
    }
}

pub struct Shared {
    pub workload: Workload,
    /// The endpoint's address, in the form connect(2) takes.
    pub addr: SockAddr,
    /// `<base>/<bucket>/` without the leading slash: the object's identity for content checks.
    pub object_prefix: Vec<u8>,
    /// Names to GET (from --filelist or the built-in target's prefill); may be empty.
    pub names: NameList,
    pub selector: Option<GetSelector>,
    /// Orders issued (aisloader's T): decides PUT or GET.
    pub ops: AtomicU64,
    /// PUTs issued: names them and enforces --maxputs.
    pub puts: AtomicU64,
    /// PUT bytes issued: enforces --totalputsize.
    pub put_bytes: AtomicU64,
    /// `--random-proxy`: requests sent to each of `workload.proxies`, added by each core
    /// once, when it ends.
    pub proxy_requests: Box<[AtomicU64]>,
    /// Stop issuing new operations.
    pub stop: AtomicBool,
    /// Abort operations in flight (after the drain grace period).
    pub cancel: AtomicBool,
    /// Set once any connection to the endpoint succeeded.
    pub connected: AtomicBool,
    /// Set once any operation succeeded (until then, 403 answers are counted).
    pub any_success: AtomicBool,
    /// HTTP 403 answers seen before the first success.
    pub forbidden: AtomicU64,
    pub reason: OnceLock<StopReason>,
    pub started: Instant,
    /// Wall clock at start, aligned with `started`.
    pub start_unix_ns: u64,
    /// TLS handshakes, resumptions, the negotiated session and the first failure.
    pub tls: TlsShared,
    /// Each core thread's kernel thread id (0 until the thread started), for the client's
    /// self-diagnosis, which reads its CPU and scheduler figures from `/proc`.
    pub core_tids: Box<[AtomicI32]>,
    /// `--rate`: intended starts that fell due while every connection of their core was busy
    /// (added by each core once, when it ends).
    pub rate_starved: AtomicU64,
}

/// What the cores learn about TLS, for the summary and the result file's `tls` section.
/// Touched once per handshake, never per request.
#[derive(Debug, Default)]
pub struct TlsShared {
    /// Handshakes completed (fresh and resumed).
    pub handshakes: AtomicU64,
    /// Handshakes that resumed a session (TLS 1.3 ticket or TLS 1.2 session).
    pub resumed: AtomicU64,
    /// Completed handshakes the server refused before answering (a TLS 1.3 alert after the
    /// client's side finished, e.g. a missing client certificate).
    pub refused: AtomicU64,
    /// Protocol version and cipher suite of the first completed handshake
    /// (`TLSv1.3`, `TLS13_AES_128_GCM_SHA256`).
    pub session: OnceLock<(String, String)>,
    /// The first TLS failure, named by `ringload_net::tls::cause`.
    pub failure: OnceLock<ringload_net::tls::Cause>,
}

/// Whether a core keeps the names of its successful PUTs, for later GETs. Only a mixed run
/// without other names does: it reads back what it wrote. A 100% PUT run keeps nothing, and a run
/// with names (a filelist, a listing, the built-in target's prefill) reads those instead. Each
/// kept name costs 8 bytes (its PUT counter; the name is regenerated from it), which is how a
/// long mixed run's memory grows (docs/reliability.md, "Long runs").
pub fn keeps_put_names(pctput: u32, has_selector: bool) -> bool {
    pctput < 100 && !has_selector
}

impl Shared {
    /// The shared state of a run that starts now (`started`), with every counter at zero and
    /// no stop reason yet.
    pub fn new(
        workload: Workload,
        addr: SockAddr,
        object_prefix: Vec<u8>,
        names: NameList,
        selector: Option<GetSelector>,
        started: Instant,
    ) -> Shared {
        let proxy_requests = workload.proxies.iter().map(|_| AtomicU64::new(0)).collect();
        let core_tids = (0..workload.active_cores())
            .map(|_| AtomicI32::new(0))
            .collect();
        Shared {
            workload,
            addr,
            object_prefix,
            names,
            selector,
            ops: AtomicU64::new(0),
            puts: AtomicU64::new(0),
            put_bytes: AtomicU64::new(0),
            proxy_requests,
            stop: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            any_success: AtomicBool::new(false),
            forbidden: AtomicU64::new(0),
            reason: OnceLock::new(),
            started,
            start_unix_ns: crate::stats::unix_now_ns(),
            tls: TlsShared::default(),
            core_tids,
            rate_starved: AtomicU64::new(0),
        }
    }

    /// Stops the run, keeping the first reason given.
    pub fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.stop.store(true, Ordering::Release);
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// `--random-proxy`: each proxy's URL and the requests sent to it (once the cores ended).
    pub fn proxy_counts(&self) -> Vec<(String, u64)> {
        let w = &self.workload;
        w.proxies
            .iter()
            .zip(self.proxy_requests.iter())
            .map(|(p, n)| (p.url.clone(), n.load(Ordering::Relaxed)))
            .collect()
    }

    pub fn reason(&self) -> StopReason {
        self.reason.get().copied().unwrap_or(StopReason::Finished)
    }
}

#[cfg(test)]
mod tests {
    use super::keeps_put_names;

    #[test]
    fn only_a_mixed_run_without_names_keeps_put_names() {
        assert!(
            !keeps_put_names(100, false),
            "a 100% PUT run keeps no names"
        );
        assert!(!keeps_put_names(100, true));
        assert!(
            keeps_put_names(20, false),
            "a mixed run reads back its own PUTs"
        );
        assert!(
            !keeps_put_names(20, true),
            "a run with listed names reads those"
        );
        assert!(!keeps_put_names(0, true));
    }
}
