//! AIS GetBatch on the built-in target (`GET /v1/ml/moss/<bucket>` with a JSON body): a proxy
//! redirects it to a designated target chosen at random; that target answers one TAR of the
//! requested objects (or files inside shards, by `archpath`), in request order, each member's
//! bytes generated from its content name.
//!
//! Owns: parsing the request (`in`, `coer`, `onob`), the member plan, and [`MossOut`], which
//! the connection asks for the archive's next piece (a header, then the member's body from
//! the pattern) once the previous one is sent, so nothing of a member is buffered.
//!
//! Members are named `<bucket>/<objname>[/<archpath>]` (`<objname>[/<archpath>]` with `onob`);
//! their content is the pattern at `object_start("<bucket>/<objname>[/<archpath>]")`. A
//! missing one is `__404__/<name>` with no body under `coer`; without it the whole request is
//! refused (404) before any byte of the archive. The answer's length is known before it is
//! sent (`Content-Length`), so the connection stays usable.
//!
//! Counted in `/v1/ringload/stats`: `ml.get_batch` per archive answered, `get_batch_members`
//! per member delivered, `get_batch_missing` per `__404__` member.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;

use crate::conn::Stream;
use crate::counters::{Kind, MlKind};
use crate::node::Node;
use crate::pattern::{object_start, PATTERN_LEN};
use crate::provider::Provider;
use crate::request::{Extra, Status};
use crate::respond::Reply;
use crate::ServeProtocol;
use ringload_core::tar;

/// AIS's content type of a GetBatch answer in TAR.
pub(crate) const CONTENT_TAR: &str = "application/x-tar";
/// The directory missing members are put under with `coer`.
const MISSING_DIR: &str = "__404__/";

#[derive(Deserialize)]
struct MossIn {
    objname: String,
    #[serde(default)]
    archpath: String,
    #[serde(default)]
    bucket: String,
}

#[derive(Deserialize)]
struct MossReq {
    #[serde(rename = "in")]
    entries: Vec<MossIn>,
    #[serde(default)]
    mime: String,
    #[serde(default)]
    coer: bool,
    #[serde(default)]
    onob: bool,
}

#[derive(Clone, Copy, Debug)]
struct Member {
    /// End of its name in `MossOut::names`.
    name_end: usize,
    size: u64,
    /// Its content's position in the pattern.
    pos: usize,
}

/// The archive a connection is sending; reused for every GetBatch on that connection.
#[derive(Debug, Default)]
pub(crate) struct MossOut {
    names: Vec<u8>,
    members: Vec<Member>,
    next: usize,
    /// Padding owed after the member just sent.
    pad: u64,
    active: bool,
}

impl MossOut {
    /// Whether the archive still has pieces to send.
    pub(crate) fn active(&self) -> bool {
        self.active
    }

    fn name(&self, i: usize) -> &[u8] {
        let from = if i == 0 {
            0
        } else {
            self.members[i - 1].name_end
        };
        &self.names[from..self.members[i].name_end]
    }

    /// Appends the archive's next piece to `out` (the previous member's padding and the next
    /// header, or the end blocks) and returns the member body to stream after it, if any.
    pub(crate) fn refill(&mut self, out: &mut Vec<u8>) -> Option<Stream> {
        out.resize(out.len() + std::mem::take(&mut self.pad) as usize, 0);
        let Some(&m) = self.members.get(self.next) else {
            tar::encode_end(out);
            self.active = false;
            return None;
        };
        tar::encode_file(self.name(self.next), m.size, out);
        self.next += 1;
        self.pad = tar::padded(m.size) - m.size;
        (m.size > 0).then_some(Stream {
            pos: m.pos,
            remaining: m.size,
        })
    }
}

/// A proxy's answer: a redirect to a designated target chosen at random.
pub(crate) fn designated(node: &Node) -> usize {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let k = DRAWS.fetch_add(1, Ordering::Relaxed);
    let n = node.cluster.targets.len().max(1) as u64;
    (ringload_core::rng::hash2(ns, k) % n) as usize
}

