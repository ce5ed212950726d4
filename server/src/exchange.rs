//! What a connection does with one request once its head is parsed: route it, decide its
//! fault, choose what happens to its body, and, once the body is complete, hand it to its
//! handler and carry out the answer's fault (cut body, reset, held answer).
//!
//! Owns: [`Pending`] (the request in progress) and the `Conn` methods `start_request`,
//! `finish_request` and `abort`. Why apart from `conn`: that module is about bytes and
//! sequencing on the socket; this one about what a request means.
//!
//! Invariants: allocation-free for object requests (routing and object answers write into the
//! connection's reused buffers); a request whose route does not want its body and that asked
//! `Expect: 100-continue` (or announced a control body above [`MAX_CONTROL_BODY`]) is answered
//! at once and the connection closed, the body never read; every other body is consumed before
//! the answer, so keep-alive stays in step.

use std::os::fd::AsRawFd;
use std::time::Instant;

use super::ais::arch;
use super::conn::{BodyState, Conn, Phase, Stream, KEEP_BUF_BYTES};
use super::counters::{CoreCounters, Kind};
use super::fault::Decision;
use super::object::{self, End};
use super::reactor::Shared;
use super::request::{query_param, Cksum, Framing, Head, Method, RangeSpec, Status};
use super::respond::{self, Reply};
use super::route::{self, ObjOp, Reject, Route};
use super::ServeProtocol;
use super::{ais, cluster, s3, stats, sys};

/// Largest control request body kept (bytes); a larger one is answered 413.
pub(crate) const MAX_CONTROL_BODY: u64 = 1 << 20;

/// The request whose body is being consumed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pending {
    pub(super) method: Method,
    pub(super) keep_alive: bool,
    pub(super) http10_keep_alive: bool,
    pub(super) range: Option<RangeSpec>,
    pub(super) received: u64,
    pub(super) route: Route,
    /// Byte range of the object key (or bucket) in the decoded path.
    pub(super) key: (usize, usize),
    /// Length of the raw path in the raw target.
    pub(super) path_len: usize,
    /// The body is kept in `Conn::body` (control requests, AIS shard PUTs).
    pub(super) capture: bool,
    /// Most body bytes kept (413 beyond).
    pub(super) capture_max: u64,
    pub(super) fault: Decision,
    /// The checksum an AIS PUT declared.
    pub(super) cksum: Option<Cksum>,
}

impl Pending {
    /// Before the first request.
    pub(super) fn idle() -> Self {
        Self {
            method: Method::Other,
            keep_alive: true,
            http10_keep_alive: false,
            range: None,
            received: 0,
            route: Route::Reject(Reject::UnknownPath, Kind::Other),
            key: (0, 0),
            path_len: 0,
            capture: false,
            capture_max: MAX_CONTROL_BODY,
            fault: Decision::default(),
            cksum: None,
        }
    }
}

