//! The checks a spec passes before anything runs or renders: every value against the syntax
//! its destination accepts ([`super::check`]) and the rules that tie sections together
//! (Slurm's nodes × tasks = ranks, keys that belong to another section, TLS settings that
//! contradict each other, in `tls.rs`).

use ringload_core::kinds::{CksumType, Protocol, S3Addressing};

use super::{check, Loaded, SpecError};

mod tls;
use tls::tls;

/// `[workload]` keys that belong to another section, with that section.
const RESERVED: &[(&str, &str)] = &[
    ("endpoint", "[target] endpoint"),
    ("s3endpoint", "[target] endpoint"),
    ("protocol", "[target] protocol"),
    ("bucket", "[target] bucket"),
    ("s3-addressing", "[target] s3_addressing"),
    ("cksum-type", "[target] cksum_type"),
    ("tls-ca", "[target] tls_ca"),
    ("tls-insecure", "[target] tls_insecure"),
    ("tls-cert", "[target] tls_cert"),
    ("tls-key", "[target] tls_key"),
    (
        "rank",
        "the scheduler's environment (or `ringload run --rank`)",
    ),
    ("ranks", "[run] ranks"),
    ("run-id", "[run] id"),
    ("result", "[run] results_dir"),
    ("results-dir", "[run] results_dir"),
    ("barrier", "[run] barrier"),
    ("barrier-timeout", "[run] barrier_timeout"),
    ("merge-timeout", "[run] merge_timeout"),
    ("metrics-listen", "[run] metrics_port"),
    ("spec", "the command line"),
    ("json", "the command line"),
    ("merge", "the command line"),
];

/// Checks `value` at `path` (`["section", "key", ...]`) with `f`; a failure points at its line
/// with `f`'s hint.
fn value(
    l: &Loaded,
    path: &[&str],
    value: &str,
    f: fn(&str) -> Result<(), String>,
) -> Result<(), SpecError> {
    f(value).map_err(|hint| {
        l.error_at(
            path,
            format!(
                "[{}] {} = {value:?} is not valid",
                path[0],
                key_path(&path[1..])
            ),
        )
        .hint(hint)
    })
}

