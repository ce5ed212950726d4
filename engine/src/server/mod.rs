//! The built-in HTTP/1.1 object target (`ringload serve`, and `run`'s quick-start target).
//!
//! Owns: starting and stopping the server's cores and the public API ([`start`],
//! [`ServerHandle`], [`serve_forever`]). Submodules: `reactor` (one core's epoll loop),
//! `conn` (one connection's state machine), `request` (heads, ranges, response heads),
//! `store` (name -> size), `counters`, `pattern` (object bytes; private copy of the content
//! contract until `crate::content` lands), `sys` (every syscall and `unsafe`).
//!
//! Why: it is the "infinitely fast storage" that shows a client's own ceiling, so it is thread
//! per core (one pinned thread, one epoll instance and one `SO_REUSEPORT` listener per core),
//! stores metadata only and streams object bytes from a shared 1 MiB pattern.
//!
//! HTTP: `PUT /path` records the body size (201 new, 204 overwrite; body dropped in the
//! kernel; `Content-Length` or chunked; `Expect: 100-continue`). `GET` answers 200 with the
//! pattern bytes, 206 for `Range: bytes=a-b|a-|-n`, 416 if unsatisfiable, 404 if unknown.
//! `HEAD` is GET without the body; `DELETE` is 204 or 404; other methods 405; malformed
//! requests 400 and close. Every answer but 1xx/204 carries `Content-Length`.
//!
//! Invariants: cores share only the sharded store and the stop flag; stopping wakes every
//! core through one eventfd and joins them (also on drop).

mod conn;
mod counters;
pub(crate) mod pattern;
mod reactor;
mod request;
mod store;
mod sys;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use socket2::{Domain, Protocol, Socket, Type};

use counters::CoreCounters;
pub use counters::ServerCounters;
use reactor::{Reactor, Shared};
use store::Store;

/// Pending-connection queue per listener (connections); generous so load bursts are not
/// refused while a core is busy.
const LISTEN_BACKLOG: i32 = 4096;
/// Most cores (threads) one server starts; guards against a typo like `--cores 100000`.
pub const MAX_CORES: usize = 1024;

/// Where and how wide to serve.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port (see [`ServerHandle::local_addr`]).
    pub listen: SocketAddr,
    /// Threads (one per core, pinned when possible); 0 means all available cores.
    pub cores: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            cores: 0,
        }
    }
}

/// Why the target could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("address {addr} is already in use: pick another --listen port, or 127.0.0.1:0 for any free port")]
    AddrInUse { addr: SocketAddr },
    #[error("address {addr} is not available on this host: listen on 127.0.0.1:PORT or another local address")]
    AddrNotAvailable { addr: SocketAddr },
    #[error("permission denied binding {addr}: ports below 1024 need privileges; use a port >= 1024 or 127.0.0.1:0")]
    PermissionDenied { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("--cores {requested} is too many: use at most {max} (or 0 for all cores)")]
    TooManyCores { requested: usize, max: usize },
    #[error(
        "cannot set up the server's {what}: {source} (check the open-file limit, `ulimit -n`)"
    )]
    Setup {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot start server thread {core}: {source} (try fewer --cores)")]
    Spawn {
        core: usize,
        #[source]
        source: io::Error,
    },
    #[error("cannot wait for SIGINT/SIGTERM: {source}")]
    Signal {
        #[source]
        source: io::Error,
    },
    #[error("cannot write the target URL to stdout: {source}")]
    Stdout {
        #[source]
        source: io::Error,
    },
}

fn setup(what: &'static str) -> impl FnOnce(io::Error) -> ServeError {
    move |source| ServeError::Setup { what, source }
}

fn bind_error(addr: SocketAddr, source: io::Error) -> ServeError {
    match source.kind() {
        io::ErrorKind::AddrInUse => ServeError::AddrInUse { addr },
        io::ErrorKind::AddrNotAvailable => ServeError::AddrNotAvailable { addr },
        io::ErrorKind::PermissionDenied => ServeError::PermissionDenied { addr },
        _ => ServeError::Bind { addr, source },
    }
}

fn new_socket(addr: SocketAddr) -> Result<Socket, ServeError> {
    Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(setup("listening socket"))
}

/// Binds one `SO_REUSEPORT` listener of the group.
fn bind_listener(addr: SocketAddr) -> Result<Socket, ServeError> {
    let sock = new_socket(addr)?;
    sock.set_reuse_address(true)
        .and_then(|()| sock.set_reuse_port(true))
        .map_err(setup("listening socket options"))?;
    sock.bind(&addr.into()).map_err(|e| bind_error(addr, e))?;
    sock.listen(LISTEN_BACKLOG)
        .map_err(|e| bind_error(addr, e))?;
    sock.set_nonblocking(true)
        .map_err(setup("listening socket options"))?;
    Ok(sock)
}

