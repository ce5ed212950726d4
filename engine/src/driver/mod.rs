//! I/O drivers: they perform the socket operations a [`Worker`] asks for.
//!
//! `uring` (io_uring, one ring per core with SINGLE_ISSUER + DEFER_TASKRUN) is the default;
//! `epoll` is the fallback for hosts where io_uring is blocked (Docker's default seccomp
//! profile, for example) and can be forced with `--driver epoll`. Both run the same worker and
//! the same sans-IO HTTP logic, so they differ only in how bytes move. On a TLS connection
//! the same steps carry ciphertext: a send of the session's out buffer, a receive into its
//! incoming buffer (never a drop: every byte must be decrypted); see [`crate::tls`].

#[cfg(target_os = "linux")]
pub mod epoll;
#[cfg(test)]
pub(crate) mod script;
#[cfg(target_os = "linux")]
pub mod uring;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::inject::Trigger;
use crate::worker::Worker;
use crate::workload::DriverKind;

/// Set to make io_uring setup fail as if the kernel had refused it (tests the fallback on
/// machines where io_uring works).
pub const SIMULATE_NO_URING_ENV: &str = "RINGLOAD_SIMULATE_NO_URING";

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("io_uring is not available here ({0}); use --driver epoll or --driver auto")]
    UringUnavailable(std::io::Error),
    #[error("the {driver} driver failed: {err}")]
    Io {
        driver: &'static str,
        err: std::io::Error,
    },
}

static FALLBACK_NOTED: AtomicBool = AtomicBool::new(false);

/// Runs the worker to completion on the requested driver and returns the driver used.
/// `Auto` tries io_uring and falls back to epoll, saying so once per process on stderr.
/// `trigger` is the core's test-only fault ([`crate::inject`]), disarmed in real runs.
#[cfg(target_os = "linux")]
pub fn run_worker(
    worker: &mut Worker,
    kind: DriverKind,
    trigger: Trigger,
) -> Result<DriverKind, DriverError> {
    let io = |driver| move |err| DriverError::Io { driver, err };
    match kind {
        DriverKind::Epoll => epoll::run(worker, trigger)
            .map_err(io("epoll"))
            .map(|_| DriverKind::Epoll),
        DriverKind::Uring | DriverKind::Auto => match uring::setup(worker.conn_count()) {
            Ok(ring) => uring::run(ring, worker, trigger)
                .map_err(io("uring"))
                .map(|_| DriverKind::Uring),
            Err(e) if kind == DriverKind::Uring => Err(DriverError::UringUnavailable(e)),
            Err(e) => {
                if !FALLBACK_NOTED.swap(true, Ordering::Relaxed) {
                    eprintln!("note: io_uring is unavailable ({e}); using the epoll driver");
                }
                epoll::run(worker, trigger)
                    .map_err(io("epoll"))
                    .map(|_| DriverKind::Epoll)
            }
        },
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
