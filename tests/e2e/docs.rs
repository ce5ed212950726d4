//! The documentation runs as written: every `bash`/`sh`/`console` block of README.md and
//! docs/*.md is marked `runnable` or `no-run` (an unmarked one fails), runnable blocks are
//! executed against local peers, and the `ringload` lines of `no-run` blocks are parsed by the
//! binary and the specs they name are rendered. One test per doc file; a failure names the file
//! and line of the block and shows its output.
//!
//! A custom harness rather than trycmd: the blocks need peers started on free ports and their
//! fixed endpoints rewritten, and most print numbers that differ on every run, which a
//! snapshot tool would only compare byte for byte.
//!
//! A runnable block runs as a script under `timeout 120 bash -euo pipefail`, in a scratch
//! directory shared by the file's blocks, with the built `ringload` first on `PATH`, `HOME` in
//! the scratch directory, and `cargo run --release --` read as `ringload`. The peer a block
//! names (`<!-- doc-test: NAME -->` before its fence) is started once per file and its
//! documented address rewritten:
//! - `nginx`: README.md's nginx recipe (the block marked `nginx-recipe`) is run as written, with
//!   `127.0.0.1:8080` rewritten to a free port (its root is under the scratch `HOME`); its master is
//!   stopped through the PID file the recipe's config names.
//! - `ais`: `ringload serve --protocol ais` (1 proxy, 2 targets); `http://aistore-proxy:51080`
//!   is rewritten to its proxy and `AIS_ENDPOINT` is exported.
//! - `slurm`: the local Slurm cluster of `common::slurm` (its `SLURM_CONF` exported), for the
//!   operator guide's walkthrough; `$REPO` is a copy of `examples/local-slurm.toml` and
//!   `127.0.0.1:18080` is rewritten to a free port pair, `$D` is the scratch directory.
//! - `s3`: s3s-fs with bucket `data`; `http://minio:9000` and the `AWS_ACCESS_KEY_ID=...`,
//!   `AWS_SECRET_ACCESS_KEY=...` placeholders are rewritten to it and its keys.
//!
//! A runnable block fails when it exits non-zero or when a `ringload run` summary in its stdout
//! counts errors (`errors 3: http-413 3`): a documented example runs clean.
//!
//! A `text` block marked `output` right after a runnable block is what that block prints: it
//! must appear in the block's stdout, numbers, units and hosts aside
//! (`docblocks::output_matches`).
//!
//! A `no-run` block's `ringload render` lines run for real in a scratch directory (with the
//! repository's `examples/`); every other `ringload` line runs with `RINGLOAD_DOC_CHECK=1`,
//! which parses it (and loads and checks a `--spec` file) and exits before any I/O, and a
//! spec it names is rendered too. `$REPO` is the repository, `$R` 0, `$D` a scratch directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::cluster::Cluster;
use crate::common::docblocks::{file_blocks, output_matches, ringload_lines, Block, Mark};
use crate::common::s3s::{S3sFs, AK, NO_FILE, SK};
use crate::common::slurm::SlurmCluster;
use crate::common::{free_port, stop_pid_file, wait_port, Scratch};

/// Bound on one block's run.
const BLOCK_SECS: u32 = 120;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ringload"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The nginx the README recipe started, stopped on drop.
struct RecipeNginx {
    pid_file: PathBuf,
}

impl Drop for RecipeNginx {
    fn drop(&mut self) {
        stop_pid_file(&self.pid_file);
    }
}

/// One doc file's run: its scratch directory and the peers its blocks started.
struct DocRun {
    nginx_port: u16,
    nginx: Option<RecipeNginx>,
    ais: Option<Cluster>,
    s3: Option<S3sFs>,
    /// The local Slurm cluster and the port of the AIS proxy the walkthrough starts (its
    /// target takes the next one).
    slurm: Option<(SlurmCluster, u16)>,
    /// Last: fields drop in order, and the peers' PID files live in here.
    scratch: Scratch,
}

