//! AIS cluster mode over loopback: proxies redirect to the HRW owner, targets refuse PUTs that
//! skipped a proxy, `Expect: 100-continue` PUTs are redirected unread, lists merge targets.

use std::net::SocketAddr;

use super::{expected, Client};
use crate::*;

fn cluster(proxies: usize, targets: usize, faults: Faults) -> ClusterHandle {
    start_cluster(ClusterConfig {
        proxies,
        targets,
        base: ServeConfig {
            cores: 1,
            protocol: ServeProtocol::Ais,
            faults,
            ..ServeConfig::default()
        },
    })
    .expect("start a cluster on loopback")
}

fn addr(url: &str) -> SocketAddr {
    url.strip_prefix("http://").unwrap().parse().unwrap()
}

/// Splits a Location into (target index, path and query without the leading `/`).
fn location(c: &ClusterHandle, loc: &str) -> (usize, String) {
    let targets = c.target_urls();
    let t = targets
        .iter()
        .position(|u| loc.starts_with(&format!("{u}/")))
        .unwrap_or_else(|| panic!("{loc} is on no target of {targets:?}"));
    (t, loc[targets[t].len() + 1..].to_string())
}

#[test]
fn cluster_redirects_to_the_owning_target() {
    let c = cluster(2, 3, Faults::default());
    assert_eq!((c.proxy_urls().len(), c.target_urls().len()), (2, 3));
    c.create_bucket(Provider::Ais, "b");
    let mut p1 = Client::to(addr(&c.proxy_urls()[0]));
    let mut p2 = Client::to(addr(&c.proxy_urls()[1]));
    let mut used = [false; 3];
    for i in 0..30 {
        let path = format!("v1/objects/b/o{i}?provider=ais");
        let r1 = p1.call("GET", &path, "", b"");
        assert_eq!((r1.status, r1.body.len()), (301, 0));
        let (t1, rest1) = location(&c, r1.header("location").unwrap());
        let r2 = p2.call("HEAD", &path, "", b"");
        assert_eq!(r2.status, 301);
        let (t2, rest2) = location(&c, r2.header("location").unwrap());
        assert_eq!(t1, t2, "both proxies send o{i} to the same target");
        assert_eq!(t1, c.owner("b", &format!("o{i}")));
        used[t1] = true;
        let (prefix, utm) = rest1.split_once("&utm=").unwrap();
        assert_eq!(prefix, format!("{path}&pid=p1"));
        assert!(
            utm.len() >= 19 && utm.bytes().all(|b| b.is_ascii_digit()),
            "{utm}"
        );
        assert!(rest2.starts_with(&format!("{path}&pid=p2&utm=")));
    }
    assert!(
        used.iter().all(|&u| u),
        "30 objects should reach all 3 targets"
    );
    // Without a query, the markers start one.
    let r = p1.call("GET", "v1/objects/b/o0", "", b"");
    assert!(location(&c, r.header("location").unwrap())
        .1
        .starts_with("v1/objects/b/o0?pid=p1&utm="));
    let s = c.stats();
    assert_eq!(
        (s[0].role, s[0].counters.redirects, s[0].counters.gets),
        ("proxy", 31, 31)
    );
    assert_eq!((s[1].counters.redirects, s[1].counters.heads), (30, 30));
    assert!(s[2..]
        .iter()
        .all(|t| t.role == "target" && t.counters.gets == 0));
}

