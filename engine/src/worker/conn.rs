//! One client connection of a core: its socket, its HTTP exchange and the operation it carries.
//!
//! A `Conn` lives in a boxed slice that is never resized, so the pointers handed to the kernel
//! (the `msghdr`, its iovecs, the receive buffer, the socket address) stay valid while an
//! io_uring operation owns them. At most one I/O is outstanding per connection.

use std::os::fd::{IntoRawFd, RawFd};
use std::time::Instant;

use socket2::{Domain, Protocol as SockProto, SockAddr, Socket, Type};

use super::body::Body;
use crate::http::exchange::VERIFY_RECV_BUF;
use crate::http::{Exchange, Method};
use crate::stats::{Op, PhaseMarks};
use crate::tls::Session;
use crate::verify::BodyCheck;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No operation assigned (between operations).
    Idle,
    /// A non-blocking connect is under way.
    Connecting,
    /// The HTTP exchange is running.
    Exchanging,
    /// Waiting until the given instant (backoff after a connect failure).
    Sleeping(Instant),
    /// `--rate`: free, waiting for the next intended start (the worker's free list holds it).
    Waiting,
    /// The run is over for this connection.
    Finished,
}

pub struct Conn {
    pub fd: RawFd,
    pub phase: Phase,
    pub exch: Exchange,
    pub op: Op,
    /// When the request on the current host started (just before its first byte was
    /// written; after the connect, on a fresh socket).
    pub started: Instant,
    /// When the operation started: its first launch, before any connect, proxy hop or
    /// stale-connection retry. Its latency counts from here, as aisloader's does.
    pub op_started: Instant,
    /// `--rate`: the intended start of the current operation (`None`: the closed loop, or an
    /// operation that is not a scheduled arrival, such as a `--pctupdate` PUT).
    pub intended: Option<Instant>,
    /// `--rate`: an intended start handed to this waiting connection, for its next operation.
    pub slot: Option<Instant>,
    /// When the current operation times out.
    pub deadline: Option<Instant>,
    /// Set when the operation was aborted (timeout or cancel); its I/O result is void.
    pub aborted: Option<Abort>,
    /// Requests completed on the current socket (0 = fresh socket).
    pub reuse: u32,
    /// Whether this operation was already retried after a stale keep-alive close.
    pub retried: bool,
    /// PUT counter of the object this PUT writes (to remember it for later GETs).
    pub put_cnt: u64,
    /// Where the current operation stands in a `--pctupdate` GET-then-PUT.
    pub update: Update,
    /// The name of the object the current GET is to update (reused buffer).
    pub update_name: Vec<u8>,
    /// Redirects followed by the current operation.
    pub redirects: u8,
    /// Where this socket is connected (the endpoint, or a redirect target).
    pub peer: SockAddr,
    /// The core's host index of `peer` (0 = the endpoint).
    pub host: usize,
    /// Where the current object's content starts in the pattern (a PUT's body).
    pub content_start: u64,
    /// The current request, as a redirect must send it again: its method, body source,
    /// `Content-Type`, AIS checksum and range (the host and path-and-query are the redirect's).
    pub method: Method,
    pub body: Body,
    pub content_type: Option<&'static str>,
    pub checksum: bool,
    pub range: Option<(u64, u64)>,
    /// Built request bodies ([`Body::Built`]): reused, so a warm connection does not allocate.
    pub body_buf: Vec<u8>,
    /// The ML operations' state: a GetBatch, a multipart upload, a download stream's range.
    pub batch: super::batch::BatchConn,
    pub mpu: super::mpu::MpuConn,
    pub mpd: super::mpd::MpdConn,
    /// Verification state of a `--verifyhash` GET.
    pub check: BodyCheck,
    /// The phase boundaries the current operation crossed .
    pub marks: PhaseMarks,
    /// The TLS session of the socket, when its host is https (boxed: it moves with the socket
    /// through the keep-alive pool, and its buffers stay put while the kernel uses them).
    pub tls: Option<Box<Session>>,
    iov: [libc::iovec; 2],
    msg: libc::msghdr,
}

/// A connection's part in `--pctupdate` (a GET, then a PUT of the same object): each step an
/// explicit state, so the PUT goes out exactly once after its GET succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// The current operation is not part of an update.
    None,
    /// The current GET is to be followed by a PUT of its object (named in `update_name`).
    After,
    /// The GET succeeded: the next operation is the PUT of its object, of this size.
    Due(u64),
    /// The current PUT is the update (its name is the GET's, not the namer's).
    Putting,
}

/// Why an operation was aborted by the worker rather than finished by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    Timeout,
    Cancel,
}

