//! Why an operation failed ([`ErrorKind`]): the closed list of kinds, their stable names in
//! `errors_by_kind` and the fixed counter slots [`super::OpStats`] keeps for them (one per
//! non-HTTP kind, one per status 100..=599, one for the rest), so recording a failure never
//! allocates.

use std::fmt;

/// Why an operation failed. Each kind has its own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The TCP connection could not be established.
    Connect,
    /// The peer reset the connection (ECONNRESET, EPIPE).
    Reset,
    /// The request did not finish within `--timeout`.
    Timeout,
    /// The peer closed the connection before the response head was complete.
    Closed,
    /// The body ended before Content-Length (or the final chunk) was reached.
    ShortBody,
    /// The response could not be parsed as HTTP/1.1.
    Protocol,
    /// A redirect could not be followed (bad Location, too many hops).
    Redirect,
    /// `--verifyhash`: the body's content did not match the expected bytes.
    Verify,
    /// `--verifyhash`: the body is not ringload's content and carries no checksum, so it
    /// could not be checked.
    VerifyUnknown,
    /// The process ran out of file descriptors (EMFILE, ENFILE).
    FdLimit,
    /// No free local port for another connection to the address (EADDRNOTAVAIL).
    NoPorts,
    /// The kernel had no memory or buffer space for the socket (ENOMEM, ENOBUFS).
    NoMemory,
    /// The TLS handshake failed, or a TLS record could not be decrypted (the cause is named by
    /// `ringload_net::tls::cause` and kept in `Shared::tls`).
    Tls,
    /// GetBatch with `--cont-on-err`: a requested member came back empty under `__404__/`
    /// (one per missing member; the batch itself still succeeds).
    Missing,
    /// The server answered with an unexpected status code.
    Http(u16),
}

/// Indices of the non-HTTP kinds in [`OpStats`]'s fixed counter array.
pub(super) const KINDS: [ErrorKind; 14] = [
    ErrorKind::Connect,
    ErrorKind::Reset,
    ErrorKind::Timeout,
    ErrorKind::Closed,
    ErrorKind::ShortBody,
    ErrorKind::Protocol,
    ErrorKind::Redirect,
    ErrorKind::Verify,
    ErrorKind::VerifyUnknown,
    ErrorKind::FdLimit,
    ErrorKind::NoPorts,
    ErrorKind::NoMemory,
    ErrorKind::Tls,
    ErrorKind::Missing,
];
pub(super) const HTTP_FIRST: u16 = 100;
pub(super) const HTTP_LAST: u16 = 599;
pub(super) const HTTP_SLOTS: usize = (HTTP_LAST - HTTP_FIRST + 1) as usize;
/// The name under which statuses outside 100..=599 are counted.
pub const HTTP_OTHER: &str = "http-other";

impl ErrorKind {
    /// The stable name used in `errors_by_kind`: `"connect"`, `"short-body"`, `"http-404"`, ...
    /// Statuses outside 100..=599 are all named [`HTTP_OTHER`].
    pub fn as_str(&self) -> String {
        self.to_string()
    }

    /// Parses a name produced by [`ErrorKind::as_str`] (`"http-other"` has no single kind).
    pub fn parse(name: &str) -> Option<ErrorKind> {
        if let Some(code) = name.strip_prefix("http-") {
            let code: u16 = code.parse().ok()?;
            return (HTTP_FIRST..=HTTP_LAST)
                .contains(&code)
                .then_some(ErrorKind::Http(code));
        }
        KINDS.into_iter().find(|k| k.fixed_name() == Some(name))
    }

    fn fixed_name(&self) -> Option<&'static str> {
        Some(match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Reset => "reset",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::ShortBody => "short-body",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Redirect => "redirect",
            ErrorKind::Verify => "verify",
            ErrorKind::VerifyUnknown => "verify-unknown",
            ErrorKind::FdLimit => "fd-limit",
            ErrorKind::NoPorts => "no-ports",
            ErrorKind::NoMemory => "no-memory",
            ErrorKind::Tls => "tls",
            ErrorKind::Missing => "missing",
            ErrorKind::Http(_) => return None,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.fixed_name(), self) {
            (Some(name), _) => f.write_str(name),
            (None, ErrorKind::Http(c)) if (HTTP_FIRST..=HTTP_LAST).contains(c) => {
                write!(f, "http-{c}")
            }
            _ => f.write_str(HTTP_OTHER),
        }
    }
}
