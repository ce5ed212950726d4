//! s3s-fs (an S3 server that checks SigV4) in a child process on loopback, for the
//! end-to-end tests: where it is installed, starting it on a free port, what it stored, and
//! running `ringload run --protocol s3` against it with fixed credentials.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::*;

/// A path no process can create (nothing can be made in /proc), so no shared credentials or
/// config file is ever read, whatever exists on the machine (`/nonexistent` once did).
pub const NO_FILE: &str = "/proc/ringload-no-such-file";

pub const AK: &str = "ringloadAK";
pub const SK: &str = "ringload-secret-key-0123456789";

/// Where `.ci/run` installs s3s-fs (override with RINGLOAD_S3S_FS).
fn s3s_fs() -> PathBuf {
    let p = std::env::var_os("RINGLOAD_S3S_FS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            Path::new(&home).join(".cache/ringload-peers/bin/s3s-fs")
        });
    assert!(
        p.exists(),
        "s3s-fs is not installed at {}: run .ci/run (it runs `cargo install --locked --root \
         ~/.cache/ringload-peers s3s-fs@0.14.1 --features binary`)",
        p.display()
    );
    p
}

pub struct S3sFs {
    child: Child,
    pub port: u16,
    pub dir: Scratch,
}

impl S3sFs {
    pub fn start(bucket: &str) -> S3sFs {
        let bin = s3s_fs();
        for _ in 0..3 {
            let dir = Scratch::new("s3s");
            std::fs::create_dir_all(dir.path().join(bucket)).unwrap();
            let port = free_port();
            let child = Command::new(&bin)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", AK, "--secret-key", SK])
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start s3s-fs");
            let mut s = S3sFs { child, port, dir };
            if wait_port(port, Duration::from_secs(10)) {
                return s;
            }
            let _ = s.child.kill();
        }
        panic!("s3s-fs did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (count, total bytes) of the objects stored in `bucket`.
    pub fn stored(&self, bucket: &str) -> (u64, u64) {
        let mut n = 0;
        let mut bytes = 0;
        let mut stack = vec![self.dir.path().join(bucket)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                if m.is_dir() {
                    stack.push(e.path());
                } else if !e.file_name().to_string_lossy().starts_with('.') {
                    n += 1;
                    bytes += m.len();
                }
            }
        }
        (n, bytes)
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ringload run --protocol s3 --s3endpoint` this server, signing with the fixed access key
/// and `secret`, with no credentials file or profile of the machine's.
pub fn s3(s: &S3sFs, secret: &str) -> Run {
    Run::new()
        .protocol("s3")
        .arg("--s3endpoint", s.url())
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_PROFILE", "")
        .env("AWS_SHARED_CREDENTIALS_FILE", NO_FILE)
        .env("AWS_CONFIG_FILE", NO_FILE)
}
