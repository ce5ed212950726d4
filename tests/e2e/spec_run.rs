//! `ringload run --spec` end to end: specs drive real runs, ranks come from flags or the
//! scheduler's environment, ranks of one run write disjoint names, `sampler = "distributed"`
//! reads each object exactly once per epoch across the ranks, the start barrier and rank 0's
//! `--merge` coordinate through the results directory, bad specs fail with a line number, and
//! a spec's TLS keys are refused by the run exactly as their flags are.

use crate::common;

use std::path::Path;
use std::process::{Child, Stdio};

use common::cluster::Cluster;
use common::{result, Run, Scratch};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Starts one rank in the background, with none of the variables a rank takes its number from
/// unless `run` sets them.
fn spawn_rank(run: Run) -> Child {
    let rank_vars = [
        "SLURM_PROCID",
        "SLURM_NTASKS",
        "OMPI_COMM_WORLD_RANK",
        "PMIX_RANK",
        "JOB_COMPLETION_INDEX",
    ];
    let run = rank_vars.into_iter().fold(run, Run::env_remove);
    let mut c = run.command();
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("start a rank")
}

/// Waits for a rank; returns (exit code, stderr).
fn finish(c: Child) -> (i32, String) {
    let out = c.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn two_ranks_fill_then_read_each_object_once_per_epoch() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let dir = Scratch::new("spec-dist");
    let res = dir.path().join("results");
    let fill = write(
        dir.path(),
        "fill.toml",
        &format!(
            "[run]\nid = \"fill\"\nranks = 2\nbarrier = true\nbarrier_timeout = \"30s\"\n\
             results_dir = {res:?}\n\n[target]\nprotocol = \"ais\"\nendpoint = {:?}\n\
             bucket = \"ais://dist\"\n\n[workload]\npctput = 100\nmaxputs = 60\n\
             minsize = \"4KiB\"\nmaxsize = \"4KiB\"\nnumworkers = 4\n",
            c.proxies[0]
        ),
    );
    let r0 = spawn_rank(Run::new().spec(&fill).rank(0).flag("--merge"));
    let r1 = spawn_rank(Run::new().spec(&fill).rank(1));
    let ((c1, e1), (c0, e0)) = (finish(r1), finish(r0));
    assert_eq!(c1, 0, "rank 1 failed:\n{e1}");
    assert_eq!(c0, 0, "rank 0 failed:\n{e0}");
    assert!(
        e0.contains("all 2 ranks checked in"),
        "barrier passed:\n{e0}"
    );
    let run_dir = res.join("fill");
    let puts: Vec<u64> = (0..2)
        .map(|r| {
            common::op(
                &result(&run_dir.join(format!("rank-{r}.json"))),
                "put",
                "count",
            )
        })
        .collect();
    assert_eq!(puts, [60, 60], "each rank PUT its 60");
    let summary = result(&run_dir.join("summary.json"));
    assert_eq!(
        summary["ops"]["put"]["count"], 120,
        "rank 0 merged: {summary}"
    );
    assert_eq!(Cluster::sum(&c.targets, "put"), 120, "targets stored 120");

    // Read it back: 2 epochs, each object once per epoch across the two ranks. Ranks come from
    // the schedulers' variables this time.
    let read = write(
        dir.path(),
        "read.toml",
        &format!(
            "[run]\nid = \"read\"\nranks = 2\nresults_dir = {res:?}\n\n[target]\n\
             protocol = \"ais\"\nendpoint = {:?}\nbucket = \"ais://dist\"\n\n[workload]\n\
             pctput = 0\nepochs = 2\nsampler = \"distributed\"\nverifyhash = true\n\
             numworkers = 4\n",
            c.proxies[0]
        ),
    );
    let gets_before = Cluster::sum(&c.targets, "get");
    let r0 = spawn_rank(Run::new().spec(&read).env("JOB_COMPLETION_INDEX", "0"));
    let r1 = spawn_rank(
        Run::new()
            .spec(&read)
            .env("SLURM_PROCID", "1")
            .env("SLURM_NTASKS", "2"),
    );
    let ((c0, e0), (c1, e1)) = (finish(r0), finish(r1));
    assert_eq!(c0, 0, "rank 0 failed:\n{e0}");
    assert_eq!(c1, 0, "rank 1 failed:\n{e1}");
    assert!(
        e0.contains("over 120 names"),
        "ranks wrote disjoint names:\n{e0}"
    );
    assert!(e1.contains("rank 1 of 2 (from SLURM_PROCID)"), "{e1}");
    let mut total = 0;
    for r in 0..2 {
        let doc = result(&res.join("read").join(format!("rank-{r}.json")));
        assert_eq!(doc["workload"]["sampler"], "distributed");
        assert_eq!(common::op(&doc, "get", "errors"), 0);
        let n = common::op(&doc, "get", "count");
        assert_eq!(n, 120, "rank {r} read its shard of 60 names twice");
        total += n;
    }
    assert_eq!(total, 240, "2 epochs x 120 objects");
    assert_eq!(
        Cluster::sum(&c.targets, "get") - gets_before,
        240,
        "targets served 240 GETs"
    );
}

