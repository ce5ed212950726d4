//! Where S3 credentials and the region come from, following the AWS CLI/SDK conventions.
//!
//! Owns: [`resolve`], the lookup order, and a small parser for the shared `credentials` and
//! `config` INI files.
//!
//! Order: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) from the
//! environment; else profile `AWS_PROFILE` (default `default`) from the credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, default `$HOME/.aws/credentials`, sections `[name]`), then
//! from the config file (`AWS_CONFIG_FILE`, default `$HOME/.aws/config`, sections
//! `[profile name]` or `[default]`). Region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the
//! profile's `region` in the config file, else `us-east-1`. With keys in the environment the
//! profile can only supply the region, so a missing profile is then not an error.
//!
//! Why: a load generator pointed at S3 should pick up credentials exactly where `aws` does,
//! and say precisely what it looked at when it finds none.
//!
//! Invariants: the environment is only read through the caller's closure (tests never touch
//! the real one); empty variables count as unset; a missing file counts as empty, an unreadable
//! one is an error; errors name files, variables and line numbers but never print a line's
//! text or any secret. Only static keys are supported (no SSO, roles or `credential_process`).

use std::io;
use std::path::PathBuf;

use super::sigv4::Credentials;

const AK_VAR: &str = "AWS_ACCESS_KEY_ID";
const SK_VAR: &str = "AWS_SECRET_ACCESS_KEY";
const TOKEN_VAR: &str = "AWS_SESSION_TOKEN";
const CREDS_FILE_VAR: &str = "AWS_SHARED_CREDENTIALS_FILE";
const CONFIG_FILE_VAR: &str = "AWS_CONFIG_FILE";
const AK_KEY: &str = "aws_access_key_id";
const SK_KEY: &str = "aws_secret_access_key";
const TOKEN_KEY: &str = "aws_session_token";
const DEFAULT_REGION: &str = "us-east-1";

/// Resolved credentials and region. `Debug` redacts the secrets (see [`Credentials`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub creds: Credentials,
    pub region: String,
    /// The profile that supplied the credentials or the region, for messages.
    pub profile: Option<String>,
}

/// Why no usable credentials were found.
#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("{set} is set but {missing} is not; set both, or unset {set} to use the shared credentials file")]
    PartialEnv {
        set: &'static str,
        missing: &'static str,
    },
    #[error("AWS_PROFILE '{profile}' not found in {files}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or fix the profile name")]
    ProfileNotFound { profile: String, files: String },
    #[error("profile '{profile}' in {files} has no {AK_KEY}/{SK_KEY}; add them to the profile (ringload reads only static keys, not SSO, roles or credential_process), or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")]
    NoKeysInProfile { profile: String, files: String },
    #[error("profile '{profile}' in {path} has {present} but no {missing}; add {missing} to that section")]
    PartialProfile {
        profile: String,
        path: String,
        present: &'static str,
        missing: &'static str,
    },
    #[error(
        "cannot read {path}: {source}; fix the file's permissions, or point {var} at another file"
    )]
    Read {
        path: String,
        var: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{path} line {line}: {reason}; fix that line (the file holds '[section]' headers, then 'key = value' lines)")]
    Parse {
        path: String,
        line: usize,
        reason: &'static str,
    },
    #[error("no AWS credentials found: tried {tried}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put aws_access_key_id/aws_secret_access_key in a profile of the shared credentials file (select it with AWS_PROFILE)")]
    NotFound { tried: String },
}

/// Resolves credentials and region; `env` looks up one environment variable.
pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<S3Config, CredsError> {
    let var = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let env_creds = match (var(AK_VAR), var(SK_VAR)) {
        (Some(access_key), Some(secret_key)) => Some(Credentials {
            access_key,
            secret_key,
            session_token: var(TOKEN_VAR),
        }),
        (Some(_), None) => return Err(partial_env(AK_VAR, SK_VAR)),
        (None, Some(_)) => return Err(partial_env(SK_VAR, AK_VAR)),
        (None, None) => None,
    };
    let env_region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let explicit_profile = var("AWS_PROFILE");
    let profile = explicit_profile.as_deref().unwrap_or("default");

    if let (Some(creds), Some(region)) = (&env_creds, &env_region) {
        return Ok(S3Config {
            creds: creds.clone(),
            region: region.clone(),
            profile: None,
        });
    }

    let home = var("HOME");
    let creds_file = SharedFile::load(CREDS_FILE_VAR, var(CREDS_FILE_VAR), &home, "credentials")?;
    let config_file = SharedFile::load(CONFIG_FILE_VAR, var(CONFIG_FILE_VAR), &home, "config")?;
    let creds_section = creds_file.section(|name| name == profile);
    let config_section = config_file.section(|name| config_profile_name(name) == Some(profile));
    let config_region = config_section.and_then(|s| get(s, "region"));

    if let Some(creds) = env_creds {
        return Ok(S3Config {
            creds,
            region: env_region
                .or(config_region.clone())
                .unwrap_or_else(|| DEFAULT_REGION.into()),
            profile: config_region.map(|_| profile.to_string()),
        });
    }

    let from_creds = keys_in(creds_section, profile, &creds_file)?;
    let from_config = keys_in(config_section, profile, &config_file)?;
    let region = env_region
        .or(config_region)
        .unwrap_or_else(|| DEFAULT_REGION.into());
    if let Some(creds) = from_creds.or(from_config) {
        return Ok(S3Config {
            creds,
            region,
            profile: Some(profile.to_string()),
        });
    }

    let files = format!("{} and {}", creds_file.describe(), config_file.describe());
    let found = creds_section.is_some() || config_section.is_some();
    match (explicit_profile.is_some(), found) {
        (true, false) => Err(CredsError::ProfileNotFound {
            profile: profile.to_string(),
            files,
        }),
        (true, true) => Err(CredsError::NoKeysInProfile {
            profile: profile.to_string(),
            files,
        }),
        (false, _) => {
            let state = |f: &SharedFile, sec: Option<&Section>| match (&f.path, &f.state, sec) {
                (None, _, _) => "not looked for: HOME is unset".to_string(),
                (Some(p), FileState::Missing, _) => format!("{}: no such file", p.display()),
                (Some(p), _, None) => format!("{}: no [{profile}] profile", p.display()),
                (Some(p), _, Some(_)) => format!("{}: profile has no keys", p.display()),
            };
            Err(CredsError::NotFound {
                tried: format!(
                    "{AK_VAR}/{SK_VAR} in the environment (unset), profile '{profile}' in the credentials file ({}) and the config file ({})",
                    state(&creds_file, creds_section),
                    state(&config_file, config_section)
                ),
            })
        }
    }
}

