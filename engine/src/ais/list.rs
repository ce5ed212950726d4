//! Paged list-objects against an AIS proxy (as aisloader lists): the startup
//! listing that tells the GET side which objects exist.
//!
//! Owns [`ListOptions`] and [`list_objects_counted`]. Each page is
//! `GET /v1/buckets/<b>?<bucket query>` with a JSON body
//! `{"action":"list","value":{"uuid":..,"props":"","prefix":..,"continuation_token":..,
//! "flags":"8192","pagesize":n,"target":""}}` (flags as a decimal string: AIS's list flags,
//! [`flags`] of the run's [`AisListFlags`]; by default 8192, no directories, as aisloader) and
//! `Accept: application/json`, so the reply is JSON, never msgpack.
//!
//! Invariants: the `uuid` and `continuation_token` of each reply go back on the next request;
//! the walk stops exactly when the token comes back empty; a page that returns the very token
//! it was sent with and no entries is an error rather than an endless loop; only client
//! timeouts are retried (3 attempts in all, the timeout ×1.5 each time, then restored).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::{bucket_url, ctl_error, http_error, json_headers, AisError, Bucket};
use crate::ctl::{Client, CtlError, Request};
use crate::phase::ListStats;
use crate::proto::AisListFlags;

/// The list-message flags of `l`, as aisloader sets them: [`FLAG_CACHED`] with `cached`,
/// [`FLAG_NO_DIRS`] unless `list_dirs`, [`FLAG_NBI`] with `nbi`.
pub fn flags(l: AisListFlags) -> u64 {
    let mut f = 0;
    if l.cached {
        f |= FLAG_CACHED;
    }
    if !l.list_dirs {
        f |= FLAG_NO_DIRS;
    }
    if l.nbi {
        f |= FLAG_NBI;
    }
    f
}

/// [`flags`] of `o`, with [`FLAG_ARCH_DIR`] for an archive-aware listing.
pub fn list_flags(o: &ListOptions) -> u64 {
    match o.arch {
        true => flags(o.list) | FLAG_ARCH_DIR,
        false => flags(o.list),
    }
}

/// The list-message flag: only the objects present in the cluster (AIS's `LsCached`).
pub const FLAG_CACHED: u64 = 1;
/// The list-message flag that leaves out virtual directories (AIS's `LsNoDirs`).
pub const FLAG_NO_DIRS: u64 = 1 << 13;
/// The list-message flag: list the bucket's inventory snapshot (AIS's `LsNBI`).
pub const FLAG_NBI: u64 = 1 << 15;
/// The list-message flag: archive-aware, each file inside a shard listed (AIS's `LsArchDir`).
pub const FLAG_ARCH_DIR: u64 = 1 << 3;
/// Entry flags: a file inside a shard (`EntryInArch`), a shard (`EntryIsArchive`).
pub const ENTRY_IN_ARCH: u64 = 1 << 7;
pub const ENTRY_IS_ARCHIVE: u64 = 1 << 9;
/// Attempts per page when the client times out (aisloader's).
pub const PAGE_ATTEMPTS: u32 = 3;

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only names starting with this (aisloader's `-subdir`).
    pub prefix: String,
    /// Entries per page; 0 lets the server choose (AIS buckets up to 10,000).
    pub page_size: u32,
    /// `--cached`, `--list-dirs`, `--nbi` (the default lists no directories).
    pub list: AisListFlags,
    /// Archive-aware (shards written or read in this run, as aisloader): each file inside a
    /// shard is a name `<shard>\0<file>` (`names::ARCH_SEP`), shards themselves are left out.
    pub arch: bool,
}

#[derive(Serialize)]
struct ListMsg<'a> {
    action: &'static str,
    value: ListValue<'a>,
}

#[derive(Serialize)]
struct ListValue<'a> {
    uuid: &'a str,
    props: &'static str,
    prefix: &'a str,
    continuation_token: &'a str,
    flags: String,
    pagesize: u32,
    target: &'static str,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    continuation_token: Option<String>,
    #[serde(default)]
    entries: Option<Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    #[serde(default, deserialize_with = "size_from_string_or_number")]
    size: u64,
    #[serde(default)]
    flags: u64,
}

