//! The values a template sees, built from a checked spec for one platform.
//!
//! Owns the mapping spec → template context, and the render-time rules that depend on the
//! platform: a Kubernetes Job's name (`ringload-<id>`), the container's arguments, the
//! `#SBATCH` lines, the results directory each platform writes to, the TLS volumes of a pod
//! (and refusing TLS files a pod cannot read), and refusing a run id whose results directory
//! already exists. Templates only place these values; they decide nothing.

use serde_json::{json, Value};

use super::{Platform, RenderError};
use crate::spec::{Loaded, Spec};

/// Where results land inside a rank's pod (the results volume's mount point).
pub const K8S_RESULTS: &str = "/results";
/// Where the ConfigMap is mounted inside a rank's pod, and the spec in it.
pub const K8S_SPEC_DIR: &str = "/etc/ringload";
pub const K8S_SPEC: &str = "/etc/ringload/run.toml";
/// Where `[kubernetes] tls_ca_configmap` or `tls_ca_secret` is mounted (read-only); the bundle
/// is the file named by its key.
pub const K8S_TLS_CA_DIR: &str = "/etc/ringload/tls-ca";
/// Where `[kubernetes] tls_client_secret` is mounted (read-only): `tls.crt` and `tls.key`.
pub const K8S_TLS_CLIENT_DIR: &str = "/etc/ringload/tls-client";

/// The Kubernetes objects' name for run `id`.
pub fn job_name(id: &str) -> String {
    format!("ringload-{id}")
}

/// The results directory (parent of `<id>/`) the platform's ranks write to.
pub fn results_dir(s: &Spec, platform: Platform) -> String {
    match platform {
        Platform::Kubernetes => K8S_RESULTS.to_string(),
        Platform::Slurm | Platform::Mpi => s
            .slurm
            .as_ref()
            .and_then(|sl| sl.results_dir.clone())
            .unwrap_or_else(|| s.run.results_dir.clone()),
    }
}

/// The template context for `platform`.
pub fn build(l: &Loaded, platform: Platform) -> Result<Value, RenderError> {
    let s = &l.spec;
    let results_dir = results_dir(s, platform);
    let run_dir = format!("{}/{}", results_dir.trim_end_matches('/'), s.run.id);
    let file_name = l
        .file
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let mut ctx = json!({
        "version": crate::ENGINE_VERSION,
        "spec_file": file_name,
        "run_id": s.run.id,
        "ranks": s.run.ranks,
        "name": job_name(&s.run.id),
        "spec_toml": l.resolved_toml(),
        "ringload": s.run.ringload,
        "results_dir": results_dir,
        "run_dir": run_dir,
        "directives": [],
    });
    match platform {
        Platform::Kubernetes => kubernetes(l, &mut ctx)?,
        Platform::Slurm => {
            if s.slurm.is_none() {
                return Err(missing(l, "slurm", "[slurm]\nnodes = 2\ntasks_per_node = 2").into());
            }
            refuse_existing(l, &run_dir)?;
            ctx["directives"] = directives(s);
        }
        Platform::Mpi => {
            refuse_existing(l, &run_dir)?;
            let mpi = s.mpi.clone().unwrap_or_default();
            ctx["directives"] = directives(s);
            ctx["mpirun"] = json!(mpi.launcher == "mpirun");
            ctx["launcher_args"] = json!(mpi.args);
        }
    }
    Ok(ctx)
}

fn missing(l: &Loaded, section: &str, example: &str) -> crate::spec::SpecError {
    crate::spec::SpecError::new(&l.file, format!("the spec has no [{section}] section"))
        .hint(format!("add one, e.g.\n{example}"))
}

/// Render refuses a run whose results directory exists: run ids are never reused.
fn refuse_existing(l: &Loaded, run_dir: &str) -> Result<(), RenderError> {
    if std::path::Path::new(run_dir).exists() {
        return Err(l
            .error_at(
                &["run", "id"],
                format!(
                    "results for run {:?} already exist in {run_dir}",
                    l.spec.run.id
                ),
            )
            .hint("run ids are never reused: pick a new [run] id, or id = \"auto\"")
            .into());
    }
    Ok(())
}

/// `#SBATCH` lines, each built from checked words (see `RAW_FIELDS`).
fn directives(s: &Spec) -> Value {
    let Some(sl) = &s.slurm else {
        return json!([]);
    };
    let mut lines = vec![
        format!(
            "--job-name={}",
            sl.job_name
                .clone()
                .unwrap_or_else(|| format!("ringload-{}", s.run.id))
        ),
        format!("--nodes={}", sl.nodes),
        format!("--ntasks-per-node={}", sl.tasks_per_node),
    ];
    if let Some(p) = &sl.partition {
        lines.push(format!("--partition={p}"));
    }
    if let Some(a) = &sl.account {
        lines.push(format!("--account={a}"));
    }
    if let Some(t) = &sl.time {
        lines.push(format!("--time={t}"));
    }
    lines.extend(sl.extra.iter().cloned());
    Value::Array(lines.into_iter().map(|l| json!({ "line": l })).collect())
}

