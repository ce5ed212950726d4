//! One core's closed loop: its connections, the choice of each next operation (`next.rs`), and the
//! accounting of each finished one (`finish.rs`). Driver-independent.
//!
//! A driver (io_uring or epoll) asks the worker for [`Step`]s and reports each I/O result back
//! with [`Worker::on_complete`]; the worker never performs I/O except opening and closing
//! sockets. Each connection always has exactly one operation in flight until the run stops
//! (aisloader's closed loop), so `numworkers` connections give `numworkers` outstanding requests;
//! with `--rate` (`schedule.rs`) a free connection instead waits for the next intended start.
//! Nothing on this path allocates, formats or locks: names go into a reused buffer, request
//! heads into the connection's reused buffer, and statistics into this core's histograms.
//! A socket to an https host carries a boxed TLS session (`secure.rs` drives it): the driver's
//! steps then move ciphertext, and a new TLS socket allocates its session's buffers once
//! (rustls itself allocates per record, which its public API does not let a caller avoid).

mod batch;
mod body;
pub mod conn;
mod finish;
mod hosts;
mod mpd;
mod mpu;
mod next;
mod outcome;
mod request;
mod schedule;
mod secure;
mod shard;
pub mod shared;
#[cfg(test)]
mod tests;

use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crate::http::{Failure, Method, Need};
use crate::naming::Namer;
use crate::stats::{unix_now_ns, CoreStats, ErrorKind, Op, Snapshot, TICK};
use crate::workload::Protocol;
use conn::{Abort, Conn, Phase};
use hosts::Hosts;
pub use hosts::MAX_IDLE_PER_HOST;
pub use outcome::connect_kind;
use outcome::{abort_kind, errno_kind, failure_kind, need_to_step};
use request::Requests;
use ringload_core::rng::FastRng;
use schedule::Schedule;
pub use shared::{Shared, StopReason};

/// How often in-flight operations are checked against their deadline.
const SWEEP: Duration = Duration::from_millis(50);
/// Pause after a failed connect before the connection tries again, so a dead endpoint is not
/// hammered in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(100);
/// With no successful connection at all for this long, the run gives up.
pub const CONNECT_GIVEUP: Duration = Duration::from_secs(5);
/// Redirects one operation may follow before it counts as a redirect error: net's
/// `MAX_REDIRECTS` (`ringload_net::http::limits`), cast to the `u8` the per-operation counter
/// is (net asserts it fits).
pub(super) const MAX_REDIRECTS: u8 = ringload_net::http::MAX_REDIRECTS as u8;
/// HTTP 403 answers, with no success before them, after which the run stops: every request
/// is being refused (bad credentials, wrong region or clock skew), so more load measures
/// nothing.
pub(super) const FORBIDDEN_STOP: u64 = 32;
/// Largest request-body slice handed to one send.
const SEND_SLICE: usize = 256 * 1024;

/// The I/O a driver must start next for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Connect the (new, non-blocking) socket to [`Worker::peer`].
    Connect,
    /// Send the message from [`Worker::prepare_send`].
    Send,
    /// Receive into [`Worker::recv_space`].
    Recv,
    /// Drop up to this many bytes in the kernel (`MSG_TRUNC`).
    Discard(usize),
    /// Nothing now: the connection sleeps or is finished.
    Idle,
}

/// The operation classes a run can issue (whose phases a core records): GET and PUT always,
/// and each ML class when its setting is on (`put_mpu` also for S3 objects above the
/// single-PUT limit, which always go in parts).
fn op_classes(w: &crate::workload::Workload) -> Vec<Op> {
    let m = &w.ml;
    let mut ops = vec![Op::Get, Op::Put];
    if m.get_batchsize > 0 {
        ops.push(Op::GetBatch);
    }
    if m.multipart_chunks > 0 || (w.protocol == Protocol::S3 && w.maxsize > mpu::S3_MAX_PUT) {
        ops.push(Op::PutMpu);
    }
    if m.pctmpdstream > 0 {
        ops.push(Op::GetMpd);
    }
    ops
}

