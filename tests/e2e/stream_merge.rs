//! Rank 0's streaming `--merge`: four ranks of one spec, separate processes against the
//! built-in target; rank 0 folds each result file as it appears, and its outputs equal, byte
//! for byte, those of `ringload merge` of the same run directory.

use crate::common;

use std::process::{Child, Stdio};

use common::{ringload, Run, Scratch};

fn spawn(run: Run) -> Child {
    let mut c = run.command();
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("start a rank")
}

#[test]
fn rank_0_streamed_merge_equals_the_offline_merge() {
    let dir = Scratch::new("stream-merge");
    let res = dir.path().join("r");
    let spec = dir.path().join("s.toml");
    std::fs::write(
        &spec,
        format!(
            "[run]\nid = \"stream\"\nranks = 4\nresults_dir = {res:?}\nbarrier = true\n\
             barrier_timeout = \"60s\"\nmerge_timeout = \"120s\"\n[workload]\n\
             duration = \"2s\"\nnumworkers = 2\nminsize = \"1KiB\"\nmaxsize = \"1KiB\"\n\
             prefill = 20\n"
        ),
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    // Rank 0 first, so that it waits and folds the others' files as they appear.
    let mut ranks = vec![spawn(Run::new().spec(spec).rank(0).flag("--merge"))];
    for r in 1..4 {
        ranks.push(spawn(Run::new().spec(spec).rank(r)));
    }
    for (r, c) in ranks.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "rank {r} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run_dir = res.join("stream");
    let streamed = std::fs::read_to_string(run_dir.join("summary.json")).unwrap();
    let other = dir.path().join("offline");
    let offline = ringload(&[
        "merge",
        run_dir.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]);
    offline.ok();
    for name in ["summary.json", "summary.txt"] {
        let a = std::fs::read_to_string(run_dir.join(name)).unwrap();
        let b = std::fs::read_to_string(other.join(name)).unwrap();
        assert!(a == b, "{name} differs:\nstreamed:\n{a}\noffline:\n{b}");
    }
    let doc: serde_json::Value = serde_json::from_str(&streamed).unwrap();
    assert_eq!(doc["ranks_present"], 4, "{doc}");
    assert_eq!(doc["partial"], false, "{doc}");
}
