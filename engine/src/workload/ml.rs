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
    /// `--arch-pct`: percent of all orders (drawn from the same hash as `pctput`, as in
    /// aisloader) whose PUT writes a shard (0..=100).
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
    /// `--pctmultipart`: percent of all orders (drawn from the same hash as `pctput`, as in
    /// aisloader) whose PUT is a multipart upload (0..=100).
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
    let m = &w.ml;
    for (flag, v) in [
        ("--pctmultipart", m.pctmultipart),
        ("--pctmpdstream", m.pctmpdstream),
        ("--arch-pct", m.arch.pct),
    ] {
        if v > 100 {
            return invalid(flag, v.to_string(), "must be 0..=100");
        }
    }
    validate_batch(w)?;
    arch(w)?;
    multipart(w)?;
    validate_mpd(w)?;
    no_effect(w)
}

/// The ML settings that would change nothing in this run, refused (every setting is used or
/// refused): `--multipart-chunks` without `--pctmultipart` (unless S3 objects above 5 GiB take
/// its part count), the shards' shape without `--arch-pct`, the GET paths when `--pctput 100`
/// leaves no GETs, and the PUT paths when `--pctput 0` leaves no PUTs.
fn no_effect(w: &super::Workload) -> Result<(), super::WorkloadError> {
    let (m, a) = (&w.ml, &w.ml.arch);
    let s3_big = w.protocol == super::Protocol::S3 && w.maxsize > 5 << 30 && w.pctput > 0;
    if m.multipart_chunks > 0 && m.pctmultipart == 0 && !s3_big {
        let why = "without --pctmultipart no PUT is a multipart upload; add --pctmultipart P or \
                   drop --multipart-chunks";
        return invalid("--multipart-chunks", m.multipart_chunks.to_string(), why);
    }
    if a.pct == 0 {
        let d = ArchConfig::default();
        let why = "shapes the shards --arch-pct writes, and this run writes none; add \
                   --arch-pct P or drop it";
        if a.num_files != d.num_files {
            return invalid("--arch-num-files", a.num_files.to_string(), why);
        }
        if a.minsize != d.minsize {
            return invalid("--arch-minsize", a.minsize.to_string(), why);
        }
        if a.maxsize != d.maxsize {
            return invalid("--arch-maxsize", a.maxsize.to_string(), why);
        }
        if !a.prefix.is_empty() {
            return invalid("--arch-prefix", a.prefix.clone(), why);
        }
    }
    if w.pctput == 100 {
        let why = "reads, and --pctput 100 leaves no GETs; lower --pctput or drop it";
        if m.get_batchsize > 0 {
            return invalid("--get-batchsize", m.get_batchsize.to_string(), why);
        }
        if a.list {
            return invalid("--arch-list", "set".into(), why);
        }
    }
    if w.pctput == 0 {
        if m.pctmultipart > 0 {
            let why = "shares out PUTs, and --pctput 0 leaves none; give --pctput or drop it";
            return invalid("--pctmultipart", m.pctmultipart.to_string(), why);
        }
        if a.pct > 0 {
            let why = "writes shards, and --pctput 0 writes nothing; give --pctput, or read the \
                       files inside shards with --arch-list instead";
            return invalid("--arch-pct", a.pct.to_string(), why);
        }
    }
    Ok(())
}

/// The shard checks (`--arch-*`), when shards are written or read.
fn arch(w: &super::Workload) -> Result<(), super::WorkloadError> {
    let inv = |flag, value, why: String| invalid(flag, value, why);
    let (m, a) = (&w.ml, &w.ml.arch);
    if a.format != ARCH_TAR {
        return inv(
            "--arch-format",
            a.format.clone(),
            "only .tar is built; tgz/zip/lz4 are not: use --arch-format .tar".into(),
        );
    }
    if a.minsize > a.maxsize {
        return inv(
            "--arch-minsize",
            a.minsize.to_string(),
            format!(
                "is above --arch-maxsize ({}): each file's size is drawn in [min, max]",
                a.maxsize
            ),
        );
    }
    if a.pct == 0 && !a.list {
        return Ok(());
    }
    let flag = if a.pct > 0 {
        "--arch-pct"
    } else {
        "--arch-list"
    };
    let value = if a.pct > 0 {
        a.pct.to_string()
    } else {
        "set".into()
    };
    if w.protocol != super::Protocol::Ais {
        return inv(
            flag,
            value,
            format!(
                "shards need AIStore (archpath reads and archive-aware listing), and the run's \
                 protocol is {}: point --endpoint at an AIS cluster, or drop it",
                w.protocol.as_str()
            ),
        );
    }
    if a.pct > 0 && m.multipart_chunks > 0 {
        return inv(
            "--arch-pct",
            value,
            "cannot be combined with --multipart-chunks (a shard goes in one PUT, as in \
             aisloader): drop one of them"
                .into(),
        );
    }
    if a.list && (w.readoff > 0 || w.readlen > 0) {
        return inv(
            "--arch-list",
            "set".into(),
            "reads whole files inside shards; ranges inside a file (--readoff/--readlen) are \
             not built: drop --readoff/--readlen"
                .into(),
        );
    }
    Ok(())
}

