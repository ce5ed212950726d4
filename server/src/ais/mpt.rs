//! AIS native multipart upload on the built-in target (`api/mpt.go`): create (`POST
//! /v1/objects/<b>/<o>` with `{"action":"mpt-upload"}`, answered with the upload id as the
//! body), parts (`PUT ..?uploadId=<id>&partNumber=<k>`, each part's size recorded), complete
//! (`POST ..?uploadId=<id>` with `{"action":"mpt-complete","value":[{"part-number":k},..]}`:
//! the object is stored with the size of its parts, in order) and abort (`DELETE
//! ..?uploadId=<id>` with `{"action":"mpt-abort"}`: the upload is dropped).
//!
//! Owns: [`Uploads`], one listener's pending uploads (ids from a counter), and the answers.
//! Each step is counted in the `ml` counters (`mpt_create`, `mpt_parts`, `mpt_complete`,
//! `mpt_abort`, only when it succeeds); the stats endpoint also shows `mpt_pending`, the
//! uploads created and neither completed nor aborted, so a test can prove none is left.
//!
//! Errors: an unknown upload id, or one of another object, is 404; a part number outside
//! 1..=10000, a completion that lists no part, a part never sent, or parts out of order is
//! 400, and so is an action that is not the step's. A failed completion leaves the upload
//! pending (the client aborts it).
//!
//! Why apart: multipart steps are rare next to object GETs and may allocate; the object hot
//! path never comes here.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Deserialize;

use super::{bad, parse, P};
use crate::counters::{Kind, MlKind};
use crate::node::Node;
use crate::provider::Provider;
use crate::request::{query_param, Status};
use crate::respond::{no_such_bucket, Reply};

/// AIS's (and S3's) largest part number.
pub(crate) const MAX_PART: u32 = 10_000;

/// Which multipart step a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MptStep {
    Create,
    Part,
    Complete,
    Abort,
}

impl MptStep {
    /// The step of an object request with this method and query (`None`: not multipart).
    pub(crate) fn of(method: crate::request::Method, query: &[u8]) -> Option<MptStep> {
        use crate::request::Method;
        let upload = query_param(query, b"uploadId").is_some();
        match (method, upload) {
            (Method::Post, false) => Some(MptStep::Create),
            (Method::Post, true) => Some(MptStep::Complete),
            (Method::Put, true) => Some(MptStep::Part),
            (Method::Delete, true) => Some(MptStep::Abort),
            _ => None,
        }
    }

    /// The request kind a target counts it as: a part is a PUT, an abort a DELETE, the
    /// POSTs (create, complete) are `other`. (A proxy counts its redirect of a POST as a
    /// PUT: it answers it as one, with a 307.)
    pub(crate) fn kind(self) -> Kind {
        match self {
            MptStep::Part => Kind::Put,
            MptStep::Abort => Kind::Delete,
            MptStep::Create | MptStep::Complete => Kind::Other,
        }
    }

    /// Whether its body is kept (action messages) rather than dropped (a part's bytes).
    pub(crate) fn captures_body(self) -> bool {
        self != MptStep::Part
    }
}

/// One pending upload.
#[derive(Debug)]
struct Upload {
    provider: Provider,
    key: Box<str>,
    /// Part number → size.
    parts: BTreeMap<u32, u64>,
}

/// One listener's pending uploads.
#[derive(Debug, Default)]
pub(crate) struct Uploads {
    next: AtomicU64,
    pending: Mutex<HashMap<u64, Upload>>,
}

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Upload>> {
        // A panic while holding the lock cannot leave the map half-updated (single inserts
        // and removes), so a poisoned lock is still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Uploads created and neither completed nor aborted.
    pub(crate) fn pending(&self) -> u64 {
        self.lock().len() as u64
    }
}

/// The completion's `value`: the parts, in order.
#[derive(Deserialize)]
struct Completed {
    #[serde(rename = "part-number")]
    part_number: u32,
}

