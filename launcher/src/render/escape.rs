//! Quoting for the two destinations rendered files have: POSIX shell words and YAML scalars.
//!
//! Render installs one of these as the template engine's escape function, so every `{{value}}`
//! in a template comes out quoted for its file type. A spec string can then hold quotes,
//! `$(...)`, backticks, newlines, `: {` or `#` and still parse back to exactly itself, never
//! a command or a key. NUL is refused earlier (`spec::check::no_nul`).

/// One shell word, single-quoted: `it's` → `'it'\''s'`. Safe in any POSIX shell context that
/// takes a word, including inside `#SBATCH`-free script lines and heredoc-free arguments.
pub fn sh_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A YAML double-quoted scalar that any YAML 1.1 or 1.2 parser reads back as exactly `s`:
/// printable ASCII stays, `"` and `\` are escaped, everything else becomes `\uXXXX` or
/// `\UXXXXXXXX`, so no newline, tab or non-ASCII character reaches the parser raw.
pub fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &[&str] = &[
        "plain",
        "it's",
        "$(touch /tmp/pwned)",
        "`id`",
        "a\nb: {c: d}",
        "# comment",
        "\"quoted\" \\ back",
        "tab\there",
        "ünïcödé 😀",
        "'; rm -rf / #",
        "",
        "- item",
        "key: value",
        "*alias &anchor !tag",
        "\r\n\u{7f}\u{85}\u{2028}",
    ];

    #[test]
    fn shell_words_round_trip_through_a_real_shell() {
        for s in HOSTILE {
            let script = format!("printf '%s' {}", sh_quote(s));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            assert!(out.status.success(), "{script}");
            assert_eq!(String::from_utf8(out.stdout).unwrap(), *s, "{script}");
        }
    }

    #[test]
    fn yaml_scalars_are_one_line_and_quoted() {
        for s in HOSTILE {
            let q = yaml_quote(s);
            assert!(q.starts_with('"') && q.ends_with('"'), "{q}");
            assert!(!q.contains('\n') && q.is_ascii(), "{q}");
            // JSON strings are a subset of YAML double-quoted scalars except for \U; the
            // round trip is checked with a real YAML parser in tests/e2e/render_hostile.rs.
        }
        assert_eq!(yaml_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\u000Ad\"");
        assert_eq!(yaml_quote("😀"), "\"\\U0001F600\"");
    }
}