/// Bounds of `--mpdstream-chunk-size` (AIS's own: smaller or larger chunks are clamped there;
/// here they are refused, so the run does what it says).
pub const MPD_CHUNK_MIN: u64 = 4 << 10;
pub const MPD_CHUNK_MAX: u64 = 128 << 20;

/// The download stream's settings and aisloader's exclusions for it.
fn validate_mpd(w: &super::Workload) -> Result<(), super::WorkloadError> {
    let m = &w.ml;
    if m.pctmpdstream == 0 {
        if m.mpdstream_workers > 0 {
            let why = "has no effect without --pctmpdstream; add --pctmpdstream P or drop it";
            return invalid("--mpdstream-workers", m.mpdstream_workers.to_string(), why);
        }
        if m.mpdstream_chunk_size > 0 {
            let why = "has no effect without --pctmpdstream; add --pctmpdstream P or drop it";
            return invalid(
                "--mpdstream-chunk-size",
                m.mpdstream_chunk_size.to_string(),
                why,
            );
        }
        return Ok(());
    }
    let chunk = m.mpd_chunk();
    if !(MPD_CHUNK_MIN..=MPD_CHUNK_MAX).contains(&chunk) {
        return invalid(
            "--mpdstream-chunk-size",
            chunk.to_string(),
            "must be 4KiB..=128MiB",
        );
    }
    let pct = m.pctmpdstream.to_string();
    if w.protocol != super::Protocol::Ais {
        let why = "needs the AIS protocol (a multipart download stream is an AIS client path); \
                   add --protocol ais or drop --pctmpdstream";
        return invalid("--pctmpdstream", pct, why);
    }
    if w.pctput > 0 {
        let why = "reads objects only; drop --pctput (write them in a run of their own first)";
        return invalid("--pctmpdstream", pct, why);
    }
    if m.get_batchsize > 0 {
        let why = "and --get-batchsize both decide how GETs read; drop one of them";
        return invalid("--pctmpdstream", pct, why);
    }
    if w.readoff > 0 || w.readlen > 0 {
        let why = "reads whole objects in ranges of its own; drop --readoff/--readlen";
        return invalid("--pctmpdstream", pct, why);
    }
    Ok(())
}

/// The multipart checks: `--pctmultipart` needs `--multipart-chunks`; uploads need a
/// protocol that has them (AIS, S3); S3 allows at most 10,000 parts; and, as in aisloader,
/// multipart uploads and shards are exclusive.
fn multipart(w: &super::Workload) -> Result<(), super::WorkloadError> {
    let m = &w.ml;
    if m.pctmultipart > 0 && m.multipart_chunks == 0 {
        return invalid(
            "--pctmultipart",
            m.pctmultipart.to_string(),
            "needs --multipart-chunks N (the parts per upload); add it, or drop --pctmultipart",
        );
    }
    if m.multipart_chunks == 0 {
        return Ok(());
    }
    if w.protocol == super::Protocol::Http {
        return invalid(
            "--multipart-chunks",
            m.multipart_chunks.to_string(),
            "needs an AIS or S3 target (plain HTTP has no multipart upload); drop it or \
             point --protocol at ais or s3",
        );
    }
    if m.multipart_chunks > MAX_PARTS {
        return invalid(
            "--multipart-chunks",
            m.multipart_chunks.to_string(),
            "S3 and AIS allow at most 10000 parts per upload; use 10000 or fewer",
        );
    }
    if m.pctmultipart > 0 && m.arch.pct > 0 {
        return invalid(
            "--pctmultipart",
            m.pctmultipart.to_string(),
            "multipart uploads and shards (--arch-pct) are mutually exclusive, as in \
             aisloader; drop one of them",
        );
    }
    Ok(())
}

