//! What `ringload render` refuses, through the real binary, and how it says so. Name-like
//! spec fields (run ids, Kubernetes names, label keys and values, quantities, sysctl and
//! environment variable names, enumerations, durations, `#SBATCH` directive words) refuse every
//! hostile string (tests/e2e/common/hostile.rs) with exit 2 and a two-line error naming the file,
//! line and key, with nothing written; the few that are legitimately valid (an empty label
//! value, `-dash` as a directive word) land on one `#SBATCH` line, and extra `#SBATCH` lines
//! holding `$(...)` stay comments to bash. A run id whose results directory exists is refused,
//! and spec mistakes (unknown keys, flag typos, a missing section) name the line and a fix.

use crate::common;

use std::path::Path;

use common::hostile::{assert_no_canary, recorded, run_bash, stubs, toml_str, HOSTILE};
use common::{ringload_in, Ran, Scratch};

/// A name-like field: what its error names, a spec with `@@` where the value goes, which
/// hostile values are nonetheless valid, and the `#SBATCH` option an accepted value lands in.
struct Case {
    needle: &'static str,
    text: &'static str,
    accepts: fn(&str) -> bool,
    sbatch: Option<&'static str>,
}

const fn case(needle: &'static str, text: &'static str) -> Case {
    Case {
        needle,
        text,
        accepts: never,
        sbatch: None,
    }
}

fn never(_: &str) -> bool {
    false
}
/// Label values may be empty.
fn empty(s: &str) -> bool {
    s.is_empty()
}
/// A word `#SBATCH` reads as one value.
fn directive_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:,@%+=/-[]".contains(&b))
}
/// A ConfigMap or Secret key (Kubernetes' IsConfigMapKey).
fn config_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        && s != "."
        && !s.starts_with("..")
}
/// One option line, no control characters.
fn option_line(s: &str) -> bool {
    s.starts_with('-') && !s.chars().any(char::is_control)
}

const RUN: &str = "[run]\nid = \"names\"\nranks = 2\n\n";

const OTHER: &[Case] = &[
    case("[run] id", "[run]\nid = @@\n[mpi]\n"),
    case(
        "[run] barrier_timeout",
        "[run]\nid = \"names\"\nbarrier_timeout = @@\n[mpi]\n",
    ),
    case(
        "[run] merge_timeout",
        "[run]\nid = \"names\"\nmerge_timeout = @@\n[mpi]\n",
    ),
    case("[target] protocol", "[target]\nprotocol = @@\n[mpi]\n"),
    case(
        "[target] s3_addressing",
        "[target]\ns3_addressing = @@\n[mpi]\n",
    ),
    case("[target] cksum_type", "[target]\ncksum_type = @@\n[mpi]\n"),
    case(
        "[target] credentials.secret",
        "[target.credentials]\nsecret = @@\n[mpi]\n",
    ),
    case(
        "[target] credentials.token_env",
        "[target.credentials]\ntoken_env = @@\n[mpi]\n",
    ),
    case(
        "[target] credentials.access_key_env",
        "[target.credentials]\naccess_key_env = @@\n[mpi]\n",
    ),
    case(
        "[target] credentials.secret_key_env",
        "[target.credentials]\nsecret_key_env = @@\n[mpi]\n",
    ),
    case(
        "[target] credentials.session_token_env",
        "[target.credentials]\nsession_token_env = @@\n[mpi]\n",
    ),
    Case {
        sbatch: Some("--partition="),
        accepts: directive_word,
        ..case("[slurm] partition", "[slurm]\nnodes = 2\npartition = @@\n")
    },
    Case {
        sbatch: Some("--account="),
        accepts: directive_word,
        ..case("[slurm] account", "[slurm]\nnodes = 2\naccount = @@\n")
    },
    Case {
        sbatch: Some("--time="),
        accepts: directive_word,
        ..case("[slurm] time", "[slurm]\nnodes = 2\ntime = @@\n")
    },
    Case {
        sbatch: Some("--job-name="),
        accepts: directive_word,
        ..case("[slurm] job_name", "[slurm]\nnodes = 2\njob_name = @@\n")
    },
    Case {
        sbatch: Some(""),
        accepts: option_line,
        ..case(
            "[slurm] extra",
            "[slurm]\nnodes = 2\nextra = [\"--exclusive\", @@]\n",
        )
    },
    case("[mpi] launcher", "[mpi]\nlauncher = @@\n"),
];

