//! What the front end prints itself, in aisloader's formats: the argument dump (Go's
//! `text/tabwriter` with TAB padding), `Found N existing objects`, `Runtime configuration:`
//! (3-space indented JSON in aisloader's key order), the BEWARE line, the usage text and the
//! trailer's `Actual run duration`. The statistics stream is the engine's (`report::ais`).

use ringload_engine::report::fmt::{go_duration, thousands};

use super::flags::FLAGS;
use super::grammar::Parsed;
use super::rules::{ArchShown, RuntimeConfig};

/// Go's usage hint, printed after a parse error and for `-h`.
pub const HINT: &str = "Run `aisloader` (for inline help), `aisloader version` (for version), \
                        or see 'docs/aisloader.md' for details and usage examples.";

/// aisloader's affine-permutation threshold: smaller name sets are always shuffled.
const AFFINE_MIN_N: u64 = 10;

/// The argument dump: every current aisloader flag, the defaulted ones then the custom ones,
/// then `HTTP trace`. `after` holds the values aisloader's `initParams` changed before it
/// prints (the seed it picked, the unlimited duration, ...), which the dump shows instead.
pub fn argument_dump(p: &Parsed, after: &[(&str, String)]) -> String {
    let value = |name: &str, default: &str| match after.iter().find(|(n, _)| *n == name) {
        Some((_, v)) => v.clone(),
        None => p.get(name).unwrap_or(default).to_string(),
    };
    let (mut defaults, mut custom) = (Vec::new(), Vec::new());
    for fl in FLAGS.iter().filter(|f| !f.legacy) {
        let v = value(fl.name, fl.default);
        let row = (format!("{}:", fl.name), v.clone());
        if v == fl.default {
            defaults.push(row);
        } else {
            custom.push(row);
        }
    }
    custom.push(("HTTP trace:".into(), value("trace-http", "false")));
    let mut out =
        String::from("==== COMMAND LINE ARGUMENTS ====\n=========== DEFAULTS ===========\n");
    out.push_str(&tab_block(&defaults));
    out.push_str("============ CUSTOM ============\n");
    out.push_str(&tab_block(&custom));
    out.push_str("=================================\n\n");
    out
}

/// One column block of Go's `tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)`: the first cells padded
/// with TABs to the block's widest cell plus one, rounded up to a multiple of 8.
fn tab_block(rows: &[(String, String)]) -> String {
    const TABWIDTH: usize = 8;
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let cellw = width.div_ceil(TABWIDTH) * TABWIDTH;
    let mut out = String::new();
    for (k, v) in rows {
        let tabs = (cellw - k.chars().count()).div_ceil(TABWIDTH);
        out.push_str(k);
        out.push_str(&"\t".repeat(tabs));
        out.push_str(v);
        out.push('\n');
    }
    out
}

/// aisloader's name-getter label for `names` listed names.
pub fn name_getter(c: &RuntimeConfig, names: u64) -> &'static str {
    let read_only = c.pctput == 0;
    if c.new_bucket || c.skiplist || c.random_gets {
        return "random non-unique";
    }
    match (read_only, c.epochs > 0) {
        (false, false) => "random non-unique",
        (false, true) => "random unique",
        _ if names > c.perm_shuffle_max && names > AFFINE_MIN_N => "unique epoch-based",
        _ => "unique sequential",
    }
}

/// `Found N existing objects` (when the bucket was listed) and `Runtime configuration:`
/// (aisloader's fields are `omitempty`: a zero or empty one is left out).
pub fn preamble(c: &RuntimeConfig, names: u64, listed: bool) -> String {
    let mut out = String::new();
    if listed && !c.new_bucket && !c.skiplist {
        let s = if names == 1 { "" } else { "s" };
        out.push_str(&format!(
            "Found {} existing object{s}\n\n",
            thousands(names)
        ));
    }
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut kv: Vec<(&str, String)> = vec![
        ("proxy", q(&c.proxy)),
        ("bucket", q(&c.bucket)),
        (
            "duration",
            q(&c.duration_ns.map_or("-".to_string(), go_duration)),
        ),
        ("# workers", c.workers.to_string()),
        (
            "stats interval",
            q(&go_duration(
                c.stats_interval_s.saturating_mul(1_000_000_000),
            )),
        ),
    ];
    if c.pctput != 0 {
        kv.push(("% PUT", c.pctput.to_string()));
    }
    if c.pctupdate != 0 {
        kv.push(("% Update Existing", c.pctupdate.to_string()));
    }
    if c.multipart_pct != 0 {
        kv.push(("% Multipart PUT", c.multipart_pct.to_string()));
    }
    if c.get_batch_size != 0 {
        kv.push(("GET(batch): batch size", c.get_batch_size.to_string()));
    }
    if c.pctput > 0 && c.minsize != 0 {
        kv.push(("minimum object size (bytes)", c.minsize.to_string()));
    }
    if c.pctput > 0 && c.maxsize != 0 {
        kv.push(("maximum object size (bytes)", c.maxsize.to_string()));
    }
    if c.put_upper_bound != 0 {
        kv.push(("PUT upper bound", q(&c.put_upper_bound.to_string())));
    }
    if let Some(a) = &c.arch {
        kv.push(("archive (shards)", arch_object(a)));
    }
    kv.push(("name-getter", q(name_getter(c, names))));
    if c.pctput > 0 && !c.reader_type.is_empty() {
        kv.push(("reader-type", q(&c.reader_type)));
    }
    kv.push(("cleanup", c.cleanup.to_string()));
    out.push_str("Runtime configuration:\n{\n");
    let body: Vec<String> = kv
        .iter()
        .map(|(k, v)| format!("   {}: {v}", q(k)))
        .collect();
    out.push_str(&body.join(",\n"));
    out.push_str("\n}\n\n");
    out
}

