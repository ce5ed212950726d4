//! Which system `ringload run` loads, and why: the endpoint and the protocol, resolved from
//! `--endpoint`/`--s3endpoint` (typed by hand or taken from a spec), `--protocol` and the
//! environment (`RINGLOAD_ENDPOINT`, `AIS_ENDPOINT`, `S3_ENDPOINT`).
//!
//! One rule runs through it: a number must be about the system the user meant. So every target
//! setting is either used or refused (exit 2) naming it and the fix, and the built-in loopback
//! target is loaded only when nothing at all names a target. The result says where the target
//! came from ([`Source`]), recorded as the result file's `target` key.
//!
//! Precedence, highest first: settings typed on the command line, then the spec's, then the
//! environment. Within one level, `--endpoint` and `--s3endpoint` may not name two different
//! URLs. A setting that implies a protocol (`--s3endpoint`/`S3_ENDPOINT` → s3, `AIS_ENDPOINT` →
//! ais, `RINGLOAD_ENDPOINT` or `--endpoint` → http) chooses it when no protocol is given; an
//! explicit protocol that contradicts the only target setting is refused. The environment is
//! read through an injected lookup, so the whole table is unit-tested without touching the
//! process's environment.

use ringload_core::result::TargetInfo;
use ringload_engine::workload::Protocol;

use crate::cli::RunArgs;

/// The environment variables that name a target, with the protocol each implies.
/// `RINGLOAD_ENDPOINT` stands for `--endpoint`, so it suits any explicit protocol.
pub const ENV_VARS: [(&str, Protocol); 3] = [
    ("RINGLOAD_ENDPOINT", Protocol::Http),
    ("AIS_ENDPOINT", Protocol::Ais),
    ("S3_ENDPOINT", Protocol::S3),
];

/// Where the loaded target came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Typed on the command line (`--endpoint`, `--s3endpoint`, `--protocol`).
    Flag,
    /// The run spec (`--spec`).
    Spec,
    /// An environment variable, named.
    Env(&'static str),
    /// Nothing named a target: the built-in one on loopback.
    Builtin,
}

impl Source {
    /// The token written to the result file: `flag`, `spec`, `env:<VAR>` or `builtin`.
    pub fn token(self) -> String {
        match self {
            Source::Flag => "flag".into(),
            Source::Spec => "spec".into(),
            Source::Env(v) => format!("env:{v}"),
            Source::Builtin => "builtin".into(),
        }
    }
}

/// One endpoint setting as given, and where it came from (`Flag` or `Spec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting<'a> {
    pub url: &'a str,
    pub from: Source,
}

/// The target settings of one `ringload run`, before the environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Given<'a> {
    /// `--protocol` (typed or from the spec), with where it came from.
    pub protocol: Option<(Protocol, Source)>,
    pub endpoint: Option<Setting<'a>>,
    pub s3endpoint: Option<Setting<'a>>,
}

impl<'a> Given<'a> {
    /// The settings of `a`; a value listed in `a.from_spec` came from the spec.
    pub fn from_args(a: &'a RunArgs) -> Given<'a> {
        let from = |id: &str| {
            if a.from_spec.iter().any(|s| s == id) {
                Source::Spec
            } else {
                Source::Flag
            }
        };
        let setting = |v: &'a Option<String>, id: &str| {
            v.as_deref().map(|url| Setting {
                url,
                from: from(id),
            })
        };
        Given {
            protocol: a.protocol.map(|p| (p, from("protocol"))),
            endpoint: setting(&a.endpoint, "endpoint"),
            s3endpoint: setting(&a.s3endpoint, "s3endpoint"),
        }
    }
}

/// The system to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub protocol: Protocol,
    /// The URL to load; `None` means the built-in target (its URL is known once it runs).
    pub endpoint: Option<String>,
    pub source: Source,
    /// The setting that named it, for messages: `--endpoint`, `the spec's s3endpoint`,
    /// `AIS_ENDPOINT`, ... (empty for the built-in target).
    pub named_by: String,
    /// Target settings that were set but not used, one line each (for `note:` lines).
    pub notes: Vec<String>,
}

impl Resolved {
    pub fn builtin(&self) -> bool {
        self.source == Source::Builtin
    }

    /// The result file's `target` record, with the URL actually loaded.
    pub fn info(&self, url: &str) -> TargetInfo {
        TargetInfo {
            builtin: self.builtin(),
            endpoint: url.to_string(),
            protocol: self.protocol.as_str().to_string(),
            source: self.source.token(),
        }
    }