fn kubernetes(l: &Loaded, ctx: &mut Value) -> Result<(), RenderError> {
    let s = &l.spec;
    let Some(k) = &s.kubernetes else {
        return Err(missing(
            l,
            "kubernetes",
            "[kubernetes]\nimage = \"ghcr.io/acme/ringload:0.1.0\"",
        )
        .into());
    };
    if k.results_pvc.is_none() && s.run.ranks > 1 {
        return Err(l
            .error_at(
                &["kubernetes"],
                format!(
                    "[kubernetes] has no results_pvc, but the run has {} ranks: each pod would \
                     write to its own emptyDir, rank 0 could not see the others' results (nor \
                     pass a barrier), and the results would be lost with the pods",
                    s.run.ranks
                ),
            )
            .hint("name a ReadWriteMany PersistentVolumeClaim: results_pvc = \"ringload-results\"")
            .into());
    }
    let pairs = |m: &std::collections::BTreeMap<String, String>| {
        Value::Array(
            m.iter()
                .map(|(k, v)| json!({ "name": k, "value": v }))
                .collect(),
        )
    };
    let tolerations: Vec<Value> = k
        .tolerations
        .iter()
        .map(|t| {
            let fields: Vec<Value> = [
                ("key", &t.key),
                ("operator", &t.operator),
                ("value", &t.value),
                ("effect", &t.effect),
            ]
            .into_iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| json!({ "name": n, "value": v })))
            .collect();
            let empty = fields.is_empty() && t.toleration_seconds.is_none();
            json!({
                "fields": fields,
                "seconds": t.toleration_seconds.map(|s| s.to_string()),
                "empty": empty,
            })
        })
        .collect();
    let mut args: Vec<String> = [
        "run",
        "--spec",
        K8S_SPEC,
        "--results-dir",
        K8S_RESULTS,
        "--merge",
    ]
    .map(String::from)
    .to_vec();
    let (tls_ca, tls_client) = tls_volumes(l, k, &mut args)?;
    ctx["namespace"] = json!(k.namespace);
    ctx["image"] = json!(k.image);
    ctx["pull_policy"] = json!(k.pull_policy);
    ctx["pull_secret"] = json!(k.pull_secret);
    ctx["service_account"] = json!(k.service_account);
    ctx["node_selector"] = pairs(&k.node_selector);
    ctx["one_pod_per_node"] = json!(k.one_pod_per_node);
    ctx["tolerations"] = json!(tolerations);
    ctx["sysctls"] = pairs(&k.sysctls);
    ctx["env"] = pairs(&k.env);
    ctx["secret"] = json!(s.target.credentials.secret);
    ctx["requests"] = pairs(&k.resources.requests);
    ctx["limits"] = pairs(&k.resources.limits);
    ctx["results_pvc"] = json!(k.results_pvc);
    ctx["ttl_seconds_after_finished"] = json!(k.ttl_seconds_after_finished);
    ctx["command"] = json!([s.run.ringload]);
    ctx["args"] = json!(args);
    ctx["spec_mount_dir"] = json!(K8S_SPEC_DIR);
    ctx["tls_ca"] = tls_ca;
    ctx["tls_client"] = tls_client;
    // `[run] metrics_port`: the container port and the pod's scrape annotations.
    ctx["metrics_port"] = json!(s.run.metrics_port);
    Ok(())
}

/// The pod's TLS volumes (`null` when absent) and the `--tls-*` arguments pointing into them.
/// A pod cannot read files named by `[target] tls_ca`, `tls_cert` or `tls_key` (they are paths
/// where the spec was written), so those are refused unless a ConfigMap or Secret provides the
/// same material; the mounted paths then override the spec's, as flags after `--spec` do.
fn tls_volumes(
    l: &Loaded,
    k: &crate::spec::Kubernetes,
    args: &mut Vec<String>,
) -> Result<(Value, Value), RenderError> {
    let t = &l.spec.target;
    let ca = match k.tls_ca_source() {
        Some((kind, name)) => {
            let key = k.tls_ca_key();
            args.extend(["--tls-ca".into(), format!("{K8S_TLS_CA_DIR}/{key}")]);
            json!({
                "configmap": kind == "configmap",
                "name": name,
                "key": key,
                "mount_dir": K8S_TLS_CA_DIR,
            })
        }
        None if t.tls_ca.is_some() => {
            let fix = format!(
                "put the CA bundle in the cluster and name it: kubectl -n {} create configmap \
                 ringload-ca --from-file=ca.crt=FILE, then [kubernetes] tls_ca_configmap = \
                 \"ringload-ca\" (or tls_ca_secret for a Secret)",
                k.namespace
            );
            return Err(unreadable(l, "tls_ca", "tls_ca_configmap or tls_ca_secret", fix).into());
        }
        None => Value::Null,
    };
    let client = match &k.tls_client_secret {
        Some(name) => {
            for (flag, file) in [("--tls-cert", "tls.crt"), ("--tls-key", "tls.key")] {
                args.extend([flag.into(), format!("{K8S_TLS_CLIENT_DIR}/{file}")]);
            }
            json!({ "name": name, "mount_dir": K8S_TLS_CLIENT_DIR })
        }
        None if t.tls_cert.is_some() => {
            let fix = format!(
                "put the client certificate in the cluster and name it: kubectl -n {} create \
                 secret tls ringload-client --cert=CERT --key=KEY, then [kubernetes] \
                 tls_client_secret = \"ringload-client\"",
                k.namespace
            );
            return Err(unreadable(l, "tls_cert", "tls_client_secret", fix).into());
        }
        None => Value::Null,
    };
    Ok((ca, client))
}

/// `[target] key` names a file a pod cannot read, and no `[kubernetes] missing` provides it;
/// `fix` says how to put it in the cluster.
fn unreadable(l: &Loaded, key: &str, missing: &str, fix: String) -> crate::spec::SpecError {
    l.error_at(
        &["target", key],
        format!(
            "[target] {key} is a file path, which a Kubernetes pod cannot read, and \
             [kubernetes] has no {missing}"
        ),
    )
    .hint(fix)
}
