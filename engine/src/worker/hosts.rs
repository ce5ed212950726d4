//! The hosts one core talks to, and its pool of idle keep-alive sockets per host.
//!
//! Host 0 is the run's endpoint (an AIS proxy, an S3 endpoint, an HTTP server). Redirects add
//! more hosts (AIS targets); a host is its scheme and `host[:port]`, so an http and an https
//! host on the same port are two hosts. A connection that follows a redirect to another host parks its
//! current socket in that core's pool under its host and takes an idle socket for the new
//! host, or opens one. So repeated requests reuse target connections instead of reconnecting,
//! and a closed loop of N connections still has N operations in flight.
//!
//! Invariants: a parked socket has no I/O outstanding and is owned by the pool until taken,
//! with its TLS session (boxed, so its buffers do not move);
//! at most [`MAX_IDLE_PER_HOST`] sockets wait per host (more are closed); at most
//! [`MAX_HOSTS`] hosts are known per core (a redirect beyond that is a `redirect` error, not
//! unbounded growth). Adding a host resolves its name, which may block: it happens once per
//! host per core, not per request.

use std::net::ToSocketAddrs;
use std::os::fd::RawFd;

use ringload_net::tls::pki::ServerName;
use socket2::SockAddr;

use crate::tls::Session;

/// Most distinct hosts one core follows redirects to (an AIS cluster's targets).
pub const MAX_HOSTS: usize = 256;
/// Most idle sockets kept per host and core.
pub const MAX_IDLE_PER_HOST: usize = 1024;

pub struct Host {
    pub addr: SockAddr,
    /// `host[:port]` exactly as the `Host` header carries it.
    pub header: String,
    /// For an https host, the name its TLS sessions verify and send as SNI.
    pub tls: Option<ServerName<'static>>,
    /// Idle sockets: descriptor, how many requests each has carried, and its TLS session.
    idle: Vec<Idle>,
}

/// An idle keep-alive socket: descriptor, requests carried, TLS session (https hosts).
pub type Idle = (RawFd, u32, Option<Box<Session>>);

pub struct Hosts {
    list: Vec<Host>,
    /// Host names that did not resolve (remembered so a redirect to one does not block the
    /// core in DNS again; capped like the hosts).
    unresolved: Vec<Vec<u8>>,
}

impl Hosts {
    /// Host 0 is the endpoint (`tls`: its name, when it is https).
    pub fn new(addr: SockAddr, header: &str, tls: Option<ServerName<'static>>) -> Hosts {
        Hosts {
            list: vec![Host {
                addr,
                header: header.to_string(),
                tls,
                idle: Vec::new(),
            }],
            unresolved: Vec::new(),
        }
    }

    pub fn get(&self, h: usize) -> &Host {
        &self.list[h]
    }

    /// The index of `hostport` (as found in a `Location`) with its scheme (`tls`: https),
    /// adding it if new. `None` when it does not resolve, its name cannot be a TLS server
    /// name, or the host cap is reached.
    pub fn find_or_add(&mut self, tls: bool, hostport: &[u8]) -> Option<usize> {
        if let Some(h) = self
            .list
            .iter()
            .position(|h| h.header.as_bytes() == hostport && h.tls.is_some() == tls)
        {
            return Some(h);
        }
        if self.list.len() >= MAX_HOSTS || self.unresolved.iter().any(|h| h == hostport) {
            return None;
        }
        let name = match tls {
            true => Some(server_name(hostport)?),
            false => None,
        };
        let Some(addr) = resolve(hostport, if tls { 443 } else { 80 }) else {
            if self.unresolved.len() < MAX_HOSTS {
                self.unresolved.push(hostport.to_vec());
            }
            return None;
        };
        self.list.push(Host {
            addr: SockAddr::from(addr),
            header: String::from_utf8_lossy(hostport).into_owned(),
            tls: name,
            idle: Vec::new(),
        });
        Some(self.list.len() - 1)
    }

    /// The host of an already resolved address (a `--random-proxy` proxy), added if new.
    pub fn find_or_insert(&mut self, addr: SockAddr, hostport: &str, tls: bool) -> usize {
        if let Some(h) = self
            .list
            .iter()
            .position(|h| h.header == hostport && h.tls.is_some() == tls)
        {
            return h;
        }
        let name = tls.then(|| endpoint_name(hostport, &addr));
        self.list.push(Host {
            addr,
            header: hostport.to_string(),
            tls: name,
            idle: Vec::new(),
        });
        self.list.len() - 1
    }

    /// Parks an idle keep-alive socket of host `h` with its TLS session (closes it if the
    /// pool is full).
    pub fn park(&mut self, h: usize, idle: Idle) {
        let list = &mut self.list[h].idle;
        if list.len() < MAX_IDLE_PER_HOST {
            list.push(idle);
        } else {
            close(idle.0);
        }
    }

    /// Takes an idle socket of host `h`, most recently parked first.
    pub fn take(&mut self, h: usize) -> Option<Idle> {
        self.list[h].idle.pop()
    }
}

