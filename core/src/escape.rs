//! Escaping for JSON strings and XML text, into byte buffers: the one implementation behind
//! the engine's request bodies (GetBatch's JSON, the multipart completion lists) and the
//! built-in target's answers (AIS JSON errors, S3 XML errors and listings).
//!
//! Why here: the engine and the target write the same two formats; one escaper keeps them
//! from disagreeing about what needs escaping.
//!
//! Invariants: only appends to the caller's buffer (no allocation beyond growing it); bytes
//! that need no escape are copied in runs, unchanged (UTF-8, and bytes that are not UTF-8,
//! pass through as they are).

use std::fmt;

/// Appends `s` escaped for the inside of a JSON string (without the quotes): `"` and `\`
/// backslashed, `\n`, `\r`, `\t` in short form, other control bytes as `\u00XX`.
pub fn json(s: &[u8], out: &mut Vec<u8>) {
    runs(
        s,
        out,
        |b| b == b'"' || b == b'\\' || b < 0x20,
        |b, out| match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let (hi, lo) = (HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]);
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
            }
        },
    );
}

/// Appends `s` escaped for XML text or a quoted attribute: `&`, `<`, `>`, `"`, `'` as
/// entities.
pub fn xml(s: &[u8], out: &mut Vec<u8>) {
    runs(
        s,
        out,
        |b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''),
        |b, out| {
            out.extend_from_slice(match b {
                b'&' => b"&amp;",
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                b'"' => b"&quot;",
                _ => b"&apos;",
            })
        },
    );
}

/// Copies `s` to `out` in runs, writing each byte `needs` picks with `write` instead.
fn runs(s: &[u8], out: &mut Vec<u8>, needs: fn(u8) -> bool, write: fn(u8, &mut Vec<u8>)) {
    let mut from = 0;
    for (i, &b) in s.iter().enumerate() {
        if needs(b) {
            out.extend_from_slice(&s[from..i]);
            write(b, out);
            from = i + 1;
        }
    }
    out.extend_from_slice(&s[from..]);
}

/// A `fmt::Write` that escapes what is formatted into it, for a JSON string or XML text.
pub struct Escape<'a> {
    out: &'a mut Vec<u8>,
    xml: bool,
}

impl<'a> Escape<'a> {
    /// Escapes into `out` as [`json`] does.
    pub fn json(out: &'a mut Vec<u8>) -> Self {
        Self { out, xml: false }
    }

    /// Escapes into `out` as [`xml`] does.
    pub fn xml(out: &'a mut Vec<u8>) -> Self {
        Self { out, xml: true }
    }
}

impl fmt::Write for Escape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.xml {
            xml(s.as_bytes(), self.out);
        } else {
            json(s.as_bytes(), self.out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn json_escapes_quotes_backslashes_and_control_bytes() {
        let mut out = Vec::new();
        json(b"a\"b\\c\n\r\t\x01d/\xc3\xa9\x1f\xff", &mut out);
        assert_eq!(out, b"a\\\"b\\\\c\\n\\r\\t\\u0001d/\xc3\xa9\\u001f\xff");
        let s = format!(
            "\"{}\"",
            std::str::from_utf8(&out[..out.len() - 1]).unwrap()
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v, "a\"b\\c\n\r\t\u{1}d/é\u{1f}");
        out.clear();
        json(b"plain", &mut out);
        assert_eq!(out, b"plain");
    }

    #[test]
    fn xml_escapes_the_five_entities() {
        let mut out = Vec::new();
        xml(b"<a & 'b'>\"\xc3\xa9", &mut out);
        assert_eq!(out, "&lt;a &amp; &apos;b&apos;&gt;&quot;é".as_bytes());
    }

    #[test]
    fn the_formatter_escapes_what_is_formatted() {
        let mut v = Vec::new();
        let quote = '"';
        write!(Escape::json(&mut v), "a\"b\\c\n\u{1}é {quote}").unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), "a\\\"b\\\\c\\n\\u0001é \\\"");
        let mut v = Vec::new();
        write!(Escape::xml(&mut v), "<a & 'b'>\"").unwrap();
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "&lt;a &amp; &apos;b&apos;&gt;&quot;"
        );
    }
}
