//! End-to-end: the binary's contract — usage errors (exit 2 naming the flag), a dead endpoint
//! (exit 1 within about 5 s), the built-in target quick start, signals, and the epoll fallback.

use crate::common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn bad_values_exit_2_and_name_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--minsize", "2M", "--maxsize", "1M"], "--minsize"),
        (&["--pctput", "101"], "--pctput"),
        (&["--minsize", "12QB"], "--minsize"),
        (&["--duration", "10"], "--duration"),
        (&["--filelist", "/nonexistent/list.txt"], "--filelist"),
        (&["--endpoint", "ftp://x"], "--endpoint"),
        (&["--result", "/nonexistent-dir/r.json"], "--result"),
        (&["--loadernum", "4", "--loaderid", "9"], "--loaderid"),
        // Settings that would be silently ignored are refused.
        (&["--cksum-type", "md5"], "--cksum-type md5"),
        (
            &["--protocol", "s3", "--cksum-type", "none"],
            "--cksum-type none",
        ),
        (
            &["--protocol", "ais", "--evict-batchsize", "5"],
            "--evict-batchsize 5",
        ),
        (
            &["--protocol", "ais", "--cleanup", "--evict-batchsize", "5"],
            "--evict-batchsize 5: --cleanup destroys ais://ringload whole",
        ),
        (&["--pctput", "40", "--pctupdate", "40"], "--pctupdate"),
    ];
    for (args, flag) in cases {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let run = ringload(&all);
        run.check(run.code() == 2, "expected exit 2");
        run.check(
            run.stderr().contains(flag),
            &format!("stderr should name {flag}"),
        );
    }
}

#[test]
fn get_with_no_names_exits_2() {
    let port = free_port();
    let run = Run::new()
        .endpoint(&format!("http://127.0.0.1:{port}"))
        .run();
    run.check(run.code() == 2, "expected exit 2");
    run.check(
        run.stderr().contains("--filelist"),
        "says how to give names",
    );
}

#[test]
fn refused_endpoint_exits_1_quickly() {
    let port = free_port();
    let t = Instant::now();
    let run = Run::new()
        .endpoint(&format!("http://127.0.0.1:{port}"))
        .pctput(100)
        .duration("30s")
        .run();
    run.check(run.code() == 1, "expected exit 1");
    run.check(run.stderr().contains("cannot connect"), "clear message");
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn help_documents_every_flag_with_defaults() {
    let run = Run::new().flag("--help").run();
    run.ok();
    let h = run.stdout();
    for flag in [
        "--endpoint",
        "--numworkers",
        "--pctput",
        "--minsize",
        "--maxsize",
        "--maxputs",
        "--totalputsize",
        "--epochs",
        "--uniquegets",
        "--readoff",
        "--readlen",
        "--subdir",
        "--putshards",
        "--filelist",
        "--loaderid",
        "--loadernum",
        "--loaderidhashlen",
        "--seed",
        "--statsinterval",
        "--cores",
        "--driver",
        "--result",
        "--timeout",
        "--duration",
        "--tls",
        "--tls-ca",
        "--tls-insecure",
        "--tls-cert",
        "--tls-key",
    ] {
        run.check(h.contains(flag), &format!("--help lacks {flag}"));
    }
    // The TLS flags teach their environment defaults and https:// endpoints.
    for text in [
        "TLS:",
        "AIS_CLIENT_CA",
        "AIS_SKIP_VERIFY_CRT",
        "AIS_CRT",
        "AIS_CRT_KEY",
        "--endpoint https://host:8443",
        "https://s3.us-east-1.amazonaws.com",
    ] {
        run.check(h.contains(text), &format!("--help lacks {text}"));
    }
    run.check(
        h.contains("[default: 10]") && h.contains("[default: 1MiB]"),
        "defaults shown",
    );
}

/// The quick start: no endpoint → the built-in target, a real load, a result file.
#[test]
fn builtin_target_quick_start() {
    for driver in DRIVERS {
        let s = Scratch::new("quick");
        let res = s.path().join("r.json");
        let run = Run::new()
            .duration("2s")
            .sizes("4K", "64K")
            .workers(8)
            .driver(driver)
            .arg("--statsinterval", "1s")
            .result(&res)
            .run();
        run.ok();
        run.check(
            run.stderr().contains("built-in target"),
            "says it started the built-in target",
        );
        run.check(run.stdout().contains("GET"), "prints the table and summary");
        let v = result(&res);
        assert_eq!(v["schema"], "ringload.result/2");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["workload"]["driver_used"], driver);
        assert!(op(&v, "get", "count") > 100, "{driver}: {v}");
        assert_eq!(op(&v, "get", "errors"), 0);
        // The intervals are in the carrier the JSON names, beside it.
        assert!(v.get("intervals").is_none(), "{v}");
        let back = ringload_core::result::ResultFile::read(&res).unwrap();
        assert!(back.intervals.len() >= 2, "{driver}");
        assert_eq!(
            v["intervals_file"]["intervals"].as_u64(),
            Some(back.intervals.len() as u64)
        );
    }
}

