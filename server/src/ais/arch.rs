//! Shards on the built-in AIS target: TAR objects whose member list is kept as metadata, read
//! whole (the TAR rebuilt from the list) or one file at a time (`?archpath=`), and listed
//! file by file with AIS's archive-aware list flag.
//!
//! Owns: [`Member`] (one file of a shard: its name and size), [`parse`] (a shard PUT's body
//! into its member list, every member's bytes checked against the content the target will
//! serve for it), [`write_tar`] (a shard's bytes for a whole GET), [`member_start`] (where a
//! file's content starts in the pattern) and [`member`] (a file's size, for GetBatch).
//!
//! Why: the target keeps no bytes. A file inside shard `S` of bucket `B` has the content of
//! the name `B/S/F` (its shard's key, `/`, its archpath), exactly as the engine writes it, so
//! its bytes are derived from its name like any object's; the shard itself is the TAR of its
//! files in order (ustar headers from `ringload_core::tar`, the content, zero padding, the
//! end), byte for byte what the engine sent.
//!
//! Invariants: a shard is an AIS object whose name ends in [`ARCH_EXT`] and whose PUT body
//! parsed as a TAR of generated files; any other body under such a name is a plain object
//! (AIS accepts any bytes). Shard bodies are captured in memory up to [`SHARD_MAX_BYTES`]
//! (a larger one is refused with 413 naming the cap) and dropped after parsing. Parsing never
//! panics on hostile bytes: a bad header, a size past the body or a truncated archive is an
//! error.

use std::sync::Arc;

use crate::node::Node;
use crate::provider::Provider;
use ringload_core::content::{self, PATTERN_LEN};
use ringload_core::tar::{self, Kind, BLOCK};

/// The archive extension a shard's name ends with (only TAR is built).
pub(crate) const ARCH_EXT: &str = ".tar";
/// Largest shard PUT body the target reads (it parses the TAR in memory, then drops it).
pub(crate) const SHARD_MAX_BYTES: u64 = 16 << 20;

/// One file inside a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) name: Box<str>,
    pub(crate) size: u64,
}

/// A shard's files, in archive order (shared by its GETs and listings).
pub(crate) type Members = Arc<[Member]>;

/// Whether an AIS object named `key` (`bucket/name`) is read as a shard when PUT.
pub(crate) fn is_shard_name(key: &str) -> bool {
    key.ends_with(ARCH_EXT)
}

/// Where the content of file `file` inside shard `key` (`bucket/shard`) starts in the
/// pattern: that of the name `key/file`, hashed without building it.
pub(crate) fn member_start(key: &str, file: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    h.update(key.as_bytes());
    h.update(b"/");
    h.update(file);
    h.digest() % PATTERN_LEN as u64
}

/// The members of the TAR `body` PUT as shard `key`, each file's bytes checked against its
/// generated content; `Err` says why it is not a shard of generated files.
pub(crate) fn parse(key: &str, body: &[u8]) -> Result<Vec<Member>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut long_name: Option<Vec<u8>> = None;
    loop {
        let Some(block) = body.get(pos..pos + BLOCK) else {
            return Err(format!("the archive is truncated at byte {pos}"));
        };
        let block: &[u8; BLOCK] = block.try_into().map_err(|_| "short block".to_string())?;
        if tar::is_zero(block) {
            return Ok(out);
        }
        let h = tar::parse(block).map_err(|e| format!("{e} (at byte {pos})"))?;
        let start = pos + BLOCK;
        let data = usize::try_from(h.size)
            .ok()
            .and_then(|n| body.get(start..start.checked_add(n)?))
            .ok_or_else(|| format!("a member's size ({}) runs past the archive", h.size))?;
        match h.kind {
            Kind::File => {
                let name = long_name.take().unwrap_or_else(|| {
                    let mut v = Vec::new();
                    h.push_path(&mut v);
                    v
                });
                let name = String::from_utf8(name)
                    .map_err(|_| "a member's name is not UTF-8".to_string())?;
                if !content::pattern().verify(member_start(key, name.as_bytes()), 0, data) {
                    return Err(format!(
                        "the bytes of {name:?} are not its generated content"
                    ));
                }
                out.push(Member {
                    name: name.into(),
                    size: h.size,
                });
            }
            Kind::PaxNext => {
                if let Some(p) = tar::pax_path(data).map_err(|e| e.to_string())? {
                    long_name = Some(p.to_vec());
                }
            }
            Kind::GnuLongName => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                long_name = Some(data[..end].to_vec());
            }
            Kind::PaxGlobal | Kind::Other => {}
        }
        pos = start + tar::padded(h.size) as usize;
    }
}

/// Appends the bytes of shard `key` (its files' TAR, as the engine wrote it) to `out`.
pub(crate) fn write_tar(key: &str, members: &[Member], out: &mut Vec<u8>) {
    for m in members {
        tar::encode_file(m.name.as_bytes(), m.size, out);
        let start = member_start(key, m.name.as_bytes());
        let mut done = 0;
        while done < m.size {
            let max = (m.size - done).min(PATTERN_LEN as u64) as usize;
            let c = content::pattern().chunk(start, done, max);
            out.extend_from_slice(c);
            done += c.len() as u64;
        }
        out.resize(out.len() + (tar::padded(m.size) - m.size) as usize, 0);
    }
    tar::encode_end(out);
}

/// The file named `archpath` in `members`.
pub(crate) fn find<'a>(members: &'a [Member], archpath: &[u8]) -> Option<&'a Member> {
    members.iter().find(|m| m.name.as_bytes() == archpath)
}

/// The size of file `archpath` inside shard `obj` of bucket `bucket` (provider `p`), wherever in the
/// cluster the shard is stored; `None` when there is no such shard or file. (GetBatch's
/// entries with an `archpath` read their sizes here.)
pub(crate) fn member(
    node: &Node,
    p: Provider,
    bucket: &str,
    obj: &str,
    archpath: &str,
) -> Option<u64> {
    let key = format!("{bucket}/{obj}");
    node.cluster
        .stores(p)
        .find_map(|s| s.archive(&key))
        .and_then(|ms| find(&ms, archpath.as_bytes()).map(|m| m.size))
}
