//! Hostile values for the render tests, and what it takes to run a rendered script safely:
//! writing values into a spec as TOML, stub `srun` / `mpirun` / `ringload` executables that
//! record their argv byte for byte, and the CANARY check that proves nothing was executed.

use std::path::Path;
use std::process::{Command, Output};

/// Strings that break naive quoting in shell or YAML, or that a parser could read as structure:
/// quotes, command substitution, newlines, flow mappings, comments, control characters, Unicode
/// line separators, option-like values, the empty string and NUL.
pub const HOSTILE: &[&str] = &[
    "it's",
    "\"",
    "$(touch CANARY)",
    "`touch CANARY`",
    "a\nb: {c: d}",
    "# x",
    "x: {y",
    "'; touch CANARY; '",
    "\"; touch CANARY; \"",
    "ünïcödé 😀",
    "tab\there",
    "cr\rhere",
    "crlf\r\n",
    "nel\u{85}here",
    "ls\u{2028}here",
    "del\u{7f}",
    "back\\slash \\n",
    "${HOME} $HOME %s",
    "*a &b !!str",
    "- item",
    "-dash",
    "",
    "nul\u{0}here",
];

/// A TOML basic string holding exactly `s` (every non-printable-ASCII character escaped).
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Stubs for `srun`, `mpirun` and the spec's ringload binary (named `ringload`) in `bin`: each
/// appends its name, its argument count and its arguments, NUL-terminated, to the file named
/// by `$RINGLOAD_TEST_ARGV`, and exits 0.
pub fn stubs(bin: &Path, ringload: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).unwrap();
    for (file, tag) in [
        ("srun", "srun"),
        ("mpirun", "mpirun"),
        (ringload, "ringload"),
    ] {
        let p = bin.join(file);
        let body = format!(
            "#!/bin/bash\n{{ printf '%s\\0' {tag} \"$#\"; for a in \"$@\"; do printf '%s\\0' \
             \"$a\"; done; }} >> \"$RINGLOAD_TEST_ARGV\"\n"
        );
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The calls the stubs recorded in `log`: each is the stub's name followed by its arguments.
pub fn recorded(log: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(log).unwrap_or_default();
    let mut parts = bytes
        .split(|&b| b == 0)
        .map(|p| String::from_utf8(p.to_vec()).unwrap());
    let mut calls = Vec::new();
    while let Some(tag) = parts.next().filter(|t| !t.is_empty()) {
        let n: usize = parts.next().unwrap().parse().unwrap();
        let mut call = vec![tag];
        call.extend(parts.by_ref().take(n));
        calls.push(call);
    }
    calls
}

/// Runs `script` with `bash` in `cwd`, with an empty environment but PATH (`bin`, then the
/// system) and `RINGLOAD_TEST_ARGV=log`.
pub fn run_bash(script: &Path, cwd: &Path, bin: &Path, log: &Path) -> Output {
    std::fs::create_dir_all(cwd).unwrap();
    Command::new("/bin/bash")
        .arg(script)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("RINGLOAD_TEST_ARGV", log)
        .output()
        .unwrap()
}

/// Fails if a file or directory named CANARY exists anywhere under `dir`, or in the test's
/// own working directory.
pub fn assert_no_canary(dir: &Path) {
    assert!(!Path::new("CANARY").exists(), "CANARY in the test's cwd");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        assert!(
            p.file_name().unwrap() != "CANARY",
            "{} was created: a spec value ran as a command",
            p.display()
        );
        if p.is_dir() && !p.is_symlink() {
            assert_no_canary(&p);
        }
    }
}
