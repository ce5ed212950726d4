//! Buckets and paged object listings, cluster-wide.
//!
//! Owns: [`Buckets`] (the buckets of each provider every listener of one `serve` shares, with
//! the properties set on each) and [`list_page`] (one page of a bucket's objects in name
//! order, merged over target stores; [`list_page_with`] with a [`Filter`]: only the objects
//! present in the cluster, how directories show, and archive-aware listing of shards'
//! files).
//!
//! Why: AIS and S3 both list in pages keyed by "the last name returned"; doing that once here
//! keeps the protocol modules about wire formats only.
//!
//! Invariants: a page holds the `limit` smallest names above the continuation token; the token
//! of the next page is the last name of this one, and only a truncated page has one. Memory per
//! page is bounded by `limit + 1` names, whatever the bucket's size. A name ending in `/` is a
//! directory: a stored zero-size marker (as S3 keeps them) or, with [`Dirs::Virtual`], a
//! prefix of stored names.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::provider::{Provider, PROVIDERS};
use super::store::Store;

/// The properties set on one bucket (the merged `set-bprops` patches; JSON object).
pub(crate) type Props = serde_json::Map<String, serde_json::Value>;

type Table = [BTreeMap<Box<str>, Props>; PROVIDERS];

/// The buckets of each provider (shared by every listener of one `serve`), each with the
/// properties set on it. An `ais` bucket exists once created; a remote one (`s3://`, ...)
/// always exists in the emulated cloud backend, and is recorded here once used so that bucket
/// listings show it.
pub(crate) struct Buckets(RwLock<Table>);

impl Buckets {
    pub(crate) fn new() -> Self {
        Self(RwLock::new(Default::default()))
    }

    fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether bucket `p://name` exists: created (`ais`), or remote.
    pub(crate) fn contains(&self, p: Provider, name: &str) -> bool {
        p.is_remote() || self.known(p, name)
    }

    /// Whether `p://name` is recorded (created, or a remote bucket already used).
    pub(crate) fn known(&self, p: Provider, name: &str) -> bool {
        self.read()[p.index()].contains_key(name)
    }

    /// Adds `p://name`; false if it already existed.
    pub(crate) fn create(&self, p: Provider, name: &str) -> bool {
        if self.known(p, name) {
            return false;
        }
        let mut t = self.write();
        let set = &mut t[p.index()];
        if set.contains_key(name) {
            return false;
        }
        set.insert(name.into(), Props::new());
        true
    }

    /// The properties set on `p://name` (empty when none were); `None` when it is not
    /// recorded.
    pub(crate) fn props(&self, p: Provider, name: &str) -> Option<Props> {
        self.read()[p.index()].get(name).cloned()
    }

    /// Merges `patch` (a JSON object) into the properties of `p://name`, recording a remote
    /// bucket first; objects merge key by key, other values replace. False when the bucket does
    /// not exist.
    pub(crate) fn set_props(&self, p: Provider, name: &str, patch: &Props) -> bool {
        if !self.contains(p, name) {
            return false;
        }
        let mut t = self.write();
        let props = t[p.index()].entry(name.into()).or_default();
        merge(props, patch);
        true
    }

    /// Records a remote bucket on use (one read lock once it is known).
    pub(crate) fn touch(&self, p: Provider, name: &str) {
        if p.is_remote() {
            self.create(p, name);
        }
    }

    /// Removes `p://name`; false if it was not recorded.
    pub(crate) fn remove(&self, p: Provider, name: &str) -> bool {
        self.write()[p.index()].remove(name).is_some()
    }

    /// All recorded buckets of `only` (every provider when `None`), by provider then name.
    pub(crate) fn names(&self, only: Option<Provider>) -> Vec<(Provider, String)> {
        let sets = self.read();
        Provider::ALL
            .iter()
            .filter(|p| only.is_none_or(|o| o == **p))
            .flat_map(|&p| sets[p.index()].keys().map(move |b| (p, b.to_string())))
            .collect()
    }
}

