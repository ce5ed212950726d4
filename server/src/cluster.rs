//! AIS cluster mode: P proxy listeners and T target listeners in one process
//! (`ringload serve --protocol ais --proxies P --targets T`, or [`start_cluster`]).
//!
//! Owns: starting and stopping the listeners ([`ClusterHandle`]), the proxies' redirects
//! ([`redirect`]), and the JSON lines `serve` prints for them.
//!
//! Why: AIS clients (aisloader, ringload's own AIS mode) must follow a proxy's redirect to the
//! target that owns the object; a cluster on loopback shows that cost and tests the client.
//!
//! Invariants: proxies own no objects and never fault; GET/HEAD are redirected with 301,
//! PUT/DELETE with 307, to `http://<target><same path>?<same query>&pid=<proxy id>&utm=<unix
//! ns>` (`https://` when the cluster serves TLS, as every listener then does), the target
//! chosen by HRW over `bucket/object` (so [`ClusterHandle::insert`] places an object where a
//! GET through any proxy will look). Buckets are one set for all listeners.
//! Every listener is its own server (own cores, counters and stop); targets start first.

use std::net::SocketAddr;
use std::sync::Arc;

use super::node::{Cluster, Node, NodeSpec, Role, TargetRef};
use super::provider::Provider;
use super::request::{push_u64, Extra, Status};
use super::respond::Reply;
use super::route::ObjOp;
use super::stats::ListenerStats;
use super::store::Stores;
use super::{
    bind, spawn, sys, url_of, validate, ServeConfig, ServeError, ServeProtocol, ServerHandle,
};

/// Most proxies, and most targets, one cluster starts.
pub const MAX_CLUSTER_NODES: usize = 64;

/// An AIS cluster to start: `base` gives the protocol (must be AIS), the listen IP (and a base
/// port, or 0 for free ports), cores per listener, page size and the targets' faults.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub proxies: usize,
    pub targets: usize,
    pub base: ServeConfig,
}

/// A running cluster. Dropping it stops every listener.
pub struct ClusterHandle {
    proxies: Vec<ServerHandle>,
    targets: Vec<ServerHandle>,
    cluster: Arc<Cluster>,
}

/// The address of listener `i` (proxies first): port 0 stays 0, a base port counts up.
fn addr_of(base: SocketAddr, i: usize) -> Result<SocketAddr, ServeError> {
    if base.port() == 0 {
        return Ok(base);
    }
    let port = u16::try_from(usize::from(base.port()) + i)
        .map_err(|_| ServeError::PortRange { base, count: i + 1 })?;
    Ok(SocketAddr::new(base.ip(), port))
}

/// Starts targets, then proxies, each a server of `base.cores` cores.
pub fn start_cluster(cfg: ClusterConfig) -> Result<ClusterHandle, ServeError> {
    if cfg.base.protocol != ServeProtocol::Ais {
        return Err(ServeError::ClusterProtocol {
            protocol: cfg.base.protocol.as_str(),
        });
    }
    for (what, n) in [("--proxies", cfg.proxies), ("--targets", cfg.targets)] {
        if n == 0 || n > MAX_CLUSTER_NODES {
            return Err(ServeError::ClusterSize {
                what,
                n,
                max: MAX_CLUSTER_NODES,
            });
        }
    }
    let cores = validate(&cfg.base)?;
    let tls = cfg.base.tls.is_some();
    let mut bound = Vec::with_capacity(cfg.proxies + cfg.targets);
    for i in 0..cfg.proxies + cfg.targets {
        bound.push(bind(addr_of(cfg.base.listen, i)?, cores)?);
    }
    let target_bound = bound.split_off(cfg.proxies);
    let targets: Vec<TargetRef> = target_bound
        .iter()
        .enumerate()
        .map(|(j, b)| TargetRef {
            url: url_of(b.addr, tls).into(),
            seed: Cluster::seed(&format!("t{}", j + 1)),
            store: Arc::new(Stores::new()),
        })
        .collect();
    let proxy_urls = bound.iter().map(|b| url_of(b.addr, tls).into()).collect();
    let cluster = Arc::new(Cluster::new(targets).with_proxies(proxy_urls));
    let spec = |role: Role, id: String, url: String, store: Arc<Stores>| NodeSpec {
        protocol: ServeProtocol::Ais,
        role,
        id,
        url,
        store,
        cluster: Arc::clone(&cluster),
        faults: cfg.base.faults.clone(),
        page_size: cfg.base.page_size,
        s3_auth: None,
    };
    let mut handle = ClusterHandle {
        proxies: Vec::with_capacity(cfg.proxies),
        targets: Vec::with_capacity(cfg.targets),
        cluster: Arc::clone(&cluster),
    };
    for (j, b) in target_bound.into_iter().enumerate() {
        let t = &cluster.targets[j];
        let node = spec(
            Role::Target,
            format!("t{}", j + 1),
            t.url.to_string(),
            Arc::clone(&t.store),
        );
        handle
            .targets
            .push(spawn(b, Node::new(node), cfg.base.tls.clone())?);
    }
    for (i, b) in bound.into_iter().enumerate() {
        let url = url_of(b.addr, tls);
        let node = spec(
            Role::Proxy,
            format!("p{}", i + 1),
            url,
            Arc::new(Stores::new()),
        );
        handle
            .proxies
            .push(spawn(b, Node::new(node), cfg.base.tls.clone())?);
    }
    Ok(handle)
}

