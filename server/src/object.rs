//! Object answers (GET, HEAD, PUT, DELETE on this listener's store), in each protocol's
//! dialect, with the injected faults that replace or cut them.
//!
//! Owns: status choice per protocol (HTTP: PUT 201/204, DELETE 204/404; AIS: 200 and JSON
//! errors; S3: PUT 200 + ETag, DELETE 204 always, XML errors), the AIS checksum headers, and
//! the plan of the GET body to stream ([`Body`]).
//!
//! Why: this is the hot path, kept apart from connection sequencing and from control requests.
//! Shard answers (AIS TAR objects, `?archpath=`) are `shard.rs`'s.
//!
//! Invariants: allocation-free. An AIS PUT that declares `Ais-Checksum-Type/Value` is checked
//! against the content this target will serve for it (the name's pattern window of the PUT's
//! size: the target keeps no bytes, see `pattern`), for every AIS type (`ringload_core::cksum`);
//! a mismatch or an unknown type is refused with 400 and nothing is stored. GETs and HEADs
//! answer with the type the PUT declared (`xxhash` by default, and for `none`) and the digest
//! the store keeps for it: the PUT's check computed it (every type), or, for an XXH64 no PUT
//! declared, the first GET or HEAD that needs it; nothing is hashed per answer. Objects above
//! [`CHECKSUM_MAX_BYTES`] are not checked and answer `Ais-Checksum-Type: none` rather than
//! stall their core. The object's content name is its store key (`bucket/name` for AIS and
//! S3, the whole path for HTTP).

use super::ais::arch;
use super::counters::MlKind;
use super::fault::FaultKind;
use super::node::Node;
use super::pattern::{object_start, object_xxh64, PATTERN_LEN};
use super::provider::Provider;
use super::request::{self, Cksum, Extra, RangeSpec, Resolved, Status};
use super::respond::Reply;
use super::route::ObjOp;
use super::store::Store;
use super::ServeProtocol;
use ringload_core::cksum;
use ringload_core::kinds::CksumType;

mod shard;
use shard::{archpath_not_found, shard_get, shard_put};

/// Largest object whose AIS checksum is computed (hashing runs on the serving core, about
/// 1 s per 10 GB).
pub(crate) const CHECKSUM_MAX_BYTES: u64 = 16 << 30;
/// Most body bytes sent before a `reset` fault's RST: small enough that they leave at once,
/// so the reset does not discard them from the send buffer.
const RESET_SENT_MAX: u64 = 16 * 1024;

/// How a streamed GET body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// All bytes sent; the connection goes on.
    Complete,
    /// Bytes cut short; then close cleanly (FIN).
    Truncate,
    /// Bytes cut short; then close with a reset (RST).
    Reset,
}

/// The GET body to stream: `len` bytes from pattern position `pos`, then `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Body {
    pub(crate) pos: usize,
    pub(crate) len: u64,
    pub(crate) end: End,
}

/// What a PUT brought: its body size and the checksum it declared; for an AIS shard (see
/// `ais::arch`), its body as captured (`None` when it was above the cap and dropped).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PutFacts<'b> {
    pub(crate) received: u64,
    pub(crate) cksum: Option<Cksum>,
    pub(crate) shard: Option<&'b [u8]>,
}

