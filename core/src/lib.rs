//! ringload-core: what every part of ringload shares, and nothing that does I/O on a socket.
//!
//! - [`tar`]: TAR header blocks (GetBatch streams and shards), written and read.
//! - [`escape`]: JSON-string and XML-text escaping, for the engine's request bodies and the
//!   built-in target's answers.
//! - [`units`]: aisloader's size syntax and Go's duration syntax.
//! - [`kinds`]: the closed lists a run is configured with (protocol, S3 addressing, checksum
//!   type), shared by the engine, the spec checks and the command line.
//! - [`rng`]: the seeded generators and mixers behind names, shuffles and fault draws.
//! - [`content`]: the bytes of every object (a fixed-seed 1 MiB pattern), shared by the
//!   client's PUT bodies, the built-in target's GET bodies and the client's `--verifyhash`.
//! - [`cksum`]: AIStore's object checksums (every `Ais-Checksum-Type`), for the client's PUTs
//!   and the built-in target's checks.
//! - [`exit`]: the process exit codes, shared by the command line, the engine and the
//!   launcher.
//! - [`hist`]: the latency histogram every statistic uses and its summary.
//! - [`hist_index`]: the counter index of a latency, without a histogram in hand.
//! - [`intervals`]: the binary interval carrier (`rank-<r>.intervals`) of a result file.
//! - [`rate`]: the open-loop rate plan (`--rate`, sweeps, the SLO) and its result records.
//! - [`client`]: a rank's self-diagnosis record (is the client the bottleneck?).
//! - [`result`]: the per-rank result file (`ringload.result/2`): its types, the histogram
//!   codec and the atomic, no-overwrite write.
//!
//! The launcher (`merge`, `render`) depends on this crate only, so it links no io_uring,
//! socket or signing code.

pub mod cksum;
pub mod client;
pub mod content;
pub mod escape;
pub mod exit;
pub mod hist;
pub mod hist_index;
pub mod intervals;
pub mod kinds;
pub mod rate;
pub mod result;
pub mod rng;
pub mod tar;
pub mod units;

/// The version written into every result file (`engine_version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
