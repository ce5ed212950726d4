//! The validated description of one run, as the engine takes it.
//!
//! The binary (or the launcher) builds a [`Workload`] from flags or a TOML spec and calls
//! [`Workload::validate`]; the engine never sees clap or TOML types. Field names follow
//! aisloader's flags (docs/workload.md) so that result files, specs and
//! flags share one vocabulary. Every validation error names the flag and the fix.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::proto::ProtoConfig;

pub mod ml;
pub use ml::{ArchConfig, MlPaths};

pub use ringload_core::kinds::Protocol;

/// Which I/O driver runs the cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// io_uring, falling back to epoll (with one note on stderr) when io_uring cannot be set up.
    Auto,
    /// io_uring only; failing to set it up is an error.
    Uring,
    /// epoll only.
    Epoll,
}

/// Where the load goes: a resolved address plus what the request line and `Host` header need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The URL as the user gave it (or as the built-in target reported it).
    pub url: String,
    /// The resolved socket address that connections go to.
    pub addr: SocketAddr,
    /// `host[:port]` for the `Host` header.
    pub host_header: String,
    /// Path prefix from the URL, without a trailing `/` (often empty).
    pub base_path: String,
    /// `https://`: connections speak TLS (the run's `Workload::tls` says how it verifies).
    pub tls: bool,
}

impl Endpoint {
    /// Parses `http[s]://host[:port][/path]` (or `host:port`, plain HTTP) and resolves the
    /// host. The port defaults to 80, or 443 for `https://`.
    pub fn parse(url: &str) -> Result<Endpoint, WorkloadError> {
        let bad = |why: &str| WorkloadError::Invalid {
            flag: "--endpoint",
            value: url.to_string(),
            why: why.to_string(),
        };
        let (rest, tls) = if let Some(r) = url.strip_prefix("http://") {
            (r, false)
        } else if let Some(r) = url.strip_prefix("https://") {
            (r, true)
        } else if url.contains("://") {
            return Err(bad(
                "the scheme must be http:// or https://, e.g. http://127.0.0.1:8080",
            ));
        } else {
            (url, false)
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if hostport.is_empty() {
            return Err(bad("no host; give e.g. http://127.0.0.1:8080"));
        }
        let with_port = if hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.contains(']'))
        {
            hostport.to_string()
        } else {
            format!("{hostport}:{}", if tls { 443 } else { 80 })
        };
        use std::net::ToSocketAddrs;
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| bad(&format!("cannot resolve '{hostport}': {e}")))?
            .next()
            .ok_or_else(|| bad(&format!("'{hostport}' resolves to no address")))?;
        Ok(Endpoint {
            url: url.to_string(),
            addr,
            host_header: hostport.to_string(),
            base_path: path.to_string(),
            tls,
        })
    }
}

