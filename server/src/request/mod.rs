//! Request heads and response heads of the built-in target (pure functions, no I/O).
//!
//! Owns: turning a request head into a [`Head`] (method, decoded path, raw target, body
//! framing, keep-alive, `Expect`, `Range`), query-string helpers, resolving ranges against an
//! object size, the response [`Status`] set, and writing response heads into a caller-owned
//! buffer.
//!
//! Why separate: the connection state machine stays about I/O and sequencing, and these rules
//! are tested byte for byte without sockets.
//!
//! Invariants: no allocation on the hot path (headers parse into a stack array; the name is
//! decoded into a reused buffer; heads are appended to a reused `Vec`). Anything ambiguous
//! (bad escape, non-UTF-8 name, conflicting framing, unknown transfer coding) is a [`BadRequest`],
//! which the connection answers with 400 and a close. A malformed `Range` is ignored (RFC 9110
//! §14.2 lets a server serve the whole object instead).

// The wire rules the server shares with the client live in ringload-net; the server's
// modules reach them through this one.
use ringload_core::cksum::Hex;
use ringload_core::kinds::CksumType;
use ringload_net::http::{hex_value, parse_decimal};
pub(crate) use ringload_net::http::{parse_chunk_size, push_u64, MAX_REQUEST_HEADERS};

/// What the request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Put,
    Delete,
    Post,
    Patch,
    Other,
}

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
}

/// A parsed `Range: bytes=...` with a single range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    /// `a-b` (inclusive).
    FromTo(u64, u64),
    /// `a-`.
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

/// A range resolved against an object's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    Full,
    /// Inclusive first and last byte.
    Part(u64, u64),
    Unsatisfiable,
}

/// The facts of one request head that outlive the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// Bytes of the head, including the blank line.
    pub(crate) len: usize,
    pub(crate) method: Method,
    pub(crate) keep_alive: bool,
    /// HTTP/1.0 client that asked for keep-alive (needs `Connection: keep-alive` echoed).
    pub(crate) http10_keep_alive: bool,
    pub(crate) framing: Framing,
    pub(crate) expect_continue: bool,
    pub(crate) range: Option<RangeSpec>,
    /// Length of the raw path in the raw target (the query, if any, follows a `?` there).
    pub(crate) path_len: usize,
    /// The request carries an `Authorization` header (counted, never checked, by AIS).
    pub(crate) authorization: bool,
    /// AIS `Ais-Checksum-Type`/`-Value`, when both were sent.
    pub(crate) cksum: Option<Cksum>,
}

/// A checksum a request declares: its type (`None`: one AIS does not have) and hex value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cksum {
    pub(crate) ty: Option<CksumType>,
    pub(crate) value: Hex,
}

/// Why a head was rejected (answered with 400 and a close; the reason is for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadRequest {
    Syntax,
    Escape,
    NotUtf8,
    ContentLength,
    TransferEncoding,
}

