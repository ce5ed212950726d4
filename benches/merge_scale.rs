//! The merge scale benchmark: `ringload merge` on a synthetic run of many ranks × many
//! one-second intervals, measured against the physical floor of reading the same files.
//!
//! Input ([`scale_input`], shared with the end-to-end test): one `ringload.result/2` file per
//! rank with its interval carrier (`rank-NNNN.json` + `rank-NNNN.intervals`), as the engine
//! writes them; `--schema 1` writes `ringload.result/1` files (intervals inline as
//! JSON) instead, for comparisons. Rank 7 runs at half rate (a straggler). DIR is filled
//! once and kept for later runs; it is regenerated when it holds another schema or size.
//! The merge's own messages go to DIR/merge-stderr.txt (shown when a merge fails).
//!
//! Measured in the same run, alternating, `--runs` times each (medians reported):
//! - `cat` of every input file (`rank-*.json` and `rank-*.intervals`) to /dev/null, after
//!   one untimed read of everything so the page cache is warm;
//! - `ringload merge DIR --out DIR/out` with the default thread count (every online CPU);
//! - `taskset -c 1 ringload merge DIR --out DIR/out --threads 1`: the single-core figure;
//! - each merge's peak RSS (the kernel's high-water mark, VmHWM, as `wait4` reports it).
//!
//! The final block gives the medians, the ratio of each merge to `cat` (the bar: the default
//! merge ≤ 5× `cat`), the largest peak RSS (the bar: ≤ 512 MiB), and the load average before
//! and after, since the figures mean little on a busy machine.
//!
//! Usage (release build of the binary first: `cargo build --release`):
//!   cargo bench --bench merge_scale -- DIR [--ranks 1024] [--intervals 3600] [--runs 3]
//!   [--schema 2]
//! Needs `cat` and `taskset` (util-linux). Bad arguments exit 2 naming the argument.

mod scale_input;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use scale_input::Schema;

/// The bars of the merge: time against `cat`, and peak RSS.
const BAR_RATIO: f64 = 5.0;
const BAR_RSS_MIB: f64 = 512.0;

struct Args {
    dir: PathBuf,
    ranks: u32,
    intervals: u64,
    runs: usize,
    schema: Schema,
}

const USAGE: &str = "usage: cargo bench --bench merge_scale -- DIR [--ranks N] [--intervals N] \
                     [--runs N] [--schema 1|2]";