/// Runs every check; the first failure is returned, pointing at its line.
pub fn spec(l: &Loaded) -> Result<(), SpecError> {
    let s = &l.spec;
    let field = |path: &[&str], v: &str, f: fn(&str) -> Result<(), String>| value(l, path, v, f);
    // [run]
    field(&["run", "id"], &s.run.id, check::run_id)?;
    if s.run.ranks == 0 || s.run.ranks > 100_000 {
        return Err(l
            .error_at(
                &["run", "ranks"],
                format!("[run] ranks = {} is out of range", s.run.ranks),
            )
            .hint("ranks is the number of client processes, 1..=100000"));
    }
    if let Some(p) = s.run.metrics_port.filter(|p| !(1..=65535).contains(p)) {
        return Err(l
            .error_at(
                &["run", "metrics_port"],
                format!("[run] metrics_port = {p} is out of range"),
            )
            .hint("a TCP port, 1..=65535 (e.g. metrics_port = 9464)"));
    }
    for (key, v) in [
        ("barrier_timeout", &s.run.barrier_timeout),
        ("merge_timeout", &s.run.merge_timeout),
    ] {
        if let Err(e) = ringload_core::units::parse_duration(v) {
            return Err(l
                .error_at(&["run", key], format!("[run] {key} = {v:?}: {e}"))
                .hint("a duration in Go syntax, e.g. \"90s\" or \"10m\""));
        }
    }
    for (key, v) in [
        ("results_dir", &s.run.results_dir),
        ("ringload", &s.run.ringload),
    ] {
        field(&["run", key], v, check::path)?;
    }
    if s.run.ringload.starts_with('-') {
        return Err(l
            .error_at(
                &["run", "ringload"],
                format!("[run] ringload = {:?} starts with '-'", s.run.ringload),
            )
            .hint(
                "mpirun and srun would read it as one of their options: give a path, e.g. \
                 \"./-name\" or \"/opt/ringload/bin/ringload\"",
            ));
    }
    // [target]
    let t = &s.target;
    one_of(
        l,
        &["target", "protocol"],
        t.protocol.as_deref(),
        &Protocol::NAMES,
    )?;
    one_of(
        l,
        &["target", "s3_addressing"],
        t.s3_addressing.as_deref(),
        &S3Addressing::NAMES,
    )?;
    one_of(
        l,
        &["target", "cksum_type"],
        t.cksum_type.as_deref(),
        &CksumType::NAMES,
    )?;
    if let Some(ep) = &t.endpoint {
        field(&["target", "endpoint"], ep, check::endpoint)?;
    }
    if let Some(b) = &t.bucket {
        field(&["target", "bucket"], b, check::no_nul)?;
    }
    let c = &t.credentials;
    if let Some(sec) = &c.secret {
        field(
            &["target", "credentials", "secret"],
            sec,
            check::rfc1123_subdomain,
        )?;
    }
    for (key, v) in [
        ("token_env", &c.token_env),
        ("access_key_env", &c.access_key_env),
        ("secret_key_env", &c.secret_key_env),
        ("session_token_env", &c.session_token_env),
    ] {
        if let Some(v) = v {
            field(&["target", "credentials", key], v, check::env_name)?;
        }
    }
    tls(l)?;
    // [workload]
    for (key, value) in &s.workload {
        let flag = key.replace('_', "-");
        if let Some((_, home)) = RESERVED.iter().find(|(k, _)| *k == flag) {
            return Err(l
                .error_at(
                    &["workload", key],
                    format!("[workload] {key} does not belong here"),
                )
                .hint(format!("set it in {home}")));
        }
        match value {
            toml::Value::String(v) => field(&["workload", key], v, check::no_nul)?,
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {}
            // `arch.pct = 10` (aisloader's `-arch.pct`) is a TOML table: name the flat key.
            toml::Value::Table(t) if flat(key) && t.keys().next().is_some_and(|k| flat(k)) => {
                let inner = t.keys().next().map_or("", String::as_str);
                return Err(l
                    .error_at(
                        &["workload", key],
                        format!("[workload] {} must be a single value", key_path(&[key])),
                    )
                    .hint(format!(
                        "a dotted key is a TOML table; workload keys are `ringload run` flags \
                         without their dashes: write {key}_{} = ... (aisloader's -{key}.{inner} \
                         is --{key}-{inner})",
                        inner.replace('-', "_")
                    )));
            }
            _ => {
                return Err(l
                    .error_at(
                        &["workload", key],
                        format!("[workload] {} must be a single value", key_path(&[key])),
                    )
                    .hint(
                        "workload keys are `ringload run` flags: a string, number or true/false",
                    ))
            }
        }
    }
    if let Some(k) = &s.kubernetes {
        kubernetes(l, k)?;
    }
    if let Some(sl) = &s.slurm {
        slurm(l, sl)?;
    }
    if let Some(m) = &s.mpi {
        one_of(
            l,
            &["mpi", "launcher"],
            Some(&m.launcher),
            &["mpirun", "srun"],
        )?;
        for (i, a) in m.args.iter().enumerate() {
            field(&["mpi", "args", &i.to_string()], a, check::no_nul)?;
        }
    }
    Ok(())
}

