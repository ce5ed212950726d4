//! End-to-end, the ML paths together on the built-in AIS cluster: GetBatch entries that name
//! files inside shards (`archpath`), and `ringload merge` of real rank files written by a
//! GetBatch run, a multipart upload run and a download-stream run. Every figure is checked
//! against the rank files and the listeners' own counters (`GET /v1/ringload/stats`).

use crate::common;

use common::cluster::Cluster;
use common::*;

fn ais(c: &Cluster) -> Run {
    Run::new().protocol("ais").endpoint(&c.proxies[0])
}

/// A counter summed over `urls` (a path into the stats JSON; absent is 0).
fn total(urls: &[String], path: &[&str]) -> u64 {
    urls.iter()
        .map(|u| {
            let mut v = Cluster::stats(u);
            for k in path {
                v = v[*k].take();
            }
            v.as_u64().unwrap_or(0)
        })
        .sum()
}

/// Sum of `ml.<key>` over the targets.
fn ml(c: &Cluster, key: &str) -> u64 {
    total(&c.targets, &["ml", key])
}

/// 12 shards of 5 files, then every file once through GetBatch entries with an `archpath`, 10
/// a batch, verified: 6 batches, 60 objects, no error. The targets answered 6 archives of 60
/// members; moss counts files inside shards as members only (not as `archpath_gets`, which
/// are single-file GETs). A per-file GET run of the same files then reads the same bytes.
#[test]
fn get_batch_entries_with_archpath_read_every_file_inside_shards() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("ml-paths-arch");
    let put_res = dir.path().join("put.json");
    let put = ais(&c)
        .bucket("ais://sh")
        .pctput(100)
        .maxputs(12)
        .arg("--arch-pct", 100)
        .arg("--arch-num-files", 5)
        .arg("--arch-minsize", "1K")
        .arg("--arch-maxsize", "8K")
        .workers(4)
        .result(&put_res)
        .run();
    put.ok();
    let p = result(&put_res);
    put.check(op(&p, "put", "count") == 12, "12 shard PUTs");
    put.check(op(&p, "put", "errors") == 0, "no PUT errors");
    assert_eq!(ml(&c, "shard_puts"), 12, "targets parsed 12 shards");
    let gets_before = total(&c.targets, &["requests", "get"]);

    let gb_res = dir.path().join("batch.json");
    let gb = ais(&c)
        .bucket("ais://sh")
        .flag("--arch-list")
        .arg("--get-batchsize", 10)
        .epochs(1)
        .flag("--verifyhash")
        .workers(2)
        .cores(1)
        .result(&gb_res)
        .run();
    gb.ok();
    gb.check(
        gb.stderr().contains("Found 60 archived files"),
        "listed 60 files inside 12 shards",
    );
    let g = result(&gb_res);
    gb.check(op(&g, "get_batch", "count") == 6, "6 batches");
    gb.check(op(&g, "get_batch", "objects") == 60, "60 objects");
    gb.check(op(&g, "get_batch", "errors") == 0, "no errors");
    gb.check(op(&g, "get", "count") == 0, "no per-file GETs");
    assert_eq!(ml(&c, "get_batch"), 6, "targets answered 6 archives");
    assert_eq!(ml(&c, "get_batch_members"), 60, "of 60 members");
    assert_eq!(ml(&c, "get_batch_missing"), 0, "none missing");
    assert_eq!(ml(&c, "archpath_gets"), 0, "members are not archpath GETs");
    assert_eq!(
        total(&c.targets, &["requests", "get"]) - gets_before,
        6,
        "one GET request per archive on the targets"
    );

    let one_res = dir.path().join("files.json");
    let one = ais(&c)
        .bucket("ais://sh")
        .flag("--arch-list")
        .epochs(1)
        .flag("--uniquegets")
        .flag("--verifyhash")
        .workers(2)
        .result(&one_res)
        .run();
    one.ok();
    let f = result(&one_res);
    one.check(op(&f, "get", "count") == 60, "every file read once");
    one.check(op(&f, "get", "errors") == 0, "no errors");
    assert_eq!(
        op(&f, "get", "bytes"),
        op(&g, "get_batch", "bytes"),
        "the batches delivered the files' bytes"
    );
    assert_eq!(ml(&c, "archpath_gets"), 60, "targets served 60 files");
}

/// `ops.<class>.<key>` of a result or summary document, 0 when the class is absent (a rank
/// file lists only the classes it ran).
fn class(v: &serde_json::Value, class: &str, key: &str) -> u64 {
    v["ops"][class][key].as_u64().unwrap_or(0)
}