/// Verified reads against the built-in target's deterministic content.
#[test]
fn verifyhash_against_builtin_content() {
    let s = Scratch::new("verify");
    let res = s.path().join("r.json");
    Run::new()
        .duration("1s")
        .sizes("1K", "300K")
        .workers(4)
        .flag("--verifyhash")
        .arg("--readoff", "0")
        .result(&res)
        .arg("--prefill", "50")
        .run()
        .ok();
    let v = result(&res);
    assert!(op(&v, "get", "count") > 10);
    assert_eq!(op(&v, "get", "errors"), 0, "{v}");
}

#[test]
fn sigint_writes_an_interrupted_result() {
    let s = Scratch::new("sig");
    let res = s.path().join("r.json");
    let mut child = Run::new()
        .duration("60s")
        .size("4K")
        .workers(4)
        .result(&res)
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signals the child this test started; kill takes no pointers; the child is not reaped yet, so its pid cannot have been
    // reused by another process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("ringload did not stop within 10 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "stopped after {:?}",
        t.elapsed()
    );
    assert_eq!(status.code(), Some(0));
    let v = result(&res);
    assert_eq!(v["status"], "interrupted");
    assert!(op(&v, "get", "count") > 0);
}

#[test]
fn auto_falls_back_to_epoll_and_says_so() {
    let s = Scratch::new("fallback");
    let res = s.path().join("r.json");
    let run = Run::new()
        .duration("1s")
        .size("4K")
        .workers(4)
        .result(&res)
        .env("RINGLOAD_SIMULATE_NO_URING", "1")
        .run();
    run.ok();
    let notes = run.stderr().matches("using the epoll driver").count();
    run.check(notes == 1, "exactly one fallback note");
    assert_eq!(result(&res)["workload"]["driver_used"], "epoll");
    let forced = Run::new()
        .duration("1s")
        .driver("uring")
        .size("4K")
        .env("RINGLOAD_SIMULATE_NO_URING", "1")
        .run();
    forced.check(
        forced.code() == 1,
        "--driver uring fails where io_uring is unavailable",
    );
    forced.check(forced.stderr().contains("--driver epoll"), "names the fix");
}

#[test]
fn result_file_is_never_overwritten() {
    let s = Scratch::new("over");
    let res = s.path().join("r.json");
    std::fs::write(&res, "{}").unwrap();
    let run = Run::new().duration("1s").size("4K").result(&res).run();
    run.check(run.code() == 2, "must refuse before running");
    run.check(run.stderr().contains("--result"), "names the flag");
    assert_eq!(std::fs::read_to_string(&res).unwrap(), "{}");
    // A carrier left behind (its JSON moved away) is refused before the load too.
    let res = s.path().join("q.json");
    std::fs::write(s.path().join("q.intervals"), "old").unwrap();
    let run = Run::new().duration("1s").size("4K").result(&res).run();
    run.check(run.code() == 2, "must refuse before running");
    run.check(
        run.stderr().contains("q.intervals already exists"),
        "names the carrier",
    );
    assert!(!res.exists());
    // A result path that is its own carrier's name.
    let run = Run::new()
        .duration("1s")
        .size("4K")
        .result(&s.path().join("z.intervals"))
        .run();
    run.check(run.code() == 2, "must refuse before running");
    run.check(run.stderr().contains("ending in .json"), "says the fix");
}

