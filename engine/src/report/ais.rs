//! aisloader's output for the aisloader front end: its interval table, final table and JSON
//! stream, written where `-stats-output` says.

use std::path::PathBuf;

/// How the aisloader front end wants the run's statistics written.
#[derive(Debug, Clone, Default)]
pub struct AisOutput {
    /// `-json`: aisloader's JSON array instead of its table.
    pub json: bool,
    /// `-stats-output FILE`: the stream goes there instead of stdout.
    pub stats_output: Option<PathBuf>,
    /// `-statsinterval N` with N > 0: interval rows (or objects) every reporter interval;
    /// false (`-statsinterval 0`): only the final one.
    pub periodic: bool,
}
