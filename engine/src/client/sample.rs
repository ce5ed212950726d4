//! The sampler of the self-diagnosis: readings of the core threads' scheduler figures, the TCP
//! counters and the NICs' bytes, taken on the reporter thread, and their difference over the
//! steady window ([`Sampler::finish`]).
//!
//! The steady window runs from the end of the first tick (one [`TICK`] after the measured phase
//! starts, so connection setup is left out) to the moment the run starts stopping (so the
//! drain is left out). A run that stops before its first tick ends is measured over the whole
//! measured phase. A run that ends without a stop (its work done) ends its window at the last
//! reading, at most [`SAMPLE_EVERY`] before the end, since the threads' files are gone by then.
//!
//! Each reading is stamped right after its files are read, so the span between two readings
//! covers the counters they hold (a stamp taken before a slow read would shorten the span and
//! overstate the shares). A core thread whose files are gone (it exited: a run that ended
//! without a stop) keeps its last reading, so it reads neither idle nor unknown.
//!
//! A rate plan of several steps (`--rate A,B,...` or a sweep, with `--step`) is judged over
//! its last step that ran to its end before the stop, not the whole run, since a top step
//! that was client-bound would be averaged away by the easy steps before it; the sampler reads
//! at each step boundary for that (within a poll of it). A run that completed no step is
//! judged over its steady window.
//!
//! Why on the reporter thread: a reading is a few small `/proc` and `/sys` files, a few
//! times a second; the core threads never see it.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::judge::{Measured, NicUse, Window};
use super::net::{self, Nic, TcpCounters};
use super::{thread_cpu_ticks, thread_sched, SchedStat};
use crate::stats::TICK;

/// How often the sampler reads while the run goes on (the last reading ends the window of a
/// run that ends without a stop).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Clock ticks per second of `/proc/<pid>/task/<tid>/stat` (the kernel's `USER_HZ`, 100 on
/// every architecture ringload builds for); used only where `schedstat` is missing.
const USER_HZ: u64 = 100;

/// One core thread's cumulative figures. A thread that had not started yet reads as zero
/// (its figures count from its start).
#[derive(Clone, Copy, Debug, Default)]
struct CoreReading {
    sched: Option<SchedStat>,
    ticks: Option<u64>,
}

/// Everything read at one instant.
#[derive(Clone, Debug)]
struct Reading {
    at: Instant,
    cores: Vec<CoreReading>,
    tcp: Option<TcpCounters>,
    nics: Vec<Option<(u64, u64)>>,
}

/// Takes readings during a run and turns them into [`Measured`] figures.
pub struct Sampler {
    nics: Vec<Nic>,
    steady_after: Instant,
    first: Reading,
    steady_from: Option<Reading>,
    last: Reading,
    frozen: bool,
    /// The step length of a plan of several steps.
    step: Option<Duration>,
    started: Instant,
    /// The current step (from 0) and the reading at its start.
    step_from: (usize, Reading),
    /// The last step that ran to its end, and the readings at its start and end.
    done_step: Option<(usize, Reading, Reading)>,
}

impl Sampler {
    /// Starts sampling a run whose measured phase started at `started`; `tids` are the core
    /// threads' kernel ids (0 until a thread registers). `step` is the step length of a rate
    /// plan of several steps (`None` otherwise).
    pub fn start(tids: &[AtomicI32], started: Instant, step: Option<Duration>) -> Sampler {
        let nics = net::nics();
        let first = read(tids, &nics, None);
        Sampler {
            steady_after: started + TICK,
            step: step.filter(|s| !s.is_zero()),
            started,
            step_from: (0, first.clone()),
            done_step: None,
            last: first.clone(),
            first,
            nics,
            steady_from: None,
            frozen: false,
        }
    }

    /// Reads when due: at the end of the first tick (the window's start), at each step
    /// boundary of a plan of several steps, every [`SAMPLE_EVERY`], and once when the run
    /// starts stopping (the window's end; nothing is read after it).
    pub fn poll(&mut self, tids: &[AtomicI32], now: Instant, stopping: bool) {
        if self.frozen {
            return;
        }
        let step_now = self.step.map(|d| {
            (now.saturating_duration_since(self.started).as_nanos() / d.as_nanos()) as usize
        });
        let new_step = step_now.filter(|&k| k > self.step_from.0);
        if stopping {
            self.last = read(tids, &self.nics, Some(&self.last));
            self.frozen = true;
            self.end_step(new_step);
            return;
        }
        if self.steady_from.is_none() && now >= self.steady_after {
            let r = read(tids, &self.nics, Some(&self.last));
            self.last = r.clone();
            self.steady_from = Some(r);
            self.end_step(new_step);
        } else if new_step.is_some() || now.duration_since(self.last.at) >= SAMPLE_EVERY {
            self.last = read(tids, &self.nics, Some(&self.last));
            self.end_step(new_step);
        }
    }