    /// The message for an endpoint that refused the first connection, naming the setting to
    /// check.
    pub fn unreachable(&self, url: &str, err: &std::io::Error) -> String {
        let check = match self.source {
            Source::Builtin => "the built-in target".to_string(),
            s => format!("{} (from {})", self.named_by, s.token()),
        };
        format!(
            "cannot connect to {url}: {err}. Is the server running and listening there? Check \
             {check}"
        )
    }

    /// How the plan line names the target: its URL and the setting that named it.
    pub fn describe(&self, url: &str) -> String {
        match self.source {
            Source::Builtin => format!("the built-in target at {url}"),
            _ => format!("{url} from {}", self.named_by),
        }
    }
}

/// A set of target settings that does not name one system.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error(
        "{protocol} contradicts {setting}, which names an {implied} endpoint\n  hint: pass \
         --protocol {implied} to load it, or give the {given} endpoint with --endpoint URL"
    )]
    Contradiction {
        protocol: String,
        setting: String,
        implied: &'static str,
        given: &'static str,
    },
    #[error(
        "{a} and {b} name two different targets\n  hint: give one of them (the same URL in both \
         is fine)"
    )]
    TwoTargets { a: String, b: String },
    #[error("{vars} are set and nothing says which one to load\n  hint: {fix}")]
    AmbiguousEnv { vars: String, fix: String },
    #[error(
        "{protocol} matches none of the target settings {vars}\n  hint: give the {given} \
         endpoint with --endpoint URL, or pass the --protocol of the one meant"
    )]
    NoneFits {
        protocol: String,
        vars: String,
        given: &'static str,
    },
}

fn describe_protocol(p: Protocol, from: Source) -> String {
    match from {
        Source::Spec => format!("the spec's protocol = \"{}\"", p.as_str()),
        _ => format!("--protocol {}", p.as_str()),
    }
}

fn describe_setting(flag: &str, s: Setting) -> String {
    match s.from {
        Source::Spec => format!("the spec's {flag} {}", s.url),
        _ => format!("--{flag} {}", s.url),
    }
}

