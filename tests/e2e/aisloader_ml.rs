//! The aisloader drop-in's ML data-loading flags, end to end: aisloader v2's rules in its
//! words (exit 1) and Go's parse of its plain-integer flags (exit 2), the warnings for
//! settings that cannot apply, each path passing the run's own checks
//! (`RINGLOAD_DOC_CHECK=1`: everything before the first connection), and the multipart and
//! GetBatch stages of aisloader's CI script plus a shard run against the built-in AIS cluster,
//! counted exactly by the targets' own counters.

use crate::aisloader::{aisloader_link, final_json, final_row, ip_port};
use crate::common::cluster::Cluster;
use crate::common::Ran;

const B: [&str; 2] = ["-bucket=ais://b", "-cleanup=false"];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    B.iter().copied().chain(extra.iter().copied()).collect()
}

/// `aisloader ARGS` in the documentation tests' check-only mode.
fn doc_check(args: &[&str]) -> Ran {
    aisloader_link().run_env(args, &[("RINGLOAD_DOC_CHECK", "1")])
}

#[test]
fn ml_rules_exit_1_in_aisloaders_words() {
    let a = aisloader_link();
    for (args, msg) in [
        (
            &["-pctmpdstream=50", "-pctput=10"][..],
            "cannot combine pctmpdstream 50 with pctput 10 (GET-only vs PUT workload)",
        ),
        (
            &["-pctmpdstream=50", "-get-batchsize=8"],
            "cannot combine pctmpdstream 50 with batch-size 8 (both are GET variants)",
        ),
        (
            &["-get-batchsize=2000"],
            "invalid '--get-batchsize' value 2000 (must be 1-1000)",
        ),
        (
            &["-get-batchsize=8", "-verifyhash"],
            "option '--get-batchsize' cannot be used with verifyhash",
        ),
        (
            &["-pctmultipart=101"],
            "invalid option: pctmultipart 101 (must be 0-100)",
        ),
        (
            &[
                "-pctput=100",
                "-arch.pct=10",
                "-multipart-chunks=2",
                "-pctmultipart=5",
            ],
            "multipart uploads and archive operations are mutually exclusive (not supported yet)",
        ),
        (
            &["-pctput=100", "-arch.pct=10", "-arch.format=.zip"],
            "-arch.format .zip: ringload writes .tar shards only (.tgz, .tar.gz, .zip, .tar.lz4 \
             are not built); give -arch.format=.tar or leave it out",
        ),
    ] {
        let r = a.run(&with(args));
        r.check(r.code() == 1, "a refused combination exits 1");
        r.check(
            r.stderr() == format!("aisloader exited with error: {msg}\n"),
            msg,
        );
    }
    // Direct S3 refuses multipart upload, as aisloader does.
    let r = a.run_env(
        &[
            "-bucket=s3://x",
            "-pctput=100",
            "-multipart-chunks=4",
            "-pctmultipart=50",
        ],
        &[("S3_ENDPOINT", "http://127.0.0.1:9")],
    );
    r.check(r.code() == 1, "exit 1");
    r.check(
        r.stderr()
            == "aisloader exited with error: direct S3 access via '-s3endpoint': multipart \
                upload is not supported yet\n",
        "aisloader's S3 refusal",
    );
}

#[test]
fn plain_integer_flags_refuse_size_suffixes_as_go_does() {
    let a = aisloader_link();
    for (flag, name) in [
        ("-mpdstream-chunk-size=4MiB", "mpdstream-chunk-size"),
        ("-get-batchsize=1K", "get-batchsize"),
    ] {
        let r = a.run(&with(&[flag]));
        let value = flag.split('=').nth(1).unwrap();
        r.check(r.code() == 2, "Go's parse error exits 2");
        r.check(
            r.stderr() == format!("invalid value {value:?} for flag -{name}: parse error\n"),
            "Go's message",
        );
    }
    // The same number of bytes written out parses (and is checked by the run).
    let r = doc_check(&with(&["-mpdstream-chunk-size=4194304", "-pctmultipart=0"]));
    r.check(r.code() == 0, "a plain number is taken");
    r.check(
        r.stderr()
            == "warning: -mpdstream-chunk-size=4194304: used only with -pctmpdstream; it \
                changes nothing here\n",
        "used only with -pctmpdstream",
    );
}

