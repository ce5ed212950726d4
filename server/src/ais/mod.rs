//! AIS control requests (the subset aisloader and ringload use): bucket presence, create, destroy,
//! delete-listrange, evict-listrange, HEAD bucket (its properties in `Ais-Bucket-Props`),
//! set-bprops (PATCH), list buckets, paged list-objects with AIS's list flags, and the cluster
//! map (`GET /v1/daemon?what=smap`, in `smap`), answered in JSON; listing is in `list`.
//!
//! Owns: parsing the JSON action messages (`{"action":..,"name":..,"value":..}`) and writing
//! the JSON answers. A message without a `value` (or with `null`), or a `presence` query, is a
//! bucket query; with a `value` it is an object listing.
//!
//! Why apart: control requests are rare and may allocate; the object hot path never comes here.
//!
//! A bucket is `provider://name` ([`Bck`]): `ais` buckets are created and destroyed; remote ones
//! (`s3://`, `gs://`, `az://`, `oci://`) live in an emulated cloud backend where every bucket
//! exists, are recorded on use, and are emptied by delete-listrange, never destroyed. A remote
//! bucket's object is "cached" (present in the cluster) once written or read through the
//! cluster, until evict-listrange drops the in-cluster copy (the object stays in the emulated
//! backend). The emulated backend changes only through the cluster, so the in-cluster copy is
//! always the latest version: a GET with `latest-ver=true` is counted (`latest_ver`) and
//! otherwise served as any GET (a cold GET when the object was evicted).
//!
//! List flags honoured: `LsCached` (1: only cached objects), `LsNoDirs` (8192: no directory
//! entries; without it every virtual directory of the listed names is an entry, flag
//! `EntryIsDir`), and `LsNBI` (32768), refused as AIS refuses a bucket without an inventory:
//! the built-in target keeps none. Bucket properties are defaults (see [`DEFAULT_PROPS`])
//! merged with every set-bprops patch; erasure coding is refused, as AIS does, when the
//! cluster has fewer than `data_slices + parity_slices + 1` targets.
//!
//! Invariants: buckets are cluster-wide (one set for all listeners); a listing merges every
//! target's store in name order with page size `min(pagesize if > 0, --page-size)`, and its
//! continuation token is the last name returned (empty on the last page).

use serde::{Deserialize, Serialize};

pub(crate) mod arch;
mod list;
pub(crate) mod moss;
pub(crate) mod mpt;
mod smap;

use list::{list, ListMsg};
pub(crate) use smap::smap;

use super::counters::Kind;
use super::listing::{merge, Props};
use super::node::Node;
use super::provider::Provider;
use super::request::{query_param, Method, Status};
use super::respond::{no_such_bucket, Reply};
use super::ServeProtocol;

const JSON: Option<&str> = Some("application/json");
const P: ServeProtocol = ServeProtocol::Ais;

/// The properties every bucket starts with (a subset of AIS's `cmn.Bprops`).
pub(crate) const DEFAULT_PROPS: &str = r#"{"mirror":{"enabled":false,"copies":1,"burst_buffer":512},"ec":{"enabled":false,"objsize_limit":262144,"data_slices":1,"parity_slices":1}}"#;

/// An AIS action message.
#[derive(Deserialize, Default)]
struct ActionMsg {
    #[serde(default)]
    action: String,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

/// The `value` of a delete-listrange action.
#[derive(Deserialize)]
struct ListRangeMsg {
    #[serde(default)]
    objnames: Vec<String>,
}

#[derive(Serialize)]
struct BucketJson<'a> {
    name: &'a str,
    provider: &'static str,
}

/// A bucket a control request names: `provider://name`.
#[derive(Clone, Copy)]
pub(crate) struct Bck<'a> {
    pub(crate) provider: Provider,
    pub(crate) name: &'a str,
}

impl std::fmt::Display for Bck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.provider.scheme(), self.name)
    }
}

fn bad(r: &mut Reply<'_>, what: std::fmt::Arguments<'_>) {
    r.error(P, Status::BadRequest, "", what);
}

fn json_out(r: &mut Reply<'_>, v: &impl Serialize) {
    r.scratch.clear();
    match serde_json::to_writer(&mut *r.scratch, v) {
        Ok(()) => r.send_scratch(Status::Ok, JSON),
        Err(e) => r.error(
            P,
            Status::InternalServerError,
            "",
            format_args!("cannot encode the answer: {e}"),
        ),
    }
}

/// Parses an action message; an empty body is an empty message.
fn parse(body: &[u8]) -> Result<ActionMsg, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionMsg::default());
    }
    serde_json::from_slice(body)
}

