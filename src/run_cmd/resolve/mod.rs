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
mod tests;
