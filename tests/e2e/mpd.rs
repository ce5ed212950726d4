//! End-to-end, multipart download streams (`--pctmpdstream`): the real binary reads objects
//! of the built-in AIS cluster as a HEAD plus parallel ranged GETs, checked against the
//! listeners' own counters (HEADs, GETs, 206 answers, body bytes sent); and the refusals of
//! what a download stream cannot run with, each naming the flag and the fix.

use crate::common;

use common::cluster::Cluster;
use common::*;

const MIB: u64 = 1 << 20;
/// Objects read, their size, and the chunk: 20 MiB in 4 MiB ranges is 5 ranges each.
const OBJECTS: u64 = 4;
const SIZE: u64 = 20 * MIB;
const RANGES: u64 = 5;

/// A listener counter summed over `urls` (a path into its stats JSON).
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

/// An operation class's success count, bytes and errors from a run's summary (`GET(mpd)
/// count 4  bytes 83,886,080 (80.0MiB) ...`, then its `errors N` line).
fn summary(out: &str, label: &str) -> (u64, u64, u64) {
    let num = |s: &str| s.replace(',', "").parse::<u64>().unwrap();
    let mut lines = out
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{label} count ")));
    let head = lines
        .next()
        .unwrap_or_else(|| panic!("no {label} row in {out}"));
    let words: Vec<&str> = head.split_whitespace().collect();
    let errors = lines
        .find_map(|l| l.trim_start().strip_prefix("errors "))
        .map(|e| num(e.split_whitespace().next().unwrap()))
        .unwrap();
    (num(words[2]), num(words[4]), errors)
}

/// The counters one stream run moves: target GETs, HEADs, 206 answers and body bytes sent,
/// and proxy redirects.
fn counters(c: &Cluster) -> [u64; 5] {
    [
        total(&c.targets, &["requests", "get"]),
        total(&c.targets, &["requests", "head"]),
        total(&c.targets, &["status", "206"]),
        total(&c.targets, &["bytes_sent"]),
        total(&c.proxies, &["redirects"]),
    ]
}

/// 4 objects of 20 MiB, each read once as a stream of 4 MiB ranges, 3 in flight, verified:
/// 4 `GET(mpd)` successes of exactly 20 MiB in the summary, and on the targets exactly 4 HEADs and 20 ranged
/// GETs (all 206) that sent exactly 80 MiB, every request through a proxy's redirect.
#[test]
fn streams_read_each_object_once_in_exact_ranges() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    Run::new()
        .protocol("ais")
        .endpoint(&c.proxies[0])
        .bucket("mpd")
        .pctput(100)
        .maxputs(OBJECTS)
        .size(&SIZE.to_string())
        .workers(4)
        .run()
        .ok();
    for driver in DRIVERS {
        let before = counters(&c);
        let run = Run::new()
            .protocol("ais")
            .endpoint(&c.proxies[0])
            .bucket("mpd")
            .driver(driver)
            .epochs(1)
            .workers(4)
            .arg("--pctmpdstream", 100)
            .arg("--mpdstream-chunk-size", "4MiB")
            .arg("--mpdstream-workers", 3)
            .flag("--verifyhash")
            .run();
        run.ok();
        let out = run.stdout();
        let (count, bytes, errors) = summary(&out, "GET(mpd)");
        run.check(count == OBJECTS, "4 streams");
        run.check(bytes == OBJECTS * SIZE, "each stream read its whole object");
        run.check(errors == 0, "no stream failed");
        run.check(
            !out.lines().any(|l| l.starts_with("GET  count")),
            "no plain GET",
        );
        let after = counters(&c);
        let moved: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        assert_eq!(
            moved,
            [
                OBJECTS * RANGES,
                OBJECTS,
                OBJECTS * RANGES,
                OBJECTS * SIZE,
                OBJECTS * (RANGES + 1)
            ],
            "{driver}: target GETs, HEADs, 206 answers, bytes sent; proxy redirects"
        );
    }
}

/// What a stream cannot run with is refused before the run (exit 2), naming the flag and
/// the fix.
#[test]
fn streams_refuse_what_they_cannot_run_with() {
    let base = [
        "run",
        "--endpoint",
        "http://127.0.0.1:9",
        "--duration",
        "1s",
    ];
    let cases: [(&[&str], &str); 6] = [
        (
            &["--protocol", "http", "--pctmpdstream", "50"],
            "--pctmpdstream '50' is invalid: needs the AIS protocol (a multipart download \
             stream is an AIS client path); add --protocol ais or drop --pctmpdstream",
        ),
        (
            &[
                "--protocol",
                "ais",
                "--pctmpdstream",
                "50",
                "--pctput",
                "10",
            ],
            "--pctmpdstream '50' is invalid: reads objects only; drop --pctput",
        ),
        (
            &[
                "--protocol",
                "ais",
                "--pctmpdstream",
                "50",
                "--readlen",
                "10",
            ],
            "--pctmpdstream '50' is invalid: reads whole objects in ranges of its own; \
             drop --readoff/--readlen",
        ),
        (
            &[
                "--protocol",
                "ais",
                "--pctmpdstream",
                "50",
                "--mpdstream-chunk-size",
                "1K",
            ],
            "--mpdstream-chunk-size '1024' is invalid: must be 4KiB..=128MiB",
        ),
        (
            &["--protocol", "ais", "--mpdstream-workers", "4"],
            "--mpdstream-workers '4' is invalid: has no effect without --pctmpdstream; \
             add --pctmpdstream P or drop it",
        ),
        (
            &["--protocol", "ais", "--mpdstream-chunk-size", "1M"],
            "--mpdstream-chunk-size '1048576' is invalid: has no effect without \
             --pctmpdstream; add --pctmpdstream P or drop it",
        ),
    ];
    for (extra, want) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let ran = ringload(&args);
        ran.check(ran.code() == 2, "refused with exit 2");
        ran.check(ran.stderr().contains(want), want);
    }
}
