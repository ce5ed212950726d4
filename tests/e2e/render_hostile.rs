//! Hostile strings in every free-text field of a spec, through the real `ringload render`: each
//! is refused with exit 2 and an error naming the file, line and key, or rendered into files
//! that parse back to exactly the given string. Manifests are read back with PyYAML and must
//! equal a plain render with the value in its place (no key added or lost) and still pass
//! `kubernetes-validate --strict`; scripts are run with `bash` against stub `srun`, `mpirun`
//! and `ringload` executables that record their argv byte for byte, and the run.toml they
//! write must carry the spec's values. No CANARY file is ever created. Name-like fields are in
//! tests/e2e/render_errors.rs.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::hostile::{assert_no_canary, recorded, run_bash, stubs, toml_str, HOSTILE};
use common::{kube, ringload_in, Scratch};
use serde_json::Value;

/// The spec every case starts from; each `@name@` is one field's value.
const TEMPLATE: &str = r#"[run]
id = "hostile"
ranks = 4
results_dir = @results_dir@
ringload = @ringload@

[target]
protocol = "ais"
endpoint = @endpoint@
bucket = @bucket@
tls_ca = @tls_ca@
tls_cert = @tls_cert@
tls_key = @tls_key@

[workload]
subdir = @subdir@

[kubernetes]
image = @image@
results_pvc = "ringload-results"
tls_ca_configmap = "ringload-ca"
tls_client_secret = "ringload-client"

[kubernetes.env]
GOGC = "off"
HOSTILE = @env@

[kubernetes.sysctls]
"net.core.somaxconn" = @sysctl@

[slurm]
nodes = 2
tasks_per_node = 2
@slurm_results_dir@
[mpi]
launcher = @launcher@
args = ["--oversubscribe", @mpi_arg@]
"#;

/// A free-text field: its `@name@`, what its error names, whether the manifests show it, and
/// which values the spec check refuses.
struct Field {
    name: &'static str,
    needle: &'static str,
    in_yaml: bool,
    refuses: fn(&str) -> bool,
}

const fn field(
    name: &'static str,
    needle: &'static str,
    in_yaml: bool,
    refuses: fn(&str) -> bool,
) -> Field {
    Field {
        name,
        needle,
        in_yaml,
        refuses,
    }
}

fn nul(s: &str) -> bool {
    s.contains('\0')
}
fn path_line(s: &str) -> bool {
    s.is_empty() || s.contains(['\0', '\n'])
}
fn ringload_path(s: &str) -> bool {
    path_line(s) || s.starts_with('-')
}
fn spaced(s: &str) -> bool {
    s.chars().any(|c| c.is_whitespace() || c.is_control())
}
fn image(s: &str) -> bool {
    s.is_empty() || spaced(s)
}

const FIELDS: &[Field] = &[
    field("bucket", "[target] bucket", false, nul),
    // File paths: the pods read the cluster's copies, so the manifests never show them.
    field("tls_ca", "[target] tls_ca", false, path_line),
    field("tls_cert", "[target] tls_cert", false, path_line),
    field("tls_key", "[target] tls_key", false, path_line),
    field("subdir", "[workload] subdir", false, nul),
    field("env", "[kubernetes] env.HOSTILE", true, nul),
    field(
        "sysctl",
        "[kubernetes] sysctls.net.core.somaxconn",
        true,
        nul,
    ),
    field("mpi_arg", "[mpi] args.1", false, nul),
    field("results_dir", "[run] results_dir", false, path_line),
    field("ringload", "[run] ringload", true, ringload_path),
    field("slurm_results_dir", "[slurm] results_dir", false, path_line),
    field("image", "[kubernetes] image", true, image),
    // The value goes after `https://host:port/`: the path is free text.
    field("endpoint", "[target] endpoint", false, spaced),
];

/// A plain value every field accepts, placed where a hostile one would be.
const MARKER: &str = "hostile-marker";

fn default(name: &str) -> &'static str {
    match name {
        "results_dir" => "results",
        "ringload" => "ringload",
        "endpoint" => "https://ais-proxy.ais:51080",
        "bucket" => "ais://bench",
        "tls_ca" => "ca.pem",
        "tls_cert" => "client.crt",
        "tls_key" => "client.key",
        "subdir" => "bench",
        "image" => "ghcr.io/acme/ringload:0.1.0",
        "env" => "plain",
        "sysctl" => "1024",
        "mpi_arg" => "--bind-to=none",
        "slurm_results_dir" => "",
        other => panic!("no default for {other}"),
    }
}

/// One spec: `fields` hold `value`, every other field its plain default.
struct Values<'a> {
    fields: Vec<&'static str>,
    value: &'a str,
    launcher: &'static str,
}

