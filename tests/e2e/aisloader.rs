//! The aisloader drop-in, end to end: the binary called as `aisloader` (a symlink in a scratch
//! directory) with aisloader's own command lines: Go-flag parse errors (exit 2), usage,
//! aisloader's rules (exit 1 with its note or `aisloader exited with error`), `-getloaderid`,
//! the argument dump of real runs against the built-in AIS cluster (2 proxies, 3 targets), the
//! invocations of AIStore's aisloader-composer script with their `-json -stats-output` files
//! read the way its result parser reads them, and the stages of aisloader's CI script that
//! use no ML path (its multipart and GetBatch stages are in `aisloader_ml`).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::cluster::Cluster;
use crate::common::{Ran, Scratch};

/// A scratch directory holding `aisloader` → the ringload test binary.
pub(crate) struct Link {
    dir: Scratch,
    exe: PathBuf,
}

pub(crate) fn aisloader_link() -> Link {
    let dir = Scratch::new("aisloader");
    let exe = dir.path().join("aisloader");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ringload"), &exe).unwrap();
    Link { dir, exe }
}

impl Link {
    pub(crate) fn run(&self, args: &[&str]) -> Ran {
        self.run_env(args, &[])
    }

    pub(crate) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let out = Command::new(&self.exe)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .env_remove("AIS_ENDPOINT")
            .env_remove("S3_ENDPOINT")
            .env_remove("AIS_AUTHN_TOKEN")
            .env_remove("RINGLOAD_DRIVER")
            .env_remove("RINGLOAD_DOC_CHECK")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Ran {
            cmd: format!("aisloader {}", args.join(" ")),
            out,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn parse_errors_exit_2_naming_the_flag_with_the_hint() {
    let a = aisloader_link();
    for (args, msg) in [
        (&["-nosuch=1"][..], "flag provided but not defined: -nosuch"),
        (&["-numworkers"], "flag needs an argument: -numworkers"),
        (
            &["-numworkers=ten"],
            "invalid value \"ten\" for flag -numworkers: parse error",
        ),
        (
            &["-json=yes"],
            "invalid boolean value \"yes\" for -json: parse error",
        ),
        (&["---bucket=b"], "bad flag syntax: ---bucket=b"),
        (&["-uniquegets=maybe"], "for -uniquegets"),
    ] {
        let r = a.run(args);
        r.check(r.code() == 2, "a parse error exits 2");
        r.check(r.stderr().contains(msg), msg);
        r.check(
            r.stdout().starts_with("Run `aisloader` (for inline help)"),
            "the usage hint",
        );
    }
    let r = a.run(&["-h"]);
    r.check(
        r.code() == 0 && r.stdout().contains("(for inline help)"),
        "-h",
    );
}

#[test]
fn no_arguments_print_the_usage() {
    let a = aisloader_link();
    for args in [&[][..], &["usage"], &["-json", "help"]] {
        let r = a.run(args);
        r.check(r.code() == 0, "usage exits 0");
        r.check(
            r.stdout().contains("  -bucket string\n"),
            "every flag listed",
        );
        r.check(
            r.stdout().contains("  -get-batchsize int\n"),
            "refused ones too",
        );
    }
    let r = a.run(&["version"]);
    r.check(
        r.code() == 0 && r.stdout().starts_with("version "),
        "version",
    );
}

#[test]
fn a_bucket_without_cleanup_is_aisloaders_note_and_exit_1() {
    let a = aisloader_link();
    let r = a.run(&["-bucket=ais://b", "-duration=1s"]);
    r.check(r.code() == 1, "exit 1");
    r.check(
        r.stdout().starts_with(
            "\nNote: `-cleanup` is a required option. Beware! When -cleanup=true the bucket \
             will be destroyed upon completion of the benchmark.\n      The option must be \
             specified in the command line, e.g.: `--cleanup=false`\n",
        ),
        "aisloader's note on stdout",
    );
}

#[test]
fn refused_flags_exit_1_naming_the_flag() {
    let a = aisloader_link();
    for (flag, shown) in [
        ("-etl=md5", "-etl md5: ETL"),
        ("-getconfig", "-getconfig: config GETs"),
    ] {
        let r = a.run(&["-bucket=ais://b", "-cleanup=false", "-duration=1s", flag]);
        r.check(r.code() == 1, "a refused flag exits 1");
        r.check(
            r.stderr()
                .contains(&format!("aisloader exited with error: {shown}")),
            shown,
        );
    }
    // The default value of a refused flag changes nothing.
    let r = a.run(&["-etl=", "-loaderid=7", "-getloaderid"]);
    r.check(
        r.code() == 0 && r.stdout().ends_with("0x7\n"),
        "default passes",
    );
}

#[test]
fn getloaderid_prints_the_id_without_a_connection() {
    let a = aisloader_link();
    for (args, want) in [
        (
            &[
                "-loaderid=loaderstring",
                "-loaderidhashlen=8",
                "-getloaderid",
            ][..],
            "0xdb\n",
        ),
        (&["-loaderid=10", "-getloaderid"], "0xa\n"),
    ] {
        let r = a.run(args);
        r.check(r.code() == 0, "exit 0");
        r.check(r.stdout().ends_with(want), want);
        r.check(!r.stdout().contains("COMMAND LINE ARGUMENTS"), "no dump");
    }
    // The same through `ringload aisloader`.
    let r = crate::common::ringload(&["aisloader", "-loaderid=10", "-getloaderid"]);
    r.check(
        r.code() == 0 && r.stdout().ends_with("0xa\n"),
        "ringload aisloader",
    );
}

/// `-ip` and `-port` of the cluster's first proxy.
pub(crate) fn ip_port(c: &Cluster) -> (String, String) {
    let hp = c.proxies[0].trim_start_matches("http://");
    let (ip, port) = hp.rsplit_once(':').unwrap();
    (format!("-ip={ip}"), format!("-port={port}"))
}

#[test]
fn the_argument_dump_and_runtime_configuration_of_real_runs() {
    let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let put = a.run(&[
        &ip,
        &port,
        "-pctput=100",
        "-totalputsize=256KiB",
        "-minsize=4KiB",
        "-maxsize=4KiB",
        "-bucket=ais://b",
        "-cleanup=false",
        "-numworkers=4",
        "-quiet",
    ]);
    put.ok();
    let out = put.stdout();
    put.check(!out.contains("COMMAND LINE ARGUMENTS"), "-quiet: no dump");
    put.check(
        out.contains(&format!(
            "Runtime configuration:\n{{\n   \"proxy\": \"{}\",\n   \"bucket\": \"ais://b\",\n   \
             \"duration\": \"-\",\n   \"# workers\": 4,\n   \"stats interval\": \"10s\",\n   \
             \"% PUT\": 100,\n   \"minimum object size (bytes)\": 4096,\n   \"maximum object \
             size (bytes)\": 4096,\n   \"PUT upper bound\": \"262144\",\n   \"name-getter\": \
             \"random non-unique\",\n   \"reader-type\": \"sg\",\n   \"cleanup\": false\n}}\n\n",
            c.proxies[0]
        )),
        "runtime configuration",
    );
    put.check(out.contains("\nActual run duration: "), "trailer");

    let get = a.run(&[
        &ip,
        &port,
        "-pctput=0",
        "-duration=2s",
        "-bucket=ais://b",
        "-cleanup=false",
        "-numworkers=4",
        "-statsinterval=1",
    ]);
    get.ok();
    let out = get.stdout();
    // aisloader seeds from the clock when -seed is 0, and its dump shows that seed.
    let seed_at = out.find("\nseed:\t\t").expect("a seed line under CUSTOM") + 1;
    let seed_line = out[seed_at..].lines().next().unwrap();
    let seed = seed_line.trim_start_matches("seed:\t\t");
    get.check(
        !seed.is_empty() && seed.bytes().all(|b| b.is_ascii_digit()) && seed != "0",
        "the seed aisloader picked",
    );
    let custom = format!(
        "============ CUSTOM ============\nbucket:\t\tais://b\nduration:\t2s\n{ip}\n\
         numworkers:\t4\n{port}\nseed:\t\t{seed}\nstatsinterval:\t1\nHTTP trace:\tfalse\n\
         =================================\n\n",
        ip = ip.replacen("-ip=", "ip:\t\t", 1),
        port = port.replacen("-port=", "port:\t\t", 1),
    );
    get.check(out.contains(&custom), "the CUSTOM block, byte for byte");
    // The interval rows of a real run, checked by column positions: time (10), op (6),
    // count (22) then TAB-separated cells.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.get(10..16) == Some("GET   "))
        .collect();
    get.check(rows.len() >= 2, "interval rows and the final row");
    for row in &rows {
        let b = row.as_bytes();
        let hms = b[..8].iter().enumerate().all(|(i, c)| {
            if i == 2 || i == 5 {
                *c == b':'
            } else {
                c.is_ascii_digit()
            }
        });
        get.check(hms && &row[8..10] == "  ", "HH:MM:SS then 2 spaces");
        let cells: Vec<&str> = row[16..].split('\t').collect();
        get.check(cells.len() == 5, "count, size, latency, throughput, errors");
        get.check(
            cells[0].chars().count() >= 22 && cells[1].chars().count() >= 22,
            "padded cells",
        );
        get.check(
            cells[2].chars().count() >= 36,
            "the latency cell is 36 wide",
        );
        get.check(
            cells[0]
                .trim_end()
                .split([' ', '(', ')'])
                .filter(|w| !w.is_empty())
                .all(|w| w.bytes().all(|c| c.is_ascii_digit() || c == b',')),
            "counts are numbers",
        );
    }
    // `Actual run duration` counts from the load's start: a 2s run, not the setup.
    let d = out
        .split("\nActual run duration: ")
        .nth(1)
        .and_then(|t| t.lines().next())
        .unwrap();
    let secs: f64 = d
        .strip_suffix('s')
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0);
    get.check(
        (2.0..2.8).contains(&secs),
        "Actual run duration close to 2s",
    );
    get.check(
        out.contains("\ncleanup:\t\t\t\t\tfalse\n"),
        "-cleanup=false listed under DEFAULTS",
    );
    get.check(
        out.contains("Found 64 existing objects\n\nRuntime configuration:"),
        "the listing count",
    );
    get.check(
        out.contains("\"name-getter\": \"unique sequential\""),
        "getter",
    );
}

#[test]
fn a_completed_run_exits_0_whatever_failed_unless_max_error_rate() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "1", "--fault", "500=1"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let args = |extra: &'static [&'static str]| {
        let mut v = vec![
            ip.clone(),
            port.clone(),
            "-bucket=ais://f".to_string(),
            "-cleanup=false".into(),
            "-pctput=100".into(),
            "-maxputs=20".into(),
            "-duration=2s".into(),
            "-minsize=1KiB".into(),
            "-maxsize=1KiB".into(),
            "-numworkers=2".into(),
            "-quiet".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |v: Vec<String>| a.run(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let r = run(args(&[]));
    r.check(r.code() == 0, "a completed run exits 0");
    r.check(
        r.stderr().contains("warning: all "),
        "the failure is a warning",
    );
    let r = run(args(&["-max-error-rate=0.5"]));
    r.check(r.code() == 1, "-max-error-rate is opt-in and exits 1");
    // A run error (nothing to read in a new bucket) is aisloader's exit 1.
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://new",
        "-cleanup=false",
        "-pctput=0",
        "-duration=1s",
    ]);
    r.check(r.code() == 1, "exit 1");
    r.check(
        r.stderr().contains("aisloader exited with error: "),
        "aisloader's prefix",
    );
    // -dry-run stops after the runtime configuration.
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://f",
        "-cleanup=false",
        "-pctput=100",
        "-duration=1s",
        "-dry-run",
        "-quiet",
    ]);
    r.check(r.code() == 0, "dry run exits 0");
    r.check(
        r.stdout().contains("Runtime configuration:"),
        "config printed",
    );
    r.check(!r.stdout().contains("Actual run duration"), "no run");
}

