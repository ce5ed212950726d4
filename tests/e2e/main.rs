//! The end-to-end tests, one test binary (`cargo test --test e2e`): the real `ringload` binary
//! against real peers (nginx, s3s-fs, the built-in target and AIS cluster emulation, a local
//! Slurm cluster, OpenMPI, kubernetes-validate, hadolint). One binary links the harness once
//! instead of once per file; each file below is a module, named like the filter that runs it alone
//! (`cargo test --test e2e ais::`).
//!
//! libtest runs any two tests of the binary at the same time, so what must not overlap takes
//! a lock in `common` for the test's duration (see `common::serial`).

mod common;

mod ais;
mod ais_control;
mod ais_request;
mod aisloader;
mod aisloader_ml;
mod budget;
mod cli;
mod client;
mod dockerfile;
mod docs;
mod engine_failure;
mod examples;
mod fault_modes;
mod faults;
mod get_batch;
mod many_ranks;
mod merge;
mod merge_ml;
mod merge_scale;
mod metrics;
mod ml_paths;
mod ml_refusals;
mod mpd;
mod mpi;
mod multipart;
mod nginx;
mod phases;
mod rate;
mod render;
mod render_errors;
mod render_hostile;
mod render_k8s;
mod render_scale;
mod s3;
mod serve;
mod shards;
mod signals;
mod slurm_ringload;
mod spec_run;
mod statsd;
mod stream_merge;
mod sweep;
mod target_resolution;
mod tls;
mod tls_settings;
mod verify;
