//! Multipart download streams (`--pctmpdstream`): one object read with parallel ranged GETs
//! of `--mpdstream-chunk-size` bytes, up to `--mpdstream-workers` at once (aisloader's
//! `getMpdStreamDiscard`, AIS's `MultipartDownloadStream`).
//!
//! A stream begins on the connection whose GET drew it: a HEAD of the object (its size in
//! `Content-Length`), then ranged GETs. The ranges are parallel, and connections are the
//! budget: every connection of the core whose operation ends first takes a pending range of
//! an active stream that has fewer than `workers` ranges in flight ([`Worker::take_range`],
//! called at the top of `next_op`), before it starts a new operation. So a stream runs up to
//! `workers` of its core's `numworkers` connections at once, never more connections than the
//! run has.
//!
//! Each range is a plain ranged GET (the body dropped in the kernel; with `--verifyhash`
//! checked from the range's start); its answer must be a 206 of exactly the range's length.
//! The stream counts once: one `get_mpd` success (bytes = the object's size, latency = from
//! its start to the end of its last range) when every range succeeded, or one error (the kind
//! of the first failure) when any failed; ranges still in flight then finish uncounted and no
//! further range is issued.
//!
//! When the run stops (`--epochs` done, `--duration` over), a connection with nothing new to
//! start parks while streams are live instead of finishing, and the periodic work wakes it
//! when a stream has a range for it; so the last streams of a run keep their parallelism,
//! and every connection finishes once no stream is live.
//!
//! Explicit states: each stream slot is [`StreamState::Free`], `Head`, `Ranges` or
//! `Draining`; each connection's part is [`Part::None`], `Head` or `Range`. The table is sized
//! once (one slot per connection of the core: each live stream keeps at least one of them
//! busy), so nothing allocates per request once the names' buffers are warm. When the run
//! stops, pending ranges still go out while it drains (every stream in flight ends); once it is
//! cancelled, no range is issued and the streams end with their last answer, uncounted.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::body::Body;
use super::conn::{Abort, Conn, Phase, Update};
use super::finish::switch_host;
use super::request::Spec;
use super::{Step, Worker};
use crate::http::{Failure, Method};
use crate::stats::{ErrorKind, Op};
use crate::verify::Verdict;
use ringload_core::content;

/// Where a stream slot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Not in use.
    Free,
    /// Its HEAD is in flight.
    Head,
    /// Its ranges are being read (some may be pending, some in flight).
    Ranges,
    /// It failed (or the run was cancelled): no more ranges go out; the slot is freed when
    /// the last range in flight ends.
    Draining,
}

/// One download stream.
#[derive(Debug)]
struct Stream {
    state: StreamState,
    /// The object's name (a reused buffer).
    name: Vec<u8>,
    /// The object's content start in the pattern (for `--verifyhash`).
    content_start: u64,
    /// The host every request of the stream goes to (the endpoint or a proxy).
    host: usize,
    /// The object's size (from the HEAD).
    size: u64,
    /// The first byte of the next range to issue.
    next: u64,
    /// Ranges in flight.
    in_flight: u32,
    /// Bytes of ranges that completed.
    done: u64,
    /// When the stream started (its HEAD's launch), and its intended start under `--rate`.
    started: Instant,
    intended: Option<Instant>,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            state: StreamState::Free,
            name: Vec::new(),
            content_start: 0,
            host: 0,
            size: 0,
            next: 0,
            in_flight: 0,
            done: 0,
            started: Instant::now(),
            intended: None,
        }
    }
}

/// One core's table of download streams.
#[derive(Debug)]
pub struct Streams {
    slots: Box<[Stream]>,
    /// Free slots.
    free: Vec<usize>,
    /// Streams with ranges not yet issued, oldest first.
    active: Vec<usize>,
    /// Connections parked while the run stops: nothing new to start, but streams are still
    /// live and may yet have ranges for them (each `Phase::Idle`; woken by the periodic work).
    pub(super) parked: Vec<usize>,
    /// Ranged GETs of one stream in flight at most, and bytes per range.
    workers: u32,
    chunk: u64,
}

