//! TLS on the load path: a sans-IO client session ([`Session`]) that sits between a
//! connection's socket bytes and its HTTP [`crate::http::Exchange`], driven from the per-core
//! loop with rustls's unbuffered API (no threads, no blocking).
//!
//! The worker owns one boxed session per TLS socket (it moves with the socket through the
//! per-host keep-alive pool); the drivers only ever see ciphertext: a send of the session's
//! out buffer, a receive into the free tail of its incoming buffer. Request heads and PUT
//! bodies are encrypted straight from the exchange's head buffer and the shared content
//! pattern into the out buffer; received records are decrypted in the incoming buffer and
//! their plaintext goes to the exchange, counted (dropped) or copied (heads, verified bodies).
//!
//! Buffer sizes (per TLS connection; see [`OUT_BUF`] and [`IN_BUF`]): the out buffer holds two
//! full application-data records (about 32 KiB, so one send carries 32 KiB of a PUT body), the
//! incoming buffer one largest handshake message (64 KiB, a long certificate chain) with its
//! record framing (72 KiB). Both are allocated once per TLS socket and never reallocated; the
//! incoming buffer is allocated with capacity only, so the pages a connection never receives
//! into (a PUT's, which only reads response heads) stay untouched and cost no resident memory.

mod session;
#[cfg(test)]
mod tests;

pub use session::{Error, Session, Want, IN_BUF, OUT_BUF};
