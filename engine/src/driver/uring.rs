//! The io_uring driver: one private ring per core, completion-driven.
//!
//! The ring is set up with SINGLE_ISSUER + DEFER_TASKRUN (the task-run flag was the biggest
//! single factor in client CPU per request on these machines), and each loop submits every
//! queued operation and waits in the same `io_uring_enter` call, with a timeout for the
//! worker's next housekeeping.
//! GET bodies that need no inspection are dropped with a `Recv` of a null buffer and
//! `MSG_TRUNC`, the cheapest drop measured here. `user_data` is the connection index; each
//! connection has at most one operation in flight, so a completion always belongs to the
//! operation the worker last asked for. An expired operation is cancelled by its socket (which
//! also reaches the send of a fused pair), again on each sweep while it is outstanding; cancels
//! carry [`CANCEL_TAG`] and are ignored.
//!
//! Until an operation's completion is reaped, the kernel may still write into the worker's
//! connection slots (receive space, `msghdr`, iovecs, socket address), and closing the ring
//! does not cancel synchronously. So the loop counts the operations in flight, and whenever it
//! ends with some still in flight (an error on a submit, or a panic unwinding through it, which
//! [`run`] catches and resumes), it cancels them all and reaps their completions, bounded by
//! [`REAP_BOUND`], before the buffers can be freed. If that fails, the ring and the
//! connection slots are leaked on purpose rather than freed under the kernel.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use io_uring::{opcode, squeue, types, IoUring};

use crate::inject::{self, Trigger};
use crate::worker::{Step, Worker};

/// `user_data` of AsyncCancel requests, whose own completions carry no information.
const CANCEL_TAG: u64 = u64::MAX;
/// Marks the send of a fused send+receive pair; it completes only on failure.
const FUSED_SEND_TAG: u64 = 1 << 63;
/// `IORING_RECVSEND_POLL_FIRST` (linux/io_uring.h): arm the poll before trying the receive.
const RECVSEND_POLL_FIRST: u16 = 1;
/// Ring size bounds (entries): enough for one operation per connection plus cancels.
const MIN_ENTRIES: u32 = 64;
const MAX_ENTRIES: u32 = 32_768;
/// How long a failed loop waits for its cancelled operations to complete.
const REAP_BOUND: Duration = Duration::from_secs(2);
/// How often the cancel is repeated while operations remain (one that was being issued when
/// the cancel ran may need another).
const RECANCEL: Duration = Duration::from_millis(100);

/// Creates the ring for a core with `conns` connections.
pub fn setup(conns: usize) -> io::Result<IoUring> {
    if std::env::var_os(super::SIMULATE_NO_URING_ENV).is_some() {
        return Err(io::Error::from_raw_os_error(libc::EPERM));
    }
    let entries = ((conns as u32).saturating_mul(2))
        .clamp(MIN_ENTRIES, MAX_ENTRIES)
        .next_power_of_two();
    IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(entries * 2)
        .build(entries)
}

