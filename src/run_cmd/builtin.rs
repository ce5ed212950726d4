//! The built-in target of a run that names none: start it (a plain HTTP server, or the AIS
//! cluster or S3 server of `target::Builtin` for `--protocol ais|s3`), point the workload at
//! it, and fill it with `--prefill` objects named and sized as PUTs would be when the run
//! reads.

use ringload_engine::names::NameList;
use ringload_engine::naming::Namer;
use ringload_engine::workload::{Endpoint, Protocol, Workload};
use ringload_server::{self as server, ServeConfig};

use super::record::{FailReason, Recorder};
use super::target::{self, Control};
use crate::exit::CmdError;

/// The running built-in target; it serves until dropped (it is only held, never read).
pub enum Running {
    Http { _server: server::ServerHandle },
    Proto { _target: target::Builtin },
}

/// Starts the built-in target for `w.protocol`, records its URL in `rec`, prefills it when
/// the run reads and has no names, and sets `w.endpoint`. With `--cleanup` (AIS), also the
/// control client that cleans up after the run.
pub fn start(
    w: &mut Workload,
    prefill: u64,
    cleanup: bool,
    names: &mut NameList,
    rec: &mut Recorder,
) -> Result<(Running, Option<Control>), CmdError> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot start the built-in target: {e}");
    let mut control = None;
    let running = if w.protocol != Protocol::Http {
        let h = target::Builtin::start(w)
            .map_err(|e| rec.fail(FailReason::Setup, CmdError::failed(cannot(&e))))?;
        eprintln!(
            "note: nothing names a target: loading the built-in {} target at {}",
            w.protocol.as_str(),
            h.url()
        );
        rec.target.endpoint = h.url();
        if !w.put_only() && names.is_empty() {
            prefill_with(w, prefill, names, |name, size| {
                h.insert(&w.bucket, name, size)
            });
        }
        w.endpoint = Some(Endpoint::parse(&h.url()).expect("the built-in target's URL parses"));
        if cleanup {
            control = Some(Control::new(w));
        }
        Running::Proto { _target: h }
    } else {
        let cfg = ServeConfig {
            listen: "127.0.0.1:0".parse().expect("valid literal address"),
            cores: 1,
            ..ServeConfig::default()
        };
        let h = server::start(cfg)
            .map_err(|e| rec.fail(FailReason::Setup, CmdError::failed(cannot(&e))))?;
        eprintln!(
            "note: nothing names a target: loading the built-in target at {}",
            h.url()
        );
        rec.target.endpoint = h.url();
        if !w.put_only() && names.is_empty() {
            prefill_with(w, prefill, names, |name, size| {
                h.insert(&format!("{}/{}", w.bucket, name), size)
            });
        }
        w.endpoint = Some(Endpoint::parse(&h.url()).expect("the built-in target's URL parses"));
        Running::Http { _server: h }
    };
    Ok((running, control))
}

/// Creates `count` objects through `insert(name, size)`, named and sized as PUTs would be.
fn prefill_with(w: &Workload, count: u64, names: &mut NameList, insert: impl Fn(&str, u64)) {
    let namer = Namer::new(w);
    let mut name = Vec::new();
    let mut total = 0u64;
    for cnt in 1..=count {
        namer.write_name(cnt, &mut name);
        let name = String::from_utf8_lossy(&name);
        let size = namer.put_size(cnt);
        total += size;
        insert(&name, size);
        names.push(&name);
    }
    eprintln!(
        "note: filled the built-in target with {count} objects ({:.1} MiB in all; its bytes are \
         generated, not stored)",
        total as f64 / (1u64 << 20) as f64
    );
}
