//! The AIStore native API as ringload uses it around a run (docs/protocols.md):
//! bucket naming and URLs here, paged listing in [`list`], bucket setup and cleanup in
//! [`bucket`], bucket properties in [`props`], the AuthN token in [`token`] and the cluster map
//! (`--random-proxy`) in [`smap`].
//!
//! Owns [`Bucket`] (parsed from `ais://name`, `s3://name`, `ais://@remote/name`, ...), the
//! query that identifies it, the URL prefixes, and [`AisError`], the error of every module
//! below. Control calls go through the blocking [`crate::ctl::Client`].
//!
//! Invariants: a parsed [`Bucket`] has a provider from [`PROVIDERS`] and a name that is safe
//! to place in a URL path without encoding (letters, digits, `-`, `_`, `.`); the namespace,
//! if any, starts with `@` (remote cluster) or `#` (local namespace) and is percent-encoded
//! whenever it goes into a query; errors never carry a token.

pub mod bucket;
pub mod list;
pub mod props;
pub mod smap;
pub mod token;

use std::fmt;

use crate::ctl::{CtlError, Response};
use ringload_net::http::{percent_encode_string, Keep};

/// Extra query for an object PUT: the target need not load existing metadata.
pub const PUT_QUERY_EXTRA: &str = "skip_vc=true";
/// Extra query for an object GET with `--latest`: the target checks the remote bucket's
/// version and fetches the latest one (AIS's `apc.QparamLatestVer`).
pub const LATEST_QUERY: &str = "latest-ver=true";

/// Providers AIS knows, as `(URL scheme, provider)`; several schemes map to one provider.
pub const PROVIDERS: [(&str, &str); 8] = [
    ("ais", "ais"),
    ("s3", "aws"),
    ("aws", "aws"),
    ("gs", "gcp"),
    ("gcp", "gcp"),
    ("az", "azure"),
    ("azure", "azure"),
    ("oci", "oci"),
];

/// Errors of the AIS control plane. Messages name the bad input and the fix.
#[derive(Debug, thiserror::Error)]
pub enum AisError {
    /// A bucket spec that does not parse.
    #[error("bad bucket {spec:?}: {reason}; write it as ais://name, s3://name, gs://name, az://name, oci://name or ais://@namespace/name")]
    BadBucket { spec: String, reason: String },
    /// The request could not be completed.
    #[error("AIS {op}: {source}")]
    Ctl {
        op: String,
        #[source]
        source: CtlError,
    },
    /// AIS answered with an error status.
    #[error("AIS {op}: HTTP {status}: {message}")]
    Http {
        op: String,
        status: u16,
        message: String,
    },
    /// AIS answered 2xx with a body that does not decode.
    #[error("AIS {op}: unexpected reply ({reason}); is the endpoint an AIS proxy?")]
    BadReply { op: String, reason: String },
    /// A token file (named by `--token-file`, `AIS_AUTHN_TOKEN_FILE`, or the AIS CLI's own)
    /// cannot be used.
    #[error("cannot use the AuthN token file {path:?} ({named_by}): {reason}; {fix}")]
    TokenFile {
        path: String,
        named_by: String,
        reason: String,
        fix: String,
    },
    /// A token that cannot go into an HTTP header.
    #[error("the AuthN token from {source_name} holds whitespace or control characters; it must be one line with no spaces")]
    BadToken { source_name: String },
}

/// A bucket as AIS identifies it: provider, optional namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bucket {
    /// The bucket name (validated: letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// `"ais"`, `"aws"`, `"gcp"`, `"azure"` or `"oci"`.
    pub provider: String,
    /// `@uuid`, `@uuid#ns` or `#ns`, exactly as written after the scheme.
    pub namespace: Option<String>,
}

impl Bucket {
    /// The run's bucket as the workload names it (`--bucket` parsed into name, provider and
    /// namespace).
    pub fn of(w: &crate::workload::Workload) -> Bucket {
        Bucket {
            name: w.bucket.clone(),
            provider: w.proto.provider.clone(),
            namespace: w.proto.namespace.clone(),
        }
    }