impl DocRun {
    fn new(tag: &str) -> DocRun {
        let scratch = Scratch::new(tag);
        for d in ["home", "work", "www", "repo"] {
            std::fs::create_dir_all(scratch.path().join(d)).unwrap();
        }
        DocRun {
            nginx_port: free_port(),
            nginx: None,
            ais: None,
            s3: None,
            slurm: None,
            scratch,
        }
    }

    fn dir(&self, sub: &str) -> PathBuf {
        self.scratch.path().join(sub)
    }

    /// The documented addresses and placeholders, and what they become here.
    fn rewrites(&self) -> Vec<(String, String)> {
        let mut r = vec![
            ("cargo run --release --".into(), "ringload".into()),
            (
                "127.0.0.1:8080".into(),
                format!("127.0.0.1:{}", self.nginx_port),
            ),
        ];
        if let Some(c) = &self.ais {
            r.push(("http://aistore-proxy:51080".into(), c.proxies[0].clone()));
        }
        if let Some((_, port)) = &self.slurm {
            r.push(("127.0.0.1:18080".into(), format!("127.0.0.1:{port}")));
        }
        if let Some(s) = &self.s3 {
            r.push(("http://minio:9000".into(), s.url()));
            r.push((
                "AWS_ACCESS_KEY_ID=...".into(),
                format!("AWS_ACCESS_KEY_ID={AK}"),
            ));
            r.push((
                "AWS_SECRET_ACCESS_KEY=...".into(),
                format!("AWS_SECRET_ACCESS_KEY={SK}"),
            ));
        }
        r
    }

    /// Starts the peer a block names, once per file.
    fn setup(&mut self, name: Option<&str>) -> Result<(), String> {
        match name {
            Some("nginx") if self.nginx.is_none() => {
                let readme = file_blocks(&repo().join("README.md"));
                let recipe = readme
                    .iter()
                    .find(|b| b.setup.as_deref() == Some("nginx-recipe"))
                    .ok_or("README.md has no block marked <!-- doc-test: nginx-recipe -->")?;
                self.run_block(recipe)
                    .map_err(|e| format!("README.md:{}: the nginx recipe: {e}", recipe.line))?;
            }
            Some("ais") if self.ais.is_none() => {
                self.ais = Some(Cluster::start(&["--proxies", "1", "--targets", "2"]));
            }
            Some("s3") if self.s3.is_none() => self.s3 = Some(S3sFs::start("data")),
            Some("slurm") if self.slurm.is_none() => {
                let port = port_pair();
                // The walkthrough's spec, with its endpoint moved to the free port.
                let examples = self.dir("repo/examples");
                std::fs::create_dir_all(&examples).unwrap();
                let spec = std::fs::read_to_string(repo().join("examples/local-slurm.toml"))
                    .unwrap()
                    .replace("127.0.0.1:18080", &format!("127.0.0.1:{port}"));
                std::fs::write(examples.join("local-slurm.toml"), spec).unwrap();
                self.slurm = Some((SlurmCluster::start(), port));
            }
            Some("nginx" | "ais" | "s3" | "slurm" | "nginx-recipe" | "output") | None => {}
            Some(other) => return Err(format!("unknown doc-test setup {other:?}")),
        }
        Ok(())
    }

