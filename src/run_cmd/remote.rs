//! A target the run names: parse its URL into the workload's endpoint and, for AIS and S3,
//! get it ready before the load: check that it answers, that the bucket exists (creating an
//! AIS one, or an S3 one with `--create-bucket`), and list the names to GET when nothing else gives them. Plain HTTP needs none of
//! this (the run itself checks the endpoint).

use ringload_engine::names::NameList;
use ringload_engine::run::{self, RunError};
use ringload_engine::workload::{Endpoint, Protocol, Workload};

use super::record::{FailReason, Recorder};
use super::resolve::Resolved;
use super::target::Control;
use crate::exit::CmdError;

/// Points `w` at `url` and readies the bucket (creating a missing S3 one with
/// `create_bucket`; setting `bprops`, `--bprops` as checked by `prepare`, on an AIS one) and
/// names; returns the control client for AIS and S3 (its listing statistics go into the
/// result, it runs `--cleanup`).
pub fn ready(
    w: &mut Workload,
    url: &str,
    resolved: &Resolved,
    create_bucket: bool,
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
        return Ok(None);
    }
    // Before any bucket call, so a dead endpoint fails as unreachable, as it does for http
    // (where the run itself checks it, after the usage checks).
    if let Some(Err(RunError::Unreachable { url, err })) = w.endpoint.as_ref().map(run::preflight) {
        let msg = resolved.unreachable(&url, &err);
        return Err(rec.fail(FailReason::Unreachable, CmdError::failed(msg)));
    }
    let mut c = Control::new(w);
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
