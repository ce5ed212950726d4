//! Building each operation's request for the run's protocol: path, query, checksum, token and
//! signature. One `Requests` per core; nothing here allocates once its buffers are warm.
//!
//! - **http**: `<base>/<bucket>/<name>`.
//! - **ais**: `<base>/v1/objects/<bucket>/<name>?provider=<p>` (plus `&namespace=<ns>`: the
//!   query of [`Bucket::query`]); GETs add `latest-ver=true` with `--latest`; PUTs add
//!   `skip_vc=true` and `Ais-Checksum-Type/Value` (the run's checksum type over the body: the
//!   object's content window, hashed from the pattern per PUT, the last one cached). A bearer
//!   token goes only to the endpoint's hosts (host 0, or a `--random-proxy` proxy), never to a
//!   host a redirect names.
//! - **s3**: path-style `<base>/<bucket>/<name>` or virtual-host `<base>/<name>` with Host
//!   `<bucket>.<endpoint>`, each request signed with SigV4 (`UNSIGNED-PAYLOAD` for PUT bodies,
//!   the empty-body hash for GET), the date refreshed once per second.
//!
//! A redirect re-encodes the whole request for its new host and path-and-query, so the Host
//! header, the token rule and a signature always match what is sent.

use crate::ais::{objects_prefix, Bucket, LATEST_QUERY, PUT_QUERY_EXTRA};
use crate::http::{Method, RequestHead};
use crate::proto::CksumType;
use crate::s3::{
    self,
    sigv4::{AmzDate, SignRequest, Signer, EMPTY_SHA256, UNSIGNED_PAYLOAD},
};
use crate::workload::{Protocol, Workload};
use ringload_core::cksum::{self, Hex};
use ringload_net::http::{percent_encode, Keep};

/// One operation's request.
pub struct Spec<'a> {
    pub method: Method,
    pub name: &'a [u8],
    /// Body length of a PUT.
    pub size: Option<u64>,
    pub range: Option<(u64, u64)>,
    /// The `Host` header of the host it goes to.
    pub host: &'a str,
    /// True when it goes to the endpoint's own host (tokens are sent only there).
    pub origin: bool,
    /// Path-and-query from a redirect's `Location`, used verbatim instead of the name.
    pub target: Option<&'a [u8]>,
    /// What the request addresses: an object (the default), or AIS GetBatch's endpoint.
    pub path: PathKind,
    /// Query parameters appended to the protocol's own (`uploadId=..&partNumber=..`),
    /// without a leading `&`; may be empty.
    pub query_extra: &'a [u8],
    /// A `Content-Type` header for a request with a built body (JSON, XML).
    pub content_type: Option<&'a str>,
    /// An AIS object PUT: carries `Ais-Checksum-Type/Value` over its content (when the run's
    /// checksum type is not `none`).
    pub checksum: bool,
}

/// What a request's path addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathKind {
    /// The object `name` (`<prefix><name>?<query>`).
    #[default]
    Object,
    /// AIS GetBatch: `<base>/v1/ml/moss/<bucket>?<bucket query>` (the name is not used).
    Moss,
}

impl<'a> Spec<'a> {
    /// A plain object GET or PUT (the closed loop's operations): `size` is a PUT's body
    /// length, which makes it a PUT carrying the AIS checksum.
    pub fn object(name: &'a [u8], size: Option<u64>, host: &'a str, origin: bool) -> Spec<'a> {
        Spec {
            method: if size.is_some() {
                Method::Put
            } else {
                Method::Get
            },
            name,
            size,
            range: None,
            host,
            origin,
            target: None,
            path: PathKind::Object,
            query_extra: b"",
            content_type: None,
            checksum: size.is_some(),
        }
    }
}

/// AIS PUTs at least this large go to the proxy with `Expect: 100-continue`: the proxy
/// redirects without reading the body, so it crosses the network once (to the target) at the
/// price of a reconnect to the proxy. Smaller bodies are cheaper to send twice.
pub const EXPECT_MIN: u64 = 1 << 20;

