//! ringload on a real Slurm cluster (two virtual nodes, tests/e2e/common/slurm.rs): a spec is
//! rendered into an sbatch script for 2 nodes × 2 tasks, submitted with `sbatch` against an
//! AIS-like target on loopback, and the script's merge must equal the sum of the 4 ranks, which
//! must equal what the target stored. Then the same with rank 1 forced to fail: the job fails
//! and the merged report names rank 1. Last, the MPI script's `srun --mpi=pmix` variant, with
//! ranks from `PMIX_RANK`. Slurm must be installed (`.ci/run` does it); without it the test
//! fails.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::cluster::Cluster;
use common::slurm::SlurmCluster;
use common::{op, result, ringload, Scratch};

/// Writes the spec of run `id` and renders its sbatch script into `dir/<id>-job/` (or, with
/// `mpi`, its MPI script with `srun --mpi=pmix`).
fn render(dir: &Path, id: &str, ringload_bin: &str, endpoint: &str) -> std::path::PathBuf {
    render_as(dir, id, ringload_bin, endpoint, false)
}

fn render_as(
    dir: &Path,
    id: &str,
    ringload_bin: &str,
    endpoint: &str,
    mpi: bool,
) -> std::path::PathBuf {
    let res = dir.join("results");
    let spec = dir.join(format!("{id}.toml"));
    std::fs::write(
        &spec,
        format!(
            "[run]\nid = {id:?}\nranks = 4\nresults_dir = {res:?}\nringload = {ringload_bin:?}\n\
             [target]\nprotocol = \"ais\"\nendpoint = {endpoint:?}\nbucket = \"ais://slurm\"\n\
             [workload]\npctput = 100\nmaxputs = 30\nminsize = \"1KiB\"\nmaxsize = \"16KiB\"\n\
             numworkers = 2\ncores = 1\n\
             [slurm]\nnodes = 2\ntasks_per_node = 2\npartition = \"debug\"\ntime = \"5\"\n\
             [mpi]\nlauncher = \"srun\"\n"
        ),
    )
    .unwrap();
    let out = dir.join(format!("{id}-job"));
    ringload(&[
        "render",
        "--spec",
        spec.to_str().unwrap(),
        "--platform",
        if mpi { "mpi" } else { "slurm" },
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    out.join(if mpi { "run-mpi.sh" } else { "run.sbatch" })
}

#[test]
fn sbatch_runs_four_ranks_merges_exactly_and_names_a_failed_rank() {
    let slurm = SlurmCluster::start();
    let target = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("slurm-ringload");
    let bin = env!("CARGO_BIN_EXE_ringload");

    // 1. Four ranks, each 30 PUTs with names of its own.
    let script = render(dir.path(), "ok-4", bin, &target.proxies[0]);
    let id = slurm.sbatch(&script, dir.path(), &[]);
    let end = slurm.wait(id, Duration::from_secs(120));
    assert_eq!(end.state, "COMPLETED", "job output:\n{}", end.output);
    let run_dir = dir.path().join("results").join("ok-4");
    let (mut count, mut bytes) = (0, 0);
    for r in 0..4 {
        let doc = result(&run_dir.join(format!("rank-{r}.json")));
        assert_eq!(doc["status"], "completed");
        assert_eq!(op(&doc, "put", "count"), 30, "rank {r}");
        count += op(&doc, "put", "count");
        bytes += op(&doc, "put", "bytes");
    }
    let summary = result(&run_dir.join("summary.json"));
    assert_eq!(
        summary["ops"]["put"]["count"], count,
        "merge = sum of the ranks"
    );
    assert_eq!(
        summary["ops"]["put"]["bytes"], bytes,
        "merge = sum of the ranks"
    );
    assert_eq!(summary["ranks_present"], 4);
    assert_eq!(
        Cluster::sum(&target.targets, "put"),
        count,
        "the target stored the sum"
    );
    let received: u64 = target
        .targets
        .iter()
        .map(|u| Cluster::stats(u)["bytes_received"].as_u64().unwrap())
        .sum();
    assert!(
        received >= bytes,
        "the targets received at least the PUT bodies"
    );
    assert!(
        end.output.contains("run ok-4: 4 of 4 ranks"),
        "{}",
        end.output
    );

    // 2. Rank 1 is pointed at a dead endpoint by a wrapper around the binary.
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let wrapper = dir.path().join("ringload-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = run ] && [ \"$SLURM_PROCID\" = 1 ]; then\n  \
             exec {bin} \"$@\" --endpoint {dead}\nfi\nexec {bin} \"$@\"\n"
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", wrapper.to_str().unwrap()])
        .status()
        .unwrap();
    let script = render(
        dir.path(),
        "fail-1",
        wrapper.to_str().unwrap(),
        &target.proxies[0],
    );
    let id = slurm.sbatch(&script, dir.path(), &[]);
    let end = slurm.wait(id, Duration::from_secs(120));
    assert_eq!(end.state, "FAILED", "job output:\n{}", end.output);
    let run_dir = dir.path().join("results").join("fail-1");
    let doc = result(&run_dir.join("rank-1.json"));
    assert_eq!(doc["status"], "failed", "rank 1 recorded its failure");
    let txt = std::fs::read_to_string(run_dir.join("summary.txt")).unwrap();
    assert!(txt.starts_with("PARTIAL MERGE"), "{txt}");
    assert!(
        txt.contains("rank 1 (rank-1.json) has status 'failed'"),
        "the report names rank 1:\n{txt}"
    );
    assert!(end.output.contains("the job failed"), "{}", end.output);

    // 3. The MPI script with `srun --mpi=pmix`, submitted with sbatch: ranks from PMIX_RANK.
    let before = Cluster::sum(&target.targets, "put");
    let script = render_as(dir.path(), "pmix-4", bin, &target.proxies[0], true);
    let id = slurm.sbatch(&script, dir.path(), &[]);
    let end = slurm.wait(id, Duration::from_secs(120));
    assert_eq!(end.state, "COMPLETED", "job output:\n{}", end.output);
    assert!(end.output.contains("(from PMIX_RANK)"), "{}", end.output);
    let summary = result(
        &dir.path()
            .join("results")
            .join("pmix-4")
            .join("summary.json"),
    );
    assert_eq!(summary["ops"]["put"]["count"], 120, "4 ranks x 30");
    assert_eq!(Cluster::sum(&target.targets, "put") - before, 120);
}
