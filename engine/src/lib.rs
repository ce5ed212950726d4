//! ringload-engine: the thread-per-core load engine for object storage.
//!
//! Layout (one concern per module):
//! - [`units`]: aisloader's size syntax and Go's duration syntax.
//! - [`workload`]: the validated run description the engine takes (no clap, no TOML here).
//! - [`naming`], [`selector`], [`rng`], [`names`]: what to PUT and GET; [`content`]: the bytes
//!   a PUT sends, the built-in target serves and [`verify`] checks a GET against.
//! - [`proto`]: protocol settings and secrets (AIS provider/checksum/token, S3 keys).
//! - [`http`]: the sans-IO HTTP/1.1 client exchange (bytes in, I/O requests out).
//! - [`worker`]: one core's connections and closed loop, independent of the I/O driver.
//! - [`driver`]: the io_uring and epoll drivers that perform the worker's I/O.
//! - [`stats`], [`result`], [`report`]: histograms, the result file, human output.
//! - [`server`]: the built-in target (`ringload serve`).
//! - [`ctl`], [`ais`], [`s3`]: the control plane (a blocking HTTP client, AIS bucket and
//!   list calls, S3 SigV4, credentials and ListObjectsV2) used before and after a run, and
//!   [`phase`]: the listing's statistics (`ops.list`).
//! - [`budget`]: the descriptors, memory and ports a run needs, checked before it starts.
//! - [`run`]: starts the cores, the reporter and the signal handling for one run;
//!   [`inject`]: the test-only switch that makes a core panic or its driver fail.

pub mod ais;
pub mod budget;
pub mod content;
pub mod ctl;
pub mod driver;
pub mod http;
pub mod inject;
pub mod names;
pub mod naming;
pub mod phase;
pub mod proto;
pub mod report;
pub mod result;
pub mod rng;
pub mod run;
pub mod s3;
pub mod selector;
pub mod server;
pub mod stats;
pub mod units;
pub mod verify;
pub mod worker;
pub mod workload;

/// The version written into every result file (`engine_version`).
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