    /// Runs a runnable block; its stdout, or why it failed with its output.
    fn run_block(&mut self, b: &Block) -> Result<String, String> {
        let recipe = b.setup.as_deref() == Some("nginx-recipe");
        if recipe && self.nginx.is_some() {
            return Ok(String::new());
        }
        let mut body = b.body.clone();
        for (from, to) in self.rewrites() {
            body = body.replace(&from, &to);
        }
        let script = self.dir(&format!("block-{}.sh", b.line));
        std::fs::write(&script, &body).unwrap();
        let mut c = Command::new("timeout");
        c.args([
            "-k",
            "5",
            &BLOCK_SECS.to_string(),
            "bash",
            "-euo",
            "pipefail",
        ])
        .arg(&script)
        .current_dir(self.dir("work"))
        .stdin(Stdio::null())
        .env("PATH", path_with_bin())
        .env("HOME", self.dir("home"))
        .env_remove("RINGLOAD_DRIVER")
        .env_remove("RINGLOAD_ENDPOINT")
        .env_remove("AIS_ENDPOINT")
        .env_remove("S3_ENDPOINT")
        .env("AWS_PROFILE", "")
        .env("AWS_SHARED_CREDENTIALS_FILE", NO_FILE)
        .env("AWS_CONFIG_FILE", NO_FILE);
        if let (Some("ais"), Some(cl)) = (b.setup.as_deref(), &self.ais) {
            c.env("AIS_ENDPOINT", &cl.proxies[0]);
        }
        if let (Some("slurm"), Some((cl, _))) = (b.setup.as_deref(), &self.slurm) {
            c.envs(cl.env())
                .env("REPO", self.dir("repo"))
                .env("D", self.dir("work"));
        }
        let out = c.output().unwrap();
        if recipe {
            // Registered before the check, so a half-started nginx is stopped too.
            self.nginx = Some(RecipeNginx {
                pid_file: self.dir("home").join("ringload-nginx/nginx.pid"),
            });
        }
        if !out.status.success() {
            return Err(shown("the block failed", &body, &out));
        }
        if recipe && !wait_port(self.nginx_port, std::time::Duration::from_secs(5)) {
            return Err(shown("nginx is not listening", &body, &out));
        }
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        match stdout.lines().find(|l| reports_errors(l)) {
            Some(l) => Err(shown(
                &format!(
                    "a documented example must run without errors, but: {}",
                    l.trim()
                ),
                &body,
                &out,
            )),
            None => Ok(stdout),
        }
    }

    /// Checks a no-run block: its `ringload` lines parse and the specs they name render.
    fn check_no_run(&self, b: &Block) -> Result<(), String> {
        let mut errs = Vec::new();
        for (i, line) in ringload_lines(&b.body).iter().enumerate() {
            let line = line.replace("cargo run --release --", "ringload");
            let words: Vec<&str> = line.split_whitespace().collect();
            let render = words.get(1) == Some(&"render");
            let cwd = self.dir(&format!("no-run-{}-{i}", b.line));
            let mut cmds = vec![(line.clone(), !render)];
            if !render {
                if let Some(p) = words.iter().position(|w| *w == "--spec") {
                    if let Some(spec) = words.get(p + 1) {
                        cmds.push((
                            format!("ringload render --spec {spec} --out rendered"),
                            false,
                        ));
                    }
                }
            }
            for (cmd, parse_only) in cmds {
                match self.shell_line(&cwd, &cmd, parse_only) {
                    Err(e) => errs.push(e),
                    // The block's next step must be the submit command render suggests, so
                    // the docs and the hint cannot disagree.
                    Ok(stderr) if render && words.contains(&"--out") => {
                        if let Err(e) = hint_is_documented(&stderr, &b.body) {
                            errs.push(e);
                        }
                    }
                    Ok(_) => {}
                }
            }
        }
        match errs.is_empty() {
            true => Ok(()),
            false => Err(errs.join("\n")),
        }
    }

