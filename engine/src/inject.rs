//! Test-only fault injection: makes one core panic, or its driver fail, on purpose, so the
//! tests can prove that a failure inside the engine fails the run honestly (status `failed`,
//! exit 1, the message in stderr and in the result file) and that no in-flight I/O outlives
//! the buffers it writes into.
//!
//! The switch is the environment variable [`ENV`], read once when a run starts:
//! `KIND[:core=N][:after=M]`, where `KIND` is `core-panic` or `driver-error` (`submit-error`
//! is the same fault), `N` the core (default 0) and `M` the number of completions (io_uring
//! CQEs, epoll events) that core handles before the fault fires (default 100). A
//! `driver-error` replaces the next `io_uring_enter` (uring) or `epoll_wait` (epoll) with an
//! error. Unset, each core holds a disarmed [`Trigger`], and the drivers' check is one
//! predictable branch per batch of completions.

use std::io;

/// The environment variable that arms a fault.
pub const ENV: &str = "RINGLOAD_TEST_INJECT";

/// Completions before the fault fires when `after=` is not given.
const DEFAULT_AFTER: u64 = 100;

/// What to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The core thread panics inside its driver loop, with operations in flight.
    CorePanic,
    /// The driver's wait call fails (io_uring_enter or epoll_wait).
    DriverError,
}

impl Fault {
    fn as_str(self) -> &'static str {
        match self {
            Fault::CorePanic => "core-panic",
            Fault::DriverError => "driver-error",
        }
    }
}

/// A parsed [`ENV`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection {
    pub fault: Fault,
    pub core: usize,
    pub after: u64,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "{ENV}={value}: {why}. It is a test-only switch: KIND[:core=N][:after=M] with KIND \
     core-panic or driver-error (or submit-error); unset it for real runs"
)]
pub struct InjectError {
    value: String,
    why: String,
}

impl Injection {
    /// Parses `KIND[:core=N][:after=M]`.
    pub fn parse(value: &str) -> Result<Injection, InjectError> {
        let bad = |why: String| InjectError {
            value: value.to_string(),
            why,
        };
        let mut parts = value.split(':');
        let fault = match parts.next().unwrap_or_default() {
            "core-panic" => Fault::CorePanic,
            "driver-error" | "submit-error" => Fault::DriverError,
            k => return Err(bad(format!("unknown fault '{k}'"))),
        };
        let mut inj = Injection {
            fault,
            core: 0,
            after: DEFAULT_AFTER,
        };
        for p in parts {
            let (key, num) = p.split_once('=').unwrap_or((p, ""));
            let n: u64 = num
                .parse()
                .map_err(|_| bad(format!("'{p}' needs a whole number, e.g. {key}=1")))?;
            match key {
                "core" => inj.core = n as usize,
                "after" => inj.after = n,
                _ => return Err(bad(format!("unknown option '{key}'"))),
            }
        }
        Ok(inj)
    }

    /// Reads [`ENV`]: `None` when unset or empty.
    pub fn from_env() -> Result<Option<Injection>, InjectError> {
        match std::env::var(ENV) {
            Ok(v) if !v.is_empty() => Injection::parse(&v).map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => Err(InjectError {
                value: v.to_string_lossy().into_owned(),
                why: "not valid UTF-8".into(),
            }),
        }
    }

    /// The trigger core `core` carries: armed only on the core the fault is for.
    pub fn trigger(inj: Option<Injection>, core: usize) -> Trigger {
        match inj {
            Some(i) if i.core == core => Trigger {
                fault: Some(i.fault),
                left: i.after,
            },
            _ => Trigger::default(),
        }
    }
}

/// One core's countdown to its injected fault; disarmed by default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trigger {
    fault: Option<Fault>,
    left: u64,
}

impl Trigger {
    /// Counts `n` completions; returns the fault once the count is reached (and only once).
    #[inline]
    pub fn due(&mut self, n: usize) -> Option<Fault> {
        self.fault?;
        self.count(n)
    }

    #[cold]
    fn count(&mut self, n: usize) -> Option<Fault> {
        self.left = self.left.saturating_sub(n as u64);
        if self.left == 0 {
            self.fault.take()
        } else {
            None
        }
    }
}

/// Fires `fault` on core `core`: panics (at the caller's line), or returns the error the
/// driver then fails with.
#[track_caller]
pub fn fire(fault: Fault, core: usize) -> io::Error {
    let what = format!("{} injected by {ENV} on core {core}", fault.as_str());
    match fault {
        Fault::CorePanic => panic!("{what}"),
        Fault::DriverError => io::Error::other(what),
    }
}

/// The variable that makes one part of one multipart upload fail for real: `K` (a part
/// number, 1-based). The first upload of the process that reaches part `K` sends it with an
/// upload id the server does not know, so the server refuses it and the upload must be
/// aborted. Test-only, like [`ENV`].
pub const MPU_FAIL_ENV: &str = "RINGLOAD_TEST_MPU_FAIL_PART";

/// Whether part `k` of the current upload is the one [`MPU_FAIL_ENV`] makes fail: true at
/// most once per process. Read on each part of an upload, off the per-byte path.
pub fn mpu_part_fails(k: u32) -> bool {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;
    static PART: OnceLock<Option<u32>> = OnceLock::new();
    static FIRED: AtomicBool = AtomicBool::new(false);
    let part = PART.get_or_init(|| std::env::var(MPU_FAIL_ENV).ok()?.parse().ok());
    *part == Some(k) && !FIRED.swap(true, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kind_core_and_after() {
        let i = Injection::parse("core-panic:core=1:after=7").unwrap();
        assert_eq!(
            i,
            Injection {
                fault: Fault::CorePanic,
                core: 1,
                after: 7
            }
        );
        let i = Injection::parse("submit-error").unwrap();
        assert_eq!((i.fault, i.core, i.after), (Fault::DriverError, 0, 100));
        assert_eq!(
            Injection::parse("driver-error:after=0").unwrap().after,
            0,
            "after=0 fires on the first batch"
        );
    }

    #[test]
    fn refuses_unknown_kinds_and_options() {
        for bad in [
            "crash",
            "core-panic:core=x",
            "core-panic:when=3",
            "core-panic:core",
        ] {
            let e = Injection::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("test-only"), "{bad}: {e}");
        }
    }

    #[test]
    fn trigger_fires_once_on_its_core_after_the_count() {
        let inj = Injection::parse("core-panic:core=1:after=5").ok();
        let mut other = Injection::trigger(inj, 0);
        assert_eq!(other.due(1000), None, "core 0 is not the target");
        let mut t = Injection::trigger(inj, 1);
        assert_eq!(t.due(3), None);
        assert_eq!(t.due(2), Some(Fault::CorePanic));
        assert_eq!(t.due(10), None, "fires only once");
        assert_eq!(Injection::trigger(None, 0).due(usize::MAX), None);
    }

    #[test]
    fn driver_error_is_an_error_naming_the_switch() {
        let e = fire(Fault::DriverError, 3).to_string();
        assert!(e.contains(ENV) && e.contains("core 3"), "{e}");
    }
}