/// The listed name of `e` in an archive-aware listing (aisloader's `listObjectNames`): a
/// file inside a shard `S/F` becomes `S\0F` (split after the shard's archive extension),
/// a shard is left out (`None`), anything else stays.
fn arch_name(e: Entry) -> Option<(String, u64)> {
    if e.flags & ENTRY_IN_ARCH != 0 {
        if let Some(at) = e.name.find(ARCH_EXT_DIR) {
            let (shard, rest) = e.name.split_at(at + ARCH_EXT_DIR.len() - 1);
            let name = format!("{shard}{}{}", crate::names::ARCH_SEP as char, &rest[1..]);
            return Some((name, e.size));
        }
    }
    if e.flags & ENTRY_IS_ARCHIVE != 0 {
        return None;
    }
    Some((e.name, e.size))
}

/// A shard's archive extension followed by the `/` of a path inside it.
const ARCH_EXT_DIR: &str = ".tar/";

/// AIS encodes sizes as JSON strings (`"size":"123"`); numbers are accepted too.
fn size_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Num(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Num(n) => Ok(n),
        Size::Text(s) if s.is_empty() => Ok(0),
        Size::Text(s) => s
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("entry size {s:?} is not a number"))),
    }
}

/// Lists every object name and size under `opts.prefix`, walking all pages. Calls
/// `progress(names_so_far)` after each page (the caller prints a progress line after 10 s).
/// `headers` carries e.g. the `Authorization` header. A non-2xx page is
/// [`AisError::Http`] with the message of AIS's JSON error body. A page whose request times
/// out is retried: [`PAGE_ATTEMPTS`] attempts in all, the client timeout ×1.5 each time (the
/// client's timeout is restored afterwards); other errors are not retried. Every page request
/// (and every failed attempt, by kind) is counted in `stats` for the result file's `ops.list`.
pub fn list_objects_counted(
    c: &mut Client,
    endpoint: &str,
    b: &Bucket,
    opts: &ListOptions,
    headers: &[(&str, String)],
    progress: &mut dyn FnMut(usize),
    stats: &mut ListStats,
) -> Result<Vec<(String, u64)>, AisError> {
    let url = bucket_url(endpoint, b, "");
    let mut headers = json_headers(headers);
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("accept"));
    headers.push(("Accept", "application/json".to_string()));
    let (mut uuid, mut token) = (String::new(), String::new());
    let mut names = Vec::new();
    let mut page_no = 0u64;
    loop {
        page_no = page_no.saturating_add(1);
        let op = format!("list-objects of {b} (page {page_no})");
        let msg = ListMsg {
            action: "list",
            value: ListValue {
                uuid: &uuid,
                props: "",
                prefix: &opts.prefix,
                continuation_token: &token,
                flags: list_flags(opts).to_string(),
                pagesize: opts.page_size,
                target: "",
            },
        };
        let body = serde_json::to_vec(&msg).map_err(|e| AisError::BadReply {
            op: op.clone(),
            reason: e.to_string(),
        })?;
        let req = Request {
            method: "GET",
            url: &url,
            headers: &headers,
            body: &body,
        };
        let resp = send_with_timeout_retry(c, &req, stats).map_err(ctl_error(&op))?;
        if !resp.is_success() {
            return Err(http_error(&op, &resp));
        }
        let page: Page = serde_json::from_slice(&resp.body).map_err(|e| AisError::BadReply {
            op: op.clone(),
            reason: format!("list page is not the expected JSON: {e}"),
        })?;
        let entries = page.entries.unwrap_or_default();
        let next = page.continuation_token.unwrap_or_default();
        if !next.is_empty() && next == token && entries.is_empty() {
            return Err(AisError::BadReply {
                op,
                reason: "the continuation token did not advance on an empty page".into(),
            });
        }
        match opts.arch {
            true => names.extend(entries.into_iter().filter_map(arch_name)),
            false => names.extend(entries.into_iter().map(|e| (e.name, e.size))),
        }
        progress(names.len());
        if next.is_empty() {
            return Ok(names);
        }
        if let Some(u) = page.uuid.filter(|u| !u.is_empty()) {
            uuid = u;
        }
        token = next;
    }
}

