//! What `ringload run` does before and after the load for each protocol: credentials, the
//! bucket (AIS presence check and create; S3 presence check, and create with
//! `--create-bucket`), the startup listing of names to GET (AIS paged
//! list-objects, S3 ListObjectsV2, with AIS's list flags), the AuthN token's source,
//! `--bprops`, and `--cleanup` (AIS remote buckets: `--evict-batchsize` names per request).
//! The checks of these settings that need no connection are in `checks`; the unit tests in
//! `tests.rs`.
//!
//! All of it goes through the engine's blocking control client (`ctl`), not the load engine:
//! it runs once, before the measured phase starts or after it ends. Secrets are read from the
//! environment here and passed to the engine only inside `proto::Secret`, which never prints.

use std::time::{Duration, Instant};

use ringload_engine::ais::{self, Bucket};
use ringload_engine::ctl::Client;
use ringload_engine::names::NameList;
use ringload_engine::naming::Namer;
use ringload_engine::phase::ListStats;
use ringload_engine::proto::{S3Keys, Secret};
use ringload_engine::s3;
use ringload_engine::s3::bucket::{CreateError, ListFailure, Presence};
use ringload_engine::workload::{Protocol, Workload};

mod checks;
pub use checks::{
    check_ais_flags, check_cksum_type, check_create_bucket, check_evict_batchsize,
    check_random_proxy, check_s3_endpoint, s3_dotted_bucket_note, DEFAULT_EVICT_BATCH,
};

/// Timeout of one control request (a list page, a bucket call).
const CTL_TIMEOUT: Duration = Duration::from_secs(60);
/// A listing that runs longer than this prints progress lines.
const LIST_PROGRESS_AFTER: Duration = Duration::from_secs(10);
/// Keys per ListObjectsV2 page.
const S3_PAGE: u32 = 1000;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The note of a built-in S3 run without AWS credentials.
pub const THROWAWAY_KEYS_NOTE: &str =
    "note: the built-in S3 target accepts any credentials; using throwaway keys";

/// Applies the protocol's settings from the flags and the environment to `w` (before the
/// endpoint is known). `builtin`: the run loads the in-process target, which accepts any S3
/// credentials, so finding none is not an error there. Errors are usage errors naming the
/// flag or variable.
/// `token_file` is `--token-file` (AIS only: refused for the other protocols).
pub fn configure(
    w: &mut Workload,
    bucket_flag: &str,
    builtin: bool,
    token_file: Option<&std::path::Path>,
) -> Result<(), String> {
    if let (Some(f), false) = (token_file, w.protocol == Protocol::Ais) {
        return Err(format!(
            "--token-file {} is an AIS AuthN token: it works with --protocol ais only (this run is {}); leave it out",
            f.display(),
            w.protocol.as_str()
        ));
    }
    match w.protocol {
        Protocol::Http => Ok(()),
        Protocol::Ais => {
            let b = Bucket::parse(bucket_flag).map_err(|e| format!("--bucket: {e}"))?;
            w.bucket = b.name.clone();
            w.proto.provider = b.provider.clone();
            w.proto.namespace = b.namespace.clone();
            let found = ais::token::resolve(token_file, &|k: &str| std::env::var(k).ok())
                .map_err(|e| e.to_string())?;
            if let Some((_, source)) = &found {
                eprintln!("note: AIS AuthN token from {source}");
            }
            w.proto.authenticated = found.is_some();
            w.proto.token = found.map(|(t, _)| Secret::new(t.secret()));
            Ok(())
        }
        Protocol::S3 => {
            let cfg = match s3::creds::resolve(&env) {
                Ok(cfg) => cfg,
                Err(s3::CredsError::NotFound { .. }) if builtin => {
                    eprintln!("{THROWAWAY_KEYS_NOTE}");
                    throwaway_s3_config(&env)
                }
                Err(e) => return Err(e.to_string()),
            };
            w.proto.s3_region = Some(cfg.region.clone());
            w.proto.s3_keys = Some(S3Keys {
                access_key: cfg.creds.access_key.clone(),
                secret_key: Secret::new(cfg.creds.secret_key.clone()),
                session_token: cfg.creds.session_token.clone().map(Secret::new),
            });
            w.proto.authenticated = true;
            Ok(())
        }
    }
}