pub struct Requests {
    protocol: Protocol,
    /// Objects' path before the (encoded) name.
    prefix: Vec<u8>,
    get_query: Vec<u8>,
    put_query: Vec<u8>,
    /// The bucket's own query (AIS: provider and namespace), for other methods and GetBatch.
    bucket_query: Vec<u8>,
    /// AIS GetBatch's path before its query (`<base>/v1/ml/moss/<bucket>`).
    moss_path: Vec<u8>,
    /// The endpoint's Host header (S3 virtual-host: `<bucket>.<endpoint>`).
    pub host0: String,
    token_line: Vec<u8>,
    cksum: CksumType,
    /// Last PUT (content start, size) hashed and its hex digest.
    cksum_cache: Option<((u64, u64), Hex)>,
    signer: Option<Signer>,
    date: Option<(u64, AmzDate)>,
    target: Vec<u8>,
    extra: Vec<u8>,
    /// PUT size from which `Expect: 100-continue` is sent (see [`EXPECT_MIN`]).
    expect_min: u64,
}

impl Requests {
    pub fn new(w: &Workload, host_header: &str, base_path: &str) -> Requests {
        let p = &w.proto;
        let mut r = Requests {
            protocol: w.protocol,
            prefix: Vec::new(),
            get_query: Vec::new(),
            put_query: Vec::new(),
            bucket_query: Vec::new(),
            moss_path: Vec::new(),
            host0: host_header.to_string(),
            token_line: Vec::new(),
            cksum: p.cksum_type,
            cksum_cache: None,
            signer: None,
            date: None,
            target: Vec::with_capacity(512),
            extra: Vec::with_capacity(512),
            // The binary's `RINGLOAD_EXPECT_MIN`, a tuning knob for benchmarks.
            expect_min: w.expect_min.unwrap_or(EXPECT_MIN),
        };
        match w.protocol {
            Protocol::Http => r.prefix = format!("{base_path}/{}/", w.bucket).into_bytes(),
            Protocol::Ais => {
                let bucket = Bucket::of(w);
                r.prefix = format!("{base_path}{}", objects_prefix(&bucket)).into_bytes();
                let q = bucket.query();
                r.bucket_query = q.clone().into_bytes();
                r.moss_path = format!("{base_path}/v1/ml/moss/{}", w.bucket).into_bytes();
                r.put_query = format!("{q}&{PUT_QUERY_EXTRA}").into_bytes();
                r.get_query = match p.latest {
                    true => format!("{q}&{LATEST_QUERY}").into_bytes(),
                    false => q.into_bytes(),
                };
                if let Some(t) = &p.token {
                    r.token_line = format!("Authorization: Bearer {}\r\n", t.expose()).into_bytes();
                }
            }
            Protocol::S3 => {
                let (host, prefix) = s3::address(host_header, &w.bucket, p.s3_addressing);
                r.prefix = format!("{base_path}{prefix}").into_bytes();
                r.host0 = host;
                r.signer = p.s3_signer();
            }
        }
        r
    }

    /// Whether this request's body should wait for `100 Continue` (see [`EXPECT_MIN`]).
    pub fn expects(&self, s: &Spec) -> bool {
        self.protocol == Protocol::Ais
            && s.origin
            && s.target.is_none()
            && s.size.is_some_and(|n| n >= self.expect_min)
    }

