//! Limits of the HTTP/1.1 heads ringload parses (their size and their header lines) and of
//! the redirects it follows, defined together so the roles' choices can be compared at a
//! glance.
//!
//! Header arrays are `httparse` slots on the stack, initialised on every parse, so the limit
//! is also a per-head cost. A head with more header lines than its limit is malformed.

/// Largest response head (status line and headers, in bytes) the client accepts; a longer one
/// is a malformed response. The exchange's head buffer grows up to this size.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Largest request head (request line and headers, in bytes) the built-in target accepts; a
/// longer one is a bad request. It is also the size of each connection's receive buffer, so
/// it is part of the memory an accepted connection costs.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Most header lines in one response the client parses: the hot path's answers to GET, PUT,
/// HEAD and DELETE and the control plane's answers alike (both go through the one client
/// exchange). Object-store answers carry about a dozen lines (AIS and S3 add their own
/// metadata headers); 48 leaves room while keeping the slots cleared for every response few.
pub const MAX_RESPONSE_HEADERS: usize = 48;

/// Most header lines in one request the built-in target parses (S3 SigV4 requests use about
/// a dozen; clients such as the AWS CLI add more).
pub const MAX_REQUEST_HEADERS: usize = 64;

/// Redirects one operation follows; the next one is an error. Applies to the data path (the
/// worker counts redirects per operation) and to the control plane alike.
pub const MAX_REDIRECTS: usize = 5;

// The worker counts an operation's redirects in a `u8`.
const _: () = assert!(MAX_REDIRECTS <= u8::MAX as usize);
