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
use std::time::Instant;

use clap::Parser;

use crate::exit::Exit;

/// What `run` needs to know when the aisloader front end started it.
#[derive(Debug, Clone, Default)]
pub struct Mode {
    /// The statistics stream's format and destination.
    pub output: ringload_engine::report::ais::AisOutput,
    /// What `Runtime configuration:` shows, printed once the names are known.
    pub config: rules::RuntimeConfig,
    /// `-dry-run`: stop after the runtime configuration.
    pub dry_run: bool,
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
    let plan = match rules::plan(parsed, &env, &random_bucket_name) {
        Ok(p) => p,
        Err(rules::Stop::CleanupRequired) => {
            print!("{}", rules::CLEANUP_NOTE);
            return Ok(Exit::Failed);
        }
        Err(rules::Stop::NoOp) => {
            if parsed.get("cleanup") == Some("true") {
                eprintln!(
                    "warning: -duration 0 with nothing else to stop on is a no-op; ringload does \
                     not clean the bucket up in it (run with -duration 1s -pctput 0 -cleanup)"
                );
            }
            return Ok(Exit::Ok);
        }
        Err(rules::Stop::Error(m)) => return Err(m),
    };
    for w in &plan.warnings {
        eprintln!("{w}");
    }
    print!("{}", plan.preface);
    if !plan.quiet && !plan.getloaderid {
        print!("{}", output::argument_dump(parsed));
    }
    let argv = ["ringload", "run"]
        .into_iter()
        .map(String::from)
        .chain(plan.run.iter().cloned());
    let cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| aisloader_names(&crate::exit::CmdError::from(e).message()))?;
    let crate::cli::Command::Run(mut a) = cli.command else {
        return Err("internal: not a run command".into());
    };
    if crate::doc_check() {
        // The documentation tests' parse-only mode: every check before the first connection.
        crate::run_cmd::check_only(&a, None).map_err(|e| e.message())?;
        return Ok(Exit::Ok);
    }
    if plan.getloaderid {
        crate::run_cmd::check_only(&a, None).map_err(|e| e.message())?;
        println!("0x{:x}", crate::run_cmd::loader_id(&a));
        return Ok(Exit::Ok);
    }
    if let Some(n) = &plan.new_bucket {
        println!("New bucket name \"{n}\"");
    }
    if let Some(profile) = &plan.aws_profile {
        std::env::set_var("AWS_PROFILE", profile);
    }
    a.aisloader = Some(Mode {
        output: ringload_engine::report::ais::AisOutput {
            json: plan.json,
            stats_output: plan.stats_output.as_ref().map(Into::into),
            periodic: plan.periodic,
        },
        config: plan.config.clone(),
        dry_run: plan.dry_run,
    });
    let _ = std::io::stdout().flush();
    let start = Instant::now();
    let exit = crate::run_cmd::run(*a, None).map_err(|e| in_aisloader_terms(&e.message()))?;
    if !plan.dry_run {
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        print!("{}", output::actual_run_duration(ns));
    }
    Ok(exit)
}

/// Called by `run` once the names are known, before the load: prints `Found ...`, the runtime
/// configuration and the BEWARE line; `listed` says whether the bucket was listed (a 100% PUT
/// run lists nothing). True when the run stops there (`-dry-run`).
pub fn before_load(m: &Mode, names: u64, listed: bool) -> bool {
    print!("{}", output::preamble(&m.config, names, listed));
    let _ = std::io::stdout().flush();
    m.dry_run
}

/// A new bucket's name: 8 random ASCII letters, as aisloader makes up.
fn random_bucket_name() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()).rotate_left(32);
    let mut rng = ringload_core::rng::FastRng::new(seed);
    (0..8)
        .map(|_| char::from(LETTERS[rng.below(LETTERS.len() as u64) as usize]))
        .collect()
}

/// A run error in aisloader's terms where one names a `ringload run` setting with an
/// aisloader flag of its own.
fn in_aisloader_terms(msg: &str) -> String {
    msg.replace("(--s3-addressing path)", "(-s3-use-path-style)")
}

/// A `ringload run` flag error in aisloader's terms: `'--cksum-type <CKSUM_TYPE>'` becomes
/// `-cksum-type`, the flag the user typed.
fn aisloader_names(msg: &str) -> String {
    let Some(start) = msg.find("'--") else {
        return msg.to_string();
    };
    let Some(len) = msg[start + 1..].find('\'') else {
        return msg.to_string();
    };
    let quoted = &msg[start..start + len + 2];
    let run_flag = quoted[1..quoted.len() - 1]
        .split(' ')
        .next()
        .unwrap_or_default();
    match flags::FLAGS
        .iter()
        .chain(flags::EXTENSIONS)
        .find(|f| f.run.split(' ').next() == Some(run_flag))
    {
        Some(f) => msg.replacen(quoted, &format!("-{}", f.name), 1),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
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
    }
}
