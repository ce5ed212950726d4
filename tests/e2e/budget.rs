//! End-to-end tests of the resource budget and of the error kinds that name a resource: the
//! real binary under real descriptor limits (set in the child with setrlimit), a run that is
//! too big refused at once and cheaply, the soft limit raised to the hard one, and a run whose
//! descriptors run out while it loads (the built-in target is in-process and shares them).

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ran, Run, Scratch, DRIVERS};

/// Sets `RLIMIT_NOFILE` to `soft`/`hard` in the child of `c` before it execs.
fn limit_nofile(c: &mut Command, soft: u64, hard: u64) {
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit,
    // which is async-signal-safe, on a stack value.
    unsafe {
        c.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Runs the binary with `RLIMIT_NOFILE` set to `soft`/`hard` in the child before exec; returns
/// its output, its wall time and its peak resident size (KiB, from `wait4`'s rusage).
// The child is reaped by `wait4` (for its own rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run_limited(run: Run, nofile: (u64, u64)) -> (Ran, Duration, i64) {
    let bin = env!("CARGO_BIN_EXE_ringload");
    let mut c = run.command();
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let (soft, hard) = nofile;
    limit_nofile(&mut c, soft, hard);
    let t = Instant::now();
    let mut child = c.spawn().unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).unwrap();
        s
    });
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(&mut out, &mut stdout).unwrap();
    let stderr = reader.join().unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain C data (integers and timevals); all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are live locals the kernel writes one value each into; the
    // pid is our own child, which nothing else reaps (std's handle is not waited), so it cannot
    // name another process.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let elapsed = t.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let out = std::process::Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
        stdout,
        stderr,
    };
    let run = Ran {
        cmd: format!(
            "ulimit -Sn {soft} -Hn {hard}; {bin} {}",
            run.argv().join(" ")
        ),
        out,
    };
    (run, elapsed, usage.ru_maxrss)
}

#[test]
fn a_hundred_million_workers_are_refused_at_once_and_cheaply() {
    let (run, took, maxrss_kib) =
        run_limited(Run::new().workers(100000000).duration("2s"), (1024, 1024));
    run.check(run.code() == 2, "expected exit 2");
    let err = run.stderr();
    run.check(
        err.contains("--numworkers 100000000") && err.contains("file descriptors"),
        "names the flag and the resource",
    );
    run.check(took < Duration::from_secs(1), &format!("took {took:?}"));
    run.check(
        maxrss_kib < 256 * 1024,
        &format!("peak RSS {maxrss_kib} KiB"),
    );
}

#[test]
fn two_thousand_workers_under_a_hard_limit_of_1024_exit_2() {
    for driver in DRIVERS {
        let (run, took, _) = run_limited(
            Run::new().driver(driver).workers(2000).duration("2s"),
            (1024, 1024),
        );
        run.check(run.code() == 2, "expected exit 2");
        let err = run.stderr();
        for part in [
            "may open 1024",
            "hard limit 1024",
            "ulimit -n",
            "2000 client sockets",
            "accepted by the built-in target",
            "--numworkers",
        ] {
            run.check(err.contains(part), &format!("{part:?} missing"));
        }
        run.check(!err.contains("requests in flight"), "no load started");
        run.check(took < Duration::from_secs(1), &format!("took {took:?}"));
    }
}

#[test]
fn a_prefill_that_cannot_fit_in_memory_is_refused_before_filling() {
    let (run, took, maxrss_kib) = run_limited(
        Run::new()
            .workers(4)
            .arg("--prefill", "10000000000")
            .duration("2s"),
        (1024, 1024),
    );
    run.check(run.code() == 2, "expected exit 2");
    let err = run.stderr();
    for part in [
        "MiB of memory",
        "--prefill 10000000000 names: ",
        "MiB is available",
        "use a smaller --prefill",
    ] {
        run.check(err.contains(part), &format!("{part:?} missing"));
    }
    run.check(took < Duration::from_secs(1), &format!("took {took:?}"));
    run.check(
        maxrss_kib < 256 * 1024,
        &format!("peak RSS {maxrss_kib} KiB"),
    );
}

