//! Tick positions and tick labels: "nice" linear steps, log decades, clock times, and
//! latency values with their unit.
//!
//! Why apart from `svg`: this is the arithmetic of axes, tested on its own. Invariants: every
//! function accepts any f64 (NaN, inf, 0, negative) and returns finite values and a bounded
//! number of ticks (at most ~11), so a hostile input cannot make an axis loop or explode.

/// "Nice" linear ticks from 0 to at least `max` (1-2-5 steps, at most ~6 ticks).
/// Returns the domain top and the tick values.
pub fn linear_ticks(max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| raw <= *s)
        .unwrap_or(10.0 * mag);
    let n = (max / step).ceil().clamp(1.0, 10.0) as usize;
    let ticks = (0..=n).map(|i| i as f64 * step).collect();
    (n as f64 * step, ticks)
}

/// A tick label for a linear axis whose ticks are `step` apart.
pub fn linear_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if v.abs() >= 1e6 {
        return format!("{v:.1e}");
    }
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 9.0) as usize
    } else {
        0
    };
    format!("{v:.decimals$}")
}

/// Log-10 domain covering `[min, max]` (both positive), widened to whole decades.
pub fn log_domain(min: f64, max: f64) -> (f64, f64) {
    let min = if min.is_finite() && min > 0.0 {
        min
    } else {
        1.0
    };
    let max = if max.is_finite() && max >= min {
        max
    } else {
        min
    };
    let lo = 10f64.powf(min.log10().floor().clamp(-300.0, 300.0));
    let mut hi = 10f64.powf(max.log10().ceil().clamp(-300.0, 300.0));
    if hi <= lo {
        hi = lo * 10.0;
    }
    (lo, hi)
}

/// Ticks of a log domain from [`log_domain`]: every decade (every 2nd or 3rd when there are
/// many), plus 2× and 5× when the domain spans at most two decades.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let d0 = lo.log10().round() as i32;
    let d1 = hi.log10().round() as i32;
    let decades = (d1 - d0).max(1);
    let every = if decades > 12 {
        3
    } else if decades > 7 {
        2
    } else {
        1
    };
    let mut ticks = Vec::new();
    for d in d0..=d1 {
        let base = 10f64.powi(d);
        if (d - d0) % every == 0 {
            ticks.push(base);
        }
        if decades <= 2 && d < d1 {
            ticks.push(2.0 * base);
            ticks.push(5.0 * base);
        }
    }
    ticks
}

/// A latency in microseconds as a short label with its unit: `200 µs`, `1.5 ms`, `2 s`.
pub fn latency_label(us: f64) -> String {
    let (v, unit) = if us < 1e3 {
        (us, "µs")
    } else if us < 1e6 {
        (us / 1e3, "ms")
    } else {
        (us / 1e6, "s")
    };
    if v >= 1e6 {
        return format!("{v:.0e} {unit}");
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {unit}")
}

/// Seconds since the start as `mm:ss` (`h:mm:ss` past an hour; tenths when `fine`).
pub fn clock_label(secs: f64, fine: bool) -> String {
    let secs = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
    let whole = secs.floor() as u64;
    let (h, m, s) = (whole / 3600, (whole / 60) % 60, whole % 60);
    let tenths = if fine {
        format!(
            ".{}",
            ((secs - whole as f64) * 10.0).round().min(9.0) as u64
        )
    } else {
        String::new()
    };
    if h > 0 {
        format!("{h}:{m:02}:{s:02}{tenths}")
    } else {
        format!("{m:02}:{s:02}{tenths}")
    }
}

/// Time ticks (seconds) for a span of `span_s` seconds: round clock steps, at most ~8 ticks.
/// Returns the step and the ticks.
pub fn time_ticks(span_s: f64) -> (f64, Vec<f64>) {
    const STEPS: [f64; 19] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
        3600.0, 7200.0, 10800.0, 21600.0,
    ];
    let span = if span_s.is_finite() && span_s > 0.0 {
        span_s
    } else {
        1.0
    };
    let mut step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or(43200.0);
    while span / step > 8.0 {
        step *= 2.0;
    }
    let n = (span / step).floor() as usize;
    (step, (0..=n).map(|i| i as f64 * step).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_cover_the_max_with_round_steps() {
        let (top, ticks) = linear_ticks(3.7);
        assert_eq!(top, 4.0);
        assert_eq!(ticks, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        let (top, ticks) = linear_ticks(0.0);
        assert_eq!((top, ticks.len()), (1.0, 6));
        let (top, _) = linear_ticks(f64::NAN);
        assert_eq!(top, 1.0);
        assert_eq!(linear_label(0.25, 0.05), "0.25");
        assert_eq!(linear_label(2e9, 1e9), "2.0e9");
    }

    #[test]
    fn log_domain_and_ticks_are_whole_decades() {
        assert_eq!(log_domain(150.0, 42_000.0), (100.0, 100_000.0));
        assert_eq!(log_domain(100.0, 100.0), (100.0, 1000.0));
        assert_eq!(log_domain(0.0, f64::NAN), (1.0, 10.0));
        assert_eq!(log_ticks(100.0, 10_000.0).len(), 7);
        let wide = log_ticks(1.0, 1e19);
        assert!(wide.len() <= 8, "{wide:?}");
    }

    #[test]
    fn labels_carry_units_and_clock_format() {
        assert_eq!(latency_label(200.0), "200 µs");
        assert_eq!(latency_label(1500.0), "1.5 ms");
        assert_eq!(latency_label(2e6), "2 s");
        assert_eq!(clock_label(75.0, false), "01:15");
        assert_eq!(clock_label(3725.0, false), "1:02:05");
        assert_eq!(clock_label(0.5, true), "00:00.5");
        let (step, ticks) = time_ticks(600.0);
        assert_eq!((step, ticks.len()), (120.0, 6));
        let (_, huge) = time_ticks(1e12);
        assert!(huge.len() <= 9);
    }
}
