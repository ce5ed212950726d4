//! The one table of aisloader's flags: every flag aisloader accepts today, plus the legacy ones
//! older scripts and charts still pass. Each row says how Go parses it, its default as Go
//! prints it (`DefValue`), what the front end does with it (implemented, a warning, or a
//! refusal), its `ringload run` equivalent and one help line. The parser, the usage text, the
//! argument dump and the documentation check all read this table.

use super::grammar::Kind;

/// What the front end does with a flag whose value differs from its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Implemented with aisloader's meaning.
    Implemented,
    /// Accepted; a one-line warning on stderr says why it changes nothing here.
    Warn(&'static str),
    /// Refused (exit 1), naming the flag and why.
    Refused(&'static str),
}

impl State {
    /// The state's name in the documentation table.
    pub fn label(self) -> &'static str {
        match self {
            State::Implemented => "implemented",
            State::Warn(_) => "warning",
            State::Refused(_) => "refused",
        }
    }
}

/// One aisloader flag.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    pub kind: Kind,
    /// Go's `DefValue`: the default as the argument dump prints it.
    pub default: &'static str,
    pub state: State,
    /// The `ringload run` equivalent (`-` when there is none).
    pub run: &'static str,
    pub help: &'static str,
    /// A flag aisloader no longer has, accepted for older command lines.
    pub legacy: bool,
}

const fn f(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    state: State,
    run: &'static str,
    help: &'static str,
) -> Flag {
    Flag {
        name,
        kind,
        default,
        state,
        run,
        help,
        legacy: false,
    }
}

const fn legacy(mut fl: Flag) -> Flag {
    fl.legacy = true;
    fl
}

use Kind::{Bool, Duration, DurationExt, Int, Str, TriBool, Uint};
use State::{Implemented as I, Refused as R, Warn as W};

const ETL: &str = "ETL is not supported yet; it comes with a later release (drop the flag)";

