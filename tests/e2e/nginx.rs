//! End-to-end: the real binary against a real nginx (GET + WebDAV PUT) on loopback, under
//! both drivers. Counts are checked against what nginx stored on disk and logged. PUTs over
//! nginx's body limit end with the one hint that names `client_max_body_size`.

use crate::common;

use std::collections::BTreeMap;

use common::*;

/// PUT runs: objects land on disk with the sizes the result file claims.
#[test]
fn put_run_matches_objects_on_disk() {
    for driver in DRIVERS {
        let ng = Nginx::start();
        let res = ng.dir.path().join("put.json");
        Run::new()
            .endpoint(&ng.url())
            .bucket("bk")
            .driver(driver)
            .pctput(100)
            .maxputs(60)
            .sizes("1K", "200K")
            .workers(8)
            .cores(2)
            .arg("--loaderid", "3")
            .arg("--loadernum", "4")
            .arg("--seed", "7")
            .result(&res)
            .run()
            .ok();
        let v = result(&res);
        let mut files = 0u64;
        let mut bytes = 0u64;
        for e in std::fs::read_dir(ng.data().join("bk")).unwrap() {
            let m = e.unwrap().metadata().unwrap();
            assert!(
                (1024..=200 * 1024).contains(&m.len()),
                "size {} out of range",
                m.len()
            );
            files += 1;
            bytes += m.len();
        }
        assert_eq!(files, 60, "{driver}: objects on disk");
        assert_eq!(op(&v, "put", "count"), 60, "{driver}");
        assert_eq!(
            op(&v, "put", "bytes"),
            bytes,
            "{driver}: bytes on disk vs result"
        );
        assert_eq!(op(&v, "put", "errors"), 0);
        assert_eq!(v["stop_reason"], "maxputs");
        // Deterministic names: loaderid 3 of 4 gives hex names ending in 3.
        let puts: Vec<_> = ng.requests().into_iter().filter(|r| r.0 == "PUT").collect();
        assert_eq!(puts.len(), 60);
        assert!(puts
            .iter()
            .all(|r| r.1.starts_with("/bk/") && r.1.ends_with('3') && r.2 == 201));
    }
}

/// `--uniquegets --epochs E`: every name is read exactly E times, across 2 cores.
#[test]
fn epochs_read_every_object_exactly_e_times() {
    for driver in DRIVERS {
        let ng = Nginx::start();
        let dir = ng.data().join("ds");
        std::fs::create_dir_all(&dir).unwrap();
        let mut list = String::new();
        let mut total = 0u64;
        for i in 0..157u64 {
            let name = format!("obj-{i:04}");
            let size = (i * 7919) % 50_000 + 1;
            std::fs::write(dir.join(&name), vec![b'x'; size as usize]).unwrap();
            list.push_str(&name);
            list.push('\n');
            total += size;
        }
        let fl = ng.dir.path().join("list.txt");
        std::fs::write(&fl, list).unwrap();
        let res = ng.dir.path().join("get.json");
        Run::new()
            .endpoint(&ng.url())
            .bucket("ds")
            .driver(driver)
            .filelist(&fl)
            .epochs(3)
            .flag("--uniquegets")
            .workers(16)
            .cores(2)
            .result(&res)
            .run()
            .ok();
        let v = result(&res);
        let mut per: BTreeMap<String, u32> = BTreeMap::new();
        for (m, p, s) in ng.requests() {
            assert_eq!((m.as_str(), s), ("GET", 200), "{driver}: {p}");
            *per.entry(p).or_default() += 1;
        }
        assert_eq!(per.len(), 157, "{driver}: distinct objects read");
        assert!(
            per.values().all(|&n| n == 3),
            "{driver}: per-object GETs {per:?}"
        );
        assert_eq!(op(&v, "get", "count"), 3 * 157);
        assert_eq!(op(&v, "get", "bytes"), 3 * total);
        assert_eq!(v["stop_reason"], "epochs");
    }
}

/// Range reads fetch exactly readlen bytes; missing objects are http-404 errors, never bytes.
#[test]
fn ranges_and_missing_objects() {
    for driver in DRIVERS {
        let ng = Nginx::start();
        std::fs::create_dir_all(ng.data().join("r")).unwrap();
        std::fs::write(ng.data().join("r/a"), vec![b'a'; 100_000]).unwrap();
        let fl = ng.dir.path().join("l");
        std::fs::write(&fl, "a\nmissing\n").unwrap();
        let res = ng.dir.path().join("r.json");
        let run = Run::new()
            .endpoint(&ng.url())
            .bucket("r")
            .driver(driver)
            .filelist(&fl)
            .epochs(5)
            .arg("--readoff", "10")
            .arg("--readlen", "1K")
            .workers(2)
            .cores(1)
            .result(&res)
            .run();
        run.check(run.code() == 0, "a run with some errors still exits 0");
        let v = result(&res);
        assert_eq!(op(&v, "get", "count"), 5);
        assert_eq!(op(&v, "get", "bytes"), 5 * 1024);
        assert_eq!(op(&v, "get", "errors"), 5);
        assert_eq!(v["ops"]["get"]["errors_by_kind"]["http-404"], 5);
        let ranged = ng.requests().iter().filter(|r| r.2 == 206).count();
        assert_eq!(ranged, 5);
    }
}

