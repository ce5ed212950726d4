//! `ringload serve`: turn the serve flags into the built-in target's configuration (one
//! listener, or an AIS cluster of proxies and targets) and serve until a signal.
//!
//! Owns: the flag combinations that make no sense (cluster sizes without AIS, S3 keys or
//! `--bucket` without S3, `--tls-cert` without `--tls-key`), merging repeated `--fault`
//! values, the single place where S3 keys become the auth hook ([`s3_auth_hook`]), and
//! reading the TLS certificate and key (after the checks, as the first file `serve` opens).
//! Ends `Ok` when stopped by a signal; a bad flag combination or certificate file is a usage
//! error, a target that could not start a failure.

use std::path::Path;
use std::sync::Arc;

use ringload_server::{
    self, AuthHook, AuthRequest, ClusterConfig, Faults, ServeConfig, ServeProtocol,
};

use crate::cli::ServeArgs;
use crate::exit::CmdError;

/// The checks `serve` makes before it binds, and nothing else (for the documentation tests'
/// parse-only mode).
pub fn check_only(a: &ServeArgs) -> Result<(), CmdError> {
    config(a).map(|_| ()).map_err(CmdError::usage)
}

pub fn serve(a: ServeArgs) -> Result<(), CmdError> {
    // Each client connection takes a descriptor: allow as many as the hard limit does.
    if let Err(e) = ringload_engine::budget::raise_nofile() {
        eprintln!("note: cannot raise the descriptor limit (ulimit -n) to its hard limit: {e}");
    }
    let mut cfg = config(&a).map_err(CmdError::usage)?;
    if let Some((cert, key)) = tls_files(&a).map_err(CmdError::usage)? {
        // The error names the flag whose file is wrong, and why.
        cfg.tls = Some(ringload_net::tls::server(cert, key).map_err(CmdError::usage)?);
    }
    let served = match cfg.protocol {
        ServeProtocol::Ais => ringload_server::serve_cluster_forever(ClusterConfig {
            proxies: a.proxies.unwrap_or(1),
            targets: a.targets.unwrap_or(1),
            base: cfg,
        }),
        _ => ringload_server::serve_forever(cfg),
    };
    served.map_err(CmdError::failed)
}

fn config(a: &ServeArgs) -> Result<ServeConfig, String> {
    let protocol = a.protocol;
    if protocol != ServeProtocol::Ais && (a.proxies.is_some() || a.targets.is_some()) {
        return Err(format!(
            "--proxies and --targets make an AIS cluster: add --protocol ais (not {})",
            protocol.as_str()
        ));
    }
    if protocol != ServeProtocol::S3 && (a.access_key.is_some() || a.secret_key.is_some()) {
        return Err("--access-key and --secret-key are for S3: add --protocol s3".into());
    }
    if protocol != ServeProtocol::S3 && !a.buckets.is_empty() {
        return Err(format!(
            "--bucket pre-creates buckets of the built-in S3 target: add --protocol s3 (not {}){}",
            protocol.as_str(),
            if protocol == ServeProtocol::Ais {
                "; AIS clients create ais:// buckets themselves (`ringload run` does)"
            } else {
                "; plain HTTP has no buckets"
            }
        ));
    }
    for b in &a.buckets {
        ringload_engine::s3::validate_bucket(b).map_err(|e| format!("--bucket {b}: {e}"))?;
    }
    tls_files(a)?;
    if a.page_size == 0 {
        return Err("--page-size 0 is too small: use at least 1".into());
    }
    let mut faults = Faults::default();
    for spec in &a.faults {
        faults.add(spec).map_err(|e| e.to_string())?;
    }
    Ok(ServeConfig {
        listen: a.listen,
        cores: a.cores,
        protocol,
        page_size: a.page_size,
        faults,
        s3_auth: s3_auth_hook(a)?,
        buckets: a.buckets.clone(),
        tls: None,
    })
}

/// `--tls-cert` and `--tls-key`: both (serve https), or neither (plain http).
fn tls_files(a: &ServeArgs) -> Result<Option<(&Path, &Path)>, String> {
    const NEITHER: &str = "or give neither to serve plain http";
    match (&a.tls_cert, &a.tls_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (Some(_), None) => Err(format!(
            "--tls-key is missing: --tls-cert FILE needs the certificate's private key, \
             --tls-key FILE ({NEITHER})"
        )),
        (None, Some(_)) => Err(format!(
            "--tls-cert is missing: --tls-key FILE needs its certificate chain, \
             --tls-cert FILE ({NEITHER})"
        )),
    }
}

/// The one place where `--access-key/--secret-key` become the S3 auth hook.
fn s3_auth_hook(a: &ServeArgs) -> Result<Option<AuthHook>, String> {
    match (&a.access_key, &a.secret_key) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => {
            Err("--access-key and --secret-key go together: give both, or neither".into())
        }
        (Some(access), Some(secret)) => {
            let access = access.clone();
            let secret = secret.clone();
            Ok(Some(Arc::new(move |r: &AuthRequest| {
                let req = ringload_engine::s3::sigv4::VerifyRequest {
                    method: r.method,
                    raw_path: r.raw_path,
                    raw_query: r.raw_query,
                    headers: r.headers,
                };
                ringload_engine::s3::sigv4::verify(&access, &secret, &req).is_ok()
            })))
        }
    }
}
