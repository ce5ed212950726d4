//! aisloader v2's rules for the ML data-loading flags: GetBatch (`-get-batchsize`,
//! `-cont-on-err`), shards (`-arch.*`), multipart upload (`-multipart-chunks`,
//! `-pctmultipart`) and the multipart download stream (`-pctmpdstream`, `-mpdstream-*`), in
//! aisloader's words and order (its `validate` and `readers.Arch.Init`), plus the few
//! combinations ringload refuses where aisloader would fail later or run something else.
//! The result is the `run` flags that do the same load, the values `Runtime configuration:`
//! shows, and a warning for every setting given where it cannot apply. Split from the rules so
//! each file stays readable; pure like them.

use super::super::flags;
use super::super::grammar::{self, Parsed};
use super::Stop;

/// aisloader's default smallest and largest file inside a shard (`readers.Arch`).
const ARCH_MIN: u64 = 1 << 10;
const ARCH_MAX: u64 = 1 << 20;
/// `readers.Arch`'s most files per shard.
const ARCH_MAX_FILES: i64 = 10_000;
/// The archive formats aisloader knows, in the order its `archive.Mime` tries them.
const FORMATS: [&str; 5] = [".tar", ".tgz", ".tar.gz", ".zip", ".tar.lz4"];
/// The one ringload writes.
const TAR: &str = ".tar";

/// The ML flags as given (aisloader's defaults where not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MlFlags {
    pub get_batchsize: i64,
    pub cont_on_err: bool,
    pub arch_format: String,
    pub arch_prefix: String,
    pub arch_num_files: i64,
    /// `-arch.minsize` and `-arch.maxsize` as parsed (0 when not given).
    pub arch_minsize: u64,
    pub arch_maxsize: u64,
    pub arch_pct: i64,
    pub arch_list: bool,
    pub multipart_chunks: i64,
    pub pctmultipart: i64,
    pub pctmpdstream: i64,
    pub mpdstream_workers: i64,
    pub mpdstream_chunk_size: i64,
}

impl MlFlags {
    /// The flags from `v` (a flag's value, its default when not given) and `size` (a size
    /// flag parsed as aisloader does, with its error).
    pub fn read(
        v: &dyn Fn(&str) -> String,
        size: &dyn Fn(&str, u64) -> Result<u64, Stop>,
    ) -> Result<MlFlags, Stop> {
        let int = |name: &str| grammar::parse_int(&v(name)).unwrap_or(0);
        Ok(MlFlags {
            get_batchsize: int("get-batchsize"),
            cont_on_err: v("cont-on-err") == "true",
            arch_format: v("arch.format"),
            arch_prefix: v("arch.prefix"),
            arch_num_files: int("arch.num-files"),
            arch_minsize: size("arch.minsize", 0)?,
            arch_maxsize: size("arch.maxsize", 0)?,
            arch_pct: int("arch.pct"),
            arch_list: v("arch.list") == "true",
            multipart_chunks: int("multipart-chunks"),
            pctmultipart: int("pctmultipart"),
            pctmpdstream: int("pctmpdstream"),
            mpdstream_workers: int("mpdstream-workers"),
            mpdstream_chunk_size: int("mpdstream-chunk-size"),
        })
    }
}

/// What `Runtime configuration:` shows as `archive (shards)` (aisloader's `ppArch`: the values
/// after `readers.Arch.Init`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchShown {
    pub pct: i64,
    /// The normalized format (`.tar`).
    pub format: String,
    pub prefix: String,
    /// 0 when aisloader sizes the shard dynamically (`-arch.num-files` 0).
    pub num_files: i64,
    pub minsize: u64,
    pub maxsize: u64,
}

/// The rest of the run that the ML rules depend on.
pub(super) struct Context {
    pub pctput: i64,
    pub direct_s3: bool,
    pub verifyhash: bool,
    /// `-readoff`/`-readlen` as parsed.
    pub readoff: u64,
    pub readlen: u64,
    /// The smallest object size (`-minsize`): with `-maxsize`, whether every shard has the
    /// same size (then `-arch.num-files=0`'s count is known at start).
    pub minsize: u64,
    /// The largest object size (`-maxsize`), which bounds a shard's files.
    pub maxsize: u64,
}

fn e<T>(m: String) -> Result<T, Stop> {
    Err(Stop::Error(m))
}

