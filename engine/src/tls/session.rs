//! One TLS client session over one socket: the rustls unbuffered connection, the ciphertext
//! buffers the drivers send from and receive into, and the loop that moves plaintext between
//! rustls and the HTTP exchange.
//!
//! The caller (the worker) performs the I/O [`Session::advance`] asks for: [`Want::Send`]
//! sends [`Session::out_pending`] and reports it with [`Session::on_sent`]; [`Want::Recv`]
//! receives into [`Session::recv_space`] and reports it with [`Session::on_recv`] (0 = end of
//! stream). Invariants:
//! - at most one I/O is outstanding, and neither buffer moves or reallocates while it is;
//! - pending ciphertext is always sent before more is received, so a handshake flight or a
//!   request never waits behind a receive; the records of one flight go in one send;
//! - only close_notify ends the stream cleanly: a bare end of TCP, or one inside a record,
//!   while a response is due is a failure (a body delimited by close is then short);
//! - [`Session::advance`] returns only once every complete record in the incoming buffer that
//!   the exchange can take has been processed, and never asks for a receive with no room;
//! - `discard` is applied after each rustls state is handled and before the next call, as the
//!   unbuffered API requires; the bytes rustls still holds for a partial handshake message stay
//!   where they are (compaction only moves the unprocessed tail to the front of the buffer,
//!   which rustls cannot tell from a discard).

use std::sync::Arc;

use ringload_net::tls::pki::ServerName;
use ringload_net::tls::rustls;
use rustls::client::UnbufferedClientConnection;
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, InsufficientSizeError, UnbufferedStatus,
    WriteTraffic,
};
use rustls::ClientConfig;

use crate::http::{Exchange, Failure, Need, Sink};

/// Largest plaintext of one record rustls writes (the TLS maximum fragment).
const MAX_FRAGMENT: usize = 16 * 1024;
/// Most ciphertext rustls adds to one application-data record: a 5-byte header plus the
/// TLS 1.2 explicit nonce (8) and tag (16); TLS 1.3 adds 1 + 16. Rounded up.
const RECORD_OVERHEAD: usize = 32;
/// One full outgoing record.
const OUT_RECORD: usize = MAX_FRAGMENT + RECORD_OVERHEAD;
/// The out buffer: two full records per send. One send of a PUT body carries 32 KiB; 1,000
/// connections touch 32 MiB for it.
pub const OUT_BUF: usize = 2 * OUT_RECORD;
/// Largest record rustls accepts from a peer: 16 KiB plus the 2 KiB TLS 1.2 expansion, plus
/// its header.
const MAX_WIRE_RECORD: usize = MAX_FRAGMENT + 2048 + 5;
/// Largest handshake message accepted (a long certificate chain): rustls keeps every record
/// of a message in the buffer until the message is whole, so all of it must fit at once.
const MAX_HANDSHAKE: usize = 64 * 1024;
/// The incoming buffer: one largest handshake message with its record framing, which also
/// holds more than two of the largest records. A receive takes as much as is free; pages
/// never received into (a PUT's, a session that only reads short heads) cost no memory.
pub const IN_BUF: usize = 72 * 1024;
const _: () =
    assert!(IN_BUF >= MAX_HANDSHAKE + 5 * (RECORD_OVERHEAD + 5) && IN_BUF >= 2 * MAX_WIRE_RECORD);
/// Free tail below which the unprocessed bytes move to the front before a receive, so one
/// receive can always complete a record.
const MIN_RECV: usize = MAX_WIRE_RECORD;

/// What the session needs the caller to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Send [`Session::out_pending`].
    Send,
    /// Receive into [`Session::recv_space`].
    Recv,
    /// The exchange is complete.
    Done,
}

/// Why a session step failed.
#[derive(Debug)]
pub enum Error {
    /// A handshake or record failure (name it with `ringload_net::tls::cause`).
    Tls(rustls::Error),
    /// The HTTP exchange failed on the plaintext.
    Http(Failure),
    /// The server closed the connection before the handshake completed.
    HandshakeClosed,
}

