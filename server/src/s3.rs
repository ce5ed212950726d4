//! S3 (path-style) bucket requests and the auth hook: create (`PUT /<bucket>`), `HEAD`,
//! `DELETE` and ListObjectsV2 (`GET /<bucket>?list-type=2&prefix=..&continuation-token=..
//! &max-keys=..`), answered in S3's XML.
//!
//! Owns: [`AuthRequest`], the view of a request the auth hook judges, and building it from the
//! raw head. The target does not verify signatures itself: whoever starts it passes a hook
//! (`ServeConfig::s3_auth`); a refusal is `403 SignatureDoesNotMatch`.
//!
//! Why apart: control requests may allocate; object requests go through `object`.
//!
//! Invariants: keys and names in XML are escaped; `max-keys` defaults to 1000 and is capped at
//! 1000 (S3's own limit) and at `--page-size`; the continuation token is the last key returned.

use std::fmt::Write as _;

use super::counters::Kind;
use super::listing::list_page;
use super::node::Node;
use super::provider::Provider;
use super::request::{decode_query_value, query_param, Method, Status, MAX_REQUEST_HEADERS};
use super::respond::{no_such_bucket, Escape, Reply, VecFmt};
use super::ServeProtocol;
use ringload_net::http::parse_decimal;

const P: ServeProtocol = ServeProtocol::S3;
/// S3 buckets are one namespace: the table of `ais` buckets.
const A: Provider = Provider::Ais;
const XML: Option<&str> = Some("application/xml");
/// S3's default and largest `max-keys`.
const MAX_KEYS: usize = 1000;

/// One request as the S3 auth hook sees it (borrowed from the receive buffer).
#[derive(Debug)]
pub struct AuthRequest<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The path as sent (still percent-encoded), e.g. `/bucket/key%20name`.
    pub raw_path: &'a [u8],
    /// The query as sent, without the `?` (empty if none).
    pub raw_query: &'a [u8],
    /// Every header line, in order, names as sent.
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// Runs the node's auth hook on the head in `head` (a complete request head). A head the
/// hook cannot be shown (it parsed once already, so this cannot happen) is refused.
pub(crate) fn authorized(node: &Node, head: &[u8]) -> bool {
    let Some(hook) = &node.s3_auth else {
        return true;
    };
    let mut raw = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
    let mut req = httparse::Request::new(&mut raw);
    if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) {
        return false;
    }
    let mut headers: [(&str, &[u8]); MAX_REQUEST_HEADERS] = [("", &[]); MAX_REQUEST_HEADERS];
    let n = req.headers.len();
    for (slot, h) in headers.iter_mut().zip(req.headers.iter()) {
        *slot = (h.name, h.value);
    }
    let target = req.path.unwrap_or("").as_bytes();
    let (raw_path, raw_query) = match target.iter().position(|&b| b == b'?') {
        Some(i) => (&target[..i], &target[i + 1..]),
        None => (target, &b""[..]),
    };
    hook(&AuthRequest {
        method: req.method.unwrap_or(""),
        raw_path,
        raw_query,
        headers: &headers[..n],
    })
}

/// `/<bucket>` with any method.
pub(crate) fn bucket(r: &mut Reply<'_>, node: &Node, method: Method, bucket: &str, query: &[u8]) {
    let buckets = &node.cluster.buckets;
    match method {
        Method::Put => {
            r.ctr.request(Kind::Bucket);
            buckets.create(A, bucket);
            r.full(Status::Ok, None, b"");
        }
        Method::Head => {
            r.ctr.request(Kind::Bucket);
            if buckets.contains(A, bucket) {
                r.full(Status::Ok, None, b"");
            } else {
                no_such_bucket(r, P, A, bucket);
            }
        }
        Method::Delete => {
            r.ctr.request(Kind::Bucket);
            if !buckets.contains(A, bucket) {
                return no_such_bucket(r, P, A, bucket);
            }
            let prefix = format!("{bucket}/");
            let mut objects = 0usize;
            for s in node.cluster.stores(A) {
                s.scan(&prefix, |_, _| objects += 1);
            }
            if objects > 0 {
                return r.error(
                    P,
                    Status::Conflict,
                    "BucketNotEmpty",
                    format_args!("The bucket you tried to delete is not empty"),
                );
            }
            buckets.remove(A, bucket);
            r.full(Status::NoContent, None, b"");
        }
        Method::Get => {
            r.ctr.request(Kind::List);
            if !buckets.contains(A, bucket) {
                return no_such_bucket(r, P, A, bucket);
            }
            list(r, node, bucket, query);
        }
        Method::Post | Method::Patch | Method::Other => {
            r.ctr.request(Kind::Bucket);
            r.error(
                P,
                Status::MethodNotAllowed,
                "MethodNotAllowed",
                format_args!("The specified method is not allowed against this resource."),
            );
        }
    }
}

/// A query parameter, decoded (`None` if absent; `Err` names a bad one).
fn param(query: &[u8], key: &'static str) -> Result<Option<String>, &'static str> {
    match query_param(query, key.as_bytes()) {
        None => Ok(None),
        Some(v) => decode_query_value(v).map(Some).ok_or(key),
    }
}

fn list(r: &mut Reply<'_>, node: &Node, bucket: &str, query: &[u8]) {
    let parsed = (|| {
        let prefix = param(query, "prefix")?.unwrap_or_default();
        let token = param(query, "continuation-token")?;
        let after = param(query, "start-after")?;
        let max = match query_param(query, b"max-keys") {
            None => MAX_KEYS,
            Some(v) => parse_decimal(v).ok_or("max-keys")?.min(MAX_KEYS as u64) as usize,
        };
        Ok::<_, &'static str>((prefix, token, after, max))
    })();
    let (prefix, token, after, max) = match parsed {
        Ok(p) => p,
        Err(name) => {
            return r.error(
                P,
                Status::BadRequest,
                "InvalidArgument",
                format_args!("bad value of query parameter {name}"),
            )
        }
    };
    let max = max.min(node.page_size);
    let from = token.as_deref().or(after.as_deref()).unwrap_or("");
    let page = list_page(node.cluster.stores(A), bucket, &prefix, from, max);

    let s = &mut *r.scratch;
    s.clear();
    s.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.extend_from_slice(
        b"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>",
    );
    let _ = Escape::xml(s).write_str(bucket);
    s.extend_from_slice(b"</Name><Prefix>");
    let _ = Escape::xml(s).write_str(&prefix);
    let _ = write!(
        VecFmt(s),
        "</Prefix><KeyCount>{}</KeyCount><MaxKeys>{max}</MaxKeys><IsTruncated>{}</IsTruncated>",
        page.entries.len(),
        page.truncated
    );
    if let Some(t) = &token {
        s.extend_from_slice(b"<ContinuationToken>");
        let _ = Escape::xml(s).write_str(t);
        s.extend_from_slice(b"</ContinuationToken>");
    }
    for (name, size) in &page.entries {
        s.extend_from_slice(b"<Contents><Key>");
        let _ = Escape::xml(s).write_str(name);
        let _ = write!(VecFmt(s), "</Key><Size>{size}</Size></Contents>");
    }
    if page.truncated {
        s.extend_from_slice(b"<NextContinuationToken>");
        let _ = Escape::xml(s).write_str(page.next_token());
        s.extend_from_slice(b"</NextContinuationToken>");
    }
    s.extend_from_slice(b"</ListBucketResult>");
    r.send_scratch(Status::Ok, XML);
}
