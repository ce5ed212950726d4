//! One core of the built-in target: an epoll loop over its own listener and connections.
//!
//! Owns: accepting on this core's `SO_REUSEPORT` listener, the slab of connections, dispatching
//! readiness to [`Conn::drive`], the timer list of connections holding back a delayed answer,
//! and stopping when the shared stop flag is set.
//!
//! Why: thread per core with nothing shared on the hot path but the object store; the kernel
//! spreads new connections across the cores' listeners.
//!
//! Invariants: connection sockets are registered edge-triggered once (never re-armed); a
//! connection that returns [`Drive::Yield`] is kept on the ready list and driven again before
//! the next blocking wait. A connection that returns [`Drive::Sleep`] is driven again once its
//! deadline has passed (never before: the wait's timeout is rounded up), so a delay never
//! blocks the loop. Tokens carry a generation so an event (or timer) for a closed slot can
//! never reach the connection that reused it. The listener and the stop eventfd are
//! level-triggered.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ringload_net::tls::rustls::ServerConfig;
use socket2::Socket;

use super::conn::{Conn, Drive};
use super::counters::{CoreCounters, ServerCounters};
use super::node::Node;
use super::stats::ListenerStats;
use super::sys::{self, Epoll};
use super::tls::Tls;

/// Pause after accept fails for lack of file descriptors, so the core does not spin on a
/// listener that stays readable until descriptors are freed.
const FD_EXHAUSTED_BACKOFF: std::time::Duration = std::time::Duration::from_millis(5);

/// Events fetched per `epoll_wait` (a batch; more simply arrive on the next wait).
const EVENTS_PER_WAIT: usize = 256;
/// Connections accepted per listener readiness before serving others (level-triggered: the
/// rest are reported again on the next wait).
const ACCEPTS_PER_WAKE: usize = 64;
const LISTENER_TOKEN: u64 = u64::MAX;
const WAKE_TOKEN: u64 = u64::MAX - 1;

/// State shared by all cores of one listener.
pub(crate) struct Shared {
    pub(crate) node: Node,
    pub(crate) stop: AtomicBool,
    /// Level-triggered in every core's epoll; made readable once to stop them all.
    pub(crate) wake: OwnedFd,
    /// Every core's counters (for the stats endpoint and the handle).
    pub(crate) counters: Vec<Arc<CoreCounters>>,
    /// Set for an https listener: every accepted connection starts a TLS session with it.
    pub(crate) tls: Option<Arc<ServerConfig>>,
}

impl Shared {
    /// Totals across this listener's cores.
    pub(crate) fn totals(&self) -> ServerCounters {
        let mut t = ServerCounters::default();
        for c in &self.counters {
            c.sum_into(&mut t);
        }
        t
    }

    pub(crate) fn stats(&self) -> ListenerStats {
        ListenerStats {
            role: self.node.role.as_str(),
            protocol: self.node.protocol.as_str(),
            url: self.node.url.to_string(),
            counters: self.totals(),
        }
    }
}

struct Slot {
    generation: u32,
    conn: Option<Conn>,
}

pub(crate) struct Reactor {
    epoll: Epoll,
    listener: Socket,
    shared: Arc<Shared>,
    counters: Arc<CoreCounters>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    ready: Vec<u64>,
    /// (deadline, token) of sleeping connections, earliest first.
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
}

impl Reactor {
    /// Builds a core around its bound, listening, non-blocking `listener`.
    pub(crate) fn new(
        listener: Socket,
        shared: Arc<Shared>,
        counters: Arc<CoreCounters>,
    ) -> io::Result<Self> {
        let epoll = Epoll::new()?;
        epoll.add(listener.as_raw_fd(), libc::EPOLLIN as u32, LISTENER_TOKEN)?;
        epoll.add(shared.wake.as_raw_fd(), libc::EPOLLIN as u32, WAKE_TOKEN)?;
        Ok(Self {
            epoll,
            listener,
            shared,
            counters,
            slots: Vec::new(),
            free: Vec::new(),
            ready: Vec::new(),
            timers: BinaryHeap::new(),
        })
    }

