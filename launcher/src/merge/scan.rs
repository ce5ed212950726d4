//! A fast path for the `intervals` array of a result file, in the exact compact layout the
//! engine writes.
//!
//! `intervals` is 99% of a result file (an hour of 1 s intervals is ~1.8 MB), and serde_json
//! spent about a quarter of a 1,024-rank merge walking it key by key. The engine always
//! writes the same layout: compact JSON, keys in a fixed order, `get` then `put`. This
//! scanner matches that layout byte for byte and hands each interval to the caller with its
//! histograms as borrowed slices. Anything else (whitespace, another key order, a missing
//! class, escapes, an unknown key) makes it answer `None`, and the caller parses the file
//! with serde instead, which accepts any valid JSON. So the fast path changes speed, never
//! results.
//!
//! Invariant: when it answers `Some`, the caller's serde parse of the rest of the file (the
//! prefix up to the array and the tail after it, with `[]` in between) is still done, so a
//! file that is not valid JSON outside the array is rejected as before.

/// One interval as the engine writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval<'a> {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub ops: [Op<'a>; super::rank::N_OPS],
}

/// One operation class of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Op<'a> {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    pub histogram: &'a [u8],
}

const KEY: &[u8] = b"\"intervals\":[";

/// Offset just after the `[` of the first `"intervals":[` in `buf`, if any.
pub fn find(buf: &[u8]) -> Option<usize> {
    memchr::memmem::find(buf, KEY).map(|at| at + KEY.len())
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(s.len())?;
        (self.buf.get(self.pos..end)? == s).then(|| self.pos = end)
    }

    #[inline]
    fn num(&mut self) -> Option<u64> {
        let start = self.pos;
        let mut v = 0u64;
        while let Some(&b) = self.buf.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            self.pos += 1;
        }
        // JSON forbids leading zeros ("01"); a lone "0" is fine.
        let len = self.pos - start;
        (len > 0 && (len == 1 || self.buf[start] != b'0')).then_some(v)
    }

    /// A string without escapes (base64 never has any), returned without its quotes.
    #[inline]
    fn plain_str(&mut self) -> Option<&'a [u8]> {
        self.lit(b"\"")?;
        let rest = &self.buf[self.pos..];
        let len = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[len] != b'"' {
            return None;
        }
        self.pos += len + 1;
        Some(&rest[..len])
    }

    fn op(&mut self) -> Option<Op<'a>> {
        self.lit(b"{\"count\":")?;
        let count = self.num()?;
        self.lit(b",\"bytes\":")?;
        let bytes = self.num()?;
        self.lit(b",\"errors\":")?;
        let errors = self.num()?;
        self.lit(b",\"histogram\":")?;
        let histogram = self.plain_str()?;
        self.lit(b"}")?;
        Some(Op {
            count,
            bytes,
            errors,
            histogram,
        })
    }

    fn interval(&mut self) -> Option<Interval<'a>> {
        self.lit(b"{\"start_unix_ns\":")?;
        let start_unix_ns = self.num()?;
        self.lit(b",\"end_unix_ns\":")?;
        let end_unix_ns = self.num()?;
        self.lit(b",\"ops\":{\"get\":")?;
        let get = self.op()?;
        self.lit(b",\"put\":")?;
        let put = self.op()?;
        self.lit(b"}}")?;
        Some(Interval {
            start_unix_ns,
            end_unix_ns,
            ops: [get, put, Op::default(), Op::default(), Op::default()],
        })
    }
}

/// Scans the array whose first element starts at `at` (as returned by [`find`]), calling
/// `each` for every interval in order. Returns `Ok(Some(offset of the closing ']'))`, or
/// `Ok(None)` as soon as the layout differs from the engine's (the caller then falls back to
/// serde and must discard what `each` saw). An error from `each` stops the scan.
pub fn intervals<'a, E>(
    buf: &'a [u8],
    at: usize,
    mut each: impl FnMut(Interval<'a>) -> Result<(), E>,
) -> Result<Option<usize>, E> {
    let mut c = Cursor { buf, pos: at };
    if c.lit(b"]").is_some() {
        return Ok(Some(at));
    }
    loop {
        let Some(iv) = c.interval() else {
            return Ok(None);
        };
        each(iv)?;
        match buf.get(c.pos) {
            Some(b',') => c.pos += 1,
            Some(b']') => return Ok(Some(c.pos)),
            _ => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(buf: &[u8]) -> Option<(Vec<Interval<'_>>, usize)> {
        let at = find(buf)?;
        let mut v = Vec::new();
        let end = intervals::<()>(buf, at, |iv| {
            v.push(iv);
            Ok(())
        })
        .unwrap()?;
        Some((v, end))
    }

    const ONE: &str = r#"{"start_unix_ns":10,"end_unix_ns":20,"ops":{"get":{"count":3,"bytes":30,"errors":0,"histogram":"QUJD"},"put":{"count":0,"bytes":0,"errors":1,"histogram":""}}}"#;

    #[test]
    fn reads_the_engine_layout() {
        let text = format!(r#"{{"a":1,"intervals":[{ONE},{ONE}],"peak_rss_bytes":5}}"#);
        let (v, end) = all(text.as_bytes()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(&text.as_bytes()[end..end + 2], b"],");
        assert_eq!(v[0].start_unix_ns, 10);
        assert_eq!(v[0].end_unix_ns, 20);
        assert_eq!(
            v[1].ops[0],
            Op {
                count: 3,
                bytes: 30,
                errors: 0,
                histogram: b"QUJD"
            }
        );
        assert_eq!(v[1].ops[1].errors, 1);
        let empty = br#"{"intervals":[]}"#;
        assert_eq!(all(empty).unwrap().0.len(), 0);
    }

    #[test]
    fn other_layouts_answer_none() {
        for text in [
            ONE.replace(":10,", ": 10,"),
            ONE.replace(r#""get""#, r#""gets""#),
            ONE.replace(":10,", ":010,"),
            ONE.replace(":10,", ":99999999999999999999999,"),
            ONE.replace("QUJD", r#"QU\"JD"#),
            ONE.replace(r#""errors":1,"#, r#""errors":1,"x":2,"#),
        ] {
            let doc = format!(r#"{{"intervals":[{text}]}}"#);
            assert!(all(doc.as_bytes()).is_none(), "{text}");
        }
        let cut = format!(r#"{{"intervals":[{ONE}"#);
        assert!(all(cut.as_bytes()).is_none());
        assert!(all(b"{}").is_none());
    }
}
