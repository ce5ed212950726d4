//! Which rank of how many this process is (`--rank/--ranks`, the scheduler's environment, or
//! a spec run by hand as one rank), and the flag combinations that cannot work with that many
//! ranks (an `auto` run id per rank, a distributed sampler without a shared seed).

use ringload_launcher::ranks::{self, Rank};
use ringload_launcher::spec::Loaded;

use crate::cli::{RunArgs, SamplerArg};
use crate::exit::CmdError;

/// This process's rank; errors are usage errors.
pub fn rank(a: &RunArgs, spec: Option<&Loaded>) -> Result<Rank, CmdError> {
    let env = |k: &str| std::env::var(k).ok();
    let alone = a.rank.is_none() && ranks::resolve(None, None, &env).is_ok_and(|r| r.is_default());
    let r = match ranks::resolve(a.rank, a.ranks, &env) {
        Ok(r) => r,
        // One spec runs unchanged on a laptop: with no rank and no scheduler, the spec's
        // workload runs as a single rank.
        Err(_) if spec.is_some() && alone => {
            eprintln!(
                "note: no --rank and no scheduler here: running the spec as one rank (0 of 1); \
                 pass --rank R to run one of its {} ranks by hand, or render it for a scheduler",
                a.ranks.unwrap_or(1)
            );
            Rank {
                rank: 0,
                ranks: 1,
                source: ranks::DEFAULT_SOURCE,
            }
        }
        Err(e) => return Err(CmdError::usage(e)),
    };
    if let Some(l) = spec.filter(|l| l.auto_id && r.ranks > 1) {
        let typed = std::env::args().any(|x| x == "--run-id" || x.starts_with("--run-id="));
        if !typed {
            return Err(CmdError::usage(format!(
                "{}: id = \"auto\" would give each of the {} ranks started by hand an id of its \
                 own\n  hint: render the spec (the rendered job carries one fixed id), or give \
                 every rank the same --run-id",
                l.file.display(),
                r.ranks
            )));
        }
    }
    if r.ranks > 1 || !r.is_default() {
        eprintln!("note: rank {} of {} (from {})", r.rank, r.ranks, r.source);
    }
    if a.sampler == SamplerArg::Distributed && a.seed == 0 && a.run_id.is_none() && r.ranks > 1 {
        return Err(CmdError::usage(
            "--sampler distributed needs every rank to draw the same permutations: give the \
             ranks the same --seed or the same --run-id (a spec gives them its [run] id)",
        ));
    }
    Ok(r)
}
