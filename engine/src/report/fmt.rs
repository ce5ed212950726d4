//! Formatting helpers for the human output: aisloader's number, size, duration and time styles.
//!
//! Owns the exact spelling of numbers in the interval table, the live line and the summary, so
//! that the table stays close enough to aisloader's for existing eyes and parsers
//! (aisloader's `stats.go`). Pure functions; none of them panics on any input.

use std::time::Duration;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// IEC size with `digits` decimals like AIStore's `ToSizeIEC`: `412.6MiB`, `1.00KiB`;
/// below 1 KiB the plain byte count, `512B`. TiB is the largest unit. The quotient is taken in
/// `f32`, as AIStore does, so the last digit rounds as aisloader's does.
pub fn iec(bytes: u64, digits: usize) -> String {
    let (unit, name) = match bytes {
        b if b >= TIB => (TIB, "TiB"),
        b if b >= GIB => (GIB, "GiB"),
        b if b >= MIB => (MIB, "MiB"),
        b if b >= KIB => (KIB, "KiB"),
        b => return format!("{b}B"),
    };
    format!("{:.*}{name}", digits, bytes as f32 / unit as f32)
}

/// [`iec`], or `-` for zero (aisloader's table style).
pub fn iec_or_dash(bytes: u64, digits: usize) -> String {
    if bytes == 0 {
        "-".to_string()
    } else {
        iec(bytes, digits)
    }
}

/// Go's `time.Duration.String()` for a non-negative duration in ns: `0s`, `750ns`,
/// `755.308µs`, `4.399123ms`, `1.2s`, `1m30s`, `1h0m0s`.
pub fn go_duration(ns: u64) -> String {
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < US {
        return format!("{ns}ns");
    }
    if ns < MS {
        return format!("{}µs", frac(ns / US, ns % US, 3));
    }
    if ns < S {
        return format!("{}ms", frac(ns / MS, ns % MS, 6));
    }
    let secs = ns / S;
    let s = frac(secs % 60, ns % S, 9);
    let mins = secs / 60;
    let hours = mins / 60;
    match (hours, mins) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{}m{s}s", m % 60),
    }
}

