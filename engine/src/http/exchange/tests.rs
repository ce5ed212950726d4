//! Tests for the sans-IO exchange: responses are fed in every split, with kernel drops
//! simulated by skipping bytes of the input stream.

use super::*;

impl Exchange {
    /// Whether the response is complete.
    fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

struct Outcome {
    result: Result<(), Failure>,
    status: u16,
    body_bytes: u64,
    seen: Vec<u8>,
    keep_alive: bool,
}

/// Runs one exchange against `wire` (the server's bytes), receiving at most `step` bytes at a
/// time, then end-of-stream when the wire runs dry.
fn drive(wire: &[u8], step: usize, discard: bool, head_only: bool) -> Outcome {
    let mut ex = Exchange::new();
    ex.head.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    ex.begin(0, head_only, discard);
    assert_eq!(ex.need(), Need::Send);
    let n = ex.head_rest().len();
    ex.on_sent(n);
    let mut pos = 0;
    let mut seen = Vec::new();
    let result = loop {
        match ex.need() {
            Need::Done => break Ok(()),
            Need::Send => panic!("send after the head was sent"),
            Need::Recv => {
                let space = ex.recv_space();
                let n = space.len().min(step).min(wire.len() - pos);
                space[..n].copy_from_slice(&wire[pos..pos + n]);
                pos += n;
                if let Err(e) = ex.on_recv(n, &mut |b: &[u8]| seen.extend_from_slice(b)) {
                    break Err(e);
                }
                if n == 0 {
                    break Ok(());
                }
            }
            Need::Discard(max) => {
                let n = max.min(step).min(wire.len() - pos);
                pos += n;
                if let Err(e) = ex.on_discarded(n) {
                    break Err(e);
                }
                if n == 0 {
                    break Ok(());
                }
            }
        }
    };
    Outcome {
        result,
        status: ex.status(),
        body_bytes: ex.body_bytes(),
        seen,
        keep_alive: ex.keep_alive(),
    }
}

fn every_split(wire: &[u8], discard: bool, check: impl Fn(&Outcome)) {
    for step in [1, 2, 3, 7, 64, 4096, usize::MAX] {
        check(&drive(wire, step, discard, false));
    }
}

#[test]
fn content_length_body_copy_and_discard() {
    let body: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    let mut wire = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n".to_vec();
    wire.extend_from_slice(&body);
    every_split(&wire, false, |o| {
        assert_eq!(o.result, Ok(()));
        assert_eq!(o.status, 200);
        assert_eq!(o.body_bytes, 10_000);
        assert_eq!(o.seen, body);
        assert!(o.keep_alive);
    });
    every_split(&wire, true, |o| {
        assert_eq!(o.result, Ok(()));
        assert_eq!(o.body_bytes, 10_000);
        assert!(o.seen.len() <= 10_000);
        assert_eq!(&body[..o.seen.len()], &o.seen[..]);
    });
}

#[test]
fn chunked_body() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n";
    for discard in [false, true] {
        every_split(wire, discard, |o| {
            assert_eq!(o.result, Ok(()));
            assert_eq!(o.body_bytes, 31);
            assert!(o.keep_alive);
            if !discard {
                assert_eq!(o.seen, b"helloabcdefghijklmnopqrstuvwxyz");
            }
        });
    }
}

#[test]
fn until_close_body() {
    let wire = b"HTTP/1.1 200 OK\r\n\r\nabcdef";
    every_split(wire, true, |o| {
        assert_eq!(o.result, Ok(()));
        assert_eq!(o.body_bytes, 6);
        assert!(!o.keep_alive);
    });
}

#[test]
fn short_body_is_a_failure_not_fewer_bytes() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-some";
    for discard in [false, true] {
        every_split(wire, discard, |o| {
            assert_eq!(o.result, Err(Failure::ShortBody))
        });
    }
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\nabc";
    every_split(chunked, true, |o| {
        assert_eq!(o.result, Err(Failure::ShortBody))
    });
}

