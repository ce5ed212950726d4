//! `--spec`: a run spec becomes `ringload run` flags, placed before the command line's own so
//! that flags given by hand override the spec (a flag given twice takes its last value).
//!
//! Owns the mapping spec → flags ([`spec_flags`]; `[target] tls_*` become `--tls-*`, `[run]
//! metrics_port` becomes `--metrics-listen :PORT` plus the node-local rank), which
//! values came from the spec rather than the command line (`RunArgs::from_spec`, so a result
//! can say where its target came from), and checking each `[workload]` value with the same
//! clap parser the command line uses, so a bad value fails with the spec's file and line
//! and clap's own explanation, before anything runs or renders ([`check_workload`]).

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{CommandFactory, Parser};
use ringload_launcher::spec::{Loaded, SpecError};

use crate::cli::{Cli, Command, RunArgs};

/// Loads and checks a spec, including its `[workload]` values; prints nothing.
pub fn load(path: &Path) -> Result<Loaded, SpecError> {
    let l = Loaded::load(path)?;
    check_workload(&l)?;
    Ok(l)
}

/// True when `flag` is a `run` switch that takes no value (`--cleanup`, `--verifyhash`).
fn is_switch(flag: &str) -> bool {
    let cmd = Cli::command();
    let Some(run) = cmd.find_subcommand("run") else {
        return false;
    };
    let switch = run
        .get_arguments()
        .find(|a| a.get_long() == Some(flag))
        .is_some_and(|a| !a.get_action().takes_values());
    switch
}

/// The flags for one `[workload]` entry.
fn entry_flags(key: &str, value: &str) -> Vec<String> {
    let flag = key.replace('_', "-");
    if is_switch(&flag) {
        match value {
            "true" => vec![format!("--{flag}")],
            _ => Vec::new(),
        }
    } else {
        vec![format!("--{flag}={value}")]
    }
}