#[test]
fn the_soft_limit_is_raised_to_the_hard_limit() {
    // 500 client sockets and 500 accepted by the in-process built-in target: more than a soft
    // limit of 256 allows, well within the hard limit of 4096.
    for driver in DRIVERS {
        let (run, _, _) = run_limited(
            Run::new()
                .driver(driver)
                .workers(500)
                .size("1KiB")
                .duration("2s")
                .flag("--json"),
            (256, 4096),
        );
        run.check(run.code() == 0, "expected exit 0");
        let doc: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        let (count, errors) = (
            common::op(&doc, "get", "count"),
            common::op(&doc, "get", "errors"),
        );
        run.check(count > 0 && errors == 0, "GETs succeed without errors");
    }
}

#[test]
fn descriptors_running_out_during_the_run_are_fd_limit_errors() {
    // The budget check passes; then every descriptor but one is taken (test-only switch), so
    // the core's ring or epoll gets the last one and every socket() fails with EMFILE.
    for driver in DRIVERS {
        let dir = Scratch::new("budget-emfile");
        let run_dir = dir.path().join("x");
        let res = run_dir.join("rank-0.json");
        let (run, _, _) = run_limited(
            Run::new()
                .driver(driver)
                .cores(1)
                .workers(30)
                .size("1KiB")
                .duration("2s")
                .arg("--results-dir", dir.path().to_str().unwrap())
                .arg("--run-id", "x")
                .env("RINGLOAD_TEST_FREE_FDS", "1"),
            (4096, 4096),
        );
        run.check(run.code() == 1, "expected exit 1");
        let err = run.stderr();
        run.check(
            err.contains("operations failed, mostly fd-limit (")
                && err.contains("ran out of file descriptors; raise `ulimit -n`"),
            "names the kind and the fix",
        );
        let doc = common::result(&res);
        let errors = common::op(&doc, "get", "errors");
        let fd_limit = doc["ops"]["get"]["errors_by_kind"]["fd-limit"]
            .as_u64()
            .unwrap_or(0);
        run.check(
            errors > 0 && fd_limit == errors,
            &format!("errors {errors}, fd-limit {fd_limit}"),
        );
        run.check(common::op(&doc, "get", "count") == 0, "nothing succeeded");
        // The merge keeps the new kind by name.
        let merged = common::ringload(&["merge", run_dir.to_str().unwrap()]);
        merged.ok();
        let summary = common::result(&run_dir.join("summary.json"));
        assert_eq!(
            summary["ops"]["get"]["errors_by_kind"]["fd-limit"].as_u64(),
            Some(fd_limit),
            "{summary}"
        );
    }
}

#[test]
fn the_connect_give_up_names_the_descriptor_limit() {
    for driver in DRIVERS {
        let (run, took, _) = run_limited(
            Run::new()
                .driver(driver)
                .cores(1)
                .workers(10)
                .duration("20s")
                .env("RINGLOAD_TEST_FREE_FDS", "1"),
            (4096, 4096),
        );
        run.check(run.code() == 1, "expected exit 1");
        run.check(
            run.stderr().contains("no connection to http://127.0.0.1:")
                && run
                    .stderr()
                    .contains("succeeded; the run gave up, mostly fd-limit ("),
            "names the kind",
        );
        run.check(took < Duration::from_secs(15), &format!("took {took:?}"));
    }
}

#[test]
fn serve_raises_the_soft_limit_to_the_hard_limit() {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringload"));
    c.args(["serve", "--protocol", "http"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    limit_nofile(&mut c, 256, 4096);
    let mut child = c.spawn().unwrap();
    // The first stdout line says it listens; the limit is raised before that.
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&open_files[3..5], ["4096", "4096"], "{limits}");
}
