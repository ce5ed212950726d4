//! The aisloader front end: `ringload aisloader ARGS...`, or the binary called as `aisloader`.
//! It parses aisloader's command line with Go's `flag` rules (`grammar`, driven by the one
//! flag table in `flags`), applies aisloader's defaults and rules (`rules`), prints what
//! aisloader prints around the load (`output`), and runs the same load as `ringload run`,
//! with aisloader's exit codes: 2 for a parse error, 1 for a validation or run error, 0 for a
//! completed run whatever failed in it.

mod flags;
mod grammar;
mod output;
mod rules;

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

use clap::Parser;

use crate::exit::Exit;
use ringload_engine::stats::unix_now_ns;

/// What `run` needs to know when the aisloader front end started it.
#[derive(Debug, Clone, Default)]
pub struct Mode {
    /// The statistics stream's format and destination.
    pub output: ringload_engine::report::ais::AisOutput,
    /// What `Runtime configuration:` shows, printed once the names are known.
    pub config: rules::RuntimeConfig,
    /// `-dry-run`: stop after the runtime configuration.
    pub dry_run: bool,
    /// `-duration 0` with nothing else to stop on: no load, only `-cleanup`'s destroy.
    pub noop: bool,
}

/// True when the binary was called as `aisloader` (a symlink or a copy).
pub fn called_as_aisloader(argv0: &std::ffi::OsStr) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .is_some_and(|n| n == "aisloader")
}

/// Runs the front end over `args` (without the program name) and returns the exit code.
pub fn main(args: &[String]) -> Exit {
    if args.is_empty() {
        print!("{}", output::usage());
        return Exit::Ok;
    }
    let parsed = match grammar::parse(args, |n| flags::lookup(n).map(|f| f.kind)) {
        Ok(p) => p,
        Err(grammar::GoFlagError::Help) => {
            println!("{}", output::HINT);
            return Exit::Ok;
        }
        Err(e) => {
            eprintln!("{e}");
            println!("{}", output::HINT);
            return Exit::Usage;
        }
    };
    let first = parsed.rest.first().map(String::as_str);
    if parsed.get("usage") == Some("true") || matches!(first, Some("usage" | "help")) {
        print!("{}", output::usage());
        return Exit::Ok;
    }
    if parsed.get("version") == Some("true") || first == Some("version") {
        println!("version {} (ringload)", ringload_core::VERSION);
        return Exit::Ok;
    }
    if let Some(stop) = first {
        eprintln!(
            "warning: flags end at {stop:?} (Go's flag rules: a boolean takes its value only as \
             -x=value); ignored: {}",
            parsed.rest.join(" ")
        );
    }
    match run(&parsed) {
        Ok(exit) => exit,
        Err(msg) => {
            eprintln!("aisloader exited with error: {msg}");
            Exit::Failed
        }
    }
}

