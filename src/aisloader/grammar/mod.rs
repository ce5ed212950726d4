//! Go's `flag` package grammar, as aisloader's command line is parsed: `-x` and `--x`, `-x=v`,
//! `-x v` (not for booleans), booleans bare or `=bool`, integers in Go's literal syntax,
//! durations in Go's syntax, the last repeat winning, and parsing stopping at the first
//! argument that is not a flag. Pure: no I/O; the caller prints the errors Go would print.

use std::fmt;

/// How Go parses one flag's value (the flag's Go type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `bool`: bare, or `=` with `strconv.ParseBool`'s spellings.
    Bool,
    /// aisloader's tri-state boolean (`-cleanup`): also `y yes on n no off`, and empty = false.
    TriBool,
    /// `int`/`int64`: `strconv.ParseInt(s, 0, 64)`.
    Int,
    /// `uint`/`uint64`: `strconv.ParseUint(s, 0, 64)` (no sign).
    Uint,
    /// `time.Duration`, through the standard flag type (a bad value is a `parse error`).
    Duration,
    /// aisloader's own duration type (a bad value reports `time.ParseDuration`'s error).
    DurationExt,
    /// `string`: any value, empty included.
    Str,
}

impl Kind {
    fn is_bool(self) -> bool {
        matches!(self, Kind::Bool | Kind::TriBool)
    }
}

/// The outcome of a successful parse.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Each flag given, by name, with its value in Go's `Value.String()` form (`0x10` → `16`,
    /// `90s` → `1m30s`); a repeat replaces the earlier value.
    pub set: Vec<(String, String)>,
    /// The arguments after the flags (Go's `f.Args()`).
    pub rest: Vec<String>,
}

impl Parsed {
    /// The value given for `name`, if the flag was given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.set
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why the command line did not parse; `Display` is Go's message.
#[derive(Debug, PartialEq, Eq)]
pub enum GoFlagError {
    /// `-h` or `-help` (not defined as flags): Go prints the usage hint and exits 0.
    Help,
    Undefined(String),
    NeedsArgument(String),
    BadSyntax(String),
    BadBool {
        value: String,
        name: String,
        why: String,
    },
    BadValue {
        value: String,
        name: String,
        why: String,
    },
}

impl fmt::Display for GoFlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoFlagError::Help => write!(f, "flag: help requested"),
            GoFlagError::Undefined(n) => write!(f, "flag provided but not defined: -{n}"),
            GoFlagError::NeedsArgument(n) => write!(f, "flag needs an argument: -{n}"),
            GoFlagError::BadSyntax(a) => write!(f, "bad flag syntax: {a}"),
            GoFlagError::BadBool { value, name, why } => {
                write!(f, "invalid boolean value {value:?} for -{name}: {why}")
            }
            GoFlagError::BadValue { value, name, why } => {
                write!(f, "invalid value {value:?} for flag -{name}: {why}")
            }
        }
    }
}

/// Parses `args` (without argv[0]) with Go's rules; `kind` names each defined flag's kind.
pub fn parse(args: &[String], kind: impl Fn(&str) -> Option<Kind>) -> Result<Parsed, GoFlagError> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let mut body = &arg[1..];
        if body.starts_with('-') {
            body = &body[1..];
            if body.is_empty() {
                // `--` ends the flags and is consumed.
                i += 1;
                break;
            }
        }
        if body.starts_with('-') || body.starts_with('=') {
            return Err(GoFlagError::BadSyntax(arg.clone()));
        }
        i += 1;
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(k) = kind(name) else {
            if name == "h" || name == "help" {
                return Err(GoFlagError::Help);
            }
            return Err(GoFlagError::Undefined(name.to_string()));
        };
        let value = match (inline, k.is_bool()) {
            (Some(v), _) => v.to_string(),
            (None, true) => "true".to_string(),
            (None, false) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => return Err(GoFlagError::NeedsArgument(name.to_string())),
            },
        };
        let canonical = canonical(k, &value).map_err(|why| {
            if k.is_bool() {
                GoFlagError::BadBool {
                    value: value.clone(),
                    name: name.to_string(),
                    why,
                }
            } else {
                GoFlagError::BadValue {
                    value: value.clone(),
                    name: name.to_string(),
                    why,
                }
            }
        })?;
        out.set.retain(|(n, _)| n != name);
        out.set.push((name.to_string(), canonical));
    }
    out.rest = args[i..].to_vec();
    Ok(out)
}

