//! The locks that keep end-to-end tests apart which must not overlap. All tests are one binary,
//! so libtest runs any two of them at the same time; a test that needs the machine to itself
//! for something holds one of these guards for its whole duration, and everything else runs
//! concurrently.
//!
//! What was checked and needs no lock: no test sets environment variables in the test process
//! (children get theirs through `Command::env`); descriptor limits (`setrlimit` in `pre_exec`)
//! and `RINGLOAD_TEST_FREE_FDS` apply to the child only; signals go to a child's own pid, never
//! to a process group; every peer (nginx, s3s-fs, `ringload serve`, the fake servers) listens on
//! a free loopback port with its files in its own scratch directory; descriptors the tests open
//! are close-on-exec, so no other test's child inherits them (the pty in `signals` is opened
//! that way on purpose: an inherited pty master would keep the terminal from hanging up).

use std::sync::{Mutex, MutexGuard};

/// Guards the machine's MPI launchers and Slurm daemons: a local Slurm cluster (munged,
/// slurmctld, two slurmd, plus its jobs' `srun` and `mpirun` steps) and a 4-rank `mpirun`
/// outside Slurm each want both cores for tens of seconds and start OpenMPI runtimes whose
/// daemons find each other by host; one at a time keeps their timeouts honest.
static SLURM_AND_MPI: Mutex<()> = Mutex::new(());

/// Takes [`SLURM_AND_MPI`] until the guard drops; a test that panicked while holding it does
/// not poison it for the next one.
pub fn slurm_and_mpi() -> MutexGuard<'static, ()> {
    SLURM_AND_MPI.lock().unwrap_or_else(|e| e.into_inner())
}
