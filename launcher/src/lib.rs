//! ringload's launcher: run specs (TOML), rendering of Kubernetes / Slurm / MPI jobs from the
//! templates in `templates/`, and the exact merge of per-rank result files.
//!
//! It sits between the engine and the binary (`engine` ← `launcher` ← `ringload`).
//! - [`merge`]: reads a run's rank files and merges them exactly (summary, time series).
//! - [`plot`]: SVG plots and the self-contained `report.html` drawn from a merge.

pub mod merge;
pub mod plot;

/// The engine version every rank writes into its result file; merge checks it.
pub use ringload_engine::ENGINE_VERSION;
pub mod barrier;
pub mod ranks;
pub mod render;
pub mod spec;