/// A value in Go's `Value.String()` form, or the reason Go's `Set` gives for refusing it.
pub fn canonical(k: Kind, v: &str) -> Result<String, String> {
    match k {
        Kind::Bool => parse_bool(v).map(|b| b.to_string()),
        Kind::TriBool => parse_tri_bool(v).map(|b| b.to_string()),
        Kind::Int => parse_int(v).map(|n| n.to_string()),
        Kind::Uint => parse_uint(v).map(|n| n.to_string()),
        Kind::Duration => go_duration(v)
            .map(ringload_engine::report::fmt::go_duration)
            .map_err(|_| "parse error".to_string()),
        Kind::DurationExt => go_duration(v).map(ringload_engine::report::fmt::go_duration),
        Kind::Str => Ok(v.to_string()),
    }
}

/// `strconv.ParseBool`.
pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        // The standard bool flag reports strconv's error as errParse.
        _ => Err("parse error".to_string()),
    }
}

/// aisloader's tri-state boolean (`cos.ParseBool`): empty is false; `y yes on` / `n no off`;
/// otherwise `strconv.ParseBool`, whose error it reports as is.
pub fn parse_tri_bool(v: &str) -> Result<bool, String> {
    match v {
        "" | "n" | "no" | "off" => Ok(false),
        "y" | "yes" | "on" => Ok(true),
        _ => parse_bool(v).map_err(|_| format!("strconv.ParseBool: parsing {v:?}: invalid syntax")),
    }
}

/// `strconv.ParseInt(v, 0, 64)`, with the reason the flag package reports.
pub fn parse_int(v: &str) -> Result<i64, String> {
    let (neg, digits) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let mag = parse_magnitude(digits)?;
    let limit = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    if mag > limit {
        return Err("value out of range".to_string());
    }
    // mag <= 2^63, so the negation fits (i64::MIN included).
    Ok(if neg {
        (mag as i128).wrapping_neg() as i64
    } else {
        mag as i64
    })
}

/// `strconv.ParseUint(v, 0, 64)`: no sign allowed.
pub fn parse_uint(v: &str) -> Result<u64, String> {
    let mag = parse_magnitude(v)?;
    u64::try_from(mag).map_err(|_| "value out of range".to_string())
}

/// The unsigned part of Go's base-0 integer syntax: `0x`/`0o`/`0b` prefixes (either case), a
/// leading `0` for octal, and `_` between digits. Saturates far above `u64::MAX`.
fn parse_magnitude(s: &str) -> Result<u128, String> {
    let syntax = || "parse error".to_string();
    if s.is_empty() || !underscores_ok(s) {
        return Err(syntax());
    }
    let b = s.as_bytes();
    let (base, digits) = if b[0] == b'0' && b.len() >= 3 {
        match b[1].to_ascii_lowercase() {
            b'x' => (16, &s[2..]),
            b'o' => (8, &s[2..]),
            b'b' => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else if b[0] == b'0' {
        (8, &s[1..])
    } else {
        (10, s)
    };
    let mut n: u128 = 0;
    let mut any = base == 8 && digits.len() + 1 == s.len();
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(base).ok_or_else(syntax)?;
        n = n
            .saturating_mul(u128::from(base))
            .saturating_add(u128::from(d));
        any = true;
    }
    if !any {
        return Err(syntax());
    }
    Ok(n.min(u128::from(u64::MAX) + 1))
}

/// Go's `underscoreOK`: `_` only between digits (a base prefix counts as a digit).
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `time.ParseDuration`, in ns, with Go's error text. A negative duration is refused (Go
/// would take it; nothing in aisloader uses one).
pub fn go_duration(v: &str) -> Result<u64, String> {
    let quoted = format!("{v:?}");
    let d = ringload_core::units::parse_duration(v).map_err(|e| {
        let s = e.to_string();
        if s.contains("missing unit") {
            format!("time: missing unit in duration {quoted}")
        } else if let Some(u) = s.split("unknown unit '").nth(1) {
            let unit = u.split('\'').next().unwrap_or_default();
            format!("time: unknown unit {unit:?} in duration {quoted}")
        } else {
            format!("time: invalid duration {quoted}")
        }
    })?;
    if v.trim() != v {
        return Err(format!("time: invalid duration {quoted}"));
    }
    u64::try_from(d.as_nanos()).map_err(|_| format!("time: invalid duration {quoted}"))
}

#[cfg(test)]
mod tests;
