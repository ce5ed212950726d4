//! Human input for sizes and durations, exactly as aisloader reads them.
//!
//! Owns [`parse_size`] (aisloader's size syntax: every suffix is
//! binary, so `1MB` = `1M` = `1MiB` = 1048576) and [`parse_duration`] (Go's
//! `time.ParseDuration`: `90s`, `1h30m`, `1.5h`, `300ms`, plain `0`).
//!
//! Invariants: parsing is exact integer arithmetic (no floats), so `1.5M` is exactly 1572864
//! and fractions are truncated, never rounded; every error carries the bad value and an
//! example of the right syntax; nothing panics on any input.

use std::time::Duration;

/// Size suffixes and their multipliers, in aisloader's matching order (longest first, so
/// `KIB` is tried before `KB`, `KI` and `K`, and `B` last). All of them are binary.
const SIZE_SUFFIXES: [(&str, u64); 17] = [
    ("KIB", 1 << 10),
    ("MIB", 1 << 20),
    ("GIB", 1 << 30),
    ("TIB", 1 << 40),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
    ("KI", 1 << 10),
    ("MI", 1 << 20),
    ("GI", 1 << 30),
    ("TI", 1 << 40),
    ("K", 1 << 10),
    ("M", 1 << 20),
    ("G", 1 << 30),
    ("T", 1 << 40),
    ("B", 1),
];

/// Fraction digits kept when parsing decimals (more are ignored). 24 digits keep
/// `fraction_digits * multiplier` below 2^128 for the largest multiplier (3.6e12 ns per `h`;
/// 2^40 bytes per `T`): 1e24 * 3.6e12 = 3.6e36 < 3.4e38. Dropping later digits loses less
/// than 1e-24 of a unit, far below one byte or one nanosecond.
const MAX_FRACTION_DIGITS: usize = 24;

/// Go's duration limit: `time.Duration` is an i64 count of nanoseconds (about 292 years).
const MAX_DURATION_NANOS: u128 = i64::MAX as u128;

/// Duration units in Go's syntax with their length in nanoseconds. A unit is the whole run of
/// non-digit characters after a number and must equal one of these exactly (case-sensitive,
/// as in Go: `1S` is an error).
const DURATION_UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // U+00B5 MICRO SIGN, as Go accepts
    ("\u{3bc}s", 1_000), // U+03BC GREEK SMALL LETTER MU, as Go accepts
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// A size or duration that cannot be parsed. Messages show the value and a valid example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("empty size; give a byte count with an optional binary unit, e.g. 4096, 4K, 1.5MiB")]
    EmptySize,
    #[error("invalid size '{value}': {why}; use a number with an optional unit K, M, G, T (all binary), e.g. 4K, 1MB, 1.5GiB, 300")]
    BadSize { value: String, why: String },
    #[error("size '{value}' does not fit in 64 bits; use at most 16777215TiB")]
    SizeOverflow { value: String },
    #[error("empty duration; give a Go duration such as 90s, 1h30m or 300ms")]
    EmptyDuration,
    #[error("invalid duration '{value}': {why}; use Go syntax with units ns, us, ms, s, m, h, e.g. 90s, 1h30m, 1.5h, 300ms (a bare 0 is allowed)")]
    BadDuration { value: String, why: String },
    #[error("duration '{value}' is negative; give a positive duration such as 90s")]
    NegativeDuration { value: String },
    #[error("duration '{value}' is too long; Go durations end at about 292 years (2562047h)")]
    DurationOverflow { value: String },
}

/// A decimal number split into its integer digits and fraction digits (both ASCII digits).
struct Decimal<'a> {
    int: &'a str,
    frac: &'a str,
}

impl Decimal<'_> {
    /// `self * unit`, truncated, or `None` on overflow of u128.
    fn times(&self, unit: u128) -> Option<u128> {
        let int: u128 = if self.int.is_empty() {
            0
        } else {
            self.int.parse().ok()?
        };
        let mut whole = int.checked_mul(unit)?;
        let frac = &self.frac[..self.frac.len().min(MAX_FRACTION_DIGITS)];
        if !frac.is_empty() {
            let digits: u128 = frac.parse().ok()?;
            let scale = 10u128.checked_pow(frac.len() as u32)?;
            whole = whole.checked_add(digits.checked_mul(unit)? / scale)?;
        }
        Some(whole)
    }
}

