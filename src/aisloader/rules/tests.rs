//! Unit tests of aisloader's defaults and rules as functions of the parsed flags and an
//! environment: the target, the bucket, sizes, durations, refusals, warnings, and the
//! `ringload run` command line they produce.

use super::*;
use crate::aisloader::grammar::parse;

fn parsed(args: &[&str]) -> Parsed {
    let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse(&v, |n| flags::lookup(n).map(|f| f.kind)).unwrap()
}

fn plan_env(args: &[&str], env: &[(&str, &str)]) -> Result<Plan, Stop> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    plan(&parsed(args), &lookup, &|| "AbCdEfGh".to_string())
}

fn plan_of(args: &[&str]) -> Result<Plan, Stop> {
    plan_env(args, &[])
}

/// The value `flag` has in the run command line.
fn run_value(p: &Plan, flag: &str) -> Option<String> {
    let i = p.run.iter().position(|a| a == flag)?;
    p.run.get(i + 1).cloned()
}

fn error(r: Result<Plan, Stop>) -> String {
    match r {
        Err(Stop::Error(m)) => m,
        other => panic!("expected an error, got {other:?}"),
    }
}

const B: &[&str] = &["-bucket=ais://b", "-cleanup=false"];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    B.iter().chain(extra).copied().collect()
}

#[test]
fn cleanup_is_required_with_a_bucket_except_for_direct_s3() {
    assert_eq!(
        plan_of(&["-bucket=ais://b"]).unwrap_err(),
        Stop::CleanupRequired
    );
    assert!(plan_of(&["-bucket=ais://b", "-cleanup="]).is_ok());
    let s3 = plan_env(
        &["-bucket=s3://b"],
        &[("S3_ENDPOINT", "http://127.0.0.1:9000")],
    )
    .unwrap();
    assert_eq!(run_value(&s3, "--protocol").as_deref(), Some("s3"));
    assert!(error(plan_of(&[
        "-bucket=s3://b",
        "-cleanup=true",
        "-s3endpoint=http://h:9000"
    ]))
    .contains("'-cleanup' is not supported yet"));
}