pub struct Worker {
    pub core: usize,
    shared: std::sync::Arc<Shared>,
    conns: Box<[Conn]>,
    stats: CoreStats,
    ticks: Sender<(usize, Snapshot)>,
    namer: Namer,
    rng: FastRng,
    name: Vec<u8>,
    /// The size of `name`'s object, when it was drawn from a list that gives sizes.
    name_size: Option<u64>,
    ident: Vec<u8>,
    /// Shards: a file's name while a shard PUT is laid out, an archpath GET's query.
    arch: Vec<u8>,
    /// PUT counters of objects this core wrote, for GETs in mixed runs.
    own_puts: Vec<u64>,
    /// The endpoint and the hosts redirects led to, with their idle sockets.
    hosts: Hosts,
    /// The protocol's request builder.
    req: Requests,
    /// The `Host` header of requests to the endpoint.
    host0: String,
    /// `--random-proxy`: the host index of each of the workload's proxies (empty: every
    /// request goes to the endpoint).
    proxies: Box<[usize]>,
    /// `--random-proxy`: requests this core sent to each proxy (added to `Shared` at the end).
    proxy_counts: Box<[u64]>,
    next_tick: Instant,
    next_sweep: Instant,
    /// Connections whose operation expired this sweep (the driver cancels their I/O).
    pub expired: Vec<usize>,
    /// Connections whose operation expired on an earlier sweep and is still outstanding (a
    /// driver with kernel-owned operations cancels them again; epoll never has any).
    pub recancel: Vec<usize>,
    /// Connections whose backoff ended this sweep (the driver asks them for a step).
    pub woken: Vec<usize>,
    finished: usize,
    /// `--rate`: this core's arrival schedule (`None`: the closed loop).
    sched: Option<Schedule>,
    /// `--rate`: the connections waiting for an intended start (capacity for all of them, so
    /// pushing never allocates).
    free: Vec<usize>,
    /// `--rate`: intended starts that fell due while no connection was free.
    starved: u64,
    /// `--pctmpdstream`: this core's download streams (`mpd.rs`).
    mpd: mpd::Streams,
}

impl Worker {
    pub fn new(
        core: usize,
        conns: usize,
        shared: std::sync::Arc<Shared>,
        ticks: Sender<(usize, Snapshot)>,
    ) -> Worker {
        let w = &shared.workload;
        let seed = w.seed;
        let etag_is_md5 = w.protocol == Protocol::S3;
        let conns: Box<[Conn]> = (0..conns)
            .map(|_| Conn::new(shared.addr.clone(), w.verify, etag_is_md5))
            .collect();
        let start = shared.started;
        let (header, base) = w
            .endpoint
            .as_ref()
            .map_or(("", ""), |e| (e.host_header.as_str(), e.base_path.as_str()));
        let req = Requests::new(w, header, base);
        // The endpoint's scheme says whether it speaks TLS (validation ties the run's TLS
        // configuration to an https endpoint, as the control plane reads it too).
        let tls = w
            .endpoint
            .as_ref()
            .filter(|e| e.tls)
            .map(|_| hosts::endpoint_name(header, &shared.addr));
        // Every operation's phases are recorded (connect, redirect, first byte, body).
        let mut stats = CoreStats::new(shared.start_unix_ns);
        stats.trace_phases(&op_classes(w));
        let sched = w.rate.as_ref().map(|plan| {
            stats.rate_mode();
            let (rank, ranks) = w.shard;
            let cores = w.active_cores();
            Schedule::new(
                plan.clone(),
                cores,
                start,
                schedule::lane_seed(seed, rank, core),
            )
            .with_phase(schedule::lane_phase(rank, ranks, core, cores))
        });
        let n_conns = conns.len();
        let ml = &w.ml;
        let streams = if ml.pctmpdstream > 0 { n_conns } else { 0 };
        let mpd = mpd::Streams::new(streams, ml.mpd_workers(), ml.mpd_chunk());
        let mut hosts = Hosts::new(shared.addr.clone(), header, tls);
        let proxies: Box<[usize]> = w
            .proxies
            .iter()
            .map(|p| hosts.find_or_insert(p.addr.into(), &p.host_header, p.tls))
            .collect();
        Worker {
            hosts,
            proxy_counts: vec![0; proxies.len()].into_boxed_slice(),
            proxies,
            host0: req.host0.clone(),
            req,
            core,
            namer: Namer::new(w),
            rng: FastRng::new(seed ^ 0xC0DE ^ ((core as u64) << 32)),
            stats,
            ticks,
            name: Vec::with_capacity(256),
            name_size: None,
            ident: Vec::with_capacity(256),
            arch: Vec::with_capacity(256),
            own_puts: Vec::new(),
            next_tick: start + TICK,
            next_sweep: start + SWEEP,
            expired: Vec::new(),
            recancel: Vec::new(),
            woken: Vec::new(),
            finished: 0,
            sched,
            free: Vec::with_capacity(n_conns),
            starved: 0,
            mpd,
            conns,
            shared,
        }
    }

    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    /// True once every connection is finished.
    pub fn done(&self) -> bool {
        self.finished == self.conns.len()
    }

