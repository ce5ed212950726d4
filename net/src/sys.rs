//! Thin, safe wrappers over the Linux syscalls the load client's epoll driver and the built-in
//! target make: epoll, eventfd, accept, socket options, connect, recv, recv(`MSG_TRUNC`),
//! sendmsg and the stop-signal mask.
//!
//! Owns: nearly every `unsafe` syscall of the workspace, so that the connection logic on both
//! sides is safe code that only sees `io::Result`s. io_uring stays with the client's uring
//! driver (it goes through the io-uring crate, not libc).
//!
//! Invariants: descriptors created here are `OwnedFd` (closed exactly once, on drop) and
//! close-on-exec; sends always add `MSG_NOSIGNAL`, so a vanished peer yields `EPIPE`, never
//! `SIGPIPE`. Each I/O wrapper makes exactly one syscall with the caller's flags and reports
//! `EINTR` and `EAGAIN` as errors: the caller decides whether to retry ([`retry`]) or wait for
//! readiness. The per-request wrappers are `#[inline]` so they cost what the bare call did.
//!
//! [`process`] holds the process-level calls (signals, `_exit`, rlimit, local time, host name).

pub mod process;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Maps a negative syscall return to the thread's `errno`.
#[inline]
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Same as [`check`] for `ssize_t` returns.
#[inline]
fn check_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// Takes ownership of a descriptor a syscall just returned (after [`check`]).
fn owned(fd: libc::c_int) -> OwnedFd {
    debug_assert!(fd >= 0);
    // SAFETY: `fd` is a non-negative descriptor the kernel just returned to this thread from a
    // creating call (epoll_create1, eventfd, accept4); nothing else holds it, so the `OwnedFd`
    // is its only owner and closes it exactly once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Closes the raw descriptor `fd`, ignoring the result (the descriptor is gone either way).
/// The caller must own `fd` and have no operation outstanding on it; it must not use or close
/// it again.
#[inline]
pub fn close(fd: RawFd) {
    // SAFETY: close takes no pointers; a descriptor that is not open is an EBADF return,
    // ignored. Ownership of `fd` is the caller's contract, documented above.
    unsafe { libc::close(fd) };
}

/// Runs `op` again while it fails with `EINTR` (a signal arrived before any progress).
#[inline]
pub fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// An epoll instance.
#[derive(Debug)]
pub struct Epoll(OwnedFd);

/// Set once `epoll_pwait2` (Linux 5.11) turned out missing (ENOSYS) or forbidden (EPERM from a
/// seccomp filter): waits then round up to whole milliseconds with `epoll_wait`.
static NO_PWAIT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Epoll {
    /// A new close-on-exec epoll instance.
    pub fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; the result is checked before use.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Self(owned(fd)))
    }

    /// One `epoll_ctl` call on `fd` with `events` and `token`.
    #[inline]
    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `self.0` is the epoll descriptor this value owns (open until drop); `ev` is a
        // live, initialised epoll_event on this stack frame for the whole call, and the kernel
        // only copies it in. A bad `fd` is reported as EBADF, not undefined behaviour.
        check(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    /// Registers `fd` for `events`, reporting `token` with each event.
    #[inline]
    pub fn add(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, token)
    }

    /// Changes the events and the token of the registered `fd`.
    #[inline]
    pub fn modify(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, events, token)
    }

    /// Removes `fd` from the set (closing the last descriptor of a socket does that too).
    #[inline]
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        // The event argument is ignored for EPOLL_CTL_DEL (it only had to be non-null before
        // Linux 2.6.9).
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Waits up to `timeout_ms` (-1: forever) and returns how many leading entries of `events`
    /// are set. An interrupted wait returns 0, like a timeout.
    #[inline]
    pub fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        let max = events.len().min(i32::MAX as usize) as i32;
        // SAFETY: `events` is an exclusively borrowed, writable buffer of at least `max`
        // epoll_event entries that outlives the call; the kernel writes at most `max` of them.
        // `self.0` is the epoll descriptor this value owns.
        let n =
            unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
        match check(n) {
            Ok(n) => Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }
}