/// A key path for a message, `a.b.c`, with every part that is not a plain word quoted and
/// escaped: a hostile key cannot break the message's lines or drive the terminal.
/// A key made only of letters, digits, `-` and `_` (safe to quote back as is).
fn flat(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn key_path(parts: &[&str]) -> String {
    let plain = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b))
    };
    parts
        .iter()
        .map(|p| {
            if plain(p) {
                p.to_string()
            } else {
                format!("{p:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn one_of(l: &Loaded, path: &[&str], v: Option<&str>, allowed: &[&str]) -> Result<(), SpecError> {
    match v {
        Some(v) if !allowed.contains(&v) => Err(l
            .error_at(
                path,
                format!(
                    "[{}] {} = {v:?} is not one of {allowed:?}",
                    path[0], path[1]
                ),
            )
            .hint(format!("use one of: {}", allowed.join(", ")))),
        _ => Ok(()),
    }
}

fn kubernetes(l: &Loaded, k: &super::Kubernetes) -> Result<(), SpecError> {
    let at = |path: &[&str], v: &str, f: fn(&str) -> Result<(), String>| value(l, path, v, f);
    at(&["kubernetes", "image"], &k.image, check::image)?;
    one_of(
        l,
        &["kubernetes", "pull_policy"],
        Some(&k.pull_policy),
        &["Always", "IfNotPresent", "Never"],
    )?;
    at(
        &["kubernetes", "namespace"],
        &k.namespace,
        check::rfc1123_label,
    )?;
    for (key, v) in [
        ("pull_secret", &k.pull_secret),
        ("service_account", &k.service_account),
        ("results_pvc", &k.results_pvc),
    ] {
        if let Some(v) = v {
            at(&["kubernetes", key], v, check::rfc1123_subdomain)?;
        }
    }
    for (key, v) in &k.node_selector {
        at(
            &["kubernetes", "node_selector", key],
            key,
            check::qualified_name,
        )?;
        at(&["kubernetes", "node_selector", key], v, check::label_value)?;
    }
    for (section, map) in [
        ("requests", &k.resources.requests),
        ("limits", &k.resources.limits),
    ] {
        for (key, v) in map {
            let path = ["kubernetes", "resources", section, key.as_str()];
            at(&path, key, check::qualified_name)?;
            at(&path, v, check::quantity)?;
        }
    }
    for (i, t) in k.tolerations.iter().enumerate() {
        let i = i.to_string();
        if let Some(key) = &t.key {
            at(
                &["kubernetes", "tolerations", &i, "key"],
                key,
                check::qualified_name,
            )?;
        }
        if let Some(v) = &t.value {
            at(
                &["kubernetes", "tolerations", &i, "value"],
                v,
                check::label_value,
            )?;
        }
        one_of(
            l,
            &["kubernetes", "tolerations", &i, "operator"],
            t.operator.as_deref(),
            &["Exists", "Equal"],
        )?;
        one_of(
            l,
            &["kubernetes", "tolerations", &i, "effect"],
            t.effect.as_deref(),
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        )?;
    }
    for (key, v) in &k.sysctls {
        at(&["kubernetes", "sysctls", key], key, check::sysctl_name)?;
        at(&["kubernetes", "sysctls", key], v, check::no_nul)?;
    }
    for (key, v) in &k.env {
        at(&["kubernetes", "env", key], key, check::env_name)?;
        at(&["kubernetes", "env", key], v, check::no_nul)?;
    }
    Ok(())
}

fn slurm(l: &Loaded, s: &super::Slurm) -> Result<(), SpecError> {
    let at =
        |key: &str, v: &str, f: fn(&str) -> Result<(), String>| value(l, &["slurm", key], v, f);
    for (key, v) in [
        ("partition", &s.partition),
        ("account", &s.account),
        ("time", &s.time),
        ("job_name", &s.job_name),
    ] {
        if let Some(v) = v {
            at(key, v, check::directive_word)?;
        }
    }
    for (i, line) in s.extra.iter().enumerate() {
        check::sbatch_line(line).map_err(|hint| {
            l.error_at(
                &["slurm", "extra", &i.to_string()],
                format!("[slurm] extra {line:?} is not valid"),
            )
            .hint(hint)
        })?;
    }
    if let Some(d) = &s.results_dir {
        at("results_dir", d, check::path)?;
    }
    let ranks = l.spec.run.ranks;
    if s.nodes == 0
        || s.tasks_per_node == 0
        || u64::from(s.nodes) * u64::from(s.tasks_per_node) != u64::from(ranks)
    {
        return Err(l
            .error_at(
                &["slurm", "nodes"],
                format!(
                    "[slurm] nodes = {} × tasks_per_node = {} does not give [run] ranks = {ranks}",
                    s.nodes, s.tasks_per_node
                ),
            )
            .hint("every task is one rank: make nodes × tasks_per_node equal ranks"));
    }
    Ok(())
}
