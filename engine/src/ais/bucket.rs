//! Bucket setup and cleanup calls against an AIS proxy, as aisloader makes them: presence,
//! create, destroy, and deleting a list of object names.
//!
//! Owns [`exists`], [`create`], [`destroy`] and [`delete_names`]. Every call is one JSON
//! control message `{"action": ...}` on `/v1/buckets/<name>?<bucket query>` with
//! `Content-Type: application/json` plus the caller's headers (e.g. `Authorization`).
//!
//! Invariants: the presence query sends no `"value"` (a null value is what makes AIS treat it
//! as a bucket query rather than an object listing); "already exists" on create and 404 on
//! presence are answers, not errors; [`delete_names`] never sends more than `batch` names in
//! one request and does not wait for the xactions it starts.

use serde::Serialize;

use super::{bucket_url, ctl_error, http_error, json_headers, AisError, Bucket};
use crate::ctl::{Client, Request, Response};

/// Names per delete-listrange request when the caller passes 0 (aisloader's
/// `-evict-batchsize` default; `--evict-batchsize` sets it).
pub const DEFAULT_DELETE_BATCH: usize = 1000;

/// `{"action": .., "name": ..}` with no `value`.
#[derive(Serialize)]
struct Action<'a> {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct ListRange<'a> {
    action: &'static str,
    value: ObjNames<'a>,
}

#[derive(Serialize)]
struct ObjNames<'a> {
    objnames: &'a [String],
}

/// Sends one control message and returns the reply, whatever its status.
fn call(
    c: &mut Client,
    method: &str,
    url: &str,
    body: &impl Serialize,
    headers: &[(&str, String)],
    op: &str,
) -> Result<Response, AisError> {
    let body = serde_json::to_vec(body).map_err(|e| AisError::BadReply {
        op: op.to_string(),
        reason: e.to_string(),
    })?;
    let headers = json_headers(headers);
    let req = Request {
        method,
        url,
        headers: &headers,
        body: &body,
    };
    c.send(&req).map_err(ctl_error(op))
}

/// Whether the bucket is present in the cluster: `GET /v1/buckets/<name>?<query>&presence=2`
/// with `{"action":"list","name":"<name>"}`. The reply is a JSON array of buckets; present
/// means non-empty. 404 means absent.
pub fn exists(
    c: &mut Client,
    endpoint: &str,
    b: &Bucket,
    headers: &[(&str, String)],
) -> Result<bool, AisError> {
    let op = format!("presence check of {b}");
    let url = bucket_url(endpoint, b, "presence=2");
    let resp = call(
        c,
        "GET",
        &url,
        &Action {
            action: "list",
            name: Some(&b.name),
        },
        headers,
        &op,
    )?;
    if resp.status == 404 {
        return Ok(false);
    }
    if !resp.is_success() {
        return Err(http_error(&op, &resp));
    }
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let list: Option<Vec<serde_json::Value>> =
        serde_json::from_slice(&resp.body).map_err(|e| AisError::BadReply {
            op: op.clone(),
            reason: format!("expected a JSON array of buckets: {e}"),
        })?;
    Ok(list.is_some_and(|l| !l.is_empty()))
}

/// Creates the bucket: `POST /v1/buckets/<name>?<query>` with `{"action":"create-bck"}`.
/// "Already exists" (409, or a message saying so) counts as success.
pub fn create(
    c: &mut Client,
    endpoint: &str,
    b: &Bucket,
    headers: &[(&str, String)],
) -> Result<(), AisError> {
    let op = format!("create of {b}");
    let url = bucket_url(endpoint, b, "");
    let resp = call(
        c,
        "POST",
        &url,
        &Action {
            action: "create-bck",
            name: None,
        },
        headers,
        &op,
    )?;
    if resp.is_success() || resp.status == 409 {
        return Ok(());
    }
    let err = http_error(&op, &resp);
    match &err {
        AisError::Http { message, .. } if message.contains("already exists") => Ok(()),
        _ => Err(err),
    }
}