#[test]
fn flags_override_the_spec_and_results_are_never_overwritten() {
    let dir = Scratch::new("spec-override");
    let res = dir.path().join("r");
    let spec = write(
        dir.path(),
        "s.toml",
        &format!(
            "[run]\nid = \"base\"\nresults_dir = {res:?}\n[workload]\nduration = \"1s\"\n\
             numworkers = 4\nminsize = \"1KiB\"\nmaxsize = \"1KiB\"\nprefill = 50\n"
        ),
    );
    let run = Run::new()
        .spec(&spec)
        .workers(2)
        .arg("--run-id", "other")
        .run();
    run.ok();
    let doc = result(&res.join("other").join("rank-0.json"));
    run.check(
        doc["workload"]["numworkers"] == 2,
        "the flag won over the spec",
    );
    run.check(doc["run_id"] == "other", "run id from the flag");
    let escape = Run::new().spec(&spec).arg("--run-id", "../up").run();
    escape.check(escape.code() == 2, "a run id is one directory name");
    let again = Run::new().spec(&spec).arg("--run-id", "other").run();
    again.check(again.code() == 2, "refuses to overwrite a result");
    again.check(again.stderr().contains("never overwritten"), "says why");
}

#[test]
fn bad_specs_name_the_file_and_line() {
    let dir = Scratch::new("spec-bad");
    let spec = write(
        dir.path(),
        "bad.toml",
        "[run]\nid = \"x\"\n[workload]\nnumworker = 4\n",
    );
    let run = Run::new().spec(&spec).run();
    run.check(run.code() == 2, "exit 2");
    run.check(run.stderr().contains("bad.toml:4:1"), "file:line");
    run.check(run.stderr().contains("--numworkers"), "suggests the flag");
    let res = dir.path().join("r");
    let spec = write(
        dir.path(),
        "ranks.toml",
        &format!(
            "[run]\nid = \"x\"\nranks = 3\nresults_dir = {res:?}\n[workload]\n\
             duration = \"1s\"\nnumworkers = 2\nminsize = \"1KiB\"\nmaxsize = \"1KiB\"\n\
             prefill = 20\n"
        ),
    );
    // On a laptop (no --rank, no scheduler) the spec runs as one rank.
    let run = Run::new().spec(&spec).run();
    run.ok();
    run.check(
        run.stderr().contains("running the spec as one rank"),
        "says so",
    );
    run.check(
        result(&res.join("x").join("rank-0.json"))["ranks"] == 1,
        "rank 0 of 1",
    );
    let run = Run::new().spec(&spec).arg("--run-id", "y").rank(5).run();
    run.check(run.code() == 2, "a rank beyond the ranks is refused");
    let run = Run::new()
        .spec(&spec)
        .arg("--run-id", "z")
        .rank(1)
        .protocol("ais")
        .flag("--cleanup")
        .run();
    run.check(run.code() == 2, "--cleanup is refused with several ranks");
    run.check(
        run.stderr()
            .contains("remove the bucket once after the job"),
        "says what to do",
    );
}

