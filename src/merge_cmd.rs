//! `ringload merge`: run the library's merge on a results directory, write the outputs, print
//! the summary table, and map the outcome to an exit code (0 merged, also partially with
//! `--allow-partial`; 1 an incomplete run; 2 bad usage or input).

use std::path::Path;

use ringload_launcher::merge::model::ReportData;
use ringload_launcher::merge::{self, MergeOptions};

use crate::cli::MergeArgs;

/// Runs `ringload merge`; returns the exit code.
pub fn merge(a: MergeArgs) -> i32 {
    let opts = MergeOptions {
        resolution_ns: u64::try_from(a.resolution.as_nanos()).unwrap_or(u64::MAX),
        allow_partial: a.allow_partial,
    };
    let out_dir = a.out.clone().unwrap_or_else(|| a.results_dir.clone());
    let m = match merge::merge_dir(&a.results_dir, &opts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    if let Err(e) = merge::write_outputs(&out_dir, &m) {
        eprintln!("error: {e}");
        return e.exit_code();
    }
    if let Err(e) = write_plots(&out_dir, &m.report) {
        eprintln!(
            "error: cannot write the plots and report.html into {}: {e}",
            out_dir.display()
        );
        return 2;
    }
    print!("{}", m.summary_txt);
    if m.summary.partial {
        eprintln!(
            "warning: partial merge ({} of {} ranks); every output is marked partial",
            m.summary.ranks_present, m.summary.ranks_expected
        );
    }
    eprintln!(
        "wrote {} and {}",
        out_dir.join("summary.json").display(),
        out_dir.join("summary.txt").display()
    );
    0
}

/// Draws the SVG plots and report.html from the merge.
///
/// WIRE: this becomes `ringload_launcher::plot::write_all(out_dir, data)` when the plot
/// module lands (it is written in parallel from `merge::model`); until then the merge writes
/// summary.json and summary.txt only.
fn write_plots(out_dir: &Path, data: &ReportData) -> std::io::Result<()> {
    let _ = (out_dir, data);
    Ok(())
}
