//! Which rank this process is, and how many ranks the run has.
//!
//! Owns [`resolve`]: flags first (`--rank/--ranks`), then the scheduler's environment in an
//! order that is right when launchers nest (an `mpirun` inside an sbatch script inherits the
//! batch step's `SLURM_PROCID=0`, so MPI's own variables win): `OMPI_COMM_WORLD_RANK/SIZE`,
//! `PMIX_RANK` (size from `SLURM_NTASKS` or the spec), `SLURM_PROCID/SLURM_NTASKS`, then
//! Kubernetes' `JOB_COMPLETION_INDEX` (size from the spec). A world size the scheduler reports
//! must agree with the spec's `ranks`, so a mis-sized allocation fails before it loads anything.

/// This process's place in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    pub rank: u32,
    pub ranks: u32,
    /// Where the rank came from: `"flags"`, [`DEFAULT_SOURCE`] or the environment variable's
    /// name.
    pub source: &'static str,
}

/// The `source` of a rank nothing named: rank 0 of 1.
pub const DEFAULT_SOURCE: &str = "default";

impl Rank {
    /// True when nothing named the rank (no flag, no scheduler): rank 0 of 1 by default.
    pub fn is_default(&self) -> bool {
        self.source == DEFAULT_SOURCE
    }
}

/// (rank variable, size variable) in the order they are consulted.
const SOURCES: &[(&str, Option<&str>)] = &[
    ("OMPI_COMM_WORLD_RANK", Some("OMPI_COMM_WORLD_SIZE")),
    ("PMIX_RANK", Some("SLURM_NTASKS")),
    ("SLURM_PROCID", Some("SLURM_NTASKS")),
    ("JOB_COMPLETION_INDEX", None),
];

fn number(var: &str, v: &str) -> Result<u32, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{var}={v:?} is not a rank number"))
}

/// Resolves the rank. `ranks` is the world size from `--ranks` or the spec, when known.
pub fn resolve(
    rank: Option<u32>,
    ranks: Option<u32>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Rank, String> {
    let checked = |r: Rank| {
        if r.ranks == 0 || r.rank >= r.ranks {
            Err(format!(
                "rank {} (from {}) is not below the number of ranks {}; ranks are numbered \
                 0..ranks-1",
                r.rank, r.source, r.ranks
            ))
        } else {
            Ok(r)
        }
    };
    if let Some(rank) = rank {
        return checked(Rank {
            rank,
            ranks: ranks.unwrap_or(1),
            source: "flags",
        });
    }
    for (var, size_var) in SOURCES {
        let Some(v) = env(var).filter(|v| !v.is_empty()) else {
            continue;
        };
        let rank = number(var, &v)?;
        let size = match size_var.and_then(|s| env(s).filter(|v| !v.is_empty()).map(|v| (s, v))) {
            Some((s, v)) => Some((s, number(s, &v)?)),
            None => None,
        };
        let world = match (size, ranks) {
            (Some((s, n)), Some(spec)) if n != spec => {
                return Err(format!(
                    "the scheduler started {n} ranks ({s}={n}) but the run has ranks = {spec}; \
                     make the allocation match (for Slurm: nodes × tasks_per_node = ranks)"
                ))
            }
            (Some((_, n)), _) => n,
            (None, Some(spec)) => spec,
            (None, None) => {
                return Err(format!(
                    "{var} is set but the number of ranks is unknown: pass --ranks or --spec"
                ))
            }
        };
        return checked(Rank {
            rank,
            ranks: world,
            source: var,
        });
    }
    match ranks {
        Some(n) if n > 1 => Err(format!(
            "this process's rank is unknown: the run has {n} ranks but neither --rank nor a \
             scheduler variable (JOB_COMPLETION_INDEX, SLURM_PROCID, OMPI_COMM_WORLD_RANK, \
             PMIX_RANK) is set. Pass --rank R, or start the ranks with the rendered job"
        )),
        _ => Ok(Rank {
            rank: 0,
            ranks: 1,
            source: DEFAULT_SOURCE,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn flags_win() {
        let e = env(&[("SLURM_PROCID", "3"), ("SLURM_NTASKS", "4")]);
        let r = resolve(Some(1), Some(2), &e).unwrap();
        assert_eq!((r.rank, r.ranks, r.source), (1, 2, "flags"));
        assert!(resolve(Some(2), Some(2), &e).is_err());
    }

    #[test]
    fn each_scheduler() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<u32>, (u32, u32));
        let cases: &[Case] = &[
            (
                &[("SLURM_PROCID", "3"), ("SLURM_NTASKS", "4")],
                None,
                (3, 4),
            ),
            (
                &[("SLURM_PROCID", "3"), ("SLURM_NTASKS", "4")],
                Some(4),
                (3, 4),
            ),
            (
                &[("OMPI_COMM_WORLD_RANK", "2"), ("OMPI_COMM_WORLD_SIZE", "4")],
                None,
                (2, 4),
            ),
            (&[("PMIX_RANK", "1")], Some(4), (1, 4)),
            (&[("PMIX_RANK", "1"), ("SLURM_NTASKS", "2")], None, (1, 2)),
            (&[("JOB_COMPLETION_INDEX", "7")], Some(8), (7, 8)),
        ];
        for (vars, ranks, want) in cases {
            let r = resolve(None, *ranks, &env(vars)).unwrap();
            assert_eq!((r.rank, r.ranks), *want, "{vars:?}");
        }
    }

    #[test]
    fn mpi_inside_slurm_uses_the_mpi_rank() {
        let e = env(&[
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "4"),
            ("OMPI_COMM_WORLD_RANK", "3"),
            ("OMPI_COMM_WORLD_SIZE", "4"),
        ]);
        let r = resolve(None, Some(4), &e).unwrap();
        assert_eq!((r.rank, r.source), (3, "OMPI_COMM_WORLD_RANK"));
    }

    #[test]
    fn mismatches_and_unknowns_are_errors() {
        let e = env(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "3")]);
        assert!(resolve(None, Some(4), &e)
            .unwrap_err()
            .contains("SLURM_NTASKS=3"));
        assert!(resolve(None, None, &env(&[("JOB_COMPLETION_INDEX", "1")]))
            .unwrap_err()
            .contains("--ranks"));
        assert!(resolve(None, Some(4), &env(&[]))
            .unwrap_err()
            .contains("rank is unknown"));
        assert!(resolve(None, None, &env(&[("SLURM_PROCID", "x")])).is_err());
        let r = resolve(None, None, &env(&[])).unwrap();
        assert_eq!((r.rank, r.ranks), (0, 1));
    }
}
