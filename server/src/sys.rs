//! Thin, safe wrappers over the Linux syscalls the built-in target uses.
//!
//! Owns: every `unsafe` of the server (epoll, eventfd, accept4, socket options, recv,
//! recv(MSG_TRUNC), sendmsg, signal masks). Why here: the connection logic stays safe code that only sees `io::Result`s.
//!
//! Invariants: all descriptors are `OwnedFd` (closed exactly once, on drop); all sockets are
//! non-blocking and close-on-exec; sends use `MSG_NOSIGNAL` so a vanished peer yields `EPIPE`,
//! never `SIGPIPE`; `EINTR` is retried or reported as "no progress", never as an error.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Maps a `-1` syscall return to the thread's `errno`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Same as [`check`] for `ssize_t` returns.
fn check_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// An epoll instance.
pub(crate) struct Epoll(OwnedFd);

impl Epoll {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative return is a fresh fd we own.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Registers `fd` for `events`, reporting `token` with each event.
    pub(crate) fn add(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event living across the call; the kernel copies it.
        check(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: forever) and returns how many entries of `events` are set.
    /// An interrupted wait returns 0.
    pub(crate) fn wait(
        &self,
        events: &mut [libc::epoll_event],
        timeout_ms: i32,
    ) -> io::Result<usize> {
        let max = events.len().min(i32::MAX as usize) as i32;
        // SAFETY: `events` is a valid, writable buffer of at least `max` epoll_event entries.
        let n =
            unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
        match check(n) {
            Ok(n) => Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// A non-blocking eventfd used to wake every core's epoll on stop.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; a non-negative return is a fresh fd we own.
    let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes `fd` readable (level-triggered waiters then wake on every wait).
pub(crate) fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid u64 on the stack. A failure (counter saturated) still
    // leaves the eventfd readable, which is all we need, so the result is ignored.
    let _ = unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Accepts one connection as a non-blocking, close-on-exec socket.
pub(crate) fn accept(listener: RawFd) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: null address pointers are allowed by accept4 (peer address not wanted).
        let ret = unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        match check(ret) {
            // SAFETY: a non-negative accept4 return is a fresh fd we own.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Disables Nagle so small keep-alive responses leave at once.
pub(crate) fn set_nodelay(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: passes a pointer to a live c_int and its exact size.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Makes the next `close` of `fd` send a TCP reset (RST) instead of a FIN, discarding unsent
/// data (`SO_LINGER` on with a zero timeout). Used by the `reset` fault.
pub(crate) fn set_linger_zero(fd: RawFd) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: passes a pointer to a live `linger` and its exact size.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Reads into `buf`; `Ok(0)` is end of stream.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid and writable for `buf.len()` bytes.
        let ret = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        match check_size(ret) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Drops up to `len` received bytes inside the kernel without copying them (TCP `MSG_TRUNC`).
/// `Ok(0)` is end of stream.
pub(crate) fn discard(fd: RawFd, len: usize) -> io::Result<usize> {
    loop {
        // SAFETY: with MSG_TRUNC on a TCP socket the kernel skips the copy to user space, so the
        // null buffer is never written; no Rust memory is involved.
        let ret = unsafe { libc::recv(fd, std::ptr::null_mut(), len, libc::MSG_TRUNC) };
        match check_size(ret) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Sends `head` then `body` in one `sendmsg` (either may be empty); returns bytes accepted.
pub(crate) fn send2(fd: RawFd, head: &[u8], body: &[u8]) -> io::Result<usize> {
    let mut iov = [
        libc::iovec {
            iov_base: head.as_ptr() as *mut libc::c_void,
            iov_len: head.len(),
        },
        libc::iovec {
            iov_base: body.as_ptr() as *mut libc::c_void,
            iov_len: body.len(),
        },
    ];
    let (start, count) = match (head.is_empty(), body.is_empty()) {
        (true, _) => (1, 1),
        (false, true) => (0, 1),
        (false, false) => (0, 2),
    };
    // SAFETY: an all-zero msghdr is a valid "no address, no control data" header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov[start..].as_mut_ptr();
    msg.msg_iovlen = count as _;
    loop {
        // SAFETY: `msg` points at `count` iovecs describing live, readable slices (`head`,
        // `body`) that outlive the call; the kernel only reads them.
        let ret = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) };
        match check_size(ret) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// SIGINT and SIGTERM blocked on the calling thread (and inherited by threads it spawns
/// afterwards), so they can be taken with [`StopSignals::wait`]. Restores the old mask on drop.
pub(crate) struct StopSignals {
    set: libc::sigset_t,
    old: libc::sigset_t,
}

impl StopSignals {
    pub(crate) fn block() -> io::Result<Self> {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it through a valid
        // pointer before use, and pthread_sigmask writes the previous mask into `old`.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(Self { set, old })
        }
    }

    /// Blocks until SIGINT or SIGTERM arrives; returns its number.
    pub(crate) fn wait(&self) -> io::Result<i32> {
        let mut sig: libc::c_int = 0;
        // SAFETY: `self.set` is an initialised signal set and `sig` a valid out-pointer.
        let rc = unsafe { libc::sigwait(&self.set, &mut sig) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(sig)
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `block` through a valid pointer.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn send2_discard_and_recv_over_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        assert_eq!(send2(server.as_raw_fd(), b"ab", b"cd").unwrap(), 4);
        assert_eq!(send2(server.as_raw_fd(), b"", b"ef").unwrap(), 2);
        let mut got = [0u8; 6];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcdef");

        client.write_all(b"0123456789").unwrap();
        server.set_nonblocking(false).unwrap();
        let mut dropped = 0;
        while dropped < 6 {
            dropped += discard(server.as_raw_fd(), 6 - dropped).unwrap();
        }
        let mut rest = [0u8; 4];
        let mut n = 0;
        while n < 4 {
            n += recv(server.as_raw_fd(), &mut rest[n..]).unwrap();
        }
        assert_eq!(&rest, b"6789");
    }

    #[test]
    fn eventfd_wakes_epoll() {
        let ep = Epoll::new().unwrap();
        let efd = eventfd().unwrap();
        ep.add(efd.as_raw_fd(), libc::EPOLLIN as u32, 7).unwrap();
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
        assert_eq!(ep.wait(&mut evs, 0).unwrap(), 0);
        eventfd_signal(efd.as_raw_fd());
        assert_eq!(ep.wait(&mut evs, 1000).unwrap(), 1);
        let token = evs[0].u64;
        assert_eq!(token, 7);
    }
}
