//! The built-in target's object metadata: name -> size, shared by all cores.
//!
//! Owns: which objects exist and how large they are. Bytes are never stored (they are derived
//! from the name, see `pattern`). Why sharded: every core PUTs and GETs concurrently; 64 locks
//! chosen by the name's hash keep contention negligible without a lock-free map.
//!
//! Invariants: a shard lock is held only for one map operation (no I/O, no allocation except
//! the key of a new object); a poisoned lock is recovered, never propagated as a panic.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Number of independently locked shards (power of two; well above any core count we pin).
const SHARDS: usize = 64;

/// xxh64 seed for shard choice ("SHARD"); differs from the content seed (0) so the shard and
/// the pattern start of a name are unrelated.
const SHARD_SEED: u64 = 0x0053_4841_5244;

/// One shard: object name -> size in bytes.
type Shard = Mutex<HashMap<Box<str>, u64>>;

/// Sharded name -> size map.
pub(crate) struct Store {
    shards: Box<[Shard]>,
}

impl Store {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, name: &str) -> MutexGuard<'_, HashMap<Box<str>, u64>> {
        let h = xxhash_rust::xxh64::xxh64(name.as_bytes(), SHARD_SEED);
        let idx = (h as usize) & (SHARDS - 1);
        self.shards[idx]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `name` with `size`; returns true if it already existed (overwrite).
    pub(crate) fn put(&self, name: &str, size: u64) -> bool {
        let mut shard = self.shard(name);
        if let Some(existing) = shard.get_mut(name) {
            *existing = size;
            return true;
        }
        shard.insert(name.into(), size);
        false
    }

    pub(crate) fn get(&self, name: &str) -> Option<u64> {
        self.shard(name).get(name).copied()
    }

    /// Removes `name`; returns true if it existed.
    pub(crate) fn remove(&self, name: &str) -> bool {
        self.shard(name).remove(name).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
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
    }
}
