//! Multipart download streams (`--pctmpdstream`): one object read with parallel ranged GETs
//! of `--mpdstream-chunk-size` bytes, up to `--mpdstream-workers` at once.
//!
//! (Placeholder: the hooks are wired; the operation is not built yet, and validation refuses
//! `--pctmpdstream` until it is.)

use std::time::Instant;

use super::conn::Conn;
use super::{Step, Worker};
use crate::http::Failure;
use crate::stats::ErrorKind;

/// A connection's part in a download stream.
#[derive(Debug, Default)]
pub struct MpdConn {}

impl Worker {
    /// Starts a download stream of the object named in `self.name` on connection `i`.
    pub(super) fn start_mpd(&mut self, _i: usize) -> Step {
        unreachable!("download streams are refused at validation until they are built")
    }

    /// One request of connection `i`'s stream has its complete answer.
    pub(super) fn mpd_step_done(&mut self, _i: usize, _now: Instant) -> Step {
        unreachable!("download streams are refused at validation until they are built")
    }

    /// One request of connection `i`'s stream failed with `kind`.
    pub(super) fn mpd_failed(&mut self, _i: usize, _kind: ErrorKind) -> Step {
        unreachable!("download streams are refused at validation until they are built")
    }
}

/// `n` bytes were received for connection `c`'s ranged GET (a verifying run).
pub(super) fn on_recv(c: &mut Conn, n: usize) -> Result<(), Failure> {
    c.exch.on_recv(n, &mut c.check)
}
