//! Errors in a run spec, each pointing at the file, line and column it came from, with a hint.
//!
//! Owns [`SpecError`] and [`locate`], which finds the line of a `section.key` in the spec's text
//! so that checks made after deserialization (names, quantities, cross-field rules) point at
//! the same place a syntax error would.

use std::fmt;
use std::path::{Path, PathBuf};

/// A bad spec: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub file: PathBuf,
    /// 1-based line and column, when the problem has a place in the text.
    pub at: Option<(usize, usize)>,
    pub message: String,
    pub hint: Option<String>,
}

impl SpecError {
    pub fn new(file: &Path, message: impl Into<String>) -> SpecError {
        SpecError {
            file: file.to_path_buf(),
            at: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn at(mut self, at: Option<(usize, usize)>) -> SpecError {
        self.at = at;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> SpecError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": {}", printable(&self.message, false))?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {}", printable(h, true))?;
        }
        Ok(())
    }
}

/// `s` with control characters and Unicode line breaks escaped (`\n`, `\u{1b}`), so a key or
/// value quoted from a spec cannot split the message or drive the terminal. Hints keep their
/// own line breaks.
fn printable(s: &str, keep_newlines: bool) -> String {
    s.chars()
        .map(|c| {
            if (c.is_control() && !(keep_newlines && c == '\n'))
                || matches!(c, '\u{2028}' | '\u{2029}')
            {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl std::error::Error for SpecError {}

/// 1-based line and column of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text.as_bytes()[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, col)
}

/// Where `path` (e.g. `["kubernetes", "namespace"]`, or `["kubernetes", "tolerations", "1"]`
/// for an array element) is defined in `text`: the line and column of its key, or of its value
/// for array elements. `None` when the text does not parse or has no such path.
pub fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut span = None;
    for (i, part) in path.iter().enumerate() {
        let (key, value) = table.iter().find(|(k, _)| k.get_ref() == part)?;
        span = Some(key.span().start);
        if i + 1 == path.len() {
            break;
        }
        match value.get_ref() {
            toml::de::DeValue::Table(t) => table = t,
            toml::de::DeValue::Array(a) => {
                let idx: usize = path.get(i + 1)?.parse().ok()?;
                let item = a.get(idx)?;
                span = Some(item.span().start);
                match item.get_ref() {
                    toml::de::DeValue::Table(t) if i + 2 < path.len() => table = t,
                    _ => break,
                }
                return locate_rest(text, table, &path[i + 2..])
                    .or(span.map(|s| line_col(text, s)));
            }
            _ => break,
        }
    }
    span.map(|s| line_col(text, s))
}

fn locate_rest(text: &str, table: &toml::de::DeTable<'_>, rest: &[&str]) -> Option<(usize, usize)> {
    let first = rest.first()?;
    let (key, _) = table.iter().find(|(k, _)| k.get_ref() == first)?;
    Some(line_col(text, key.span().start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_in_tables_and_arrays() {
        let text = "[run]\nid = \"a\"\n\n[kubernetes]\nnamespace = \"x\"\n[[kubernetes.tolerations]]\nkey = \"a\"\n[[kubernetes.tolerations]]\nkey = \"b\"\neffect = \"Bad\"\n";
        assert_eq!(locate(text, &["run", "id"]), Some((2, 1)));
        assert_eq!(locate(text, &["kubernetes", "namespace"]), Some((5, 1)));
        assert_eq!(
            locate(text, &["kubernetes", "tolerations", "1", "effect"]),
            Some((10, 1))
        );
        assert_eq!(locate(text, &["nope"]), None);
    }

    #[test]
    fn display_names_file_line_and_hint() {
        let e = SpecError::new(Path::new("run.toml"), "bad")
            .at(Some((3, 5)))
            .hint("fix it");
        assert_eq!(e.to_string(), "run.toml:3:5: bad\n  hint: fix it");
    }

    #[test]
    fn display_escapes_control_characters() {
        let e = SpecError::new(
            Path::new("run.toml"),
            "unknown field `a\u{1b}[31m\nb\u{2028}`",
        )
        .hint("add one, e.g.\n[slurm]\r");
        assert_eq!(
            e.to_string(),
            "run.toml: unknown field `a\\u{1b}[31m\\nb\\u{2028}`\n  hint: add one, e.g.\n[slurm]\\r"
        );
    }
}
