//! How a command ends: the process exit codes ([`Exit`], defined in `ringload_core::exit` so
//! the engine and the launcher share them, documented in `--help` and the README) and the
//! error a command returns ([`CmdError`]), which `main` prints as `error: ...` and turns into
//! its exit code. No file outside `core/src/exit.rs` names an exit code as a number.

use std::fmt;

pub use ringload_core::exit::Exit;

/// Why a command failed: what `main` prints and the exit code it maps to.
#[derive(Debug)]
pub enum CmdError {
    /// A message (printed as `error: {msg}`) and its exit code.
    Msg { exit: Exit, msg: String },
    /// A command-line error, printed by clap in its own format (usage, tips).
    Clap(clap::Error),
}

impl CmdError {
    /// Bad usage or input: exit 2.
    pub fn usage(msg: impl fmt::Display) -> CmdError {
        CmdError::Msg {
            exit: Exit::Usage,
            msg: msg.to_string(),
        }
    }

    /// The command ran and failed: exit 1.
    pub fn failed(msg: impl fmt::Display) -> CmdError {
        CmdError::Msg {
            exit: Exit::Failed,
            msg: msg.to_string(),
        }
    }

    /// The exit code this error ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            CmdError::Msg { exit, .. } => *exit,
            // clap reports --help and --version as errors that go to stdout.
            CmdError::Clap(e) if !e.use_stderr() => Exit::Ok,
            CmdError::Clap(_) => Exit::Usage,
        }
    }

    /// The message alone, without `error: ` (a clap error's first line): what the aisloader
    /// front end prints after `aisloader exited with error: `.
    pub fn message(&self) -> String {
        match self {
            CmdError::Msg { msg, .. } => msg.clone(),
            CmdError::Clap(e) => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                first.trim_start_matches("error: ").to_string()
            }
        }
    }

    /// Prints the error the one way every command does, and returns its exit code.
    pub fn report(&self) -> Exit {
        match self {
            CmdError::Msg { msg, .. } => eprintln!("error: {msg}"),
            CmdError::Clap(e) => {
                let _ = e.print();
            }
        }
        self.exit()
    }
}

impl From<clap::Error> for CmdError {
    fn from(e: clap::Error) -> CmdError {
        CmdError::Clap(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones_and_order_by_severity() {
        assert_eq!(
            [Exit::Ok, Exit::Failed, Exit::Usage].map(Exit::code),
            [0, 1, 2]
        );
        assert!(Exit::Ok < Exit::Failed && Exit::Failed < Exit::Usage);
        assert_eq!(Exit::Ok.max(Exit::Failed), Exit::Failed);
    }

    #[test]
    fn errors_carry_their_exit() {
        assert_eq!(CmdError::usage("x").exit(), Exit::Usage);
        assert_eq!(CmdError::failed("x").exit(), Exit::Failed);
        use clap::Parser;
        let bad = crate::cli::Cli::try_parse_from(["ringload", "run", "--numworkers", "x"]);
        assert_eq!(CmdError::from(bad.unwrap_err()).exit(), Exit::Usage);
        let help = crate::cli::Cli::try_parse_from(["ringload", "--help"]);
        assert_eq!(CmdError::from(help.unwrap_err()).exit(), Exit::Ok);
    }

    #[test]
    fn the_message_has_no_error_prefix() {
        assert_eq!(CmdError::failed("x y").message(), "x y");
        use clap::Parser;
        let bad = crate::cli::Cli::try_parse_from(["ringload", "run", "--numworkers", "x"]);
        let m = CmdError::from(bad.unwrap_err()).message();
        assert!(m.starts_with("invalid value 'x' for '--numworkers"), "{m}");
    }
}
