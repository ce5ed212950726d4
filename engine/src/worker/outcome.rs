//! How the worker reads outcomes: I/O errors and exchange failures mapped to error kinds, and
//! the step a driver takes next. Kept apart from the closed loop so that file stays about the loop.

use super::conn::Abort;
use super::Step;
use crate::http::{Failure, Need};
use crate::stats::ErrorKind;

pub(super) fn need_to_step(need: Need) -> Step {
    match need {
        Need::Send => Step::Send,
        Need::Recv => Step::Recv,
        Need::Discard(n) => Step::Discard(n),
        Need::Done => Step::Idle,
    }
}

pub(super) fn abort_kind(a: Abort) -> ErrorKind {
    match a {
        Abort::Timeout => ErrorKind::Timeout,
        Abort::Cancel => ErrorKind::Reset,
    }
}

pub(super) fn failure_kind(f: Failure) -> ErrorKind {
    match f {
        Failure::Closed => ErrorKind::Closed,
        Failure::ShortBody => ErrorKind::ShortBody,
        Failure::Protocol => ErrorKind::Protocol,
    }
}

/// The kinds of a local resource running out, whatever the step that hit it: descriptors
/// (`socket()` fails with EMFILE/ENFILE), local ports (`connect` fails with
/// EADDRNOTAVAIL) and kernel memory (ENOMEM/ENOBUFS on any socket call).
fn resource_kind(errno: i32) -> Option<ErrorKind> {
    match errno {
        libc::EMFILE | libc::ENFILE => Some(ErrorKind::FdLimit),
        libc::EADDRNOTAVAIL => Some(ErrorKind::NoPorts),
        libc::ENOMEM | libc::ENOBUFS => Some(ErrorKind::NoMemory),
        _ => None,
    }
}

/// The kind of an error of an exchange's send or receive (`errno` positive).
pub(super) fn errno_kind(errno: i32) -> ErrorKind {
    resource_kind(errno).unwrap_or(match errno {
        libc::ETIMEDOUT => ErrorKind::Timeout,
        libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH => ErrorKind::Connect,
        _ => ErrorKind::Reset,
    })
}

/// The kind of a failure to open or connect a socket (`errno` positive; 0 when unknown):
/// a resource kind when one ran out, otherwise `connect`.
pub fn connect_kind(errno: i32) -> ErrorKind {
    resource_kind(errno).unwrap_or(ErrorKind::Connect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_errnos_name_the_resource_on_every_step() {
        for (errno, kind) in [
            (libc::EMFILE, ErrorKind::FdLimit),
            (libc::ENFILE, ErrorKind::FdLimit),
            (libc::EADDRNOTAVAIL, ErrorKind::NoPorts),
            (libc::ENOMEM, ErrorKind::NoMemory),
            (libc::ENOBUFS, ErrorKind::NoMemory),
        ] {
            assert_eq!(connect_kind(errno), kind, "connect, errno {errno}");
            assert_eq!(errno_kind(errno), kind, "exchange, errno {errno}");
        }
    }

    #[test]
    fn other_errnos_keep_their_kinds() {
        assert_eq!(connect_kind(libc::ECONNREFUSED), ErrorKind::Connect);
        assert_eq!(connect_kind(libc::ETIMEDOUT), ErrorKind::Connect);
        assert_eq!(connect_kind(0), ErrorKind::Connect);
        assert_eq!(errno_kind(libc::ETIMEDOUT), ErrorKind::Timeout);
        assert_eq!(errno_kind(libc::ECONNREFUSED), ErrorKind::Connect);
        assert_eq!(errno_kind(libc::ECONNRESET), ErrorKind::Reset);
        assert_eq!(errno_kind(libc::EPIPE), ErrorKind::Reset);
    }
}
