//! Writing answers: the [`Reply`] a handler writes into, and refusals and errors in each
//! protocol's format (plain text, AIS JSON `{"message":..,"status":..}`, S3 XML `<Error>`).
//!
//! Owns: counting every final status, the HEAD rule (a HEAD answer carries the length of the
//! body a GET would get, but no body), and [`reject`]; JSON and XML escaping is
//! `ringload_core::escape`'s (re-exported here as [`Escape`]).
//!
//! Why: the object, AIS, S3 and stats handlers then only decide what to say.
//!
//! Invariants: nothing here allocates beyond the connection's reused buffers (`out` for heads,
//! `scratch` for bodies), so error answers on the hot path (404, faults) stay allocation-free.

use std::fmt::{self, Write as _};

pub(crate) use ringload_core::escape::Escape;

use super::counters::{CoreCounters, Kind};
use super::provider::Provider;
use super::request::{self, Extra, Method, Status};
use super::route::Reject;
use super::ServeProtocol;

/// Where a handler writes its answer.
pub(crate) struct Reply<'a> {
    /// Response heads (and small bodies), sent in order.
    pub(crate) out: &'a mut Vec<u8>,
    /// Reused buffer for building a body before its length is known.
    pub(crate) scratch: &'a mut Vec<u8>,
    pub(crate) ctr: &'a CoreCounters,
    pub(crate) close: bool,
    pub(crate) ka10: bool,
    /// HEAD: bodies are left out (their length is still announced).
    pub(crate) head_only: bool,
    /// False for the stats endpoint, which must not count itself.
    pub(crate) counted: bool,
}

impl Reply<'_> {
    /// Writes a head without its final blank line (append header lines, then [`Reply::end`]).
    pub(crate) fn open(&mut self, status: Status, len: Option<u64>, extra: Extra) {
        if self.counted {
            self.ctr.status(status);
        }
        request::write_head_open(self.out, status, len, extra, self.close, self.ka10);
    }

    /// Ends the head opened with [`Reply::open`].
    pub(crate) fn end(&mut self) {
        self.out.extend_from_slice(b"\r\n");
    }

    /// A complete answer with `body` (left out for HEAD).
    pub(crate) fn full(&mut self, status: Status, content_type: Option<&'static str>, body: &[u8]) {
        let extra = Extra {
            content_type,
            ..Extra::default()
        };
        self.open(status, Some(body.len() as u64), extra);
        self.end();
        if !self.head_only {
            self.out.extend_from_slice(body);
        }
    }

    /// A complete answer whose body is what the handler wrote into `scratch`.
    pub(crate) fn send_scratch(&mut self, status: Status, content_type: Option<&'static str>) {
        let extra = Extra {
            content_type,
            ..Extra::default()
        };
        self.open(status, Some(self.scratch.len() as u64), extra);
        self.end();
        if !self.head_only {
            self.out.extend_from_slice(self.scratch);
        }
    }

    /// An error answer in `protocol`'s format: `s3_code` names the S3 error, `message` is the
    /// human text (AIS `message`, S3 `Message`; plain HTTP answers the reason phrase).
    pub(crate) fn error(
        &mut self,
        protocol: ServeProtocol,
        status: Status,
        s3_code: &str,
        message: fmt::Arguments<'_>,
    ) {
        self.scratch.clear();
        let ct = match protocol {
            ServeProtocol::Http => {
                let reason = &status.line()[4..];
                self.scratch
                    .extend(reason.iter().map(|b| b.to_ascii_lowercase()));
                self.scratch.push(b'\n');
                None
            }
            ServeProtocol::Ais => {
                self.scratch.extend_from_slice(b"{\"message\":\"");
                let _ = Escape::json(self.scratch).write_fmt(message);
                self.scratch.extend_from_slice(b"\",\"status\":");
                request::push_u64(self.scratch, u64::from(status.code()));
                self.scratch.push(b'}');
                Some("application/json")
            }
            ServeProtocol::S3 => {
                self.scratch.extend_from_slice(
                    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>",
                );
                self.scratch.extend_from_slice(s3_code.as_bytes());
                self.scratch.extend_from_slice(b"</Code><Message>");
                let _ = Escape::xml(self.scratch).write_fmt(message);
                self.scratch.extend_from_slice(b"</Message></Error>");
                Some("application/xml")
            }
        };
        self.send_scratch(status, ct);
    }
}

