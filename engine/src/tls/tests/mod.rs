//! The TLS session against a real rustls server on loopback ([`server`]), driven by a
//! blocking pump that plays the driver's part; and the whole worker over TLS under both
//! drivers ([`worker`]).

mod server;
mod worker;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;

use ringload_core::content;
use ringload_net::tls::{cause, client, pki::ServerName, ClientOptions, ClientTls, Throwaway};

use super::{Error, Session, Want, IN_BUF};
use crate::http::{Exchange, Need};
use server::GET_SIZE;

/// A client configuration trusting `certs`'s CA.
fn trusting(certs: &Throwaway) -> ClientTls {
    client(&ClientOptions {
        extra_ca_pem: Some(certs.ca_pem.clone().into_bytes()),
        ..Default::default()
    })
    .unwrap()
}

/// A client configuration that does not know the servers' CA (the system's roots).
fn stranger() -> ClientTls {
    client(&ClientOptions::default()).unwrap()
}

fn name() -> ServerName<'static> {
    ringload_net::tls::server_name("127.0.0.1").unwrap()
}

/// The body of object `ident`, from offset `sent`.
fn body_of(ident: &str) -> impl Fn(u64, usize) -> &'static [u8] {
    let start = content::object_start(ident.as_bytes());
    move |sent, max| content::pattern().chunk(start, sent, max)
}

/// Plays the driver: performs what the session asks on a blocking socket until the exchange
/// is done, sending a whole encrypted request with its first receive when the session allows
/// (as io_uring does). Returns the sends and receives it made; `fused` gets the length of
/// each fused send.
fn pump(
    s: &mut Session,
    exch: &mut Exchange,
    tcp: &mut TcpStream,
    body: &impl Fn(u64, usize) -> &'static [u8],
    sink: &mut Vec<u8>,
) -> Result<(usize, usize), Error> {
    pump_fused(s, exch, tcp, body, sink, &mut Vec::new())
}

fn pump_fused(
    s: &mut Session,
    exch: &mut Exchange,
    tcp: &mut TcpStream,
    body: &impl Fn(u64, usize) -> &'static [u8],
    sink: &mut Vec<u8>,
    fused: &mut Vec<usize>,
) -> Result<(usize, usize), Error> {
    let (mut sends, mut recvs) = (0, 0);
    // A session that waits for bytes that never come fails the test instead of hanging it.
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    loop {
        match s.advance(exch, body, &mut |b: &[u8]| sink.extend_from_slice(b))? {
            Want::Send => {
                let whole = s.out_pending().to_vec();
                if s.fuse(exch) {
                    // The request and the response's first receive go together (io_uring's
                    // linked pair); the send is complete or fails.
                    assert!(s.out_pending().is_empty() && s.want() == Want::Recv);
                    tcp.write_all(&whole).unwrap();
                    fused.push(whole.len());
                    recv(s, tcp);
                    recvs += 1;
                } else {
                    let n = tcp.write(s.out_pending()).unwrap();
                    s.on_sent(n);
                }
                sends += 1;
            }
            Want::Recv => {
                recv(s, tcp);
                recvs += 1;
            }
            Want::Done => return Ok((sends, recvs)),
        }
    }
}

/// One receive into the session's free incoming space.
fn recv(s: &mut Session, tcp: &mut TcpStream) {
    let (ptr, len) = s.recv_space();
    assert!(len > 0 && len <= IN_BUF);
    let mut tmp = vec![0; len];
    let n = tcp.read(&mut tmp).expect("the server answers within 10 s");
    // SAFETY: `ptr..ptr + len` is the session's free incoming space, valid until the next
    // call into it; `tmp` is a separate allocation of `len` bytes.
    unsafe { std::ptr::copy_nonoverlapping(tmp.as_ptr(), ptr, n) };
    s.on_recv(n);
}

/// Begins a request on `exch`: a GET of `ident` (body dropped unless `copy`), or a PUT of
/// `put` bytes.
fn begin(exch: &mut Exchange, ident: &str, put: Option<u64>, copy: bool) {
    exch.head.clear();
    let head = match put {
        Some(n) => format!("PUT /{ident} HTTP/1.1\r\nHost: t\r\nContent-Length: {n}\r\n\r\n"),
        None => format!("GET /{ident} HTTP/1.1\r\nHost: t\r\n\r\n"),
    };
    exch.head.extend_from_slice(head.as_bytes());
    exch.begin(put.unwrap_or(0), false, !copy);
}

