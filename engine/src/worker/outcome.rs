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

pub(super) fn errno_kind(errno: i32) -> ErrorKind {
    match errno {
        libc::ETIMEDOUT => ErrorKind::Timeout,
        libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH => ErrorKind::Connect,
        _ => ErrorKind::Reset,
    }
}