    /// One `ringload` line of a no-run block, in a fresh directory holding `examples/`.
    /// Returns the command's stderr when it succeeds.
    fn shell_line(&self, cwd: &Path, cmd: &str, parse_only: bool) -> Result<String, String> {
        std::fs::create_dir_all(cwd).unwrap();
        let link = cwd.join("examples");
        if !link.exists() {
            std::os::unix::fs::symlink(repo().join("examples"), link).unwrap();
        }
        let mut c = Command::new("timeout");
        c.args(["-k", "5", "30", "bash", "-euo", "pipefail", "-c", cmd])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .env("PATH", path_with_bin())
            .env("HOME", self.dir("home"))
            .env("REPO", repo())
            .env("R", "0")
            .env("D", self.dir("work"));
        if parse_only {
            // The block's `export AWS_...=...` is not run: stand-in keys let an S3 line (AWS S3
            // itself, say) parse; no request is made.
            c.env("RINGLOAD_DOC_CHECK", "1")
                .env("AWS_ACCESS_KEY_ID", AK)
                .env("AWS_SECRET_ACCESS_KEY", SK)
                .env("AWS_PROFILE", "")
                .env("AWS_SHARED_CREDENTIALS_FILE", NO_FILE)
                .env("AWS_CONFIG_FILE", NO_FILE);
        }
        let out = c.output().unwrap();
        match out.status.success() {
            true => Ok(String::from_utf8_lossy(&out.stderr).into_owned()),
            false => Err(shown(
                if parse_only {
                    "does not parse (RINGLOAD_DOC_CHECK=1)"
                } else {
                    "does not render"
                },
                cmd,
                &out,
            )),
        }
    }
}

/// A `ringload run` summary line that counts errors (`errors 3: http-413 3`), not `errors 0`.
fn reports_errors(line: &str) -> bool {
    let mut w = line.split_whitespace();
    w.next() == Some("errors") && w.next().is_some_and(|n| n != "0")
}

impl Drop for DocRun {
    /// Stops the walkthrough's `ringload serve` when the block that stops it did not run.
    fn drop(&mut self) {
        let pid_file = self.dir("work/serve.pid");
        let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap_or_default();
        // Only while that PID is still a ringload (the documented `kill` usually ran).
        if String::from_utf8_lossy(&cmdline).contains("ringload") {
            stop_pid_file(&pid_file);
        }
    }
}