#[test]
fn a_get_over_tls_drops_a_many_record_body_and_counts_every_byte() {
    let certs = server::certs();
    let srv = server::start(&certs, None);
    let tls = trusting(&certs);
    let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::new();
    begin(&mut exch, "ringload/obj", None, false);
    let body = body_of("");
    let mut seen = Vec::new();
    let (_, recvs) = pump(&mut s, &mut exch, &mut tcp, &body, &mut seen).unwrap();
    assert!(s.established() && s.take_established() && !s.take_established());
    assert_eq!(exch.need(), Need::Done);
    assert_eq!((exch.status(), exch.body_bytes()), (200, GET_SIZE as u64));
    // Only the body bytes that came with the head are copied (into the exchange's small
    // buffer); the rest is dropped uncopied.
    assert!(
        seen.len() < crate::http::exchange::RECV_BUF,
        "{} copied",
        seen.len()
    );
    assert!(exch.keep_alive());
    // Each receive takes as much ciphertext as the buffer holds, not a record at a time.
    assert!(recvs < GET_SIZE / (16 * 1024), "{recvs} receives");
    let (v, _) = s.negotiated().unwrap();
    assert_eq!(ringload_net::tls::version_name(v), "TLSv1.3");
    assert!(!s.resumed());
}

#[test]
fn a_copied_get_body_arrives_intact_and_the_connection_is_reused() {
    let certs = server::certs();
    let srv = server::start(&certs, None);
    let tls = trusting(&certs);
    let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::with_recv_buf(crate::http::exchange::VERIFY_RECV_BUF);
    let body = body_of("");
    let mut fused = Vec::new();
    for round in 0..2 {
        begin(&mut exch, "ringload/obj", None, true);
        let mut seen = Vec::new();
        pump_fused(&mut s, &mut exch, &mut tcp, &body, &mut seen, &mut fused).unwrap();
        // The request after the handshake goes whole with its first receive.
        assert_eq!(fused.len(), round + 1);
        assert_eq!(seen.len(), GET_SIZE);
        let start = content::object_start(b"ringload/obj");
        assert!(content::pattern().verify(start, 0, &seen));
    }
    assert_eq!(srv.seen.connections.load(Ordering::Relaxed), 1);
    assert_eq!(srv.seen.max_per_conn.load(Ordering::Relaxed), 2);
}

#[test]
fn a_put_body_of_many_records_reaches_the_server_intact() {
    let certs = server::certs();
    let srv = server::start(&certs, None);
    let tls = trusting(&certs);
    let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::new();
    let size = 300 * 1000 + 11;
    let body = body_of("ringload/put");
    for _ in 0..2 {
        begin(&mut exch, "ringload/put", Some(size), false);
        let (sends, _) = pump(&mut s, &mut exch, &mut tcp, &body, &mut Vec::new()).unwrap();
        assert_eq!(exch.status(), 200);
        assert!(sends >= size as usize / super::OUT_BUF, "{sends} sends");
    }
    let puts = srv.seen.puts.lock().unwrap().clone();
    assert_eq!(puts, vec![(size as usize, true); 2]);
}

#[test]
fn a_second_connection_resumes_the_session() {
    let certs = server::certs();
    let srv = server::start(&certs, None);
    let tls = trusting(&certs);
    let body = body_of("");
    for round in 0..2 {
        let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let mut s = Session::new(tls.config.clone(), name()).unwrap();
        let mut exch = Exchange::new();
        begin(&mut exch, "ringload/obj", None, false);
        pump(&mut s, &mut exch, &mut tcp, &body, &mut Vec::new()).unwrap();
        assert_eq!(exch.body_bytes(), GET_SIZE as u64);
        assert_eq!(s.resumed(), round == 1, "round {round}");
    }
}

