//! The plain-HTTP dialect of the built-in target over loopback: PUT/GET/HEAD/DELETE, ranges,
//! keep-alive and pipelining, chunked bodies, large streams, vanishing and malformed clients,
//! many cores, stop and restart.

use super::*;

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
