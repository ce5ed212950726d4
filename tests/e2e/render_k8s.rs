//! `ringload render` for Kubernetes, end to end through the real binary: the manifests pass
//! `kubernetes-validate --strict` (1.30 and the newest schemas installed) and the project's own
//! checks for what schemas miss (Indexed mode, completions = parallelism = ranks, backoffLimit
//! 0, restartPolicy Never, one pod per node, names, `--merge`, the spec mounted from the
//! ConfigMap). TLS settings mount the CA bundle and client certificate from the cluster, with
//! `--tls-*` arguments pointing into the mounts; `[run] metrics_port` exposes the port with the
//! scrape annotations. What every platform shares is in tests/e2e/render.rs.

use crate::common;
use crate::render::{render, render_text, rich_spec, snapshot_spec};

use std::path::{Path, PathBuf};

use common::{kube, Scratch};
use serde_json::Value;

const MINIMAL: &str = "[run]\nid = \"min-1\"\n\n[kubernetes]\nimage = \"ringload:dev\"\n";

const SPREAD: &str = "[run]\nid = \"spread-3\"\nranks = 3\n\n[kubernetes]\n\
    image = \"ringload:dev\"\none_pod_per_node = false\nresults_pvc = \"shared\"\n";

/// A DNS label (RFC 1123), checked here independently of the launcher's own check.
fn is_rfc1123_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The project's checks on a rendered ConfigMap + Job pair, for what schemas cannot say.
fn check_job(cm: &Value, job: &Value, id: &str, ranks: u64, one_pod_per_node: bool) {
    let ctx = format!("job {job:#}");
    assert_eq!(job["apiVersion"], "batch/v1", "{ctx}");
    assert_eq!(job["kind"], "Job", "{ctx}");
    assert_eq!(
        (cm["apiVersion"].as_str(), cm["kind"].as_str()),
        (Some("v1"), Some("ConfigMap"))
    );
    let (name, ns) = (&job["metadata"]["name"], &job["metadata"]["namespace"]);
    for (what, v) in [("name", name), ("namespace", ns)] {
        let v = v
            .as_str()
            .unwrap_or_else(|| panic!("metadata.{what} missing: {ctx}"));
        assert!(
            is_rfc1123_label(v),
            "metadata.{what} {v:?} is not an RFC 1123 label"
        );
    }
    assert_eq!(name, &format!("ringload-{id}"));
    assert!(is_rfc1123_label(cm["metadata"]["name"].as_str().unwrap()));
    assert_eq!(
        &cm["metadata"]["namespace"], ns,
        "ConfigMap and Job share a namespace"
    );
    let labels = &job["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/name"], "ringload", "{ctx}");
    assert_eq!(&labels["app.kubernetes.io/instance"], name, "{ctx}");

    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed", "{ctx}");
    assert_eq!(spec["completions"].as_u64(), Some(ranks), "{ctx}");
    assert_eq!(spec["parallelism"].as_u64(), Some(ranks), "{ctx}");
    assert_eq!(spec["backoffLimit"].as_u64(), Some(0), "{ctx}");
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never", "{ctx}");
    let pod_labels = spec["template"]["metadata"]["labels"].as_object().unwrap();
    assert_eq!(pod_labels["app.kubernetes.io/name"], "ringload");

    let anti =
        &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    if one_pod_per_node {
        let terms = anti
            .as_array()
            .unwrap_or_else(|| panic!("no required anti-affinity: {ctx}"));
        assert_eq!(terms.len(), 1, "{ctx}");
        assert_eq!(terms[0]["topologyKey"], "kubernetes.io/hostname", "{ctx}");
        assert!(terms[0]["labelSelector"].get("matchExpressions").is_none());
        let sel = terms[0]["labelSelector"]["matchLabels"]
            .as_object()
            .unwrap();
        assert!(
            !sel.is_empty(),
            "an empty selector would repel every pod: {ctx}"
        );
        for (k, v) in sel {
            assert_eq!(
                pod_labels.get(k),
                Some(v),
                "selector {k} must match the pods: {ctx}"
            );
        }
        assert_eq!(
            sel.get("ringload.io/run-id").and_then(Value::as_str),
            Some(id)
        );
    } else {
        assert!(
            pod.get("affinity").is_none(),
            "one_pod_per_node = false: {ctx}"
        );
    }

    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{ctx}");
    let c = &containers[0];
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"--merge"), "rank 0 merges: {args:?}");
    let env = c["env"].as_array().map(Vec::as_slice).unwrap_or_default();
    assert!(
        env.iter().all(|e| e["name"] != "JOB_COMPLETION_INDEX"),
        "the rank comes from the Indexed Job itself: {ctx}"
    );
    // --spec points into the ConfigMap's mount, at a key the ConfigMap holds.
    let spec_path = args[args.iter().position(|a| *a == "--spec").expect("--spec") + 1];
    let volumes = pod["volumes"].as_array().unwrap();
    let cm_volume = volumes
        .iter()
        .find(|v| v["configMap"]["name"] == cm["metadata"]["name"])
        .unwrap_or_else(|| panic!("no volume from the ConfigMap: {ctx}"));
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == cm_volume["name"])
        .expect("the ConfigMap volume is mounted");
    let dir = mount["mountPath"].as_str().unwrap();
    let key = spec_path
        .strip_prefix(&format!("{dir}/"))
        .unwrap_or_else(|| panic!("--spec {spec_path} is not inside the ConfigMap mount {dir}"));
    let text = cm["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("ConfigMap has no {key}"));
    let toml: toml::Table = text.parse().unwrap();
    assert_eq!(toml["run"]["id"].as_str(), Some(id));
    assert_eq!(toml["run"]["ranks"].as_integer(), Some(ranks as i64));
    if let Some(rd) = args.iter().position(|a| *a == "--results-dir") {
        let rd = args[rd + 1];
        assert!(c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == rd));
    }
}

