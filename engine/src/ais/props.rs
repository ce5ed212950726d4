//! Bucket properties set before a run (`--bprops`, aisloader's -bprops): the mirror and
//! erasure-coding sections aisloader applies, parsed and checked before any connection, then
//! read back from the cluster and patched where they differ.
//!
//! Owns [`Bprops`] ([`parse`]: aisloader's leniency, defaults and ranges), [`head`] (`HEAD
//! /v1/buckets/<b>?<query>`, the `Ais-Bucket-Props` header's JSON), [`changes`] (the sections
//! to send) and [`set`] (`PATCH /v1/buckets/<b>?<query>` with
//! `{"action":"set-bprops","value":{..}}`).
//!
//! Invariants: as aisloader, only `mirror` (`enabled`, `copies`, `burst_buffer`) and `ec`
//! (`enabled`, `objsize_limit`, `data_slices`, `parity_slices`) are applied, and a section is
//! sent only when its `enabled` differs from the bucket's; any other key is refused by
//! [`parse`] naming it (aisloader drops it silently), so nothing the user gives is ignored.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{bucket_url, ctl_error, http_error, json_headers, AisError, Bucket};
use crate::ctl::{Client, Request};

/// The response header carrying a bucket's properties (AIS's `apc.HdrBucketProps`).
pub const PROPS_HEADER: &str = "Ais-Bucket-Props";

/// The properties `--bprops` sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bprops {
    #[serde(default)]
    pub mirror: Option<Mirror>,
    #[serde(default)]
    pub ec: Option<Ec>,
}

/// `mirror`: intra-cluster copies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub copies: i64,
    #[serde(default)]
    pub burst_buffer: i64,
}

/// `ec`: erasure coding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ec {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub objsize_limit: i64,
    #[serde(default)]
    pub data_slices: i64,
    #[serde(default)]
    pub parity_slices: i64,
}

/// Parses `--bprops` as aisloader does: trailing commas are dropped and a text that does not
/// start with `{` is wrapped in braces (`"mirror":{...}` works). Enabled sections get
/// aisloader's defaults (ec: 1 data and 1 parity slice; mirror: 2 copies, burst 512) and its
/// ranges (slices 1..=32; mirror copies exactly 2). The error says what is wrong, without the
/// flag's name (the caller adds it).
pub fn parse(text: &str) -> Result<Bprops, String> {
    let t = text.trim().trim_end_matches(',').trim_end();
    let wrapped;
    let t = if t.starts_with('{') {
        t
    } else {
        wrapped = format!("{{{t}}}");
        &wrapped
    };
    let mut p: Bprops = serde_json::from_str(t).map_err(|e| {
        format!(
            "not the bucket properties aisloader applies ({e}); give JSON such as \
             {{\"mirror\":{{\"enabled\":true,\"copies\":2}}}} or \
             {{\"ec\":{{\"enabled\":true,\"data_slices\":2,\"parity_slices\":1}}}} (only mirror: \
             enabled, copies, burst_buffer and ec: enabled, objsize_limit, data_slices, \
             parity_slices are applied)"
        )
    })?;
    if let Some(ec) = p.ec.as_mut().filter(|e| e.enabled) {
        if ec.parity_slices == 0 {
            ec.parity_slices = 1;
        }
        if ec.data_slices == 0 {
            ec.data_slices = 1;
        }
        for (what, n) in [("parity", ec.parity_slices), ("data", ec.data_slices)] {
            if !(1..=32).contains(&n) {
                return Err(format!(
                    "invalid number of {what} slices: {n}, it must be between 1 and 32"
                ));
            }
        }
    }
    if let Some(m) = p.mirror.as_mut().filter(|m| m.enabled) {
        if m.burst_buffer == 0 {
            m.burst_buffer = 512;
        }
        if m.copies == 0 {
            m.copies = 2;
        }
        if m.copies != 2 {
            return Err(format!(
                "invalid number of mirror copies: {}, it must equal 2",
                m.copies
            ));
        }
    }
    if p.mirror.is_none() && p.ec.is_none() {
        return Err(
            "sets nothing: give a \"mirror\" or an \"ec\" section (the properties aisloader \
             applies)"
                .into(),
        );
    }
    Ok(p)
}

/// The bucket's properties: `HEAD /v1/buckets/<b>?<query>`, the JSON of the
/// `Ais-Bucket-Props` header (an empty object when the header is absent).
pub fn head(
    c: &mut Client,
    endpoint: &str,
    b: &Bucket,
    headers: &[(&str, String)],
) -> Result<Value, AisError> {
    let op = format!("read of {b}'s properties");
    let url = bucket_url(endpoint, b, "");
    let req = Request {
        method: "HEAD",
        url: &url,
        headers,
        body: b"",
    };
    let resp = c.send(&req).map_err(ctl_error(&op))?;
    if !resp.is_success() {
        return Err(http_error(&op, &resp));
    }
    match resp.header(PROPS_HEADER) {
        None => Ok(Value::Object(Map::new())),
        Some(text) => serde_json::from_str(text).map_err(|e| AisError::BadReply {
            op,
            reason: format!("the {PROPS_HEADER} header is not JSON: {e}"),
        }),
    }
}

