//! GetBatch operations (`--get-batchsize`): one request for the next N names of the epoch, to
//! a proxy (following its redirect to the designated target), answered with one TAR stream
//! that is drained header by header, member bodies dropped in the kernel.
//!
//! (Placeholder: the hooks are wired; the operation is not built yet, and validation refuses
//! `--get-batchsize` until it is.)

mod drain;

use std::time::Instant;

use super::conn::Conn;
use super::{Step, Worker};
use crate::http::Failure;

/// A connection's GetBatch state.
#[derive(Debug, Default)]
pub struct BatchConn {}

impl Worker {
    /// Starts a GetBatch on connection `i`; the batch's first name is in `self.name`.
    pub(super) fn start_batch(&mut self, _i: usize) -> Step {
        unreachable!("GetBatch is refused at validation until it is built")
    }

    /// The GetBatch response on connection `i` is complete (or is a redirect's answer).
    pub(super) fn finish_batch(&mut self, _i: usize, _now: Instant) -> Step {
        unreachable!("GetBatch is refused at validation until it is built")
    }
}

/// `n` bytes were received for connection `c`'s GetBatch.
pub(super) fn on_recv(c: &mut Conn, n: usize) -> Result<(), Failure> {
    c.exch.on_recv(n, &mut |_: &[u8]| {})
}

/// `n` body bytes of connection `c`'s GetBatch were dropped in the kernel.
pub(super) fn on_discarded(c: &mut Conn, n: usize) -> Result<(), Failure> {
    c.exch.on_discarded(n)
}