impl Epoll {
    /// Waits up to `timeout` to the nanosecond with `epoll_pwait2`, so a schedule's wake-up is
    /// not rounded up to the next millisecond; where the kernel lacks it, with `epoll_wait`
    /// and the timeout rounded up to whole milliseconds. Returns how many leading entries of
    /// `events` are set; an interrupted wait returns 0, like a timeout.
    pub fn wait_for(
        &self,
        events: &mut [libc::epoll_event],
        timeout: std::time::Duration,
    ) -> io::Result<usize> {
        use std::sync::atomic::Ordering;
        if !NO_PWAIT2.load(Ordering::Relaxed) {
            let max = events.len().min(i32::MAX as usize) as libc::c_int;
            let ts = libc::timespec {
                tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: timeout.subsec_nanos() as libc::c_long,
            };
            // SAFETY: as for `wait`: `events` is an exclusively borrowed, writable buffer of at
            // least `max` entries that outlives the call; `ts` is a live timespec the kernel
            // only reads; a null sigmask (size 0) leaves the signal mask alone. `self.0` is
            // the epoll descriptor this value owns.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    self.0.as_raw_fd(),
                    events.as_mut_ptr(),
                    max,
                    &ts as *const libc::timespec,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => return Ok(0),
                Some(libc::ENOSYS | libc::EPERM) => NO_PWAIT2.store(true, Ordering::Relaxed),
                _ => return Err(e),
            }
        }
        self.wait(events, millis_ceil(timeout))
    }
}

/// `d` in whole milliseconds, rounded up (a wait never returns before its deadline).
fn millis_ceil(d: std::time::Duration) -> i32 {
    d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
}

/// A non-blocking, close-on-exec eventfd (counter 0), used to wake epoll waiters.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; the result is checked before use.
    let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    Ok(owned(fd))
}

/// Adds 1 to the eventfd `fd`, making it readable (level-triggered waiters then wake on every
/// wait). A failure (counter saturated) still leaves it readable, so it is ignored.
pub fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: the buffer is `one`, a live u64 on this stack frame, and the length is exactly its
    // 8 bytes; the kernel only reads it. A bad `fd` is an EBADF return, ignored as said above.
    let _ = unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Accepts one connection on `listener` as a non-blocking, close-on-exec socket, retrying
/// `EINTR`. `EAGAIN` means no connection is pending.
pub fn accept(listener: RawFd) -> io::Result<OwnedFd> {
    let fd = retry(|| {
        // SAFETY: accept4 allows null address and length pointers (the peer address is not
        // wanted), so no memory is passed to the kernel; the result is checked before use.
        check(unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        })
    })?;
    Ok(owned(fd))
}

/// Starts connecting the socket `fd` to `addr` (on a non-blocking socket, `EINPROGRESS` is the
/// usual answer; readiness for writing then reports the outcome, see [`socket_error`]).
#[inline]
pub fn connect(fd: RawFd, addr: &socket2::SockAddr) -> io::Result<()> {
    // SAFETY: `addr.as_ptr()` points at the sockaddr storage `addr` owns, borrowed for the whole
    // call, and `addr.len()` is the length of the address inside it (socket2 keeps it within
    // the storage); the kernel only reads those bytes.
    check(unsafe { libc::connect(fd, addr.as_ptr().cast(), addr.len()) })?;
    Ok(())
}

