//! Fault injection of the built-in target: the `--fault KIND=RATE[,...]` syntax, the parsed
//! [`Faults`], and the per-request decision.
//!
//! Owns: which fault (if any) a given object request gets. Kinds: `reset` (GET: part of the
//! body, then a TCP reset), `truncate` (GET: half the body, then a clean close), `500` and
//! `503` (object GET or PUT: that status, keep-alive), and `delay=RATE:DURATION` (the answer's
//! first byte is held back; combines with the others; it also holds AIS multipart steps).
//!
//! Why deterministic: tests and users compare a client's error counts with the server's fault
//! counts exactly, so the decision is a pure function of the listener's request sequence
//! number: `mix64(seq) % 1e6` falls into consecutive per-kind intervals (reset, truncate, 500,
//! 503) and an independent `mix64(seq ^ DELAY_SALT) % 1e6` decides the delay.
//!
//! Invariants: rates are kept in parts per million; the four exclusive kinds add up to at most
//! 100%; a kind appears at most once across all `--fault` values.

use std::time::Duration;

/// Parts per million in 100%.
const PPM: u32 = 1_000_000;
/// Salt that makes the delay draw independent of the fault-kind draw.
const DELAY_SALT: u64 = 0x0064_656c_6179; // "delay"

/// A fault that replaces or cuts an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// GET: send the head and part of the body, then close with a TCP reset.
    Reset = 0,
    /// GET: send the head (full Content-Length) and half the body, then close cleanly.
    Truncate = 1,
    /// Object GET or PUT answered `500 Internal Server Error`.
    Http500 = 2,
    /// Object GET or PUT answered `503 Service Unavailable`.
    Http503 = 3,
}

/// Fault rates of one listener (all zero: no faults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Share of object GETs reset, in parts per million.
    pub reset_ppm: u32,
    /// Share of object GETs truncated, in parts per million.
    pub truncate_ppm: u32,
    /// Share of object GETs and PUTs answered 500, in parts per million.
    pub http500_ppm: u32,
    /// Share of object GETs and PUTs answered 503, in parts per million.
    pub http503_ppm: u32,
    /// Share of object GETs and PUTs whose answer is delayed, in parts per million.
    pub delay_ppm: u32,
    /// How long a delayed answer is held back.
    pub delay: Duration,
}

/// A `--fault` value that cannot be used; each names the bad part and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("--fault: empty entry in {spec:?}: write KIND=RATE[,KIND=RATE...], e.g. 503=1%")]
    Empty { spec: String },
    #[error("--fault: {part:?} has no rate: write KIND=RATE, e.g. {part}=1% or {part}=0.01")]
    MissingRate { part: String },
    #[error("--fault: unknown kind {kind:?}: use reset, truncate, 500, 503 or delay")]
    UnknownKind { kind: String },
    #[error(
        "--fault: bad rate {rate:?} in {part:?}: use a fraction in 0..=1 (0.01) or a \
         percentage in 0..=100 (1%)"
    )]
    BadRate { part: String, rate: String },
    #[error("--fault: {part:?} needs a duration: write delay=RATE:DURATION, e.g. delay=5%:200ms")]
    DelayNeedsDuration { part: String },
    #[error("--fault: bad duration in {part:?}: {reason}")]
    BadDuration { part: String, reason: String },
    #[error("--fault: {part:?}: only delay takes a duration (KIND=RATE:DURATION)")]
    UnexpectedDuration { part: String },
    #[error("--fault: kind {kind} is given twice: give each kind once")]
    Duplicate { kind: String },
    #[error(
        "--fault: reset, truncate, 500 and 503 add up to {total_pct}% of requests, above 100%: \
         lower their rates"
    )]
    AboveHundred { total_pct: f64 },
}

/// What one request gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) kind: Option<FaultKind>,
    pub(crate) delay: bool,
}

impl Faults {
    /// Parses one `--fault` value (`KIND=RATE[,KIND=RATE...]`).
    pub fn parse(spec: &str) -> Result<Faults, FaultSpecError> {
        let mut f = Faults::default();
        f.add(spec)?;
        Ok(f)
    }