/// Parses `out/configmap.yaml` and `out/job.yaml`: one document each.
pub(crate) fn k8s_docs(out: &Path) -> (Value, Value) {
    let mut v = kube::yaml_docs_many(&[out.join("configmap.yaml"), out.join("job.yaml")]);
    let one = |d: Value| {
        let a = d.as_array().unwrap();
        assert_eq!(a.len(), 1, "one document per file: {d}");
        a[0].clone()
    };
    let job = one(v.pop().unwrap());
    (one(v.pop().unwrap()), job)
}

#[test]
fn manifests_pass_kubernetes_validate_strict_and_our_checks() {
    let dir = Scratch::new("render-k8s");
    let d = dir.path();
    let rich = d.join("out-rich");
    render(d, &rich_spec(), &rich, &["--platform", "k8s"], &[]).ok();
    let min = render_text(d, "min.toml", MINIMAL, &[]);
    let spread = render_text(d, "spread.toml", SPREAD, &[]);
    let files: Vec<PathBuf> = [&rich, &min, &spread]
        .iter()
        .flat_map(|o| [o.join("configmap.yaml"), o.join("job.yaml")])
        .collect();
    let newest = kube::newest_version();
    for v in ["1.30.0", newest.as_str()] {
        kube::validate(&files, v);
    }

    let (cm, job) = k8s_docs(&rich);
    check_job(&cm, &job, "snap-rich", 4, true);
    let pod = &job["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(job["metadata"]["namespace"], "bench");
    assert_eq!(
        pod["nodeSelector"],
        serde_json::json!({"aisloader": "ais", "example.com/pool": "bench"})
    );
    assert_eq!(
        c["resources"]["requests"],
        serde_json::json!({"cpu": "4", "memory": "8Gi"})
    );
    assert_eq!(
        c["resources"]["limits"],
        serde_json::json!({"cpu": "8", "memory": "8Gi"})
    );
    let tol = pod["tolerations"].as_array().unwrap();
    assert_eq!(tol.len(), 4);
    assert_eq!(tol[1]["tolerationSeconds"], 30);
    assert_eq!(tol[2], serde_json::json!({"tolerationSeconds": 0}));
    assert_eq!(
        tol[3],
        serde_json::json!({}),
        "an empty toleration tolerates everything"
    );
    assert_eq!(
        pod["securityContext"]["sysctls"][0]["name"],
        "net.core.somaxconn"
    );
    assert_eq!(pod["imagePullSecrets"][0]["name"], "regcred");
    assert_eq!(pod["serviceAccountName"], "ringload");
    assert_eq!(c["image"], "ghcr.io/acme/ringload:0.1.0");
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(
        c["command"],
        serde_json::json!(["/opt/ringload/bin/ringload"])
    );
    assert_eq!(
        c["env"],
        serde_json::json!([{"name": "GOGC", "value": "off"}, {"name": "RUST_LOG", "value": "info"}])
    );
    assert_eq!(c["envFrom"][0]["secretRef"]["name"], "ais-token");
    let results = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "results");
    assert_eq!(
        results.unwrap()["persistentVolumeClaim"]["claimName"],
        "ringload-results"
    );
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);

    let (cm, job) = k8s_docs(&min);
    check_job(&cm, &job, "min-1", 1, true);
    assert_eq!(job["metadata"]["namespace"], "default");
    let (cm, job) = k8s_docs(&spread);
    check_job(&cm, &job, "spread-3", 3, false);
}