    pub fn fd(&self, i: usize) -> i32 {
        self.conns[i].fd
    }

    /// The address connection `i` connects to (pointer stays valid while the op runs).
    pub fn peer(&self, i: usize) -> &socket2::SockAddr {
        &self.conns[i].peer
    }

    pub fn prepare_send(&mut self, i: usize) -> *const libc::msghdr {
        let c = &mut self.conns[i];
        if c.tls.is_some() {
            return c.prepare_tls_send();
        }
        c.prepare_send(SEND_SLICE)
    }

    /// For a request that goes out in one piece (its head plus at most one content slice):
    /// prepares the message and accounts it as sent, so that a driver can submit the send and
    /// the first receive of the response together. The driver must send it completely
    /// (`MSG_WAITALL`) or fail the operation. Returns `None` for larger requests. On a TLS
    /// connection the message is the request's whole ciphertext, once all of it is encrypted
    /// (`None` during the handshake and for requests larger than the out buffer).
    pub fn prepare_fused_send(&mut self, i: usize) -> Option<*const libc::msghdr> {
        let c = &mut self.conns[i];
        if c.tls.is_some() {
            let msg = c.prepare_tls_send();
            let fused = c.tls.as_deref_mut().is_some_and(|t| t.fuse(&c.exch));
            return fused.then_some(msg);
        }
        let c = &self.conns[i];
        let (sent, total) = c.exch.body_progress();
        let left = if c.exch.may_send_body() {
            total - sent
        } else {
            0
        };
        if left > SEND_SLICE as u64
            || c.body.chunk(&c.body_buf, sent, left as usize).len() as u64 != left
        {
            return None;
        }
        let n = c.exch.head_rest().len() + left as usize;
        let msg = self.prepare_send(i);
        self.conns[i].exch.on_sent(n);
        Some(msg)
    }

    pub fn recv_space(&mut self, i: usize) -> (*mut u8, usize) {
        self.conns[i].recv_space()
    }

    /// The first step of every connection. In a `--rate` run every connection starts free,
    /// waiting for the first intended start, which the next [`Worker::maintain`] hands out.
    pub fn start(&mut self, i: usize) -> Step {
        if self.sched.is_some() {
            self.conns[i].phase = Phase::Waiting;
            self.free.push(i);
            return Step::Idle;
        }
        self.next_op(i)
    }

    /// The step a connection waits on now (used by readiness-based drivers).
    pub fn current(&self, i: usize) -> Step {
        let c = &self.conns[i];
        match c.phase {
            Phase::Connecting => Step::Connect,
            Phase::Exchanging => match &c.tls {
                None => need_to_step(c.exch.need()),
                Some(t) => secure::want_to_step(t.want()),
            },
            _ => Step::Idle,
        }
    }

    /// Feeds the result of the I/O last started for connection `i` (bytes, or `-errno`).
    pub fn on_complete(&mut self, i: usize, res: i32) -> Step {
        let verify = self.shared.workload.verify;
        let c = &mut self.conns[i];
        if let Some(abort) = c.aborted {
            return self.fail(i, abort_kind(abort));
        }
        match c.phase {
            Phase::Connecting => {
                if res < 0 {
                    return self.connect_failed(i, connect_kind(-res));
                }
                if self.hosts.get(c.host).tls.is_some() {
                    return self.tls_connected(i);
                }
                self.shared.connected.store(true, Ordering::Relaxed);
                c.phase = Phase::Exchanging;
                c.started = Instant::now();
                c.marks.connected(c.started);
                Step::Send
            }
            Phase::Exchanging if c.tls.is_some() => self.tls_complete(i, res),
            Phase::Exchanging => {
                if res < 0 {
                    if c.stale_keepalive(-res) {
                        return self.retry_fresh(i);
                    }
                    return self.fail(i, errno_kind(-res));
                }
                let n = res as usize;
                let r = match c.exch.need() {
                    Need::Send => {
                        c.exch.on_sent(n);
                        Ok(())
                    }
                    // Only a verifying GET looks at headers and body bytes; the ML
                    // operations read theirs (a GetBatch's TAR headers, an upload's id).
                    Need::Recv if verify && c.op == Op::Get => c.exch.on_recv(n, &mut c.check),
                    Need::Recv if c.op == Op::GetBatch => batch::on_recv(c, n),
                    Need::Recv if c.op == Op::PutMpu => mpu::on_recv(c, n),
                    Need::Recv if verify && c.op == Op::GetMpd => mpd::on_recv(c, n),
                    Need::Recv => c.exch.on_recv(n, &mut |_: &[u8]| {}),
                    Need::Discard(_) if c.op == Op::GetBatch => batch::on_discarded(c, n),
                    Need::Discard(_) => c.exch.on_discarded(n),
                    Need::Done => Ok(()),
                };
                c.marks.response(c.exch.response_started());
                match r {
                    Err(Failure::Closed) if c.reuse > 0 && !c.retried => self.retry_fresh(i),
                    Err(f) => self.fail(i, failure_kind(f)),
                    Ok(()) => match c.exch.need() {
                        Need::Done => self.finish_op(i),
                        need => need_to_step(need),
                    },
                }
            }
            _ => Step::Idle,
        }
    }