/// Splits the longest prefix of `s` that looks like `digits[.digits]` (at least one digit).
/// Returns the number and the rest, or `None` if `s` does not start with a number.
fn split_decimal(s: &str) -> Option<(Decimal<'_>, &str)> {
    let b = s.as_bytes();
    let int_end = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let (frac, end) = if b.get(int_end) == Some(&b'.') {
        let n = b[int_end + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (&s[int_end + 1..int_end + 1 + n], int_end + 1 + n)
    } else {
        ("", int_end)
    };
    if int_end == 0 && frac.is_empty() {
        return None;
    }
    Some((
        Decimal {
            int: &s[..int_end],
            frac,
        },
        &s[end..],
    ))
}

/// Parses aisloader's size syntax: trimmed, case-insensitive, optional suffix
/// `KIB MIB GIB TIB KB MB GB TB KI MI GI TI K M G T B` (all binary), decimals truncated.
///
/// `"1M"`, `"1mb"`, `"1MiB"` → 1048576; `"4KB"` → 4096; `"16B"` → 16; `"300"` → 300;
/// `"1.5M"` → 1572864. An empty string is an error (callers apply their defaults).
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(UnitError::EmptySize);
    }
    let bad = |why: &str| UnitError::BadSize {
        value: s.to_string(),
        why: why.to_string(),
    };
    let (number, mult) = SIZE_SUFFIXES
        .iter()
        .find_map(|&(suf, mult)| {
            let n = t.len().checked_sub(suf.len())?;
            let tail = t.get(n..)?;
            tail.eq_ignore_ascii_case(suf)
                .then(|| (t[..n].trim_end(), mult))
        })
        .unwrap_or((t, 1));
    if number.starts_with('-') {
        return Err(bad("sizes cannot be negative"));
    }
    let (dec, rest) = split_decimal(number).ok_or_else(|| bad("no number before the unit"))?;
    if !rest.is_empty() {
        return Err(bad(&format!("unexpected '{rest}' after the number")));
    }
    let bytes = dec.times(u128::from(mult)).ok_or(UnitError::SizeOverflow {
        value: s.to_string(),
    })?;
    u64::try_from(bytes).map_err(|_| UnitError::SizeOverflow {
        value: s.to_string(),
    })
}