#[test]
fn a_missing_rank_fails_the_barrier_and_the_merge_by_name() {
    let dir = Scratch::new("spec-missing");
    let res = dir.path().join("r");
    let spec = write(
        dir.path(),
        "s.toml",
        &format!(
            "[run]\nid = \"lonely\"\nranks = 2\nresults_dir = {res:?}\nbarrier = true\n\
             barrier_timeout = \"1s\"\nmerge_timeout = \"1s\"\n[workload]\nduration = \"1s\"\n\
             numworkers = 2\nminsize = \"1KiB\"\nmaxsize = \"1KiB\"\nprefill = 20\n"
        ),
    );
    let run = Run::new().spec(&spec).rank(0).run();
    run.check(run.code() == 1, "the barrier times out with exit 1");
    run.check(
        run.stderr().contains("1 of 2 ranks had not checked in (1;"),
        "names rank 1",
    );
    // Without the barrier, rank 0 runs, waits for rank 1's result, and merges what is there.
    let spec2 = spec.replace("s.toml", "s2.toml");
    std::fs::write(
        &spec2,
        std::fs::read_to_string(&spec)
            .unwrap()
            .replace("barrier = true\n", ""),
    )
    .unwrap();
    let run = Run::new()
        .spec(&spec2)
        .rank(0)
        .arg("--run-id", "partial2")
        .flag("--merge")
        .run();
    run.check(run.code() == 1, "a partial merge exits 1");
    run.check(
        run.stderr()
            .contains("1 of 2 ranks had written no result (1)"),
        "names rank 1",
    );
    let summary = result(&res.join("partial2").join("summary.json"));
    run.check(summary["partial"] == true, "the report is marked partial");
    let txt = std::fs::read_to_string(res.join("partial2").join("summary.txt")).unwrap();
    run.check(txt.contains("rank 1"), "summary.txt names the missing rank");
}

#[test]
fn a_rank_that_cannot_reach_its_target_is_named_failed_by_the_merge() {
    let dir = Scratch::new("spec-unreach");
    let res = dir.path().join("r");
    let spec = write(
        dir.path(),
        "s.toml",
        &format!(
            "[run]\nid = \"unreach\"\nranks = 2\nresults_dir = {res:?}\nmerge_timeout = \"30s\"\n\
             [workload]\nduration = \"1s\"\nnumworkers = 2\nminsize = \"1KiB\"\n\
             maxsize = \"1KiB\"\nprefill = 20\n"
        ),
    );
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let r1 = Run::new()
        .spec(&spec)
        .rank(1)
        .pctput(100)
        .endpoint(&dead)
        .run();
    r1.check(r1.code() == 1, "the unreachable rank fails");
    let doc = result(&res.join("unreach").join("rank-1.json"));
    r1.check(
        doc["status"] == "failed" && doc["stop_reason"] == "unreachable",
        "recorded",
    );
    let r0 = Run::new().spec(&spec).rank(0).flag("--merge").run();
    r0.check(r0.code() == 1, "rank 0's merge fails the run");
    let txt = std::fs::read_to_string(res.join("unreach").join("summary.txt")).unwrap();
    r0.check(
        txt.contains("rank 1 (rank-1.json) has status 'failed' (stop_reason 'unreachable')"),
        "the report names the failed rank and why",
    );
}

#[test]
fn sigterm_while_rank_0_waits_merges_what_is_there_at_once() {
    let dir = Scratch::new("spec-sigterm");
    let res = dir.path().join("r");
    let spec = write(
        dir.path(),
        "s.toml",
        &format!(
            "[run]\nid = \"term\"\nranks = 3\nresults_dir = {res:?}\nmerge_timeout = \"10m\"\n\
             [workload]\nduration = \"1s\"\nnumworkers = 2\nminsize = \"1KiB\"\n\
             maxsize = \"1KiB\"\nprefill = 20\n"
        ),
    );
    let r1 = Run::new().spec(&spec).rank(1).run();
    r1.ok();
    let started = std::time::Instant::now();
    let r0 = spawn_rank(Run::new().spec(&spec).rank(0).flag("--merge"));
    let rank0_file = res.join("term").join("rank-0.json");
    while !rank0_file.exists() && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signals the child this test started; kill takes no pointers; the child is not reaped yet, so its pid cannot have been
    // reused by another process.
    unsafe { libc::kill(r0.id() as i32, libc::SIGTERM) };
    let (code, err) = finish(r0);
    let took = started.elapsed().as_secs_f64();
    assert_eq!(code, 1, "a partial merge exits 1:\n{err}");
    assert!(
        took < 20.0,
        "did not wait out merge_timeout: {took:.1} s\n{err}"
    );
    assert!(
        err.contains("stopped by a signal while waiting for 1 of 3 ranks (2)"),
        "{err}"
    );
    let summary = result(&res.join("term").join("summary.json"));
    assert_eq!(summary["partial"], true);
    assert_eq!(summary["ranks_present"], 2);
}

