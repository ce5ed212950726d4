//! The rate flags as a plan: `--rate`, `--arrival`, `--rate-sweep`, `--slo` and `--step`
//! become the engine's [`RatePlan`], or a refusal naming the flag and the fix. Every one of
//! them is used or refused: none is accepted and ignored.

use std::time::Duration;

use ringload_core::rate::{self, Arrival, RatePlan, RateSteps};

use crate::cli::{ArrivalArg, RunArgs};

/// A sweep's step length when `--step` is not given.
pub const DEFAULT_STEP: Duration = Duration::from_secs(30);

/// The run's rate plan (`None`: the closed loop), or why the flags are refused.
pub fn plan(a: &RunArgs) -> Result<Option<RatePlan>, String> {
    let steps = match (&a.rate, &a.rate_sweep) {
        (Some(_), Some(_)) => {
            return Err(
                "--rate and --rate-sweep both set the rates: give a list (--rate 1000,2000,4000) \
                 or a sweep (--rate-sweep 1000:2), not both"
                    .into(),
            )
        }
        (Some(r), None) => {
            RateSteps::List(rate::parse_rates(r).map_err(|e| format!("--rate {e}"))?)
        }
        (None, Some(s)) => {
            let (start, factor) = rate::parse_sweep(s).map_err(|e| format!("--rate-sweep {e}"))?;
            RateSteps::Sweep { start, factor }
        }
        (None, None) => {
            for (flag, given) in [
                ("--arrival", a.arrival.is_some()),
                ("--slo", a.slo.is_some()),
                ("--step", a.step.is_some()),
            ] {
                if given {
                    return Err(format!(
                        "{flag} applies to an open-loop run only: add --rate OPS (or \
                         --rate-sweep START:FACTOR), or drop {flag}"
                    ));
                }
            }
            return Ok(None);
        }
    };
    let slo = a
        .slo
        .as_deref()
        .map(|s| rate::parse_slo(s).map_err(|e| format!("--slo {e}")))
        .transpose()?;
    let sweep = !matches!(&steps, RateSteps::List(v) if v.len() == 1);
    if matches!(steps, RateSteps::Sweep { .. }) && slo.is_none() {
        return Err(
            "--rate-sweep needs --slo to know where to stop and which rate is the knee (e.g. \
             --slo p99=50ms); for fixed steps give --rate 1000,2000,4000"
                .into(),
        );
    }
    let step =
        match a.step {
            Some(d) if d.is_zero() || d.subsec_nanos() != 0 => {
                return Err(format!(
                "--step {d:?}: a step is a whole number of seconds, at least 1s (e.g. 30s), so \
                 that steps end on the one-second statistics ticks"
            ))
            }
            Some(_) if !sweep => return Err(
                "--step sets the length of each step of a sweep, and a single --rate is one step: \
                 give several rates (--rate 1000,2000) or drop --step (--duration sets the run's \
                 length)"
                    .into(),
            ),
            Some(d) => Some(d),
            None if sweep => Some(DEFAULT_STEP),
            None => None,
        };
    Ok(Some(RatePlan {
        // The rates are per rank and split evenly across its cores; nothing checks them
        // against the connections: a run that cannot keep its rate says so when it ends.
        steps,
        arrival: match a.arrival {
            None | Some(ArrivalArg::Uniform) => Arrival::Uniform,
            Some(ArrivalArg::Poisson) => Arrival::Poisson,
        },
        step,
        slo,
    }))
}

/// The run length of a rate plan when `--duration` is not given, and the note that says so:
/// a single rate runs the default minute, a list of rates runs its steps, and a sweep runs
/// until a step breaks its objective.
pub fn default_duration(plan: &RatePlan, default: Duration) -> (Option<Duration>, String) {
    match (plan.step_count(), plan.step) {
        (Some(n), Some(step)) if n > 1 => {
            let total = step * u32::try_from(n).unwrap_or(u32::MAX);
            (
                Some(total),
                format!(
                    "--duration not given: running the sweep's {n} steps of {step:?}, {total:?}"
                ),
            )
        }
        (None, _) => (
            None,
            "--duration not given: the sweep runs until a step breaks --slo (or a signal)".into(),
        ),
        _ => (
            Some(default),
            format!("--duration not given: running for {default:?}"),
        ),
    }
}
