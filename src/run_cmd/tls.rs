//! A run's TLS settings: `--tls`, `--tls-ca`, `--tls-insecure`, `--tls-cert`, `--tls-key`,
//! else the AIS CLI's variables (`AIS_CLIENT_CA`, `AIS_SKIP_VERIFY_CRT`, `AIS_CRT`,
//! `AIS_CRT_KEY`), turned into the `ClientOptions` the run's TLS configuration is built from.
//!
//! One rule: every TLS setting typed for this run is used or refused (exit 2) naming it and
//! the fix. A flag with a plain `http://` endpoint, `--tls` with a named endpoint, a TLS flag
//! with the built-in target but no `--tls`, and `--tls-insecure` with `--tls-ca` are refused.
//! The AIS variables are the environment, not settings of this run: where they cannot apply
//! (a plain endpoint, `AIS_CLIENT_CA` with the built-in target, a boolean that is not one of
//! Go's `strconv.ParseBool` values) they get a `note:` line and are left out. A flag
//! overrides the variable of the same setting. A setting that came from the run spec is named
//! as the spec's key (`the spec's tls_ca (--tls-ca)`), so the user knows which file to fix;
//! the setting that chose whom to trust travels as `ClientOptions::source` to the plan line,
//! the summary and the result file.

use std::path::PathBuf;

use ringload_net::tls::{ClientOptions, SetupError};

use crate::cli::RunArgs;

/// The AIS CLI's variables, with the flag each stands for.
pub const ENV_VARS: [(&str, &str); 4] = [
    ("AIS_CLIENT_CA", "--tls-ca"),
    ("AIS_SKIP_VERIFY_CRT", "--tls-insecure"),
    ("AIS_CRT", "--tls-cert"),
    ("AIS_CRT_KEY", "--tls-key"),
];

/// What the run does about TLS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsPlan {
    /// Options for the endpoint's (or the built-in target's) TLS configuration; `None` for a
    /// plaintext run.
    pub opts: Option<ClientOptions>,
    /// `note:` lines about AIS variables left out.
    pub notes: Vec<String>,
    /// The settings that came from the AIS variables, as (flag, variable), so a setup error
    /// names the variable the user set.
    pub from_env: Vec<(&'static str, &'static str)>,
    /// The flags whose value came from the run spec.
    pub from_spec: Vec<&'static str>,
}

impl TlsPlan {
    /// Words a configuration error: the flag, the spec's key, or the variable that stood for
    /// it.
    pub fn setup_error(&self, e: &SetupError) -> String {
        let who = match self.from_env.iter().find(|(f, _)| *f == e.flag) {
            Some((flag, var)) => format!("{var} (for {flag})"),
            None if self.from_spec.contains(&e.flag) => spec_name(e.flag),
            None => e.flag.to_string(),
        };
        format!("{who}: {}", e.why)
    }
}

/// `--tls-ca` as the spec spells it: `the spec's tls_ca (--tls-ca)`.
fn spec_name(flag: &str) -> String {
    format!(
        "the spec's {} ({flag})",
        flag.trim_start_matches("--").replace('-', "_")
    )
}

/// The flags whose value came from the run spec (`RunArgs::from_spec` holds clap's ids).
fn spec_flags(a: &RunArgs) -> Vec<&'static str> {
    ENV_VARS
        .iter()
        .map(|&(_, flag)| flag)
        .filter(|flag| {
            let id = flag.trim_start_matches("--").replace('-', "_");
            a.from_spec.contains(&id)
        })
        .collect()
}