/// aisloader's `ppArch` as a nested object of the 3-space indented configuration.
fn arch_object(a: &ArchShown) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut kv: Vec<(&str, String)> = vec![("% workload", a.pct.to_string())];
    kv.push(("format", q(&a.format)));
    if !a.prefix.is_empty() {
        kv.push(("prefix", q(&a.prefix)));
    }
    if a.num_files != 0 {
        kv.push(("files per shard", a.num_files.to_string()));
    }
    kv.push(("minimum file size", a.minsize.to_string()));
    kv.push(("maximum file size", a.maxsize.to_string()));
    let body: Vec<String> = kv
        .iter()
        .map(|(k, v)| format!("      {}: {v}", q(k)))
        .collect();
    format!("{{\n{}\n   }}", body.join(",\n"))
}

/// With cleanup, the BEWARE line (after the configuration, and not in a dry run).
pub fn beware(c: &RuntimeConfig) -> String {
    if !c.cleanup {
        return String::new();
    }
    let what = if c.ais_bucket { "destroyed" } else { "emptied" };
    format!(
        "BEWARE: cleanup is enabled, bucket {} will be {what} upon termination!\n",
        c.bucket
    )
}

/// One of aisloader's cleanup lines: the local time as `HH:MM:SS`, a space, `what`.
pub fn clock_line(unix_ns: u64, what: &str) -> String {
    format!(
        "{} {what}\n",
        ringload_engine::report::fmt::local_hms(unix_ns)
    )
}

/// The trailer's last line, after the statistics.
pub fn actual_run_duration(ns: u64) -> String {
    format!("\nActual run duration: {}\n", go_duration(ns))
}

/// The full usage: what the front end is, then every flag from the table.
pub fn usage() -> String {
    let mut out = format!(
        "aisloader (ringload {} front end)\n\nAbout\n=====\nringload's aisloader front end: \
         aisloader's command line, rules and output, run by ringload's load engine.\nFor \
         usage, run: `aisloader`, or `aisloader usage`, or `aisloader --help`.\nEvery flag's \
         state and its `ringload run` equivalent: docs/aisloader.md\n\nCommand-line \
         options\n====================\n",
        ringload_core::VERSION
    );
    for fl in FLAGS {
        let state = match (fl.state, fl.run) {
            (super::flags::State::Implemented, "-") => String::new(),
            (super::flags::State::Implemented, run) => format!(" [run: {run}]"),
            (s, _) => format!(" [{}]", s.label()),
        };
        out.push_str(&format!(
            "  -{} {}\n    \t{}{state} (default {:?})\n",
            fl.name,
            kind_name(fl.kind),
            fl.help,
            fl.default
        ));
    }
    out.push_str(
        "  -max-error-rate float\n    \t(ringload) exit 1 when errors / requests exceed this \
         fraction\n\nExamples\n========\naisloader -bucket=ais://b -cleanup=false \
         -duration=30s -numworkers=16 -pctput=100 -minsize=4KiB -maxsize=4KiB\naisloader \
         -bucket=ais://b -cleanup=true -duration=30s -numworkers=16 -pctput=0\n",
    );
    out
}

fn kind_name(k: super::grammar::Kind) -> &'static str {
    use super::grammar::Kind;
    match k {
        Kind::Bool | Kind::TriBool => "",
        Kind::Int => "int",
        Kind::Uint => "uint",
        Kind::Duration | Kind::DurationExt => "duration",
        Kind::Str => "string",
    }
}

#[cfg(test)]
mod tests;
