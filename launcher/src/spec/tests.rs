use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

fn parse(text: &str) -> Result<Loaded, SpecError> {
    let now = UNIX_EPOCH + Duration::from_secs(1_795_887_000); // 2026-11-28 17:30:00 UTC
    Loaded::parse(Path::new("run.toml"), text.to_string(), now)
}

const GOOD: &str = r#"
[run]
id = "fill-1g"
ranks = 4

[target]
protocol = "ais"
endpoint = "http://ais-proxy.ais:51080"
bucket = "ais://bench"
credentials = { secret = "ais-token" }

[workload]
pctput = 100
minsize = "1GiB"
numworkers = 50
uniquegets = true

[kubernetes]
image = "ghcr.io/acme/ringload:0.1.0"
node_selector = { aisloader = "ais" }
resources = { requests = { cpu = "4", memory = "8Gi" } }
tolerations = [{ key = "dedicated", operator = "Equal", value = "bench", effect = "NoSchedule" }]

[slurm]
nodes = 2
tasks_per_node = 2
time = "1:00:00"
"#;

#[test]
fn a_good_spec_parses_and_round_trips() {
    let l = parse(GOOD).unwrap();
    assert_eq!(l.spec.run.ranks, 4);
    assert_eq!(l.spec.kubernetes.as_ref().unwrap().namespace, "default");
    let again: Spec = toml::from_str(&l.resolved_toml()).unwrap();
    assert_eq!(again, l.spec);
    let keys: Vec<_> = l
        .workload_entries()
        .into_iter()
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(
        keys,
        [
            ("pctput".into(), "100".into()),
            ("minsize".into(), "1GiB".into()),
            ("numworkers".into(), "50".into()),
            ("uniquegets".into(), "true".into())
        ]
    );
}

#[test]
fn auto_ids_are_timestamps_with_a_random_tag() {
    let l = parse("[run]\nid = \"auto\"\n").unwrap();
    assert!(is_auto_id(&l.spec.run.id), "{}", l.spec.run.id);
    assert!(l.spec.run.id.starts_with("run-20261128-173000-"));
    let again = parse("[run]\n").unwrap().spec.run.id;
    assert!(again.starts_with("run-20261128-173000-"), "{again}");
    assert_ne!(
        again, l.spec.run.id,
        "two specs loaded in one second get distinct ids"
    );
}

