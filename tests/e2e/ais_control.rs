//! End-to-end, the AIS control plane around a run, against the built-in AIS cluster
//! (`ringload serve --protocol ais`, a separate process on loopback): `--bprops` set before the
//! run and read back from the cluster, the AuthN token from each of its sources reaching the
//! cluster (counted by the listeners: `authorized`), the listing flags of a remote bucket
//! (`--cached`, `--list-dirs`, `--nbi`), and `--cleanup`'s delete batches
//! (`--evict-batchsize`).

use std::io::{Read, Write};

use crate::common;

use common::cluster::Cluster;
use common::*;

/// `ringload run --protocol ais --endpoint <proxy 0>`, with no token from the caller's
/// environment or home (`home` is an empty scratch directory unless the test fills it).
fn ais(c: &Cluster, home: &std::path::Path) -> Run {
    Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .env_remove("AIS_AUTHN_TOKEN")
        .env_remove("AIS_AUTHN_TOKEN_FILE")
        .env("HOME", home.to_str().unwrap())
}

/// One control request to `url` (`http://host:port`): status, raw head, body.
fn control(url: &str, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let hostport = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(hostport).unwrap();
    write!(
        s,
        "{method} /{path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// The bucket's properties, from `Ais-Bucket-Props` of a HEAD through the proxy.
fn bucket_props(c: &Cluster, bucket: &str) -> serde_json::Value {
    let (status, head, _) = control(&c.proxies[0], "HEAD", &format!("v1/buckets/{bucket}"), "");
    assert_eq!(status, 200, "{head}");
    let line = head
        .lines()
        .find_map(|l| l.strip_prefix("Ais-Bucket-Props: "))
        .unwrap_or_else(|| panic!("no Ais-Bucket-Props in {head}"));
    serde_json::from_str(line).unwrap()
}

/// Every name of remote bucket `s3://b` (no directories), sorted.
fn names(c: &Cluster, b: &str) -> Vec<String> {
    let body = r#"{"action":"list","value":{"prefix":"","continuation_token":"","flags":"8192"}}"#;
    let (status, _, text) = control(
        &c.proxies[0],
        "GET",
        &format!("v1/buckets/{b}?provider=aws"),
        body,
    );
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// Requests the proxies got with an `Authorization` header.
fn authorized(c: &Cluster) -> u64 {
    c.proxies
        .iter()
        .map(|u| Cluster::stats(u)["authorized"].as_u64().unwrap())
        .sum()
}

#[test]
fn bprops_are_set_before_the_run_and_refusals_name_the_flag() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "3"]);
    let home = Scratch::new("ais-control-bprops");
    let put = |bprops: &str| {
        ais(&c, home.path())
            .bucket("ais://props")
            .pctput(100)
            .maxputs(3)
            .size("1K")
            .arg("--bprops", bprops)
            .run()
    };
    let ok = put(r#""mirror":{"enabled":true},"#);
    ok.ok();
    ok.check(
        ok.stderr().contains("note: --bprops: set {\"mirror\":"),
        "the note says what was set",
    );
    let v = bucket_props(&c, "props?provider=ais");
    assert_eq!(
        v["mirror"],
        serde_json::json!({"enabled": true, "copies": 2, "burst_buffer": 512})
    );
    // The same again changes nothing (aisloader's rule: only a different `enabled` is sent).
    let again = put(r#"{"mirror":{"enabled":true}}"#);
    again.ok();
    again.check(
        again.stderr().contains("already has these properties"),
        "nothing to set",
    );
    // The cluster refuses EC on too few targets: the run fails naming the flag.
    let refused = put(r#"{"ec":{"enabled":true,"data_slices":4,"parity_slices":2}}"#);
    refused.check(refused.code() == 1, "a refused --bprops fails the run");
    refused.check(
        refused.stderr().contains("--bprops: the cluster refused")
            && refused
                .stderr()
                .contains("requires at least 7 targets (have 3)"),
        "the refusal names the flag and the cluster's reason",
    );
    assert_eq!(
        bucket_props(&c, "props?provider=ais")["ec"]["enabled"],
        false
    );
    // Bad JSON, and a remote bucket, are refused before any connection (exit 2).
    for (bucket, bprops, want) in [
        (
            "ais://props",
            "{",
            "--bprops \"{\": not the bucket properties",
        ),
        (
            "ais://props",
            r#"{"versioning":{}}"#,
            "unknown field `versioning`",
        ),
        (
            "s3://remote",
            r#"{"mirror":{}}"#,
            "--bprops applies to ais:// buckets only",
        ),
    ] {
        let before = Cluster::sum(&c.proxies, "bucket");
        let r = ais(&c, home.path())
            .bucket(bucket)
            .pctput(100)
            .maxputs(1)
            .arg("--bprops", bprops)
            .run();
        r.check(r.code() == 2 && r.stderr().contains(want), want);
        assert_eq!(Cluster::sum(&c.proxies, "bucket"), before, "no connection");
    }
}

#[test]
fn the_token_reaches_the_cluster_from_each_source() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "3"]);
    let dir = Scratch::new("ais-control-token");
    let empty_home = dir.path().join("empty-home");
    std::fs::create_dir_all(&empty_home).unwrap();
    let cli_home = dir.path().join("cli-home");
    let cli_file = cli_home.join(".config/ais/cli/auth.token");
    std::fs::create_dir_all(cli_file.parent().unwrap()).unwrap();
    std::fs::write(&cli_file, r#"{"token":"from-cli"}"#).unwrap();
    let raw = dir.path().join("raw.token");
    std::fs::write(&raw, "from-flag\n").unwrap();
    let json = dir.path().join("json.token");
    std::fs::write(&json, r#"{"token":"from-var-file"}"#).unwrap();
    let raw_s = raw.to_str().unwrap();
    let json_s = json.to_str().unwrap();
    let cases: [(&str, Run, String); 5] = [
        ("none", ais(&c, &empty_home), String::new()),
        (
            "flag",
            ais(&c, &cli_home)
                .arg("--token-file", raw_s)
                .env("AIS_AUTHN_TOKEN", "var"),
            format!("note: AIS AuthN token from --token-file {raw_s}"),
        ),
        (
            "variable",
            ais(&c, &cli_home).env("AIS_AUTHN_TOKEN", "from-var"),
            "note: AIS AuthN token from AIS_AUTHN_TOKEN".into(),
        ),
        (
            "variable's file",
            ais(&c, &cli_home).env("AIS_AUTHN_TOKEN_FILE", json_s),
            format!("note: AIS AuthN token from {json_s} (named by AIS_AUTHN_TOKEN_FILE)"),
        ),
        (
            "CLI file",
            ais(&c, &cli_home),
            format!(
                "note: AIS AuthN token from the AIS CLI's token file {}",
                cli_file.display()
            ),
        ),
    ];
    for (what, run, note) in cases {
        let before = authorized(&c);
        let r = run
            .bucket("ais://tok")
            .pctput(100)
            .maxputs(3)
            .size("1K")
            .run();
        r.ok();
        let sent = authorized(&c) - before;
        if note.is_empty() {
            r.check(!r.stderr().contains("AuthN token"), "no token, no note");
            assert_eq!(sent, 0, "{what}: no Authorization header");
        } else {
            r.check(r.stderr().contains(&note), &format!("{what}: {note}"));
            // The presence check and the 3 PUTs: each carries the token.
            assert_eq!(sent, 4, "{what}: requests that carried the token");
        }
    }
    // A named file that is missing fails before any connection; --token-file needs AIS.
    let r = ais(&c, &empty_home)
        .arg("--token-file", "/nonexistent/token")
        .pctput(100)
        .maxputs(1)
        .run();
    r.check(
        r.code() == 2 && r.stderr().contains("\"/nonexistent/token\" (--token-file)"),
        "a missing --token-file is named",
    );
    let r = Run::new()
        .protocol("s3")
        .arg("--token-file", raw_s)
        .duration("1s")
        .run();
    r.check(
        r.code() == 2
            && r.stderr().contains("--token-file")
            && r.stderr().contains("--protocol ais only"),
        "--token-file is refused outside AIS",
    );
}

#[test]
fn remote_bucket_listing_flags_and_cleanup_batches() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "3"]);
    let home = Scratch::new("ais-control-list");
    let put = ais(&c, home.path())
        .bucket("s3://rem")
        .pctput(100)
        .maxputs(20)
        .arg("--num-subdirs", 2)
        .size("1K")
        .run();
    put.ok();
    let all = names(&c, "rem");
    assert_eq!(all.len(), 20);
    let dirs: std::collections::BTreeSet<&str> = all
        .iter()
        .filter_map(|n| n.split_once('/').map(|(d, _)| d))
        .collect();
    assert_eq!(dirs.len(), 2, "two subdirectories: {all:?}");
    // Evict 5: they stay in the emulated backend but leave the cluster.
    let evicted =
        serde_json::json!({"action": "evict-listrange", "value": {"objnames": &all[..5]}});
    let (status, _, text) = control(
        &c.proxies[0],
        "DELETE",
        "v1/buckets/rem?provider=aws",
        &evicted.to_string(),
    );
    assert_eq!(status, 200, "{text}");

    // One epoch each: every listed name is read once, so the GET count is the listing.
    let get = |flags: &[&str]| {
        let r = ais(&c, home.path())
            .bucket("s3://rem")
            .epochs(1)
            .flag("--uniquegets")
            .args(flags)
            .run();
        r.ok();
        r
    };
    let r = get(&["--cached"]);
    r.check(
        r.stderr().contains("Found 15 existing objects"),
        "cached: 15",
    );
    let r = get(&[]);
    r.check(r.stderr().contains("Found 20 existing objects"), "all 20");
    let r = get(&["--list-dirs"]);
    r.check(
        r.stderr().contains("Found 22 existing objects"),
        "20 objects and 2 directories",
    );
    // The run without --cached read the evicted objects back into the cluster (cold GETs).
    let r = get(&["--cached"]);
    r.check(
        r.stderr().contains("Found 20 existing objects"),
        "cached: all 20 now",
    );

    let nbi = Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .bucket("s3://rem")
        .flag("--nbi")
        .duration("1s")
        .run();
    nbi.check(
        nbi.code() == 1
            && nbi
                .stderr()
                .contains("bucket \"s3://rem\" has no inventories"),
        "--nbi: the built-in target has no inventory",
    );
    let local = Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .bucket("ais://local")
        .flag("--cached")
        .duration("1s")
        .run();
    local.check(
        local.code() == 2
            && local
                .stderr()
                .contains("--cached applies to remote buckets only (have ais://local)"),
        "--cached refused for an ais bucket",
    );

    // Cleanup of the 20 names in batches of 7: 3 delete requests.
    let before = Cluster::sum(&c.proxies, "bucket");
    let r = ais(&c, home.path())
        .bucket("s3://rem")
        .duration("1s")
        .flag("--cleanup")
        .arg("--evict-batchsize", 7)
        .run();
    r.ok();
    r.check(
        r.stderr().contains("deleting the 20 names"),
        "cleanup deletes the 20 names",
    );
    assert_eq!(Cluster::sum(&c.proxies, "bucket") - before, 3, "3 batches");
    assert!(names(&c, "rem").is_empty());
    let zero = ais(&c, home.path())
        .bucket("s3://rem")
        .duration("1s")
        .arg("--evict-batchsize", 0)
        .run();
    zero.check(
        zero.code() == 2 && zero.stderr().contains("--evict-batchsize 0"),
        "a zero batch is refused naming the flag",
    );
}