fn partial_env(set: &'static str, missing: &'static str) -> CredsError {
    CredsError::PartialEnv { set, missing }
}

/// `[default]` / `[profile default]` → `default`; `[profile name]` → `name`; else `None`.
fn config_profile_name(section: &str) -> Option<&str> {
    if section == "default" {
        return Some("default");
    }
    let rest = section.strip_prefix("profile")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(rest.trim())
}

/// Static keys from one file's profile section, if it names any.
fn keys_in(
    section: Option<&Section>,
    profile: &str,
    file: &SharedFile,
) -> Result<Option<Credentials>, CredsError> {
    let Some(section) = section else {
        return Ok(None);
    };
    let partial = |present, missing| CredsError::PartialProfile {
        profile: profile.to_string(),
        path: file.describe(),
        present,
        missing,
    };
    match (get(section, AK_KEY), get(section, SK_KEY)) {
        (Some(access_key), Some(secret_key)) => Ok(Some(Credentials {
            access_key,
            secret_key,
            session_token: get(section, TOKEN_KEY),
        })),
        (Some(_), None) => Err(partial(AK_KEY, SK_KEY)),
        (None, Some(_)) => Err(partial(SK_KEY, AK_KEY)),
        (None, None) => Ok(None),
    }
}

fn get(section: &Section, key: &str) -> Option<String> {
    section
        .keys
        .iter()
        .rev()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.clone())
}

/// One `[name]` section: its keys (lowercased) and values, in file order.
#[derive(Debug, Default)]
struct Section {
    name: String,
    keys: Vec<(String, String)>,
}

enum FileState {
    Missing,
    Read,
}

/// A shared credentials or config file, parsed (empty when absent).
struct SharedFile {
    path: Option<PathBuf>,
    state: FileState,
    sections: Vec<Section>,
}

impl SharedFile {
    fn load(
        var: &'static str,
        configured: Option<String>,
        home: &Option<String>,
        default_name: &str,
    ) -> Result<SharedFile, CredsError> {
        let path = match (configured, home) {
            (Some(p), Some(home)) if p.starts_with("~/") => Some(PathBuf::from(home).join(&p[2..])),
            (Some(p), _) => Some(PathBuf::from(p)),
            (None, Some(home)) => Some(PathBuf::from(home).join(".aws").join(default_name)),
            (None, None) => None,
        };
        let mut file = SharedFile {
            path,
            state: FileState::Missing,
            sections: Vec::new(),
        };
        let Some(path) = &file.path else {
            return Ok(file);
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                file.sections = parse_ini(&text, &path.display().to_string())?;
                file.state = FileState::Read;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CredsError::Read {
                    path: path.display().to_string(),
                    var,
                    source,
                })
            }
        }
        Ok(file)
    }

    fn section(&self, matches: impl Fn(&str) -> bool) -> Option<&Section> {
        self.sections.iter().find(|s| matches(&s.name))
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "(no file: HOME is unset)".to_string(),
        }
    }
}

/// Parses AWS's INI dialect: `#`/`;` comment lines, `[section]` headers (case-sensitive
/// names, repeated sections merge), `key = value` (keys lowercased, both sides trimmed), and
/// indented sub-settings under an empty `key =` (such as `s3 =`), which are skipped.
fn parse_ini(text: &str, path: &str) -> Result<Vec<Section>, CredsError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<usize> = None;
    let mut in_nested = false;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (idx, raw) in text.lines().enumerate() {
        let parse_err = |reason| CredsError::Parse {
            path: path.to_string(),
            line: idx + 1,
            reason,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if in_nested && indented {
            continue;
        }
        in_nested = false;
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| parse_err("a section header without its closing ']'"))?
                .trim();
            if name.is_empty() {
                return Err(parse_err("an empty section name '[]'"));
            }
            current = Some(match sections.iter().position(|s| s.name == name) {
                Some(i) => i,
                None => {
                    sections.push(Section {
                        name: name.to_string(),
                        keys: Vec::new(),
                    });
                    sections.len() - 1
                }
            });
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| {
            parse_err("neither a '[section]' header, a comment nor 'key = value'")
        })?;
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(parse_err("no key before '='"));
        }
        let section =
            current.ok_or_else(|| parse_err("a 'key = value' line before any [section] header"))?;
        let value = value.trim();
        in_nested = value.is_empty();
        sections[section].keys.push((key, value.to_string()));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
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
}
