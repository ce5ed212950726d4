//! A target the run names: parse its URL into the workload's endpoint and, for AIS and S3,
//! get it ready before the load: check that it answers, that the bucket exists (creating an
//! AIS one, or an S3 one with `--create-bucket`), and list the names to GET when nothing else gives them. Plain HTTP needs none of
//! this (the run itself checks the endpoint). With `--random-proxy`, [`random_proxies`] reads
//! the AIS cluster map for the proxies each request picks from.

use ringload_engine::names::NameList;
use ringload_engine::run::{self, RunError};
use ringload_engine::workload::{Endpoint, Protocol, Workload};

use super::record::{FailReason, Recorder};
use super::resolve::Resolved;
use super::target::Control;
use crate::exit::CmdError;

/// Points `w` at `url`, reads its proxies (`random_proxy`) and readies the bucket (creating a
/// missing S3 one with `create_bucket`; setting `bprops`, `--bprops` as checked by `prepare`,
/// on an AIS one) and names; returns the control client for AIS and S3 (its listing
/// statistics go into the result, it runs `--cleanup`).
pub fn ready(
    w: &mut Workload,
    url: &str,
    resolved: &Resolved,
    (create_bucket, random_proxy): (bool, bool),
    bprops: Option<&str>,
    names: &mut NameList,
    rec: &Recorder,
) -> Result<Option<Control>, CmdError> {
    let setup = |e: CmdError| rec.fail(FailReason::Setup, e);
    let ep = Endpoint::parse(url).map_err(|e| setup(CmdError::usage(e)))?;
    w.endpoint = Some(ep);
    // An https endpoint runs only with the TLS configuration `prepare` built for it.
    w.validate().map_err(|e| setup(CmdError::usage(e)))?;
    if w.protocol == Protocol::Http {
        if random_proxy {
            random_proxies(w, None, rec)?;
        }
        return Ok(None);
    }
    // Before any bucket call, so a dead endpoint fails as unreachable, as it does for http
    // (where the run itself checks it, after the usage checks).
    if let Some(Err(RunError::Unreachable { url, err })) = w.endpoint.as_ref().map(run::preflight) {
        let msg = resolved.unreachable(&url, &err);
        return Err(rec.fail(FailReason::Unreachable, CmdError::failed(msg)));
    }
    let mut c = Control::new(w);
    if random_proxy {
        random_proxies(w, Some(&mut c), rec)?;
    }
    let created = match w.protocol {
        Protocol::S3 => c.check_s3_bucket(w, create_bucket),
        _ => c.ensure_bucket(w),
    };
    match created {
        Ok(true) if !w.put_only() => {
            return Err(setup(CmdError::usage(format!(
                "bucket {} did not exist and was just created, so there is nothing to GET: run \
                 with --pctput 100 to fill it first",
                match w.protocol {
                    Protocol::Ais => ringload_engine::ais::Bucket::of(w).to_string(),
                    _ => format!("{}://{}", w.protocol.as_str(), w.bucket),
                }
            ))))
        }
        Ok(_) => {}
        Err(e) => return Err(setup(CmdError::failed(e))),
    }
    // --bprops, after the bucket exists and before any listing (aisloader's order).
    if let Some(text) = bprops.filter(|_| w.protocol == Protocol::Ais) {
        let wanted = ringload_engine::ais::props::parse(text)
            .map_err(|e| setup(CmdError::usage(format!("--bprops {text:?}: {e}"))))?;
        c.set_props(w, &wanted)
            .map_err(|e| setup(CmdError::failed(e)))?;
    }
    if !w.put_only() && names.is_empty() {
        c.list(w, names).map_err(|e| setup(CmdError::failed(e)))?;
    }
    Ok(Some(c))
}

/// `--random-proxy`: fills `w.proxies` from the AIS cluster map the endpoint answers with
/// (`control` is the endpoint's control client, `None` when the protocol has none). Every
/// failure names the flag and the fix.
pub fn random_proxies(
    w: &mut Workload,
    control: Option<&mut Control>,
    rec: &Recorder,
) -> Result<(), CmdError> {
    let setup = |msg: String| rec.fail(FailReason::Setup, CmdError::usage(msg));
    let endpoint = w.endpoint.as_ref().map_or(String::new(), |e| e.url.clone());
    let c = match control {
        Some(c) if w.protocol == Protocol::Ais => c,
        _ => {
            return Err(setup(format!(
                "--random-proxy picks among an AIS cluster's proxies, and this run's protocol is \
                 {}; drop --random-proxy or run against an AIS cluster (--protocol ais)",
                w.protocol.as_str()
            )))
        }
    };
    let urls = c.proxy_urls().map_err(|e| {
        rec.fail(
            FailReason::Setup,
            CmdError::failed(format!(
                "--random-proxy: cannot read the cluster map from {endpoint}: {e}; point \
                 --endpoint at a proxy of the AIS cluster, or drop --random-proxy"
            )),
        )
    })?;
    if urls.is_empty() {
        return Err(setup(format!(
            "--random-proxy: the cluster map from {endpoint} lists no proxy that takes requests; \
             drop --random-proxy to send every request to the endpoint"
        )));
    }
    let tls = w.endpoint.as_ref().is_some_and(|e| e.tls);
    let mut proxies = Vec::with_capacity(urls.len());
    for u in urls {
        let ep = Endpoint::parse(&u).map_err(|e| {
            setup(format!(
                "--random-proxy: the cluster map lists proxy {u:?}, which cannot be used ({e}); \
                 drop --random-proxy to send every request to the endpoint"
            ))
        })?;
        if ep.tls != tls {
            return Err(setup(format!(
                "--random-proxy: the cluster map lists proxy {u}, and the endpoint {endpoint} \
                 speaks {}; every proxy must use the endpoint's scheme, or drop --random-proxy",
                if tls { "https" } else { "plain http" }
            )));
        }
        proxies.push(ep);
    }
    w.proxies = proxies;
    w.validate().map_err(|e| setup(e.to_string()))
}
