//! The plan line `ringload run` prints before the load: how many requests on how many cores,
//! against which target and bucket, the operation mix and what stops the run, so a typo
//! shows before the load starts.

use ringload_engine::workload::{Protocol, Workload};

use super::resolve::Resolved;

/// One line that says what the run is about to do, so a typo shows before the load starts.
pub fn line(w: &Workload, names: usize, target: &Resolved) -> String {
    let cores = w.cores.min(w.numworkers as usize).max(1);
    let mix = match w.pctput {
        0 => format!("100% GET over {names} names"),
        100 => format!("100% PUT of {}..{} bytes", w.minsize, w.maxsize),
        p => format!(
            "{p}% PUT of {}..{} bytes, the rest GET",
            w.minsize, w.maxsize
        ),
    };
    let order = if w.pctput < 100 && w.uniquegets {
        ", each name once per epoch"
    } else {
        ""
    };
    let mut stops = Vec::new();
    if let Some(d) = w.duration {
        stops.push(format!("{:?}", d));
    }
    if w.epochs > 0 {
        stops.push(format!("{} epochs", w.epochs));
    }
    if w.maxputs > 0 {
        stops.push(format!("{} PUTs", w.maxputs));
    }
    if w.totalputsize > 0 {
        stops.push(format!("{} PUT bytes", w.totalputsize));
    }
    let until = if stops.is_empty() {
        "until interrupted".to_string()
    } else {
        format!("until {}", stops.join(" or "))
    };
    let url = target.describe(w.endpoint.as_ref().map_or("", |e| e.url.as_str()));
    let bucket = match w.protocol {
        Protocol::Ais => super::target::ais_bucket(w).to_string(),
        Protocol::S3 | Protocol::Http => w.bucket.clone(),
    };
    format!(
        "ringload: {} requests in flight on {cores} core(s) against {url} ({} bucket {bucket}): \
         {mix}{order}, {until} (seed {})",
        w.numworkers,
        w.protocol.as_str(),
        w.seed
    )
}
