//! End to end: which system `ringload run` loads. `AIS_ENDPOINT`, `S3_ENDPOINT`/`--s3endpoint`
//! and `RINGLOAD_ENDPOINT` each imply their protocol and are loaded (never the built-in target in
//! their place); a protocol that contradicts the only target setting, or several variables with
//! nothing to choose between them, exit 2 naming both; a spec's endpoint beats the environment
//! and a typed flag beats the spec; and only when nothing names a target is the built-in one
//! loaded, which the plan line, the closing note and the result file's `target` say.

use crate::common;

use std::path::Path;

use common::cluster::Cluster;
use common::*;

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// A small PUT-only run (20 objects of 1 KiB) writing the result to `res`.
fn fill(bucket: &str, res: &Path) -> Run {
    Run::new()
        .bucket(bucket)
        .pctput(100)
        .maxputs(20)
        .size("1K")
        .workers(2)
        .result(res)
}

fn target_of(res: &Path) -> serde_json::Value {
    result(res)["target"].clone()
}

#[test]
fn ais_endpoint_alone_loads_that_cluster() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "1"]);
    let s = Scratch::new("tr-ais");
    let mut puts = 0;
    for driver in DRIVERS {
        let res = s.path().join(format!("{driver}.json"));
        let bucket = format!("ais://env-{driver}");
        let run = fill(&bucket, &res)
            .driver(driver)
            .env("AIS_ENDPOINT", &c.proxies[0])
            .run();
        run.ok();
        run.check(
            !run.stderr().contains("built-in"),
            "AIS_ENDPOINT names a target: the built-in one is not loaded",
        );
        run.check(
            run.stderr()
                .contains(&format!("against {} from AIS_ENDPOINT", c.proxies[0])),
            "the plan line names the endpoint and where it came from",
        );
        let t = target_of(&res);
        assert_eq!(t["builtin"], false, "{t}");
        assert_eq!(t["endpoint"], c.proxies[0].as_str(), "{t}");
        assert_eq!(t["protocol"], "ais", "{t}");
        assert_eq!(t["source"], "env:AIS_ENDPOINT", "{t}");
        assert_eq!(result(&res)["workload"]["protocol"], "ais");
        puts += 20;
        // The cluster itself saw every PUT.
        assert_eq!(Cluster::sum(&c.targets, "put"), puts, "driver {driver}");
    }
}

#[test]
fn s3endpoint_alone_with_a_dead_port_is_unreachable() {
    let s = Scratch::new("tr-s3dead");
    let res = s.path().join("r.json");
    let url = dead_url();
    let run = Run::new()
        .arg("--s3endpoint", &url)
        .bucket("b")
        .duration("2s")
        .result(&res)
        .env("AWS_ACCESS_KEY_ID", "ak")
        .env("AWS_SECRET_ACCESS_KEY", "sk")
        .run();
    run.check(run.code() == 1, "a dead --s3endpoint fails the run");
    run.check(
        run.stderr().contains("cannot connect to") && run.stderr().contains(&url),
        "the message names the endpoint",
    );
    run.check(!run.stderr().contains("built-in"), "no fallback");
    let v = result(&res);
    assert_eq!(v["status"], "failed", "{v}");
    assert_eq!(v["stop_reason"], "unreachable", "{v}");
    assert_eq!(v["target"]["protocol"], "s3", "{v}");
    assert_eq!(v["target"]["source"], "flag", "{v}");
    assert_eq!(v["target"]["endpoint"], url.as_str(), "{v}");
    // The same through S3_ENDPOINT, without a protocol.
    let run = Run::new()
        .bucket("b")
        .duration("2s")
        .env("S3_ENDPOINT", &url)
        .env("AWS_ACCESS_KEY_ID", "ak")
        .env("AWS_SECRET_ACCESS_KEY", "sk")
        .run();
    run.check(run.code() == 1, "a dead S3_ENDPOINT fails the run");
    run.check(
        run.stderr().contains("env:S3_ENDPOINT"),
        "the message says where the endpoint came from",
    );
}

#[test]
fn ringload_endpoint_implies_http() {
    let ng = Nginx::start();
    let s = Scratch::new("tr-http");
    let res = s.path().join("r.json");
    let run = fill("envhttp", &res)
        .env("RINGLOAD_ENDPOINT", &ng.url())
        .run();
    run.ok();
    let t = target_of(&res);
    assert_eq!(t["protocol"], "http", "{t}");
    assert_eq!(t["source"], "env:RINGLOAD_ENDPOINT", "{t}");
    assert_eq!(t["endpoint"], ng.url().as_str(), "{t}");
    let puts = ng
        .requests()
        .iter()
        .filter(|(m, p, st)| m == "PUT" && p.starts_with("/envhttp/") && *st < 300)
        .count();
    assert_eq!(puts, 20, "nginx stored every PUT");
}