/// The `--tls-*` arguments of a rendered container, as (flag, value) pairs.
fn tls_args(c: &Value) -> Vec<(String, String)> {
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    args.windows(2)
        .filter(|w| w[0].starts_with("--tls"))
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect()
}

/// The volume named `name` and the container's mount of it.
fn volume<'a>(pod: &'a Value, name: &str) -> (&'a Value, &'a Value) {
    let v = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no volume {name}: {pod:#}"));
    let m = pod["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("volume {name} is not mounted: {pod:#}"));
    (v, m)
}

#[test]
fn tls_manifests_mount_the_cluster_s_ca_and_client_certificate() {
    let dir = Scratch::new("render-tls");
    let d = dir.path();
    let full = d.join("out-full");
    render(
        d,
        &snapshot_spec("render-tls"),
        &full,
        &["--platform", "k8s"],
        &[],
    )
    .ok();
    let secret_ca = render_text(
        d,
        "secret-ca.toml",
        "[run]\nid = \"tls-secret\"\n\n[target]\nendpoint = \"https://s3.example.com\"\n\n\
         [kubernetes]\nimage = \"ringload:dev\"\ntls_ca_secret = \"corp-ca\"\n",
        &[],
    );
    let insecure = render_text(
        d,
        "insecure.toml",
        "[run]\nid = \"tls-insecure\"\n\n[target]\nendpoint = \"https://10.0.0.1:8443\"\n\
         tls_insecure = true\n\n[kubernetes]\nimage = \"ringload:dev\"\n",
        &[],
    );
    let files: Vec<PathBuf> = [&full, &secret_ca, &insecure]
        .iter()
        .flat_map(|o| [o.join("configmap.yaml"), o.join("job.yaml")])
        .collect();
    let newest = kube::newest_version();
    for v in ["1.30.0", newest.as_str()] {
        kube::validate(&files, v);
    }

    // A ConfigMap bundle and a client certificate, each mounted read-only where the args point.
    let (cm, job) = k8s_docs(&full);
    check_job(&cm, &job, "snap-tls", 2, true);
    let pod = &job["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(
        tls_args(c),
        [
            ("--tls-ca", "/etc/ringload/tls-ca/ca-bundle.pem"),
            ("--tls-cert", "/etc/ringload/tls-client/tls.crt"),
            ("--tls-key", "/etc/ringload/tls-client/tls.key"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let spec_at = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a == "--spec")
        .unwrap();
    let tls_at = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a == "--tls-ca")
        .unwrap();
    assert!(spec_at < tls_at, "the mounted paths override the spec's");
    let (v, m) = volume(pod, "tls-ca");
    assert_eq!(m["mountPath"], "/etc/ringload/tls-ca");
    assert_eq!(m["readOnly"], true);
    assert_eq!(
        v["configMap"],
        serde_json::json!({"name": "minio-ca", "items": [{"key": "ca-bundle.pem", "path": "ca-bundle.pem"}]})
    );
    let (v, m) = volume(pod, "tls-client");
    assert_eq!(m["mountPath"], "/etc/ringload/tls-client");
    assert_eq!(m["readOnly"], true);
    assert_eq!(
        v["secret"],
        serde_json::json!({"secretName": "ringload-client", "items": [
            {"key": "tls.crt", "path": "tls.crt"}, {"key": "tls.key", "path": "tls.key"}]})
    );
    // The spec in the ConfigMap keeps its keys (Slurm's paths, overridden in the pod).
    let toml: toml::Table = cm["data"]["run.toml"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        toml["target"]["tls_ca"].as_str(),
        Some("/shared/pki/minio-ca.pem")
    );
    assert_eq!(
        toml["kubernetes"]["tls_ca_configmap"].as_str(),
        Some("minio-ca")
    );

    // A Secret bundle under the default key; no client volume.
    let (cm, job) = k8s_docs(&secret_ca);
    check_job(&cm, &job, "tls-secret", 1, true);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        tls_args(&pod["containers"][0]),
        [(
            "--tls-ca".to_string(),
            "/etc/ringload/tls-ca/ca.crt".to_string()
        )]
    );
    let (v, _) = volume(pod, "tls-ca");
    assert_eq!(
        v["secret"],
        serde_json::json!({"secretName": "corp-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]})
    );
    assert_eq!(
        pod["volumes"].as_array().unwrap().len(),
        3,
        "spec, results, tls-ca"
    );

    // Verification off travels in the spec: no mount, no argument.
    let (cm, job) = k8s_docs(&insecure);
    check_job(&cm, &job, "tls-insecure", 1, true);
    let pod = &job["spec"]["template"]["spec"];
    assert!(tls_args(&pod["containers"][0]).is_empty());
    assert_eq!(pod["volumes"].as_array().unwrap().len(), 2, "spec, results");
    let toml: toml::Table = cm["data"]["run.toml"].as_str().unwrap().parse().unwrap();
    assert_eq!(toml["target"]["tls_insecure"].as_bool(), Some(true));
}

#[test]
fn metrics_port_exposes_the_port_with_the_scrape_annotations() {
    let dir = Scratch::new("render-metrics");
    let d = dir.path();
    let spec =
        "[run]\nid = \"prom-1\"\nmetrics_port = 9464\n\n[kubernetes]\nimage = \"ringload:dev\"\n";
    let out = render_text(d, "prom.toml", spec, &[]);
    let min = render_text(d, "min.toml", MINIMAL, &[]);
    let files = [out.join("configmap.yaml"), out.join("job.yaml")];
    kube::validate(&files, "1.30.0");
    kube::validate(&files, &kube::newest_version());
    let (cm, job) = k8s_docs(&out);
    check_job(&cm, &job, "prom-1", 1, true);
    let template = &job["spec"]["template"];
    assert_eq!(
        template["metadata"]["annotations"],
        serde_json::json!({
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9464",
            "prometheus.io/path": "/metrics",
        })
    );
    assert_eq!(
        template["spec"]["containers"][0]["ports"],
        serde_json::json!([{"name": "metrics", "containerPort": 9464, "protocol": "TCP"}])
    );
    // The pod listens through its spec: the ConfigMap carries the key.
    let toml = cm["data"].as_object().unwrap().values().next().unwrap();
    assert!(
        toml.as_str().unwrap().contains("metrics_port = 9464"),
        "{toml}"
    );
    // Without the key: no port, no annotations.
    let (_, job) = k8s_docs(&min);
    assert!(
        job["spec"]["template"]["metadata"]["annotations"].is_null(),
        "{job}"
    );
    assert!(job["spec"]["template"]["spec"]["containers"][0]["ports"].is_null());
}
