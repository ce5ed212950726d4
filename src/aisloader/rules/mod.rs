//! aisloader's defaults and rules, applied to a parsed command line: the endpoint (`-ip`,
//! `-port`, `AIS_ENDPOINT`, `-s3endpoint`, `S3_ENDPOINT`), the bucket (URI, `-provider`, a
//! random new one), `-cleanup` being required, `-duration` absent or 0, the size defaults,
//! `-statsinterval` in seconds, the name getter, the dump's post-init values, and the refused
//! and warned flags (loader ids and prefixes in `names`, buckets and direct S3 in `target`, the
//! flags' states and the settings given where they cannot apply in `states`, the ML
//! data-loading flags (GetBatch, shards, multipart, download streams) in `ml`).
//! The result is the `ringload run` command line that does the same load, plus what the front
//! end prints before it ([`Plan`], in `outcome`). Pure: the environment comes in as a closure,
//! nothing is printed here.

use ringload_core::units::parse_size;

use super::flags;
use super::grammar::{self, Parsed};

mod ml;
mod names;
mod outcome;
mod states;
mod target;
pub use ml::ArchShown;
use names::{clean_path, loader_and_prefix_rules};
pub use outcome::{Plan, RuntimeConfig};
use states::{inapplicable, refusals_and_warnings, updates_made};
use target::{bucket_of, host_is_ip, s3_exclusions};

/// The default 1 minute run, in ns.
const DEFAULT_DURATION_NS: u64 = 60_000_000_000;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Why the front end stops before the run.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `-bucket` without `-cleanup`: aisloader's two-line note on stdout, exit 1.
    CleanupRequired,
    /// A validation error: `aisloader exited with error: ...`, exit 1.
    Error(String),
}

/// Go's `time.Duration(math.MaxInt64)`, aisloader's unlimited duration as its dump prints it.
const UNLIMITED: &str = "2562047h47m16.854775807s";

/// aisloader's two-line note when `-bucket` is given without `-cleanup`.
pub const CLEANUP_NOTE: &str = "\nNote: `-cleanup` is a required option. Beware! When \
    -cleanup=true the bucket will be destroyed upon completion of the benchmark.\n      The \
    option must be specified in the command line, e.g.: `--cleanup=false`\n";