#[test]
fn closed_before_response_and_partial_head() {
    let o = drive(b"", 10, true, false);
    assert_eq!(o.result, Err(Failure::Closed));
    let o = drive(b"HTTP/1.1 200 O", 10, true, false);
    assert_eq!(o.result, Err(Failure::Protocol));
}

#[test]
fn garbage_and_bad_framing_are_protocol_errors() {
    assert_eq!(
        drive(b"NOT HTTP\r\n\r\n", 64, true, false).result,
        Err(Failure::Protocol)
    );
    let bad_cl = b"HTTP/1.1 200 OK\r\nContent-Length: x1\r\n\r\n";
    assert_eq!(
        drive(bad_cl, 64, true, false).result,
        Err(Failure::Protocol)
    );
    let two_cl = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    assert_eq!(
        drive(two_cl, 64, true, false).result,
        Err(Failure::Protocol)
    );
    let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert_eq!(
        drive(bad_chunk, 64, true, false).result,
        Err(Failure::Protocol)
    );
}

#[test]
fn interim_100_continue_is_skipped() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    every_split(wire, true, |o| {
        assert_eq!(o.result, Ok(()));
        assert_eq!(o.status, 201);
    });
}

#[test]
fn head_and_204_have_no_body() {
    let o = drive(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        64,
        true,
        true,
    );
    assert_eq!((o.result, o.body_bytes), (Ok(()), 0));
    let o = drive(b"HTTP/1.1 204 No Content\r\n\r\n", 64, true, false);
    assert_eq!((o.result, o.status, o.keep_alive), (Ok(()), 204, true));
}

#[test]
fn connection_close_and_http10() {
    let o = drive(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        64,
        true,
        false,
    );
    assert!(!o.keep_alive);
    let o = drive(
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        64,
        true,
        false,
    );
    assert!(!o.keep_alive);
}

#[test]
fn redirect_location_is_kept() {
    let wire = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/x?pid=1\r\nContent-Length: 0\r\n\r\n";
    let mut ex = Exchange::new();
    ex.begin(0, false, true);
    ex.on_sent(0);
    let space = ex.recv_space();
    space[..wire.len()].copy_from_slice(wire);
    ex.on_recv(wire.len(), &mut |_: &[u8]| {}).unwrap();
    assert!(ex.is_done());
    assert_eq!(ex.status(), 307);
    assert_eq!(ex.location(), b"http://127.0.0.1:9/x?pid=1");
}

#[test]
fn oversized_head_grows_then_fails() {
    let mut big = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 10_000));
    big.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(drive(&big, 4096, true, false).result, Ok(()));
    let mut huge = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', MAX_RESPONSE_HEAD + 10));
    assert_eq!(
        drive(&huge, 4096, true, false).result,
        Err(Failure::Protocol)
    );
}

