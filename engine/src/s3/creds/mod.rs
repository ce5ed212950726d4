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
mod tests;
