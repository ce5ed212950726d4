//! The built-in target's view of the syscalls in `ringload_net::sys`, which owns their
//! `unsafe`.
//!
//! Owns: the target's choice of flags and retries, so the connection logic calls `recv`,
//! `discard` and `send2` without repeating them: sockets are non-blocking already (no
//! `MSG_DONTWAIT`), and `EINTR` is retried here, never reported as an error.

use std::io;
use std::os::fd::RawFd;

use ringload_net::sys;

pub(crate) use ringload_net::sys::{
    accept, eventfd, eventfd_signal, set_linger_zero, set_nodelay, Epoll, StopSignals,
};

/// Reads into `buf`; `Ok(0)` is end of stream.
#[inline]
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    sys::retry(|| sys::recv(fd, buf, 0))
}

/// Drops up to `len` received bytes inside the kernel without copying them (TCP `MSG_TRUNC`).
/// `Ok(0)` is end of stream.
#[inline]
pub(crate) fn discard(fd: RawFd, len: usize) -> io::Result<usize> {
    sys::retry(|| sys::discard(fd, len, 0))
}

/// Sends `head` then `body` in one `sendmsg` (either may be empty; `MSG_NOSIGNAL`, so a
/// vanished peer is `EPIPE`); returns bytes accepted.
#[inline]
pub(crate) fn send2(fd: RawFd, head: &[u8], body: &[u8]) -> io::Result<usize> {
    sys::retry(|| sys::send2(fd, head, body, 0))
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
}
