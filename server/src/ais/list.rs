//! AIS object listing (the list action on a bucket): the list message and its flags
//! (`LsCached`, `LsNoDirs`, `LsNBI`, `LsArchDir`), one page merged from every target's store in
//! name order, and the JSON page AIS returns (entries, continuation token, directory entries
//! flagged `EntryIsDir`; with `LsArchDir` shards flagged `EntryIsArchive`, each followed by its
//! files `<shard>/<file>` flagged `EntryInArch`).

use serde::{Deserialize, Serialize};

use super::{bad, json_out, Bck};
use crate::listing::{list_page_with, Dirs, EntryKind, Filter};
use crate::node::Node;
use crate::respond::Reply;

/// List flags (AIS's `apc.Ls*`).
const LS_CACHED: u64 = 1;
const LS_ARCH_DIR: u64 = 1 << 3;
const LS_NO_DIRS: u64 = 1 << 13;
const LS_NBI: u64 = 1 << 15;
/// Entry flag of a directory (AIS's `apc.EntryIsDir`).
const ENTRY_IS_DIR: u32 = 1 << 8;
/// Entry flags of a file inside a shard and of a shard (AIS's `apc.EntryInArch`,
/// `apc.EntryIsArchive`), with `LsArchDir`.
const ENTRY_IN_ARCH: u32 = 1 << 7;
const ENTRY_IS_ARCHIVE: u32 = 1 << 9;

/// The `value` of a list action (the fields the target honours; others are ignored).
#[derive(Deserialize, Default)]
pub(super) struct ListMsg {
    #[serde(default)]
    uuid: String,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    continuation_token: String,
    #[serde(default)]
    pagesize: u64,
    /// AIS sends it as a decimal string; a number is accepted too.
    #[serde(default)]
    flags: Option<serde_json::Value>,
}

impl ListMsg {
    /// The list flags, or `Err` naming the bad value.
    fn flags(&self) -> Result<u64, String> {
        match &self.flags {
            None | Some(serde_json::Value::Null) => Ok(0),
            Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| n.to_string()),
            Some(serde_json::Value::String(s)) if s.is_empty() => Ok(0),
            Some(serde_json::Value::String(s)) => s.parse().map_err(|_| s.clone()),
            Some(other) => Err(other.to_string()),
        }
    }
}

#[derive(Serialize)]
struct Entry {
    name: String,
    size: String,
    flags: u32,
}

#[derive(Serialize)]
struct ListJson<'a> {
    uuid: &'a str,
    continuation_token: &'a str,
    entries: Vec<Entry>,
    flags: u32,
}

pub(super) fn list(r: &mut Reply<'_>, node: &Node, b: Bck<'_>, lm: &ListMsg) {
    let bucket = b.name;
    let flags = match lm.flags() {
        Ok(f) => f,
        Err(v) => {
            return bad(
                r,
                format_args!("bad list flags {v}: send a decimal number as a string"),
            )
        }
    };
    if flags & LS_NBI != 0 {
        return bad(r, format_args!("bucket \"{b}\" has no inventories"));
    }
    let filter = Filter {
        cached_only: flags & LS_CACHED != 0,
        dirs: if flags & LS_NO_DIRS != 0 {
            Dirs::Without
        } else {
            Dirs::Virtual
        },
        arch: flags & LS_ARCH_DIR != 0,
    };
    let limit = match usize::try_from(lm.pagesize) {
        Ok(n) if n > 0 => n.min(node.page_size),
        _ => node.page_size,
    };
    let page = list_page_with(
        node.cluster.stores(b.provider),
        bucket,
        &lm.prefix,
        &lm.continuation_token,
        limit,
        filter,
    );
    let uuid = if lm.uuid.is_empty() {
        let id = xxhash_rust::xxh64::xxh64(format!("{b}/{}", lm.prefix).as_bytes(), 0);
        format!("{id:016x}")
    } else {
        lm.uuid.clone()
    };
    let token = page.next_token().to_string();
    let doc = ListJson {
        uuid: &uuid,
        continuation_token: &token,
        entries: page
            .entries
            .into_iter()
            .zip(page.kinds)
            .map(|((name, size), kind)| Entry {
                flags: match kind {
                    EntryKind::Archive => ENTRY_IS_ARCHIVE,
                    EntryKind::InArchive => ENTRY_IN_ARCH,
                    EntryKind::Plain if name.ends_with('/') => ENTRY_IS_DIR,
                    EntryKind::Plain => 0,
                },
                name,
                size: size.to_string(),
            })
            .collect(),
        flags: 0,
    };
    json_out(r, &doc);
}
