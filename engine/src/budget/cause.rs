//! The causes and fixes of the error kinds that say a local resource ran out (`fd-limit`,
//! `no-ports`, `no-memory`), and the dominant kind of a failed run, so the messages at the end
//! of a run and of the pre-flight connection give the same advice as the budget check.

use std::collections::BTreeMap;

use crate::stats::ErrorKind;

/// What a local resource running out means and how to fix it, for the kinds that say so.
pub fn cause(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::FdLimit => {
            "the process ran out of file descriptors; raise `ulimit -n` or use fewer --numworkers"
        }
        ErrorKind::NoPorts => {
            "no local port was free for another connection to the same address; use fewer \
             --numworkers, widen net.ipv4.ip_local_port_range, or spread the load over more \
             ranks on more machines"
        }
        ErrorKind::NoMemory => {
            "the kernel had no memory or socket buffers left; use fewer --numworkers or free \
             memory on this machine"
        }
        _ => return None,
    })
}

/// The most frequent error kind of a run, and its cause and fix when it is a local resource.
/// Displays as `mostly KIND (N)`, followed by `: CAUSE` when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dominant {
    pub kind: String,
    pub count: u64,
    pub cause: Option<&'static str>,
}

impl std::fmt::Display for Dominant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mostly {} ({})", self.kind, self.count)?;
        match self.cause {
            Some(c) => write!(f, ": {c}"),
            None => Ok(()),
        }
    }
}

/// The most frequent kind of `by_kind` (ties go to the first name); None without errors.
pub fn dominant(by_kind: &BTreeMap<String, u64>) -> Option<Dominant> {
    let (name, n) = by_kind
        .iter()
        .filter(|(_, n)| **n > 0)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    Some(Dominant {
        kind: name.clone(),
        count: *n,
        cause: ErrorKind::parse(name).and_then(cause),
    })
}

/// The fix of a failed connection attempt's OS error, when it is a local resource.
pub fn io_cause(err: &std::io::Error) -> Option<&'static str> {
    err.raw_os_error()
        .map(crate::worker::connect_kind)
        .and_then(cause)
}
