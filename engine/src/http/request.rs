//! Encoding HTTP/1.1 request heads into a reused buffer.
//!
//! Every request a core sends is written here, once per operation, so nothing in this file
//! allocates once the caller's buffer has grown to its working size: numbers are formatted by
//! hand and object names are percent-encoded byte by byte. The protocols (plain HTTP, AIS and
//! S3) differ only in the path, the query and the extra header lines they pass in (see
//! `crate::worker::request`, which builds those per protocol).

use ringload_net::http::{percent_encode, push_u64, Keep};

/// The request methods the engine issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Head,
    Delete,
    Post,
}

impl Method {
    fn as_bytes(self) -> &'static [u8] {
        match self {
            Method::Get => b"GET",
            Method::Put => b"PUT",
            Method::Head => b"HEAD",
            Method::Delete => b"DELETE",
            Method::Post => b"POST",
        }
    }
}

/// One request head to encode: the path is `path_prefix` copied as it is, then `name`
/// percent-encoded (keeping `/`), then `?query` when the query is not empty.
pub struct RequestHead<'a> {
    pub method: Method,
    pub host: &'a str,
    /// Already-safe prefix, e.g. `/base/bucket/`.
    pub path_prefix: &'a [u8],
    /// The object name, percent-encoded here (slashes kept).
    pub name: &'a [u8],
    /// Query string without `?`, copied verbatim (may be empty).
    pub query: &'a [u8],
    /// `Content-Length` for requests with a body.
    pub content_length: Option<u64>,
    /// Inclusive byte range for `Range: bytes=a-b`.
    pub range: Option<(u64, u64)>,
    /// Extra header lines, each ending in `\r\n` (may be empty).
    pub extra: &'a [u8],
}

impl RequestHead<'_> {
    /// Clears `out` and writes the complete head, ending in the blank line.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.path_prefix);
        percent_encode(self.name, Keep::UnreservedAndSlash, out);
        if !self.query.is_empty() {
            out.push(b'?');
            out.extend_from_slice(self.query);
        }
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(b"\r\nUser-Agent: ");
        out.extend_from_slice(ringload_net::http::USER_AGENT.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(len) = self.content_length {
            out.extend_from_slice(b"Content-Length: ");
            push_u64(out, len);
            out.extend_from_slice(b"\r\n");
        }
        if let Some((a, b)) = self.range {
            out.extend_from_slice(b"Range: bytes=");
            push_u64(out, a);
            out.push(b'-');
            push_u64(out, b);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(self.extra);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_ranged_get() {
        let mut out = Vec::new();
        RequestHead {
            method: Method::Get,
            host: "127.0.0.1:80",
            path_prefix: b"/b/",
            name: b"dir/a b%",
            query: b"",
            content_length: None,
            range: Some((0, 1023)),
            extra: b"",
        }
        .encode(&mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "GET /b/dir/a%20b%25 HTTP/1.1\r\nHost: 127.0.0.1:80\r\nUser-Agent: ringload/0.1.0\r\n\
             Range: bytes=0-1023\r\n\r\n"
        );
    }

    #[test]
    fn encodes_a_put_with_query_and_extra_headers() {
        let mut out = Vec::new();
        RequestHead {
            method: Method::Put,
            host: "h",
            path_prefix: b"/v1/objects/b/",
            name: b"x",
            query: b"provider=ais",
            content_length: Some(18_446_744_073_709_551_615),
            range: None,
            extra: b"X-A: 1\r\n",
        }
        .encode(&mut out);
        let s = std::str::from_utf8(&out).unwrap();
        assert!(
            s.starts_with("PUT /v1/objects/b/x?provider=ais HTTP/1.1\r\n"),
            "{s}"
        );
        assert!(s.contains("Content-Length: 18446744073709551615\r\n"));
        assert!(s.ends_with("X-A: 1\r\n\r\n"));
    }
}
