//! `Run`, the builder of a `ringload run` command line: the tests say what differs about their
//! run (`Run::new().duration("1s").size("4K").workers(2).endpoint(&url).run()`) instead of
//! spelling out the argument list. Every call appends its flag and value in call order, so the
//! argv is exactly the calls read top to bottom; `argv()` shows it. Running goes through
//! [`super::ringload_command`], like every other way the tests start the binary.

use std::fmt::Display;
use std::path::Path;
use std::process::Command;

use super::{ringload_command, Ran};

/// A `ringload run` command line and the environment variables it adds or removes.
#[derive(Clone)]
#[must_use = "a Run does nothing until .run() or .command()"]
pub struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    unset: Vec<String>,
}

impl Run {
    /// `ringload run` with no flags.
    pub fn new() -> Run {
        Run {
            args: vec!["run".to_string()],
            env: Vec::new(),
            unset: Vec::new(),
        }
    }

    /// Appends `flag value`.
    pub fn arg(mut self, flag: &str, value: impl Display) -> Run {
        self.args.push(flag.to_string());
        self.args.push(value.to_string());
        self
    }

    /// Appends a flag that takes no value (`--json`, `--verifyhash`).
    pub fn flag(mut self, flag: &str) -> Run {
        self.args.push(flag.to_string());
        self
    }

    /// Appends `args` as they are (a helper's caller's extra arguments).
    pub fn args(mut self, args: &[&str]) -> Run {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Adds an environment variable for the child.
    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Adds environment variables for the child.
    pub fn envs(self, env: &[(&str, &str)]) -> Run {
        env.iter().fold(self, |r, (k, v)| r.env(k, v))
    }

    /// Removes an environment variable the child would inherit (before those `env` adds).
    pub fn env_remove(mut self, key: &str) -> Run {
        self.unset.push(key.to_string());
        self
    }

    /// `--duration D`.
    pub fn duration(self, d: &str) -> Run {
        self.arg("--duration", d)
    }

    /// `--minsize S --maxsize S`: every object of size `s`.
    pub fn size(self, s: &str) -> Run {
        self.sizes(s, s)
    }

    /// `--minsize MIN --maxsize MAX`.
    pub fn sizes(self, min: &str, max: &str) -> Run {
        self.arg("--minsize", min).arg("--maxsize", max)
    }

    /// `--numworkers N`.
    pub fn workers(self, n: impl Display) -> Run {
        self.arg("--numworkers", n)
    }

    /// `--pctput P`.
    pub fn pctput(self, p: impl Display) -> Run {
        self.arg("--pctput", p)
    }

    /// `--maxputs N`.
    pub fn maxputs(self, n: impl Display) -> Run {
        self.arg("--maxputs", n)
    }

    /// `--epochs N`.
    pub fn epochs(self, n: impl Display) -> Run {
        self.arg("--epochs", n)
    }

    /// `--endpoint URL`.
    pub fn endpoint(self, url: &str) -> Run {
        self.arg("--endpoint", url)
    }

    /// `--protocol P`.
    pub fn protocol(self, p: &str) -> Run {
        self.arg("--protocol", p)
    }

    /// `--bucket B`.
    pub fn bucket(self, b: &str) -> Run {
        self.arg("--bucket", b)
    }

    /// `--driver D`.
    pub fn driver(self, d: &str) -> Run {
        self.arg("--driver", d)
    }

    /// `--cores N`.
    pub fn cores(self, n: impl Display) -> Run {
        self.arg("--cores", n)
    }

    /// `--result FILE`.
    pub fn result(self, file: &Path) -> Run {
        self.arg("--result", path(file))
    }

    /// `--filelist FILE`.
    pub fn filelist(self, file: &Path) -> Run {
        self.arg("--filelist", path(file))
    }

    /// `--spec FILE`.
    pub fn spec(self, file: &str) -> Run {
        self.arg("--spec", file)
    }

    /// `--rank N`.
    pub fn rank(self, n: impl Display) -> Run {
        self.arg("--rank", n)
    }

    /// The argument list after the binary's name.
    pub fn argv(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// The command, not started, for tests that signal it or limit it before it runs.
    pub fn command(&self) -> Command {
        let mut c = ringload_command(None, &self.argv(), &[]);
        for k in &self.unset {
            c.env_remove(k);
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs the binary to completion.
    pub fn run(&self) -> Ran {
        let out = self.command().output().unwrap();
        let cmd = format!(
            "{} {}",
            env!("CARGO_BIN_EXE_ringload"),
            self.argv().join(" ")
        );
        Ran { cmd, out }
    }
}

/// A path as the test wrote it before (`p.to_str().unwrap()`): the scratch paths are UTF-8.
fn path(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("not UTF-8: {}", p.display()))
}