/// The `set-bprops` value for `wanted` against the bucket's `current` properties: each
/// section whose `enabled` differs, in full; `None` when nothing differs (aisloader's rule).
pub fn changes(wanted: &Bprops, current: &Value) -> Option<Value> {
    let enabled = |section: &str| current[section]["enabled"].as_bool().unwrap_or(false);
    let mut out = Map::new();
    if let Some(m) = wanted.mirror.filter(|m| m.enabled != enabled("mirror")) {
        out.insert("mirror".into(), json!(m));
    }
    if let Some(e) = wanted.ec.filter(|e| e.enabled != enabled("ec")) {
        out.insert("ec".into(), json!(e));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Sets properties: `PATCH /v1/buckets/<b>?<query>` with `{"action":"set-bprops","value":v}`.
pub fn set(
    c: &mut Client,
    endpoint: &str,
    b: &Bucket,
    value: &Value,
    headers: &[(&str, String)],
) -> Result<(), AisError> {
    let op = format!("set-bprops of {b}");
    let url = bucket_url(endpoint, b, "");
    let body =
        serde_json::to_vec(&json!({"action": "set-bprops", "value": value})).map_err(|e| {
            AisError::BadReply {
                op: op.clone(),
                reason: e.to_string(),
            }
        })?;
    let headers = json_headers(headers);
    let req = Request {
        method: "PATCH",
        url: &url,
        headers: &headers,
        body: &body,
    };
    let resp = c.send(&req).map_err(ctl_error(&op))?;
    if resp.is_success() {
        Ok(())
    } else {
        Err(http_error(&op, &resp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::fake::{json as json_reply, reply, Fake};
    use std::time::Duration;

    #[test]
    fn parses_with_aisloaders_leniency_and_defaults() {
        let p = parse(r#"{"mirror":{"enabled":true}},"#).unwrap();
        assert_eq!(
            p.mirror,
            Some(Mirror {
                enabled: true,
                copies: 2,
                burst_buffer: 512
            })
        );
        let p = parse(r#""ec":{"enabled":true,"data_slices":4}"#).unwrap();
        let ec = p.ec.unwrap();
        assert_eq!((ec.data_slices, ec.parity_slices), (4, 1));
        // A disabled section keeps its zeros.
        let p = parse(r#"{"mirror":{"enabled":false}}"#).unwrap();
        assert_eq!(p.mirror.unwrap().copies, 0);
    }

    #[test]
    fn refuses_what_aisloader_would_not_apply_or_refuses() {
        for (text, want) in [
            ("{", "not the bucket properties"),
            (r#"{"versioning":{"enabled":true}}"#, "versioning"),
            (r#"{"mirror":{"enabled":true,"pct":3}}"#, "pct"),
            (r#"{"mirror":{"enabled":true,"copies":3}}"#, "must equal 2"),
            (
                r#"{"ec":{"enabled":true,"parity_slices":33}}"#,
                "parity slices: 33",
            ),
            ("{}", "sets nothing"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn sends_only_the_sections_whose_enabled_differs() {
        let wanted = parse(r#"{"mirror":{"enabled":true},"ec":{"enabled":false}}"#).unwrap();
        let cur = json!({"mirror": {"enabled": false}, "ec": {"enabled": false}});
        let v = changes(&wanted, &cur).unwrap();
        assert_eq!(
            v,
            json!({"mirror": {"enabled": true, "copies": 2, "burst_buffer": 512}})
        );
        let cur = json!({"mirror": {"enabled": true}});
        assert_eq!(changes(&wanted, &cur), None);
        assert!(changes(&wanted, &json!({})).is_some());
    }

    #[test]
    fn heads_and_patches_the_bucket() {
        let srv = Fake::start(|s| match s.method.as_str() {
            "HEAD" => reply(
                200,
                &[(PROPS_HEADER, r#"{"mirror":{"enabled":false,"copies":1}}"#)],
                b"",
            ),
            "PATCH" if s.path() == "/v1/buckets/no" => {
                json_reply(403, r#"{"message":"not allowed"}"#)
            }
            _ => reply(200, &[], b""),
        });
        let mut c = Client::new(Duration::from_secs(5));
        let bk = Bucket::parse("ais://bk").unwrap();
        let auth = [("Authorization", "Bearer t".to_string())];
        let cur = head(&mut c, &srv.url(""), &bk, &auth).unwrap();
        assert_eq!(cur["mirror"]["copies"], 1);
        let v = json!({"mirror": {"enabled": true, "copies": 2, "burst_buffer": 512}});
        set(&mut c, &srv.url(""), &bk, &v, &auth).unwrap();
        let err = set(&mut c, &srv.url(""), &Bucket::parse("no").unwrap(), &v, &[]).unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{err}");
        let seen = srv.seen();
        assert_eq!(
            (seen[0].method.as_str(), seen[0].target.as_str()),
            ("HEAD", "/v1/buckets/bk?provider=ais")
        );
        assert_eq!(
            (seen[1].method.as_str(), seen[1].target.as_str()),
            ("PATCH", "/v1/buckets/bk?provider=ais")
        );
        assert_eq!(seen[1].json(), json!({"action": "set-bprops", "value": v}));
        assert_eq!(seen[1].header("authorization"), Some("Bearer t"));
    }
}
