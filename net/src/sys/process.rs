//! Safe wrappers over the process-level syscalls the engine and the command line make: signal
//! handlers, the immediate `_exit`, pointing stdout/stderr at /dev/null, the descriptor limit
//! (`RLIMIT_NOFILE`), the local date and time, the host name and the calling thread's id.
//!
//! Owns: the `unsafe` of those calls, so the engine's run loop, its budget check, its report
//! and the command line stay safe code. [`exit_now`] and [`detach_to_dev_null`] are called
//! from a signal handler: they are `#[inline]`, allocate nothing, take no lock and make only
//! async-signal-safe calls (`_exit`, `open`, `dup2`, `close`).

use std::io;

/// Ends the process at once with `code` (`_exit`): no destructors, no atexit handlers, no
/// flush of std's buffers, so no half-updated state is ever observed. Async-signal-safe.
#[inline]
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes no pointers and is async-signal-safe; it never returns.
    unsafe { libc::_exit(code) }
}

/// Points descriptor 1 (when `stdout`) and descriptor 2 (when `stderr`) at /dev/null, so
/// writes meant for a vanished terminal are discarded. Failures are ignored (nothing to report
/// to from a handler). Async-signal-safe: one `open`, at most two `dup2`, one `close`.
#[inline]
pub fn detach_to_dev_null(stdout: bool, stderr: bool) {
    if !stdout && !stderr {
        return;
    }
    // SAFETY: open, dup2 and close are async-signal-safe; the path is a NUL-terminated static
    // literal; `null` is the descriptor just opened here and closed once; dup2 only retargets
    // descriptors 1 and 2, which std's stdout and stderr use by number and never close, so no
    // Rust-owned descriptor is replaced or closed underneath its owner.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if null < 0 {
            return;
        }
        for (wanted, fd) in [(stdout, 1), (stderr, 2)] {
            if wanted {
                libc::dup2(null, fd);
            }
        }
        libc::close(null);
    }
}

/// Installs `handler` for the signal `sig` (`signal(2)`, glibc's BSD semantics: the handler
/// stays installed and interrupted syscalls restart where they can).
///
/// # Safety
/// The handler runs in signal context: it must only touch atomics and make async-signal-safe
/// calls (such as [`exit_now`] and [`detach_to_dev_null`]); it must not allocate, lock or
/// print. The caller promises that, which the type system cannot check.
pub unsafe fn set_signal_handler(sig: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: `handler` is an `extern "C" fn(c_int)`, the handler type signal expects, valid
    // for the whole process (a fn item); the caller vouches for what it does in signal
    // context (this function's contract).
    unsafe { libc::signal(sig, handler as *const () as libc::sighandler_t) };
}

/// The soft and hard `RLIMIT_NOFILE` (the most descriptors this process may open).
pub fn nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is an exclusively borrowed rlimit on this stack frame, alive across the
    // call, which writes exactly one rlimit into it.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// Sets the soft and hard `RLIMIT_NOFILE`.
pub fn set_nofile_limit(soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is an initialised rlimit on this stack frame, alive across the call,
    // which only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A local calendar date and time of day, with the zone's offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1..=12.
    pub month: i32,
    /// 1..=31.
    pub day: i32,
    pub hour: i32,
    pub minute: i32,
    pub second: i32,
    /// Seconds east of UTC (`tm_gmtoff`).
    pub utc_offset: i64,
}

/// The local date, time and UTC offset of `unix_secs` (`localtime_r`), or `None` when the C
/// library cannot convert it.
pub fn local_time(unix_secs: u64) -> Option<LocalTime> {
    let t = libc::time_t::try_from(unix_secs).unwrap_or(libc::time_t::MAX);
    // SAFETY: `libc::tm` is a plain C struct (integers and a `tm_zone` pointer that may be
    // null) for which all-zero bytes are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: `t` and `tm` are live locals borrowed for the call; localtime_r is the
    // thread-safe variant: it reads `t` and writes only into `tm` (no shared static buffer).
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    // `c_long` is 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    let utc_offset = i64::from(tm.tm_gmtoff);
    ok.then_some(LocalTime {
        year: tm.tm_year.saturating_add(1900),
        month: tm.tm_mon + 1,
        day: tm.tm_mday,
        hour: tm.tm_hour,
        minute: tm.tm_min,
        second: tm.tm_sec,
        utc_offset,
    })
}

/// The local wall-clock time of day (hour, minute, second) of `unix_secs`, or `None` when the
/// C library cannot convert it.
pub fn local_time_of_day(unix_secs: u64) -> Option<(i32, i32, i32)> {
    local_time(unix_secs).map(|t| (t.hour, t.minute, t.second))
}

/// The calling thread's kernel id (`gettid`), as `/proc/self/task/<tid>` names it.
pub fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments, touches no memory and cannot fail.
    unsafe { libc::gettid() }
}

/// This machine's host name (`gethostname`), up to its first NUL, invalid UTF-8 replaced.
pub fn hostname() -> io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is a live local, exclusively borrowed for the call, and the length passed
    // is its size, so gethostname writes only inside it; the code below does not rely on a
    // terminating NUL (it stops at the first one or at the end of `buf`).
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nofile_limit_reads_and_sets_back_the_same_values() {
        let (soft, hard) = nofile_limit().unwrap();
        assert!(soft <= hard && soft > 0);
        set_nofile_limit(soft, hard).unwrap();
        assert_eq!(nofile_limit().unwrap(), (soft, hard));
        // A soft limit above the hard one is refused, and reported as an error.
        if hard < u64::MAX {
            assert!(set_nofile_limit(hard + 1, hard).is_err());
        }
    }

    #[test]
    fn time_of_day_is_in_range_and_hostname_is_plain_text() {
        let (h, m, s) = local_time_of_day(1_700_000_000).unwrap();
        assert!((0..24).contains(&h) && (0..60).contains(&m) && (0..61).contains(&s));
        // Local zones differ from UTC by whole quarter hours at most, so seconds agree.
        assert_eq!(s, 1_700_000_000 % 60);
        let t = local_time(1_700_000_000).unwrap();
        assert_eq!((t.hour, t.minute, t.second), (h, m, s));
        // 2023-11-14T22:13:20Z, shifted by the zone's offset.
        let local = 1_700_000_000 + t.utc_offset;
        assert_eq!(
            i64::from(t.hour * 3600 + t.minute * 60 + t.second),
            local % 86_400
        );
        assert_eq!(t.year, 2023);
        assert_eq!(t.month, 11);
        assert!((13..=15).contains(&t.day), "{t:?}");
        let name = hostname().unwrap();
        assert!(!name.is_empty() && !name.contains('\0'));
    }
}
