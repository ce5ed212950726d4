//! The built-in HTTP/1.1 object target (`ringload serve`, and `run`'s quick-start target).
//!
//! Owns: starting and stopping listeners and the public API ([`start`], [`ServerHandle`],
//! [`serve_forever`]; cluster mode in `cluster`: [`start_cluster`], [`ClusterHandle`]).
//! Submodules: `reactor` (one core's epoll loop and timers), `conn` (one connection's state
//! machine: bytes and sequencing), `exchange` (one request's routing, body use and answer),
//! `request` (heads, ranges, response heads), `route` (what a request asks, per
//! protocol and role), `object` (object answers, the hot path), `ais` and `s3` (control
//! requests in their wire formats), `respond` (replies and errors), `cluster` (AIS proxies
//! and targets), `node` (one listener's identity, store and cluster), `listing` (buckets and
//! paged lists), `provider` (AIS bucket providers: `ais` and the emulated clouds), `store` (key
//! -> size, checksum, one store per provider), `fault` (`--fault`), `stats` and `counters`,
//! `pattern` (object bytes), `sys` (the syscalls, from `ringload_net::sys`, which holds their
//! `unsafe`), `tls` (a connection's TLS session, for https listeners).
//!
//! Why: it is the "infinitely fast storage" that shows a client's own ceiling, so it is thread
//! per core (one pinned thread, one epoll instance and one `SO_REUSEPORT` listener per core),
//! stores metadata only and streams object bytes from a shared 1 MiB pattern. It speaks plain
//! HTTP, a subset of AIStore's API (optionally as a cluster of proxies and targets on
//! loopback), or path-style S3, and can inject faults, so clients are tested without a cluster.
//!
//! HTTP: `PUT /path` records the body size (201 new, 204 overwrite; body dropped in the
//! kernel; `Content-Length` or chunked; `Expect: 100-continue`). `GET` answers 200 with the
//! pattern bytes, 206 for `Range: bytes=a-b|a-|-n`, 416 if unsatisfiable, 404 if unknown.
//! `HEAD` is GET without the body; `DELETE` is 204 or 404; other methods 405; malformed
//! requests 400 and close. Every answer but 1xx/204 carries `Content-Length`. AIS and S3: see
//! `route`, `object`, `ais`, `s3`. Any listener answers `GET /v1/ringload/stats` (`stats`).
//!
//! Invariants: a listener's cores share only its node (store, cluster, atomics) and stop flag;
//! stopping wakes every core through one eventfd and joins them (also on drop).

mod ais;
mod cluster;
mod conn;
pub use conn::CONN_BYTES;
mod counters;
mod exchange;
mod fault;
mod listing;
mod node;
mod object;
mod pattern;
mod provider;
mod reactor;
mod request;
mod respond;
mod route;
mod s3;
mod stats;
mod store;
mod sys;
#[cfg(test)]
mod tests;
mod tls;
pub use tls::TLS_CONN_BYTES;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use socket2::{Domain, Protocol, Socket, Type};

pub use cluster::{
    serve_cluster_forever, start_cluster, ClusterConfig, ClusterHandle, MAX_CLUSTER_NODES,
};
use counters::CoreCounters;
pub use counters::{FaultCounts, MlCounts, ServerCounters, StatusCounts};
pub use fault::{FaultKind, FaultSpecError, Faults};
use node::{Cluster, Node, NodeSpec, Role, TargetRef};
pub use provider::Provider;
use reactor::{Reactor, Shared};
pub use s3::AuthRequest;
pub use stats::ListenerStats;
use store::Stores;

/// Pending-connection queue per listener (connections); generous so load bursts are not
/// refused while a core is busy.
const LISTEN_BACKLOG: i32 = 4096;
/// Most cores (threads) one server starts; guards against a typo like `--cores 100000`.
pub const MAX_CORES: usize = 1024;
/// Default (and AIS's) largest list page (objects).
pub const DEFAULT_PAGE_SIZE: usize = 10_000;

