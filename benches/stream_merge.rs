//! The streaming merge benchmark: how long rank 0's `--merge` takes after the last rank's
//! result file appears, when it folded the others as they arrived (`merge::stream`).
//!
//! Given a directory of N rank files (generate them with
//! `cargo bench --bench merge_scale -- DIR --ranks 1024 --intervals 3600 --runs 1`), it makes
//! an empty run directory, feeds the stream N−1 files one by one (hard links, named as the
//! ranks name them), waits until they are folded, then feeds the last one and times from that
//! arrival to the outputs being written (summary.json, summary.txt, the plots, report.html:
//! the writing of `ringload merge`). It also prints how long the first N−1 folds took.
//!
//! Usage: cargo bench --bench stream_merge -- DIR [--run-dir D] [--threads N] [--runs N]
//! (the run directory, DIR/stream-run by default, is made afresh and removed each run; it
//! must be on DIR's filesystem for hard links, else the files are copied).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ringload_launcher::barrier;
use ringload_launcher::merge::stream::Stream;
use ringload_launcher::merge::{self, MergeOptions};

/// The rank files of `src`: (rank, the JSON file, its other files such as the carrier).
fn rank_files(src: &Path) -> Vec<(u32, PathBuf, Vec<PathBuf>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(src).expect("read DIR") {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name
            .strip_prefix("rank-")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let Ok(rank) = stem.parse::<u32>() else {
            continue;
        };
        let carrier = p.with_extension("intervals");
        let extra = if carrier.exists() {
            vec![carrier]
        } else {
            Vec::new()
        };
        out.push((rank, p, extra));
    }
    out.sort_by_key(|f| f.0);
    out
}

/// Puts rank `rank`'s files into `run`: the carrier first, then the JSON under the name the
/// rank writes (as `write_atomic` does).
fn arrive(run: &Path, rank: u32, json: &Path, extra: &[PathBuf]) {
    for x in extra {
        let to = run.join(x.file_name().unwrap());
        std::fs::hard_link(x, &to)
            .or_else(|_| std::fs::copy(x, &to).map(|_| ()))
            .unwrap();
    }
    let to = barrier::result_path(run, rank);
    std::fs::hard_link(json, &to)
        .or_else(|_| std::fs::copy(json, &to).map(|_| ()))
        .unwrap();
}

fn once(
    run: &Path,
    files: &[(u32, PathBuf, Vec<PathBuf>)],
    threads: usize,
) -> (Duration, Duration) {
    let _ = std::fs::remove_dir_all(run);
    std::fs::create_dir_all(run).unwrap();
    let opts = MergeOptions {
        threads,
        ..MergeOptions::default()
    };
    let ranks = files.len() as u32;
    let mut s = Stream::new(run, ranks, opts);
    let t = Instant::now();
    let (last, rest) = files.split_last().expect("no rank files in DIR");
    for (rank, json, extra) in rest {
        arrive(run, *rank, json, extra);
        s.arrived(*rank);
    }
    while s.backlog() > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let folds = t.elapsed();
    let t = Instant::now();
    arrive(run, last.0, &last.1, &last.2);
    s.arrived(last.0);
    let done = s.finish();
    assert!(done.fallback.is_none(), "fell back: {:?}", done.fallback);
    let m = done.output.expect("merge");
    let merged = t.elapsed();
    merge::write_outputs(run, &m).unwrap();
    ringload_launcher::plot::write_all(run, &m.report).unwrap();
    let finish = t.elapsed();
    println!(
        "  of which the last fold and the merge's outputs {:.3} s, writing them {:.3} s",
        merged.as_secs_f64(),
        (finish - merged).as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(run);
    (folds, finish)
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let (mut dir, mut run_dir): (Option<PathBuf>, Option<PathBuf>) = (None, None);
    let (mut threads, mut runs) = (merge::online_cpus(), 3usize);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("flag needs a value");
        match a.as_str() {
            "--threads" => threads = val().parse().unwrap(),
            "--runs" => runs = val().parse().unwrap(),
            "--run-dir" => run_dir = Some(PathBuf::from(val())),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let Some(dir) = dir else {
        eprintln!(
            "usage: cargo bench --bench stream_merge -- DIR [--run-dir D] [--threads N] [--runs N]"
        );
        return;
    };
    let run_dir = run_dir.unwrap_or_else(|| dir.join("stream-run"));
    let files = rank_files(&dir);
    println!("{} rank files, {threads} fold threads", files.len());
    let mut finishes = Vec::new();
    for run in 0..runs {
        let (folds, finish) = once(&run_dir, &files, threads);
        println!(
            "run {run}: first {} folds {:.2} s; last arrival to outputs written {:.3} s",
            files.len() - 1,
            folds.as_secs_f64(),
            finish.as_secs_f64()
        );
        finishes.push(finish.as_secs_f64());
    }
    finishes.sort_by(f64::total_cmp);
    println!(
        "median last arrival to outputs {:.3} s over {runs} runs",
        finishes[finishes.len() / 2]
    );
}