impl Streams {
    /// The table of a core with `conns` connections (none when streams are off).
    pub fn new(conns: usize, workers: u32, chunk: u64) -> Streams {
        Streams {
            slots: (0..conns).map(|_| Stream::new()).collect(),
            free: (0..conns).rev().collect(),
            active: Vec::with_capacity(conns),
            parked: Vec::with_capacity(conns),
            workers: workers.max(1),
            chunk: chunk.max(1),
        }
    }

    /// Streams in use (not free).
    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// The state of stream `s` (tests).
    #[cfg(test)]
    pub fn state(&self, s: usize) -> StreamState {
        self.slots[s].state
    }

    /// Frees slot `s`.
    fn release(&mut self, s: usize) {
        self.slots[s].state = StreamState::Free;
        self.active.retain(|&a| a != s);
        self.free.push(s);
    }
}

/// A connection's part in a download stream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Not in a stream.
    #[default]
    None,
    /// The HEAD of stream `s`.
    Head(usize),
    /// A range of stream `s`, of `len` bytes.
    Range(usize, u64),
}

/// A connection's part in a download stream.
#[derive(Debug, Default)]
pub struct MpdConn {
    pub part: Part,
}

/// How one request of a stream ended.
enum Outcome {
    Ok,
    Err(ErrorKind),
    /// Cancelled by the run: the stream ends uncounted.
    Cancelled,
}

impl Worker {
    /// Starts a download stream of the object named in `self.name` on connection `i`: its
    /// HEAD.
    pub(super) fn start_mpd(&mut self, i: usize) -> Step {
        let Some(s) = self.mpd.free.pop() else {
            // Unreachable: each live stream keeps one of the core's connections busy, and this
            // one is free. Counted rather than trusted.
            self.stats.record_err(Op::GetMpd, ErrorKind::Protocol);
            return self.next_op(i);
        };
        let sh = &*self.shared;
        let h = if self.proxies.is_empty() {
            0
        } else {
            self.proxies[self.rng.below(self.proxies.len() as u64) as usize]
        };
        let st = &mut self.mpd.slots[s];
        st.state = StreamState::Head;
        st.name.clear();
        st.name.extend_from_slice(&self.name);
        self.ident.clear();
        self.ident.extend_from_slice(&sh.object_prefix);
        self.ident.extend_from_slice(&self.name);
        st.content_start = content::object_start(&self.ident);
        st.host = h;
        st.size = 0;
        st.next = 0;
        st.in_flight = 0;
        st.done = 0;
        st.started = Instant::now();
        st.intended = self.conns[i].intended;
        self.conns[i].mpd.part = Part::Head(s);
        self.send_mpd(i, s, None)
    }

    /// Connection `i`, whose operation ended, takes a pending range of an active stream with
    /// fewer than `workers` ranges in flight, if there is one (`None`: it goes on to a new
    /// operation). Once the run is cancelled, pending ranges are dropped instead.
    pub(super) fn take_range(&mut self, i: usize) -> Option<Step> {
        if self.mpd.active.is_empty() {
            return None;
        }
        if self.shared.cancel.load(Ordering::Relaxed) {
            while let Some(s) = self.mpd.active.pop() {
                let st = &mut self.mpd.slots[s];
                st.state = StreamState::Draining;
                if st.in_flight == 0 {
                    self.mpd.release(s);
                }
            }
            return None;
        }
        let workers = self.mpd.workers;
        let k = self
            .mpd
            .active
            .iter()
            .position(|&s| self.mpd.slots[s].in_flight < workers)?;
        let s = self.mpd.active[k];
        let chunk = self.mpd.chunk;
        let st = &mut self.mpd.slots[s];
        let first = st.next;
        let last = (first + chunk).min(st.size) - 1;
        st.next = last + 1;
        st.in_flight += 1;
        if st.next >= st.size {
            self.mpd.active.remove(k);
        }
        self.conns[i].mpd.part = Part::Range(s, last - first + 1);
        Some(self.send_mpd(i, s, Some((first, last))))
    }

