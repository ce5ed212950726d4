//! End-to-end, the ML settings that would change nothing in a run: `ringload run` refuses each
//! (exit 2, naming the flag and the fix) before any request, and prints one note when a
//! path's share, drawn from the same order hash as `--pctput`, takes every PUT.

use crate::common::*;

/// Each refusal names its flag; nothing is sent (the endpoint is a closed port).
#[test]
fn settings_that_change_nothing_are_refused() {
    for (args, want) in [
        (
            &["--pctput", "50", "--multipart-chunks", "4"][..],
            "--multipart-chunks '4' is invalid: without --pctmultipart no PUT is a multipart \
             upload; add --pctmultipart P or drop --multipart-chunks",
        ),
        (
            &["--pctput", "50", "--arch-num-files", "5"][..],
            "--arch-num-files '5' is invalid: shapes the shards --arch-pct writes, and this run \
             writes none; add --arch-pct P or drop it",
        ),
        (
            &["--pctput", "50", "--arch-minsize", "512"][..],
            "--arch-minsize '512' is invalid: shapes the shards",
        ),
        (
            &["--pctput", "50", "--arch-maxsize", "4K"][..],
            "--arch-maxsize '4096' is invalid: shapes the shards",
        ),
        (
            &["--pctput", "50", "--arch-prefix", "trunk-"][..],
            "--arch-prefix 'trunk-' is invalid: shapes the shards",
        ),
        (
            &["--pctput", "100", "--get-batchsize", "8"][..],
            "--get-batchsize '8' is invalid: reads, and --pctput 100 leaves no GETs; lower \
             --pctput or drop it",
        ),
        (
            &["--pctput", "100", "--arch-list"][..],
            "--arch-list 'set' is invalid: reads, and --pctput 100 leaves no GETs",
        ),
        (
            &["--multipart-chunks", "4", "--pctmultipart", "20"][..],
            "--pctmultipart '20' is invalid: shares out PUTs, and --pctput 0 leaves none; give \
             --pctput or drop it",
        ),
        (
            &["--arch-pct", "20"][..],
            "--arch-pct '20' is invalid: writes shards, and --pctput 0 writes nothing; give \
             --pctput, or read the files inside shards with --arch-list instead",
        ),
    ] {
        let mut all = vec![
            "run",
            "--protocol",
            "ais",
            "--endpoint",
            "http://127.0.0.1:9",
            "--duration",
            "1s",
        ];
        all.extend_from_slice(args);
        let r = ringload(&all);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(r.stderr().contains(want), "{args:?}: {}", r.stderr());
    }
}

/// A share at or above `--pctput` is said once at the start, in these words.
#[test]
fn a_share_at_or_above_pctput_is_noted() {
    let r = ringload(&[
        "run",
        "--protocol",
        "ais",
        "--endpoint",
        "http://127.0.0.1:9",
        "--pctput",
        "40",
        "--multipart-chunks",
        "2",
        "--pctmultipart",
        "40",
        "--maxputs",
        "1",
        "--minsize",
        "1K",
        "--maxsize",
        "1K",
        "--numworkers",
        "1",
        "--duration",
        "1s",
    ]);
    let note = "note: --pctmultipart 40 is a percent of all orders, drawn from the same hash as \
                --pctput: at or above --pctput (40) every PUT is a multipart upload\n";
    assert_eq!(r.stderr().matches(note).count(), 1, "{}", r.stderr());
}
