//! The HTTP/1.1 client, sans-IO: request encoding and the response state machine. Nothing here
//! touches a socket; the drivers in [`crate::driver`] do.

pub mod exchange;
pub mod request;

pub use exchange::{Exchange, Failure, Need, Sink};
pub use request::{Method, RequestHead};
