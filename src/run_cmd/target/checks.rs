//! The checks of `ringload run`'s target settings that need no connection: an S3 endpoint
//! the addressing cannot use, a dotted bucket over https, `--create-bucket` where it cannot
//! apply, and the AIS control-plane flags (`--bprops`, `--cached`, `--list-dirs`, `--nbi`,
//! `--evict-batchsize`, `--cksum-type`) where they cannot apply. Each refusal is a usage error naming the flag
//! and the fix; a note is returned for the caller to print.

use ringload_core::kinds::CksumType;
use ringload_engine::ais::{self, Bucket};
use ringload_engine::s3;
use ringload_engine::workload::{Protocol, Workload};

/// Refuses `--random-proxy` where there is no cluster of proxies to pick from: outside
/// `--protocol ais`, and on the built-in quick-start target (one listener, no cluster map).
/// Runs before anything starts.
pub fn check_random_proxy(w: &Workload, random_proxy: bool, builtin: bool) -> Result<(), String> {
    if !random_proxy {
        Ok(())
    } else if w.protocol != Protocol::Ais {
        Err(format!(
            "--random-proxy picks among an AIS cluster's proxies, and this run's protocol is {}; \
             drop --random-proxy or run against an AIS cluster (--protocol ais)",
            w.protocol.as_str()
        ))
    } else if builtin {
        Err(
            "--random-proxy picks among an AIS cluster's proxies, and the built-in quick-start \
             target is a single listener: start a cluster with `ringload serve --protocol ais \
             --proxies 2` and name it with --endpoint URL, or drop --random-proxy"
                .into(),
        )
    } else {
        Ok(())
    }
}

/// `--evict-batchsize` when not given: the batch `--cleanup` deletes a remote bucket's names in.
pub const DEFAULT_EVICT_BATCH: usize = 1000;

/// The checksum AIS PUTs carry: `--cksum-type` (default xxhash, as aisloader's), refused when
/// given for another protocol, whose PUTs carry none (`none` is recorded for them).
pub fn check_cksum_type(w: &mut Workload, given: Option<CksumType>) -> Result<(), String> {
    w.proto.cksum_type = match (w.protocol, given) {
        (Protocol::Ais, t) => t.unwrap_or(CksumType::Xxhash),
        (p, Some(t)) => {
            return Err(format!(
                "--cksum-type {t} sets the checksum AIS PUTs carry (Ais-Checksum-Type): it \
                 works with --protocol ais only (this run is {}); leave it out",
                p.as_str()
            ));
        }
        (_, None) => CksumType::None,
    };
    Ok(())
}

/// The batch `--cleanup` deletes a remote AIS bucket's names in: `--evict-batchsize`, refused
/// where no batches are deleted (without `--cleanup`, outside `--protocol ais`, on an `ais://`
/// bucket, which is destroyed whole) and when 0; [`DEFAULT_EVICT_BATCH`] when not given.
pub fn check_evict_batchsize(
    w: &Workload,
    given: Option<usize>,
    cleanup: bool,
) -> Result<usize, String> {
    let Some(n) = given else {
        return Ok(DEFAULT_EVICT_BATCH);
    };
    let why = if n == 0 {
        Some(format!(
            "--cleanup of a remote bucket deletes its names in batches of N; give N >= 1 \
             (default {DEFAULT_EVICT_BATCH})"
        ))
    } else if !cleanup {
        Some(
            "it sizes --cleanup's delete batches and this run has no --cleanup: add \
              --cleanup or leave it out"
                .to_string(),
        )
    } else if w.protocol != Protocol::Ais {
        Some(format!(
            "--cleanup deletes in batches with --protocol ais only (this run is {}): leave it \
             out",
            w.protocol.as_str()
        ))
    } else if Bucket::of(w).is_ais() {
        Some(format!(
            "--cleanup destroys {} whole (no delete batches): leave it out",
            Bucket::of(w)
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(format!("--evict-batchsize {n}: {why}")),
        None => Ok(n),
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

/// Refuses the AIS control-plane flags where they cannot apply, before any connection:
/// `--evict-batchsize 0`; `--bprops` outside `--protocol ais`, on a remote bucket (aisloader
/// sets properties on ais buckets only), with the built-in target, or when it does not parse;
/// `--cached`, `--list-dirs` and `--nbi` outside `--protocol ais`, on an `ais://` bucket of
/// this cluster (they list remote buckets, as in aisloader), and where no listing happens
/// (100% PUTs, `--filelist`, the built-in target's `--prefill`).
pub fn check_ais_flags(w: &Workload, bprops: Option<&str>, builtin: bool) -> Result<(), String> {
    let ais = w.protocol == Protocol::Ais;
    if let Some(text) = bprops {
        if !ais {
            return Err(format!(
                "--bprops sets AIS bucket properties: it works with --protocol ais only (this \
                 run is {}); leave it out",
                w.protocol.as_str()
            ));
        }
        let b = Bucket::of(w);
        if b.provider != "ais" {
            return Err(format!(
                "--bprops applies to ais:// buckets only (as in aisloader); {b} is a remote \
                 bucket: leave it out, or set its properties with `ais bucket props set`"
            ));
        }
        if builtin {
            return Err(
                "--bprops needs an AIS cluster named with --endpoint or AIS_ENDPOINT (the \
                 built-in quick-start target keeps no bucket properties for a run): start one \
                 with `ringload serve --protocol ais` and name it"
                    .into(),
            );
        }
        ais::props::parse(text).map_err(|e| format!("--bprops {text:?}: {e}"))?;
    }
    let l = w.proto.list;
    let given = [
        (l.cached, "--cached"),
        (l.list_dirs, "--list-dirs"),
        (l.nbi, "--nbi"),
    ];
    for (_, flag) in given.iter().filter(|(on, _)| *on) {
        if !ais {
            return Err(format!(
                "{flag} lists an AIS remote bucket: it works with --protocol ais only (this run \
                 is {}); leave it out",
                w.protocol.as_str()
            ));
        }
        let b = Bucket::of(w);
        if b.is_ais() {
            return Err(format!(
                "{flag} applies to remote buckets only (have {b}): name one such as \
                 s3://bucket or ais://@remote/bucket, or leave it out"
            ));
        }
        let no_listing = if w.put_only() {
            Some("a 100% PUT run lists nothing")
        } else if w.filelist.is_some() {
            Some("the names come from --filelist")
        } else if builtin {
            Some("the built-in target's names come from --prefill")
        } else {
            None
        };
        if let Some(why) = no_listing {
            return Err(format!(
                "{flag} changes the bucket listing, but {why}: leave it out{}",
                if l.cached && w.put_only() {
                    " (--cached is incompatible with a 100% PUT workload)"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(())
}