pub struct Session {
    conn: UnbufferedClientConnection,
    /// Received ciphertext: `[in_start..len)` is unprocessed; the spare capacity is where
    /// the next receive lands.
    inb: Vec<u8>,
    in_start: usize,
    /// Ciphertext to send: `[out_start..out_end)`.
    out: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    /// rustls asked for encoded handshake records to be transmitted; `done()` is due once the
    /// out buffer has been sent.
    transmit_due: bool,
    /// rustls is handing out the records of one flight: they are all encoded into the out
    /// buffer before it is sent, so a flight goes in one send.
    encoding: bool,
    /// A record of the flight that did not fit behind the ones already in the out buffer
    /// (rustls drops a record not encoded when asked): it goes to the out buffer once that
    /// has been sent. Empty, and never allocated, unless a flight outgrows the buffer.
    spill: Vec<u8>,
    /// The handshake completed.
    established: bool,
    /// The handshake completed and the caller has not been told yet.
    fresh: bool,
    /// The stream ended: a receive returned 0, or the peer sent close_notify.
    eof: bool,
    /// The peer sent close_notify: the end of the stream is the end of the exchange's data
    /// (a body delimited by close is complete). A bare end of TCP without it is a truncation.
    close_notify: bool,
    /// What the last [`Session::advance`] asked for.
    want: Want,
}