/// Every flag, sorted by name as Go's `VisitAll` orders them (the legacy ones last).
pub const FLAGS: &[Flag] = &[
    f("arch.format", Str, "", I, "--arch-format", "archive format of the shards PUT (aisloader: .tar, .tgz, .tar.gz, .zip, .tar.lz4; ringload builds .tar)"),
    f("arch.list", Bool, "false", I, "--arch-list", "list the files inside shards and GET them by archpath"),
    f("arch.maxsize", Str, "", I, "--arch-maxsize", "largest file inside a shard (size syntax; default 1MiB)"),
    f("arch.minsize", Str, "", I, "--arch-minsize", "smallest file inside a shard (size syntax; default 1KiB)"),
    f("arch.num-files", Int, "0", I, "--arch-num-files", "files per shard"),
    f("arch.pct", Int, "0", I, "--arch-pct", "percent of PUTs that create shards"),
    f("arch.prefix", Str, "", I, "--arch-prefix", "prefix of the names inside a shard"),
    f("bprops", Str, "", I, "--bprops JSON", "bucket properties (JSON) set before the run"),
    f("bucket", Str, "", I, "--bucket", "bucket name or URI (ais://b, s3://b); empty: a new random ais bucket"),
    f("cached", Bool, "false", I, "--cached", "remote bucket: list only the objects present in the cluster"),
    f("cksum-type", Str, "xxhash", I, "--cksum-type", "checksum type of the PUTs"),
    f("cleanup", TriBool, "false", I, "--cleanup", "destroy (ais) or empty (remote) the bucket at the end; required with -bucket"),
    f("cont-on-err", Bool, "false", I, "--cont-on-err", "GetBatch: a missing object comes back under __404__/ instead of failing the batch"),
    f("dry-run", Bool, "false", I, "-", "print the runtime configuration and exit"),
    f("duration", DurationExt, "1m0s", I, "--duration", "how long to run (Go duration); 0 = until another limit"),
    f("epochs", Uint, "0", I, "--epochs", "stop after this many passes over the names"),
    f("etl", Str, "", R(ETL), "-", "built-in ETL to apply on GET"),
    f("etl-spec", Str, "", R(ETL), "-", "ETL specification file"),
    f("evict-batchsize", Int, "1000", I, "--evict-batchsize", "cleanup of a remote bucket: names deleted per batch"),
    f("filelist", Str, "", I, "--filelist", "file with the object names to GET"),
    f("get-batchsize", Int, "0", I, "--get-batchsize", "GetBatch: objects per request (1..1000; 0 = plain GETs)"),
    f("getloaderid", Bool, "false", I, "--getloaderid", "print the loader id as 0x<hex> and exit"),
    f("ip", Str, "localhost", I, "--endpoint http://IP:PORT", "AIS proxy host"),
    f("json", Bool, "false", I, "-", "statistics as aisloader's JSON array"),
    f("latest", Bool, "false", I, "--latest", "GET with latest-ver=true"),
    f("list-dirs", Bool, "false", I, "--list-dirs", "remote bucket: list virtual directories too"),
    f("loaderid", Str, "0", I, "--loaderid", "this loader's id (a number, or any string with -loaderidhashlen)"),
    f("loaderidhashlen", Uint, "0", I, "--loaderidhashlen", "bits of XXH64(loaderid) used as the id"),
    f("loadernum", Uint, "0", I, "--loadernum", "number of loaders (deterministic names)"),
    f("maxputs", Uint, "0", I, "--maxputs", "stop after this many PUTs"),
    f("maxsize", Str, "", I, "--maxsize", "largest PUT size (default 1GiB)"),
    f("minsize", Str, "", I, "--minsize", "smallest PUT size (default 1MiB)"),
    f("mpdstream-chunk-size", Int, "0", I, "--mpdstream-chunk-size", "multipart download stream: bytes per ranged GET, a plain number (0 = 8 MiB)"),
    f("mpdstream-workers", Int, "0", I, "--mpdstream-workers", "multipart download stream: ranged GETs in flight (0 = 16)"),
    f("multipart-chunks", Int, "0", I, "--multipart-chunks", "multipart upload: parts per object (0 = no multipart uploads)"),
    f("nbi", Bool, "false", I, "--nbi", "remote bucket: list through the bucket inventory"),
    f("num-subdirs", Uint, "0", I, "--putshards", "spread PUTs over this many virtual directories"),
    f("numworkers", Int, "10", I, "--numworkers", "requests in flight"),
    f("pctmpdstream", Int, "0", I, "--pctmpdstream", "percent of GETs as multipart download streams"),
    f("pctmultipart", Int, "0", I, "--pctmultipart", "percent of PUTs as multipart uploads (needs -multipart-chunks)"),
    f("pctput", Int, "0", I, "--pctput", "percent of PUTs"),
    f("pctupdate", Int, "0", I, "--pctupdate", "orders that GET then PUT the same object: those whose hash (0..99) is at least -pctput and below this (none at or below a nonzero -pctput, with a warning)"),
    f("perm-shuffle-max", Uint, "100000", W("ringload's read order needs no shuffle threshold (every epoch reads each name once)"), "-", "names up to which aisloader shuffles rather than permutes"),
    f("port", Str, "8080", I, "--endpoint http://IP:PORT", "AIS proxy port"),
    f("provider", Str, "ais", I, "--bucket PROVIDER://NAME", "bucket provider (ais, aws, gcp, azure, oci)"),
    f("quiet", Bool, "false", I, "-", "do not print the argument dump"),
    f("randomname", Bool, "true", W("ringload names objects with 32 random letters only without -loadernum/-loaderidhashlen; for sequential names give -loadernum or -loaderidhashlen"), "-", "random object names (false: sequential)"),
    f("randomproxy", Bool, "false", I, "--random-proxy", "send each request to a random proxy of the cluster map"),
    f("readertype", Str, "sg", W("ringload always sends PUT content from memory"), "-", "PUT payload source (sg, file, rand)"),
    f("readlen", Str, "", I, "--readlen", "range GET length; empty or 0 = whole object"),
    f("readoff", Str, "", I, "--readoff", "range GET offset"),
    f("s3-use-path-style", Bool, "false", I, "--s3-addressing path", "path-style S3 addressing (needs -s3endpoint)"),
    f("s3endpoint", Str, "", I, "--s3endpoint", "direct S3 endpoint (default: S3_ENDPOINT)"),
    f("s3profile", Str, "", I, "AWS_PROFILE", "AWS profile of the credentials (default: AWS_PROFILE)"),
    f("seed", Int, "0", I, "--seed", "random seed; 0 = from the clock"),
    f("skiplist", Bool, "false", I, "-", "do not list the bucket (100% PUT only)"),
    f("stats-output", Str, "", I, "-", "write the statistics to this file"),
    f("statsdip", Str, "localhost", I, "--statsd HOST:PORT", "StatsD host"),
    f("statsdport", Int, "8125", I, "--statsd HOST:PORT", "StatsD port"),
    f("statsinterval", Int, "10", I, "--statsinterval", "seconds between statistics rows; 0 = only the final ones"),
    f("stoppable", Bool, "false", W("ringload always stops gracefully on SIGINT or SIGTERM and prints the final statistics"), "-", "stop gracefully on a signal"),
    f("subdir", Str, "", I, "--subdir", "name prefix of PUTs and listed GETs"),
    f("test-probe StatsD server prior to benchmarks", Bool, "false", W("StatsD is UDP: ringload sends without probing"), "-", "probe the StatsD server first"),
    f("timeout", Duration, "10m0s", I, "--timeout", "per-request timeout; 0 = none"),
    f("tmpdir", Str, "/tmp/ais", W("ringload always sends PUT content from memory and writes no temporary files"), "-", "directory for the file reader"),
    f("tokenfile", Str, "", I, "--token-file", "AuthN token file"),
    f("totalputsize", Str, "0", I, "--totalputsize", "stop after this many bytes PUT; 0 = no limit"),
    f("trace-http", Bool, "false", I, "--trace-http", "per-phase HTTP latency"),
    f("usage", Bool, "false", I, "--help", "print the usage and exit"),
    f("verifyhash", Bool, "false", I, "--verifyhash", "check GET content against its checksum"),
    f("version", Bool, "false", I, "--version", "print the version and exit"),
    legacy(f("batchsize", Int, "100", W("aisloader v1's list and delete batch: ringload lists with the server's page size; use -evict-batchsize for cleanup"), "-", "(legacy) list and delete batch size")),
    legacy(f("check-statsd", Bool, "false", W("StatsD is UDP: ringload sends without probing"), "-", "(legacy) probe the StatsD server first")),
    legacy(f("getconfig", Bool, "false", R("config GETs (aisloader v1's -getconfig) are not a ringload workload"), "-", "(legacy) GET the cluster config instead of objects")),
    legacy(f("putshards", Uint, "0", I, "--putshards", "(legacy) same as -num-subdirs")),
    legacy(f("uniquegets", Bool, "true", I, "--uniquegets", "(legacy) read every name once per epoch")),
];