#[test]
fn settings_that_cannot_apply_warn_and_the_run_goes_on() {
    let r = doc_check(&with(&[
        "-pctput=100",
        "-pctmultipart=30",
        "-cont-on-err",
        "-arch.prefix=trunk-",
        "-quiet",
    ]));
    r.check(r.code() == 0, "the checks pass");
    r.check(
        r.stderr()
            == "Warning: pctmultipart=30 is ignored when multipart-chunks=0\n\
                warning: -cont-on-err=true: used only with -get-batchsize; it changes nothing \
                here\n\
                warning: -arch.prefix=trunk-: used only with -arch.pct; it changes nothing here\n",
        "one line each, aisloader's own first",
    );
}

/// Each ML path, mapped by the front end, passes `ringload run`'s checks (protocol, ranges,
/// exclusions) without a connection. Needs the paths built (not refused by the run).
#[test]
fn every_ml_path_passes_the_runs_checks() {
    for args in [
        &["-pctput=0", "-get-batchsize=32", "-cont-on-err"][..],
        &[
            "-pctput=100",
            "-multipart-chunks=4",
            "-pctmultipart=50",
            "-minsize=24MiB",
            "-maxsize=24MiB",
        ],
        &[
            "-pctput=100",
            "-arch.pct=100",
            "-arch.num-files=5",
            "-arch.minsize=1KiB",
            "-arch.maxsize=4KiB",
            "-arch.prefix=trunk-",
        ],
        &["-pctput=0", "-arch.list"],
        &["-pctput=0", "-arch.list", "-get-batchsize=10"],
        &[
            "-pctput=0",
            "-pctmpdstream=100",
            "-mpdstream-workers=3",
            "-mpdstream-chunk-size=4194304",
        ],
    ] {
        let mut all = with(args);
        all.push("-quiet");
        let r = doc_check(&all);
        r.check(r.code() == 0 && r.stderr().is_empty(), "passes, no warning");
    }
}

/// The targets' `ml.<key>` counters, summed.
fn ml(c: &Cluster, key: &str) -> u64 {
    c.targets
        .iter()
        .map(|t| Cluster::stats(t)["ml"][key].as_u64().unwrap())
        .sum()
}

/// aisloader's CI stages 2 (multipart) and 4-5 (GetBatch, with and without -cleanup), bounded
/// by counts instead of durations so that every figure is exact.
#[test]
fn the_ci_multipart_and_getbatch_stages() {
    let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let run = |extra: &[&str]| {
        let mut v = vec![ip.as_str(), port.as_str(), "-bucket=ci", "-provider=ais"];
        v.extend_from_slice(extra);
        v.push("--quiet");
        a.run(&v)
    };
    // Stage 1: populate, 256 objects of 16 KiB.
    let r = run(&[
        "-pctput=100",
        "-maxputs=256",
        "-minsize=16KiB",
        "-maxsize=16KiB",
        "-cleanup=false",
        "-numworkers=8",
    ]);
    r.ok();
    // Stage 2: multipart, every PUT in 4 parts.
    let r = run(&[
        "-pctput=100",
        "-maxputs=12",
        "-minsize=64KiB",
        "-maxsize=64KiB",
        "-multipart-chunks=4",
        "-pctmultipart=100",
        "-cleanup=false",
        "-numworkers=4",
    ]);
    r.ok();
    r.check(
        r.stdout().contains("\n   \"% Multipart PUT\": 100,\n"),
        "the configuration shows the multipart percentage",
    );
    r.check(
        (
            ml(&c, "mpt_complete"),
            ml(&c, "mpt_parts"),
            ml(&c, "mpt_abort"),
        ) == (12, 48, 0),
        "12 uploads of 4 parts, none aborted",
    );
    let mpu = final_row(&r.stdout(), "MPU");
    r.check((mpu.count, mpu.errors) == (12, 0), "aisloader's MPU row");
    // Stage 4: GetBatch of every name once, batches of 67 over 268 names.
    let file = a.path("gbt.json");
    let stats = format!("-stats-output={}", file.display());
    let r = run(&[
        "-pctput=0",
        "-epochs=1",
        "-get-batchsize=67",
        "-cleanup=false",
        "-numworkers=4",
        "-json",
        &stats,
    ]);
    r.ok();
    r.check(
        r.stdout()
            .contains("\n   \"GET(batch): batch size\": 67,\n"),
        "the configuration shows the batch size",
    );
    r.check(
        (ml(&c, "get_batch"), ml(&c, "get_batch_members")) == (4, 268),
        "4 batches, 268 members",
    );
    let last = final_json(&file);
    r.check(
        last["get_batch"]["count"] == "4" && last["get_batch"]["errors"] == 0,
        "aisloader's get_batch object",
    );
    r.check(last["get"]["count"] == "0", "no plain GET");
    // A batch larger than the names: aisloader's error after the listing.
    let r = run(&[
        "-pctput=0",
        "-epochs=1",
        "-get-batchsize=269",
        "-cleanup=false",
    ]);
    r.check(r.code() == 1, "exit 1");
    r.check(
        r.stderr().ends_with(
            "aisloader exited with error: batch size (269) exceeds dataset size (268)\n",
        ),
        "aisloader's message",
    );
    // Stage 5: GetBatch of 64 with -cleanup=true (the bucket is destroyed after).
    let r = run(&[
        "-pctput=0",
        "-epochs=1",
        "-get-batchsize=64",
        "-cleanup=true",
        "-numworkers=4",
    ]);
    r.ok();
    let gbt = final_row(&r.stdout(), "GBT");
    // 268 names in batches of 64: 4 full batches and one of 12.
    r.check((gbt.count, gbt.errors) == (5, 0), "aisloader's GBT row");
    r.check(
        (ml(&c, "get_batch"), ml(&c, "get_batch_members")) == (9, 536),
        "5 more batches, 268 more members",
    );
}

