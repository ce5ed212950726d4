//! Shards on a stand-alone AIS target: a TAR PUT is parsed into its member list, a whole GET
//! gives back the same TAR, `?archpath=` reads one file, and the archive-aware listing shows
//! each file; non-TAR bodies under a shard's name stay plain objects, hostile TARs never
//! crash, and oversized shards are refused naming the cap.

use super::ais::ais_server;
use super::{expected, Client};
use crate::ais::arch::{self, SHARD_MAX_BYTES};
use crate::*;
use ringload_core::tar;

const JSON: &str = "Content-Type: application/json\r\n";

/// The TAR the engine writes for shard `key` with files `(name, size)`.
fn shard_bytes(key: &str, files: &[(&str, usize)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(name, size) in files {
        tar::encode_file(name.as_bytes(), size as u64, &mut out);
        out.extend_from_slice(&expected(&format!("{key}/{name}"), 0, size));
        out.resize(out.len() + (tar::padded(size as u64) as usize - size), 0);
    }
    tar::encode_end(&mut out);
    out
}

fn setup() -> (ServerHandle, Client) {
    let h = ais_server(DEFAULT_PAGE_SIZE);
    let mut c = Client::connect(&h);
    let r = c.call(
        "POST",
        "v1/buckets/b?provider=ais",
        JSON,
        br#"{"action":"create-bck"}"#,
    );
    assert_eq!(r.status, 200);
    (h, c)
}

const FILES: &[(&str, usize)] = &[
    ("obj-000000.txt", 1000),
    ("d/obj-000001.txt", 4096),
    ("e", 0),
];

#[test]
fn a_shard_put_is_read_whole_by_archpath_and_listed_file_by_file() {
    let (h, mut c) = setup();
    let tar = shard_bytes("b/s1.tar", FILES);
    let r = c.call("PUT", "v1/objects/b/s1.tar?provider=ais", "", &tar);
    assert_eq!(r.status, 200, "{}", r.text());
    c.call("PUT", "v1/objects/b/plain?provider=ais", "", &[0u8; 10]);
    assert_eq!(h.object_size("b/s1.tar"), Some(tar.len() as u64));

    let r = c.call("GET", "v1/objects/b/s1.tar?provider=ais", "", b"");
    assert_eq!(r.status, 200);
    assert!(r.body == tar, "a whole GET gives back the shard's TAR");
    let r = c.call(
        "GET",
        "v1/objects/b/s1.tar?provider=ais",
        "Range: bytes=512-1023\r\n",
        b"",
    );
    assert_eq!(r.status, 206);
    assert!(r.body == tar[512..1024]);

    let r = c.call(
        "GET",
        "v1/objects/b/s1.tar?provider=ais&archpath=d%2Fobj-000001.txt",
        "",
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body == expected("b/s1.tar/d/obj-000001.txt", 0, 4096));
    for bad in ["nope", "obj-000000"] {
        let path = format!("v1/objects/b/s1.tar?provider=ais&archpath={bad}");
        let r = c.call("GET", &path, "", b"");
        assert_eq!(r.status, 404, "{bad}: {}", r.text());
    }
    let r = c.call("GET", "v1/objects/b/plain?provider=ais&archpath=x", "", b"");
    assert_eq!(r.status, 404);

    let list = |c: &mut Client, flags: u64| -> Vec<(String, u64, u64)> {
        let body = serde_json::json!({"action": "list", "value": {"flags": flags.to_string()}});
        let r = c.call(
            "GET",
            "v1/buckets/b?provider=ais",
            JSON,
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let size = e["size"].as_str().unwrap().parse().unwrap();
                (
                    e["name"].as_str().unwrap().to_string(),
                    size,
                    e["flags"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let t = tar.len() as u64;
    let plain = list(&mut c, 8192);
    assert_eq!(plain, [("plain".into(), 10, 0), ("s1.tar".into(), t, 0)]);
    let arch = list(&mut c, 8192 | 8);
    let want: Vec<(String, u64, u64)> = vec![
        ("plain".into(), 10, 0),
        ("s1.tar".into(), t, 1 << 9),
        ("s1.tar/d/obj-000001.txt".into(), 4096, 1 << 7),
        ("s1.tar/e".into(), 0, 1 << 7),
        ("s1.tar/obj-000000.txt".into(), 1000, 1 << 7),
    ];
    assert_eq!(arch, want);

    let ml = h.stats().counters.ml;
    assert_eq!((ml.shard_puts, ml.archpath_gets), (1, 1));

    // Overwritten by a body that is no TAR: a plain object again, no files.
    c.call("PUT", "v1/objects/b/s1.tar?provider=ais", "", &[7u8; 600]);
    let r = c.call(
        "GET",
        "v1/objects/b/s1.tar?provider=ais&archpath=e",
        "",
        b"",
    );
    assert_eq!(r.status, 404);
    assert_eq!(list(&mut c, 8192 | 8).len(), 2);
    assert_eq!(h.stats().counters.ml.shard_puts, 1);
}

#[test]
fn a_shard_whose_bytes_are_not_generated_content_is_a_plain_object() {
    let (h, mut c) = setup();
    let mut tar = shard_bytes("b/s.tar", FILES);
    tar[600] ^= 1; // the first file's second byte
    let r = c.call("PUT", "v1/objects/b/s.tar?provider=ais", "", &tar);
    assert_eq!(r.status, 200);
    assert_eq!(h.stats().counters.ml.shard_puts, 0);
    let r = c.call("GET", "v1/objects/b/s.tar?provider=ais&archpath=e", "", b"");
    assert_eq!(r.status, 404);
}

#[test]
fn shards_above_the_cap_are_refused_naming_it() {
    let (_h, mut c) = setup();
    let body = vec![0u8; SHARD_MAX_BYTES as usize + 1];
    let r = c.call("PUT", "v1/objects/b/big.tar?provider=ais", "", &body);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.text().contains(&SHARD_MAX_BYTES.to_string()),
        "{}",
        r.text()
    );
}

#[test]
fn hostile_archives_are_errors_never_panics() {
    let good = shard_bytes("b/s.tar", FILES);
    assert_eq!(arch::parse("b/s.tar", &good).unwrap().len(), 3);
    for cut in 0..good.len() - tar::END_LEN {
        assert!(
            arch::parse("b/s.tar", &good[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut bad_sum = good.clone();
    bad_sum[0] ^= 1;
    assert!(arch::parse("b/s.tar", &bad_sum).is_err());
    let mut huge = Vec::new();
    tar::encode_file(b"x", u64::MAX >> 1, &mut huge);
    huge.resize(4096, 0);
    assert!(arch::parse("b/s.tar", &huge).is_err());
    let mut x = 1u64;
    for _ in 0..2000 {
        let mut v = good.clone();
        for _ in 0..4 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (x >> 33) as usize % v.len();
            v[i] = (x >> 13) as u8;
        }
        let _ = arch::parse("b/s.tar", &v);
    }
}
