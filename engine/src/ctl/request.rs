//! The outgoing side of [`super::Client`]: URL parsing, `Location` resolution, request
//! validation and the request bytes of one hop.
//!
//! Invariants: a [`Target`] always has a non-empty lowercased host, a port and a path that
//! starts with `/` and holds no spaces or control characters, so it can go straight into a
//! request line; [`validate`] refuses methods and header names that are not HTTP tokens and
//! header values with CR, LF or NUL (no header injection), and its errors never quote a
//! header value (it may be a token); [`encode`] drops `Authorization` when told the hop left
//! the original `host:port`.

use super::{CtlError, Request, MANAGED_HEADERS, USER_AGENT};

/// Where a request goes: a lowercased host, a port, the path with its query, and whether it
/// speaks TLS (`https://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) path: String,
    pub(super) tls: bool,
}

impl Target {
    /// `host:port`, with brackets around IPv6 literals: the pool key and the auth scope.
    pub(super) fn key(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The pool key: the scheme and `host:port`, so a plain and a TLS connection to one
    /// address are never mixed up.
    pub(super) fn pool_key(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.key()
        )
    }

    /// The Host header: the key without the scheme's default port.
    pub(super) fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        match (self.port == default, self.host.contains(':')) {
            (true, true) => format!("[{}]", self.host),
            (true, false) => self.host.clone(),
            _ => self.key(),
        }
    }
}

/// Splits `scheme://rest` when `s` starts with a URL scheme.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then_some((scheme, rest))
}

fn bad_url(url: &str, reason: impl Into<String>) -> CtlError {
    CtlError::BadUrl {
        url: url.to_string(),
        reason: reason.into(),
    }
}

/// Parses an absolute `http://` or `https://` URL.
pub(super) fn parse_url(url: &str) -> Result<Target, CtlError> {
    let (rest, tls) = match split_scheme(url) {
        Some((s, rest)) if s.eq_ignore_ascii_case("http") => (rest, false),
        Some((s, rest)) if s.eq_ignore_ascii_case("https") => (rest, true),
        Some((s, _)) => return Err(bad_url(url, format!("scheme {s:?} is not supported"))),
        None => return Err(bad_url(url, "it does not start with http:// or https://")),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(bad_url(
            url,
            "user info in the URL is not supported (send a header instead)",
        ));
    }
    let default = if tls { 443 } else { 80 };
    let (host, port) = split_host_port(authority, default).map_err(|r| bad_url(url, r))?;
    Ok(Target {
        host,
        port,
        path: normalize_path(tail).map_err(|r| bad_url(url, r))?,
        tls,
    })
}

