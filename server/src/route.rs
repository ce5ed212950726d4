//! Request routing: what a request head asks of this listener, per protocol and role.
//!
//! Owns: [`route`], which maps (method, decoded path, query) to a [`Route`] before the body is
//! read, so the connection knows whether to keep the body (control requests), drop it (object
//! PUTs, redirects, refusals) or refuse it unread (`Expect: 100-continue`).
//!
//! Paths: `GET /v1/ringload/stats` on any listener. HTTP: every path is an object key. AIS:
//! `/v1/objects/<bucket>/<object>`, `/v1/buckets[/<bucket>]`, the bucket's provider from the
//! `provider=` query (`ais` when absent; a remote one's bucket always exists), and
//! `GET /v1/daemon?what=smap` (the cluster map) on every node, and GetBatch
//! (`GET /v1/ml/moss/<bucket>`: a proxy redirects it to a random target). S3 (path
//! style): `/<bucket>`, `/<bucket>/<key>`.
//!
//! Invariants: pure and allocation-free (the hot path goes through here); the key range it
//! returns always lies on UTF-8 boundaries of the decoded path.

use super::ais::mpt::MptStep;
use super::counters::Kind;
use super::node::{Node, Role};
use super::provider::Provider;
use super::request::{query_param, Method};
use super::ServeProtocol;

/// The stats endpoint's decoded path.
pub(crate) const STATS_PATH: &str = "v1/ringload/stats";

/// An object operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjOp {
    Get,
    Head,
    Put,
    Delete,
}

impl ObjOp {
    fn of(m: Method) -> Option<ObjOp> {
        match m {
            Method::Get => Some(ObjOp::Get),
            Method::Head => Some(ObjOp::Head),
            Method::Put => Some(ObjOp::Put),
            Method::Delete => Some(ObjOp::Delete),
            Method::Post | Method::Patch | Method::Other => None,
        }
    }

    pub(crate) fn kind(self) -> Kind {
        match self {
            ObjOp::Get => Kind::Get,
            ObjOp::Head => Kind::Head,
            ObjOp::Put => Kind::Put,
            ObjOp::Delete => Kind::Delete,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ObjOp::Get => "GET",
            ObjOp::Head => "HEAD",
            ObjOp::Put => "PUT",
            ObjOp::Delete => "DELETE",
        }
    }
}

/// Why a request is refused (answered in the protocol's error format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    MethodNotAllowed,
    UnknownPath,
    /// `/v1/objects/<bucket>/` without an object name (or without a bucket).
    MissingName,
    /// PUT into a bucket that does not exist (the key's first segment).
    NoSuchBucket,
    /// PUT/DELETE sent straight to an AIS target, without a proxy's `pid`.
    NotViaProxy(ObjOp),
    /// An AIS `provider=` this target does not know.
    BadProvider,
    /// The S3 auth hook said no.
    SignatureMismatch,
    /// A control request body above the limit.
    TooLarge,
}

/// What to do with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// An object in this listener's store of the provider's buckets (HTTP and S3: `Ais`).
    Object(ObjOp, Provider),
    /// A proxy's redirect to the target (index) owning the object.
    Redirect(ObjOp, usize),
    Stats,
    /// AIS `GET /v1/daemon?what=smap`: the cluster map.
    Smap,
    /// An AIS multipart upload step on the object's target (key = `bucket/object`).
    AisMpt(MptStep, Provider),
    /// `/v1/buckets/<bucket>?provider=..` (key = bucket).
    AisBucket(Method, Provider),
    /// `/v1/buckets`.
    AisBuckets,
    /// `/<bucket>` (key = bucket).
    S3Bucket(Method),
    /// AIS GetBatch at its designated target: `GET /v1/ml/moss/<bucket>` (key = bucket).
    Moss(Provider),
    Reject(Reject, Kind),
}