#[test]
fn ranks_started_by_hand_must_share_one_run_id() {
    let dir = Scratch::new("spec-ids");
    let res = dir.path().join("r");
    let auto = write(
        dir.path(),
        "auto.toml",
        &format!("[run]\nranks = 2\nresults_dir = {res:?}\n"),
    );
    let run = Run::new().spec(&auto).rank(1).run();
    run.check(run.code() == 2, "id = auto with 2 ranks started by hand");
    run.check(run.stderr().contains("same --run-id"), "says how");
    let res_s = res.to_str().unwrap();
    let run = Run::new()
        .rank(1)
        .arg("--ranks", "2")
        .arg("--results-dir", res_s)
        .run();
    run.check(run.code() == 2, "--results-dir with 2 ranks needs --run-id");
    let run = Run::new()
        .rank(0)
        .arg("--ranks", "2")
        .arg("--results-dir", res_s)
        .arg("--run-id", "x")
        .flag("--merge")
        .arg("--result", "/tmp/elsewhere.json")
        .run();
    run.check(run.code() == 2, "--result beside --merge is refused");
    run.check(run.stderr().contains("leave --result out"), "says why");
}

#[test]
fn a_rank_that_ends_before_the_barrier_releases_the_others_at_once() {
    let dir = Scratch::new("spec-barrier-gone");
    let res = dir.path().join("r");
    let spec = write(
        dir.path(),
        "s.toml",
        &format!(
            "[run]\nid = \"gone\"\nranks = 2\nresults_dir = {res:?}\nbarrier = true\n\
             barrier_timeout = \"60s\"\n[workload]\nduration = \"1s\"\nnumworkers = 2\n\
             minsize = \"1KiB\"\nmaxsize = \"1KiB\"\nprefill = 20\n"
        ),
    );
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    // Rank 1 fails before the barrier (nothing to GET from a dead plain-HTTP endpoint).
    let r1 = Run::new().spec(&spec).rank(1).endpoint(&dead).run();
    r1.check(r1.code() == 2, "rank 1 fails in its setup");
    let started = std::time::Instant::now();
    let r0 = Run::new().spec(&spec).rank(0).run();
    r0.check(r0.code() == 1, "rank 0 fails at the barrier");
    r0.check(
        r0.stderr().contains("rank 1 ended before checking in"),
        "names rank 1",
    );
    r0.check(
        started.elapsed().as_secs() < 20,
        "without waiting out the timeout",
    );
    let doc = result(&res.join("gone").join("rank-0.json"));
    r0.check(doc["stop_reason"] == "barrier", "rank 0's file says why");
}

#[test]
fn tls_insecure_with_an_http_endpoint_is_refused_as_the_flag_is() {
    let dir = Scratch::new("spec-tls-http");
    let res = dir.path().join("r");
    let endpoint = format!("http://127.0.0.1:{}", common::free_port());
    let spec = write(
        dir.path(),
        "insecure.toml",
        &format!(
            "[run]\nid = \"tls-http\"\nresults_dir = {res:?}\n[target]\nendpoint = {endpoint:?}\n\
             tls_insecure = true\n[workload]\nduration = \"1s\"\nnumworkers = 1\npctput = 100\n\
             maxputs = 1\n"
        ),
    );
    let by_spec = Run::new().spec(&spec).run();
    let by_flag = Run::new()
        .endpoint(&endpoint)
        .flag("--tls-insecure")
        .duration("1s")
        .workers(1)
        .pctput(100)
        .maxputs(1)
        .result(&dir.path().join("flag.json"))
        .run();
    by_flag.check(
        by_flag.code() == 2,
        "--tls-insecure with http:// is refused",
    );
    // The spec is refused at its line, before any rank starts, with the flag's words and fix
    // naming the spec's key.
    let lines = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.starts_with("error:") || l.trim_start().starts_with("hint:"))
            .map(str::to_string)
            .collect()
    };
    let want: Vec<String> = lines(&by_flag.stderr())
        .iter()
        .map(|l| {
            l.replace("error: --tls-insecure", "error: [target] tls_insecure")
                .replace("leave --tls-insecure out", "leave tls_insecure out")
        })
        .collect();
    by_flag.check(want.len() == 2, "an error and a hint line");
    by_spec.check(
        by_spec.code() == 2,
        "the spec's tls_insecure is refused too",
    );
    let got: Vec<String> = lines(&by_spec.stderr())
        .iter()
        .map(|l| l.replace(&format!("{spec}:6:1: "), ""))
        .collect();
    by_spec.check(
        got == want,
        &format!("the flag's refusal at the spec's line 6: {want:?}"),
    );
}
