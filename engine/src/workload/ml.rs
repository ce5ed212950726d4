//! The ML data-loading paths of a run, as aisloader v2 names them: GetBatch (`--get-batchsize`,
//! `--cont-on-err`), shards (`--arch-*`), multipart upload (`--multipart-chunks`,
//! `--pctmultipart`) and the multipart download stream (`--pctmpdstream`, `--mpdstream-*`).
//!
//! Why apart from `Workload`'s other fields: these settings come as a group, are validated
//! together (their exclusions with each other, with the protocol and with ranged reads), and
//! are flattened into the result file's `workload` key under aisloader's names.

use serde::Serialize;

/// The archive format shards are written in. Only TAR is built; other formats are refused at
/// validation, naming the flag.
pub const ARCH_TAR: &str = ".tar";

/// Shards (`--arch-*`): TAR objects of generated files, PUT whole and read by `archpath`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchConfig {
    /// `--arch-format`: the archive extension (only `.tar`).
    #[serde(rename = "arch_format")]
    pub format: String,
    /// `--arch-prefix`: prepended to each file's name inside a shard (e.g. `trunk-`).
    #[serde(rename = "arch_prefix")]
    pub prefix: String,
    /// `--arch-num-files`: files per shard (0: the default, [`ArchConfig::DEFAULT_NUM_FILES`]).
    #[serde(rename = "arch_num_files")]
    pub num_files: u32,
    /// `--arch-minsize`, `--arch-maxsize`: each file's size, inclusive.
    #[serde(rename = "arch_minsize")]
    pub minsize: u64,
    #[serde(rename = "arch_maxsize")]
    pub maxsize: u64,
    /// `--arch-pct`: percent of PUTs that write a shard (0..=100).
    #[serde(rename = "arch_pct")]
    pub pct: u32,
    /// `--arch-list`: GETs read files inside shards (by `archpath`) instead of whole objects.
    #[serde(rename = "arch_list")]
    pub list: bool,
}

impl ArchConfig {
    /// Files per shard when `--arch-num-files` is 0.
    pub const DEFAULT_NUM_FILES: u32 = 10;

    /// Files per shard, the default applied.
    pub fn files(&self) -> u32 {
        match self.num_files {
            0 => Self::DEFAULT_NUM_FILES,
            n => n,
        }
    }
}

impl Default for ArchConfig {
    fn default() -> Self {
        ArchConfig {
            format: ARCH_TAR.to_string(),
            prefix: String::new(),
            num_files: 0,
            minsize: 1 << 10,
            maxsize: 1 << 10,
            pct: 0,
            list: false,
        }
    }
}

/// The ML paths of one run; the default is none of them (aisloader's defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct MlPaths {
    /// `--get-batchsize`: each GET operation asks for this many names in one GetBatch request
    /// (0: plain GETs).
    pub get_batchsize: u32,
    /// `--cont-on-err`: GetBatch's `coer`: a missing member comes back empty under `__404__/`
    /// (counted as `missing`) instead of failing the batch.
    pub cont_on_err: bool,
    #[serde(flatten)]
    pub arch: ArchConfig,
    /// `--multipart-chunks`: parts per multipart upload (0: no multipart uploads).
    pub multipart_chunks: u32,
    /// `--pctmultipart`: percent of PUTs sent as multipart uploads (0..=100).
    pub pctmultipart: u32,
    /// `--pctmpdstream`: percent of GETs read as a multipart download stream (0..=100).
    pub pctmpdstream: u32,
    /// `--mpdstream-workers`: ranged GETs of one stream in flight at once (0: 16).
    pub mpdstream_workers: u32,
    /// `--mpdstream-chunk-size`: bytes per ranged GET (0: 8 MiB).
    pub mpdstream_chunk_size: u64,
}

impl MlPaths {
    /// Ranged GETs of one download stream in flight at once, the default applied.
    pub fn mpd_workers(&self) -> u32 {
        match self.mpdstream_workers {
            0 => 16,
            n => n,
        }
    }

    /// Bytes per ranged GET of a download stream, the default applied.
    pub fn mpd_chunk(&self) -> u64 {
        match self.mpdstream_chunk_size {
            0 => 8 << 20,
            n => n,
        }
    }
}