impl Route {
    /// The body is parsed (kept in memory, bounded); otherwise it is dropped.
    pub(crate) fn captures_body(self) -> bool {
        matches!(
            self,
            Route::Stats
                | Route::AisBucket(..)
                | Route::AisBuckets
                | Route::S3Bucket(_)
                | Route::Moss(_)
        ) || matches!(self, Route::AisMpt(step, _) if step.captures_body())
    }

    /// The request needs its body to be answered. When false, an `Expect: 100-continue`
    /// request is answered at once and the connection closed, its body never read.
    pub(crate) fn wants_body(self) -> bool {
        !matches!(self, Route::Redirect(..) | Route::Reject(..))
    }
}

/// A route and the byte range of its key (object `bucket/name`, or bucket) in the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Routed {
    pub(crate) route: Route,
    pub(crate) key: (usize, usize),
}

fn whole(route: Route, path: &str) -> Routed {
    Routed {
        route,
        key: (0, path.len()),
    }
}

fn reject(why: Reject, kind: Kind) -> Routed {
    Routed {
        route: Route::Reject(why, kind),
        key: (0, 0),
    }
}

/// Routes one request. `path` is the decoded path without its leading `/`, `query` the raw
/// query; `authorized` runs the S3 auth hook (called only for S3 requests, when one is set).
pub(crate) fn route(
    node: &Node,
    method: Method,
    path: &str,
    query: &[u8],
    authorized: impl FnOnce() -> bool,
) -> Routed {
    if path == STATS_PATH && method == Method::Get {
        return whole(Route::Stats, path);
    }
    match node.protocol {
        ServeProtocol::Http => match ObjOp::of(method) {
            Some(op) => whole(Route::Object(op, Provider::Ais), path),
            None => reject(Reject::MethodNotAllowed, Kind::Other),
        },
        ServeProtocol::Ais => ais(node, method, path, query),
        ServeProtocol::S3 => {
            if node.s3_auth.is_some() && !authorized() {
                return reject(Reject::SignatureMismatch, Kind::Other);
            }
            s3(node, method, path)
        }
    }
}

const AIS_OBJECTS: &str = "v1/objects/";
const AIS_BUCKETS: &str = "v1/buckets";
const AIS_DAEMON: &str = "v1/daemon";
const AIS_MOSS: &str = "v1/ml/moss/";