/// Sends `req`, retrying client timeouts with a 1.5× longer timeout each time.
fn send_with_timeout_retry(
    c: &mut Client,
    req: &Request,
    stats: &mut ListStats,
) -> Result<crate::ctl::Response, CtlError> {
    let original = c.timeout();
    let mut send = |c: &mut Client| {
        let t = stats.begin();
        let r = c.send(req);
        match &r {
            Ok(resp) if resp.is_success() => stats.ok(t, resp.body.len()),
            Ok(resp) => stats.error(&ListStats::http_kind(resp.status)),
            Err(e) => stats.error(ListStats::ctl_kind(e)),
        }
        r
    };
    let mut result = send(c);
    let mut timeout = original;
    for _ in 1..PAGE_ATTEMPTS {
        if !matches!(result, Err(CtlError::Timeout { .. })) {
            break;
        }
        // ×1.5, saturating; at least 1 ms longer so a tiny timeout still grows.
        let grown = timeout.checked_mul(3).map_or(Duration::MAX, |d| d / 2);
        timeout = grown.max(timeout.saturating_add(Duration::from_millis(1)));
        c.set_timeout(timeout);
        result = send(c);
    }
    c.set_timeout(original);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::fake::{json, Fake, Reply};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// [`list_objects_counted`] with the counts dropped.
    fn list_objects(
        c: &mut Client,
        endpoint: &str,
        b: &Bucket,
        opts: &ListOptions,
        headers: &[(&str, String)],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<(String, u64)>, AisError> {
        let mut stats = ListStats::default();
        list_objects_counted(c, endpoint, b, opts, headers, progress, &mut stats)
    }

    /// A fake AIS proxy serving three pages: tokens "" → "t1" → "t2" → "".
    fn three_pages() -> Fake {
        Fake::start(|s| {
            let v = s.json();
            match v["value"]["continuation_token"].as_str().unwrap_or("?") {
                "" => json(
                    200,
                    r#"{"uuid":"U1","continuation_token":"t1","entries":[{"name":"d/a","size":"10","flags":64},{"name":"d/b","size":20}],"flags":0}"#,
                ),
                "t1" => json(
                    200,
                    r#"{"uuid":"U1","continuation_token":"t2","entries":[{"name":"d/c"}],"flags":0}"#,
                ),
                "t2" => json(
                    200,
                    r#"{"uuid":"U1","continuation_token":"","entries":[{"name":"d/e","size":"5","checksum":"x","atime":"y"}],"flags":0}"#,
                ),
                _ => json(400, r#"{"message":"unknown token","status":400}"#),
            }
        })
    }

    #[test]
    fn walks_three_pages_round_tripping_uuid_and_token() {
        let srv = three_pages();
        let bk = Bucket::parse("ais://bk").unwrap();
        let opts = ListOptions {
            prefix: "d/".into(),
            page_size: 2,
            ..ListOptions::default()
        };
        let auth = [("Authorization", "Bearer tok".to_string())];
        let mut calls = Vec::new();
        let mut c = Client::new(Duration::from_secs(5));
        let names = list_objects(
            &mut c,
            &format!("http://{}", srv.addr),
            &bk,
            &opts,
            &auth,
            &mut |n| calls.push(n),
        )
        .unwrap();
        assert_eq!(
            names,
            vec![
                ("d/a".into(), 10),
                ("d/b".into(), 20),
                ("d/c".into(), 0),
                ("d/e".into(), 5)
            ]
        );
        assert_eq!(calls, vec![2, 3, 4]);
        let seen = srv.seen();
        assert_eq!(seen.len(), 3);
        let sent: Vec<(String, String)> = seen
            .iter()
            .map(|s| {
                assert_eq!(
                    (s.method.as_str(), s.target.as_str()),
                    ("GET", "/v1/buckets/bk?provider=ais")
                );
                assert_eq!(s.header("content-type"), Some("application/json"));
                assert_eq!(s.header("accept"), Some("application/json"));
                assert_eq!(s.header("authorization"), Some("Bearer tok"));
                let v = s.json();
                assert_eq!(v["action"], "list");
                let val = &v["value"];
                assert_eq!(val["flags"], "8192", "flags travel as a decimal string");
                assert_eq!(val["pagesize"], 2);
                assert_eq!(val["prefix"], "d/");
                assert_eq!(
                    (val["props"].as_str(), val["target"].as_str()),
                    (Some(""), Some(""))
                );
                (
                    val["uuid"].as_str().unwrap().to_string(),
                    val["continuation_token"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want =
            [("", ""), ("U1", "t1"), ("U1", "t2")].map(|(u, t)| (u.to_string(), t.to_string()));
        assert_eq!(sent, want);
        assert_eq!(srv.accepts(), 1, "pages share one keep-alive connection");
    }

    #[test]
    fn list_flags_are_aisloaders_bits() {
        let f = |cached, list_dirs, nbi| {
            flags(AisListFlags {
                cached,
                list_dirs,
                nbi,
            })
        };
        assert_eq!(f(false, false, false), 8192);
        assert_eq!(f(true, false, false), 8193);
        assert_eq!(f(false, true, false), 0);
        assert_eq!(f(false, false, true), 8192 + 32768);
        assert_eq!(f(true, true, true), 1 + 32768);
        let srv = Fake::start(|_| json(200, r#"{"continuation_token":"","entries":[]}"#));
        let opts = ListOptions {
            list: AisListFlags {
                cached: true,
                list_dirs: true,
                nbi: false,
            },
            ..ListOptions::default()
        };
        let mut c = Client::new(Duration::from_secs(5));
        let bk = Bucket::parse("s3://bk").unwrap();
        list_objects(&mut c, &srv.url(""), &bk, &opts, &[], &mut |_| {}).unwrap();
        assert_eq!(srv.seen()[0].json()["value"]["flags"], "1");
    }

    #[test]
    fn an_archive_aware_listing_names_files_inside_shards_and_drops_the_shards() {
        let srv = Fake::start(|_| {
            json(
                200,
                r#"{"uuid":"u","continuation_token":"","entries":[
                    {"name":"p","size":"3","flags":0},
                    {"name":"a/s.tar","size":"3072","flags":512},
                    {"name":"a/s.tar/x/obj-000000.txt","size":"10","flags":128},
                    {"name":"odd","size":"1","flags":128}]}"#,
            )
        });
        let opts = ListOptions {
            arch: true,
            ..ListOptions::default()
        };
        let mut c = Client::new(Duration::from_secs(5));
        let bk = Bucket::parse("ais://bk").unwrap();
        let got = list_objects(&mut c, &srv.url(""), &bk, &opts, &[], &mut |_| {}).unwrap();
        assert_eq!(
            got,
            [
                ("p".to_string(), 3),
                ("a/s.tar\0x/obj-000000.txt".to_string(), 10),
                ("odd".to_string(), 1)
            ]
        );
        assert_eq!(srv.seen()[0].json()["value"]["flags"], "8200");
    }

    #[test]
    fn a_namespaced_bucket_sends_its_namespace() {
        let srv = Fake::start(|_| {
            json(
                200,
                r#"{"uuid":"u","continuation_token":"","entries":null}"#,
            )
        });
        let bk = Bucket::parse("ais://@remais/bk").unwrap();
        let mut c = Client::new(Duration::from_secs(5));
        let names = list_objects(
            &mut c,
            &srv.url(""),
            &bk,
            &ListOptions::default(),
            &[],
            &mut |_| {},
        )
        .unwrap();
        assert!(names.is_empty());
        let s = &srv.seen()[0];
        assert_eq!(s.target, "/v1/buckets/bk?provider=ais&namespace=%40remais");
        assert_eq!(s.json()["value"]["pagesize"], 0);
    }

    #[test]
    fn an_error_page_carries_the_ais_message() {
        let srv = Fake::start(|_| {
            json(
                403,
                r#"{"message":"access denied: token expired","method":"GET","status":403}"#,
            )
        });
        let bk = Bucket::parse("ais://bk").unwrap();
        let mut c = Client::new(Duration::from_secs(5));
        let err = list_objects(
            &mut c,
            &srv.url(""),
            &bk,
            &ListOptions::default(),
            &[],
            &mut |_| {},
        )
        .unwrap_err();
        match &err {
            AisError::Http {
                status, message, ..
            } => assert_eq!(
                (*status, message.as_str()),
                (403, "access denied: token expired")
            ),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("ais://bk"), "{err}");
    }

    #[test]
    fn a_page_that_times_out_is_retried_with_a_longer_timeout() {
        let calls = Arc::new(AtomicUsize::new(0));
        let n = calls.clone();
        let srv = Fake::start(move |_| match n.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => Reply::Silent,
            _ => json(
                200,
                r#"{"uuid":"u","continuation_token":"","entries":[{"name":"x","size":"1"}]}"#,
            ),
        });
        let bk = Bucket::parse("ais://bk").unwrap();
        let mut c = Client::new(Duration::from_millis(150));
        let mut stats = ListStats::default();
        let names = list_objects_counted(
            &mut c,
            &srv.url(""),
            &bk,
            &ListOptions::default(),
            &[],
            &mut |_| {},
            &mut stats,
        )
        .unwrap();
        assert_eq!(names, vec![("x".to_string(), 1)]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Both failed attempts are counted as errors of their kind; the page as one success.
        let sum = stats.summary();
        assert_eq!((sum.count, sum.errors), (1, 2));
        assert_eq!(sum.errors_by_kind["timeout"], 2);
        assert_eq!(
            c.timeout(),
            Duration::from_millis(150),
            "the timeout is restored"
        );
    }

    #[test]
    fn three_timeouts_give_up() {
        let srv = Fake::start(|_| Reply::Silent);
        let bk = Bucket::parse("ais://bk").unwrap();
        let mut c = Client::new(Duration::from_millis(100));
        let err = list_objects(
            &mut c,
            &srv.url(""),
            &bk,
            &ListOptions::default(),
            &[],
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                AisError::Ctl {
                    source: CtlError::Timeout { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(srv.seen().len(), 3);
    }

    #[test]
    fn bad_replies_are_errors_not_loops() {
        let bk = Bucket::parse("ais://bk").unwrap();
        let mut c = Client::new(Duration::from_secs(5));
        let stuck = Fake::start(|_| {
            json(
                200,
                r#"{"uuid":"u","continuation_token":"same","entries":[]}"#,
            )
        });
        // First page: token "" → "same" (advances); second: "same" → "same" with no entries.
        let err = list_objects(
            &mut c,
            &stuck.url(""),
            &bk,
            &ListOptions::default(),
            &[],
            &mut |_| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("did not advance"), "{err}");
        let html = Fake::start(|_| json(200, "<html>"));
        let err = list_objects(
            &mut c,
            &html.url(""),
            &bk,
            &ListOptions::default(),
            &[],
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, AisError::BadReply { .. }), "{err}");
        let bad_size = Fake::start(|_| {
            json(
                200,
                r#"{"continuation_token":"","entries":[{"name":"x","size":"big"}]}"#,
            )
        });
        let err = list_objects(
            &mut c,
            &bad_size.url(""),
            &bk,
            &ListOptions::default(),
            &[],
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("\\\"big\\\"") || err.to_string().contains("big"),
            "{err}"
        );
    }
}