/// The documented shape: `run-YYYYMMDD-HHMMSS-xxxx`, `x` a lowercase hex digit.
fn is_auto_id(id: &str) -> bool {
    let b = id.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 24
        && id.starts_with("run-")
        && digits(4..12)
        && b[12] == b'-'
        && digits(13..19)
        && b[19] == b'-'
        && b[20..]
            .iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

#[test]
fn a_hundred_auto_ids_in_one_second_are_distinct() {
    let now = SystemTime::now();
    let ids: std::collections::BTreeSet<String> = (0..100).map(|_| auto_id(now)).collect();
    assert_eq!(ids.len(), 100, "{ids:?}");
    for id in &ids {
        assert!(is_auto_id(id), "{id} is not run-YYYYMMDD-HHMMSS-xxxx");
    }
}

#[test]
fn unknown_keys_name_the_line() {
    let e = parse("[run]\nid = \"a\"\nrnaks = 3\n").unwrap_err();
    assert_eq!(e.at, Some((3, 1)), "{e}");
    assert!(e.to_string().contains("rnaks"), "{e}");
    let e = parse("[run]\n[kubernetes]\nimage = \"x\"\nnodeSelector = {}\n").unwrap_err();
    assert_eq!(e.at.map(|a| a.0), Some(4), "{e}");
}

#[test]
fn credential_values_are_refused_with_a_hint() {
    let e = parse("[run]\n[target.credentials]\nsecret_key = \"hunter2\"\n").unwrap_err();
    assert_eq!(e.at.map(|a| a.0), Some(3));
    let text = e.to_string();
    assert!(text.contains("never holds credential values"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the value must not be echoed: {text}"
    );
}

#[test]
fn bad_values_point_at_their_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("[run]\nid = \"Bad_Id\"\n", 2, "run id"),
        ("[run]\nranks = 0\n", 2, "ranks"),
        ("[run]\nbarrier_timeout = \"soon\"\n", 2, "duration"),
        ("[run]\n[target]\nprotocol = \"ftp\"\n", 3, "one of"),
        ("[run]\n[target]\nendpoint = \"ftp://x\"\n", 3, "endpoint"),
        ("[run]\n[workload]\nbucket = \"b\"\n", 3, "[target] bucket"),
        ("[run]\n[workload]\nnumworkers = [1]\n", 3, "single value"),
        (
            "[run]\n[kubernetes]\nimage = \"x\"\nnamespace = \"a: {b\"\n",
            4,
            "RFC 1123",
        ),
        ("[run]\n[kubernetes]\nimage = \"x y\"\n", 3, "image"),
        (
            "[run]\n[kubernetes]\nimage = \"x\"\n[kubernetes.resources.limits]\ncpu = \"lots\"\n",
            5,
            "quantity",
        ),
        (
            "[run]\n[kubernetes]\nimage = \"x\"\n[[kubernetes.tolerations]]\neffect = \"Never\"\n",
            5,
            "NoSchedule",
        ),
        (
            "[run]\n[slurm]\nnodes = 1\npartition = \"a$(id)\"\n",
            4,
            "shell",
        ),
        (
            "[run]\nranks = 3\n[slurm]\nnodes = 2\n",
            4,
            "nodes × tasks_per_node",
        ),
        (
            "[run]\n[slurm]\nnodes = 1\nextra = [\"--x\\nrm -rf /\"]\n",
            4,
            "one line",
        ),
        (
            "[run]\nid = \"a\"\nringload = \"-x\"\n",
            3,
            "starts with '-'",
        ),
    ];
    for (text, line, needle) in cases {
        let e = parse(text).expect_err(text);
        assert_eq!(e.at.map(|a| a.0), Some(*line), "{text}: {e}");
        assert!(e.to_string().contains(needle), "{text}: {e}");
    }
}

#[test]
fn hostile_keys_are_escaped_in_messages() {
    let e = parse(
        "[run]\n[kubernetes]\nimage = \"x\"\n[kubernetes.env]\n\"a\\nb\\u001b[31m\" = \"v\"\n",
    )
    .unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.at.map(|a| a.0), Some(5), "{msg}");
    assert!(msg.contains("env.\"a\\nb\\u{1b}[31m\""), "{msg}");
    assert!(!msg.contains('\u{1b}') && msg.lines().count() == 2, "{msg}");
}

#[test]
fn toml_syntax_errors_have_a_place() {
    let e = parse("[run]\nid = \"a\nranks = 2\n").unwrap_err();
    assert!(e.at.is_some(), "{e}");
    assert!(e.to_string().starts_with("run.toml:2:"), "{e}");
}

#[test]
fn credentials_map_to_canonical_names() {
    let l = parse(
        "[run]\n[target.credentials]\naccess_key_env = \"MY_AK\"\nsecret_key_env = \"MY_SK\"\n",
    )
    .unwrap();
    assert_eq!(
        l.spec.target.credentials.env_aliases(),
        [
            ("MY_AK", "AWS_ACCESS_KEY_ID"),
            ("MY_SK", "AWS_SECRET_ACCESS_KEY")
        ]
    );
}

#[test]
fn civil_dates() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(20_420), (2025, 11, 28));
    assert_eq!(
        stamped_id(UNIX_EPOCH + Duration::from_secs(951_782_400), 0x7f3a),
        "run-20000229-000000-7f3a"
    );
    let _ = SystemTime::now();
}