/// Destroys the bucket and its objects: `DELETE /v1/buckets/<name>?<query>` with
/// `{"action":"destroy-bck"}`. A missing bucket is an error (the caller decides whether
/// that matters).
pub fn destroy(
    c: &mut Client,
    endpoint: &str,
    b: &Bucket,
    headers: &[(&str, String)],
) -> Result<(), AisError> {
    let op = format!("destroy of {b}");
    let url = bucket_url(endpoint, b, "");
    let resp = call(
        c,
        "DELETE",
        &url,
        &Action {
            action: "destroy-bck",
            name: None,
        },
        headers,
        &op,
    )?;
    if resp.is_success() {
        Ok(())
    } else {
        Err(http_error(&op, &resp))
    }
}

/// Deletes objects by name (the cleanup of remote buckets): `DELETE
/// /v1/buckets/<name>?<query>` with `{"action":"delete-listrange","value":{"objnames":[..]}}`
/// in batches of `batch` names (0 means [`DEFAULT_DELETE_BATCH`]). Returns the number of names
/// sent. Each reply is the id of an asynchronous xaction, which this does **not** wait on
/// (aisloader does): objects may still be disappearing when it returns. Stops at the first
/// failing batch.
pub fn delete_names(
    c: &mut Client,
    endpoint: &str,
    b: &Bucket,
    names: &[String],
    batch: usize,
    headers: &[(&str, String)],
) -> Result<usize, AisError> {
    let batch = if batch == 0 {
        DEFAULT_DELETE_BATCH
    } else {
        batch
    };
    let url = bucket_url(endpoint, b, "");
    let mut sent = 0;
    for chunk in names.chunks(batch) {
        let op = format!(
            "delete of {} objects from {b} (after {sent} sent)",
            chunk.len()
        );
        let msg = ListRange {
            action: "delete-listrange",
            value: ObjNames { objnames: chunk },
        };
        let resp = call(c, "DELETE", &url, &msg, headers, &op)?;
        if !resp.is_success() {
            return Err(http_error(&op, &resp));
        }
        sent += chunk.len();
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::fake::{json, reply, Fake};
    use std::time::Duration;

    fn client() -> Client {
        Client::new(Duration::from_secs(5))
    }

    fn auth() -> [(&'static str, String); 1] {
        [("Authorization", "Bearer tok".to_string())]
    }

    #[test]
    fn presence_asks_a_bucket_query_without_value() {
        let srv = Fake::start(|s| match s.path() {
            "/v1/buckets/there" => json(
                200,
                r#"[{"name":"there","provider":"ais","namespace":{"uuid":"","name":""}}]"#,
            ),
            "/v1/buckets/empty" => json(200, "[]"),
            "/v1/buckets/null" => json(200, "null"),
            _ => json(404, r#"{"message":"bucket does not exist"}"#),
        });
        let ep = srv.url("");
        let mut c = client();
        for (name, want) in [
            ("there", true),
            ("empty", false),
            ("null", false),
            ("gone", false),
        ] {
            let bk = Bucket::parse(name).unwrap();
            assert_eq!(exists(&mut c, &ep, &bk, &auth()).unwrap(), want, "{name}");
        }
        let s = &srv.seen()[0];
        assert_eq!(
            (s.method.as_str(), s.target.as_str()),
            ("GET", "/v1/buckets/there?provider=ais&presence=2")
        );
        assert_eq!(s.header("content-type"), Some("application/json"));
        assert_eq!(s.header("authorization"), Some("Bearer tok"));
        let v = s.json();
        assert_eq!(v["action"], "list");
        assert_eq!(v["name"], "there");
        assert!(v.get("value").is_none(), "no value key at all: {v}");
    }

    #[test]
    fn presence_errors_carry_the_message() {
        let srv = Fake::start(|_| json(401, r#"{"message":"token required"}"#));
        let err = exists(
            &mut client(),
            &srv.url(""),
            &Bucket::parse("x").unwrap(),
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(&err, AisError::Http { status: 401, message, .. } if message == "token required"),
            "{err}"
        );
    }

    #[test]
    fn create_posts_create_bck_and_tolerates_already_exists() {
        let srv = Fake::start(|s| match s.path() {
            "/v1/buckets/new" => reply(200, &[], b""),
            "/v1/buckets/dup" => json(409, r#"{"message":"bucket \"ais://dup\" already exists"}"#),
            "/v1/buckets/dup2" => json(
                400,
                r#"{"message":"bucket \"ais://@remais/dup2\" already exists"}"#,
            ),
            _ => json(500, r#"{"message":"disk full"}"#),
        });
        let ep = srv.url("");
        let mut c = client();
        create(&mut c, &ep, &Bucket::parse("new").unwrap(), &auth()).unwrap();
        create(&mut c, &ep, &Bucket::parse("dup").unwrap(), &auth()).unwrap();
        create(
            &mut c,
            &ep,
            &Bucket::parse("ais://@remais/dup2").unwrap(),
            &auth(),
        )
        .unwrap();
        let err = create(&mut c, &ep, &Bucket::parse("bad").unwrap(), &auth()).unwrap_err();
        assert!(
            err.to_string().contains("disk full") && err.to_string().contains("ais://bad"),
            "{err}"
        );
        let seen = srv.seen();
        assert_eq!(
            (seen[0].method.as_str(), seen[0].target.as_str()),
            ("POST", "/v1/buckets/new?provider=ais")
        );
        assert_eq!(seen[0].json(), serde_json::json!({"action": "create-bck"}));
        assert_eq!(
            seen[2].target,
            "/v1/buckets/dup2?provider=ais&namespace=%40remais"
        );
    }

    #[test]
    fn destroy_deletes_with_destroy_bck() {
        let srv = Fake::start(|s| match s.path() {
            "/v1/buckets/bk" => reply(200, &[], b""),
            _ => json(404, r#"{"message":"bucket \"ais://nope\" does not exist"}"#),
        });
        let ep = srv.url("");
        let mut c = client();
        destroy(&mut c, &ep, &Bucket::parse("ais://bk").unwrap(), &auth()).unwrap();
        let err = destroy(&mut c, &ep, &Bucket::parse("nope").unwrap(), &auth()).unwrap_err();
        assert!(matches!(err, AisError::Http { status: 404, .. }), "{err}");
        let s = &srv.seen()[0];
        assert_eq!(
            (s.method.as_str(), s.target.as_str()),
            ("DELETE", "/v1/buckets/bk?provider=ais")
        );
        assert_eq!(s.json(), serde_json::json!({"action": "destroy-bck"}));
    }

    #[test]
    fn delete_names_sends_batches_of_listrange() {
        let srv = Fake::start(|_| reply(200, &[], b"xaction-id"));
        let names: Vec<String> = (0..2500).map(|i| format!("dir/obj-{i}")).collect();
        let bk = Bucket::parse("s3://cloud").unwrap();
        let sent = delete_names(&mut client(), &srv.url(""), &bk, &names, 0, &auth()).unwrap();
        assert_eq!(sent, 2500);
        let seen = srv.seen();
        let sizes: Vec<usize> = seen
            .iter()
            .map(|s| s.json()["value"]["objnames"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        let got: Vec<String> = seen
            .iter()
            .flat_map(|s| {
                assert_eq!(
                    (s.method.as_str(), s.target.as_str()),
                    ("DELETE", "/v1/buckets/cloud?provider=aws")
                );
                assert_eq!(s.json()["action"], "delete-listrange");
                assert_eq!(s.header("authorization"), Some("Bearer tok"));
                s.json()["value"]["objnames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(got, names);
        assert_eq!(
            delete_names(&mut client(), &srv.url(""), &bk, &[], 7, &[]).unwrap(),
            0
        );
        assert_eq!(srv.seen().len(), 3, "no request for an empty list");
    }

    #[test]
    fn delete_names_stops_at_a_failing_batch() {
        let srv = Fake::start(|s| {
            if s.json()["value"]["objnames"][0] == "c" {
                json(403, r#"{"message":"forbidden"}"#)
            } else {
                reply(200, &[], b"")
            }
        });
        let names: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let bk = Bucket::parse("gs://g").unwrap();
        let err = delete_names(&mut client(), &srv.url(""), &bk, &names, 2, &[]).unwrap_err();
        assert!(
            err.to_string().contains("after 2 sent") && err.to_string().contains("forbidden"),
            "{err}"
        );
        assert_eq!(srv.seen().len(), 2);
    }
}