/// A free port whose next port is free too (`ringload serve --protocol ais` puts its target
/// on the port after its proxy's).
fn port_pair() -> u16 {
    for _ in 0..50 {
        let p = free_port();
        if p < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no two adjacent free ports on loopback");
}

fn path_with_bin() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn shown(what: &str, script: &str, out: &Output) -> String {
    format!(
        "{what} ({})\n--- ran ---\n{script}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Checks every block of one doc file, in order; panics listing each failing block.
fn check_doc(rel: &str) {
    let blocks = file_blocks(&repo().join(rel));
    let mut run = DocRun::new("docs");
    let mut failures = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        let res = match b.mark {
            Mark::Other => Ok(()),
            Mark::Unmarked => Err(format!(
                "a ```{} block with neither `runnable` nor `no-run` in its info string: mark it \
                 (```{} runnable, or ```{} no-run when it needs what a test cannot start)",
                b.lang, b.lang, b.lang
            )),
            Mark::NoRun => run.check_no_run(b),
            Mark::Runnable => run
                .setup(b.setup.as_deref())
                .and_then(|()| run.run_block(b))
                .and_then(|stdout| match blocks.get(k + 1) {
                    Some(o) if o.setup.as_deref() == Some("output") => {
                        output_matches(&o.body, &stdout)
                            .map_err(|e| format!("{e}\n(documented at {rel}:{})", o.line))
                    }
                    _ => Ok(()),
                }),
        };
        if let Err(e) = res {
            failures.push(format!("{rel}:{}: {e}", b.line));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// The doc files the tests below cover: every markdown file of the README and docs/.
const DOCS: [&str; 9] = [
    "README.md",
    "docs/aisloader.md",
    "docs/architecture.md",
    "docs/ml.md",
    "docs/operators.md",
    "docs/protocols.md",
    "docs/reliability.md",
    "docs/results.md",
    "docs/workload.md",
];

#[test]
fn every_doc_file_is_covered() {
    let mut found: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| format!("docs/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".md"))
        .collect();
    found.push("README.md".into());
    found.sort();
    assert_eq!(found, DOCS, "a doc file without its test below: add one");
}

#[test]
fn readme() {
    check_doc("README.md");
}

#[test]
fn aisloader() {
    check_doc("docs/aisloader.md");
}

#[test]
fn architecture() {
    check_doc("docs/architecture.md");
}

#[test]
fn operators() {
    check_doc("docs/operators.md");
}

#[test]
fn protocols() {
    check_doc("docs/protocols.md");
}

#[test]
fn reliability() {
    check_doc("docs/reliability.md");
}

#[test]
fn results() {
    check_doc("docs/results.md");
}

#[test]
fn workload() {
    check_doc("docs/workload.md");
}

#[test]
fn ml() {
    check_doc("docs/ml.md");
}

/// `RINGLOAD_DOC_CHECK=1`: a line that parses exits 0 at once, without connecting (nothing
/// listens on port 1 and the run would last an hour); a bad flag or a bad spec exits 2.
#[test]
fn doc_check_parses_and_does_no_io() {
    use crate::common::ringload_env;
    let scratch = Scratch::new("doc-check");
    let check = [("RINGLOAD_DOC_CHECK", "1")];
    let t = std::time::Instant::now();
    let ok = ringload_env(
        &[
            "run",
            "--endpoint",
            "http://127.0.0.1:1",
            "--duration",
            "1h",
        ],
        &check,
    );
    ok.check(
        ok.code() == 0 && ok.stdout().is_empty(),
        "a parsing line exits 0, silent",
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "it did not stop before the run"
    );
    let bad = ringload_env(&["run", "--minsize", "lots"], &check);
    bad.check(
        bad.code() == 2 && bad.stderr().contains("--minsize"),
        "a bad value exits 2",
    );
    let spec = scratch.path().join("bad.toml");
    std::fs::write(&spec, "[run]\nranks = 1\n[workload]\nminsize = \"lots\"\n").unwrap();
    let s = spec.to_str().unwrap();
    let bad = ringload_env(&["run", "--spec", s], &check);
    bad.check(
        bad.code() == 2 && bad.stderr().contains("minsize"),
        "a bad spec exits 2",
    );
    // What a real command refuses before its first connection is refused here too, not only
    // what fails to parse.
    for (argv, says) in [
        (
            &[
                "run",
                "--protocol",
                "http",
                "--s3endpoint",
                "http://127.0.0.1:1",
            ][..],
            "contradicts --s3endpoint",
        ),
        (&["run", "--create-bucket"][..], "--create-bucket is for"),
        (
            &["serve", "--protocol", "http", "--bucket", "x"][..],
            "--bucket",
        ),
    ] {
        let refused = ringload_env(argv, &check);
        refused.check(
            refused.code() == 2 && refused.stderr().contains(says),
            "a combination a real run refuses exits 2 under the check too",
        );
    }
    // And it creates nothing: a results directory is left for the real run.
    let dir = scratch.path().join("not-created");
    let quiet = ringload_env(
        &[
            "run",
            "--results-dir",
            dir.to_str().unwrap(),
            "--maxputs",
            "1",
            "--pctput",
            "100",
        ],
        &check,
    );
    quiet.check(
        quiet.code() == 0 && !dir.exists(),
        "no results directory is made",
    );
}

/// Checks that the submit command `ringload render` suggested (its last stderr line,
/// `<platform>: <command>   # ...`) is a line of the doc block that rendered, so a hint and
/// the docs that show the next step say the same thing. A trailing `/` on a directory and
/// the comment after a command do not count.
fn hint_is_documented(stderr: &str, body: &str) -> Result<(), String> {
    let last = stderr.lines().last().unwrap_or_default();
    let (_, hint) = last
        .split_once(": ")
        .ok_or_else(|| format!("render printed no submit hint: {last:?}"))?;
    let norm = |l: &str| -> String {
        let cmd = l.split('#').next().unwrap_or_default().trim();
        cmd.trim_end_matches('/').to_string()
    };
    let hint = norm(hint);
    match body.lines().any(|l| norm(l) == hint) {
        true => Ok(()),
        false => Err(format!(
            "render suggests `{hint}`, which the block does not show as its next step"
        )),
    }
}