/// Parses one head from `buf`. `Ok(None)`: incomplete, read more. On success the decoded
/// path (URL path without leading `/` and query) is left in `name`, and the raw origin-form
/// target (`/path?query`, still percent-encoded, without any fragment) in `target`.
pub(crate) fn parse_head(
    buf: &[u8],
    name: &mut Vec<u8>,
    target: &mut Vec<u8>,
) -> Result<Option<Head>, BadRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(BadRequest::Syntax),
    };
    let method = match req.method.unwrap_or("") {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "POST" => Method::Post,
        "PATCH" => Method::Patch,
        _ => Method::Other,
    };
    let path_len = decode_target(req.path.unwrap_or("").as_bytes(), name, target)?;
    let http11 = req.version == Some(1);

    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut conn_close = false;
    let mut conn_keep = false;
    let mut expect_continue = false;
    let mut range = None;
    let mut authorization = false;
    let (mut cksum_type, mut cksum_value) = (None, None);
    for h in req.headers.iter() {
        let v = trim(h.value);
        if h.name.eq_ignore_ascii_case("ais-checksum-type") {
            cksum_type = Some(CksumType::parse_header(v));
        } else if h.name.eq_ignore_ascii_case("ais-checksum-value") {
            // Longer than any checksum: kept as an empty value, which matches nothing.
            cksum_value = Some(Hex::from_bytes(v).unwrap_or(Hex::EMPTY));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_decimal(v).ok_or(BadRequest::ContentLength)?;
            if length.is_some_and(|prev| prev != n) {
                return Err(BadRequest::ContentLength);
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only a lone `chunked` is understood; anything else cannot be framed safely.
            if chunked || !v.eq_ignore_ascii_case(b"chunked") {
                return Err(BadRequest::TransferEncoding);
            }
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in v.split(|&b| b == b',') {
                let t = trim(token);
                conn_close |= t.eq_ignore_ascii_case(b"close");
                conn_keep |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            expect_continue = v.eq_ignore_ascii_case(b"100-continue");
        } else if h.name.eq_ignore_ascii_case("range") {
            range = parse_range(v);
        } else if h.name.eq_ignore_ascii_case("authorization") {
            authorization = true;
        }
    }
    if chunked && length.is_some() {
        // RFC 9112 §6.1: a request with both is a smuggling risk; refuse it.
        return Err(BadRequest::TransferEncoding);
    }
    let framing = if chunked {
        Framing::Chunked
    } else {
        Framing::Length(length.unwrap_or(0))
    };
    let keep_alive = !conn_close && (http11 || conn_keep);
    Ok(Some(Head {
        len,
        method,
        keep_alive,
        http10_keep_alive: !http11 && keep_alive,
        framing,
        expect_continue: http11 && expect_continue && framing != Framing::Length(0),
        range,
        path_len,
        authorization,
        cksum: cksum_type
            .zip(cksum_value)
            .map(|(ty, value)| Cksum { ty, value }),
    }))
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// Decodes a request target (origin or absolute form) into the object name, copies its raw
/// origin form into `raw`, and returns the raw path's length there.
fn decode_target(target: &[u8], out: &mut Vec<u8>, raw: &mut Vec<u8>) -> Result<usize, BadRequest> {
    out.clear();
    raw.clear();
    let mut path = target;
    for scheme in [&b"http://"[..], &b"https://"[..]] {
        if path.len() >= scheme.len() && path[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &path[scheme.len()..];
            path = rest
                .iter()
                .position(|&b| b == b'/')
                .map_or(&b""[..], |i| &rest[i..]);
        }
    }
    let end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    let frag = path.iter().position(|&b| b == b'#').unwrap_or(path.len());
    raw.extend_from_slice(&path[..frag]);
    let path = &path[..end];
    let path = path.strip_prefix(b"/").unwrap_or(path);
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'%' {
            let hi = path.get(i + 1).copied().and_then(hex_value);
            let lo = path.get(i + 2).copied().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(BadRequest::Escape),
            }
            i += 3;
        } else {
            out.push(path[i]);
            i += 1;
        }
    }
    if std::str::from_utf8(out).is_err() {
        return Err(BadRequest::NotUtf8);
    }
    Ok(end)
}

/// The raw value of query parameter `key` (first occurrence; `Some(b"")` for a bare `key`).
pub(crate) fn query_param<'q>(query: &'q [u8], key: &[u8]) -> Option<&'q [u8]> {
    query.split(|&b| b == b'&').find_map(|pair| {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        (k == key).then_some(v)
    })
}