/// Answers an object request for `o` on this listener's store. `put` is what a PUT brought;
/// `fault` the injected fault drawn for this request (GET/PUT only).
pub(crate) fn answer(
    r: &mut Reply<'_>,
    node: &Node,
    op: ObjOp,
    o: Obj<'_>,
    range: Option<RangeSpec>,
    put: PutFacts<'_>,
    fault: Option<FaultKind>,
) -> Option<Body> {
    let received = put.received;
    r.ctr.request(op.kind());
    let p = node.protocol;
    match fault {
        Some(k @ FaultKind::Http500) => {
            r.ctr.fault(k);
            r.error(
                p,
                Status::InternalServerError,
                "InternalError",
                format_args!("injected fault (500)"),
            );
            return None;
        }
        Some(k @ FaultKind::Http503) => {
            r.ctr.fault(k);
            r.error(
                p,
                Status::ServiceUnavailable,
                "ServiceUnavailable",
                format_args!("injected fault (503)"),
            );
            return None;
        }
        _ => {}
    }
    let (provider, key, store) = (o.provider, o.key, o.store);
    match op {
        ObjOp::Put => {
            let shard = match p == ServeProtocol::Ais && arch::is_shard_name(key) {
                true => shard_put(r, key, received, put.shard)?,
                false => None,
            };
            let (ty, digest) = match (p, put.cksum) {
                // A shard's bytes are its TAR, not a pattern window: its checksum is not kept.
                (ServeProtocol::Ais, Some(ck)) if shard.is_none() => checked(r, key, received, ck)?,
                _ => (CksumType::Xxhash, None),
            };
            if provider.is_remote() {
                node.cluster.buckets.touch(provider, bucket_of(key));
            }
            let existed = store.put_typed(key, received, ty);
            if let Some(d) = digest {
                store.set_checksum(key, received, d);
            }
            if p == ServeProtocol::Ais && arch::is_shard_name(key) {
                if shard.is_some() {
                    r.ctr.ml(MlKind::ShardPut, 1);
                }
                store.set_archive(key, shard);
            }
            match p {
                ServeProtocol::Http if existed => {
                    r.open(Status::NoContent, None, Extra::default());
                }
                ServeProtocol::Http => r.open(Status::Created, Some(0), Extra::default()),
                ServeProtocol::Ais => r.open(Status::Ok, Some(0), Extra::default()),
                ServeProtocol::S3 => {
                    r.open(Status::Ok, Some(0), Extra::default());
                    etag(r.out, key, received);
                }
            }
            r.end();
            None
        }
        ObjOp::Delete => {
            let existed = store.remove(key);
            match p {
                ServeProtocol::S3 => r.open(Status::NoContent, None, Extra::default()),
                _ if !existed => {
                    not_found(r, node, &o);
                    return None;
                }
                ServeProtocol::Http => r.open(Status::NoContent, None, Extra::default()),
                ServeProtocol::Ais => r.open(Status::Ok, Some(0), Extra::default()),
            }
            r.end();
            None
        }
        ObjOp::Get | ObjOp::Head => {
            if p == ServeProtocol::Ais && arch::is_shard_name(key) {
                if let Some(members) = store.archive(key) {
                    return shard_get(r, node, op, &o, &members, range);
                }
            }
            match o.archpath {
                Some(_) if p == ServeProtocol::Ais => {
                    archpath_not_found(r, node, &o, "not a shard");
                    None
                }
                _ => get(r, node, op, &o, range, fault),
            }
        }
    }
}

/// The object a request names: its provider, its key (`bucket/name`) and the listener's store
/// of that provider's buckets; an AIS GET's `archpath` (raw) names a file inside a shard.
pub(crate) struct Obj<'a> {
    provider: Provider,
    key: &'a str,
    store: &'a Store,
    archpath: Option<&'a [u8]>,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(node: &'a Node, provider: Provider, key: &'a str) -> Self {
        Self {
            provider,
            key,
            store: node.store.of(provider),
            archpath: None,
        }
    }

    /// The file inside a shard a GET reads (the raw `archpath` query value).
    pub(crate) fn with_archpath(mut self, archpath: Option<&'a [u8]>) -> Self {
        self.archpath = archpath;
        self
    }
}

/// The bucket of an object key (`bucket/name`).
fn bucket_of(key: &str) -> &str {
    key.split('/').next().unwrap_or("")
}

fn get(
    r: &mut Reply<'_>,
    node: &Node,
    op: ObjOp,
    o: &Obj<'_>,
    range: Option<RangeSpec>,
    fault: Option<FaultKind>,
) -> Option<Body> {
    let key = o.key;
    let Some(meta) = o.store.meta(key) else {
        not_found(r, node, o);
        return None;
    };
    let size = meta.size;
    if op == ObjOp::Get && !meta.cached {
        // A cold GET: the remote object is read through the cluster, so it is present now.
        o.store.set_cached(key, true);
    }
    let ranges = Extra {
        accept_ranges: true,
        ..Extra::default()
    };
    let (first, len) = open_range(r, range, size, ranges)?;
    match node.protocol {
        ServeProtocol::Http => {}
        ServeProtocol::Ais => {
            let ty = meta.cksum_type;
            let xxh = matches!(ty, CksumType::Xxhash | CksumType::Xxhash2);
            // The PUT's check stored the digest of every type it checked; an XXH64 not yet
            // known (a PUT without a declared checksum) is computed once and kept.
            let sum = match meta.checksum {
                Some(d) => Some(d),
                None if xxh && size <= CHECKSUM_MAX_BYTES => {
                    let d = cksum::Digest::new(&object_xxh64(key.as_bytes(), size).to_be_bytes());
                    o.store.set_checksum(key, size, d);
                    Some(d)
                }
                None => None,
            };
            match sum {
                Some(d) => {
                    r.out.extend_from_slice(b"Ais-Checksum-Type: ");
                    r.out.extend_from_slice(ty.as_str().as_bytes());
                    r.out.extend_from_slice(b"\r\nAis-Checksum-Value: ");
                    r.out.extend_from_slice(d.hex().as_bytes());
                    r.out.extend_from_slice(b"\r\n");
                }
                None => r.out.extend_from_slice(b"Ais-Checksum-Type: none\r\n"),
            }
        }
        ServeProtocol::S3 => etag(r.out, key, size),
    }
    r.end();
    if op != ObjOp::Get || len == 0 {
        return None;
    }
    let pos =
        (object_start(key.as_bytes()) as u64 + first % PATTERN_LEN as u64) % PATTERN_LEN as u64;
    let (len, end) = match fault {
        Some(k @ FaultKind::Reset) => {
            r.ctr.fault(k);
            ((len / 2).min(RESET_SENT_MAX), End::Reset)
        }
        Some(k @ FaultKind::Truncate) => {
            r.ctr.fault(k);
            (len / 2, End::Truncate)
        }
        _ => (len, End::Complete),
    };
    Some(Body {
        pos: pos as usize,
        len,
        end,
    })
}