/// Parses Go's `time.ParseDuration` syntax: an optional sign, then one or more
/// `number unit` pairs with units `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`; decimals are
/// allowed (`1.5h`), a bare `0` is zero, and any other unit-less number is an error.
/// Negative durations are rejected (ringload has no use for them); `-0s` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(UnitError::EmptyDuration);
    }
    let bad = |why: String| UnitError::BadDuration {
        value: s.to_string(),
        why,
    };
    let (negative, mut rest) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad("no number after the sign".into()));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (dec, after) =
            split_decimal(rest).ok_or_else(|| bad(format!("expected a number at '{rest}'")))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        if unit.is_empty() {
            return Err(bad("missing unit after a number".into()));
        }
        let nanos_per = DURATION_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|&(_, n)| n)
            .ok_or_else(|| bad(format!("unknown unit '{unit}'")))?;
        let overflow = || UnitError::DurationOverflow {
            value: s.to_string(),
        };
        let part = dec.times(nanos_per).ok_or_else(overflow)?;
        total = total.checked_add(part).ok_or_else(overflow)?;
        if total > MAX_DURATION_NANOS {
            return Err(overflow());
        }
        rest = &after[unit_len..];
    }
    if negative && total > 0 {
        return Err(UnitError::NegativeDuration {
            value: s.to_string(),
        });
    }
    // total <= i64::MAX, so both casts are lossless.
    Ok(Duration::new(
        (total / 1_000_000_000) as u64,
        (total % 1_000_000_000) as u32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_all_binary() {
        let cases: &[(&str, u64)] = &[
            ("300", 300),
            ("0", 0),
            ("16B", 16),
            ("16b", 16),
            ("1K", 1024),
            ("1k", 1024),
            ("4KB", 4096),
            ("4kib", 4096),
            ("4Ki", 4096),
            ("1M", 1 << 20),
            ("1MB", 1 << 20),
            ("1MiB", 1 << 20),
            ("1mi", 1 << 20),
            ("32m", 32 << 20),
            ("1G", 1 << 30),
            ("1GiB", 1 << 30),
            ("10G", 10_737_418_240),
            ("2T", 2 << 40),
            ("1tb", 1 << 40),
            ("  1 MiB  ", 1 << 20),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_size(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn size_decimals_truncate() {
        assert_eq!(parse_size("1.5M"), Ok(1_572_864));
        assert_eq!(parse_size("0.5K"), Ok(512));
        assert_eq!(parse_size(".5K"), Ok(512));
        assert_eq!(parse_size("1.9"), Ok(1));
        assert_eq!(parse_size("1.0009K"), Ok(1024));
        assert_eq!(parse_size("2."), Ok(2));
    }

    #[test]
    fn bad_sizes_are_errors_naming_the_value() {
        assert_eq!(parse_size(""), Err(UnitError::EmptySize));
        assert_eq!(parse_size("   "), Err(UnitError::EmptySize));
        for s in ["abc", "M", "1X", "1.2.3K", "-1K", "1 K B", "1e3", "0x10"] {
            let e = parse_size(s).unwrap_err();
            assert!(matches!(e, UnitError::BadSize { .. }), "{s}: {e:?}");
            let msg = e.to_string();
            assert!(msg.contains(s) && msg.contains("1MB"), "{msg}");
        }
    }

    #[test]
    fn size_overflow_is_an_error() {
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        for s in [
            "18446744073709551616",
            "16777216T",
            "99999999999999999999999999999999999999999",
        ] {
            assert_eq!(
                parse_size(s),
                Err(UnitError::SizeOverflow { value: s.into() }),
                "{s}"
            );
        }
        assert_eq!(parse_size("16777215T"), Ok(16_777_215 << 40));
    }

    #[test]
    fn go_durations() {
        let cases: &[(&str, Duration)] = &[
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("90s", Duration::from_secs(90)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            ("300ms", Duration::from_millis(300)),
            ("10us", Duration::from_micros(10)),
            ("10\u{b5}s", Duration::from_micros(10)),
            ("10\u{3bc}s", Duration::from_micros(10)),
            ("5ns", Duration::from_nanos(5)),
            ("1m0.5s", Duration::from_millis(60_500)),
            ("+2s", Duration::from_secs(2)),
            ("0s", Duration::ZERO),
            (".5s", Duration::from_millis(500)),
            ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
            ("1.0000000001s", Duration::new(1, 0)),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn bad_durations_are_errors_with_an_example() {
        assert_eq!(parse_duration(""), Err(UnitError::EmptyDuration));
        for s in ["10", "1.5", "s", "1x", "1S", "1h30", "abc", "-", "1..5s"] {
            let e = parse_duration(s).unwrap_err();
            assert!(matches!(e, UnitError::BadDuration { .. }), "{s}: {e:?}");
            let msg = e.to_string();
            assert!(msg.contains(s) && msg.contains("1h30m"), "{msg}");
        }
    }

    #[test]
    fn negative_durations_say_so() {
        let e = parse_duration("-5s").unwrap_err();
        assert_eq!(
            e,
            UnitError::NegativeDuration {
                value: "-5s".into()
            }
        );
        assert!(e.to_string().contains("negative"));
    }

    #[test]
    fn duration_overflow_is_an_error() {
        assert!(parse_duration("2562047h").is_ok());
        assert!(matches!(
            parse_duration("2562048h"),
            Err(UnitError::DurationOverflow { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999999999999999999999999h"),
            Err(UnitError::DurationOverflow { .. })
        ));
    }
}