/// The ringload extensions the front end accepts beyond aisloader's flags.
pub const EXTENSIONS: &[Flag] = &[f(
    "max-error-rate",
    Str,
    "",
    I,
    "--max-error-rate",
    "(ringload) exit 1 when errors / requests exceed this fraction",
)];

/// The flag called `name`, if there is one.
pub fn lookup(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().chain(EXTENSIONS).find(|fl| fl.name == name)
}

/// The `-X VALUE` a refusal or warning names: the flag as given.
pub fn shown(name: &str, value: &str, kind: Kind) -> String {
    match kind {
        Kind::Bool | Kind::TriBool if value == "true" => format!("-{name}"),
        _ => format!("-{name} {value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_current_aisloader_flag_is_here_once_and_sorted() {
        let current: Vec<&str> = FLAGS.iter().filter(|f| !f.legacy).map(|f| f.name).collect();
        assert_eq!(current.len(), 71);
        let mut sorted = current.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, current, "sorted and unique, as Go's VisitAll");
        assert_eq!(FLAGS.iter().filter(|f| f.legacy).count(), 5);
    }

    #[test]
    fn defaults_are_in_go_value_form() {
        for fl in FLAGS {
            if matches!(fl.kind, Kind::Str) {
                continue;
            }
            let canon = super::super::grammar::canonical(fl.kind, fl.default);
            assert_eq!(canon.as_deref(), Ok(fl.default), "{}", fl.name);
        }
    }

    #[test]
    fn the_documentation_lists_exactly_these_flags() {
        let doc = include_str!("../../docs/aisloader.md");
        // The rows of the flag table: from its header to the first line that is not a row.
        let table: Vec<&str> = doc
            .lines()
            .skip_while(|l| !l.starts_with("| flag |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .collect();
        let listed: Vec<&str> = table
            .iter()
            .filter_map(|l| l.strip_prefix("| `-"))
            .filter_map(|l| l.split('`').next())
            .collect();
        let want: Vec<&str> = FLAGS.iter().chain(EXTENSIONS).map(|f| f.name).collect();
        assert_eq!(listed, want);
        for fl in FLAGS.iter().chain(EXTENSIONS) {
            let row = table
                .iter()
                .find(|l| l.starts_with(&format!("| `-{}`", fl.name)))
                .copied()
                .unwrap_or_default();
            assert!(row.contains(fl.state.label()), "{}: {row}", fl.name);
        }
    }
}