/// Keys for the built-in S3 target, which checks no signature; the region as configured.
fn throwaway_s3_config(env: &dyn Fn(&str) -> Option<String>) -> s3::S3Config {
    s3::S3Config {
        creds: s3::Credentials {
            access_key: "ringload-builtin".into(),
            secret_key: "ringload-builtin-throwaway".into(),
            session_token: None,
        },
        region: env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into()),
        profile: None,
    }
}

/// The control-plane view of the run's target.
pub struct Control {
    client: Client,
    /// `http[s]://host:port[/base]` of the endpoint (an AIS proxy, an S3 endpoint).
    base: String,
    headers: Vec<(&'static str, String)>,
    /// Every list page request of the startup listing (`ops.list` in the result file).
    pub list_stats: ListStats,
}

impl Control {
    pub fn new(w: &Workload) -> Control {
        let ep = w.endpoint.as_ref().expect("endpoint set before setup");
        let mut headers = Vec::new();
        if let Some(t) = &w.proto.token {
            headers.push(("Authorization", format!("Bearer {}", t.expose())));
        }
        Control {
            // The control plane trusts what the load trusts.
            client: Client::with_tls(CTL_TIMEOUT, w.tls.as_ref().map(|t| t.config.clone())),
            base: format!(
                "{}://{}{}",
                if ep.tls { "https" } else { "http" },
                ep.host_header,
                ep.base_path
            ),
            headers,
            list_stats: ListStats::default(),
        }
    }

    /// AIS: makes sure an `ais://` bucket of this cluster exists (a remote bucket, `s3://`,
    /// `ais://@remote/..`, is used as it is: AIS has no create call for it). Returns true when
    /// it had to be created (then there is nothing to read, so only a 100% PUT run makes sense,
    /// as in aisloader).
    pub fn ensure_bucket(&mut self, w: &Workload) -> Result<bool, String> {
        let b = Bucket::of(w);
        if w.protocol != Protocol::Ais || !b.is_ais() {
            return Ok(false);
        }
        let present = ais::bucket::exists(&mut self.client, &self.base, &b, &self.headers)
            .map_err(|e| format!("cannot check bucket {b}: {e}"))?;
        if present {
            return Ok(false);
        }
        ais::bucket::create(&mut self.client, &self.base, &b, &self.headers)
            .map_err(|e| format!("cannot create bucket {b}: {e}"))?;
        // Ranks that start together all find the bucket missing and all create it (a second
        // create is accepted), so only rank 0 says so.
        if w.shard.0 == 0 {
            eprintln!("note: created bucket {b}");
        }
        Ok(true)
    }

    /// AIS: the public URLs of the cluster's proxies, from its map (`--random-proxy`).
    pub fn proxy_urls(&mut self) -> Result<Vec<String>, ais::AisError> {
        let m = ais::smap::fetch(&mut self.client, &self.base, &self.headers)?;
        Ok(ais::smap::proxy_urls(&m))
    }

    /// Lists the names under `--subdir` into `names` (AIS or S3; nothing for plain HTTP).
    pub fn list(&mut self, w: &Workload, names: &mut NameList) -> Result<(), String> {
        let prefix = w.subdir.clone().unwrap_or_default();
        let started = Instant::now();
        let mut progress = |n: usize| {
            if started.elapsed() >= LIST_PROGRESS_AFTER {
                eprint!("\rListing {n} objects");
            }
        };
        let entries = match w.protocol {
            Protocol::Http => return Ok(()),
            Protocol::Ais => {
                let opts = ais::list::ListOptions {
                    prefix,
                    page_size: 0,
                    list: w.proto.list,
                    // As aisloader: when shards are written or read in this run.
                    arch: w.ml.arch.pct > 0 || w.ml.arch.list,
                };
                let b = Bucket::of(w);
                ais::list::list_objects_counted(
                    &mut self.client,
                    &self.base,
                    &b,
                    &opts,
                    &self.headers,
                    &mut progress,
                    &mut self.list_stats,
                )
                .map_err(|e| format!("listing bucket {b}: {e}"))?
            }
            Protocol::S3 => self.list_s3(w, &prefix, &mut progress)?,
        };
        if started.elapsed() >= LIST_PROGRESS_AFTER {
            eprintln!();
        }
        for (name, size) in &entries {
            names.push_sized(name, *size);
        }
        eprintln!("{}", found_line(&entries));
        Ok(())
    }

