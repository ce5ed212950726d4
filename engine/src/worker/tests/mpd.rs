//! Download streams (`--pctmpdstream`) under the scripted driver: range planning (sizes not a
//! multiple of the chunk, size 0, one chunk), the bound on ranges in flight per stream, one
//! failing range failing its stream exactly once, and the stop (parked connections, cancel).
//!
//! A small scripted server answers every request: a HEAD with the object's size, a ranged GET
//! with a 206 of the range (its body dropped in the kernel); it logs each request so a test
//! checks exactly which ranges went out.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use socket2::SockAddr;

use super::super::mpd::StreamState;
use super::super::{Shared, Step, StopReason, Worker, SWEEP};
use super::{assert_counts, TIMEOUT};
use crate::driver::script::{recv, Answer, Script};
use crate::names::NameList;
use crate::selector::GetSelector;
use crate::stats::{ErrorKind, Op, OpStats, Snapshot};
use crate::workload::{Endpoint, Workload};

/// One request the server saw: the object and the range (`None`: a HEAD).
type Req = (String, Option<(u64, u64)>);

struct Mpd {
    s: Script,
    ticks: Receiver<(usize, Snapshot)>,
    /// Each object's size.
    sizes: BTreeMap<String, u64>,
    /// Every request answered, in order.
    log: Vec<Req>,
    /// The request each connection has in flight (sent, not yet answered).
    pending: Vec<Option<Req>>,
    /// Most ranges of one object in flight at once.
    max_parallel: BTreeMap<String, usize>,
    /// Ranges answered with this status instead of a 206 (object, first byte, status).
    fail: Vec<(String, u64, u16)>,
}

/// A run over `sizes` (object `o<k>` of `sizes[k]` bytes), each read once (`--epochs 1`), as
/// download streams of `chunk`-byte ranges, `workers` in flight, on `conns` connections.
fn mpd(sizes: &[u64], chunk: u64, workers: u32, conns: usize) -> Mpd {
    let mut w = Workload {
        endpoint: Some(Endpoint::parse("http://127.0.0.1:1").unwrap()),
        numworkers: conns as u32,
        timeout: Some(TIMEOUT),
        ..Workload::default()
    };
    w.ml.pctmpdstream = 100;
    w.ml.mpdstream_chunk_size = chunk;
    w.ml.mpdstream_workers = workers;
    let mut names = NameList::new();
    let mut map = BTreeMap::new();
    for (k, &size) in sizes.iter().enumerate() {
        names.push(&format!("o{k}"));
        map.insert(format!("o{k}"), size);
    }
    let selector = GetSelector::new(sizes.len() as u64, true, 1, w.seed);
    let addr = SockAddr::from(w.endpoint.as_ref().unwrap().addr);
    let shared = Arc::new(Shared::new(
        w,
        addr,
        b"ringload/".to_vec(),
        names,
        Some(selector),
        std::time::Instant::now(),
    ));
    let (tx, ticks) = mpsc::channel();
    Mpd {
        s: Script::new(Worker::new(0, conns, shared, tx)),
        ticks,
        sizes: map,
        log: Vec::new(),
        pending: vec![None; conns],
        max_parallel: BTreeMap::new(),
        fail: Vec::new(),
    }
}

/// The object and range of a request (its head's request line and `Range` header).
fn parse(req: &[u8]) -> Req {
    let text = String::from_utf8_lossy(req);
    let line = text.lines().next().unwrap();
    let path = line.split(' ').nth(1).unwrap();
    let name = path.rsplit('/').next().unwrap().to_string();
    let range = text
        .lines()
        .find_map(|l| l.strip_prefix("Range: bytes="))
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        });
    assert_eq!(
        line.starts_with("HEAD "),
        range.is_none(),
        "a HEAD or a ranged GET: {text}"
    );
    (name, range)
}

impl Mpd {
    fn totals(&mut self) -> OpStats {
        let mut all = Snapshot::new(0);
        for (_, snap) in self.ticks.try_iter() {
            all.add(&snap);
        }
        all.add(self.s.worker.stats.current());
        all.get(Op::GetMpd).clone()
    }

    /// Connects and sends every connection that is about to, so that all requests that can
    /// be in flight at once are.
    fn send_all(&mut self) {
        for i in 0..self.pending.len() {
            loop {
                match self.s.step(i) {
                    Step::Connect => {
                        self.s.answer(i, Answer::Connected);
                    }
                    Step::Send => {
                        let before = self.s.sent[i].len();
                        assert_eq!(self.s.answer(i, Answer::SentAll), Step::Recv);
                        self.pending[i] = Some(parse(&self.s.sent[i][before..]));
                    }
                    _ => break,
                }
            }
        }
        let mut now: BTreeMap<String, usize> = BTreeMap::new();
        for (name, range) in self.pending.iter().flatten() {
            if range.is_some() {
                *now.entry(name.clone()).or_default() += 1;
            }
        }
        for (name, n) in now {
            let m = self.max_parallel.entry(name).or_default();
            *m = (*m).max(n);
        }
    }

