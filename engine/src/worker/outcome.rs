//! How the worker reads outcomes: I/O errors and exchange failures mapped to error kinds, and
//! the redirect helpers. Kept apart from the closed loop so that file stays about the loop.

use super::conn::Abort;
use super::{Shared, Step};
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

/// The path-and-query of a `Location` that points back at the run's endpoint (absolute URL
/// with the same host, or an absolute path); `None` for any other target.
pub(super) fn same_origin_path<'a>(loc: &'a [u8], sh: &Shared) -> Option<&'a [u8]> {
    if loc.first() == Some(&b'/') {
        return Some(loc);
    }
    let rest = loc.strip_prefix(b"http://")?;
    let host = sh.workload.endpoint.as_ref()?.host_header.as_bytes();
    let rest = rest.strip_prefix(host)?;
    match rest.first() {
        Some(b'/') => Some(rest),
        None => Some(b"/"),
        _ => None,
    }
}

/// Replaces the request target (between the first and second space) of an encoded head.
pub(super) fn rewrite_target(head: &mut Vec<u8>, target: &[u8]) {
    let Some(a) = head.iter().position(|&b| b == b' ') else {
        return;
    };
    let Some(len) = head[a + 1..].iter().position(|&b| b == b' ') else {
        return;
    };
    head.splice(a + 1..a + 1 + len, target.iter().copied());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_the_request_target() {
        let mut head = b"GET /a/b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        rewrite_target(&mut head, b"/c?d=1");
        assert_eq!(head, b"GET /c?d=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    }
}
