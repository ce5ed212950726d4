//! A scripted driver for unit tests: it plays a driver's part for a [`Worker`] with no kernel
//! I/O, answering each [`Step`] with a completion the test writes.
//!
//! It calls the worker exactly as the real drivers do: [`Worker::start`] for every connection,
//! [`Worker::prepare_send`] / [`Worker::recv_space`] before a send or a receive, then
//! [`Worker::on_complete`] with a byte count or `-errno`, and [`Worker::maintain`] for the
//! periodic work, resuming woken connections. An expired operation is left to the test to end
//! the way either driver does: [`Script::abort`] (epoll aborts it directly) or the completion
//! of the cancelled operation, `Answer::Errno(ECANCELED)` (io_uring cancels it in the kernel).
//! A `would block` answer (epoll's `EAGAIN`) never reaches the worker: the connection keeps
//! waiting on the same step, as in the epoll driver.
//!
//! Time: the worker reads `Instant::now()` itself for latencies, deadlines and backoffs, but
//! it sweeps deadlines and wakes sleepers only when [`Worker::maintain`] tells it the time.
//! The script hands it `Instant::now()` plus a skew the test advances, so a timeout or the end
//! of a backoff happens without sleeping. The worker still opens (never connects) real sockets
//! for fresh connections; nothing is sent or received on them.

use std::time::{Duration, Instant};

use crate::worker::{Step, Worker};

/// One canned completion for the step a connection waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The connect succeeded.
    Connected,
    /// The step failed with this (positive) errno.
    Errno(i32),
    /// The whole prepared message was sent.
    SentAll,
    /// Only this many bytes of the prepared message were sent.
    Sent(usize),
    /// These bytes arrived (they must fit the worker's receive space).
    Recv(Vec<u8>),
    /// The peer closed the connection (a receive or a drop returned 0).
    Eof,
    /// This many body bytes were dropped in the kernel.
    Discarded(usize),
    /// The socket is not ready (`EAGAIN`): the driver keeps waiting; the worker sees nothing.
    WouldBlock,
}

/// Bytes received, as the answer for a `Recv` step.
pub fn recv(bytes: &[u8]) -> Answer {
    Answer::Recv(bytes.to_vec())
}

pub struct Script {
    pub worker: Worker,
    /// The step each connection waits on.
    steps: Vec<Step>,
    /// Bytes each connection sent so far (what the server would have read).
    pub sent: Vec<Vec<u8>>,
    /// How far the clock handed to [`Worker::maintain`] is ahead of the real one.
    skew: Duration,
}

impl Script {
    /// Starts every connection of `worker`, as a driver does first.
    pub fn new(mut worker: Worker) -> Script {
        let n = worker.conn_count();
        let steps = (0..n).map(|i| worker.start(i)).collect();
        Script {
            worker,
            steps,
            sent: vec![Vec::new(); n],
            skew: Duration::ZERO,
        }
    }

    /// The step connection `i` waits on.
    pub fn step(&self, i: usize) -> Step {
        self.steps[i]
    }

    /// The worker's clock as this driver reports it.
    pub fn now(&self) -> Instant {
        Instant::now() + self.skew
    }

    /// Completes connection `i`'s step with `a` and returns the step the worker asks for next.
    /// Panics (the test fails) when the answer does not fit the step.
    pub fn answer(&mut self, i: usize, a: Answer) -> Step {
        let step = self.steps[i];
        let w = &mut self.worker;
        let res = match (step, a) {
            (Step::Idle, a) => panic!("connection {i} waits on nothing, yet got {a:?}"),
            (_, Answer::WouldBlock) => {
                assert_eq!(
                    w.current(i),
                    step,
                    "a would-block leaves the step as it was"
                );
                return step;
            }
            (_, Answer::Errno(e)) => -e,
            (Step::Connect, Answer::Connected) => 0,
            (Step::Send, Answer::SentAll) => self.send(i, None),
            (Step::Send, Answer::Sent(n)) => self.send(i, Some(n)),
            (Step::Recv, Answer::Recv(bytes)) => {
                let (ptr, len) = w.recv_space(i);
                assert!(
                    bytes.len() <= len,
                    "{} bytes do not fit the {len} of receive space",
                    bytes.len()
                );
                // SAFETY: `ptr..ptr + len` is the connection's free receive space, valid until
                // the next call into the worker; `bytes` is a separate allocation of at most
                // `len` bytes.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len()) };
                bytes.len() as i32
            }
            (Step::Recv | Step::Discard(_), Answer::Eof) => 0,
            (Step::Discard(max), Answer::Discarded(n)) => {
                assert!(
                    n > 0 && n <= max,
                    "a drop of up to {max} bytes returned {n}"
                );
                n as i32
            }
            (step, a) => panic!("connection {i} waits on {step:?}, which {a:?} does not answer"),
        };
        self.complete(i, res)
    }

    /// The send of a request that goes out with its first receive (io_uring's fused pair):
    /// `None` when the worker says the request is too large for one.
    pub fn send_fused(&mut self, i: usize) -> Option<Step> {
        assert_eq!(self.steps[i], Step::Send, "connection {i} is not sending");
        let msg = self.worker.prepare_fused_send(i)?;
        let bytes = message_bytes(msg);
        self.sent[i].extend_from_slice(&bytes);
        self.steps[i] = Step::Recv;
        Some(Step::Recv)
    }

    /// Ends connection `i`'s expired operation as the epoll driver does.
    pub fn abort(&mut self, i: usize) -> Step {
        let next = self.worker.abort_now(i);
        self.steps[i] = next;
        next
    }

    /// Moves the worker's clock `d` ahead and runs its periodic work: woken connections are
    /// resumed; the expired ones are returned, still waiting on their step, for the test to
    /// end with [`Script::abort`] or an `ECANCELED` answer.
    pub fn advance(&mut self, d: Duration) -> Vec<usize> {
        self.skew += d;
        let now = self.now();
        self.worker.maintain(now);
        for k in 0..self.worker.woken.len() {
            let i = self.worker.woken[k];
            self.steps[i] = self.worker.resume(i);
        }
        self.worker.expired.clone()
    }

    fn complete(&mut self, i: usize, res: i32) -> Step {
        let next = self.worker.on_complete(i, res);
        self.steps[i] = next;
        next
    }

    /// Prepares connection `i`'s send and reports `n` bytes of it sent (all when `None`).
    fn send(&mut self, i: usize, n: Option<usize>) -> i32 {
        let msg = self.worker.prepare_send(i);
        let bytes = message_bytes(msg);
        let n = n.unwrap_or(bytes.len());
        assert!(
            n > 0 && n <= bytes.len(),
            "a send of {} bytes cannot report {n}",
            bytes.len()
        );
        self.sent[i].extend_from_slice(&bytes[..n]);
        n as i32
    }
}

/// The bytes a message header points at, in order.
fn message_bytes(msg: *const libc::msghdr) -> Vec<u8> {
    let mut out = Vec::new();
    // SAFETY: `msg` comes from the worker's connection slot and stays valid, with the iovecs
    // and the bytes it points at, until the connection's next prepare call; nothing calls into
    // the worker while it is read here.
    unsafe {
        let m = &*msg;
        for v in std::slice::from_raw_parts(m.msg_iov, m.msg_iovlen as _) {
            out.extend_from_slice(std::slice::from_raw_parts(
                v.iov_base as *const u8,
                v.iov_len,
            ));
        }
    }
    out
}