    /// The run's bucket on its S3 endpoint, signed with the run's keys.
    fn s3_target(w: &Workload) -> s3::bucket::Target<'_> {
        s3::bucket::Target {
            endpoint: w.endpoint.as_ref().expect("endpoint set"),
            bucket: &w.bucket,
            addressing: w.proto.s3_addressing,
            signer: w.proto.s3_signer(),
        }
    }

    /// S3: the bucket must exist; with `create` (`--create-bucket`) a missing one is created.
    /// Returns true when it had to be created (then there is nothing to read).
    pub fn check_s3_bucket(&mut self, w: &Workload, create: bool) -> Result<bool, String> {
        let presence = s3::bucket::head(&mut self.client, &mut Self::s3_target(w))
            .map_err(|e| format!("s3://{}: {e}", w.bucket))?;
        match presence {
            Presence::Exists => Ok(false),
            Presence::Missing if create => {
                self.create_s3_bucket(w)?;
                // Ranks that start together may all create it; only rank 0 says so.
                if w.shard.0 == 0 {
                    eprintln!("note: created bucket s3://{}", w.bucket);
                }
                Ok(true)
            }
            Presence::Missing => Err(format!(
                "bucket s3://{} does not exist at {}; add --create-bucket to have ringload \
                 create it (off by default against a named endpoint), or create it yourself (e.g. `aws s3 mb s3://{} --endpoint-url {}`)",
                w.bucket, self.base, w.bucket, self.base
            )),
            // Object-only credentials are common (IAM policies without s3:ListBucket): say
            // so and let the run show what the objects answer.
            Presence::Forbidden => {
                eprintln!(
                    "warning: HEAD s3://{} was refused (HTTP 403); continuing{}",
                    w.bucket,
                    forbidden_hint(403)
                );
                Ok(false)
            }
            Presence::Other(s) => Err(format!("cannot use bucket s3://{}: HTTP {s}", w.bucket)),
        }
    }

    /// S3 CreateBucket, with a LocationConstraint outside us-east-1.
    fn create_s3_bucket(&mut self, w: &Workload) -> Result<(), String> {
        let region = w.proto.s3_region.as_deref().unwrap_or("us-east-1");
        match s3::bucket::create(&mut self.client, &mut Self::s3_target(w), region) {
            Ok(()) => Ok(()),
            Err(CreateError::Ctl(e)) => Err(format!("cannot create bucket s3://{}: {e}", w.bucket)),
            Err(CreateError::Refused { status, error }) => {
                let why = error
                    .map(|(c, m)| format!(": {c}: {m}"))
                    .unwrap_or_default();
                Err(format!(
                    "cannot create bucket s3://{}: HTTP {status}{why}{}",
                    w.bucket,
                    forbidden_hint(status)
                ))
            }
        }
    }