impl Conn {
    pub(super) fn start_request(&mut self, head: Head, shared: &Shared, ctr: &CoreCounters) {
        let node = &shared.node;
        let head_bytes = &self.rbuf[self.rpos..self.rpos + head.len];
        // The name was validated as UTF-8 by `parse_head`; the fallback is unreachable.
        let path = std::str::from_utf8(&self.name).unwrap_or("");
        let query = self.target.get(head.path_len + 1..).unwrap_or(&[]);
        let routed = route::route(node, head.method, path, query, || {
            s3::authorized(node, head_bytes)
        });
        if head.authorization && routed.route != Route::Stats {
            ctr.authorized();
        }
        self.rpos += head.len;
        let mut route = routed.route;
        if route.captures_body()
            && matches!(head.framing, Framing::Length(n) if n > MAX_CONTROL_BODY)
        {
            route = Route::Reject(Reject::TooLarge, Kind::Other);
        }
        // An AIS shard PUT keeps its body (bounded) for its member list; above the cap it is
        // dropped and the answer names the cap.
        let shard = node.protocol == ServeProtocol::Ais
            && matches!(route, Route::Object(ObjOp::Put, _))
            && path
                .get(routed.key.0..routed.key.1)
                .is_some_and(arch::is_shard_name)
            && !matches!(head.framing, Framing::Length(n) if n > arch::SHARD_MAX_BYTES);
        let fault = match route {
            Route::Object(ObjOp::Get | ObjOp::Put, _) => node.next_fault(),
            // A multipart step may be delayed (never failed: its errors are its own).
            Route::AisMpt(..) => Decision {
                kind: None,
                ..node.next_fault()
            },
            _ => Decision::default(),
        };
        self.req = Pending {
            method: head.method,
            keep_alive: head.keep_alive,
            http10_keep_alive: head.http10_keep_alive,
            range: head.range,
            received: 0,
            route,
            key: routed.key,
            path_len: head.path_len,
            capture: route.captures_body() || shard,
            capture_max: match shard {
                true => arch::SHARD_MAX_BYTES,
                false => MAX_CONTROL_BODY,
            },
            fault,
            cksum: head.cksum,
        };
        self.body.clear();
        if self.body.capacity() > KEEP_BUF_BYTES {
            self.body = Vec::new();
        }
        let refuse_unread = !route.wants_body()
            && (head.expect_continue || route == Route::Reject(Reject::TooLarge, Kind::Other));
        if refuse_unread && head.framing != Framing::Length(0) {
            // Answer now and close: the body is never read (the rest of the input is ignored).
            self.req.keep_alive = false;
            self.finish_request(shared, ctr);
            return;
        }
        if head.expect_continue {
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        match head.framing {
            Framing::Length(0) => self.finish_request(shared, ctr),
            Framing::Length(n) => self.phase = Phase::Body(BodyState::Fixed(n)),
            Framing::Chunked => self.phase = Phase::Body(BodyState::ChunkSize),
        }
    }

    /// The body is complete: apply the request and queue the answer.
    pub(super) fn finish_request(&mut self, shared: &Shared, ctr: &CoreCounters) {
        let req = self.req;
        let node = &shared.node;
        let path = std::str::from_utf8(&self.name).unwrap_or("");
        let key = path.get(req.key.0..req.key.1).unwrap_or("");
        let query = self.target.get(req.path_len + 1..).unwrap_or(&[]);
        let mut r = Reply {
            out: &mut self.out,
            scratch: &mut self.scratch,
            ctr,
            close: !req.keep_alive,
            ka10: req.http10_keep_alive,
            head_only: req.method == Method::Head,
            counted: true,
        };
        let mut next = if req.keep_alive {
            Phase::Head
        } else {
            Phase::Closing
        };
        match req.route {
            Route::Object(op, provider) => {
                if op == ObjOp::Get && query_param(query, b"latest-ver") == Some(b"true") {
                    ctr.latest_ver();
                }
                let fault = req.fault.kind;
                let archpath = query_param(query, b"archpath");
                let o = object::Obj::new(node, provider, key).with_archpath(archpath);
                let put = object::PutFacts {
                    received: req.received,
                    cksum: req.cksum,
                    shard: req.capture.then_some(&self.body[..]),
                };
                let body = object::answer(&mut r, node, op, o, req.range, put, fault);
                if let Some(b) = body {
                    match b.end {
                        End::Complete => {}
                        End::Truncate => next = Phase::Closing,
                        End::Reset => {
                            // Best effort: without it the close is a FIN, still a short body.
                            let _ = sys::set_linger_zero(self.fd.as_raw_fd());
                            if let Some(tls) = self.tls.as_deref_mut() {
                                tls.abrupt();
                            }
                            next = Phase::Closing;
                        }
                    }
                    if b.len > 0 {
                        self.stream = Some(Stream {
                            pos: b.pos,
                            remaining: b.len,
                        });
                    }
                }
            }
            Route::Redirect(op, target) => {
                let raw_path = &self.target[..req.path_len.min(self.target.len())];
                cluster::redirect(&mut r, node, op, target, raw_path, query);
            }
            Route::AisMpt(step, p) => {
                let body = &self.body;
                ais::mpt::answer(&mut r, node, step, p, key, query, body, req.received)
            }
            Route::Stats => stats::answer(&mut r, shared),
            Route::Smap => ais::smap(&mut r, node),
            Route::AisBucket(m, p) => {
                let bucket = ais::Bck {
                    provider: p,
                    name: key,
                };
                ais::bucket(&mut r, node, m, bucket, query, &self.body)
            }
            Route::AisBuckets => ais::all_buckets(&mut r, node, query),
            Route::S3Bucket(m) => s3::bucket(&mut r, node, m, key, query),
            Route::Moss(p) => ais::moss::answer(&mut r, node, p, key, &self.body, &mut self.moss),
            Route::Reject(why, kind) => {
                respond::reject(&mut r, node.protocol, why, kind, key, req.method)
            }
        }
        if req.fault.delay {
            ctr.delayed();
            self.hold = Some(Instant::now() + node.faults.delay);
        }
        if self.scratch.capacity() > KEEP_BUF_BYTES {
            self.scratch = Vec::new();
        }
        self.phase = next;
    }

    /// Queues a plain-text error (400 or 413) and closes after it; the rest of the input is
    /// ignored.
    pub(super) fn abort(&mut self, ctr: &CoreCounters, status: Status) {
        ctr.error();
        ctr.request(Kind::Other);
        self.rpos = self.rend;
        let mut r = Reply {
            out: &mut self.out,
            scratch: &mut self.scratch,
            ctr,
            close: true,
            ka10: false,
            head_only: false,
            counted: true,
        };
        r.error(super::ServeProtocol::Http, status, "", format_args!(""));
        self.phase = Phase::Closing;
    }
}
