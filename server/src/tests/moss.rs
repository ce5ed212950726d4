//! AIS GetBatch on the built-in cluster: a proxy redirects to a random designated target,
//! which streams one TAR of the requested objects in request order, missing ones under
//! `__404__/` with `coer` (and the whole request refused without it), each counted.

use std::net::SocketAddr;

use super::{expected, Client};
use crate::*;
use ringload_core::tar;

fn cluster(targets: usize) -> ClusterHandle {
    start_cluster(ClusterConfig {
        proxies: 1,
        targets,
        base: ServeConfig {
            cores: 1,
            protocol: ServeProtocol::Ais,
            ..ServeConfig::default()
        },
    })
    .expect("start a cluster on loopback")
}

fn addr(url: &str) -> SocketAddr {
    url.strip_prefix("http://").unwrap().parse().unwrap()
}

const JSON: &str = "Content-Type: application/json\r\n";
const PATH: &str = "v1/ml/moss/b?provider=ais";

fn body(names: &[&str], coer: bool) -> Vec<u8> {
    let entries: Vec<_> = names
        .iter()
        .map(|n| serde_json::json!({"objname": n}))
        .collect();
    serde_json::json!({"in": entries, "mime": ".tar", "coer": coer, "onob": false, "strm": true})
        .to_string()
        .into_bytes()
}

/// Parses a whole archive into (name, bytes) members, checking the end blocks.
fn members(a: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let block: &[u8; tar::BLOCK] = a[at..at + tar::BLOCK].try_into().unwrap();
        if tar::is_zero(block) {
            assert_eq!(
                a.len(),
                at + tar::END_LEN,
                "two zero blocks end the archive"
            );
            assert!(a[at..].iter().all(|&b| b == 0));
            return out;
        }
        let h = tar::parse(block).unwrap();
        at += tar::BLOCK;
        let n = h.size as usize;
        let mut name = Vec::new();
        h.push_path(&mut name);
        out.push((String::from_utf8(name).unwrap(), a[at..at + n].to_vec()));
        at += tar::padded(h.size) as usize;
    }
}

/// Sends a GetBatch to the proxy and follows its redirect: (target index, answer).
fn get_batch(c: &ClusterHandle, body: &[u8]) -> (usize, super::Resp) {
    let mut p = Client::to(addr(&c.proxy_urls()[0]));
    let r = p.call("GET", PATH, JSON, body);
    assert!((300..400).contains(&r.status), "{}", r.status);
    let loc = r.header("location").unwrap().to_string();
    let targets = c.target_urls();
    let t = targets
        .iter()
        .position(|u| loc.starts_with(&format!("{u}/")))
        .unwrap();
    let rest = &loc[targets[t].len() + 1..];
    assert!(rest.starts_with(PATH), "{rest}");
    let mut tc = Client::to(addr(&targets[t]));
    (t, tc.call("GET", rest, JSON, body))
}

fn ml(c: &ClusterHandle, key: &str) -> u64 {
    c.stats()
        .iter()
        .map(|s| s.to_json()["ml"][key].as_u64().unwrap())
        .sum()
}

#[test]
fn members_come_in_request_order_from_a_random_target() {
    let c = cluster(2);
    let names: Vec<String> = (0..20).map(|i| format!("o{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        c.insert(Provider::Ais, "b", n, 100 + 37 * i as u64);
    }
    // Reverse order: the archive follows the request, not the store.
    let want: Vec<&str> = names.iter().rev().map(String::as_str).collect();
    let mut used = [0; 2];
    for _ in 0..16 {
        let (t, r) = get_batch(&c, &body(&want, false));
        used[t] += 1;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("application/x-tar"));
        let ms = members(&r.body);
        assert_eq!(ms.len(), want.len());
        for ((name, bytes), w) in ms.iter().zip(&want) {
            let key = format!("b/{w}");
            assert_eq!(name, &key);
            let size = c.object_size(Provider::Ais, "b", w).unwrap() as usize;
            assert_eq!(bytes, &expected(&key, 0, size));
        }
    }
    assert!(
        used[0] > 0 && used[1] > 0,
        "both targets designated: {used:?}"
    );
    assert_eq!(ml(&c, "get_batch"), 16);
    assert_eq!(ml(&c, "get_batch_members"), 16 * 20);
    assert_eq!(ml(&c, "get_batch_missing"), 0);
}

#[test]
fn missing_members_under_coer_and_refused_without() {
    let c = cluster(2);
    c.insert(Provider::Ais, "b", "here", 1000);
    c.insert(Provider::Ais, "b", "also", 1);
    let names = ["here", "gone", "also", "lost"];
    let (_, r) = get_batch(&c, &body(&names, true));
    assert_eq!(r.status, 200, "{}", r.text());
    let ms = members(&r.body);
    let got: Vec<(&str, usize)> = ms.iter().map(|m| (m.0.as_str(), m.1.len())).collect();
    assert_eq!(
        got,
        [
            ("b/here", 1000),
            ("__404__/b/gone", 0),
            ("b/also", 1),
            ("__404__/b/lost", 0)
        ]
    );
    assert_eq!((ml(&c, "get_batch"), ml(&c, "get_batch_members")), (1, 2));
    assert_eq!(ml(&c, "get_batch_missing"), 2);
    // Without coer: 404 before any archive byte, nothing counted.
    let (_, r) = get_batch(&c, &body(&names, false));
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("b/gone"), "{}", r.text());
    assert_eq!(ml(&c, "get_batch"), 1);
    // A bad body is a 400.
    let (_, r) = get_batch(&c, b"{\"in\":7}");
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn long_names_and_keep_alive() {
    let c = cluster(1);
    let long = format!("{}/{}", "d".repeat(160), "f".repeat(90));
    c.insert(Provider::Ais, "b", &long, 5000);
    c.insert(Provider::Ais, "b", "short", 0);
    let (_, r) = get_batch(&c, &body(&[&long, "short"], false));
    assert_eq!(r.status, 200);
    // The declared length is the archive's.
    assert_eq!(
        r.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    // PAX header for the long name, then the member itself.
    let a = &r.body;
    let h = tar::parse(a[..tar::BLOCK].try_into().unwrap()).unwrap();
    assert_eq!(h.kind, tar::Kind::PaxNext);
    let pax = &a[tar::BLOCK..tar::BLOCK + h.size as usize];
    assert_eq!(
        tar::pax_path(pax).unwrap(),
        Some(format!("b/{long}").as_bytes())
    );
    // Two batches on one target connection.
    let t = &c.target_urls()[0];
    let mut tc = Client::to(addr(t));
    for _ in 0..2 {
        let r = tc.call("GET", PATH, JSON, &body(&["short"], false));
        assert_eq!(r.status, 200);
        assert_eq!(members(&r.body), vec![("b/short".to_string(), vec![])]);
    }
}
