//! The AIS dialect of a stand-alone target over loopback: objects with checksums, buckets,
//! paged listings, control-body limits, and the stats endpoint.

use super::{expected, Client};
use crate::*;

pub(super) fn ais_server(page_size: usize) -> ServerHandle {
    start(ServeConfig {
        cores: 1,
        protocol: ServeProtocol::Ais,
        page_size,
        ..ServeConfig::default()
    })
    .expect("start an AIS target on 127.0.0.1:0")
}

const JSON: &str = "Content-Type: application/json\r\n";

fn create(c: &mut Client, b: &str) -> u16 {
    let path = format!("v1/buckets/{b}?provider=ais");
    c.call("POST", &path, JSON, br#"{"action":"create-bck"}"#)
        .status
}

fn presence(c: &mut Client, b: &str) -> serde_json::Value {
    let path = format!("v1/buckets/{b}?provider=ais&presence=2");
    let body = format!(r#"{{"action":"list","name":"{b}"}}"#);
    let r = c.call("GET", &path, JSON, body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// One list page: (names, token, uuid).
fn list(
    c: &mut Client,
    b: &str,
    prefix: &str,
    token: &str,
    n: u64,
) -> (Vec<String>, String, String) {
    let body = serde_json::json!({"action": "list", "value": {"uuid": "", "props": "",
        "prefix": prefix, "continuation_token": token, "flags": "8192", "pagesize": n,
        "target": ""}});
    let r = c.call(
        "GET",
        &format!("v1/buckets/{b}?provider=ais"),
        JSON,
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let names = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["size"].is_string() && e["flags"] == 0, "{e}");
            e["name"].as_str().unwrap().to_string()
        })
        .collect();
    let token = v["continuation_token"].as_str().unwrap().to_string();
    (names, token, v["uuid"].as_str().unwrap().to_string())
}

#[test]
fn puts_are_checked_and_gets_answer_with_every_checksum_type() {
    use ringload_core::{cksum, kinds::CksumType};
    let h = ais_server(DEFAULT_PAGE_SIZE);
    let mut c = Client::connect(&h);
    assert_eq!(create(&mut c, "b"), 200);
    let want = expected("b/o", 0, 3000);
    for t in CksumType::ALL {
        let obj = "v1/objects/b/o?provider=ais";
        let good = format!("{:?}", cksum::of_bytes(t, &want));
        let hdrs = |v: &str| format!("Ais-Checksum-Type: {t}\r\nAis-Checksum-Value: {v}\r\n");
        if t != CksumType::None {
            let bad = format!("{:?}", cksum::of_bytes(t, b"corrupt"));
            let r = c.call("PUT", obj, &hdrs(&bad), &want);
            assert_eq!(r.status, 400, "{t}: {}", r.text());
            assert!(r.text().contains("BAD DATA CHECKSUM"), "{}", r.text());
        }
        let r = c.call("PUT", obj, &hdrs(&good.to_uppercase()), &want);
        assert_eq!(r.status, 200, "{t}: {}", r.text());
        // The PUT's check leaves the digest of every type in the store (GETs answer from it).
        let meta = h.shared.node.store.of(Provider::Ais).meta("b/o").unwrap();
        assert_eq!(
            meta.checksum.map(|d| format!("{:?}", d.hex())),
            (t != CksumType::None).then(|| good.clone()),
            "{t}"
        );
        let r = c.call("GET", obj, "", b"");
        assert_eq!(r.status, 200);
        // `none` stores the bucket's default, xxhash.
        let (ty, val) = match t {
            CksumType::None => (
                "xxhash",
                format!("{:?}", cksum::of_bytes(CksumType::Xxhash, &want)),
            ),
            _ => (t.as_str(), good),
        };
        assert_eq!(r.header("ais-checksum-type"), Some(ty), "{t}");
        assert_eq!(r.header("ais-checksum-value"), Some(val.as_str()), "{t}");
    }
    let r = c.call(
        "PUT",
        "v1/objects/b/o?provider=ais",
        "Ais-Checksum-Type: crc32\r\nAis-Checksum-Value: 00\r\n",
        &want,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("unsupported checksum type"),
        "{}",
        r.text()
    );
    assert_eq!(h.stats().counters.status.get(400), 7);
}

#[test]
fn ais_object_put_get_head_delete_with_checksums() {
    let h = ais_server(DEFAULT_PAGE_SIZE);
    let mut c = Client::connect(&h);
    let obj = "v1/objects/b/dir/a%20b?provider=ais&skip_vc=true";
    let r = c.call("PUT", obj, "", &[1u8; 5000]);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "bucket \"ais://b\" does not exist");
    assert_eq!(r.json()["status"], 404);

    assert_eq!(create(&mut c, "b"), 200);
    assert_eq!(create(&mut c, "b"), 409);
    let want = expected("b/dir/a b", 0, 5000);
    let want_sum = format!("{:016x}", xxhash_rust::xxh64::xxh64(&want, 0));
    let sum_hdrs = format!("Ais-Checksum-Type: xxhash\r\nAis-Checksum-Value: {want_sum}\r\n");
    let r = c.call("PUT", obj, &sum_hdrs, &[1u8; 5000]);
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(h.object_size("b/dir/a b"), Some(5000));

    let r = c.call("GET", obj, "", b"");
    assert_eq!(r.status, 200);
    assert!(r.body == want, "GET body differs from the pattern");
    assert_eq!(r.header("ais-checksum-type"), Some("xxhash"));
    assert_eq!(r.header("ais-checksum-value"), Some(want_sum.as_str()));
    // Cached once computed.
    let meta = h
        .shared
        .node
        .store
        .of(Provider::Ais)
        .meta("b/dir/a b")
        .unwrap();
    assert_eq!(
        meta.checksum.map(|d| format!("{:?}", d.hex())),
        Some(want_sum.clone())
    );
    let r = c.call("HEAD", obj, "", b"");
    assert_eq!((r.status, r.header("content-length")), (200, Some("5000")));
    assert_eq!(r.header("ais-checksum-value"), Some(want_sum.as_str()));
    let r = c.call("GET", obj, "Range: bytes=10-19\r\n", b"");
    assert_eq!((r.status, r.body.as_slice()), (206, &want[10..20]));
    assert_eq!(r.header("ais-checksum-value"), Some(want_sum.as_str()));

    assert_eq!(c.call("DELETE", obj, "", b"").status, 200);
    let r = c.call("GET", obj, "", b"");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["message"],
        "object \"ais://b/dir/a b\" does not exist"
    );
    assert_eq!(c.call("DELETE", obj, "", b"").status, 404);
    assert_eq!(
        c.call("GET", "v1/objects/b/?provider=ais", "", b"").status,
        400
    );
    // A POST on an object is a multipart creation: without its action message, refused.
    assert_eq!(c.call("POST", obj, "", b"").status, 400);
    assert_eq!(c.call("GET", "v2/whatever", "", b"").status, 404);
    let t = h.counters();
    assert_eq!((t.puts, t.gets, t.heads, t.deletes), (2, 4, 1, 2));
    assert_eq!(t.bucket_ops, 2);
    assert_eq!(t.errors, 0);
}

