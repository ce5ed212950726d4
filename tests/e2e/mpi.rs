//! A rendered MPI script run for real: `ringload render --platform mpi` writes run-mpi.sh,
//! which starts 4 ranks on this machine with OpenMPI's `mpirun --oversubscribe`, each taking
//! its rank from `OMPI_COMM_WORLD_RANK`, then merges. The merged counts must equal the sum of
//! the ranks and what the target stored. OpenMPI (`mpirun`) must be installed (`.ci/run` does
//! it); without it the test fails.

use crate::common;

use std::process::Command;

use common::cluster::Cluster;
use common::{op, result, ringload, Scratch};

#[test]
fn rendered_mpirun_script_runs_four_ranks_and_merges() {
    let mpirun = Command::new("mpirun").arg("--version").output();
    assert!(
        mpirun.is_ok_and(|o| o.status.success()),
        "mpirun is missing: install openmpi-bin (.ci/run does)"
    );
    let _machine = common::serial::slurm_and_mpi();
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("mpi");
    let res = dir.path().join("results");
    let spec = dir.path().join("mpi.toml");
    std::fs::write(
        &spec,
        format!(
            "[run]\nid = \"mpi-4\"\nranks = 4\nresults_dir = {res:?}\nringload = {:?}\n\
             [target]\nprotocol = \"ais\"\nendpoint = {:?}\nbucket = \"ais://mpi\"\n\
             [workload]\npctput = 100\nmaxputs = 25\nminsize = \"2KiB\"\nmaxsize = \"8KiB\"\n\
             numworkers = 2\ncores = 1\n\
             [mpi]\nlauncher = \"mpirun\"\nargs = [\"--oversubscribe\", \"--allow-run-as-root\"]\n",
            env!("CARGO_BIN_EXE_ringload"),
            c.proxies[0]
        ),
    )
    .unwrap();
    let out = dir.path().join("job");
    ringload(&[
        "render",
        "--spec",
        spec.to_str().unwrap(),
        "--platform",
        "mpi",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let run = Command::new("timeout")
        .args(["120", "bash"])
        .arg(out.join("run-mpi.sh"))
        .current_dir(dir.path())
        .env_remove("SLURM_PROCID")
        .env_remove("SLURM_NTASKS")
        .output()
        .unwrap();
    let text = format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "run-mpi.sh failed:\n{text}");
    let run_dir = res.join("mpi-4");
    let mut sum = 0;
    for r in 0..4 {
        let doc = result(&run_dir.join(format!("rank-{r}.json")));
        assert_eq!(doc["rank"], r, "{text}");
        assert_eq!(doc["ranks"], 4);
        sum += op(&doc, "put", "count");
    }
    assert_eq!(sum, 100, "4 ranks x 25 PUTs");
    let summary = result(&run_dir.join("summary.json"));
    assert_eq!(
        summary["ops"]["put"]["count"], 100,
        "the merge is the sum: {text}"
    );
    assert_eq!(
        Cluster::sum(&c.targets, "put"),
        100,
        "the targets stored the sum"
    );
    assert!(
        text.contains("OMPI_COMM_WORLD_RANK"),
        "ranks came from MPI:\n{text}"
    );
}