/// Deep-merges `patch` into `into`: objects key by key, anything else replaced.
pub(crate) fn merge(into: &mut Props, patch: &Props) {
    for (k, v) in patch {
        match (into.get_mut(k), v) {
            (Some(serde_json::Value::Object(a)), serde_json::Value::Object(b)) => merge(a, b),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// How directories show in a listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Dirs {
    /// Names as stored (S3's ListObjectsV2).
    #[default]
    AsStored,
    /// No directories: stored names ending in `/` are left out (AIS's `LsNoDirs`).
    Without,
    /// Every virtual directory too: each prefix ending in `/` of a listed name, below the
    /// listing's prefix, once (AIS without `LsNoDirs`).
    Virtual,
}

/// Which entries a listing returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Only the objects present in the cluster (AIS's `LsCached`).
    pub(crate) cached_only: bool,
    pub(crate) dirs: Dirs,
    /// Archive-aware (AIS's `LsArchDir`): each file of a shard is an entry `<shard>/<file>`
    /// after its shard's own.
    pub(crate) arch: bool,
}

/// What a listed entry is (archive-aware listings tell shards and their files apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum EntryKind {
    #[default]
    Plain,
    /// A shard (AIS's `EntryIsArchive`).
    Archive,
    /// A file inside a shard (AIS's `EntryInArch`).
    InArchive,
}

/// One page of a listing: names relative to the bucket, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) entries: Vec<(String, u64)>,
    /// The kind of each entry (parallel to `entries`).
    pub(crate) kinds: Vec<EntryKind>,
    /// More names follow; the next page starts after the last entry.
    pub(crate) truncated: bool,
}

impl Page {
    /// The continuation token for the next page (empty when this is the last one).
    pub(crate) fn next_token(&self) -> &str {
        match (self.truncated, self.entries.last()) {
            (true, Some((name, _))) => name,
            _ => "",
        }
    }
}

/// The first `limit` objects of `bucket` whose names start with `prefix` and sort after
/// `after` (exclusive; empty = from the start), over all `stores`.
pub(crate) fn list_page<'s>(
    stores: impl Iterator<Item = &'s Store>,
    bucket: &str,
    prefix: &str,
    after: &str,
    limit: usize,
) -> Page {
    list_page_with(stores, bucket, prefix, after, limit, Filter::default())
}