#[test]
fn cluster_put_follows_the_redirect_and_targets_refuse_direct_puts() {
    let c = cluster(2, 3, Faults::default());
    let mut p1 = Client::to(addr(&c.proxy_urls()[0]));
    // PUT into a missing bucket: the proxy answers 404 itself (after dropping the body).
    let r = p1.call("PUT", "v1/objects/nb/o?provider=ais", "", &[0u8; 100]);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "bucket \"ais://nb\" does not exist");
    c.create_bucket(Provider::Ais, "b");

    let body = vec![7u8; 1000];
    let r = p1.call("PUT", "v1/objects/b/x%20y?provider=ais", "", &body);
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("connection"),
        None,
        "a PUT without Expect stays keep-alive"
    );
    let (t, rest) = location(&c, r.header("location").unwrap());
    assert_eq!(t, c.owner("b", "x y"));
    let mut target = Client::to(addr(&c.target_urls()[t]));
    assert_eq!(target.call("PUT", &rest, "", &body).status, 200);
    assert_eq!(c.object_size(Provider::Ais, "b", "x y"), Some(1000));

    // GET through the proxy, then from the target; the bytes and checksum are the object's.
    let r = p1.call("GET", "v1/objects/b/x%20y?provider=ais", "", b"");
    let (t2, rest) = location(&c, r.header("location").unwrap());
    assert_eq!(t2, t);
    let r = target.call("GET", &rest, "", b"");
    assert_eq!(r.status, 200);
    let want = expected("b/x y", 0, 1000);
    assert!(r.body == want);
    let sum = format!("{:016x}", xxhash_rust::xxh64::xxh64(&want, 0));
    assert_eq!(r.header("ais-checksum-value"), Some(sum.as_str()));

    // Straight to a target: GET without markers is fine, PUT and DELETE are not.
    assert_eq!(
        target
            .call("GET", "v1/objects/b/x%20y?provider=ais", "", b"")
            .status,
        200
    );
    let r = target.call("PUT", "v1/objects/b/x%20y?provider=ais", "", &body);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "PUT must go through a proxy");
    let r = target.call("DELETE", "v1/objects/b/x%20y?provider=ais", "", b"");
    assert_eq!(r.json()["message"], "DELETE must go through a proxy");
    // Another target does not have it (per-target stores).
    let other = (t + 1) % 3;
    let mut wrong = Client::to(addr(&c.target_urls()[other]));
    assert_eq!(wrong.call("GET", "v1/objects/b/x%20y", "", b"").status, 404);
    // The refused PUT did not touch the stored object.
    assert_eq!(c.object_size(Provider::Ais, "b", "x y"), Some(1000));
    let s = c.stats();
    assert_eq!(
        s[0].counters.bytes_in, 1100,
        "the proxy dropped both PUT bodies"
    );
    assert_eq!(s[2 + t].counters.status.get(400), 2);
}

#[test]
fn cluster_expect_continue_put_to_a_proxy_is_redirected_unread() {
    let c = cluster(2, 3, Faults::default());
    c.create_bucket(Provider::Ais, "b");
    let mut p2 = Client::to(addr(&c.proxy_urls()[1]));
    p2.send(
        b"PUT /v1/objects/b/big?provider=ais HTTP/1.1\r\nHost: t\r\n\
          Content-Length: 10485760\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = p2.read_resp(false);
    assert_eq!(r.status, 307, "no 100 Continue first");
    assert_eq!(r.header("connection"), Some("close"));
    let (t, rest) = location(&c, r.header("location").unwrap());
    assert!(rest.contains("&pid=p2&utm="));
    p2.assert_closed();
    assert_eq!(c.stats()[1].counters.bytes_in, 0, "the body was never read");

    // The client then sends the body to the target only.
    let mut target = Client::to(addr(&c.target_urls()[t]));
    let head = format!(
        "PUT /{rest} HTTP/1.1\r\nHost: t\r\nContent-Length: 65536\r\nExpect: 100-continue\r\n\r\n"
    );
    target.send(head.as_bytes());
    assert_eq!(target.read_head().0, 100);
    target.send(&[1u8; 65536]);
    assert_eq!(target.read_resp(false).status, 200);
    assert_eq!(c.object_size(Provider::Ais, "b", "big"), Some(65536));
}

#[test]
fn cluster_lists_and_buckets_are_cluster_wide() {
    let c = cluster(2, 3, Faults::default());
    for i in 0..20 {
        c.insert(Provider::Ais, "b", &format!("o{i:02}"), i);
    }
    let mut p = Client::to(addr(&c.proxy_urls()[1]));
    let body = br#"{"action":"list","value":{"prefix":"","continuation_token":"","pagesize":0}}"#;
    let r = p.call("GET", "v1/buckets/b?provider=ais", "", body);
    let names: Vec<String> = r.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        (0..20).map(|i| format!("o{i:02}")).collect::<Vec<_>>()
    );
    // A bucket created through one proxy exists for every listener.
    let mut p1 = Client::to(addr(&c.proxy_urls()[0]));
    let r = p1.call(
        "POST",
        "v1/buckets/nb?provider=ais",
        "",
        br#"{"action":"create-bck"}"#,
    );
    assert_eq!(r.status, 200);
    let presence = br#"{"action":"list","name":"nb"}"#;
    let r = p.call("GET", "v1/buckets/nb?provider=ais&presence=2", "", presence);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    // Destroying through a proxy empties every target.
    let r = p.call(
        "DELETE",
        "v1/buckets/b?provider=ais",
        "",
        br#"{"action":"destroy-bck"}"#,
    );
    assert_eq!(r.status, 200);
    assert!((0..20).all(|i| c
        .object_size(Provider::Ais, "b", &format!("o{i:02}"))
        .is_none()));
    let v = Client::to(addr(&c.target_urls()[0]))
        .call("GET", "v1/ringload/stats", "", b"")
        .json();
    assert_eq!(v["role"], "target");
    c.stop();
}