impl Session {
    /// A new session that will verify (and send as SNI) `name`; the handshake starts with the
    /// first [`Session::advance`].
    pub fn new(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Box<Session>, rustls::Error> {
        Ok(Box::new(Session {
            conn: UnbufferedClientConnection::new(config, name)?,
            inb: Vec::with_capacity(IN_BUF),
            in_start: 0,
            out: vec![0; OUT_BUF].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            transmit_due: false,
            encoding: false,
            spill: Vec::new(),
            established: false,
            fresh: false,
            eof: false,
            close_notify: false,
            want: Want::Send,
        }))
    }

    /// Whether the handshake has completed.
    pub fn established(&self) -> bool {
        self.established
    }

    /// True once, right after the handshake completed.
    pub fn take_established(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    /// Whether the completed handshake resumed a session.
    pub fn resumed(&self) -> bool {
        self.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// The negotiated protocol version and cipher suite (after the handshake).
    pub fn negotiated(&self) -> Option<(rustls::ProtocolVersion, rustls::SupportedCipherSuite)> {
        Some((
            self.conn.protocol_version()?,
            self.conn.negotiated_cipher_suite()?,
        ))
    }

    /// What the last [`Session::advance`] asked for.
    pub fn want(&self) -> Want {
        self.want
    }

    /// The ciphertext to send.
    pub fn out_pending(&self) -> &[u8] {
        &self.out[self.out_start..self.out_end]
    }

    /// Accounts for `n` bytes of [`Session::out_pending`] sent.
    pub fn on_sent(&mut self, n: usize) {
        self.out_start = (self.out_start + n).min(self.out_end);
    }

    /// For a request that went whole into the out buffer (the handshake done, nothing of it
    /// left to encrypt): accounts the pending ciphertext as sent and turns to receiving, so a
    /// driver can submit the send (in full, `MSG_WAITALL`) and the first receive of the
    /// response together. The caller must have taken [`Session::out_pending`] first; the
    /// bytes stay in place until the next [`Session::advance`]. False (nothing changed) when
    /// the request does not qualify.
    pub fn fuse(&mut self, exch: &Exchange) -> bool {
        let ready = self.established
            && !self.transmit_due
            && self.spill.is_empty()
            && self.want == Want::Send
            && self.out_end > self.out_start
            && !self.eof
            && matches!(exch.need(), Need::Recv | Need::Discard(_));
        if !ready {
            return false;
        }
        if !self.make_room() {
            return false;
        }
        self.out_start = self.out_end;
        self.want = Want::Recv;
        true
    }

    /// Pointer and length of the free tail of the incoming buffer (never empty after an
    /// [`Session::advance`] that returned [`Want::Recv`]). The memory may be uninitialised:
    /// it is only written into, by the kernel or a copy, before [`Session::on_recv`].
    pub fn recv_space(&mut self) -> (*mut u8, usize) {
        let spare = self.inb.spare_capacity_mut();
        (spare.as_mut_ptr().cast(), spare.len())
    }

    /// Accounts for `n` bytes received into [`Session::recv_space`] (0 = end of stream).
    pub fn on_recv(&mut self, n: usize) {
        if n == 0 {
            self.eof = true;
            return;
        }
        let len = self.inb.len() + n;
        assert!(
            len <= self.inb.capacity(),
            "received past the incoming buffer"
        );
        // SAFETY: the caller wrote `n` bytes into the spare capacity returned by
        // `recv_space` (the kernel's receive or a copy), so `len` bytes are initialised, and
        // `len` is within the capacity (checked above).
        unsafe { self.inb.set_len(len) };
    }

    /// Runs rustls and the exchange as far as the bytes at hand allow, and says what I/O comes
    /// next. `body(sent, max)` gives up to `max` bytes of the request body from offset `sent`;
    /// `sink` sees the copied response bytes as [`Exchange::on_recv`] shows them.
    pub fn advance<'b>(
        &mut self,
        exch: &mut Exchange,
        body: &impl Fn(u64, usize) -> &'b [u8],
        sink: &mut impl Sink,
    ) -> Result<Want, Error> {
        let r = self.run(exch, body, sink);
        if let Ok(w) = r {
            self.want = w;
        }
        r
    }

    fn run<'b>(
        &mut self,
        exch: &mut Exchange,
        body: &impl Fn(u64, usize) -> &'b [u8],
        sink: &mut impl Sink,
    ) -> Result<Want, Error> {
        loop {
            if self.out_start == self.out_end {
                self.out_start = 0;
                self.out_end = 0;
                if !self.spill.is_empty() {
                    self.out_end = self.spill.len();
                    self.out[..self.out_end].copy_from_slice(&self.spill);
                    self.spill.clear();
                    continue;
                }
            } else {
                // Nothing more goes behind the queued bytes while a spilled record waits.
                let more = self.spill.is_empty()
                    && (self.encoding
                        || self.established
                            && !self.transmit_due
                            && exch.need() == Need::Send
                            && self.out.len() - self.out_end >= OUT_RECORD);
                if !more {
                    return Ok(Want::Send);
                }
            }
            if self.in_start == self.inb.len() {
                self.in_start = 0;
                self.inb.clear();
            }
            let UnbufferedStatus { discard, state } = self
                .conn
                .process_tls_records(&mut self.inb[self.in_start..]);
            let next = match state {
                Err(e) => Next::Fail(Error::Tls(e)),
                Ok(ConnectionState::EncodeTlsData(mut e)) => {
                    self.encoding = true;
                    match e.encode(&mut self.out[self.out_end..]) {
                        Ok(n) => {
                            self.out_end += n;
                            Next::Again
                        }
                        // Behind records already queued: send those first, this one after.
                        Err(EncodeError::InsufficientSize(InsufficientSizeError {
                            required_size,
                        })) if self.out_end > 0 && required_size <= OUT_BUF => {
                            self.spill.resize(required_size, 0);
                            match e.encode(&mut self.spill) {
                                Ok(_) => Next::Want(Want::Send),
                                Err(e) => {
                                    Next::Fail(general(format!("cannot queue a record: {e}")))
                                }
                            }
                        }
                        Err(e) => Next::Fail(general(format!("cannot queue a record: {e}"))),
                    }
                }
                Ok(ConnectionState::TransmitTlsData(t)) => {
                    self.encoding = false;
                    if self.out_end > self.out_start || !self.spill.is_empty() {
                        self.transmit_due = true;
                        Next::Want(Want::Send)
                    } else {
                        t.done();
                        self.transmit_due = false;
                        Next::Again
                    }
                }
                Ok(ConnectionState::BlockedHandshake) => Next::Bytes,
                Ok(ConnectionState::WriteTraffic(mut w)) => {
                    if !self.established {
                        self.established = true;
                        self.fresh = true;
                    }
                    match exch.need() {
                        Need::Send => {
                            let free = &mut self.out[self.out_end..];
                            match encrypt(&mut w, free, exch, body) {
                                Ok(0) if self.out_start == self.out_end => {
                                    Next::Fail(general("nothing of the request fits".into()))
                                }
                                Ok(n) => {
                                    self.out_end += n;
                                    Next::Want(Want::Send)
                                }
                                Err(e) => Next::Fail(general(format!("cannot encrypt: {e}"))),
                            }
                        }
                        Need::Done => Next::Want(Want::Done),
                        Need::Recv | Need::Discard(_) => Next::Bytes,
                    }
                }
                Ok(ConnectionState::ReadTraffic(mut r)) => {
                    let mut out = Ok(());
                    while let Some(rec) = r.next_record() {
                        match rec {
                            Ok(rec) if out.is_ok() => out = feed(exch, rec.payload, sink),
                            Ok(_) => {}
                            Err(e) => out = Err(Error::Tls(e)),
                        }
                    }
                    match out {
                        Err(e) => Next::Fail(e),
                        Ok(()) if exch.need() == Need::Done => Next::Want(Want::Done),
                        Ok(()) => Next::Again,
                    }
                }
                Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => {
                    self.eof = true;
                    self.close_notify = true;
                    Next::Bytes
                }
                Ok(other) => Next::Fail(general(format!("unexpected TLS state {other:?}"))),
            };
            self.in_start += discard;
            match next {
                Next::Again => {}
                Next::Want(w) => return Ok(w),
                Next::Fail(e) => return Err(e),
                Next::Bytes => return self.need_bytes(exch, sink),
            }
        }
    }

    /// Moves the unprocessed tail of the incoming buffer to its front when the free tail is
    /// below one record, so a receive can complete a record. False when no room is left.
    fn make_room(&mut self) -> bool {
        if self.inb.capacity() - self.inb.len() < MIN_RECV && self.in_start > 0 {
            self.inb.drain(..self.in_start);
            self.in_start = 0;
        }
        self.inb.len() < self.inb.capacity()
    }

    /// rustls needs more ciphertext: room for a receive, or the end of the stream.
    fn need_bytes(&mut self, exch: &mut Exchange, sink: &mut impl Sink) -> Result<Want, Error> {
        if self.out_end > self.out_start {
            return Ok(Want::Send);
        }
        if self.eof {
            if !self.established {
                return Err(Error::HandshakeClosed);
            }
            if exch.need() == Need::Done {
                return Ok(Want::Done);
            }
            // The exchange decides what an end of stream means here (a body that runs until
            // close ends; anything else is short or closed).
            exch.on_recv(0, sink).map_err(Error::Http)?;
            if !self.close_notify || self.in_start < self.inb.len() {
                // Cut without close_notify, or inside a record: the data may be truncated (an
                // attacker or a crash can end TCP anywhere), so a body that ran until close
                // is short, never a success.
                return Err(Error::Http(Failure::ShortBody));
            }
            return Ok(Want::Done);
        }
        if !self.make_room() {
            return Err(general(format!(
                "a TLS record or handshake message exceeds the {IN_BUF}-byte receive buffer"
            )));
        }
        Ok(Want::Recv)
    }
}

/// What one rustls state leads to.
enum Next {
    Again,
    Want(Want),
    Bytes,
    Fail(Error),
}

fn general(why: String) -> Error {
    Error::Tls(rustls::Error::General(why))
}

/// Plaintext that fits `free` bytes of ciphertext, in full records.
fn plaintext_fit(free: usize) -> usize {
    let full = free / OUT_RECORD;
    let rest = (free % OUT_RECORD).saturating_sub(RECORD_OVERHEAD);
    full * MAX_FRAGMENT + rest
}

/// Encrypts as much of the request (the rest of its head, then its body) as fits `out`;
/// returns the ciphertext bytes written. The plaintext is never staged: each slice is
/// encrypted from where it lives.
fn encrypt<'b, D>(
    w: &mut WriteTraffic<'_, D>,
    out: &mut [u8],
    exch: &mut Exchange,
    body: &impl Fn(u64, usize) -> &'b [u8],
) -> Result<usize, EncryptError> {
    let mut written = 0;
    while exch.need() == Need::Send {
        let fit = plaintext_fit(out.len() - written);
        if fit == 0 {
            break;
        }
        let head = exch.head_rest();
        let data = if !head.is_empty() {
            &head[..head.len().min(fit)]
        } else {
            let (sent, total) = exch.body_progress();
            if sent >= total || !exch.may_send_body() {
                break;
            }
            body(
                sent,
                fit.min((total - sent).min(usize::MAX as u64) as usize),
            )
        };
        if data.is_empty() {
            break;
        }
        let mut k = data.len();
        let n = match w.encrypt(data, &mut out[written..]) {
            Ok(n) => n,
            // rustls writes queued handshake records (a key update) first: take less.
            Err(EncryptError::InsufficientSize(s)) => {
                let over = s.required_size.saturating_sub(out.len() - written);
                k = k.saturating_sub(over + RECORD_OVERHEAD);
                if k == 0 {
                    break;
                }
                w.encrypt(&data[..k], &mut out[written..])?
            }
            Err(e) => return Err(e),
        };
        written += n;
        exch.on_sent(k);
    }
    Ok(written)
}

/// Hands one record's plaintext to the exchange: dropped where it may drop body bytes
/// (counted, never copied), copied into its receive space otherwise (heads, verified bodies).
fn feed(exch: &mut Exchange, mut bytes: &[u8], sink: &mut impl Sink) -> Result<(), Error> {
    while !bytes.is_empty() {
        let n = match exch.need() {
            Need::Discard(max) => {
                let n = max.min(bytes.len());
                exch.on_discarded(n).map_err(Error::Http)?;
                n
            }
            _ => {
                let space = exch.recv_space();
                let n = space.len().min(bytes.len());
                if n == 0 {
                    return Err(Error::Http(Failure::Protocol));
                }
                space[..n].copy_from_slice(&bytes[..n]);
                exch.on_recv(n, sink).map_err(Error::Http)?;
                n
            }
        };
        bytes = &bytes[n..];
    }
    Ok(())
}