#[test]
fn the_endpoint_is_ip_port_or_ais_endpoint() {
    let p = plan_of(B).unwrap();
    assert_eq!(
        run_value(&p, "--endpoint").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(p.config.proxy, "http://localhost:8080");
    let p = plan_of(&with(&["-ip=10.0.0.1", "-port=51080"])).unwrap();
    assert_eq!(
        run_value(&p, "--endpoint").as_deref(),
        Some("http://10.0.0.1:51080")
    );
    let p = plan_env(B, &[("AIS_ENDPOINT", "https://ais.example:443")]).unwrap();
    assert_eq!(
        run_value(&p, "--endpoint").as_deref(),
        Some("https://ais.example:443")
    );
    assert!(error(plan_env(
        &with(&["-ip=10.0.0.1"]),
        &[("AIS_ENDPOINT", "http://h:1")]
    ))
    .contains("mutually exclusive"));
    assert!(error(plan_env(B, &[("AIS_ENDPOINT", "ftp://h:1")])).contains("unknown URI scheme"));
}

#[test]
fn direct_s3_takes_virtual_addressing_unless_path_style_and_refuses_ais_options() {
    let s3 = ["-bucket=s3://b", "-s3endpoint=http://s3.example.com:9000"];
    let p = plan_of(&s3).unwrap();
    assert_eq!(run_value(&p, "--s3-addressing").as_deref(), Some("virtual"));
    assert_eq!(run_value(&p, "--bucket").as_deref(), Some("b"));
    assert_eq!(p.config.proxy, "");
    let mut a = s3.to_vec();
    a.push("-s3-use-path-style");
    a.push("-s3profile=prof");
    let p = plan_of(&a).unwrap();
    assert_eq!(run_value(&p, "--s3-addressing").as_deref(), Some("path"));
    assert_eq!(p.aws_profile.as_deref(), Some("prof"));
    for (bad, why) in [
        ("-randomproxy", "'-randomproxy' are mutually exclusive"),
        ("-ip=10.1.1.1", "'-ip' are mutually exclusive"),
        ("-port=1", "'-port' are mutually exclusive"),
        ("-trace-http", "HTTP tracing"),
        ("-verifyhash", "-verifyhash"),
        ("-readoff=1", "Read range"),
    ] {
        let mut a = s3.to_vec();
        a.push(bad);
        assert!(error(plan_of(&a)).contains(why), "{bad}");
    }
    assert!(error(plan_of(&["-bucket=ais://b", "-s3endpoint=http://h"])).contains("s3 bucket"));
    assert!(error(plan_of(&with(&["-s3-use-path-style"]))).contains("without '-s3endpoint'"));
}

#[test]
fn no_bucket_makes_up_a_new_one_that_needs_100_percent_put() {
    let p = plan_of(&["-pctput=100", "-duration=1s"]).unwrap();
    assert_eq!(p.new_bucket.as_deref(), Some("AbCdEfGh"));
    assert_eq!(run_value(&p, "--bucket").as_deref(), Some("ais://AbCdEfGh"));
    assert!(!p.config.cleanup);
    assert_eq!(
        error(plan_of(&["-pctput=50"])),
        "new bucket, expecting 100% PUT"
    );
}

#[test]
fn provider_and_bucket_uri() {
    let p = plan_of(&["-bucket=b", "-provider=aws", "-cleanup=false"]).unwrap();
    assert_eq!(run_value(&p, "--bucket").as_deref(), Some("s3://b"));
    assert!(!p.config.ais_bucket);
    let p = plan_of(&["-bucket=gs://g", "-cleanup=true"]).unwrap();
    assert_eq!(p.config.bucket, "gs://g");
    assert!(p.run.contains(&"--cleanup".to_string()));
    assert!(error(plan_of(&[
        "-bucket=gs://g",
        "-provider=aws",
        "-cleanup=false"
    ]))
    .contains("disagree"));
    assert!(error(plan_of(&["-bucket=ais://b/obj", "-cleanup=false"])).contains("names an object"));
}

#[test]
fn duration_absent_zero_and_given() {
    let p = plan_of(B).unwrap();
    assert_eq!(p.preface, "\nDuration not specified - running for 1m0s\n\n");
    assert_eq!(
        run_value(&p, "--duration").as_deref(),
        Some("60000000000ns")
    );
    // maxputs keeps aisloader's 1m (ringload run alone would not).
    let p = plan_of(&with(&["-maxputs=5", "-pctput=100"])).unwrap();
    assert_eq!(
        run_value(&p, "--duration").as_deref(),
        Some("60000000000ns")
    );
    let p = plan_of(&with(&["-totalputsize=1M", "-pctput=100"])).unwrap();
    assert_eq!(p.preface, "");
    assert_eq!(run_value(&p, "--duration").as_deref(), Some("0"));
    assert_eq!(p.config.duration_ns, None);
    let p = plan_of(&with(&["-duration=0"])).unwrap();
    assert!(p.noop);
    // The no-op comes after the validation.
    let e = error(plan_of(&with(&["-duration=0", "-pctput=500"])));
    assert_eq!(e, "invalid option: PUT percent 500");
    let p = plan_of(&with(&["-duration=0", "-stoppable"])).unwrap();
    assert_eq!(run_value(&p, "--duration").as_deref(), Some("0"));
    let p = plan_of(&with(&["-duration=0", "-epochs=2"])).unwrap();
    assert_eq!(p.config.duration_ns, None);
    let p = plan_of(&with(&["-duration=2s"])).unwrap();
    assert_eq!(run_value(&p, "--duration").as_deref(), Some("2000000000ns"));
}

#[test]
fn min_and_max_size_follow_each_other() {
    let sizes = |a: &[&'static str]| {
        let p = plan_of(&with(a)).unwrap();
        (p.config.minsize, p.config.maxsize)
    };
    assert_eq!(sizes(&[]), (1 << 20, 1 << 30));
    assert_eq!(sizes(&["-maxsize=4KiB"]), (4096, 4096));
    assert_eq!(sizes(&["-minsize=2GiB"]), (2 << 30, 2 << 30));
    assert_eq!(sizes(&["-minsize=1K", "-maxsize=2K"]), (1024, 2048));
    assert_eq!(
        error(plan_of(&with(&["-minsize=2K", "-maxsize=1K"]))),
        "invalid option: min and max size (2048, 1024), respectively"
    );
    assert!(
        error(plan_of(&with(&["-minsize=lots"]))).starts_with("failed to parse '--minsize=lots'")
    );
}

#[test]
fn statsinterval_is_seconds_and_zero_turns_periodic_off() {
    let p = plan_of(&with(&["-statsinterval=0"])).unwrap();
    assert!(!p.periodic);
    assert_eq!(run_value(&p, "--statsinterval").as_deref(), Some("10s"));
    let p = plan_of(&with(&["-statsinterval=3"])).unwrap();
    assert!(p.periodic);
    assert_eq!(run_value(&p, "--statsinterval").as_deref(), Some("3s"));
    assert_eq!(
        error(plan_of(&with(&["-statsinterval=-1"]))),
        "invalid option: stats show interval -1"
    );
}

#[test]
fn seed_name_getter_statsd_and_passthrough() {
    let p = plan_of(&with(&["-seed=-1"])).unwrap();
    assert_eq!(p.seed, 18446744073709551615);
    assert_eq!(run_value(&p, "--uniquegets").as_deref(), Some("true"));
    assert_eq!(run_value(&p, "--statsd").as_deref(), Some("127.0.0.1:8125"));
    let p = plan_of(&with(&["-pctput=50"])).unwrap();
    assert_eq!(run_value(&p, "--uniquegets").as_deref(), Some("false"));
    let p = plan_of(&with(&["-pctput=50", "-epochs=1"])).unwrap();
    assert_eq!(run_value(&p, "--uniquegets").as_deref(), Some("true"));
    let p = plan_of(&with(&[
        "-statsdip=10.0.0.9",
        "-statsdport=9125",
        "-randomproxy",
        "-bprops=\"mirror\":{\"enabled\":true},",
        "-tokenfile=/t",
        "-num-subdirs=7",
        "-cksum-type=md5",
    ]))
    .unwrap();
    assert_eq!(run_value(&p, "--statsd").as_deref(), Some("10.0.0.9:9125"));
    assert!(p.run.contains(&"--random-proxy".to_string()));
    assert_eq!(
        run_value(&p, "--bprops").as_deref(),
        Some("{\"mirror\":{\"enabled\":true}}")
    );
    assert_eq!(run_value(&p, "--token-file").as_deref(), Some("/t"));
    assert_eq!(run_value(&p, "--putshards").as_deref(), Some("7"));
    assert_eq!(run_value(&p, "--cksum-type").as_deref(), Some("md5"));
}

#[test]
fn refused_and_warned_flags_only_when_not_default() {
    assert!(plan_of(&with(&["-etl=", "-tmpdir=/tmp/ais"])).is_ok());
    assert_eq!(
        error(plan_of(&with(&["-etl=md5"]))),
        "-etl md5: ETL is not supported yet; it comes with a later release (drop the flag)"
    );
    let p = plan_of(&with(&["-tmpdir=/x", "-randomname=false", "-stoppable"])).unwrap();
    assert_eq!(p.warnings.len(), 3);
    assert!(p.warnings[0].starts_with("warning: -tmpdir /x: "));
    assert!(p.warnings[2].starts_with("warning: -stoppable: "));
    let p = plan_of(&with(&["-randomname=false", "-loadernum=4"])).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn other_validations() {
    assert_eq!(
        error(plan_of(&with(&["-pctput=101"]))),
        "invalid option: PUT percent 101"
    );
    assert!(error(plan_of(&with(&["-skiplist"]))).contains("100% PUT"));
    let p = plan_of(&with(&["-skiplist", "-filelist=/f"])).unwrap();
    assert_eq!(p.warnings.len(), 1);
}

#[test]
fn direct_s3_uses_path_style_for_an_ip_host_as_the_aws_sdk_does() {
    let style = |ep: &'static str, extra: &[&'static str]| {
        let mut args = vec![ep];
        args.extend_from_slice(extra);
        run_value(&plan_of(&args).unwrap(), "--s3-addressing").unwrap()
    };
    assert_eq!(
        style("-s3endpoint=http://127.0.0.1:9000", &["-pctput=100"]),
        "path"
    );
    assert_eq!(
        style("-s3endpoint=http://10.1.2.3", &["-pctput=100"]),
        "path"
    );
    assert_eq!(
        style("-s3endpoint=http://[::1]:9000", &["-pctput=100"]),
        "path"
    );
    assert_eq!(
        style("-s3endpoint=https://s3.example.com", &["-pctput=100"]),
        "virtual"
    );
    assert_eq!(
        style(
            "-s3endpoint=https://s3.example.com",
            &["-pctput=100", "-s3-use-path-style"]
        ),
        "path"
    );
}

#[test]
fn the_dump_gets_the_values_aisloader_changed() {
    let dump = |args: &[&'static str], env: &[(&str, &str)]| plan_env(args, env).unwrap().dump;
    let d = dump(&with(&["-totalputsize=1M", "-pctput=100"]), &[]);
    assert!(
        d.contains(&("duration", "2562047h47m16.854775807s".into())),
        "{d:?}"
    );
    let d = dump(&["-pctput=100"], &[("S3_ENDPOINT", "http://127.0.0.1:9")]);
    assert!(
        d.contains(&("s3endpoint", "http://127.0.0.1:9".into())),
        "{d:?}"
    );
    let d = dump(&with(&["-subdir=a//b/./c/"]), &[]);
    assert!(d.contains(&("subdir", "a/b/c".into())), "{d:?}");
    let d = dump(&with(&["-skiplist", "-filelist=/f", "-pctput=100"]), &[]);
    assert!(d.contains(&("skiplist", "false".into())), "{d:?}");
    assert_eq!(plan_of(&with(&["-seed=7"])).unwrap().seed, 7);
    assert_eq!(plan_of(&with(&[])).unwrap().seed, 0);
}

#[test]
fn loader_subdir_and_subdirs_rules_in_aisloader_words() {
    let e = |a: &[&'static str]| error(plan_of(&with(a)));
    assert_eq!(e(&["-loaderid="]), "loaderID can't be empty");
    assert_eq!(
        e(&["-loaderid=5", "-loadernum=4"]),
        "loaderid has to be smaller than loadernum"
    );
    assert!(e(&["-loaderid=4", "-loadernum=4"]).contains("give -loaderid below 4"));
    assert_eq!(
        e(&["-loaderid=x", "-loadernum=4"]),
        "loadername has to be a number when using loadernum"
    );
    assert_eq!(e(&["-subdir=/x"]), "object name prefix can't start with /");
    assert_eq!(
        e(&["-num-subdirs=100000"]),
        "'--num-subdirs' (100000) must be a non-negative number in the open interval [0, 100k)"
    );
    assert!(plan_of(&with(&["-num-subdirs=99999"])).is_ok());
    assert!(plan_of(&with(&["-loaderid=3", "-loadernum=4"])).is_ok());
}

#[test]
fn maxputs_below_numworkers_is_aisloaders_error() {
    let p = plan_of(&with(&["-pctput=100", "-maxputs=2", "-numworkers=4"])).unwrap();
    assert_eq!(
        p.maxputs_error.as_deref(),
        Some("number of PUT objects reached '--maxputs' limit (2)")
    );
    let p = plan_of(&with(&["-pctput=100", "-maxputs=4", "-numworkers=4"])).unwrap();
    assert_eq!(p.maxputs_error, None);
}

#[test]
fn the_configuration_names_oci_oc() {
    let p = plan_of(&["-bucket=oci://b", "-cleanup=false"]).unwrap();
    assert_eq!(p.config.bucket, "oc://b");
    assert_eq!(run_value(&p, "--bucket").as_deref(), Some("oci://b"));
}

#[test]
fn a_pctupdate_at_or_below_pctput_updates_nothing_and_says_so() {
    let p = plan_of(&with(&["-pctput=50", "-pctupdate=30"])).unwrap();
    assert_eq!(run_value(&p, "--pctupdate").as_deref(), Some("0"));
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("warning: -pctupdate=30: with -pctput=50 no order")),
        "{:?}",
        p.warnings
    );
    let p = plan_of(&with(&["-pctput=20", "-pctupdate=50"])).unwrap();
    assert_eq!(run_value(&p, "--pctupdate").as_deref(), Some("50"));
    assert!(p.warnings.iter().all(|w| !w.contains("-pctupdate")));
    let p = plan_of(&with(&["-pctupdate=30"])).unwrap();
    assert_eq!(run_value(&p, "--pctupdate").as_deref(), Some("30"));
}

#[test]
fn settings_that_cannot_apply_here_are_warned_about_not_ignored() {
    let warned = |extra: &[&'static str], start: &str| {
        let p = plan_of(&with(extra)).unwrap();
        assert!(
            p.warnings.iter().any(|w| w.starts_with(start)),
            "{extra:?}: {:?}",
            p.warnings
        );
    };
    warned(
        &["-evict-batchsize=10"],
        "warning: -evict-batchsize=10: used only by",
    );
    warned(
        &["-evict-batchsize=10", "-cleanup=true"],
        "warning: -evict-batchsize=10",
    );
    warned(
        &["-readoff=1KiB"],
        "warning: -readoff=1KiB: used only with -readlen",
    );
    warned(
        &["-s3profile=p"],
        "warning: -s3profile=p: used only with -s3endpoint",
    );
    // Where they apply, no warning.
    let p = plan_of(&["-bucket=s3://r", "-cleanup=true", "-evict-batchsize=10"]).unwrap();
    assert!(p.warnings.iter().all(|w| !w.contains("-evict-batchsize")));
    let p = plan_of(&with(&["-readoff=1KiB", "-readlen=1KiB"])).unwrap();
    assert!(p.warnings.iter().all(|w| !w.contains("-readoff")));
}

#[test]
fn legacy_uniquegets_false_shows_the_random_getter() {
    let p = plan_of(&with(&["-uniquegets=false"])).unwrap();
    assert!(p.config.random_gets);
    assert_eq!(
        crate::aisloader::output::name_getter(&p.config, 100),
        "random non-unique"
    );
    let p = plan_of(&with(&[])).unwrap();
    assert_eq!(
        crate::aisloader::output::name_getter(&p.config, 100),
        "unique sequential"
    );
}

#[test]
fn legacy_putshards_is_named_when_typed_and_loses_to_num_subdirs() {
    let e = error(plan_of(&with(&["-putshards=100000"])));
    assert!(e.contains("'--putshards' (100000)"), "{e}");
    let p = plan_of(&with(&["-num-subdirs=2", "-putshards=5"])).unwrap();
    assert_eq!(run_value(&p, "--putshards").as_deref(), Some("2"));
    assert!(p
        .warnings
        .iter()
        .any(|w| w.starts_with("warning: -putshards=5:")));
    let p = plan_of(&with(&["-putshards=5"])).unwrap();
    assert_eq!(run_value(&p, "--putshards").as_deref(), Some("5"));
}
