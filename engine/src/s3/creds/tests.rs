//! Tests for S3 credential loading: environment, profile files and their errors.

use super::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("ringload-s3-creds-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".aws")).expect("create scratch dir");
        Scratch(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::write(&path, text).expect("write scratch file");
        path
    }

    fn home(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(vars: &[(&str, &str)]) -> Result<S3Config, CredsError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve(&|name: &str| map.get(name).cloned())
}

fn keys(ak: &str, sk: &str, token: Option<&str>) -> Credentials {
    Credentials {
        access_key: ak.into(),
        secret_key: sk.into(),
        session_token: token.map(Into::into),
    }
}

const CREDS: &str = "\
# shared credentials
[default]
aws_access_key_id=DEFAULTAK
aws_secret_access_key   =   default/secret+key
; a comment
[dev]
aws_access_key_id = DEVAK
aws_secret_access_key = devsecret
aws_session_token = devtoken==
";

const CONFIG: &str = "\
[default]
region = eu-central-1
s3 =
    region = nested-must-not-win
    max_concurrent_requests = 20

[profile dev]
region=ap-south-1
[profile Ops]
region = us-west-1
aws_access_key_id = OPSAK
aws_secret_access_key = opssecret
";

#[test]
fn environment_keys_come_first() {
    let s = Scratch::new();
    s.write(".aws/credentials", CREDS);
    let home = s.home();
    let got = run(&[
        ("HOME", &home),
        (AK_VAR, " ENVAK\n"),
        (SK_VAR, "envsecret"),
        (TOKEN_VAR, "envtoken"),
        ("AWS_REGION", "us-west-2"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ])
    .expect("env creds");
    assert_eq!(got.creds, keys("ENVAK", "envsecret", Some("envtoken")));
    assert_eq!(got.region, "us-west-2");
    assert_eq!(got.profile, None);
}

#[test]
fn region_order_with_environment_keys() {
    let s = Scratch::new();
    s.write(".aws/config", CONFIG);
    let home = s.home();
    let base = [("HOME", home.as_str()), (AK_VAR, "A"), (SK_VAR, "S")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        run(&v).expect("resolves")
    };
    assert_eq!(
        with(&[("AWS_DEFAULT_REGION", "eu-west-1")]).region,
        "eu-west-1"
    );
    let from_config = with(&[]);
    assert_eq!(from_config.region, "eu-central-1");
    assert_eq!(from_config.profile.as_deref(), Some("default"));
    assert_eq!(with(&[("AWS_PROFILE", "dev")]).region, "ap-south-1");
    let empty_region = with(&[("AWS_REGION", ""), ("AWS_PROFILE", "nobody")]);
    assert_eq!(
        (empty_region.region.as_str(), empty_region.profile),
        ("us-east-1", None)
    );
}

#[test]
fn only_one_environment_key_names_the_other() {
    let err = run(&[(AK_VAR, "A")]).unwrap_err();
    assert!(matches!(
        err,
        CredsError::PartialEnv {
            missing: SK_VAR,
            ..
        }
    ));
    assert!(
        err.to_string().contains("AWS_SECRET_ACCESS_KEY is not"),
        "{err}"
    );
    let err = run(&[(SK_VAR, "S"), (AK_VAR, "")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
        "{err}"
    );
    assert!(!err.to_string().contains("S;"));
}

#[test]
fn default_profile_from_the_shared_files() {
    let s = Scratch::new();
    s.write(".aws/credentials", CREDS);
    let home = s.home();
    let got = run(&[("HOME", &home)]).expect("default profile");
    assert_eq!(got.creds, keys("DEFAULTAK", "default/secret+key", None));
    assert_eq!(
        got.region, "us-east-1",
        "no config file: the fallback region"
    );
    assert_eq!(got.profile.as_deref(), Some("default"));

    s.write(".aws/config", CONFIG);
    let got = run(&[("HOME", &home)]).expect("default profile");
    assert_eq!(
        got.region, "eu-central-1",
        "the nested s3 region must not win"
    );
}

#[test]
fn named_profile_and_config_file_keys() {
    let s = Scratch::new();
    s.write(".aws/credentials", CREDS);
    s.write(".aws/config", CONFIG);
    let home = s.home();
    let dev = run(&[("HOME", &home), ("AWS_PROFILE", "dev")]).expect("dev");
    assert_eq!(dev.creds, keys("DEVAK", "devsecret", Some("devtoken==")));
    assert_eq!(
        (dev.region.as_str(), dev.profile.as_deref()),
        ("ap-south-1", Some("dev"))
    );
    // Keys may live in the config file; section names are case-sensitive.
    let ops = run(&[("HOME", &home), ("AWS_PROFILE", "Ops")]).expect("Ops");
    assert_eq!(ops.creds, keys("OPSAK", "opssecret", None));
    assert_eq!(ops.region, "us-west-1");
    let err = run(&[("HOME", &home), ("AWS_PROFILE", "ops")]).unwrap_err();
    assert!(matches!(err, CredsError::ProfileNotFound { .. }), "{err}");
}

#[test]
fn explicit_files_and_tilde() {
    let s = Scratch::new();
    let creds = s.write(
        "my-creds",
        "[x]\naws_access_key_id=XA\naws_secret_access_key=XS\n",
    );
    let config = s.write("my-config", "[profile x]\nregion=sa-east-1\n");
    let home = s.home();
    let got = run(&[
        ("HOME", &home),
        ("AWS_PROFILE", "x"),
        (CREDS_FILE_VAR, "~/my-creds"),
        (CONFIG_FILE_VAR, &config.display().to_string()),
    ])
    .expect("explicit files");
    assert_eq!(got.creds, keys("XA", "XS", None));
    assert_eq!(got.region, "sa-east-1");
    assert!(creds.exists());
}

#[test]
fn missing_named_profile_lists_the_files() {
    let s = Scratch::new();
    s.write(".aws/credentials", CREDS);
    let home = s.home();
    let err = run(&[("HOME", &home), ("AWS_PROFILE", "prod")]).unwrap_err();
    let text = err.to_string();
    let creds_path = Path::new(&home).join(".aws/credentials");
    let config_path = Path::new(&home).join(".aws/config");
    assert!(
        text.starts_with("AWS_PROFILE 'prod' not found in "),
        "{text}"
    );
    assert!(text.contains(&creds_path.display().to_string()), "{text}");
    assert!(text.contains(&config_path.display().to_string()), "{text}");
    assert!(text.contains("fix the profile name"), "{text}");
}

#[test]
fn profile_without_keys() {
    let s = Scratch::new();
    s.write(
        ".aws/config",
        "[profile sso]\nsso_start_url = https://x\nregion = us-east-2\n",
    );
    let home = s.home();
    let err = run(&[("HOME", &home), ("AWS_PROFILE", "sso")]).unwrap_err();
    assert!(matches!(err, CredsError::NoKeysInProfile { .. }), "{err}");
    assert!(err.to_string().contains("static keys"), "{err}");
}

#[test]
fn nothing_anywhere_says_what_was_tried() {
    let s = Scratch::new();
    let home = s.home();
    let err = run(&[("HOME", &home)]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CredsError::NotFound { .. }));
    for needle in [
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        "profile 'default'",
        "no such file",
        ".aws/credentials",
        ".aws/config",
        "set AWS_ACCESS_KEY_ID",
    ] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
    s.write(
        ".aws/credentials",
        "[other]\naws_access_key_id=A\naws_secret_access_key=B\n",
    );
    let text = run(&[("HOME", &home)]).unwrap_err().to_string();
    assert!(text.contains("no [default] profile"), "{text}");
    let text = run(&[]).unwrap_err().to_string();
    assert!(text.contains("HOME is unset"), "{text}");
}

#[test]
fn half_a_key_pair_in_a_profile() {
    let s = Scratch::new();
    s.write(".aws/credentials", "[default]\naws_access_key_id = A\n");
    let home = s.home();
    let err = run(&[("HOME", &home)]).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            CredsError::PartialProfile {
                missing: SK_KEY,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains(".aws/credentials") && text.contains("add aws_secret_access_key"),
        "{text}"
    );
}

#[test]
fn parse_errors_give_the_line_but_not_its_text() {
    let s = Scratch::new();
    let home = s.home();
    let cases = [
        ("aws_access_key_id = TOPLEVEL\n", 1, "before any [section]"),
        (
            "[default]\n\naws_secret_access_key SECRETVALUE\n",
            3,
            "neither",
        ),
        ("# c\n[default\n", 2, "closing"),
        ("[]\n", 1, "empty section"),
        ("[d]\n = SECRETVALUE\n", 2, "no key"),
    ];
    for (text, line, reason) in cases {
        s.write(".aws/credentials", text);
        let err = run(&[("HOME", &home)]).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, CredsError::Parse { line: l, .. } if l == line),
            "{msg}"
        );
        assert!(
            msg.contains(reason) && msg.contains("fix that line"),
            "{msg}"
        );
        assert!(
            !msg.contains("SECRETVALUE") && !msg.contains("TOPLEVEL"),
            "{msg}"
        );
    }
}

#[test]
fn unreadable_file_is_an_error() {
    let s = Scratch::new();
    let home = s.home();
    let dir = s.0.join(".aws").display().to_string();
    let err = run(&[("HOME", &home), (CREDS_FILE_VAR, &dir)]).unwrap_err();
    assert!(
        matches!(
            err,
            CredsError::Read {
                var: CREDS_FILE_VAR,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&dir), "{err}");
}

#[test]
fn debug_redacts_resolved_secrets() {
    let got = run(&[
        (AK_VAR, "AK"),
        (SK_VAR, "topsecret"),
        (TOKEN_VAR, "tokentoken"),
        ("AWS_REGION", "r"),
    ])
    .expect("env");
    let text = format!("{got:?}");
    assert!(
        !text.contains("topsecret") && !text.contains("tokentoken"),
        "{text}"
    );
    assert!(text.contains("AK"), "{text}");
}
