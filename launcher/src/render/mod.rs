//! `ringload render`: a checked spec → the scheduler's own job files, through handlebars.
//!
//! Owns the platforms ([`Platform`]), the templates built into the binary (from `templates/`,
//! overridable file by file with `--templates DIR`), and the context each template sees
//! ([`context`]). Every `{{value}}` is escaped for its file type by the registry's escape
//! function: YAML double-quoted scalars for manifests, single-quoted shell words for scripts
//! ([`escape`]). Triple braces `{{{x}}}` (no escaping) are allowed only for the numbers and
//! pre-checked directive lines (the test's `RAW_FIELDS`); a test holds the built-in templates to
//! that. Output is a pure function of the spec and the templates: same spec, same bytes.

pub mod context;
pub mod escape;

use std::path::{Path, PathBuf};

use handlebars::Handlebars;

use crate::spec::{Loaded, SpecError};

/// Where the rendered job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// A ConfigMap with the spec plus an Indexed Job (`kubectl apply -f DIR`).
    Kubernetes,
    /// An sbatch script: one `srun` task per rank, then the merge.
    Slurm,
    /// A script that starts the ranks with `mpirun` or `srun --mpi=pmix`, then merges.
    Mpi,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Kubernetes => "k8s",
            Platform::Slurm => "slurm",
            Platform::Mpi => "mpi",
        }
    }

    /// The templates this platform renders: (template name, output file name).
    pub fn templates(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Platform::Kubernetes => &[
                ("k8s/configmap.yaml", "configmap.yaml"),
                ("k8s/job.yaml", "job.yaml"),
            ],
            Platform::Slurm => &[("slurm/run.sbatch", "run.sbatch")],
            Platform::Mpi => &[("mpi/run-mpi.sh", "run-mpi.sh")],
        }
    }

    fn is_yaml(self) -> bool {
        self == Platform::Kubernetes
    }
}

/// The templates compiled into the binary, by name (`templates/<name>.hbs`).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "k8s/configmap.yaml",
        include_str!("../../../templates/k8s/configmap.yaml.hbs"),
    ),
    (
        "k8s/job.yaml",
        include_str!("../../../templates/k8s/job.yaml.hbs"),
    ),
    (
        "slurm/run.sbatch",
        include_str!("../../../templates/slurm/run.sbatch.hbs"),
    ),
    (
        "mpi/run-mpi.sh",
        include_str!("../../../templates/mpi/run-mpi.sh.hbs"),
    ),
];

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub file: String,
    pub text: String,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("template {name} ({path}): {msg}")]
    Template {
        name: String,
        path: String,
        msg: String,
    },
}

/// Renders `platform`'s files for a checked spec. `templates`, when given, is searched for
/// `<name>.hbs` overrides (e.g. `DIR/k8s/job.yaml.hbs`); missing files fall back to built-ins.
pub fn render(
    l: &Loaded,
    platform: Platform,
    templates: Option<&Path>,
) -> Result<Vec<Rendered>, RenderError> {
    let ctx = context::build(l, platform)?;
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    if platform.is_yaml() {
        hb.register_escape_fn(escape::yaml_quote);
    } else {
        hb.register_escape_fn(escape::sh_quote);
    }
    let mut out = Vec::new();
    for (name, file) in platform.templates() {
        let (src, path) = source(name, templates)?;
        hb.register_template_string(name, &src)
            .map_err(|e| RenderError::Template {
                name: name.to_string(),
                path: path.clone(),
                msg: e.to_string(),
            })?;
        let text = hb.render(name, &ctx).map_err(|e| RenderError::Template {
            name: name.to_string(),
            path,
            msg: e.to_string(),
        })?;
        out.push(Rendered {
            file: file.to_string(),
            text,
        });
    }
    Ok(out)
}

/// The command that submits what [`render`] wrote into `out` for `platform`, as `ringload
/// render` prints it: `kubectl apply -f` for Kubernetes, `sbatch` for Slurm, and for MPI
/// `sbatch` when the spec has `[slurm]` (the script then carries its `#SBATCH` lines) or
/// `bash` otherwise (`mpirun` with a hostfile, or inside an existing allocation).
pub fn submit_hint(l: &Loaded, platform: Platform, out: &Path) -> String {
    let s = &l.spec;
    match (platform, &s.kubernetes) {
        (Platform::Kubernetes, Some(k)) => format!(
            "kubectl apply -f {0}   # then: kubectl -n {1} wait --for=condition=complete \
             job/{2} --timeout=24h; the report is in {3}/ on the results volume",
            out.display(),
            k.namespace,
            context::job_name(&s.run.id),
            s.run.id
        ),
        (Platform::Kubernetes, None) => format!("kubectl apply -f {}", out.display()),
        (Platform::Slurm, _) => format!("sbatch {}", out.join("run.sbatch").display()),
        (Platform::Mpi, _) => {
            let run = if s.slurm.is_some() { "sbatch" } else { "bash" };
            format!("{run} {}", out.join("run-mpi.sh").display())
        }
    }
}

