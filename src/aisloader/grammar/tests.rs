//! Unit tests of Go's `flag` grammar as the front end parses it: dashes, `=` and separate
//! values, booleans, the `-cleanup` tri-state, Go's integer literals, durations, where parsing
//! stops, and Go's error messages.

use super::*;

fn kinds(n: &str) -> Option<Kind> {
    Some(match n {
        "json" | "quiet" => Kind::Bool,
        "cleanup" => Kind::TriBool,
        "numworkers" | "seed" => Kind::Int,
        "epochs" => Kind::Uint,
        "timeout" => Kind::Duration,
        "duration" => Kind::DurationExt,
        "bucket" | "ip" => Kind::Str,
        "test-probe StatsD server prior to benchmarks" => Kind::Bool,
        _ => return None,
    })
}

fn p(args: &[&str]) -> Result<Parsed, GoFlagError> {
    let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse(&v, kinds)
}

fn val(args: &[&str], name: &str) -> Option<String> {
    p(args).unwrap().get(name).map(str::to_string)
}

#[test]
fn single_and_double_dash_with_equals_or_separate_value() {
    for args in [
        &["-bucket=ais://b"][..],
        &["--bucket=ais://b"],
        &["-bucket", "ais://b"],
        &["--bucket", "ais://b"],
    ] {
        assert_eq!(val(args, "bucket").as_deref(), Some("ais://b"), "{args:?}");
    }
    // The next argument is the value even when it starts with a dash.
    assert_eq!(val(&["-ip", "-x"], "ip").as_deref(), Some("-x"));
    assert_eq!(val(&["-ip="], "ip").as_deref(), Some(""));
}