    /// Answers connection `i`'s request in flight completely.
    fn answer(&mut self, i: usize) {
        let req = self.pending[i].take().expect("a request in flight");
        let size = self.sizes[&req.0];
        let failing = |a: u64| self.fail.iter().find(|(n, at, _)| *n == req.0 && *at == a);
        let head = match req.1 {
            None => format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n"),
            Some((a, _)) if failing(a).is_some() => {
                let status = failing(a).unwrap().2;
                format!("HTTP/1.1 {status} Err\r\nContent-Length: 0\r\n\r\n")
            }
            Some((a, b)) => format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\n\
                 Content-Range: bytes {a}-{b}/{size}\r\n\r\n",
                b - a + 1
            ),
        };
        let mut step = self.s.answer(i, recv(head.as_bytes()));
        while let Step::Discard(n) = step {
            step = self.s.answer(i, Answer::Discarded(n));
        }
        self.log.push(req);
    }

    /// Serves until every connection is finished: each round sends what can go out, then
    /// answers the oldest connection in flight (round-robin), waking parked connections with
    /// the periodic work when nothing is in flight.
    fn serve(&mut self) {
        let mut next = 0;
        for _ in 0..100_000 {
            // The periodic work (parked connections wake), as a driver runs it.
            self.s.advance(Duration::ZERO);
            self.send_all();
            if self.s.worker.done() {
                return;
            }
            let n = self.pending.len();
            match (0..n)
                .map(|k| (next + k) % n)
                .find(|&i| self.pending[i].is_some())
            {
                Some(i) => {
                    self.answer(i);
                    next = i + 1;
                }
                None => {
                    self.s.advance(SWEEP);
                }
            }
        }
        panic!("the run never ended");
    }

    /// The ranges read of object `name`, in the order they were answered.
    fn ranges_of(&self, name: &str) -> Vec<(u64, u64)> {
        self.log
            .iter()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, r)| *r)
            .collect()
    }

    fn heads(&self) -> usize {
        self.log.iter().filter(|(_, r)| r.is_none()).count()
    }
}

#[test]
fn ranges_cover_each_object_exactly_once_whatever_its_size() {
    // 10 bytes in chunks of 4: 0-3, 4-7, 8-9; 8 bytes: two whole chunks; 3 bytes: one
    // chunk, shorter than the chunk size; 4 bytes: exactly one chunk; 0 bytes: the HEAD only.
    let sizes = [10, 8, 3, 4, 0];
    let mut r = mpd(&sizes, 4, 2, 3);
    r.serve();
    let mut want: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    want.insert("o0", vec![(0, 3), (4, 7), (8, 9)]);
    want.insert("o1", vec![(0, 3), (4, 7)]);
    want.insert("o2", vec![(0, 2)]);
    want.insert("o3", vec![(0, 3)]);
    want.insert("o4", vec![]);
    for (name, ranges) in want {
        let mut got = r.ranges_of(name);
        got.sort();
        assert_eq!(got, ranges, "{name}");
    }
    assert_eq!(r.heads(), 5);
    assert_eq!(r.log.len(), 5 + 3 + 2 + 1 + 1);
    // One success per object, its whole size; the latency histogram holds one per stream.
    assert_counts(&r.totals(), 5, 25, 0);
    assert_eq!(r.s.worker.mpd.live(), 0, "every stream slot is free again");
    assert_eq!(r.s.worker.shared.reason(), StopReason::Epochs);
}

#[test]
fn a_stream_keeps_at_most_its_workers_in_flight_and_uses_the_spare_connections() {
    // One object of 10 ranges, 3 workers, 8 connections: exactly 3 ranges at once.
    let mut r = mpd(&[100], 10, 3, 8);
    r.serve();
    assert_eq!(r.max_parallel["o0"], 3);
    let mut got = r.ranges_of("o0");
    got.sort();
    assert_eq!(
        got,
        (0..10).map(|k| (k * 10, k * 10 + 9)).collect::<Vec<_>>()
    );
    assert_counts(&r.totals(), 1, 100, 0);
    // More connections than workers never exceed the bound; fewer use all they have.
    let mut r = mpd(&[100, 100], 10, 16, 4);
    r.serve();
    let most = r.max_parallel.values().max().copied();
    assert_eq!(most, Some(4), "{:?}", r.max_parallel);
    assert_counts(&r.totals(), 2, 200, 0);
}

