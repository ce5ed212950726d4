//! Unit tests of the ML flags' rules through the whole plan: aisloader's messages in its
//! order, ringload's own refusals, the warnings for settings that cannot apply, the `run`
//! flags each setting becomes, and what `Runtime configuration:` is given.

use super::super::{plan, Plan, Stop};
use super::ArchShown;
use crate::aisloader::flags;
use crate::aisloader::grammar::parse;

fn plan_env(args: &[&str], env: &[(&str, &str)]) -> Result<Plan, Stop> {
    let mut v: Vec<String> = vec!["-bucket=ais://b".into(), "-cleanup=false".into()];
    v.extend(args.iter().map(|s| s.to_string()));
    let p = parse(&v, |n| flags::lookup(n).map(|f| f.kind)).unwrap();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    plan(&p, &lookup, &|| "AbCdEfGh".to_string())
}

fn plan_of(args: &[&str]) -> Plan {
    plan_env(args, &[]).unwrap_or_else(|e| panic!("{args:?}: {e:?}"))
}

fn error(args: &[&str]) -> String {
    error_env(args, &[])
}

fn error_env(args: &[&str], env: &[(&str, &str)]) -> String {
    match plan_env(args, env) {
        Err(Stop::Error(m)) => m,
        other => panic!("{args:?}: expected an error, got {other:?}"),
    }
}

/// The run flags after `--trace-http`'s place: the ML ones, in order.
fn ml_run(p: &Plan) -> Vec<String> {
    let first = p
        .run
        .iter()
        .position(|a| {
            [
                "--get-batchsize",
                "--arch-pct",
                "--arch-list",
                "--multipart-chunks",
                "--pctmpdstream",
            ]
            .contains(&a.as_str())
        })
        .unwrap_or(p.run.len());
    p.run[first..].to_vec()
}

const S3: &[(&str, &str)] = &[("S3_ENDPOINT", "http://127.0.0.1:9000")];

#[test]
fn aisloaders_ranges_and_exclusions_in_its_words() {
    for (args, want) in [
        (
            &["-multipart-chunks=-1"][..],
            "invalid option: multipart-chunks -1 (must be >= 0)",
        ),
        (
            &["-pctmultipart=101"],
            "invalid option: pctmultipart 101 (must be 0-100)",
        ),
        (
            &["-mpdstream-workers=-2"],
            "invalid option: mpdstream-workers -2 (must be >= 0)",
        ),
        (
            &["-pctmpdstream=-1"],
            "invalid option: pctmpdstream -1 (must be 0-100)",
        ),
        (
            &["-pctmpdstream=50", "-pctput=10"],
            "cannot combine pctmpdstream 50 with pctput 10 (GET-only vs PUT workload)",
        ),
        (
            &["-pctmpdstream=50", "-get-batchsize=8"],
            "cannot combine pctmpdstream 50 with batch-size 8 (both are GET variants)",
        ),
        (
            &["-get-batchsize=1001"],
            "invalid '--get-batchsize' value 1001 (must be 1-1000)",
        ),
        (
            &["-get-batchsize=-3"],
            "invalid '--get-batchsize' value -3 (must be 1-1000)",
        ),
        (
            &["-get-batchsize=8", "-readlen=4KiB"],
            "option '--get-batchsize' cannot be used with readoff/readlen",
        ),
        (
            &["-get-batchsize=8", "-verifyhash"],
            "option '--get-batchsize' cannot be used with verifyhash",
        ),
        (
            &["-arch.pct=101"],
            "invalid option: arch.pct 101 (must be 0-100)",
        ),
        (
            &["-arch.pct=10", "-multipart-chunks=2", "-pctmultipart=10"],
            "multipart uploads and archive operations are mutually exclusive (not supported yet)",
        ),
        (
            &["-arch.pct=10", "-arch.num-files=10001"],
            "invalid Arch.Num (10001)",
        ),
        (
            &["-arch.pct=10", "-arch.num-files=-1"],
            "invalid Arch.Num (-1)",
        ),
        (
            &["-arch.pct=10", "-arch.minsize=8KiB", "-arch.maxsize=4KiB"],
            "Arch.MaxSize (4096) must be >= MinSize (8192)",
        ),
        (
            &["-arch.pct=10", "-arch.format=.rar"],
            "Arch.Mime (\".rar\") is invalid: unknown mime type \".rar\"",
        ),
        (
            &[
                "-arch.pct=10",
                "-maxsize=64KiB",
                "-arch.minsize=16KiB",
                "-arch.num-files=5",
            ],
            "object size (65536) cannot be less than Arch.MinSize(16384) * Arch.Num(5)",
        ),
    ] {
        assert_eq!(error(args), want, "{args:?}");
    }
    // Sizes parse as -minsize's do, even where they cannot apply (aisloader parses first).
    for flag in ["-arch.minsize=lots", "-arch.maxsize=lots"] {
        let name = &flag[1..flag.len() - 5];
        assert!(
            error(&[flag]).starts_with(&format!("failed to parse '--{name}=lots': invalid size")),
            "{flag}"
        );
    }
    // In aisloader's order: the multipart range before the GetBatch range.
    assert_eq!(
        error(&["-get-batchsize=5000", "-pctmultipart=200"]),
        "invalid option: pctmultipart 200 (must be 0-100)"
    );
}

