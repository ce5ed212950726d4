//! The signed S3 requests for a bucket itself, over the blocking control client: the presence
//! check (`HEAD`), CreateBucket (`PUT`) and the ListObjectsV2 paging loop (`GET ?list-type=2`).
//!
//! Owns: [`Target`] (where the bucket is and how requests to it are signed), [`head`],
//! [`create`], [`list`], and their typed results.
//!
//! Why: these run once, before or after the measured phase; like the AIS bucket calls in
//! `ais::{bucket, list}` they live in the engine and return typed results, so the binary keeps
//! only the decisions (create or not, which note to print) and the messages.
//!
//! Invariants: the `Host` header and path come from [`super::address`], the same rule the
//! load's requests use; every request is signed when the target has keys; every page request
//! of a listing is counted in the caller's [`ListStats`]; no error carries a secret.

use ringload_core::kinds::S3Addressing;

use super::list::{list_query, parse_error, parse_list_page, ListError};
use super::sigv4::{sha256_hex, AmzDate, SignRequest, Signer};
use crate::ctl::{Client, CtlError, Request, Response};
use crate::phase::ListStats;
use crate::workload::Endpoint;

/// A bucket on an S3 endpoint and how to reach it.
pub struct Target<'a> {
    pub endpoint: &'a Endpoint,
    pub bucket: &'a str,
    pub addressing: S3Addressing,
    /// The signer with the run's keys; `None` sends unsigned requests.
    pub signer: Option<Signer>,
}

/// What `HEAD <bucket>` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// 2xx.
    Exists,
    /// 404.
    Missing,
    /// 403: object-only credentials (no s3:ListBucket) are common, so the caller may go on.
    Forbidden,
    /// Any other status.
    Other(u16),
}

/// Why CreateBucket failed.
#[derive(Debug)]
pub enum CreateError {
    /// The request did not complete.
    Ctl(CtlError),
    /// The server answered with a non-2xx status, with the S3 `(Code, Message)` if the body had
    /// one.
    Refused {
        status: u16,
        error: Option<(String, String)>,
    },
}

/// Why a listing failed.
#[derive(Debug)]
pub enum ListFailure {
    /// A page request did not complete.
    Ctl(CtlError),
    /// A page answered a status other than 200; `why` is the S3 `Code: Message`, or the body.
    Http { status: u16, why: String },
    /// A page's body was not a usable ListObjectsV2 response.
    Page(ListError),
}

impl Target<'_> {
    /// `Host` header and path of the bucket itself: path style `<base>/<bucket>`, virtual-host
    /// `<base>/`.
    fn host_and_path(&self) -> (String, String) {
        let (host, prefix) =
            super::address(&self.endpoint.host_header, self.bucket, self.addressing);
        // The bucket's own resource has no trailing '/' after the name (bucket names hold none).
        let prefix = match prefix.strip_suffix('/') {
            Some(p) if !p.is_empty() => p,
            _ => prefix.as_str(),
        };
        (host, format!("{}{prefix}", self.endpoint.base_path))
    }

    /// Sends a signed request for the bucket itself with `query` (already canonical) and `body`.
    pub fn send(
        &mut self,
        c: &mut Client,
        method: &str,
        query: &str,
        body: &[u8],
    ) -> Result<Response, CtlError> {
        let (host, path) = self.host_and_path();
        // The signer writes complete header lines; the client takes them as (name, value).
        let mut lines = Vec::new();
        let body_hash = sha256_hex(body);
        if let Some(signer) = self.signer.as_mut() {
            signer.sign(
                &SignRequest {
                    method,
                    host: &host,
                    canonical_uri: path.as_bytes(),
                    query: query.as_bytes(),
                    payload_hash: &body_hash,
                },
                &AmzDate::now(),
                &mut lines,
            );
        }
        let lines = String::from_utf8_lossy(&lines);
        let headers: Vec<(&str, String)> = lines
            .split("\r\n")
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        // The control client takes the Host header from the URL (virtual-host style needs
        // `<bucket>.<endpoint>` to resolve).
        let sep = if query.is_empty() { "" } else { "?" };
        let scheme = if self.endpoint.tls { "https" } else { "http" };
        let url = format!("{scheme}://{host}{path}{sep}{query}");
        c.send(&Request {
            method,
            url: &url,
            headers: &headers,
            body,
        })
    }
}