#[test]
fn an_unknown_issuer_fails_the_handshake_with_its_cause() {
    let certs = server::certs();
    let srv = server::start(&certs, None);
    let other = stranger();
    let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut s = Session::new(other.config.clone(), name()).unwrap();
    let mut exch = Exchange::new();
    begin(&mut exch, "ringload/obj", None, false);
    let body = body_of("");
    match pump(&mut s, &mut exch, &mut tcp, &body, &mut Vec::new()) {
        Err(Error::Tls(e)) => {
            let c = cause(&e);
            assert!(c.what.starts_with("unknown issuer"), "{c}");
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert!(!s.established());
}

#[test]
fn a_put_that_expects_100_continue_sends_its_body_after_it() {
    let certs = server::certs();
    let srv = server::start(&certs, None);
    let tls = trusting(&certs);
    let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::new();
    let size = 100 * 1000;
    exch.head.clear();
    exch.head.extend_from_slice(
        format!(
            "PUT /ringload/e HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\
             Expect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
    exch.begin(size, false, true);
    exch.expect_continue();
    let body = body_of("ringload/e");
    pump(&mut s, &mut exch, &mut tcp, &body, &mut Vec::new()).unwrap();
    assert_eq!(exch.status(), 200);
    assert!(exch.keep_alive());
    assert_eq!(
        srv.seen.puts.lock().unwrap().clone(),
        vec![(size as usize, true)]
    );
}

#[test]
fn tls12_gets_and_puts_work_and_resume() {
    use ringload_net::tls::pki::{pem::PemObject, CertificateDer};
    use ringload_net::tls::rustls;
    let certs = server::certs();
    let srv = server::start(&certs, None);
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(certs.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(ringload_net::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = std::sync::Arc::new(config);
    for round in 0..2 {
        let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let mut s = Session::new(config.clone(), name()).unwrap();
        let mut exch = Exchange::new();
        begin(&mut exch, "ringload/obj", None, false);
        pump(&mut s, &mut exch, &mut tcp, &body_of(""), &mut Vec::new()).unwrap();
        assert_eq!(exch.body_bytes(), GET_SIZE as u64);
        let (v, _) = s.negotiated().unwrap();
        assert_eq!(ringload_net::tls::version_name(v), "TLSv1.2");
        assert_eq!(s.resumed(), round == 1, "round {round}");
        let size = 70 * 1000;
        begin(&mut exch, "ringload/p12", Some(size), false);
        pump(
            &mut s,
            &mut exch,
            &mut tcp,
            &body_of("ringload/p12"),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(exch.status(), 200);
    }
    assert_eq!(
        srv.seen.puts.lock().unwrap().clone(),
        vec![(70 * 1000, true); 2]
    );
}

#[test]
fn a_client_certificate_is_sent_when_the_server_asks_for_one() {
    let certs = server::certs();
    let srv = server::start_config(server::mtls_config(&certs), None, u64::MAX);
    let with_cert = with_client_cert(&certs, "get");
    let get = |tls: &ClientTls| {
        let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let mut s = Session::new(tls.config.clone(), name()).unwrap();
        let mut exch = Exchange::new();
        begin(&mut exch, "ringload/obj", None, false);
        pump(&mut s, &mut exch, &mut tcp, &body_of(""), &mut Vec::new()).map(|_| exch.body_bytes())
    };
    assert_eq!(get(&with_cert).unwrap(), GET_SIZE as u64);
    // Without one, TLS 1.3 fails once the server has read the client's flight: an alert.
    match get(&trusting(&certs)) {
        Err(Error::Tls(e)) => {
            let c = cause(&e);
            assert!(c.what.starts_with("alert from the server"), "{c}");
            assert!(c.fix.contains("--tls-cert"), "{c}");
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

/// One GET against [`server::start_until_close`].
fn get_until_close(close_notify: bool) -> (Result<(usize, usize), Error>, Exchange, Vec<u8>) {
    let certs = server::certs();
    let port = server::start_until_close(&certs, close_notify);
    let tls = trusting(&certs);
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::with_recv_buf(crate::http::exchange::VERIFY_RECV_BUF);
    begin(&mut exch, "ringload/obj", None, true);
    let mut seen = Vec::new();
    let r = pump(&mut s, &mut exch, &mut tcp, &body_of(""), &mut seen);
    (r, exch, seen)
}

#[test]
fn a_body_until_close_ends_with_close_notify() {
    let (r, exch, seen) = get_until_close(true);
    r.unwrap();
    assert_eq!(exch.status(), 200);
    assert_eq!(seen, server::UNTIL_CLOSE_BODY);
    assert!(!exch.keep_alive());
}

#[test]
fn a_body_until_close_cut_without_close_notify_is_a_short_body() {
    let (r, _, seen) = get_until_close(false);
    assert!(
        matches!(r, Err(Error::Http(crate::http::Failure::ShortBody))),
        "{r:?}"
    );
    assert_eq!(seen, server::UNTIL_CLOSE_BODY);
}

/// Certificates whose server certificate has a long SAN list (over 40 KiB of DER): its
/// Certificate message spans three or four records.
fn big_certs() -> Throwaway {
    let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    names.extend((0..2200).map(|k| format!("san-{k:04}.ringload.test")));
    let certs = ringload_net::tls::throwaway(&names).unwrap();
    let cert_len = certs.cert_pem.len() * 3 / 4;
    assert!(cert_len > 40 * 1024 && cert_len < 64 * 1024, "{cert_len}");
    certs
}

#[test]
fn a_certificate_message_larger_than_40_kib_fits_the_incoming_buffer() {
    let certs = big_certs();
    let srv = server::start(&certs, None);
    let tls = trusting(&certs);
    let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::new();
    begin(&mut exch, "ringload/obj", None, false);
    pump(&mut s, &mut exch, &mut tcp, &body_of(""), &mut Vec::new()).unwrap();
    assert!(s.established());
    assert_eq!((exch.status(), exch.body_bytes()), (200, GET_SIZE as u64));
}

/// A client configuration trusting `certs`'s CA that presents `certs`'s server certificate as
/// its client certificate (read from files under a directory named after `tag`).
fn with_client_cert(certs: &Throwaway, tag: &str) -> ClientTls {
    let dir = std::env::temp_dir().join(format!("ringload-mtls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    std::fs::write(&cert, &certs.cert_pem).unwrap();
    std::fs::write(&key, &certs.key_pem).unwrap();
    let tls = client(&ClientOptions {
        extra_ca_pem: Some(certs.ca_pem.clone().into_bytes()),
        cert: Some(cert),
        key: Some(key),
        ..Default::default()
    })
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    tls
}

/// The sends a session makes until its handshake completes with the server at `port`.
fn handshake_sends(tls: &ClientTls, port: u16) -> usize {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::new();
    begin(&mut exch, "ringload/obj", None, false);
    let mut sends = 0;
    while !s.established() {
        match s
            .advance(&mut exch, &body_of(""), &mut |_: &[u8]| {})
            .unwrap()
        {
            Want::Send => {
                if s.established() {
                    // The request, after the last flight.
                    break;
                }
                let n = tcp.write(s.out_pending()).unwrap();
                s.on_sent(n);
                sends += 1;
            }
            Want::Recv => recv(&mut s, &mut tcp),
            Want::Done => panic!("done before the handshake"),
        }
    }
    sends
}

#[test]
fn each_handshake_flight_goes_in_one_send() {
    let certs = server::certs();
    // The client's flights: its hello, then (change cipher spec and) finished.
    let srv = server::start(&certs, None);
    assert_eq!(handshake_sends(&trusting(&certs), srv.port), 2);
    // With a client certificate the second flight has four records: still one send.
    let mtls = server::start_config(server::mtls_config(&certs), None, u64::MAX);
    assert_eq!(
        handshake_sends(&with_client_cert(&certs, "flights"), mtls.port),
        2
    );
}

#[test]
fn a_client_flight_larger_than_the_out_buffer_goes_in_order() {
    // The client certificate's records do not all fit the out buffer behind the first ones:
    // the rest waits for the first send, and the server still gets the flight whole.
    let certs = big_certs();
    let srv = server::start_config(server::mtls_config(&certs), None, u64::MAX);
    let tls = with_client_cert(&certs, "big");
    // The hello, then the split flight: at least two sends for it (where the split falls
    // depends on the freshly made certificates' sizes, which vary by a few bytes).
    let sends = handshake_sends(&tls, srv.port);
    assert!(sends >= 3, "{sends} sends");
    let mut tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut s = Session::new(tls.config.clone(), name()).unwrap();
    let mut exch = Exchange::new();
    begin(&mut exch, "ringload/obj", None, false);
    pump(&mut s, &mut exch, &mut tcp, &body_of(""), &mut Vec::new()).unwrap();
    assert_eq!((exch.status(), exch.body_bytes()), (200, GET_SIZE as u64));
}
