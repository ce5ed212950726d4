//! End-to-end: every commented run spec in `examples/` loads and renders with the real binary
//! (`ringload render --spec F --out DIR`, exit 0) for each platform it has a section for, so the
//! specs that docs/operators.md and the README point newcomers to never rot. Rendered scripts
//! must also parse as bash (`bash -n`).

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

/// The `examples/*.toml` files, sorted.
fn example_specs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    specs.sort();
    specs
}

/// The files `render` writes for each section the spec has, by the section's header line.
fn expected_files(spec_text: &str) -> Vec<&'static str> {
    let has = |section: &str| spec_text.lines().any(|l| l.trim() == section);
    let mut files = Vec::new();
    if has("[kubernetes]") {
        files.extend(["configmap.yaml", "job.yaml"]);
    }
    if has("[slurm]") {
        files.push("run.sbatch");
    }
    if has("[mpi]") {
        files.push("run-mpi.sh");
    }
    files
}

#[test]
fn every_example_renders_for_each_of_its_platforms() {
    let specs = example_specs();
    assert!(
        specs.len() >= 3,
        "expected at least 3 example specs in examples/, found {specs:?}"
    );
    for spec in &specs {
        let text = std::fs::read_to_string(spec).unwrap();
        let want = expected_files(&text);
        assert!(
            !want.is_empty(),
            "{} has no [kubernetes], [slurm] or [mpi] section",
            spec.display()
        );
        let out = Scratch::new("examples");
        let dir = out.path().join("rendered");
        let run = ringload(&[
            "render",
            "--spec",
            spec.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ]);
        run.ok();
        for file in &want {
            let path = dir.join(file);
            let rendered = std::fs::read_to_string(&path).unwrap_or_default();
            run.check(
                !rendered.is_empty() && !rendered.contains("{{"),
                &format!("{} should be rendered completely", path.display()),
            );
            if file.ends_with(".sbatch") || file.ends_with(".sh") {
                let syntax = std::process::Command::new("bash")
                    .arg("-n")
                    .arg(&path)
                    .output()
                    .unwrap();
                run.check(
                    syntax.status.success(),
                    &format!(
                        "{} is not valid bash: {}",
                        path.display(),
                        String::from_utf8_lossy(&syntax.stderr)
                    ),
                );
            }
        }
        let written = std::fs::read_dir(&dir).unwrap().count();
        run.check(
            written == want.len(),
            &format!("expected exactly {want:?} in {}", dir.display()),
        );
    }
}
