//! AIS remote buckets (`s3://`, `gs://`, `az://`) in a cluster over loopback: they exist
//! without a create call, objects go through the proxy's redirect, lists and delete-listrange
//! work, and the provider is part of the bucket's identity.

use std::net::SocketAddr;

use super::{expected, Client, Resp};
use crate::*;

fn cluster() -> ClusterHandle {
    start_cluster(ClusterConfig {
        proxies: 1,
        targets: 2,
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

/// One object request through the proxy, following its redirect to the owning target.
fn via_proxy(c: &ClusterHandle, method: &str, path: &str, body: &[u8]) -> Resp {
    let mut p = Client::to(addr(&c.proxy_urls()[0]));
    let r = p.call(method, path, "", body);
    if !matches!(r.status, 301 | 307) {
        return r;
    }
    let loc = r.header("location").unwrap().to_string();
    let rest = loc.strip_prefix("http://").unwrap();
    let (host, target) = rest.split_once('/').unwrap();
    Client::to(host.parse().unwrap()).call(method, target, "", body)
}

/// A control request to the proxy.
fn control(c: &ClusterHandle, method: &str, path: &str, body: &str) -> Resp {
    Client::to(addr(&c.proxy_urls()[0])).call(
        method,
        path,
        "Content-Type: application/json\r\n",
        body.as_bytes(),
    )
}

/// Every name in bucket `b` of `provider` (one page).
fn list(c: &ClusterHandle, provider: &str, b: &str) -> Vec<String> {
    let body = r#"{"action":"list","value":{"prefix":"","continuation_token":"","pagesize":0}}"#;
    let r = control(
        c,
        "GET",
        &format!("v1/buckets/{b}?provider={provider}"),
        body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

fn delete_listrange(c: &ClusterHandle, provider: &str, b: &str, names: &[&str]) -> Resp {
    let body = serde_json::json!({"action": "delete-listrange", "value": {"objnames": names}});
    control(
        c,
        "DELETE",
        &format!("v1/buckets/{b}?provider={provider}"),
        &body.to_string(),
    )
}

#[test]
fn remote_bucket_objects_work_without_a_create() {
    let c = cluster();
    for i in 0..5 {
        let path = format!("v1/objects/rb/o{i}?provider=aws&skip_vc=true");
        let r = via_proxy(&c, "PUT", &path, &vec![3u8; 100 + i]);
        assert_eq!(r.status, 200, "PUT o{i}: {}", r.text());
    }
    assert_eq!(c.object_size(Provider::Aws, "rb", "o1"), Some(101));
    assert_eq!(c.object_size(Provider::Ais, "rb", "o1"), None);
    assert_eq!(c.object_count(Provider::Aws, "rb"), 5);

    let r = via_proxy(&c, "GET", "v1/objects/rb/o2?provider=aws", b"");
    assert_eq!(r.status, 200);
    assert!(r.body == expected("rb/o2", 0, 102));
    let r = via_proxy(&c, "HEAD", "v1/objects/rb/o3?provider=aws", b"");
    assert_eq!((r.status, r.header("content-length")), (200, Some("103")));
    assert_eq!(list(&c, "aws", "rb"), ["o0", "o1", "o2", "o3", "o4"]);

    let r = via_proxy(&c, "DELETE", "v1/objects/rb/o4?provider=aws", b"");
    assert_eq!(r.status, 200);
    let r = via_proxy(&c, "GET", "v1/objects/rb/o4?provider=aws", b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "object \"s3://rb/o4\" does not exist");

    // Used, so present in the cluster and listed with its provider; an unused remote bucket
    // exists (HEAD) but is not present yet.
    let presence = |b: &str| {
        let body = format!(r#"{{"action":"list","name":"{b}"}}"#);
        let path = format!("v1/buckets/{b}?provider=aws&presence=2");
        control(&c, "GET", &path, &body).json()
    };
    assert_eq!(
        presence("rb"),
        serde_json::json!([{"name": "rb", "provider": "aws"}])
    );
    assert_eq!(presence("other"), serde_json::json!([]));
    assert_eq!(
        control(&c, "HEAD", "v1/buckets/other?provider=aws", "").status,
        200
    );
    assert_eq!(presence("other").as_array().unwrap().len(), 1);
    let all = control(&c, "GET", "v1/buckets?provider=aws", "").json();
    assert_eq!(
        all,
        serde_json::json!([{"name": "other", "provider": "aws"}, {"name": "rb", "provider": "aws"}])
    );

    // Emptied by delete-listrange (a missing name is no error); never destroyed.
    let r = delete_listrange(&c, "aws", "rb", &["o0", "o1", "o2", "o3", "o4"]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.object_count(Provider::Aws, "rb"), 0);
    assert!(list(&c, "aws", "rb").is_empty());
    let r = control(
        &c,
        "DELETE",
        "v1/buckets/rb?provider=aws",
        r#"{"action":"destroy-bck"}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "operation \"destroy-bck\" is not supported by \"s3://rb\": a remote bucket is emptied \
         with delete-listrange"
    );
    c.stop();
}

#[test]
fn the_provider_is_part_of_the_bucket_identity() {
    let c = cluster();
    // ais://b must be created; s3://b, gs://b and az://b need not.
    let r = via_proxy(&c, "PUT", "v1/objects/b/x?provider=ais", &[1u8; 10]);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "bucket \"ais://b\" does not exist");
    c.create_bucket(Provider::Ais, "b");
    for (provider, size) in [("ais", 10), ("aws", 20), ("gcp", 30), ("azure", 40)] {
        let path = format!("v1/objects/b/x?provider={provider}");
        assert_eq!(via_proxy(&c, "PUT", &path, &vec![1u8; size]).status, 200);
    }
    for (provider, size) in [("ais", "10"), ("aws", "20"), ("gcp", "30"), ("azure", "40")] {
        let path = format!("v1/objects/b/x?provider={provider}");
        let r = via_proxy(&c, "HEAD", &path, b"");
        assert_eq!(r.header("content-length"), Some(size), "{provider}");
        assert_eq!(list(&c, provider, "b"), ["x"], "{provider}");
    }
    // The scheme works as a provider too (AIS normalizes it), and no provider means ais.
    let r = via_proxy(&c, "HEAD", "v1/objects/b/x?provider=s3", b"");
    assert_eq!(r.header("content-length"), Some("20"));
    let r = via_proxy(&c, "HEAD", "v1/objects/b/x", b"");
    assert_eq!(r.header("content-length"), Some("10"));

    // Deleting from s3://b leaves the others; destroying ais://b leaves s3://b.
    assert_eq!(delete_listrange(&c, "aws", "b", &["x"]).status, 200);
    assert_eq!(c.object_size(Provider::Aws, "b", "x"), None);
    assert_eq!(c.object_size(Provider::Gcp, "b", "x"), Some(30));
    let r = control(
        &c,
        "DELETE",
        "v1/buckets/b?provider=ais",
        r#"{"action":"destroy-bck"}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(c.object_size(Provider::Ais, "b", "x"), None);
    assert_eq!(c.object_size(Provider::Azure, "b", "x"), Some(40));
    let r = via_proxy(&c, "GET", "v1/objects/b/x?provider=ais", b"");
    assert_eq!(r.json()["message"], "bucket \"ais://b\" does not exist");
    let r = via_proxy(&c, "GET", "v1/objects/b/x?provider=aws", b"");
    assert_eq!(r.json()["message"], "object \"s3://b/x\" does not exist");

    // An unknown provider is refused, by the proxy and for bucket calls alike.
    let r = via_proxy(&c, "PUT", "v1/objects/b/x?provider=nope", &[1u8; 5]);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "unknown bucket provider in the query: use provider=ais, aws, gcp, azure or oci"
    );
    assert_eq!(
        control(&c, "HEAD", "v1/buckets/b?provider=nope", "").status,
        400
    );
    assert_eq!(
        control(&c, "GET", "v1/buckets?provider=nope", "").status,
        400
    );
    c.stop();
}