/// The values Go's `strconv.ParseBool` takes (the AIS CLI reads its boolean variables with
/// it); anything else is `None`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Decides the run's TLS from `a`, the resolved endpoint (`None`: the built-in target) and
/// the environment read through `env` (an empty value counts as unset).
pub fn plan(
    a: &RunArgs,
    endpoint: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TlsPlan, String> {
    let flags: Vec<&'static str> = [
        ("--tls-ca", a.tls_ca.is_some()),
        ("--tls-insecure", a.tls_insecure),
        ("--tls-cert", a.tls_cert.is_some()),
        ("--tls-key", a.tls_key.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, on)| on.then_some(f))
    .collect();
    let from_spec = spec_flags(a);
    let named = |flag: &'static str| {
        if from_spec.contains(&flag) {
            spec_name(flag)
        } else {
            flag.to_string()
        }
    };
    // The source a typed or spec setting is named by in the plan line and the summary:
    // `None` for a typed flag, the spec's key for a spec's value.
    let source = |flag: &'static str| {
        from_spec.contains(&flag).then(|| {
            format!(
                "the spec's {}",
                flag.trim_start_matches("--").replace('-', "_")
            )
        })
    };
    let vars: Vec<(&'static str, &'static str, String)> = ENV_VARS
        .iter()
        .filter_map(|&(var, flag)| env(var).filter(|v| !v.is_empty()).map(|v| (var, flag, v)))
        .collect();
    if a.tls_insecure && a.tls_ca.is_some() {
        let (insecure, ca) = (named("--tls-insecure"), named("--tls-ca"));
        return Err(format!(
            "{insecure} and {ca} contradict each other: {ca} says whom to trust, {insecure} \
             trusts anyone\n  hint: give one of them"
        ));
    }
    let https = match endpoint {
        Some(url) if a.tls => {
            return Err(format!(
                "--tls starts the built-in target over TLS; for your endpoint {url} use \
                 https:// in its URL instead\n  hint: leave --tls out"
            ))
        }
        Some(url) => url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://")),
        None => a.tls,
    };
    let mut plan = TlsPlan {
        from_spec: from_spec.clone(),
        ..TlsPlan::default()
    };
    if !https {
        if let Some(flag) = flags.first().map(|f| named(f)) {
            return Err(match endpoint {
                Some(url) => format!(
                    "{flag} is a TLS setting, but the endpoint {url} is plain http://\n  hint: \
                     use https:// in the endpoint URL, or leave {flag} out"
                ),
                None => format!(
                    "{flag} is a TLS setting, but no target is named, so the run loads the \
                     built-in target over plain HTTP\n  hint: add --tls (the built-in target \
                     over TLS), or name an https:// endpoint"
                ),
            });
        }
        let target = match endpoint {
            Some(url) => format!("the endpoint {url} is plain http://"),
            None => "the built-in target runs plain HTTP (add --tls for TLS)".into(),
        };
        plan.notes = vars
            .iter()
            .map(|(var, _, _)| format!("{var} is not used: {target}"))
            .collect();
        return Ok(plan);
    }
    if endpoint.is_none() && a.tls_ca.is_some() {
        let ca = named("--tls-ca");
        return Err(format!(
            "{ca}: the built-in target's throwaway certificate is trusted for this run \
             already, so a CA file cannot apply\n  hint: leave {ca} out"
        ));
    }
    let var = |name: &str| vars.iter().find(|(v, _, _)| *v == name).map(|(_, _, x)| x);
    let mut opts = ClientOptions::default();
    let mut take_path = |flag_val: &Option<PathBuf>, var_name: &'static str, flag: &'static str| {
        flag_val.clone().or_else(|| {
            var(var_name).map(|v| {
                plan.from_env.push((flag, var_name));
                PathBuf::from(v)
            })
        })
    };
    opts.ca_file = take_path(&a.tls_ca, "AIS_CLIENT_CA", "--tls-ca");
    opts.cert = take_path(&a.tls_cert, "AIS_CRT", "--tls-cert");
    opts.key = take_path(&a.tls_key, "AIS_CRT_KEY", "--tls-key");
    opts.insecure = a.tls_insecure;
    opts.source = if a.tls_insecure {
        source("--tls-insecure")
    } else if a.tls_ca.is_some() {
        source("--tls-ca")
    } else if opts.ca_file.is_some() {
        Some("AIS_CLIENT_CA".into())
    } else {
        None
    };
    let env_insecure = var("AIS_SKIP_VERIFY_CRT").and_then(|v| {
        let b = parse_bool(v);
        if b.is_none() {
            plan.notes.push(format!(
                "AIS_SKIP_VERIFY_CRT={v:?} is not used: it is not a boolean (1, t, T, TRUE, \
                 true, True, 0, f, F, FALSE, false, False), so verification stays on"
            ));
        }
        b
    });
    if !a.tls_insecure && env_insecure == Some(true) {
        if a.tls_ca.is_some() {
            plan.notes.push(format!(
                "AIS_SKIP_VERIFY_CRT is not used: {} comes first (verification stays on)",
                named("--tls-ca")
            ));
        } else {
            opts.insecure = true;
            opts.source = Some("AIS_SKIP_VERIFY_CRT".into());
            plan.from_env
                .push(("--tls-insecure", "AIS_SKIP_VERIFY_CRT"));
        }
    }
    if opts.insecure && opts.ca_file.is_some() {
        // Only the AIS variables can get here (the flags' contradiction is refused above):
        // as the AIS CLI does, skipping verification wins over the CA.
        opts.ca_file = None;
        plan.from_env.retain(|(f, _)| *f != "--tls-ca");
        let by = opts
            .source
            .clone()
            .unwrap_or_else(|| "--tls-insecure".into());
        plan.notes.push(format!(
            "AIS_CLIENT_CA is not used: verification is off ({by})"
        ));
    }
    if endpoint.is_none() && opts.ca_file.is_some() {
        // Only AIS_CLIENT_CA can get here (a typed or spec CA is refused above).
        opts.ca_file = None;
        if !opts.insecure {
            opts.source = None;
        }
        plan.from_env.retain(|(f, _)| *f != "--tls-ca");
        plan.notes.push(
            "AIS_CLIENT_CA is not used: the built-in target's throwaway certificate is \
             trusted for this run"
                .into(),
        );
    }
    plan.opts = Some(opts);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["ringload", "run"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Run(a) => *a,
            _ => unreachable!("run parses as run"),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn an_https_endpoint_verifies_by_default_and_takes_the_flags() {
        let p = plan(&args(&[]), Some("https://h:8443"), &no_env).unwrap();
        assert_eq!(p.opts, Some(ClientOptions::default()));
        let a = args(&["--tls-ca", "/ca.pem", "--tls-cert", "/c", "--tls-key", "/k"]);
        let o = plan(&a, Some("HTTPS://h"), &no_env).unwrap().opts.unwrap();
        assert_eq!(o.ca_file, Some(PathBuf::from("/ca.pem")));
        assert_eq!(
            (o.cert.is_some(), o.key.is_some(), o.insecure),
            (true, true, false)
        );
        let o = plan(&args(&["--tls-insecure"]), Some("https://h"), &no_env)
            .unwrap()
            .opts
            .unwrap();
        assert!(o.insecure);
        // Plaintext runs have no TLS.
        assert_eq!(
            plan(&args(&[]), Some("http://h"), &no_env).unwrap().opts,
            None
        );
        assert_eq!(plan(&args(&[]), None, &no_env).unwrap().opts, None);
    }

    #[test]
    fn refusals_name_the_flag_and_the_fix() {
        let e = plan(&args(&["--tls-ca", "/x"]), Some("http://h:80"), &no_env).unwrap_err();
        assert!(
            e.starts_with(
                "--tls-ca is a TLS setting, but the endpoint http://h:80 is plain http://"
            ),
            "{e}"
        );
        assert!(e.contains("use https://"), "{e}");
        let e = plan(&args(&["--tls-insecure"]), None, &no_env).unwrap_err();
        assert!(
            e.contains("--tls-insecure") && e.contains("add --tls"),
            "{e}"
        );
        let e = plan(&args(&["--tls"]), Some("https://h"), &no_env).unwrap_err();
        assert!(
            e.starts_with("--tls starts the built-in target over TLS"),
            "{e}"
        );
        let both = args(&["--tls-ca", "/x", "--tls-insecure"]);
        let e = plan(&both, Some("https://h"), &no_env).unwrap_err();
        assert!(e.contains("contradict"), "{e}");
        let e = plan(&args(&["--tls", "--tls-ca", "/x"]), None, &no_env).unwrap_err();
        assert!(
            e.starts_with("--tls-ca: the built-in target's throwaway"),
            "{e}"
        );
        // --tls alone, and with insecure or a client certificate, starts the built-in target.
        let o = plan(&args(&["--tls", "--tls-insecure"]), None, &no_env)
            .unwrap()
            .opts
            .unwrap();
        assert!(o.insecure);
    }

    #[test]
    fn the_ais_variables_fill_in_and_are_noted_where_they_cannot_apply() {
        let env = |k: &str| match k {
            "AIS_CLIENT_CA" => Some("/env-ca.pem".to_string()),
            "AIS_CRT" => Some("/env-c".to_string()),
            "AIS_CRT_KEY" => Some("/env-k".to_string()),
            "AIS_SKIP_VERIFY_CRT" => Some(String::new()),
            _ => None,
        };
        let p = plan(&args(&[]), Some("https://h"), &env).unwrap();
        let o = p.opts.clone().unwrap();
        assert_eq!(o.ca_file, Some(PathBuf::from("/env-ca.pem")));
        assert_eq!(o.cert, Some(PathBuf::from("/env-c")));
        let e = SetupError {
            flag: "--tls-ca",
            why: "cannot read /env-ca.pem".into(),
        };
        assert_eq!(
            p.setup_error(&e),
            "AIS_CLIENT_CA (for --tls-ca): cannot read /env-ca.pem"
        );
        // A flag comes first.
        let o = plan(&args(&["--tls-ca", "/flag.pem"]), Some("https://h"), &env)
            .unwrap()
            .opts
            .unwrap();
        assert_eq!(o.ca_file, Some(PathBuf::from("/flag.pem")));
        // With an http endpoint: notes, no error.
        let p = plan(&args(&[]), Some("http://h"), &env).unwrap();
        assert_eq!(p.opts, None);
        assert_eq!(
            p.notes,
            vec![
                "AIS_CLIENT_CA is not used: the endpoint http://h is plain http://",
                "AIS_CRT is not used: the endpoint http://h is plain http://",
                "AIS_CRT_KEY is not used: the endpoint http://h is plain http://",
            ]
        );
        // AIS_SKIP_VERIFY_CRT=T turns verification off, and then the CA is left out.
        let skip = |k: &str| match k {
            "AIS_SKIP_VERIFY_CRT" => Some("T".to_string()),
            "AIS_CLIENT_CA" => Some("/env-ca.pem".to_string()),
            _ => None,
        };
        let p = plan(&args(&[]), Some("https://h"), &skip).unwrap();
        let o = p.opts.unwrap();
        assert!(o.insecure && o.ca_file.is_none());
        assert_eq!(o.source.as_deref(), Some("AIS_SKIP_VERIFY_CRT"));
        assert_eq!(
            p.notes,
            vec!["AIS_CLIENT_CA is not used: verification is off (AIS_SKIP_VERIFY_CRT)"]
        );
        // ... unless --tls-ca is typed.
        let p = plan(&args(&["--tls-ca", "/f"]), Some("https://h"), &skip).unwrap();
        let o = p.opts.unwrap();
        assert!(!o.insecure);
        assert_eq!(o.source, None, "a typed flag is the default source");
    }

    #[test]
    fn boolean_variables_take_go_s_parse_bool_set_and_note_anything_else() {
        for v in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(v), Some(true), "{v}");
        }
        for v in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(v), Some(false), "{v}");
        }
        for v in ["yes", "Yes", "on", "tRUE", " 1", "2"] {
            assert_eq!(parse_bool(v), None, "{v}");
        }
        let yes = |k: &str| (k == "AIS_SKIP_VERIFY_CRT").then(|| "yes".to_string());
        let p = plan(&args(&[]), Some("https://h"), &yes).unwrap();
        assert!(!p.opts.unwrap().insecure, "verification stays on");
        assert_eq!(
            p.notes,
            vec![
                "AIS_SKIP_VERIFY_CRT=\"yes\" is not used: it is not a boolean (1, t, T, TRUE, \
                 true, True, 0, f, F, FALSE, false, False), so verification stays on"
            ]
        );
        let off = |k: &str| (k == "AIS_SKIP_VERIFY_CRT").then(|| "False".to_string());
        let p = plan(&args(&[]), Some("https://h"), &off).unwrap();
        assert!(!p.opts.unwrap().insecure && p.notes.is_empty());
    }

    #[test]
    fn ais_client_ca_with_the_built_in_target_is_noted_not_refused() {
        let ca = |k: &str| (k == "AIS_CLIENT_CA").then(|| "/env-ca.pem".to_string());
        let p = plan(&args(&["--tls"]), None, &ca).unwrap();
        let o = p.opts.unwrap();
        assert_eq!((o.ca_file, o.source), (None, None));
        assert!(p.from_env.is_empty());
        assert_eq!(
            p.notes,
            vec![
                "AIS_CLIENT_CA is not used: the built-in target's throwaway certificate is \
                 trusted for this run"
            ]
        );
        // A CA from an https endpoint's variable is named as the variable.
        let o = plan(&args(&[]), Some("https://h"), &ca)
            .unwrap()
            .opts
            .unwrap();
        assert_eq!(o.source.as_deref(), Some("AIS_CLIENT_CA"));
    }

    #[test]
    fn a_setting_from_the_spec_is_named_as_the_spec_key() {
        let mut a = args(&["--tls-ca", "/x"]);
        a.from_spec = vec!["tls_ca".into()];
        let e = plan(&a, Some("http://h"), &no_env).unwrap_err();
        assert!(
            e.starts_with("the spec's tls_ca (--tls-ca) is a TLS setting"),
            "{e}"
        );
        let p = plan(&a, Some("https://h"), &no_env).unwrap();
        let e = SetupError {
            flag: "--tls-ca",
            why: "cannot read /x".into(),
        };
        assert_eq!(
            p.setup_error(&e),
            "the spec's tls_ca (--tls-ca): cannot read /x"
        );
        assert_eq!(p.opts.unwrap().source.as_deref(), Some("the spec's tls_ca"));
        // The refusals name the spec's key too.
        let e = plan(&a, None, &no_env).unwrap_err();
        assert!(
            e.starts_with("the spec's tls_ca (--tls-ca) is a TLS setting"),
            "{e}"
        );
        let mut t = args(&["--tls", "--tls-ca", "/x"]);
        t.from_spec = vec!["tls_ca".into()];
        let e = plan(&t, None, &no_env).unwrap_err();
        assert!(
            e.starts_with("the spec's tls_ca (--tls-ca): the built-in target's throwaway"),
            "{e}"
        );
        let mut i = args(&["--tls-insecure", "--tls-ca", "/x"]);
        i.from_spec = vec!["tls_insecure".into()];
        let e = plan(&i, Some("https://h"), &no_env).unwrap_err();
        assert!(
            e.starts_with(
                "the spec's tls_insecure (--tls-insecure) and --tls-ca contradict each other"
            ),
            "{e}"
        );
        i.tls_ca = None;
        let o = plan(&i, Some("https://h"), &no_env).unwrap().opts.unwrap();
        assert_eq!(o.source.as_deref(), Some("the spec's tls_insecure"));
    }
}
