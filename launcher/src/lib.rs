//! ringload's launcher: run specs (TOML), rendering of Kubernetes / Slurm / MPI jobs from the
//! templates in `templates/`, and the exact merge of per-rank result files.
//!
//! It sits between the engine and the binary (`engine` ← `launcher` ← `ringload`).
//! - [`spec`]: `run.toml` parsing and checks, with errors that name the file and line.
//! - [`render`]: spec → Kubernetes manifests, sbatch and MPI scripts, every value escaped.
//! - [`ranks`]: which rank this process is, from flags or the scheduler's environment.
//! - [`barrier`]: the start barrier and rank 0's wait for results, through the results dir.
//! - [`merge`]: reads a run's rank files and merges them exactly (summary, time series).
//! - [`plot`]: SVG plots and the self-contained `report.html` drawn from a merge.

pub mod barrier;
pub mod merge;
pub mod plot;
pub mod ranks;
pub mod render;
pub mod spec;

/// The engine version every rank writes into its result file; merge checks it.
pub use ringload_core::VERSION as ENGINE_VERSION;
