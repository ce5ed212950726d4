//! What can go wrong in a merge, as typed errors whose messages name the file, the rank and
//! the fix.
//!
//! Two levels: a [`Problem`] is something wrong with one rank or file (missing, failed,
//! corrupt, duplicated, from another run). Without `--allow-partial` any problem makes the
//! merge fail with [`MergeError::Incomplete`] (exit 1); with it, problems become warnings and
//! the report is marked partial. A [`MergeError`] of another kind is bad input or usage
//! (exit 2).

use std::fmt;
use std::io;
use std::path::PathBuf;

use ringload_core::exit::Exit;

/// One thing wrong with one rank or one file of the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Ranks with no result file.
    Missing { ranks: Vec<u32>, expected: u32 },
    /// A rank whose `status` is not `completed`.
    Status {
        rank: u32,
        file: String,
        status: String,
        stop_reason: String,
    },
    /// A file from another run.
    RunId {
        rank: u32,
        file: String,
        found: String,
        expected: String,
    },
    /// A file that disagrees about the number of ranks.
    Ranks {
        rank: u32,
        file: String,
        found: u32,
        expected: u32,
    },
    /// A second file for a rank (the first one by name is used).
    Duplicate {
        rank: u32,
        kept: String,
        file: String,
    },
    /// A file that could not be read or parsed.
    Corrupt { file: String, error: String },
}

/// `0-3, 7, 9-10`: a compact list of rank numbers.
pub fn ranges(ranks: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ranks.len() {
        let mut j = i;
        while j + 1 < ranks.len() && ranks[j + 1] == ranks[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            ranks[i].to_string()
        } else {
            format!("{}-{}", ranks[i], ranks[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { ranks, expected } => write!(
                f,
                "rank {} of {expected} missing: no result file (did the rank run, and write \
                 its --result into this directory?)",
                ranges(ranks)
            ),
            Problem::Status {
                rank,
                file,
                status,
                stop_reason,
            } => write!(
                f,
                "rank {rank} ({file}) has status '{status}' (stop_reason '{stop_reason}'), not \
                 'completed': its numbers cover only part of the run; rerun the rank"
            ),
            Problem::RunId {
                rank,
                file,
                found,
                expected,
            } => write!(
                f,
                "rank {rank} ({file}) belongs to run '{found}', not '{expected}' (the run of \
                 most files here); move it to its own run's directory"
            ),
            Problem::Ranks {
                rank,
                file,
                found,
                expected,
            } => write!(
                f,
                "rank {rank} ({file}) says the run has {found} ranks, the other files say \
                 {expected}; move it to its own run's directory"
            ),
            Problem::Duplicate { rank, kept, file } => write!(
                f,
                "rank {rank} has two result files: {kept} and {file}; keep one (with \
                 --allow-partial, {kept} is used)"
            ),
            Problem::Corrupt { file, error } => write!(
                f,
                "{file} is not a readable result file: {error}; rerun its rank or move the \
                 file away"
            ),
        }
    }
}

/// Why a merge produced no report.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read results directory {}: {source}", .path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} holds no result files (*.json with schema ringload.result/1 or /2); pass the directory \
         the ranks wrote their --result files to",
        .path.display()
    )]
    NoResults { path: PathBuf },
    #[error("no readable result file in {}:\n  {}", .path.display(), list(.problems))]
    NoneReadable {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error(
        "the run's results are incomplete:\n  {}\nfix the ranks above, or pass --allow-partial \
         to merge what is there (the report is then marked partial)",
        list(.problems)
    )]
    Incomplete { problems: Vec<Problem> },
    #[error("--resolution must be at least 1s (ranks record 1 s ticks), got {got_ns} ns")]
    Resolution { got_ns: u64 },
    #[error(
        "the ranks' clocks span {span_s:.0} s, which is {buckets} buckets at --resolution; \
         check the ranks' clocks (start_unix_ns/end_unix_ns) or pass a larger --resolution"
    )]
    Span { span_s: f64, buckets: u64 },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n  ")
}

impl MergeError {
    /// The process exit: [`Exit::Failed`] for an incomplete run, [`Exit::Usage`] for bad
    /// usage or input.
    pub fn exit_code(&self) -> Exit {
        match self {
            MergeError::Incomplete { .. } => Exit::Failed,
            _ => Exit::Usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_compact() {
        assert_eq!(ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3, 7, 9-10");
        assert_eq!(ranges(&[5]), "5");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn messages_name_rank_file_and_fix() {
        let p = Problem::Duplicate {
            rank: 3,
            kept: "a.json".into(),
            file: "b.json".into(),
        };
        let s = p.to_string();
        assert!(s.contains("rank 3") && s.contains("a.json") && s.contains("b.json"));
        let e = MergeError::Incomplete { problems: vec![p] };
        assert_eq!(e.exit_code(), Exit::Failed);
        assert_eq!(e.exit_code().code(), 1);
        assert!(e.to_string().contains("--allow-partial"));
        let bad = MergeError::Resolution { got_ns: 5 };
        assert_eq!(bad.exit_code(), Exit::Usage);
        assert_eq!(bad.exit_code().code(), 2);
    }
}
