//! ringload's outline: parse the command line, run the command, and map its outcome to an
//! exit code in one place (`exit`: 0 success, 1 a failed run, 2 bad usage or input). Logic
//! lives in the command modules and the libraries. `ringload aisloader ...` (or the binary
//! called as `aisloader`) goes to the aisloader front end, which has its own grammar.

mod aisloader;
mod cli;
mod exit;
mod merge_cmd;
mod render_cmd;
mod run_cmd;
mod serve_cmd;
mod spec_args;

use clap::Parser;

use exit::{CmdError, Exit};

fn main() {
    // The aisloader front end parses its own command line (Go's flag rules): it takes over
    // before clap sees anything.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let front = match argv.first() {
        Some(a0) if aisloader::called_as_aisloader(a0) => Some(&argv[1..]),
        _ if argv.get(1).is_some_and(|a| a == "aisloader") => Some(&argv[2..]),
        _ => None,
    };
    if let Some(args) = front {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        std::process::exit(aisloader::main(&args).code());
    }
    let exit = match command() {
        Ok(exit) => exit,
        Err(e) => e.report(),
    };
    std::process::exit(exit.code());
}

/// Parses the command line and runs its command.
fn command() -> Result<Exit, CmdError> {
    let cli = cli::Cli::try_parse()?;
    if doc_check() {
        return parse_only(&cli);
    }
    let done = |r: Result<(), CmdError>| r.map(|()| Exit::Ok);
    match cli.command {
        cli::Command::Run(args) => match &args.spec {
            Some(path) => run_with_spec(path),
            None => run_cmd::run(*args, None),
        },
        cli::Command::Render(args) => done(render_cmd::render(args)),
        cli::Command::Serve(args) => done(serve_cmd::serve(args)),
        cli::Command::Merge(args) => done(merge_cmd::merge(args)),
    }
}

/// `RINGLOAD_DOC_CHECK=1`, for the documentation tests only: parse the command line, load and
/// check a `run --spec` file, and run every check a command makes before its first connection
/// or file (`run`: target resolution, the workload, the protocol's settings, the budget and
/// the flag combinations; `serve`: its configuration), then exit 0. It lets the tests check
/// every `ringload` line of an example that cannot run here (a real cluster, a scheduler).
fn doc_check() -> bool {
    std::env::var_os("RINGLOAD_DOC_CHECK").is_some_and(|v| v == "1")
}

/// The parse-only path of [`doc_check`]: what a real run would refuse before its first
/// connection because of the command line or the spec is refused here too.
fn parse_only(cli: &cli::Cli) -> Result<Exit, CmdError> {
    match &cli.command {
        cli::Command::Run(args) => match &args.spec {
            Some(path) => {
                let loaded = spec_args::load(path).map_err(CmdError::usage)?;
                run_cmd::check_only(&spec_args::run_args(&loaded)?, Some(&loaded))?;
            }
            None => run_cmd::check_only(args, None)?,
        },
        cli::Command::Serve(args) => serve_cmd::check_only(args)?,
        cli::Command::Render(_) | cli::Command::Merge(_) => {}
    }
    Ok(Exit::Ok)
}

/// `ringload run --spec FILE ...`: the spec's flags first, the command line's after them.
fn run_with_spec(path: &std::path::Path) -> Result<Exit, CmdError> {
    let loaded = spec_args::load(path).map_err(CmdError::usage)?;
    let args = spec_args::run_args(&loaded)?;
    run_cmd::run(args, Some(&loaded))
}