#[test]
fn ais_bucket_presence_create_destroy_and_delete_listrange() {
    let h = ais_server(DEFAULT_PAGE_SIZE);
    let mut c = Client::connect(&h);
    assert_eq!(presence(&mut c, "b"), serde_json::json!([]));
    assert_eq!(create(&mut c, "b"), 200);
    assert_eq!(
        presence(&mut c, "b"),
        serde_json::json!([{"name": "b", "provider": "ais"}])
    );
    assert_eq!(
        c.call("HEAD", "v1/buckets/b?provider=ais", "", b"").status,
        200
    );
    assert_eq!(
        c.call("HEAD", "v1/buckets/zz?provider=ais", "", b"").status,
        404
    );
    let r = c.call("GET", "v1/buckets?provider=ais", "", b"");
    assert_eq!(
        r.json(),
        serde_json::json!([{"name": "b", "provider": "ais"}])
    );
    for i in 0..5 {
        h.insert(&format!("b/o{i}"), 10);
    }
    h.insert("c/o0", 10);

    let body = br#"{"action":"delete-listrange","value":{"objnames":["o1","o3","nope"]}}"#;
    let r = c.call("DELETE", "v1/buckets/b?provider=ais", JSON, body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.body.is_empty(), "an xaction id is expected");
    assert_eq!(
        (h.object_size("b/o1"), h.object_size("b/o0")),
        (None, Some(10))
    );

    let destroy = br#"{"action":"destroy-bck"}"#;
    assert_eq!(
        c.call("DELETE", "v1/buckets/b?provider=ais", JSON, destroy)
            .status,
        200
    );
    assert_eq!(presence(&mut c, "b"), serde_json::json!([]));
    assert_eq!(h.object_count(), 1, "only c/o0 is left");
    assert_eq!(
        c.call("DELETE", "v1/buckets/b?provider=ais", JSON, destroy)
            .status,
        404
    );

    // Bad control bodies are 400 with a message, and the connection goes on.
    let r = c.call("POST", "v1/buckets/b?provider=ais", JSON, b"{not json");
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("bad JSON"));
    let r = c.call(
        "POST",
        "v1/buckets/b?provider=ais",
        JSON,
        br#"{"action":"rename"}"#,
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("rename"));
    assert_eq!(create(&mut c, "b"), 200);
}