/// Splits `host[:port]` (an IPv6 host in brackets) into the host and its port, if given.
fn split_port(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && (!h.contains(':') || h.ends_with(']')) => (h, Some(p)),
        _ => (text, None),
    }
}

/// The TLS server name of `host[:port]`.
pub fn server_name(hostport: &[u8]) -> Option<ServerName<'static>> {
    let text = std::str::from_utf8(hostport).ok()?;
    ringload_net::tls::server_name(split_port(text).0).ok()
}

/// The TLS server name of the endpoint `header` (`host[:port]`), or its address when the
/// host is no valid name (it resolved, so this is only a fallback).
pub fn endpoint_name(header: &str, addr: &SockAddr) -> ServerName<'static> {
    server_name(header.as_bytes()).unwrap_or_else(|| {
        let ip = addr
            .as_socket()
            .map_or(std::net::Ipv4Addr::LOCALHOST.into(), |a| a.ip());
        ServerName::IpAddress(ip.into())
    })
}

/// Resolves `host[:port]` (port `default_port` when absent).
fn resolve(hostport: &[u8], default_port: u16) -> Option<std::net::SocketAddr> {
    let text = std::str::from_utf8(hostport).ok()?;
    let with_port = if split_port(text).1.is_some_and(|p| p.parse::<u16>().is_ok()) {
        text.to_string()
    } else {
        format!("{text}:{default_port}")
    };
    with_port.to_socket_addrs().ok()?.next()
}

fn close(fd: RawFd) {
    // `fd` is an idle socket the pool owns (handed over by `park` and not kept, or drained from
    // its list on drop), so it is closed exactly once and no pending operation or other owner
    // refers to it.
    ringload_net::sys::close(fd);
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for h in &mut self.list {
            for (fd, _, _) in h.idle.drain(..) {
                close(fd);
            }
        }
    }
}

/// Splits an absolute `http[s]://host[:port]/path?query` into its scheme (true: https),
/// host and path-and-query.
pub fn split_location(loc: &[u8]) -> Option<(bool, &[u8], &[u8])> {
    let (tls, rest) = match loc.strip_prefix(b"https://") {
        Some(rest) => (true, rest),
        None => (false, loc.strip_prefix(b"http://")?),
    };
    let slash = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let (host, path) = rest.split_at(slash);
    if host.is_empty() || host.iter().any(|&b| b.is_ascii_whitespace() || b == b'@') {
        return None;
    }
    Some((tls, host, if path.is_empty() { b"/" } else { path }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_found_added_and_capped() {
        let ep: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut hosts = Hosts::new(SockAddr::from(ep), "127.0.0.1:1", None);
        assert_eq!(hosts.find_or_add(false, b"127.0.0.1:1"), Some(0));
        assert_eq!(hosts.find_or_add(false, b"127.0.0.1:2"), Some(1));
        assert_eq!(hosts.find_or_add(false, b"127.0.0.1:2"), Some(1));
        assert_eq!(hosts.get(1).addr.as_socket().unwrap().port(), 2);
        assert_eq!(hosts.find_or_add(false, b"no such host.invalid:9"), None);
        assert!(hosts.take(1).is_none());
        // The same host and port over https is another host, with its own name and port.
        assert_eq!(hosts.find_or_add(true, b"127.0.0.1:2"), Some(2));
        assert_eq!(hosts.find_or_add(true, b"127.0.0.1:2"), Some(2));
        assert!(hosts.get(2).tls.is_some() && hosts.get(1).tls.is_none());
        assert_eq!(hosts.find_or_add(true, b"localhost"), Some(3));
        assert_eq!(hosts.get(3).addr.as_socket().unwrap().port(), 443);
        assert_eq!(hosts.find_or_add(false, b"[::1]"), Some(4));
        assert_eq!(hosts.get(4).addr.as_socket().unwrap().port(), 80);
        for p in 3..(MAX_HOSTS as u16 + 10) {
            let _ = hosts.find_or_add(false, format!("127.0.0.1:{p}").as_bytes());
        }
        assert_eq!(hosts.list.len(), MAX_HOSTS);
    }

    #[test]
    fn locations_split() {
        assert_eq!(
            split_location(b"http://10.0.0.1:8081/v1/objects/b/o?pid=x"),
            Some((false, &b"10.0.0.1:8081"[..], &b"/v1/objects/b/o?pid=x"[..]))
        );
        assert_eq!(
            split_location(b"http://h"),
            Some((false, &b"h"[..], &b"/"[..]))
        );
        assert_eq!(
            split_location(b"https://h:8443/x"),
            Some((true, &b"h:8443"[..], &b"/x"[..]))
        );
        assert_eq!(split_location(b"ftp://h/x"), None);
        assert_eq!(split_location(b"https:///x"), None);
        assert_eq!(split_location(b"http:///x"), None);
        assert_eq!(split_location(b"http://user@h/x"), None);
    }
}