impl Values<'_> {
    fn has(&self, name: &str) -> bool {
        self.fields.contains(&name)
    }

    fn get(&self, name: &str) -> String {
        match name {
            "launcher" => self.launcher.to_string(),
            "endpoint" if self.has(name) => format!("https://ais-proxy.ais:51080/{}", self.value),
            _ if self.has(name) => self.value.to_string(),
            _ => default(name).to_string(),
        }
    }

    /// The spec text, and the 1-based line of each field.
    fn spec(&self) -> (String, BTreeMap<&'static str, usize>) {
        let (mut text, mut lines) = (String::new(), BTreeMap::new());
        for (i, l) in TEMPLATE.lines().enumerate() {
            let mut l = l.to_string();
            if let Some(start) = l.find('@') {
                let end = l[start + 1..].find('@').unwrap() + start + 1;
                let name = FIELDS
                    .iter()
                    .map(|f| f.name)
                    .find(|n| *n == &l[start + 1..end]);
                if let Some(n) = name {
                    lines.insert(n, i + 1);
                }
                let lit = toml_str(&self.get(&l[start + 1..end]));
                l = match &l[start + 1..end] {
                    "slurm_results_dir" if self.has("slurm_results_dir") => {
                        format!("results_dir = {lit}")
                    }
                    "slurm_results_dir" => String::new(),
                    _ => format!("{}{lit}{}", &l[..start], &l[end + 1..]),
                };
            }
            text.push_str(&l);
            text.push('\n');
        }
        (text, lines)
    }

    /// The results directory the scripts write to: `[slurm]`'s, else `[run]`'s.
    fn results_dir(&self) -> String {
        if self.has("slurm_results_dir") {
            self.value.to_string()
        } else {
            self.get("results_dir")
        }
    }

    fn run_dir(&self) -> String {
        format!("{}/hostile", self.results_dir().trim_end_matches('/'))
    }

    /// The argv each stub must receive, in order: the launcher, then the merge.
    fn expected_calls(&self, platform: &str) -> Vec<Vec<String>> {
        let mut first: Vec<String> = match (platform, self.launcher) {
            ("slurm", _) => vec!["srun".into(), "--kill-on-bad-exit=0".into()],
            (_, "mpirun") => vec!["mpirun".into(), "-np".into(), "4".into()],
            _ => vec!["srun".into(), "--mpi=pmix".into(), "--ntasks=4".into()],
        };
        if platform == "mpi" {
            first.extend(["--oversubscribe".to_string(), self.get("mpi_arg")]);
        }
        first.extend([
            self.get("ringload"),
            "run".into(),
            format!("--spec={}/run.toml", self.run_dir()),
            format!("--results-dir={}", self.results_dir()),
        ]);
        let merge = ["ringload", "merge", "--", &self.run_dir()].map(String::from);
        vec![first, merge.to_vec()]
    }
}

/// Writes `v`'s spec into `case/run.toml` and renders it there (all platforms) into `case/out`.
fn render_case(
    case: &Path,
    v: &Values,
    platform: &[&str],
) -> (common::Ran, String, BTreeMap<&'static str, usize>) {
    std::fs::create_dir_all(case).unwrap();
    let (text, lines) = v.spec();
    std::fs::write(case.join("run.toml"), &text).unwrap();
    let mut args = vec!["render", "--spec", "run.toml", "--out", "out"];
    args.extend_from_slice(platform);
    (ringload_in(Some(case), &args, &[]), text, lines)
}

