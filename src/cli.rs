//! The command line: every subcommand and flag, with its default and unit in `--help`.
//!
//! Flag names follow aisloader (docs/workload.md), so an
//! aisloader user finds the same knobs. Values are parsed here with the engine's own size and
//! duration parsers, so a bad value is rejected by clap with exit code 2 and a message naming
//! the flag.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ringload_core::kinds::{CksumType, Protocol, S3Addressing};

mod ml_args;
mod tool_args;
pub use ml_args::MlArgs;
pub use tool_args::{MergeArgs, PlatformArg, RenderArgs, ServeArgs};

#[derive(Parser, Debug)]
#[command(
    name = "ringload",
    version,
    about = "A thread-per-core io_uring load engine for object storage (AIStore, S3, HTTP)",
    long_about = "ringload plays the data loaders of a training job against a storage cluster: \
        full-object GETs in shuffled, once-per-epoch order, bodies dropped in the kernel, or \
        PUTs that fill a bucket. It reports exact counts and HdrHistogram latencies.\n\n\
        Quick start (loads the built-in target on loopback for 10 seconds):\n  \
        ringload run --duration 10s\n\n\
        Exit codes: 0 success; 1 the run failed (no connection, nothing succeeded, or errors \
        above --max-error-rate); 2 bad usage or bad input, or a run too big for this machine's \
        descriptors, memory or local ports."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Load a target from this node (the built-in target only when no flag, spec or
    /// environment variable names one). A flag given twice takes its last value, as in
    /// aisloader. SIGINT, SIGTERM, SIGHUP or SIGQUIT stops the run gracefully and still writes
    /// its result (status interrupted); a second signal other than SIGHUP exits at once with code
    /// 130.
    #[command(args_override_self = true)]
    Run(Box<RunArgs>),
    /// Serve the built-in object target (plain HTTP, AIS cluster or S3) until SIGINT/SIGTERM.
    #[command(
        long_about = "Serve the built-in object target until SIGINT/SIGTERM. Objects are \
            metadata only (name -> size); their bytes are generated from the name, so GETs can \
            be verified. Prints one JSON line per listener on stdout: \
            {\"role\":\"server\",\"protocol\":\"http\",\"url\":...} for http and s3, and for ais \
            the proxies' lines ({\"role\":\"proxy\",...}) then the targets' ({\"role\":\"target\",...}). \
            Every listener answers GET /v1/ringload/stats with its counters as JSON.\n\n\
            Exit codes: 0 stopped by a signal; 1 could not start; 2 bad usage."
    )]
    Serve(ServeArgs),
    /// Merge the rank result files of one run into summary.json, summary.txt and plots.
    #[command(
        long_about = "Merge the rank result files of one run (every *.json with schema \
            ringload.result/1 and /2 in RESULTS_DIR) into summary.json (ringload.summary/1), \
            summary.txt and the plots. Counters add and percentiles come from the sum of the \
            ranks' histograms. Other JSON files (e.g. an earlier summary.json) are ignored.\n\n\
            Exit codes: 0 merged (also a --allow-partial merge, with a warning); 1 ranks \
            missing, failed, duplicated, unreadable or from another run; 2 bad usage, or no \
            result files."
    )]
    Merge(MergeArgs),
    /// Render a run spec into Kubernetes manifests, a Slurm batch script or an MPI script.
    #[command(
        long_about = "Render a run spec (TOML) into the scheduler's own job files through the \
            built-in handlebars templates: k8s (configmap.yaml + job.yaml, an Indexed Job; \
            `kubectl apply -f OUT`), slurm (run.sbatch; `sbatch OUT/run.sbatch`) or mpi \
            (run-mpi.sh; `bash OUT/run-mpi.sh`). Every spec string is quoted for its \
            destination, and the same spec renders to the same bytes.\n\n\
            Exit codes: 0 rendered; 2 a bad spec (the message names the file, line and a fix), \
            a run id whose results already exist, or bad usage."
    )]
    Render(RenderArgs),
}

