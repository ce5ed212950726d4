//! What `ringload run` does before and after the load for each protocol: credentials, the
//! bucket (AIS presence check and create; S3 presence check, and create with
//! `--create-bucket`), the startup listing of names to GET (AIS paged
//! list-objects, S3 ListObjectsV2), and `--cleanup`.
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

/// Timeout of one control request (a list page, a bucket call).
const CTL_TIMEOUT: Duration = Duration::from_secs(60);
/// A listing that runs longer than this prints progress lines.
const LIST_PROGRESS_AFTER: Duration = Duration::from_secs(10);
/// Names per AIS delete-listrange request (aisloader's evict batch).
const DELETE_BATCH: usize = 100;
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
pub fn configure(w: &mut Workload, bucket_flag: &str, builtin: bool) -> Result<(), String> {
    match w.protocol {
        Protocol::Http => Ok(()),
        Protocol::Ais => {
            let b = Bucket::parse(bucket_flag).map_err(|e| format!("--bucket: {e}"))?;
            w.bucket = b.name.clone();
            w.proto.provider = b.provider.clone();
            w.proto.namespace = b.namespace.clone();
            let token = ais::token::from_env(&env).map_err(|e| e.to_string())?;
            w.proto.authenticated = token.is_some();
            w.proto.token = token.map(|t| Secret::new(t.secret()));
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

/// Refuses an S3 endpoint the addressing cannot use: `--s3-addressing virtual` puts the bucket
/// in front of the host name, so an IP-literal endpoint (`http://10.0.0.1:9000`) cannot work
/// (`<bucket>.10.0.0.1` resolves nowhere). `endpoint` is the URL the run names; the built-in
/// target (`None`) is left as it is. Runs before any connection; the error is a usage error.
pub fn check_s3_endpoint(w: &Workload, endpoint: Option<&str>) -> Result<(), String> {
    let Some(url) = endpoint.filter(|_| w.protocol == Protocol::S3) else {
        return Ok(());
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let host = rest.split('/').next().unwrap_or(rest);
    match s3::check_endpoint(host, w.proto.s3_addressing) {
        Err(e @ s3::S3Error::VirtualHostOnIp { .. }) => Err(e.to_string()),
        // Other endpoint faults are the endpoint parser's to report, as they are today.
        _ => Ok(()),
    }
}

/// A note for an https S3 run with virtual-host addressing and a dotted bucket name: the host
/// `a.b.<endpoint>` has one label more than a wildcard certificate (`*.<endpoint>`, as AWS's)
/// covers, so the handshake would fail "name mismatch". Not refused: a server may carry a
/// certificate that names the host.
pub fn s3_dotted_bucket_note(w: &Workload, endpoint: Option<&str>) -> Option<String> {
    let https = endpoint.is_some_and(|u| u.starts_with("https://"));
    (https
        && w.protocol == Protocol::S3
        && w.proto.s3_addressing == ringload_engine::proto::S3Addressing::VirtualHost
        && w.bucket.contains('.'))
    .then(|| {
        format!(
            "the bucket {:?} has dots: over https with --s3-addressing virtual its host name is \
             not covered by a wildcard certificate (the handshake fails \"name mismatch\"); \
             --s3-addressing path avoids that",
            w.bucket
        )
    })
}

/// Refuses `--create-bucket` where it cannot apply: plain HTTP has no buckets, and an AIS
/// cluster cannot create a remote (`s3://`, `gs://`, ...) bucket. ais:// buckets are created
/// with or without it; S3 buckets only with it.
pub fn check_create_bucket(
    w: &Workload,
    bucket_flag: &str,
    create: bool,
    builtin: bool,
) -> Result<(), String> {
    if !create {
        return Ok(());
    }
    match w.protocol {
        Protocol::S3 if builtin => {
            eprintln!(
                "note: --create-bucket changes nothing here: the built-in S3 target is started \
                 with the run's bucket"
            );
            Ok(())
        }
        Protocol::S3 => Ok(()),
        Protocol::Ais if w.proto.provider == "ais" => {
            eprintln!(
                "note: --create-bucket changes nothing with --protocol ais: a missing ais:// \
                 bucket is created anyway"
            );
            Ok(())
        }
        Protocol::Ais => Err(format!(
            "--create-bucket cannot create the remote bucket {bucket_flag} through AIS: create it \
             in its own store, or leave --create-bucket out (ais:// buckets are created anyway)"
        )),
        Protocol::Http => Err(
            "--create-bucket is for --protocol s3 (and ais): plain HTTP has no buckets; leave \
             it out"
                .into(),
        ),
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
        eprintln!("Found {} existing objects", entries.len());
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

    /// `--cleanup`: destroys an `ais://` bucket, or deletes from a remote AIS bucket every
    /// name this run knows (those listed, plus the first `puts` names this run's PUTs used).
    pub fn cleanup(&mut self, w: &Workload, listed: &NameList, puts: u64) -> Result<(), String> {
        let b = Bucket::of(w);
        if b.is_ais() {
            eprintln!("Cleaning up: destroying {b}...");
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
            eprintln!(
                "Cleaning up: deleting the {} names this run listed or wrote from {b}...",
                all.len()
            );
            ais::bucket::delete_names(
                &mut self.client,
                &self.base,
                &b,
                &all,
                DELETE_BATCH,
                &self.headers,
            )
            .map_err(|e| format!("cleanup: {e}"))?;
        }
        eprintln!("Done");
        Ok(())
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
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// An AIS workload on `bucket` (as `--bucket` takes it) against `url`.
    fn ais_run(bucket: &str, url: &str) -> Workload {
        let mut w = Workload {
            protocol: Protocol::Ais,
            ..Workload::default()
        };
        configure(&mut w, bucket, false).unwrap();
        w.endpoint = Some(ringload_engine::workload::Endpoint::parse(url).unwrap());
        w
    }

    /// A one-request AIS proxy that answers every call with `status` and an AIS error body;
    /// returns its URL and the request line it got.
    fn answer_once(status: &str, message: &str) -> (String, std::thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let body = serde_json::json!({ "message": message, "status": 404 }).to_string();
        let status = status.to_string();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let (mut first, mut len) = (String::new(), 0usize);
            r.read_line(&mut first).unwrap();
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            r.read_exact(&mut vec![0; len]).unwrap();
            let mut s = s;
            write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            first.trim_end().to_string()
        });
        (url, t)
    }

    #[test]
    fn virtual_host_addressing_refuses_an_ip_endpoint_before_any_connection() {
        let mut w = Workload {
            protocol: Protocol::S3,
            ..Workload::default()
        };
        w.proto.s3_addressing = ringload_engine::proto::S3Addressing::VirtualHost;
        for url in [
            "http://127.0.0.1:9000",
            "10.1.2.3:9000/s3",
            "http://[::1]:9000",
        ] {
            let err = check_s3_endpoint(&w, Some(url)).unwrap_err();
            assert!(err.contains("--s3-addressing path"), "{url}: {err}");
        }
        assert_eq!(
            check_s3_endpoint(&w, Some("http://s3.example.com:9000")),
            Ok(())
        );
        // The built-in target and path style are left alone.
        assert_eq!(check_s3_endpoint(&w, None), Ok(()));
        w.proto.s3_addressing = ringload_engine::proto::S3Addressing::Path;
        assert_eq!(check_s3_endpoint(&w, Some("http://127.0.0.1:9000")), Ok(()));
    }

    #[test]
    fn a_dotted_bucket_over_https_with_virtual_hosts_gets_a_note() {
        let mut w = Workload {
            protocol: Protocol::S3,
            bucket: "my.data".into(),
            ..Workload::default()
        };
        w.proto.s3_addressing = ringload_engine::proto::S3Addressing::VirtualHost;
        let note = s3_dotted_bucket_note(&w, Some("https://s3.us-west-2.amazonaws.com")).unwrap();
        assert!(note.contains("\"my.data\" has dots") && note.contains("--s3-addressing path"));
        assert_eq!(
            s3_dotted_bucket_note(&w, Some("http://s3.example.com")),
            None
        );
        w.proto.s3_addressing = ringload_engine::proto::S3Addressing::Path;
        assert_eq!(
            s3_dotted_bucket_note(&w, Some("https://s3.example.com")),
            None
        );
        w.proto.s3_addressing = ringload_engine::proto::S3Addressing::VirtualHost;
        w.bucket = "data".into();
        assert_eq!(
            s3_dotted_bucket_note(&w, Some("https://s3.example.com")),
            None
        );
    }

    #[test]
    fn every_ais_provider_is_known_to_the_built_in_target() {
        for (scheme, provider) in ais::PROVIDERS {
            let p = ringload_server::Provider::parse(provider).expect(provider);
            assert_eq!(p.as_str(), provider, "{scheme}");
            assert_eq!(p.is_remote(), provider != "ais", "{scheme}");
        }
    }

    #[test]
    fn a_failed_cleanup_names_the_bucket_as_given() {
        let (url, seen) = answer_once("404 Not Found", "bucket \"s3://my-bucket\" does not exist");
        let w = ais_run("s3://my-bucket", &url);
        let mut names = NameList::new();
        names.push("a");
        let err = Control::new(&w).cleanup(&w, &names, 0).unwrap_err();
        assert_eq!(
            err,
            "cleanup: AIS delete of 1 objects from s3://my-bucket (after 0 sent): HTTP 404: \
             bucket \"s3://my-bucket\" does not exist"
        );
        assert_eq!(
            seen.join().unwrap(),
            "DELETE /v1/buckets/my-bucket?provider=aws HTTP/1.1"
        );
        let (url, seen) = answer_once("404 Not Found", "bucket \"ais://gone\" does not exist");
        let w = ais_run("ais://gone", &url);
        let err = Control::new(&w).cleanup(&w, &names, 0).unwrap_err();
        assert_eq!(
            err,
            "cleanup: AIS destroy of ais://gone: HTTP 404: bucket \"ais://gone\" does not exist"
        );
        assert_eq!(
            seen.join().unwrap(),
            "DELETE /v1/buckets/gone?provider=ais HTTP/1.1"
        );
    }

    #[test]
    fn remote_buckets_are_never_created_and_ais_ones_are_named_in_full() {
        // No listener at all: a remote bucket needs no call before the run.
        let w = ais_run("gs://g", "http://127.0.0.1:9");
        assert!(!Control::new(&w).ensure_bucket(&w).unwrap());
        let w = ais_run("ais://@remais/r", "http://127.0.0.1:9");
        assert!(!Control::new(&w).ensure_bucket(&w).unwrap());
        let (url, _seen) = answer_once("500 Internal Server Error", "disk full");
        let w = ais_run("ais://#ns/b", &url);
        let err = Control::new(&w).ensure_bucket(&w).unwrap_err();
        assert_eq!(
            err,
            "cannot check bucket ais://#ns/b: AIS presence check of ais://#ns/b: HTTP 500: disk \
             full"
        );
    }
}