    /// At a step boundary (`new_step` is the step now running), the last reading ends the
    /// step that was running and starts the new one.
    fn end_step(&mut self, new_step: Option<usize>) {
        if let Some(k) = new_step {
            let (done, from) = std::mem::replace(&mut self.step_from, (k, self.last.clone()));
            self.done_step = Some((done, from, self.last.clone()));
        }
    }

    /// The figures over the last step that ran to its end, or else over the steady window
    /// (`None` when it is empty).
    pub fn finish(self) -> Option<Measured> {
        if let Some((k, a, b)) = &self.done_step {
            if let Some(mut m) = measure(a, b, &self.nics) {
                m.window = Window::Step(k + 1);
                return Some(m);
            }
        }
        let from = match self.steady_from {
            Some(r) if self.last.at > r.at => r,
            _ => self.first,
        };
        measure(&from, &self.last, &self.nics)
    }
}

/// Reads every file and stamps the reading at the instant after the last of them. A core
/// whose files cannot be read (its thread exited) keeps its figures from `prev`.
fn read(tids: &[AtomicI32], nics: &[Nic], prev: Option<&Reading>) -> Reading {
    let cores = tids
        .iter()
        .enumerate()
        .map(|(i, t)| match t.load(Ordering::Relaxed) {
            0 => CoreReading {
                sched: Some(SchedStat::default()),
                ticks: Some(0),
            },
            tid => {
                let r = CoreReading {
                    sched: thread_sched(tid),
                    ticks: thread_cpu_ticks(tid),
                };
                match prev.and_then(|p| p.cores.get(i)) {
                    Some(last) if r.sched.is_none() && r.ticks.is_none() => *last,
                    _ => r,
                }
            }
        })
        .collect();
    let tcp = net::tcp_counters();
    let nics = nics.iter().map(|n| net::nic_bytes(&n.name)).collect();
    Reading {
        at: Instant::now(),
        cores,
        tcp,
        nics,
    }
}

/// A core's busy and wait times as shares of a window of `window_ns`. The two cannot exceed
/// the window together; if they do (the counters and the stamps are not read at one
/// instant), both are scaled down in proportion so their sum is the whole window, rather than
/// clamping one of them alone.
fn shares(busy_ns: u64, wait_ns: Option<u64>, window_ns: f64) -> (f64, Option<f64>) {
    let busy = busy_ns as f64 / window_ns;
    let wait = wait_ns.map(|w| w as f64 / window_ns);
    let sum = busy + wait.unwrap_or(0.0);
    if sum > 1.0 {
        (busy / sum, wait.map(|w| w / sum))
    } else {
        (busy, wait)
    }
}

