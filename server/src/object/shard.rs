//! Shard answers on the built-in AIS target: a shard PUT's capture and parse (413 above the
//! cap), a whole-shard GET (its TAR rebuilt from the member list) and a one-file GET
//! (`?archpath=`), each taking a range. Kept apart from plain object answers; the shard
//! format itself (member lists, the TAR, where a file's content starts) is `ais::arch`'s.

use super::super::ais::arch;
use super::super::counters::MlKind;
use super::super::node::Node;
use super::super::pattern::PATTERN_LEN;
use super::super::request::{self, Extra, RangeSpec, Status};
use super::super::respond::Reply;
use super::super::route::ObjOp;
use super::super::ServeProtocol;
use super::{not_found, Body, End, Obj};

/// A shard PUT's member list (`Ok(None)`: the body is not a TAR of generated files, so the
/// object is a plain one); `None` once it was refused (413: above the cap).
pub(super) fn shard_put(
    r: &mut Reply<'_>,
    key: &str,
    received: u64,
    body: Option<&[u8]>,
) -> Option<Option<arch::Members>> {
    let Some(body) = body.filter(|b| b.len() as u64 == received) else {
        r.error(
            ServeProtocol::Ais,
            Status::PayloadTooLarge,
            "",
            format_args!(
                "shard {key} of {received} bytes is above this target's cap of {} bytes for \
                 shards (it parses them in memory): write smaller shards (--arch-num-files, \
                 --arch-maxsize)",
                arch::SHARD_MAX_BYTES
            ),
        );
        return None;
    };
    Some(arch::parse(key, body).ok().map(Into::into))
}

/// 404 for an `archpath` that names no file of the object.
pub(super) fn archpath_not_found(r: &mut Reply<'_>, node: &Node, o: &Obj<'_>, why: &str) {
    if o.store.meta(o.key).is_none() {
        return not_found(r, node, o);
    }
    r.ctr.not_found();
    r.error(
        ServeProtocol::Ais,
        Status::NotFound,
        "",
        format_args!("file not found in archive \"{}\" ({why})", o.key),
    );
}

/// A GET or HEAD of shard `o`: the whole TAR (built from its member list into the answer),
/// or with `archpath` one file's content, streamed like an object's. Either takes a range.
pub(super) fn shard_get(
    r: &mut Reply<'_>,
    node: &Node,
    op: ObjOp,
    o: &Obj<'_>,
    members: &[arch::Member],
    range: Option<RangeSpec>,
) -> Option<Body> {
    let ranges = Extra {
        accept_ranges: true,
        ..Extra::default()
    };
    let (start, size) = match o.archpath {
        Some(raw) => {
            let path = request::decode_query_value(raw).unwrap_or_default();
            let Some(m) = arch::find(members, path.as_bytes()) else {
                archpath_not_found(r, node, o, "no such file");
                return None;
            };
            if op == ObjOp::Get {
                r.ctr.ml(MlKind::ArchpathGet, 1);
            }
            (Some(arch::member_start(o.key, path.as_bytes())), m.size)
        }
        None => (None, 0),
    };
    if start.is_none() {
        // The whole shard: its TAR, built into the scratch buffer (bounded by the PUT cap).
        r.scratch.clear();
        arch::write_tar(o.key, members, r.scratch);
    }
    let size = start.map_or(r.scratch.len() as u64, |_| size);
    let (first, len) = super::open_range(r, range, size, ranges)?;
    r.out.extend_from_slice(b"Ais-Checksum-Type: none\r\n");
    r.end();
    if op != ObjOp::Get || len == 0 {
        return None;
    }
    match start {
        Some(s) => Some(Body {
            pos: ((s + first) % PATTERN_LEN as u64) as usize,
            len,
            end: End::Complete,
        }),
        None => {
            r.out
                .extend_from_slice(&r.scratch[first as usize..(first + len) as usize]);
            None
        }
    }
}
