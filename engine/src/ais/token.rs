//! The AIS AuthN bearer token (docs/protocols.md): where it comes from and how it
//! is kept out of logs.
//!
//! Owns [`Token`], [`Source`] and [`resolve`]. The order is aisloader's (AIS's
//! `authn.LoadToken`): the file `--token-file` names; else `AIS_AUTHN_TOKEN` (the token
//! itself); else the file `AIS_AUTHN_TOKEN_FILE` names; else the AIS CLI's default token file,
//! `$HOME/.config/ais/cli/auth.token` (where `ais auth login` writes it), when it exists. A
//! file holds either the raw token or the AIS CLI's JSON `{"token":"..."}`.
//!
//! A named file (flag or variable) that is missing, unreadable or malformed is an error naming
//! it; so is a CLI default file that exists but cannot be used. A missing default file is no
//! token, not an error.
//!
//! Invariants: a [`Token`] is non-empty, trimmed, and has no whitespace or control
//! characters (so it is safe in a header); its `Debug` and `Display` print `***`, and no
//! error message ever contains it.

use std::fmt;
use std::path::Path;

use super::AisError;

/// The variable holding the token itself.
pub const TOKEN_VAR: &str = "AIS_AUTHN_TOKEN";
/// The variable naming a token file.
pub const TOKEN_FILE_VAR: &str = "AIS_AUTHN_TOKEN_FILE";
/// The AIS CLI's token file, relative to `$HOME` (AIS's `~/.config/ais/cli/auth.token`).
pub const CLI_TOKEN_FILE: &str = ".config/ais/cli/auth.token";
/// The flag naming a token file.
pub const TOKEN_FILE_FLAG: &str = "--token-file";

/// Where the run's token came from (said in a note; the token itself never is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--token-file FILE`.
    Flag(String),
    /// `AIS_AUTHN_TOKEN`.
    Var,
    /// The file `AIS_AUTHN_TOKEN_FILE` names.
    VarFile(String),
    /// The AIS CLI's default token file.
    CliFile(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(p) => write!(f, "{TOKEN_FILE_FLAG} {p}"),
            Source::Var => f.write_str(TOKEN_VAR),
            Source::VarFile(p) => write!(f, "{p} (named by {TOKEN_FILE_VAR})"),
            Source::CliFile(p) => write!(f, "the AIS CLI's token file {p}"),
        }
    }
}

/// A bearer token. Never printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token after trimming; `None` when empty. `source_name` names where it came
    /// from for the error.
    pub fn new(raw: &str, source_name: &str) -> Result<Option<Token>, AisError> {
        let t = raw.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AisError::BadToken {
                source_name: source_name.to_string(),
            });
        }
        Ok(Some(Token(t.to_string())))
    }

    /// `Bearer <token>`, the `Authorization` header value.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// The token itself (never log it).
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The `("Authorization", "Bearer <token>")` pair the AIS calls take.
    pub fn header(&self) -> (&'static str, String) {
        ("Authorization", self.header_value())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Finds the run's token in aisloader's order (see the module doc): `flag` (`--token-file`),
/// then `env` (pass `|k| std::env::var(k).ok()` in production): `AIS_AUTHN_TOKEN`,
/// `AIS_AUTHN_TOKEN_FILE`, and the AIS CLI's file under `$HOME`. Returns the token and where it
/// came from; `Ok(None)` when no source gives one (an empty variable or file counts as none,
/// except the file `--token-file` names, which must hold a token).
pub fn resolve(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(Token, Source)>, AisError> {
    if let Some(path) = flag {
        let path = path.to_string_lossy().into_owned();
        let fix = format!("fix the file or leave out {TOKEN_FILE_FLAG}");
        let origin = Origin {
            path: &path,
            named_by: TOKEN_FILE_FLAG.to_string(),
            fix: &fix,
        };
        return match read_file(&origin)? {
            Some(t) => Ok(Some((t, Source::Flag(path)))),
            None => Err(origin.error("it holds no token".into())),
        };
    }
    if let Some(raw) = env(TOKEN_VAR) {
        if let Some(t) = Token::new(&raw, TOKEN_VAR)? {
            return Ok(Some((t, Source::Var)));
        }
    }
    if let Some(path) = env(TOKEN_FILE_VAR).filter(|p| !p.trim().is_empty()) {
        let fix = format!("fix the file or unset {TOKEN_FILE_VAR}");
        let origin = Origin {
            path: &path,
            named_by: TOKEN_FILE_VAR.to_string(),
            fix: &fix,
        };
        return Ok(read_file(&origin)?.map(|t| (t, Source::VarFile(path.clone()))));
    }
    let Some(home) = env("HOME").filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let path = Path::new(&home)
        .join(CLI_TOKEN_FILE)
        .to_string_lossy()
        .into_owned();
    if !Path::new(&path).exists() {
        return Ok(None);
    }
    let fix = format!(
        "log in again (`ais auth login`), remove the file, or name another with {TOKEN_FILE_FLAG}"
    );
    let origin = Origin {
        path: &path,
        named_by: "the AIS CLI's default token file".to_string(),
        fix: &fix,
    };
    Ok(read_file(&origin)?.map(|t| (t, Source::CliFile(path.clone()))))
}

/// A token file and who named it, for its errors.
struct Origin<'a> {
    path: &'a str,
    named_by: String,
    fix: &'a str,
}

impl Origin<'_> {
    fn error(&self, reason: String) -> AisError {
        AisError::TokenFile {
            path: self.path.to_string(),
            named_by: self.named_by.clone(),
            reason,
            fix: self.fix.to_string(),
        }
    }
}