/// The difference of two readings as shares of the time between them.
fn measure(a: &Reading, b: &Reading, nics: &[Nic]) -> Option<Measured> {
    let secs = b.at.checked_duration_since(a.at)?.as_secs_f64();
    if secs <= 0.0 {
        return None;
    }
    let window_ns = secs * 1e9;
    let mut busy = Vec::with_capacity(a.cores.len());
    let mut waits = Some(Vec::with_capacity(a.cores.len()));
    for (x, y) in a.cores.iter().zip(&b.cores) {
        let (busy_ns, wait_ns) = match (x.sched, y.sched) {
            (Some(s), Some(e)) => (
                e.run_ns.saturating_sub(s.run_ns),
                Some(e.wait_ns.saturating_sub(s.wait_ns)),
            ),
            _ => match (x.ticks, y.ticks) {
                (Some(s), Some(e)) => (e.saturating_sub(s) * (1_000_000_000 / USER_HZ), None),
                _ => (0, None),
            },
        };
        let (b, w) = shares(busy_ns, wait_ns, window_ns);
        busy.push(b);
        match (w, waits.as_mut()) {
            (Some(w), Some(v)) => v.push(w),
            _ => waits = None,
        }
    }
    let retransmit_pct = match (a.tcp, b.tcp) {
        (Some(s), Some(e)) => {
            let out = e.out_segs.saturating_sub(s.out_segs);
            let re = e.retrans_segs.saturating_sub(s.retrans_segs);
            Some(if out == 0 {
                0.0
            } else {
                re as f64 * 100.0 / out as f64
            })
        }
        _ => None,
    };
    let nic = nics
        .iter()
        .zip(a.nics.iter().zip(&b.nics))
        .filter_map(|(n, (s, e))| {
            let ((rx0, tx0), (rx1, tx1)) = ((*s)?, (*e)?);
            let bytes = rx1.saturating_sub(rx0).max(tx1.saturating_sub(tx0));
            let link_bytes_s = n.speed_mbps as f64 * 1e6 / 8.0;
            Some(NicUse {
                name: n.name.clone(),
                speed_mbps: n.speed_mbps,
                utilization: bytes as f64 / secs / link_bytes_s,
            })
        })
        .max_by(|x, y| x.utilization.total_cmp(&y.utilization));
    Some(Measured {
        busy,
        wait: waits.unwrap_or_default(),
        window: Window::Steady,
        retransmit_pct,
        nic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(at: Instant, cores: &[(u64, u64)], tcp: (u64, u64), nic: (u64, u64)) -> Reading {
        Reading {
            at,
            cores: cores
                .iter()
                .map(|&(run_ns, wait_ns)| CoreReading {
                    sched: Some(SchedStat { run_ns, wait_ns }),
                    ticks: Some(run_ns / 10_000_000),
                })
                .collect(),
            tcp: Some(TcpCounters {
                out_segs: tcp.0,
                retrans_segs: tcp.1,
            }),
            nics: vec![Some(nic)],
        }
    }

    #[test]
    fn the_window_is_the_difference_of_two_readings() {
        let t0 = Instant::now();
        let nics = [Nic {
            name: "eth0".into(),
            speed_mbps: 1000,
        }];
        let a = reading(t0, &[(5_000_000_000, 1), (0, 0)], (1000, 10), (0, 100));
        let b = reading(
            t0 + Duration::from_secs(2),
            &[(6_960_000_000, 20_000_001), (200_000_000, 0)],
            (3000, 30),
            (50_000_000, 232_500_100),
        );
        let m = measure(&a, &b, &nics).unwrap();
        assert_eq!(m.busy, [0.98, 0.1]);
        assert_eq!(m.wait, [0.01, 0.0]);
        assert_eq!(m.retransmit_pct, Some(1.0));
        let n = m.nic.unwrap();
        assert_eq!((n.name.as_str(), n.speed_mbps), ("eth0", 1000));
        assert!((n.utilization - 0.93).abs() < 1e-9, "{}", n.utilization);
        // Without schedstat the busy share comes from the stat ticks, and the wait is unknown.
        let strip = |r: &Reading| Reading {
            cores: r
                .cores
                .iter()
                .map(|c| CoreReading { sched: None, ..*c })
                .collect(),
            ..r.clone()
        };
        let m = measure(&strip(&a), &strip(&b), &nics).unwrap();
        assert_eq!(m.busy, [0.98, 0.1]);
        assert!(m.wait.is_empty());
        // An empty window measures nothing.
        assert!(measure(&b, &a, &nics).is_none());
        assert!(measure(&a, &a, &nics).is_none());
    }

    #[test]
    fn busy_and_wait_above_the_window_are_scaled_down_together() {
        let t0 = Instant::now();
        let a = reading(t0, &[(0, 0), (0, 0)], (0, 0), (0, 0));
        // 1 s between the stamps, but the counters moved 0.9 s + 0.3 s (core 0) and 0.03 s +
        // 1.2 s (core 1): neither is clamped alone, both keep their proportion.
        let b = reading(
            t0 + Duration::from_secs(1),
            &[(900_000_000, 300_000_000), (30_000_000, 1_200_000_000)],
            (0, 0),
            (0, 0),
        );
        let m = measure(&a, &b, &[]).unwrap();
        assert!((m.busy[0] - 0.75).abs() < 1e-9, "{m:?}");
        assert!((m.wait[0] - 0.25).abs() < 1e-9, "{m:?}");
        assert!((m.busy[1] - 0.03 / 1.23).abs() < 1e-9, "{m:?}");
        assert!((m.wait[1] - 1.2 / 1.23).abs() < 1e-9, "{m:?}");
        // Within the window nothing changes.
        assert_eq!(shares(400, Some(500), 1000.0), (0.4, Some(0.5)));
        assert_eq!(shares(1500, None, 1000.0), (1.0, None));
    }

    #[test]
    fn a_reading_is_stamped_after_its_files_and_an_exited_thread_keeps_its_last_figures() {
        let me = ringload_net::sys::process::gettid();
        let tids = [AtomicI32::new(me), AtomicI32::new(i32::MAX)];
        let before = Instant::now();
        let prev = reading(before, &[(1, 2), (7_000, 3_000)], (0, 0), (0, 0));
        let r = read(&tids, &[], Some(&prev));
        assert!(r.at > before);
        assert!(r.cores[0].sched.is_some(), "{r:?}");
        // The thread with no files (gone) keeps its last reading: busy and wait stay known.
        assert_eq!(
            r.cores[1].sched,
            Some(SchedStat {
                run_ns: 7_000,
                wait_ns: 3_000
            })
        );
        let m = measure(&prev, &r, &[]).unwrap();
        assert_eq!(m.wait.len(), 2, "{m:?}");
        assert_eq!((m.busy[1], m.wait[1]), (0.0, 0.0));
        // Without a previous reading it is unknown.
        assert!(read(&tids, &[], None).cores[1].sched.is_none());
    }

    #[test]
    fn a_plan_of_several_steps_is_judged_over_its_last_complete_step() {
        let tid = AtomicI32::new(ringload_net::sys::process::gettid());
        let tids = std::slice::from_ref(&tid);
        let step = Duration::from_millis(100);
        let t0 = Instant::now();
        let pause = || std::thread::sleep(Duration::from_millis(2));
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // No step ran to its end before the stop: the steady window.
        let mut s = Sampler::start(tids, t0, Some(step));
        pause();
        s.poll(tids, ms(50), false);
        pause();
        s.poll(tids, ms(90), true);
        assert_eq!(s.finish().unwrap().window, Window::Steady);
        // Steps 1 and 2 end; the stop falls inside step 3: step 2 is judged.
        let mut s = Sampler::start(tids, t0, Some(step));
        for (at, stopping) in [(50, false), (150, false), (210, false), (280, true)] {
            pause();
            s.poll(tids, ms(at), stopping);
        }
        let (k, a, b) = s.done_step.as_ref().unwrap();
        assert_eq!(*k, 1);
        assert!(b.at > a.at);
        assert_eq!(s.finish().unwrap().window, Window::Step(2));
        // The stop at the end of a step (the end of a list of rates) completes it.
        let mut s = Sampler::start(tids, t0, Some(step));
        for (at, stopping) in [(150, false), (250, false), (300, true)] {
            pause();
            s.poll(tids, ms(at), stopping);
        }
        assert_eq!(s.finish().unwrap().window, Window::Step(3));
        // Without a plan of steps, never a step.
        let mut s = Sampler::start(tids, t0, None);
        for (at, stopping) in [(150, false), (300, true)] {
            pause();
            s.poll(tids, ms(at), stopping);
        }
        assert_eq!(s.finish().unwrap().window, Window::Steady);
    }

    #[test]
    fn the_sampler_measures_a_busy_thread_and_stops_reading_at_the_stop() {
        let tid = AtomicI32::new(ringload_net::sys::process::gettid());
        let started = Instant::now() - TICK;
        let tids = std::slice::from_ref(&tid);
        let mut s = Sampler::start(tids, started, None);
        s.poll(tids, Instant::now(), false);
        assert!(s.steady_from.is_some(), "the first tick is over");
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(300) {
            std::hint::black_box(0u64);
        }
        s.poll(tids, Instant::now(), true);
        let end = s.last.at;
        s.poll(tids, Instant::now() + Duration::from_secs(5), false);
        assert_eq!(s.last.at, end, "nothing is read after the stop");
        let m = s.finish().unwrap();
        assert_eq!(m.busy.len(), 1);
        // Spinning, the thread was on a CPU or waiting for one (a loaded host) all along.
        assert!(m.busy[0] > 0.0 && m.busy[0] + m.wait[0] > 0.5, "{m:?}");
    }
}
