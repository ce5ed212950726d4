//! A `ringload serve --protocol ais` cluster in a child process, for the end-to-end tests:
//! its listeners' URLs from the JSON lines it prints, and their counters from
//! `GET /v1/ringload/stats`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `ringload serve` cluster in a child process, killed on drop.
pub struct Cluster {
    child: Child,
    pub proxies: Vec<String>,
    pub targets: Vec<String>,
}

impl Cluster {
    pub fn start(extra: &[&str]) -> Cluster {
        let mut args = vec!["serve", "--protocol", "ais"];
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringload"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ringload serve");
        let want: usize = ["--proxies", "--targets"]
            .iter()
            .map(|f| {
                args.iter()
                    .position(|a| a == f)
                    .map_or(1, |i| args[i + 1].parse::<usize>().unwrap())
            })
            .sum();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut proxies, mut targets) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(10);
        while proxies.len() + targets.len() < want && Instant::now() < deadline {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            let v: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("serve printed a non-JSON line {line:?}: {e}"));
            let url = v["url"].as_str().unwrap().to_string();
            match v["role"].as_str() {
                Some("proxy") => proxies.push(url),
                Some("target") => targets.push(url),
                other => panic!("unexpected role {other:?} in {line}"),
            }
        }
        assert_eq!(
            proxies.len() + targets.len(),
            want,
            "serve announced its listeners"
        );
        Cluster {
            child,
            proxies,
            targets,
        }
    }

    pub fn stats(url: &str) -> serde_json::Value {
        let hostport = url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(hostport).unwrap();
        write!(
            s,
            "GET /v1/ringload/stats HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let body = text.split_once("\r\n\r\n").map_or("", |x| x.1);
        serde_json::from_str(body).unwrap_or_else(|e| panic!("stats of {url}: {e}: {text}"))
    }

    /// Sum of `faults.<kind>` over `urls`.
    pub fn faults(urls: &[String], kind: &str) -> u64 {
        urls.iter()
            .map(|u| Self::stats(u)["faults"][kind].as_u64().unwrap())
            .sum()
    }

    /// Sum of `requests.<kind>` over `urls`.
    pub fn sum(urls: &[String], kind: &str) -> u64 {
        urls.iter()
            .map(|u| Self::stats(u)["requests"][kind].as_u64().unwrap())
            .sum()
    }

    pub fn redirects(urls: &[String]) -> u64 {
        urls.iter()
            .map(|u| Self::stats(u)["redirects"].as_u64().unwrap())
            .sum()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
