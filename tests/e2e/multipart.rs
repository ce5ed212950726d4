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
use common::{cluster, DRIVERS};

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
    assert_eq!(
        stored_sizes(&s, "mpu-whole"),
        vec![24 * MIB; 3],
        "whole objects on disk"
    );
    assert_eq!(
        pending_uploads(&s),
        Vec::<String>::new(),
        "no pending upload"
    );

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
        // Part 1 is S3's 5 MiB minimum, part 2 the last 1 KiB: the refused part is sent
        // whole before its answer, so the answer (not a reset) is what fails it.
        .sizes("5121K", "5121K")
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
    assert_eq!(
        pending_uploads(&s),
        Vec::<String>::new(),
        "the upload was aborted"
    );
}

/// The built-in AIS cluster's `ml` counter `key`, summed over `urls`.
fn ml_sum(urls: &[String], key: &str) -> u64 {
    urls.iter()
        .map(|u| {
            let s = cluster::Cluster::stats(u);
            s["ml"][key]
                .as_u64()
                .unwrap_or_else(|| panic!("ml.{key} missing in {s}"))
        })
        .sum()
}

fn ais(c: &cluster::Cluster) -> common::run::Run {
    common::run::Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
}

/// AIS native multipart through the proxies, on both drivers: every upload completes on the
/// object's target (counters exact, nothing pending), and a `--verifyhash` GET run reads the
/// objects whole.
#[test]
fn ais_multipart_objects_are_whole_and_counted_on_the_targets() {
    for driver in DRIVERS {
        let c = cluster::Cluster::start(&["--proxies", "2", "--targets", "3"]);
        let put = ais(&c)
            .bucket("ais://mpt")
            .driver(driver)
            .pctput(100)
            .maxputs(20)
            .sizes("100K", "3MiB")
            .workers(4)
            .arg("--multipart-chunks", 3)
            .arg("--pctmultipart", 100)
            .flag("--json")
            .run();
        put.ok();
        let r = doc(&put);
        put.check(op(&r, "put_mpu", "count") == 20, "20 uploads");
        put.check(op(&r, "put_mpu", "errors") == 0, "no errors");
        let bytes = op(&r, "put_mpu", "bytes");
        put.check(
            r["ops"]["put_mpu"]["phases"]["part"]["count"].as_u64() == Some(60),
            "three parts each",
        );
        assert_eq!(ml_sum(&c.targets, "mpt_create"), 20, "created");
        assert_eq!(ml_sum(&c.targets, "mpt_parts"), 60, "parts");
        assert_eq!(ml_sum(&c.targets, "mpt_complete"), 20, "completed");
        assert_eq!(ml_sum(&c.targets, "mpt_abort"), 0, "none aborted");
        assert_eq!(ml_sum(&c.targets, "mpt_pending"), 0, "none pending");
        assert_eq!(ml_sum(&c.proxies, "mpt_create"), 0, "proxies only redirect");

        let get = ais(&c)
            .bucket("mpt")
            .driver(driver)
            .epochs(1)
            .flag("--verifyhash")
            .workers(4)
            .flag("--json")
            .run();
        get.ok();
        get.check(
            get.stderr().contains("Found 20 existing objects"),
            "listed 20",
        );
        let g = doc(&get);
        get.check(op(&g, "get", "count") == 20, "each object once");
        get.check(op(&g, "get", "errors") == 0, "content verified");
        get.check(op(&g, "get", "bytes") == bytes, "the sizes uploaded");
    }
}

/// A part the target refuses (an upload id it never gave) aborts that upload: one error,
/// one abort on the target, no object and nothing pending; the other uploads complete.
#[test]
fn ais_a_failed_part_is_aborted_on_the_target() {
    let c = cluster::Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let put = ais(&c)
        .bucket("ais://mptfail")
        .pctput(100)
        .maxputs(4)
        .sizes("64K", "64K")
        .workers(1)
        .arg("--multipart-chunks", 2)
        .arg("--pctmultipart", 100)
        .env("RINGLOAD_TEST_MPU_FAIL_PART", "2")
        .flag("--json")
        .run();
    let r = doc(&put);
    put.check(op(&r, "put_mpu", "count") == 3, "three uploads completed");
    put.check(op(&r, "put_mpu", "errors") == 1, "exactly one error");
    put.check(
        r["ops"]["put_mpu"]["errors_by_kind"]["http-404"].as_u64() == Some(1),
        "the refused part's kind",
    );
    assert_eq!(ml_sum(&c.targets, "mpt_create"), 4, "created");
    assert_eq!(ml_sum(&c.targets, "mpt_parts"), 7, "parts stored");
    assert_eq!(ml_sum(&c.targets, "mpt_complete"), 3, "completed");
    assert_eq!(ml_sum(&c.targets, "mpt_abort"), 1, "aborted");
    assert_eq!(ml_sum(&c.targets, "mpt_pending"), 0, "none pending");
    let get = ais(&c)
        .bucket("mptfail")
        .epochs(1)
        .flag("--verifyhash")
        .flag("--json")
        .run();
    get.ok();
    let g = doc(&get);
    get.check(
        op(&g, "get", "count") == 3,
        "only the completed objects exist",
    );
    get.check(op(&g, "get", "errors") == 0, "and verify");
}

/// The run's end cancels uploads in flight (every multipart step is held 1.5 s by the
/// target, so at the cancel, 2 s after `--duration`, each connection's upload is mid-way):
/// each is aborted on its target, none completes and none is left pending; a cancelled
/// upload is not an error.
#[test]
fn ais_uploads_in_flight_at_the_end_are_aborted() {
    let c = cluster::Cluster::start(&[
        "--proxies",
        "1",
        "--targets",
        "2",
        "--fault",
        "delay=100%:1500ms",
    ]);
    let put = ais(&c)
        .bucket("ais://mptcancel")
        .pctput(100)
        .duration("1s")
        .sizes("64K", "64K")
        .workers(2)
        .arg("--multipart-chunks", 4)
        .arg("--pctmultipart", 100)
        .flag("--json")
        .run();
    put.ok();
    let r = doc(&put);
    // No upload completed or failed (a cancelled one is neither): the class is not shown.
    put.check(r["ops"]["put_mpu"].is_null(), "no put_mpu operation");
    // The client saw each abort through (the target applies an abort before its held
    // answer, so only the client knows whether it waited for it).
    put.check(
        !put.stderr().contains("the abort of multipart upload"),
        "every abort answered",
    );
    assert_eq!(
        ml_sum(&c.targets, "mpt_create"),
        2,
        "one upload per connection"
    );
    assert_eq!(ml_sum(&c.targets, "mpt_complete"), 0, "none completed");
    assert_eq!(ml_sum(&c.targets, "mpt_abort"), 2, "each aborted");
    assert_eq!(ml_sum(&c.targets, "mpt_pending"), 0, "none left behind");
}
