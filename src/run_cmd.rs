//! `ringload run`: turn parsed flags into a validated workload (`workload_args`), check it
//! fits this machine's resources, start the built-in target when nothing names one (`resolve`
//! decides), run the engine and write the result file (the exit code and its message come from
//! `verdict`).

use std::io::IsTerminal;

use ringload_core::result::RunStatus;
use ringload_engine::budget;
use ringload_engine::names::NameList;
use ringload_engine::naming::Namer;
use ringload_engine::record::RunMeta;
use ringload_engine::run::{self, RunError, RunOptions};
use ringload_engine::worker::StopReason;
use ringload_engine::workload::{Endpoint, Protocol, Workload};
use ringload_server::{self as server, ServeConfig};

use ringload_launcher::barrier;
use ringload_launcher::ranks::{self, Rank};
use ringload_launcher::spec::Loaded;

use crate::cli::{RunArgs, SamplerArg};
use crate::multinode;
use crate::resolve::{self, Resolved};
use crate::target::{self, Control};
use crate::verdict;
use crate::workload_args;

/// Exit codes (documented in `--help` and the README).
const EXIT_FAILED: i32 = 1;
const EXIT_USAGE: i32 = 2;

fn usage(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    EXIT_USAGE
}

fn failed(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    EXIT_FAILED
}