/// [`list_page`] with a [`Filter`]; a directory entry has size 0.
pub(crate) fn list_page_with<'s>(
    stores: impl Iterator<Item = &'s Store>,
    bucket: &str,
    prefix: &str,
    after: &str,
    limit: usize,
    filter: Filter,
) -> Page {
    if limit == 0 {
        return Page::default();
    }
    let full_prefix = format!("{bucket}/{prefix}");
    let skip = bucket.len() + 1;
    // The `limit + 1` smallest names seen so far; the extra one tells "truncated".
    let mut best: BTreeMap<Box<str>, (u64, EntryKind)> = BTreeMap::new();
    let mut offer = |name: &str, size: u64, kind: EntryKind| {
        if name <= after {
            return;
        }
        if best.len() <= limit {
            best.insert(name.into(), (size, kind));
        } else if best.last_key_value().is_some_and(|(max, _)| name < &**max) {
            best.insert(name.into(), (size, kind));
            if best.len() > limit + 1 {
                best.pop_last();
            }
        }
    };
    for store in stores {
        store.scan_where(&full_prefix, filter.cached_only, |key, size| {
            let name = &key[skip..];
            match filter.dirs {
                Dirs::Without if name.ends_with('/') => return,
                Dirs::Virtual => {
                    for (i, _) in name.match_indices('/').filter(|(i, _)| *i >= prefix.len()) {
                        offer(&name[..=i], 0, EntryKind::Plain);
                    }
                }
                _ => {}
            }
            match filter.arch.then(|| store.archive(key)).flatten() {
                Some(members) => {
                    offer(name, size, EntryKind::Archive);
                    for m in members.iter() {
                        offer(&format!("{name}/{}", m.name), m.size, EntryKind::InArchive);
                    }
                }
                None => offer(name, size, EntryKind::Plain),
            }
        });
    }
    let (mut entries, mut kinds): (Vec<(String, u64)>, Vec<EntryKind>) = best
        .into_iter()
        .map(|(n, (s, k))| ((n.into_string(), s), k))
        .unzip();
    let truncated = entries.len() > limit;
    entries.truncate(limit);
    kinds.truncate(limit);
    Page {
        entries,
        kinds,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_create_once_and_remove() {
        let b = Buckets::new();
        let ais = Provider::Ais;
        assert!(b.create(ais, "x") && !b.create(ais, "x") && b.create(ais, "a"));
        let names: Vec<String> = b.names(None).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["a", "x"]);
        assert!(b.remove(ais, "x") && !b.remove(ais, "x") && !b.contains(ais, "x"));
    }

    #[test]
    fn remote_buckets_exist_and_are_recorded_on_use_per_provider() {
        let b = Buckets::new();
        assert!(b.contains(Provider::Aws, "x") && !b.known(Provider::Aws, "x"));
        assert!(!b.contains(Provider::Ais, "x"));
        b.touch(Provider::Aws, "x");
        b.touch(Provider::Aws, "x");
        b.touch(Provider::Ais, "y"); // an ais bucket is never created by use
        assert!(b.known(Provider::Aws, "x") && !b.known(Provider::Gcp, "x"));
        assert!(!b.contains(Provider::Ais, "x") && !b.contains(Provider::Ais, "y"));
        b.create(Provider::Ais, "x");
        assert_eq!(
            b.names(None),
            [
                (Provider::Ais, "x".to_string()),
                (Provider::Aws, "x".to_string())
            ]
        );
        assert_eq!(b.names(Some(Provider::Aws)).len(), 1);
        assert!(b.remove(Provider::Aws, "x") && b.known(Provider::Ais, "x"));
    }

    #[test]
    fn pages_merge_stores_in_name_order() {
        let (s1, s2) = (Store::new(), Store::new());
        for i in 0..25u64 {
            let s = if i % 2 == 0 { &s1 } else { &s2 };
            s.put(&format!("b/o{i:02}"), i);
        }
        s1.put("c/o00", 1);
        s2.put("b/p", 1);
        let mut token = String::new();
        let mut all = Vec::new();
        let mut pages = 0;
        loop {
            let p = list_page([&s1, &s2].into_iter(), "b", "o", &token, 7);
            pages += 1;
            all.extend(p.entries.iter().map(|(n, _)| n.clone()));
            token = p.next_token().to_string();
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(pages, 4);
        let want: Vec<String> = (0..25).map(|i| format!("o{i:02}")).collect();
        assert_eq!(all, want);
        let p = list_page([&s1, &s2].into_iter(), "b", "", "o23", 10);
        assert_eq!(p.entries, [("o24".to_string(), 24), ("p".to_string(), 1)]);
        assert!(!p.truncated && p.next_token().is_empty());
        assert_eq!(
            list_page([&s1].into_iter(), "b", "", "", 0),
            Page::default()
        );
    }

    fn names(p: &Page) -> Vec<&str> {
        p.entries.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn filters_cached_objects_and_shows_directories_as_asked() {
        let (s1, s2) = (Store::new(), Store::new());
        s1.put("b/d/x", 1);
        s2.put("b/d/e/y", 2);
        s1.put("b/top", 3);
        s2.put("b/marker/", 0);
        s2.set_cached("b/d/x", false);
        s1.set_cached("b/d/x", false);
        let page = |filter, prefix: &str, after: &str, limit| {
            list_page_with([&s1, &s2].into_iter(), "b", prefix, after, limit, filter)
        };
        let all = Filter::default();
        assert_eq!(
            names(&page(all, "", "", 10)),
            ["d/e/y", "d/x", "marker/", "top"]
        );
        let cached = Filter {
            cached_only: true,
            dirs: Dirs::Without,
            ..Filter::default()
        };
        assert_eq!(names(&page(cached, "", "", 10)), ["d/e/y", "top"]);
        let dirs = Filter {
            cached_only: false,
            dirs: Dirs::Virtual,
            ..Filter::default()
        };
        assert_eq!(
            names(&page(dirs, "", "", 10)),
            ["d/", "d/e/", "d/e/y", "d/x", "marker/", "top"]
        );
        // Below the prefix only, and paged like names.
        assert_eq!(names(&page(dirs, "d/", "", 10)), ["d/e/", "d/e/y", "d/x"]);
        let first = page(dirs, "", "", 2);
        assert_eq!(
            (names(&first), first.next_token()),
            (vec!["d/", "d/e/"], "d/e/")
        );
        assert_eq!(names(&page(dirs, "", "d/e/", 2)), ["d/e/y", "d/x"]);
    }
}
