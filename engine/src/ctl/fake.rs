//! A scripted HTTP server on 127.0.0.1 for tests of [`crate::ctl`] and of [`crate::ais`]:
//! it records every request it sees and answers as its handler says, over plain TCP or, with
//! [`Fake::start_tls`], over TLS (a blocking rustls stream).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ringload_net::tls::rustls::{ServerConfig, ServerConnection, StreamOwned};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Which accepted connection (0-based) carried it.
    pub conn: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What the server does with a request.
pub enum Reply {
    /// Write these bytes and keep reading requests.
    Send(Vec<u8>),
    /// Write these bytes, then close the connection.
    SendClose(Vec<u8>),
    /// Never answer; wait for the client to go away.
    Silent,
}

/// A response with a Content-Length body.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len()).into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Reply::Send(out)
}

/// A JSON response.
pub fn json(status: u16, body: &str) -> Reply {
    reply(
        status,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

pub struct Fake {
    pub addr: String,
    tls: bool,
    accepts: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fake {
        Fake::start_with(None, handler)
    }

    /// The same server speaking TLS with `config` on every connection.
    pub fn start_tls(
        config: Arc<ServerConfig>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        Fake::start_with(Some(config), handler)
    }

    fn start_with(
        tls: Option<Arc<ServerConfig>>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let accepts = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let is_tls = tls.is_some();
        let (a, s) = (accepts.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let conn = a.fetch_add(1, Ordering::SeqCst);
                let (s, h, tls) = (s.clone(), handler.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(stream, conn, &s, &*h),
                    Some(cfg) => {
                        let Ok(c) = ServerConnection::new(cfg) else {
                            return;
                        };
                        serve(StreamOwned::new(c, stream), conn, &s, &*h)
                    }
                });
            }
        });
        Fake {
            addr,
            tls: is_tls,
            accepts,
            seen,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, path_and_query)
    }

    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

fn serve(mut stream: impl Read + Write, conn: usize, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf, conn) else {
            return;
        };
        seen.lock().expect("lock").push(req.clone());
        match handler(&req) {
            Reply::Send(bytes) => {
                if stream
                    .write_all(&bytes)
                    .and_then(|_| stream.flush())
                    .is_err()
                {
                    return;
                }
            }
            Reply::SendClose(bytes) => {
                let _ = stream.write_all(&bytes).and_then(|_| stream.flush());
                return;
            }
            Reply::Silent => {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
        }
    }
}

fn read_request(stream: &mut impl Read, buf: &mut Vec<u8>, conn: usize) -> Option<Seen> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut slots);
        if let Ok(httparse::Status::Complete(len)) = req.parse(buf) {
            let headers: Vec<(String, String)> = req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let mut seen = Seen {
                method: req.method.unwrap_or("").to_string(),
                target: req.path.unwrap_or("").to_string(),
                headers,
                body: Vec::new(),
                conn,
            };
            let cl: usize = seen
                .header("content-length")
                .map_or(0, |v| v.parse().unwrap_or(0));
            buf.drain(..len);
            while buf.len() < cl {
                let mut tmp = [0u8; 4096];
                match stream.read(&mut tmp) {
                    Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                    _ => return None,
                }
            }
            seen.body = buf.drain(..cl).collect();
            return Some(seen);
        }
        let mut tmp = [0u8; 4096];
        match stream.read(&mut tmp) {
            Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
            _ => return None,
        }
    }
}
