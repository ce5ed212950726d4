//! End-to-end smoke tests of the local two-node Slurm cluster (tests/e2e/common/slurm.rs) that the
//! launcher's tests run on: batch jobs with `srun`, a failing task, `srun --mpi=pmix`, and
//! OpenMPI's `mpirun` inside an allocation. Each test starts its own cluster (they take turns).
//!
//! What was found on this machine (Debian 12: Slurm 22.05.8, OpenMPI 4.1.4, PMIx 4.2.2):
//! - `srun --mpi=pmix` needs `libpmix-dev` besides `libpmix2`: the Slurm plugin dlopens
//!   `/usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so`, which only the -dev package ships, and
//!   slurmd must be started after it is installed. It then sets `PMIX_RANK` = `SLURM_PROCID`.
//! - `mpirun --allow-run-as-root` inside the allocation needs no other flag (`--oversubscribe`
//!   is harmless: the 2 nodes x 2 tasks give 4 slots). mpirun starts one `orted` per node with
//!   `srun` (a step of its own), then places ranks by slot: ranks 0,1 on n1 and 2,3 on n2.
//! - So each mpirun-launched process sees `OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK`, `PMIX_RANK`
//!   (OpenMPI's own PMIx server, equal to the MPI rank), and the Slurm variables of the orted
//!   step, not of the batch step: `SLURM_PROCID` = `SLURM_NODEID` = the node index (0 or 1),
//!   `SLURM_NTASKS=2` (one orted per node), `SLURM_STEP_ID` of the orted's step, `SLURM_LOCALID=0`.
//!   `SLURM_PROCID` is therefore NOT the rank under mpirun: ranks 0 and 1 both see 0. A
//!   launcher must prefer `OMPI_COMM_WORLD_RANK` (or `PMIX_RANK`) over `SLURM_PROCID`.
//! - `sbatch` exports the whole environment of the test process to the job (`--export=ALL`).

use crate::common;

use std::time::Duration;

use common::slurm::{JobEnd, SlurmCluster};
use common::Scratch;

/// Runs `body` as a batch script over 2 nodes x 2 tasks on a fresh cluster, at most 60 s.
fn job(body: &str) -> JobEnd {
    let cluster = SlurmCluster::start();
    let work = Scratch::new("slurm-job");
    let script = work.path().join("job.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n#SBATCH --nodes=2 --ntasks-per-node=2\n{body}\n"),
    )
    .unwrap();
    let id = cluster.sbatch(&script, work.path(), &[]);
    cluster.wait(id, Duration::from_secs(60))
}

/// The values of `key=` on the output lines that have it, sorted.
fn values(end: &JobEnd, key: &str) -> Vec<String> {
    let mut v: Vec<String> = end
        .output
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        })
        .collect();
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn two_nodes_two_tasks_each() {
    let end = job("srun sh -c 'echo rank=$SLURM_PROCID of=$SLURM_NTASKS node=$SLURM_NODEID'");
    assert_eq!(end.state, "COMPLETED", "{end:?}");
    assert_eq!(end.exit_code, "0:0", "{end:?}");
    assert_eq!(end.output.lines().count(), 4, "{end:?}");
    assert_eq!(values(&end, "rank"), strs(&["0", "1", "2", "3"]), "{end:?}");
    assert_eq!(values(&end, "of"), strs(&["4"; 4]), "{end:?}");
    assert_eq!(values(&end, "node"), strs(&["0", "0", "1", "1"]), "{end:?}");
}

#[test]
fn a_failed_task_fails_the_job() {
    let end = job("srun sh -c 'echo rank=$SLURM_PROCID; [ $SLURM_PROCID != 1 ]'");
    assert_eq!(end.state, "FAILED", "{end:?}");
    assert_ne!(end.exit_code, "0:0", "{end:?}");
    assert!(
        end.output.contains("task 1: Exited with exit code 1"),
        "{end:?}"
    );
    assert_eq!(values(&end, "rank"), strs(&["0", "1", "2", "3"]), "{end:?}");
}

#[test]
fn srun_pmix_sets_pmix_rank() {
    let end = job("srun --mpi=pmix sh -c 'echo pmix=$PMIX_RANK procid=$SLURM_PROCID'");
    assert_eq!(end.state, "COMPLETED", "{end:?}");
    assert_eq!(values(&end, "pmix"), strs(&["0", "1", "2", "3"]), "{end:?}");
    for l in end.output.lines().filter(|l| l.starts_with("pmix=")) {
        let (p, s) = l.split_once(' ').unwrap();
        assert_eq!(p["pmix=".len()..], s["procid=".len()..], "{end:?}");
    }
}

#[test]
fn mpirun_inside_allocation() {
    let end = job("mpirun --allow-run-as-root -np 4 --oversubscribe sh -c \
         'echo rank=$OMPI_COMM_WORLD_RANK size=$OMPI_COMM_WORLD_SIZE pmix=$PMIX_RANK \
         procid=$SLURM_PROCID node=$SLURM_NODEID'");
    assert_eq!(end.state, "COMPLETED", "{end:?}");
    assert_eq!(values(&end, "rank"), strs(&["0", "1", "2", "3"]), "{end:?}");
    assert_eq!(values(&end, "size"), strs(&["4"; 4]), "{end:?}");
    assert_eq!(values(&end, "pmix"), strs(&["0", "1", "2", "3"]), "{end:?}");
    // SLURM_PROCID comes from the orted step: the node index, shared by two ranks.
    assert_eq!(
        values(&end, "procid"),
        strs(&["0", "0", "1", "1"]),
        "{end:?}"
    );
    assert_eq!(values(&end, "procid"), values(&end, "node"), "{end:?}");
}
