//! What one listener is: its protocol and role, its object store, the cluster it belongs to,
//! its faults and its S3 auth hook. Shared (read-only, apart from atomics) by that listener's
//! cores.
//!
//! Owns: [`Node`], [`Role`], [`Cluster`] (the buckets and the targets' stores every listener of
//! one `serve` sees) and the HRW placement of object keys on targets.
//!
//! Why: a single server is a cluster of one target that is also its own proxy, so bucket and
//! list code has one shape (`Cluster::targets` holds that one store) whether or not the objects
//! are spread.
//!
//! Invariants: `Cluster::targets` is never empty and never changes after start; a key's owner
//! depends only on the key and the targets' ids, so placement is stable across runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::fault::{Decision, Faults};
use super::listing::Buckets;
use super::provider::Provider;
use super::store::{Store, Stores};
use super::{AuthHook, ServeProtocol};

/// A listener's part in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Stand-alone: owns objects, answers everything itself.
    Server,
    /// AIS proxy: owns no objects, redirects object requests to targets.
    Proxy,
    /// AIS target: owns the objects hashed to it; PUT/DELETE only through a proxy.
    Target,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Proxy => "proxy",
            Role::Target => "target",
        }
    }
}

/// One target as every listener sees it.
pub(crate) struct TargetRef {
    /// `http://IP:PORT` (`https://` over TLS).
    pub(crate) url: Box<str>,
    /// HRW weight seed, derived from the target's id.
    pub(crate) seed: u64,
    pub(crate) store: Arc<Stores>,
}

/// Everything shared by all listeners of one `serve`.
pub(crate) struct Cluster {
    pub(crate) buckets: Buckets,
    pub(crate) targets: Vec<TargetRef>,
    /// `http(s)://IP:PORT` of each proxy (`p1`, `p2`, ...; empty for a stand-alone server),
    /// for the cluster map.
    pub(crate) proxies: Vec<Box<str>>,
}

impl Cluster {
    pub(crate) fn new(targets: Vec<TargetRef>) -> Self {
        debug_assert!(!targets.is_empty());
        Self {
            buckets: Buckets::new(),
            targets,
            proxies: Vec::new(),
        }
    }

    /// The cluster with these proxies in its map.
    pub(crate) fn with_proxies(mut self, proxies: Vec<Box<str>>) -> Self {
        self.proxies = proxies;
        self
    }

    /// The HRW seed of target id `id`.
    pub(crate) fn seed(id: &str) -> u64 {
        xxhash_rust::xxh64::xxh64(id.as_bytes(), 0)
    }

    /// Index of the target owning `key` (`bucket/object`): highest random weight
    /// `hash2(XXH64(key), seed(target))`, ties to the lower index.
    pub(crate) fn owner(&self, key: &[u8]) -> usize {
        let kh = xxhash_rust::xxh64::xxh64(key, 0);
        let mut best = (0usize, 0u64);
        for (i, t) in self.targets.iter().enumerate() {
            let w = ringload_core::rng::hash2(kh, t.seed);
            if i == 0 || w > best.1 {
                best = (i, w);
            }
        }
        best.0
    }

    /// Every target's store of `p`'s buckets.
    pub(crate) fn stores(&self, p: Provider) -> impl Iterator<Item = &Store> + Clone {
        self.targets.iter().map(move |t| t.store.of(p))
    }
}

/// One listener.
pub(crate) struct Node {
    pub(crate) protocol: ServeProtocol,
    pub(crate) role: Role,
    /// `p1`, `t2`, `s0`: the `pid` a proxy writes into its redirects.
    pub(crate) id: Box<str>,
    pub(crate) url: Box<str>,
    /// This listener's objects, per provider (unused by a proxy).
    pub(crate) store: Arc<Stores>,
    pub(crate) cluster: Arc<Cluster>,
    pub(crate) faults: Faults,
    faulty: bool,
    fault_seq: AtomicU64,
    pub(crate) page_size: usize,
    pub(crate) s3_auth: Option<AuthHook>,
    /// AIS multipart uploads in progress on this listener.
    pub(crate) mpt: super::ais::mpt::Uploads,
}

/// The parts of a [`Node`] given at construction.
pub(crate) struct NodeSpec {
    pub(crate) protocol: ServeProtocol,
    pub(crate) role: Role,
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) store: Arc<Stores>,
    pub(crate) cluster: Arc<Cluster>,
    pub(crate) faults: Faults,
    pub(crate) page_size: usize,
    pub(crate) s3_auth: Option<AuthHook>,
}

impl Node {
    pub(crate) fn new(s: NodeSpec) -> Self {
        // Proxies never fault: a redirect is not an object answer.
        let faults = if s.role == Role::Proxy {
            Faults::default()
        } else {
            s.faults
        };
        Self {
            protocol: s.protocol,
            role: s.role,
            id: s.id.into(),
            url: s.url.into(),
            store: s.store,
            cluster: s.cluster,
            faulty: !faults.is_empty(),
            faults,
            fault_seq: AtomicU64::new(0),
            page_size: s.page_size.max(1),
            s3_auth: s.s3_auth,
            mpt: Default::default(),
        }
    }

    /// The fault decision for the next object GET/PUT of this listener (one atomic increment
    /// when faults are configured, nothing otherwise).
    pub(crate) fn next_fault(&self) -> Decision {
        if !self.faulty {
            return Decision::default();
        }
        let seq = self.fault_seq.fetch_add(1, Ordering::Relaxed);
        self.faults.decide(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(n: usize) -> Cluster {
        Cluster::new(
            (0..n)
                .map(|i| TargetRef {
                    url: format!("http://t{i}").into(),
                    seed: Cluster::seed(&format!("t{}", i + 1)),
                    store: Arc::new(Stores::new()),
                })
                .collect(),
        )
    }

    #[test]
    fn hrw_is_stable_and_spreads() {
        let c = cluster(3);
        let mut per = [0usize; 3];
        for i in 0..3000 {
            let key = format!("b/o{i}");
            let t = c.owner(key.as_bytes());
            assert_eq!(t, c.owner(key.as_bytes()));
            per[t] += 1;
        }
        assert!(per.iter().all(|&n| n > 800), "{per:?}");
        // Adding a target moves only the keys the new target wins.
        let c4 = cluster(4);
        for i in 0..1000 {
            let key = format!("b/o{i}");
            let (a, b) = (c.owner(key.as_bytes()), c4.owner(key.as_bytes()));
            assert!(a == b || b == 3);
        }
    }
}
