//! Numbers on the wire: strict decimal (`Content-Length`, range bounds, query numbers),
//! chunk sizes (hex), and writing a decimal into a head without allocating.
//!
//! Parsing is strict so that framing is never ambiguous: digits only (no sign, no `0x`, no
//! embedded whitespace), at least one digit, and a value that does not fit a `u64` is refused
//! rather than wrapped or saturated. Callers trim the optional whitespace their grammar allows
//! around a header value before calling [`parse_decimal`].

/// A decimal `u64`: one or more ASCII digits and nothing else; `None` on a sign, whitespace,
/// any other byte, or overflow. Leading zeros are allowed.
pub fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The size of a chunk from its size line (without CRLF): hex digits (either case), then
/// optional `;extensions`, which are ignored. Whitespace around the digits (the grammar's
/// `BWS` before `;`) is tolerated; `None` when there are no digits, a non-hex byte, or the
/// size overflows a `u64`.
pub fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or(b"")
        .trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(16)?
            .checked_add(u64::from(super::pct::hex_value(b)?))
    })
}

/// Appends the decimal form of `v` without allocating (beyond growing `out`).
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_strict() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"42"), Some(42));
        assert_eq!(parse_decimal(b"007"), Some(7));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"99999999999999999999"), None);
        for bad in [
            &b""[..],
            b"x1",
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1\t",
            b"1,2",
            b"0x10",
            b"1.5",
        ] {
            assert_eq!(
                parse_decimal(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"1A"), Some(26));
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"0"), Some(0));
        assert_eq!(parse_chunk_size(b"ff;name=v"), Some(255));
        assert_eq!(parse_chunk_size(b"ff ; name=v"), Some(255));
        assert_eq!(parse_chunk_size(b" 10 "), Some(16));
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_chunk_size(b""), None);
        assert_eq!(parse_chunk_size(b";ext"), None);
        assert_eq!(parse_chunk_size(b"xyz"), None);
        assert_eq!(parse_chunk_size(b"zz"), None);
        assert_eq!(parse_chunk_size(b"-1"), None);
        assert_eq!(parse_chunk_size(b"1 0"), None);
        assert_eq!(parse_chunk_size(b"11111111111111111"), None); // 17 hex digits overflow
    }

    #[test]
    fn push_u64_writes_every_digit() {
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        assert_eq!(out, b"0");
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, b"018446744073709551615");
        out.clear();
        for v in [1, 9, 10, 99, 100, 1023, 1_000_000_007] {
            out.clear();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }
}