/// A clap parser for one of core's closed lists ([`ringload_core::kinds`]): the accepted names
/// are the list's own, each shown in `--help` with the line `help` gives it.
fn kind<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
    help: fn(T) -> Option<&'static str>,
) -> impl TypedValueParser<Value = T> {
    let values = all.iter().map(move |&v| match help(v) {
        Some(h) => PossibleValue::new(name(v)).help(h),
        None => PossibleValue::new(name(v)),
    });
    PossibleValuesParser::new(values).map(move |s| {
        *all.iter()
            .find(|&&v| name(v) == s)
            .expect("clap accepted only the list's names")
    })
}

fn protocol() -> impl TypedValueParser<Value = Protocol> {
    kind(&Protocol::ALL, Protocol::as_str, |p| {
        Some(match p {
        Protocol::Http => {
            "`<endpoint>/<bucket>/<name>`, GET and WebDAV-style PUT (nginx dav, most HTTP stores)"
        }
        Protocol::Ais => {
            "AIStore native API: `/v1/objects/<bucket>/<name>?provider=..`, following proxy \
             redirects to targets (endpoint from --endpoint or AIS_ENDPOINT)"
        }
        Protocol::S3 => {
            "S3 with SigV4 (endpoint from --s3endpoint or S3_ENDPOINT; credentials from \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN] or AWS_PROFILE)"
            }
        })
    })
}

fn s3_addressing() -> impl TypedValueParser<Value = S3Addressing> {
    kind(&S3Addressing::ALL, S3Addressing::as_str, |a| {
        Some(match a {
            S3Addressing::Path => "`http://endpoint/bucket/key` (MinIO, most on-premises stores)",
            S3Addressing::VirtualHost => "`http://bucket.endpoint/key` (AWS's default)",
        })
    })
}

