//! Unit tests of the target setup: configuration, the checks before any connection, and the
//! control calls against one-request fake proxies.

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// An AIS workload on `bucket` (as `--bucket` takes it) against `url`.
fn ais_run(bucket: &str, url: &str) -> Workload {
    let mut w = Workload {
        protocol: Protocol::Ais,
        ..Workload::default()
    };
    configure(&mut w, bucket, false, None).unwrap();
    w.endpoint = Some(ringload_engine::workload::Endpoint::parse(url).unwrap());
    w
}

/// A one-request AIS proxy that answers every call with `status` and an AIS error body;
/// returns its URL and the request line it got.
fn answer_once(status: &str, message: &str) -> (String, std::thread::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let body = serde_json::json!({ "message": message, "status": 404 }).to_string();
    let status = status.to_string();
    let t = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let (mut first, mut len) = (String::new(), 0usize);
        r.read_line(&mut first).unwrap();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        r.read_exact(&mut vec![0; len]).unwrap();
        let mut s = s;
        write!(
            s,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        first.trim_end().to_string()
    });
    (url, t)
}

#[test]
fn virtual_host_addressing_refuses_an_ip_endpoint_before_any_connection() {
    let mut w = Workload {
        protocol: Protocol::S3,
        ..Workload::default()
    };
    w.proto.s3_addressing = ringload_engine::proto::S3Addressing::VirtualHost;
    for url in [
        "http://127.0.0.1:9000",
        "10.1.2.3:9000/s3",
        "http://[::1]:9000",
    ] {
        let err = check_s3_endpoint(&w, Some(url)).unwrap_err();
        assert!(err.contains("--s3-addressing path"), "{url}: {err}");
    }
    assert_eq!(
        check_s3_endpoint(&w, Some("http://s3.example.com:9000")),
        Ok(())
    );
    // The built-in target and path style are left alone.
    assert_eq!(check_s3_endpoint(&w, None), Ok(()));
    w.proto.s3_addressing = ringload_engine::proto::S3Addressing::Path;
    assert_eq!(check_s3_endpoint(&w, Some("http://127.0.0.1:9000")), Ok(()));
}

#[test]
fn a_dotted_bucket_over_https_with_virtual_hosts_gets_a_note() {
    let mut w = Workload {
        protocol: Protocol::S3,
        bucket: "my.data".into(),
        ..Workload::default()
    };
    w.proto.s3_addressing = ringload_engine::proto::S3Addressing::VirtualHost;
    let note = s3_dotted_bucket_note(&w, Some("https://s3.us-west-2.amazonaws.com")).unwrap();
    assert!(note.contains("\"my.data\" has dots") && note.contains("--s3-addressing path"));
    assert_eq!(
        s3_dotted_bucket_note(&w, Some("http://s3.example.com")),
        None
    );
    w.proto.s3_addressing = ringload_engine::proto::S3Addressing::Path;
    assert_eq!(
        s3_dotted_bucket_note(&w, Some("https://s3.example.com")),
        None
    );
    w.proto.s3_addressing = ringload_engine::proto::S3Addressing::VirtualHost;
    w.bucket = "data".into();
    assert_eq!(
        s3_dotted_bucket_note(&w, Some("https://s3.example.com")),
        None
    );
}

#[test]
fn every_ais_provider_is_known_to_the_built_in_target() {
    for (scheme, provider) in ais::PROVIDERS {
        let p = ringload_server::Provider::parse(provider).expect(provider);
        assert_eq!(p.as_str(), provider, "{scheme}");
        assert_eq!(p.is_remote(), provider != "ais", "{scheme}");
    }
}

