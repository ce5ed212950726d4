//! The epoll driver: the fallback for hosts where io_uring is blocked.
//!
//! Each socket is registered once, edge-triggered for both directions, when its connect
//! starts. A connection is driven with non-blocking syscalls until one returns `EAGAIN`; the
//! next edge for that socket resumes it. GET bodies are dropped with
//! `recv(fd, NULL, n, MSG_TRUNC)` just as on io_uring. Since no operation is ever owned by the
//! kernel here, an expired operation is aborted directly through the worker. A socket that
//! moves to another connection through the worker's per-host pool is re-registered with its
//! new owner's index before its first send.

use std::io;
use std::time::Instant;

use crate::inject::{self, Trigger};
use crate::worker::{Step, Worker};

/// Events fetched per `epoll_wait`.
const MAX_EVENTS: usize = 256;

struct Epoll {
    fd: i32,
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: `fd` is the epoll instance this struct owns.
        unsafe { libc::close(self.fd) };
    }
}

/// Runs the worker until every connection is finished. No operation is owned by the kernel
/// here, so an error or a panic may leave at any point: the worker's buffers are free to go.
pub fn run(worker: &mut Worker, mut trigger: Trigger) -> io::Result<()> {
    // SAFETY: plain syscall; the result is checked.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let ep = Epoll { fd };
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
        let timeout = super::millis_until(wake);
        // SAFETY: `events` has room for MAX_EVENTS entries.
        let got =
            unsafe { libc::epoll_wait(ep.fd, events.as_mut_ptr(), MAX_EVENTS as i32, timeout) };
        if got < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        if let Some(f) = trigger.due(got as usize) {
            // The wait fails (or the core panics) as if epoll_wait had.
            return Err(inject::fire(f, worker.core));
        }
        for ev in &events[..got as usize] {
            let i = ev.u64 as usize;
            let flags = ev.events as i32;
            let step = match waiting[i] {
                Step::Connect => {
                    if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) == 0 {
                        continue;
                    }
                    let res = match socket_error(worker.fd(i)) {
                        0 => 0,
                        e => -e,
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
        // SAFETY (all calls below): `fd` is the connection's open socket; the buffers and the
        // message header come from the worker's connection slot and outlive the call.
        let res = match step {
            Step::Idle => {
                waiting[i] = Step::Idle;
                return;
            }
            Step::Connect => {
                let mut ev = libc::epoll_event {
                    events: EVENTS,
                    u64: i as u64,
                };
                if unsafe { libc::epoll_ctl(ep.fd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
                    -errno()
                } else {
                    owner[fd as usize] = i as u32;
                    let peer = worker.peer(i);
                    let r = unsafe { libc::connect(fd, peer.as_ptr().cast(), peer.len()) };
                    if r == 0 {
                        0
                    } else {
                        -errno()
                    }
                }
            }
            Step::Send => {
                if owner[fd as usize] != i as u32 {
                    // A pooled socket that another connection registered: report to us now.
                    let mut ev = libc::epoll_event {
                        events: EVENTS,
                        u64: i as u64,
                    };
                    unsafe { libc::epoll_ctl(ep.fd, libc::EPOLL_CTL_MOD, fd, &mut ev) };
                    owner[fd as usize] = i as u32;
                }
                let msg = worker.prepare_send(i);
                let r = unsafe { libc::sendmsg(fd, msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
                if r < 0 {
                    -errno()
                } else {
                    r as i32
                }
            }
            Step::Recv => {
                let (ptr, len) = worker.recv_space(i);
                let r = unsafe { libc::recv(fd, ptr.cast(), len, libc::MSG_DONTWAIT) };
                if r < 0 {
                    -errno()
                } else {
                    r as i32
                }
            }
            Step::Discard(n) => {
                let flags = libc::MSG_TRUNC | libc::MSG_DONTWAIT;
                let r = unsafe { libc::recv(fd, std::ptr::null_mut(), n, flags) };
                if r < 0 {
                    -errno()
                } else {
                    r as i32
                }
            }
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

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The pending error of a socket after a non-blocking connect (0 = connected).
fn socket_error(fd: i32) -> i32 {
    let mut err: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `err` and `len` are valid out-parameters of the right size.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut i32).cast(),
            &mut len,
        )
    };
    if r < 0 {
        errno()
    } else {
        err
    }
}