const TLS: &str = r#"[run]
id = "tls-1"

[target]
endpoint = "https://ais-proxy.ais:51443"
tls_ca = "/etc/pki/ais-ca.pem"
tls_cert = "client.crt"
tls_key = "client.key"

[kubernetes]
image = "x"
tls_ca_configmap = "ais-ca"
tls_ca_key = "bundle.pem"
tls_client_secret = "ringload-client"
"#;

#[test]
fn tls_keys_parse_and_round_trip() {
    let l = parse(TLS).unwrap();
    let t = &l.spec.target;
    assert_eq!(t.tls_ca.as_deref(), Some("/etc/pki/ais-ca.pem"));
    assert_eq!(t.tls_cert.as_deref(), Some("client.crt"));
    assert_eq!(t.tls_key.as_deref(), Some("client.key"));
    assert!(!t.tls_insecure);
    let k = l.spec.kubernetes.as_ref().unwrap();
    assert_eq!(k.tls_ca_source(), Some(("configmap", "ais-ca")));
    assert_eq!(k.tls_ca_key(), "bundle.pem");
    assert_eq!(k.tls_client_secret.as_deref(), Some("ringload-client"));
    let again: Spec = toml::from_str(&l.resolved_toml()).unwrap();
    assert_eq!(again, l.spec);

    let l = parse(
        "[run]\n[target]\ntls_insecure = true\n[kubernetes]\nimage = \"x\"\ntls_client_secret = \"c\"\n",
    )
    .unwrap();
    assert!(l.spec.target.tls_insecure);
    assert!(l.resolved_toml().contains("tls_insecure = true"));
    let k = l.spec.kubernetes.unwrap();
    assert_eq!(k.tls_ca_source(), None);
    let l = parse("[run]\n[kubernetes]\nimage = \"x\"\ntls_ca_secret = \"s\"\n").unwrap();
    let k = l.spec.kubernetes.unwrap();
    assert_eq!(k.tls_ca_source(), Some(("secret", "s")));
    assert_eq!(k.tls_ca_key(), DEFAULT_CA_KEY);
    // Off is the default and is not written back.
    let l = parse("[run]\n[target]\ntls_insecure = false\n").unwrap();
    assert!(!l.resolved_toml().contains("tls"));
}

