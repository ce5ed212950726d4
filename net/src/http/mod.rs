//! HTTP/1.1 wire primitives shared by the load client (`ringload-engine`) and the built-in
//! target (`ringload-server`), so each wire rule exists once.
//!
//! - [`num`]: strict decimal and chunk-size parsing, and writing decimals without allocating.
//! - [`limits`]: how large a head may be and how many header lines it may carry, per role,
//!   and how many redirects an operation follows.
//! - [`pct`]: the one RFC 3986 percent-encoder (object paths, query components, SigV4
//!   canonical forms) and the hex-digit decoder.
//!
//! Everything here is pure and allocation-free on the hot path: callers pass the buffers.

pub mod limits;
pub mod num;
pub mod pct;

pub use limits::{
    MAX_REDIRECTS, MAX_REQUEST_HEAD, MAX_REQUEST_HEADERS, MAX_RESPONSE_HEAD, MAX_RESPONSE_HEADERS,
};
/// The `User-Agent` every request ringload sends carries (the load's and the control plane's
/// alike), so a server's log tells ringload's traffic apart and names its version.
pub const USER_AGENT: &str = concat!("ringload/", env!("CARGO_PKG_VERSION"));

pub use num::{parse_chunk_size, parse_decimal, push_u64};
pub use pct::{hex_value, percent_encode, percent_encode_byte, percent_encode_string, Keep};
