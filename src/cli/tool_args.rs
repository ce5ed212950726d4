//! The arguments of `ringload serve`, `merge` and `render` (the commands besides `run`), with
//! their parsers (the served protocol, fault specs, cluster sizes).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, ValueEnum};
use ringload_core::kinds::Protocol;

use super::{duration, kind};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformArg {
    /// Kubernetes: a ConfigMap with the spec plus an Indexed Job.
    K8s,
    /// Slurm: an sbatch script, one srun task per rank.
    Slurm,
    /// MPI: a script that starts the ranks with mpirun or srun --mpi=pmix.
    Mpi,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The run spec.
    #[arg(long, value_name = "FILE")]
    pub spec: PathBuf,
    /// Platform(s) to render; default: each one the spec has a section for ([kubernetes],
    /// [slurm], [mpi]).
    #[arg(long, value_enum)]
    pub platform: Vec<PlatformArg>,
    /// Output directory (created); default `ringload-<run id>`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Directory of template overrides, laid out like templates/ (e.g. DIR/k8s/job.yaml.hbs);
    /// templates not found there are the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Directory holding the ranks' result files.
    pub results_dir: PathBuf,
    /// Where to write summary.json, summary.txt and the plots (default: RESULTS_DIR).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Merge what is there when ranks are missing, failed or unreadable; every output is
    /// then marked partial.
    #[arg(long)]
    pub allow_partial: bool,
    /// Width of a time bucket of the series, Go syntax, at least 1s.
    #[arg(long, default_value = "1s", value_parser = duration)]
    pub resolution: Duration,
    /// Threads that read and add the ranks' files (default: every online CPU). The outputs
    /// are the same, byte for byte, for every thread count.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
}

fn serve_protocol() -> impl TypedValueParser<Value = Protocol> {
    kind(&Protocol::ALL, Protocol::as_str, |p| {
        Some(match p {
            Protocol::Http => "Plain HTTP: every path is an object key (GET, HEAD, PUT, DELETE)",
            Protocol::Ais => {
                "AIStore subset (/v1/objects, /v1/buckets), run as proxies that redirect to \
                 targets"
            }
            Protocol::S3 => "Path-style S3 subset: objects, PUT/HEAD/DELETE bucket, ListObjectsV2",
        })
    })
}

fn fault_spec(s: &str) -> Result<String, String> {
    ringload_server::Faults::parse(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

fn cluster_size(s: &str) -> Result<usize, String> {
    let max = ringload_server::MAX_CLUSTER_NODES;
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a listener count: use 1..={max}")),
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed as a JSON line on stdout). With
    /// --protocol ais every listener binds this IP: port 0 gives each a free port, port N gives
    /// the proxies N, N+1, ... and the targets the ports right after them.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Server threads per listener (one epoll loop each, pinned).
    #[arg(long, default_value_t = 1)]
    pub cores: usize,
    /// Object API to speak.
    #[arg(long, value_parser = serve_protocol(), default_value = "http")]
    pub protocol: Protocol,
    /// AIS only: proxy listeners; they own no objects and redirect object requests to the
    /// target that owns the object (GET/HEAD 301, PUT/DELETE 307). [default: 1]
    #[arg(long, value_parser = cluster_size)]
    pub proxies: Option<usize>,
    /// AIS only: target listeners; each owns the objects HRW-hashed to it and refuses a PUT or
    /// DELETE that did not come through a proxy (400). [default: 1]
    #[arg(long, value_parser = cluster_size)]
    pub targets: Option<usize>,
    /// Largest list page, in objects (AIS list-objects; S3 pages are also at most 1000).
    #[arg(long, default_value_t = ringload_server::DEFAULT_PAGE_SIZE)]
    pub page_size: usize,
    /// Inject faults into object requests (on the targets in AIS mode), repeatable:
    /// KIND=RATE[,KIND=RATE...], RATE a fraction (0.01) or a percentage (1%). Kinds: reset (GET:
    /// part of the body, then a TCP reset), truncate (GET: half the body, then close), 500 and
    /// 503 (GET or PUT answered with that status), delay=RATE:DURATION (hold the answer, e.g.
    /// delay=5%:200ms). Decisions are deterministic per listener request sequence and counted
    /// in the stats endpoint's "faults".
    #[arg(long = "fault", value_name = "KIND=RATE", value_parser = fault_spec)]
    pub faults: Vec<String>,
    /// Serve TLS (https) with this certificate chain (PEM, leaf first); needs --tls-key. In
    /// AIS mode every proxy and target serves it, and redirects name https:// targets.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// S3 only: the access key clients must sign with (SigV4); needs --secret-key.
    #[arg(long)]
    pub access_key: Option<String>,
    /// S3 only: the secret key of --access-key.
    #[arg(long)]
    pub secret_key: Option<String>,
    /// S3 only: a bucket that exists from the start (repeatable), so `ringload run --endpoint
    /// URL --protocol s3 --bucket NAME` finds it. Without it the target starts with no
    /// buckets; `ringload run --create-bucket` creates one.
    #[arg(long = "bucket", value_name = "NAME")]
    pub buckets: Vec<String>,
}