/// Runs the worker until every connection is finished. On any exit with operations still in
/// flight (an error, or a panic, which is resumed afterwards) they are cancelled and reaped
/// first; see the module documentation.
pub fn run(mut ring: IoUring, worker: &mut Worker, trigger: Trigger) -> io::Result<()> {
    let mut inflight = 0usize;
    // Not a drop guard: the recovery needs the ring and the worker, which the loop borrows.
    // catch_unwind costs nothing until something panics.
    let out = panic::catch_unwind(AssertUnwindSafe(|| {
        drive(&mut ring, worker, &mut inflight, trigger)
    }));
    if inflight > 0 && !cancel_and_reap(&mut ring, &mut inflight) {
        eprintln!(
            "warning: core {}: {inflight} io_uring operation(s) could not be cancelled and \
             reaped; their buffers are leaked instead of freed",
            worker.core
        );
        // The kernel may still write into these: never free them, nor unmap the ring.
        worker.leak_io_memory();
        std::mem::forget(ring);
    }
    match out {
        Ok(r) => r,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// True for the `user_data` of an operation the worker waits for (anything but a cancel).
fn is_op(ud: u64) -> bool {
    ud != CANCEL_TAG
}

/// The connection and result an operation's completion reports. A fused send posts a
/// completion only when it fails (SKIP_SUCCESS), and then its linked receive is cancelled
/// without one (the kernel posts no completion for the links after a failed SKIP_SUCCESS
/// request), so the send's completion is the pair's: its error, or -ECANCELED for a send cut
/// short (a cancelled send reports the bytes it had sent).
fn completion(ud: u64, res: i32) -> (u64, i32) {
    if ud & FUSED_SEND_TAG == 0 {
        return (ud, res);
    }
    (
        ud & !FUSED_SEND_TAG,
        if res < 0 { res } else { -libc::ECANCELED },
    )
}

/// The completion-driven loop; `inflight` counts submitted (or queued) operations whose
/// completion is not reaped yet.
fn drive(
    ring: &mut IoUring,
    worker: &mut Worker,
    inflight: &mut usize,
    mut trigger: Trigger,
) -> io::Result<()> {
    let mut queue: Vec<(u64, Step)> = Vec::with_capacity(worker.conn_count());
    let mut done: Vec<(u64, i32)> = Vec::with_capacity(worker.conn_count());
    for i in 0..worker.conn_count() {
        let step = worker.start(i);
        queue.push((i as u64, step));
    }
    let mut injected = None;
    let (mut submitter, mut sq, mut cq) = ring.split();
    // Entering through a registered ring index skips a file lookup per call; optional.
    let _ = submitter.register_ring_fd();
    loop {
        for (ud, step) in queue.drain(..) {
            let mut entries = [None, None];
            if step == Step::Send {
                if let Some(msg) = worker.prepare_fused_send(ud as usize) {
                    entries = fused(worker, ud, msg);
                }
            }
            if entries[0].is_none() {
                entries[0] = entry_for(worker, ud, step);
            }
            let need = entries.iter().flatten().count();
            if sq.capacity() - sq.len() < need {
                sq.sync();
                submitter.submit()?;
                sq.sync();
            }
            for (k, e) in entries.iter().flatten().enumerate() {
                // SAFETY: every pointer in `e` (msghdr, iovecs, receive buffer, sockaddr)
                // points into the worker's connection slots, which are neither moved nor reused
                // until this operation's completion has been fed back to the worker (and are
                // leaked by `run` if it cannot reap it).
                while unsafe { sq.push(e) }.is_err() {
                    sq.sync();
                    submitter.submit()?;
                    sq.sync();
                }
                // One per step, once its first entry is queued: if the second of a fused pair
                // never gets queued, the count stays high and `run` leaks rather than frees.
                if k == 0 {
                    *inflight += 1;
                }
            }
        }
        sq.sync();
        if worker.done() {
            break;
        }
        let wake = worker.maintain(Instant::now());
        let stuck = worker.expired.iter().chain(&worker.recancel);
        for fd in stuck.map(|&i| worker.fd(i)).filter(|&fd| fd >= 0) {
            let cancel = cancel_fd(fd);
            // SAFETY: a cancel request holds no pointers (only the target's file descriptor),
            // so no memory must outlive it.
            while unsafe { sq.push(&cancel) }.is_err() {
                sq.sync();
                submitter.submit()?;
                sq.sync();
            }
        }
        sq.sync();
        for k in 0..worker.woken.len() {
            let i = worker.woken[k];
            let step = worker.resume(i);
            queue.push((i as u64, step));
        }
        if !queue.is_empty() {
            continue;
        }
        let d = wake.saturating_duration_since(Instant::now());
        let ts = types::Timespec::new()
            .sec(d.as_secs())
            .nsec(d.subsec_nanos());
        let args = types::SubmitArgs::new().timespec(&ts);
        let entered = match injected.take() {
            Some(e) => Err(e),
            None => submitter.submit_with_args(1, &args),
        };
        match entered {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(e) => return Err(e),
        }
        cq.sync();
        // Cancels carry no information; see `completion` for a fused send's.
        for c in cq.by_ref() {
            if is_op(c.user_data()) {
                *inflight -= 1;
                done.push(completion(c.user_data(), c.result()));
            }
        }
        if let Some(f) = trigger.due(done.len()) {
            // A panic fires here, with operations in flight; an error replaces the next
            // io_uring_enter, with entries queued but not submitted.
            injected = Some(inject::fire(f, worker.core));
        }
        for (ud, res) in done.drain(..) {
            let step = worker.on_complete(ud as usize, res);
            queue.push((ud, step));
        }
    }
    worker.flush();
    Ok(())
}

/// A cancel of every operation on socket `fd`: the one a connection waits for, and the send
/// of a fused pair (its `user_data` carries [`FUSED_SEND_TAG`], and while it blocks, the
/// linked receive is not issued yet, so a cancel by the connection's `user_data` finds
/// nothing; cancelling the send fails the link, and the receive completes with -ECANCELED).
/// IORING_ASYNC_CANCEL_FD (5.19) predates DEFER_TASKRUN (6.1), which the ring was built with.
fn cancel_fd(fd: i32) -> squeue::Entry {
    opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(fd)).all())
        .build()
        .user_data(CANCEL_TAG)
}