/// Everything one rank's run needs. Build it, then call [`Workload::validate`].
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// The target. `None` until the binary has started the built-in target or parsed the URL.
    pub endpoint: Option<Endpoint>,
    /// The client TLS configuration; `Some` exactly when the endpoint is `https://` (built
    /// by the binary from `--tls-*`, the spec or the AIS CLI's variables). Redirects to
    /// `https://` locations use it too.
    #[serde(skip)]
    pub tls: Option<ringload_net::tls::ClientTls>,
    pub protocol: Protocol,
    pub bucket: String,
    /// Measured-phase length; `None` runs until another stop condition (or a signal).
    #[serde(serialize_with = "ser_opt_duration")]
    pub duration: Option<Duration>,
    /// Total requests in flight (closed loop), split across cores.
    pub numworkers: u32,
    /// Percent of operations that are PUTs (0..=100).
    pub pctput: u32,
    /// aisloader's pctupdate (0..=100): a GET order T is followed by a PUT of the same object
    /// when `mix64(T) % 100 < pctupdate` (the hash that made it a GET: `>= pctput`).
    pub pctupdate: u32,
    pub minsize: u64,
    pub maxsize: u64,
    /// Stop after this many PUTs have been issued (0 = no limit).
    pub maxputs: u64,
    /// Stop once this many PUT bytes have been issued (0 = no limit).
    pub totalputsize: u64,
    /// Stop after this many full passes over the names (0 = no limit).
    pub epochs: u64,
    /// Read each name once per epoch in shuffled order (true) or uniformly with replacement.
    pub uniquegets: bool,
    pub readoff: u64,
    /// Range length for GETs; 0 reads the whole object.
    pub readlen: u64,
    pub subdir: Option<String>,
    pub putshards: u64,
    pub filelist: Option<PathBuf>,
    pub loaderid: String,
    pub loadernum: u64,
    pub loaderidhashlen: u32,
    /// PRNG seed; the same seed gives the same names, sizes and read order.
    pub seed: u64,
    #[serde(serialize_with = "ser_duration")]
    pub statsinterval: Duration,
    /// Per-request timeout; `None` means none.
    #[serde(serialize_with = "ser_opt_duration")]
    pub timeout: Option<Duration>,
    /// Number of pinned cores (threads) to run.
    pub cores: usize,
    pub driver: DriverKind,
    /// Hash GET bodies (copy path) instead of dropping them in the kernel.
    pub verify: bool,
    /// How GET epochs are split between the ranks of a multi-node run.
    pub sampler: Sampler,
    /// This process's rank and the number of ranks (`(0, 1)` for a one-node run); the shard
    /// `Sampler::Distributed` reads. Recorded in the result file as `rank`/`ranks`.
    #[serde(skip)]
    pub shard: (u32, u32),
    /// AIS `--random-proxy`: the cluster's proxies (from its map); each request goes to one
    /// picked at random. Empty: every request goes to `endpoint`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<Endpoint>,
    /// `--trace-http`: send the per-phase timers to StatsD too (phases are always recorded).
    pub trace_http: bool,
    /// `--rate` (open loop): requests go out on a schedule, not one per completion; `None`
    /// is aisloader's closed loop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<ringload_core::rate::RatePlan>,
    /// AIS PUTs at least this large send `Expect: 100-continue` (`None`: the engine's
    /// default, 1 MiB). A tuning knob for benchmarks, set by the binary from
    /// `RINGLOAD_EXPECT_MIN`; not written into result files, which stay as they were without it.
    #[serde(skip)]
    pub expect_min: Option<u64>,
    /// Protocol settings: AIS provider and checksum, S3 addressing, credentials (never
    /// serialized).
    #[serde(flatten)]
    pub proto: ProtoConfig,
    /// The ML data-loading paths: GetBatch, shards, multipart upload and download stream.
    #[serde(flatten)]
    pub ml: MlPaths,
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn ser_opt_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl Default for Workload {
    /// aisloader's defaults (numworkers 10, sizes 1 MiB..1 GiB, statsinterval 10 s, 1 minute).
    fn default() -> Self {
        Workload {
            endpoint: None,
            tls: None,
            protocol: Protocol::Http,
            bucket: "ringload".to_string(),
            duration: Some(Duration::from_secs(60)),
            numworkers: 10,
            pctput: 0,
            pctupdate: 0,
            minsize: 1 << 20,
            maxsize: 1 << 30,
            maxputs: 0,
            totalputsize: 0,
            epochs: 0,
            uniquegets: true,
            readoff: 0,
            readlen: 0,
            subdir: None,
            putshards: 0,
            filelist: None,
            loaderid: "0".to_string(),
            loadernum: 0,
            loaderidhashlen: 0,
            seed: 0,
            statsinterval: Duration::from_secs(10),
            timeout: Some(Duration::from_secs(600)),
            cores: 1,
            driver: DriverKind::Auto,
            verify: false,
            sampler: Sampler::Local,
            shard: (0, 1),
            proxies: Vec::new(),
            trace_http: false,
            rate: None,
            expect_min: None,
            proto: ProtoConfig {
                provider: "ais".into(),
                ..ProtoConfig::default()
            },
            ml: MlPaths::default(),
        }
    }
}

/// How the names a run GETs are split between ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// Every rank reads every name (each in its own seeded order).
    #[default]
    Local,
    /// PyTorch `DistributedSampler`: one seeded permutation per epoch shared by all ranks, cut
    /// by rank, so the ranks together read each name exactly once per epoch.
    Distributed,
}

/// A workload that cannot run, naming the flag at fault and how to fix it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkloadError {
    #[error("{flag} '{value}' is invalid: {why}")]
    Invalid {
        flag: &'static str,
        value: String,
        why: String,
    },
    #[error("--minsize ({min}) is larger than --maxsize ({max}); make --minsize <= --maxsize")]
    MinAboveMax { min: u64, max: u64 },
}