#[test]
fn ais_list_pages_tokens_prefix_and_page_cap() {
    let h = ais_server(DEFAULT_PAGE_SIZE);
    for i in 0..25 {
        h.insert(&format!("b/o{i:02}"), i);
    }
    h.insert("b/x1", 1);
    let mut c = Client::connect(&h);
    let (mut token, mut all, mut pages, mut uuids) = (String::new(), Vec::new(), 0, Vec::new());
    loop {
        let (names, next, uuid) = list(&mut c, "b", "o", &token, 7);
        pages += 1;
        assert_eq!(names.len(), if pages < 4 { 7 } else { 4 });
        if !next.is_empty() {
            assert_eq!(&next, names.last().unwrap(), "the token is the last name");
        }
        all.extend(names);
        uuids.push(uuid);
        token = next;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(all, (0..25).map(|i| format!("o{i:02}")).collect::<Vec<_>>());
    assert!(uuids.windows(2).all(|w| w[0] == w[1] && !w[0].is_empty()));
    assert_eq!(list(&mut c, "b", "x", "", 0).0, ["x1"]);
    assert_eq!(list(&mut c, "b", "", "", 0).0.len(), 26);
    let r = c.call(
        "GET",
        "v1/buckets/nope?provider=ais",
        JSON,
        br#"{"action":"list","value":{}}"#,
    );
    assert_eq!(r.status, 404);
    assert_eq!(h.counters().lists, 7);

    // The server's --page-size caps the request's pagesize.
    let small = ais_server(5);
    for i in 0..12 {
        small.insert(&format!("b/o{i:02}"), 1);
    }
    let mut c = Client::connect(&small);
    let (names, token, _) = list(&mut c, "b", "", "", 7);
    assert_eq!((names.len(), token.as_str()), (5, "o04"));
    assert_eq!(list(&mut c, "b", "", "", 0).0.len(), 5);
}

#[test]
fn ais_control_bodies_are_bounded() {
    let h = ais_server(DEFAULT_PAGE_SIZE);
    // Announced too large: 413 at once, connection closed, body never read.
    let mut c = Client::connect(&h);
    c.send(b"GET /v1/buckets/b?provider=ais HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n");
    let r = c.read_resp(false);
    assert_eq!((r.status, r.header("connection")), (413, Some("close")));
    c.assert_closed();
    // Chunked and growing past the limit: 413 and close.
    let mut c = Client::connect(&h);
    let mut raw = b"POST /v1/buckets/b?provider=ais HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
        100000\r\n"
        .to_vec();
    raw.extend(std::iter::repeat_n(b'x', 1 << 20)); // exactly the limit: still fine
    raw.extend_from_slice(b"\r\n1\r\nx\r\n0\r\n\r\n"); // one byte more: refused
    c.send(&raw);
    let r = c.read_resp(false);
    assert_eq!((r.status, r.header("connection")), (413, Some("close")));
    assert_eq!(h.counters().status.get(413), 2);
}

#[test]
fn stats_endpoint_reports_this_listener_and_not_itself() {
    let h = ais_server(DEFAULT_PAGE_SIZE);
    h.insert("b/o", 100);
    let mut c = Client::connect(&h);
    assert_eq!(
        c.call("GET", "v1/objects/b/o?provider=ais", "", b"").status,
        200
    );
    assert_eq!(
        c.call("GET", "v1/objects/b/x?provider=ais", "", b"").status,
        404
    );
    c.call("PUT", "v1/objects/b/p?provider=ais", "", &[0u8; 33]);
    for _ in 0..2 {
        let r = c.call("GET", "v1/ringload/stats", "", b"");
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["role"], "server");
        assert_eq!(v["protocol"], "ais");
        assert_eq!(v["url"], h.url());
        assert_eq!(
            v["requests"],
            serde_json::json!({"get": 2, "put": 1, "head": 0, "delete": 0, "list": 0,
                "bucket": 0, "other": 0})
        );
        assert_eq!(v["status"], serde_json::json!({"200": 2, "404": 1}));
        assert_eq!(
            v["faults"],
            serde_json::json!({"reset": 0, "truncate": 0, "500": 0, "503": 0, "delay": 0})
        );
        assert_eq!(
            (v["bytes_sent"].as_u64(), v["bytes_received"].as_u64()),
            (Some(100), Some(33))
        );
        assert_eq!(v["redirects"], 0);
    }
    assert_eq!(h.stats().to_json()["requests"]["get"], 2);
    // Plain HTTP listeners answer it too.
    let plain = super::server(1);
    let v = Client::connect(&plain)
        .call("GET", "v1/ringload/stats", "", b"")
        .json();
    assert_eq!(
        (v["role"].as_str(), v["protocol"].as_str()),
        (Some("server"), Some("http"))
    );
}