/// The pending error of the socket `fd` (`SO_ERROR`, cleared by reading it): after a
/// non-blocking connect, 0 means connected, otherwise the errno it failed with.
#[inline]
pub fn socket_error(fd: RawFd) -> io::Result<i32> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` are live, exclusively borrowed locals for the whole call, and `len`
    // holds `err`'s exact size, so the kernel writes at most that many bytes into `err`.
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(err)
}

/// Sets an `int` socket option.
fn set_int_option(fd: RawFd, level: libc::c_int, name: libc::c_int, value: i32) -> io::Result<()> {
    // SAFETY: the option value is `value`, a live c_int on this stack frame, with its exact
    // size as the length; the kernel only reads it.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Disables Nagle on the TCP socket `fd`, so small keep-alive responses leave at once.
pub fn set_nodelay(fd: RawFd) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
}

/// Makes the next `close` of `fd` send a TCP reset (RST) instead of a FIN, discarding unsent
/// data (`SO_LINGER` on with a zero timeout).
pub fn set_linger_zero(fd: RawFd) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the option value is `linger`, a live, initialised struct on this stack frame, with
    // its exact size as the length; the kernel only reads it.
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

/// One `recv` into `buf` with `flags`; `Ok(0)` is end of stream (or an empty `buf`).
#[inline]
pub fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: `buf` is exclusively borrowed for the whole call and writable for `buf.len()`
    // bytes, the length passed, so the kernel writes only inside it.
    check_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) })
}

/// One `recv` of up to `len` bytes into `ptr` with `flags`, for memory that may be
/// uninitialised (a TLS connection's incoming buffer, whose untouched pages stay
/// unallocated); `Ok(0)` is end of stream.
///
/// # Safety
///
/// `ptr` must be valid for writes of `len` bytes for the whole call, and nothing else may
/// read or write that memory meanwhile.
#[inline]
pub unsafe fn recv_into(
    fd: RawFd,
    ptr: *mut u8,
    len: usize,
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: the caller guarantees `ptr..ptr + len` is writable and unaliased during this
    // call; the kernel writes at most `len` bytes there.
    check_size(unsafe { libc::recv(fd, ptr.cast(), len, flags) })
}

/// Drops up to `len` received bytes inside the kernel without copying them: one
/// `recv(fd, NULL, len, MSG_TRUNC | flags)` on a TCP socket. `Ok(0)` is end of stream.
#[inline]
pub fn discard(fd: RawFd, len: usize, flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: with MSG_TRUNC on a TCP socket the kernel skips the copy to user space, so the
    // null buffer is never written; no Rust memory is involved. (On a socket type without that
    // meaning, a null buffer makes the kernel return EFAULT rather than write anywhere.)
    check_size(unsafe { libc::recv(fd, std::ptr::null_mut(), len, libc::MSG_TRUNC | flags) })
}

/// One `sendmsg` of `msg` with `flags | MSG_NOSIGNAL`; returns the bytes accepted.
///
/// # Safety
///
/// `msg` must point at a valid `msghdr` whose `msg_iov` array (`msg_iovlen` entries) and every
/// buffer those entries describe, plus any name or control data it names, stay valid for reads
/// for the whole call. The kernel only reads them.
#[inline]
pub unsafe fn sendmsg(
    fd: RawFd,
    msg: *const libc::msghdr,
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: the caller guarantees `msg` and all the memory it describes are valid for reads
    // during this call, which is all sendmsg touches.
    check_size(unsafe { libc::sendmsg(fd, msg, flags | libc::MSG_NOSIGNAL) })
}

/// Sends `head` then `body` in one `sendmsg` with `flags | MSG_NOSIGNAL` (either may be empty);
/// returns the bytes accepted.
#[inline]
pub fn send2(fd: RawFd, head: &[u8], body: &[u8], flags: libc::c_int) -> io::Result<usize> {
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
    // SAFETY: msghdr is plain C data (pointers, lengths and flags) for which all-zero bytes are
    // a valid value: no address, no control data, no iovecs.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov[start..].as_mut_ptr();
    msg.msg_iovlen = count as _;
    // SAFETY: `msg` names `count` entries of `iov` starting at `start` (in bounds: start +
    // count <= 2); they describe `head` and `body`, shared borrows that outlive the call, and
    // `msg` has no name or control data. `iov` and `msg` live on this frame until after it.
    unsafe { sendmsg(fd, &msg, flags) }
}

/// SIGINT and SIGTERM blocked on the calling thread (and inherited by threads it spawns
/// afterwards), so they can be taken with [`StopSignals::wait`]. Restores the old mask on drop.
pub struct StopSignals {
    set: libc::sigset_t,
    old: libc::sigset_t,
}

impl StopSignals {
    /// Blocks SIGINT and SIGTERM on the calling thread.
    pub fn block() -> io::Result<Self> {
        // SAFETY: sigset_t is plain data, so zeroed values are valid; sigemptyset and sigaddset
        // initialise `set` through a pointer to this live local, and pthread_sigmask only reads
        // `set` and writes the previous mask into the live local `old`.
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
    pub fn wait(&self) -> io::Result<i32> {
        let mut sig: libc::c_int = 0;
        // SAFETY: `self.set` is the signal set `block` initialised, borrowed for the call and
        // only read; `sig` is a live local the kernel writes one c_int into.
        let rc = unsafe { libc::sigwait(&self.set, &mut sig) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(sig)
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        // SAFETY: `self.old` is the mask `block` saved, read through a valid pointer; a null
        // old-set pointer is allowed and means "do not report the previous mask".
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

    #[test]
    fn a_wait_to_the_nanosecond_never_returns_early_and_sees_events() {
        use std::time::{Duration, Instant};
        assert_eq!(millis_ceil(Duration::from_micros(300)), 1);
        assert_eq!(millis_ceil(Duration::from_millis(1)), 1);
        assert_eq!(millis_ceil(Duration::from_micros(1_001)), 2);
        assert_eq!(millis_ceil(Duration::ZERO), 0);
        let ep = Epoll::new().unwrap();
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
        let t = Instant::now();
        assert_eq!(
            ep.wait_for(&mut evs, Duration::from_micros(300)).unwrap(),
            0
        );
        assert!(
            t.elapsed() >= Duration::from_micros(300),
            "{:?}",
            t.elapsed()
        );
        let efd = eventfd().unwrap();
        ep.add(efd.as_raw_fd(), libc::EPOLLIN as u32, 7).unwrap();
        eventfd_signal(efd.as_raw_fd());
        assert_eq!(ep.wait_for(&mut evs, Duration::from_secs(5)).unwrap(), 1);
        assert_eq!({ evs[0].u64 }, 7);
    }

    #[test]
    fn send2_discard_and_recv_over_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        assert_eq!(send2(server.as_raw_fd(), b"ab", b"cd", 0).unwrap(), 4);
        assert_eq!(send2(server.as_raw_fd(), b"", b"ef", 0).unwrap(), 2);
        assert_eq!(send2(server.as_raw_fd(), b"gh", b"", 0).unwrap(), 2);
        let mut got = [0u8; 8];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcdefgh");

        client.write_all(b"0123456789").unwrap();
        let mut dropped = 0;
        while dropped < 6 {
            dropped += retry(|| discard(server.as_raw_fd(), 6 - dropped, 0)).unwrap();
        }
        let mut rest = [0u8; 4];
        let mut n = 0;
        while n < 4 {
            n += retry(|| recv(server.as_raw_fd(), &mut rest[n..], 0)).unwrap();
        }
        assert_eq!(&rest, b"6789");
    }

    #[test]
    fn dontwait_reports_would_block_and_eof_is_zero() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let fd = server.as_raw_fd();
        let mut buf = [0u8; 16];
        let e = recv(fd, &mut buf, libc::MSG_DONTWAIT).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
        let e = discard(fd, 16, libc::MSG_DONTWAIT).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
        drop(client);
        assert_eq!(retry(|| recv(fd, &mut buf, 0)).unwrap(), 0);
        assert_eq!(retry(|| discard(fd, 16, 0)).unwrap(), 0);
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

        ep.modify(efd.as_raw_fd(), libc::EPOLLIN as u32, 9).unwrap();
        assert_eq!(ep.wait(&mut evs, 1000).unwrap(), 1);
        let token = evs[0].u64;
        assert_eq!(token, 9);

        ep.delete(efd.as_raw_fd()).unwrap();
        assert_eq!(ep.wait(&mut evs, 0).unwrap(), 0);
        let e = ep.add(-1, libc::EPOLLIN as u32, 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn nonblocking_connect_then_socket_error_and_accept() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        assert_eq!(
            accept(listener.as_raw_fd()).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let addr = socket2::SockAddr::from(listener.local_addr().unwrap());
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.set_nonblocking(true).unwrap();
        match connect(sock.as_raw_fd(), &addr) {
            Ok(()) => {}
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EINPROGRESS)),
        }
        let ep = Epoll::new().unwrap();
        ep.add(sock.as_raw_fd(), libc::EPOLLOUT as u32, 3).unwrap();
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 1];
        assert_eq!(ep.wait(&mut evs, 5000).unwrap(), 1);
        assert_eq!(socket_error(sock.as_raw_fd()).unwrap(), 0);

        // The handshake is done on the client side; wait until the listener has it queued.
        ep.add(listener.as_raw_fd(), libc::EPOLLIN as u32, 4)
            .unwrap();
        ep.delete(sock.as_raw_fd()).unwrap();
        assert_eq!(ep.wait(&mut evs, 5000).unwrap(), 1);
        let token = evs[0].u64;
        assert_eq!(token, 4);
        let accepted = accept(listener.as_raw_fd()).unwrap();
        set_nodelay(accepted.as_raw_fd()).unwrap();
        set_linger_zero(accepted.as_raw_fd()).unwrap();
        assert_eq!(socket_error(accepted.as_raw_fd()).unwrap(), 0);
    }

    #[test]
    fn refused_connect_shows_in_socket_error() {
        // A port that was just free: binding then dropping leaves nothing listening.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.set_nonblocking(true).unwrap();
        let addr = socket2::SockAddr::from(addr);
        let err = match connect(sock.as_raw_fd(), &addr) {
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                let ep = Epoll::new().unwrap();
                ep.add(sock.as_raw_fd(), libc::EPOLLOUT as u32, 0).unwrap();
                let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 1];
                assert_eq!(ep.wait(&mut evs, 5000).unwrap(), 1);
                socket_error(sock.as_raw_fd()).unwrap()
            }
            Err(e) => e.raw_os_error().unwrap(),
            Ok(()) => 0,
        };
        assert_eq!(err, libc::ECONNREFUSED);
    }

    #[test]
    fn stop_signals_block_and_restore() {
        let signals = StopSignals::block().unwrap();
        // SAFETY: a zeroed sigset_t is valid plain data; pthread_sigmask with a null new set only
        // writes the current mask into the live local `now`.
        let blocked = |sig| unsafe {
            let mut now: libc::sigset_t = std::mem::zeroed();
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut now),
                0
            );
            libc::sigismember(&now, sig) == 1
        };
        assert!(blocked(libc::SIGTERM) && blocked(libc::SIGINT));
        drop(signals);
        assert!(!blocked(libc::SIGTERM) && !blocked(libc::SIGINT));
    }
}