    /// Serves until the stop flag is set. Returns early only if epoll itself fails.
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS_PER_WAIT];
        let mut again: Vec<u64> = Vec::new();
        while !self.shared.stop.load(Ordering::Acquire) {
            let timeout_ms = if !self.ready.is_empty() {
                0
            } else if let Some(Reverse((at, _))) = self.timers.peek() {
                ms_until(*at)
            } else {
                -1
            };
            let n = self.epoll.wait(&mut events, timeout_ms)?;
            for ev in &events[..n] {
                // Copy out of the (packed on x86_64) struct before use.
                let (token, flags) = (ev.u64, ev.events);
                match token {
                    LISTENER_TOKEN => self.accept_some(),
                    WAKE_TOKEN => {}
                    _ => self.on_event(token, flags),
                }
            }
            std::mem::swap(&mut again, &mut self.ready);
            for token in again.drain(..) {
                self.drive(token, false);
            }
            if !self.timers.is_empty() {
                let now = Instant::now();
                while let Some(&Reverse((at, token))) = self.timers.peek() {
                    if at > now {
                        break;
                    }
                    self.timers.pop();
                    self.drive(token, false);
                }
            }
        }
        Ok(())
    }

    fn accept_some(&mut self) {
        for _ in 0..ACCEPTS_PER_WAKE {
            match sys::accept(self.listener.as_raw_fd()) {
                Ok(fd) => self.add_conn(fd),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // ECONNABORTED and friends concern one peer. Out of descriptors (EMFILE/ENFILE),
                // the listener stays readable: back off briefly instead of spinning on it.
                Err(e) => {
                    self.counters.error();
                    if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                        std::thread::sleep(FD_EXHAUSTED_BACKOFF);
                    }
                    return;
                }
            }
        }
    }

    fn add_conn(&mut self, fd: OwnedFd) {
        // Best effort: without TCP_NODELAY the connection still works, only slower.
        let _ = sys::set_nodelay(fd.as_raw_fd());
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.generation = slot.generation.wrapping_add(1);
        let token = (u64::from(slot.generation) << 32) | u64::from(idx);
        let tls = match &self.shared.tls {
            None => None,
            Some(config) => match Tls::new(config) {
                Ok(t) => Some(t),
                Err(_) => {
                    self.counters.error();
                    self.free.push(idx);
                    return; // `fd` drops here and closes the socket
                }
            },
        };
        let conn = Conn::new(fd, tls);
        let flags = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
        if self.epoll.add(conn.fd(), flags, token).is_err() {
            self.counters.error();
            self.free.push(idx);
            return; // `conn` drops here and closes the socket
        }
        slot.conn = Some(conn);
        // Data may have arrived before registration; edge-triggered epoll would not report it.
        self.drive(token, false);
    }

    fn on_event(&mut self, token: u64, flags: u32) {
        if flags & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
            if let Some(conn) = self.conn_mut(token) {
                if !conn.is_idle() {
                    self.counters.error();
                }
                self.close(token);
            }
            return;
        }
        self.drive(token, flags & libc::EPOLLRDHUP as u32 == 0);
    }

    fn conn_mut(&mut self, token: u64) -> Option<&mut Conn> {
        let slot = self.slots.get_mut((token & u64::from(u32::MAX)) as usize)?;
        if u64::from(slot.generation) != token >> 32 {
            return None;
        }
        slot.conn.as_mut()
    }

    fn drive(&mut self, token: u64, trust_short_reads: bool) {
        let idx = (token & u64::from(u32::MAX)) as usize;
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        if u64::from(slot.generation) != token >> 32 {
            return;
        }
        let Some(conn) = slot.conn.as_mut() else {
            return;
        };
        match conn.drive(&self.shared, &self.counters, trust_short_reads) {
            Drive::Blocked => {}
            Drive::Yield => self.ready.push(token),
            Drive::Sleep(until) => self.timers.push(Reverse((until, token))),
            Drive::Close => self.close(token),
        }
    }

    fn close(&mut self, token: u64) {
        let idx = (token & u64::from(u32::MAX)) as u32;
        if let Some(slot) = self.slots.get_mut(idx as usize) {
            if slot.conn.take().is_some() {
                // Closing the fd also removes it from the epoll set.
                self.free.push(idx);
            }
        }
    }
}

/// Milliseconds from now until `at`, rounded up (so the wait never ends before `at`).
fn ms_until(at: Instant) -> i32 {
    let left = at.saturating_duration_since(Instant::now());
    let ms = left.as_nanos().div_ceil(1_000_000);
    i32::try_from(ms).unwrap_or(i32::MAX)
}
