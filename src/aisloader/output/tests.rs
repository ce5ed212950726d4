//! Unit tests of what the front end prints around the load, byte for byte: the argument dump
//! (Go's tabwriter), `Runtime configuration`, the usage and the trailer lines.

use super::*;
use crate::aisloader::grammar::{parse, Kind};

fn parsed(args: &[&str]) -> Parsed {
    let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse(&v, |n| crate::aisloader::flags::lookup(n).map(|f| f.kind)).unwrap()
}

#[test]
fn the_argument_dump_pads_with_tabs_like_go_tabwriter() {
    let p = parsed(&[
        "-bucket=ais://b",
        "-cleanup=false",
        "-numworkers=4",
        "-pctput=100",
        "-minsize=4KiB",
        "-duration",
        "90s",
    ]);
    let dump = argument_dump(&p, &[]);
    // The DEFAULTS block's widest first cell is the 46-character test-probe flag: width 47,
    // rounded up to 48, so `arch.format:` (12) gets ceil(36/8) = 5 TABs and `cleanup:` (8)
    // gets 5 TABs; -cleanup=false equals its default, so it is listed there.
    assert!(dump.starts_with(
        "==== COMMAND LINE ARGUMENTS ====\n=========== DEFAULTS ===========\narch.format:\t\t\t\t\t\n\
         arch.list:\t\t\t\t\tfalse\n"
    ));
    assert!(dump.contains("\ncleanup:\t\t\t\t\tfalse\n"));
    assert!(dump.contains("\ntest-probe StatsD server prior to benchmarks:\tfalse\n"));
    assert!(dump.contains("\nevict-batchsize:\t\t\t\t1000\n"));
    // CUSTOM: widest `numworkers:` (11) + 1 = 12 → 16; `HTTP trace:` (11) joins the block.
    let custom = "============ CUSTOM ============\n\
                  bucket:\t\tais://b\n\
                  duration:\t1m30s\n\
                  minsize:\t4KiB\n\
                  numworkers:\t4\n\
                  pctput:\t\t100\n\
                  HTTP trace:\tfalse\n\
                  =================================\n\n";
    assert!(dump.ends_with(custom), "{dump}");
    assert_eq!(dump.lines().count(), 2 + 66 + 1 + 6 + 2);
}

#[test]
fn a_lone_short_custom_block_rounds_to_one_tab_stop() {
    let dump = argument_dump(&parsed(&["-json"]), &[]);
    assert!(dump.ends_with(
        "============ CUSTOM ============\njson:\t\ttrue\nHTTP trace:\tfalse\n=================================\n\n"
    ));
}

fn config() -> RuntimeConfig {
    RuntimeConfig {
        proxy: "http://127.0.0.1:8080".into(),
        bucket: "ais://b".into(),
        duration_ns: Some(60_000_000_000),
        workers: 10,
        stats_interval_s: 10,
        perm_shuffle_max: 100_000,
        reader_type: "sg".into(),
        ais_bucket: true,
        ..RuntimeConfig::default()
    }
}

#[test]
fn runtime_configuration_in_aisloader_key_order() {
    let got = preamble(&config(), 1234, true);
    assert_eq!(
        got,
        "Found 1,234 existing objects\n\nRuntime configuration:\n{\n   \"proxy\": \
         \"http://127.0.0.1:8080\",\n   \"bucket\": \"ais://b\",\n   \"duration\": \"1m0s\",\n   \
         \"# workers\": 10,\n   \"stats interval\": \"10s\",\n   \"name-getter\": \"unique \
         sequential\",\n   \"cleanup\": false\n}\n\n"
    );
    let c = RuntimeConfig {
        pctput: 100,
        minsize: 4096,
        maxsize: 8192,
        put_upper_bound: 1 << 20,
        duration_ns: None,
        stats_interval_s: 0,
        cleanup: true,
        new_bucket: true,
        ..config()
    };
    assert_eq!(
        preamble(&c, 0, true),
        "Runtime configuration:\n{\n   \"proxy\": \"http://127.0.0.1:8080\",\n   \"bucket\": \
         \"ais://b\",\n   \"duration\": \"-\",\n   \"# workers\": 10,\n   \"stats interval\": \
         \"0s\",\n   \"% PUT\": 100,\n   \"minimum object size (bytes)\": 4096,\n   \"maximum \
         object size (bytes)\": 8192,\n   \"PUT upper bound\": \"1048576\",\n   \"name-getter\": \
         \"random non-unique\",\n   \"reader-type\": \"sg\",\n   \"cleanup\": true\n}\n\n"
    );
    assert_eq!(
        beware(&c),
        "BEWARE: cleanup is enabled, bucket ais://b will be destroyed upon termination!\n"
    );
    assert_eq!(beware(&config()), "");
    // omitempty: a zero size and an empty reader type are left out.
    let c = RuntimeConfig {
        minsize: 0,
        reader_type: String::new(),
        ..c
    };
    let got = preamble(&c, 0, true);
    assert!(!got.contains("minimum object size"), "{got}");
    assert!(!got.contains("reader-type"), "{got}");
    assert!(
        got.contains("\"maximum object size (bytes)\": 8192,\n"),
        "{got}"
    );
    assert!(preamble(&config(), 1, true).starts_with("Found 1 existing object\n\n"));
    assert!(preamble(&config(), 5, false).starts_with("Runtime configuration:"));
}

