//! Kubernetes peers for the render tests: `kubernetes-validate` (the manifests against the
//! published OpenAPI schemas, `--strict`) and PyYAML from the same Python venv (parsing the
//! rendered YAML back with a real YAML parser, so no Rust YAML crate is needed).
//!
//! The tool is found through `RINGLOAD_KUBE_VALIDATE`, else
//! `$HOME/.cache/ringload-peers/kv/bin/kubernetes-validate` (where `.ci/run` installs it). A
//! missing peer fails the test with the commands that install it: it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALL: &str = "python3 -m venv ~/.cache/ringload-peers/kv && \
     ~/.cache/ringload-peers/kv/bin/pip install -q kubernetes-validate \
     (or point RINGLOAD_KUBE_VALIDATE at a kubernetes-validate whose directory also holds the \
     venv's python with PyYAML); .ci/run does this";

/// The `kubernetes-validate` executable; panics with install instructions when it is missing.
pub fn validator() -> PathBuf {
    let p = match std::env::var_os("RINGLOAD_KUBE_VALIDATE") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            Path::new(&home).join(".cache/ringload-peers/kv/bin/kubernetes-validate")
        }
    };
    if !p.is_file() {
        panic!(
            "kubernetes-validate not found at {} (the render tests need it; they never skip): {INSTALL}",
            p.display()
        );
    }
    p
}

/// The venv's python next to `kubernetes-validate` (it has PyYAML, a dependency of the tool).
pub fn python() -> PathBuf {
    let v = validator();
    let dir = v.parent().expect("kubernetes-validate has a directory");
    ["python", "python3"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no python next to {} to parse YAML with PyYAML: {INSTALL}",
                v.display()
            )
        })
}

/// The newest Kubernetes version the installed schemas cover (the tool's default `-k`).
pub fn newest_version() -> String {
    let out = Command::new(validator()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = help.split_whitespace().collect();
    let v = words
        .windows(3)
        .find(|w| w[0] == "Defaults" && w[1] == "to")
        .map(|w| w[2].trim_end_matches('.').to_string())
        .unwrap_or_else(|| panic!("no default version in `kubernetes-validate --help`:\n{help}"));
    let minor: u32 = v
        .strip_prefix("1.")
        .and_then(|r| r.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("unexpected Kubernetes version {v:?}"));
    assert!(
        minor >= 30,
        "kubernetes-validate covers only up to {v}; upgrade it (the manifests must validate against 1.30 and newer): {INSTALL}"
    );
    v
}

/// Runs `kubernetes-validate --strict -k VERSION FILES...`; panics with its output unless
/// every file passes. Returns the output.
pub fn validate(files: &[PathBuf], k8s_version: &str) -> String {
    assert!(!files.is_empty());
    let out = Command::new(validator())
        .arg("--strict")
        .arg("-k")
        .arg(k8s_version)
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate --strict -k {k8s_version} failed:\n{text}"
    );
    let passed = text.lines().filter(|l| l.contains(" passed ")).count();
    assert!(
        passed >= files.len(),
        "kubernetes-validate reported {passed} passing resources for {} files:\n{text}",
        files.len()
    );
    text
}

/// Every YAML document of each file as JSON, parsed by PyYAML's `safe_load_all`, in one
/// Python process.
pub fn yaml_docs_many(files: &[PathBuf]) -> Vec<serde_json::Value> {
    const SCRIPT: &str = "import sys,yaml,json\n\
        print(json.dumps([list(yaml.safe_load_all(open(f, encoding='utf-8'))) \
        for f in sys.argv[1:]]))";
    let out = Command::new(python())
        .arg("-c")
        .arg(SCRIPT)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyYAML could not parse {files:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).unwrap() {
        serde_json::Value::Array(v) => v,
        other => panic!("not a list: {other}"),
    }
}