#[test]
fn cluster_config_errors_are_clear() {
    let base = ServeConfig {
        protocol: ServeProtocol::Ais,
        cores: 1,
        ..ServeConfig::default()
    };
    let err = |proxies, targets, base: ServeConfig| {
        start_cluster(ClusterConfig {
            proxies,
            targets,
            base,
        })
        .err()
        .expect("must fail")
        .to_string()
    };
    assert!(err(0, 1, base.clone()).contains("--proxies 0"));
    assert!(err(1, 65, base.clone()).contains("--targets 65"));
    let s3 = ServeConfig {
        protocol: ServeProtocol::S3,
        ..base.clone()
    };
    assert!(err(1, 1, s3).contains("--protocol ais"));
    let high = ServeConfig {
        listen: "127.0.0.1:65534".parse().unwrap(),
        ..base
    };
    assert!(err(2, 2, high).contains("65535"));
}

#[test]
fn every_node_answers_the_cluster_map_with_real_urls() {
    let c = cluster(2, 3, Faults::default());
    let nodes = [c.proxy_urls(), c.target_urls()].concat();
    for url in &nodes {
        let r = Client::to(addr(url)).call("GET", "v1/daemon?what=smap", "", b"");
        assert_eq!(r.status, 200, "{}", r.text());
        let m = r.json();
        let urls = |map: &str| -> Vec<String> {
            m[map]
                .as_object()
                .unwrap()
                .values()
                .map(|n| n["public_net"]["direct_url"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(urls("pmap"), c.proxy_urls());
        assert_eq!(urls("tmap"), c.target_urls());
        assert_eq!(m["proxy_si"]["daemon_id"], "p1");
        assert_eq!(m["pmap"]["p2"]["daemon_type"], "proxy");
        assert_eq!(m["version"], "1");
        let port = url.rsplit_once(':').unwrap().1;
        assert!(
            m["pmap"]
                .as_object()
                .unwrap()
                .values()
                .chain(m["tmap"].as_object().unwrap().values())
                .any(|n| n["public_net"]["daemon_port"] == port),
            "{m}"
        );
    }
    let mut p = Client::to(addr(&c.proxy_urls()[0]));
    assert_eq!(p.call("GET", "v1/daemon?what=bmd", "", b"").status, 404);
    assert_eq!(p.call("PUT", "v1/daemon?what=smap", "", b"").status, 405);
}