impl Workload {
    /// Checks every field; the first problem is returned with the flag name and a fix.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        let inv = |flag: &'static str, value: String, why: &str| {
            Err(WorkloadError::Invalid {
                flag,
                value,
                why: why.to_string(),
            })
        };
        if self.pctput > 100 {
            return inv("--pctput", self.pctput.to_string(), "must be 0..=100");
        }
        if self.pctupdate > 100 {
            return inv("--pctupdate", self.pctupdate.to_string(), "must be 0..=100");
        }
        if self.pctupdate > 0 && self.pctput == 100 {
            return inv(
                "--pctupdate",
                self.pctupdate.to_string(),
                "updates follow GETs, and --pctput 100 leaves none; lower --pctput or drop \
                 --pctupdate",
            );
        }
        if self.pctupdate > 0 && self.pctupdate <= self.pctput {
            return inv(
                "--pctupdate",
                self.pctupdate.to_string(),
                &format!(
                    "as in aisloader, an order updates when its hash (0..=99) is at least \
                     --pctput and below --pctupdate, so --pctupdate at or below --pctput {} \
                     updates nothing; give --pctupdate above --pctput (pctupdate - pctput \
                     percent of all orders update) or drop it",
                    self.pctput
                ),
            );
        }
        if self.pctupdate > 0 && self.readlen > 0 {
            return inv(
                "--pctupdate",
                self.pctupdate.to_string(),
                "an update PUT is as large as the object its GET read, and a --readlen GET \
                 reads only part of it; drop --readlen or --pctupdate",
            );
        }
        if self.proto.latest && self.protocol != Protocol::Ais {
            return inv(
                "--latest",
                self.protocol.as_str().into(),
                "asks an AIS target for the latest version, and this run's protocol is not \
                 AIS; drop --latest",
            );
        }
        if !self.proxies.is_empty() && self.protocol != Protocol::Ais {
            return inv(
                "--random-proxy",
                self.protocol.as_str().into(),
                "picks among an AIS cluster's proxies, and this run's protocol is not AIS; \
                 drop --random-proxy",
            );
        }
        if let Some(ep) = self
            .endpoint
            .as_ref()
            .filter(|e| e.tls && self.tls.is_none())
        {
            return inv(
                "--endpoint",
                format!("https://{}{}", ep.host_header, ep.base_path),
                "is https:// but the run has no TLS configuration; its TLS settings are built \
                 with the endpoint (--tls-ca, --tls-insecure, --tls-cert, --tls-key)",
            );
        }
        if let Some(ep) = self
            .endpoint
            .as_ref()
            .filter(|e| !e.tls && self.tls.is_some())
        {
            return inv(
                "--endpoint",
                ep.url.clone(),
                "is plain http:// but the run has a TLS configuration; use https:// or leave the \
                 TLS settings out",
            );
        }
        if self.minsize > self.maxsize {
            return Err(WorkloadError::MinAboveMax {
                min: self.minsize,
                max: self.maxsize,
            });
        }
        if self.numworkers == 0 {
            return inv(
                "--numworkers",
                "0".into(),
                "needs at least 1 request in flight",
            );
        }
        if self.cores == 0 {
            return inv("--cores", "0".into(), "needs at least 1 core");
        }
        if self.statsinterval.is_zero() {
            return inv("--statsinterval", "0".into(), "use at least 1s");
        }
        if self.bucket.is_empty() || self.bucket.contains('/') {
            return inv(
                "--bucket",
                self.bucket.clone(),
                "give a non-empty bucket name without '/'",
            );
        }
        if self.loaderid.is_empty() {
            return inv("--loaderid", String::new(), "must not be empty");
        }
        if self.loaderidhashlen == 0 && self.loaderid.parse::<u64>().is_err() {
            return inv(
                "--loaderid",
                self.loaderid.clone(),
                "must be a number unless --loaderidhashlen is set",
            );
        }
        if self.loaderidhashlen > 63 {
            return inv(
                "--loaderidhashlen",
                self.loaderidhashlen.to_string(),
                "must be 1..=63",
            );
        }
        if self.loadernum > 0 && self.loaderidhashlen > 0 {
            return inv(
                "--loadernum",
                self.loadernum.to_string(),
                "cannot be combined with --loaderidhashlen; use one of them",
            );
        }
        if self.loadernum > 0 {
            let id: u64 = self.loaderid.parse().unwrap_or(0);
            if id >= self.loadernum {
                return inv(
                    "--loaderid",
                    self.loaderid.clone(),
                    &format!("must be below --loadernum ({})", self.loadernum),
                );
            }
        }
        if let Some(sub) = &self.subdir {
            if sub.starts_with('/') {
                return inv("--subdir", sub.clone(), "must not start with '/'");
            }
        }
        if self.putshards > 100_000 {
            return inv(
                "--putshards",
                self.putshards.to_string(),
                "must be at most 100000",
            );
        }
        if self.sampler == Sampler::Distributed && !self.uniquegets {
            return inv(
                "--sampler",
                "distributed".into(),
                "shards each epoch's permutation, so it needs --uniquegets (the default)",
            );
        }
        if self.shard.1 == 0 || self.shard.0 >= self.shard.1 {
            return inv(
                "--rank",
                self.shard.0.to_string(),
                "must be below the number of ranks",
            );
        }
        if self.epochs > 0 && self.pctput == 100 {
            return inv(
                "--epochs",
                self.epochs.to_string(),
                "counts GET passes, but --pctput is 100 (no GETs)",
            );
        }
        ml::validate(self)
    }

    /// Core threads the run starts: `--cores`, but never more than the connections (each core
    /// owns at least one) and at least one.
    pub fn active_cores(&self) -> usize {
        self.cores.min(self.numworkers as usize).max(1)
    }

    /// True when the run issues no GETs at all.
    pub fn put_only(&self) -> bool {
        self.pctput == 100
    }

    /// True when the run issues no PUTs at all.
    pub fn get_only(&self) -> bool {
        self.pctput == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        Workload::default().validate().unwrap();
    }

    #[test]
    fn min_above_max_names_both_flags() {
        let w = Workload {
            minsize: 10,
            maxsize: 5,
            ..Workload::default()
        };
        let e = w.validate().unwrap_err().to_string();
        assert!(e.contains("--minsize") && e.contains("--maxsize"), "{e}");
    }

    #[test]
    fn pctput_above_100_is_rejected() {
        let w = Workload {
            pctput: 101,
            ..Workload::default()
        };
        assert!(w.validate().unwrap_err().to_string().contains("--pctput"));
    }

    #[test]
    fn update_latest_and_random_proxy_settings_are_checked() {
        let err = |f: &dyn Fn(&mut Workload)| {
            let mut w = Workload {
                protocol: Protocol::Ais,
                ..Workload::default()
            };
            f(&mut w);
            w.validate().err().map(|e| e.to_string())
        };
        assert_eq!(err(&|w| w.pctupdate = 100), None);
        let e = err(&|w| w.pctupdate = 101).unwrap();
        assert!(
            e.starts_with("--pctupdate '101' is invalid: must be 0..=100"),
            "{e}"
        );
        let e = err(&|w| {
            w.pctupdate = 10;
            w.pctput = 100;
        })
        .unwrap();
        assert!(
            e.contains("--pctupdate") && e.contains("--pctput 100"),
            "{e}"
        );
        let e = err(&|w| {
            w.pctupdate = 10;
            w.readlen = 5;
        })
        .unwrap();
        assert!(e.contains("--pctupdate") && e.contains("--readlen"), "{e}");
        assert_eq!(err(&|w| w.proto.latest = true), None);
        let e = err(&|w| {
            w.proto.latest = true;
            w.protocol = Protocol::S3;
        })
        .unwrap();
        assert!(
            e.starts_with("--latest 's3' is invalid") && e.contains("drop --latest"),
            "{e}"
        );
        let proxy = Endpoint::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(err(&|w| w.proxies = vec![proxy.clone()]), None);
        let e = err(&|w| {
            w.proxies = vec![proxy.clone()];
            w.protocol = Protocol::Http;
        })
        .unwrap();
        assert!(e.starts_with("--random-proxy 'http' is invalid"), "{e}");
    }

    #[test]
    fn endpoint_parsing() {
        let e = Endpoint::parse("http://127.0.0.1:8080/base/").unwrap();
        assert_eq!(e.addr.port(), 8080);
        assert_eq!(e.base_path, "/base");
        assert_eq!(e.host_header, "127.0.0.1:8080");
        let e = Endpoint::parse("127.0.0.1:9").unwrap();
        assert_eq!(e.base_path, "");
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(!e.tls);
        let e = Endpoint::parse("https://127.0.0.1/b").unwrap();
        assert!(e.tls);
        assert_eq!(e.addr.port(), 443);
        assert_eq!(e.host_header, "127.0.0.1");
    }

    #[test]
    fn an_https_endpoint_without_a_tls_configuration_is_refused() {
        let mut w = Workload {
            endpoint: Some(Endpoint::parse("https://127.0.0.1:8443").unwrap()),
            ..Workload::default()
        };
        let e = w.validate().unwrap_err().to_string();
        assert!(
            e.starts_with("--endpoint 'https://127.0.0.1:8443' is invalid"),
            "{e}"
        );
        w.tls = Some(ringload_net::tls::client(&Default::default()).unwrap());
        w.validate().unwrap();
    }

    #[test]
    fn a_plain_endpoint_with_a_tls_configuration_is_refused() {
        let w = Workload {
            endpoint: Some(Endpoint::parse("http://127.0.0.1:8080").unwrap()),
            tls: Some(ringload_net::tls::client(&Default::default()).unwrap()),
            ..Workload::default()
        };
        let e = w.validate().unwrap_err().to_string();
        assert!(
            e.contains("is plain http://") && e.contains("use https://"),
            "{e}"
        );
    }
}
