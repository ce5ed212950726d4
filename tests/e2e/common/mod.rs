//! Shared harness for the end-to-end tests: scratch directories, a real nginx (GET + WebDAV
//! PUT, or any `server` block a test gives it) on a free loopback port, and running the real
//! `ringload` binary with its command, stdout and stderr printed when an assertion fails.

pub mod cluster;
pub mod docblocks;
pub mod hostile;
pub mod kube;
pub mod run;
pub mod s3s;
pub mod serial;
pub mod serve;
pub mod slurm;
pub mod tls;

pub use run::Run;
pub use serve::Serve;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("ringload-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real nginx serving `data/` with GET and WebDAV PUT, logging every request.
pub struct Nginx {
    pub dir: Scratch,
    pub port: u16,
}

impl Nginx {
    pub fn start() -> Nginx {
        Nginx::start_with_body_limit("0")
    }

    /// nginx with `client_max_body_size` set to `limit` (nginx syntax: `0` for none, `1k`).
    pub fn start_with_body_limit(limit: &str) -> Nginx {
        Nginx::start_server(|port, d| {
            format!(
                r#"    server {{
        listen 127.0.0.1:{port};
        root {d}/data;
        client_max_body_size {limit};
        location / {{ dav_methods PUT DELETE MKCOL; create_full_put_path on; dav_access user:rw group:r all:r; }}
    }}
"#,
                d = d.display()
            )
        })
    }

    /// nginx with the `server` block `server(port, dir)` returns (`dir` holds `data/`,
    /// `logs/` and `tmp/`), inside the `http` block every test nginx shares.
    pub fn start_server(server: impl Fn(u16, &Path) -> String) -> Nginx {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!("nginx is not installed: run `apt-get install -y nginx` (.ci/run does)")
            });
        for _attempt in 0..3 {
            let dir = Scratch::new("nginx");
            let d = dir.path().to_path_buf();
            for sub in ["data", "logs", "tmp"] {
                std::fs::create_dir_all(d.join(sub)).unwrap();
            }
            let port = free_port();
            let conf = format!(
                r#"user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {d}/logs/access.log;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 120s;
    client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;
{server}}}
"#,
                d = d.display(),
                server = server(port, &d)
            );
            std::fs::write(d.join("nginx.conf"), conf).unwrap();
            let out = Command::new(bin)
                .arg("-c")
                .arg(d.join("nginx.conf"))
                .arg("-p")
                .arg(&d)
                .output()
                .unwrap();
            if !out.status.success() {
                eprintln!(
                    "nginx failed to start: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            let ng = Nginx { dir, port };
            if wait_port(port, Duration::from_secs(5)) {
                return ng;
            }
        }
        panic!("nginx did not start on loopback after 3 attempts");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Request lines of the access log: (method, path, status).
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        let log =
            std::fs::read_to_string(self.dir.path().join("logs/access.log")).unwrap_or_default();
        log.lines()
            .filter_map(|l| {
                let q = l.split('"').nth(1)?;
                let mut it = q.split(' ');
                let (m, p) = (it.next()?.to_string(), it.next()?.to_string());
                let status = l
                    .split('"')
                    .nth(2)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                Some((m, p, status))
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop_pid_file(&self.dir.path().join("nginx.pid"));
    }
}

/// SIGTERMs the process whose PID a daemon this test started wrote to `pid_file` (nginx's
/// master), and waits up to 5 s for it to exit. A missing or unreadable file does nothing.
pub fn stop_pid_file(pid_file: &Path) {
    if let Ok(pid) = std::fs::read_to_string(pid_file) {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: kill takes no pointers; the pid is the daemon this test started, read
            // from the pid file it wrote, and it only receives SIGTERM.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(5)
                // SAFETY: kill takes no pointers, and signal 0 only probes whether the
                // process exists; nothing is delivered.
                && unsafe { libc::kill(pid, 0) } == 0
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

pub fn wait_port(port: u16, max: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < max {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The result of running the binary, printed in full by `check`.
pub struct Ran {
    pub cmd: String,
    pub out: Output,
}

impl Ran {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    /// Panics with the command, its exit code and its output unless `cond` holds.
    pub fn check(&self, cond: bool, what: &str) {
        if !cond {
            panic!(
                "{what}\ncommand: {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.cmd,
                self.out.status,
                self.stdout(),
                self.stderr()
            );
        }
    }
    pub fn ok(&self) -> &Self {
        self.check(self.out.status.success(), "ringload failed");
        self
    }
}

pub fn ringload(args: &[&str]) -> Ran {
    ringload_env(args, &[])
}

pub fn ringload_env(args: &[&str], env: &[(&str, &str)]) -> Ran {
    ringload_in(None, args, env)
}

/// The binary with `args`, in `cwd` (default: the test's own), with no stdin and with extra
/// environment variables, after removing those of the caller's environment that would pick a
/// driver or an endpoint for it. Every way the tests start `ringload` begins here.
pub fn ringload_command(cwd: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringload"));
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.args(args)
        .stdin(Stdio::null())
        .env_remove("RINGLOAD_DRIVER")
        .env_remove("RINGLOAD_ENDPOINT")
        .env_remove("AIS_ENDPOINT")
        .env_remove("S3_ENDPOINT")
        .env_remove("AIS_CLIENT_CA")
        .env_remove("AIS_CRT")
        .env_remove("AIS_CRT_KEY")
        .env_remove("AIS_SKIP_VERIFY_CRT");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs the binary in `cwd` (default: the test's own) with extra environment variables.
pub fn ringload_in(cwd: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let out = ringload_command(cwd, args, env).output().unwrap();
    Ran {
        cmd: format!("{} {}", env!("CARGO_BIN_EXE_ringload"), args.join(" ")),
        out,
    }
}

/// Reads a result file as JSON.
pub fn result(path: &Path) -> serde_json::Value {
    let s = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read result {}: {e}", path.display()));
    serde_json::from_str(&s).unwrap()
}

/// Copies result file `src` to `dst` with its interval carrier, which keeps the name the JSON
/// gives it (`intervals_file.name`), in `dst`'s directory.
pub fn copy_result(src: &Path, dst: &Path) {
    std::fs::copy(src, dst).unwrap();
    let name = result(src)["intervals_file"]["name"]
        .as_str()
        .expect("a ringload.result/2 file names its carrier")
        .to_string();
    let dir = dst.parent().unwrap();
    if !dir.join(&name).exists() {
        std::fs::copy(src.with_file_name(&name), dir.join(&name)).unwrap();
    }
}

/// Removes result file `path` and its interval carrier (before a rerun to the same path).
pub fn remove_result(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("intervals"));
}

/// `ops.<op>.<key>` of a result document as u64.
pub fn op(v: &serde_json::Value, op: &str, key: &str) -> u64 {
    v["ops"][op][key]
        .as_u64()
        .unwrap_or_else(|| panic!("ops.{op}.{key} missing in {v}"))
}

pub const DRIVERS: [&str; 2] = ["uring", "epoll"];
