//! ringload's outline: parse the command line, run the command, and map its outcome to an
//! exit code in one place (`exit`: 0 success, 1 a failed run, 2 bad usage or input). Logic
//! lives in the command modules and the libraries.

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
    let exit = match command() {
        Ok(exit) => exit,
        Err(e) => e.report(),
    };
    std::process::exit(exit.code());
}

/// Parses the command line and runs its command.
fn command() -> Result<Exit, CmdError> {
    let cli = cli::Cli::try_parse()?;
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

/// `ringload run --spec FILE ...`: the spec's flags first, the command line's after them.
fn run_with_spec(path: &std::path::Path) -> Result<Exit, CmdError> {
    let loaded = spec_args::load(path).map_err(CmdError::usage)?;
    let args = spec_args::run_args(&loaded)?;
    run_cmd::run(args, Some(&loaded))
}