/// Checks an AIS PUT's declared checksum against the content stored for it; the type its GETs
/// answer with and, for the xxhash types, the XXH64 computed (for the store's cache), or
/// `None` once the PUT was refused (400).
fn checked(
    r: &mut Reply<'_>,
    key: &str,
    received: u64,
    ck: Cksum,
) -> Option<(CksumType, Option<cksum::Digest>)> {
    let p = ServeProtocol::Ais;
    let Some(ty) = ck.ty else {
        r.error(
            p,
            Status::BadRequest,
            "",
            format_args!(
                "unsupported checksum type: use one of {}",
                CksumType::NAMES.join(", ")
            ),
        );
        return None;
    };
    if ty == CksumType::None {
        return Some((CksumType::Xxhash, None));
    }
    let mut digest = None;
    if received <= CHECKSUM_MAX_BYTES {
        let start = ringload_core::content::object_start(key.as_bytes());
        let d = cksum::content_digest(ty, start, received);
        let have = d.hex();
        if !have.same(ck.value.as_bytes()) {
            r.error(
                p,
                Status::BadRequest,
                "",
                format_args!(
                    "BAD DATA CHECKSUM: {ty}({:?}) != {ty}({have:?}) (object {key})",
                    ck.value
                ),
            );
            return None;
        }
        digest = Some(d);
    }
    Some((ty, digest))
}

/// 404 for a missing object (the bucket's absence is named when that is the reason).
fn not_found(r: &mut Reply<'_>, node: &Node, o: &Obj<'_>) {
    r.ctr.not_found();
    let p = node.protocol;
    let bucket = bucket_of(o.key);
    if p != ServeProtocol::Http && !node.cluster.buckets.contains(o.provider, bucket) {
        super::respond::no_such_bucket(r, p, o.provider, bucket);
        return;
    }
    let (st, code) = (Status::NotFound, "NoSuchKey");
    match p {
        ServeProtocol::S3 => r.error(
            p,
            st,
            code,
            format_args!("The specified key does not exist."),
        ),
        _ => r.error(
            p,
            st,
            code,
            format_args!(
                "object \"{}://{}\" does not exist",
                o.provider.scheme(),
                o.key
            ),
        ),
    }
}

/// `ETag: "<16 hex>"`, a cheap stand-in derived from the key and size (not an MD5).
fn etag(out: &mut Vec<u8>, key: &str, size: u64) {
    let tag = ringload_core::rng::hash2(xxhash_rust::xxh64::xxh64(key.as_bytes(), 0), size);
    out.extend_from_slice(b"ETag: \"");
    push_hex16(out, tag);
    out.extend_from_slice(b"\"\r\n");
}

/// Opens a GET's answer for `range` of an object of `size` bytes with the headers `ranges`
/// (200, 206 or 416) and returns the `(first byte, length)` to send; `None` once a 416 is
/// complete.
pub(crate) fn open_range(
    r: &mut Reply<'_>,
    range: Option<RangeSpec>,
    size: u64,
    ranges: Extra,
) -> Option<(u64, u64)> {
    match request::resolve(range, size) {
        Resolved::Full => {
            r.open(Status::Ok, Some(size), ranges);
            Some((0, size))
        }
        Resolved::Part(a, b) => {
            let extra = Extra {
                range: Some((a, b, size)),
                ..ranges
            };
            r.open(Status::PartialContent, Some(b - a + 1), extra);
            Some((a, b - a + 1))
        }
        Resolved::Unsatisfiable => {
            let extra = Extra {
                unsatisfied_size: Some(size),
                ..ranges
            };
            r.open(Status::RangeNotSatisfiable, Some(0), extra);
            r.end();
            None
        }
    }
}

/// Appends `v` as 16 lowercase hex digits.
pub(crate) fn push_hex16(out: &mut Vec<u8>, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..16).rev() {
        out.push(HEX[((v >> (i * 4)) & 0xf) as usize]);
    }
}