/// aisloader's first checks (before `-skiplist` and direct S3): multipart and the download
/// stream's ranges and exclusions. Its one warning (`-pctmultipart` without
/// `-multipart-chunks`) goes into `warnings`, in aisloader's words.
pub(super) fn early(m: &MlFlags, c: &Context, warnings: &mut Vec<String>) -> Result<(), Stop> {
    if m.multipart_chunks < 0 {
        return e(format!(
            "invalid option: multipart-chunks {} (must be >= 0)",
            m.multipart_chunks
        ));
    }
    if !(0..=100).contains(&m.pctmultipart) {
        return e(format!(
            "invalid option: pctmultipart {} (must be 0-100)",
            m.pctmultipart
        ));
    }
    if m.multipart_chunks == 0 && m.pctmultipart != 0 {
        warnings.push(format!(
            "Warning: pctmultipart={} is ignored when multipart-chunks=0",
            m.pctmultipart
        ));
    }
    if m.mpdstream_workers < 0 {
        return e(format!(
            "invalid option: mpdstream-workers {} (must be >= 0)",
            m.mpdstream_workers
        ));
    }
    if !(0..=100).contains(&m.pctmpdstream) {
        return e(format!(
            "invalid option: pctmpdstream {} (must be 0-100)",
            m.pctmpdstream
        ));
    }
    if m.pctmpdstream > 0 && c.pctput > 0 {
        return e(format!(
            "cannot combine pctmpdstream {} with pctput {} (GET-only vs PUT workload)",
            m.pctmpdstream, c.pctput
        ));
    }
    if m.pctmpdstream > 0 && m.get_batchsize > 0 {
        return e(format!(
            "cannot combine pctmpdstream {} with batch-size {} (both are GET variants)",
            m.pctmpdstream, m.get_batchsize
        ));
    }
    Ok(())
}

/// Direct S3's refusal of multipart upload (aisloader's, among its other S3 exclusions).
pub(super) fn s3(m: &MlFlags) -> Result<(), Stop> {
    if m.multipart_chunks > 0 {
        return e(
            "direct S3 access via '-s3endpoint': multipart upload is not supported yet".into(),
        );
    }
    Ok(())
}

/// aisloader's GetBatch checks, then ringload's own on the download stream (aisloader checks
/// neither of these at start: its streams fail one by one).
pub(super) fn batch_and_stream(m: &MlFlags, c: &Context) -> Result<(), Stop> {
    if m.get_batchsize != 0 {
        let s = "'--get-batchsize'";
        if !(1..=1000).contains(&m.get_batchsize) {
            return e(format!(
                "invalid {s} value {} (must be 1-1000)",
                m.get_batchsize
            ));
        }
        if c.readoff != 0 || c.readlen != 0 {
            return e(format!("option {s} cannot be used with readoff/readlen"));
        }
        if c.verifyhash {
            return e(format!("option {s} cannot be used with verifyhash"));
        }
        if c.direct_s3 {
            return e(format!(
                "option {s} requires AIStore (S3 does not provide GetBatch)"
            ));
        }
    }
    if m.mpdstream_chunk_size < 0 {
        return e(format!(
            "invalid option: mpdstream-chunk-size {} (must be >= 0)",
            m.mpdstream_chunk_size
        ));
    }
    if m.pctmpdstream > 0 && c.direct_s3 {
        return e(format!(
            "-pctmpdstream {}: multipart download streams need AIStore (direct S3 access via \
             '-s3endpoint' reads whole objects); drop -pctmpdstream",
            m.pctmpdstream
        ));
    }
    if m.pctmpdstream > 0 && (c.readoff != 0 || c.readlen != 0) {
        return e(format!(
            "-pctmpdstream {}: a download stream reads whole objects in ranges of its own; drop \
             -readoff/-readlen or -pctmpdstream",
            m.pctmpdstream
        ));
    }
    Ok(())
}

