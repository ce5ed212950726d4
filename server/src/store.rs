//! The built-in target's object metadata: key -> size (and a cached checksum), shared by the
//! cores of one listener.
//!
//! Owns: which objects exist (one [`Stores`] per listener: a [`Store`] per bucket provider),
//! how large they are, whether a remote bucket's object is present in the cluster
//! ("cached": written or read through it, not evicted since), and the XXH64 of their bytes
//! once someone asked for it, and a shard's member list (see `ais::arch`). Bytes are never stored (they are derived from the key, see `pattern`). Why
//! sharded: every core PUTs and GETs concurrently; 64 locks chosen by the key's hash keep
//! contention negligible without a lock-free map.
//!
//! Invariants: a shard lock is held only for one map operation or one shard's scan (no I/O, no
//! allocation except the key of a new object, or the names a scan's caller copies); a poisoned
//! lock is recovered, never propagated as a panic. A cached checksum always belongs to the
//! current size: `put` clears it and `set_checksum` ignores a stale size.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::ais::arch::{is_shard_name, Members};
use super::provider::{Provider, PROVIDERS};
use ringload_core::cksum::Digest;
use ringload_core::kinds::CksumType;

/// Number of independently locked shards (power of two; well above any core count we pin).
const SHARDS: usize = 64;

/// xxh64 seed for shard choice ("SHARD"); differs from the content seed (0) so the shard and
/// the pattern start of a name are unrelated.
const SHARD_SEED: u64 = 0x0053_4841_5244;

/// What is known about one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) size: u64,
    /// The checksum type GETs answer with: the one its PUT declared (XXH64 by default).
    pub(crate) cksum_type: CksumType,
    /// The digest of the object's bytes under `cksum_type`: from the PUT's check, or (XXH64)
    /// once a GET or HEAD computed it.
    pub(crate) checksum: Option<Digest>,
    /// Present in the cluster. A remote bucket's object lives in the emulated cloud backend
    /// and is present once written or read through the cluster, until evicted; an `ais`
    /// bucket's object is always present.
    pub(crate) cached: bool,
}

/// One shard: object key -> metadata.
type Shard = Mutex<HashMap<Box<str>, Meta>>;

/// Sharded key -> metadata map.
pub(crate) struct Store {
    shards: Box<[Shard]>,
    /// The member lists of the shards (TAR objects) among the objects, by key (see
    /// `ais::arch`); one lock, taken only for keys with the archive extension.
    archives: Mutex<HashMap<Box<str>, Members>>,
}