#[test]
fn ais_control_flags_are_refused_where_they_cannot_apply() {
    let w = ais_run("s3://rem", "http://127.0.0.1:9");
    assert_eq!(check_ais_flags(&w, None, false), Ok(()));
    // --bprops: ais:// buckets of a named cluster only, and JSON that parses.
    let err = check_ais_flags(&w, Some("{}"), false).unwrap_err();
    assert!(
        err.contains("--bprops applies to ais:// buckets only"),
        "{err}"
    );
    let local = ais_run("ais://b", "http://127.0.0.1:9");
    let mirror = Some(r#"{"mirror":{"enabled":true}}"#);
    assert_eq!(check_ais_flags(&local, mirror, false), Ok(()));
    let err = check_ais_flags(&local, mirror, true).unwrap_err();
    assert!(err.contains("--bprops needs an AIS cluster"), "{err}");
    let err = check_ais_flags(&local, Some("{"), false).unwrap_err();
    assert!(err.starts_with("--bprops \"{\": not the bucket"), "{err}");
    // Listing flags: remote buckets only; --cached not with 100% PUTs.
    for (set, flag) in [(0, "--cached"), (1, "--list-dirs"), (2, "--nbi")] {
        let mut l = local.clone();
        let mut r = w.clone();
        for x in [&mut l, &mut r] {
            let f = &mut x.proto.list;
            *[&mut f.cached, &mut f.list_dirs, &mut f.nbi][set] = true;
        }
        assert_eq!(check_ais_flags(&r, None, false), Ok(()), "{flag}");
        let err = check_ais_flags(&l, None, false).unwrap_err();
        assert_eq!(
            err,
            format!(
                "{flag} applies to remote buckets only (have ais://b): name one such as \
                 s3://bucket or ais://@remote/bucket, or leave it out"
            )
        );
        l.protocol = Protocol::S3;
        let err = check_ais_flags(&l, None, false).unwrap_err();
        assert!(err.contains("--protocol ais only"), "{err}");
    }
    let mut r = w.clone();
    r.proto.list.cached = true;
    r.pctput = 100;
    let err = check_ais_flags(&r, None, false).unwrap_err();
    assert!(err.contains("incompatible with a 100% PUT"), "{err}");
    r.pctput = 50;
    let err = check_ais_flags(&r, None, true).unwrap_err();
    assert!(err.contains("come from --prefill"), "{err}");
    r.filelist = Some("names.txt".into());
    let err = check_ais_flags(&r, None, false).unwrap_err();
    assert!(err.contains("come from --filelist"), "{err}");
}

#[test]
fn a_token_file_is_refused_outside_ais() {
    let mut w = Workload {
        protocol: Protocol::Http,
        ..Workload::default()
    };
    let f = std::path::Path::new("/tmp/tok");
    let err = configure(&mut w, "b", true, Some(f)).unwrap_err();
    assert!(
        err.starts_with("--token-file /tmp/tok") && err.contains("this run is http"),
        "{err}"
    );
}

#[test]
fn a_failed_cleanup_names_the_bucket_as_given() {
    let (url, seen) = answer_once("404 Not Found", "bucket \"s3://my-bucket\" does not exist");
    let w = ais_run("s3://my-bucket", &url);
    let mut names = NameList::new();
    names.push("a");
    let err = Control::new(&w)
        .cleanup(&w, (&names, 0), 1000, false)
        .unwrap_err();
    assert_eq!(
        err,
        "cleanup: AIS delete of 1 objects from s3://my-bucket (after 0 sent): HTTP 404: \
         bucket \"s3://my-bucket\" does not exist"
    );
    assert_eq!(
        seen.join().unwrap(),
        "DELETE /v1/buckets/my-bucket?provider=aws HTTP/1.1"
    );
    let (url, seen) = answer_once("404 Not Found", "bucket \"ais://gone\" does not exist");
    let w = ais_run("ais://gone", &url);
    let err = Control::new(&w)
        .cleanup(&w, (&names, 0), 1000, false)
        .unwrap_err();
    assert_eq!(
        err,
        "cleanup: AIS destroy of ais://gone: HTTP 404: bucket \"ais://gone\" does not exist"
    );
    assert_eq!(
        seen.join().unwrap(),
        "DELETE /v1/buckets/gone?provider=ais HTTP/1.1"
    );
}

#[test]
fn remote_buckets_are_never_created_and_ais_ones_are_named_in_full() {
    // No listener at all: a remote bucket needs no call before the run.
    let w = ais_run("gs://g", "http://127.0.0.1:9");
    assert!(!Control::new(&w).ensure_bucket(&w).unwrap());
    let w = ais_run("ais://@remais/r", "http://127.0.0.1:9");
    assert!(!Control::new(&w).ensure_bucket(&w).unwrap());
    let (url, _seen) = answer_once("500 Internal Server Error", "disk full");
    let w = ais_run("ais://#ns/b", &url);
    let err = Control::new(&w).ensure_bucket(&w).unwrap_err();
    assert_eq!(
        err,
        "cannot check bucket ais://#ns/b: AIS presence check of ais://#ns/b: HTTP 500: disk \
         full"
    );
}

#[test]
fn cksum_type_is_ais_only_and_recorded_as_sent() {
    use ringload_core::kinds::CksumType;
    let mut w = ais_run("ais://b", "http://127.0.0.1:9");
    assert_eq!(check_cksum_type(&mut w, None), Ok(()));
    assert_eq!(w.proto.cksum_type, CksumType::Xxhash);
    assert_eq!(check_cksum_type(&mut w, Some(CksumType::Md5)), Ok(()));
    assert_eq!(w.proto.cksum_type, CksumType::Md5);
    for p in [Protocol::S3, Protocol::Http] {
        w.protocol = p;
        assert_eq!(check_cksum_type(&mut w, None), Ok(()));
        assert_eq!(w.proto.cksum_type, CksumType::None, "{p:?} PUTs carry none");
        let err = check_cksum_type(&mut w, Some(CksumType::Xxhash)).unwrap_err();
        assert_eq!(
            err,
            format!(
                "--cksum-type xxhash sets the checksum AIS PUTs carry (Ais-Checksum-Type): it \
                 works with --protocol ais only (this run is {}); leave it out",
                p.as_str()
            )
        );
    }
}

#[test]
fn evict_batchsize_is_refused_where_cleanup_deletes_no_batches() {
    let remote = ais_run("s3://rem", "http://127.0.0.1:9");
    assert_eq!(check_evict_batchsize(&remote, None, true), Ok(1000));
    assert_eq!(check_evict_batchsize(&remote, None, false), Ok(1000));
    assert_eq!(check_evict_batchsize(&remote, Some(7), true), Ok(7));
    let err = check_evict_batchsize(&remote, Some(0), true).unwrap_err();
    assert!(err.starts_with("--evict-batchsize 0: "), "{err}");
    let err = check_evict_batchsize(&remote, Some(7), false).unwrap_err();
    assert_eq!(
        err,
        "--evict-batchsize 7: it sizes --cleanup's delete batches and this run has no \
         --cleanup: add --cleanup or leave it out"
    );
    let local = ais_run("ais://b", "http://127.0.0.1:9");
    let err = check_evict_batchsize(&local, Some(7), true).unwrap_err();
    assert_eq!(
        err,
        "--evict-batchsize 7: --cleanup destroys ais://b whole (no delete batches): leave it out"
    );
    let mut s3 = remote.clone();
    s3.protocol = Protocol::S3;
    let err = check_evict_batchsize(&s3, Some(7), true).unwrap_err();
    assert!(
        err.contains("with --protocol ais only (this run is s3)"),
        "{err}"
    );
}

#[test]
fn random_proxy_is_refused_without_a_cluster_before_anything_starts() {
    let mut w = ais_run("ais://b", "http://127.0.0.1:9");
    assert_eq!(check_random_proxy(&w, true, false), Ok(()));
    assert_eq!(check_random_proxy(&w, false, true), Ok(()));
    let err = check_random_proxy(&w, true, true).unwrap_err();
    assert_eq!(
        err,
        "--random-proxy picks among an AIS cluster's proxies, and the built-in quick-start \
         target is a single listener: start a cluster with `ringload serve --protocol ais \
         --proxies 2` and name it with --endpoint URL, or drop --random-proxy"
    );
    w.protocol = Protocol::Http;
    let err = check_random_proxy(&w, true, false).unwrap_err();
    assert!(err.contains("this run's protocol is http"), "{err}");
}

#[test]
fn the_found_line_counts_archived_files_as_aisloader() {
    let e = |names: &[&str]| -> Vec<(String, u64)> {
        names.iter().map(|n| (n.to_string(), 1)).collect()
    };
    assert_eq!(found_line(&e(&["a", "b"])), "Found 2 existing objects");
    assert_eq!(found_line(&e(&["s.tar\0f"])), "Found 1 archived file");
    assert_eq!(
        found_line(&e(&["a", "s.tar\0f", "s.tar\0g"])),
        "Found 1 plain object and 2 archived files (66% archived)"
    );
}