/// Applies the rules, prints the preface, and runs the load.
fn run(parsed: &grammar::Parsed) -> Result<Exit, String> {
    let env = |k: &str| std::env::var(k).ok();
    let mut plan = match rules::plan(parsed, &env, &random_bucket_name) {
        Ok(p) => p,
        Err(rules::Stop::CleanupRequired) => {
            print!("{}", rules::CLEANUP_NOTE);
            return Ok(Exit::Failed);
        }
        Err(rules::Stop::Error(m)) => return Err(m),
    };
    // aisloader seeds from the clock when -seed is 0, and its dump shows that seed.
    if plan.seed == 0 {
        plan.seed = clock_seed();
        plan.dump.push(("seed", plan.seed.to_string()));
    }
    plan.run
        .extend(["--seed".to_string(), plan.seed.to_string()]);
    let argv = ["ringload", "run"]
        .into_iter()
        .map(String::from)
        .chain(plan.run.iter().cloned());
    let cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| aisloader_names(&crate::exit::CmdError::from(e).message()))?;
    let crate::cli::Command::Run(mut a) = cli.command else {
        return Err("internal: not a run command".into());
    };
    // Set before any check: `run` applies aisloader's rules to the settings aisloader
    // ignores where they cannot apply (-cksum-type outside AIS, an unused -evict-batchsize).
    a.aisloader = Some(Mode {
        output: ringload_engine::report::ais::AisOutput {
            json: plan.json,
            stats_output: plan.stats_output.as_ref().map(Into::into),
            periodic: plan.periodic,
        },
        config: plan.config.clone(),
        dry_run: plan.dry_run,
        noop: plan.noop,
    });
    // Every check of the command line before the dump, as aisloader validates first.
    let id = crate::run_cmd::checked_loader_id(&a).map_err(|e| aisloader_names(&e.message()))?;
    for w in &plan.warnings {
        eprintln!("{w}");
    }
    print!("{}", plan.preface);
    if !plan.quiet && !plan.getloaderid {
        print!("{}", output::argument_dump(parsed, &plan.dump));
    }
    if plan.getloaderid {
        println!("0x{id:x}");
        if parsed.get("randomname").unwrap_or("true") == "true"
            && ["loadernum", "loaderidhashlen"].iter().all(|n| {
                parsed
                    .get(n)
                    .is_none_or(|v| grammar::parse_uint(v) == Ok(0))
            })
        {
            eprintln!("Warning: loaderID 0x{id:x} used only for StatsD, not for object names!");
        }
        return Ok(Exit::Ok);
    }
    if crate::doc_check() {
        // The documentation tests' parse-only mode: every check before the first connection.
        crate::run_cmd::check_only(&a, None).map_err(|e| aisloader_names(&e.message()))?;
        return Ok(Exit::Ok);
    }
    if plan.noop && (!plan.config.cleanup || plan.new_bucket.is_some()) {
        // Nothing to load; a cleanup of a bucket made up here has nothing to destroy.
        if plan.config.cleanup {
            cleanup_line("Cleaning up...");
            cleanup_line("Done");
        }
        return Ok(Exit::Ok);
    }
    if let Some(n) = plan.new_bucket.as_ref().filter(|_| !plan.noop) {
        println!("New bucket name \"{n}\"");
    }
    if let Some(profile) = &plan.aws_profile {
        std::env::set_var("AWS_PROFILE", profile);
    }
    let _ = std::io::stdout().flush();
    let exit = crate::run_cmd::run(*a, None).map_err(|e| aisloader_names(&e.message()))?;
    if plan.dry_run || plan.noop {
        return Ok(exit);
    }
    // From the start of the load (aisloader's tsStart) to after the cleanup.
    let start = LOAD_START.get().copied().unwrap_or_else(Instant::now);
    let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    print!("{}", output::actual_run_duration(ns));
    match plan.maxputs_error {
        Some(m) => Err(m),
        None => Ok(exit),
    }
}

/// When the load started: set by `before_load`, read for `Actual run duration`.
static LOAD_START: OnceLock<Instant> = OnceLock::new();

/// Called by `run` once the names are known, before the load: applies aisloader's rule on
/// the listed names, prints `Found ...`, the runtime configuration and (not in a dry run)
/// the BEWARE line; `listed` says whether the bucket was listed (a 100% PUT run lists
/// nothing). `Ok(true)` when the run stops there (`-dry-run`).
pub fn before_load(m: &Mode, names: u64, listed: bool) -> Result<bool, String> {
    let c = &m.config;
    let perm_based = c.pctput == 0
        && matches!(
            output::name_getter(c, names),
            "unique epoch-based" | "unique sequential"
        );
    if listed && !c.new_bucket && !c.skiplist && c.pctput < 100 && perm_based && names < 2 {
        return Err(format!(
            "need at least 2 existing objects for epochs-based read-only workload (got {names})"
        ));
    }
    // aisloader checks the batch against the listed names only (not a created bucket's).
    if listed && !c.new_bucket && !c.skiplist && c.get_batch_size > 0 {
        let batch = c.get_batch_size as u64;
        if batch > names {
            return Err(format!(
                "batch size ({batch}) exceeds dataset size ({names})"
            ));
        }
    }
    print!("{}", output::preamble(c, names, listed));
    if !m.dry_run {
        print!("{}", output::beware(c));
    }
    let _ = std::io::stdout().flush();
    let _ = LOAD_START.set(Instant::now());
    Ok(m.dry_run)
}

/// One of aisloader's cleanup lines on stdout: `HH:MM:SS Cleaning up...`, `HH:MM:SS Done`.
pub fn cleanup_line(what: &str) {
    print!("{}", output::clock_line(unix_now_ns(), what));
    let _ = std::io::stdout().flush();
}

/// aisloader's `StatsD` failure line (stdout, no newline); the run goes on without `StatsD`.
pub fn statsd_failed() {
    print!("Failed to connect to StatsD server");
    let _ = std::io::stdout().flush();
}

/// A seed from the clock (aisloader's `mono.NanoTime()` when `-seed` is 0).
fn clock_seed() -> u64 {
    unix_now_ns().max(1)
}

/// A new bucket's name: 8 random ASCII letters, as aisloader makes up.
fn random_bucket_name() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let seed = unix_now_ns() ^ u64::from(std::process::id()).rotate_left(32);
    let mut rng = ringload_core::rng::FastRng::new(seed);
    (0..8)
        .map(|_| char::from(LETTERS[rng.below(LETTERS.len() as u64) as usize]))
        .collect()
}