    /// Writes the complete request head of `s` into `out`; a PUT's body is the content of the
    /// object starting at `start` in the pattern (for the checksum).
    pub fn encode(&mut self, s: &Spec, start: u64, out: &mut Vec<u8>) {
        self.target.clear();
        match s.target {
            Some(t) => self.target.extend_from_slice(t),
            None => {
                let q = match (s.path, s.method) {
                    (PathKind::Moss, _) => {
                        self.target.extend_from_slice(&self.moss_path);
                        &self.bucket_query
                    }
                    (PathKind::Object, m) => {
                        self.target.extend_from_slice(&self.prefix);
                        percent_encode(s.name, Keep::UnreservedAndSlash, &mut self.target);
                        match m {
                            Method::Put if s.query_extra.is_empty() => &self.put_query,
                            Method::Get | Method::Head => &self.get_query,
                            _ => &self.bucket_query,
                        }
                    }
                };
                let mut sep = b'?';
                for part in [&q[..], s.query_extra] {
                    if !part.is_empty() {
                        self.target.push(sep);
                        self.target.extend_from_slice(part);
                        sep = b'&';
                    }
                }
            }
        }
        self.extra.clear();
        if s.origin {
            self.extra.extend_from_slice(&self.token_line);
        }
        if self.expects(s) {
            self.extra.extend_from_slice(b"Expect: 100-continue\r\n");
        }
        if let Some(ct) = s.content_type {
            self.extra.extend_from_slice(b"Content-Type: ");
            self.extra.extend_from_slice(ct.as_bytes());
            self.extra.extend_from_slice(b"\r\n");
        }
        if let (Protocol::Ais, Some(size), true) = (self.protocol, s.size, s.checksum) {
            if self.cksum != CksumType::None {
                let hex = self.cksum_hex(start, size);
                self.extra.extend_from_slice(b"Ais-Checksum-Type: ");
                self.extra.extend_from_slice(self.cksum.as_str().as_bytes());
                self.extra.extend_from_slice(b"\r\nAis-Checksum-Value: ");
                self.extra.extend_from_slice(hex.as_bytes());
                self.extra.extend_from_slice(b"\r\n");
            }
        }
        if let Some(signer) = &mut self.signer {
            let now = crate::stats::unix_now_ns() / 1_000_000_000;
            if self.date.as_ref().is_none_or(|d| d.0 != now) {
                self.date = Some((now, AmzDate::from_unix(now)));
            }
            let (path, query) = match self.target.iter().position(|&b| b == b'?') {
                Some(q) => (&self.target[..q], &self.target[q + 1..]),
                None => (&self.target[..], &b""[..]),
            };
            let req = SignRequest {
                method: method_str(s.method),
                host: s.host,
                canonical_uri: path,
                query,
                payload_hash: if s.size.is_some() {
                    UNSIGNED_PAYLOAD
                } else {
                    EMPTY_SHA256
                },
            };
            let date = &self.date.as_ref().expect("set above").1;
            signer.sign(&req, date, &mut self.extra);
        }
        RequestHead {
            method: s.method,
            host: s.host,
            path_prefix: &self.target,
            name: b"",
            query: b"",
            content_length: s.size,
            range: s.range,
            extra: &self.extra,
        }
        .encode(out);
    }

    fn cksum_hex(&mut self, start: u64, size: u64) -> Hex {
        if let Some((key, hex)) = self.cksum_cache {
            if key == (start, size) {
                return hex;
            }
        }
        let hex = cksum::of_content(self.cksum, start, size);
        self.cksum_cache = Some(((start, size), hex));
        hex
    }
}