    fn list_s3(
        &mut self,
        w: &Workload,
        prefix: &str,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<(String, u64)>, String> {
        s3::bucket::list(
            &mut self.client,
            &mut Self::s3_target(w),
            prefix,
            S3_PAGE,
            progress,
            &mut self.list_stats,
        )
        .map_err(|e| match e {
            ListFailure::Ctl(e) => format!("listing s3://{}: {e}", w.bucket),
            ListFailure::Http { status, why } => format!(
                "listing s3://{} failed with HTTP {status}: {why}{}",
                w.bucket,
                forbidden_hint(status)
            ),
            ListFailure::Page(e) => format!("listing s3://{}: {e}", w.bucket),
        })
    }

    /// `--bprops`: reads the bucket's properties and sets the sections whose `enabled`
    /// differs (aisloader's rule). Errors name the flag.
    pub fn set_props(&mut self, w: &Workload, wanted: &ais::props::Bprops) -> Result<(), String> {
        let b = Bucket::of(w);
        let current = ais::props::head(&mut self.client, &self.base, &b, &self.headers)
            .map_err(|e| format!("--bprops: cannot read the properties of {b}: {e}"))?;
        let Some(value) = ais::props::changes(wanted, &current) else {
            eprintln!("note: --bprops: {b} already has these properties");
            return Ok(());
        };
        ais::props::set(&mut self.client, &self.base, &b, &value, &self.headers)
            .map_err(|e| format!("--bprops: the cluster refused the properties for {b}: {e}"))?;
        eprintln!("note: --bprops: set {value} on {b}");
        Ok(())
    }

    /// Destroys the run's bucket when it is an `ais://` one; an error is ignored (the
    /// aisloader front end's cleanup-only run, as aisloader).
    pub fn destroy_ais_bucket(&mut self, w: &Workload) {
        let b = Bucket::of(w);
        if b.is_ais() {
            let _ = ais::bucket::destroy(&mut self.client, &self.base, &b, &self.headers);
        }
    }

    /// `--cleanup`: destroys an `ais://` bucket, or deletes from a remote AIS bucket every
    /// name this run knows (those listed, plus the first `puts` names this run's PUTs used),
    /// `batch` names per request (`--evict-batchsize`). `ais_lines`: the aisloader front
    /// end's `HH:MM:SS Cleaning up...` / `HH:MM:SS Done` on stdout instead of ringload's lines.
    pub fn cleanup(
        &mut self,
        w: &Workload,
        (listed, puts): (&NameList, u64),
        batch: usize,
        ais_lines: bool,
    ) -> Result<(), String> {
        let b = Bucket::of(w);
        if ais_lines {
            crate::aisloader::cleanup_line("Cleaning up...");
        }
        if b.is_ais() {
            if !ais_lines {
                eprintln!("Cleaning up: destroying {b}...");
            }
            ais::bucket::destroy(&mut self.client, &self.base, &b, &self.headers)
                .map_err(|e| format!("cleanup: {e}"))?;
        } else {
            let mut all: Vec<String> = (0..listed.len())
                .map(|i| listed.get(i).to_string())
                .collect();
            let namer = Namer::new(w);
            let mut name = Vec::new();
            // Workers that drew a counter past --maxputs did not PUT it.
            let puts = if w.maxputs > 0 {
                puts.min(w.maxputs)
            } else {
                puts
            };
            for cnt in 1..=puts {
                namer.write_name(cnt, &mut name);
                all.push(String::from_utf8_lossy(&name).into_owned());
            }
            all.sort_unstable();
            all.dedup();
            if !ais_lines {
                eprintln!(
                    "Cleaning up: deleting the {} names this run listed or wrote from {b}...",
                    all.len()
                );
            }
            ais::bucket::delete_names(&mut self.client, &self.base, &b, &all, batch, &self.headers)
                .map_err(|e| format!("cleanup: {e}"))?;
        }
        if ais_lines {
            crate::aisloader::cleanup_line("Done");
        } else {
            eprintln!("Done");
        }
        Ok(())
    }
}

/// The listing's summary line, as aisloader prints it: `Found N existing objects`, or with
/// files inside shards (`<shard>\0<file>` names) `Found N archived files` / `Found A plain
/// objects and B archived files (P% archived)`.
fn found_line(entries: &[(String, u64)]) -> String {
    let l = entries.len();
    let files = entries
        .iter()
        .filter(|(n, _)| n.as_bytes().contains(&ringload_engine::names::ARCH_SEP))
        .count();
    let s = |n: usize| if n == 1 { "" } else { "s" };
    match files {
        0 => format!("Found {l} existing objects"),
        _ if files == l => format!("Found {l} archived file{}", s(l)),
        _ => {
            let plain = l - files;
            format!(
                "Found {plain} plain object{} and {files} archived file{} ({}% archived)",
                s(plain),
                s(files),
                files * 100 / l
            )
        }
    }
}

fn forbidden_hint(status: u16) -> &'static str {
    if status == 403 {
        " (check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, AWS_REGION, and this \
         machine's clock)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests;