/// The designated target's answer: plans the archive into `moss` and queues its head.
pub(crate) fn answer(
    r: &mut Reply<'_>,
    node: &Node,
    p: Provider,
    bucket: &str,
    body: &[u8],
    moss: &mut MossOut,
) {
    r.ctr.request(Kind::Get);
    moss.names.clear();
    moss.members.clear();
    moss.next = 0;
    moss.pad = 0;
    moss.active = false;
    let req: MossReq = match serde_json::from_slice(body) {
        Ok(q) => q,
        Err(e) => {
            return r.error(
                ServeProtocol::Ais,
                Status::BadRequest,
                "",
                format_args!("GetBatch: bad request body: {e}"),
            )
        }
    };
    if !(req.mime.is_empty() || req.mime == ".tar") || req.entries.is_empty() {
        return r.error(
            ServeProtocol::Ais,
            Status::BadRequest,
            "",
            format_args!("GetBatch: only .tar output of at least one entry is supported"),
        );
    }
    let (mut total, mut missing) = (tar::END_LEN as u64, 0u64);
    let mut hdr = Vec::with_capacity(2 * tar::BLOCK);
    for e in &req.entries {
        let b = if e.bucket.is_empty() {
            bucket
        } else {
            &e.bucket
        };
        let start = moss.names.len();
        if !req.onob {
            moss.names.extend_from_slice(b.as_bytes());
            moss.names.push(b'/');
        }
        moss.names.extend_from_slice(e.objname.as_bytes());
        if !e.archpath.is_empty() {
            moss.names.push(b'/');
            moss.names.extend_from_slice(e.archpath.as_bytes());
        }
        let size = lookup(node, p, b, &e.objname, &e.archpath);
        // The content name is always `<bucket>/<objname>[/<archpath>]`.
        let mut content = Vec::with_capacity(b.len() + e.objname.len() + e.archpath.len() + 2);
        content.extend_from_slice(b.as_bytes());
        content.push(b'/');
        content.extend_from_slice(e.objname.as_bytes());
        if !e.archpath.is_empty() {
            content.push(b'/');
            content.extend_from_slice(e.archpath.as_bytes());
        }
        let size = match size {
            Some(s) => s,
            None if req.coer => {
                moss.names.splice(start..start, MISSING_DIR.bytes());
                missing += 1;
                0
            }
            None => {
                moss.names.clear();
                moss.members.clear();
                return r.error(
                    ServeProtocol::Ais,
                    Status::NotFound,
                    "",
                    format_args!(
                        "GetBatch: {}/{}{}{} does not exist",
                        b,
                        e.objname,
                        if e.archpath.is_empty() { "" } else { "/" },
                        e.archpath
                    ),
                );
            }
        };
        hdr.clear();
        tar::encode_file(&moss.names[start..], size, &mut hdr);
        total += hdr.len() as u64 + tar::padded(size);
        moss.members.push(Member {
            name_end: moss.names.len(),
            size,
            pos: object_start(&content) % PATTERN_LEN,
        });
    }
    let n = moss.members.len() as u64;
    r.ctr.ml(MlKind::GetBatch, 1);
    r.ctr.ml(MlKind::GetBatchMembers, n - missing);
    r.ctr.ml(MlKind::GetBatchMissing, missing);
    let extra = Extra {
        content_type: Some(CONTENT_TAR),
        ..Extra::default()
    };
    r.open(Status::Ok, Some(total), extra);
    r.end();
    moss.active = !r.head_only;
}

/// The size of an object (or a file inside a shard) in the cluster, if it exists.
fn lookup(node: &Node, p: Provider, bucket: &str, obj: &str, archpath: &str) -> Option<u64> {
    if !archpath.is_empty() {
        return super::arch::member(node, p, bucket, obj, archpath);
    }
    let key = format!("{bucket}/{obj}");
    let owner = node.cluster.owner(key.as_bytes());
    node.cluster
        .targets
        .get(owner)?
        .store
        .of(p)
        .meta(&key)
        .map(|m| m.size)
}
