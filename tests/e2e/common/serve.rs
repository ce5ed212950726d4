//! A `ringload serve ARGS` target (plain HTTP unless ARGS say otherwise) in a child process:
//! its URL from the JSON line it prints first; killed and reaped on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Serve {
    child: Child,
    pub url: String,
}

impl Serve {
    pub fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringload"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ringload serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("serve's stdout"))
            .read_line(&mut line)
            .expect("read serve's first line");
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("serve printed a non-JSON line {line:?}: {e}"));
        let url = v["url"].as_str().expect("serve's url").to_string();
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