const KUBERNETES: &[Case] = &[
    case(
        "[kubernetes] namespace",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\nnamespace = @@\n",
    ),
    case(
        "[kubernetes] pull_policy",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\npull_policy = @@\n",
    ),
    case(
        "[kubernetes] pull_secret",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\npull_secret = @@\n",
    ),
    case(
        "[kubernetes] service_account",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\nservice_account = @@\n",
    ),
    case(
        "[kubernetes] results_pvc",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = @@\n",
    ),
    case(
        "[kubernetes] node_selector.",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[kubernetes.node_selector]\n@@ = \"v\"\n",
    ),
    Case {
        accepts: empty,
        ..case(
            "[kubernetes] node_selector.pool",
            "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[kubernetes.node_selector]\npool = @@\n",
        )
    },
    case(
        "[kubernetes] resources.requests.",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[kubernetes.resources.requests]\n@@ = \"1\"\n",
    ),
    case(
        "[kubernetes] resources.requests.cpu",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[kubernetes.resources.requests]\ncpu = @@\n",
    ),
    case(
        "[kubernetes] resources.limits.memory",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[kubernetes.resources.limits]\nmemory = @@\n",
    ),
    case(
        "[kubernetes] tolerations.0.key",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[[kubernetes.tolerations]]\nkey = @@\n",
    ),
    Case {
        accepts: empty,
        ..case(
            "[kubernetes] tolerations.0.value",
            "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[[kubernetes.tolerations]]\nvalue = @@\n",
        )
    },
    case(
        "[kubernetes] tolerations",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[[kubernetes.tolerations]]\noperator = @@\n",
    ),
    case(
        "[kubernetes] tolerations",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[[kubernetes.tolerations]]\neffect = @@\n",
    ),
    case(
        "[kubernetes] tls_ca_configmap",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\ntls_ca_configmap = @@\n",
    ),
    case(
        "[kubernetes] tls_ca_secret",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\ntls_ca_secret = @@\n",
    ),
    case(
        "[kubernetes] tls_client_secret",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\ntls_client_secret = @@\n",
    ),
    Case {
        accepts: config_key,
        ..case(
            "[kubernetes] tls_ca_key",
            "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\ntls_ca_configmap = \"ca\"\ntls_ca_key = @@\n",
        )
    },
    case(
        "[kubernetes] sysctls.",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[kubernetes.sysctls]\n@@ = \"1\"\n",
    ),
    case(
        "[kubernetes] env.",
        "[kubernetes]\nimage = \"x\"\nresults_pvc = \"r\"\n[kubernetes.env]\n@@ = \"1\"\n",
    ),
];

