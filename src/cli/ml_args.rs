//! The `run` flags of the ML data-loading paths (aisloader v2's names): GetBatch, shards,
//! multipart upload and the multipart download stream, and their conversion into the engine's
//! [`MlPaths`]. Their checks (ranges, exclusions) are the engine's, in `Workload::validate`.

use clap::Args;
use ringload_engine::workload::{ArchConfig, MlPaths};

use super::size;

#[derive(Args, Debug, Clone, Default)]
pub struct MlArgs {
    /// AIS GetBatch: each GET asks for the next N names in one request and drains the TAR
    /// stream it answers (0: one object per GET). Counted as `get_batch`: batches, objects.
    /// See docs/ml.md
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "ML data loading"
    )]
    pub get_batchsize: u32,
    /// With --get-batchsize: a missing object comes back empty under `__404__/` and is
    /// counted as `missing`, instead of failing the whole batch
    #[arg(long, help_heading = "ML data loading")]
    pub cont_on_err: bool,
    /// Format of the shards --arch-pct writes; only `.tar` is built (`.tgz`, `.tar.gz`,
    /// `.zip` and `.tar.lz4` are refused)
    #[arg(
        long,
        default_value = ".tar",
        value_name = "FORMAT",
        help_heading = "ML data loading"
    )]
    pub arch_format: String,
    /// Prefix of each file's name inside a shard (e.g. `trunk-`, `a/b/trunk-`)
    #[arg(
        long,
        default_value = "",
        value_name = "PREFIX",
        help_heading = "ML data loading"
    )]
    pub arch_prefix: String,
    /// Files per shard (0: 10)
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "ML data loading"
    )]
    pub arch_num_files: u32,
    /// Smallest file inside a shard (same syntax as --minsize)
    #[arg(long, default_value = "1KiB", value_parser = size, value_name = "SIZE", help_heading = "ML data loading")]
    pub arch_minsize: u64,
    /// Largest file inside a shard, inclusive (same syntax as --minsize)
    #[arg(long, default_value = "1KiB", value_parser = size, value_name = "SIZE", help_heading = "ML data loading")]
    pub arch_maxsize: u64,
    /// Percent of all orders whose PUT writes a shard (a TAR of --arch-num-files files of
    /// --arch-minsize..--arch-maxsize bytes); drawn from the same order hash as --pctput, as
    /// aisloader does, so P at or above --pctput makes every PUT a shard (docs/workload.md)
    #[arg(
        long,
        default_value_t = 0,
        value_name = "P",
        help_heading = "ML data loading"
    )]
    pub arch_pct: u32,
    /// List the files inside shards and GET them by archpath, one per GET or as the entries
    /// of a GetBatch (--get-batchsize)
    #[arg(long, help_heading = "ML data loading")]
    pub arch_list: bool,
    /// Parts per multipart upload, AIS or S3 (0: no multipart uploads). Counted as `put_mpu`
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "ML data loading"
    )]
    pub multipart_chunks: u32,
    /// Percent of all orders whose PUT is a multipart upload (needs --multipart-chunks);
    /// drawn from the same order hash as --pctput, as aisloader does, so P at or above
    /// --pctput makes every PUT one (docs/workload.md)
    #[arg(
        long,
        default_value_t = 0,
        value_name = "P",
        help_heading = "ML data loading"
    )]
    pub pctmultipart: u32,
    /// Percent of GETs read as a multipart download stream: one object in parallel ranged
    /// GETs. Counted as `get_mpd`
    #[arg(
        long,
        default_value_t = 0,
        value_name = "P",
        help_heading = "ML data loading"
    )]
    pub pctmpdstream: u32,
    /// Ranged GETs of one download stream in flight at once (0: 16)
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "ML data loading"
    )]
    pub mpdstream_workers: u32,
    /// Bytes per ranged GET of a download stream (0: 8 MiB; same syntax as --minsize)
    #[arg(long, default_value = "0", value_parser = size, value_name = "SIZE", help_heading = "ML data loading")]
    pub mpdstream_chunk_size: u64,
}

impl MlArgs {
    /// The engine's ML settings from these flags.
    pub fn paths(&self) -> MlPaths {
        MlPaths {
            get_batchsize: self.get_batchsize,
            cont_on_err: self.cont_on_err,
            arch: ArchConfig {
                format: self.arch_format.clone(),
                prefix: self.arch_prefix.clone(),
                num_files: self.arch_num_files,
                minsize: self.arch_minsize,
                maxsize: self.arch_maxsize,
                pct: self.arch_pct,
                list: self.arch_list,
            },
            multipart_chunks: self.multipart_chunks,
            pctmultipart: self.pctmultipart,
            pctmpdstream: self.pctmpdstream,
            mpdstream_workers: self.mpdstream_workers,
            mpdstream_chunk_size: self.mpdstream_chunk_size,
        }
    }
}