impl ClusterHandle {
    /// `http(s)://IP:PORT` of every proxy, in id order (`p1`, `p2`, ...).
    pub fn proxy_urls(&self) -> Vec<String> {
        self.proxies.iter().map(ServerHandle::url).collect()
    }

    /// `http(s)://IP:PORT` of every target, in id order (`t1`, `t2`, ...). Test support.
    #[cfg(test)]
    pub fn target_urls(&self) -> Vec<String> {
        self.targets.iter().map(ServerHandle::url).collect()
    }

    /// Creates bucket `p://b` (no-op if it exists; a remote one is recorded as used).
    pub fn create_bucket(&self, p: Provider, b: &str) {
        self.cluster.buckets.create(p, b);
    }

    /// Records object `p://bucket/name` of `size` bytes on the target that owns it, creating
    /// the bucket if needed.
    pub fn insert(&self, p: Provider, bucket: &str, name: &str, size: u64) {
        self.cluster.buckets.create(p, bucket);
        let key = format!("{bucket}/{name}");
        let owner = self.cluster.owner(key.as_bytes());
        self.cluster.targets[owner].store.of(p).put(&key, size);
    }

    /// Size of object `p://bucket/name` on its owning target, if it exists. Test support.
    #[cfg(test)]
    pub fn object_size(&self, p: Provider, bucket: &str, name: &str) -> Option<u64> {
        let key = format!("{bucket}/{name}");
        let owner = self.cluster.owner(key.as_bytes());
        self.cluster.targets[owner].store.of(p).get(&key)
    }

    /// Number of objects in bucket `p://bucket`, over every target. Test support.
    #[cfg(test)]
    pub fn object_count(&self, p: Provider, bucket: &str) -> usize {
        let prefix = format!("{bucket}/");
        let mut n = 0;
        for store in self.cluster.stores(p) {
            store.scan(&prefix, |_, _| n += 1);
        }
        n
    }

    /// Index (0-based, `t1` is 0) of the target owning `bucket/name`.
    pub fn owner(&self, bucket: &str, name: &str) -> usize {
        self.cluster.owner(format!("{bucket}/{name}").as_bytes())
    }

    /// Every listener's counters, proxies first.
    pub fn stats(&self) -> Vec<ListenerStats> {
        self.proxies
            .iter()
            .chain(&self.targets)
            .map(ServerHandle::stats)
            .collect()
    }

    /// Stops every listener (proxies first) and waits for them.
    pub fn stop(self) {
        let ClusterHandle {
            proxies, targets, ..
        } = self;
        proxies.into_iter().for_each(ServerHandle::stop);
        targets.into_iter().for_each(ServerHandle::stop);
    }

    /// One JSON line per listener, proxies first: `{"role":..,"protocol":"ais","url":..}`.
    pub fn json_lines(&self) -> Vec<String> {
        let line = |role: &str, h: &ServerHandle| {
            serde_json::json!({ "role": role, "protocol": "ais", "url": h.url() }).to_string()
        };
        let mut v: Vec<String> = self.proxies.iter().map(|h| line("proxy", h)).collect();
        v.extend(self.targets.iter().map(|h| line("target", h)));
        v
    }
}

/// The CLI's `ringload serve --protocol ais`: starts the cluster, prints one JSON line per
/// listener (proxies first), serves until SIGINT or SIGTERM, then stops. Call it before
/// starting other threads (see [`super::serve_forever`]).
pub fn serve_cluster_forever(cfg: ClusterConfig) -> Result<(), ServeError> {
    let signals = sys::StopSignals::block().map_err(|source| ServeError::Signal { source })?;
    let handle = start_cluster(cfg)?;
    super::announce_and_wait(signals, &handle.json_lines(), || handle.stop())
}

/// A proxy's answer to an object request: 301 (GET/HEAD) or 307 (PUT/DELETE) to the owning
/// target, keeping the raw path and query and appending `pid` and `utm`.
pub(crate) fn redirect(
    r: &mut Reply<'_>,
    node: &Node,
    op: ObjOp,
    target: usize,
    raw_path: &[u8],
    query: &[u8],
) {
    r.ctr.request(op.kind());
    r.ctr.redirect();
    let status = match op {
        ObjOp::Get | ObjOp::Head => Status::MovedPermanently,
        ObjOp::Put | ObjOp::Delete => Status::TemporaryRedirect,
    };
    r.open(status, Some(0), Extra::default());
    let url = node.cluster.targets.get(target).map_or("", |t| &t.url);
    let out = &mut *r.out;
    out.extend_from_slice(b"Location: ");
    out.extend_from_slice(url.as_bytes());
    out.extend_from_slice(raw_path);
    out.push(b'?');
    if !query.is_empty() {
        out.extend_from_slice(query);
        out.push(b'&');
    }
    out.extend_from_slice(b"pid=");
    out.extend_from_slice(node.id.as_bytes());
    out.extend_from_slice(b"&utm=");
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    push_u64(out, ns);
    out.extend_from_slice(b"\r\n");
    r.end();
}
