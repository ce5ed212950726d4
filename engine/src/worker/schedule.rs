//! A `--rate` core's arrival schedule: the intended start of its next request, as explicit
//! state, and how the next one follows (evenly spaced, or exponential gaps for Poisson
//! arrivals), at the rate of the plan's step the request falls in.
//!
//! The schedule never looks at a clock: the worker passes `now`, so a test drives it with a
//! fake one. Intended starts are kept as nanoseconds since the run start in an `f64`, so
//! rounding never accumulates into a drift of the rate. Nothing here allocates.
//!
//! The worker's side is here too: handing due starts to the connections that wait for one
//! ([`Worker::release_due`], from the periodic work), and giving a connection that just came
//! free a start already due (a backlog) or putting it to wait ([`Worker::take_slot`]).

use std::time::{Duration, Instant};

use ringload_core::rate::{Arrival, RatePlan};
use ringload_core::rng::FastRng;

use super::conn::Phase;
use super::Worker;

/// One core's schedule of intended starts.
pub struct Schedule {
    plan: RatePlan,
    /// Cores the rank's rate is split over.
    cores: usize,
    /// The run start: step 0 begins here, and so does the first request.
    start: Instant,
    /// The next intended start, ns after `start` (`f64::INFINITY`: no more requests).
    next_ns: f64,
    rng: FastRng,
}

impl Schedule {
    /// The schedule of one of `cores` cores, its first request due at `start`.
    pub fn new(plan: RatePlan, cores: usize, start: Instant, seed: u64) -> Schedule {
        Schedule {
            plan,
            cores,
            start,
            next_ns: 0.0,
            rng: FastRng::new(seed),
        }
    }

    /// Staggers uniform arrivals: the first request is due `phase` (in `[0, 1)`) of one gap
    /// after the start instead of at it, so the cluster's cores do not send in lock-step
    /// (see [`lane_phase`]). Poisson arrivals are independent already and keep theirs.
    pub fn with_phase(mut self, phase: f64) -> Schedule {
        let rate = self
            .plan
            .rate_at(0)
            .map_or(0.0, |r| RatePlan::core_rate(r, self.cores));
        if self.plan.arrival == Arrival::Uniform && rate > 0.0 && rate.is_finite() {
            self.next_ns = phase.clamp(0.0, 1.0) * 1e9 / rate;
        }
        self
    }

    /// The next intended start, if there is one.
    pub fn next(&self) -> Option<Instant> {
        self.next_ns
            .is_finite()
            .then(|| self.start + Duration::from_nanos(self.next_ns as u64))
    }

    /// Takes the oldest intended start that is due at `now` (never one in the future), and
    /// schedules the one after it.
    pub fn take_due(&mut self, now: Instant) -> Option<Instant> {
        let t = self.next().filter(|&t| t <= now)?;
        self.advance();
        Some(t)
    }

    /// Moves `next_ns` by one gap at the rate of the step the current intended start is in.
    fn advance(&mut self) {
        let at = Duration::from_nanos(self.next_ns as u64);
        let rate = self
            .plan
            .rate_at(self.plan.step_at(at))
            .map_or(0.0, |r| RatePlan::core_rate(r, self.cores));
        if rate <= 0.0 || !rate.is_finite() {
            self.next_ns = f64::INFINITY;
            return;
        }
        let mean_ns = 1e9 / rate;
        let gap = match self.plan.arrival {
            Arrival::Uniform => mean_ns,
            Arrival::Poisson => -unit_open(&mut self.rng).ln() * mean_ns,
        };
        self.next_ns += gap;
        // Past the last step of a list, nothing more is due.
        let at = Duration::from_nanos(self.next_ns as u64);
        if self.plan.rate_at(self.plan.step_at(at)).is_none() {
            self.next_ns = f64::INFINITY;
        }
    }
}

/// Core `core` of `cores` on rank `rank` of `ranks`: its place among the cluster's schedules
/// as a share of one gap, `(rank·cores + core) / (ranks·cores)`, so the cluster's uniform
/// arrivals interleave instead of every core sending at the same instants.
pub fn lane_phase(rank: u32, ranks: u32, core: usize, cores: usize) -> f64 {
    let lanes = f64::from(ranks.max(1)) * cores.max(1) as f64;
    let lane = f64::from(rank) * cores.max(1) as f64 + core as f64;
    (lane / lanes).clamp(0.0, 1.0)
}

