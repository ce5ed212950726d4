//! Multipart uploads (`--multipart-chunks`, `--pctmultipart`; S3 objects above 5 GiB): create,
//! the parts (each a slice of the object's content), complete, and abort when any step fails,
//! so no half-written object or dangling upload is left behind.
//!
//! (Placeholder: the hooks are wired; the operation is not built yet, and validation refuses
//! `--multipart-chunks` until it is.)

use std::time::Instant;

use super::conn::Conn;
use super::{Step, Worker};
use crate::http::Failure;
use crate::stats::ErrorKind;

/// A connection's multipart upload state.
#[derive(Debug, Default)]
pub struct MpuConn {}

impl Worker {
    /// Starts a multipart upload of `size` bytes on connection `i`; its name is in `self.name`.
    pub(super) fn start_mpu(&mut self, _i: usize, _size: u64) -> Step {
        unreachable!("multipart uploads are refused at validation until they are built")
    }

    /// One request of connection `i`'s upload has its complete answer.
    pub(super) fn mpu_step_done(&mut self, _i: usize, _now: Instant) -> Step {
        unreachable!("multipart uploads are refused at validation until they are built")
    }

    /// One request of connection `i`'s upload failed with `kind`.
    pub(super) fn mpu_failed(&mut self, _i: usize, _kind: ErrorKind) -> Step {
        unreachable!("multipart uploads are refused at validation until they are built")
    }
}

/// `n` bytes were received for connection `c`'s upload step.
pub(super) fn on_recv(c: &mut Conn, n: usize) -> Result<(), Failure> {
    c.exch.on_recv(n, &mut |_: &[u8]| {})
}