/// Applies aisloader's rules to `p`; `env` reads the environment; `random_name` makes up a
/// new bucket's 8 letters.
pub fn plan(
    p: &Parsed,
    env: &dyn Fn(&str) -> Option<String>,
    random_name: &dyn Fn() -> String,
) -> Result<Plan, Stop> {
    let v = |name: &str| -> String {
        p.get(name)
            .map(str::to_string)
            .or_else(|| flags::lookup(name).map(|f| f.default.to_string()))
            .unwrap_or_default()
    };
    let int = |name: &str| grammar::parse_int(&v(name)).unwrap_or(0);
    let uint = |name: &str| grammar::parse_uint(&v(name)).unwrap_or(0);
    let on = |name: &str| v(name) == "true";
    let err = |m: String| Stop::Error(m);

    let mut s3 = v("s3endpoint");
    let mut dump: Vec<(&'static str, String)> = Vec::new();
    if s3.is_empty() {
        s3 = env("S3_ENDPOINT").unwrap_or_default();
        if !s3.is_empty() {
            dump.push(("s3endpoint", s3.clone()));
        }
    }
    let direct_s3 = !s3.is_empty();
    let bucket_flag = v("bucket");
    let cleanup = on("cleanup");
    if !bucket_flag.is_empty() {
        if cleanup && direct_s3 {
            return Err(err(
                "direct S3 access via '-s3endpoint': option '-cleanup' is not supported yet".into(),
            ));
        }
        if p.get("cleanup").is_none() && !direct_s3 {
            return Err(Stop::CleanupRequired);
        }
    }

    let mut plan = Plan {
        quiet: on("quiet"),
        dry_run: on("dry-run"),
        getloaderid: on("getloaderid"),
        json: on("json"),
        ..Plan::default()
    };
    refusals_and_warnings(p, &mut plan.warnings)?;

    // Sizes, as aisloader's IEC parser reads them.
    let size = |name: &str, default: u64| -> Result<u64, Stop> {
        let s = v(name);
        if s.is_empty() {
            return Ok(default);
        }
        parse_size(&s).map_err(|e| err(format!("failed to parse '--{name}={s}': {e}")))
    };
    let totalputsize = size("totalputsize", 0)?;
    let mut minsize = size("minsize", MIB)?;
    let mut maxsize = size("maxsize", GIB)?;
    if v("minsize").is_empty() && !v("maxsize").is_empty() {
        minsize = minsize.min(maxsize);
    }
    if v("maxsize").is_empty() && !v("minsize").is_empty() {
        maxsize = maxsize.max(minsize);
    }
    let readoff = size("readoff", 0)?;
    let readlen = size("readlen", 0)?;
    let ml_flags = ml::MlFlags::read(&v, &size)?;
    let epochs = uint("epochs");

    // -duration: absent = 1m unless another limit; an explicit 0 = unlimited, or a no-op.
    let duration_ns = match p.get("duration") {
        None if totalputsize > 0 || epochs > 0 => {
            dump.push(("duration", UNLIMITED.into()));
            None
        }
        None => {
            plan.preface = "\nDuration not specified - running for 1m0s\n\n".into();
            Some(DEFAULT_DURATION_NS)
        }
        Some(d) => match grammar::go_duration(d).unwrap_or(0) {
            0 if totalputsize == 0 && epochs == 0 && !on("stoppable") => {
                plan.noop = true;
                None
            }
            0 => None,
            ns => Some(ns),
        },
    };

    if minsize > maxsize {
        return Err(err(format!(
            "invalid option: min and max size ({minsize}, {maxsize}), respectively"
        )));
    }
    let pctput = int("pctput");
    if !(0..=100).contains(&pctput) {
        return Err(err(format!("invalid option: PUT percent {pctput}")));
    }
    let pctupdate = int("pctupdate");
    if !(0..=100).contains(&pctupdate) {
        return Err(err(format!(
            "invalid {pctupdate} percentage of GET requests that are followed by a PUT \"update\""
        )));
    }
    let ml_context = ml::Context {
        pctput,
        direct_s3,
        verifyhash: on("verifyhash"),
        readoff,
        readlen,
        minsize,
        maxsize,
    };
    ml::early(&ml_flags, &ml_context, &mut plan.warnings)?;
    let pctupdate = updates_made(
        pctupdate,
        pctput,
        ml_flags.get_batchsize,
        &mut plan.warnings,
    );
    let interval = int("statsinterval");
    if interval < 0 {
        return Err(err(format!(
            "invalid option: stats show interval {interval}"
        )));
    }
    let mut skiplist = on("skiplist");
    if skiplist && !v("filelist").is_empty() {
        plan.warnings
            .push("Warning: '-skiplist' option is ignored when '-filelist' is specified".into());
        skiplist = false;
        dump.push(("skiplist", "false".into()));
    }
    if skiplist && pctput < 100 {
        return Err(err(
            "invalid option: '-skiplist' is only valid for 100% PUT workloads".into(),
        ));
    }
    loader_and_prefix_rules(&v, &mut dump)?;
    // The legacy -putshards is -num-subdirs' old name; the current name wins over it.
    let shards_flag = match (p.get("num-subdirs"), p.get("putshards")) {
        (Some(_), Some(old)) => {
            plan.warnings.push(format!(
                "warning: -putshards={old}: -num-subdirs is also given and is used instead"
            ));
            "num-subdirs"
        }
        (None, Some(_)) => "putshards",
        _ => "num-subdirs",
    };
    let shards = p.get(shards_flag).unwrap_or("0");
    let n_shards = grammar::parse_int(shards).unwrap_or(0);
    if n_shards >= 100_000 {
        return Err(err(format!(
            "'--{shards_flag}' ({n_shards}) must be a non-negative number in the open interval \
             [0, 100k)"
        )));
    }
    let (ip, port) = (v("ip"), v("port"));
    let default_ip = |ip: &str| ip.is_empty() || ip == "localhost" || ip == "127.0.0.1";
    if direct_s3 {
        s3_exclusions(&v, &on, &ip, &port)?;
        ml::s3(&ml_flags)?;
    } else if on("s3-use-path-style") {
        return Err(err(
            "cannot use '-s3-use-path-style' without '-s3endpoint'".into()
        ));
    }

    ml::batch_and_stream(&ml_flags, &ml_context)?;
    let arch = ml::arch(&ml_flags, &ml_context)?;

    let mut run: Vec<String> = Vec::new();
    fn push_to(run: &mut Vec<String>, flag: &str, value: String) {
        run.push(flag.to_string());
        run.push(value);
    }

    // Endpoint and bucket.
    let provider = v("provider");
    let (bucket, ais_bucket) = bucket_of(&bucket_flag, &provider, direct_s3)?;
    let proxy = if direct_s3 {
        push_to(&mut run, "--protocol", "s3".into());
        push_to(&mut run, "--s3endpoint", s3.clone());
        // The AWS SDK's endpoint rules use path-style for an IP-literal host.
        let style = if on("s3-use-path-style") || host_is_ip(&s3) {
            "path"
        } else {
            "virtual"
        };
        push_to(&mut run, "--s3-addressing", style.into());
        push_to(
            &mut run,
            "--bucket",
            bucket.trim_start_matches("s3://").to_string(),
        );
        let profile = v("s3profile");
        if !profile.is_empty() {
            plan.aws_profile = Some(profile);
        }
        String::new()
    } else {
        if !v("s3profile").is_empty() {
            plan.warnings.push(format!(
                "warning: -s3profile={}: used only with -s3endpoint (direct S3); it changes \
                 nothing here",
                v("s3profile")
            ));
        }
        let mut url = format!(
            "http://{}:{}",
            if ip.is_empty() { "localhost" } else { &ip },
            port
        );
        if let Some(e) = env("AIS_ENDPOINT").filter(|e| !e.is_empty()) {
            if !default_ip(&ip) {
                return Err(err(format!(
                    "'AIS_ENDPOINT={e}' environment and '--ip={ip}' command-line are mutually \
                     exclusive"
                )));
            }
            url = e;
        }
        let url = match url.split_once("://") {
            None => format!("http://{url}"),
            Some(("http" | "https", _)) => url,
            Some((scheme, _)) => {
                return Err(err(format!(
                    "invalid AIStore endpoint {url:?}: unknown URI scheme {scheme:?}"
                )))
            }
        };
        push_to(&mut run, "--protocol", "ais".into());
        // ringload resolves no host names on the load path: localhost is the loopback address.
        push_to(
            &mut run,
            "--endpoint",
            url.replacen("://localhost", "://127.0.0.1", 1),
        );
        url
    };
    let mut config_bucket = bucket.clone();
    if bucket_flag.is_empty() && !direct_s3 {
        let name = random_name();
        config_bucket = format!("ais://{name}");
        plan.new_bucket = Some(name);
        // aisloader creates the bucket after -getloaderid has printed and exited.
        if pctput < 100 && !plan.getloaderid {
            return Err(err("new bucket, expecting 100% PUT".into()));
        }
    }
    if !direct_s3 {
        push_to(&mut run, "--bucket", config_bucket.clone());
    }
    if cleanup {
        run.push("--cleanup".into());
    }

    // The load.
    push_to(
        &mut run,
        "--duration",
        duration_ns.map_or("0".to_string(), |ns| format!("{ns}ns")),
    );
    push_to(&mut run, "--numworkers", int("numworkers").to_string());
    push_to(&mut run, "--pctput", pctput.to_string());
    push_to(&mut run, "--pctupdate", pctupdate.to_string());
    push_to(&mut run, "--minsize", minsize.to_string());
    push_to(&mut run, "--maxsize", maxsize.to_string());
    push_to(&mut run, "--totalputsize", totalputsize.to_string());
    push_to(&mut run, "--maxputs", uint("maxputs").to_string());
    push_to(&mut run, "--epochs", epochs.to_string());
    push_to(&mut run, "--readoff", readoff.to_string());
    push_to(&mut run, "--readlen", readlen.to_string());
    push_to(&mut run, "--timeout", v("timeout"));
    push_to(&mut run, "--cksum-type", v("cksum-type"));
    // aisloader's name getter: read-only runs and epoch runs read each name once per epoch.
    let unique = match p.get("uniquegets") {
        Some(u) => u == "true",
        None => pctput == 0 || epochs > 0,
    };
    push_to(&mut run, "--uniquegets", unique.to_string());
    plan.seed = int("seed") as u64;
    let subdir = clean_path(&v("subdir"));
    if !subdir.is_empty() {
        push_to(&mut run, "--subdir", subdir);
    }
    if !v("filelist").is_empty() {
        push_to(&mut run, "--filelist", v("filelist"));
    }
    push_to(&mut run, "--putshards", shards.to_string());
    push_to(&mut run, "--loaderid", v("loaderid"));
    push_to(&mut run, "--loadernum", v("loadernum"));
    push_to(&mut run, "--loaderidhashlen", v("loaderidhashlen"));
    push_to(
        &mut run,
        "--evict-batchsize",
        int("evict-batchsize").to_string(),
    );
    inapplicable(
        p,
        (cleanup, ais_bucket),
        (readoff, readlen),
        &mut plan.warnings,
    );
    if !v("tokenfile").is_empty() {
        push_to(&mut run, "--token-file", v("tokenfile"));
    }
    let bprops = v("bprops");
    if !bprops.is_empty() {
        let t = bprops.trim_end_matches(',');
        let json = if t.starts_with('{') {
            t.to_string()
        } else {
            format!("{{{t}}}")
        };
        push_to(&mut run, "--bprops", json);
    }
    if !v("max-error-rate").is_empty() {
        push_to(&mut run, "--max-error-rate", v("max-error-rate"));
    }
    // StatsD: aisloader always sends.
    let statsd_ip = v("statsdip");
    let statsd_host = if statsd_ip == "localhost" {
        "127.0.0.1"
    } else {
        &statsd_ip
    };
    push_to(
        &mut run,
        "--statsd",
        format!("{statsd_host}:{}", int("statsdport")),
    );
    push_to(
        &mut run,
        "--statsinterval",
        format!("{}s", if interval > 0 { interval } else { 10 }),
    );
    for (flag, run_flag) in [
        ("verifyhash", "--verifyhash"),
        ("randomproxy", "--random-proxy"),
        ("latest", "--latest"),
        ("cached", "--cached"),
        ("list-dirs", "--list-dirs"),
        ("nbi", "--nbi"),
        ("trace-http", "--trace-http"),
    ] {
        if on(flag) {
            run.push(run_flag.into());
        }
    }
    run.extend(ml::run_flags(
        &ml_flags,
        &ml_context,
        arch.as_ref(),
        p,
        &mut plan.warnings,
    ));

    let (maxputs, workers) = (uint("maxputs"), int("numworkers"));
    if pctput == 100 && maxputs > 0 && (maxputs as i64) < workers {
        plan.maxputs_error = Some(format!(
            "number of PUT objects reached '--maxputs' limit ({maxputs})"
        ));
    }
    plan.run = run;
    plan.dump = dump;
    plan.periodic = interval > 0;
    plan.stats_output = Some(v("stats-output")).filter(|s| !s.is_empty());
    plan.config = RuntimeConfig {
        proxy,
        // aisloader's bucket names OCI `oc` (the run argument keeps ringload's `oci`).
        bucket: match config_bucket.strip_prefix("oci://") {
            Some(n) => format!("oc://{n}"),
            None => config_bucket,
        },
        duration_ns,
        workers: int("numworkers"),
        stats_interval_s: interval as u64,
        pctput,
        pctupdate,
        minsize,
        maxsize,
        put_upper_bound: totalputsize,
        epochs,
        perm_shuffle_max: uint("perm-shuffle-max"),
        reader_type: v("readertype"),
        cleanup,
        ais_bucket,
        new_bucket: plan.new_bucket.is_some(),
        skiplist,
        random_gets: !unique,
        multipart_pct: ml_flags.pctmultipart,
        get_batch_size: ml_flags.get_batchsize,
        arch,
    };
    Ok(plan)
}

#[cfg(test)]
mod tests;
