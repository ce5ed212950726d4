//! End-to-end tests of the built-in target over real loopback sockets, with
//! `std::net::TcpStream` as a deliberately plain client. Also the shared client helpers of the
//! protocol, cluster and fault tests in this directory (`ais`, `s3`, `cluster`, `fault`,
//! `remote`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::pattern::fill;
use super::*;

mod ais;
mod cluster;
mod fault;
mod remote;
mod s3;

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

pub(super) struct Client {
    pub(super) r: BufReader<TcpStream>,
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

    pub(super) fn send(&mut self, raw: &[u8]) {
        self.w.write_all(raw).unwrap();
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

#[test]
fn server_put_new_then_overwrite() {
    let h = server(1);
    let mut c = Client::connect(&h);
    let r = c.req("PUT", "b/o", "", &[7u8; 1000]);
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(h.object_size("b/o"), Some(1000));
    let r = c.req("PUT", "b/o", "", &[7u8; 2000]);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-length"), None);
    assert_eq!(h.object_size("b/o"), Some(2000));
    assert_eq!(h.object_count(), 1);
    let t = h.counters();
    assert_eq!((t.puts, t.bytes_in, t.errors), (2, 3000, 0));
}

#[test]
fn server_get_unknown_is_404_with_body() {
    let h = server(1);
    let mut c = Client::connect(&h);
    let r = c.req("GET", "b/missing", "", b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"not found\n");
    // The connection stays usable.
    assert_eq!(c.req("GET", "b/missing", "", b"").status, 404);
    let t = h.counters();
    assert_eq!((t.gets, t.not_found), (2, 2));
}

#[test]
fn server_get_returns_the_pattern_bytes() {
    let h = server(1);
    h.insert("b/x", 100_000);
    h.insert("/b/empty", 0);
    let mut c = Client::connect(&h);
    let r = c.req("GET", "b/x?ignored=1", "", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("100000"));
    assert!(
        r.body == expected("b/x", 0, 100_000),
        "body differs from the pattern"
    );
    let r = c.req("GET", "b/empty", "", b"");
    assert_eq!((r.status, r.body.len()), (200, 0));
    // Percent-decoded names address the same object.
    h.insert("b/a b", 10);
    let r = c.req("GET", "b/a%20b", "", b"");
    assert_eq!(r.body, expected("b/a b", 0, 10));
    // The client may read the last byte before the server thread updates its counter.
    eventually("bytes_out", || h.counters().bytes_out == 100_010);
}

#[test]
fn server_ranges() {
    let h = server(1);
    h.insert("b/r", 5000);
    let mut c = Client::connect(&h);
    let cases: [(&str, u64, u64); 4] = [
        ("bytes=10-19", 10, 19),
        ("bytes=4990-", 4990, 4999),
        ("bytes=-7", 4993, 4999),
        ("bytes=0-99999", 0, 4999),
    ];
    for (range, a, b) in cases {
        let r = c.req("GET", "b/r", &format!("Range: {range}\r\n"), b"");
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(&*format!("bytes {a}-{b}/5000"))
        );
        assert_eq!(r.body, expected("b/r", a, (b - a + 1) as usize), "{range}");
    }
    let r = c.req("GET", "b/r", "Range: bytes=5000-\r\n", b"");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */5000"));
    // Several ranges: served whole (allowed by RFC 9110).
    let r = c.req("GET", "b/r", "Range: bytes=0-1,5-6\r\n", b"");
    assert_eq!((r.status, r.body.len()), (200, 5000));
    // Offsets far beyond the pattern length wrap correctly.
    let huge = 1u64 << 40;
    h.insert("b/huge", huge);
    let range = format!("Range: bytes={}-{}\r\n", huge - 1000, huge - 1);
    let r = c.req("GET", "b/huge", &range, b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, expected("b/huge", huge - 1000, 1000));
}

#[test]
fn server_head_and_delete() {
    let h = server(1);
    h.insert("b/h", 12345);
    let mut c = Client::connect(&h);
    let r = c.req("HEAD", "b/h", "", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("12345"));
    let r = c.req("HEAD", "b/nope", "", b"");
    assert_eq!(r.status, 404);
    // No body followed the HEAD answers: the next answer parses cleanly.
    assert_eq!(c.req("DELETE", "b/h", "", b"").status, 204);
    assert_eq!(c.req("DELETE", "b/h", "", b"").status, 404);
    assert_eq!(h.object_count(), 0);
    assert_eq!(c.req("POST", "b/h", "", b"").status, 405);
    let t = h.counters();
    assert_eq!((t.heads, t.deletes, t.not_found, t.bytes_out), (2, 2, 2, 0));
}

#[test]
fn server_keep_alive_and_pipelining() {
    let h = server(2);
    let mut c = Client::connect(&h);
    for i in 0..500u64 {
        let name = format!("b/k{i}");
        assert_eq!(c.req("PUT", &name, "", &vec![1u8; i as usize]).status, 201);
        let r = c.req("GET", &name, "", b"");
        assert_eq!(r.body, expected(&name, 0, i as usize));
    }
    // 100 requests in one write; 100 answers in order.
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend_from_slice(format!("GET /b/k{i} HTTP/1.1\r\n\r\n").as_bytes());
    }
    c.send(&batch);
    for i in 0..100 {
        let r = c.read_resp(false);
        assert_eq!((r.status, r.body.len()), (200, i));
    }
    assert_eq!(h.counters().gets, 600);
}