fn ais(node: &Node, method: Method, path: &str, query: &[u8]) -> Routed {
    if path.strip_suffix('/').unwrap_or(path) == AIS_DAEMON {
        return match (method, query_param(query, b"what")) {
            (Method::Get, Some(b"smap")) => whole(Route::Smap, path),
            (Method::Get, _) => reject(Reject::UnknownPath, Kind::Other),
            _ => reject(Reject::MethodNotAllowed, Kind::Other),
        };
    }
    let provider = Provider::from_query(query);
    if let Some(rest) = path.strip_prefix(AIS_MOSS) {
        // GetBatch: a proxy sends it to a designated target chosen at random.
        let bucket = rest.strip_suffix('/').unwrap_or(rest);
        if method != Method::Get {
            return reject(Reject::MethodNotAllowed, Kind::Get);
        }
        if bucket.is_empty() || bucket.contains('/') {
            return reject(Reject::UnknownPath, Kind::Get);
        }
        let Ok(provider) = provider else {
            return reject(Reject::BadProvider, Kind::Get);
        };
        let route = match node.role {
            Role::Proxy => Route::Redirect(ObjOp::Get, super::ais::moss::designated(node)),
            Role::Target | Role::Server => Route::Moss(provider),
        };
        let start = AIS_MOSS.len();
        return Routed {
            route,
            key: (start, start + bucket.len()),
        };
    }
    if let Some(key) = path.strip_prefix(AIS_OBJECTS) {
        if let Some(step) = MptStep::of(method, query) {
            return ais_mpt(node, step, provider, key, path);
        }
        let Some(op) = ObjOp::of(method) else {
            return reject(Reject::MethodNotAllowed, Kind::Other);
        };
        let Ok(provider) = provider else {
            return reject(Reject::BadProvider, op.kind());
        };
        let key_range = (AIS_OBJECTS.len(), path.len());
        let bucket = match key.split_once('/') {
            Some((b, o)) if !b.is_empty() && !o.is_empty() => b,
            _ => return reject(Reject::MissingName, op.kind()),
        };
        let route = if op == ObjOp::Put && !node.cluster.buckets.contains(provider, bucket) {
            Route::Reject(Reject::NoSuchBucket, op.kind())
        } else {
            match node.role {
                Role::Proxy => Route::Redirect(op, node.cluster.owner(key.as_bytes())),
                Role::Target
                    if matches!(op, ObjOp::Put | ObjOp::Delete)
                        && query_param(query, b"pid").is_none() =>
                {
                    Route::Reject(Reject::NotViaProxy(op), op.kind())
                }
                Role::Target | Role::Server => Route::Object(op, provider),
            }
        };
        return Routed {
            route,
            key: key_range,
        };
    }
    match path.strip_prefix(AIS_BUCKETS) {
        Some("" | "/") if method == Method::Get => Routed {
            route: Route::AisBuckets,
            key: (0, 0),
        },
        Some("" | "/") => reject(Reject::MethodNotAllowed, Kind::Bucket),
        Some(rest) if rest.starts_with('/') => {
            let start = AIS_BUCKETS.len() + 1;
            let end = start + rest[1..].strip_suffix('/').unwrap_or(&rest[1..]).len();
            if path[start..end].contains('/') {
                return reject(Reject::UnknownPath, Kind::Other);
            }
            let Ok(provider) = provider else {
                return reject(Reject::BadProvider, Kind::Bucket);
            };
            Routed {
                route: Route::AisBucket(method, provider),
                key: (start, end),
            }
        }
        _ => reject(Reject::UnknownPath, Kind::Other),
    }
}

/// A multipart step: a proxy redirects it to the object's target (307, as a PUT or DELETE
/// is, so the method and body are sent again), a target answers it.
fn ais_mpt(
    node: &Node,
    step: MptStep,
    provider: Result<Provider, &[u8]>,
    key: &str,
    path: &str,
) -> Routed {
    let Ok(provider) = provider else {
        return reject(Reject::BadProvider, step.kind());
    };
    match key.split_once('/') {
        Some((b, o)) if !b.is_empty() && !o.is_empty() => {}
        _ => return reject(Reject::MissingName, step.kind()),
    }
    let route = match node.role {
        Role::Proxy => {
            let op = if step == MptStep::Abort {
                ObjOp::Delete
            } else {
                ObjOp::Put
            };
            Route::Redirect(op, node.cluster.owner(key.as_bytes()))
        }
        Role::Target | Role::Server => Route::AisMpt(step, provider),
    };
    Routed {
        route,
        key: (AIS_OBJECTS.len(), path.len()),
    }
}

fn s3(node: &Node, method: Method, path: &str) -> Routed {
    match path.split_once('/') {
        None | Some((_, "")) => {
            let end = path.strip_suffix('/').unwrap_or(path).len();
            if end == 0 {
                return reject(Reject::MethodNotAllowed, Kind::Other);
            }
            Routed {
                route: Route::S3Bucket(method),
                key: (0, end),
            }
        }
        Some((bucket, _)) => {
            let Some(op) = ObjOp::of(method) else {
                return reject(Reject::MethodNotAllowed, Kind::Other);
            };
            if bucket.is_empty() {
                return reject(Reject::UnknownPath, op.kind());
            }
            if op == ObjOp::Put && !node.cluster.buckets.contains(Provider::Ais, bucket) {
                return Routed {
                    route: Route::Reject(Reject::NoSuchBucket, op.kind()),
                    key: (0, path.len()),
                };
            }
            whole(Route::Object(op, Provider::Ais), path)
        }
    }
}
