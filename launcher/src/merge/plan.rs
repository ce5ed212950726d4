//! Completeness: which files make up the run, and what is wrong with the rest.
//!
//! The run id and the rank count come from the files themselves (the value most files
//! agree on; a tie goes to the smallest run id, so the answer never depends on file order).
//! Then every rank `0..ranks` must have exactly one file whose `status` is `completed`.
//! Everything else is a [`Problem`] naming the rank and the file.

use std::collections::BTreeMap;

use ringload_core::result::RunStatus;

use super::error::Problem;
use super::head::Head;

/// The files to merge, and the problems found.
pub struct Plan {
    pub run_id: String,
    pub ranks: u32,
    /// One head per present rank, ascending by rank.
    pub heads: Vec<Head>,
    pub missing: Vec<u32>,
    /// Present ranks whose status is not `completed` (they are still merged).
    pub failed: Vec<u32>,
    pub problems: Vec<Problem>,
}

fn majority<K: Ord + Clone>(keys: impl Iterator<Item = K>) -> Option<K> {
    let mut n: BTreeMap<K, usize> = BTreeMap::new();
    for k in keys {
        *n.entry(k).or_default() += 1;
    }
    // max_by_key keeps the last maximum; iterate in reverse so ties go to the smallest key.
    n.into_iter().rev().max_by_key(|(_, c)| *c).map(|(k, _)| k)
}

/// Checks `heads` (in file-name order) for one complete run; `problems` holds earlier ones
/// (unreadable files).
pub fn check(heads: Vec<Head>, mut problems: Vec<Problem>) -> Plan {
    let run_id = majority(heads.iter().map(|h| h.run_id.clone())).unwrap_or_default();
    let ranks = majority(heads.iter().filter(|h| h.run_id == run_id).map(|h| h.ranks)).unwrap_or(1);
    let mut by_rank: BTreeMap<u32, Head> = BTreeMap::new();
    for h in heads {
        if h.run_id != run_id {
            problems.push(Problem::RunId {
                rank: h.rank,
                file: h.name,
                found: h.run_id,
                expected: run_id.clone(),
            });
        } else if h.ranks != ranks || h.rank >= ranks {
            problems.push(Problem::Ranks {
                rank: h.rank,
                file: h.name,
                found: h.ranks,
                expected: ranks,
            });
        } else if let Some(kept) = by_rank.get(&h.rank) {
            problems.push(Problem::Duplicate {
                rank: h.rank,
                kept: kept.name.clone(),
                file: h.name,
            });
        } else {
            by_rank.insert(h.rank, h);
        }
    }
    let missing: Vec<u32> = (0..ranks).filter(|r| !by_rank.contains_key(r)).collect();
    if !missing.is_empty() {
        problems.push(Problem::Missing {
            ranks: missing.clone(),
            expected: ranks,
        });
    }
    let mut failed = Vec::new();
    for h in by_rank.values() {
        if h.status != RunStatus::Completed.as_str() {
            failed.push(h.rank);
            problems.push(Problem::Status {
                rank: h.rank,
                file: h.name.clone(),
                status: h.status.clone(),
                stop_reason: h.stop_reason.clone(),
            });
        }
    }
    Plan {
        run_id,
        ranks,
        heads: by_rank.into_values().collect(),
        missing,
        failed,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(name: &str, run: &str, rank: u32, ranks: u32, status: &str) -> Head {
        Head {
            path: name.into(),
            name: name.into(),
            run_id: run.into(),
            rank,
            ranks,
            host: "h".into(),
            engine_version: "0".into(),
            status: status.into(),
            stop_reason: "duration".into(),
            start_unix_ns: 0,
            end_unix_ns: 1,
            workload: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_complete_run_has_no_problems() {
        let p = check(
            vec![
                head("b", "r", 1, 2, "completed"),
                head("a", "r", 0, 2, "completed"),
            ],
            vec![],
        );
        assert!(p.problems.is_empty());
        assert_eq!(p.heads.iter().map(|h| h.rank).collect::<Vec<_>>(), [0, 1]);
        assert_eq!((p.run_id.as_str(), p.ranks), ("r", 2));
    }

    #[test]
    fn every_problem_names_rank_and_file() {
        let p = check(
            vec![
                head("r0.json", "r", 0, 4, "completed"),
                head("r0-copy.json", "r", 0, 4, "completed"),
                head("r1.json", "r", 1, 4, "interrupted"),
                head("x.json", "other", 2, 4, "completed"),
                head("r9.json", "r", 9, 4, "completed"),
            ],
            vec![],
        );
        let text: Vec<String> = p.problems.iter().map(|x| x.to_string()).collect();
        let all = text.join("\n");
        assert!(
            all.contains("rank 0 has two result files: r0.json and r0-copy.json"),
            "{all}"
        );
        assert!(
            all.contains("rank 1 (r1.json) has status 'interrupted'"),
            "{all}"
        );
        assert!(
            all.contains("rank 2 (x.json) belongs to run 'other'"),
            "{all}"
        );
        assert!(all.contains("rank 9 (r9.json)"), "{all}");
        assert!(all.contains("rank 2-3 of 4 missing"), "{all}");
        assert_eq!(p.missing, [2, 3]);
        assert_eq!(p.failed, [1]);
    }

    #[test]
    fn ties_go_to_the_smallest_run_id() {
        let p = check(
            vec![
                head("a", "zz", 0, 1, "completed"),
                head("b", "aa", 0, 1, "completed"),
            ],
            vec![],
        );
        assert_eq!(p.run_id, "aa");
    }
}
