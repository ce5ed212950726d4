//! The flags' states applied to a command line: a refused flag given a value other than its
//! default ends the plan naming it, a warned one gets its `warning:` line; and the settings
//! given where they cannot apply (aisloader ignores them silently) get one too, so that
//! nothing a user typed is dropped without a word; and the `-pctupdate` that can make updates.

use super::super::flags::{self, State};
use super::super::grammar::{self, Parsed};
use super::Stop;

pub(super) fn refusals_and_warnings(p: &Parsed, warnings: &mut Vec<String>) -> Result<(), Stop> {
    for (name, value) in &p.set {
        let Some(fl) = flags::lookup(name) else {
            continue;
        };
        if value == fl.default {
            continue;
        }
        // Names are deterministic (never random) with -loadernum or -loaderidhashlen.
        let deterministic = ["loadernum", "loaderidhashlen"]
            .iter()
            .any(|n| p.get(n).is_some_and(|v| v != "0"));
        if name == "randomname" && deterministic {
            continue;
        }
        let shown = flags::shown(name, value, fl.kind);
        match fl.state {
            State::Implemented => {}
            State::Warn(why) => warnings.push(format!("warning: {shown}: {why}")),
            State::Refused(why) => return Err(Stop::Error(format!("{shown}: {why}"))),
        }
    }
    Ok(())
}

/// `-evict-batchsize` without a cleanup that deletes in batches (`-cleanup=true` of a remote
/// bucket; an ais bucket is destroyed whole), and `-readoff` without `-readlen`.
pub(super) fn inapplicable(
    p: &Parsed,
    (cleanup, ais_bucket): (bool, bool),
    (readoff, readlen): (u64, u64),
    warnings: &mut Vec<String>,
) {
    let batch = p.get("evict-batchsize").map(grammar::parse_int);
    if let Some(Ok(n)) = batch.filter(|b| *b != Ok(1000)) {
        if !cleanup || ais_bucket {
            warnings.push(format!(
                "warning: -evict-batchsize={n}: used only by -cleanup=true of a remote bucket \
                 (an ais bucket is destroyed whole); it changes nothing here"
            ));
        }
    }
    if readoff > 0 && readlen == 0 {
        warnings.push(format!(
            "warning: -readoff={}: used only with -readlen; GETs read whole objects",
            p.get("readoff").unwrap_or_default()
        ));
    }
}

/// The `-pctupdate` the run gets: 0, with a warning, where aisloader's order makes no update.
/// aisloader draws one hash per order: a PUT below -pctput, an update from -pctput up to
/// -pctupdate, so at or below a nonzero -pctput no order updates; and with -get-batchsize
/// every GET is a batch, so no GET is an update. aisloader says nothing; ringload says so and
/// makes none (its `run` refuses both).
pub(super) fn updates_made(
    pctupdate: i64,
    pctput: i64,
    batch: i64,
    warnings: &mut Vec<String>,
) -> i64 {
    if pctupdate > 0 && pctput > 0 && pctupdate <= pctput {
        warnings.push(format!(
            "warning: -pctupdate={pctupdate}: with -pctput={pctput} no order is an update (an \
             order updates when its hash, 0..99, is at least -pctput and below -pctupdate); \
             none are made"
        ));
        0
    } else if pctupdate > 0 && batch > 0 {
        warnings.push(format!(
            "warning: -pctupdate={pctupdate}: with -get-batchsize every GET is a GetBatch, so \
             no GET is followed by an update; none are made"
        ));
        0
    } else {
        pctupdate
    }
}
