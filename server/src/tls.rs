//! TLS on one server connection: a rustls [`ServerConnection`] between the socket and the
//! connection's HTTP/1.1 sequencing (`conn`), driven from the same epoll loop.
//!
//! Owns: moving ciphertext between the non-blocking socket and rustls (handshake answers,
//! session tickets, alerts, `close_notify`), handing decrypted request bytes to the
//! connection's receive buffer, and encrypting its answers (response heads and object bytes
//! straight from the shared pattern).
//!
//! Why this shape: the connection's I/O is three calls (receive, drop body bytes, send head
//! plus body); a TLS connection swaps the first and last for [`Tls::recv`] and [`Tls::send`]
//! and reads request bodies instead of dropping them in the kernel (they must be decrypted).
//! A plaintext connection never reaches this file: its only cost is one `Option` test per call.
//!
//! Invariants: queued ciphertext is always sent before new plaintext is encrypted, so at most
//! rustls's buffer limit (64 KiB by default) of ciphertext waits per connection; every call
//! that returns `WouldBlock` saw the socket return `EAGAIN` (so edge-triggered readiness will
//! come back); a peer that closes the TCP connection without `close_notify` is a plain end of
//! stream, as for plaintext.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use ringload_net::tls::rustls::{self, ServerConfig, ServerConnection};
use socket2::SockRef;

use super::sys;

/// Memory one TLS connection may add to [`crate::CONN_BYTES`] (bytes), for the budget: the
/// rustls state, one incoming record being reassembled, decrypted bytes not yet read, and the
/// ciphertext send limit.
pub const TLS_CONN_BYTES: usize = 8 * 1024 + 2 * (16 * 1024 + 256) + 64 * 1024;

/// One connection's TLS session.
pub(crate) struct Tls {
    conn: ServerConnection,
    /// The connection ends with a TCP reset (the `reset` fault): no `close_notify`.
    abrupt: bool,
}

/// The socket as rustls's reader and writer (non-blocking; `EINTR` retried).
struct Socket<'a>(&'a OwnedFd);

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        sys::recv(self.0.as_raw_fd(), buf)
    }
}

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        sys::send2(self.0.as_raw_fd(), buf, &[])
    }

    /// Several queued records in one `sendmsg`.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let sock = SockRef::from(self.0);
        ringload_net::sys::retry(|| sock.send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Tls {
    /// A new server session for an accepted connection.
    pub(crate) fn new(config: &Arc<ServerConfig>) -> Result<Box<Self>, rustls::Error> {
        Ok(Box::new(Self {
            conn: ServerConnection::new(Arc::clone(config))?,
            abrupt: false,
        }))
    }

    /// Ciphertext is queued that the socket has not taken yet.
    pub(crate) fn pending(&self) -> bool {
        self.conn.wants_write()
    }

    /// Reads decrypted request bytes into `buf`, doing any handshake work on the way.
    /// `Ok(0)` is end of stream (`close_notify`, or a TCP close between records);
    /// `WouldBlock` means the socket is empty; a TLS failure (a plaintext request, a bad
    /// record, an alert from the client) is `InvalidData`, after the alert is sent.
    pub(crate) fn recv(&mut self, fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Handshake answers and tickets go out before the next read (if the socket is
            // full, its write readiness brings the connection back).
            self.push(fd)?;
            // `Ok(0)` is the end of the stream: the reader reports it next (after any last
            // plaintext).
            self.conn.read_tls(&mut Socket(fd))?;
            if let Err(e) = self.conn.process_new_packets() {
                // Best effort: the alert tells the client why; the connection closes anyway.
                let _ = self.push(fd);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }

    /// Sends queued ciphertext first; once none is left, encrypts `head` then `body` (as much
    /// as the buffer limit takes, in as few records as possible) and starts sending it.
    /// Returns the plaintext bytes taken (more than 0 unless both are empty), or `WouldBlock`
    /// while earlier ciphertext still waits for the socket.
    pub(crate) fn send(&mut self, fd: &OwnedFd, head: &[u8], body: &[u8]) -> io::Result<usize> {
        if !self.push(fd)? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self
            .conn
            .writer()
            .write_vectored(&[IoSlice::new(head), IoSlice::new(body)])?;
        self.push(fd)?;
        Ok(n)
    }

    /// Sends queued ciphertext: true once none is left, false if the socket is full.
    pub(crate) fn push(&mut self, fd: &OwnedFd) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut Socket(fd)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Queues `close_notify` (once), so the client sees a clean end of the session, unless
    /// the connection is to end with a reset ([`Tls::abrupt`]).
    pub(crate) fn close_notify(&mut self) {
        if !self.abrupt {
            self.conn.send_close_notify();
        }
    }

    /// The connection will end with a TCP reset: what is queued still goes out, but no
    /// `close_notify`, so the client sees the reset, not a clean end.
    pub(crate) fn abrupt(&mut self) {
        self.abrupt = true;
    }
}