/// The built-in S3 target with SigV4 keys and one bucket, killed on drop.
struct S3Target(std::process::Child, String);

impl S3Target {
    fn start() -> S3Target {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringload"))
            .args(["serve", "--protocol", "s3", "--bucket", "bkt"])
            .args(["--access-key", "AK", "--secret-key", "SK"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let url = v["url"].as_str().unwrap().to_string();
        S3Target(child, url)
    }
}

impl Drop for S3Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn direct_s3_with_s3endpoint_or_s3_endpoint() {
    let s3 = S3Target::start();
    let a = aisloader_link();
    let keys = [("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")];
    let endpoint = format!("-s3endpoint={}", s3.1);
    let load = [
        "-bucket=s3://bkt",
        "-duration=1s",
        "-pctput=50",
        "-minsize=1KiB",
    ];
    let mut args: Vec<&str> = load.to_vec();
    args.extend([
        endpoint.as_str(),
        "-s3-use-path-style",
        "-numworkers=2",
        "-quiet",
    ]);
    let r = a.run_env(&args, &keys);
    r.ok();
    r.check(
        r.stdout().contains("   \"proxy\": \"\",\n"),
        "no proxy in S3 mode",
    );
    // S3_ENDPOINT works the same, and without -s3-use-path-style an IP endpoint is addressed
    // path-style, as the AWS SDK's endpoint rules do.
    let mut env = keys.to_vec();
    env.push(("S3_ENDPOINT", s3.1.as_str()));
    let r = a.run_env(&[&load[..], &["-numworkers=2"]].concat(), &env);
    r.ok();
    r.check(
        r.stdout().contains(&format!("s3endpoint:\t{}\n", s3.1)),
        "the dump shows S3_ENDPOINT as -s3endpoint",
    );
    let r = a.run_env(&[&load[..], &["-quiet", "-verifyhash"]].concat(), &env);
    r.check(r.code() == 1, "S3 mode refuses -verifyhash");
    // -getloaderid needs no credentials in S3 mode; random names get aisloader's warning.
    let r = a.run(&[
        endpoint.as_str(),
        "-pctput=100",
        "-getloaderid",
        "-loaderid=11",
    ]);
    r.check(
        r.code() == 0 && r.stdout().ends_with("\n0xb\n"),
        "the id, no credentials",
    );
    r.check(
        r.stderr()
            .contains("Warning: loaderID 0xb used only for StatsD, not for object names!"),
        "aisloader's warning",
    );
}

/// aisloader_script.sh's S3 invocation (`-s3endpoint=URL` instead of `-ip/-port/-randomproxy`,
/// a plain bucket name), PUT then GET, read back with the composer-style parser.
#[test]
fn the_composer_s3_invocation() {
    let s3 = S3Target::start();
    let a = aisloader_link();
    let keys = [("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")];
    let (_udp, sport) = statsd();
    let common = |out: &Path| -> Vec<String> {
        vec![
            format!("-loaderid={}", ringload_host()),
            "-loaderidhashlen=8".into(),
            "-bucket=bkt".into(),
            "-cleanup=false".into(),
            "-json".into(),
            format!("-stats-output={}", out.display()),
            "-statsdip=127.0.0.1".into(),
            format!("-statsdport={sport}"),
            "-numworkers=4".into(),
        ]
    };
    let put_file = a.path("out/bkt-put-host.json");
    let mut args = common(&put_file);
    args.extend(
        [
            "-totalputsize=256KiB",
            "-minsize=16KiB",
            "-maxsize=16KiB",
            "-pctput=100",
            "-skiplist",
        ]
        .map(String::from),
    );
    args.push(format!("-s3endpoint={}", s3.1));
    let r = a.run_env(&args.iter().map(String::as_str).collect::<Vec<_>>(), &keys);
    r.ok();
    let summary = parse_like_composer("put", &[&put_file]);
    assert!(summary.starts_with("put: min "), "{summary}");
    let get_file = a.path("out/bkt-get-host.json");
    let mut args = common(&get_file);
    args.extend(["-duration=1s", "-pctput=0"].map(String::from));
    args.push(format!("-s3endpoint={}", s3.1));
    let r = a.run_env(&args.iter().map(String::as_str).collect::<Vec<_>>(), &keys);
    r.ok();
    r.check(
        r.stdout().contains("Found 16 existing objects"),
        "the GET run listed the PUT objects",
    );
    let summary = parse_like_composer("get", &[&get_file]);
    assert!(summary.starts_with("get: min "), "{summary}");
}

/// The UDP socket a test's StatsD receiver reads.
fn statsd() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let port = s.local_addr().unwrap().port();
    (s, port)
}

fn parse_like_composer(bench_type: &str, files: &[&Path]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/data/parse_results_like.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(bench_type)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the composer-style parser failed on {files:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// aisloader_script.sh's arguments: the common ones, then PUT or GET ones, then the AIS ones.
fn composer_args(c: &Cluster, out: &Path, port: u16, bench: &[&str]) -> Vec<String> {
    let host = ringload_host();
    let (ip, p) = ip_port(c);
    let mut v = vec![
        format!("-loaderid={host}"),
        "-loaderidhashlen=8".into(),
        "-bucket=ais://composer".into(),
        "-cleanup=false".into(),
        "-json".into(),
        format!("-stats-output={}", out.display()),
        "-statsdip=127.0.0.1".into(),
        format!("-statsdport={port}"),
        "-numworkers=4".into(),
    ];
    v.extend(bench.iter().map(|s| s.to_string()));
    v.extend([ip, p, "-randomproxy".into()]);
    v
}

fn ringload_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

#[test]
fn the_composer_invocations_and_its_result_parser() {
    let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
    let a = aisloader_link();
    let (_put_udp, sport) = statsd();
    let put_file = a.path("out/composer-put-host.json");
    let args = composer_args(
        &c,
        &put_file,
        sport,
        &[
            "-totalputsize=512KiB",
            "-minsize=16KiB",
            "-maxsize=16KiB",
            "-pctput=100",
            "-skiplist",
        ],
    );
    let r = a.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    r.ok();
    let summary = parse_like_composer("put", &[&put_file]);
    assert!(summary.starts_with("put: min "), "{summary}");

    let get_file = a.path("out/composer-get-host.json");
    let (udp, sport) = statsd();
    let args = composer_args(&c, &get_file, sport, &["-duration=2s", "-pctput=0"]);
    let r = a.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    r.ok();
    r.check(
        r.stdout()
            .contains(&format!("Stats written to {}", get_file.display())),
        "the trailer names the stats file",
    );
    parse_like_composer("get", &[&get_file]);
    // -randomproxy spread the requests over both proxies.
    for p in &c.proxies {
        assert!(
            Cluster::redirects(std::slice::from_ref(p)) > 0,
            "{p} got no requests"
        );
    }
    // StatsD of the GET run: aisloader's metric names and types under
    // aisloader.<host>-<loader id>, and the get counters add up to the file's final count.
    let final_count = final_json(&get_file)["get"]["count"]
        .as_str()
        .map(|s| s.parse::<u64>().unwrap())
        .or_else(|| final_json(&get_file)["get"]["count"].as_u64())
        .unwrap();
    let prefix = format!("aisloader.{}-", ringload_host());
    let (mut gets, mut kinds) = (0u64, std::collections::BTreeSet::new());
    udp.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 65536];
    while let Ok(n) = udp.recv(&mut buf) {
        for line in String::from_utf8_lossy(&buf[..n]).lines() {
            assert!(line.starts_with(&prefix), "{line}");
            let (name, value) = line.split_once(':').unwrap();
            let metric = name.rsplit_once('.').unwrap().1;
            let series = name.rsplit('.').nth(1).unwrap();
            let kind = value.split('|').nth(1).unwrap();
            kinds.insert(format!("{series}.{metric}|{kind}"));
            if series == "get" && metric == "count" {
                gets += value.split('|').next().unwrap().parse::<u64>().unwrap();
            }
        }
    }
    for want in [
        "get.count|c",
        "get.pending|g",
        "get.latency|ms",
        "get.minlatency|ms",
        "get.maxlatency|ms",
        "get.throughput|g",
        "put.count|c",
    ] {
        assert!(kinds.contains(want), "{want} missing from {kinds:?}");
    }
    assert_eq!(
        gets, final_count,
        "the get counters add up to the run's count"
    );
}

/// The last object of a `-json -stats-output` file.
pub(crate) fn final_json(path: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.as_array().unwrap().last().unwrap().clone()
}

/// One row of aisloader's final table (after the last header, before `Stats written`).
pub(crate) struct FinalRow {
    pub(crate) count: u64,
    pub(crate) errors: u64,
}

/// The final table's row for `op`, read by whitespace-separated columns as a script would:
/// `Time OP Count Size Latency(3) Throughput Errors`. Panics when there is none.
pub(crate) fn final_row(stdout: &str, op: &str) -> FinalRow {
    let table = stdout
        .rsplit_once("Time      OP    Count")
        .map(|(_, t)| t)
        .expect("a final table header");
    let table = table.split("Stats written").next().unwrap();
    let row = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(op))
        .unwrap_or_else(|| panic!("no final {op} row in {table}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    let num = |s: &str| s.replace(',', "").parse::<u64>().unwrap();
    FinalRow {
        count: num(cols[2]),
        errors: num(cols[cols.len() - 1]),
    }
}

#[test]
fn the_ci_stages_without_the_ml_paths() {
    let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let common = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![ip.clone(), port.clone(), "-bucket=ci".into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(["-provider=ais".into(), "--quiet".into()]);
        v
    };
    let run = |args: Vec<String>| a.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // Stage 1: populate (sizes scaled down from 1-10MiB and 10GiB).
    let r = run(common(&[
        "-duration=3s",
        "-pctput=100",
        "-maxsize=64KiB",
        "-minsize=8KiB",
        "-totalputsize=2MiB",
        "-cleanup=false",
        "-numworkers=4",
    ]));
    r.ok();
    r.check(r.stdout().contains("Actual run duration: "), "stage 1 ran");
    let put = final_row(&r.stdout(), "PUT");
    r.check(put.count > 0 && put.errors == 0, "stage 1's final PUT row");
    // Stage 2 (multipart) and stages 4 and 5 (GetBatch): aisloader_ml.rs.
    // Stage 3: mixed 10% PUT.
    let r = run(common(&[
        "-duration=2s",
        "-pctput=10",
        "-maxsize=64KiB",
        "-minsize=8KiB",
        "-cleanup=false",
        "-numworkers=4",
    ]));
    r.ok();
    r.check(r.stdout().contains("\"% PUT\": 10,"), "stage 3 config");
    let (get, put) = (final_row(&r.stdout(), "GET"), final_row(&r.stdout(), "PUT"));
    r.check(
        get.count > 0 && get.errors == 0 && put.errors == 0,
        "stage 3's final GET and PUT rows",
    );
    // The same stage collected as the composer collects a run (-json -stats-output), read by
    // the composer-style parser.
    let dir = Scratch::new("aisloader-ci-stage3");
    let file = dir.path().join("stage3.json");
    let mut args = common(&[
        "-duration=2s",
        "-pctput=10",
        "-maxsize=64KiB",
        "-minsize=8KiB",
        "-cleanup=false",
        "-numworkers=4",
        "-json",
    ]);
    args.push(format!("-stats-output={}", file.display()));
    run(args).ok();
    for bench in ["get", "put"] {
        let out = parse_like_composer(bench, &[&file]);
        assert!(out.starts_with(&format!("{bench}: min ")), "{out}");
    }
}

#[test]
fn duration_zero_validates_dumps_and_cleans_up() {
    let a = aisloader_link();
    // Validation first, as aisloader.
    let r = a.run(&["-duration", "0", "-pctput=500"]);
    r.check(r.code() == 1, "exit 1");
    r.check(
        r.stderr()
            .contains("aisloader exited with error: invalid option: PUT percent 500"),
        "aisloader's message",
    );
    // -getloaderid before the no-op.
    let r = a.run(&["-duration", "0", "-getloaderid", "-loaderid=10"]);
    r.check(r.code() == 0 && r.stdout() == "0xa\n", "the id");
    let c = Cluster::start(&["--proxies", "1", "--targets", "1"]);
    let (ip, port) = ip_port(&c);
    let fill = a.run(&[
        &ip,
        &port,
        "-bucket=ais://zz",
        "-cleanup=false",
        "-pctput=100",
        "-maxputs=4",
        "-numworkers=2",
        "-minsize=1KiB",
        "-maxsize=1KiB",
        "-quiet",
    ]);
    fill.ok();
    // The no-op: the dump, nothing loaded.
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://zz",
        "-cleanup=false",
        "-duration=0",
    ]);
    r.ok();
    r.check(
        r.stdout().contains("==== COMMAND LINE ARGUMENTS ===="),
        "the dump",
    );
    r.check(!r.stdout().contains("Runtime configuration"), "no load");
    // The cleanup-only run destroys the bucket, with aisloader's two lines.
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://zz",
        "-cleanup=true",
        "-duration=0",
        "-quiet",
    ]);
    r.ok();
    let stdout = r.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    let hms = |l: &str, what: &str| {
        l.len() == 9 + what.len()
            && l.ends_with(&format!(" {what}"))
            && l.as_bytes()[2] == b':'
            && l.as_bytes()[5] == b':'
    };
    r.check(
        lines.len() == 2 && hms(lines[0], "Cleaning up...") && hms(lines[1], "Done"),
        "HH:MM:SS Cleaning up... / HH:MM:SS Done on stdout",
    );
    r.check(!r.stdout().contains("BEWARE"), "no BEWARE without a load");
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://zz",
        "-cleanup=false",
        "-pctput=0",
        "-duration=1s",
    ]);
    r.check(r.code() == 1, "the bucket is gone");
    r.check(
        r.stderr()
            .contains("aisloader exited with error: new bucket, expecting 100% PUT"),
        "aisloader's new-bucket message",
    );
}