/// aisloader's archive checks (`-arch.pct` given): the range, direct S3, multipart, and
/// `readers.Arch.Init` against the largest object size; then ringload's refusal of the formats
/// it does not build. The shard's shape as `Runtime configuration:` shows it.
pub(super) fn arch(m: &MlFlags, c: &Context) -> Result<Option<ArchShown>, Stop> {
    if m.arch_pct == 0 {
        return Ok(None);
    }
    if !(0..=100).contains(&m.arch_pct) {
        return e(format!(
            "invalid option: arch.pct {} (must be 0-100)",
            m.arch_pct
        ));
    }
    if c.direct_s3 {
        return e(
            "archive operations require AIStore cluster; not supported with '-s3endpoint' \
                  (direct S3 access)"
                .into(),
        );
    }
    if m.pctmultipart > 0 {
        return e(
            "multipart uploads and archive operations are mutually exclusive (not supported yet)"
                .into(),
        );
    }
    // readers.Arch.Init(maxsize), in its order.
    let num = m.arch_num_files;
    if num == 0 && c.maxsize == 0 {
        return e("invalid readers.Arch: both Arch.Num and object size are zero".into());
    }
    if !(0..=ARCH_MAX_FILES).contains(&num) {
        return e(format!("invalid Arch.Num ({num})"));
    }
    let (mut min, mut max) = (m.arch_minsize, m.arch_maxsize);
    if max != 0 && max < min {
        return e(format!("Arch.MaxSize ({max}) must be >= MinSize ({min})"));
    }
    let given = if m.arch_format.is_empty() {
        TAR
    } else {
        &m.arch_format
    };
    let Some(format) = normalize_format(given) else {
        return e(format!(
            "Arch.Mime ({given:?}) is invalid: unknown mime type {given:?}"
        ));
    };
    if min == 0 && max == 0 {
        (min, max) = (ARCH_MIN, ARCH_MAX);
    } else if max == 0 {
        max = min;
    }
    if c.maxsize > 0 {
        max = max.min(c.maxsize);
        min = min.min(max);
        if (num as u64).saturating_mul(min) > c.maxsize {
            return e(format!(
                "object size ({}) cannot be less than Arch.MinSize({min}) * Arch.Num({num})",
                c.maxsize
            ));
        }
    }
    if format != TAR {
        return e(format!(
            "-arch.format {}: ringload writes {TAR} shards only ({} are not built); give \
             -arch.format={TAR} or leave it out",
            m.arch_format,
            FORMATS[1..].join(", ")
        ));
    }
    Ok(Some(ArchShown {
        pct: m.arch_pct,
        format: format.to_string(),
        prefix: m.arch_prefix.clone(),
        num_files: num,
        minsize: min,
        maxsize: max,
    }))
}

/// aisloader's `archive.Mime` of a given format: the first known extension it contains
/// (`x-tar` is `.tar`, `tar.gz` is `.tar.gz`); `None` when none.
fn normalize_format(f: &str) -> Option<&'static str> {
    if f.contains(&FORMATS[2][1..]) {
        return Some(FORMATS[2]);
    }
    if f.contains(&FORMATS[4][1..]) {
        return Some(FORMATS[4]);
    }
    FORMATS.into_iter().find(|ext| f.contains(&ext[1..]))
}

/// How many files aisloader's `readers.Arch` writes into a shard when `-arch.num-files` is 0
/// (`Arch.write`: it adds files until one more would pass the object's size, and always writes
/// at least two), when that count is the same for every shard: objects of one size, files of
/// one size. `None` when it varies (ringload's shards have a fixed count) or is unbounded.
fn dynamic_files(a: &ArchShown, c: &Context) -> Option<i64> {
    if c.minsize != c.maxsize || a.minsize != a.maxsize || a.minsize == 0 {
        return None;
    }
    let n = (c.maxsize / a.minsize).max(2);
    (n <= ARCH_MAX_FILES as u64).then_some(n as i64)
}