/// `GET /v1/buckets[?provider=..]`: every bucket (of that provider): the `ais` buckets, and
/// the remote ones used so far.
pub(crate) fn all_buckets(r: &mut Reply<'_>, node: &Node, query: &[u8]) {
    r.ctr.request(Kind::Bucket);
    let only = match query_param(query, b"provider") {
        None | Some(b"") => None,
        Some(_) => match Provider::from_query(query) {
            Ok(p) => Some(p),
            Err(_) => return bad_provider(r),
        },
    };
    let names = node.cluster.buckets.names(only);
    let list: Vec<BucketJson<'_>> = names
        .iter()
        .map(|(p, n)| BucketJson {
            name: n,
            provider: p.as_str(),
        })
        .collect();
    json_out(r, &list);
}

fn bad_provider(r: &mut Reply<'_>) {
    bad(
        r,
        format_args!(
            "unknown bucket provider in the query: use provider=ais, aws, gcp, azure or oci"
        ),
    );
}

/// `/v1/buckets/<bucket>?provider=..` with any method. A remote bucket exists in the
/// emulated backend whatever its name; using it records it in the cluster (as AIS adds a cloud
/// bucket to its metadata on first access), and it cannot be destroyed, only emptied.
pub(crate) fn bucket(
    r: &mut Reply<'_>,
    node: &Node,
    method: Method,
    b: Bck<'_>,
    query: &[u8],
    body: &[u8],
) {
    let (p, bucket) = (b.provider, b.name);
    let msg = match parse(body) {
        Ok(m) => m,
        Err(e) => {
            r.ctr.request(Kind::Bucket);
            return bad(
                r,
                format_args!("bad JSON action message: {e}: send {{\"action\":\"...\"}}"),
            );
        }
    };
    let buckets = &node.cluster.buckets;
    let value = msg.value.filter(|v| !v.is_null());
    match method {
        Method::Get if value.is_none() || query_param(query, b"presence").is_some() => {
            r.ctr.request(Kind::Bucket);
            let found = [BucketJson {
                name: bucket,
                provider: p.as_str(),
            }];
            // AIS's presence 2 and 3 ask "present in the cluster"; the rest "exists".
            let in_cluster = matches!(query_param(query, b"presence"), Some(b"2" | b"3"));
            let here = if in_cluster {
                buckets.known(p, bucket)
            } else {
                buckets.contains(p, bucket)
            };
            json_out(r, &&found[..usize::from(here)]);
        }
        Method::Get => {
            r.ctr.request(Kind::List);
            let lm: ListMsg = match value.map(serde_json::from_value).transpose() {
                Ok(lm) => lm.unwrap_or_default(),
                Err(e) => return bad(r, format_args!("bad list message value: {e}")),
            };
            if !buckets.contains(p, bucket) {
                return no_such_bucket(r, P, p, bucket);
            }
            buckets.touch(p, bucket);
            list(r, node, b, &lm);
        }
        Method::Head => {
            r.ctr.request(Kind::Bucket);
            if !buckets.contains(p, bucket) {
                return no_such_bucket(r, P, p, bucket);
            }
            buckets.touch(p, bucket);
            head(r, b, &buckets.props(p, bucket).unwrap_or_default());
        }
        Method::Patch => {
            r.ctr.request(Kind::Bucket);
            match msg.action.as_str() {
                "set-bprops" => set_props(r, node, b, value),
                other => bad(
                    r,
                    format_args!("unsupported bucket action {other:?} for PATCH: use set-bprops"),
                ),
            }
        }
        Method::Post => {
            r.ctr.request(Kind::Bucket);
            match msg.action.as_str() {
                "create-bck" if buckets.create(p, bucket) => r.full(Status::Ok, None, b""),
                "create-bck" => r.error(
                    P,
                    Status::Conflict,
                    "",
                    format_args!("bucket \"{b}\" already exists"),
                ),
                other => bad(
                    r,
                    format_args!("unsupported bucket action {other:?} for POST: use create-bck"),
                ),
            }
        }
        Method::Delete => {
            r.ctr.request(Kind::Bucket);
            match msg.action.as_str() {
                "destroy-bck" if p.is_remote() => bad(
                    r,
                    format_args!(
                        "operation \"destroy-bck\" is not supported by \"{b}\": a remote \
                         bucket is emptied with delete-listrange"
                    ),
                ),
                "destroy-bck" => {
                    if !buckets.remove(p, bucket) {
                        return no_such_bucket(r, P, p, bucket);
                    }
                    let prefix = format!("{bucket}/");
                    for store in node.cluster.stores(p) {
                        store.remove_prefix(&prefix);
                    }
                    r.full(Status::Ok, None, b"");
                }
                "delete-listrange" => delete_list(r, node, b, value, false),
                "evict-listrange" if !p.is_remote() => bad(
                    r,
                    format_args!("cannot evict from \"{b}\": it is not a remote bucket"),
                ),
                "evict-listrange" => delete_list(r, node, b, value, true),
                other => bad(
                    r,
                    format_args!(
                        "unsupported bucket action {other:?} for DELETE: use destroy-bck, \
                         delete-listrange or evict-listrange"
                    ),
                ),
            }
        }
        Method::Put | Method::Other => {
            r.ctr.request(Kind::Bucket);
            r.error(
                P,
                Status::MethodNotAllowed,
                "",
                format_args!("use GET, HEAD, POST, PATCH or DELETE on /v1/buckets/<bucket>"),
            );
        }
    }
}