/// A whole number in `1..=max`.
fn number<T: std::str::FromStr + PartialOrd + From<u32> + std::fmt::Display>(
    flag: &str,
    v: Option<String>,
    max: u32,
) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value: a whole number in 1..={max}"))?;
    match v.parse::<T>() {
        Ok(n) if n >= T::from(1) && n <= T::from(max) => Ok(n),
        _ => Err(format!("{flag} {v:?}: use a whole number in 1..={max}")),
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut dir: Option<PathBuf> = None;
    let mut a = Args {
        dir: PathBuf::new(),
        ranks: 1024,
        intervals: 3600,
        runs: 3,
        schema: Schema::V2,
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--ranks" => a.ranks = number("--ranks", args.next(), 100_000)?,
            "--intervals" => a.intervals = number("--intervals", args.next(), 1_000_000)?,
            "--runs" => a.runs = number::<u32>("--runs", args.next(), 1_000)? as usize,
            "--schema" => {
                let v = args.next().ok_or("--schema needs a value: 1 or 2")?;
                a.schema = Schema::parse(&v)?;
            }
            f if f.starts_with('-') => return Err(format!("unknown flag {f}\n{USAGE}")),
            d if dir.is_none() => dir = Some(PathBuf::from(d)),
            d => return Err(format!("a second DIR {d:?}: give one directory\n{USAGE}")),
        }
    }
    a.dir = dir.ok_or(USAGE)?;
    Ok(a)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs `cmd` to completion; returns its wall time and peak RSS in KiB (from `wait4`, so the
/// peak is the kernel's own high-water mark, however briefly it was reached).
fn timed(mut cmd: Command, what: &str) -> Result<(Duration, u64), String> {
    let t = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (the `Child` is never waited on);
    // `status` and `usage` are valid for writes for the duration of the call.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t.elapsed();
    if r != pid {
        return Err(format!(
            "{what}: wait4: {}",
            std::io::Error::last_os_error()
        ));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{what} failed (wait status {status})"));
    }
    Ok((wall, usage.ru_maxrss as u64))
}

fn cat(files: &[PathBuf]) -> Result<Duration, String> {
    let mut c = Command::new("cat");
    c.args(files).stdout(Stdio::null());
    timed(c, "cat").map(|(wall, _)| wall)
}

/// `ringload merge DIR --out DIR/out`; with `one`, `--threads 1` pinned to CPU 1.
fn merge(bin: &Path, dir: &Path, one: bool) -> Result<(Duration, u64), String> {
    let mut c = if one {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    c.arg("merge").arg(dir).arg("--out").arg(dir.join("out"));
    if one {
        c.args(["--threads", "1"]);
    }
    // What the merge says goes to a file, shown only when it fails.
    let log = dir.join("merge-stderr.txt");
    let err =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    c.stdout(Stdio::null()).stderr(err);
    let what = if one {
        "taskset -c 1 ringload merge --threads 1"
    } else {
        "ringload merge"
    };
    timed(c, what).map_err(|e| {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        format!("{e}\n{said}")
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(a: &Args) -> Result<(), String> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/ringload");
    if !bin.exists() {
        return Err(format!(
            "{} is missing: build it first with `cargo build --release`",
            bin.display()
        ));
    }
    println!("load before: {}", load());
    let t = Instant::now();
    let gen = scale_input::Generator::new()?;
    if gen.prepare(&a.dir, a.ranks, a.intervals, a.schema)? {
        println!("generated in {:.1} s", t.elapsed().as_secs_f64());
    } else {
        println!("input kept from an earlier run");
    }
    let files = scale_input::input_files(&a.dir)?;
    let mut bytes = 0u64;
    for f in &files {
        bytes += std::fs::metadata(f)
            .map_err(|e| format!("cannot stat {}: {e}", f.display()))?
            .len();
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "input: {} ranks × {} intervals, {}, {} files, {:.2} GB in {}",
        a.ranks,
        a.intervals,
        a.schema.name(),
        files.len(),
        bytes as f64 / 1e9,
        a.dir.display()
    );
    // Warm the page cache: everything read once, untimed.
    cat(&files)?;
    let (mut cats, mut alls, mut ones) = (Vec::new(), Vec::new(), Vec::new());
    let mut peak_kib = 0u64;
    for r in 0..a.runs {
        let c = cat(&files)?.as_secs_f64();
        let (all, all_kib) = merge(&bin, &a.dir, false)?;
        let (one, one_kib) = merge(&bin, &a.dir, true)?;
        let (all, one) = (all.as_secs_f64(), one.as_secs_f64());
        println!(
            "run {r}: cat {c:.3} s | merge ({cpus} threads) {all:.3} s, {:.1}× cat, peak RSS \
             {:.1} MiB | merge --threads 1 (CPU 1) {one:.3} s, {:.1}× cat, peak RSS {:.1} MiB",
            all / c,
            all_kib as f64 / 1024.0,
            one / c,
            one_kib as f64 / 1024.0
        );
        peak_kib = peak_kib.max(all_kib).max(one_kib);
        cats.push(c);
        alls.push(all);
        ones.push(one);
    }
    let (c, all, one) = (median(cats), median(alls), median(ones));
    let rss = peak_kib as f64 / 1024.0;
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("--- medians over {} runs ---", a.runs);
    let all_name = format!("merge ({cpus} threads)");
    println!("{:<27} {c:.3} s", "cat (warm cache)");
    println!(
        "{all_name:<27} {all:.3} s = {:.2}× cat (bar ≤ {BAR_RATIO}×: {})",
        all / c,
        verdict(all / c <= BAR_RATIO)
    );
    println!(
        "{:<27} {one:.3} s = {:.2}× cat",
        "merge --threads 1 (CPU 1)",
        one / c
    );
    println!(
        "{:<27} {rss:.1} MiB (bar ≤ {BAR_RSS_MIB} MiB: {})",
        "peak RSS (largest merge)",
        verdict(rss <= BAR_RSS_MIB)
    );
    println!("load after: {}", load());
    Ok(())
}

fn main() -> ExitCode {
    // `cargo test --all-targets` runs every bench once without arguments: say how to use it.
    if std::env::args().skip(1).all(|a| a == "--bench") {
        println!("merge_scale: nothing measured without a DIR\n{USAGE}");
        return ExitCode::SUCCESS;
    }
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("merge_scale: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("merge_scale: {e}");
            ExitCode::FAILURE
        }
    }
}
