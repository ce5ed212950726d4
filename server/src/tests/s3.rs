//! The S3 dialect over loopback: buckets, objects, ListObjectsV2 XML, XML errors, and the
//! auth hook (with a fake verifier; SigV4 lives elsewhere).

use std::sync::{Arc, Mutex};

use super::{expected, Client};
use crate::*;

fn s3_server(auth: Option<AuthHook>) -> ServerHandle {
    start(ServeConfig {
        cores: 1,
        protocol: ServeProtocol::S3,
        s3_auth: auth,
        ..ServeConfig::default()
    })
    .expect("start an S3 target")
}

/// Every `<tag>...</tag>` text in `xml`, in order.
fn tags(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .map(|s| s.split(&close).next().unwrap().to_string())
        .collect()
}

fn tag(xml: &str, name: &str) -> String {
    tags(xml, name).pop().unwrap_or_default()
}

#[test]
fn s3_buckets_objects_and_errors() {
    let h = s3_server(None);
    let mut c = Client::connect(&h);
    let r = c.call("PUT", "b/k", "", b"abc");
    assert_eq!(r.status, 404);
    assert_eq!(tag(&r.text(), "Code"), "NoSuchBucket");
    assert_eq!(r.header("content-type"), Some("application/xml"));
    assert_eq!(c.call("HEAD", "b", "", b"").status, 404);
    assert_eq!(c.call("PUT", "b", "", b"").status, 200);
    assert_eq!(c.call("HEAD", "b/", "", b"").status, 200);

    let r = c.call("PUT", "b/dir/k%201", "", &[5u8; 3000]);
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 18, "{etag}");
    let r = c.call("GET", "b/dir/k%201", "", b"");
    assert_eq!((r.status, r.header("etag")), (200, Some(etag.as_str())));
    assert!(r.body == expected("b/dir/k 1", 0, 3000));
    let r = c.call("GET", "b/missing", "", b"");
    assert_eq!(r.status, 404);
    assert_eq!(tag(&r.text(), "Code"), "NoSuchKey");
    assert!(r.text().starts_with("<?xml"));
    let r = c.call("GET", "nob/missing", "", b"");
    assert_eq!(tag(&r.text(), "Code"), "NoSuchBucket");
    let r = c.call("DELETE", "b", "", b"");
    assert_eq!(
        (r.status, tag(&r.text(), "Code").as_str()),
        (409, "BucketNotEmpty")
    );
    assert_eq!(c.call("DELETE", "b/dir/k%201", "", b"").status, 204);
    assert_eq!(
        c.call("DELETE", "b/dir/k%201", "", b"").status,
        204,
        "S3 DELETE is idempotent"
    );
    assert_eq!(c.call("DELETE", "b", "", b"").status, 204);
    assert_eq!(c.call("HEAD", "b", "", b"").status, 404);
    assert_eq!(c.call("POST", "b/k", "", b"").status, 405);
}

#[test]
fn s3_list_objects_v2_pages_prefix_and_escaping() {
    let h = s3_server(None);
    for i in 0..5 {
        h.insert(&format!("b/d/k{i}"), 10 + i);
    }
    h.insert("b/d/a&b<c>", 1);
    h.insert("b/e/z", 1);
    let mut c = Client::connect(&h);
    let r = c.call("GET", "b?list-type=2&prefix=d%2F&max-keys=4", "", b"");
    assert_eq!(r.status, 200);
    let x = r.text();
    assert!(x.contains("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"));
    assert_eq!(tag(&x, "Name"), "b");
    assert_eq!(tag(&x, "Prefix"), "d/");
    assert_eq!(
        (tag(&x, "KeyCount"), tag(&x, "MaxKeys")),
        ("4".into(), "4".into())
    );
    assert_eq!(tag(&x, "IsTruncated"), "true");
    assert_eq!(
        tags(&x, "Key"),
        ["d/a&amp;b&lt;c&gt;", "d/k0", "d/k1", "d/k2"]
    );
    assert_eq!(tags(&x, "Size"), ["1", "10", "11", "12"]);
    let token = tag(&x, "NextContinuationToken");
    assert_eq!(token, "d/k2");
    let r = c.call(
        "GET",
        &format!(
            "b?list-type=2&prefix=d%2F&max-keys=4&continuation-token={}",
            token.replace('/', "%2F")
        ),
        "",
        b"",
    );
    let x = r.text();
    assert_eq!(tags(&x, "Key"), ["d/k3", "d/k4"]);
    assert_eq!(tag(&x, "IsTruncated"), "false");
    assert!(tags(&x, "NextContinuationToken").is_empty());
    assert_eq!(tag(&x, "ContinuationToken"), "d/k2");
    // Defaults: all keys, max-keys 1000.
    let x = c.call("GET", "b?list-type=2", "", b"").text();
    assert_eq!(
        (tags(&x, "Key").len(), tag(&x, "MaxKeys")),
        (7, "1000".into())
    );
    let r = c.call("GET", "b?list-type=2&max-keys=lots", "", b"");
    assert_eq!(
        (r.status, tag(&r.text(), "Code").as_str()),
        (400, "InvalidArgument")
    );
    let r = c.call("GET", "nob?list-type=2", "", b"");
    assert_eq!(
        (r.status, tag(&r.text(), "Code").as_str()),
        (404, "NoSuchBucket")
    );
    assert_eq!(h.counters().lists, 5);
}

/// What the fake verifier saw: method, raw path, raw query, header names.
type Seen = (String, String, String, Vec<String>);

#[test]
fn s3_auth_hook_is_asked_and_refusal_is_403() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    let hook: AuthHook = Arc::new(move |r: &AuthRequest<'_>| {
        let names = r.headers.iter().map(|(n, _)| n.to_string()).collect();
        log.lock().unwrap().push((
            r.method.to_string(),
            String::from_utf8_lossy(r.raw_path).into_owned(),
            String::from_utf8_lossy(r.raw_query).into_owned(),
            names,
        ));
        r.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("authorization") && *v == b"ok")
    });
    let h = s3_server(Some(hook));
    h.insert("b/k", 4);
    let mut c = Client::connect(&h);
    let r = c.call("GET", "b/k%20x?a=1&b", "", b"");
    assert_eq!(r.status, 403);
    assert_eq!(tag(&r.text(), "Code"), "SignatureDoesNotMatch");
    let r = c.call("GET", "b/k", "Authorization: ok\r\n", b"");
    assert_eq!((r.status, r.body.len()), (200, 4));
    // A refused PUT is answered after its body is dropped; the connection goes on.
    assert_eq!(c.call("PUT", "b/k", "", &[0u8; 5000]).status, 403);
    assert_eq!(h.object_size("b/k"), Some(4));
    // The stats endpoint is not an S3 request.
    assert_eq!(c.call("GET", "v1/ringload/stats", "", b"").status, 200);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        (seen[0].0.as_str(), seen[0].1.as_str(), seen[0].2.as_str()),
        ("GET", "/b/k%20x", "a=1&b")
    );
    assert_eq!(seen[1].3, ["Host", "Authorization"]);
    assert_eq!(seen[2].0, "PUT");
}