/// Checks the ML settings of `w`: ranges, and the combinations that cannot run (each error
/// names the flag and the fix).
pub(super) fn validate(w: &super::Workload) -> Result<(), super::WorkloadError> {
    let inv = |flag: &'static str, value: String, why: &str| {
        Err(super::WorkloadError::Invalid {
            flag,
            value,
            why: why.to_string(),
        })
    };
    let m = &w.ml;
    for (flag, v) in [
        ("--pctmultipart", m.pctmultipart),
        ("--pctmpdstream", m.pctmpdstream),
        ("--arch-pct", m.arch.pct),
    ] {
        if v > 100 {
            return inv(flag, v.to_string(), "must be 0..=100");
        }
    }
    validate_batch(w)?;
    // Not built yet: refused rather than run as something else.
    for (flag, on) in [
        ("--multipart-chunks", m.multipart_chunks > 0),
        ("--pctmpdstream", m.pctmpdstream > 0),
        ("--arch-pct", m.arch.pct > 0),
        ("--arch-list", m.arch.list),
    ] {
        if on {
            return inv(
                flag,
                "set".into(),
                "is not supported by this build yet; drop it",
            );
        }
    }
    Ok(())
}

/// Largest `--get-batchsize` (aisloader's range).
pub const MAX_BATCH: u32 = 1000;

/// GetBatch's settings: an AIS API, whole objects, every GET a batch.
fn validate_batch(w: &super::Workload) -> Result<(), super::WorkloadError> {
    let inv = |flag: &'static str, value: String, why: &str| {
        Err(super::WorkloadError::Invalid {
            flag,
            value,
            why: why.to_string(),
        })
    };
    let m = &w.ml;
    let n = m.get_batchsize;
    if n == 0 {
        if m.cont_on_err {
            return inv(
                "--cont-on-err",
                "set".into(),
                "applies to GetBatch requests only; add --get-batchsize N or drop --cont-on-err",
            );
        }
        return Ok(());
    }
    if n > MAX_BATCH {
        return inv("--get-batchsize", n.to_string(), "must be 0..=1000");
    }
    if w.protocol != super::Protocol::Ais {
        return inv(
            "--get-batchsize",
            n.to_string(),
            "GetBatch is an AIStore API and this run's protocol is not AIS; use --protocol ais \
             or drop --get-batchsize",
        );
    }
    if w.readoff > 0 || w.readlen > 0 {
        return inv(
            "--get-batchsize",
            n.to_string(),
            "a GetBatch reads whole objects; drop --readoff/--readlen or --get-batchsize",
        );
    }
    if m.pctmpdstream > 0 {
        return inv(
            "--get-batchsize",
            n.to_string(),
            "every GET is a batch, so none is left for --pctmpdstream; drop one of them",
        );
    }
    if w.pctupdate > 0 {
        return inv(
            "--get-batchsize",
            n.to_string(),
            "an update PUT follows one object's GET, and a GetBatch reads many; drop \
             --pctupdate or --get-batchsize",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Protocol, Workload};

    fn err(f: &dyn Fn(&mut Workload)) -> Option<String> {
        let mut w = Workload {
            protocol: Protocol::Ais,
            ..Workload::default()
        };
        w.ml.get_batchsize = 32;
        f(&mut w);
        w.validate().err().map(|e| e.to_string())
    }

    #[test]
    fn get_batch_settings_are_checked() {
        assert_eq!(err(&|_| {}), None);
        assert_eq!(err(&|w| w.ml.cont_on_err = true), None);
        assert_eq!(err(&|w| w.ml.get_batchsize = 1000), None);
        let e = err(&|w| w.ml.get_batchsize = 1001).unwrap();
        assert_eq!(e, "--get-batchsize '1001' is invalid: must be 0..=1000");
        let e = err(&|w| w.protocol = Protocol::S3).unwrap();
        assert!(e.starts_with("--get-batchsize '32' is invalid: GetBatch is an AIStore API"));
        assert!(e.contains("--protocol ais"), "{e}");
        let e = err(&|w| w.readlen = 10).unwrap();
        assert!(e.contains("--readoff/--readlen"), "{e}");
        let e = err(&|w| w.ml.pctmpdstream = 10).unwrap();
        assert!(e.contains("--pctmpdstream"), "{e}");
        let e = err(&|w| w.pctupdate = 10).unwrap();
        assert!(e.contains("--pctupdate"), "{e}");
        let e = err(&|w| {
            w.ml.get_batchsize = 0;
            w.ml.cont_on_err = true;
        })
        .unwrap();
        assert!(
            e.starts_with("--cont-on-err 'set' is invalid") && e.contains("--get-batchsize N"),
            "{e}"
        );
    }
}
