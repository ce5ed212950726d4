//! The process exit codes ([`Exit`]), documented in `--help` and the README. They live here so
//! that every crate that ends a process or classifies a failure (the command line, the
//! engine's second-signal exit, the launcher's merge errors) names the same values; no other
//! file names an exit code as a number.

/// The process exit codes.
///
/// `Ok`, `Failed` and `Usage` are the verdicts of a command and order by severity
/// (`Ok < Failed < Usage`), so a command combines them with `max`. `Interrupted` (130, the
/// shell's code for death by SIGINT) is not a verdict: it is only the immediate exit of a run
/// given a second stop signal, which ends the process without combining anything. It orders
/// above the three verdicts, so a `max` that met it would keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Success (also `--help`, and a signal that stopped `ringload serve`).
    Ok = 0,
    /// The command ran and failed: no connection, nothing succeeded, errors above
    /// `--max-error-rate`, missing or failed ranks, a result that could not be written.
    Failed = 1,
    /// Bad usage or bad input (clap's own code for a bad flag), or a run too big for this
    /// machine's descriptors, memory or local ports.
    Usage = 2,
    /// A second stop signal during a run: the process exits at once, writing nothing more.
    Interrupted = 130,
}

impl Exit {
    /// The code the process exits with.
    #[inline]
    pub const fn code(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones_and_order_by_severity() {
        assert_eq!(
            [Exit::Ok, Exit::Failed, Exit::Usage, Exit::Interrupted].map(Exit::code),
            [0, 1, 2, 130]
        );
        assert!(Exit::Ok < Exit::Failed && Exit::Failed < Exit::Usage);
        assert!(Exit::Usage < Exit::Interrupted);
        assert_eq!(Exit::Ok.max(Exit::Failed), Exit::Failed);
        assert_eq!(Exit::Usage.max(Exit::Failed), Exit::Usage);
    }
}
