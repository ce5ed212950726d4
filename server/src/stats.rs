//! Per-listener statistics: [`ListenerStats`] for the library, and the `GET /v1/ringload/stats`
//! endpoint that answers the same as JSON on any listener and protocol.
//!
//! JSON shape: `{"role":"proxy|target|server","protocol":"http|ais|s3","url":..,
//! "requests":{"get":n,"put":n,"head":n,"delete":n,"list":n,"bucket":n,"other":n},
//! "redirects":n,"status":{"200":n,...},"faults":{"reset":n,"truncate":n,"500":n,"503":n,
//! "delay":n},"bytes_sent":n,"bytes_received":n,"not_found":n,"errors":n,"authorized":n,
//! "latest_ver":n,"ml":{"get_batch":n,"get_batch_members":n,"get_batch_missing":n,
//! "shard_puts":n,"archpath_gets":n,"mpt_create":n,"mpt_parts":n,"mpt_complete":n,
//! "mpt_abort":n,"mpt_pending":n}}` (`mpt_pending`: AIS multipart uploads created and neither
//! completed nor aborted, on this listener). `status` lists only statuses answered at least once; `bytes_sent` counts
//! object body bytes sent (GETs), `bytes_received` request body bytes received; `authorized`
//! counts requests with an `Authorization` header, `latest_ver` AIS GETs with
//! `latest-ver=true`.
//!
//! Invariant: stats requests are not counted in themselves (neither as a request nor a status).

use serde_json::{json, Map, Value};

use super::counters::ServerCounters;
use super::reactor::Shared;
use super::request::Status;
use super::respond::Reply;

/// One listener's identity and counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerStats {
    /// `server` (stand-alone), `proxy` or `target`.
    pub role: &'static str,
    /// `http`, `ais` or `s3`.
    pub protocol: &'static str,
    /// `http://IP:PORT` (`https://` over TLS).
    pub url: String,
    pub counters: ServerCounters,
}

impl ListenerStats {
    /// The stats endpoint's JSON document (see the module doc).
    pub fn to_json(&self) -> Value {
        let c = &self.counters;
        let status: Map<String, Value> = c
            .status
            .nonzero()
            .map(|(code, n)| (code.to_string(), Value::from(n)))
            .collect();
        json!({
            "role": self.role,
            "protocol": self.protocol,
            "url": self.url,
            "requests": {
                "get": c.gets, "put": c.puts, "head": c.heads, "delete": c.deletes,
                "list": c.lists, "bucket": c.bucket_ops, "other": c.other,
            },
            "redirects": c.redirects,
            "status": status,
            "faults": {
                "reset": c.faults.reset, "truncate": c.faults.truncate,
                "500": c.faults.http500, "503": c.faults.http503, "delay": c.faults.delay,
            },
            "bytes_sent": c.bytes_out,
            "bytes_received": c.bytes_in,
            "not_found": c.not_found,
            "errors": c.errors,
            "authorized": c.authorized,
            "latest_ver": c.latest_ver,
            "ml": {
                "get_batch": c.ml.get_batch,
                "get_batch_members": c.ml.get_batch_members,
                "get_batch_missing": c.ml.get_batch_missing,
                "shard_puts": c.ml.shard_puts,
                "archpath_gets": c.ml.archpath_gets,
                "mpt_create": c.ml.mpt_create,
                "mpt_parts": c.ml.mpt_parts,
                "mpt_complete": c.ml.mpt_complete,
                "mpt_abort": c.ml.mpt_abort,
            },
        })
    }
}

/// Answers `GET /v1/ringload/stats` (uncounted).
pub(crate) fn answer(r: &mut Reply<'_>, shared: &Shared) {
    r.counted = false;
    r.scratch.clear();
    let mut doc = shared.stats().to_json();
    doc["ml"]["mpt_pending"] = Value::from(shared.node.mpt.pending());
    // Writing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *r.scratch, &doc);
    r.send_scratch(Status::Ok, Some("application/json"));
}