/// Answers multipart step `step` for object `key` (`bucket/name`) of `provider`; `body` is
/// the kept body (action messages), `received` the body's length (a part's size).
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer(
    r: &mut Reply<'_>,
    node: &Node,
    step: MptStep,
    provider: Provider,
    key: &str,
    query: &[u8],
    body: &[u8],
    received: u64,
) {
    r.ctr.request(step.kind());
    let ups = &node.mpt;
    let id = query_param(query, b"uploadId")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok());
    let want_action = match step {
        MptStep::Create => Some("mpt-upload"),
        MptStep::Complete => Some("mpt-complete"),
        MptStep::Abort => Some("mpt-abort"),
        MptStep::Part => None,
    };
    let msg = match want_action.map(|_| parse(body)) {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => return bad(r, format_args!("bad action message: {e}")),
        None => None,
    };
    if let (Some(want), Some(m)) = (want_action, &msg) {
        if m.action != want {
            return bad(
                r,
                format_args!("action {:?}: this request takes {want:?}", m.action),
            );
        }
    }
    if step == MptStep::Create {
        let bucket = key.split('/').next().unwrap_or("");
        if !node.cluster.buckets.contains(provider, bucket) {
            return no_such_bucket(r, P, provider, bucket);
        }
        let id = ups.next.fetch_add(1, Ordering::Relaxed) + 1;
        ups.lock().insert(
            id,
            Upload {
                provider,
                key: key.into(),
                parts: BTreeMap::new(),
            },
        );
        r.ctr.ml(MlKind::MptCreate, 1);
        let text = id.to_string();
        return r.full(Status::Ok, Some("text/plain"), text.as_bytes());
    }
    let mut pending = ups.lock();
    let Some(id) = id.filter(|id| {
        pending
            .get(id)
            .is_some_and(|u| u.provider == provider && &*u.key == key)
    }) else {
        drop(pending);
        return r.error(
            P,
            Status::NotFound,
            "NoSuchUpload",
            format_args!("no multipart upload of {key} with that uploadId"),
        );
    };
    match step {
        MptStep::Part => {
            let k = query_param(query, b"partNumber")
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|k| (1..=MAX_PART).contains(k));
            let Some(k) = k else {
                drop(pending);
                return bad(r, format_args!("partNumber must be 1..={MAX_PART}"));
            };
            if let Some(u) = pending.get_mut(&id) {
                u.parts.insert(k, received);
            }
            drop(pending);
            r.ctr.ml(MlKind::MptPart, 1);
            r.full(Status::Ok, None, b"");
        }
        MptStep::Complete => {
            let listed: Result<Vec<Completed>, _> = match msg.and_then(|m| m.value) {
                Some(v) => serde_json::from_value(v),
                None => Ok(Vec::new()),
            };
            let size = match (listed, pending.get(&id)) {
                (Ok(l), Some(u)) => complete_size(&l, &u.parts),
                (Err(e), _) => Err(format!("bad part list: {e}")),
                (_, None) => Err("no such upload".to_string()),
            };
            let size = match size {
                Ok(n) => n,
                Err(why) => {
                    drop(pending);
                    return bad(r, format_args!("cannot complete the upload: {why}"));
                }
            };
            pending.remove(&id);
            drop(pending);
            if provider.is_remote() {
                node.cluster
                    .buckets
                    .touch(provider, key.split('/').next().unwrap_or(""));
            }
            node.store.of(provider).put(key, size);
            r.ctr.ml(MlKind::MptComplete, 1);
            r.full(Status::Ok, None, b"");
        }
        MptStep::Abort => {
            pending.remove(&id);
            drop(pending);
            r.ctr.ml(MlKind::MptAbort, 1);
            r.full(Status::Ok, None, b"");
        }
        MptStep::Create => unreachable!("answered above"),
    }
}

/// The completed object's size: the listed parts must be `1..=n` in order, each sent.
fn complete_size(listed: &[Completed], parts: &BTreeMap<u32, u64>) -> Result<u64, String> {
    if listed.is_empty() {
        return Err("the completion lists no part".into());
    }
    let mut size = 0u64;
    for (i, c) in listed.iter().enumerate() {
        if c.part_number as usize != i + 1 {
            return Err(format!(
                "part {} is listed where part {} belongs",
                c.part_number,
                i + 1
            ));
        }
        let Some(&n) = parts.get(&c.part_number) else {
            return Err(format!("part {} was never uploaded", c.part_number));
        };
        size = size.saturating_add(n);
    }
    Ok(size)
}