#[test]
fn tls_contradictions_and_bad_values_name_the_key_and_the_fix() {
    let k = "[kubernetes]\nimage = \"x\"\n";
    let cases: Vec<(String, usize, &[&str])> = vec![
        (
            "[run]\n[target]\ntls_cert = \"c.pem\"\n".into(),
            3,
            &[
                "[target] tls_cert is given without tls_key",
                "add tls_key = ",
            ],
        ),
        (
            "[run]\n[target]\ntls_key = \"k.pem\"\n".into(),
            3,
            &[
                "[target] tls_key is given without tls_cert",
                "add tls_cert = ",
            ],
        ),
        (
            "[run]\n[target]\ntls_ca = \"ca.pem\"\ntls_insecure = true\n".into(),
            4,
            &[
                "[target] tls_insecure = true",
                "tls_ca would never be used",
                "remove tls_insecure",
            ],
        ),
        (
            "[run]\n[target]\ntls_ca = \"\"\n".into(),
            3,
            &["[target] tls_ca = \"\" is not valid", "a path on one line"],
        ),
        (
            format!("[run]\n[target]\ntls_insecure = true\n{k}tls_ca_secret = \"ca\"\n"),
            3,
            &[
                "[kubernetes] tls_ca_secret would never be used",
                "remove tls_insecure",
            ],
        ),
        (
            format!("[run]\n{k}tls_ca_configmap = \"a\"\ntls_ca_secret = \"b\"\n"),
            5,
            &["both name the CA bundle", "keep one"],
        ),
        (
            format!("[run]\n{k}tls_ca_key = \"ca.crt\"\n"),
            4,
            &[
                "tls_ca_key is given without tls_ca_configmap or tls_ca_secret",
                "hint:",
            ],
        ),
        (
            format!("[run]\n{k}tls_ca_configmap = \"Bad_Name\"\n"),
            4,
            &["[kubernetes] tls_ca_configmap = \"Bad_Name\"", "RFC 1123"],
        ),
        (
            format!("[run]\n{k}tls_ca_secret = \"a b\"\n"),
            4,
            &["[kubernetes] tls_ca_secret", "RFC 1123"],
        ),
        (
            format!("[run]\n{k}tls_client_secret = \"-x\"\n"),
            4,
            &["[kubernetes] tls_client_secret", "RFC 1123"],
        ),
        (
            format!("[run]\n{k}tls_ca_configmap = \"a\"\ntls_ca_key = \"../x\"\n"),
            5,
            &["[kubernetes] tls_ca_key", "ConfigMap or Secret key"],
        ),
        (
            "[run]\n[workload]\ntls_insecure = true\n".into(),
            3,
            &[
                "[workload] tls_insecure does not belong here",
                "[target] tls_insecure",
            ],
        ),
        (
            "[run]\n[workload]\ntls-ca = \"ca.pem\"\n".into(),
            3,
            &["does not belong here", "[target] tls_ca"],
        ),
        (
            "[run]\n[target]\ntls_insecure = \"yes\"\n".into(),
            3,
            &["invalid type"],
        ),
        (
            "[run]\n[target]\ntls_keyfile = \"k.pem\"\n".into(),
            3,
            &["unknown field `tls_keyfile`", "check the spelling"],
        ),
    ];
    for (text, line, needles) in &cases {
        let e = parse(text).expect_err(text);
        assert_eq!(e.at.map(|a| a.0), Some(*line), "{text}: {e}");
        for n in *needles {
            assert!(e.to_string().contains(n), "{text}: {n:?} in {e}");
        }
    }
}

#[test]
fn pem_text_where_a_file_belongs_is_refused_without_echoing_it() {
    let pem = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----";
    for key in ["tls_ca", "tls_cert", "tls_key"] {
        // The PEM check comes first: a lone tls_cert is refused for its text, not its pair.
        let text = format!("[run]\n[target]\n{key} = \"{pem}\"\n");
        let e = parse(&text).expect_err(&text);
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("[target] {key} holds PEM text")),
            "{msg}"
        );
        assert!(msg.contains("give its path"), "{msg}");
        assert!(
            !msg.contains("MIIEvQIBADANBg"),
            "the key must not be echoed: {msg}"
        );
    }
}

#[test]
fn https_endpoints_are_accepted() {
    let l = parse(
        "[run]\n[target]\nprotocol = \"s3\"\nendpoint = \"https://s3.us-east-1.amazonaws.com\"\n",
    )
    .unwrap();
    assert_eq!(
        l.spec.target.endpoint.as_deref(),
        Some("https://s3.us-east-1.amazonaws.com")
    );
}

#[test]
fn aisloaders_dotted_flag_names_point_at_the_flat_key() {
    let e = parse("[run]\n[workload]\npctput = 100\narch.pct = 10\n").unwrap_err();
    assert_eq!(e.at.map(|a| a.0), Some(4), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("[workload] arch must be a single value"),
        "{text}"
    );
    assert!(
        text.contains("write arch_pct = ... (aisloader's -arch.pct is --arch-pct)"),
        "{text}"
    );
    let e = parse("[run]\n[workload]\n\"arch\".\"num-files\" = 5\n").unwrap_err();
    assert!(e.to_string().contains("write arch_num_files = ..."), "{e}");
    // A key that is not plain gets the general hint, never itself echoed raw.
    let e = parse("[run]\n[workload]\n\"a b\".c = 5\n").unwrap_err();
    assert!(
        e.to_string().contains("a string, number or true/false"),
        "{e}"
    );
}