/// A 1-proxy, 3-target AIS cluster on loopback, and calls to its proxy.
mod control_plane {
    use super::JSON;
    use crate::tests::{Client, Resp};
    use crate::*;

    fn cluster() -> ClusterHandle {
        start_cluster(ClusterConfig {
            proxies: 1,
            targets: 3,
            base: ServeConfig {
                cores: 1,
                protocol: ServeProtocol::Ais,
                ..ServeConfig::default()
            },
        })
        .expect("start a cluster on loopback")
    }

    fn proxy(c: &ClusterHandle) -> Client {
        let url = &c.proxy_urls()[0];
        Client::to(url.strip_prefix("http://").unwrap().parse().unwrap())
    }

    fn call(c: &ClusterHandle, method: &str, path: &str, body: &str) -> Resp {
        proxy(c).call(method, path, JSON, body.as_bytes())
    }

    /// A GET or PUT through the proxy, following its redirect; `extra` headers on both legs.
    fn object(c: &ClusterHandle, method: &str, path: &str, extra: &str) -> u16 {
        let body = if method == "PUT" { &[7u8; 10][..] } else { b"" };
        let r = proxy(c).call(method, path, extra, body);
        let loc = r.header("location").unwrap().to_string();
        let rest = loc.strip_prefix("http://").unwrap();
        let (host, target) = rest.split_once('/').unwrap();
        Client::to(host.parse().unwrap())
            .call(method, target, extra, body)
            .status
    }

