//! Tests for request-head parsing.

use super::*;

/// Appends a response head. `content_length: None` omits the header (204 / 1xx only).
/// `close` adds `Connection: close`; `keep_alive_10` adds `Connection: keep-alive`.
fn write_head(
    out: &mut Vec<u8>,
    status: Status,
    content_length: Option<u64>,
    extra: Extra,
    close: bool,
    keep_alive_10: bool,
) {
    write_head_open(out, status, content_length, extra, close, keep_alive_10);
    out.extend_from_slice(b"\r\n");
}

fn parse(s: &str) -> (Result<Option<Head>, BadRequest>, String) {
    let mut name = Vec::new();
    let r = parse_head(s.as_bytes(), &mut name, &mut Vec::new());
    (r, String::from_utf8_lossy(&name).into_owned())
}

#[test]
fn parses_put_with_length_and_decodes_the_name() {
    let (r, name) = parse("PUT /b/a%20b%2Fc?x=1 HTTP/1.1\r\nContent-Length: 42\r\n\r\nbody");
    let h = r.unwrap().unwrap();
    assert_eq!(name, "b/a b/c");
    assert_eq!(h.method, Method::Put);
    assert_eq!(h.framing, Framing::Length(42));
    assert!(h.keep_alive);
    assert_eq!(
        h.len,
        "PUT /b/a%20b%2Fc?x=1 HTTP/1.1\r\nContent-Length: 42\r\n\r\n".len()
    );
}

#[test]
fn keeps_the_raw_target_and_reads_query_parameters() {
    let mut name = Vec::new();
    let mut target = Vec::new();
    let h = parse_head(
        b"GET http://h:1/v1/objects/b/a%20b?provider=ais&pid#frag HTTP/1.1\r\n\r\n",
        &mut name,
        &mut target,
    )
    .unwrap()
    .unwrap();
    assert_eq!(name, b"v1/objects/b/a b");
    assert_eq!(target, b"/v1/objects/b/a%20b?provider=ais&pid");
    assert_eq!(&target[..h.path_len], b"/v1/objects/b/a%20b");
    let q = &target[h.path_len + 1..];
    assert_eq!(query_param(q, b"provider"), Some(&b"ais"[..]));
    assert_eq!(query_param(q, b"pid"), Some(&b""[..]));
    assert_eq!(query_param(q, b"utm"), None);
    assert_eq!(decode_query_value(b"a%2Fb+c").as_deref(), Some("a/b c"));
    assert_eq!(decode_query_value(b"%zz"), None);
    for s in Status::ALL {
        assert_eq!(Status::ALL[s.index()], s);
        assert!((200..600).contains(&s.code()));
    }
    assert_eq!(Status::PayloadTooLarge.code(), 413);
}

#[test]
fn absolute_form_connection_close_expect_and_chunked() {
    let (r, name) = parse(
        "PUT http://host:1/b/o HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\
         Connection: foo, Close\r\nExpect: 100-continue\r\n\r\n",
    );
    let h = r.unwrap().unwrap();
    assert_eq!(name, "b/o");
    assert_eq!(h.framing, Framing::Chunked);
    assert!(!h.keep_alive);
    assert!(h.expect_continue);
}

#[test]
fn http10_defaults_to_close() {
    let h = parse("GET /x HTTP/1.0\r\n\r\n").0.unwrap().unwrap();
    assert!(!h.keep_alive);
    let h = parse("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .0
        .unwrap()
        .unwrap();
    assert!(h.keep_alive && h.http10_keep_alive);
}

#[test]
fn incomplete_and_bad_heads() {
    assert_eq!(parse("GET /x HTTP/1.1\r\nHost: a\r\n").0, Ok(None));
    assert_eq!(parse("GARBAGE\r\n\r\n").0, Err(BadRequest::Syntax));
    assert_eq!(
        parse("GET /%zz HTTP/1.1\r\n\r\n").0,
        Err(BadRequest::Escape)
    );
    assert_eq!(
        parse("GET /%ff HTTP/1.1\r\n\r\n").0,
        Err(BadRequest::NotUtf8)
    );
    assert_eq!(
        parse("PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n").0,
        Err(BadRequest::ContentLength)
    );
    assert_eq!(
        parse("PUT /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").0,
        Err(BadRequest::ContentLength)
    );
    assert_eq!(
        parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").0,
        Err(BadRequest::TransferEncoding)
    );
    assert_eq!(
        parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n").0,
        Err(BadRequest::TransferEncoding)
    );
}

#[test]
fn ranges_parse_and_resolve() {
    assert_eq!(parse_range(b"bytes=0-9"), Some(RangeSpec::FromTo(0, 9)));
    assert_eq!(parse_range(b"bytes=5-"), Some(RangeSpec::From(5)));
    assert_eq!(parse_range(b"bytes=-3"), Some(RangeSpec::Suffix(3)));
    assert_eq!(parse_range(b"bytes=9-0"), None);
    assert_eq!(parse_range(b"bytes=0-1,3-4"), None);
    assert_eq!(parse_range(b"items=0-1"), None);
    assert_eq!(resolve(None, 10), Resolved::Full);
    assert_eq!(
        resolve(Some(RangeSpec::FromTo(2, 100)), 10),
        Resolved::Part(2, 9)
    );
    assert_eq!(
        resolve(Some(RangeSpec::From(10)), 10),
        Resolved::Unsatisfiable
    );
    assert_eq!(
        resolve(Some(RangeSpec::Suffix(3)), 10),
        Resolved::Part(7, 9)
    );
    assert_eq!(
        resolve(Some(RangeSpec::Suffix(30)), 10),
        Resolved::Part(0, 9)
    );
    assert_eq!(
        resolve(Some(RangeSpec::Suffix(0)), 10),
        Resolved::Unsatisfiable
    );
    assert_eq!(
        resolve(Some(RangeSpec::Suffix(5)), 0),
        Resolved::Unsatisfiable
    );
}

#[test]
fn heads_are_written_exactly() {
    let mut out = Vec::new();
    let extra = Extra {
        range: Some((2, 9, 10)),
        accept_ranges: true,
        ..Extra::default()
    };
    write_head(
        &mut out,
        Status::PartialContent,
        Some(8),
        extra,
        true,
        false,
    );
    assert_eq!(
        out,
        b"HTTP/1.1 206 Partial Content\r\nContent-Length: 8\r\n\
          Content-Range: bytes 2-9/10\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
    );
}