/// A refusal decided by the router (`key` is the object key or bucket it concerns).
pub(crate) fn reject(
    r: &mut Reply<'_>,
    protocol: ServeProtocol,
    why: Reject,
    kind: Kind,
    key: &str,
    method: Method,
) {
    r.ctr.request(kind);
    let bucket = key.split('/').next().unwrap_or("");
    match why {
        Reject::MethodNotAllowed if protocol == ServeProtocol::Http => {
            let allow = Extra {
                allow: true,
                ..Extra::default()
            };
            r.open(Status::MethodNotAllowed, Some(0), allow);
            r.end();
        }
        Reject::MethodNotAllowed => r.error(
            protocol,
            Status::MethodNotAllowed,
            "MethodNotAllowed",
            format_args!("method {} is not allowed here", method_name(method)),
        ),
        Reject::UnknownPath => r.error(
            protocol,
            Status::NotFound,
            "InvalidURI",
            format_args!("unknown path: see the target's docs for the supported API"),
        ),
        Reject::MissingName => r.error(
            protocol,
            Status::BadRequest,
            "InvalidURI",
            format_args!("object name is missing: use /v1/objects/<bucket>/<object>"),
        ),
        Reject::NoSuchBucket => no_such_bucket(r, protocol, Provider::Ais, bucket),
        Reject::BadProvider => r.error(
            protocol,
            Status::BadRequest,
            "InvalidArgument",
            format_args!(
                "unknown bucket provider in the query: use provider=ais, aws, gcp, azure or oci"
            ),
        ),
        Reject::NotViaProxy(op) => r.error(
            protocol,
            Status::BadRequest,
            "InvalidRequest",
            format_args!("{} must go through a proxy", op.name()),
        ),
        Reject::SignatureMismatch => r.error(
            protocol,
            Status::Forbidden,
            "SignatureDoesNotMatch",
            format_args!(
                "The request signature we calculated does not match the signature you provided."
            ),
        ),
        Reject::TooLarge => r.error(
            protocol,
            Status::PayloadTooLarge,
            "EntityTooLarge",
            format_args!("request body too large for a control request (at most 1 MiB)"),
        ),
    }
}

/// 404 for a bucket that does not exist (AIS names it with its provider's scheme).
pub(crate) fn no_such_bucket(
    r: &mut Reply<'_>,
    protocol: ServeProtocol,
    provider: Provider,
    bucket: &str,
) {
    let (st, code) = (Status::NotFound, "NoSuchBucket");
    match protocol {
        ServeProtocol::S3 => r.error(
            protocol,
            st,
            code,
            format_args!("The specified bucket does not exist"),
        ),
        _ => r.error(
            protocol,
            st,
            code,
            format_args!("bucket \"{}://{bucket}\" does not exist", provider.scheme()),
        ),
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Post => "POST",
        Method::Patch => "PATCH",
        Method::Other => "this",
    }
}

/// `fmt::Write` into a byte vector, unescaped.
pub(crate) struct VecFmt<'a>(pub(crate) &'a mut Vec<u8>);

impl fmt::Write for VecFmt<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_per_protocol() {
        let ctr = CoreCounters::default();
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let mut r = Reply {
            out: &mut out,
            scratch: &mut scratch,
            ctr: &ctr,
            close: false,
            ka10: false,
            head_only: false,
            counted: true,
        };
        no_such_bucket(&mut r, ServeProtocol::Ais, Provider::Ais, "b\"x");
        let text = String::from_utf8(out.clone()).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["message"], "bucket \"ais://b\"x\" does not exist");
        assert_eq!(v["status"], 404);
        out.clear();
        let mut r = Reply {
            out: &mut out,
            scratch: &mut scratch,
            ctr: &ctr,
            close: false,
            ka10: false,
            head_only: true,
            counted: true,
        };
        r.error(ServeProtocol::Http, Status::NotFound, "", format_args!("x"));
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n".to_vec()
        );
    }
}