/// aisloader's `printRunParams` for a run with every ML path, written out from its
/// `ppEssential`/`ppArch` order and `MarshalIndent(v, "", "   ")`.
#[test]
fn runtime_configuration_with_the_ml_paths() {
    let c = RuntimeConfig {
        pctput: 40,
        minsize: 4096,
        maxsize: 4096,
        multipart_pct: 20,
        get_batch_size: 64,
        arch: Some(crate::aisloader::rules::ArchShown {
            pct: 10,
            format: ".tar".into(),
            prefix: "trunk-".into(),
            num_files: 5,
            minsize: 1024,
            maxsize: 4096,
        }),
        ..config()
    };
    assert_eq!(
        preamble(&c, 7, false),
        "Runtime configuration:\n{\n   \"proxy\": \"http://127.0.0.1:8080\",\n   \"bucket\": \
         \"ais://b\",\n   \"duration\": \"1m0s\",\n   \"# workers\": 10,\n   \"stats \
         interval\": \"10s\",\n   \"% PUT\": 40,\n   \"% Multipart PUT\": 20,\n   \"GET(batch): \
         batch size\": 64,\n   \"minimum object size (bytes)\": 4096,\n   \"maximum object size \
         (bytes)\": 4096,\n   \"archive (shards)\": {\n      \"% workload\": 10,\n      \
         \"format\": \".tar\",\n      \"prefix\": \"trunk-\",\n      \"files per shard\": 5,\n      \
         \"minimum file size\": 1024,\n      \"maximum file size\": 4096\n   },\n   \
         \"name-getter\": \"random non-unique\",\n   \"reader-type\": \"sg\",\n   \"cleanup\": \
         false\n}\n\n"
    );
    // omitempty in the shard object: no prefix, and a dynamic number of files (0).
    let c = RuntimeConfig {
        arch: Some(crate::aisloader::rules::ArchShown {
            pct: 100,
            format: ".tar".into(),
            prefix: String::new(),
            num_files: 0,
            minsize: 1024,
            maxsize: 1 << 20,
        }),
        ..config()
    };
    assert!(preamble(&c, 7, false).contains(
        "   \"archive (shards)\": {\n      \"% workload\": 100,\n      \"format\": \".tar\",\n      \
         \"minimum file size\": 1024,\n      \"maximum file size\": 1048576\n   },\n"
    ));
}

#[test]
fn name_getters_follow_aisloader() {
    let c = config();
    assert_eq!(name_getter(&c, 100_001), "unique epoch-based");
    assert_eq!(name_getter(&c, 100_000), "unique sequential");
    let mixed = RuntimeConfig {
        pctput: 50,
        ..config()
    };
    assert_eq!(name_getter(&mixed, 5), "random non-unique");
    let epochs = RuntimeConfig { epochs: 2, ..mixed };
    assert_eq!(name_getter(&epochs, 5), "random unique");
}

#[test]
fn trailer_and_usage() {
    assert_eq!(
        actual_run_duration(10_313_689_487),
        "\nActual run duration: 10.313689487s\n"
    );
    let u = usage();
    for fl in crate::aisloader::flags::FLAGS {
        assert!(u.contains(&format!("  -{} ", fl.name)), "{}", fl.name);
    }
    assert_eq!(kind_name(Kind::Uint), "uint");
}

#[test]
fn cleanup_lines_are_the_local_time_then_the_text() {
    let line = clock_line(0, "Done");
    let b = line.as_bytes();
    assert_eq!(line.len(), "HH:MM:SS Done\n".len(), "{line:?}");
    assert!(
        b[..8].iter().enumerate().all(|(i, c)| if i == 2 || i == 5 {
            *c == b':'
        } else {
            c.is_ascii_digit()
        }),
        "{line:?}"
    );
    assert!(line.ends_with(" Done\n"), "{line:?}");
}

#[test]
fn the_dump_shows_the_values_after_aisloaders_init() {
    let dump = argument_dump(&parsed(&["-pctput=100"]), &[("seed", "123456789".into())]);
    let custom = dump
        .split("============ CUSTOM ============\n")
        .nth(1)
        .unwrap();
    assert!(custom.contains("seed:\t\t123456789\n"), "{custom}");
    assert!(
        !dump.split("CUSTOM").next().unwrap().contains("seed:"),
        "{dump}"
    );
}
