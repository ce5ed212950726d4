use super::*;

#[test]
fn get_metrics_is_served_and_other_paths_and_methods_are_not() {
    let ok = String::from_utf8(respond(
        b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "a 1\n",
    ))
    .unwrap();
    assert_eq!(
        ok,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: 4\r\nConnection: close\r\n\r\na 1\n"
    );
    let q = String::from_utf8(respond(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", "a 1\n")).unwrap();
    assert!(q.starts_with("HTTP/1.1 200 OK\r\n"), "{q}");
    let head = String::from_utf8(respond(b"HEAD /metrics HTTP/1.1\r\n\r\n", "a 1\n")).unwrap();
    assert!(
        head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"),
        "{head}"
    );
    let nf = String::from_utf8(respond(b"GET / HTTP/1.1\r\n\r\n", "a 1\n")).unwrap();
    assert!(nf.starts_with("HTTP/1.1 404 Not Found\r\n"), "{nf}");
    let na = String::from_utf8(respond(b"POST /metrics HTTP/1.1\r\n\r\n", "")).unwrap();
    assert!(
        na.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{na}"
    );
    assert!(na.contains("Allow: GET, HEAD\r\n"), "{na}");
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /metrics SPDY/3\r\n\r\n",
        b"\r\n\r\n",
    ] {
        let r = String::from_utf8(respond(bad, "")).unwrap();
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    }
}

#[test]
fn bind_takes_host_port_and_port_only_and_refuses_the_rest_naming_the_flag() {
    let l = bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    assert!(addr.port() > 0);
    assert_eq!(
        url(addr),
        format!("http://127.0.0.1:{}/metrics", addr.port())
    );
    let any = bind(":0").unwrap();
    assert!(any.local_addr().unwrap().ip().is_unspecified());
    // Busy: the port is taken by `l`.
    let e = bind(&addr.to_string()).unwrap_err();
    assert!(
        e.starts_with(&format!("--metrics-listen \"{addr}\": cannot listen on")),
        "{e}"
    );
    assert!(e.contains("Give HOST:PORT"), "{e}");
    for bad in ["9464", "127.0.0.1:port", "no.such.host.invalid:1", ""] {
        let e = bind(bad).unwrap_err();
        assert!(e.starts_with("--metrics-listen "), "{e}");
        assert!(e.contains("Give HOST:PORT"), "{e}");
    }
}

fn scrape(addr: SocketAddr, req: &[u8]) -> String {
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(req).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_server_answers_scrapes_survives_a_silent_client_and_stops_when_dropped() {
    let listener = bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let page = Arc::new(Mutex::new("x 1\n".to_string()));
    let stop = Arc::new(AtomicBool::new(false));
    listener.set_nonblocking(true).unwrap();
    let (p, s) = (page.clone(), stop.clone());
    let handle = std::thread::spawn(move || serve(&listener, &p, &s));
    let server = Server {
        stop,
        handle: Some(handle),
    };
    assert!(scrape(addr, b"GET /metrics HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nx 1\n"));
    // A client that connects and says nothing is dropped after the timeout; the next scrape
    // is answered after it.
    let _silent = TcpStream::connect(addr).unwrap();
    *page.lock().unwrap() = "x 2\n".into();
    let t = Instant::now();
    assert!(scrape(addr, b"GET /metrics HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nx 2\n"));
    assert!(t.elapsed() < CLIENT_TIMEOUT * 3, "{:?}", t.elapsed());
    // An endless head is cut off.
    let mut big = b"GET /metrics HTTP/1.1\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
    let mut c = TcpStream::connect(addr).unwrap();
    let _ = c.write_all(&big);
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    drop(server);
    // Stopped: the listener is closed with the thread.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn a_thread_s_cpu_time_is_read_and_a_gone_thread_has_none() {
    let tid = ringload_net::sys::process::gettid();
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(30) {
        std::hint::black_box(0u64);
    }
    assert!(thread_cpu_ns(tid).is_some_and(|ns| ns > 0));
    assert_eq!(thread_cpu_ns(i32::MAX), None);
}

#[test]
fn the_page_is_rendered_from_the_totals_at_most_once_per_tick() {
    use crate::stats::Op;
    let shared = Arc::new(Shared::new(
        crate::workload::Workload::default(),
        socket2::SockAddr::from("127.0.0.1:1".parse::<SocketAddr>().unwrap()),
        Vec::new(),
        crate::names::NameList::new(),
        None,
        Instant::now(),
    ));
    shared.core_tids[0].store(ringload_net::sys::process::gettid(), Ordering::Relaxed);
    let m = MetricsListen {
        listener: bind("127.0.0.1:0").unwrap(),
        info: Info::default(),
    };
    let (server, mut e) = start(&m, shared).unwrap();
    let page = e.page.clone();
    let gets = |p: &Mutex<String>| {
        let text = p.lock().unwrap().clone();
        let line = text
            .lines()
            .find(|l| l.starts_with("ringload_operations_total{op=\"get\",outcome=\"ok\"}"))
            .unwrap()
            .to_string();
        line.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
    };
    assert_eq!(gets(&page), 0, "the empty run's page at once");
    assert!(page
        .lock()
        .unwrap()
        .contains("ringload_client_cpu_seconds_total"));
    let mut total = Snapshot::new(0);
    total.get_mut(Op::Get).record_ok(1, 10);
    let t0 = Instant::now();
    // No tick yet: nothing to render.
    e.refresh(&total, [0; 5], t0);
    assert_eq!(gets(&page), 0);
    e.tick();
    e.refresh(&total, [0; 5], t0);
    assert_eq!(gets(&page), 1);
    assert!(page
        .lock()
        .unwrap()
        .contains("ringload_client_cpu_seconds_total{core=\"0\"} "));
    total.get_mut(Op::Get).record_ok(1, 10);
    e.tick();
    e.refresh(&total, [0; 5], t0 + TICK / 2);
    assert_eq!(gets(&page), 1, "half a tick later: not yet");
    e.refresh(&total, [0; 5], t0 + TICK);
    assert_eq!(gets(&page), 2, "a tick later");
    // The final page is rendered whatever the timing (no tick, right after a render).
    total.get_mut(Op::Get).record_ok(1, 10);
    e.finish(&total, [0; 5]);
    assert_eq!(gets(&page), 3, "the final page");
    drop(server);
}

#[test]
fn renders_are_a_tick_apart_on_the_monotonic_clock() {
    let t = Instant::now();
    assert!(due(None, t), "the first render is due at once");
    assert!(!due(Some(t), t + TICK / 2));
    assert!(due(Some(t), t + TICK));
    // An instant before the last render (never on a monotonic clock) is not due.
    assert!(!due(Some(t + TICK), t));
}