/// The largest part count per upload (S3's, and AIS's).
pub const MAX_PARTS: u32 = 10_000;

/// The notes a run's ML settings call for, printed once at its start: a `--pctmultipart` or
/// `--arch-pct` at or above `--pctput` (below 100) takes every PUT; on S3, objects
/// above the 5 GiB single-PUT limit always go in parts, and parts are raised to S3's 5 MiB
/// minimum (so a small object has fewer parts than `--multipart-chunks`).
pub fn notes(w: &super::Workload) -> Vec<String> {
    const MIB: u64 = 1 << 20;
    let mut v = Vec::new();
    // aisloader's quirk: each path's percentage is drawn from the order hash that made the
    // order a PUT, so a share at or above --pctput takes every PUT.
    let m = &w.ml;
    for (flag, p, what) in [
        (
            "--pctmultipart",
            if m.multipart_chunks > 0 {
                m.pctmultipart
            } else {
                0
            },
            "a multipart upload",
        ),
        ("--arch-pct", m.arch.pct, "a shard"),
    ] {
        if p > 0 && (1..100).contains(&w.pctput) && p >= w.pctput {
            v.push(format!(
                "{flag} {p} is a percent of all orders, drawn from the same hash as --pctput: at \
                 or above --pctput ({}) every PUT is {what}",
                w.pctput
            ));
        }
    }
    if w.protocol != super::Protocol::S3 || w.pctput == 0 {
        return v;
    }
    if w.maxsize > 5 << 30 {
        v.push(
            "objects above 5 GiB (S3's single-PUT limit) are sent as multipart uploads in parts \
             of at most 5 GiB, counted as put_mpu"
                .to_string(),
        );
    }
    let n = w.ml.multipart_chunks as u64;
    if n > 1 && w.ml.pctmultipart > 0 && w.minsize.div_ceil(n) < 5 * MIB {
        v.push(format!(
            "S3 needs every part but the last to be at least 5 MiB: objects under {} MiB are \
             sent in fewer than {n} parts of 5 MiB",
            n * 5
        ));
    }
    v
}

/// Largest `--get-batchsize` (aisloader's range).
pub const MAX_BATCH: u32 = 1000;

/// GetBatch's settings: an AIS API, whole objects, every GET a batch.
fn validate_batch(w: &super::Workload) -> Result<(), super::WorkloadError> {
    let m = &w.ml;
    let n = m.get_batchsize;
    if n == 0 {
        if m.cont_on_err {
            return invalid(
                "--cont-on-err",
                "set".into(),
                "applies to GetBatch requests only; add --get-batchsize N or drop --cont-on-err",
            );
        }
        return Ok(());
    }
    if n > MAX_BATCH {
        return invalid("--get-batchsize", n.to_string(), "must be 0..=1000");
    }
    if w.protocol != super::Protocol::Ais {
        return invalid(
            "--get-batchsize",
            n.to_string(),
            "GetBatch is an AIStore API and this run's protocol is not AIS; use --protocol ais \
             or drop --get-batchsize",
        );
    }
    if w.readoff > 0 || w.readlen > 0 {
        return invalid(
            "--get-batchsize",
            n.to_string(),
            "a GetBatch reads whole objects; drop --readoff/--readlen or --get-batchsize",
        );
    }
    if m.pctmpdstream > 0 {
        return invalid(
            "--get-batchsize",
            n.to_string(),
            "every GET is a batch, so none is left for --pctmpdstream; drop one of them",
        );
    }
    if w.pctupdate > 0 {
        return invalid(
            "--get-batchsize",
            n.to_string(),
            "an update PUT follows one object's GET, and a GetBatch reads many; drop \
             --pctupdate or --get-batchsize",
        );
    }
    Ok(())
}

