//! The built-in target of a run that names none: start it (a plain HTTP server, or the AIS
//! cluster or S3 server of [`Builtin`] for `--protocol ais|s3`; with `--tls`, over https with a
//! throwaway certificate the run alone trusts), point the workload at it, and
//! fill it with `--prefill` objects named and sized as PUTs would be when the run reads; and
//! the resource budget of a run ([`check_budget`]), which must know the built-in target's
//! shape because it lives in this process.

use ringload_engine::budget::{self, BudgetError, BuiltinShape, Need};
use ringload_engine::names::NameList;
use ringload_engine::naming::Namer;
use std::sync::Arc;

use ringload_engine::workload::{Endpoint, Protocol, Workload};
use ringload_net::tls::{self, rustls, ClientOptions};
use ringload_server::{self as server, ServeConfig};

use super::record::{FailReason, Recorder};
use super::target::Control;
use crate::exit::CmdError;

/// The running built-in target; it serves until dropped (it is only held, never read).
pub enum Running {
    Http { _server: server::ServerHandle },
    Proto { _target: Builtin },
}

/// Starts the built-in target for `w.protocol`, records its URL in `rec`, prefills it when
/// the run reads and has no names, and sets `w.endpoint`. With `--cleanup` (AIS), also the
/// control client that cleans up after the run. With `tls` (`run --tls`: the user's client
/// options), the target serves https with a throwaway certificate for `127.0.0.1` and
/// `localhost`, and `w.tls` trusts its CA, for this run only.
pub fn start(
    w: &mut Workload,
    prefill: u64,
    cleanup: bool,
    names: &mut NameList,
    rec: &mut Recorder,
    tls: Option<ClientOptions>,
) -> Result<(Running, Option<Control>), CmdError> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot start the built-in target: {e}");
    let served = match tls {
        None => None,
        Some(opts) => {
            let (served, client) =
                throwaway_tls(opts).map_err(|e| rec.fail(FailReason::Setup, e))?;
            w.tls = Some(client);
            Some(served)
        }
    };
    let over = if served.is_some() { " over TLS" } else { "" };
    let mut control = None;
    let running = if w.protocol != Protocol::Http {
        let h = Builtin::start(w, served)
            .map_err(|e| rec.fail(FailReason::Setup, CmdError::failed(cannot(&e))))?;
        eprintln!(
            "note: nothing names a target: loading the built-in {} target at {}{over}",
            w.protocol.as_str(),
            h.url()
        );
        rec.target.endpoint = h.url();
        if !w.put_only() && names.is_empty() {
            prefill_with(w, prefill, names, |name, size| {
                h.insert(&w.bucket, name, size)
            });
        }
        w.endpoint = Some(Endpoint::parse(&h.url()).expect("the built-in target's URL parses"));
        if cleanup {
            control = Some(Control::new(w));
        }
        Running::Proto { _target: h }
    } else {
        let cfg = ServeConfig {
            listen: "127.0.0.1:0".parse().expect("valid literal address"),
            cores: 1,
            tls: served,
            ..ServeConfig::default()
        };
        let h = server::start(cfg)
            .map_err(|e| rec.fail(FailReason::Setup, CmdError::failed(cannot(&e))))?;
        eprintln!(
            "note: nothing names a target: loading the built-in target at {}{over}",
            h.url()
        );
        rec.target.endpoint = h.url();
        if !w.put_only() && names.is_empty() {
            prefill_with(w, prefill, names, |name, size| {
                h.insert(&format!("{}/{}", w.bucket, name), size)
            });
        }
        w.endpoint = Some(Endpoint::parse(&h.url()).expect("the built-in target's URL parses"));
        Running::Http { _server: h }
    };
    Ok((running, control))
}