/// Three ranks of one run id, each a real run of one ML path (rank 0 GetBatch, rank 1
/// multipart uploads, rank 2 download streams of the uploaded objects), merged by `ringload
/// merge`: each class's count, objects, bytes and part phase are the sums of the rank files
/// and equal the targets' counters; summary.txt has a row for each class.
#[test]
fn merge_of_real_get_batch_multipart_and_stream_ranks_is_exact() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("ml-paths-merge");
    let ranks = dir.path().join("ranks");
    std::fs::create_dir_all(&ranks).unwrap();
    let rank = |r: u32| {
        ais(&c)
            .rank(r)
            .arg("--ranks", 3)
            .arg("--run-id", "ml")
            .result(&ranks.join(format!("rank-{r}.json")))
            .cores(1)
    };
    // The GetBatch rank reads 40 objects PUT beforehand (outside the run directory).
    ais(&c)
        .bucket("gb")
        .pctput(100)
        .maxputs(40)
        .sizes("1K", "16K")
        .workers(4)
        .run()
        .ok();
    rank(0)
        .bucket("gb")
        .arg("--get-batchsize", 8)
        .epochs(1)
        .flag("--uniquegets")
        .flag("--verifyhash")
        .workers(2)
        .run()
        .ok();
    rank(1)
        .bucket("mp")
        .pctput(100)
        .maxputs(6)
        .sizes("64K", "256K")
        .arg("--multipart-chunks", 3)
        .arg("--pctmultipart", 100)
        .workers(2)
        .run()
        .ok();
    let heads = total(&c.targets, &["requests", "head"]);
    let sent = total(&c.targets, &["bytes_sent"]);
    rank(2)
        .bucket("mp")
        .arg("--pctmpdstream", 100)
        .arg("--mpdstream-chunk-size", "16K")
        .arg("--mpdstream-workers", 2)
        .epochs(1)
        .flag("--verifyhash")
        .workers(2)
        .run()
        .ok();
    let stream_heads = total(&c.targets, &["requests", "head"]) - heads;
    let stream_bytes = total(&c.targets, &["bytes_sent"]) - sent;

    let rf: Vec<serde_json::Value> = (0..3)
        .map(|r| result(&ranks.join(format!("rank-{r}.json"))))
        .collect();
    let sum = |cl: &str, key: &str| rf.iter().map(|v| class(v, cl, key)).sum::<u64>();
    for cl in ["get_batch", "put_mpu", "get_mpd"] {
        assert_eq!(sum(cl, "errors"), 0, "{cl}: no errors");
    }
    // What each run must have done, from the rank files.
    assert_eq!(sum("get_batch", "count"), 5, "40 objects in batches of 8");
    assert_eq!(sum("get_batch", "objects"), 40);
    assert_eq!(sum("put_mpu", "count"), 6, "6 uploads");
    assert_eq!(sum("get_mpd", "count"), 6, "each upload streamed once");
    assert_eq!(
        sum("get_mpd", "bytes"),
        sum("put_mpu", "bytes"),
        "the streams read the uploaded objects whole"
    );
    let rank_parts: u64 = rf
        .iter()
        .map(|v| {
            v["ops"]["put_mpu"]["phases"]["part"]["count"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(rank_parts, 18, "3 parts per upload");

    let out = dir.path().join("out");
    let m = ringload(&[
        "merge",
        ranks.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    m.ok();
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let s: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    assert_eq!(s["partial"], false, "3 of 3 ranks");
    for (cl, key) in [
        ("get_batch", "count"),
        ("get_batch", "objects"),
        ("get_batch", "bytes"),
        ("put_mpu", "count"),
        ("put_mpu", "bytes"),
        ("get_mpd", "count"),
        ("get_mpd", "bytes"),
    ] {
        assert_eq!(class(&s, cl, key), sum(cl, key), "merged {cl}.{key}");
    }
    assert_eq!(
        s["ops"]["put_mpu"]["phases"]["part"]["count"].as_u64(),
        Some(rank_parts),
        "merged part phase"
    );
    // The targets' own counters.
    assert_eq!(class(&s, "get_batch", "count"), ml(&c, "get_batch"));
    assert_eq!(
        class(&s, "get_batch", "objects"),
        ml(&c, "get_batch_members")
    );
    assert_eq!(class(&s, "put_mpu", "count"), ml(&c, "mpt_complete"));
    assert_eq!(rank_parts, ml(&c, "mpt_parts"));
    assert_eq!(ml(&c, "mpt_abort"), 0);
    assert_eq!(
        class(&s, "get_mpd", "count"),
        stream_heads,
        "one HEAD a stream"
    );
    assert_eq!(class(&s, "get_mpd", "bytes"), stream_bytes, "bytes sent");

    let txt = read("summary.txt");
    for label in ["GET(batch)", "PUT(mpu)", "GET(mpd)"] {
        assert!(
            txt.lines().any(|l| l.starts_with(&format!("{label} "))),
            "summary.txt has a {label} row:\n{txt}"
        );
    }
}