/// The refusal of `flag` set to `value`, saying why and how to fix it.
fn invalid(
    flag: &'static str,
    value: String,
    why: impl Into<String>,
) -> Result<(), super::WorkloadError> {
    Err(super::WorkloadError::Invalid {
        flag,
        value,
        why: why.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Protocol, Workload, WorkloadError};
    use super::*;

    fn shards(f: impl FnOnce(&mut Workload)) -> Result<(), WorkloadError> {
        let mut w = Workload {
            protocol: Protocol::Ais,
            ..Workload::default()
        };
        w.ml.arch.pct = 100;
        f(&mut w);
        arch(&w)
    }

    fn refused(r: Result<(), WorkloadError>, flag: &str, why: &str) {
        let e = r.expect_err("refused").to_string();
        assert!(e.starts_with(flag) && e.contains(why), "{e}");
    }

    #[test]
    fn shards_are_checked_naming_the_flag_and_the_fix() {
        assert!(shards(|_| {}).is_ok());
        assert!(shards(|w| w.ml.arch.list = true).is_ok());
        refused(
            shards(|w| w.ml.arch.format = ".zip".into()),
            "--arch-format",
            "only .tar is built",
        );
        refused(
            shards(|w| w.ml.arch.minsize = 2 << 10),
            "--arch-minsize",
            "--arch-maxsize",
        );
        refused(
            shards(|w| w.protocol = Protocol::S3),
            "--arch-pct",
            "need AIStore",
        );
        refused(
            shards(|w| {
                w.ml.arch.pct = 0;
                w.ml.arch.list = true;
                w.protocol = Protocol::Http;
            }),
            "--arch-list",
            "need AIStore",
        );
        refused(
            shards(|w| w.ml.multipart_chunks = 4),
            "--arch-pct",
            "--multipart-chunks",
        );
        refused(
            shards(|w| {
                w.ml.arch.list = true;
                w.readlen = 10;
            }),
            "--arch-list",
            "--readoff/--readlen",
        );
        // Without shards the protocol does not matter.
        let http = Workload::default();
        assert!(arch(&http).is_ok());
    }

    fn with(protocol: Protocol, f: impl Fn(&mut MlPaths)) -> Workload {
        let mut w = Workload {
            protocol,
            pctput: 100,
            ..Workload::default()
        };
        f(&mut w.ml);
        w
    }

    fn refusal(w: &Workload) -> String {
        w.validate().expect_err("refused").to_string()
    }

    #[test]
    fn multipart_runs_on_ais_and_s3_with_its_own_checks() {
        for p in [Protocol::Ais, Protocol::S3] {
            let w = with(p, |m| {
                m.multipart_chunks = 4;
                m.pctmultipart = 100;
            });
            w.validate().unwrap();
        }
        let e = refusal(&with(Protocol::Http, |m| m.multipart_chunks = 4));
        assert!(
            e.contains("--multipart-chunks") && e.contains("ais or s3"),
            "{e}"
        );
        let e = refusal(&with(Protocol::Ais, |m| m.pctmultipart = 50));
        assert!(
            e.contains("--pctmultipart") && e.contains("--multipart-chunks N"),
            "{e}"
        );
        for p in [Protocol::S3, Protocol::Ais] {
            let e = refusal(&with(p, |m| {
                m.multipart_chunks = MAX_PARTS + 1;
                m.pctmultipart = 100;
            }));
            assert!(
                e.contains("--multipart-chunks") && e.contains("10000"),
                "{e}"
            );
            with(p, |m| {
                m.multipart_chunks = MAX_PARTS;
                m.pctmultipart = 100;
            })
            .validate()
            .unwrap();
        }
        let e = refusal(&with(Protocol::Ais, |m| {
            m.multipart_chunks = 2;
            m.pctmultipart = 10;
            m.arch.pct = 10;
        }));
        // Refused either as exclusive or, in a build without shards, for --arch-pct itself.
        assert!(e.contains("--arch-pct"), "{e}");
    }

    #[test]
    fn s3_notes_name_the_5_gib_limit_and_raised_parts() {
        let mut w = with(Protocol::S3, |m| {
            m.multipart_chunks = 4;
            m.pctmultipart = 100;
        });
        w.pctput = 100;
        w.minsize = 8 << 20;
        w.maxsize = 6 << 30;
        let n = notes(&w);
        assert_eq!(n.len(), 2, "{n:?}");
        assert!(n[0].contains("above 5 GiB"), "{n:?}");
        assert!(n[1].contains("under 20 MiB"), "{n:?}");
        w.maxsize = 24 << 20;
        w.minsize = 24 << 20;
        assert!(notes(&w).is_empty());
        w.protocol = Protocol::Ais;
        w.maxsize = 6 << 30;
        assert!(notes(&w).is_empty());
    }

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

    type Edit = dyn Fn(&mut Workload);

    fn no_effect_err(f: &Edit) -> Option<String> {
        let mut w = Workload {
            protocol: Protocol::Ais,
            pctput: 50,
            ..Workload::default()
        };
        f(&mut w);
        w.validate().err().map(|e| e.to_string())
    }

    #[test]
    fn settings_that_would_change_nothing_are_refused_naming_the_flag() {
        let cases: [(&Edit, &str); 10] = [
            (
                &|w| w.ml.multipart_chunks = 4,
                "--multipart-chunks '4' is invalid: without --pctmultipart",
            ),
            (
                &|w| w.ml.arch.num_files = 5,
                "--arch-num-files '5' is invalid: shapes the shards --arch-pct writes",
            ),
            (
                &|w| w.ml.arch.minsize = 512,
                "--arch-minsize '512' is invalid",
            ),
            (
                &|w| w.ml.arch.maxsize = 4096,
                "--arch-maxsize '4096' is invalid",
            ),
            (
                &|w| w.ml.arch.prefix = "t-".into(),
                "--arch-prefix 't-' is invalid",
            ),
            (
                &|w| {
                    w.pctput = 100;
                    w.ml.get_batchsize = 8;
                },
                "--get-batchsize '8' is invalid: reads, and --pctput 100 leaves no GETs",
            ),
            (
                &|w| {
                    w.pctput = 100;
                    w.ml.arch.list = true;
                },
                "--arch-list 'set' is invalid: reads, and --pctput 100",
            ),
            (
                &|w| {
                    w.pctput = 0;
                    w.ml.multipart_chunks = 4;
                    w.ml.pctmultipart = 10;
                },
                "--pctmultipart '10' is invalid: shares out PUTs, and --pctput 0 leaves none",
            ),
            (
                &|w| {
                    w.pctput = 0;
                    w.ml.arch.pct = 10;
                },
                "--arch-pct '10' is invalid: writes shards, and --pctput 0 writes nothing",
            ),
            (
                &|w| {
                    w.pctput = 0;
                    w.ml.arch.pct = 10;
                    w.ml.arch.num_files = 3;
                },
                "--arch-pct '10' is invalid",
            ),
        ];
        for (f, want) in cases {
            let e = no_effect_err(f).expect("refused");
            assert!(e.starts_with(want), "{e}");
        }
        // Where they do apply, they are allowed.
        assert_eq!(no_effect_err(&|_| {}), None);
        assert_eq!(
            no_effect_err(&|w| {
                w.ml.arch.pct = 20;
                w.ml.arch.num_files = 5;
                w.ml.arch.prefix = "t-".into();
            }),
            None
        );
        assert_eq!(no_effect_err(&|w| w.ml.get_batchsize = 8), None);
        assert_eq!(
            no_effect_err(&|w| {
                w.pctput = 0;
                w.ml.arch.list = true;
            }),
            None
        );
        // S3 objects above 5 GiB take --multipart-chunks as their part count.
        assert_eq!(
            no_effect_err(&|w| {
                w.protocol = Protocol::S3;
                w.maxsize = 6 << 30;
                w.ml.multipart_chunks = 4;
            }),
            None
        );
    }

    #[test]
    fn a_share_at_or_above_pctput_is_noted_once() {
        let mut w = with(Protocol::Ais, |m| {
            m.multipart_chunks = 4;
            m.pctmultipart = 50;
        });
        w.pctput = 50;
        assert_eq!(
            notes(&w),
            [
                "--pctmultipart 50 is a percent of all orders, drawn from the same hash as \
              --pctput: at or above --pctput (50) every PUT is a multipart upload"
            ]
        );
        w.pctput = 51;
        assert!(notes(&w).is_empty());
        w.pctput = 100;
        assert!(notes(&w).is_empty());
        let mut w = with(Protocol::Ais, |m| m.arch.pct = 30);
        w.pctput = 20;
        assert_eq!(
            notes(&w),
            [
                "--arch-pct 30 is a percent of all orders, drawn from the same hash as --pctput: \
              at or above --pctput (20) every PUT is a shard"
            ]
        );
    }
}