/// Cancels every operation in the ring and reaps completions until none of the worker's is in
/// flight, for at most [`REAP_BOUND`]. False if they could not all be reaped.
fn cancel_and_reap(ring: &mut IoUring, inflight: &mut usize) -> bool {
    let deadline = Instant::now() + REAP_BOUND;
    // IORING_ASYNC_CANCEL_ANY (5.19) predates DEFER_TASKRUN (6.1), which the ring was built
    // with, so it is always supported here.
    let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::any())
        .build()
        .user_data(CANCEL_TAG);
    let (submitter, mut sq, mut cq) = ring.split();
    let mut next_cancel = Instant::now();
    while *inflight > 0 {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        if now >= next_cancel {
            sq.sync();
            // SAFETY: a cancel request holds no pointers (only the target's user_data), so no
            // memory must outlive it. A full queue is submitted below and
            // the cancel pushed on the next round.
            if unsafe { sq.push(&cancel) }.is_ok() {
                next_cancel = now + RECANCEL;
            }
            sq.sync();
        }
        let d = next_cancel.min(deadline).saturating_duration_since(now);
        let ts = types::Timespec::new()
            .sec(d.as_secs())
            .nsec(d.subsec_nanos());
        let args = types::SubmitArgs::new().timespec(&ts);
        match submitter.submit_with_args(1, &args) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            // The ring itself fails: nothing more can be reaped.
            Err(_) => return false,
        }
        cq.sync();
        for c in cq.by_ref() {
            if is_op(c.user_data()) {
                *inflight = inflight.saturating_sub(1);
            }
        }
    }
    true
}

/// A whole request and the first receive of its response, as one linked pair: the send must
/// complete in full (`MSG_WAITALL`) and posts no completion when it succeeds, so a small
/// request costs one completion instead of two (measured in benches/RESULTS.md). Either the
/// receive or, when the send fails, the send posts the pair's one completion ([`completion`]).
fn fused(
    worker: &mut Worker,
    ud: u64,
    msg: *const libc::msghdr,
) -> [Option<io_uring::squeue::Entry>; 2] {
    let fd = types::Fd(worker.fd(ud as usize));
    let send = opcode::SendMsg::new(fd, msg)
        .flags((libc::MSG_NOSIGNAL | libc::MSG_WAITALL) as u32)
        .build()
        .flags(squeue::Flags::IO_LINK | squeue::Flags::SKIP_SUCCESS)
        .user_data(ud | FUSED_SEND_TAG);
    let (ptr, len) = worker.recv_space(ud as usize);
    // The response cannot be there yet: arm the poll first instead of trying a recv that
    // would only return EAGAIN.
    let recv = opcode::Recv::new(fd, ptr, len as u32)
        .ioprio(RECVSEND_POLL_FIRST)
        .build()
        .user_data(ud);
    [Some(send), Some(recv)]
}

