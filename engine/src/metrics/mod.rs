//! Live Prometheus metrics (`--metrics-listen`): a small HTTP server thread that answers
//! `GET /metrics` with the text the reporter last rendered.
//!
//! Why this shape: the cores never see a scrape. The reporter renders the exposition
//! ([`text`]) from its cumulative snapshot at most once per tick ([`Exporter::refresh`]) and
//! swaps it into a shared page; the server thread ([`Server`]) only copies that page out. A
//! scrape therefore costs the hot path nothing, and a slow or hostile client (read and write
//! timeouts, a bounded request head, one connection at a time) can delay only other scrapes,
//! never the run. When the load is over the reporter renders a final page
//! ([`Exporter::finish`]); the server stops when the run ends (dropping the [`Server`]), so a
//! scraper may miss that last page: the result file is authoritative.
//!
//! The caller binds the listener before the load ([`bind`]), so a bad or busy address fails at
//! once, naming `--metrics-listen` and the fix.

pub mod text;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::stats::{Snapshot, OP_COUNT, TICK};
use crate::worker::Shared;
pub use text::Info;

/// The content type of the text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The longest request head a scrape may send.
const MAX_HEAD: usize = 8 * 1024;
/// How long one scrape may take to send its request and read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the server thread looks for a connection or the stop.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// What the run needs to serve metrics: the bound listener and what `ringload_info` says.
#[derive(Debug)]
pub struct MetricsListen {
    pub listener: TcpListener,
    pub info: Info,
}

/// Binds `--metrics-listen ADDR` (`HOST:PORT`; `:PORT` means every address; port 0 picks a
/// free one), or says why not and the fix.
pub fn bind(value: &str) -> Result<TcpListener, String> {
    let fix = "Give HOST:PORT of this machine with a free port, e.g. --metrics-listen \
               0.0.0.0:9464 (:9464 listens on every address, [ADDR]:PORT for IPv6)";
    let spec = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_string(),
    };
    let addrs: Vec<SocketAddr> = spec
        .to_socket_addrs()
        .map_err(|e| format!("--metrics-listen {value:?}: {e}. {fix}"))?
        .collect();
    let Some(first) = addrs.first() else {
        return Err(format!(
            "--metrics-listen {value:?}: the host has no address. {fix}"
        ));
    };
    TcpListener::bind(&addrs[..])
        .map_err(|e| format!("--metrics-listen {value:?}: cannot listen on {first}: {e}. {fix}"))
}

/// The URL a scraper uses for `addr` (printed as `metrics: <url>`).
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/metrics")
}

/// The reporter's side: renders the page from its snapshots.
pub struct Exporter {
    page: Arc<Mutex<String>>,
    info: Info,
    shared: Arc<Shared>,
    dirty: bool,
    last: Option<Instant>,
}

impl Exporter {
    /// Notes that a tick arrived: the page is rendered again at the next [`Exporter::refresh`]
    /// that is due.
    pub fn tick(&mut self) {
        self.dirty = true;
    }

    /// Renders the page from `total` if a tick arrived since the last render and a tick has
    /// passed since it (at most once per tick, whatever the number of cores), timed on the
    /// monotonic clock (a wall-clock step neither stalls nor floods the renders). The client
    /// CPU is read here, on the reporter thread, from `/proc`.
    pub fn refresh(&mut self, total: &Snapshot, pending: [u64; OP_COUNT], now: Instant) {
        if !self.dirty || !due(self.last, now) {
            return;
        }
        self.last = Some(now);
        self.render(total, pending);
    }

    /// Renders the run's final page, whatever the timing: the last interval and the drain are
    /// served until the server stops with the run.
    pub fn finish(&mut self, total: &Snapshot, pending: [u64; OP_COUNT]) {
        self.last = Some(Instant::now());
        self.render(total, pending);
    }

    fn render(&mut self, total: &Snapshot, pending: [u64; OP_COUNT]) {
        self.dirty = false;
        let cpu: Vec<Option<u64>> = self
            .shared
            .core_tids
            .iter()
            .map(|t| match t.load(Ordering::Relaxed) {
                0 => None,
                tid => thread_cpu_ns(tid),
            })
            .collect();
        let extra = text::Extra {
            pending,
            cpu_ns: &cpu,
        };
        let page = text::render(&self.info, total, &extra);
        if let Ok(mut p) = self.page.lock() {
            *p = page;
        }
    }
}