    /// Names (and entry flags) of one page listing `b` with `flags`.
    fn list(c: &ClusterHandle, b: &str, flags: &str) -> (u16, Vec<(String, u64)>) {
        let body = serde_json::json!({"action": "list", "value": {"prefix": "",
            "continuation_token": "", "flags": flags, "pagesize": 0}});
        let r = call(c, "GET", &format!("v1/buckets/{b}"), &body.to_string());
        if r.status != 200 {
            return (r.status, vec![(r.json()["message"].to_string(), 0)]);
        }
        let names = r.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let name = e["name"].as_str().unwrap().to_string();
                (name, e["flags"].as_u64().unwrap())
            })
            .collect();
        (r.status, names)
    }

    fn props(c: &ClusterHandle, b: &str) -> serde_json::Value {
        let r = call(c, "HEAD", &format!("v1/buckets/{b}"), "");
        assert_eq!(r.status, 200);
        serde_json::from_str(r.header("ais-bucket-props").unwrap()).unwrap()
    }

    #[test]
    fn bucket_properties_merge_patches_and_read_back_on_head() {
        let c = cluster();
        c.create_bucket(Provider::Ais, "b");
        let v = props(&c, "b?provider=ais");
        assert_eq!(v["mirror"]["enabled"], false);
        assert_eq!(v["provider"], "ais");
        let set = r#"{"action":"set-bprops","value":{"mirror":{"enabled":true,"copies":2}}}"#;
        let r = call(&c, "PATCH", "v1/buckets/b?provider=ais", set);
        assert_eq!(r.status, 200, "{}", r.text());
        let v = props(&c, "b?provider=ais");
        assert_eq!(
            v["mirror"],
            serde_json::json!({"enabled": true, "copies": 2, "burst_buffer": 512})
        );
        assert_eq!(
            v["ec"]["enabled"], false,
            "other sections keep their values"
        );
        // EC needs D + P + 1 targets; the cluster has 3.
        let ec = r#"{"action":"set-bprops","value":{"ec":{"enabled":true,"data_slices":2,"parity_slices":1}}}"#;
        let r = call(&c, "PATCH", "v1/buckets/b?provider=ais", ec);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json()["message"],
            "ais://b: EC config (D = 2, P = 1) requires at least 4 targets (have 3)"
        );
        assert_eq!(props(&c, "b?provider=ais")["ec"]["enabled"], false);
        let r = call(&c, "PATCH", "v1/buckets/none?provider=ais", set);
        assert_eq!(r.status, 404);
        let r = call(&c, "PATCH", "v1/buckets/b", r#"{"action":"reset"}"#);
        assert_eq!(r.status, 400);
        c.stop();
    }

    #[test]
    fn listing_flags_cached_dirs_and_nbi() {
        let c = cluster();
        for name in ["d/a", "d/e/b", "top", "gone"] {
            let path = format!("v1/objects/rb/{name}?provider=aws");
            assert_eq!(object(&c, "PUT", &path, ""), 200, "{name}");
        }
        let evict = r#"{"action":"evict-listrange","value":{"objnames":["d/a","gone"]}}"#;
        let r = call(&c, "DELETE", "v1/buckets/rb?provider=aws", evict);
        assert_eq!(r.status, 200, "{}", r.text());
        let names = |flags: &str| -> Vec<String> {
            let (status, l) = list(&c, "rb?provider=aws", flags);
            assert_eq!(status, 200);
            l.into_iter().map(|(n, _)| n).collect()
        };
        // Evicted objects stay in the backend: listed, but not as cached.
        assert_eq!(names("8192"), ["d/a", "d/e/b", "gone", "top"]);
        assert_eq!(names("8193"), ["d/e/b", "top"]);
        // A GET reads an evicted object back into the cluster.
        assert_eq!(
            object(&c, "GET", "v1/objects/rb/gone?provider=aws", ""),
            200
        );
        assert_eq!(names("8193"), ["d/e/b", "gone", "top"]);
        // Without LsNoDirs every virtual directory is an entry, flagged as one.
        let (_, with_dirs) = list(&c, "rb?provider=aws", "0");
        let want = [
            ("d/", 256),
            ("d/a", 0),
            ("d/e/", 256),
            ("d/e/b", 0),
            ("gone", 0),
            ("top", 0),
        ];
        let want: Vec<(String, u64)> = want.iter().map(|(n, f)| (n.to_string(), *f)).collect();
        assert_eq!(with_dirs, want);
        let (status, msg) = list(&c, "rb?provider=aws", "40960");
        assert_eq!(status, 400);
        assert_eq!(msg[0].0, r#""bucket \"s3://rb\" has no inventories""#);
        // Evicting from an ais bucket is refused.
        c.create_bucket(Provider::Ais, "lb");
        let r = call(&c, "DELETE", "v1/buckets/lb?provider=ais", evict);
        assert_eq!(r.status, 400);
        c.stop();
    }

    #[test]
    fn authorization_headers_and_latest_gets_are_counted() {
        let c = cluster();
        let auth = "Authorization: Bearer tok\r\n";
        let path = "v1/objects/rb/x?provider=aws";
        assert_eq!(object(&c, "PUT", path, auth), 200);
        assert_eq!(
            object(&c, "GET", &format!("{path}&latest-ver=true"), ""),
            200
        );
        assert_eq!(object(&c, "GET", path, auth), 200);
        let stats = c.stats();
        let sum = |f: fn(&ListenerStats) -> u64| stats.iter().map(f).sum::<u64>();
        assert_eq!(sum(|s| s.counters.authorized), 4, "2 requests, each 2 legs");
        assert_eq!(
            sum(|s| s.counters.latest_ver),
            1,
            "counted where it is served"
        );
        let doc = stats[0].to_json();
        assert_eq!(doc["authorized"], 2);
        c.stop();
    }
}