/// `HEAD <bucket>`: whether the bucket exists.
pub fn head(c: &mut Client, t: &mut Target) -> Result<Presence, CtlError> {
    let resp = t.send(c, "HEAD", "", b"")?;
    Ok(match resp.status {
        200..=299 => Presence::Exists,
        404 => Presence::Missing,
        403 => Presence::Forbidden,
        s => Presence::Other(s),
    })
}

/// CreateBucket (`PUT <bucket>`), with a LocationConstraint for any `region` but us-east-1.
/// `BucketAlreadyOwnedByYou` counts as created: another rank of the same run may have created
/// it a moment ago.
pub fn create(c: &mut Client, t: &mut Target, region: &str) -> Result<(), CreateError> {
    let body = if region == "us-east-1" {
        String::new()
    } else {
        format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        )
    };
    let resp = t
        .send(c, "PUT", "", body.as_bytes())
        .map_err(CreateError::Ctl)?;
    let error = parse_error(&resp.body);
    let ours = matches!(&error, Some((code, _)) if code == "BucketAlreadyOwnedByYou");
    if (200..=299).contains(&resp.status) || ours {
        return Ok(());
    }
    Err(CreateError::Refused {
        status: resp.status,
        error,
    })
}

/// Lists every `(key, size)` under `prefix`, `page` keys per ListObjectsV2 request, following
/// continuation tokens; `progress` gets the running count after each page and `stats` counts
/// every page request.
pub fn list(
    c: &mut Client,
    t: &mut Target,
    prefix: &str,
    page: u32,
    progress: &mut dyn FnMut(usize),
    stats: &mut ListStats,
) -> Result<Vec<(String, u64)>, ListFailure> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = Vec::new();
        list_query(prefix, token.as_deref(), page, &mut query);
        let query = String::from_utf8_lossy(&query).into_owned();
        let started = stats.begin();
        let resp = match t.send(c, "GET", &query, b"") {
            Ok(r) => r,
            Err(e) => {
                stats.error(ListStats::ctl_kind(&e));
                return Err(ListFailure::Ctl(e));
            }
        };
        if resp.status != 200 {
            stats.error(&ListStats::http_kind(resp.status));
            let why = parse_error(&resp.body)
                .map(|(code, message)| format!("{code}: {message}"))
                .unwrap_or_else(|| String::from_utf8_lossy(&resp.body).into_owned());
            return Err(ListFailure::Http {
                status: resp.status,
                why,
            });
        }
        stats.ok(started, resp.body.len());
        let listed = parse_list_page(&resp.body).map_err(ListFailure::Page)?;
        out.extend(listed.entries);
        progress(out.len());
        match listed.next_token {
            Some(next) if listed.truncated => token = Some(next),
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str, bucket: &'static str, addressing: S3Addressing) -> (String, String) {
        let ep = Endpoint::parse(url).unwrap();
        let t = Target {
            endpoint: &ep,
            bucket,
            addressing,
            signer: None,
        };
        t.host_and_path()
    }

    #[test]
    fn the_bucket_resource_follows_the_addressing() {
        assert_eq!(
            target("http://127.0.0.1:9000", "bkt", S3Addressing::Path),
            ("127.0.0.1:9000".to_string(), "/bkt".to_string())
        );
        assert_eq!(
            target("http://127.0.0.1:9000/s3/", "bkt", S3Addressing::Path),
            ("127.0.0.1:9000".to_string(), "/s3/bkt".to_string())
        );
        assert_eq!(
            target("http://localhost:9000", "bkt", S3Addressing::VirtualHost),
            ("bkt.localhost:9000".to_string(), "/".to_string())
        );
        assert_eq!(
            target("http://localhost:9000/s3", "bkt", S3Addressing::VirtualHost),
            ("bkt.localhost:9000".to_string(), "/s3/".to_string())
        );
    }
}