/// The real thing: a seccomp filter that refuses io_uring_setup with EPERM, as Docker's default
/// profile does. `auto` must fall back to epoll and still run the load.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn seccomp_blocked_io_uring_falls_back_to_epoll() {
    use std::os::unix::process::CommandExt;
    #[repr(C)]
    struct SockFilter {
        code: u16,
        jt: u8,
        jf: u8,
        k: u32,
    }
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const SockFilter,
    }
    const IO_URING_SETUP: u32 = 425;
    let filter = [
        SockFilter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        }, // load seccomp_data.nr
        SockFilter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: IO_URING_SETUP,
        }, // == io_uring_setup?
        SockFilter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x0005_0000 | libc::EPERM as u32,
        }, // ERRNO
        SockFilter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        }, // ALLOW
    ];
    let prog = SockFprog {
        len: filter.len() as u16,
        filter: filter.as_ptr(),
    };
    let prog_addr = &prog as *const SockFprog as usize;
    let s = Scratch::new("seccomp");
    let res = s.path().join("r.json");
    let mut cmd = Run::new()
        .duration("1s")
        .size("4K")
        .workers(4)
        .result(&res)
        .command();
    // SAFETY: only prctl calls (async-signal-safe) run between fork and exec; `prog` and
    // `filter` outlive the spawn because the parent keeps them on its stack.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_SECCOMP, 2, prog_addr, 0, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let run = Ran {
        cmd: "ringload run (seccomp: io_uring_setup → EPERM)".into(),
        out,
    };
    run.ok();
    run.check(
        run.stderr().contains("io_uring is unavailable"),
        "says it fell back",
    );
    let v = result(&res);
    assert_eq!(v["workload"]["driver_used"], "epoll");
    assert!(op(&v, "get", "count") > 0);
}

/// `--json`: stdout is exactly one JSON document (the table and summary go to stderr).
#[test]
fn json_output_is_machine_readable() {
    let run = Run::new()
        .duration("1s")
        .size("4K")
        .workers(2)
        .flag("--json")
        .arg("--statsinterval", "1s")
        .run();
    run.ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", run.stdout()));
    assert_eq!(v["schema"], "ringload.result/2");
    assert!(op(&v, "get", "count") > 0);
    run.check(
        run.stderr().contains("Summary"),
        "the human summary went to stderr",
    );
}

/// --duration is honoured closely: the measured phase ends within a few hundred ms of it.
#[test]
fn duration_is_not_overshot() {
    let s = Scratch::new("dur");
    let res = s.path().join("r.json");
    Run::new()
        .duration("1500ms")
        .size("4K")
        .result(&res)
        .run()
        .ok();
    let v = result(&res);
    let ns = v["end_unix_ns"].as_u64().unwrap() - v["start_unix_ns"].as_u64().unwrap();
    assert!(
        (1_500_000_000..2_500_000_000).contains(&ns),
        "measured {ns} ns"
    );
}

#[test]
fn getloaderid_prints_the_loader_id_and_exits_without_a_connection() {
    for (args, want) in [
        (
            &["--loaderid", "loaderstring", "--loaderidhashlen", "8"][..],
            "0xdb\n",
        ),
        (&["--loaderid", "10"][..], "0xa\n"),
        (&["--loaderid", "10", "--bucket", "ais://b"][..], "0xa\n"),
    ] {
        let mut all = vec!["run", "--getloaderid", "--endpoint", "http://127.0.0.1:9"];
        all.extend_from_slice(args);
        let run = ringload(&all);
        run.check(run.code() == 0 && run.stdout() == want, want);
    }
    let run = ringload(&["run", "--getloaderid", "--loaderid", "x"]);
    run.check(
        run.code() == 2 && run.stderr().contains("--loaderid 'x'"),
        "a bad loader id is refused naming the flag",
    );
}