/// Percent-decodes a query value (`+` is a space) into a new string; `None` if the escapes
/// are bad or the result is not UTF-8. Control paths only (it allocates).
pub(crate) fn decode_query_value(v: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'%' => {
                let hi = hex_value(*v.get(i + 1)?)?;
                let lo = hex_value(*v.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else (several ranges, other units,
/// `b < a`) is `None`, meaning "serve the whole object".
fn parse_range(v: &[u8]) -> Option<RangeSpec> {
    let eq = v.iter().position(|&b| b == b'=')?;
    if !trim(&v[..eq]).eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let spec = trim(&v[eq + 1..]);
    if spec.contains(&b',') {
        return None;
    }
    let dash = spec.iter().position(|&b| b == b'-')?;
    let (first, last) = (trim(&spec[..dash]), trim(&spec[dash + 1..]));
    match (first.is_empty(), last.is_empty()) {
        (true, false) => Some(RangeSpec::Suffix(parse_decimal(last)?)),
        (false, true) => Some(RangeSpec::From(parse_decimal(first)?)),
        (false, false) => {
            let (a, b) = (parse_decimal(first)?, parse_decimal(last)?);
            (b >= a).then_some(RangeSpec::FromTo(a, b))
        }
        (true, true) => None,
    }
}

/// Resolves an optional range against `size` (RFC 9110 §14.1.2).
pub(crate) fn resolve(range: Option<RangeSpec>, size: u64) -> Resolved {
    let Some(r) = range else {
        return Resolved::Full;
    };
    match r {
        RangeSpec::FromTo(a, _) | RangeSpec::From(a) if a >= size => Resolved::Unsatisfiable,
        RangeSpec::FromTo(a, b) => Resolved::Part(a, b.min(size - 1)),
        RangeSpec::From(a) => Resolved::Part(a, size - 1),
        RangeSpec::Suffix(n) if n == 0 || size == 0 => Resolved::Unsatisfiable,
        RangeSpec::Suffix(n) => Resolved::Part(size - n.min(size), size - 1),
    }
}

/// Every final status the target answers; counted per status in the listener's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Created,
    NoContent,
    PartialContent,
    MovedPermanently,
    TemporaryRedirect,
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    RangeNotSatisfiable,
    InternalServerError,
    ServiceUnavailable,
}

/// Number of [`Status`] values (the size of the per-status counter array).
pub(crate) const STATUS_COUNT: usize = 15;

impl Status {
    /// All statuses, in counter-index order.
    pub(crate) const ALL: [Status; STATUS_COUNT] = [
        Status::Ok,
        Status::Created,
        Status::NoContent,
        Status::PartialContent,
        Status::MovedPermanently,
        Status::TemporaryRedirect,
        Status::BadRequest,
        Status::Forbidden,
        Status::NotFound,
        Status::MethodNotAllowed,
        Status::Conflict,
        Status::PayloadTooLarge,
        Status::RangeNotSatisfiable,
        Status::InternalServerError,
        Status::ServiceUnavailable,
    ];

    /// The status line after `HTTP/1.1 `.
    pub(crate) fn line(self) -> &'static [u8] {
        match self {
            Status::Ok => b"200 OK",
            Status::Created => b"201 Created",
            Status::NoContent => b"204 No Content",
            Status::PartialContent => b"206 Partial Content",
            Status::MovedPermanently => b"301 Moved Permanently",
            Status::TemporaryRedirect => b"307 Temporary Redirect",
            Status::BadRequest => b"400 Bad Request",
            Status::Forbidden => b"403 Forbidden",
            Status::NotFound => b"404 Not Found",
            Status::MethodNotAllowed => b"405 Method Not Allowed",
            Status::Conflict => b"409 Conflict",
            Status::PayloadTooLarge => b"413 Content Too Large",
            Status::RangeNotSatisfiable => b"416 Range Not Satisfiable",
            Status::InternalServerError => b"500 Internal Server Error",
            Status::ServiceUnavailable => b"503 Service Unavailable",
        }
    }

    /// The numeric code.
    pub(crate) fn code(self) -> u16 {
        let l = self.line();
        u16::from(l[0] - b'0') * 100 + u16::from(l[1] - b'0') * 10 + u16::from(l[2] - b'0')
    }

    /// Index into the per-status counters.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Optional parts of a response head.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Extra {
    /// `Content-Range: bytes first-last/size`.
    pub(crate) range: Option<(u64, u64, u64)>,
    /// `Content-Range: bytes */size` (416).
    pub(crate) unsatisfied_size: Option<u64>,
    pub(crate) accept_ranges: bool,
    pub(crate) allow: bool,
    pub(crate) content_type: Option<&'static str>,
}

/// Appends a response head without the final blank line, so the caller can append header lines (each
/// ending in CRLF) and then the blank line.
pub(crate) fn write_head_open(
    out: &mut Vec<u8>,
    status: Status,
    content_length: Option<u64>,
    extra: Extra,
    close: bool,
    keep_alive_10: bool,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.line());
    out.extend_from_slice(b"\r\n");
    if let Some(n) = content_length {
        out.extend_from_slice(b"Content-Length: ");
        push_u64(out, n);
        out.extend_from_slice(b"\r\n");
    }
    if let Some((a, b, size)) = extra.range {
        out.extend_from_slice(b"Content-Range: bytes ");
        push_u64(out, a);
        out.push(b'-');
        push_u64(out, b);
        out.push(b'/');
        push_u64(out, size);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(size) = extra.unsatisfied_size {
        out.extend_from_slice(b"Content-Range: bytes */");
        push_u64(out, size);
        out.extend_from_slice(b"\r\n");
    }
    if extra.accept_ranges {
        out.extend_from_slice(b"Accept-Ranges: bytes\r\n");
    }
    if extra.allow {
        out.extend_from_slice(b"Allow: GET, HEAD, PUT, DELETE\r\n");
    }
    if let Some(ct) = extra.content_type {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(ct.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if keep_alive_10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
}

#[cfg(test)]
mod tests;