fn cksum_type() -> impl TypedValueParser<Value = CksumType> {
    kind(&CksumType::ALL, CksumType::as_str, |_| None)
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerArg {
    /// Every rank reads every name, in its own seeded order.
    Local,
    /// PyTorch DistributedSampler: one seeded permutation per epoch cut by rank, so the ranks
    /// together read each name exactly once per epoch (all ranks need the same names and seed).
    Distributed,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrivalArg {
    /// Evenly spaced requests: one every 1/rate seconds.
    Uniform,
    /// A Poisson process: exponentially distributed gaps of mean 1/rate.
    Poisson,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverArg {
    /// io_uring, falling back to epoll when io_uring cannot be set up.
    Auto,
    /// io_uring only (fails where io_uring is blocked).
    Uring,
    /// epoll only.
    Epoll,
}

fn size(s: &str) -> Result<u64, String> {
    ringload_core::units::parse_size(s).map_err(|e| e.to_string())
}

fn duration(s: &str) -> Result<Duration, String> {
    ringload_core::units::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Target URL, e.g. http://127.0.0.1:8080. Else the spec's endpoint, else the
    /// environment: RINGLOAD_ENDPOINT, AIS_ENDPOINT (implies --protocol ais) or S3_ENDPOINT
    /// (implies s3). Only when nothing names a target does ringload load its built-in one on
    /// loopback (and says so).
    #[arg(long, help_heading = "Target")]
    pub endpoint: Option<String>,
    /// Object API to speak. Default: the one the target setting implies (--s3endpoint and
    /// S3_ENDPOINT: s3; AIS_ENDPOINT: ais), else http. Refused when it contradicts the only
    /// target setting.
    #[arg(long, value_parser = protocol(), help_heading = "Target")]
    pub protocol: Option<Protocol>,
    /// Bucket: objects are `<endpoint>/<bucket>/<name>`. With --protocol ais it may name a
    /// provider: `ais://b` (default), `s3://b`, `gs://b`, `az://b`, `oci://b`.
    #[arg(long, default_value = "ringload", help_heading = "Target")]
    pub bucket: String,
    /// S3 endpoint, e.g. http://127.0.0.1:9000 (plain HTTP only); implies --protocol s3.
    /// Default: --endpoint, else the S3_ENDPOINT environment variable.
    #[arg(long, help_heading = "Target")]
    pub s3endpoint: Option<String>,
    /// S3 bucket addressing.
    #[arg(long, value_parser = s3_addressing(), default_value = "path", help_heading = "Target")]
    pub s3_addressing: S3Addressing,
    /// AIS: checksum each PUT carries (`Ais-Checksum-Type/Value`): xxhash (XXH64, the
    /// default), xxhash2, md5, crc32c, sha256, sha512 or none. Refused for s3 and http, whose
    /// PUTs carry no checksum.
    #[arg(long, value_parser = cksum_type(), help_heading = "Target")]
    pub cksum_type: Option<CksumType>,
    /// After the run, remove what it wrote: destroy an ais:// bucket, or delete the names this
    /// run knows (listed and written) from a remote bucket, in batches.
    #[arg(long, help_heading = "Target")]
    pub cleanup: bool,
    /// S3: create the bucket (CreateBucket, signed like every request) when it does not exist;
    /// off by default against a named endpoint. With --protocol ais, ais:// buckets are
    /// created anyway; refused for http (no buckets) and for AIS remote buckets.
    #[arg(long, help_heading = "Target")]
    pub create_bucket: bool,
    /// Load the built-in target over TLS: it gets a throwaway CA and certificate, trusted for
    /// this run only (`ringload run --tls --duration 10s`). Only when no target is named: for
    /// your own endpoint write https:// in its URL instead (`--endpoint https://host:8443`,
    /// `--s3endpoint https://s3.us-east-1.amazonaws.com`, `AIS_ENDPOINT=https://proxy:8080`).
    /// An https:// endpoint verifies the server's certificate against the system's roots by
    /// default.
    #[arg(long, help_heading = "TLS")]
    pub tls: bool,
    /// PEM bundle of the CAs to trust instead of the system's roots, for an https:// endpoint
    /// whose certificate a private CA signed (`--tls-ca /etc/ais/ca.pem`). Default: the
    /// AIS_CLIENT_CA environment variable (not used with --tls, which trusts the built-in
    /// target's throwaway CA). Refused with --tls-insecure.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_ca: Option<PathBuf>,
    /// Do not verify the server's certificate (still TLS, still encrypted); said in the plan
    /// line, the summary and the result file. Default: the AIS_SKIP_VERIFY_CRT environment
    /// variable, read as Go's strconv.ParseBool (1, t, T, TRUE, true, True turn verification
    /// off; 0, f, F, FALSE, false, False leave it on; any other value is noted and not used).
    #[arg(long, help_heading = "TLS")]
    pub tls_insecure: bool,
    /// Client certificate (PEM chain, leaf first) for servers that require one (mTLS); needs
    /// --tls-key. Default: the AIS_CRT environment variable.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert. Default: the AIS_CRT_KEY environment variable.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,
    /// AIS: read the cluster map (`GET /v1/daemon?what=smap`) before the run and send each
    /// request to a proxy picked at random (aisloader's -randomproxy); the result counts each
    /// proxy's requests.
    #[arg(long, help_heading = "Target")]
    pub random_proxy: bool,
    /// AIS: GET with `latest-ver=true`, so a remote bucket's cached copy is checked against
    /// the remote version first (aisloader's -latest).
    #[arg(long, help_heading = "Target")]
    pub latest: bool,
    /// AIS remote bucket: list only the objects present in the cluster (aisloader's -cached).
    #[arg(long, help_heading = "Target")]
    pub cached: bool,
    /// AIS remote bucket: list virtual directories too (aisloader's -list-dirs).
    #[arg(long, help_heading = "Target")]
    pub list_dirs: bool,
    /// AIS remote bucket: list through the bucket inventory (aisloader's -nbi).
    #[arg(long, help_heading = "Target")]
    pub nbi: bool,
    /// AIS: --cleanup of a remote bucket deletes its names in batches of this many (default
    /// 1000). Refused where no batches are deleted: without --cleanup, or on an ais:// bucket
    /// (destroyed whole).
    #[arg(long, help_heading = "Target")]
    pub evict_batchsize: Option<usize>,
    /// AIS: bucket properties (JSON, e.g. `{"mirror":{"enabled":true,"copies":2}}`) set on the
    /// bucket before the run (aisloader's -bprops).
    #[arg(long, value_name = "JSON", help_heading = "Target")]
    pub bprops: Option<String>,
    /// AIS: file holding the AuthN token (raw, or the AIS CLI's `{"token":"..."}`). Default:
    /// AIS_AUTHN_TOKEN, else AIS_AUTHN_TOKEN_FILE, else the AIS CLI's own token file when it
    /// exists.
    #[arg(long, value_name = "FILE", help_heading = "Target")]
    pub token_file: Option<PathBuf>,
    /// Per-request timeout, Go syntax (`30s`, `10m`); `0` disables it.
    #[arg(long, default_value = "10m", value_parser = duration, help_heading = "Target")]
    pub timeout: Duration,

    /// How long to run, Go syntax (`90s`, `1h30m`); `0` = until another stop condition.
    /// Default 1m, or unlimited when --totalputsize, --maxputs or --epochs is given.
    #[arg(long, value_parser = duration, help_heading = "Workload")]
    pub duration: Option<Duration>,
    /// Requests in flight, in total across cores (closed loop: one new request per completion).
    #[arg(long, default_value_t = 10, help_heading = "Workload")]
    pub numworkers: u32,
    /// Percent of operations that are PUTs (0..=100); the rest are GETs.
    #[arg(long, default_value_t = 0, help_heading = "Workload")]
    pub pctput: u32,
    /// Smallest PUT size (aisloader syntax: `1M` = `1MB` = `1MiB` = 1048576 bytes).
    #[arg(long, default_value = "1MiB", value_parser = size, help_heading = "Workload")]
    pub minsize: u64,
    /// Largest PUT size, inclusive (same syntax as --minsize).
    #[arg(long, default_value = "1GiB", value_parser = size, help_heading = "Workload")]
    pub maxsize: u64,
    /// Stop after this many PUTs (0 = no limit).
    #[arg(long, default_value_t = 0, help_heading = "Workload")]
    pub maxputs: u64,
    /// Stop once this many bytes have been PUT, checked per operation (0 = no limit).
    #[arg(long, default_value = "0", value_parser = size, help_heading = "Workload")]
    pub totalputsize: u64,
    /// Stop after this many full passes over the names (0 = no limit). With --uniquegets on a
    /// read-only run, every name is read exactly this many times.
    #[arg(long, default_value_t = 0, help_heading = "Workload")]
    pub epochs: u64,
    /// Read every name once per epoch in shuffled order (true) or uniformly at random (false).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set, help_heading = "Workload")]
    pub uniquegets: bool,
    /// Updates, as aisloader's -pctupdate (0..=100, above --pctput): an order whose hash
    /// (0..=99, the one --pctput compares) is at least --pctput and below N is a GET followed
    /// by a PUT of the same object, so N - pctput percent of all orders are updates (of the
    /// GETs: (N - pctput) / (100 - pctput)). Any protocol.
    #[arg(long, default_value_t = 0, help_heading = "Workload")]
    pub pctupdate: u32,
    /// Range GET offset in bytes (used only with --readlen).
    #[arg(long, default_value = "0", value_parser = size, help_heading = "Workload")]
    pub readoff: u64,
    /// Range GET length in bytes; 0 reads whole objects.
    #[arg(long, default_value = "0", value_parser = size, help_heading = "Workload")]
    pub readlen: u64,
    /// Name prefix: PUTs write `<subdir>/...`.
    #[arg(long, help_heading = "Naming")]
    pub subdir: Option<String>,
    /// Spread PUTs over this many virtual directories named `%05x` (0 = none).
    #[arg(
        long,
        alias = "num-subdirs",
        default_value_t = 0,
        help_heading = "Naming"
    )]
    pub putshards: u64,
    /// File with object names to GET, one per line.
    #[arg(long, help_heading = "Naming")]
    pub filelist: Option<PathBuf>,
    /// This loader's id (a number, or any string with --loaderidhashlen).
    #[arg(long, default_value = "0", help_heading = "Naming")]
    pub loaderid: String,
    /// Number of loaders; switches to deterministic hex names unique per loader (0 = random names).
    #[arg(long, default_value_t = 0, help_heading = "Naming")]
    pub loadernum: u64,
    /// Derive the loader id from XXH64(--loaderid) keeping this many bits (0 = off).
    #[arg(long, default_value_t = 0, help_heading = "Naming")]
    pub loaderidhashlen: u32,
    /// PRNG seed for names, sizes and read order; 0 = derived from the clock (recorded in the result).
    #[arg(long, default_value_t = 0, help_heading = "Naming")]
    pub seed: u64,
    /// Print this loader's id as `0x<hex>` (the one names and StatsD use) and exit.
    #[arg(long, help_heading = "Naming")]
    pub getloaderid: bool,
    /// Objects the built-in target is filled with before a run that reads (no --endpoint only).
    #[arg(long, default_value_t = 1000, help_heading = "Naming")]
    pub prefill: u64,

    /// Check every GET body against ringload's content and the server's checksum (copy path, slower).
    #[arg(long, alias = "verify", help_heading = "Engine")]
    pub verifyhash: bool,
    /// Cores (pinned threads) to run; default all online CPUs.
    #[arg(long, help_heading = "Engine")]
    pub cores: Option<usize>,
    /// I/O driver.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        env = "RINGLOAD_DRIVER",
        help_heading = "Engine"
    )]
    pub driver: DriverArg,

    /// Open loop: send OPS operations per second from this rank (split evenly across its
    /// cores) on a schedule, whatever happened to earlier requests, as long as a connection
    /// is free. Latency then counts from each request's intended start (coordinated omission
    /// corrected) and the service latency from its actual send. A rising list
    /// (`1000,2000,4000`) runs one --step per rate: a saturation sweep. Suffixes k and M
    /// (`20k`).
    #[arg(long, value_name = "OPS[,OPS...]", help_heading = "Rate")]
    pub rate: Option<String>,
    /// With --rate: how requests are spread in time: uniform (evenly spaced) or poisson
    /// (exponential gaps of the same mean).
    #[arg(long, value_enum, help_heading = "Rate")]
    pub arrival: Option<ArrivalArg>,
    /// A saturation sweep without end: START ops/s, multiplied by FACTOR each --step, until a
    /// step breaks --slo (required) or its error budget (`1000:2`).
    #[arg(long, value_name = "START:FACTOR", help_heading = "Rate")]
    pub rate_sweep: Option<String>,
    /// The objective a sweep stops at and the knee is judged by: a percentile of the
    /// corrected latency and an error budget (default 1%), e.g. `p99=50ms` or
    /// `p99.9=20ms,errors=0.5%`.
    #[arg(long, value_name = "pNN=DURATION[,errors=P%]", help_heading = "Rate")]
    pub slo: Option<String>,
    /// Length of each step of a sweep, Go syntax (default 30s).
    #[arg(long, value_parser = duration, help_heading = "Rate")]
    pub step: Option<Duration>,

    /// Interval between table rows, Go syntax.
    #[arg(long, default_value = "10s", value_parser = duration, help_heading = "Output")]
    pub statsinterval: Duration,
    /// Write the result file (JSON, schema ringload.result/2) here, with its interval carrier
    /// beside it (FILE's name with the extension .intervals); refuses to overwrite.
    #[arg(long, help_heading = "Output")]
    pub result: Option<PathBuf>,
    /// Print the result document as JSON on stdout instead of the human summary.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// Send each request phase's timers to --statsd too (aisloader's -trace-http). The phases
    /// (connect, redirect, first byte, body) are always recorded, in the result and summary.
    #[arg(long, help_heading = "Output")]
    pub trace_http: bool,
    /// Send each interval's metrics to this StatsD server over UDP, with aisloader's metric
    /// names (`aisloader.<host>-<loader id>.get.count`, ...).
    #[arg(long, value_name = "HOST:PORT", help_heading = "Output")]
    pub statsd: Option<String>,
    /// Serve live metrics in Prometheus' text format at http://ADDR/metrics during the run
    /// (e.g. 0.0.0.0:9464; `:9464` listens on every address).
    #[arg(long, value_name = "ADDR", help_heading = "Output")]
    pub metrics_listen: Option<String>,
    /// Exit 1 when errors / (successes + errors) exceeds this fraction (e.g. 0.01).
    #[arg(long, help_heading = "Output")]
    pub max_error_rate: Option<f64>,

    /// Run spec (TOML) to take the target, workload and run settings from; flags given on the
    /// command line override its values (a switch the spec turns on stays on). The spec's [run] id, ranks and results_dir apply, and the
    /// result goes to <results_dir>/<id>/rank-<r>.json. See examples/ and docs/operators.md.
    #[arg(long, value_name = "FILE", help_heading = "Multi-node")]
    pub spec: Option<PathBuf>,
    /// This rank (0-based). Default: from the scheduler's environment (OMPI_COMM_WORLD_RANK,
    /// PMIX_RANK, SLURM_PROCID, JOB_COMPLETION_INDEX), else 0.
    #[arg(long, help_heading = "Multi-node")]
    pub rank: Option<u32>,
    /// Number of ranks. Default: the spec's [run] ranks, or the scheduler's world size, else 1.
    #[arg(long, help_heading = "Multi-node")]
    pub ranks: Option<u32>,
    /// Run id recorded in the result file (and the results subdirectory); default
    /// `run-YYYYMMDD-HHMMSS-xxxx` (UTC time and four random hex digits).
    #[arg(long, help_heading = "Multi-node")]
    pub run_id: Option<String>,
    /// Write the result to DIR/<run id>/rank-<rank>.json (the directory is created; an existing
    /// file is never overwritten). Ranks of one run share DIR.
    #[arg(long, value_name = "DIR", help_heading = "Multi-node")]
    pub results_dir: Option<PathBuf>,
    /// How GET epochs are split between ranks.
    #[arg(long, value_enum, default_value = "local", help_heading = "Multi-node")]
    pub sampler: SamplerArg,
    /// Hold the measured phase until every rank has checked in under --results-dir.
    #[arg(long, help_heading = "Multi-node")]
    pub barrier: bool,
    /// How long to wait at the --barrier before failing, Go syntax.
    #[arg(long, default_value = "10m", value_parser = duration, help_heading = "Multi-node")]
    pub barrier_timeout: Duration,
    /// On rank 0: after the run, wait for every rank's result file under --results-dir, then
    /// merge them (as `ringload merge`) into that run directory.
    #[arg(long, help_heading = "Multi-node")]
    pub merge: bool,
    /// How long rank 0's --merge waits for the other ranks, Go syntax; then it merges what is
    /// there, marked partial, and exits 1.
    #[arg(long, default_value = "10m", value_parser = duration, help_heading = "Multi-node")]
    pub merge_timeout: Duration,
    /// The ids of the arguments whose value came from `--spec` rather than from the command
    /// line (filled by `spec_args::run_args`), so the result can say where the target came from.
    #[arg(skip)]
    pub from_spec: Vec<String>,
    /// Set only by the aisloader front end (`ringload aisloader ...`): its output and rules.
    #[arg(skip)]
    pub aisloader: Option<crate::aisloader::Mode>,
    #[command(flatten)]
    pub ml: MlArgs,
}