/// `host[:port]` or `[v6][:port]`; the port defaults to `default` (80, or 443 for https).
fn split_host_port(a: &str, default: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = a.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("unclosed '[' in the host")?;
        (host, after.strip_prefix(':'))
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    let port = match port {
        None => default,
        Some(p) => p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Drops a fragment, defaults to `/`, and refuses bytes that would break the request line.
fn normalize_path(tail: &str) -> Result<String, String> {
    let tail = tail.split('#').next().unwrap_or("");
    if tail.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(
            "the path or query holds spaces or control characters (percent-encode them)".into(),
        );
    }
    Ok(match tail.as_bytes().first() {
        None => "/".to_string(),
        Some(b'?') => format!("/{tail}"),
        Some(_) => tail.to_string(),
    })
}

/// Resolves a `Location` against the URL that produced it.
pub(super) fn resolve_location(base: &Target, loc: &str) -> Result<Target, CtlError> {
    let bad = |reason: String| CtlError::BadLocation {
        location: loc.to_string(),
        reason,
    };
    let loc_t = loc.trim();
    if loc_t.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if split_scheme(loc_t).is_some() {
        return parse_url(loc_t).map_err(|e| bad(e.to_string()));
    }
    if loc_t.starts_with("//") {
        let scheme = if base.tls { "https" } else { "http" };
        return parse_url(&format!("{scheme}:{loc_t}")).map_err(|e| bad(e.to_string()));
    }
    let path = if loc_t.starts_with('/') {
        loc_t.to_string()
    } else if loc_t.starts_with('?') {
        let p = base.path.split('?').next().unwrap_or("/");
        format!("{p}{loc_t}")
    } else {
        let p = base.path.split('?').next().unwrap_or("/");
        let dir = &p[..p.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{loc_t}")
    };
    let path = normalize_path(&path).map_err(bad)?;
    Ok(Target {
        host: base.host.clone(),
        port: base.port,
        path,
        tls: base.tls,
    })
}

/// Refuses methods and headers that would corrupt the request (CR/LF injection).
pub(super) fn validate(req: &Request) -> Result<(), CtlError> {
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !is_token(req.method) {
        return Err(CtlError::BadRequest {
            name: req.method.to_string(),
            reason: "a method is an HTTP token such as GET or PUT".into(),
        });
    }
    for (name, value) in req.headers {
        if !is_token(name) {
            return Err(CtlError::BadRequest {
                name: name.to_string(),
                reason: "a header name is an HTTP token (letters, digits, '-')".into(),
            });
        }
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(CtlError::BadRequest {
                name: name.to_string(),
                reason: "the value holds CR, LF or NUL; remove line breaks from it".into(),
            });
        }
    }
    Ok(())
}

/// The request head (and body appended) for one hop.
pub(super) fn encode(
    method: &str,
    t: &Target,
    headers: &[(&str, String)],
    body: &[u8],
    auth: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(
        format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\n",
            t.path,
            t.host_header()
        )
        .as_bytes(),
    );
    let mut has_agent = false;
    for (name, value) in headers {
        let managed = MANAGED_HEADERS.iter().any(|m| name.eq_ignore_ascii_case(m));
        if managed || (!auth && name.eq_ignore_ascii_case("authorization")) {
            continue;
        }
        has_agent |= name.eq_ignore_ascii_case("user-agent");
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !has_agent {
        out.extend_from_slice(format!("User-Agent: {USER_AGENT}\r\n").as_bytes());
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(b"Content-Length: ");
        ringload_net::http::push_u64(&mut out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_resolves_locations() {
        let t = parse_url("http://Host.Example:8080").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("host.example", 8080, "/")
        );
        assert_eq!(t.host_header(), "host.example:8080");
        let t = parse_url("http://[::1]/p?q=1#frag").unwrap();
        assert_eq!(
            (t.key().as_str(), t.host_header().as_str(), t.path.as_str()),
            ("[::1]:80", "[::1]", "/p?q=1")
        );
        let base = parse_url("http://h:1/a/b?c").unwrap();
        assert_eq!(resolve_location(&base, "d").unwrap().path, "/a/d");
        assert_eq!(resolve_location(&base, "?x").unwrap().path, "/a/b?x");
        assert_eq!(resolve_location(&base, "//o:2/z").unwrap().key(), "o:2");
        let https = resolve_location(&base, "https://O/x").unwrap();
        assert_eq!((https.key().as_str(), https.tls), ("o:443", true));
        assert_eq!(https.host_header(), "o");
        assert_eq!(
            resolve_location(&https, "//p/y").unwrap().pool_key(),
            "https://p:443"
        );
        assert!(resolve_location(&https, "/z").unwrap().tls);
        assert_eq!(base.pool_key(), "http://h:1");
        assert!(matches!(
            resolve_location(&base, "ftp://o/"),
            Err(CtlError::BadLocation { .. })
        ));
        assert!(matches!(
            resolve_location(&base, " "),
            Err(CtlError::BadLocation { .. })
        ));
    }

    #[test]
    fn encodes_a_hop_with_managed_headers_and_auth_scope() {
        let t = parse_url("http://h:81/p?q").unwrap();
        let headers = [
            ("Authorization", "Bearer x".to_string()),
            ("content-length", "999".to_string()),
            ("Connection", "close".to_string()),
            ("User-Agent", "aisloader".to_string()),
        ];
        let with = String::from_utf8(encode("PUT", &t, &headers, b"abc", true)).unwrap();
        assert_eq!(
            with,
            "PUT /p?q HTTP/1.1\r\nHost: h:81\r\nAuthorization: Bearer x\r\nUser-Agent: aisloader\r\nContent-Length: 3\r\n\r\nabc"
        );
        let without = String::from_utf8(encode("GET", &t, &headers, b"", false)).unwrap();
        assert_eq!(
            without,
            "GET /p?q HTTP/1.1\r\nHost: h:81\r\nUser-Agent: aisloader\r\n\r\n"
        );
    }
}
