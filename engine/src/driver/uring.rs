//! The io_uring driver: one private ring per core, completion-driven.
//!
//! The ring is set up with SINGLE_ISSUER + DEFER_TASKRUN (the task-run flag was the biggest
//! single factor in client CPU per request on these machines; see
//! ../shared/reference/io-uring-notes.md), and each loop submits every queued operation and
//! waits in the same `io_uring_enter` call, with a timeout for the worker's next housekeeping.
//! GET bodies that need no inspection are dropped with a `Recv` of a null buffer and
//! `MSG_TRUNC`, the cheapest drop measured here. `user_data` is the connection index; each
//! connection has at most one operation in flight, so a completion always belongs to the
//! operation the worker last asked for. Cancels carry [`CANCEL_TAG`] and are ignored.

use std::io;
use std::time::Instant;

use io_uring::{opcode, squeue, types, IoUring};

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

/// Runs the worker until every connection is finished.
pub fn run(mut ring: IoUring, worker: &mut Worker) -> io::Result<()> {
    let mut queue: Vec<(u64, Step)> = Vec::with_capacity(worker.conn_count());
    let mut done: Vec<(u64, i32)> = Vec::with_capacity(worker.conn_count());
    for i in 0..worker.conn_count() {
        let step = worker.start(i);
        queue.push((i as u64, step));
    }
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
            for e in entries.iter().flatten() {
                // SAFETY: every pointer in `e` (msghdr, iovecs, receive buffer, sockaddr)
                // points into the worker's connection slots, which are neither moved nor reused
                // until this operation's completion has been fed back to the worker.
                while unsafe { sq.push(e) }.is_err() {
                    sq.sync();
                    submitter.submit()?;
                    sq.sync();
                }
            }
        }
        sq.sync();
        if worker.done() {
            break;
        }
        let wake = worker.maintain(Instant::now());
        for k in 0..worker.expired.len() {
            let i = worker.expired[k] as u64;
            let cancel = opcode::AsyncCancel::new(i).build().user_data(CANCEL_TAG);
            // SAFETY: a cancel request holds no pointers.
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
        match submitter.submit_with_args(1, &args) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(e) => return Err(e),
        }
        cq.sync();
        done.extend(cq.by_ref().map(|c| (c.user_data(), c.result())));
        for (ud, res) in done.drain(..) {
            if ud == CANCEL_TAG || ud & FUSED_SEND_TAG != 0 {
                // A fused send reports only failures, and its linked receive then completes
                // with -ECANCELED, which is what the worker acts on.
                continue;
            }
            let step = worker.on_complete(ud as usize, res);
            queue.push((ud, step));
        }
    }
    worker.flush();
    Ok(())
}

/// A whole request and the first receive of its response, as one linked pair: the send must
/// complete in full (`MSG_WAITALL`) and posts no completion when it succeeds, so a small
/// request costs one completion instead of two (measured in benches/RESULTS.md).
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