#[test]
fn statsinterval_zero_writes_only_the_final_object_and_statsd_failure_carries_on() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "1"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let file = a.path("s.json");
    let stats = format!("-stats-output={}", file.display());
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://si",
        "-cleanup=true",
        "-pctput=100",
        "-duration=2s",
        "-statsinterval=0",
        "-numworkers=2",
        "-minsize=1KiB",
        "-maxsize=1KiB",
        "-json",
        &stats,
        "-statsdip=nonexistent.invalid",
        "-quiet",
    ]);
    r.ok();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "only the final object: {v}");
    r.check(
        r.stdout().contains("Failed to connect to StatsD server"),
        "aisloader's StatsD line",
    );
    r.check(
        r.stdout().contains("BEWARE: cleanup is enabled"),
        "cleanup announced",
    );
    let out = r.stdout();
    let done = out.find(" Done\n").expect("the Done line");
    let cleaning = out.find(" Cleaning up...\n").expect("the Cleaning up line");
    let actual = out.find("\nActual run duration: ").expect("the trailer");
    r.check(
        cleaning < done && done < actual,
        "cleanup lines before the trailer",
    );
    // A dry run with cleanup prints no BEWARE line.
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://si",
        "-cleanup=true",
        "-pctput=100",
        "-duration=1s",
        "-dry-run",
        "-quiet",
    ]);
    r.ok();
    r.check(!r.stdout().contains("BEWARE"), "no BEWARE in a dry run");
}