/// Runs a rendered script against the stubs; checks their argv and that nothing ran, and
/// returns the run.toml the script wrote.
fn run_script(case: &Path, script: &str, platform: &str, v: &Values) -> String {
    let cwd = case.join(format!("cwd-{platform}"));
    let log = case.join(format!("argv-{platform}"));
    let out = run_bash(
        &case.join("out").join(script),
        &cwd,
        &case.join("bin"),
        &log,
    );
    assert_no_canary(case);
    let ctx = format!(
        "{script} for {:?} = {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        v.fields,
        v.value,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{ctx}");
    assert_eq!(recorded(&log), v.expected_calls(platform), "{ctx}");
    let spec = cwd.join(v.run_dir()).join("run.toml");
    std::fs::read_to_string(spec).unwrap_or_else(|e| panic!("{e}: {ctx}"))
}

/// Every key of `want` is in `got` with an equal value (the resolved spec adds defaults).
fn assert_subset(want: &toml::Value, got: &toml::Value, at: &str) {
    match (want, got) {
        (toml::Value::Table(w), toml::Value::Table(g)) => {
            for (k, wv) in w {
                let gv = g.get(k).unwrap_or_else(|| panic!("{at}.{k} is missing"));
                assert_subset(wv, gv, &format!("{at}.{k}"));
            }
        }
        (toml::Value::Array(w), toml::Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{at}");
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                assert_subset(wv, gv, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(want, got, "{at}"),
    }
}

/// `v` with every string equal to [`MARKER`] replaced by `by`; counts the replacements.
fn substitute(v: &Value, by: &str, n: &mut usize) -> Value {
    match v {
        Value::String(s) if s == MARKER => {
            *n += 1;
            Value::String(by.into())
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, by, n)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, by, n)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A hostile spec that rendered, waiting for the YAML checks.
struct Accepted {
    fields: Vec<&'static str>,
    value: &'static str,
    in_yaml: bool,
    out: PathBuf,
    benign: PathBuf,
    script_toml: String,
}

#[test]
fn hostile_strings_are_refused_or_parse_back_exactly() {
    let dir = Scratch::new("render-hostile");
    let mut benign: BTreeMap<Vec<&str>, PathBuf> = BTreeMap::new();
    let mut accepted = Vec::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        let launcher = if i % 2 == 0 { "mpirun" } else { "srun" };
        let (refusing, taking): (Vec<&Field>, Vec<&Field>) =
            FIELDS.iter().partition(|f| (f.refuses)(h));
        // A field that refuses the value does so on its own, naming its line and key.
        for f in refusing {
            let v = Values {
                fields: vec![f.name],
                value: h,
                launcher,
            };
            let case = dir.path().join(format!("{i}-{}", f.name));
            let (r, _, lines) = render_case(&case, &v, &[]);
            let at = format!("run.toml:{}:", lines[f.name]);
            r.check(
                r.code() == 2,
                &format!("{} = {h:?} must be refused", f.name),
            );
            r.check(r.stderr().contains(&at), &format!("the error names {at}"));
            r.check(
                r.stderr().contains(f.needle),
                &format!("the error names {}", f.needle),
            );
            let clean = !r.stderr().chars().any(|c| c.is_control() && c != '\n');
            r.check(
                clean && r.stderr().lines().count() == 2,
                "a two-line error, values escaped",
            );
            assert!(
                !case.join("out").exists(),
                "nothing is written for a refused spec"
            );
        }
        if taking.is_empty() {
            assert!(h.contains('\0'), "only NUL is refused everywhere");
            continue;
        }
        // Every field that takes it holds it at once.
        let fields: Vec<&'static str> = taking.iter().map(|f| f.name).collect();
        let b = benign.entry(fields.clone()).or_insert_with(|| {
            let case = dir.path().join(format!("benign-{}", fields.join("-")));
            let v = Values {
                fields: fields.clone(),
                value: MARKER,
                launcher: "mpirun",
            };
            render_case(&case, &v, &["--platform", "k8s"]).0.ok();
            case.join("out")
        });
        let v = Values {
            fields,
            value: h,
            launcher,
        };
        let case = dir.path().join(i.to_string());
        let (r, text, _) = render_case(&case, &v, &[]);
        r.check(
            r.code() == 0,
            &format!("{:?} = {h:?} must render", v.fields),
        );
        stubs(&case.join("bin"), &v.get("ringload"));
        let mpi = run_script(&case, "run-mpi.sh", "mpi", &v);
        let slurm = run_script(&case, "run.sbatch", "slurm", &v);
        assert_eq!(mpi, slurm, "both scripts write the same spec");
        let want = toml::Value::Table(text.parse().unwrap());
        let got = toml::Value::Table(mpi.parse().unwrap());
        assert_subset(&want, &got, &format!("the run.toml written for {h:?}"));
        accepted.push(Accepted {
            in_yaml: taking.iter().any(|f| f.in_yaml),
            fields: v.fields,
            value: h,
            out: case.join("out"),
            benign: b.clone(),
            script_toml: mpi,
        });
    }

    // One PyYAML process reads every manifest back.
    let files: Vec<PathBuf> = accepted
        .iter()
        .flat_map(|a| [&a.out, &a.benign])
        .flat_map(|d| [d.join("configmap.yaml"), d.join("job.yaml")])
        .collect();
    let docs = kube::yaml_docs_many(&files);
    for (a, d) in accepted.iter().zip(docs.chunks(4)) {
        let ctx = format!("{:?} = {:?}", a.fields, a.value);
        let [mut cm, job, mut bcm, bjob] = [0, 1, 2, 3].map(|i| {
            let docs = d[i].as_array().unwrap();
            assert_eq!(docs.len(), 1, "one YAML document per file: {ctx}");
            docs[0].clone()
        });
        // The ConfigMap carries the spec the scripts write, to the byte.
        let data = cm["data"].as_object_mut().unwrap().remove("run.toml");
        assert_eq!(
            data.as_ref().and_then(Value::as_str),
            Some(a.script_toml.as_str()),
            "{ctx}"
        );
        bcm["data"].as_object_mut().unwrap().remove("run.toml");
        // Otherwise the manifests are the plain ones with the value where the marker was.
        let mut n = 0;
        assert_eq!(cm, substitute(&bcm, a.value, &mut n), "ConfigMap for {ctx}");
        assert_eq!(job, substitute(&bjob, a.value, &mut n), "Job for {ctx}");
        assert_eq!(n > 0, a.in_yaml, "{ctx}: {n} values replaced");
    }
    // Manifests holding hostile values are still valid Kubernetes objects.
    let manifests: Vec<PathBuf> = accepted
        .iter()
        .filter(|a| a.in_yaml)
        .flat_map(|a| [a.out.join("configmap.yaml"), a.out.join("job.yaml")])
        .collect();
    kube::validate(&manifests, "1.30.0");
    assert_no_canary(dir.path());
}