/// The submission entry for a step, or `None` for `Idle`.
fn entry_for(worker: &mut Worker, ud: u64, step: Step) -> Option<io_uring::squeue::Entry> {
    let i = ud as usize;
    let fd = types::Fd(worker.fd(i));
    let e = match step {
        Step::Idle => return None,
        Step::Connect => {
            let peer = worker.peer(i);
            opcode::Connect::new(fd, peer.as_ptr().cast(), peer.len()).build()
        }
        Step::Send => {
            let msg = worker.prepare_send(i);
            opcode::SendMsg::new(fd, msg)
                .flags(libc::MSG_NOSIGNAL as u32)
                .build()
        }
        Step::Recv => {
            let (ptr, len) = worker.recv_space(i);
            opcode::Recv::new(fd, ptr, len as u32).build()
        }
        Step::Discard(n) => opcode::Recv::new(fd, std::ptr::null_mut(), n as u32)
            .flags(libc::MSG_TRUNC)
            .build(),
    };
    Some(e.user_data(ud))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// A receive that cannot complete (the peer never writes), as `user_data` 0.
    fn pending_recv(fd: i32, buf: &mut [u8]) -> squeue::Entry {
        opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), buf.len() as u32)
            .build()
            .user_data(0)
    }

    #[test]
    fn cancel_and_reap_collects_submitted_and_queued_operations() {
        let mut ring = setup(4).unwrap();
        let (a, _peer) = UnixStream::pair().unwrap();
        let (b, _peer2) = UnixStream::pair().unwrap();
        let (mut ba, mut bb) = ([0u8; 64], [0u8; 64]);
        // SAFETY: the buffers outlive the ring's use of them: cancel_and_reap below reaps both
        // operations before the buffers go out of scope (the test fails otherwise).
        unsafe {
            ring.submission()
                .push(&pending_recv(a.as_raw_fd(), &mut ba))
                .unwrap();
        }
        ring.submit().unwrap();
        // The second one is queued but not submitted, as after a failed io_uring_enter.
        // SAFETY: as above, reaped before `bb` goes out of scope.
        unsafe {
            ring.submission()
                .push(&pending_recv(b.as_raw_fd(), &mut bb))
                .unwrap();
        }
        let mut inflight = 2;
        let t = Instant::now();
        assert!(cancel_and_reap(&mut ring, &mut inflight));
        assert_eq!(inflight, 0);
        assert!(t.elapsed() < REAP_BOUND, "took {:?}", t.elapsed());
    }

    #[test]
    fn cancel_and_reap_gives_up_within_its_bound() {
        let mut ring = setup(4).unwrap();
        // One more than will ever complete: the bound, not the count, ends the wait.
        let mut inflight = 1;
        let t = Instant::now();
        assert!(!cancel_and_reap(&mut ring, &mut inflight));
        assert!(t.elapsed() >= REAP_BOUND && t.elapsed() < REAP_BOUND * 2);
    }

    #[test]
    fn only_worker_operations_are_counted() {
        assert!(is_op(0) && is_op(12345) && is_op(7 | FUSED_SEND_TAG));
        assert!(!is_op(CANCEL_TAG));
        assert_eq!(completion(7, 100), (7, 100));
        assert_eq!(
            completion(7 | FUSED_SEND_TAG, -libc::EPIPE),
            (7, -libc::EPIPE)
        );
        assert_eq!(completion(7 | FUSED_SEND_TAG, 4096), (7, -libc::ECANCELED));
    }
}
