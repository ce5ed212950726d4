//! ringload-net: the network plumbing the load client (`ringload-engine`) and the built-in
//! target (`ringload-server`) share, so each wire rule and each syscall exists once.
//!
//! - [`http`]: HTTP/1.1 wire primitives (decimal and chunk-size parsing, `push_u64`, header
//!   limits, the redirect limit) and the one RFC 3986 percent-encoder.
//! - [`tls`]: rustls configurations (client and target), handshake-failure causes and
//!   throwaway certificates.
//! - [`sys`]: the epoll, eventfd, socket and stop-signal syscalls of the client's epoll driver
//!   and of the built-in target, the one place their `unsafe` lives.

pub mod http;
pub mod sys;
pub mod tls;