/// Fails if something already listens on a fixed port. Without this check a second server
/// with `SO_REUSEPORT` on the same port would silently share the traffic. The probe has
/// `SO_REUSEADDR` (so leftover TIME_WAIT connections of an earlier run do not count) but not
/// `SO_REUSEPORT` (so any listener, including a reuse-port group, does).
fn check_port_free(addr: SocketAddr) -> Result<(), ServeError> {
    if addr.port() == 0 {
        return Ok(());
    }
    let probe = new_socket(addr)?;
    probe
        .set_reuse_address(true)
        .map_err(setup("listening socket options"))?;
    probe.bind(&addr.into()).map_err(|e| bind_error(addr, e))
}

/// Starts the target; it serves until [`ServerHandle::stop`] or drop.
pub fn start(cfg: ServeConfig) -> Result<ServerHandle, ServeError> {
    let cores = match cfg.cores {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n if n > MAX_CORES => {
            return Err(ServeError::TooManyCores {
                requested: n,
                max: MAX_CORES,
            })
        }
        n => n,
    };
    check_port_free(cfg.listen)?;
    let first = bind_listener(cfg.listen)?;
    let local = first
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or_else(|| setup("listening socket address")(io::ErrorKind::Other.into()))?;
    let mut listeners = vec![first];
    for _ in 1..cores {
        listeners.push(bind_listener(local)?);
    }
    // Build the pattern now, not inside the first request.
    conn::doubled_pattern();

    let shared = Arc::new(Shared {
        store: Store::new(),
        stop: AtomicBool::new(false),
        wake: sys::eventfd().map_err(setup("stop eventfd"))?,
    });
    let mut handle = ServerHandle {
        addr: local,
        shared: Arc::clone(&shared),
        counters: Vec::with_capacity(cores),
        threads: Vec::with_capacity(cores),
    };
    let core_ids = core_affinity::get_core_ids().unwrap_or_default();
    for (i, listener) in listeners.into_iter().enumerate() {
        let counters = Arc::new(CoreCounters::default());
        let reactor = Reactor::new(listener, Arc::clone(&shared), Arc::clone(&counters))
            .map_err(setup("epoll instance"))?;
        let core_id = (!core_ids.is_empty()).then(|| core_ids[i % core_ids.len()]);
        let thread = std::thread::Builder::new()
            .name(format!("ringload-serve-{i}"))
            .spawn({
                let counters = Arc::clone(&counters);
                move || {
                    if let Some(id) = core_id {
                        // Best effort: an unpinned core still serves correctly.
                        core_affinity::set_for_current(id);
                    }
                    if reactor.run().is_err() {
                        counters.error();
                    }
                }
            })
            .map_err(|source| ServeError::Spawn { core: i, source })?;
        handle.counters.push(counters);
        handle.threads.push(thread);
    }
    Ok(handle)
}

/// A running target. Dropping it stops it.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    counters: Vec<Arc<CoreCounters>>,
    threads: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// The bound address (with the real port if 0 was requested).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT` (IPv6 in brackets).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Number of serving threads.
    pub fn cores(&self) -> usize {
        self.counters.len()
    }

    /// Records an object without the network. `path` is the URL path without its leading `/`
    /// (one leading `/` is tolerated), already decoded, e.g. `bucket/name`.
    pub fn insert(&self, path: &str, size: u64) {
        self.shared.store.put(strip(path), size);
    }

    /// Size of an object, if it exists.
    pub fn object_size(&self, path: &str) -> Option<u64> {
        self.shared.store.get(strip(path))
    }

    /// Number of objects stored.
    pub fn object_count(&self) -> usize {
        self.shared.store.len()
    }

    /// Totals across all cores.
    pub fn counters(&self) -> ServerCounters {
        let mut t = ServerCounters::default();
        for c in &self.counters {
            c.sum_into(&mut t);
        }
        t
    }

    /// Stops every core and waits for them (promptly: each is woken through the eventfd).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.shared.stop.store(true, Ordering::Release);
        sys::eventfd_signal(std::os::fd::AsRawFd::as_raw_fd(&self.shared.wake));
        for t in self.threads.drain(..) {
            // A core cannot panic on client input; if it did, the others still stop.
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn strip(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The CLI's `ringload serve`: starts the target, prints `{"role":"target","url":"..."}` as one
/// line on stdout, serves until SIGINT or SIGTERM, then stops. Call it before starting other
/// threads: it blocks those signals on the calling thread so the server threads inherit that.
pub fn serve_forever(cfg: ServeConfig) -> Result<(), ServeError> {
    let signals = sys::StopSignals::block().map_err(|source| ServeError::Signal { source })?;
    let handle = start(cfg)?;
    let line = serde_json::json!({ "role": "target", "url": handle.url() });
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|source| ServeError::Stdout { source })?;
    drop(out);
    let waited = signals.wait();
    handle.stop();
    drop(signals);
    waited
        .map(|_| ())
        .map_err(|source| ServeError::Signal { source })
}