    /// Adds the kinds of one more `--fault` value (the flag is repeatable).
    pub fn add(&mut self, spec: &str) -> Result<(), FaultSpecError> {
        for part in spec.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(FaultSpecError::Empty { spec: spec.into() });
            }
            let Some((kind, value)) = part.split_once('=') else {
                return Err(FaultSpecError::MissingRate { part: part.into() });
            };
            let kind = kind.trim();
            let (rate, dur) = match value.split_once(':') {
                Some((r, d)) => (r.trim(), Some(d.trim())),
                None => (value.trim(), None),
            };
            let slot = match kind {
                "reset" => &mut self.reset_ppm,
                "truncate" => &mut self.truncate_ppm,
                "500" => &mut self.http500_ppm,
                "503" => &mut self.http503_ppm,
                "delay" => &mut self.delay_ppm,
                _ => return Err(FaultSpecError::UnknownKind { kind: kind.into() }),
            };
            if *slot != 0 || (kind == "delay" && !self.delay.is_zero()) {
                return Err(FaultSpecError::Duplicate { kind: kind.into() });
            }
            let ppm = parse_rate(rate).ok_or_else(|| FaultSpecError::BadRate {
                part: part.into(),
                rate: rate.into(),
            })?;
            match (kind, dur) {
                ("delay", None) => {
                    return Err(FaultSpecError::DelayNeedsDuration { part: part.into() })
                }
                ("delay", Some(d)) => {
                    let d = ringload_core::units::parse_duration(d).map_err(|e| {
                        FaultSpecError::BadDuration {
                            part: part.into(),
                            reason: e.to_string(),
                        }
                    })?;
                    // A zero duration is accepted but injects nothing.
                    self.delay = d;
                }
                (_, Some(_)) => {
                    return Err(FaultSpecError::UnexpectedDuration { part: part.into() })
                }
                (_, None) => {}
            }
            *slot = ppm;
        }
        let total = u64::from(self.reset_ppm)
            + u64::from(self.truncate_ppm)
            + u64::from(self.http500_ppm)
            + u64::from(self.http503_ppm);
        if total > u64::from(PPM) {
            return Err(FaultSpecError::AboveHundred {
                total_pct: total as f64 / 10_000.0,
            });
        }
        Ok(())
    }

    /// True when no fault can fire.
    pub fn is_empty(&self) -> bool {
        self.reset_ppm == 0
            && self.truncate_ppm == 0
            && self.http500_ppm == 0
            && self.http503_ppm == 0
            && (self.delay_ppm == 0 || self.delay.is_zero())
    }

    /// The decision for the listener's request number `seq` (pure function).
    pub(crate) fn decide(&self, seq: u64) -> Decision {
        let u = (ringload_core::rng::mix64(seq) % u64::from(PPM)) as u32;
        let mut edge = 0u32;
        let mut kind = None;
        for (k, ppm) in [
            (FaultKind::Reset, self.reset_ppm),
            (FaultKind::Truncate, self.truncate_ppm),
            (FaultKind::Http500, self.http500_ppm),
            (FaultKind::Http503, self.http503_ppm),
        ] {
            edge += ppm;
            if u < edge {
                kind = Some(k);
                break;
            }
        }
        let d = (ringload_core::rng::mix64(seq ^ DELAY_SALT) % u64::from(PPM)) as u32;
        Decision {
            kind,
            delay: d < self.delay_ppm && !self.delay.is_zero(),
        }
    }
}

/// `0.01` (fraction, 0..=1) or `1%` (percentage, 0..=100) to parts per million.
fn parse_rate(s: &str) -> Option<u32> {
    let (num, scale) = match s.strip_suffix('%') {
        Some(p) => (p.trim(), 100.0),
        None => (s, 1.0),
    };
    // Plain decimals only: f64's parser would also take "inf", "nan" and exponents.
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    if !(0.0..=scale).contains(&v) {
        return None;
    }
    Some((v / scale * f64::from(PPM)).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_kinds_and_delays() {
        let f = Faults::parse("reset=0.01, truncate=2%,500=0.5,503=0%").unwrap();
        assert_eq!(
            (f.reset_ppm, f.truncate_ppm, f.http500_ppm, f.http503_ppm),
            (10_000, 20_000, 500_000, 0)
        );
        assert_eq!(Faults::parse("503=1").unwrap().http503_ppm, 1_000_000);
        let mut f = Faults::parse("delay=5%:200ms").unwrap();
        assert_eq!((f.delay_ppm, f.delay), (50_000, Duration::from_millis(200)));
        f.add("503=0.5").unwrap();
        assert_eq!(f.http503_ppm, 500_000);
        assert!(!f.is_empty());
        assert!(Faults::default().is_empty());
    }

    #[test]
    fn errors_name_the_bad_part() {
        let e = |s: &str| Faults::parse(s).unwrap_err().to_string();
        assert!(e("boom=1%").contains("\"boom\""), "{}", e("boom=1%"));
        assert!(e("reset").contains("\"reset\" has no rate"));
        assert!(e("reset=2").contains("\"2\""));
        assert!(e("reset=150%").contains("\"150%\""));
        assert!(e("reset=abc").contains("\"abc\""));
        assert!(e("reset=1e-2").contains("\"1e-2\""));
        assert!(e("delay=5%").contains("needs a duration"));
        assert!(e("delay=5%:soon").contains("\"delay=5%:soon\""));
        assert!(e("500=1%:1s").contains("only delay"));
        assert!(e("500=1%,500=2%").contains("twice"));
        assert!(e("reset=60%,503=50%").contains("110%"));
        assert!(e("reset=1%,,").contains("empty entry"));
        let mut f = Faults::parse("503=1%").unwrap();
        assert!(f.add("503=2%").unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn decisions_are_deterministic_and_match_the_rates() {
        let f = Faults::parse("reset=10%,truncate=20%,500=30%,503=40%,delay=50%:1ms").unwrap();
        let (mut n, mut d) = ([0u32; 4], 0u32);
        for seq in 0..100_000 {
            let dec = f.decide(seq);
            assert_eq!(dec, f.decide(seq));
            n[dec.kind.expect("100% in total") as usize] += 1;
            d += u32::from(dec.delay);
        }
        for (i, want) in [10_000, 20_000, 30_000, 40_000].iter().enumerate() {
            assert!(n[i].abs_diff(*want) < 1_000, "{n:?}");
        }
        assert!(d.abs_diff(50_000) < 1_000, "{d}");
        let all = Faults::parse("truncate=100%").unwrap();
        assert!((0..1000).all(|s| all.decide(s).kind == Some(FaultKind::Truncate)));
        assert!((0..1000).all(|s| Faults::default().decide(s) == Decision::default()));
    }
}
