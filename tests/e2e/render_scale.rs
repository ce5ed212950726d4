//! `ringload render` at scale, through the real binary: a 10,000-rank spec renders for
//! Kubernetes, Slurm and MPI in under a second each, and what it renders is valid and scaled.
//! The manifests pass `kubernetes-validate --strict` (1.30 and the newest schemas installed)
//! and say completions = parallelism = 10,000 in Indexed mode, with the spec (ranks, barrier)
//! in the ConfigMap; the Slurm script asks for nodes × tasks per node = 10,000 tasks and the
//! MPI script for `-np 10000`, and both, run against stub `srun`, `mpirun` and `ringload`
//! executables, start the ranks once and then merge, writing the same spec.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::hostile::{recorded, run_bash, stubs};
use common::{kube, ringload_in, Scratch};
use serde_json::Value;

const RANKS: u64 = 10_000;

/// A 10,000-rank spec with every platform section: 1,250 Slurm nodes × 8 tasks.
const SPEC: &str = r#"[run]
id = "scale-10k"
ranks = 10000
barrier = true
results_dir = "results"

[target]
protocol = "ais"
endpoint = "http://ais-proxy.ais.svc.cluster.local:51080"
bucket = "ais://bench"

[workload]
pctput = 0
numworkers = 4
duration = "1m"

[kubernetes]
image = "ghcr.io/acme/ringload:0.1.0"
namespace = "bench"
results_pvc = "ringload-results"
resources = { requests = { cpu = "1", memory = "1Gi" } }

[slurm]
nodes = 1250
tasks_per_node = 8
partition = "debug"

[mpi]
launcher = "mpirun"
args = ["--oversubscribe"]
"#;

/// Each render must take less than this, wall, process start to exit. A render does no
/// per-rank work: on a loaded 2-CPU machine the debug binary takes ~15–50 ms.
const BAR: Duration = Duration::from_secs(1);

/// Renders `spec` for `platform` into `dir/out-<platform>` three times (a fresh directory
/// each time, every run must succeed) and returns the directory and the fastest wall time.
fn timed_render(dir: &Path, platform: &str) -> (PathBuf, Duration) {
    let mut best = Duration::MAX;
    let mut out = PathBuf::new();
    for i in 0..3 {
        out = dir.join(format!("out-{platform}-{i}"));
        let o = out.to_str().unwrap();
        let t = Instant::now();
        let r = ringload_in(
            Some(dir),
            &[
                "render",
                "--spec",
                "scale.toml",
                "--platform",
                platform,
                "--out",
                o,
            ],
            &[],
        );
        let took = t.elapsed();
        r.ok();
        best = best.min(took);
    }
    (out, best)
}

fn one_doc(d: &Value) -> Value {
    let a = d.as_array().unwrap();
    assert_eq!(a.len(), 1, "one document per file: {d}");
    a[0].clone()
}

/// Runs a rendered script against the stubs in `dir/bin`; returns the calls they recorded
/// and the run.toml the script wrote.
fn run_script(dir: &Path, script: &Path, tag: &str) -> (Vec<Vec<String>>, String) {
    let cwd = dir.join(format!("cwd-{tag}"));
    let log = dir.join(format!("argv-{tag}"));
    let out = run_bash(script, &cwd, &dir.join("bin"), &log);
    assert!(
        out.status.success(),
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let spec = std::fs::read_to_string(cwd.join("results/scale-10k/run.toml")).unwrap();
    (recorded(&log), spec)
}

/// The `#SBATCH` lines of a script, without the prefix.
fn directives(script: &str) -> Vec<&str> {
    script
        .lines()
        .filter_map(|l| l.strip_prefix("#SBATCH "))
        .collect()
}

/// `ranks` and `barrier` of a rendered spec.
fn shape(toml_text: &str) -> (Option<i64>, Option<bool>) {
    let t: toml::Table = toml_text.parse().unwrap();
    let run = &t["run"];
    (
        run.get("ranks").and_then(toml::Value::as_integer),
        run.get("barrier").and_then(toml::Value::as_bool),
    )
}

#[test]
fn ten_thousand_ranks_render_in_under_a_second_for_every_platform() {
    let dir = Scratch::new("render-scale");
    let d = dir.path();
    std::fs::write(d.join("scale.toml"), SPEC).unwrap();
    let want_shape = (Some(RANKS as i64), Some(true));

    let mut took = Vec::new();
    let (k8s, t) = timed_render(d, "k8s");
    took.push(("k8s", t));
    let (slurm, t) = timed_render(d, "slurm");
    took.push(("slurm", t));
    let (mpi, t) = timed_render(d, "mpi");
    took.push(("mpi", t));
    for (p, t) in &took {
        assert!(
            *t < BAR,
            "render of {RANKS} ranks for {p} took {t:?} (fastest of 3), over {BAR:?}: {took:?}"
        );
    }

    // Kubernetes: valid objects, one Indexed Job of 10,000 pods, the spec in the ConfigMap.
    let files = vec![k8s.join("configmap.yaml"), k8s.join("job.yaml")];
    let newest = kube::newest_version();
    for v in ["1.30.0", newest.as_str()] {
        kube::validate(&files, v);
    }
    let docs = kube::yaml_docs_many(&files);
    let (cm, job) = (one_doc(&docs[0]), one_doc(&docs[1]));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed", "{job:#}");
    assert_eq!(spec["completions"].as_u64(), Some(RANKS), "{job:#}");
    assert_eq!(spec["parallelism"].as_u64(), Some(RANKS), "{job:#}");
    assert_eq!(spec["backoffLimit"].as_u64(), Some(0), "{job:#}");
    let cm_spec = cm["data"]["run.toml"].as_str().unwrap();
    assert_eq!(shape(cm_spec), want_shape, "{cm_spec}");

    // Slurm: nodes × tasks per node = ranks; one srun for every task, then the merge.
    stubs(&d.join("bin"), "ringload");
    let sbatch = std::fs::read_to_string(slurm.join("run.sbatch")).unwrap();
    let lines = directives(&sbatch);
    let num = |key: &str| -> u64 {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no #SBATCH {key}N in\n{sbatch}"))
            .parse()
            .unwrap()
    };
    assert_eq!(
        num("--nodes=") * num("--ntasks-per-node="),
        RANKS,
        "{sbatch}"
    );
    let (calls, slurm_spec) = run_script(d, &slurm.join("run.sbatch"), "slurm");
    let run_args = [
        "ringload",
        "run",
        "--spec=results/scale-10k/run.toml",
        "--results-dir=results",
    ];
    let merge = vec!["ringload", "merge", "--", "results/scale-10k"];
    let mut srun = vec!["srun", "--kill-on-bad-exit=0"];
    srun.extend(run_args);
    assert_eq!(calls, vec![srun, merge.clone()]);
    assert_eq!(shape(&slurm_spec), want_shape, "{slurm_spec}");

    // MPI: `mpirun -np 10000`, then the merge.
    let script = std::fs::read_to_string(mpi.join("run-mpi.sh")).unwrap();
    assert_eq!(
        directives(&script),
        lines,
        "both scripts carry the [slurm] lines"
    );
    let (calls, mpi_spec) = run_script(d, &mpi.join("run-mpi.sh"), "mpi");
    let np = RANKS.to_string();
    let mut mpirun = vec!["mpirun", "-np", np.as_str(), "--oversubscribe"];
    mpirun.extend(run_args);
    assert_eq!(calls, vec![mpirun, merge]);
    assert_eq!(mpi_spec, slurm_spec, "both scripts write the same spec");
    assert_eq!(mpi_spec, cm_spec, "the ConfigMap carries the same spec");
}