/// The S3 auth hook: true lets the request through, false answers 403.
pub type AuthHook = Arc<dyn Fn(&AuthRequest<'_>) -> bool + Send + Sync>;

/// The object API a listener speaks: the client's own list (plain HTTP, the AIStore subset,
/// path-style S3), so a protocol added there is served here too.
pub use ringload_core::kinds::Protocol as ServeProtocol;

/// Where and how to serve.
#[derive(Clone)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port (see [`ServerHandle::local_addr`]).
    pub listen: SocketAddr,
    /// Threads (one per core, pinned when possible); 0 means all available cores.
    pub cores: usize,
    pub protocol: ServeProtocol,
    /// Largest list page answered (AIS pages are `min(pagesize, page_size)`; S3 pages also
    /// at most 1000); at least 1.
    pub page_size: usize,
    /// Injected faults (none by default).
    pub faults: Faults,
    /// S3 only: when set, every S3 request must pass it (403 otherwise).
    pub s3_auth: Option<AuthHook>,
    /// Buckets that exist from the start (the stand-alone server: `serve --protocol s3
    /// --bucket`; a cluster's AIS buckets are created by its clients).
    pub buckets: Vec<String>,
    /// Serve https with this configuration (`ringload_net::tls::server`); every listener of a
    /// cluster uses it, and its URLs say `https://`. `None` serves plain HTTP.
    pub tls: Option<Arc<ringload_net::tls::rustls::ServerConfig>>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            cores: 0,
            protocol: ServeProtocol::Http,
            page_size: DEFAULT_PAGE_SIZE,
            faults: Faults::default(),
            s3_auth: None,
            buckets: Vec::new(),
            tls: None,
        }
    }
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("cores", &self.cores)
            .field("protocol", &self.protocol)
            .field("page_size", &self.page_size)
            .field("faults", &self.faults)
            .field("s3_auth", &self.s3_auth.as_ref().map(|_| "hook"))
            .field("buckets", &self.buckets)
            .field("tls", &self.tls.is_some())
            .finish()
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
    #[error("--page-size 0 is too small: use at least 1 (default {DEFAULT_PAGE_SIZE})")]
    PageSize,
    #[error("a cluster (--proxies/--targets) speaks AIS only, not {protocol}: use --protocol ais")]
    ClusterProtocol { protocol: &'static str },
    #[error("{what} {n} is out of range: use 1..={max}")]
    ClusterSize {
        what: &'static str,
        n: usize,
        max: usize,
    },
    #[error("--listen {base}: {count} listeners from that port would pass port 65535: use a lower base port, or port 0 for free ports")]
    PortRange { base: SocketAddr, count: usize },
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

/// Checks the parts of a config every listener shares; returns the number of cores.
fn validate(cfg: &ServeConfig) -> Result<usize, ServeError> {
    if cfg.page_size == 0 {
        return Err(ServeError::PageSize);
    }
    match cfg.cores {
        0 => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        n if n > MAX_CORES => Err(ServeError::TooManyCores {
            requested: n,
            max: MAX_CORES,
        }),
        n => Ok(n),
    }
}

/// One listener's sockets (one per core), bound and listening, not yet served.
struct Bound {
    listeners: Vec<Socket>,
    addr: SocketAddr,
}

fn bind(listen: SocketAddr, cores: usize) -> Result<Bound, ServeError> {
    check_port_free(listen)?;
    let first = bind_listener(listen)?;
    let addr = first
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or_else(|| setup("listening socket address")(io::ErrorKind::Other.into()))?;
    let mut listeners = vec![first];
    for _ in 1..cores {
        listeners.push(bind_listener(addr)?);
    }
    Ok(Bound { listeners, addr })
}

/// The URL of a listener at `addr`: `https://` when it serves TLS.
fn url_of(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{addr}")
}

/// Starts one core per bound socket, serving as `node` (over TLS when `tls` is set).
fn spawn(
    bound: Bound,
    node: Node,
    tls: Option<Arc<ringload_net::tls::rustls::ServerConfig>>,
) -> Result<ServerHandle, ServeError> {
    // Build the pattern now, not inside the first request.
    pattern::doubled_pattern();
    let counters: Vec<Arc<CoreCounters>> = (0..bound.listeners.len())
        .map(|_| Arc::new(CoreCounters::default()))
        .collect();
    let shared = Arc::new(Shared {
        node,
        stop: AtomicBool::new(false),
        wake: sys::eventfd().map_err(setup("stop eventfd"))?,
        counters: counters.clone(),
        tls,
    });
    let mut handle = ServerHandle {
        addr: bound.addr,
        shared: Arc::clone(&shared),
        threads: Vec::with_capacity(counters.len()),
    };
    let core_ids = core_affinity::get_core_ids().unwrap_or_default();
    for (i, (listener, counters)) in bound.listeners.into_iter().zip(counters).enumerate() {
        let reactor = Reactor::new(listener, Arc::clone(&shared), Arc::clone(&counters))
            .map_err(setup("epoll instance"))?;
        let core_id = (!core_ids.is_empty()).then(|| core_ids[i % core_ids.len()]);
        let thread = std::thread::Builder::new()
            .name(format!("ringload-serve-{i}"))
            .spawn(move || {
                if let Some(id) = core_id {
                    // Best effort: an unpinned core still serves correctly.
                    core_affinity::set_for_current(id);
                }
                if reactor.run().is_err() {
                    counters.error();
                }
            })
            .map_err(|source| ServeError::Spawn { core: i, source })?;
        handle.threads.push(thread);
    }
    Ok(handle)
}

/// Starts a stand-alone target; it serves until [`ServerHandle::stop`] or drop.
pub fn start(cfg: ServeConfig) -> Result<ServerHandle, ServeError> {
    let cores = validate(&cfg)?;
    let bound = bind(cfg.listen, cores)?;
    let url = url_of(bound.addr, cfg.tls.is_some());
    let store = Arc::new(Stores::new());
    let buckets = cfg.buckets.clone();
    let cluster = Arc::new(Cluster::new(vec![TargetRef {
        url: url.clone().into(),
        seed: Cluster::seed("s0"),
        store: Arc::clone(&store),
    }]));
    let node = Node::new(NodeSpec {
        protocol: cfg.protocol,
        role: Role::Server,
        id: "s0".into(),
        url,
        store,
        cluster,
        faults: cfg.faults,
        page_size: cfg.page_size,
        s3_auth: cfg.s3_auth,
    });
    let handle = spawn(bound, node, cfg.tls)?;
    for b in &buckets {
        handle.create_bucket(b);
    }
    Ok(handle)
}

/// A running listener (a stand-alone server, or one node of a cluster). Dropping it stops it.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// The bound address (with the real port if 0 was requested).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, or `https://` when it serves TLS (IPv6 in brackets).
    pub fn url(&self) -> String {
        self.shared.node.url.to_string()
    }

    /// Number of serving threads.
    pub fn cores(&self) -> usize {
        self.shared.counters.len()
    }

    /// Creates bucket `b` (no-op if it exists). Buckets matter to AIS and S3 only.
    pub fn create_bucket(&self, b: &str) {
        self.shared.node.cluster.buckets.create(Provider::Ais, b);
    }

    /// Records an object (of an `ais://` bucket, for AIS) without the network. `path` is the object key: the URL path without
    /// its leading `/` (one leading `/` is tolerated), already decoded, e.g. `bucket/name`
    /// (for AIS too: not `v1/objects/...`). Its first segment's bucket is created if needed.
    pub fn insert(&self, path: &str, size: u64) {
        let key = strip(path);
        if let Some((bucket, _)) = key.split_once('/') {
            self.create_bucket(bucket);
        }
        self.shared.node.store.of(Provider::Ais).put(key, size);
    }

    /// Size of an object (by key, as for [`ServerHandle::insert`]), if it exists. Test support.
    #[cfg(test)]
    pub fn object_size(&self, path: &str) -> Option<u64> {
        self.shared.node.store.of(Provider::Ais).get(strip(path))
    }

    /// Number of objects stored. Test support.
    #[cfg(test)]
    pub fn object_count(&self) -> usize {
        self.shared.node.store.len()
    }

    /// Totals across all cores.
    pub fn counters(&self) -> ServerCounters {
        self.shared.totals()
    }

    /// Role, protocol, URL and counters (what `GET /v1/ringload/stats` answers).
    pub fn stats(&self) -> ListenerStats {
        self.shared.stats()
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

/// The CLI's `ringload serve` for one listener: starts the target, prints
/// `{"role":"server","protocol":"http|ais|s3","url":"..."}` (plus `"buckets":[...]` when
/// [`ServeConfig::buckets`] names any) as one line on stdout, serves until
/// SIGINT or SIGTERM, then stops. Call it before starting other threads: it blocks those
/// signals on the calling thread so the server threads inherit that.
pub fn serve_forever(cfg: ServeConfig) -> Result<(), ServeError> {
    let signals = sys::StopSignals::block().map_err(|source| ServeError::Signal { source })?;
    let protocol = cfg.protocol.as_str();
    let buckets = cfg.buckets.clone();
    let handle = start(cfg)?;
    let mut line =
        serde_json::json!({ "role": "server", "protocol": protocol, "url": handle.url() });
    if !buckets.is_empty() {
        line["buckets"] = serde_json::json!(buckets);
    }
    announce_and_wait(signals, &[line.to_string()], || handle.stop())
}

/// Prints `lines` on stdout (the listeners a `serve` started), waits for SIGINT or SIGTERM on
/// `signals`, then calls `stop`.
fn announce_and_wait(
    signals: sys::StopSignals,
    lines: &[String],
    stop: impl FnOnce(),
) -> Result<(), ServeError> {
    let mut out = io::stdout().lock();
    lines
        .iter()
        .try_for_each(|l| writeln!(out, "{l}"))
        .and_then(|()| out.flush())
        .map_err(|source| ServeError::Stdout { source })?;
    drop(out);
    let waited = signals.wait();
    stop();
    drop(signals);
    waited
        .map(|_| ())
        .map_err(|source| ServeError::Signal { source })
}
