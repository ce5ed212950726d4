//! Shards (`--arch-*`): PUTs of TAR objects whose files are generated from their names, and
//! GETs of one file inside a shard by `archpath`.
//!
//! A shard PUT takes the namer's name, with `.tar` added when it has no extension (as
//! aisloader names shards), and holds [`ArchConfig::files`] files named as aisloader's readers
//! name them: `obj-%06d.txt`, joined under `--arch-prefix` with a `/` (Go's `path.Join`). Each
//! file's size is drawn in `[--arch-minsize, --arch-maxsize]` from the run's seed, the shard's
//! name and the file's index, so a run repeats; its content is that of the name `B/S/F` (the
//! shard's content name, `/`, the file's name), which the built-in target serves for the file.
//! The body is the TAR of the files (`ringload_core::tar` headers, content, zero padding, the
//! end), sent in segments from the connection's `body_buf` ([`ShardLayout`]); it is counted as
//! a `put` of the TAR's length. The PUT carries no AIS checksum: the checksum would have to be
//! hashed over the whole TAR per PUT.
//!
//! A mixed run reads back what it wrote: a shard's counter is kept in the worker's own-PUT list
//! tagged with [`SHARD_TAG`], and [`write_own_put`] (used by every GET that draws from that
//! list) rebuilds its name with the archive extension the PUT added.
//!
//! An archpath GET (a listed name `<shard>\0<file>`, see `names::split_arch`) is issued by
//! `next.rs` with [`Worker::archpath_query`]'s query and verified against the file's content.

use std::sync::atomic::Ordering;

use super::body::ShardLayout;
use super::{Step, Worker};
use crate::naming::{self, Namer};
use crate::workload::ml::ArchConfig;
use ringload_core::content::PATTERN_LEN;
use ringload_core::rng::{hash2, FastRng};
use ringload_net::http::{percent_encode, Keep};

/// Salt of a shard's file sizes ("ARCH").
const ARCH_SALT: u64 = 0x4152_4348;

/// Tag bit on a counter in the worker's own-PUT list: that PUT was a shard, whose name has
/// the archive extension added.
pub(super) const SHARD_TAG: u64 = 1 << 63;

/// Writes into `out` the name of an object drawn at random from `own` (the counters of the
/// PUTs this worker made; not empty), with `ext` added as the shard PUT added it when the
/// counter carries [`SHARD_TAG`].
pub(super) fn write_own_put(
    own: &[u64],
    rng: &mut FastRng,
    namer: &Namer,
    ext: &str,
    out: &mut Vec<u8>,
) {
    let cnt = own[rng.below(own.len() as u64) as usize];
    namer.write_name(cnt & !SHARD_TAG, out);
    if cnt & SHARD_TAG != 0 {
        naming::add_arch_ext(out, ext);
    }
}

/// Where the content of file `file` inside the shard whose content name is `shard` starts in
/// the pattern: that of the name `shard/file`, hashed without building it.
pub fn file_start(shard: &[u8], file: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    h.update(shard);
    h.update(b"/");
    h.update(file);
    h.digest() % PATTERN_LEN as u64
}

/// Writes the name of file `i` of a shard into `out` (cleared): `obj-%06d.txt`, under
/// `prefix` joined with a `/`.
pub fn file_name(prefix: &str, i: u32, out: &mut Vec<u8>) {
    use std::io::Write;
    out.clear();
    let p = prefix.trim_start_matches('/').trim_end_matches('/');
    if !p.is_empty() {
        out.extend_from_slice(p.as_bytes());
        out.push(b'/');
    }
    let _ = write!(out, "obj-{i:06}.txt");
}

/// The size of file `i` of the shard with content name `shard`: uniform in
/// `[minsize, maxsize]`, from the run's `seed`, the name and `i`.
pub fn file_size(a: &ArchConfig, seed: u64, shard: &[u8], i: u32) -> u64 {
    if a.maxsize <= a.minsize {
        return a.minsize;
    }
    let h = hash2(
        hash2(seed ^ ARCH_SALT, xxhash_rust::xxh64::xxh64(shard, 0)),
        i as u64,
    );
    match (a.maxsize - a.minsize).checked_add(1) {
        Some(span) => a.minsize + h % span,
        None => h,
    }
}

impl Worker {
    /// Starts a shard PUT on connection `i` (its name is in `self.name`); `size` is the size
    /// the namer drew, which a shard replaces with its TAR's length.
    pub(super) fn start_shard_put(&mut self, i: usize, size: u64) -> Step {
        let sh = &*self.shared;
        let (a, seed) = (&sh.workload.ml.arch, sh.workload.seed);
        naming::add_arch_ext(&mut self.name, &a.format);
        self.ident.clear();
        self.ident.extend_from_slice(&sh.object_prefix);
        self.ident.extend_from_slice(&self.name);
        let c = &mut self.conns[i];
        c.put_cnt |= SHARD_TAG;
        let n = a.files();
        let mut layout = ShardLayout::begin(&mut c.body_buf, n as usize);
        for f in 0..n {
            file_name(&a.prefix, f, &mut self.arch);
            let size = file_size(a, seed, &self.ident, f);
            let start = file_start(&self.ident, &self.arch);
            layout.add(&mut c.body_buf, &self.arch, size, start);
        }
        let (body, len) = layout.finish(&mut c.body_buf);
        let w = &sh.workload;
        if w.totalputsize > 0 {
            // The namer's size was added to the run's total; the shard's own replaces it.
            sh.put_bytes
                .fetch_add(len.saturating_sub(size), Ordering::Relaxed);
        }
        self.issue_with(i, true, len, Some(body))
    }

    /// Writes the query of a GET of file `file` inside a shard into `self.arch`.
    pub(super) fn archpath_query(arch: &mut Vec<u8>, file: &[u8]) {
        arch.clear();
        arch.extend_from_slice(b"archpath=");
        percent_encode(file, Keep::Unreserved, arch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_aisloader_under_the_prefix() {
        let mut out = Vec::new();
        for (prefix, i, want) in [
            ("", 0, "obj-000000.txt"),
            ("trunk-", 12, "trunk-/obj-000012.txt"),
            ("/a/b/", 3, "a/b/obj-000003.txt"),
        ] {
            file_name(prefix, i, &mut out);
            assert_eq!(out, want.as_bytes());
        }
    }

    #[test]
    fn file_sizes_are_in_range_and_repeat() {
        let a = ArchConfig {
            minsize: 100,
            maxsize: 103,
            ..ArchConfig::default()
        };
        let mut seen = [0; 4];
        for i in 0..400 {
            let s = file_size(&a, 7, b"b/s.tar", i);
            assert_eq!(s, file_size(&a, 7, b"b/s.tar", i));
            seen[(s - 100) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
        let fixed = ArchConfig::default();
        assert_eq!(file_size(&fixed, 7, b"b/s.tar", 3), 1024);
    }

    #[test]
    fn a_file_starts_where_its_joined_name_does() {
        let joined = ringload_core::content::object_start(b"b/s.tar/obj-000001.txt");
        assert_eq!(file_start(b"b/s.tar", b"obj-000001.txt"), joined);
    }
}
