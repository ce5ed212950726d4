//! The client's TLS session cache: TLS 1.3 tickets (and TLS 1.2 sessions) per server, deep
//! enough that every connection of a run can resume when it reconnects.
//!
//! rustls's in-memory cache keeps at most 8 TLS 1.3 tickets per server name, and each ticket is
//! used once. A run holds hundreds of connections to one host; when they reconnect together
//! (a server that closes keep-alive, an AIS proxy hop), all but 8 would pay a full handshake.
//! This store keeps up to [`PER_SERVER`] tickets per server and [`TOTAL`] in all, oldest
//! dropped first. It is touched once per handshake (a mutex, off the per-request path).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::NamedGroup;
use rustls_pki_types::ServerName;

/// Most tickets kept for one server: more than a run's connections to one host usually are.
pub const PER_SERVER: usize = 4096;
/// Most tickets kept in all (a ticket is a few hundred bytes: a few MiB at most).
pub const TOTAL: usize = 16 * 1024;
/// Most servers remembered (a run's endpoint and the AIS targets it is redirected to).
const SERVERS: usize = 1024;

#[derive(Default)]
struct Server {
    kx_hint: Option<NamedGroup>,
    tls12: Option<Tls12ClientSessionValue>,
    tls13: VecDeque<Tls13ClientSessionValue>,
}

#[derive(Default)]
struct Inner {
    servers: HashMap<ServerName<'static>, Server>,
    tickets: usize,
}

/// A session store shared by every connection of a run (it lives in the `ClientConfig`).
#[derive(Default)]
pub struct Tickets(Mutex<Inner>);

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tickets = self.0.lock().map_or(0, |g| g.tickets);
        f.debug_struct("Tickets")
            .field("tickets", &tickets)
            .finish()
    }
}

impl Tickets {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters (at worst a count off by one), so a poisoned lock is used as it is.
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }
}

impl Inner {
    fn server(&mut self, name: ServerName<'static>) -> Option<&mut Server> {
        if !self.servers.contains_key(&name) && self.servers.len() >= SERVERS {
            return None;
        }
        Some(self.servers.entry(name).or_default())
    }
}

impl ClientSessionStore for Tickets {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.with(|i| {
            if let Some(s) = i.server(server_name) {
                s.kx_hint = Some(group);
            }
        });
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.with(|i| i.servers.get(server_name).and_then(|s| s.kx_hint))
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.with(|i| {
            if let Some(s) = i.server(server_name) {
                s.tls12 = Some(value);
            }
        });
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.with(|i| i.servers.get(server_name).and_then(|s| s.tls12.clone()))
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.with(|i| {
            if let Some(s) = i.servers.get_mut(server_name) {
                s.tls12 = None;
            }
        });
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        self.with(|i| {
            let full = i.tickets >= TOTAL;
            let Some(s) = i.server(server_name) else {
                return;
            };
            let mut dropped = 0;
            if s.tls13.len() >= PER_SERVER || full {
                dropped = usize::from(s.tls13.pop_front().is_some());
                if full && dropped == 0 {
                    return; // the store is full of other servers' tickets
                }
            }
            s.tls13.push_back(value);
            i.tickets = i.tickets + 1 - dropped;
        });
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        self.with(|i| {
            // Newest first: the freshest ticket is the least likely to have expired.
            let t = i.servers.get_mut(server_name)?.tls13.pop_back()?;
            i.tickets -= 1;
            Some(t)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::{ClientConnection, HandshakeKind, ServerConnection};

    use super::super::{
        client, memory_handshake as handshake, server_from_pem, throwaway, ClientOptions,
    };

    #[test]
    fn every_connection_of_a_large_run_resumes_not_only_eight() {
        let certs = throwaway(&["127.0.0.1".into()]).unwrap();
        let server = server_from_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes()).unwrap();
        let tls = client(&ClientOptions {
            extra_ca_pem: Some(certs.ca_pem.clone().into_bytes()),
            ..Default::default()
        })
        .unwrap();
        let name = super::super::server_name("127.0.0.1").unwrap();
        // Every client hello is built (and takes its ticket) before any handshake finishes,
        // as when a run's connections reconnect together.
        let connect_all = |n: usize| {
            let mut pairs: Vec<_> = (0..n)
                .map(|_| {
                    let c = ClientConnection::new(tls.config.clone(), name.clone()).unwrap();
                    (c, ServerConnection::new(Arc::clone(&server)).unwrap())
                })
                .collect();
            for (c, s) in &mut pairs {
                handshake(c, s);
            }
            pairs
                .iter()
                .map(|(c, _)| c.handshake_kind())
                .collect::<Vec<_>>()
        };
        // 32 connections, then 32 reconnects together: each finds a ticket of its own.
        let fresh = connect_all(32);
        assert_eq!(fresh[0], Some(HandshakeKind::Full));
        let again = connect_all(32);
        let resumed = again
            .iter()
            .filter(|k| **k == Some(HandshakeKind::Resumed))
            .count();
        assert_eq!(resumed, 32, "{again:?}");
    }
}