#[test]
fn booleans_only_bare_or_with_equals() {
    assert_eq!(val(&["-json"], "json").as_deref(), Some("true"));
    for (v, want) in [
        ("1", "true"),
        ("t", "true"),
        ("T", "true"),
        ("TRUE", "true"),
        ("True", "true"),
        ("0", "false"),
        ("f", "false"),
        ("F", "false"),
        ("FALSE", "false"),
        ("False", "false"),
    ] {
        assert_eq!(val(&[&format!("-json={v}")], "json").as_deref(), Some(want));
    }
    for bad in ["yes", "", "tRUE", "2"] {
        let e = p(&[&format!("-json={bad}")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("invalid boolean value {bad:?} for -json: parse error")
        );
    }
    // `-json false`: the bool is true and parsing stops at `false`.
    let r = p(&["-json", "false", "-quiet"]).unwrap();
    assert_eq!(r.get("json"), Some("true"));
    assert_eq!(r.get("quiet"), None);
    assert_eq!(r.rest, ["false", "-quiet"]);
}

#[test]
fn cleanup_is_a_tri_state_with_cos_spellings() {
    for (v, want) in [
        ("y", "true"),
        ("yes", "true"),
        ("on", "true"),
        ("n", "false"),
        ("no", "false"),
        ("off", "false"),
        ("", "false"),
        ("true", "true"),
        ("F", "false"),
    ] {
        assert_eq!(
            val(&[&format!("-cleanup={v}")], "cleanup").as_deref(),
            Some(want),
            "{v:?}"
        );
    }
    assert_eq!(val(&["-cleanup"], "cleanup").as_deref(), Some("true"));
    assert_eq!(
        p(&["-cleanup=maybe"]).unwrap_err().to_string(),
        "invalid boolean value \"maybe\" for -cleanup: strconv.ParseBool: parsing \"maybe\": \
         invalid syntax"
    );
    // The classic mistake: a space instead of `=`.
    let r = p(&["-cleanup", "false", "-duration", "10s"]).unwrap();
    assert_eq!(r.get("cleanup"), Some("true"));
    assert_eq!(r.get("duration"), None);
    assert_eq!(r.rest, ["false", "-duration", "10s"]);
}

#[test]
fn integers_in_go_literal_syntax() {
    for (v, want) in [
        ("10", "10"),
        ("0x10", "16"),
        ("0X1f", "31"),
        ("0o17", "15"),
        ("0b101", "5"),
        ("010", "8"),
        ("0", "0"),
        ("1_000", "1000"),
        ("0x_ff", "255"),
        ("-5", "-5"),
        ("+5", "5"),
        ("-9223372036854775808", "-9223372036854775808"),
    ] {
        assert_eq!(
            val(&[&format!("-numworkers={v}")], "numworkers").as_deref(),
            Some(want),
            "{v}"
        );
    }
    for bad in ["08", "0x", "1_", "_1", "1__0", "1.5", "", "ten", "0b2"] {
        assert_eq!(
            p(&[&format!("-numworkers={bad}")]).unwrap_err().to_string(),
            format!("invalid value {bad:?} for flag -numworkers: parse error"),
        );
    }
    assert_eq!(
        p(&["-seed=9223372036854775808"]).unwrap_err().to_string(),
        "invalid value \"9223372036854775808\" for flag -seed: value out of range"
    );
}

#[test]
fn unsigned_flags_refuse_signs() {
    assert_eq!(val(&["-epochs=0x10"], "epochs").as_deref(), Some("16"));
    assert_eq!(
        val(&["-epochs=18446744073709551615"], "epochs").as_deref(),
        Some("18446744073709551615")
    );
    for bad in ["-1", "+1"] {
        assert!(p(&[&format!("-epochs={bad}")]).is_err(), "{bad}");
    }
    assert_eq!(
        p(&["-epochs=18446744073709551616"])
            .unwrap_err()
            .to_string(),
        "invalid value \"18446744073709551616\" for flag -epochs: value out of range"
    );
}

#[test]
fn durations_in_go_syntax() {
    assert_eq!(
        val(&["-duration=90s"], "duration").as_deref(),
        Some("1m30s")
    );
    assert_eq!(val(&["-duration=0"], "duration").as_deref(), Some("0s"));
    assert_eq!(
        val(&["-duration=1h"], "duration").as_deref(),
        Some("1h0m0s")
    );
    assert_eq!(
        val(&["-timeout", "1.5ms"], "timeout").as_deref(),
        Some("1.5ms")
    );
    assert_eq!(
        p(&["-duration=10"]).unwrap_err().to_string(),
        "invalid value \"10\" for flag -duration: time: missing unit in duration \"10\""
    );
    assert_eq!(
        p(&["-duration=10x"]).unwrap_err().to_string(),
        "invalid value \"10x\" for flag -duration: time: unknown unit \"x\" in duration \"10x\""
    );
    // The standard duration flag reports any failure as a parse error.
    assert_eq!(
        p(&["-timeout=10"]).unwrap_err().to_string(),
        "invalid value \"10\" for flag -timeout: parse error"
    );
}

#[test]
fn last_repeat_wins() {
    let r = p(&["-numworkers=1", "-bucket=a", "--numworkers", "7"]).unwrap();
    assert_eq!(r.get("numworkers"), Some("7"));
    assert_eq!(r.set.len(), 2);
}

#[test]
fn errors_name_the_flag_as_go_does() {
    assert_eq!(
        p(&["-nosuch=1"]).unwrap_err().to_string(),
        "flag provided but not defined: -nosuch"
    );
    assert_eq!(
        p(&["-numworkers"]).unwrap_err().to_string(),
        "flag needs an argument: -numworkers"
    );
    for bad in ["---x", "-=x", "--=1"] {
        assert_eq!(
            p(&[bad]).unwrap_err().to_string(),
            format!("bad flag syntax: {bad}")
        );
    }
    for h in ["-h", "-help", "--help", "--h"] {
        assert_eq!(p(&[h]).unwrap_err(), GoFlagError::Help);
    }
}

#[test]
fn parsing_stops_at_the_first_non_flag_and_at_double_dash() {
    let r = p(&["-json", "usage", "-quiet"]).unwrap();
    assert_eq!(r.rest, ["usage", "-quiet"]);
    let r = p(&["-json", "--", "-quiet"]).unwrap();
    assert_eq!(r.rest, ["-quiet"]);
    assert_eq!(r.get("quiet"), None);
    // A lone dash is an argument, not a flag.
    let r = p(&["-", "-json"]).unwrap();
    assert_eq!(r.rest, ["-", "-json"]);
    assert_eq!(p(&[]).unwrap(), Parsed::default());
}

#[test]
fn a_flag_name_with_spaces_is_one_argument() {
    let r = p(&["-test-probe StatsD server prior to benchmarks=true"]).unwrap();
    assert_eq!(
        r.get("test-probe StatsD server prior to benchmarks"),
        Some("true")
    );
    assert!(matches!(
        p(&["-test-probe"]),
        Err(GoFlagError::Undefined(_))
    ));
}