/// Only 404s: the run fails (exit 1) instead of reporting a zero-op success.
#[test]
fn all_failures_exit_1() {
    let ng = Nginx::start();
    let fl = ng.dir.path().join("l");
    std::fs::write(&fl, "nope\n").unwrap();
    let run = Run::new()
        .endpoint(&ng.url())
        .filelist(&fl)
        .epochs(3)
        .workers(1)
        .run();
    run.check(run.code() == 1, "expected exit 1");
    run.check(
        run.stderr().contains("failed"),
        "message says the operations failed",
    );
}

/// --totalputsize is checked per operation: fixed 10 KiB objects and a 100 KiB budget give
/// exactly 10 objects, even with 8 requests in flight.
#[test]
fn totalputsize_stops_exactly() {
    for driver in DRIVERS {
        let ng = Nginx::start();
        let res = ng.dir.path().join("t.json");
        Run::new()
            .endpoint(&ng.url())
            .bucket("t")
            .driver(driver)
            .pctput(100)
            .arg("--totalputsize", "100K")
            .size("10K")
            .workers(8)
            .cores(2)
            .result(&res)
            .run()
            .ok();
        let n = std::fs::read_dir(ng.data().join("t")).unwrap().count();
        assert_eq!(n, 10, "{driver}");
        let v = result(&res);
        assert_eq!(op(&v, "put", "bytes"), 100 * 1024);
        assert_eq!(v["stop_reason"], "totalputsize");
    }
}

/// --subdir and --putshards shape the names as aisloader does: `x/%05x/<32 letters>`.
#[test]
fn subdir_and_putshards_naming() {
    let ng = Nginx::start();
    Run::new()
        .endpoint(&ng.url())
        .bucket("s")
        .pctput(100)
        .maxputs(8)
        .arg("--putshards", "4")
        .arg("--subdir", "x/")
        .size("1K")
        .workers(1)
        .run()
        .ok();
    let mut shards: Vec<String> = std::fs::read_dir(ng.data().join("s/x"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    shards.sort();
    assert_eq!(shards, ["00000", "00001", "00002", "00003"]);
    for s in &shards {
        let names: Vec<_> = std::fs::read_dir(ng.data().join("s/x").join(s))
            .unwrap()
            .collect();
        assert_eq!(names.len(), 2, "two objects per shard");
        for n in names {
            let n = n.unwrap().file_name().into_string().unwrap();
            assert!(
                n.len() == 32 && n.bytes().all(|b| b.is_ascii_alphabetic()),
                "{n}"
            );
        }
    }
}

/// The same seed gives the same names and sizes, whatever the number of cores.
#[test]
fn same_seed_same_names_and_sizes() {
    let ng = Nginx::start();
    let mut listings = Vec::new();
    for (bucket, cores) in [("a", "1"), ("b", "2")] {
        Run::new()
            .endpoint(&ng.url())
            .bucket(bucket)
            .pctput(100)
            .maxputs(40)
            .sizes("1K", "50K")
            .arg("--seed", "42")
            .workers(6)
            .cores(cores)
            .run()
            .ok();
        let mut l: Vec<(String, u64)> = std::fs::read_dir(ng.data().join(bucket))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        l.sort();
        listings.push(l);
    }
    assert_eq!(listings[0].len(), 40);
    assert_eq!(listings[0], listings[1]);
}

/// A 301 from the server (nginx answers a directory without its slash so) is followed on the
/// same endpoint, and only the final response counts.
#[test]
fn redirects_are_followed() {
    for driver in DRIVERS {
        let ng = Nginx::start();
        std::fs::create_dir_all(ng.data().join("r/dir")).unwrap();
        std::fs::write(ng.data().join("r/dir/index.html"), vec![b'i'; 777]).unwrap();
        let fl = ng.dir.path().join("l");
        std::fs::write(&fl, "dir\n").unwrap();
        let res = ng.dir.path().join("r.json");
        Run::new()
            .endpoint(&ng.url())
            .bucket("r")
            .driver(driver)
            .filelist(&fl)
            .epochs(4)
            .workers(2)
            .result(&res)
            .run()
            .ok();
        let v = result(&res);
        assert_eq!(op(&v, "get", "count"), 4, "{driver}");
        assert_eq!(op(&v, "get", "bytes"), 4 * 777);
        let reqs = ng.requests();
        assert_eq!(reqs.iter().filter(|r| r.2 == 301).count(), 4);
        assert_eq!(
            reqs.iter()
                .filter(|r| r.2 == 200 && r.1 == "/r/dir/")
                .count(),
            4
        );
    }
}

/// PUTs larger than nginx's `client_max_body_size` are all answered 413: the run fails and
/// prints, once, the hint naming that setting.
#[test]
fn put_413_names_client_max_body_size_once() {
    let ng = Nginx::start_with_body_limit("1k");
    let run = Run::new()
        .endpoint(&ng.url())
        .bucket("bk")
        .pctput(100)
        .size("4K")
        .workers(2)
        .duration("1s")
        .run();
    run.check(run.code() == 1, "exit 1");
    let err = run.stderr();
    let hints: Vec<&str> = err.lines().filter(|l| l.starts_with("hint:")).collect();
    run.check(
        hints
            == [
                "hint: the server refused the PUT bodies as too large (HTTP 413): raise its \
                 request body limit (nginx: `client_max_body_size`, default 1m; 0 lifts it) or \
                 lower --maxsize",
            ],
        "one hint naming client_max_body_size",
    );
    run.check(
        err.contains("operations failed, mostly http-413"),
        "the verdict names the status",
    );
}