/// Resolves the target of `g`, reading the environment through `env` (an empty value counts
/// as unset).
pub fn resolve(g: &Given, env: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, ResolveError> {
    let set: Vec<(&'static str, Protocol, String)> = ENV_VARS
        .iter()
        .filter_map(|&(name, p)| env(name).filter(|v| !v.is_empty()).map(|v| (name, p, v)))
        .collect();
    let explicit = g.protocol.map(|(p, _)| p);
    for level in [Source::Flag, Source::Spec] {
        let ep = g.endpoint.filter(|s| s.from == level);
        let s3 = g.s3endpoint.filter(|s| s.from == level);
        let (protocol, used, flag) = match (ep, s3) {
            (None, None) => continue,
            (Some(e), Some(s)) if e.url != s.url => {
                return Err(ResolveError::TwoTargets {
                    a: describe_setting("endpoint", e),
                    b: describe_setting("s3endpoint", s),
                })
            }
            (_, Some(s)) => match g.protocol {
                Some((p, from)) if p != Protocol::S3 => {
                    return Err(contradiction(
                        p,
                        from,
                        describe_setting("s3endpoint", s),
                        Protocol::S3,
                    ))
                }
                _ => (Protocol::S3, s, "s3endpoint"),
            },
            (Some(e), None) => (explicit.unwrap_or(Protocol::Http), e, "endpoint"),
        };
        // An environment variable for the same protocol that says otherwise is overridden,
        // and said so.
        let notes = set
            .iter()
            .filter(|(_, p, v)| *p == protocol && v != used.url)
            .map(|(name, _, v)| {
                format!(
                    "{name}={v} is not used: {} comes first",
                    describe_setting(flag, used)
                )
            })
            .collect();
        return Ok(Resolved {
            protocol,
            endpoint: Some(used.url.to_string()),
            source: level,
            named_by: match level {
                Source::Spec => format!("the spec's {flag}"),
                _ => format!("--{flag}"),
            },
            notes,
        });
    }
    let listed = |v: &[&(&str, Protocol, String)]| {
        v.iter()
            .map(|(n, _, u)| format!("{n}={u}"))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    match g.protocol {
        Some((p, from)) => {
            let fits: Vec<_> = set
                .iter()
                .filter(|(n, q, _)| *q == p || *n == "RINGLOAD_ENDPOINT")
                .collect();
            let others: Vec<_> = set
                .iter()
                .filter(|(n, q, _)| *q != p && *n != "RINGLOAD_ENDPOINT")
                .collect();
            let pick = match fits.as_slice() {
                [] => None,
                [one] => Some(*one),
                // The protocol's own variable and RINGLOAD_ENDPOINT agree.
                [a, b] if a.2 == b.2 => Some(if a.1 == p { *a } else { *b }),
                more => {
                    return Err(ResolveError::AmbiguousEnv {
                        vars: listed(more),
                        fix: "pass --endpoint URL, or unset the one not meant".into(),
                    })
                }
            };
            match (pick, others.as_slice()) {
                (Some((name, _, url)), _) => Ok(Resolved {
                    protocol: p,
                    endpoint: Some(url.clone()),
                    source: Source::Env(name),
                    named_by: name.to_string(),
                    notes: others
                        .iter()
                        .map(|(n, q, _)| {
                            format!(
                                "{n} is not used: it names an {} endpoint and the protocol is {}",
                                q.as_str(),
                                p.as_str()
                            )
                        })
                        .collect(),
                }),
                (None, []) => Ok(builtin(p)),
                (None, [(n, q, u)]) => Err(contradiction(p, from, format!("{n}={u}"), *q)),
                (None, more) => Err(ResolveError::NoneFits {
                    protocol: describe_protocol(p, from),
                    vars: listed(more),
                    given: p.as_str(),
                }),
            }
        }
        None => match set.as_slice() {
            [] => Ok(builtin(Protocol::Http)),
            [(name, p, url)] => Ok(Resolved {
                protocol: *p,
                endpoint: Some(url.clone()),
                source: Source::Env(name),
                named_by: name.to_string(),
                notes: Vec::new(),
            }),
            more => {
                let refs: Vec<_> = more.iter().collect();
                let fix = more
                    .iter()
                    .map(|(_, p, _)| format!("--protocol {}", p.as_str()))
                    .collect::<Vec<_>>()
                    .join(" or ");
                let fix = format!(
                    "pass {fix} to pick one, or --endpoint URL, or unset the ones not meant"
                );
                Err(ResolveError::AmbiguousEnv {
                    vars: listed(&refs),
                    fix,
                })
            }
        },
    }
}

fn builtin(p: Protocol) -> Resolved {
    Resolved {
        protocol: p,
        endpoint: None,
        source: Source::Builtin,
        named_by: String::new(),
        notes: Vec::new(),
    }
}

fn contradiction(p: Protocol, from: Source, setting: String, implied: Protocol) -> ResolveError {
    ResolveError::Contradiction {
        protocol: describe_protocol(p, from),
        setting,
        implied: implied.as_str(),
        given: p.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "http://127.0.0.1:1001";
    const B: &str = "http://127.0.0.1:1002";

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn flag(url: &str) -> Option<Setting<'_>> {
        Some(Setting {
            url,
            from: Source::Flag,
        })
    }

    fn spec(url: &str) -> Option<Setting<'_>> {
        Some(Setting {
            url,
            from: Source::Spec,
        })
    }

    fn proto(p: Protocol) -> Option<(Protocol, Source)> {
        Some((p, Source::Flag))
    }

    fn ok(g: Given, vars: &[(&str, &str)]) -> (Protocol, Option<String>, String) {
        let r = resolve(&g, &env_of(vars)).unwrap_or_else(|e| panic!("{g:?} {vars:?}: {e}"));
        (r.protocol, r.endpoint, r.source.token())
    }

    fn err(g: Given, vars: &[(&str, &str)]) -> String {
        match resolve(&g, &env_of(vars)) {
            Ok(r) => panic!("{g:?} {vars:?} resolved to {r:?}, expected a refusal"),
            Err(e) => e.to_string(),
        }
    }

    fn some(u: &str) -> Option<String> {
        Some(u.to_string())
    }

    #[test]
    fn nothing_named_is_the_only_way_to_the_builtin_target() {
        let r = resolve(&Given::default(), &env_of(&[])).unwrap();
        assert!(r.builtin());
        assert_eq!(
            (r.protocol, r.endpoint, r.source),
            (Protocol::Http, None, Source::Builtin)
        );
        // An empty variable counts as unset.
        let empty = [
            ("AIS_ENDPOINT", ""),
            ("S3_ENDPOINT", ""),
            ("RINGLOAD_ENDPOINT", ""),
        ];
        assert_eq!(
            ok(Given::default(), &empty),
            (Protocol::Http, None, "builtin".into())
        );
        for p in [Protocol::Ais, Protocol::S3, Protocol::Http] {
            let g = Given {
                protocol: proto(p),
                ..Given::default()
            };
            assert_eq!(ok(g, &[]), (p, None, "builtin".into()));
        }
    }

    #[test]
    fn each_variable_implies_its_protocol() {
        for (var, p) in ENV_VARS {
            assert_eq!(
                ok(Given::default(), &[(var, A)]),
                (p, some(A), format!("env:{var}")),
                "{var}"
            );
        }
    }

    #[test]
    fn flags_imply_their_protocol() {
        let g = Given {
            s3endpoint: flag(A),
            ..Given::default()
        };
        assert_eq!(ok(g, &[]), (Protocol::S3, some(A), "flag".into()));
        assert_eq!(resolve(&g, &env_of(&[])).unwrap().named_by, "--s3endpoint");
        let g = Given {
            endpoint: flag(A),
            ..Given::default()
        };
        assert_eq!(ok(g, &[]), (Protocol::Http, some(A), "flag".into()));
        assert_eq!(resolve(&g, &env_of(&[])).unwrap().named_by, "--endpoint");
        // --endpoint with an explicit protocol loads that protocol.
        for p in [Protocol::Ais, Protocol::S3] {
            let g = Given {
                protocol: proto(p),
                endpoint: flag(A),
                ..Given::default()
            };
            assert_eq!(ok(g, &[]), (p, some(A), "flag".into()));
        }
        // The same URL in --endpoint and --s3endpoint is one target.
        let g = Given {
            endpoint: flag(A),
            s3endpoint: flag(A),
            ..Given::default()
        };
        assert_eq!(ok(g, &[]), (Protocol::S3, some(A), "flag".into()));
    }

    #[test]
    fn flag_beats_spec_beats_env() {
        let env = [("AIS_ENDPOINT", B)];
        let ais = proto(Protocol::Ais);
        let g = Given {
            protocol: ais,
            endpoint: spec(A),
            ..Given::default()
        };
        assert_eq!(ok(g, &env), (Protocol::Ais, some(A), "spec".into()));
        let r = resolve(&g, &env_of(&env)).unwrap();
        assert_eq!(r.named_by, "the spec's endpoint");
        assert_eq!(r.describe(A), format!("{A} from the spec's endpoint"));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let msg = r.unreachable(A, &refused);
        assert!(
            msg.contains(A) && msg.contains("Check the spec's endpoint (from spec)"),
            "{msg}"
        );
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("AIS_ENDPOINT") && n.contains(B)),
            "the overridden variable is named: {:?}",
            r.notes
        );
        let g = Given {
            protocol: ais,
            endpoint: flag(A),
            ..Given::default()
        };
        assert_eq!(ok(g, &env), (Protocol::Ais, some(A), "flag".into()));
        // A spec endpoint and a typed --s3endpoint: the typed one wins.
        let g = Given {
            protocol: Some((Protocol::S3, Source::Spec)),
            endpoint: spec(B),
            s3endpoint: flag(A),
        };
        assert_eq!(ok(g, &[]), (Protocol::S3, some(A), "flag".into()));
        // --endpoint beats an S3_ENDPOINT left in the shell.
        let g = Given {
            protocol: proto(Protocol::S3),
            endpoint: flag(A),
            ..Given::default()
        };
        assert_eq!(
            ok(g, &[("S3_ENDPOINT", B)]),
            (Protocol::S3, some(A), "flag".into())
        );
        // No protocol and --endpoint: http, as before; the environment is not consulted.
        let g = Given {
            endpoint: flag(A),
            ..Given::default()
        };
        assert_eq!(
            ok(g, &[("AIS_ENDPOINT", B), ("S3_ENDPOINT", B)]),
            (Protocol::Http, some(A), "flag".into())
        );
    }

    #[test]
    fn an_explicit_protocol_picks_its_own_variable() {
        let all = [("AIS_ENDPOINT", A), ("S3_ENDPOINT", B)];
        let g = |p| Given {
            protocol: proto(p),
            ..Given::default()
        };
        assert_eq!(
            ok(g(Protocol::Ais), &all),
            (Protocol::Ais, some(A), "env:AIS_ENDPOINT".into())
        );
        assert_eq!(
            ok(g(Protocol::S3), &all),
            (Protocol::S3, some(B), "env:S3_ENDPOINT".into())
        );
        let r = resolve(&g(Protocol::S3), &env_of(&all)).unwrap();
        assert!(
            r.notes.iter().any(|n| n.contains("AIS_ENDPOINT")),
            "{:?}",
            r.notes
        );
        // RINGLOAD_ENDPOINT stands for --endpoint: it suits any protocol.
        assert_eq!(
            ok(g(Protocol::Ais), &[("RINGLOAD_ENDPOINT", A)]),
            (Protocol::Ais, some(A), "env:RINGLOAD_ENDPOINT".into())
        );
        assert_eq!(
            ok(
                g(Protocol::Http),
                &[("RINGLOAD_ENDPOINT", A), ("AIS_ENDPOINT", B)]
            ),
            (Protocol::Http, some(A), "env:RINGLOAD_ENDPOINT".into())
        );
        // The protocol's own variable and RINGLOAD_ENDPOINT agreeing is one target.
        assert_eq!(
            ok(
                g(Protocol::Ais),
                &[("RINGLOAD_ENDPOINT", A), ("AIS_ENDPOINT", A)]
            ),
            (Protocol::Ais, some(A), "env:AIS_ENDPOINT".into())
        );
    }

    #[test]
    fn contradictions_name_both_and_the_fix() {
        let e = err(
            Given {
                protocol: proto(Protocol::Http),
                ..Given::default()
            },
            &[("AIS_ENDPOINT", A)],
        );
        assert!(
            e.contains("--protocol http") && e.contains("AIS_ENDPOINT"),
            "{e}"
        );
        assert!(
            e.contains("--protocol ais") && e.contains("--endpoint URL"),
            "{e}"
        );
        let e = err(
            Given {
                protocol: proto(Protocol::Ais),
                s3endpoint: flag(A),
                ..Given::default()
            },
            &[],
        );
        assert!(
            e.contains("--protocol ais") && e.contains("--s3endpoint"),
            "{e}"
        );
        assert!(e.contains("--protocol s3"), "{e}");
        let e = err(
            Given {
                protocol: Some((Protocol::Http, Source::Spec)),
                ..Given::default()
            },
            &[("S3_ENDPOINT", A)],
        );
        assert!(
            e.contains("the spec's protocol") && e.contains("S3_ENDPOINT"),
            "{e}"
        );
        let e = err(
            Given {
                protocol: proto(Protocol::S3),
                ..Given::default()
            },
            &[("AIS_ENDPOINT", A)],
        );
        assert!(
            e.contains("--protocol s3") && e.contains("AIS_ENDPOINT"),
            "{e}"
        );
        // Only variables for other protocols, several of them: still refused.
        let e = err(
            Given {
                protocol: proto(Protocol::Http),
                ..Given::default()
            },
            &[("AIS_ENDPOINT", A), ("S3_ENDPOINT", B)],
        );
        assert!(
            e.contains("AIS_ENDPOINT") && e.contains("S3_ENDPOINT"),
            "{e}"
        );
    }

    #[test]
    fn several_variables_without_a_protocol_are_ambiguous() {
        for vars in [
            vec![("AIS_ENDPOINT", A), ("S3_ENDPOINT", B)],
            vec![("AIS_ENDPOINT", A), ("S3_ENDPOINT", A)],
            vec![("RINGLOAD_ENDPOINT", A), ("AIS_ENDPOINT", A)],
        ] {
            let e = err(Given::default(), &vars);
            for (n, _) in &vars {
                assert!(e.contains(n), "{e} names {n}");
            }
            assert!(e.contains("--protocol") && e.contains("--endpoint"), "{e}");
        }
        // Two variables for the same explicit protocol that disagree.
        let e = err(
            Given {
                protocol: proto(Protocol::Ais),
                ..Given::default()
            },
            &[("RINGLOAD_ENDPOINT", A), ("AIS_ENDPOINT", B)],
        );
        assert!(
            e.contains("RINGLOAD_ENDPOINT") && e.contains("AIS_ENDPOINT"),
            "{e}"
        );
    }

    #[test]
    fn two_urls_at_one_level_are_refused() {
        let e = err(
            Given {
                endpoint: flag(A),
                s3endpoint: flag(B),
                ..Given::default()
            },
            &[],
        );
        assert!(
            e.contains(A) && e.contains(B) && e.contains("--s3endpoint"),
            "{e}"
        );
    }

    #[test]
    fn from_args_knows_what_the_spec_gave() {
        use clap::Parser;
        let parse = |argv: &[&str]| match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Run(a) => *a,
            _ => unreachable!(),
        };
        let mut a = parse(&["ringload", "run", "--endpoint", A, "--protocol", "ais"]);
        let g = Given::from_args(&a);
        assert_eq!(g.endpoint, flag(A));
        assert_eq!(g.protocol, proto(Protocol::Ais));
        a.from_spec = vec!["endpoint".into(), "protocol".into()];
        let g = Given::from_args(&a);
        assert_eq!(g.endpoint, spec(A));
        assert_eq!(g.protocol, Some((Protocol::Ais, Source::Spec)));
        let a = parse(&["ringload", "run"]);
        assert_eq!(
            Given::from_args(&a).protocol,
            None,
            "no protocol is given by default"
        );
    }
}