/// An error in aisloader's terms: each `ringload run` flag it names becomes the aisloader
/// flag (or flags) the user typed, from the flag table; clap's `'--x <X>'` quoting is
/// dropped; ringload's new-bucket refusal becomes aisloader's.
fn aisloader_names(msg: &str) -> String {
    if msg.contains("did not exist and was just created") {
        return "new bucket, expecting 100% PUT".into();
    }
    let mut out = unquote_clap(msg);
    // (pattern, aisloader names), the longest patterns first.
    let mut map: Vec<(&str, Vec<&str>)> = Vec::new();
    for fl in flags::FLAGS.iter().chain(flags::EXTENSIONS) {
        let Some(pat) = run_pattern(fl.run) else {
            continue;
        };
        match map.iter_mut().find(|(p, _)| *p == pat) {
            Some((_, names)) if !fl.legacy => names.push(fl.name),
            Some(_) => {}
            None => map.push((pat, vec![fl.name])),
        }
    }
    map.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    for (pat, names) in map {
        let typed: Vec<String> = names.iter().map(|n| format!("-{n}")).collect();
        out = replace_flag(&out, pat, &typed.join("/"));
    }
    out
}

/// The part of a `ringload run` equivalent an error names: the flag, or the flag with its
/// literal value (`--s3-addressing path`); `None` when it is no flag.
fn run_pattern(run: &str) -> Option<&str> {
    if !run.starts_with("--") || run == "--help" || run == "--version" {
        return None;
    }
    match run.split_once(' ') {
        Some((_, value)) if value.bytes().all(|b| b.is_ascii_lowercase()) => Some(run),
        Some((flag, _)) => Some(flag),
        None => Some(run),
    }
}

/// `msg` with every whole `pat` (not part of a longer flag) replaced by `with`.
fn replace_flag(msg: &str, pat: &str, with: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-');
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(pat) {
        let before = rest[..i].chars().last().or_else(|| out.chars().last());
        let after = rest[i + pat.len()..].chars().next();
        out.push_str(&rest[..i]);
        if word(before) || word(after) {
            out.push_str(pat);
        } else {
            out.push_str(with);
        }
        rest = &rest[i + pat.len()..];
    }
    out.push_str(rest);
    out
}

/// clap's `'--x <X>'` becomes `--x`.
fn unquote_clap(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find("'--") {
        let Some(len) = rest[i + 1..].find('\'') else {
            break;
        };
        let inner = &rest[i + 1..i + 1 + len];
        out.push_str(&rest[..i]);
        out.push_str(inner.split(' ').next().unwrap_or(inner));
        rest = &rest[i + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_batch_larger_than_the_listed_names_is_aisloaders_error() {
        let mut m = super::Mode {
            dry_run: true,
            ..super::Mode::default()
        };
        m.config.get_batch_size = 65;
        assert_eq!(
            super::before_load(&m, 64, true),
            Err("batch size (65) exceeds dataset size (64)".to_string())
        );
        // Not checked when nothing was listed (aisloader checks only a listing).
        m.config.skiplist = true;
        assert_eq!(super::before_load(&m, 64, true), Ok(true));
        m.config.skiplist = false;
        m.config.get_batch_size = 64;
        assert_eq!(super::before_load(&m, 64, true), Ok(true));
    }

    #[test]
    fn run_flag_errors_name_the_aisloader_flag() {
        assert_eq!(
            super::aisloader_names("invalid value 'md9' for '--cksum-type <CKSUM_TYPE>': x"),
            "invalid value 'md9' for -cksum-type: x"
        );
        assert_eq!(
            super::aisloader_names("invalid value 'x' for '--max-error-rate <F>'"),
            "invalid value 'x' for -max-error-rate"
        );
        assert_eq!(super::aisloader_names("no quotes"), "no quotes");
        for (ringload, aisloader) in [
            (
                "--token-file /x: cannot read it; leave out --token-file",
                "-tokenfile /x: cannot read it; leave out -tokenfile",
            ),
            (
                "--statsd \"127.0.0.1:70000\": invalid port value",
                "-statsdip/-statsdport \"127.0.0.1:70000\": invalid port value",
            ),
            ("--putshards 7: x", "-num-subdirs 7: x"),
            ("--loaderid '' is invalid", "-loaderid '' is invalid"),
            ("--subdir '/x' must not", "-subdir '/x' must not"),
            ("needs (--s3-addressing path)", "needs (-s3-use-path-style)"),
            (
                "--loaderidhashlen 70 and --loaderid",
                "-loaderidhashlen 70 and -loaderid",
            ),
            ("--s3-addressing virtual", "--s3-addressing virtual"),
            (
                "bucket ais://b did not exist and was just created, so there is nothing to \
                 GET: run with --pctput 100 to fill it first",
                "new bucket, expecting 100% PUT",
            ),
        ] {
            assert_eq!(super::aisloader_names(ringload), aisloader);
        }
    }
}
