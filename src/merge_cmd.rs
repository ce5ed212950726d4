//! `ringload merge`: run the library's merge on a results directory, write the outputs, print
//! the summary table, and map the outcome to an exit code (0 merged, also partially with
//! `--allow-partial`; 1 an incomplete run; 2 bad usage or input).

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
    if let Err(e) = ringload_launcher::plot::write_all(&out_dir, &m.report) {
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
        "wrote summary.json, summary.txt, throughput.svg, latency.svg, spectrum.svg and \
         report.html into {}",
        out_dir.display()
    );
    0
}