/// The token in a file: the raw token, or JSON `{"token":"..."}`, trimmed; `None` when empty.
fn read_file(o: &Origin<'_>) -> Result<Option<Token>, AisError> {
    let text = std::fs::read_to_string(o.path).map_err(|e| o.error(e.to_string()))?;
    let source_name = format!("{} ({})", o.path, o.named_by);
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct TokenFile {
            token: Option<String>,
        }
        // serde's error text could quote the file's content, so it is not passed on.
        let parsed: TokenFile = serde_json::from_str(trimmed)
            .map_err(|_| o.error("it starts with '{' but is not valid JSON".into()))?;
        let tok = parsed.token.ok_or_else(|| {
            o.error("its JSON has no \"token\" string (expected {\"token\":\"...\"})".into())
        })?;
        return Token::new(&tok, &source_name);
    }
    Token::new(trimmed, &source_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// `resolve` without a flag, the token only.
    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Token>, AisError> {
        resolve(None, env).map(|o| o.map(|(t, _)| t))
    }

    fn temp_file(name: &str, content: &str) -> String {
        let dir =
            std::env::temp_dir().join(format!("ringload-token-{}-{name}", std::process::id()));
        std::fs::write(&dir, content).unwrap();
        dir.to_string_lossy().into_owned()
    }

    /// A fresh `$HOME` holding the AIS CLI's token file with `content` (none when `None`).
    fn home_with(name: &str, content: Option<&str>) -> String {
        let home =
            std::env::temp_dir().join(format!("ringload-home-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let file = home.join(CLI_TOKEN_FILE);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        if let Some(c) = content {
            std::fs::write(&file, c).unwrap();
        }
        home.to_string_lossy().into_owned()
    }

    #[test]
    fn the_order_is_flag_variable_variable_file_then_cli_file() {
        let flag = temp_file("order-flag", "from-flag");
        let var_file = temp_file("order-var-file", "{\"token\":\"from-var-file\"}");
        let home = home_with("order", Some("{\"token\":\"from-cli\"}"));
        let all = [
            (TOKEN_VAR, "from-var"),
            (TOKEN_FILE_VAR, var_file.as_str()),
            ("HOME", home.as_str()),
        ];
        let got = |flag: Option<&str>, pairs: &[(&str, &str)]| {
            let (t, s) = resolve(flag.map(Path::new), &env_of(pairs))
                .unwrap()
                .unwrap();
            (t.secret().to_string(), s)
        };
        assert_eq!(
            got(Some(&flag), &all),
            ("from-flag".into(), Source::Flag(flag.clone()))
        );
        assert_eq!(got(None, &all), ("from-var".into(), Source::Var));
        assert_eq!(
            got(None, &all[1..]),
            ("from-var-file".into(), Source::VarFile(var_file.clone()))
        );
        let cli = format!("{home}/{CLI_TOKEN_FILE}");
        assert_eq!(
            got(None, &all[2..]),
            ("from-cli".into(), Source::CliFile(cli.clone()))
        );
        assert_eq!(
            Source::CliFile(cli.clone()).to_string(),
            format!("the AIS CLI's token file {cli}")
        );
        assert_eq!(
            Source::Flag("f".into()).to_string(),
            "--token-file f",
            "the note names the flag"
        );
    }

    #[test]
    fn a_missing_cli_file_is_no_token_but_a_bad_one_is_an_error() {
        let home = home_with("missing", None);
        assert!(from_env(&env_of(&[("HOME", &home)])).unwrap().is_none());
        assert!(from_env(&env_of(&[])).unwrap().is_none());
        let home = home_with("bad", Some("{leaky-secret"));
        let err = from_env(&env_of(&[("HOME", &home)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(CLI_TOKEN_FILE) && err.contains("ais auth login"),
            "{err}"
        );
        assert!(!err.contains("leaky-secret"), "{err}");
    }

    #[test]
    fn the_flags_file_must_exist_and_hold_a_token() {
        let missing = Path::new("/nonexistent/ringload/flag-token");
        let err = resolve(Some(missing), &env_of(&[(TOKEN_VAR, "var")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/ringload/flag-token") && err.contains("--token-file"),
            "{err}"
        );
        let empty = temp_file("flag-empty", "\n");
        let err = resolve(Some(Path::new(&empty)), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no token"), "{err}");
    }

    #[test]
    fn the_variable_wins_over_the_file() {
        let file = temp_file("wins", "from-file");
        let env = env_of(&[(TOKEN_VAR, " tok-var \n"), (TOKEN_FILE_VAR, &file)]);
        let t = from_env(&env).unwrap().unwrap();
        assert_eq!(t.secret(), "tok-var");
        assert_eq!(t.header_value(), "Bearer tok-var");
        assert_eq!(t.header(), ("Authorization", "Bearer tok-var".to_string()));
    }

    #[test]
    fn reads_raw_and_json_token_files() {
        let raw = temp_file("raw", "raw-token\n");
        assert_eq!(
            from_env(&env_of(&[(TOKEN_FILE_VAR, &raw)]))
                .unwrap()
                .unwrap()
                .secret(),
            "raw-token"
        );
        let json = temp_file("json", "{\"token\": \"json-token\"}\n");
        // An empty AIS_AUTHN_TOKEN falls through to the file.
        let env = env_of(&[(TOKEN_VAR, ""), (TOKEN_FILE_VAR, &json)]);
        assert_eq!(from_env(&env).unwrap().unwrap().secret(), "json-token");
    }

    #[test]
    fn nothing_or_empty_is_none() {
        assert!(from_env(&env_of(&[])).unwrap().is_none());
        assert!(from_env(&env_of(&[(TOKEN_VAR, "  ")])).unwrap().is_none());
        let empty = temp_file("empty", "\n");
        assert!(from_env(&env_of(&[(TOKEN_FILE_VAR, &empty)]))
            .unwrap()
            .is_none());
        let empty_json = temp_file("empty-json", "{\"token\":\"\"}");
        assert!(from_env(&env_of(&[(TOKEN_FILE_VAR, &empty_json)]))
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_unreadable_file_names_the_file_and_the_variable() {
        let missing = "/nonexistent/ringload/token";
        let err = from_env(&env_of(&[(TOKEN_FILE_VAR, missing)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(missing) && err.contains(TOKEN_FILE_VAR),
            "{err}"
        );
        let bad = temp_file("bad-json", "{\"tok\": \"leaky-secret\"}");
        let err = from_env(&env_of(&[(TOKEN_FILE_VAR, &bad)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"token\"") && !err.contains("leaky-secret"),
            "{err}"
        );
        let broken = temp_file("broken-json", "{leaky-secret");
        let err = from_env(&env_of(&[(TOKEN_FILE_VAR, &broken)]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("leaky-secret"), "{err}");
    }

    #[test]
    fn the_token_never_prints() {
        let t = from_env(&env_of(&[(TOKEN_VAR, "hunter2")]))
            .unwrap()
            .unwrap();
        assert_eq!(format!("{t}"), "***");
        assert!(!format!("{t:?}").contains("hunter2"));
        let err = from_env(&env_of(&[(TOKEN_VAR, "two words-secret")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(TOKEN_VAR) && !err.contains("secret"), "{err}");
    }
}
