//! ringload's outline: parse the command line, validate, run, and map the outcome to an exit
//! code (0 success, 1 a failed run, 2 bad usage or input). Logic lives in the libraries.

mod cli;
mod merge_cmd;
mod run_cmd;
mod serve_cmd;
mod target;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cli.command {
        cli::Command::Run(args) => run_cmd::run(*args),
        cli::Command::Serve(args) => serve_cmd::serve(args),
        cli::Command::Merge(args) => merge_cmd::merge(args),
    };
    std::process::exit(code);
}