/// `int` plus the fraction `rem` of `prec` digits, trailing zeros (and a bare dot) dropped.
fn frac(int: u64, rem: u64, prec: usize) -> String {
    if rem == 0 {
        return int.to_string();
    }
    let f = format!("{rem:0prec$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// [`go_duration`] with the fractional part cut (not rounded) to at most `max_frac` digits,
/// as aisloader prints latencies: `4.399ms`, `6.030ms`, `755.308µs`, `1.2s`.
pub fn go_duration_cut(ns: u64, max_frac: usize) -> String {
    let s = go_duration(ns);
    let Some(dot) = s.find('.') else { return s };
    let digits_end = s[dot + 1..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(s.len(), |i| dot + 1 + i);
    let keep = if max_frac == 0 {
        dot
    } else {
        (dot + 1 + max_frac).min(digits_end)
    };
    format!("{}{}", &s[..keep], &s[digits_end..])
}

/// A latency in µs as a cut Go duration (3 decimals); `f64` means are rounded to whole ns.
pub fn latency_us(us: f64) -> String {
    let ns = if us.is_finite() && us > 0.0 {
        (us * 1000.0).round().min(u64::MAX as f64) as u64
    } else {
        0
    };
    go_duration_cut(ns, 3)
}

/// Go's `%v` of a `float64` (`strconv.FormatFloat(v, 'g', -1, 64)`): the shortest digits
/// that read back as `v`, in plain decimal (`3`, `0.25`, `123456`) unless the exponent is
/// below -4 or at least 6, then as `1.234567e+06`, `5e-05`.
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` is the shortest round-trip mantissa with its exponent: `1.234567e6`.
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        return format!("{v}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// `unix_ns` as Go marshals a local `time.Time` to JSON (RFC 3339 with nanoseconds): the local
/// date and time, the fraction with its trailing zeros dropped (none when zero), then `Z` or
/// the zone's `+hh:mm`: `2026-12-03T10:28:02.1234+01:00`. UTC when the zone is unknown.
pub fn rfc3339_local(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let (y, mo, d, h, mi, s, off) = match ringload_net::sys::process::local_time(secs) {
        Some(t) => (
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.utc_offset,
        ),
        None => {
            let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
            let day = (secs % 86_400) as i32;
            (y, mo, d, day / 3600, day / 60 % 60, day % 60, 0)
        }
    };
    let frac = frac(0, unix_ns % 1_000_000_000, 9);
    let frac = frac.strip_prefix('0').unwrap_or("");
    let zone = if off == 0 {
        "Z".to_string()
    } else {
        let m = off.unsigned_abs() / 60;
        let sign = if off < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i32, i32, i32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as i32, d as i32)
}

/// Elapsed time as `MM:SS`, or `H:MM:SS` from one hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// Local wall-clock time of `unix_ns` as `HH:MM:SS` (UTC if the local zone is unknown).
pub fn local_hms(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    if let Some((h, m, s)) = ringload_net::sys::process::local_time_of_day(secs) {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        let day = secs % 86_400;
        format!("{:02}:{:02}:{:02}", day / 3600, day / 60 % 60, day % 60)
    }
}

/// [`local_hms`] with tenths of a second, `HH:MM:SS.s` (truncated), for a partial interval.
pub fn local_hms_tenths(unix_ns: u64) -> String {
    format!(
        "{}.{}",
        local_hms(unix_ns),
        unix_ns % 1_000_000_000 / 100_000_000
    )
}

/// Bytes per second over `ns` nanoseconds, truncated like aisloader (0 for an empty window).
pub fn per_second(amount: u64, ns: u64) -> u64 {
    if ns == 0 {
        return 0;
    }
    (u128::from(amount) * 1_000_000_000 / u128::from(ns)).min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(6602), "6,602");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn iec_sizes() {
        assert_eq!(iec(0, 1), "0B");
        assert_eq!(iec(1023, 1), "1023B");
        assert_eq!(iec(1024, 2), "1.00KiB");
        assert_eq!(iec(432_645_324, 1), "412.6MiB");
        assert_eq!(iec(43_264_532, 2), "41.26MiB");
        assert_eq!(iec(3 * GIB / 2, 2), "1.50GiB");
        assert_eq!(iec(2048 * TIB, 1), "2048.0TiB");
        assert_eq!(iec_or_dash(0, 1), "-");
        assert_eq!(iec_or_dash(5, 1), "5B");
    }

    #[test]
    fn go_durations_match_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(750), "750ns");
        assert_eq!(go_duration(1_000), "1µs");
        assert_eq!(go_duration(755_308), "755.308µs");
        assert_eq!(go_duration(4_399_123), "4.399123ms");
        assert_eq!(go_duration(1_200_000_000), "1.2s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(3_723_500_000_000), "1h2m3.5s");
    }

    #[test]
    fn go_durations_cut_like_aisloader() {
        assert_eq!(go_duration_cut(4_399_123, 3), "4.399ms");
        assert_eq!(go_duration_cut(6_030_512, 3), "6.030ms");
        assert_eq!(go_duration_cut(22_278_999, 3), "22.278ms");
        assert_eq!(go_duration_cut(755_308, 3), "755.308µs");
        assert_eq!(go_duration_cut(1_200_000_000, 3), "1.2s");
        assert_eq!(go_duration_cut(90_123_456_789, 3), "1m30.123s");
        assert_eq!(go_duration_cut(1_234_567, 1), "1.2ms");
        assert_eq!(go_duration_cut(1_234_567, 0), "1ms");
        assert_eq!(go_duration_cut(750, 3), "750ns");
        assert_eq!(latency_us(755.308), "755.308µs");
        assert_eq!(latency_us(4399.1236), "4.399ms");
        assert_eq!(latency_us(f64::NAN), "0s");
        assert_eq!(latency_us(-3.0), "0s");
    }

    #[test]
    fn iec_rounds_in_f32_like_aistore() {
        // 629,198,032 B is 600.0500030... MiB, but as an f32 it is 629,198,016 B, just under
        // 600.05 MiB: AIStore prints 600.0MiB where an f64 quotient would give 600.1MiB.
        assert_eq!(iec(629_198_032, 1), "600.0MiB");
        assert_eq!(iec((1 << 24) + 1, 7), "16.0000000MiB");
        assert_eq!(iec(1_572_864, 1), "1.5MiB");
    }

    #[test]
    fn go_floats_match_fmt_v() {
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float(3.0), "3");
        assert_eq!(go_float(0.25), "0.25");
        assert_eq!(go_float(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(go_float(123_456.0), "123456");
        assert_eq!(go_float(1_000_000.0), "1e+06");
        assert_eq!(go_float(1_234_567.0), "1.234567e+06");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00005), "5e-05");
        assert_eq!(go_float(3.6e6), "3.6e+06");
        assert_eq!(go_float(1e100), "1e+100");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
    }

    #[test]
    fn rfc3339_like_go_json() {
        let t = rfc3339_local(1_700_000_000_123_400_000);
        let off = ringload_net::sys::process::local_time(1_700_000_000)
            .unwrap()
            .utc_offset;
        if off == 0 {
            assert_eq!(t, "2023-11-14T22:13:20.1234Z");
        } else {
            assert!(t.contains(":13:20.1234"), "{t}");
            assert!(
                t.ends_with(&format!("{:02}", off.unsigned_abs() / 60 % 60)),
                "{t}"
            );
        }
        assert!(!rfc3339_local(1_700_000_000_000_000_000).contains('.'));
        assert!(rfc3339_local(1_700_000_000_000_000_001).contains(":20.000000001"));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn clocks() {
        assert_eq!(clock(Duration::from_secs(12)), "00:12");
        assert_eq!(clock(Duration::from_secs(60)), "01:00");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
        let hms = local_hms(1_700_000_000_000_000_000);
        assert_eq!(hms.len(), 8, "{hms}");
        assert_eq!(hms.matches(':').count(), 2, "{hms}");
        assert_eq!(local_hms(u64::MAX).len(), 8);
    }

    #[test]
    fn rates() {
        assert_eq!(per_second(100, 2_000_000_000), 50);
        assert_eq!(per_second(1, 3_000_000_000), 0);
        assert_eq!(per_second(5, 0), 0);
        assert_eq!(per_second(u64::MAX, 1), u64::MAX);
    }
}
