//! `ringload render` end to end, through the real binary, for what every platform shares: no
//! credential value reaches a rendered file; the same spec renders to the same bytes and
//! `--templates` overrides one file; snapshots pin the output of every platform; the submit
//! hints; TLS settings reach the Slurm and MPI ranks through their spec. The Kubernetes
//! manifests' checks are in tests/e2e/render_k8s.rs, hostile values in
//! tests/e2e/render_hostile.rs, refusals in tests/e2e/render_errors.rs, a 10,000-rank spec in
//! tests/e2e/render_scale.rs.

use crate::common;
use crate::render_k8s::k8s_docs;

use std::path::{Path, PathBuf};

use common::{ringload_in, Ran, Scratch};

/// The spec behind the snapshots: every `[kubernetes]` feature, plus Slurm and MPI.
pub(crate) fn rich_spec() -> PathBuf {
    snapshot_spec("render-rich")
}

/// `tests/e2e/snapshots/NAME.toml`, the spec behind the snapshots in `NAME/`.
pub(crate) fn snapshot_spec(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/e2e/snapshots/{name}.toml"))
}

/// `ringload render --spec SPEC --out OUT ARGS...` in `cwd`.
pub(crate) fn render(
    cwd: &Path,
    spec: &Path,
    out: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Ran {
    let (spec, out) = (spec.to_str().unwrap(), out.to_str().unwrap());
    let mut a = vec!["render", "--spec", spec, "--out", out];
    a.extend_from_slice(args);
    ringload_in(Some(cwd), &a, env)
}

/// Writes `text` as `dir/name` and renders it for `platforms` into `dir/out-<name>`.
pub(crate) fn render_text(dir: &Path, name: &str, text: &str, platforms: &[&str]) -> PathBuf {
    std::fs::write(dir.join(name), text).unwrap();
    let out = dir.join(format!("out-{name}"));
    let mut args = Vec::new();
    for p in platforms {
        args.extend(["--platform", p]);
    }
    render(dir, Path::new(name), &out, &args, &[]).ok();
    out
}

#[test]
fn credentials_are_references_and_no_secret_is_printed() {
    const MARKER: &str = "s3cr3t-VALUE-7f1e9c";
    let dir = Scratch::new("render-secrets");
    let d = dir.path();
    let spec = "[run]\nid = \"sec-1\"\nranks = 2\n\n[target]\nprotocol = \"ais\"\n\
        endpoint = \"http://ais:51080\"\n\n[target.credentials]\nsecret = \"ais-token\"\n\
        token_env = \"MY_TOKEN\"\n\n[kubernetes]\nimage = \"ringload:dev\"\nresults_pvc = \"r\"\n\n[slurm]\nnodes = 2\n\n[mpi]\n";
    std::fs::write(d.join("run.toml"), spec).unwrap();
    let env = [
        ("MY_TOKEN", MARKER),
        ("AIS_AUTHN_TOKEN", MARKER),
        ("AWS_SECRET_ACCESS_KEY", MARKER),
    ];
    let out = d.join("out");
    let r = render(d, Path::new("run.toml"), &out, &[], &env);
    r.ok();
    r.check(
        !r.stdout().contains(MARKER) && !r.stderr().contains(MARKER),
        "render printed a secret",
    );
    let mut n = 0;
    for f in std::fs::read_dir(&out).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(MARKER),
            "a rendered file holds the secret:\n{text}"
        );
        // The spec travels with the job (ConfigMap, scripts) holding the variable's name only.
        if !path.ends_with("job.yaml") {
            assert!(text.contains("MY_TOKEN"), "the reference is kept:\n{text}");
        }
        n += 1;
    }
    assert_eq!(n, 4, "configmap.yaml, job.yaml, run.sbatch, run-mpi.sh");
    let (_, job) = k8s_docs(&out);
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["envFrom"][0]["secretRef"]["name"], "ais-token");

    // A value where a reference belongs is refused before anything is written.
    std::fs::write(
        d.join("bad.toml"),
        "[run]\nid = \"sec-2\"\n[target.credentials]\ntoken = \"abc\"\n",
    )
    .unwrap();
    let r = render(
        d,
        Path::new("bad.toml"),
        &d.join("out-bad"),
        &["--platform", "mpi"],
        &[],
    );
    r.check(r.code() == 2, "a credential value must be refused");
    r.check(
        r.stderr().contains("bad.toml:4:") && r.stderr().contains("never holds credential values"),
        "hint",
    );
    assert!(!d.join("out-bad").exists());
}

/// Every file of a directory, by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_spec_same_bytes_and_templates_override_one_file() {
    let dir = Scratch::new("render-determinism");
    let d = dir.path();
    let (a, b, c) = (d.join("a"), d.join("b"), d.join("c"));
    render(d, &rich_spec(), &a, &[], &[]).ok();
    render(d, &rich_spec(), &b, &[], &[]).ok();
    let first = files(&a);
    assert_eq!(first.len(), 4);
    assert!(first == files(&b), "two renders of one spec differ");

    let tpl = d.join("tpl");
    std::fs::create_dir_all(tpl.join("k8s")).unwrap();
    std::fs::write(
        tpl.join("k8s/job.yaml.hbs"),
        "# custom {{name}} in {{namespace}}\n",
    )
    .unwrap();
    render(
        d,
        &rich_spec(),
        &c,
        &["--templates", tpl.to_str().unwrap()],
        &[],
    )
    .ok();
    for (name, bytes) in files(&c) {
        let built_in = &first.iter().find(|f| f.0 == name).unwrap().1;
        if name == "job.yaml" {
            // The override is used, and its values are still escaped for YAML.
            assert_eq!(
                String::from_utf8(bytes).unwrap(),
                "# custom \"ringload-snap-rich\" in \"bench\"\n"
            );
        } else {
            assert!(&bytes == built_in, "{name} must stay built-in");
        }
    }
}