fn method_str(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Put => "PUT",
        Method::Head => "HEAD",
        Method::Delete => "DELETE",
        Method::Post => "POST",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Secret;
    use ringload_core::content;

    fn encode(w: &Workload, s: &Spec) -> String {
        let mut r = Requests::new(w, "127.0.0.1:8080", "");
        let mut out = Vec::new();
        r.encode(s, content::object_start(s.name), &mut out);
        String::from_utf8(out).unwrap()
    }

    fn spec<'a>(method: Method, size: Option<u64>, origin: bool, host: &'a str) -> Spec<'a> {
        Spec {
            method,
            ..Spec::object(b"a dir/x", size, host, origin)
        }
    }

    #[test]
    fn ais_requests_carry_provider_checksum_and_token_only_to_the_origin() {
        let mut w = Workload {
            protocol: Protocol::Ais,
            bucket: "bk".into(),
            ..Workload::default()
        };
        w.proto.provider = "ais".into();
        w.proto.token = Some(Secret::new("TOK"));
        let get = encode(&w, &spec(Method::Get, None, true, "127.0.0.1:8080"));
        assert!(
            get.starts_with("GET /v1/objects/bk/a%20dir/x?provider=ais HTTP/1.1\r\n"),
            "{get}"
        );
        assert!(get.contains("Authorization: Bearer TOK\r\n"));
        let put = encode(&w, &spec(Method::Put, Some(3000), true, "127.0.0.1:8080"));
        assert!(put.starts_with("PUT /v1/objects/bk/a%20dir/x?provider=ais&skip_vc=true "));
        let start = content::object_start(b"a dir/x");
        let mut h = xxhash_rust::xxh64::Xxh64::new(0);
        h.update(content::pattern().chunk(start, 0, 3000));
        let want = format!("Ais-Checksum-Value: {:016x}\r\n", h.digest());
        assert!(
            put.contains("Ais-Checksum-Type: xxhash\r\n") && put.contains(&want),
            "{put}"
        );
        // After a redirect to a target: verbatim target, new host, no token.
        let mut s = spec(Method::Get, None, false, "127.0.0.1:9001");
        s.target = Some(b"/v1/objects/bk/a%20dir/x?provider=ais&pid=p1&utm=5");
        let red = encode(&w, &s);
        assert!(red.starts_with("GET /v1/objects/bk/a%20dir/x?provider=ais&pid=p1&utm=5 HTTP"));
        assert!(
            red.contains("Host: 127.0.0.1:9001\r\n") && !red.contains("TOK"),
            "{red}"
        );
    }

    #[test]
    fn ais_namespace_goes_into_the_query_encoded() {
        let mut w = Workload {
            protocol: Protocol::Ais,
            bucket: "bk".into(),
            ..Workload::default()
        };
        w.proto.provider = "aws".into();
        w.proto.namespace = Some("@uu-1#n.s".into());
        let get = encode(&w, &spec(Method::Get, None, true, "127.0.0.1:8080"));
        assert!(
            get.starts_with(
                "GET /v1/objects/bk/a%20dir/x?provider=aws&namespace=%40uu-1%23n.s HTTP/1.1\r\n"
            ),
            "{get}"
        );
        let put = encode(&w, &spec(Method::Put, Some(10), true, "127.0.0.1:8080"));
        assert!(
            put.starts_with(
                "PUT /v1/objects/bk/a%20dir/x?provider=aws&namespace=%40uu-1%23n.s&skip_vc=true "
            ),
            "{put}"
        );
    }

    #[test]
    fn ais_puts_carry_each_checksum_type_and_gets_latest() {
        let mut w = Workload {
            protocol: Protocol::Ais,
            bucket: "bk".into(),
            ..Workload::default()
        };
        w.proto.provider = "ais".into();
        w.proto.latest = true;
        let start = content::object_start(b"a dir/x");
        for t in CksumType::ALL {
            w.proto.cksum_type = t;
            let put = encode(&w, &spec(Method::Put, Some(5000), true, "127.0.0.1:8080"));
            let want = cksum::of_content(t, start, 5000);
            let line = format!("Ais-Checksum-Type: {t}\r\nAis-Checksum-Value: {want:?}\r\n");
            assert_eq!(put.contains(&line), t != CksumType::None, "{put}");
            assert_eq!(put.contains("Ais-Checksum"), t != CksumType::None, "{put}");
            assert!(!put.contains("latest-ver"), "{put}");
        }
        let get = encode(&w, &spec(Method::Get, None, true, "127.0.0.1:8080"));
        assert!(
            get.starts_with("GET /v1/objects/bk/a%20dir/x?provider=ais&latest-ver=true HTTP/1.1"),
            "{get}"
        );
    }

    #[test]
    fn http_requests_are_plain() {
        let w = Workload::default();
        let get = encode(&w, &spec(Method::Get, None, true, "127.0.0.1:8080"));
        assert!(
            get.starts_with("GET /ringload/a%20dir/x HTTP/1.1\r\n"),
            "{get}"
        );
        assert!(!get.contains("Ais-") && !get.contains("Authorization"));
    }
}