/// The built-in target's https configuration (a throwaway CA and a certificate it signed for
/// `127.0.0.1` and `localhost`) and the run's client configuration: the user's options
/// (`--tls-insecure`, a client certificate, `--tls-ca`) with that CA trusted as well.
fn throwaway_tls(
    opts: ClientOptions,
) -> Result<(Arc<rustls::ServerConfig>, tls::ClientTls), CmdError> {
    let names = ["127.0.0.1".to_string(), "localhost".to_string()];
    let t = tls::throwaway(&names).map_err(|e| {
        CmdError::failed(format!(
            "--tls: cannot make the built-in target's throwaway certificate: {e}"
        ))
    })?;
    let served = tls::server_from_pem(t.cert_pem.as_bytes(), t.key_pem.as_bytes())
        .map_err(|e| CmdError::failed(format!("--tls: the built-in target's certificate: {e}")))?;
    let client = tls::client(&ClientOptions {
        extra_ca_pem: Some(t.ca_pem.into_bytes()),
        ..opts
    })
    .map_err(CmdError::usage)?;
    Ok((served, client))
}

/// Creates `count` objects through `insert(name, size)`, named and sized as PUTs would be.
fn prefill_with(w: &Workload, count: u64, names: &mut NameList, insert: impl Fn(&str, u64)) {
    let namer = Namer::new(w);
    let mut name = Vec::new();
    let mut total = 0u64;
    for cnt in 1..=count {
        namer.write_name(cnt, &mut name);
        let name = String::from_utf8_lossy(&name);
        let size = namer.put_size(cnt);
        total += size;
        insert(&name, size);
        names.push_sized(&name, size);
    }
    eprintln!(
        "note: filled the built-in target with {count} objects ({:.1} MiB in all; its bytes are \
         generated, not stored)",
        total as f64 / (1u64 << 20) as f64
    );
}

/// The built-in target for `--protocol ais|s3` without an endpoint: an AIS cluster of one
/// proxy and two targets (so redirects are exercised) with the run's bucket provider, or an S3
/// server. An `ais://` or S3 bucket is created; a remote AIS bucket (`s3://`, `gs://`, ...)
/// exists in the cluster's emulated cloud backend, as it would in the cloud.
pub enum Builtin {
    Cluster(server::ClusterHandle, server::Provider),
    Single(server::ServerHandle),
}

/// The built-in target's view of the run's AIS bucket provider (`ais`, `aws`, ...).
fn builtin_provider(w: &Workload) -> server::Provider {
    // Every provider `Bucket::parse` yields is known to the target (tested below).
    server::Provider::parse(&w.proto.provider).unwrap_or(server::Provider::Ais)
}

/// Proxies and targets of the built-in AIS cluster.
const BUILTIN_PROXIES: usize = 1;
const BUILTIN_TARGETS: usize = 2;

