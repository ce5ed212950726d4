//! The one RFC 3986 percent-encoder, and the hex-digit decoder its inverses use.
//!
//! Every encoded form ringload sends is built here: object names in a URL path (`/` kept),
//! query components (AIS namespaces, S3 listing parameters) and SigV4 canonical forms. Bytes
//! that pass are RFC 3986 unreserved (`A-Z a-z 0-9 - . _ ~`), plus `/` when asked; every other
//! byte, including space and `+`, becomes `%XX` with uppercase hex (what SigV4 requires, and
//! what RFC 3986 recommends). Encoding appends to the caller's buffer and never allocates
//! beyond growing it, so the hot path can call it per request.

/// Which bytes pass unencoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// RFC 3986 unreserved bytes only: a query component or a single path segment.
    Unreserved,
    /// Unreserved bytes and `/`: a path whose segments are separated by literal slashes.
    UnreservedAndSlash,
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `b`, or its `%XX` escape if `keep` does not let it pass.
#[inline]
pub fn percent_encode_byte(b: u8, keep: Keep, out: &mut Vec<u8>) {
    let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if unreserved || (b == b'/' && keep == Keep::UnreservedAndSlash) {
        out.push(b);
    } else {
        out.extend_from_slice(&[
            b'%',
            HEX_UPPER[usize::from(b >> 4)],
            HEX_UPPER[usize::from(b & 15)],
        ]);
    }
}

/// Appends `raw` percent-encoded: the bytes `keep` allows pass, all others are `%XX`.
#[inline]
pub fn percent_encode(raw: &[u8], keep: Keep, out: &mut Vec<u8>) {
    for &b in raw {
        percent_encode_byte(b, keep, out);
    }
}

/// [`percent_encode`] into a new `String`, for control paths that build URLs with `format!`.
pub fn percent_encode_string(raw: &str, keep: Keep) -> String {
    let mut out = Vec::with_capacity(raw.len());
    percent_encode(raw.as_bytes(), keep, &mut out);
    // Every byte written is ASCII: unreserved, `/`, `%` or a hex digit.
    out.into_iter().map(char::from).collect()
}

/// The value of one hex digit (either case), `None` for any other byte.
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(raw: &[u8], keep: Keep) -> String {
        let mut out = Vec::new();
        percent_encode(raw, keep, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_byte_passes_or_is_escaped_in_uppercase() {
        for b in 0..=255u8 {
            let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            for keep in [Keep::Unreserved, Keep::UnreservedAndSlash] {
                let passes = unreserved || (b == b'/' && keep == Keep::UnreservedAndSlash);
                let want = if passes {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                };
                assert_eq!(enc(&[b], keep), want, "byte {b:#04x} with {keep:?}");
            }
        }
    }

    #[test]
    fn paths_keep_slashes_and_components_do_not() {
        assert_eq!(enc(b"dir/a b%", Keep::UnreservedAndSlash), "dir/a%20b%25");
        assert_eq!(enc(b"dir/a b%", Keep::Unreserved), "dir%2Fa%20b%25");
        assert_eq!(enc(b"a+b c", Keep::Unreserved), "a%2Bb%20c");
        assert_eq!(enc("é~".as_bytes(), Keep::Unreserved), "%C3%A9~");
        assert_eq!(
            percent_encode_string("@uuid#ns", Keep::Unreserved),
            "%40uuid%23ns"
        );
        let mut out = b"keep:".to_vec();
        percent_encode(b"x y", Keep::Unreserved, &mut out);
        assert_eq!(out, b"keep:x%20y", "appends, does not clear");
    }

    #[test]
    fn hex_values() {
        assert_eq!(hex_value(b'0'), Some(0));
        assert_eq!(hex_value(b'9'), Some(9));
        assert_eq!(hex_value(b'a'), Some(10));
        assert_eq!(hex_value(b'F'), Some(15));
        for b in [b'g', b'G', b'/', b':', b'@', b'`', b' ', b'%'] {
            assert_eq!(hex_value(b), None, "{}", char::from(b));
        }
    }
}