    /// Connection `i` has nothing new to start (the run stops): while streams are live it
    /// parks, to take their ranges when they have some; otherwise it is finished.
    pub(super) fn park_or_finish(&mut self, i: usize) -> Step {
        if self.mpd.live() == 0 || self.shared.cancel.load(Ordering::Relaxed) {
            return self.finish_conn(i);
        }
        self.conns[i].phase = Phase::Idle;
        self.mpd.parked.push(i);
        Step::Idle
    }

    /// Periodic work: wakes the parked connections (into `woken`) when a stream has a range
    /// for them, when no stream is live any more, or once the run is cancelled; each then
    /// takes a range, parks again, or finishes.
    pub(super) fn wake_parked(&mut self) {
        if self.mpd.parked.is_empty() {
            return;
        }
        let m = &self.mpd;
        let room = m.active.iter().any(|&s| m.slots[s].in_flight < m.workers);
        if room || m.live() == 0 || self.shared.cancel.load(Ordering::Relaxed) {
            self.woken.append(&mut self.mpd.parked);
        }
    }

    /// Encodes and launches stream `s`'s HEAD (`range` None) or ranged GET on connection `i`.
    fn send_mpd(&mut self, i: usize, s: usize, range: Option<(u64, u64)>) -> Step {
        let verify = self.shared.workload.verify;
        let st = &self.mpd.slots[s];
        let h = st.host;
        if h != 0 {
            if let Some(k) = self.proxies.iter().position(|&p| p == h) {
                self.proxy_counts[k] += 1;
            }
        }
        switch_host(&mut self.conns[i], &mut self.hosts, h);
        let host = if h == 0 {
            &self.host0
        } else {
            &self.hosts.get(h).header
        };
        let c = &mut self.conns[i];
        c.op = Op::GetMpd;
        c.retried = false;
        c.redirects = 0;
        c.update = Update::None;
        if range.is_some() {
            // A range is part of the stream's operation, not an arrival of its own.
            c.intended = None;
        }
        c.marks.begin_op();
        let method = if range.is_some() {
            Method::Get
        } else {
            Method::Head
        };
        let spec = Spec {
            method,
            range,
            ..Spec::object(&st.name, None, host, true)
        };
        c.method = method;
        c.content_type = None;
        c.checksum = false;
        c.range = range;
        c.content_start = st.content_start;
        c.body = Body::Content {
            start: st.content_start,
            offset: 0,
        };
        self.req.encode(&spec, st.content_start, &mut c.exch.head);
        if let (true, Some((first, _))) = (verify, range) {
            c.check.begin(st.content_start, first);
        }
        c.exch.begin(0, range.is_none(), !verify);
        self.launch(i)
    }

    /// One request of connection `i`'s stream has its complete answer.
    pub(super) fn mpd_step_done(&mut self, i: usize, now: Instant) -> Step {
        let verify = self.shared.workload.verify;
        let c = &mut self.conns[i];
        let status = c.exch.status();
        let part = std::mem::take(&mut c.mpd.part);
        match part {
            Part::None => self.next_op(i),
            Part::Head(s) => {
                let size = match c.exch.content_length() {
                    _ if !(200..300).contains(&status) => Err(ErrorKind::Http(status)),
                    None => Err(ErrorKind::Protocol),
                    Some(size) => Ok(size),
                };
                let size = match size {
                    Ok(size) => size,
                    Err(k) => {
                        self.end_head(s, Outcome::Err(k));
                        return self.next_op(i);
                    }
                };
                let st = &mut self.mpd.slots[s];
                st.size = size;
                if size == 0 {
                    // Nothing to read: the stream is its HEAD.
                    self.record_stream(s, now);
                    self.mpd.release(s);
                    return self.next_op(i);
                }
                st.state = StreamState::Ranges;
                self.mpd.active.push(s);
                // The stream's own connection reads its first range.
                match self.take_range(i) {
                    Some(step) => step,
                    None => self.next_op(i),
                }
            }
            Part::Range(s, len) => {
                let outcome = if status != 206 {
                    Outcome::Err(ErrorKind::Http(status))
                } else if c.exch.body_bytes() != len {
                    Outcome::Err(ErrorKind::ShortBody)
                } else {
                    match verify.then(|| c.check.verdict()) {
                        Some(Verdict::Corrupt) => Outcome::Err(ErrorKind::Verify),
                        Some(Verdict::Unknown) => Outcome::Err(ErrorKind::VerifyUnknown),
                        _ => Outcome::Ok,
                    }
                };
                if matches!(outcome, Outcome::Ok)
                    && !self.shared.any_success.load(Ordering::Relaxed)
                {
                    self.shared.any_success.store(true, Ordering::Relaxed);
                }
                self.end_range(s, len, outcome, now);
                self.next_op(i)
            }
        }
    }

