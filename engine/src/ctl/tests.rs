//! Tests of [`super::Client`] against the scripted server in [`super::fake`]: framing,
//! keep-alive reuse, redirects, deadlines and error messages.

use super::fake::{reply, Fake, Reply};
use super::*;
use std::time::Instant;

fn get<'a>(url: &'a str, headers: &'a [(&'a str, String)]) -> Request<'a> {
    Request {
        method: "GET",
        url,
        headers,
        body: b"",
    }
}

fn client() -> Client {
    Client::new(Duration::from_secs(5))
}

#[test]
fn reads_a_content_length_body_and_headers_case_insensitively() {
    let srv = Fake::start(|_| reply(200, &[("X-Thing", "v")], b"hello"));
    let resp = client().send(&get(&srv.url("/a?b=c"), &[])).unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(resp.header("x-THING"), Some("v"));
    let seen = &srv.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("GET", "/a?b=c")
    );
    assert_eq!(seen.header("host"), Some(srv.addr.as_str()));
    assert!(seen.header("user-agent").unwrap().starts_with("ringload/"));
    assert_eq!(
        seen.header("content-length"),
        None,
        "no Content-Length on a body-less GET"
    );
}

#[test]
fn decodes_a_chunked_body_with_extensions_and_trailers() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: a\r\n\r\n";
    let srv = Fake::start(move |_| Reply::Send(raw.to_vec()));
    let mut c = client();
    assert_eq!(
        c.send(&get(&srv.url("/"), &[])).unwrap().body,
        b"hello world"
    );
    // The connection stays usable after a chunked body.
    assert_eq!(
        c.send(&get(&srv.url("/"), &[])).unwrap().body,
        b"hello world"
    );
    assert_eq!(srv.accepts(), 1);
}

#[test]
fn reads_a_body_until_close_and_does_not_reuse_that_connection() {
    let srv = Fake::start(|_| {
        Reply::SendClose(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end".to_vec())
    });
    let mut c = client();
    assert_eq!(
        c.send(&get(&srv.url("/"), &[])).unwrap().body,
        b"until the end"
    );
    assert_eq!(
        c.send(&get(&srv.url("/"), &[])).unwrap().body,
        b"until the end"
    );
    assert_eq!(srv.accepts(), 2);
}

#[test]
fn reuses_one_keep_alive_connection_per_host() {
    let srv = Fake::start(|s| reply(200, &[], s.target.as_bytes()));
    let mut c = client();
    for i in 0..5 {
        let url = srv.url(&format!("/{i}"));
        assert_eq!(
            c.send(&get(&url, &[])).unwrap().body,
            format!("/{i}").as_bytes()
        );
    }
    assert_eq!(srv.accepts(), 1);
    assert!(srv.seen().iter().all(|s| s.conn == 0));
}

#[test]
fn head_204_and_304_have_no_body_and_keep_the_connection() {
    let srv = Fake::start(|s| match s.target.as_str() {
        "/head" => Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n".to_vec()),
        "/204" => Reply::Send(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
        _ => Reply::Send(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n".to_vec()),
    });
    let mut c = client();
    let head = c
        .send(&Request {
            method: "HEAD",
            url: &srv.url("/head"),
            headers: &[],
            body: b"",
        })
        .unwrap();
    assert_eq!(
        (head.status, head.header("content-length"), head.body.len()),
        (200, Some("10"), 0)
    );
    assert_eq!(c.send(&get(&srv.url("/204"), &[])).unwrap().status, 204);
    assert_eq!(c.send(&get(&srv.url("/304"), &[])).unwrap().status, 304);
    assert_eq!(srv.accepts(), 1);
}

#[test]
fn skips_interim_100_continue() {
    let srv = Fake::start(|_| {
        Reply::Send(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
                .to_vec(),
        )
    });
    let resp = client()
        .send(&Request {
            method: "PUT",
            url: &srv.url("/o"),
            headers: &[],
            body: b"x",
        })
        .unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (201, &b"ok"[..]));
}

#[test]
fn retries_once_when_a_pooled_connection_was_closed_by_the_server() {
    // A keep-alive answer, then the server drops the connection while it sits in the pool.
    let srv = Fake::start(|_| match reply(200, &[], b"ok") {
        Reply::Send(b) => Reply::SendClose(b),
        other => other,
    });
    let mut c = client();
    assert_eq!(c.send(&get(&srv.url("/1"), &[])).unwrap().body, b"ok");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c.send(&get(&srv.url("/2"), &[])).unwrap().body, b"ok");
    assert_eq!(srv.accepts(), 2);
    assert_eq!(
        srv.seen().len(),
        2,
        "the stale connection never delivered the second request"
    );
}

#[test]
fn redirect_to_another_port_drops_authorization_and_307_replays_the_body() {
    let target = Fake::start(|_| reply(200, &[], b"stored"));
    let loc = target.url("/v1/objects/b/o?provider=ais&pid=p");
    let proxy = Fake::start(move |_| reply(307, &[("Location", loc.as_str())], b""));
    let headers = [
        ("Authorization", "Bearer s3cr3t".to_string()),
        ("X-Keep", "1".to_string()),
    ];
    let url = proxy.url("/v1/objects/b/o?provider=ais");
    let req = Request {
        method: "PUT",
        url: &url,
        headers: &headers,
        body: b"payload",
    };
    let resp = client().send(&req).unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"stored"[..]));
    let first = &proxy.seen()[0];
    assert_eq!(first.header("authorization"), Some("Bearer s3cr3t"));
    let second = &target.seen()[0];
    assert_eq!(
        second.header("authorization"),
        None,
        "the token must not leave the original host"
    );
    assert_eq!(second.header("x-keep"), Some("1"));
    assert_eq!(
        (second.method.as_str(), second.body.as_slice()),
        ("PUT", &b"payload"[..])
    );
    assert_eq!(second.target, "/v1/objects/b/o?provider=ais&pid=p");
}