#[test]
fn server_chunked_put_and_expect_continue() {
    let h = server(1);
    let mut c = Client::connect(&h);
    let body = "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
    let head = "PUT /b/chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    // Byte by byte, so every framing state sees a partial buffer.
    for b in head.bytes().chain(body.bytes()) {
        c.send(&[b]);
    }
    assert_eq!(c.read_resp(false).status, 201);
    assert_eq!(h.object_size("b/chunked"), Some(31));

    c.send(b"PUT /b/e HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    let (status, _) = c.read_head();
    assert_eq!(status, 100);
    c.send(b"xyz");
    assert_eq!(c.read_resp(false).status, 201);
    assert_eq!(h.object_size("b/e"), Some(3));
}

#[test]
fn server_streams_64_mib_get_and_drops_64_mib_put() {
    const SIZE: usize = 64 << 20;
    let h = server(1);
    h.insert("b/big", SIZE as u64);
    let mut c = Client::connect(&h);
    c.send(b"GET /b/big HTTP/1.1\r\n\r\n");
    let (status, headers) = c.read_head();
    assert_eq!(status, 200);
    assert!(headers.contains(&("Content-Length".into(), SIZE.to_string())));
    let mut got = vec![0u8; 1 << 20];
    let mut want = vec![0u8; 1 << 20];
    for off in (0..SIZE).step_by(1 << 20) {
        c.r.read_exact(&mut got).unwrap();
        fill(b"b/big", off as u64, &mut want);
        assert!(got == want, "mismatch in MiB at offset {off}");
    }
    // A 64 MiB PUT on the same connection is dropped in the kernel and recorded.
    c.send(format!("PUT /b/up HTTP/1.1\r\nContent-Length: {SIZE}\r\n\r\n").as_bytes());
    let chunk = vec![9u8; 1 << 20];
    for _ in 0..64 {
        c.send(&chunk);
    }
    assert_eq!(c.read_resp(false).status, 201);
    assert_eq!(h.object_size("b/up"), Some(SIZE as u64));
    let t = h.counters();
    assert_eq!((t.bytes_out, t.bytes_in), (SIZE as u64, SIZE as u64));
}

#[test]
fn server_survives_clients_vanishing_mid_body() {
    let h = server(1);
    h.insert("b/big", 64 << 20);
    {
        let mut c = Client::connect(&h);
        c.send(b"PUT /b/partial HTTP/1.1\r\nContent-Length: 10485760\r\n\r\n");
        c.send(&vec![0u8; 1 << 20]);
    }
    {
        let mut c = Client::connect(&h);
        c.send(b"GET /b/big HTTP/1.1\r\n\r\n");
        let mut some = vec![0u8; 100_000];
        c.r.read_exact(&mut some).unwrap();
        c.w.shutdown(Shutdown::Both).unwrap();
    }
    {
        let mut c = Client::connect(&h);
        c.send(b"GET /b/big HT"); // half a head, then gone
    }
    eventually("three errors", || h.counters().errors >= 3);
    let mut c = Client::connect(&h);
    assert_eq!(c.req("PUT", "b/ok", "", b"fine").status, 201);
    assert_eq!(c.req("GET", "b/ok", "", b"").body, expected("b/ok", 0, 4));
    assert_eq!(h.object_size("b/partial"), None);
}

#[test]
fn server_rejects_malformed_and_honours_connection_close() {
    let h = server(1);
    let mut c = Client::connect(&h);
    c.send(b"GARBAGE\r\n\r\n");
    let r = c.read_resp(false);
    assert_eq!((r.status, r.header("connection")), (400, Some("close")));
    c.assert_closed();

    let mut c = Client::connect(&h);
    let r = c.req("PUT", "b/%zz", "", b"abc");
    assert_eq!(r.status, 400);
    c.assert_closed();

    let mut c = Client::connect(&h);
    let big = format!("GET /b/x HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(20_000));
    c.send(big.as_bytes());
    assert_eq!(c.read_resp(false).status, 400);

    let mut c = Client::connect(&h);
    let r = c.req("GET", "b/x", "Connection: close\r\n", b"");
    assert_eq!((r.status, r.header("connection")), (404, Some("close")));
    c.assert_closed();
    assert_eq!(h.counters().errors, 3);
}

#[test]
fn server_many_clients_on_many_cores() {
    let h = server(4);
    assert_eq!(h.cores(), 4);
    std::thread::scope(|s| {
        for t in 0..8 {
            let h = &h;
            s.spawn(move || {
                let mut c = Client::connect(h);
                for i in 0..100 {
                    let name = format!("t{t}/o{i}");
                    assert_eq!(c.req("PUT", &name, "", &[0u8; 64]).status, 201);
                    assert_eq!(c.req("GET", &name, "", b"").body, expected(&name, 0, 64));
                }
            });
        }
    });
    let t = h.counters();
    assert_eq!(
        (t.puts, t.gets, t.bytes_in, t.errors),
        (800, 800, 800 * 64, 0)
    );
    assert_eq!(h.object_count(), 800);
}

#[test]
fn server_stop_is_prompt_with_busy_and_idle_connections() {
    let h = server(2);
    h.insert("b/big", 1 << 30);
    let addr = h.local_addr();
    let _idle = Client::connect(&h);
    let mut busy = Client::connect(&h);
    busy.send(b"GET /b/big HTTP/1.1\r\n\r\n");
    let (status, _) = busy.read_head();
    assert_eq!(status, 200);
    let t0 = Instant::now();
    h.stop();
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "stop took {took:?}");
    assert!(
        TcpStream::connect(addr).is_err(),
        "listener still open after stop"
    );
}

#[test]
fn server_start_errors_name_the_address_and_fix() {
    let h = server(1);
    let err = start(ServeConfig {
        listen: h.local_addr(),
        cores: 1,
        ..ServeConfig::default()
    })
    .err()
    .expect("second bind of the same port must fail");
    assert!(matches!(err, ServeError::AddrInUse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&h.local_addr().to_string()) && msg.contains("127.0.0.1:0"),
        "{msg}"
    );
    let err = start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cores: MAX_CORES + 1,
        ..ServeConfig::default()
    })
    .err()
    .expect("too many cores");
    assert!(err.to_string().contains("--cores"), "{err}");
    assert!(h.url().starts_with("http://127.0.0.1:"));
}

#[test]
fn server_restarts_on_the_same_fixed_port() {
    let h = server(2);
    let addr = h.local_addr();
    // `Connection: close` makes the server close first, leaving TIME_WAIT on its port.
    let mut c = Client::connect(&h);
    assert_eq!(
        c.req("GET", "b/x", "Connection: close\r\n", b"").status,
        404
    );
    c.assert_closed();
    h.stop();
    let h = start(ServeConfig {
        listen: addr,
        cores: 2,
        ..ServeConfig::default()
    })
    .expect("restart on the same port");
    assert_eq!(h.local_addr(), addr);
    assert_eq!(Client::connect(&h).req("GET", "b/x", "", b"").status, 404);
}