impl Store {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            archives: Mutex::new(HashMap::new()),
        }
    }

    fn lock(shard: &Shard) -> MutexGuard<'_, HashMap<Box<str>, Meta>> {
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn shard(&self, name: &str) -> MutexGuard<'_, HashMap<Box<str>, Meta>> {
        let h = xxhash_rust::xxh64::xxh64(name.as_bytes(), SHARD_SEED);
        Self::lock(&self.shards[(h as usize) & (SHARDS - 1)])
    }

    /// Records `name` with `size`, present in the cluster; returns true if it already existed
    /// (overwrite).
    pub(crate) fn put(&self, name: &str, size: u64) -> bool {
        self.put_typed(name, size, CksumType::Xxhash)
    }

    /// [`Store::put`] of an object whose GETs answer with checksum type `cksum_type`.
    pub(crate) fn put_typed(&self, name: &str, size: u64, cksum_type: CksumType) -> bool {
        let mut shard = self.shard(name);
        let meta = Meta {
            size,
            cksum_type,
            checksum: None,
            cached: true,
        };
        if let Some(existing) = shard.get_mut(name) {
            *existing = meta;
            return true;
        }
        shard.insert(name.into(), meta);
        false
    }

    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<u64> {
        self.meta(name).map(|m| m.size)
    }

    pub(crate) fn meta(&self, name: &str) -> Option<Meta> {
        self.shard(name).get(name).copied()
    }

    /// Caches the checksum of `name`, unless the object was replaced by one of another size.
    pub(crate) fn set_checksum(&self, name: &str, size: u64, checksum: Digest) {
        if let Some(m) = self.shard(name).get_mut(name) {
            if m.size == size {
                m.checksum = Some(checksum);
            }
        }
    }

    /// Marks `name` present in the cluster or not (a remote object read through the cluster,
    /// or evicted from it); returns true if the object exists.
    pub(crate) fn set_cached(&self, name: &str, cached: bool) -> bool {
        match self.shard(name).get_mut(name) {
            Some(m) => {
                m.cached = cached;
                true
            }
            None => false,
        }
    }

    /// Removes `name`; returns true if it existed.
    pub(crate) fn remove(&self, name: &str) -> bool {
        if is_shard_name(name) {
            self.set_archive(name, None);
        }
        self.shard(name).remove(name).is_some()
    }

    fn archives(&self) -> MutexGuard<'_, HashMap<Box<str>, Members>> {
        self.archives.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records (or, with `None`, forgets) the member list of shard `name`.
    pub(crate) fn set_archive(&self, name: &str, members: Option<Members>) {
        let mut a = self.archives();
        match members {
            Some(m) => {
                a.insert(name.into(), m);
            }
            None => {
                a.remove(name);
            }
        }
    }

    /// The member list of `name` when it is a shard.
    pub(crate) fn archive(&self, name: &str) -> Option<Members> {
        if !is_shard_name(name) {
            return None;
        }
        self.archives().get(name).cloned()
    }

    /// Removes every key starting with `prefix`; returns how many.
    pub(crate) fn remove_prefix(&self, prefix: &str) -> usize {
        self.archives().retain(|k, _| !k.starts_with(prefix));
        let mut n = 0;
        for shard in self.shards.iter() {
            let mut s = Self::lock(shard);
            let before = s.len();
            s.retain(|k, _| !k.starts_with(prefix));
            n += before - s.len();
        }
        n
    }

    /// Calls `f(key, size)` for every key starting with `prefix` (in no particular order).
    pub(crate) fn scan(&self, prefix: &str, f: impl FnMut(&str, u64)) {
        self.scan_where(prefix, false, f);
    }

    /// [`Store::scan`], only the objects present in the cluster when `cached_only`.
    pub(crate) fn scan_where(&self, prefix: &str, cached_only: bool, mut f: impl FnMut(&str, u64)) {
        for shard in self.shards.iter() {
            for (k, m) in Self::lock(shard).iter() {
                if k.starts_with(prefix) && (m.cached || !cached_only) {
                    f(k, m.size);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| Self::lock(s).len()).sum()
    }
}

/// One [`Store`] per bucket provider: `ais://b/x` and `s3://b/x` are different objects under
/// the same key `b/x` (the key also names the object's content).
pub(crate) struct Stores([Store; PROVIDERS]);

impl Stores {
    pub(crate) fn new() -> Self {
        Self(std::array::from_fn(|_| Store::new()))
    }

    /// The store of `p`'s buckets.
    pub(crate) fn of(&self, p: Provider) -> &Store {
        &self.0[p.index()]
    }

    /// Objects of every provider.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(Store::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_overwrite_remove() {
        let s = Store::new();
        assert!(!s.put("b/x", 10));
        assert!(s.put("b/x", 20));
        assert_eq!(s.get("b/x"), Some(20));
        assert_eq!(s.get("b/y"), None);
        for i in 0..1000 {
            s.put(&format!("b/{i}"), i);
        }
        assert_eq!(s.len(), 1001);
        assert!(s.remove("b/x"));
        assert!(!s.remove("b/x"));
        assert_eq!(s.len(), 1000);
        let mut seen = 0;
        s.scan("b/99", |_, _| seen += 1);
        assert_eq!(seen, 11); // b/99 and b/990..=b/999
        s.put("c/1", 1);
        assert_eq!(s.remove_prefix("b/"), 1000);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn presence_in_the_cluster_is_set_by_put_and_changed_by_set_cached() {
        let s = Store::new();
        s.put("b/x", 1);
        s.put("b/y", 2);
        assert!(s.meta("b/x").unwrap().cached);
        assert!(s.set_cached("b/x", false) && !s.set_cached("b/none", false));
        assert!(!s.meta("b/x").unwrap().cached);
        let mut seen = Vec::new();
        s.scan_where("b/", true, |k, _| seen.push(k.to_string()));
        assert_eq!(seen, ["b/y"]);
        let mut all = 0;
        s.scan("b/", |_, _| all += 1);
        assert_eq!(all, 2);
        s.put("b/x", 3);
        assert!(
            s.meta("b/x").unwrap().cached,
            "a PUT through the cluster caches it"
        );
    }

    #[test]
    fn checksum_cache_follows_the_size() {
        let s = Store::new();
        let d = |b: u8| Digest::new(&[b; 8]);
        s.put("b/x", 10);
        s.set_checksum("b/x", 10, d(7));
        assert_eq!(s.meta("b/x").unwrap().checksum, Some(d(7)));
        s.set_checksum("b/x", 11, d(8)); // stale size: ignored
        assert_eq!(s.meta("b/x").unwrap().checksum, Some(d(7)));
        s.put("b/x", 11);
        assert_eq!(s.meta("b/x").unwrap().checksum, None);
        s.set_checksum("b/missing", 1, d(1));
        assert_eq!(s.meta("b/missing"), None);
    }

    #[test]
    fn providers_keep_apart_objects_of_the_same_key() {
        let s = Stores::new();
        s.of(Provider::Ais).put("b/x", 1);
        s.of(Provider::Aws).put("b/x", 2);
        assert_eq!(s.of(Provider::Ais).get("b/x"), Some(1));
        assert_eq!(s.of(Provider::Aws).get("b/x"), Some(2));
        assert_eq!(s.of(Provider::Gcp).get("b/x"), None);
        assert_eq!(s.len(), 2);
    }
}