#[test]
fn contradictions_and_ambiguity_exit_2_naming_both() {
    let url = dead_url();
    let quick = Run::new().duration("1s");
    let run = quick
        .clone()
        .protocol("http")
        .env("AIS_ENDPOINT", &url)
        .run();
    run.check(run.code() == 2, "--protocol http with only AIS_ENDPOINT");
    run.check(
        run.stderr().contains("--protocol http")
            && run.stderr().contains("AIS_ENDPOINT")
            && run.stderr().contains("--protocol ais"),
        "names both and the fix",
    );
    let run = quick
        .clone()
        .protocol("ais")
        .arg("--s3endpoint", &url)
        .run();
    run.check(run.code() == 2, "--protocol ais with --s3endpoint");
    run.check(
        run.stderr().contains("--protocol ais") && run.stderr().contains("--s3endpoint"),
        "names both",
    );
    let run = quick
        .clone()
        .env("AIS_ENDPOINT", &url)
        .env("S3_ENDPOINT", &url)
        .run();
    run.check(run.code() == 2, "two variables, no protocol");
    run.check(
        run.stderr().contains("AIS_ENDPOINT")
            && run.stderr().contains("S3_ENDPOINT")
            && run.stderr().contains("--protocol"),
        "names both and the fix",
    );
    // An empty variable counts as unset: this one loads the built-in target.
    let run = quick
        .size("1K")
        .arg("--prefill", "10")
        .env("AIS_ENDPOINT", "")
        .env("S3_ENDPOINT", "")
        .run();
    run.ok();
}

#[test]
fn nothing_named_loads_the_builtin_target_and_says_so() {
    let s = Scratch::new("tr-builtin");
    let res = s.path().join("r.json");
    let run = Run::new()
        .duration("1s")
        .size("1K")
        .workers(2)
        .arg("--prefill", "20")
        .result(&res)
        .run();
    run.ok();
    let err = run.stderr();
    let plan = err
        .lines()
        .find(|l| l.starts_with("ringload: "))
        .unwrap_or("");
    run.check(
        plan.contains("against the built-in target at http://127.0.0.1:"),
        "the plan line says built-in",
    );
    run.check(
        err.contains("this run loaded the built-in target"),
        "the end of the run says so again",
    );
    let t = target_of(&res);
    assert_eq!(t["builtin"], true, "{t}");
    assert_eq!(t["source"], "builtin", "{t}");
    assert_eq!(t["protocol"], "http", "{t}");
    assert!(
        t["endpoint"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{t}"
    );
}

#[test]
fn spec_endpoint_beats_env_and_a_flag_beats_the_spec() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "1"]);
    let s = Scratch::new("tr-spec");
    let results = s.path().join("results");
    let spec = |id: &str, endpoint: &str| {
        let p = s.path().join(format!("{id}.toml"));
        std::fs::write(
            &p,
            format!(
                "[run]\nid = {id:?}\nresults_dir = {results:?}\n\n[target]\nprotocol = \"ais\"\n\
                 endpoint = {endpoint:?}\nbucket = \"ais://spec\"\n\n[workload]\npctput = 100\n\
                 maxputs = 10\nminsize = \"1KiB\"\nmaxsize = \"1KiB\"\nnumworkers = 2\n"
            ),
        )
        .unwrap();
        p.to_str().unwrap().to_string()
    };
    let dead = dead_url();
    // The spec names the live proxy; AIS_ENDPOINT a dead port.
    let f = spec("beats-env", &c.proxies[0]);
    let run = Run::new().spec(&f).env("AIS_ENDPOINT", &dead).run();
    run.ok();
    run.check(
        run.stderr().contains("AIS_ENDPOINT") && run.stderr().contains("is not used"),
        "the overridden variable is named",
    );
    let t = target_of(&results.join("beats-env/rank-0.json"));
    assert_eq!(t["source"], "spec", "{t}");
    assert_eq!(t["endpoint"], c.proxies[0].as_str(), "{t}");
    // The spec names a dead port; --endpoint on the command line the live proxy.
    let f = spec("flag-wins", &dead);
    let run = Run::new().spec(&f).endpoint(&c.proxies[0]).run();
    run.ok();
    let t = target_of(&results.join("flag-wins/rank-0.json"));
    assert_eq!(t["source"], "flag", "{t}");
    assert_eq!(t["endpoint"], c.proxies[0].as_str(), "{t}");
    assert_eq!(
        Cluster::sum(&c.targets, "put"),
        20,
        "both runs loaded the cluster"
    );
}
