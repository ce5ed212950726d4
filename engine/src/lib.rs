//! ringload-engine: the thread-per-core load engine for object storage.
//!
//! Shared with the built-in target and the launcher, in `ringload_core`: units, rng, object
//! content, latency histograms and the result file. Layout (one concern per module):
//!
//! - [`workload`]: the validated run description the engine takes (no clap, no TOML here).
//! - [`naming`], [`selector`], [`names`]: what to PUT and GET; [`verify`]: checks a GET's bytes
//!   against the shared object content.
//! - [`proto`]: protocol settings and secrets (AIS provider/checksum/token, S3 keys).
//! - [`http`]: the sans-IO HTTP/1.1 client exchange (bytes in, I/O requests out).
//! - [`worker`]: one core's connections and closed loop, independent of the I/O driver.
//! - [`tls`]: the client TLS session (rustls unbuffered) between a socket and the exchange.
//! - [`driver`]: the io_uring and epoll drivers that perform the worker's I/O.
//! - [`stats`], [`report`], [`record`]: per-core counters, human output, and the result file
//!   built from them.
//! - [`ctl`], [`ais`], [`s3`]: the control plane (a blocking HTTP client, AIS bucket and
//!   list calls, S3 SigV4, credentials and ListObjectsV2) used before and after a run, and
//!   [`phase`]: the listing's statistics (`ops.list`).
//! - [`client`]: the client's own cost (its core threads' CPU and scheduler wait, from
//!   `/proc`), for the self-diagnosis and the live metrics.
//! - [`metrics`]: live Prometheus metrics (`--metrics-listen`), rendered by the reporter from
//!   its snapshots and served by a thread of their own.
//! - [`budget`]: the descriptors, memory and ports a run needs, checked before it starts.
//! - [`run`]: starts the cores, the reporter and the signal handling for one run;
//!   [`inject`]: the test-only switch that makes a core panic or its driver fail.

pub mod ais;
pub mod budget;
pub mod client;
pub mod ctl;
pub mod driver;
pub mod http;
pub mod inject;
pub mod metrics;
pub mod names;
pub mod naming;
pub mod phase;
pub mod proto;
pub mod record;
pub mod report;
pub mod run;
pub mod s3;
pub mod selector;
pub mod stats;
pub mod tls;
pub mod verify;
pub mod worker;
pub mod workload;