/// Renders every case with every hostile value; each must be refused at its line unless the
/// case accepts it.
fn refuse_all(cases: &[Case], tag: &str) {
    let dir = Scratch::new(tag);
    for (c, case) in cases.iter().enumerate() {
        let text = if case.text.starts_with("[run]") {
            case.text.to_string()
        } else {
            format!("{RUN}{}", case.text)
        };
        let line = text.lines().position(|l| l.contains("@@")).unwrap() + 1;
        for (i, h) in HOSTILE.iter().enumerate() {
            let d = dir.path().join(format!("{c}-{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("run.toml"), text.replace("@@", &toml_str(h))).unwrap();
            let r = ringload_in(
                Some(&d),
                &["render", "--spec", "run.toml", "--out", "out"],
                &[],
            );
            if (case.accepts)(h) {
                r.check(r.code() == 0, &format!("{} = {h:?} is valid", case.needle));
                if let Some(opt) = case.sbatch {
                    let script = std::fs::read_to_string(d.join("out/run.sbatch")).unwrap();
                    let want = format!("\n#SBATCH {opt}{h}\n");
                    assert!(script.contains(&want), "{want:?} in\n{script}");
                }
                continue;
            }
            r.check(
                r.code() == 2,
                &format!("{} = {h:?} must be refused", case.needle),
            );
            for n in [
                format!("run.toml:{line}:"),
                case.needle.to_string(),
                "hint:".to_string(),
            ] {
                r.check(r.stderr().contains(&n), &format!("the error names {n:?}"));
            }
            let clean = !r.stderr().chars().any(|c| c.is_control() && c != '\n');
            r.check(
                clean && r.stderr().lines().count() == 2,
                "a two-line error, values escaped",
            );
            assert!(
                !d.join("out").exists(),
                "nothing is written for a refused spec"
            );
        }
    }
}

#[test]
fn kubernetes_names_refuse_hostile_values_at_their_line() {
    refuse_all(KUBERNETES, "render-names-k8s");
}

#[test]
fn other_names_refuse_hostile_values_at_their_line() {
    refuse_all(OTHER, "render-names-other");
}

#[test]
fn extra_sbatch_lines_stay_comments_to_bash() {
    let extra = [
        "--comment=$(touch CANARY)",
        "--comment=`touch CANARY`",
        "--comment='; touch CANARY; '",
        "--comment=\"; touch CANARY; \"",
        "--comment=a # b: {c",
    ];
    let list: Vec<String> = extra.iter().map(|e| toml_str(e)).collect();
    let spec = format!(
        "{RUN}[slurm]\nnodes = 1\ntasks_per_node = 2\nextra = [{}]\n\n[mpi]\nlauncher = \"srun\"\n",
        list.join(", ")
    );
    let dir = Scratch::new("render-sbatch-extra");
    let d = dir.path();
    std::fs::write(d.join("run.toml"), spec).unwrap();
    ringload_in(
        Some(d),
        &["render", "--spec", "run.toml", "--out", "out"],
        &[],
    )
    .ok();
    stubs(&d.join("bin"), "ringload");
    for (script, first) in [
        ("run.sbatch", &["srun", "--kill-on-bad-exit=0"][..]),
        ("run-mpi.sh", &["srun", "--mpi=pmix", "--ntasks=2"][..]),
    ] {
        let text = std::fs::read_to_string(d.join("out").join(script)).unwrap();
        for e in extra {
            assert!(
                text.contains(&format!("\n#SBATCH {e}\n")),
                "{e} in {script}"
            );
        }
        let cwd = d.join(format!("cwd-{script}"));
        let log = d.join(format!("argv-{script}"));
        let out = run_bash(&d.join("out").join(script), &cwd, &d.join("bin"), &log);
        assert_no_canary(d);
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut want: Vec<String> = first.iter().map(|s| s.to_string()).collect();
        want.extend(
            [
                "ringload",
                "run",
                "--spec=results/names/run.toml",
                "--results-dir=results",
            ]
            .map(String::from),
        );
        let merge = ["ringload", "merge", "--", "results/names"]
            .map(String::from)
            .to_vec();
        assert_eq!(recorded(&log), [want, merge], "{script}");
        assert!(Path::new(&cwd).join("results/names/run.toml").is_file());
    }
}

/// `ringload render --spec SPEC --out OUT ARGS...` in `dir`.
fn render(dir: &Path, spec: &str, out: &Path, args: &[&str]) -> Ran {
    let mut a = vec!["render", "--spec", spec, "--out", out.to_str().unwrap()];
    a.extend_from_slice(args);
    ringload_in(Some(dir), &a, &[])
}

#[test]
fn an_existing_run_is_refused() {
    let dir = Scratch::new("render-exists");
    let d = dir.path();
    let spec = "[run]\nid = \"taken-1\"\nranks = 2\n\n[kubernetes]\nimage = \"ringload:dev\"\nresults_pvc = \"r\"\n\n\
        [slurm]\nnodes = 2\n\n[mpi]\n";
    std::fs::write(d.join("run.toml"), spec).unwrap();
    std::fs::create_dir_all(d.join("results/taken-1")).unwrap();
    for p in ["slurm", "mpi"] {
        let out = d.join(format!("out-{p}"));
        let r = render(d, "run.toml", &out, &["--platform", p]);
        r.check(r.code() == 2, "an existing results/<id> must be refused");
        for needle in [
            "run.toml:2:",
            "results/taken-1",
            "[run] id",
            "already exist",
        ] {
            r.check(r.stderr().contains(needle), needle);
        }
        assert!(!out.exists(), "nothing is written");
    }
    // Kubernetes results live on the cluster's volume, not in the local directory.
    render(d, "run.toml", &d.join("out-k8s"), &["--platform", "k8s"]).ok();
    // [slurm] results_dir moves the check with it.
    let spec2 = spec
        .replace("taken-1", "taken-2")
        .replace("nodes = 2\n", "nodes = 2\nresults_dir = \"shared\"\n");
    std::fs::write(d.join("run2.toml"), spec2).unwrap();
    std::fs::create_dir_all(d.join("shared/taken-2")).unwrap();
    let r = render(d, "run2.toml", &d.join("out-2"), &["--platform", "slurm"]);
    r.check(
        r.code() == 2 && r.stderr().contains("shared/taken-2"),
        "[slurm] results_dir",
    );
}

#[test]
fn errors_name_the_file_line_and_a_fix() {
    let dir = Scratch::new("render-errors");
    let d = dir.path();
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "[run]\nid = \"ux-1\"\nidd = \"x\"\n",
            &[],
            &[
                "run.toml:3:",
                "unknown field `idd`",
                "hint: check the spelling",
            ],
        ),
        (
            "[run]\nid = \"ux-m\"\nmetrics_port = 70000\n",
            &[],
            &[
                "run.toml:3:",
                "[run] metrics_port = 70000 is out of range",
                "hint: a TCP port, 1..=65535",
            ],
        ),
        (
            "[run]\nid = \"ux-n\"\nmetrics_port = \"9464\"\n",
            &[],
            &["run.toml:3:16:", "expected i64"],
        ),
        (
            "[run]\nid = \"ux-2\"\n[workload]\nnumworker = 4\n[mpi]\n",
            &[],
            &[
                "run.toml:4:",
                "[workload] numworker",
                "--numworkers",
                "hint:",
            ],
        ),
        (
            "[run]\nid = \"ux-3\"\n",
            &["--platform", "k8s"],
            &[
                "run.toml",
                "no [kubernetes] section",
                "hint: add one",
                "image =",
            ],
        ),
        (
            "[run]\nid = \"ux-4\"\n",
            &[],
            &["run.toml", "nothing to render", "--platform"],
        ),
        (
            "[run]\nid = \"ux-5\"\nranks = 3\n[slurm]\nnodes = 2\n",
            &[],
            &["run.toml:5:", "nodes", "ranks", "hint:"],
        ),
        (
            "[run]\nid = \"ux-6\"\n[target]\ntls_ca = \"ca.pem\"\n[kubernetes]\nimage = \"x\"\n",
            &["--platform", "k8s"],
            &[
                "run.toml:4:1: [target] tls_ca is a file path, which a Kubernetes pod cannot \
                 read, and [kubernetes] has no tls_ca_configmap or tls_ca_secret",
                "hint: put the CA bundle in the cluster and name it: kubectl -n default create \
                 configmap ringload-ca --from-file=ca.crt=FILE, then [kubernetes] \
                 tls_ca_configmap = \"ringload-ca\" (or tls_ca_secret for a Secret)",
            ],
        ),
        (
            "[run]\nid = \"ux-7\"\n[target]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
             [kubernetes]\nimage = \"x\"\nnamespace = \"bench\"\ntls_ca_secret = \"ca\"\n",
            &[],
            &[
                "run.toml:4:1: [target] tls_cert is a file path, which a Kubernetes pod",
                "[kubernetes] has no tls_client_secret",
                "kubectl -n bench create secret tls ringload-client --cert=CERT --key=KEY",
            ],
        ),
        (
            "[run]\nid = \"ux-8\"\n[target]\ntls_cert = \"c.pem\"\n[mpi]\n",
            &[],
            &[
                "run.toml:4:1: [target] tls_cert is given without tls_key",
                "hint: a client certificate needs its private key: add tls_key = \"FILE\"",
            ],
        ),
        (
            "[run]\nid = \"ux-9\"\n[target]\ntls_ca = \"ca.pem\"\ntls_insecure = true\n[slurm]\nnodes = 1\n",
            &[],
            &[
                "run.toml:5:1: [target] tls_insecure = true turns verification off",
                "hint: keep tls_ca and remove tls_insecure",
            ],
        ),
        (
            "[run]\nid = \"ux-10\"\n[target]\nendpoint = \"http://s3.local:9000\"\n\
             tls_insecure = true\n[slurm]\nnodes = 1\n",
            &[],
            &[
                "run.toml:5:1: [target] tls_insecure is a TLS setting, but the endpoint \
                 http://s3.local:9000 is plain http://\n  hint: use https:// in the endpoint \
                 URL, or leave tls_insecure out\n",
            ],
        ),
        (
            "[run]\nid = \"ux-11\"\n[target]\nendpoint = \"http://proxy:8080\"\n\
             [kubernetes]\nimage = \"x\"\ntls_ca_configmap = \"ringload-ca\"\n",
            &["--platform", "k8s"],
            &[
                "run.toml:7:1: [kubernetes] tls_ca_configmap is a TLS setting, but the endpoint \
                 http://proxy:8080 is plain http://",
                "hint: use https:// in the endpoint URL, or leave tls_ca_configmap out",
            ],
        ),
    ];
    for (text, args, needles) in cases {
        std::fs::write(d.join("run.toml"), text).unwrap();
        let out = d.join("out");
        let r = render(d, "run.toml", &out, args);
        r.check(r.code() == 2, &format!("exit 2 for {text:?}"));
        for n in *needles {
            r.check(
                r.stderr().contains(n),
                &format!("stderr should contain {n:?}"),
            );
        }
        assert!(!out.exists(), "nothing is written for {text:?}");
    }
}

#[test]
fn a_multi_rank_kubernetes_job_needs_a_results_pvc() {
    let dir = Scratch::new("render-nopvc");
    let d = dir.path();
    std::fs::write(
        d.join("run.toml"),
        "[run]\nid = \"nopvc\"\nranks = 2\n\n[kubernetes]\nimage = \"ringload:dev\"\n",
    )
    .unwrap();
    let out = d.join("out");
    let r = render(d, "run.toml", &out, &["--platform", "k8s"]);
    r.check(r.code() == 2, "refused");
    r.check(r.stderr().contains("run.toml:5:"), "points at [kubernetes]");
    r.check(r.stderr().contains("results_pvc"), "names the fix");
    r.check(!out.exists(), "nothing written");
}
