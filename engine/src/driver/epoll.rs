//! The epoll driver: the fallback for hosts where io_uring is blocked.
//!
//! Each socket is registered once, edge-triggered for both directions, when its connect
//! starts. A connection is driven with non-blocking syscalls until one returns `EAGAIN`; the
//! next edge for that socket resumes it. GET bodies are dropped with
//! `recv(fd, NULL, n, MSG_TRUNC)` just as on io_uring. Since no operation is ever owned by the
//! kernel here, an expired operation is aborted directly through the worker. A socket that
//! moves to another connection through the worker's per-host pool is re-registered with its
//! new owner's index before its first send.
//!
//! The syscalls are `ringload_net::sys`'s wrappers (shared with the built-in target); the only
//! `unsafe` left here lends them the worker's raw send header and receive space.

use std::io;
use std::time::Instant;

use ringload_net::sys::{self, Epoll};

use crate::inject::{self, Trigger};
use crate::worker::{Step, Worker};

/// Events fetched per `epoll_wait`.
const MAX_EVENTS: usize = 256;

/// Runs the worker until every connection is finished. No operation is owned by the kernel
/// here, so an error or a panic may leave at any point: the worker's buffers are free to go.
pub fn run(worker: &mut Worker, mut trigger: Trigger) -> io::Result<()> {
    let ep = Epoll::new()?;
    let n = worker.conn_count();
    // The step each connection is blocked on (`Idle` = not waiting for readiness).
    let mut waiting = vec![Step::Idle; n];
    // The connection each registered socket reports to (sockets move between connections
    // through the worker's per-host pool; see `drive`).
    let mut owner: Vec<u32> = Vec::new();
    for i in 0..n {
        let step = worker.start(i);
        drive(&ep, worker, &mut waiting, &mut owner, i, step);
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    while !worker.done() {
        let wake = worker.maintain(Instant::now());
        for k in 0..worker.expired.len() {
            let i = worker.expired[k];
            let step = worker.abort_now(i);
            drive(&ep, worker, &mut waiting, &mut owner, i, step);
        }
        for k in 0..worker.woken.len() {
            let i = worker.woken[k];
            let step = worker.resume(i);
            drive(&ep, worker, &mut waiting, &mut owner, i, step);
        }
        if worker.done() {
            break;
        }
        let timeout = wake.saturating_duration_since(Instant::now());
        // To the nanosecond where the kernel has epoll_pwait2; an interrupted wait returns 0
        // events, like a timeout.
        let got = ep.wait_for(&mut events, timeout)?;
        if let Some(f) = trigger.due(got) {
            // The wait fails (or the core panics) as if epoll_wait had.
            return Err(inject::fire(f, worker.core));
        }
        for ev in &events[..got] {
            let i = ev.u64 as usize;
            let flags = ev.events as i32;
            let step = match waiting[i] {
                Step::Connect => {
                    if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) == 0 {
                        continue;
                    }
                    let res = match sys::socket_error(worker.fd(i)) {
                        Ok(e) => -e,
                        Err(e) => -errno(&e),
                    };
                    worker.on_complete(i, res)
                }
                Step::Send if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) != 0 => {
                    Step::Send
                }
                Step::Recv | Step::Discard(_) if flags != 0 => worker.current(i),
                _ => continue,
            };
            drive(&ep, worker, &mut waiting, &mut owner, i, step);
        }
    }
    worker.flush();
    Ok(())
}

/// Performs steps for connection `i` until one would block or the connection goes idle.
fn drive(
    ep: &Epoll,
    worker: &mut Worker,
    waiting: &mut [Step],
    owner: &mut Vec<u32>,
    i: usize,
    mut step: Step,
) {
    const EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
    loop {
        let fd = worker.fd(i);
        if fd >= 0 && owner.len() <= fd as usize {
            owner.resize(fd as usize + 1, u32::MAX);
        }
        let res = match step {
            Step::Idle => {
                waiting[i] = Step::Idle;
                return;
            }
            Step::Connect => match ep.add(fd, EVENTS, i as u64) {
                Err(e) => -errno(&e),
                Ok(()) => {
                    owner[fd as usize] = i as u32;
                    result(sys::connect(fd, worker.peer(i)).map(|()| 0))
                }
            },
            Step::Send => {
                if owner[fd as usize] != i as u32 {
                    // A pooled socket that another connection registered: report to us now.
                    let _ = ep.modify(fd, EVENTS, i as u64);
                    owner[fd as usize] = i as u32;
                }
                let msg = worker.prepare_send(i);
                // SAFETY: `msg` is connection `i`'s message header, just filled by the worker:
                // its iovecs describe the request head in the connection's exchange and a slice
                // of the process-wide content pattern. Nothing touches the worker until this
                // call returns, so all of it stays valid and unchanged while the kernel reads.
                result(unsafe { sys::sendmsg(fd, msg, libc::MSG_DONTWAIT) })
            }
            Step::Recv => {
                let (ptr, len) = worker.recv_space(i);
                // SAFETY: `ptr`/`len` are the free tail of connection `i`'s receive buffer (the
                // exchange's, or its TLS session's incoming ciphertext buffer, possibly
                // uninitialised), which the worker owns and does not touch or move until the
                // next call into it, after this recv returns.
                result(unsafe { sys::recv_into(fd, ptr, len, libc::MSG_DONTWAIT) })
            }
            Step::Discard(n) => result(sys::discard(fd, n, libc::MSG_DONTWAIT)),
        };
        let blocked = res == -libc::EAGAIN || (step == Step::Connect && res == -libc::EINPROGRESS);
        if blocked {
            waiting[i] = step;
            return;
        }
        let sent = step == Step::Send;
        step = worker.on_complete(i, res);
        if sent && step == Step::Recv {
            // The response cannot be there yet: wait for the edge instead of a recv that
            // would only return EAGAIN (the request was just written).
            waiting[i] = step;
            return;
        }
    }
}

/// A syscall outcome as the worker takes it: bytes done, or `-errno`.
#[inline]
fn result(r: io::Result<usize>) -> i32 {
    match r {
        Ok(n) => n as i32,
        Err(e) => -errno(&e),
    }
}

/// The errno of a failed syscall (`EIO` if the error somehow carries none).
#[inline]
fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}
