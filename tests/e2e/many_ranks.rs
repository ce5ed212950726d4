//! Many ranks on one machine: 64 separate `ringload run --spec s.toml --rank R --cores 1`
//! processes from one spec (`barrier = true`, results on the local disk) load one built-in
//! target; all complete, `ringload merge` names the 64 ranks, they started within a second of
//! each other, and each rank's barrier lookups grew with its wait, not with the number of
//! ranks. The 256- to 1,024-rank figures are a benchmark (benches/barrier_scale.py).

use crate::common;

use std::fs::File;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{result, serial, Run, Scratch, Serve};

const RANKS: u32 = 64;

/// How long all ranks may take, from the first start to the last exit, before they are killed.
const BOUND: Duration = Duration::from_secs(90);

/// Starts rank `r`, its stderr to `<dir>/rank-<r>.err`; no scheduler variable picks its rank.
fn spawn_rank(spec: &Path, r: u32, dir: &Path) -> Child {
    let err = File::create(dir.join(format!("rank-{r}.err"))).unwrap();
    let run = [
        "SLURM_PROCID",
        "SLURM_NTASKS",
        "OMPI_COMM_WORLD_RANK",
        "PMIX_RANK",
        "JOB_COMPLETION_INDEX",
    ]
    .into_iter()
    .fold(
        Run::new().spec(spec.to_str().unwrap()).rank(r).cores(1),
        Run::env_remove,
    );
    run.command()
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("start a rank")
}

/// Waits for every child until `deadline`; kills them all if it passes. Returns exit codes.
fn wait_all(mut children: Vec<Child>, deadline: Instant) -> Vec<i32> {
    let mut codes: Vec<Option<i32>> = vec![None; children.len()];
    while codes.iter().any(Option::is_none) {
        for (c, code) in children.iter_mut().zip(codes.iter_mut()) {
            if code.is_none() {
                if let Some(s) = c.try_wait().unwrap() {
                    *code = Some(s.code().unwrap_or(-1));
                }
            }
        }
        if Instant::now() >= deadline && codes.iter().any(Option::is_none) {
            for c in &mut children {
                let _ = c.kill();
                let _ = c.wait();
            }
            let left = codes.iter().filter(|c| c.is_none()).count();
            panic!("{left} of {RANKS} ranks were still running after {BOUND:?}; killed them");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    codes.into_iter().map(Option::unwrap).collect()
}

#[test]
fn sixty_four_ranks_pass_the_barrier_together_and_merge() {
    // 64 processes want both cores for a few seconds, like the Slurm and MPI tests.
    let _machine = serial::slurm_and_mpi();
    let began = Instant::now();
    let serve = Serve::start(&[]);
    let dir = Scratch::new("many-ranks");
    let res = dir.path().join("results");
    let spec = dir.path().join("s.toml");
    std::fs::write(
        &spec,
        format!(
            "[run]\nid = \"many\"\nranks = {RANKS}\nbarrier = true\nbarrier_timeout = \"60s\"\n\
             results_dir = {res:?}\n[target]\nprotocol = \"http\"\nendpoint = {:?}\n\
             [workload]\nduration = \"2s\"\nnumworkers = 1\npctput = 100\nminsize = \"1KiB\"\n\
             maxsize = \"1KiB\"\n",
            serve.url
        ),
    )
    .unwrap();
    let children: Vec<Child> = (0..RANKS)
        .map(|r| spawn_rank(&spec, r, dir.path()))
        .collect();
    let codes = wait_all(children, began + BOUND);
    let stderr = |r: u32| std::fs::read_to_string(dir.path().join(format!("rank-{r}.err")));
    for (r, code) in (0..RANKS).zip(&codes) {
        assert_eq!(*code, 0, "rank {r} failed:\n{}", stderr(r).unwrap());
    }
    let e0 = stderr(0).unwrap();
    assert!(
        e0.contains("note: all 64 ranks checked in (waited "),
        "{e0}"
    );

    let run_dir = res.join("many");
    let merged = common::ringload(&["merge", run_dir.to_str().unwrap()]);
    merged.ok();
    let summary = result(&run_dir.join("summary.json"));
    merged.check(
        summary["ranks_present"] == RANKS,
        "the merge names 64 ranks",
    );
    merged.check(
        summary["ranks_missing"] == serde_json::json!([]),
        "none missing",
    );
    merged.check(summary["partial"] == false, "not partial");
    let skew = summary["start_skew_ns"].as_u64().unwrap();
    merged.check(
        skew < 1_000_000_000,
        &format!("the ranks started within 1 s of each other, not {skew} ns"),
    );

    // Each rank's lookups: the directory, its check-in, then at most two a poll (rank 0 lists
    // the barrier and run directories; the others open the gate, and now and then look for
    // rank 0's result), and rank 0's gate (two): so they follow the wait, not the ranks.
    let mut total = 0;
    for r in 0..RANKS {
        let doc = result(&run_dir.join(format!("rank-{r}.json")));
        let waited = doc["barrier"]["waited_s"].as_f64().unwrap();
        let lookups = doc["barrier"]["lookups"].as_u64().unwrap();
        let polls = (waited / 0.1) as u64 + 1;
        assert!(
            (4..=6 + 2 * polls).contains(&lookups),
            "rank {r}: {lookups} lookups in {waited} s at the barrier"
        );
        total += lookups;
    }
    let wall = began.elapsed();
    eprintln!(
        "many_ranks: {RANKS} ranks, start skew {:.3} s, {total} barrier lookups, {:.1} s wall",
        skew as f64 / 1e9,
        wall.as_secs_f64()
    );
    assert!(wall < BOUND, "took {wall:?}");
}