/// Shards through the front end: PUT 20 shards of 5 files, then read every file once by
/// archpath, on the built-in cluster's counters.
#[test]
fn shards_through_the_front_end() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://shards",
        "-cleanup=false",
        "-pctput=100",
        "-maxputs=20",
        "-numworkers=4",
        "-maxsize=1MiB",
        "-arch.pct=100",
        "-arch.num-files=5",
        "-arch.minsize=1KiB",
        "-arch.maxsize=4KiB",
        "-arch.prefix=trunk-",
        "-quiet",
    ]);
    r.ok();
    r.check(
        r.stdout().contains(
            "   \"archive (shards)\": {\n      \"% workload\": 100,\n      \"format\": \".tar\",\n      \
             \"prefix\": \"trunk-\",\n      \"files per shard\": 5,\n      \"minimum file size\": \
             1024,\n      \"maximum file size\": 4096\n   },\n",
        ),
        "aisloader's archive object",
    );
    r.check(ml(&c, "shard_puts") == 20, "20 shards");
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://shards",
        "-cleanup=true",
        "-pctput=0",
        "-epochs=1",
        "-numworkers=4",
        "-arch.list",
        "-quiet",
    ]);
    r.ok();
    r.check(ml(&c, "archpath_gets") == 100, "every file once");
    let get = final_row(&r.stdout(), "GET");
    r.check((get.count, get.errors) == (100, 0), "100 GETs, no error");
}

/// The `ringload run` flags the front end maps to: one heading in `run -h`, in aisloader's
/// flag order, each with its value's name.
#[test]
fn the_run_flags_are_one_help_heading() {
    let r = crate::common::ringload(&["run", "-h"]);
    r.ok();
    let out = r.stdout();
    let section = out
        .split_once("\nML data loading:\n")
        .map(|(_, s)| s)
        .expect("the heading");
    let flags: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("      --"))
        .map(|l| l.split("  ").next().unwrap())
        .collect();
    assert_eq!(
        flags,
        [
            "get-batchsize <N>",
            "cont-on-err",
            "arch-format <FORMAT>",
            "arch-prefix <PREFIX>",
            "arch-num-files <N>",
            "arch-minsize <SIZE>",
            "arch-maxsize <SIZE>",
            "arch-pct <P>",
            "arch-list",
            "multipart-chunks <N>",
            "pctmultipart <P>",
            "pctmpdstream <P>",
            "mpdstream-workers <N>",
            "mpdstream-chunk-size <SIZE>",
        ],
        "{section}"
    );
}
