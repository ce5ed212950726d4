//! End-to-end tests of the built-in target over real loopback sockets, with
//! `std::net::TcpStream` as a deliberately plain client: the shared client helpers of the
//! protocol, cluster and fault tests in this directory (`http`, `ais`, `arch`, `s3`, `cluster`,
//! `fault`, `remote`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::pattern::fill;
use super::*;

mod ais;
mod arch;
mod cluster;
mod fault;
mod http;
mod moss;
mod mpt;
mod remote;
mod s3;
mod tls;

/// Upper bound for any single blocking read in these tests (seconds), so a bug fails fast.
pub(super) const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn server(cores: usize) -> ServerHandle {
    start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cores,
        ..ServeConfig::default()
    })
    .expect("start on 127.0.0.1:0")
}

pub(super) fn expected(name: &str, offset: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fill(name.as_bytes(), offset, &mut v);
    v
}

#[derive(Debug)]
pub(super) struct Resp {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Resp {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }
}

/// A blocking client: requests are written and answers read through `r` (a plain socket, or a
/// TLS stream over one); `w` is the raw socket (a clone), for shutdowns.
pub(super) struct Client<S = TcpStream> {
    pub(super) r: BufReader<S>,
    pub(super) w: TcpStream,
}

impl Client {
    pub(super) fn connect(h: &ServerHandle) -> Self {
        Self::to(h.local_addr())
    }

    pub(super) fn to(addr: std::net::SocketAddr) -> Self {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_nodelay(true).unwrap();
        Self {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }
}

impl<S: Read + Write> Client<S> {
    pub(super) fn send(&mut self, raw: &[u8]) {
        self.r.get_mut().write_all(raw).unwrap();
    }

    pub(super) fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status: u16 = line
            .split(' ')
            .nth(1)
            .unwrap_or_else(|| panic!("bad status line {line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            let mut l = String::new();
            self.r.read_line(&mut l).unwrap();
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        (status, headers)
    }

    /// Reads one response; `head_only` for HEAD requests (no body follows).
    pub(super) fn read_resp(&mut self, head_only: bool) -> Resp {
        let (status, headers) = self.read_head();
        let mut r = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        if !head_only && status != 204 && status >= 200 {
            let len: usize = r
                .header("content-length")
                .expect("content-length")
                .parse()
                .unwrap();
            r.body = vec![0u8; len];
            self.r.read_exact(&mut r.body).unwrap();
        }
        r
    }

    pub(super) fn req(&mut self, method: &str, path: &str, headers: &str, body: &[u8]) -> Resp {
        let mut raw = format!("{method} /{path} HTTP/1.1\r\nHost: t\r\n{headers}");
        if method == "PUT" {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        self.send(&bytes);
        self.read_resp(method == "HEAD")
    }

    /// Like `req`, but always sends `Content-Length` when there is a body (GET and DELETE
    /// control requests carry JSON bodies).
    pub(super) fn call(&mut self, method: &str, path: &str, headers: &str, body: &[u8]) -> Resp {
        let mut raw = format!("{method} /{path} HTTP/1.1\r\nHost: t\r\n{headers}");
        if !body.is_empty() || method == "PUT" {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        self.send(&bytes);
        self.read_resp(method == "HEAD")
    }

    pub(super) fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        let n = self.r.read_to_end(&mut rest).unwrap_or(0);
        assert_eq!(
            n,
            0,
            "expected EOF, got {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// Waits until `cond` holds (counters are updated by other threads).
pub(super) fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