#[test]
fn snapshots_pin_every_platform() {
    for name in ["render-rich", "render-tls"] {
        snapshot(name);
    }
}

/// Renders `snapshots/NAME.toml` for every platform and compares with `snapshots/NAME/`.
fn snapshot(name: &str) {
    let dir = Scratch::new(name);
    let out = dir.path().join("out");
    render(dir.path(), &snapshot_spec(name), &out, &[], &[]).ok();
    let snaps = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/snapshots")
        .join(name);
    let update = std::env::var_os("RINGLOAD_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let rendered = files(&out);
    let names: Vec<&str> = rendered.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        ["configmap.yaml", "job.yaml", "run-mpi.sh", "run.sbatch"]
    );
    for (name, bytes) in &rendered {
        let snap = snaps.join(name);
        if update {
            std::fs::create_dir_all(&snaps).unwrap();
            std::fs::write(&snap, bytes).unwrap();
            continue;
        }
        let want = std::fs::read(&snap).unwrap_or_default();
        if &want != bytes {
            let (w, g) = (
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(bytes),
            );
            let line = w
                .lines()
                .zip(g.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(w.lines().count().min(g.lines().count()));
            panic!(
                "{name} differs from {} at line {}:\n  snapshot: {:?}\n  rendered: {:?}\n\
                 If the change is intended: RINGLOAD_UPDATE_SNAPSHOTS=1 cargo test --test e2e \
                 render::snapshots, then review `git diff tests/e2e/snapshots`",
                snap.display(),
                line + 1,
                w.lines().nth(line),
                g.lines().nth(line)
            );
        }
    }
}

#[test]
fn submit_hints_match_the_docs_per_platform() {
    let dir = Scratch::new("render-hints");
    let d = dir.path();
    let out = d.join("out");
    let r = render(d, &rich_spec(), &out, &[], &[]);
    r.ok();
    let o = out.display();
    let want = format!(
        "k8s: kubectl apply -f {o}   # then: kubectl -n bench wait --for=condition=complete \
         job/ringload-snap-rich --timeout=24h; the report is in snap-rich/ on the results volume\n\
         slurm: sbatch {o}/run.sbatch\n\
         mpi: sbatch {o}/run-mpi.sh\n"
    );
    r.check(r.stderr() == want, &format!("hints, want:\n{want}"));
    // Without [slurm] the MPI script has no #SBATCH lines: run it with bash.
    std::fs::write(
        d.join("mpi.toml"),
        "[run]\nid = \"mpi-1\"\nresults_dir = \"res\"\n\n[mpi]\n",
    )
    .unwrap();
    let plain = d.join("plain");
    let r = render(d, Path::new("mpi.toml"), &plain, &[], &[]);
    r.ok();
    let want = format!("mpi: bash {}/run-mpi.sh\n", plain.display());
    r.check(r.stderr() == want, &format!("hint, want:\n{want}"));
}

#[test]
fn slurm_and_mpi_ranks_get_the_tls_flags_through_their_spec() {
    use common::hostile::{recorded, run_bash, stubs};
    let dir = Scratch::new("render-tls-scripts");
    let d = dir.path();
    let text = std::fs::read_to_string(snapshot_spec("render-tls"))
        .unwrap()
        .replace("/shared/ringload-results", "results");
    std::fs::write(d.join("run.toml"), text).unwrap();
    let out = d.join("out");
    render(d, Path::new("run.toml"), &out, &[], &[]).ok();
    stubs(&d.join("bin"), "ringload");
    for (script, first) in [
        ("run.sbatch", &["srun", "--kill-on-bad-exit=0"][..]),
        ("run-mpi.sh", &["srun", "--mpi=pmix", "--ntasks=2"][..]),
    ] {
        let cwd = d.join(format!("cwd-{script}"));
        let log = d.join(format!("argv-{script}"));
        let ran = run_bash(&out.join(script), &cwd, &d.join("bin"), &log);
        assert!(ran.status.success(), "{script}: {ran:?}");
        let calls = recorded(&log);
        let rank: Vec<&str> = calls[0].iter().map(String::as_str).collect();
        let mut want = first.to_vec();
        want.extend([
            "ringload",
            "run",
            "--spec=results/snap-tls/run.toml",
            "--results-dir=results",
        ]);
        assert_eq!(rank, want, "{script}");
        // Each rank turns the spec the script wrote into `--tls-ca`, `--tls-cert` and
        // `--tls-key` with these paths, as given (src/spec_args.rs tests that mapping).
        let spec = cwd.join("results/snap-tls/run.toml");
        let toml: toml::Table = std::fs::read_to_string(&spec).unwrap().parse().unwrap();
        for (key, want) in [
            ("tls_ca", "/shared/pki/minio-ca.pem"),
            ("tls_cert", "/shared/pki/loader.crt"),
            ("tls_key", "/shared/pki/loader.key"),
        ] {
            assert_eq!(toml["target"][key].as_str(), Some(want), "{script}: {key}");
        }
    }
}
