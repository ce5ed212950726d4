//! End-to-end, `--verifyhash` on any server: objects ringload PUT to nginx, s3s-fs or the
//! built-in AIS target read back verified byte for byte; a byte flipped on disk is a `verify`
//! error, a file ringload did not write (and no checksum) is `verify-unknown`, and every other
//! object is a verified success. Under both drivers where a driver is involved.

use crate::common;

use std::path::{Path, PathBuf};

use common::cluster::Cluster;
use common::s3s::*;
use common::*;

/// Flips one byte in the middle of `file` (well past the recognising prefix).
fn flip_middle(file: &Path) {
    let mut b = std::fs::read(file).unwrap();
    assert!(
        b.len() >= 1024,
        "{} is too small to corrupt",
        file.display()
    );
    let mid = b.len() / 2;
    b[mid] ^= 0x5a;
    std::fs::write(file, b).unwrap();
}

/// Regular files under `dir` (recursively, dot-files skipped), sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// `errors_by_kind[kind]` of `op` (0 when absent).
fn kind(v: &serde_json::Value, op: &str, kind: &str) -> u64 {
    v["ops"][op]["errors_by_kind"][kind].as_u64().unwrap_or(0)
}

/// nginx: 50 objects PUT by ringload, 3 corrupted on disk and one foreign file added; a
/// verified read of all 51 gives exactly 47 successes, 3 `verify` and 1 `verify-unknown`.
#[test]
fn nginx_put_objects_verify_and_corruption_is_counted() {
    for driver in DRIVERS {
        let ng = Nginx::start();
        let res = ng.dir.path().join("put.json");
        Run::new()
            .endpoint(&ng.url())
            .bucket("bk")
            .driver(driver)
            .pctput(100)
            .maxputs(50)
            .sizes("4K", "3M")
            .workers(4)
            .cores(2)
            .result(&res)
            .run()
            .ok();
        assert_eq!(op(&result(&res), "put", "count"), 50, "{driver}: 50 PUTs");
        let bucket = ng.data().join("bk");
        let files = files_under(&bucket);
        assert_eq!(files.len(), 50, "{driver}: objects on disk");
        for f in &files[..3] {
            flip_middle(f);
        }
        let foreign: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(bucket.join("foreign"), foreign).unwrap();
        let mut list: String = files
            .iter()
            .map(|f| format!("{}\n", f.strip_prefix(&bucket).unwrap().display()))
            .collect();
        list.push_str("foreign\n");
        let fl = ng.dir.path().join("names.txt");
        std::fs::write(&fl, list).unwrap();
        let res = ng.dir.path().join("get.json");
        let run = Run::new()
            .endpoint(&ng.url())
            .bucket("bk")
            .driver(driver)
            .filelist(&fl)
            .epochs(1)
            .flag("--uniquegets")
            .flag("--verifyhash")
            .workers(4)
            .cores(2)
            .result(&res)
            .run();
        run.ok();
        let v = result(&res);
        run.check(op(&v, "get", "count") == 47, "47 verified GETs");
        run.check(kind(&v, "get", "verify") == 3, "3 corrupted objects");
        run.check(
            kind(&v, "get", "verify-unknown") == 1,
            "the foreign file is unknown",
        );
        run.check(op(&v, "get", "errors") == 4, "no other error");
        let good: u64 = files[3..].iter().map(|f| f.metadata().unwrap().len()).sum();
        run.check(
            op(&v, "get", "bytes") == good,
            "bytes of the intact objects",
        );
        // The launcher's merge keeps both kinds.
        let merged = Scratch::new("verify-merge");
        copy_result(&res, &merged.path().join("rank-0.json"));
        ringload(&["merge", merged.path().to_str().unwrap()]).ok();
        let text = std::fs::read_to_string(merged.path().join("summary.json")).unwrap();
        let m: serde_json::Value = serde_json::from_str(&text).unwrap();
        let kinds = &m["ops"]["get"]["errors_by_kind"];
        assert_eq!(
            (kinds["verify"].as_u64(), kinds["verify-unknown"].as_u64()),
            (Some(3), Some(1)),
            "{driver}: merged kinds {kinds}"
        );
    }
}

