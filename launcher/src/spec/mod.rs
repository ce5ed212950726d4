//! Run specs (`run.toml`): one file that says what every rank runs and where.
//!
//! Owns the spec's schema ([`Spec`] and its sections), loading it with errors that name the
//! file, line and a fix ([`SpecError`]), the value checks made before anything is rendered
//! ([`check`]), and resolving `id = "auto"` into a concrete, timestamped run id. The same spec
//! drives `ringload run --spec` on one node and every `render` platform. Credentials and TLS
//! material appear only by reference (a Kubernetes Secret or ConfigMap name, environment
//! variable names, file paths); a key that looks like a credential value, or PEM text where a
//! file name belongs, is refused with a hint.
//!
//! `[workload]` holds `ringload run` flag names with their values; the binary checks them
//! with the same parser as the command line ([`Spec::workload_entries`] keeps their lines).

pub mod check;
pub mod error;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use error::{line_col, locate, SpecError};

/// A run spec. `[run]` is required; every other section is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub run: RunSection,
    #[serde(default)]
    pub target: TargetSection,
    /// `ringload run` flag names (`numworkers`, `pctput`, ...) and their values.
    #[serde(default)]
    pub workload: BTreeMap<String, toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<Kubernetes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<Slurm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpi: Option<Mpi>,
}

/// `[run]`: identity and shape of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Run id, or `"auto"` for `run-YYYYMMDD-HHMMSS-xxxx` ([`auto_id`]) chosen when the spec is
    /// loaded.
    #[serde(default = "auto")]
    pub id: String,
    /// Number of ranks (client processes) in the run.
    #[serde(default = "one")]
    pub ranks: u32,
    /// Hold every rank's measured phase until all ranks have checked in.
    #[serde(default)]
    pub barrier: bool,
    /// How long a rank waits at the barrier before it gives up.
    #[serde(default = "ten_minutes")]
    pub barrier_timeout: String,
    /// How long rank 0's `--merge` waits for the other ranks' result files before it merges
    /// (the Kubernetes Job passes `--merge`; Slurm and MPI scripts merge after the last rank).
    #[serde(default = "ten_minutes")]
    pub merge_timeout: String,
    /// Where result files go: `<results_dir>/<id>/rank-<r>.json` (one node, Slurm, MPI).
    #[serde(default = "results")]
    pub results_dir: String,
    /// The `ringload` binary the rendered scripts call (a path on the compute nodes).
    #[serde(default = "ringload")]
    pub ringload: String,
    /// Serve live Prometheus metrics on this port, every address (`--metrics-listen :PORT`;
    /// ranks sharing a node add their node-local rank). The Kubernetes Job exposes it with
    /// the scrape annotations. Checked 1..=65535 (kept wide here so a bad value gets its line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<i64>,
}

/// `[target]`: what is loaded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    /// `http`, `ais` or `s3` (checked against `ringload_core::kinds::Protocol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// S3 only: `path` or `virtual` (checked against `ringload_core::kinds::S3Addressing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_addressing: Option<String>,
    /// AIS only: one of AIS's checksum types (`ringload_core::kinds::CksumType`), or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cksum_type: Option<String>,
    /// A PEM bundle of the CAs to trust (`--tls-ca`): a path where the ranks run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    /// Do not verify the server's certificate (`--tls-insecure`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub tls_insecure: bool,
    /// A client certificate chain (`--tls-cert`), with its key `tls_key` (`--tls-key`): paths
    /// where the ranks run, never the PEM text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<String>,
    #[serde(default, skip_serializing_if = "Credentials::is_empty")]
    pub credentials: Credentials,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// `[target.credentials]`: references only, never values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Kubernetes: a Secret whose keys become environment variables of every pod
    /// (e.g. `AIS_AUTHN_TOKEN`, or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// AIS: the environment variable holding the token (default `AIS_AUTHN_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// S3: the environment variables holding the keys (defaults: the AWS names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token_env: Option<String>,
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self == &Credentials::default()
    }

    /// Every referenced environment variable, with the canonical name ringload reads it as.
    pub fn env_aliases(&self) -> Vec<(&str, &'static str)> {
        [
            (&self.token_env, "AIS_AUTHN_TOKEN"),
            (&self.access_key_env, "AWS_ACCESS_KEY_ID"),
            (&self.secret_key_env, "AWS_SECRET_ACCESS_KEY"),
            (&self.session_token_env, "AWS_SESSION_TOKEN"),
        ]
        .into_iter()
        .filter_map(|(from, to)| from.as_deref().map(|f| (f, to)))
        .collect()
    }
}