#[test]
fn direct_s3_refuses_multipart_getbatch_shards_and_streams() {
    for (args, want) in [
        (
            &["-multipart-chunks=4", "-pctmultipart=50", "-pctput=100"][..],
            "direct S3 access via '-s3endpoint': multipart upload is not supported yet",
        ),
        (
            &["-get-batchsize=8"],
            "option '--get-batchsize' requires AIStore (S3 does not provide GetBatch)",
        ),
        (
            &["-arch.pct=10", "-pctput=100"],
            "archive operations require AIStore cluster; not supported with '-s3endpoint' \
             (direct S3 access)",
        ),
        (
            &["-pctmpdstream=10"],
            "-pctmpdstream 10: multipart download streams need AIStore (direct S3 access via \
             '-s3endpoint' reads whole objects); drop -pctmpdstream",
        ),
    ] {
        let mut a = vec!["-bucket=s3://x"];
        a.extend_from_slice(args);
        let v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        let p = parse(&v, |n| flags::lookup(n).map(|f| f.kind)).unwrap();
        let env = |k: &str| S3.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        match plan(&p, &env, &|| "x".into()) {
            Err(Stop::Error(m)) => assert_eq!(m, want, "{args:?}"),
            other => panic!("{args:?}: {other:?}"),
        }
    }
}

#[test]
fn ringload_refuses_what_it_cannot_run_naming_the_flag() {
    assert_eq!(
        error(&["-arch.pct=10", "-arch.format=zip"]),
        "-arch.format zip: ringload writes .tar shards only (.tgz, .tar.gz, .zip, .tar.lz4 are \
         not built); give -arch.format=.tar or leave it out"
    );
    assert_eq!(
        error(&["-pctmpdstream=10", "-readoff=1KiB", "-readlen=1KiB"]),
        "-pctmpdstream 10: a download stream reads whole objects in ranges of its own; drop \
         -readoff/-readlen or -pctmpdstream"
    );
    assert_eq!(
        error(&["-pctmpdstream=10", "-mpdstream-chunk-size=-1"]),
        "invalid option: mpdstream-chunk-size -1 (must be >= 0)"
    );
    // aisloader's MIME spellings name the same format.
    let p = plan_of(&[
        "-arch.pct=10",
        "-pctput=100",
        "-arch.format=application/x-tar",
    ]);
    assert_eq!(p.config.arch.as_ref().unwrap().format, ".tar");
}