impl Conn {
    /// `verify`: GET bodies are copied and checked (a larger receive buffer); `etag_is_md5`:
    /// the protocol's single-part ETag is the body's MD5 (S3).
    pub fn new(peer: SockAddr, verify: bool, etag_is_md5: bool) -> Conn {
        Conn {
            fd: -1,
            phase: Phase::Idle,
            exch: if verify {
                Exchange::with_recv_buf(VERIFY_RECV_BUF)
            } else {
                Exchange::new()
            },
            op: Op::Get,
            started: Instant::now(),
            op_started: Instant::now(),
            intended: None,
            slot: None,
            deadline: None,
            aborted: None,
            reuse: 0,
            retried: false,
            put_cnt: 0,
            update: Update::None,
            update_name: Vec::new(),
            redirects: 0,
            peer,
            host: 0,
            content_start: 0,
            method: Method::Get,
            body: Body::default(),
            content_type: None,
            checksum: false,
            range: None,
            body_buf: Vec::new(),
            batch: Default::default(),
            mpu: Default::default(),
            mpd: Default::default(),
            check: BodyCheck::new(etag_is_md5),
            marks: PhaseMarks::default(),
            tls: None,
            iov: [libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; 2],
            // SAFETY: msghdr is plain C data (pointers, lengths, flags); all-zero bytes are a
            // valid empty message header: no name, no iovecs, no control data.
            msg: unsafe { std::mem::zeroed() },
        }
    }

    /// Opens a fresh non-blocking TCP socket (closing any old one).
    pub fn open_socket(&mut self) -> std::io::Result<()> {
        self.close();
        let domain = if self.peer.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let s = Socket::new(
            domain,
            Type::STREAM.nonblocking().cloexec(),
            Some(SockProto::TCP),
        )?;
        s.set_tcp_nodelay(true)?;
        self.fd = s.into_raw_fd();
        self.reuse = 0;
        Ok(())
    }

    /// True when a send or receive failing with `errno` means the server had closed this
    /// reused keep-alive socket before it took the request: the request never reached it, so
    /// it is retried once on a fresh socket instead of counted as an error.
    pub fn stale_keepalive(&self, errno: i32) -> bool {
        matches!(errno, libc::ECONNRESET | libc::EPIPE | libc::ECANCELED)
            && self.reuse > 0
            && !self.retried
            && !self.exch.response_started()
    }

    /// Closes the socket if one is open, with its TLS session.
    pub fn close(&mut self) {
        self.tls = None;
        if self.fd >= 0 {
            // `fd` is a socket this connection owns and no I/O on it is outstanding (the worker
            // only closes between operations or after the last completion).
            ringload_net::sys::close(self.fd);
            self.fd = -1;
        }
    }

    /// Fills the message header with the unsent head and the next body slice (at most `slice`
    /// bytes, from [`Conn::body`]), and returns it. The pointer stays valid until the
    /// connection's next call of this method.
    pub fn prepare_send(&mut self, slice: usize) -> *const libc::msghdr {
        let (sent, total) = self.exch.body_progress();
        let body = if sent < total && self.exch.may_send_body() {
            let max = (total - sent).min(slice as u64) as usize;
            self.body.chunk(&self.body_buf, sent, max)
        } else {
            &[]
        };
        let head = self.exch.head_rest();
        let mut n = 0;
        if !head.is_empty() {
            self.iov[n] = libc::iovec {
                iov_base: head.as_ptr() as *mut libc::c_void,
                iov_len: head.len(),
            };
            n += 1;
        }
        if !body.is_empty() {
            self.iov[n] = libc::iovec {
                iov_base: body.as_ptr() as *mut libc::c_void,
                iov_len: body.len(),
            };
            n += 1;
        }
        self.msg.msg_iov = self.iov.as_mut_ptr();
        self.msg.msg_iovlen = n as _;
        &self.msg
    }

    /// Fills the message header with the TLS session's pending ciphertext, and returns it
    /// (valid as for [`Conn::prepare_send`]). Call only on a TLS connection.
    pub fn prepare_tls_send(&mut self) -> *const libc::msghdr {
        let out = self.tls.as_deref().map_or(&[][..], |t| t.out_pending());
        self.iov[0] = libc::iovec {
            iov_base: out.as_ptr() as *mut libc::c_void,
            iov_len: out.len(),
        };
        self.msg.msg_iov = self.iov.as_mut_ptr();
        self.msg.msg_iovlen = 1;
        &self.msg
    }

    /// Pointer and length of the free receive space: the exchange's buffer, or on a TLS
    /// connection the free tail of the session's incoming ciphertext buffer.
    pub fn recv_space(&mut self) -> (*mut u8, usize) {
        if let Some(t) = self.tls.as_deref_mut() {
            return t.recv_space();
        }
        let space = self.exch.recv_space();
        (space.as_mut_ptr(), space.len())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}