    /// Parses `name`, `ais://name`, `s3://name` (provider `aws`), `gs://`/`gcp://` (`gcp`),
    /// `az://`/`azure://` (`azure`), `oci://`, and namespaced forms such as
    /// `ais://@remais/name`, `ais://@uuid#ns/name` and `ais://#ns/name`. One trailing `/` is
    /// tolerated. A bare name is an `ais` bucket.
    pub fn parse(spec: &str) -> Result<Bucket, AisError> {
        let bad = |reason: String| AisError::BadBucket {
            spec: spec.to_string(),
            reason,
        };
        let (provider, rest) = match spec.split_once("://") {
            None => ("ais", spec),
            Some((scheme, rest)) => {
                let found = PROVIDERS
                    .iter()
                    .find(|(s, _)| s.eq_ignore_ascii_case(scheme));
                let Some((_, provider)) = found else {
                    return Err(bad(format!("unknown provider scheme {scheme:?}")));
                };
                (*provider, rest)
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (namespace, name) = match rest.as_bytes().first() {
            Some(b'@' | b'#') => match rest.split_once('/') {
                Some((ns, name)) => (Some(ns), name),
                None => return Err(bad(format!("namespace {rest:?} is not followed by /name"))),
            },
            _ => (None, rest),
        };
        if let Some(ns) = namespace {
            validate_namespace(ns).map_err(&bad)?;
        }
        validate_name(name).map_err(bad)?;
        Ok(Bucket {
            name: name.to_string(),
            provider: provider.to_string(),
            namespace: namespace.map(str::to_string),
        })
    }

    /// The query identifying the bucket: `provider=ais`, plus `&namespace=<encoded ns>`.
    pub fn query(&self) -> String {
        let mut q = format!("provider={}", self.provider);
        if let Some(ns) = &self.namespace {
            q.push_str("&namespace=");
            q.push_str(&percent_encode_string(ns, Keep::Unreserved));
        }
        q
    }

    /// An AIS bucket of this cluster: provider `ais` and not in a remote cluster's namespace
    /// (`@uuid`), as AIS's `Bck.IsAIS`. Only these are created and destroyed.
    pub fn is_ais(&self) -> bool {
        self.provider == "ais" && !self.is_remote_ais()
    }

    /// A bucket of a remote AIS cluster attached under an alias or UUID (`ais://@remais/b`).
    pub fn is_remote_ais(&self) -> bool {
        self.provider == "ais"
            && self
                .namespace
                .as_deref()
                .is_some_and(|ns| ns.starts_with('@'))
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.provider.as_str() {
            "aws" => "s3",
            "gcp" => "gs",
            "azure" => "az",
            other => other,
        };
        match &self.namespace {
            Some(ns) => write!(f, "{scheme}://{ns}/{}", self.name),
            None => write!(f, "{scheme}://{}", self.name),
        }
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// AIS bucket-name rule: letters, digits, `-`, `_`, `.`; not empty, `.` or `..`.
fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the bucket name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("{name:?} is not a bucket name"));
    }
    if let Some(c) = name.chars().find(|&c| !name_char(c)) {
        return Err(format!(
            "bucket name {name:?} contains {c:?}; AIS names use only letters, digits, '-', '_' and '.' (no '/'); put object paths in the subdir/prefix instead"
        ));
    }
    Ok(())
}

/// `@uuid`, `@uuid#name` or `#name`, each part made of name characters.
fn validate_namespace(ns: &str) -> Result<(), String> {
    let body = ns.strip_prefix('@').unwrap_or(ns);
    let (uuid, name) = match body.split_once('#') {
        Some((u, n)) => (u, Some(n)),
        None => (body, None),
    };
    let ok = |s: &str| s.chars().all(name_char);
    let empty = uuid.is_empty() && name.is_none_or(str::is_empty);
    if empty || !ok(uuid) || !name.is_none_or(ok) {
        return Err(format!(
            "namespace {ns:?} must be @uuid, @uuid#name or #name, using letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// `"/v1/objects/<bucket>/"`: object names are appended percent-encoded per segment (`/` kept)
/// by the engine.
pub fn objects_prefix(b: &Bucket) -> String {
    format!("/v1/objects/{}/", b.name)
}

/// `"/v1/buckets/<bucket>"`.
pub fn bucket_path(b: &Bucket) -> String {
    format!("/v1/buckets/{}", b.name)
}

/// `<endpoint>/v1/buckets/<bucket>?<query>`; a trailing `/` on the endpoint is ignored.
pub(crate) fn bucket_url(endpoint: &str, b: &Bucket, extra_query: &str) -> String {
    let mut url = format!(
        "{}{}?{}",
        endpoint.trim_end_matches('/'),
        bucket_path(b),
        b.query()
    );
    if !extra_query.is_empty() {
        url.push('&');
        url.push_str(extra_query);
    }
    url
}

/// The request headers for a JSON control message: the caller's plus `Content-Type`.
pub(crate) fn json_headers<'a>(headers: &[(&'a str, String)]) -> Vec<(&'a str, String)> {
    let mut all = Vec::with_capacity(headers.len() + 1);
    all.push(("Content-Type", "application/json".to_string()));
    all.extend(
        headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("content-type"))
            .cloned(),
    );
    all
}

/// The `message` of an AIS JSON error body, else the body's text (shortened), else a note.
pub(crate) fn error_message(resp: &Response) -> String {
    #[derive(serde::Deserialize)]
    struct ErrBody {
        message: Option<String>,
    }
    if let Ok(ErrBody { message: Some(m) }) = serde_json::from_slice::<ErrBody>(&resp.body) {
        return m;
    }
    if let Some(h) = resp.header("hdr-error") {
        return h.to_string();
    }
    let text = String::from_utf8_lossy(&resp.body);
    let text = text.trim();
    if text.is_empty() {
        return "(no error message in the reply)".to_string();
    }
    let mut short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Maps a non-2xx reply to [`AisError::Http`].
pub(crate) fn http_error(op: &str, resp: &Response) -> AisError {
    AisError::Http {
        op: op.to_string(),
        status: resp.status,
        message: error_message(resp),
    }
}

/// Wraps a transport error with the operation it interrupted.
pub(crate) fn ctl_error(op: &str) -> impl FnOnce(CtlError) -> AisError + '_ {
    move |source| AisError::Ctl {
        op: op.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(name: &str, provider: &str, ns: Option<&str>) -> Bucket {
        Bucket {
            name: name.into(),
            provider: provider.into(),
            namespace: ns.map(Into::into),
        }
    }

    #[test]
    fn parses_every_provider_scheme_and_bare_names() {
        let cases = [
            ("name", b("name", "ais", None)),
            ("ais://name", b("name", "ais", None)),
            ("ais://name/", b("name", "ais", None)),
            ("s3://my.bucket-1", b("my.bucket-1", "aws", None)),
            ("aws://x", b("x", "aws", None)),
            ("gs://x", b("x", "gcp", None)),
            ("gcp://x", b("x", "gcp", None)),
            ("az://x", b("x", "azure", None)),
            ("azure://x", b("x", "azure", None)),
            ("oci://x_y", b("x_y", "oci", None)),
            ("AIS://x", b("x", "ais", None)),
            ("ais://@remais/x", b("x", "ais", Some("@remais"))),
            ("ais://@Bghort1l#ml/x", b("x", "ais", Some("@Bghort1l#ml"))),
            ("ais://#ml/x", b("x", "ais", Some("#ml"))),
        ];
        for (spec, want) in cases {
            assert_eq!(Bucket::parse(spec).unwrap(), want, "{spec}");
        }
    }

    #[test]
    fn rejects_bad_specs_naming_the_rule() {
        for spec in [
            "",
            "ais://",
            "a/b",
            "ais://a/b",
            "ais://sp ace",
            ".",
            "ais://..",
            "ais://@ns",
            "ais://@/x",
            "ais://@a#b#c/x",
            "ais://é",
        ] {
            let err = Bucket::parse(spec).unwrap_err();
            assert!(matches!(err, AisError::BadBucket { .. }), "{spec}: {err}");
            assert!(err.to_string().contains("ais://name"), "{err}");
        }
        let err = Bucket::parse("ais://a/b").unwrap_err().to_string();
        assert!(err.contains("no '/'") && err.contains("prefix"), "{err}");
        let err = Bucket::parse("ftp://x").unwrap_err().to_string();
        assert!(err.contains("\"ftp\""), "{err}");
    }

    #[test]
    fn builds_queries_and_paths() {
        assert_eq!(Bucket::parse("ais://x").unwrap().query(), "provider=ais");
        assert_eq!(Bucket::parse("s3://x").unwrap().query(), "provider=aws");
        assert_eq!(
            Bucket::parse("ais://@remais/x").unwrap().query(),
            "provider=ais&namespace=%40remais"
        );
        assert_eq!(
            Bucket::parse("ais://@u#n/x").unwrap().query(),
            "provider=ais&namespace=%40u%23n"
        );
        let bk = Bucket::parse("ais://x").unwrap();
        assert_eq!(objects_prefix(&bk), "/v1/objects/x/");
        assert_eq!(
            bucket_url("http://h:8080/", &bk, "presence=2"),
            "http://h:8080/v1/buckets/x?provider=ais&presence=2"
        );
    }

    #[test]
    fn tells_local_from_remote_ais_and_round_trips_display() {
        assert!(Bucket::parse("x").unwrap().is_ais());
        assert!(Bucket::parse("ais://#ml/x").unwrap().is_ais());
        let remote = Bucket::parse("ais://@remais/x").unwrap();
        assert!(!remote.is_ais() && remote.is_remote_ais());
        assert!(!Bucket::parse("s3://x").unwrap().is_ais());
        for spec in [
            "ais://x",
            "s3://x",
            "gs://x",
            "az://x",
            "oci://x",
            "ais://@r#n/x",
        ] {
            let parsed = Bucket::parse(spec).unwrap();
            assert_eq!(parsed.to_string(), spec);
            assert_eq!(Bucket::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }

    #[test]
    fn extracts_the_ais_error_message() {
        let resp = |body: &str| Response {
            status: 404,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        let m = error_message(&resp(
            r#"{"message":"bucket \"ais://x\" does not exist","status":404}"#,
        ));
        assert_eq!(m, "bucket \"ais://x\" does not exist");
        assert_eq!(error_message(&resp("plain text\n")), "plain text");
        assert!(error_message(&resp("")).contains("no error message"));
        let mut head = resp("");
        head.headers
            .push(("Hdr-Error".into(), "from header".into()));
        assert_eq!(error_message(&head), "from header");
    }
}
