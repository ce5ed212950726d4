//! The bytes of a multipart upload's requests and answers, per protocol, without I/O: each
//! step's query, the bodies ringload builds (AIS action messages, the completion list) and
//! the parsing of what the server answers (the upload id, a part's ETag, S3's error body on a
//! 200 completion).
//!
//! Why apart: the state machine in `mod.rs` is about steps and accounting; this file is the
//! wire format of AIStore's native multipart API (`api/mpt.go`) and S3's, each testable alone.
//!
//! Invariants: everything is written into caller-owned, reused buffers; parsing never panics
//! on hostile bytes (an answer that is not understood is `None`).

use ringload_core::escape;
use ringload_net::http::{percent_encode, push_u64, Keep};

/// Which multipart dialect the run speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// AIStore's native API: `POST /v1/objects/<b>/<o>` with `{"action":"mpt-upload"}`, ...
    Ais,
    /// S3's CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload.
    S3,
}

/// Longest upload id and ETag kept; a longer one is an error, not a reallocation.
pub const MAX_TOKEN: usize = 1024;
/// Longest answer body kept (an upload id, an S3 XML answer); the rest is not looked at.
pub const MAX_ANSWER: usize = 8 * 1024;

/// AIS: the body that creates an upload.
pub const AIS_CREATE: &[u8] = br#"{"action":"mpt-upload"}"#;
/// AIS: the body that aborts an upload.
pub const AIS_ABORT: &[u8] = br#"{"action":"mpt-abort"}"#;

/// The query of part `k`: `uploadId=<id>&partNumber=<k>` (the id percent-encoded).
pub fn part_query(id: &[u8], k: u32, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(b"uploadId=");
    percent_encode(id, Keep::Unreserved, out);
    out.extend_from_slice(b"&partNumber=");
    push_u64(out, k as u64);
}

/// The query of the completion and the abort: `uploadId=<id>`.
pub fn upload_query(id: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(b"uploadId=");
    percent_encode(id, Keep::Unreserved, out);
}

/// The completion body for parts `1..=n`, whose ETags are `etags` (one per part, in order;
/// AIS ignores them and takes the part numbers).
pub fn complete_body<'a>(d: Dialect, etags: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    out.clear();
    match d {
        Dialect::Ais => {
            out.extend_from_slice(br#"{"action":"mpt-complete","value":["#);
            for (k, etag) in etags.enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(br#"{"etag":""#);
                escape::json(etag, out);
                out.extend_from_slice(br#"","part-number":"#);
                push_u64(out, k as u64 + 1);
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
        }
        Dialect::S3 => {
            out.extend_from_slice(b"<CompleteMultipartUpload>");
            for (k, etag) in etags.enumerate() {
                out.extend_from_slice(b"<Part><PartNumber>");
                push_u64(out, k as u64 + 1);
                out.extend_from_slice(b"</PartNumber><ETag>");
                escape::xml(etag, out);
                out.extend_from_slice(b"</ETag></Part>");
            }
            out.extend_from_slice(b"</CompleteMultipartUpload>");
        }
    }
}

/// The upload id in a creation answer: AIS answers it as the body (possibly a JSON string),
/// S3 in `<UploadId>`. `None` when there is none or it is too long.
pub fn upload_id(d: Dialect, body: &[u8]) -> Option<&[u8]> {
    let id = match d {
        Dialect::Ais => {
            let t = body.trim_ascii();
            t.strip_prefix(b"\"")
                .and_then(|t| t.strip_suffix(b"\""))
                .unwrap_or(t)
        }
        Dialect::S3 => xml_text(body, b"UploadId")?,
    };
    let ok = !id.is_empty()
        && id.len() <= MAX_TOKEN
        && id.iter().all(|&b| b.is_ascii_graphic() && b != b'"');
    ok.then_some(id)
}

/// Whether an S3 completion answer is an error although its status is 200 (S3 may report
/// a failed completion in the body of a 200).
pub fn completion_failed(d: Dialect, body: &[u8]) -> bool {
    d == Dialect::S3 && xml_text(body, b"Code").is_some() && find(body, b"<Error>").is_some()
}

/// The text of the first `<tag>...</tag>` in `xml` (no allocation).
fn xml_text<'a>(xml: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    let at = |from: usize, close: bool| {
        let skip = if close { 2 } else { 1 };
        (from..xml.len()).find(|&i| {
            xml[i] == b'<'
                && (!close || xml.get(i + 1) == Some(&b'/'))
                && xml[i + skip..].starts_with(tag)
                && xml.get(i + skip + tag.len()) == Some(&b'>')
        })
    };
    let start = at(0, false)? + 1 + tag.len() + 1;
    let end = at(start, true)?;
    Some(xml[start..end].trim_ascii())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_encode_the_id() {
        let mut q = Vec::new();
        part_query(b"a b/c", 3, &mut q);
        assert_eq!(q, b"uploadId=a%20b%2Fc&partNumber=3");
        upload_query(b"xyz", &mut q);
        assert_eq!(q, b"uploadId=xyz");
    }

    #[test]
    fn completion_bodies_per_dialect() {
        let tags: [&[u8]; 2] = [b"\"e1\"", b"\"e<2\""];
        let mut b = Vec::new();
        complete_body(Dialect::Ais, tags.iter().copied(), &mut b);
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            r#"{"action":"mpt-complete","value":[{"etag":"\"e1\"","part-number":1},{"etag":"\"e<2\"","part-number":2}]}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["value"][1]["part-number"], 2);
        assert_eq!(v["value"][1]["etag"], "\"e<2\"");
        complete_body(Dialect::S3, tags.iter().copied(), &mut b);
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>\
             </Part><Part><PartNumber>2</PartNumber><ETag>&quot;e&lt;2&quot;</ETag></Part>\
             </CompleteMultipartUpload>"
        );
    }

    #[test]
    fn upload_ids_are_parsed_or_refused() {
        assert_eq!(upload_id(Dialect::Ais, b"abc123\n"), Some(&b"abc123"[..]));
        assert_eq!(upload_id(Dialect::Ais, b"\"abc\""), Some(&b"abc"[..]));
        assert_eq!(upload_id(Dialect::Ais, b""), None);
        assert_eq!(upload_id(Dialect::Ais, b"a b"), None);
        let x = b"<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket>\
                  <Key>k</Key><UploadId>u-1</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(upload_id(Dialect::S3, x), Some(&b"u-1"[..]));
        assert_eq!(upload_id(Dialect::S3, b"<UploadId>u-1"), None);
        assert_eq!(upload_id(Dialect::S3, b"<UploadId></UploadId>"), None);
        let long = vec![b'a'; MAX_TOKEN + 1];
        assert_eq!(upload_id(Dialect::Ais, &long), None);
    }

    #[test]
    fn an_error_inside_a_200_completion_is_a_failure() {
        let e = b"<Error><Code>InternalError</Code><Message>m</Message></Error>";
        assert!(completion_failed(Dialect::S3, e));
        assert!(!completion_failed(
            Dialect::S3,
            b"<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>"
        ));
        assert!(!completion_failed(Dialect::Ais, e));
    }
}