impl Builtin {
    /// Starts it for `w`, over https when `tls` is set.
    pub fn start(
        w: &Workload,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Builtin, server::ServeError> {
        let base = server::ServeConfig {
            listen: "127.0.0.1:0".parse().expect("valid literal address"),
            cores: 1,
            protocol: match w.protocol {
                Protocol::Ais => server::ServeProtocol::Ais,
                Protocol::S3 => server::ServeProtocol::S3,
                Protocol::Http => server::ServeProtocol::Http,
            },
            tls,
            ..server::ServeConfig::default()
        };
        Ok(match w.protocol {
            Protocol::Ais => {
                let c = server::start_cluster(server::ClusterConfig {
                    proxies: BUILTIN_PROXIES,
                    targets: BUILTIN_TARGETS,
                    base,
                })?;
                let provider = builtin_provider(w);
                if !provider.is_remote() {
                    c.create_bucket(provider, &w.bucket);
                }
                Builtin::Cluster(c, provider)
            }
            _ => {
                let s = server::start(base)?;
                s.create_bucket(&w.bucket);
                Builtin::Single(s)
            }
        })
    }

    /// The endpoint to load (the proxy, for a cluster).
    pub fn url(&self) -> String {
        match self {
            Builtin::Cluster(c, _) => c.proxy_urls()[0].clone(),
            Builtin::Single(s) => s.url(),
        }
    }

    pub fn insert(&self, bucket: &str, name: &str, size: u64) {
        match self {
            Builtin::Cluster(c, p) => c.insert(*p, bucket, name, size),
            Builtin::Single(s) => s.insert(&format!("{bucket}/{name}"), size),
        }
    }
}

/// Checks that the run fits this machine's descriptors, memory and local ports, before
/// anything grows with `--numworkers`. `builtin` says whether the run starts the built-in
/// target, which lives in this process and shares its descriptors and memory; `builtin_tls`
/// whether it serves TLS (`run --tls`, decided before the target starts and sets `w.tls`).
pub fn check_budget(
    w: &Workload,
    builtin: bool,
    builtin_tls: bool,
    prefill: u64,
) -> Result<Need, BudgetError> {
    // A TLS target's connection also holds its TLS session.
    let tls_bytes = if builtin_tls || w.tls.is_some() {
        server::TLS_CONN_BYTES
    } else {
        0
    };
    let conn_bytes = (server::CONN_BYTES + tls_bytes) as u64;
    let shape = builtin.then_some(match w.protocol {
        Protocol::Ais => BuiltinShape {
            nodes: (BUILTIN_PROXIES + BUILTIN_TARGETS) as u64,
            redirect_hosts: BUILTIN_TARGETS as u64,
            conn_bytes,
        },
        Protocol::S3 | Protocol::Http => BuiltinShape {
            nodes: 1,
            redirect_hosts: 0,
            conn_bytes,
        },
    });
    let mut plan = budget::Plan::new(w, shape, prefill);
    plan.tls |= builtin_tls;
    budget::check(&plan, &budget::Limits::read())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use ringload_net::tls::rustls::{ClientConnection, StreamOwned};

    use super::*;
    use crate::exit::Exit;

    /// `run --tls`: each built-in target serves https with the throwaway certificate, and the
    /// run's client configuration (verification on) trusts it, for 127.0.0.1 and localhost.
    #[test]
    fn tls_builtin_targets_serve_https_that_the_run_trusts() {
        for protocol in [Protocol::Ais, Protocol::S3] {
            let (served, client) = throwaway_tls(ClientOptions::default()).unwrap();
            assert!(client.verified);
            assert_eq!(client.roots, tls::Roots::Throwaway);
            let w = Workload {
                protocol,
                ..Workload::default()
            };
            let b = Builtin::start(&w, Some(served)).unwrap();
            let url = b.url();
            let addr = url.strip_prefix("https://").expect("an https URL");
            for host in ["127.0.0.1", "localhost"] {
                let sock = TcpStream::connect(addr).unwrap();
                sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                let name = tls::server_name(host).unwrap();
                let conn = ClientConnection::new(Arc::clone(&client.config), name).unwrap();
                let mut s = StreamOwned::new(conn, sock);
                s.write_all(b"GET /v1/ringload/stats HTTP/1.1\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut got = Vec::new();
                s.read_to_end(&mut got).unwrap();
                let got = String::from_utf8_lossy(&got);
                assert!(
                    got.starts_with("HTTP/1.1 200 "),
                    "{protocol:?} {host}: {got}"
                );
                assert!(got.contains(&format!("\"url\":\"{url}\"")), "{got}");
            }
        }
    }

    /// The user's own client settings still apply (a bad one is refused naming its flag).
    #[test]
    fn tls_builtin_keeps_the_users_client_settings() {
        let (_, client) = throwaway_tls(ClientOptions {
            insecure: true,
            ..ClientOptions::default()
        })
        .unwrap();
        assert!(!client.verified);
        let err = throwaway_tls(ClientOptions {
            cert: Some("/nonexistent/cert.pem".into()),
            ..ClientOptions::default()
        })
        .expect_err("a client certificate without its key is refused");
        assert_eq!(err.exit(), Exit::Usage);
        let CmdError::Msg { msg, .. } = err else {
            panic!("{err:?}")
        };
        assert!(msg.starts_with("--tls-cert: "), "{msg}");
    }
}