/// `[kubernetes]`: the Indexed Job's pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kubernetes {
    pub image: String,
    #[serde(default = "if_not_present")]
    pub pull_policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// e.g. `{ aisloader = "ais" }`: only nodes with these labels run ranks.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Required pod anti-affinity: never two ranks on one node.
    #[serde(default = "yes")]
    pub one_pod_per_node: bool,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    /// PersistentVolumeClaim for the results; without it an emptyDir (results die with the pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_pvc: Option<String>,
    /// Pod sysctls (the old chart set `net.core.somaxconn`).
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// Plain (non-secret) environment variables for the ringload container.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default = "one_day")]
    pub ttl_seconds_after_finished: u32,
    /// A ConfigMap holding the CA bundle the ranks trust (the chart's `tls.caConfigMap`),
    /// mounted read-only and passed as `--tls-ca`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_configmap: Option<String>,
    /// Or a Secret holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_secret: Option<String>,
    /// The bundle's key in that ConfigMap or Secret (the chart's `tls.bundleFile`; default
    /// [`DEFAULT_CA_KEY`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_key: Option<String>,
    /// A `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`): the ranks' client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_secret: Option<String>,
}

/// The key of the CA bundle in `[kubernetes] tls_ca_configmap` or `tls_ca_secret` when
/// `tls_ca_key` is not given (cert-manager's and `kubectl create secret tls`'s name for it).
pub const DEFAULT_CA_KEY: &str = "ca.crt";

impl Kubernetes {
    /// The CA bundle's source, if any: `("configmap" | "secret", its name)`.
    pub fn tls_ca_source(&self) -> Option<(&'static str, &str)> {
        match (&self.tls_ca_configmap, &self.tls_ca_secret) {
            (Some(c), _) => Some(("configmap", c)),
            (None, Some(s)) => Some(("secret", s)),
            (None, None) => None,
        }
    }

    /// The CA bundle's key in its ConfigMap or Secret.
    pub fn tls_ca_key(&self) -> &str {
        self.tls_ca_key.as_deref().unwrap_or(DEFAULT_CA_KEY)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toleration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

/// `[slurm]`: the batch script's allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slurm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Nodes; `nodes * tasks_per_node` must equal `[run] ranks`.
    pub nodes: u32,
    #[serde(default = "one")]
    pub tasks_per_node: u32,
    /// Time limit in sbatch syntax (`30`, `1:00:00`, `1-00:00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Extra `#SBATCH` lines, e.g. `["--exclusive", "--gres=gpu:8"]`.
    #[serde(default)]
    pub extra: Vec<String>,
    /// Shared results directory for the Slurm and MPI scripts (default `[run] results_dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_dir: Option<String>,
}

/// `[mpi]`: how the MPI script starts the ranks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mpi {
    /// `mpirun` or `srun` (`srun --mpi=pmix`).
    #[serde(default = "mpirun")]
    pub launcher: String,
    /// Extra launcher arguments, e.g. `["--oversubscribe"]`.
    #[serde(default)]
    pub args: Vec<String>,
}

fn auto() -> String {
    "auto".into()
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn ten_minutes() -> String {
    "10m".into()
}
fn results() -> String {
    "results".into()
}
fn ringload() -> String {
    "ringload".into()
}
fn if_not_present() -> String {
    "IfNotPresent".into()
}
fn default_namespace() -> String {
    "default".into()
}
fn one_day() -> u32 {
    86_400
}
fn mpirun() -> String {
    "mpirun".into()
}

impl Default for Mpi {
    /// What an absent `[mpi]` section means: plain `mpirun`, no extra arguments.
    fn default() -> Mpi {
        Mpi {
            launcher: mpirun(),
            args: Vec::new(),
        }
    }
}

/// One `[workload]` entry: key, value as a flag argument, and the key's line and column.
pub type WorkloadEntry = (String, String, Option<(usize, usize)>);

/// A spec as loaded: the parsed value plus its text, for pointing at lines.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub spec: Spec,
    /// The file said `id = "auto"` (so each process that loads it picks its own id).
    pub auto_id: bool,
    pub file: PathBuf,
    pub text: String,
}

