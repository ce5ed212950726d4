//! The merge scale benchmark's input, small: the generator shared with
//! `benches/merge_scale.rs` writes files the engine's own writer would write, byte for byte,
//! and the real binary's merge of them names the half-rate rank, and only it, as the
//! straggler in summary.json, summary.txt and report.html.

#[path = "../../benches/scale_input.rs"]
mod scale_input;

use std::path::Path;
use std::sync::OnceLock;

use ringload_core::result::{carrier_path, ResultFile};
use scale_input::{Generator, Schema, STRAGGLER};

use crate::common::{ringload, Scratch};

/// One generator for the module's tests (building its pools is most of a debug run's cost).
fn generator() -> &'static Generator {
    static GEN: OnceLock<Generator> = OnceLock::new();
    GEN.get_or_init(|| Generator::new().unwrap())
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap()
}

/// Every generated file equals what `ResultFile::write_atomic` writes for the same rank
/// (JSON and carrier), for both schemas (`--schema 2` and `1`; others are refused); a
/// directory of the other schema is regenerated, one of the same is kept.
#[test]
fn generated_files_are_the_engines_own() {
    let (ranks, intervals) = (9, 20);
    let dir = Scratch::new("merge-scale-files");
    let input = dir.path().join("input");
    let gen = generator();
    for (flag, files) in [("2", 2 * ranks), ("1", ranks)] {
        let schema = Schema::parse(flag).unwrap();
        let engine = dir.path().join(format!("engine-{schema:?}"));
        std::fs::create_dir_all(&engine).unwrap();
        let made = gen.prepare(&input, ranks, intervals, schema).unwrap();
        assert!(made, "{schema:?}: the directory was not regenerated");
        let made = gen.prepare(&input, ranks, intervals, schema).unwrap();
        assert!(!made, "{schema:?}: a complete directory was regenerated");
        let listed = scale_input::input_files(&input).unwrap();
        assert_eq!(listed.len(), files as usize, "{schema:?}: {listed:?}");
        for r in 0..ranks {
            let theirs = engine.join(format!("rank-{r:04}.json"));
            let expected = gen.result(r, ranks, intervals, schema);
            expected.write_atomic(&theirs).unwrap();
            let ours = input.join(format!("rank-{r:04}.json"));
            // The engine's reader gives the intervals back (the rest is checked byte for
            // byte below; a float can come back one ULP off through serde_json).
            let back = ResultFile::read(&ours).unwrap();
            assert!(
                back.intervals == expected.intervals,
                "rank {r} {schema:?}: intervals"
            );
            assert_eq!(
                text(&ours).contains("\"intervals_file\""),
                schema == Schema::V2
            );
            assert_eq!(
                text(&ours),
                text(&theirs),
                "rank {r} {schema:?}: the JSON differs"
            );
            if schema == Schema::V2 {
                assert!(
                    read(&carrier_path(&ours)) == read(&carrier_path(&theirs)),
                    "rank {r}: the carrier differs from the engine's"
                );
            }
        }
    }
    let refused = Schema::parse("3").unwrap_err();
    assert!(refused.starts_with("--schema \"3\": use 1"), "{refused}");
    // Switching to /1 removed the /2 carriers with the rest.
    assert!(!carrier_path(&input.join("rank-0000.json")).exists());
}

/// The merge of a 32-rank run names rank 7, at about half the median rank's throughput, as
/// the only straggler, in every output.
#[test]
fn the_half_rate_rank_is_the_only_straggler() {
    let (ranks, intervals) = (32, 60);
    let dir = Scratch::new("merge-scale");
    let (input, out) = (dir.path().join("input"), dir.path().join("out"));
    generator()
        .prepare(&input, ranks, intervals, Schema::V2)
        .unwrap();
    let run = ringload(&[
        "merge",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    run.ok();
    let summary: serde_json::Value =
        serde_json::from_str(&text(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["ranks_present"], ranks, "{summary}");
    let stragglers = summary["stragglers"].as_array().unwrap();
    let flagged: Vec<u64> = stragglers
        .iter()
        .map(|s| s["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(flagged, [u64::from(STRAGGLER)], "{stragglers:?}");
    let s = &stragglers[0];
    let share = s["throughput_bytes_per_s"].as_f64().unwrap()
        / s["median_throughput_bytes_per_s"].as_f64().unwrap();
    assert!(
        (0.4..0.6).contains(&share),
        "rank 7 runs at {share} of the median"
    );

    let warning = format!("rank {STRAGGLER} (node-{STRAGGLER:04}) is a straggler: ");
    let txt = text(&out.join("summary.txt"));
    let line = txt
        .lines()
        .find(|l| l.starts_with("stragglers:"))
        .unwrap_or_else(|| panic!("no stragglers line:\n{txt}"));
    let below = (1.0 - share) * 100.0;
    assert_eq!(
        line,
        format!("stragglers: rank {STRAGGLER} ({below:.0}% below median)"),
        "{txt}"
    );
    assert_eq!(txt.matches("is a straggler").count(), 1, "{txt}");
    assert!(txt.contains(&warning), "{txt}");
    // The report shows the warnings as a list, and summary.txt as it is.
    let html = text(&out.join("report.html"));
    let list = html
        .split_once("<ul class=\"warnings\" id=\"warnings\">\n")
        .and_then(|(_, rest)| rest.split_once("</ul>"))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("report.html has no warnings list:\n{html}"));
    let items: Vec<&str> = list.lines().collect();
    assert_eq!(items.len(), 1, "{list}");
    assert!(items[0].starts_with(&format!("<li>{warning}")), "{list}");
    assert!(html.contains(line), "report.html lacks {line:?}");
}