    /// One request of connection `i`'s stream failed with `kind` (an I/O failure, a timeout,
    /// or the run's cancel).
    pub(super) fn mpd_failed(&mut self, i: usize, kind: ErrorKind) -> Step {
        let c = &mut self.conns[i];
        c.close();
        c.update = Update::None;
        let cancelled = c.aborted == Some(Abort::Cancel);
        c.aborted = None;
        c.phase = Phase::Idle;
        let outcome = if cancelled {
            Outcome::Cancelled
        } else {
            Outcome::Err(kind)
        };
        self.end_part(i, outcome);
        self.next_op(i)
    }

    /// Connection `i` could not connect for its stream request: the request fails with
    /// `kind` (the caller backs the connection off as for any connect failure).
    pub(super) fn mpd_part_failed(&mut self, i: usize, kind: ErrorKind) {
        self.end_part(i, Outcome::Err(kind));
    }

    /// Connection `i`'s part in a stream ended without an answer.
    fn end_part(&mut self, i: usize, outcome: Outcome) {
        match std::mem::take(&mut self.conns[i].mpd.part) {
            Part::None => {
                if let Outcome::Err(k) = outcome {
                    self.stats.record_err(Op::GetMpd, k);
                }
            }
            Part::Head(s) => self.end_head(s, outcome),
            Part::Range(s, len) => self.end_range(s, len, outcome, Instant::now()),
        }
    }

    /// Stream `s`'s HEAD failed: the stream ends (one error unless cancelled).
    fn end_head(&mut self, s: usize, outcome: Outcome) {
        if let Outcome::Err(k) = outcome {
            self.stats.record_err(Op::GetMpd, k);
        }
        self.mpd.release(s);
    }

    /// One range of stream `s` (`len` bytes) ended with `outcome`.
    fn end_range(&mut self, s: usize, len: u64, outcome: Outcome, now: Instant) {
        let st = &mut self.mpd.slots[s];
        st.in_flight -= 1;
        match outcome {
            Outcome::Ok => st.done += len,
            Outcome::Err(k) if st.state == StreamState::Ranges => {
                // The first failure fails the stream, once.
                st.state = StreamState::Draining;
                self.stats.record_err(Op::GetMpd, k);
                self.mpd.active.retain(|&a| a != s);
            }
            Outcome::Err(_) => {}
            Outcome::Cancelled => {
                st.state = StreamState::Draining;
                self.mpd.active.retain(|&a| a != s);
            }
        }
        let st = &self.mpd.slots[s];
        if st.state == StreamState::Ranges && st.done == st.size {
            self.record_stream(s, now);
            self.mpd.release(s);
        } else if st.state == StreamState::Draining && st.in_flight == 0 {
            self.mpd.release(s);
        }
    }

    /// Records stream `s`'s success: its size, from its start to `now`.
    fn record_stream(&mut self, s: usize, now: Instant) {
        let st = &self.mpd.slots[s];
        let lat = now.duration_since(st.started).as_micros() as u64;
        match (self.sched.is_some(), st.intended) {
            (false, _) => self.stats.record_ok(Op::GetMpd, st.size, lat),
            (true, t) => {
                let corrected =
                    t.map_or(lat, |t| now.saturating_duration_since(t).as_micros() as u64);
                self.stats
                    .record_ok_rated(Op::GetMpd, st.size, corrected, lat);
            }
        }
    }
}

/// `n` bytes were received for connection `c`'s ranged GET (a verifying run).
pub(super) fn on_recv(c: &mut Conn, n: usize) -> Result<(), Failure> {
    c.exch.on_recv(n, &mut c.check)
}
