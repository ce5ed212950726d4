//! ringload's launcher: run specs (TOML), rendering of Kubernetes / Slurm / MPI jobs from the
//! templates in `templates/`, and the exact merge of per-rank result files.
//!
//! It sits between the engine and the binary (`engine` ← `launcher` ← `ringload`). For now it
//! only re-exports the engine's version; render and merge land with their own issues.

/// The engine version every rank writes into its result file; merge checks it.
pub use ringload_engine::ENGINE_VERSION;