/// Whether a render is due at `now` after the last one at `last`: one tick apart at least.
fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|t| now.saturating_duration_since(t) >= TICK)
}

/// Thread `tid`'s CPU time, ns: from `schedstat` (exact), or else from `stat`'s clock ticks
/// (USER_HZ, 100 a second on Linux, whatever the kernel's own tick rate).
fn thread_cpu_ns(tid: i32) -> Option<u64> {
    crate::client::thread_sched(tid)
        .map(|s| s.run_ns)
        .or_else(|| crate::client::thread_cpu_ticks(tid).map(|t| t.saturating_mul(10_000_000)))
}

/// The server thread; dropping it stops the thread and waits for it.
pub struct Server {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Starts serving on `m`'s listener: an empty run's page at once, then what the returned
/// [`Exporter`] renders.
pub fn start(m: &MetricsListen, shared: Arc<Shared>) -> std::io::Result<(Server, Exporter)> {
    let listener = m.listener.try_clone()?;
    listener.set_nonblocking(true)?;
    let mut first = Snapshot::new(shared.start_unix_ns);
    if shared.workload.rate.is_some() {
        first.rate_mode();
    }
    let cores = shared.core_tids.len();
    let none = vec![None; cores];
    let page = text::render(
        &m.info,
        &first,
        &text::Extra {
            pending: [0; OP_COUNT],
            cpu_ns: &none,
        },
    );
    let page = Arc::new(Mutex::new(page));
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s) = (page.clone(), stop.clone());
    let handle = std::thread::Builder::new()
        .name("ringload-metrics".into())
        .spawn(move || serve(&listener, &p, &s))?;
    let exporter = Exporter {
        page,
        info: m.info.clone(),
        shared,
        dirty: false,
        last: None,
    };
    Ok((
        Server {
            stop,
            handle: Some(handle),
        },
        exporter,
    ))
}

/// The accept loop: one scrape at a time until `stop`.
fn serve(listener: &TcpListener, page: &Mutex<String>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((s, _)) => answer(s, page),
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

/// Reads one request head (bounded in size and time) and writes the answer.
fn answer(mut s: TcpStream, page: &Mutex<String>) {
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    if s.set_nonblocking(false).is_err()
        || s.set_read_timeout(Some(CLIENT_TIMEOUT)).is_err()
        || s.set_write_timeout(Some(CLIENT_TIMEOUT)).is_err()
    {
        return;
    }
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let complete = loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break true;
        }
        if head.len() > MAX_HEAD || Instant::now() >= deadline {
            break false;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    };
    let reply = if complete {
        let body = page.lock().map(|p| p.clone()).unwrap_or_default();
        respond(&head, &body)
    } else if head.len() > MAX_HEAD {
        plain(
            431,
            "Request Header Fields Too Large",
            "request head too large\n",
            "",
        )
    } else {
        return;
    };
    let _ = s.write_all(&reply);
    let _ = s.flush();
    let _ = s.shutdown(std::net::Shutdown::Write);
}

/// The answer to a request head: the page for `GET /metrics` (headers only for `HEAD`), 404
/// for another path, 405 for another method, 400 for a malformed request line.
fn respond(head: &[u8], page: &str) -> Vec<u8> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return plain(400, "Bad Request", "malformed request line\n", "");
    };
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return plain(400, "Bad Request", "malformed request line\n", "");
    }
    let path = target.split('?').next().unwrap_or_default();
    match method {
        "GET" | "HEAD" if path == "/metrics" => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                page.len()
            )
            .into_bytes();
            if method == "GET" {
                out.extend_from_slice(page.as_bytes());
            }
            out
        }
        "GET" | "HEAD" => plain(404, "Not Found", "not found: metrics are at /metrics\n", ""),
        _ => plain(
            405,
            "Method Not Allowed",
            "method not allowed: use GET /metrics\n",
            "Allow: GET, HEAD\r\n",
        ),
    }
}

fn plain(code: u16, reason: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
