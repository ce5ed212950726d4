//! Limits of the HTTP/1.1 heads ringload parses and of the redirects it follows, defined
//! together so the roles' choices can be compared at a glance.
//!
//! Header arrays are `httparse` slots on the stack, initialised on every parse, so the limit
//! is also a per-head cost. A head with more header lines than its limit is malformed.

/// Most header lines in one head on the load client's hot path (object-store responses to
/// the engine's GET, PUT, HEAD and DELETE). Those answers carry about a dozen lines (AIS and
/// S3 add their own metadata headers); 48 leaves room while keeping the slots that are
/// cleared for every response fewer than in the other roles.
pub const MAX_HEADERS_HOT: usize = 48;

/// Most header lines in one head everywhere else: requests the built-in target parses (S3
/// SigV4 requests use about a dozen) and responses the control-plane client parses (AIS and
/// S3 control answers, which may carry more metadata than data-path answers).
pub const MAX_HEADERS: usize = 64;

/// Redirects one operation follows; the next one is an error. Applies to the data path (the
/// worker counts redirects per operation) and to the control plane alike.
pub const MAX_REDIRECTS: usize = 5;

// The worker counts an operation's redirects in a `u8`.
const _: () = assert!(MAX_REDIRECTS <= u8::MAX as usize);