#[test]
fn each_setting_becomes_its_run_flag() {
    let p = plan_of(&["-get-batchsize=32", "-cont-on-err"]);
    assert_eq!(ml_run(&p), ["--get-batchsize", "32", "--cont-on-err"]);
    assert_eq!(p.config.get_batch_size, 32);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    let p = plan_of(&[
        "-pctput=100",
        "-multipart-chunks=4",
        "-pctmultipart=30",
        "-maxsize=24MiB",
        "-minsize=24MiB",
    ]);
    assert_eq!(
        ml_run(&p),
        ["--multipart-chunks", "4", "--pctmultipart", "30"]
    );
    assert_eq!(p.config.multipart_pct, 30);

    let p = plan_of(&[
        "-pctmpdstream=100",
        "-mpdstream-workers=3",
        "-mpdstream-chunk-size=4194304",
    ]);
    assert_eq!(
        ml_run(&p),
        [
            "--pctmpdstream",
            "100",
            "--mpdstream-workers",
            "3",
            "--mpdstream-chunk-size",
            "4194304"
        ]
    );

    let p = plan_of(&[
        "-pctput=100",
        "-arch.pct=50",
        "-arch.prefix=trunk-",
        "-arch.num-files=5",
        "-arch.minsize=1KiB",
        "-arch.maxsize=4KiB",
        "-maxsize=1MiB",
    ]);
    assert_eq!(
        ml_run(&p),
        [
            "--arch-pct",
            "50",
            "--arch-format",
            ".tar",
            "--arch-prefix",
            "trunk-",
            "--arch-num-files",
            "5",
            "--arch-minsize",
            "1024",
            "--arch-maxsize",
            "4096"
        ]
    );
    assert_eq!(
        p.config.arch,
        Some(ArchShown {
            pct: 50,
            format: ".tar".into(),
            prefix: "trunk-".into(),
            num_files: 5,
            minsize: 1024,
            maxsize: 4096,
        })
    );
    let p = plan_of(&["-arch.list", "-get-batchsize=10"]);
    assert_eq!(
        ml_run(&p),
        ["--get-batchsize", "10", "--arch-list"],
        "archpath entries through GetBatch"
    );
    // Nothing ML: no ML flag reaches the run, and the configuration shows none.
    let p = plan_of(&[]);
    assert!(ml_run(&p).is_empty(), "{:?}", p.run);
    assert_eq!(
        (
            p.config.get_batch_size,
            p.config.multipart_pct,
            &p.config.arch
        ),
        (0, 0, &None)
    );
}

#[test]
fn shard_sizes_take_aisloaders_defaults_and_clamp_to_the_object_size() {
    let shown = |args: &[&str]| {
        let mut a = vec!["-pctput=100", "-arch.pct=100", "-arch.num-files=4"];
        a.extend_from_slice(args);
        let a = plan_of(&a).config.arch.unwrap();
        (a.minsize, a.maxsize)
    };
    // Neither given: 1 KiB .. 1 MiB (within the default 1 GiB objects).
    assert_eq!(shown(&[]), (1024, 1 << 20));
    // Only the minimum: the maximum is the minimum.
    assert_eq!(shown(&["-arch.minsize=8KiB"]), (8192, 8192));
    // Only the maximum: from 0.
    assert_eq!(shown(&["-arch.maxsize=8KiB"]), (0, 8192));
    // Clamped to -maxsize.
    assert_eq!(shown(&["-maxsize=64KiB"]), (1024, 65536));
    assert_eq!(
        shown(&["-maxsize=4KiB", "-minsize=1KiB", "-arch.minsize=1KiB"]),
        (1024, 1024)
    );
}