    /// Aborts connection `i`'s operation now (drivers without kernel-owned operations, i.e.
    /// epoll, call this for each entry of [`Worker::expired`]).
    pub fn abort_now(&mut self, i: usize) -> Step {
        let kind = self.conns[i]
            .aborted
            .map(abort_kind)
            .unwrap_or(ErrorKind::Timeout);
        self.fail(i, kind)
    }

    /// Resumes a connection whose backoff ended.
    pub fn resume(&mut self, i: usize) -> Step {
        self.next_op(i)
    }

    /// Periodic work: statistics ticks, deadline sweeps and wake-ups. Fills `expired` and
    /// `woken`, and returns when it next wants to run.
    pub fn maintain(&mut self, now: Instant) -> Instant {
        self.expired.clear();
        self.recancel.clear();
        self.woken.clear();
        while now >= self.next_tick {
            let snap = self.rotate();
            let _ = self.ticks.send((self.core, snap));
            self.next_tick += TICK;
        }
        if now >= self.next_sweep {
            self.next_sweep = now + SWEEP;
            let cancel = self.shared.cancel.load(Ordering::Relaxed);
            for (i, c) in self.conns.iter_mut().enumerate() {
                match c.phase {
                    Phase::Sleeping(t) if now >= t || cancel || self.shared.stopping() => {
                        c.phase = Phase::Idle;
                        self.woken.push(i);
                    }
                    Phase::Connecting | Phase::Exchanging if c.aborted.is_none() => {
                        // A multipart upload's creation and abort run on after a cancel,
                        // within a bound, so no upload is left behind.
                        let finishes = cancel && c.mpu.finishes_on_cancel();
                        if finishes {
                            let grace = now + mpu::CANCEL_GRACE;
                            c.deadline = Some(c.deadline.map_or(grace, |d| d.min(grace)));
                        }
                        if cancel && !finishes {
                            c.aborted = Some(Abort::Cancel);
                        } else if c.deadline.is_some_and(|d| now >= d) {
                            c.aborted = Some(Abort::Timeout);
                        } else {
                            continue;
                        }
                        self.expired.push(i);
                    }
                    Phase::Connecting | Phase::Exchanging => self.recancel.push(i),
                    _ => {}
                }
            }
        }
        self.wake_parked();
        let wake = self.next_tick.min(self.next_sweep);
        self.release_due(now, wake)
    }

    /// Sends the last partial tick; call once after the driver loop ends.
    pub fn flush(&mut self) {
        let snap = self.rotate();
        let _ = self.ticks.send((self.core, snap));
        for (total, n) in self
            .shared
            .proxy_requests
            .iter()
            .zip(&mut self.proxy_counts)
        {
            total.fetch_add(std::mem::take(n), Ordering::Relaxed);
        }
        let starved = std::mem::take(&mut self.starved);
        self.shared
            .rate_starved
            .fetch_add(starved, Ordering::Relaxed);
    }

    /// Ends the tick in progress, with the requests in flight per op at this instant (the
    /// pending gauge): one pass over this core's connections per tick, nothing per request.
    fn rotate(&mut self) -> Snapshot {
        let mut snap = self.stats.rotate(unix_now_ns());
        for c in self.conns.iter() {
            if matches!(c.phase, Phase::Connecting | Phase::Exchanging) {
                snap.pending[c.op as usize] += 1;
            }
        }
        snap
    }

