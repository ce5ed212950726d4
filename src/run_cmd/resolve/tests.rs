//! Tests for target resolution.

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