#[test]
fn request_body_progress() {
    let mut ex = Exchange::new();
    ex.head
        .extend_from_slice(b"PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
    let hl = ex.head.len();
    ex.begin(10, false, true);
    ex.on_sent(hl - 3);
    assert_eq!(ex.head_rest().len(), 3);
    assert_eq!(ex.need(), Need::Send);
    ex.on_sent(3 + 4);
    assert_eq!(ex.body_progress(), (4, 10));
    assert_eq!(ex.need(), Need::Send);
    ex.on_sent(6);
    assert_eq!(ex.need(), Need::Recv);
}

/// Feeds `wire` whole into a receive.
fn feed(ex: &mut Exchange, wire: &[u8]) -> Result<(), Failure> {
    let space = ex.recv_space();
    space[..wire.len()].copy_from_slice(wire);
    ex.on_recv(wire.len(), &mut |_: &[u8]| {})
}

#[test]
fn expect_continue_sends_the_body_only_after_100() {
    let mut ex = Exchange::new();
    ex.head.extend_from_slice(
        b"PUT /o HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    );
    ex.begin(10, false, true);
    ex.expect_continue();
    assert!(!ex.may_send_body());
    let n = ex.head_rest().len();
    ex.on_sent(n);
    assert_eq!(
        ex.need(),
        Need::Recv,
        "waits for 100 Continue before the body"
    );
    feed(&mut ex, b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
    assert_eq!(ex.need(), Need::Send);
    assert!(ex.may_send_body());
    ex.on_sent(10);
    assert_eq!(ex.body_progress(), (10, 10));
    feed(
        &mut ex,
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(
        (ex.need(), ex.status(), ex.keep_alive()),
        (Need::Done, 201, true)
    );
}

#[test]
fn a_redirect_before_100_skips_the_body_and_the_connection() {
    let mut ex = Exchange::new();
    ex.head
        .extend_from_slice(b"PUT /o HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
    ex.begin(1 << 20, false, true);
    ex.expect_continue();
    let n = ex.head_rest().len();
    ex.on_sent(n);
    feed(
        &mut ex,
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://t:1/o?pid=p\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    assert_eq!((ex.need(), ex.status()), (Need::Done, 307));
    assert_eq!(ex.body_progress(), (0, 1 << 20), "the body never went out");
    assert!(
        !ex.keep_alive(),
        "the server may still expect the body: not reused"
    );
    assert_eq!(ex.location(), b"http://t:1/o?pid=p");
}

/// A sink sees the final head once (never an interim `100 Continue`) with its headers, and
/// then the body.
#[test]
fn sink_sees_only_the_final_head_then_the_body() {
    struct Rec {
        heads: Vec<(u16, Vec<String>)>,
        body: Vec<u8>,
    }
    impl Sink for Rec {
        fn head(&mut self, status: u16, headers: &[httparse::Header<'_>]) {
            let names = headers.iter().map(|h| h.name.to_string()).collect();
            self.heads.push((status, names));
        }
        fn body(&mut self, b: &[u8]) {
            assert_eq!(self.heads.len(), 1, "body before its head");
            self.body.extend_from_slice(b);
        }
    }
    let wire = b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n\
                 HTTP/1.1 200 OK\r\nETag: \"x\"\r\nContent-Length: 5\r\n\r\nhello";
    let mut ex = Exchange::with_recv_buf(16);
    ex.head.extend_from_slice(b"PUT / HTTP/1.1\r\n\r\n");
    ex.begin(0, false, false);
    let n = ex.head_rest().len();
    ex.on_sent(n);
    let mut rec = Rec {
        heads: Vec::new(),
        body: Vec::new(),
    };
    let mut pos = 0;
    while !ex.is_done() {
        let space = ex.recv_space();
        let n = space.len().min(wire.len() - pos);
        assert!(n > 0, "ran out of wire");
        space[..n].copy_from_slice(&wire[pos..pos + n]);
        pos += n;
        ex.on_recv(n, &mut rec).unwrap();
    }
    assert_eq!(
        rec.heads,
        vec![(200, vec!["ETag".to_string(), "Content-Length".to_string()])]
    );
    assert_eq!(rec.body, b"hello");
}

/// Each kind of malformed response names its fault, so the control plane can say what the
/// server got wrong.
#[test]
fn protocol_failures_name_their_reason() {
    let cases: [(&[u8], &str); 6] = [
        (b"NOT HTTP\r\n\r\n", "bad status line or header"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: x1\r\n\r\n",
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "conflicting Content-Length headers",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            "a chunk is longer than its size line says",
        ),
        (
            b"HTTP/1.1 200 O",
            "the connection closed inside the response head",
        ),
    ];
    for (wire, why) in cases {
        let mut ex = Exchange::new();
        ex.begin(0, false, false);
        ex.on_sent(0);
        let mut r = feed(&mut ex, wire);
        if r.is_ok() {
            r = ex.on_recv(0, &mut |_: &[u8]| {});
        }
        assert_eq!(r, Err(Failure::Protocol), "{why}");
        assert_eq!(ex.failure_reason(), why);
    }
}

#[test]
fn a_101_switch_is_a_protocol_failure_not_an_interim_head() {
    let wire = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    every_split(wire, false, |o| {
        assert_eq!(o.result, Err(Failure::Protocol))
    });
}

/// `body_left` announces the rest of a Content-Length body or of the current chunk, so a
/// caller that keeps bodies can refuse one over its cap before receiving it.
#[test]
fn body_left_announces_the_framed_rest() {
    let mut ex = Exchange::new();
    ex.begin(0, false, false);
    ex.on_sent(0);
    assert_eq!(ex.body_left(), None);
    feed(&mut ex, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").unwrap();
    assert_eq!(ex.body_left(), Some(7));
    feed(&mut ex, b"defghij").unwrap();
    assert_eq!((ex.body_left(), ex.is_done()), (None, true));

    ex.begin(0, false, false);
    ex.on_sent(0);
    feed(
        &mut ex,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab",
    )
    .unwrap();
    assert_eq!(ex.body_left(), Some(14));

    ex.begin(0, false, false);
    ex.on_sent(0);
    feed(&mut ex, b"HTTP/1.1 200 OK\r\n\r\nuntil close").unwrap();
    assert_eq!(ex.body_left(), None);

    ex.begin(0, true, false);
    ex.on_sent(0);
    feed(&mut ex, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n").unwrap();
    assert_eq!(ex.body_left(), None, "a HEAD answer has no body");
}

/// Selective discard: a caller that may drop only body positions in `ranges` sees every other
/// byte, in order, whatever the framing and the read size.
fn drive_selective(wire: &[u8], step: usize, body: &[u8], ranges: &[(u64, u64)]) -> u64 {
    let mut ex = Exchange::new();
    ex.head.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    ex.begin(0, false, false);
    let n = ex.head_rest().len();
    ex.on_sent(n);
    let allowed = |pos: u64| {
        ranges
            .iter()
            .find(|r| pos >= r.0 && pos < r.1)
            .map_or(0, |r| r.1 - pos)
    };
    let mut pos = 0usize;
    let mut at = 0u64; // body position
    let mut dropped = 0u64;
    loop {
        match ex.need() {
            Need::Done => break,
            Need::Send => panic!("send after the head was sent"),
            Need::Recv => {
                let space = ex.recv_space();
                let n = space.len().min(step).min(wire.len() - pos);
                space[..n].copy_from_slice(&wire[pos..pos + n]);
                pos += n;
                ex.on_recv(n, &mut |b: &[u8]| {
                    assert_eq!(b, &body[at as usize..at as usize + b.len()]);
                    at += b.len() as u64;
                })
                .unwrap();
                if n == 0 {
                    break;
                }
            }
            Need::Discard(max) => {
                assert!(max as u64 <= allowed(at), "drop {max} at {at}");
                let n = max.min(step).min(wire.len() - pos);
                pos += n;
                at += n as u64;
                dropped += n as u64;
                ex.on_discarded(n).unwrap();
                if n == 0 {
                    break;
                }
            }
        }
        ex.allow_discard(allowed(at));
    }
    assert_eq!(ex.body_bytes(), body.len() as u64);
    assert_eq!(at, body.len() as u64);
    dropped
}

#[test]
fn selective_discard_drops_only_allowed_bytes_in_every_framing() {
    let body: Vec<u8> = (0..100u8).collect();
    let ranges = [(10, 40), (60, 90)];
    let mut fixed =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    fixed.extend_from_slice(&body);
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for c in body.chunks(13) {
        chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        chunked.extend_from_slice(c);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    close.extend_from_slice(&body);
    for wire in [&fixed, &chunked, &close] {
        for step in 1..=9 {
            let dropped = drive_selective(wire, step, &body, &ranges);
            assert!(dropped > 0, "step {step}");
        }
        // Large reads: the head's read carries body bytes, which the sink sees.
        drive_selective(wire, 4096, &body, &ranges);
    }
    // With nothing allowed, nothing is dropped.
    assert_eq!(drive_selective(&fixed, 3, &body, &[]), 0);
}
