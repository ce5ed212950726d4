//! `ringload merge`: run the library's merge on a results directory, write the outputs, print
//! the summary table ([`write`], which rank 0's streaming `--merge` shares). Its errors carry
//! their exit: 1 an incomplete run, 2 bad usage or input (a `--allow-partial` merge succeeds,
//! with a warning).

use std::path::Path;

use ringload_launcher::merge::{self, MergeOptions, MergeOutput};

use crate::cli::MergeArgs;
use crate::exit::CmdError;

/// A merge library error with the exit the library gives it.
pub fn merge_error(e: merge::MergeError) -> CmdError {
    CmdError::Msg {
        exit: e.exit_code(),
        msg: e.to_string(),
    }
}

/// Runs `ringload merge`.
pub fn merge(a: MergeArgs) -> Result<(), CmdError> {
    let opts = MergeOptions {
        resolution_ns: u64::try_from(a.resolution.as_nanos()).unwrap_or(u64::MAX),
        allow_partial: a.allow_partial,
        threads: a.threads.map_or_else(merge::online_cpus, |n| n as usize),
    };
    let out_dir = a.out.clone().unwrap_or_else(|| a.results_dir.clone());
    let m = merge::merge_dir(&a.results_dir, &opts).map_err(merge_error)?;
    write(&out_dir, &m)
}

/// Writes a merge's outputs into `out_dir` (summary.json, summary.txt, the plots and
/// report.html) and prints the summary table and what was written: `ringload merge` and
/// rank 0's `--merge` alike.
pub fn write(out_dir: &Path, m: &MergeOutput) -> Result<(), CmdError> {
    merge::write_outputs(out_dir, m).map_err(merge_error)?;
    if let Err(e) = ringload_launcher::plot::write_all(out_dir, &m.report) {
        return Err(CmdError::usage(format!(
            "cannot write the plots and report.html into {}: {e}",
            out_dir.display()
        )));
    }
    print!("{}", m.summary_txt);
    if m.summary.partial {
        eprintln!(
            "warning: partial merge ({} of {} ranks); every output is marked partial",
            m.summary.ranks_present, m.summary.ranks_expected
        );
    }
    eprintln!(
        "wrote summary.json, summary.txt, throughput.svg, latency.svg, spectrum.svg and \
         report.html into {}",
        out_dir.display()
    );
    Ok(())
}
