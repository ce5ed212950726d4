//! ringload's outline: parse the command line, validate, run, and map the outcome to an exit
//! code (0 success, 1 a failed run, 2 bad usage or input). Logic lives in the libraries.

mod cli;
mod merge_cmd;
mod multinode;
mod render_cmd;
mod resolve;
mod run_cmd;
mod serve_cmd;
mod spec_args;
mod target;
mod verdict;
mod workload_args;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cli.command {
        cli::Command::Run(args) => match &args.spec {
            Some(path) => run_with_spec(path),
            None => run_cmd::run(*args, None),
        },
        cli::Command::Render(args) => render_cmd::render(args),
        cli::Command::Serve(args) => serve_cmd::serve(args),
        cli::Command::Merge(args) => merge_cmd::merge(args),
    };
    std::process::exit(code);
}

/// `ringload run --spec FILE ...`: the spec's flags first, the command line's after them.
fn run_with_spec(path: &std::path::Path) -> i32 {
    let loaded = match spec_args::load(path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match spec_args::run_args(&loaded) {
        Ok(args) => run_cmd::run(args, Some(&loaded)),
        Err(e) => e.exit(),
    }
}