pub fn run(a: RunArgs, spec: Option<&Loaded>) -> i32 {
    if let Err(e) = budget::raise_nofile() {
        eprintln!("note: cannot raise the descriptor limit (ulimit -n) to its hard limit: {e}");
    }
    // Test-only switch, read once (see budget::TEST_FREE_FDS_ENV).
    let test_free_fds = std::env::var(budget::TEST_FREE_FDS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(l) = spec {
        multinode::apply_credential_refs(l);
    }
    // A signal during the listing or at the barrier must end the rank in order (a result
    // file, status interrupted), not kill it.
    ringload_engine::run::install_signal_handlers();
    let env = |k: &str| std::env::var(k).ok();
    let alone =
        a.rank.is_none() && ranks::resolve(None, None, &env).is_ok_and(|r| r.source == "default");
    let r = match ranks::resolve(a.rank, a.ranks, &env) {
        Ok(r) => r,
        // One spec runs unchanged on a laptop: with no rank and no scheduler, the spec's
        // workload runs as a single rank.
        Err(_) if spec.is_some() && alone => {
            eprintln!(
                "note: no --rank and no scheduler here: running the spec as one rank (0 of 1); \
                 pass --rank R to run one of its {} ranks by hand, or render it for a scheduler",
                a.ranks.unwrap_or(1)
            );
            Rank {
                rank: 0,
                ranks: 1,
                source: "default",
            }
        }
        Err(e) => return usage(e),
    };
    if let Some(l) = spec.filter(|l| l.auto_id && r.ranks > 1) {
        let typed = std::env::args().any(|x| x == "--run-id" || x.starts_with("--run-id="));
        if !typed {
            return usage(format!(
                "{}: id = \"auto\" would give each of the {} ranks started by hand an id of its \
                 own\n  hint: render the spec (the rendered job carries one fixed id), or give \
                 every rank the same --run-id",
                l.file.display(),
                r.ranks
            ));
        }
    }
    if r.ranks > 1 || r.source != "default" {
        eprintln!("note: rank {} of {} (from {})", r.rank, r.ranks, r.source);
    }
    if a.sampler == SamplerArg::Distributed && a.seed == 0 && a.run_id.is_none() && r.ranks > 1 {
        return usage(
            "--sampler distributed needs every rank to draw the same permutations: give the \
             ranks the same --seed or the same --run-id (a spec gives them its [run] id)",
        );
    }
    let run_id = a.run_id.clone().unwrap_or_else(default_run_id);
    let mut w = workload_args::workload(&a, r, &run_id);
    let resolved = match resolve::resolve(&resolve::Given::from_args(&a), &env) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    for n in &resolved.notes {
        eprintln!("note: {n}");
    }
    w.protocol = resolved.protocol;
    if let Err(e) = target::configure(&mut w, &a.bucket) {
        return usage(e);
    }
    if let Err(e) = w.validate() {
        return usage(e);
    }
    if let Err(e) = target::check_budget(&w, resolved.builtin(), a.prefill) {
        return usage(e);
    }
    if a.cleanup && r.ranks > 1 {
        return usage(format!(
            "--cleanup with {} ranks would let the first rank to finish remove the bucket under \
             the others: leave it out of multi-rank runs and remove the bucket once after the \
             job (e.g. `ais bucket rm ais://BUCKET`)",
            r.ranks
        ));
    }
    if a.cleanup && w.protocol != Protocol::Ais {
        return usage(
            "--cleanup works with --protocol ais only (it destroys or empties an AIS bucket)",
        );
    }
    if let Some(r) = a.max_error_rate {
        if !(0.0..=1.0).contains(&r) {
            return usage(format!("--max-error-rate {r} must be a fraction in 0..=1"));
        }
    }
    let run_dir = a.results_dir.as_ref().map(|d| d.join(&run_id));
    let result_path = match multinode::result_path(&a, run_dir.as_deref(), r) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    // From here on a failure still leaves this rank's result file (status failed), so a merge
    // names the rank and why instead of reporting it missing.
    let setup_json = serde_json::to_value(&w).unwrap_or_default();
    // The built-in target's URL is known once it runs.
    let target_info =
        std::cell::RefCell::new(resolved.info(resolved.endpoint.as_deref().unwrap_or_default()));
    let fail = |code: i32, reason: &str, msg: String| -> i32 {
        if let Some(p) = &result_path {
            let t = Some(target_info.borrow().clone());
            multinode::record_failure(p, &run_id, r, &setup_json, t, reason);
        }
        eprintln!("error: {msg}");
        code
    };
    let mut names = match &w.filelist {
        Some(p) => match NameList::from_filelist(p) {
            Ok(n) => n,
            Err(e) => return fail(EXIT_USAGE, "setup", e.to_string()),
        },
        None => NameList::new(),
    };
    // The built-in target lives as long as this function.
    let mut builtin = None;
    let mut builtin_proto = None;
    let mut control = None;
    match &resolved.endpoint {
        Some(url) => {
            match Endpoint::parse(url) {
                Ok(ep) => w.endpoint = Some(ep),
                Err(e) => return fail(EXIT_USAGE, "setup", e.to_string()),
            }
            if w.protocol != Protocol::Http {
                // Before any bucket call, so a dead endpoint fails as unreachable, as it does
                // for http (where the run itself checks it, after the usage checks).
                if let Some(Err(RunError::Unreachable { url, err })) =
                    w.endpoint.as_ref().map(run::preflight)
                {
                    let msg = resolved.unreachable(&url, &err);
                    return fail(EXIT_FAILED, "unreachable", msg);
                }
                let mut c = Control::new(&w);
                if w.protocol == Protocol::S3 {
                    if let Err(e) = c.check_s3_bucket(&w) {
                        return fail(EXIT_FAILED, "setup", e.to_string());
                    }
                }
                match c.ensure_bucket(&w) {
                    Ok(true) if !w.put_only() => {
                        return fail(
                            EXIT_USAGE,
                            "setup",
                            format!(
                                "bucket ais://{} did not exist and was just created, so there \
                                 is nothing to GET: run with --pctput 100 to fill it first",
                                w.bucket
                            ),
                        )
                    }
                    Ok(_) => {}
                    Err(e) => return fail(EXIT_FAILED, "setup", e.to_string()),
                }
                if !w.put_only() && names.is_empty() {
                    if let Err(e) = c.list(&w, &mut names) {
                        return fail(EXIT_FAILED, "setup", e.to_string());
                    }
                }
                control = Some(c);
            }
        }
        None if w.protocol != Protocol::Http => {
            let h = match target::Builtin::start(&w) {
                Ok(h) => h,
                Err(e) => {
                    return fail(
                        EXIT_FAILED,
                        "setup",
                        format!("cannot start the built-in target: {e}"),
                    )
                }
            };
            eprintln!(
                "note: nothing names a target: loading the built-in {} target at {}",
                w.protocol.as_str(),
                h.url()
            );
            target_info.borrow_mut().endpoint = h.url();
            if !w.put_only() && names.is_empty() {
                prefill_with(&w, a.prefill, &mut names, |name, size| {
                    h.insert(&w.bucket, name, size)
                });
            }
            w.endpoint = Some(Endpoint::parse(&h.url()).expect("the built-in target's URL parses"));
            if a.cleanup {
                control = Some(Control::new(&w));
            }
            builtin_proto = Some(h);
        }
        None => {
            let cfg = ServeConfig {
                listen: "127.0.0.1:0".parse().expect("valid literal address"),
                cores: 1,
                ..ServeConfig::default()
            };
            let h = match server::start(cfg) {
                Ok(h) => h,
                Err(e) => {
                    return fail(
                        EXIT_FAILED,
                        "setup",
                        format!("cannot start the built-in target: {e}"),
                    )
                }
            };
            eprintln!(
                "note: nothing names a target: loading the built-in target at {}",
                h.url()
            );
            target_info.borrow_mut().endpoint = h.url();
            if !w.put_only() && names.is_empty() {
                prefill(&h, &w, a.prefill, &mut names);
            }
            w.endpoint = Some(Endpoint::parse(&h.url()).expect("the built-in target's URL parses"));
            builtin = Some(h);
        }
    }
    if w.get_only() && names.is_empty() {
        return fail(
            EXIT_USAGE,
            "setup",
            "nothing to GET: a read-only run needs object names. Give --filelist FILE, add \
             PUTs with --pctput, or omit --endpoint to use the built-in target"
                .into(),
        );
    }
    if let (true, Some(d)) = (a.barrier, &run_dir) {
        let stop = ringload_engine::run::signalled;
        match barrier::check_in_and_wait(d, r.rank, r.ranks, a.barrier_timeout, &stop) {
            Ok(waited) => eprintln!(
                "note: all {} ranks checked in (waited {:.1} s at the barrier)",
                r.ranks,
                waited.as_secs_f64()
            ),
            Err(e) if stop() => return fail(EXIT_FAILED, "signal", e),
            Err(e) => return fail(EXIT_FAILED, "barrier", e),
        }
    }
    eprintln!("{}", plan(&w, names.len(), &resolved));
    let live = std::io::stderr().is_terminal() && !a.json;
    let opts = RunOptions {
        live,
        table_to_stderr: a.json,
    };
    let listed = if a.cleanup {
        names.clone()
    } else {
        NameList::new()
    };
    // Test-only (budget::TEST_FREE_FDS_ENV): descriptors taken so that the load hits EMFILE.
    let held = test_free_fds.map(budget::hold_all_fds_but);
    let outcome = run::run(&w, names, &opts);
    drop(held);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e @ (RunError::NoNames { .. } | RunError::NoEndpoint | RunError::Inject(_))) => {
            return fail(EXIT_USAGE, "setup", e.to_string())
        }
        Err(RunError::Unreachable { url, err }) => {
            return fail(EXIT_FAILED, "unreachable", resolved.unreachable(&url, &err))
        }
        Err(e) => return fail(EXIT_FAILED, "setup", e.to_string()),
    };
    if let Some(c) = control.as_mut().filter(|_| a.cleanup) {
        if let Err(e) = c.cleanup(&w, &listed, outcome.puts) {
            eprintln!("warning: {e}");
        }
    }
    drop(builtin);
    drop(builtin_proto);
    let status = match outcome.reason {
        // A core panicked or its driver failed: the numbers are partial.
        _ if outcome.failure.is_some() => RunStatus::Failed,
        StopReason::Signal => RunStatus::Interrupted,
        StopReason::ConnectFailed | StopReason::Forbidden => RunStatus::Failed,
        _ => RunStatus::Completed,
    };
    let mut workload_json = serde_json::to_value(&w).unwrap_or_default();
    if let Some(obj) = workload_json.as_object_mut() {
        obj.insert(
            "driver_used".into(),
            serde_json::to_value(outcome.driver).unwrap_or_default(),
        );
        obj.insert("cores_used".into(), outcome.cores.into());
    }
    let meta = RunMeta {
        run_id: run_id.clone(),
        rank: r.rank,
        ranks: r.ranks,
        host: multinode::hostname(),
        status,
        workload: workload_json,
        stop_reason: outcome.reason.as_str().to_string(),
        peak_rss_bytes: ringload_engine::record::peak_rss_bytes(),
        target: Some(target_info.borrow().clone()),
    };
    let mut doc = ringload_engine::record::build(meta, &outcome.totals);
    doc.error = outcome.failure.clone();
    if let Some(c) = control.as_ref().filter(|c| !c.list_stats.is_empty()) {
        doc.ops.insert("list".into(), c.list_stats.summary());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    if let Some(path) = &result_path {
        if let Err(e) = doc.write_atomic(path) {
            // Never lose a run's numbers: hand the document over on stderr instead.
            if !a.json {
                eprintln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            return failed(format!(
                "{e} (the result document was printed above instead)"
            ));
        }
        eprintln!("result written to {}", path.display());
    }
    if resolved.builtin() {
        eprintln!(
            "note: this run loaded the built-in target on loopback ({}): nothing named a \
             target, so the figures are ringload's own server, not a storage system",
            target_info.borrow().endpoint
        );
    }
    let url = target_info.borrow().endpoint.clone();
    let code = verdict::exit_code(&a, &url, &outcome);
    match (&run_dir, a.merge && r.rank == 0) {
        (Some(d), true) => code.max(multinode::merge_when_done(d, r.ranks, a.merge_timeout)),
        _ => code,
    }
}

/// Fills the built-in target with `count` objects named and sized as PUTs would be.
fn prefill(h: &server::ServerHandle, w: &Workload, count: u64, names: &mut NameList) {
    prefill_with(w, count, names, |name, size| {
        h.insert(&format!("{}/{}", w.bucket, name), size)
    });
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

/// One line that says what the run is about to do, so a typo shows before the load starts.
fn plan(w: &Workload, names: usize, target: &Resolved) -> String {
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
    format!(
        "ringload: {} requests in flight on {cores} core(s) against {url} ({} bucket {}): {mix}{order}, \
         {until} (seed {})",
        w.numworkers,
        w.protocol.as_str(),
        w.bucket,
        w.seed
    )
}

fn default_run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("run-{secs}")
}
