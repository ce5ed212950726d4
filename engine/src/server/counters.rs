//! Request counters of the built-in target: one padded block per core, summed on demand.
//!
//! Owns: [`ServerCounters`] (the public totals) and `CoreCounters` (one core's live values).
//! Why per core: the hot path must not share a cache line between cores.
//!
//! Invariant: each `CoreCounters` has exactly one writer (its core's thread), so updates are a
//! relaxed load + store (no locked read-modify-write); readers may see a value a few
//! requests old, never a torn one.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Totals across all cores since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCounters {
    /// GET requests answered (including 404 and 416).
    pub gets: u64,
    /// PUT requests whose body was fully received and recorded.
    pub puts: u64,
    /// HEAD requests answered.
    pub heads: u64,
    /// DELETE requests answered.
    pub deletes: u64,
    /// Answers that were 404 (GET, HEAD or DELETE of an unknown object).
    pub not_found: u64,
    /// Request body bytes received (PUT payloads, chunk framing excluded).
    pub bytes_in: u64,
    /// Response body bytes sent for GETs (objects and ranges).
    pub bytes_out: u64,
    /// Malformed requests (400), peers that vanished mid-request or mid-response, socket
    /// errors, and failed accepts.
    pub errors: u64,
}

/// One core's counters, padded to its own cache lines.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct CoreCounters {
    gets: AtomicU64,
    puts: AtomicU64,
    heads: AtomicU64,
    deletes: AtomicU64,
    not_found: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    errors: AtomicU64,
}

/// Single-writer add (see the module invariant).
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl CoreCounters {
    pub(crate) fn get(&self) {
        add(&self.gets, 1);
    }
    pub(crate) fn put(&self) {
        add(&self.puts, 1);
    }
    pub(crate) fn head(&self) {
        add(&self.heads, 1);
    }
    pub(crate) fn delete(&self) {
        add(&self.deletes, 1);
    }
    pub(crate) fn not_found(&self) {
        add(&self.not_found, 1);
    }
    pub(crate) fn bytes_in(&self, n: u64) {
        add(&self.bytes_in, n);
    }
    pub(crate) fn bytes_out(&self, n: u64) {
        add(&self.bytes_out, n);
    }
    pub(crate) fn error(&self) {
        add(&self.errors, 1);
    }

    /// Adds this core's values into `t`.
    pub(crate) fn sum_into(&self, t: &mut ServerCounters) {
        t.gets += self.gets.load(Relaxed);
        t.puts += self.puts.load(Relaxed);
        t.heads += self.heads.load(Relaxed);
        t.deletes += self.deletes.load(Relaxed);
        t.not_found += self.not_found.load(Relaxed);
        t.bytes_in += self.bytes_in.load(Relaxed);
        t.bytes_out += self.bytes_out.load(Relaxed);
        t.errors += self.errors.load(Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_across_cores() {
        let a = CoreCounters::default();
        let b = CoreCounters::default();
        a.get();
        a.bytes_out(10);
        b.get();
        b.put();
        b.bytes_in(5);
        b.error();
        let mut t = ServerCounters::default();
        a.sum_into(&mut t);
        b.sum_into(&mut t);
        assert_eq!(
            t,
            ServerCounters {
                gets: 2,
                puts: 1,
                bytes_in: 5,
                bytes_out: 10,
                errors: 1,
                ..ServerCounters::default()
            }
        );
    }
}