/// A core's schedule seed: the run's seed (the same `--seed`, or the same run id, on every
/// rank) mixed with the rank and the core, so no two cores draw the same Poisson gaps.
pub fn lane_seed(seed: u64, rank: u32, core: usize) -> u64 {
    seed ^ 0x5CED_u64.rotate_left(17)
        ^ core as u64
        ^ u64::from(rank)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A uniform value in `(0, 1]` (53 random bits; never 0, so its logarithm is finite).
fn unit_open(rng: &mut FastRng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Worker {
    /// `--rate`: hands every intended start due at `now` to a waiting connection (oldest
    /// start first), or, once the run stops, wakes them all to finish; returns when the worker
    /// must run again (`wake`, or earlier at the next intended start if a connection waits).
    pub(super) fn release_due(&mut self, now: Instant, wake: Instant) -> Instant {
        let Some(s) = self.sched.as_mut() else {
            return wake;
        };
        let stopping = self.shared.stopping();
        while let Some(&i) = self.free.last() {
            let slot = if stopping { None } else { s.take_due(now) };
            if slot.is_none() && !stopping {
                break;
            }
            self.free.pop();
            let c = &mut self.conns[i];
            c.slot = slot;
            c.phase = Phase::Idle;
            self.woken.push(i);
        }
        match s.next() {
            Some(t) if !self.free.is_empty() => wake.min(t),
            _ => wake,
        }
    }

    /// `--rate`: gives connection `i` its operation's intended start: the one handed to it
    /// while it waited, or one already due (a backlog: no connection was free when it fell
    /// due). False when none is due: the connection then waits in the free list.
    pub(super) fn take_slot(&mut self, i: usize) -> bool {
        let Some(s) = self.sched.as_mut() else {
            return true;
        };
        let c = &mut self.conns[i];
        if let Some(t) = c.slot.take() {
            c.intended = Some(t);
            return true;
        }
        match s.take_due(Instant::now()) {
            Some(t) => {
                if self.free.is_empty() {
                    self.starved += 1;
                }
                c.intended = Some(t);
                true
            }
            None => {
                c.intended = None;
                c.phase = Phase::Waiting;
                self.free.push(i);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringload_core::rate::RateSteps;

    fn plan(steps: RateSteps, arrival: Arrival, step: Option<Duration>) -> RatePlan {
        RatePlan {
            steps,
            arrival,
            step,
            slo: None,
        }
    }

    /// Every intended start up to `until` after the start (a fake clock that jumps there).
    fn starts(s: &mut Schedule, t0: Instant, until: Duration) -> Vec<Duration> {
        let mut v = Vec::new();
        while let Some(t) = s.take_due(t0 + until) {
            v.push(t - t0);
        }
        v
    }

    #[test]
    fn uniform_is_evenly_spaced_and_split_over_cores() {
        let t0 = Instant::now();
        let p = plan(RateSteps::List(vec![2000.0]), Arrival::Uniform, None);
        // 2,000 ops/s over 2 cores: one request every millisecond on this core.
        let mut s = Schedule::new(p, 2, t0, 1);
        let v = starts(&mut s, t0, Duration::from_millis(999));
        assert_eq!(v.len(), 1000);
        for (k, d) in v.iter().enumerate() {
            assert_eq!(d.as_micros(), k as u128 * 1000, "start {k}");
        }
        assert_eq!(s.next(), Some(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn ranks_and_cores_interleave_and_draw_their_own_gaps() {
        let t0 = Instant::now();
        let p = plan(RateSteps::List(vec![2000.0]), Arrival::Uniform, None);
        // 2 ranks × 2 cores at 2,000 ops/s per rank: each core sends every millisecond, and
        // the four cores a quarter of a millisecond apart.
        let mut firsts = Vec::new();
        for rank in 0..2 {
            for core in 0..2 {
                let s = Schedule::new(p.clone(), 2, t0, 1).with_phase(lane_phase(rank, 2, core, 2));
                firsts.push((s.next().unwrap() - t0).as_micros());
            }
        }
        assert_eq!(firsts, [0, 250, 500, 750]);
        assert_eq!(lane_phase(0, 1, 0, 1), 0.0);
        // The same run seed on every rank: each (rank, core) draws its own Poisson gaps.
        let seeds = [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(r, c)| lane_seed(7, r, c));
        for (i, a) in seeds.iter().enumerate() {
            for b in &seeds[i + 1..] {
                assert_ne!(a, b, "{seeds:?}");
            }
        }
        let p = plan(RateSteps::List(vec![2000.0]), Arrival::Poisson, None);
        let gaps = |rank| {
            let mut s = Schedule::new(p.clone(), 1, t0, lane_seed(7, rank, 0));
            starts(&mut s, t0, Duration::from_millis(20))
        };
        assert_ne!(gaps(0), gaps(1));
    }

    #[test]
    fn never_issues_before_the_intended_start() {
        let t0 = Instant::now();
        let p = plan(RateSteps::List(vec![10.0]), Arrival::Uniform, None);
        let mut s = Schedule::new(p, 1, t0, 1);
        assert_eq!(s.take_due(t0), Some(t0));
        assert_eq!(s.take_due(t0 + Duration::from_millis(99)), None);
        // A late clock gets the backlog oldest first, one slot per call.
        let late = t0 + Duration::from_millis(350);
        assert_eq!(s.take_due(late), Some(t0 + Duration::from_millis(100)));
        assert_eq!(s.take_due(late), Some(t0 + Duration::from_millis(200)));
        assert_eq!(s.take_due(late), Some(t0 + Duration::from_millis(300)));
        assert_eq!(s.take_due(late), None);
    }

    #[test]
    fn poisson_gaps_are_exponential() {
        let t0 = Instant::now();
        let p = plan(RateSteps::List(vec![1000.0]), Arrival::Poisson, None);
        let mut s = Schedule::new(p, 1, t0, 42);
        let v = starts(&mut s, t0, Duration::from_secs(100));
        let n = v.len() as f64;
        // 100,000 expected arrivals: a Poisson count's sd is ~316, so 1% is > 3 sd.
        assert!((n - 100_000.0).abs() < 1000.0, "{n} arrivals");
        let gaps: Vec<f64> = v.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        // An exponential's coefficient of variation is 1 (uniform spacing's is 0).
        let cv = var.sqrt() / mean;
        assert!((mean - 0.001).abs() < 0.00002, "mean gap {mean}");
        assert!((cv - 1.0).abs() < 0.02, "cv {cv}");
        // Kolmogorov–Smirnov against F(x) = 1 - exp(-x/mean): the critical value at
        // alpha = 0.001 is 1.95 / sqrt(n).
        let mut sorted = gaps.clone();
        sorted.sort_by(f64::total_cmp);
        let m = sorted.len() as f64;
        let d = sorted
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let f = 1.0 - (-x / 0.001).exp();
                (f - k as f64 / m).abs().max(((k + 1) as f64 / m - f).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / m.sqrt(), "KS distance {d}");
    }

    #[test]
    fn follows_the_step_rates_and_ends_after_the_last() {
        let t0 = Instant::now();
        let step = Some(Duration::from_secs(1));
        let p = plan(RateSteps::List(vec![10.0, 20.0]), Arrival::Uniform, step);
        let mut s = Schedule::new(p, 1, t0, 1);
        let v = starts(&mut s, t0, Duration::from_secs(10));
        let first = v.iter().filter(|d| d.as_secs() == 0).count();
        let second = v.iter().filter(|d| d.as_secs() == 1).count();
        assert_eq!((first, second, v.len()), (10, 20, 30));
        assert_eq!(s.next(), None);
        // A sweep keeps rising: 5, 10, 20 per second.
        let p = plan(
            RateSteps::Sweep {
                start: 5.0,
                factor: 2.0,
            },
            Arrival::Uniform,
            step,
        );
        let mut s = Schedule::new(p, 1, t0, 1);
        let v = starts(&mut s, t0, Duration::from_millis(2999));
        let per: Vec<usize> = (0..3)
            .map(|k| v.iter().filter(|d| d.as_secs() == k).count())
            .collect();
        assert_eq!(per, [5, 10, 20]);
    }
}
