//! The AIS cluster map (`GET /v1/daemon?what=smap`), read once before a `--random-proxy` run
//! for the proxies' public URLs.
//!
//! Owns [`fetch`] and [`proxy_urls`]. The map's JSON is AIStore's `meta.Smap`: `pmap` and
//! `tmap` (node id to node), `proxy_si` (the primary), `version` (a string); each node's
//! `public_net.direct_url` is where clients reach it. Proxies in maintenance or being
//! decommissioned (flags bits 2 and 3, as AIStore's `SnodeMaint`/`SnodeDecomm`) are left out,
//! as AIStore's own random-proxy choice leaves them out. Unknown fields are ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ctl_error, http_error, AisError};
use crate::ctl::{Client, Request};

/// AIStore's `SnodeMaint | SnodeDecomm`.
const MAINT_OR_DECOMM: u64 = 1 << 2 | 1 << 3;

#[derive(Debug, Deserialize)]
pub struct Smap {
    #[serde(default)]
    pub pmap: BTreeMap<String, Snode>,
    #[serde(default)]
    pub tmap: BTreeMap<String, Snode>,
}

#[derive(Debug, Deserialize)]
pub struct Snode {
    #[serde(default)]
    pub public_net: NetInfo,
    #[serde(default)]
    pub flags: u64,
}

#[derive(Debug, Default, Deserialize)]
pub struct NetInfo {
    #[serde(default)]
    pub direct_url: String,
}

/// Reads the cluster map from the node at `endpoint` (`http[s]://host:port[/base]`).
pub fn fetch(c: &mut Client, endpoint: &str, headers: &[(&str, String)]) -> Result<Smap, AisError> {
    let op = "cluster map request (GET /v1/daemon?what=smap)";
    let url = format!("{endpoint}/v1/daemon?what=smap");
    let resp = c
        .send(&Request {
            method: "GET",
            url: &url,
            headers,
            body: b"",
        })
        .map_err(ctl_error(op))?;
    if !resp.is_success() {
        return Err(http_error(op, &resp));
    }
    parse(&resp.body).map_err(|reason| AisError::BadReply {
        op: op.to_string(),
        reason,
    })
}

/// Decodes a cluster map.
pub fn parse(body: &[u8]) -> Result<Smap, String> {
    serde_json::from_slice(body).map_err(|e| format!("expected AIS's cluster map JSON: {e}"))
}

/// The public URLs of the proxies that take requests, in the map's (id) order, without a
/// trailing `/`.
pub fn proxy_urls(m: &Smap) -> Vec<String> {
    m.pmap
        .values()
        .filter(|p| p.flags & MAINT_OR_DECOMM == 0 && !p.public_net.direct_url.is_empty())
        .map(|p| p.public_net.direct_url.trim_end_matches('/').to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_come_from_the_pmap_in_id_order_without_maintenance() {
        let body = br#"{
            "pmap": {
                "p2": {"public_net": {"node_ip_addr": "10.0.0.2", "daemon_port": "8080",
                       "direct_url": "http://10.0.0.2:8080"}, "daemon_type": "proxy",
                       "daemon_id": "p2", "flags": 0},
                "p1": {"public_net": {"direct_url": "https://10.0.0.1:8080/"}, "flags": 1},
                "p3": {"public_net": {"direct_url": "http://10.0.0.3:8080"}, "flags": 4},
                "p4": {"public_net": {"direct_url": "http://10.0.0.4:8080"}, "flags": 8}
            },
            "tmap": {"t1": {"public_net": {"direct_url": "http://10.0.0.9:8081"}}},
            "proxy_si": {"daemon_id": "p1"},
            "version": "7",
            "uuid": "x"
        }"#;
        let m = parse(body).unwrap();
        assert_eq!(m.tmap.len(), 1);
        assert_eq!(
            proxy_urls(&m),
            ["https://10.0.0.1:8080", "http://10.0.0.2:8080"]
        );
        assert!(proxy_urls(&parse(br#"{"pmap": {}}"#).unwrap()).is_empty());
        assert!(parse(b"[1]").unwrap_err().contains("cluster map"));
    }

    #[test]
    fn fetch_asks_the_daemon_endpoint_and_names_http_errors() {
        use crate::ctl::fake::{json, Fake};
        let fake = Fake::start(|s| match s.target.as_str() {
            "/v1/daemon?what=smap" => json(
                200,
                r#"{"pmap":{"p":{"public_net":{"direct_url":"http://127.0.0.1:1"}}},"tmap":{}}"#,
            ),
            _ => json(404, r#"{"message":"no"}"#),
        });
        let mut c = Client::new(std::time::Duration::from_secs(5));
        let m = fetch(&mut c, &fake.url(""), &[]).unwrap();
        assert_eq!(proxy_urls(&m), ["http://127.0.0.1:1"]);
        let err = fetch(&mut c, &fake.url("/nope"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HTTP 404"), "{err}");
    }
}