/// s3s-fs (which keeps each PUT's MD5 as the ETag, and computes it for files it did not
/// receive): objects PUT by ringload read back verified; one corrupted mid-file is a `verify`
/// error; one corrupted inside the recognising prefix is `verify-unknown` (an ETag that
/// disagrees proves nothing: it may not be an MD5); a foreign file is verified by its ETag.
#[test]
fn s3_corrupted_object_is_a_verify_error() {
    for driver in DRIVERS {
        let s = S3sFs::start("vbk");
        let dir = Scratch::new("s3-verify");
        let res = dir.path().join("put.json");
        s3(&s, SK)
            .bucket("vbk")
            .driver(driver)
            .pctput(100)
            .maxputs(20)
            .sizes("8K", "256K")
            .workers(4)
            .result(&res)
            .run()
            .ok();
        assert_eq!(op(&result(&res), "put", "count"), 20, "{driver}: 20 PUTs");
        let files = files_under(&s.dir.path().join("vbk"));
        assert_eq!(files.len(), 20, "{driver}: s3s-fs stored 20 objects");
        flip_middle(&files[7]);
        let mut early = std::fs::read(&files[3]).unwrap();
        early[5] ^= 0x5a;
        std::fs::write(&files[3], early).unwrap();
        let foreign: Vec<u8> = (0..30_000u32).map(|i| (i * 13 % 241) as u8).collect();
        std::fs::write(s.dir.path().join("vbk").join("foreign"), foreign).unwrap();
        let res = dir.path().join("get.json");
        let run = s3(&s, SK)
            .bucket("vbk")
            .driver(driver)
            .epochs(1)
            .flag("--uniquegets")
            .flag("--verifyhash")
            .workers(4)
            .result(&res)
            .run();
        run.ok();
        let v = result(&res);
        run.check(
            op(&v, "get", "count") == 19,
            "18 intact objects and the foreign file verified",
        );
        run.check(
            kind(&v, "get", "verify") == 1,
            "the object corrupted mid-file",
        );
        run.check(
            kind(&v, "get", "verify-unknown") == 1,
            "the object corrupted in its prefix",
        );
        run.check(op(&v, "get", "errors") == 2, "no other error");
    }
}

/// The built-in AIS target: objects PUT by ringload (with their `Ais-Checksum` headers) read
/// back verified by pattern and by the target's `Ais-Checksum-Value`, including a range.
#[test]
fn builtin_ais_objects_verify_with_their_checksums() {
    for driver in DRIVERS {
        let c = Cluster::start(&["--proxies", "1", "--targets", "1"]);
        let dir = Scratch::new("ais-verify");
        let ep = &c.proxies[0];
        let res = dir.path().join("put.json");
        let put = Run::new()
            .protocol("ais")
            .endpoint(ep)
            .bucket("ais://vb")
            .driver(driver)
            .pctput(100)
            .maxputs(30)
            .sizes("2K", "2M")
            .workers(4)
            .result(&res)
            .run();
        put.ok();
        for (k, readlen) in [None, Some("1000")].into_iter().enumerate() {
            let res = dir.path().join(format!("get{k}.json"));
            let mut get = Run::new()
                .protocol("ais")
                .endpoint(ep)
                .bucket("ais://vb")
                .driver(driver)
                .epochs(1)
                .flag("--uniquegets")
                .flag("--verifyhash")
                .workers(4)
                .result(&res);
            if let Some(n) = readlen {
                get = get.arg("--readoff", "100").arg("--readlen", n);
            }
            let run = get.run();
            run.ok();
            let v = result(&res);
            run.check(op(&v, "get", "count") == 30, "30 verified GETs");
            run.check(op(&v, "get", "errors") == 0, "no verify error");
        }
    }
}
