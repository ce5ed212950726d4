//! End to end: SIGHUP (a dropped SSH session) and SIGQUIT stop a run the way SIGINT/SIGTERM do:
//! the result file is written with `status: interrupted`, under both drivers. A hangup may
//! arrive twice and still lets the run finish in order; a real terminal hanging up (a pty whose
//! master is closed) loses nothing; a second signal of another kind exits at once with 130.

use crate::common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A 60 s run against the built-in target (or `endpoint`), writing `res`, its stderr in a file.
fn load(s: &Scratch, res: &Path, extra: &[&str]) -> Command {
    let mut c = Run::new()
        .duration("60s")
        .size("4K")
        .workers(4)
        .arg("--prefill", 50)
        .result(res)
        .args(extra)
        .command();
    c.stdout(Stdio::null())
        .stderr(std::fs::File::create(s.path().join("stderr.txt")).unwrap());
    c
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: signals the child this test started; kill takes no pointers; the child is not reaped yet, so its pid cannot have been
    // reused by another process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// Waits (at most 10 s) for the child to end.
fn wait(child: &mut Child, s: &Scratch, what: &str) -> (ExitStatus, Duration) {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (st, t.elapsed());
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ringload did not stop within 10 s of {what}:\n{}",
                stderr(s)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(s: &Scratch) -> String {
    std::fs::read_to_string(s.path().join("stderr.txt")).unwrap_or_default()
}

fn check_interrupted(res: &Path, s: &Scratch, st: ExitStatus, took: Duration, what: &str) {
    let err = stderr(s);
    assert_eq!(st.code(), Some(0), "{what}: exit {st:?}\n{err}");
    assert!(
        took < Duration::from_secs(5),
        "{what}: stopped after {took:?}\n{err}"
    );
    let v = result(res);
    assert_eq!(v["status"], "interrupted", "{what}: {v}");
    assert_eq!(v["stop_reason"], "signal", "{what}");
    assert!(
        op(&v, "get", "count") > 0,
        "{what}: the numbers up to the signal are kept"
    );
}

#[test]
fn sighup_writes_an_interrupted_result() {
    for driver in DRIVERS {
        let s = Scratch::new("sighup");
        let res = s.path().join("r.json");
        let mut child = load(&s, &res, &["--driver", driver]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        signal(&child, libc::SIGHUP);
        // A dropped session can deliver the hangup twice (the shell, then the kernel): the
        // second one must not cut the run short.
        std::thread::sleep(Duration::from_millis(100));
        signal(&child, libc::SIGHUP);
        let (st, took) = wait(&mut child, &s, "SIGHUP");
        check_interrupted(&res, &s, st, took, &format!("SIGHUP, --driver {driver}"));
    }
}

#[test]
fn sigquit_writes_an_interrupted_result() {
    for driver in DRIVERS {
        let s = Scratch::new("sigquit");
        let res = s.path().join("r.json");
        let mut child = load(&s, &res, &["--driver", driver]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        signal(&child, libc::SIGQUIT);
        let (st, took) = wait(&mut child, &s, "SIGQUIT");
        check_interrupted(&res, &s, st, took, &format!("SIGQUIT, --driver {driver}"));
    }
}

/// The run's terminal goes away (its pty master is closed, as sshd does when a session drops):
/// the kernel sends SIGHUP, writes to the terminal fail from then on, and the result, printed
/// with `--json` before the file is written, must still reach the file.
#[test]
fn a_terminal_hangup_loses_nothing() {
    let s = Scratch::new("hangup");
    let res = s.path().join("r.json");
    // Both ends are opened close-on-exec in the same call, so that no ringload, this one or one
    // another test starts meanwhile, inherits the master (which would keep the terminal up).
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: posix_openpt only opens /dev/ptmx with `flags`.
    let master = unsafe { libc::posix_openpt(flags) };
    let err = || std::io::Error::last_os_error();
    assert!(master >= 0, "posix_openpt: {}", err());
    // SAFETY: the descriptor was just opened and is owned here only.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let m = std::os::fd::AsRawFd::as_raw_fd(&master);
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: grantpt and unlockpt act on the master just opened; ptsname_r writes at most
    // `name.len()` bytes, NUL included, into `name`.
    let ok = unsafe {
        libc::grantpt(m) == 0
            && libc::unlockpt(m) == 0
            && libc::ptsname_r(m, name.as_mut_ptr(), name.len()) == 0
    };
    assert!(ok, "grantpt/unlockpt/ptsname_r: {}", err());
    // SAFETY: `name` holds the NUL-terminated path ptsname_r wrote.
    let slave = unsafe { libc::open(name.as_ptr(), flags) };
    assert!(slave >= 0, "open the pty slave: {}", err());
    // SAFETY: the descriptor was just opened and is owned here only.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let mut c = load(&s, &res, &["--json"]);
    c.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave.try_clone().unwrap());
    // SAFETY: setsid and ioctl are async-signal-safe, as pre_exec requires; they make the pty
    // (stdin) the controlling terminal of a new session led by ringload.
    unsafe {
        c.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    drop(slave);
    // Drain the terminal for a second, then hang it up.
    let mut term = std::fs::File::from(master);
    let fd = std::os::fd::AsRawFd::as_raw_fd(&term);
    // SAFETY: fcntl(F_SETFL) takes no pointers; `fd` belongs to `term`, alive for the call, and
    // O_NONBLOCK only changes how its reads wait.
    unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
    let (t, mut seen, mut buf) = (Instant::now(), Vec::new(), [0u8; 4096]);
    while t.elapsed() < Duration::from_millis(1000) {
        match term.read(&mut buf) {
            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    drop(term);
    let (st, took) = wait(&mut child, &s, "the terminal hanging up");
    assert!(
        String::from_utf8_lossy(&seen).contains("ringload: "),
        "the run printed its plan on the terminal first: {:?}",
        String::from_utf8_lossy(&seen)
    );
    check_interrupted(&res, &s, st, took, "terminal hangup");
}

/// A second signal of another kind exits at once with 130, without waiting for the in-flight
/// requests (here held 5 s by the target).
#[test]
fn a_second_signal_exits_at_once_with_130() {
    use std::io::BufRead;
    let mut serve = Command::new(env!("CARGO_BIN_EXE_ringload"))
        .args(["serve", "--fault", "delay=100%:5s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    let s = Scratch::new("sig130");
    let res = s.path().join("r.json");
    let mut child = load(&s, &res, &["--endpoint", &url, "--pctput", "100"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    signal(&child, libc::SIGQUIT);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGINT);
    let (st, took) = wait(&mut child, &s, "two signals");
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(st.code(), Some(130), "{}", stderr(&s));
    assert!(took < Duration::from_secs(1), "exited after {took:?}");
    assert!(!res.exists(), "an immediate exit writes no result");
}
