//! End-to-end, shards: `ringload run --arch-pct` writes TAR shards through the built-in AIS
//! cluster and `--arch-list` reads every file inside them by `archpath`, verified; counts are
//! checked against the targets' own counters (`ml.shard_puts`, `ml.archpath_gets`). A mixed
//! run reads its own shards back under the names they were written with.

use crate::common;

use common::cluster::Cluster;
use common::*;

/// Sum of `ml.<kind>` over `urls`.
fn ml(urls: &[String], kind: &str) -> u64 {
    urls.iter()
        .map(|u| Cluster::stats(u)["ml"][kind].as_u64().unwrap())
        .sum()
}

#[test]
fn shard_puts_then_every_file_read_by_archpath_verified() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("shards-e2e");
    let ais = || {
        Run::new()
            .protocol("ais")
            .endpoint(&c.proxies[0])
            .bucket("ais://shards")
    };
    let put_res = dir.path().join("put.json");
    let put = ais()
        .pctput(100)
        .maxputs(20)
        .arg("--arch-pct", 100)
        .arg("--arch-num-files", 5)
        .arg("--arch-minsize", "1K")
        .arg("--arch-maxsize", "8K")
        .workers(4)
        .result(&put_res)
        .run();
    put.ok();
    let r = result(&put_res);
    put.check(op(&r, "put", "count") == 20, "20 shard PUTs");
    put.check(op(&r, "put", "errors") == 0, "no PUT errors");
    assert_eq!(ml(&c.targets, "shard_puts"), 20, "targets parsed 20 shards");
    assert_eq!(Cluster::sum(&c.targets, "put"), 20);

    let get_res = dir.path().join("get.json");
    let get = ais()
        .flag("--arch-list")
        .epochs(1)
        .flag("--uniquegets")
        .flag("--verifyhash")
        .workers(4)
        .result(&get_res)
        .run();
    get.ok();
    get.check(
        get.stderr().contains("Found 100 archived files"),
        "listed 100 files inside 20 shards",
    );
    let g = result(&get_res);
    get.check(op(&g, "get", "count") == 100, "every file read once");
    get.check(
        op(&g, "get", "errors") == 0,
        "no GET errors (verify included)",
    );
    assert_eq!(
        ml(&c.targets, "archpath_gets"),
        100,
        "targets served 100 files"
    );
}

#[test]
fn other_archive_formats_are_refused_naming_the_flag() {
    let run = Run::new()
        .protocol("ais")
        .endpoint("http://127.0.0.1:9")
        .arg("--arch-pct", 100)
        .arg("--arch-format", ".zip")
        .maxputs(1)
        .pctput(100)
        .run();
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.check(
        run.stderr().contains("--arch-format") && run.stderr().contains("only .tar is built"),
        "the refusal names the flag and what is built",
    );
}

#[test]
fn a_mixed_run_reads_its_own_shards_by_their_names() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("shards-mixed");
    let ais = || {
        Run::new()
            .protocol("ais")
            .endpoint(&c.proxies[0])
            .bucket("ais://mixed")
    };
    // The bucket exists, and the mixed run's subdirectory is empty: it reads what it writes.
    ais()
        .pctput(100)
        .maxputs(1)
        .arg("--subdir", "seed")
        .run()
        .ok();
    let res = dir.path().join("mixed.json");
    let run = ais()
        .arg("--subdir", "mixed")
        .pctput(50)
        .maxputs(30)
        .duration("60s")
        .arg("--arch-pct", 100)
        .arg("--arch-num-files", 3)
        .workers(2)
        .result(&res)
        .run();
    run.ok();
    let r = result(&res);
    run.check(op(&r, "put", "count") == 30, "30 shard PUTs");
    assert_eq!(ml(&c.targets, "shard_puts"), 30, "every PUT was a shard");
    let gets = op(&r, "get", "count");
    run.check(
        gets == Cluster::sum(&c.targets, "get"),
        "every GET counted by the targets",
    );
    run.check(
        op(&r, "get", "errors") == 0,
        "no GET of a name never written",
    );
    run.check(op(&r, "put", "errors") == 0, "no PUT errors");
    run.check(gets > 0, "the run read back what it wrote");
}