/// delete-listrange (`evict` false: the objects go) or evict-listrange (`evict`: only their
/// in-cluster copies go; the objects stay in the emulated backend).
fn delete_list(
    r: &mut Reply<'_>,
    node: &Node,
    b: Bck<'_>,
    value: Option<serde_json::Value>,
    evict: bool,
) {
    let (p, bucket) = (b.provider, b.name);
    if !node.cluster.buckets.contains(p, bucket) {
        return no_such_bucket(r, P, p, bucket);
    }
    node.cluster.buckets.touch(p, bucket);
    let msg: ListRangeMsg = match value.map(serde_json::from_value) {
        Some(Ok(m)) => m,
        Some(Err(e)) => return bad(r, format_args!("bad list-range value: {e}")),
        None => {
            return bad(
                r,
                format_args!("a list-range action needs a value: {{\"objnames\":[...]}}"),
            )
        }
    };
    let mut key = String::new();
    for name in &msg.objnames {
        key.clear();
        key.push_str(bucket);
        key.push('/');
        key.push_str(name);
        let owner = node.cluster.owner(key.as_bytes());
        let store = node.cluster.targets[owner].store.of(p);
        if evict {
            store.set_cached(&key, false);
        } else {
            store.remove(&key);
        }
    }
    // A made-up xaction id: stable per request content, shaped like AIS's.
    let id = ringload_core::rng::mix64(xxhash_rust::xxh64::xxh64(
        key.as_bytes(),
        msg.objnames.len() as u64,
    ));
    let text = format!("x{id:016x}");
    r.full(Status::Ok, Some("text/plain"), text.as_bytes());
}

/// HEAD bucket: 200 with `Ais-Bucket-Props: <JSON>` (the defaults merged with `set`).
fn head(r: &mut Reply<'_>, b: Bck<'_>, set: &Props) {
    let mut props: Props = serde_json::from_str(DEFAULT_PROPS).unwrap_or_default();
    props.insert("provider".into(), b.provider.as_str().into());
    merge(&mut props, set);
    r.open(Status::Ok, Some(0), super::request::Extra::default());
    r.out.extend_from_slice(b"Ais-Bucket-Props: ");
    // Compact JSON has no line breaks (strings escape them), so it fits one header line.
    let _ = serde_json::to_writer(&mut *r.out, &props);
    r.out.extend_from_slice(b"\r\n");
    r.end();
}

/// set-bprops: merges the value (a JSON object) into the bucket's properties. Erasure coding
/// needs `data_slices + parity_slices + 1` targets, as AIS checks.
fn set_props(r: &mut Reply<'_>, node: &Node, b: Bck<'_>, value: Option<serde_json::Value>) {
    let Some(serde_json::Value::Object(patch)) = value else {
        return bad(
            r,
            format_args!(
                "set-bprops needs a JSON object value, e.g. {{\"mirror\":{{\"enabled\":true}}}}"
            ),
        );
    };
    let buckets = &node.cluster.buckets;
    if !buckets.contains(b.provider, b.name) {
        return no_such_bucket(r, P, b.provider, b.name);
    }
    let mut after = buckets.props(b.provider, b.name).unwrap_or_default();
    merge(&mut after, &patch);
    let ec = after.get("ec").unwrap_or(&serde_json::Value::Null);
    if ec["enabled"].as_bool() == Some(true) {
        let slices = |k: &str| ec[k].as_u64().unwrap_or(1);
        let (d, p) = (slices("data_slices"), slices("parity_slices"));
        let targets = node.cluster.targets.len() as u64;
        if d + p + 1 > targets {
            return bad(
                r,
                format_args!(
                    "{b}: EC config (D = {d}, P = {p}) requires at least {} targets (have {targets})",
                    d + p + 1
                ),
            );
        }
    }
    buckets.set_props(b.provider, b.name, &patch);
    r.full(Status::Ok, None, b"");
}