/// A template's text: the override file when present, else the built-in one.
fn source(name: &str, dir: Option<&Path>) -> Result<(String, String), RenderError> {
    if let Some(d) = dir {
        let p: PathBuf = d.join(format!("{name}.hbs"));
        if p.exists() {
            let text = std::fs::read_to_string(&p).map_err(|e| RenderError::Template {
                name: name.into(),
                path: p.display().to_string(),
                msg: e.to_string(),
            })?;
            return Ok((text, p.display().to_string()));
        }
    }
    let text = BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t.to_string())
        .expect("every platform template is built in");
    Ok((text, format!("built-in templates/{name}.hbs")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Context fields a built-in template may print unescaped (`{{{x}}}`): integers, and
    /// sbatch directive lines made of checked words (`spec::check::directive_word`,
    /// `sbatch_line`).
    const RAW_FIELDS: &[&str] = &[
        "ranks",
        "ttl_seconds_after_finished",
        "seconds",
        "line",
        "metrics_port",
    ];

    #[test]
    fn builtin_templates_print_raw_only_numbers_and_checked_lines() {
        for (name, text) in BUILTIN {
            let mut rest = *text;
            while let Some(i) = rest.find("{{{") {
                let end = rest[i..].find("}}}").expect("closed triple stash") + i;
                let field = rest[i + 3..end].trim().trim_start_matches('~').trim();
                assert!(
                    RAW_FIELDS.contains(&field),
                    "{name}: {{{{{{{field}}}}}}} is unescaped"
                );
                rest = &rest[end + 3..];
            }
        }
    }

    const SPEC: &str = r#"
[run]
id = "fill-1g"
ranks = 4
results_dir = "/shared/results"

[target]
protocol = "ais"
endpoint = "http://ais-proxy.ais:51080"
bucket = "ais://bench"
credentials = { secret = "ais-token" }

[workload]
pctput = 100

[kubernetes]
image = "ghcr.io/acme/ringload:0.1.0"
namespace = "bench"
node_selector = { aisloader = "ais" }
resources = { requests = { cpu = "4", memory = "8Gi" }, limits = { memory = "8Gi" } }
tolerations = [{ key = "dedicated", operator = "Equal", value = "bench", effect = "NoSchedule" }, { operator = "Exists", toleration_seconds = 30 }, {}]
results_pvc = "ringload-results"
sysctls = { "net.core.somaxconn" = "100000" }
env = { GOGC = "off" }

[slurm]
nodes = 2
tasks_per_node = 2
partition = "debug"
time = "1:00:00"
extra = ["--exclusive"]

[mpi]
args = ["--oversubscribe"]
"#;

    fn loaded() -> Loaded {
        Loaded::parse(
            Path::new("fill.toml"),
            SPEC.to_string(),
            std::time::SystemTime::UNIX_EPOCH,
        )
        .unwrap()
    }

    #[test]
    fn renders_every_platform_deterministically() {
        let l = loaded();
        for p in [Platform::Kubernetes, Platform::Slurm, Platform::Mpi] {
            let a = render(&l, p, None).unwrap();
            let b = render(&l, p, None).unwrap();
            assert_eq!(a, b);
            for f in &a {
                if std::env::var_os("RINGLOAD_SHOW_RENDER").is_some() {
                    eprintln!("==== {}\n{}", f.file, f.text);
                }
                assert!(!f.text.contains("{{"), "{}", f.text);
            }
        }
    }

    #[test]
    fn submit_hints_name_each_platform_s_own_tool() {
        let l = loaded();
        let id = &l.spec.run.id;
        let out = Path::new("out");
        assert_eq!(
            submit_hint(&l, Platform::Kubernetes, out),
            format!(
                "kubectl apply -f out   # then: kubectl -n bench wait --for=condition=complete \
                 job/ringload-{id} --timeout=24h; the report is in {id}/ on the results volume"
            )
        );
        assert_eq!(
            submit_hint(&l, Platform::Slurm, out),
            "sbatch out/run.sbatch"
        );
        // With [slurm] the MPI script carries #SBATCH lines: it is submitted, not run.
        assert_eq!(submit_hint(&l, Platform::Mpi, out), "sbatch out/run-mpi.sh");
        let plain = Loaded::parse(
            Path::new("mpi.toml"),
            "[run]\nid = \"m-1\"\n\n[mpi]\n".to_string(),
            std::time::SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(
            submit_hint(&plain, Platform::Mpi, out),
            "bash out/run-mpi.sh"
        );
    }

    fn tls(text: &str) -> Result<Vec<Rendered>, RenderError> {
        let l = Loaded::parse(
            Path::new("tls.toml"),
            text.to_string(),
            std::time::SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        render(&l, Platform::Kubernetes, None)
    }

    #[test]
    fn tls_sources_are_mounted_and_passed_as_flags() {
        let job = |text: &str| tls(text).unwrap().remove(1).text;
        let k = "[run]\nid = \"t\"\n[kubernetes]\nimage = \"x\"\n";
        let j = job(&format!(
            "{k}tls_ca_configmap = \"ais-ca\"\ntls_ca_key = \"b.pem\"\ntls_client_secret = \"cl\"\n"
        ));
        for want in [
            "            - \"--tls-ca\"\n            - \"/etc/ringload/tls-ca/b.pem\"\n",
            "            - \"--tls-cert\"\n            - \"/etc/ringload/tls-client/tls.crt\"\n",
            "            - \"--tls-key\"\n            - \"/etc/ringload/tls-client/tls.key\"\n",
            "            - name: \"tls-ca\"\n              mountPath: \"/etc/ringload/tls-ca\"\n              readOnly: true\n",
            "        - name: \"tls-ca\"\n          configMap:\n            name: \"ais-ca\"\n            items:\n              - key: \"b.pem\"\n                path: \"b.pem\"\n",
            "        - name: \"tls-client\"\n          secret:\n            secretName: \"cl\"\n",
        ] {
            assert!(j.contains(want), "{want}\nin\n{j}");
        }
        let j = job(&format!("{k}tls_ca_secret = \"ais-ca\"\n"));
        assert!(
            j.contains("          secret:\n            secretName: \"ais-ca\"\n            items:\n              - key: \"ca.crt\"\n"),
            "{j}"
        );
        assert!(j.contains("\"/etc/ringload/tls-ca/ca.crt\""), "{j}");
        assert!(
            !j.contains("tls-client") && !j.contains("--tls-cert"),
            "{j}"
        );
        // Nothing TLS without TLS keys.
        assert!(!job(k).contains("tls"));
    }

    #[test]
    fn tls_files_a_pod_cannot_read_are_refused() {
        let k = "[kubernetes]\nimage = \"x\"\n";
        let e = tls(&format!(
            "[run]\nid = \"t\"\n[target]\ntls_ca = \"/etc/ca.pem\"\n{k}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("tls.toml:4:1: [target] tls_ca is a file"),
            "{e}"
        );
        assert!(
            e.contains(
                "pod cannot read, and [kubernetes] has no tls_ca_configmap or tls_ca_secret"
            ),
            "{e}"
        );
        assert!(e.contains("kubectl -n default create configmap"), "{e}");
        assert!(
            e.contains("create configmap ringload-ca --from-file=ca.crt=FILE"),
            "{e}"
        );
        let e = tls(&format!(
            "[run]\nid = \"t\"\n[target]\ntls_cert = \"c\"\ntls_key = \"k\"\n{k}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("tls.toml:4:1: [target] tls_cert is a file"),
            "{e}"
        );
        assert!(e.contains("tls_client_secret = \"ringload-client\""), "{e}");
        assert!(e.contains("[kubernetes] has no tls_client_secret"), "{e}");
        // With the cluster's copies named, the spec's paths serve the other platforms.
        let ok = format!(
            "[run]\nid = \"t\"\n[target]\ntls_ca = \"/etc/ca.pem\"\ntls_cert = \"c\"\n\
             tls_key = \"k\"\n{k}tls_ca_configmap = \"ca\"\ntls_client_secret = \"cl\"\n"
        );
        assert!(tls(&ok).is_ok());
    }
}