    /// Leaks the connection slots (receive space, message headers, iovecs, socket addresses
    /// and their sockets) for a driver that could not reap operations the kernel may still
    /// write into: a leak is better than the kernel writing into freed memory. The worker
    /// then has no connections; its statistics and its tick sender are kept.
    pub fn leak_io_memory(&mut self) {
        std::mem::forget(std::mem::take(&mut self.conns));
        self.finished = 0;
    }

    /// Starts the prepared exchange of connection `i`, connecting first if needed.
    fn launch(&mut self, i: usize) -> Step {
        let w = &self.shared.workload;
        let timeout = w.timeout;
        let c = &mut self.conns[i];
        let now = Instant::now();
        if c.redirects == 0 && !c.retried {
            c.op_started = now;
            if let Some(t) = c.intended {
                self.stats
                    .record_lag(now.saturating_duration_since(t).as_micros() as u64);
            }
        }
        c.deadline = timeout.map(|t| now + t);
        c.aborted = None;
        if c.fd < 0 {
            if let Err(e) = c.open_socket() {
                return self.connect_failed(i, connect_kind(e.raw_os_error().unwrap_or(0)));
            }
            c.phase = Phase::Connecting;
            c.marks.connect_from(now);
            return Step::Connect;
        }
        c.phase = Phase::Exchanging;
        c.started = now;
        Step::Send
    }

    /// A stale keep-alive connection was closed by the server before it answered: the request
    /// never reached it, so it is retried once on a fresh socket, not counted as an error.
    fn retry_fresh(&mut self, i: usize) -> Step {
        let c = &mut self.conns[i];
        c.close();
        c.retried = true;
        self.reissue(i)
    }

    /// Sends the connection's encoded request again from its first byte.
    fn reissue(&mut self, i: usize) -> Step {
        let verify = self.shared.workload.verify;
        let c = &mut self.conns[i];
        let (_, len) = c.exch.body_progress();
        // A verified GET or range keeps its body, a GetBatch its archive (dropping only member
        // bodies), an upload step its answer (its id, its ETag).
        let keep = verify && matches!(c.op, Op::Get | Op::GetMpd);
        let discard = !keep && !matches!(c.op, Op::PutMpu | Op::GetBatch);
        c.exch.begin(len, c.method == Method::Head, discard);
        self.launch(i)
    }

    fn fail(&mut self, i: usize, kind: ErrorKind) -> Step {
        match self.conns[i].op {
            // A failed step of an upload aborts it; a failed range fails its stream.
            Op::PutMpu => return self.mpu_failed(i, kind),
            Op::GetMpd => return self.mpd_failed(i, kind),
            _ => {}
        }
        let c = &mut self.conns[i];
        c.close();
        c.update = conn::Update::None;
        let cancelled = c.aborted == Some(Abort::Cancel);
        c.aborted = None;
        if !cancelled {
            self.stats.record_err(c.op, kind);
        }
        c.phase = Phase::Idle;
        self.next_op(i)
    }

    /// A socket could not be opened or connected; `kind` says why (see [`connect_kind`]).
    fn connect_failed(&mut self, i: usize, kind: ErrorKind) -> Step {
        if self.conns[i].op == Op::PutMpu && !self.conns[i].mpu.uncreated() {
            // A step of a created upload: the upload is aborted first.
            return self.mpu_failed(i, kind);
        }
        let c = &mut self.conns[i];
        c.close();
        c.aborted = None;
        c.update = conn::Update::None;
        match c.op {
            // A download stream's request fails its stream, which counts the error once.
            Op::GetMpd => self.mpd_part_failed(i, kind),
            op => self.stats.record_err(op, kind),
        }
        let sh = &self.shared;
        let c = &mut self.conns[i];
        if !sh.connected.load(Ordering::Relaxed) && sh.started.elapsed() >= CONNECT_GIVEUP {
            // Connections were made but no handshake succeeded: a TLS failure, named.
            sh.stop(match sh.tls.failure.get() {
                Some(_) => StopReason::TlsFailed,
                None => StopReason::ConnectFailed,
            });
        }
        if sh.stopping() {
            return self.finish_conn(i);
        }
        c.phase = Phase::Sleeping(Instant::now() + CONNECT_BACKOFF);
        Step::Idle
    }

    fn finish_conn(&mut self, i: usize) -> Step {
        let c = &mut self.conns[i];
        if c.phase != Phase::Finished {
            c.close();
            c.phase = Phase::Finished;
            self.finished += 1;
        }
        Step::Idle
    }
}