#[test]
fn maxputs_below_numworkers_exits_1_as_aisloader() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "1"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let r = a.run(&[
        &ip,
        &port,
        "-bucket=ais://mp",
        "-cleanup=false",
        "-pctput=100",
        "-maxputs=2",
        "-numworkers=4",
        "-duration=2s",
        "-minsize=1KiB",
        "-maxsize=1KiB",
        "-quiet",
    ]);
    r.check(r.code() == 1, "exit 1");
    r.check(
        r.stdout().contains("Actual run duration"),
        "the final stats first",
    );
    r.check(
        r.stderr().contains(
            "aisloader exited with error: number of PUT objects reached '--maxputs' limit (2)",
        ),
        "aisloader's error",
    );
}

#[test]
fn latest_reaches_the_targets_through_the_front_end() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "2"]);
    let a = aisloader_link();
    let (ip, port) = ip_port(&c);
    let base = [
        ip.as_str(),
        port.as_str(),
        "-bucket=ais://lt",
        "-numworkers=2",
        "-quiet",
    ];
    let put = [
        &base[..],
        &[
            "-pctput=100",
            "-maxputs=20",
            "-minsize=4KiB",
            "-maxsize=4KiB",
            "-cleanup=false",
        ],
    ]
    .concat();
    a.run(&put).ok();
    // -getloaderid and -dry-run take it too (no protocol is resolved there).
    let r = a.run(&[&base[..], &["-latest", "-getloaderid", "-cleanup=false"]].concat());
    r.check(
        r.code() == 0 && r.stdout().ends_with("\n0x0\n"),
        "getloaderid",
    );
    let get = [
        &base[..],
        &["-pctput=0", "-epochs=1", "-latest", "-cleanup=true"],
    ]
    .concat();
    let r = a.run(&get);
    r.ok();
    let latest: u64 = c
        .targets
        .iter()
        .map(|t| Cluster::stats(t)["latest_ver"].as_u64().unwrap())
        .sum();
    r.check(
        latest == 20,
        &format!("20 GETs asked for the latest version, got {latest}"),
    );
}