/// The `run` flags for the ML settings, and a warning for each one given where it cannot
/// apply (aisloader ignores those silently): `-cont-on-err` without GetBatch, the shard's
/// shape without `-arch.pct`, `-multipart-chunks` with no `-pctmultipart`, the stream's
/// settings without `-pctmpdstream`, the GET paths with `-pctput=100` and the PUT paths with
/// `-pctput=0`; and aisloader's dynamic shard size when it varies per shard, which ringload
/// does not have. `-arch.pct` with `-pctput=0` writes nothing but lists the bucket
/// archive-aware, as aisloader does: that is `--arch-list`.
pub(super) fn run_flags(
    m: &MlFlags,
    c: &Context,
    arch: Option<&ArchShown>,
    p: &Parsed,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    // A flag's value when it was typed with another than its default.
    let given = |name: &str| {
        p.get(name)
            .filter(|v| flags::lookup(name).is_some_and(|f| f.default != *v))
            .map(str::to_string)
    };
    fn push(run: &mut Vec<String>, flag: &str, value: String) {
        run.push(flag.to_string());
        run.push(value);
    }
    let unused = |flags: &[&str], needs: &str, warnings: &mut Vec<String>| {
        for f in flags {
            if let Some(v) = given(f) {
                warnings.push(format!(
                    "warning: -{f}={v}: used only with {needs}; it changes nothing here"
                ));
            }
        }
    };
    let no_gets = |flag: String, warnings: &mut Vec<String>| {
        warnings.push(format!(
            "warning: {flag}: with -pctput=100 there are no GETs; it changes nothing here"
        ))
    };
    let mut run: Vec<String> = Vec::new();
    if m.get_batchsize > 0 && c.pctput == 100 {
        no_gets(format!("-get-batchsize={}", m.get_batchsize), warnings);
    } else if m.get_batchsize > 0 {
        push(&mut run, "--get-batchsize", m.get_batchsize.to_string());
        if m.cont_on_err {
            run.push("--cont-on-err".into());
        }
    } else {
        unused(&["cont-on-err"], "-get-batchsize", warnings);
    }
    let shape = [
        "arch.format",
        "arch.prefix",
        "arch.num-files",
        "arch.minsize",
        "arch.maxsize",
    ];
    match arch {
        Some(_) if c.pctput == 0 => {
            unused(&shape, "PUTs (-pctput above 0)", warnings);
            if !m.arch_list {
                run.push("--arch-list".into());
            }
        }
        Some(a) => {
            push(&mut run, "--arch-pct", a.pct.to_string());
            push(&mut run, "--arch-format", a.format.clone());
            if !a.prefix.is_empty() {
                push(&mut run, "--arch-prefix", a.prefix.clone());
            }
            let dynamic = match a.num_files {
                0 => dynamic_files(a, c),
                n => Some(n),
            };
            push(
                &mut run,
                "--arch-num-files",
                dynamic.unwrap_or(0).to_string(),
            );
            push(&mut run, "--arch-minsize", a.minsize.to_string());
            push(&mut run, "--arch-maxsize", a.maxsize.to_string());
            if dynamic.is_none() {
                warnings.push(format!(
                    "warning: -arch.num-files=0: aisloader adds files to each shard until it \
                     reaches the object's size, which varies here; ringload writes a fixed \
                     number per shard, {}; give -arch.num-files for another",
                    ringload_engine::workload::ArchConfig::DEFAULT_NUM_FILES
                ));
            }
        }
        None => unused(&shape, "-arch.pct", warnings),
    }
    if m.arch_list && c.pctput == 100 {
        no_gets("-arch.list=true".into(), warnings);
    } else if m.arch_list {
        run.push("--arch-list".into());
    }
    match (m.multipart_chunks, m.pctmultipart) {
        // aisloader's own warning covers -pctmultipart without -multipart-chunks.
        (0, _) => {}
        (n, 0) => warnings.push(format!(
            "warning: -multipart-chunks={n}: with -pctmultipart=0 no PUT is a multipart upload; \
             give -pctmultipart"
        )),
        (n, p) if c.pctput == 0 => warnings.push(format!(
            "warning: -multipart-chunks={n} -pctmultipart={p}: with -pctput=0 there are no \
             PUTs; they change nothing here"
        )),
        (n, p) => {
            push(&mut run, "--multipart-chunks", n.to_string());
            push(&mut run, "--pctmultipart", p.to_string());
        }
    }
    if m.pctmpdstream > 0 {
        push(&mut run, "--pctmpdstream", m.pctmpdstream.to_string());
        if m.mpdstream_workers > 0 {
            push(
                &mut run,
                "--mpdstream-workers",
                m.mpdstream_workers.to_string(),
            );
        }
        if m.mpdstream_chunk_size > 0 {
            push(
                &mut run,
                "--mpdstream-chunk-size",
                m.mpdstream_chunk_size.to_string(),
            );
        }
    } else {
        unused(
            &["mpdstream-workers", "mpdstream-chunk-size"],
            "-pctmpdstream",
            warnings,
        );
    }
    run
}

#[cfg(test)]
mod tests;