#[test]
fn settings_that_cannot_apply_are_warned_about_and_not_passed() {
    let p = plan_of(&["-pctmultipart=30", "-pctput=100"]);
    assert_eq!(
        p.warnings,
        ["Warning: pctmultipart=30 is ignored when multipart-chunks=0"]
    );
    assert!(ml_run(&p).is_empty(), "{:?}", p.run);
    // aisloader shows the percentage all the same.
    assert_eq!(p.config.multipart_pct, 30);

    let p = plan_of(&["-multipart-chunks=4", "-pctput=100"]);
    assert_eq!(
        p.warnings,
        [
            "warning: -multipart-chunks=4: with -pctmultipart=0 no PUT is a multipart upload; \
          give -pctmultipart"
        ]
    );
    assert!(ml_run(&p).is_empty(), "{:?}", p.run);

    let p = plan_of(&[
        "-cont-on-err",
        "-arch.prefix=x-",
        "-arch.minsize=1KiB",
        "-mpdstream-workers=4",
        "-mpdstream-chunk-size=1024",
    ]);
    assert_eq!(
        p.warnings,
        [
            "warning: -cont-on-err=true: used only with -get-batchsize; it changes nothing here",
            "warning: -arch.prefix=x-: used only with -arch.pct; it changes nothing here",
            "warning: -arch.minsize=1KiB: used only with -arch.pct; it changes nothing here",
            "warning: -mpdstream-workers=4: used only with -pctmpdstream; it changes nothing \
             here",
            "warning: -mpdstream-chunk-size=1024: used only with -pctmpdstream; it changes \
             nothing here",
        ]
    );
    assert!(ml_run(&p).is_empty(), "{:?}", p.run);
    // A default typed out is no setting.
    let p = plan_of(&[
        "-arch.prefix=",
        "-mpdstream-workers=0",
        "-cont-on-err=false",
    ]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    let p = plan_of(&["-pctput=100", "-arch.pct=10"]);
    assert_eq!(
        p.warnings,
        [
            "warning: -arch.num-files=0: aisloader adds files to each shard until it reaches the \
          object's size, which varies here; ringload writes a fixed number per shard, 10; give \
          -arch.num-files for another"
        ]
    );
    assert_eq!(p.config.arch.unwrap().num_files, 0);
}

#[test]
fn getbatch_and_streams_are_allowed_where_aisloader_allows_them() {
    // GetBatch in a mixed run, and a stream with -verifyhash: aisloader runs both.
    assert!(plan_env(&["-get-batchsize=8", "-pctput=20"], &[]).is_ok());
    assert!(plan_env(&["-pctmpdstream=100", "-verifyhash"], &[]).is_ok());
    assert!(error_env(&["-get-batchsize=8"], S3).contains("requires AIStore"));
}

#[test]
fn getbatch_leaves_no_get_to_update_as_in_aisloaders_order() {
    let p = plan_of(&["-get-batchsize=8", "-pctupdate=30"]);
    assert_eq!(
        p.warnings,
        [
            "warning: -pctupdate=30: with -get-batchsize every GET is a GetBatch, so no GET is \
          followed by an update; none are made"
        ]
    );
    let i = p.run.iter().position(|a| a == "--pctupdate").unwrap();
    assert_eq!(p.run[i + 1], "0");
    assert_eq!(p.config.pctupdate, 0);
    // Without GetBatch the update stays.
    let p = plan_of(&["-pctupdate=30"]);
    let i = p.run.iter().position(|a| a == "--pctupdate").unwrap();
    assert_eq!(p.run[i + 1], "30");
}

#[test]
fn a_dynamic_shard_of_one_size_gets_aisloaders_file_count() {
    // 64 KiB objects, 4 KiB files: aisloader adds files until one more would pass 64 KiB.
    let p = plan_of(&[
        "-pctput=100",
        "-arch.pct=100",
        "-minsize=64KiB",
        "-maxsize=64KiB",
        "-arch.minsize=4KiB",
    ]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let run = ml_run(&p);
    let i = run.iter().position(|a| a == "--arch-num-files").unwrap();
    assert_eq!(run[i + 1], "16");
    // aisloader shows the count as dynamic (0) all the same.
    assert_eq!(p.config.arch.unwrap().num_files, 0);
    // At least two files, whatever the sizes.
    let p = plan_of(&[
        "-pctput=100",
        "-arch.pct=100",
        "-minsize=4KiB",
        "-maxsize=4KiB",
        "-arch.minsize=4KiB",
    ]);
    let run = ml_run(&p);
    let i = run.iter().position(|a| a == "--arch-num-files").unwrap();
    assert_eq!(run[i + 1], "2");
}

#[test]
fn paths_the_pctput_leaves_no_operation_for_are_warned_about_and_not_passed() {
    let p = plan_of(&["-pctput=100", "-get-batchsize=8", "-arch.list"]);
    assert_eq!(
        p.warnings,
        [
            "warning: -get-batchsize=8: with -pctput=100 there are no GETs; it changes nothing \
             here",
            "warning: -arch.list=true: with -pctput=100 there are no GETs; it changes nothing \
             here",
        ]
    );
    assert!(ml_run(&p).is_empty(), "{:?}", p.run);

    let p = plan_of(&["-multipart-chunks=4", "-pctmultipart=10"]);
    assert_eq!(
        p.warnings,
        [
            "warning: -multipart-chunks=4 -pctmultipart=10: with -pctput=0 there are no PUTs; \
          they change nothing here"
        ]
    );
    assert!(ml_run(&p).is_empty(), "{:?}", p.run);

    // -arch.pct with no PUTs writes nothing but lists archive-aware, as aisloader does.
    let p = plan_of(&["-arch.pct=10", "-arch.num-files=5"]);
    assert_eq!(
        p.warnings,
        ["warning: -arch.num-files=5: used only with PUTs (-pctput above 0); it changes nothing \
          here"]
    );
    assert_eq!(ml_run(&p), ["--arch-list"]);
    let p = plan_of(&["-arch.pct=10", "-arch.list"]);
    assert_eq!(ml_run(&p), ["--arch-list"]);
}