#[test]
fn one_failing_range_fails_its_stream_exactly_once() {
    let mut r = mpd(&[100, 50], 10, 4, 4);
    // Two ranges of the same stream fail while both are in flight.
    r.fail = vec![("o0".into(), 30, 500), ("o0".into(), 40, 503)];
    r.serve();
    let t = r.totals();
    assert_counts(&t, 1, 50, 1);
    assert_eq!(t.errors_of(ErrorKind::Http(500)), 1);
    // No range of the failed stream went out after the failure was known beyond those in
    // flight then: fewer than all ten were read.
    let o0 = r.ranges_of("o0");
    assert!(o0.len() < 10 && o0.contains(&(30, 39)), "{o0:?}");
    assert!(
        o0.contains(&(40, 49)),
        "both failures were in flight: {o0:?}"
    );
    assert_eq!(r.ranges_of("o1").len(), 5);
    assert_eq!(r.s.worker.mpd.live(), 0);
}

#[test]
fn a_range_of_the_wrong_length_is_a_short_body() {
    let mut r = mpd(&[20], 10, 1, 1);
    r.send_all();
    r.answer(0); // the HEAD
    r.send_all();
    let req = r.pending[0].take().unwrap();
    assert_eq!(req.1, Some((0, 9)));
    // A 206 of 5 bytes for a 10-byte range.
    let step = r.s.answer(
        0,
        recv(b"HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\n\r\n"),
    );
    assert_eq!(step, Step::Discard(5));
    r.s.answer(0, Answer::Discarded(5));
    let t = r.totals();
    assert_counts(&t, 0, 0, 1);
    assert_eq!(t.errors_of(ErrorKind::ShortBody), 1);
}

#[test]
fn at_the_stop_every_stream_in_flight_ends_and_every_connection_finishes() {
    // The epoch is done after the first object: the other connections park instead of
    // finishing, take the stream's ranges when its HEAD answered, and finish after it.
    let mut r = mpd(&[60], 10, 3, 4);
    r.send_all();
    assert_eq!(r.s.worker.mpd.parked.len(), 3, "nothing new to start");
    assert_eq!(r.s.worker.shared.reason(), StopReason::Epochs);
    r.serve();
    assert_eq!(
        r.max_parallel["o0"], 3,
        "the parked connections read ranges"
    );
    assert_counts(&r.totals(), 1, 60, 0);
    assert!(r.s.worker.done());
}

#[test]
fn a_cancel_ends_the_streams_uncounted_and_every_connection_finishes() {
    let mut r = mpd(&[100], 10, 2, 2);
    r.send_all();
    r.answer(0); // the HEAD: its connection takes the first range
    r.s.advance(Duration::ZERO); // the parked connection takes the second
    r.send_all();
    assert_eq!(r.pending.iter().flatten().count(), 2);
    assert_eq!(r.s.worker.mpd.state(0), StreamState::Ranges);
    r.s.worker.shared.stop(StopReason::Duration);
    r.s.worker.shared.cancel.store(true, Ordering::Relaxed);
    // The sweep aborts both ranges in flight; io_uring's cancels complete them.
    let expired = r.s.advance(SWEEP);
    assert_eq!(expired.len(), 2);
    for i in expired {
        r.pending[i] = None;
        assert_eq!(r.s.answer(i, Answer::Errno(libc::ECANCELED)), Step::Idle);
    }
    assert!(r.s.worker.done());
    assert_counts(&r.totals(), 0, 0, 0);
    assert_eq!(r.s.worker.mpd.live(), 0);
}

#[test]
fn a_stream_request_that_cannot_connect_fails_the_stream_once() {
    // The HEAD's connect is refused: one connect error, the slot freed.
    let mut r = mpd(&[40], 10, 2, 1);
    assert_eq!(r.s.answer(0, Answer::Errno(libc::ECONNREFUSED)), Step::Idle);
    assert_eq!(r.s.worker.mpd.live(), 0);
    r.serve();
    let t = r.totals();
    assert_counts(&t, 0, 0, 1);
    assert_eq!(t.errors_of(ErrorKind::Connect), 1);
    // A range's connect is refused (the parked connection's fresh socket): the stream fails
    // once; the range in flight on the other connection finishes uncounted.
    let mut r = mpd(&[40], 10, 2, 2);
    r.send_all();
    r.answer(0); // the HEAD: its connection takes 0-9 on its keep-alive socket
    r.s.advance(Duration::ZERO); // the parked connection takes 10-19 and connects
    assert_eq!(r.s.step(1), Step::Connect);
    r.s.answer(1, Answer::Errno(libc::ECONNREFUSED));
    r.serve();
    let t = r.totals();
    assert_counts(&t, 0, 0, 1);
    assert_eq!(t.errors_of(ErrorKind::Connect), 1);
    assert_eq!(r.ranges_of("o0"), [(0, 9)]);
    assert_eq!(r.s.worker.mpd.live(), 0);
    assert!(r.s.worker.done());
}