impl Loaded {
    /// Reads, parses and checks a spec file; `id = "auto"` is resolved with the clock.
    pub fn load(file: &Path) -> Result<Loaded, SpecError> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            SpecError::new(file, format!("cannot read the spec: {e}"))
                .hint("give the path of a run.toml; examples/ has commented ones")
        })?;
        Loaded::parse(file, text, std::time::SystemTime::now())
    }

    /// Parses and checks spec text; `now` resolves `id = "auto"`.
    pub fn parse(
        file: &Path,
        text: String,
        now: std::time::SystemTime,
    ) -> Result<Loaded, SpecError> {
        let mut spec: Spec = toml::from_str(&text).map_err(|e| from_toml(file, &text, &e))?;
        let auto = spec.run.id == "auto";
        if auto {
            spec.run.id = auto_id(now);
        }
        let loaded = Loaded {
            spec,
            auto_id: auto,
            file: file.to_path_buf(),
            text,
        };
        validate::spec(&loaded)?;
        Ok(loaded)
    }

    /// An error at `path` (see [`locate`]) in this spec.
    pub fn error_at(&self, path: &[&str], message: impl Into<String>) -> SpecError {
        SpecError::new(&self.file, message).at(locate(&self.text, path))
    }

    /// `[workload]` entries in file order: key, value as a flag argument, and the key's line.
    /// Booleans stay `"true"`/`"false"`; the caller knows which flags take no value.
    pub fn workload_entries(&self) -> Vec<WorkloadEntry> {
        let mut v: Vec<_> = self
            .spec
            .workload
            .iter()
            .map(|(k, val)| {
                let s = match val {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), s, locate(&self.text, &["workload", k]))
            })
            .collect();
        v.sort_by_key(|e| e.2);
        v
    }

    /// The resolved spec as TOML (concrete run id, no comments): what rendered jobs carry.
    pub fn resolved_toml(&self) -> String {
        toml::to_string(&self.spec).expect("a checked spec serializes")
    }
}

mod validate;

/// A fresh run id, `run-YYYYMMDD-HHMMSS-xxxx`: the UTC time of `now` and 4 hex digits drawn
/// from the process's random hash keys, so two ids chosen in the same second (a scripted
/// render-and-submit, or `ringload run` twice) differ. `ringload run` and `id = "auto"` both
/// take their ids here.
pub fn auto_id(now: std::time::SystemTime) -> String {
    stamped_id(now, random_tag())
}

/// `run-YYYYMMDD-HHMMSS-xxxx` for `now` and `tag`.
fn stamped_id(now: std::time::SystemTime, tag: u16) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "run-{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{tag:04x}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// 16 random bits: a base drawn once per process from std's randomly keyed hasher (seeded by
/// the OS, not the clock), stepped by an odd constant per call, so the first 65,536 tags of a
/// process are all distinct and two processes agree only by chance.
fn random_tag() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU16, Ordering};
    use std::sync::OnceLock;
    static BASE: OnceLock<u16> = OnceLock::new();
    static CALLS: AtomicU16 = AtomicU16::new(0);
    let base = *BASE.get_or_init(|| {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish() as u16
    });
    base.wrapping_add(CALLS.fetch_add(1, Ordering::Relaxed).wrapping_mul(40_503))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Turns a TOML or schema error into a [`SpecError`] at its place, with a hint.
fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> SpecError {
    let at = e.span().map(|s| line_col(text, s.start));
    let msg = e.message().trim().to_string();
    let hint = if msg.contains("unknown field") {
        let field = msg.split('`').nth(1).unwrap_or("");
        if looks_like_secret(field) {
            "a spec never holds credential values: name a Kubernetes Secret \
             ([target.credentials] secret) or the environment variables that hold them \
             (token_env, access_key_env, secret_key_env)"
                .to_string()
        } else {
            "check the spelling; docs/operators.md lists every section and key".to_string()
        }
    } else if msg.contains("missing field") {
        "add the key; docs/operators.md lists every section and key".to_string()
    } else if msg.contains("invalid type") {
        "strings need quotes (\"1GiB\", \"10m\"); numbers and true/false do not".to_string()
    } else {
        "see docs/operators.md for the spec's format".to_string()
    };
    SpecError::new(file, msg).at(at).hint(hint)
}

/// A misspelt key that reads like a credential value (`token`, `secret_key`). `tls_*` keys
/// name files (`tls_key` is a path), so their typos get the spelling hint.
fn looks_like_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k.starts_with("tls_") {
        return false;
    }
    ["secret", "token", "password", "key"]
        .iter()
        .any(|w| k.contains(w))
}

#[cfg(test)]
mod tests;