#[test]
fn redirect_on_the_same_host_keeps_authorization_and_301_keeps_a_get_body() {
    let srv = Fake::start(|s| match s.path() {
        "/a" => reply(301, &[("Location", "/b?x=1")], b""),
        _ => reply(200, &[], b"done"),
    });
    let headers = [("Authorization", "Bearer t".to_string())];
    let url = srv.url("/a");
    let req = Request {
        method: "GET",
        url: &url,
        headers: &headers,
        body: b"{}",
    };
    assert_eq!(client().send(&req).unwrap().body, b"done");
    let seen = srv.seen();
    assert_eq!(seen[1].target, "/b?x=1");
    assert_eq!(seen[1].header("authorization"), Some("Bearer t"));
    assert_eq!(seen[1].body, b"{}");
}

#[test]
fn a_302_of_a_post_becomes_a_get_without_body() {
    let srv = Fake::start(|s| match s.path() {
        "/dir/a" => reply(302, &[("Location", "b")], b""),
        _ => reply(200, &[], b""),
    });
    let url = srv.url("/dir/a");
    client()
        .send(&Request {
            method: "POST",
            url: &url,
            headers: &[],
            body: b"x",
        })
        .unwrap();
    let seen = srv.seen();
    assert_eq!(
        (seen[1].method.as_str(), seen[1].target.as_str()),
        ("GET", "/dir/b")
    );
    assert!(seen[1].body.is_empty());
}

#[test]
fn a_redirect_loop_stops_after_five_redirects() {
    let srv = Fake::start(|s| reply(302, &[("Location", s.target.as_str())], b""));
    let err = client().send(&get(&srv.url("/loop"), &[])).unwrap_err();
    assert!(
        matches!(err, CtlError::TooManyRedirects { max: 5, .. }),
        "{err}"
    );
    assert_eq!(srv.seen().len(), 1 + MAX_REDIRECTS);
}

#[test]
fn a_silent_server_times_out() {
    let srv = Fake::start(|_| Reply::Silent);
    let mut c = Client::new(Duration::from_millis(200));
    let t0 = Instant::now();
    let err = c.send(&get(&srv.url("/"), &[])).unwrap_err();
    assert!(matches!(err, CtlError::Timeout { .. }), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(err.to_string().contains("raise the client timeout"));
}

#[test]
fn a_slow_dripping_body_cannot_stretch_the_deadline() {
    let srv = Fake::start(|_| {
        // Headers promise 100 bytes; 10 come, then nothing.
        Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789".to_vec())
    });
    let err = Client::new(Duration::from_millis(200))
        .send(&get(&srv.url("/"), &[]))
        .unwrap_err();
    assert!(matches!(err, CtlError::Timeout { .. }), "{err}");
}

#[test]
fn a_bad_status_line_is_a_protocol_error() {
    let srv = Fake::start(|_| Reply::SendClose(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()));
    let err = client().send(&get(&srv.url("/"), &[])).unwrap_err();
    assert!(matches!(err, CtlError::Protocol { .. }), "{err}");
}

#[test]
fn a_short_body_is_a_protocol_error() {
    let srv = Fake::start(|_| {
        Reply::SendClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec())
    });
    let err = client().send(&get(&srv.url("/"), &[])).unwrap_err();
    assert!(err.to_string().contains("3 of 10 bytes"), "{err}");
}

#[test]
fn a_refused_connection_names_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let err = client().send(&get(&url, &[])).unwrap_err();
    assert!(matches!(err, CtlError::Connect { .. }), "{err}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")));
}

#[test]
fn refuses_https_without_tls_settings_and_malformed_urls_with_the_fix() {
    let mut c = client();
    let err = c.send(&get("https://example.com/", &[])).unwrap_err();
    assert!(
        matches!(err, CtlError::Https { .. }) && err.to_string().contains("TLS"),
        "{err}"
    );
    for bad in [
        "ftp://h/",
        "host:80/x",
        "http://:80/",
        "http://h:99999/",
        "http://h/a b",
        "http://u@h/",
    ] {
        let err = c.send(&get(bad, &[])).unwrap_err();
        assert!(matches!(err, CtlError::BadUrl { .. }), "{bad}: {err}");
        assert!(err.to_string().contains("http[s]://host"), "{err}");
    }
}

#[test]
fn header_values_never_leak_into_errors_or_debug() {
    let headers = [("Authorization", "Bearer top\r\nsecret".to_string())];
    let req = get("http://127.0.0.1:1/", &headers);
    let err = client().send(&req).unwrap_err();
    assert!(matches!(err, CtlError::BadRequest { .. }));
    assert!(!format!("{err} {err:?}").contains("secret"));
    let ok = [
        ("authorization", "Bearer topsecret".to_string()),
        ("X-A", "b".to_string()),
    ];
    let dbg = format!("{:?}", get("http://h/", &ok));
    assert!(
        !dbg.contains("topsecret") && dbg.contains("***") && dbg.contains("\"b\""),
        "{dbg}"
    );
    let err = client()
        .send(&Request {
            method: "GE T",
            url: "http://h/",
            headers: &[],
            body: b"",
        })
        .unwrap_err();
    assert!(matches!(err, CtlError::BadRequest { .. }));
}

#[test]
fn an_empty_post_sends_content_length_zero() {
    let srv = Fake::start(|_| reply(200, &[], b""));
    client()
        .send(&Request {
            method: "POST",
            url: &srv.url("/"),
            headers: &[],
            body: b"",
        })
        .unwrap();
    assert_eq!(srv.seen()[0].header("content-length"), Some("0"));
}