/// clap's message without its "error: " prefix and usage footer.
fn clap_reason(e: &clap::Error) -> String {
    let text = e.render().to_string();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .map(|l| l.trim_start_matches("error: ").to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks every `[workload]` entry with the command line's parser, one at a time, so an error
/// points at its own line.
pub fn check_workload(l: &Loaded) -> Result<(), SpecError> {
    for (key, value, at) in l.workload_entries() {
        if is_switch(&key.replace('_', "-")) && value != "true" && value != "false" {
            return Err(SpecError::new(
                &l.file,
                format!("[workload] {key} = {value:?} is not valid"),
            )
            .at(at)
            .hint(format!(
                "{key} is a switch: write {key} = true or {key} = false"
            )));
        }
        let mut argv = vec!["ringload".to_string(), "run".to_string()];
        argv.extend(entry_flags(&key, &value));
        if let Err(e) = Cli::try_parse_from(&argv) {
            return Err(SpecError::new(
                &l.file,
                format!("[workload] {key} = {value:?} is not valid"),
            )
            .at(at)
            .hint(format!(
                "{} (workload keys are `ringload run` flags: see `ringload run --help`)",
                clap_reason(&e)
            )));
        }
    }
    Ok(())
}

/// The flags a spec stands for, in the order `[run]`, `[target]`, `[workload]`.
pub fn spec_flags(l: &Loaded) -> Vec<String> {
    let s = &l.spec;
    let mut f = vec![
        format!("--run-id={}", s.run.id),
        format!("--ranks={}", s.run.ranks),
        format!("--results-dir={}", s.run.results_dir),
        format!("--merge-timeout={}", s.run.merge_timeout),
        format!("--barrier-timeout={}", s.run.barrier_timeout),
    ];
    if s.run.barrier {
        f.push("--barrier".into());
    }
    // Ranks that share a node (Slurm, mpirun) each take their own port; a port past 65535 is
    // refused by `run_args` before these flags are used.
    if let Some(Ok(port)) = metrics_port(s.run.metrics_port, |k| std::env::var(k).ok()) {
        f.push(format!("--metrics-listen=:{port}"));
    }
    let t = &s.target;
    for (flag, v) in [
        ("protocol", &t.protocol),
        ("endpoint", &t.endpoint),
        ("bucket", &t.bucket),
        ("s3-addressing", &t.s3_addressing),
        ("cksum-type", &t.cksum_type),
        ("tls-ca", &t.tls_ca),
        ("tls-cert", &t.tls_cert),
        ("tls-key", &t.tls_key),
    ] {
        if let Some(v) = v {
            f.push(format!("--{flag}={v}"));
        }
    }
    if t.tls_insecure {
        f.push("--tls-insecure".into());
    }
    for (key, value, _) in l.workload_entries() {
        f.extend(entry_flags(&key, &value));
    }
    f
}

/// The environment variables that give a rank's index among the ranks on its node.
pub const LOCAL_RANK_VARS: [&str; 3] = [
    "SLURM_LOCALID",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
];

/// This process's node-local rank (the first of [`LOCAL_RANK_VARS`] set to a number) and the
/// variable that gave it, 0 when none is (one rank per pod or per machine).
fn local_rank(env: impl Fn(&str) -> Option<String>) -> (Option<&'static str>, i64) {
    LOCAL_RANK_VARS
        .iter()
        .find_map(|&k| Some((Some(k), i64::from(env(k)?.trim().parse::<u16>().ok()?))))
        .unwrap_or((None, 0))
}

/// `[run] metrics_port` plus the node-local rank, or why that is not a port (naming both the
/// key and the variable that set the local rank, and the fix).
fn metrics_port(
    port: Option<i64>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<Result<u16, String>> {
    let port = port?;
    let (var, local) = local_rank(env);
    Some(u16::try_from(port.saturating_add(local)).map_err(|_| {
        format!(
            "[run] metrics_port = {port} plus the node-local rank {local} (from {}) is {}, past \
             65535: lower [run] metrics_port so that every rank on a node gets a port",
            var.unwrap_or("none"),
            port.saturating_add(local)
        )
    }))
}

/// Re-parses `ringload run` with the spec's flags first and this process's own after them.
pub fn run_args(l: &Loaded) -> Result<RunArgs, clap::Error> {
    let own: Vec<OsString> = std::env::args_os().collect();
    let after_run = own
        .iter()
        .skip(1)
        .position(|a| a == "run")
        .map_or(own.len(), |i| i + 2);
    if let Some(Err(e)) = metrics_port(l.spec.run.metrics_port, |k| std::env::var(k).ok()) {
        return Err(clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!("{e}\n"),
        ));
    }
    combine(spec_flags(l), own.into_iter().skip(after_run).collect())
}

/// `ringload run <spec flags> <own>`, with `from_spec` naming the arguments whose value came
/// from the spec (given there and not typed in `own`).
fn combine(spec: Vec<String>, own: Vec<OsString>) -> Result<RunArgs, clap::Error> {
    let typed = |args: &[OsString]| -> Vec<String> {
        let mut argv: Vec<OsString> = vec!["ringload".into(), "run".into()];
        argv.extend(args.iter().cloned());
        let Ok(m) = Cli::command().try_get_matches_from(argv) else {
            return Vec::new();
        };
        let Some(run) = m.subcommand_matches("run") else {
            return Vec::new();
        };
        run.ids()
            .filter(|id| run.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.as_str().to_string())
            .collect()
    };
    let spec: Vec<OsString> = spec.into_iter().map(OsString::from).collect();
    let by_hand = typed(&own);
    let from_spec: Vec<String> = typed(&spec)
        .into_iter()
        .filter(|id| !by_hand.contains(id))
        .collect();
    let mut argv: Vec<OsString> = vec!["ringload".into(), "run".into()];
    argv.extend(spec);
    argv.extend(own);
    match Cli::try_parse_from(argv)?.command {
        Command::Run(a) => Ok(RunArgs { from_spec, ..*a }),
        _ => unreachable!("the argument list starts with `run`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(text: &str) -> Result<Loaded, SpecError> {
        let l = Loaded::parse(
            Path::new("run.toml"),
            text.into(),
            std::time::SystemTime::now(),
        )?;
        check_workload(&l)?;
        Ok(l)
    }

    #[test]
    fn workload_values_are_checked_at_their_line() {
        let e = loaded("[run]\n[workload]\nnumworkers = 4\nminsize = \"lots\"\n").unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(4), "{e}");
        assert!(e.to_string().contains("minsize"), "{e}");
        let e = loaded("[run]\n[workload]\ncleanup = \"yes\"\n").unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(3), "{e}");
        assert!(
            e.to_string().contains("cleanup = true"),
            "a switch takes true/false: {e}"
        );
        let e = loaded("[run]\n[workload]\nnumworker = 4\n").unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(3), "{e}");
        assert!(e.to_string().contains("--numworkers"), "a suggestion: {e}");
    }

    /// Every ML data-loading flag as a `[workload]` key.
    const ML: &str = "[run]\nid = \"x\"\n[workload]\nget_batchsize = 32\ncont_on_err = true\n\
        arch_format = \".tar\"\narch_prefix = \"trunk-\"\narch_num_files = 5\n\
        arch_minsize = \"1KiB\"\narch_maxsize = \"4KiB\"\narch_pct = 10\narch_list = true\n\
        multipart_chunks = 4\npctmultipart = 20\npctmpdstream = 0\nmpdstream_workers = 3\n\
        mpdstream_chunk_size = \"4MiB\"\n";

    #[test]
    fn ml_keys_become_the_run_s_ml_flags() {
        let l = loaded(ML).unwrap();
        let f = spec_flags(&l);
        let ml: Vec<&str> = f
            .iter()
            .map(String::as_str)
            .filter(|a| {
                [
                    "--get-batchsize",
                    "--cont-on-err",
                    "--arch-",
                    "--multipart",
                    "--pctm",
                    "--mpd",
                ]
                .iter()
                .any(|p| a.starts_with(p))
            })
            .collect();
        // In the spec's order.
        assert_eq!(
            ml,
            [
                "--get-batchsize=32",
                "--cont-on-err",
                "--arch-format=.tar",
                "--arch-prefix=trunk-",
                "--arch-num-files=5",
                "--arch-minsize=1KiB",
                "--arch-maxsize=4KiB",
                "--arch-pct=10",
                "--arch-list",
                "--multipart-chunks=4",
                "--pctmultipart=20",
                "--pctmpdstream=0",
                "--mpdstream-workers=3",
                "--mpdstream-chunk-size=4MiB",
            ]
        );
        let a = combine(f, Vec::new()).unwrap();
        let p = a.ml.paths();
        assert_eq!(
            (
                p.get_batchsize,
                p.cont_on_err,
                p.multipart_chunks,
                p.pctmultipart
            ),
            (32, true, 4, 20)
        );
        assert_eq!(
            (
                p.arch.num_files,
                p.arch.minsize,
                p.arch.maxsize,
                p.arch.pct,
                p.arch.list
            ),
            (5, 1024, 4096, 10, true)
        );
        assert_eq!(p.arch.prefix, "trunk-");
        assert_eq!((p.mpdstream_workers, p.mpdstream_chunk_size), (3, 4 << 20));
        // The dashed spelling is the same key.
        let l = loaded("[run]\nid = \"x\"\n[workload]\nget-batchsize = 8\n").unwrap();
        assert!(spec_flags(&l).contains(&"--get-batchsize=8".to_string()));
    }

    #[test]
    fn bad_ml_values_fail_at_their_line() {
        for (line, want) in [
            ("get_batchsize = -1", "get_batchsize"),
            ("get_batchsize = \"lots\"", "get_batchsize"),
            ("arch_minsize = \"lots\"", "arch_minsize"),
            ("multipart_chunks = 1.5", "multipart_chunks"),
            ("mpdstream_chunk_size = \"-4MiB\"", "mpdstream_chunk_size"),
            ("arch_getbatch = 1", "arch_getbatch"),
        ] {
            let e = loaded(&format!(
                "[run]\nid = \"x\"\n[workload]\npctput = 0\n{line}\n"
            ))
            .unwrap_err();
            assert_eq!(e.at.map(|a| a.0), Some(5), "{line}: {e}");
            let text = e.to_string();
            assert!(
                text.contains(&format!("[workload] {want} = ")) && text.contains("is not valid"),
                "{text}"
            );
        }
        let e = loaded("[run]\nid = \"x\"\n[workload]\ncont_on_err = \"yes\"\n").unwrap_err();
        assert!(e.to_string().contains("cont_on_err = true"), "{e}");
    }

    /// A rendered job carries the spec whole, and every rank turns its ML keys into the same
    /// flags as the spec it was rendered from.
    #[test]
    fn rendered_jobs_pass_the_ml_keys_through() {
        use ringload_launcher::render::{render, Platform};
        let text = format!(
            "{ML}[kubernetes]\nimage = \"ringload:1\"\n[slurm]\nnodes = 1\ntasks_per_node = 1\n"
        );
        let l = loaded(&text).unwrap();
        for p in [Platform::Kubernetes, Platform::Slurm, Platform::Mpi] {
            let files = render(&l, p, None).unwrap();
            assert!(
                files.iter().any(|f| f.text.contains("get_batchsize = 32")
                    && f.text.contains("mpdstream_chunk_size = ")),
                "{}: the spec in the job",
                p.name()
            );
        }
        // The job's spec is re-serialized (keys sorted): the same flags, in key order.
        let again = loaded(&l.resolved_toml()).unwrap();
        let (mut a, mut b) = (spec_flags(&again), spec_flags(&l));
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn metrics_port_listens_on_every_address_plus_the_node_local_rank() {
        let l = loaded("[run]\nid = \"x\"\nmetrics_port = 9464\n").unwrap();
        let f = spec_flags(&l);
        let local = local_rank(|k| std::env::var(k).ok()).1;
        let want = format!("--metrics-listen=:{}", 9464 + local);
        assert!(f.contains(&want), "{f:?}");
        assert_eq!(local_rank(|_| None), (None, 0));
        let env =
            |want: &'static str, v: &'static str| move |k: &str| (k == want).then(|| v.to_string());
        assert_eq!(local_rank(env("SLURM_LOCALID", "3")).1, 3);
        assert_eq!(local_rank(env("OMPI_COMM_WORLD_LOCAL_RANK", "1")).1, 1);
        assert_eq!(local_rank(env("MPI_LOCALRANKID", "2")).1, 2);
        assert_eq!(local_rank(env("SLURM_LOCALID", "x")), (None, 0));
        // Past 65535 with the local rank: refused, naming the key and the variable.
        assert_eq!(
            metrics_port(Some(65_530), env("SLURM_LOCALID", "5")),
            Some(Ok(65_535))
        );
        let e = metrics_port(Some(65_530), env("SLURM_LOCALID", "6"))
            .unwrap()
            .unwrap_err();
        assert_eq!(
            e,
            "[run] metrics_port = 65530 plus the node-local rank 6 (from SLURM_LOCALID) is \
             65536, past 65535: lower [run] metrics_port so that every rank on a node gets a port"
        );
        assert_eq!(metrics_port(None, env("SLURM_LOCALID", "6")), None);
        for bad in ["0", "65536", "-1"] {
            let e = loaded(&format!("[run]\nid = \"x\"\nmetrics_port = {bad}\n")).unwrap_err();
            assert_eq!(e.at.map(|a| a.0), Some(3), "{e}");
            let text = e.to_string();
            assert!(
                text.contains("metrics_port") && text.contains("1..=65535"),
                "{text}"
            );
        }
        let e = loaded("[run]\nid = \"x\"\n[workload]\nmetrics_listen = \":1\"\n").unwrap_err();
        assert!(e.to_string().contains("[run] metrics_port"), "{e}");
    }

    #[test]
    fn switches_and_values_become_flags() {
        let l = loaded(
            "[run]\nid = \"x\"\nranks = 2\n[target]\nprotocol = \"ais\"\n[workload]\ncleanup = true\ncreate_bucket = true\nverifyhash = false\nuniquegets = false\nmax_error_rate = 0.5\n",
        )
        .unwrap();
        let f = spec_flags(&l);
        assert!(f.contains(&"--cleanup".to_string()), "{f:?}");
        assert!(f.contains(&"--create-bucket".to_string()), "{f:?}");
        assert!(!f.iter().any(|a| a.contains("verifyhash")), "{f:?}");
        assert!(f.contains(&"--uniquegets=false".to_string()), "{f:?}");
        assert!(f.contains(&"--max-error-rate=0.5".to_string()), "{f:?}");
        assert!(f.contains(&"--protocol=ais".to_string()) && f.contains(&"--ranks=2".to_string()));
        let argv: Vec<String> = ["ringload", "run"]
            .iter()
            .map(|s| s.to_string())
            .chain(f)
            .collect();
        assert!(Cli::try_parse_from(argv).is_ok());
    }

    #[test]
    fn tls_keys_become_the_run_s_tls_flags() {
        let l = loaded(
            "[run]\nid = \"x\"\n[target]\nendpoint = \"https://127.0.0.1:1\"\n\
             tls_ca = \"/etc/ca.pem\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
        )
        .unwrap();
        let f = spec_flags(&l);
        for want in [
            "--tls-ca=/etc/ca.pem",
            "--tls-cert=c.pem",
            "--tls-key=k.pem",
        ] {
            assert!(f.contains(&want.to_string()), "{want} in {f:?}");
        }
        assert!(!f.iter().any(|a| a == "--tls-insecure"), "{f:?}");
        let a = combine(f, Vec::new()).unwrap();
        assert_eq!(a.tls_ca.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(a.tls_cert.as_deref(), Some(Path::new("c.pem")));
        assert_eq!(a.tls_key.as_deref(), Some(Path::new("k.pem")));
        assert!(!a.tls_insecure);
        assert!(
            a.from_spec.contains(&"tls_ca".to_string()),
            "{:?}",
            a.from_spec
        );
        // A flag after the spec's wins, as for every other key (a mounted bundle on Kubernetes).
        let own = ["--tls-ca", "/mnt/ca.crt"].map(OsString::from).to_vec();
        let a = combine(spec_flags(&l), own).unwrap();
        assert_eq!(a.tls_ca.as_deref(), Some(Path::new("/mnt/ca.crt")));

        let l = loaded("[run]\nid = \"x\"\n[target]\ntls_insecure = true\n").unwrap();
        let f = spec_flags(&l);
        assert!(f.contains(&"--tls-insecure".to_string()), "{f:?}");
        assert!(combine(f, Vec::new()).unwrap().tls_insecure);
        let l = loaded("[run]\nid = \"x\"\n[target]\ntls_insecure = false\n").unwrap();
        assert!(!spec_flags(&l).iter().any(|a| a.contains("tls")));
    }

    #[test]
    fn values_the_command_line_overrides_are_not_from_the_spec() {
        let l = loaded(
            "[run]\nid = \"x\"\n[target]\nprotocol = \"ais\"\nendpoint = \"http://127.0.0.1:1\"\n",
        )
        .unwrap();
        let a = combine(spec_flags(&l), Vec::new()).unwrap();
        assert!(
            a.from_spec.contains(&"endpoint".to_string()),
            "{:?}",
            a.from_spec
        );
        assert!(
            a.from_spec.contains(&"protocol".to_string()),
            "{:?}",
            a.from_spec
        );
        let own = ["--endpoint", "http://127.0.0.1:2"]
            .map(OsString::from)
            .to_vec();
        let a = combine(spec_flags(&l), own).unwrap();
        assert_eq!(a.endpoint.as_deref(), Some("http://127.0.0.1:2"));
        assert!(
            !a.from_spec.contains(&"endpoint".to_string()),
            "{:?}",
            a.from_spec
        );
        assert!(
            a.from_spec.contains(&"protocol".to_string()),
            "{:?}",
            a.from_spec
        );
    }
}
