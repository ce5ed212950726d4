//! The aisloader front end: `ringload aisloader ARGS...`, or the binary called as `aisloader`.
//! It parses aisloader's command line with Go's `flag` rules, applies aisloader's defaults and
//! rules, and runs the same load as `ringload run`, printing aisloader's output.

/// What `run` needs to know when the aisloader front end started it.
#[derive(Debug, Clone, Default)]
pub struct Mode {
    /// The statistics stream's format and destination.
    pub output: ringload_engine::report::ais::AisOutput,
}
