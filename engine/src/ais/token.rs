//! The AIS AuthN bearer token (docs/protocols.md): where it comes from and how it
//! is kept out of logs.
//!
//! Owns [`Token`] and [`from_env`]. `AIS_AUTHN_TOKEN` (the token itself) wins; otherwise
//! `AIS_AUTHN_TOKEN_FILE` names a file holding either the raw token or the AIS CLI's JSON
//! `{"token":"..."}`. The AIS CLI's default file (`~/.config/ais/cli/auth.token`) is not
//! consulted: ringload reads only what the environment names.
//!
//! Invariants: a [`Token`] is non-empty, trimmed, and has no whitespace or control
//! characters (so it is safe in a header); its `Debug` and `Display` print `***`, and no
//! error message ever contains it.

use std::fmt;

use super::AisError;

/// The variable holding the token itself.
pub const TOKEN_VAR: &str = "AIS_AUTHN_TOKEN";
/// The variable naming a token file.
pub const TOKEN_FILE_VAR: &str = "AIS_AUTHN_TOKEN_FILE";

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

/// Finds the token through `env` (pass `|k| std::env::var(k).ok()` in production).
/// `AIS_AUTHN_TOKEN` wins when non-empty; else `AIS_AUTHN_TOKEN_FILE` is read (raw token or
/// JSON `{"token":"..."}`, trimmed). Nothing set, or an empty token → `Ok(None)`. An
/// unreadable file, or JSON without a `"token"` string → an error naming the file and the
/// variable.
pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Token>, AisError> {
    if let Some(raw) = env(TOKEN_VAR) {
        if let Some(t) = Token::new(&raw, TOKEN_VAR)? {
            return Ok(Some(t));
        }
    }
    let Some(path) = env(TOKEN_FILE_VAR).filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let file_error = |reason: String| AisError::TokenFile {
        path: path.clone(),
        var: TOKEN_FILE_VAR,
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| file_error(e.to_string()))?;
    let source_name = format!("{path} ({TOKEN_FILE_VAR})");
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct TokenFile {
            token: Option<String>,
        }
        // serde's error text could quote the file's content, so it is not passed on.
        let parsed: TokenFile = serde_json::from_str(trimmed)
            .map_err(|_| file_error("it starts with '{' but is not valid JSON".into()))?;
        let tok = parsed.token.ok_or_else(|| {
            file_error("its JSON has no \"token\" string (expected {\"token\":\"...\"})".into())
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

    fn temp_file(name: &str, content: &str) -> String {
        let dir =
            std::env::temp_dir().join(format!("ringload-token-{}-{name}", std::process::id()));
        std::fs::write(&dir, content).unwrap();
        dir.to_string_lossy().into_owned()
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
