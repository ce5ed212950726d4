//! Which name a GET reads next, shared lock-free by all cores.
//!
//! Owns [`GetSelector`]: a single `AtomicU64` ticket cursor over a fixed list of `n` names.
//! Each `next` takes ticket `k` with one `fetch_add`; the ticket alone decides the name, so
//! cores never coordinate beyond that atomic.
//!
//! - `unique` (aisloader's `uniquegets`): ticket `k` is epoch `e = k / n`, position
//!   `p = k % n`, and the name is `perm_e(p)`, where `perm_e` is a pseudo-random permutation
//!   of `[0, n)` keyed by `(seed, e)`. The permutation is a 4-round balanced Feistel network
//!   over the smallest even-bit power-of-two domain `>= n`, restricted to `[0, n)` by cycle
//!   walking. It needs O(1) memory and O(1) expected time (the domain is at most 4n), and any core
//!   can evaluate any position. This replaces aisloader's Fisher-Yates / affine getters with
//!   one that is reproducible for every epoch (aisloader re-seeds from the clock after two).
//! - not unique: uniform with replacement from the caller's per-core [`FastRng`].
//! - sharded (`--sampler distributed`, like PyTorch's `DistributedSampler`): rank `r` of `R`
//!   reads positions `r, r + R, r + 2R, ...` of the same per-epoch permutation every rank
//!   computes from the shared seed, so the ranks' shards of one epoch are disjoint and together
//!   cover every index exactly once. Ticket `k` is epoch `k / s`, position `r + (k % s) * R`,
//!   where `s` is the shard's length (shards differ by at most one name; none is padded).
//!
//! Invariants: with `epochs > 0` exactly `epochs * s` tickets yield names (`s` = `n`, or the
//! shard's length when sharded) and every later call returns `None`; in unique mode every
//! complete epoch reads each index (of the shard) exactly once. `n == 0`
//! always yields `None`. `next` never allocates and never blocks.

use std::sync::atomic::{AtomicU64, Ordering};

use ringload_core::rng::{hash2, FastRng};

/// Feistel rounds. Three rounds already give a pseudo-random permutation (Luby-Rackoff);
/// a fourth makes the order visibly well shuffled even for tiny domains, at ~2 ns per round.
const FEISTEL_ROUNDS: u64 = 4;

/// A keyed pseudo-random permutation of `[0, n)`.
#[derive(Debug, Clone, Copy)]
struct Permutation {
    n: u64,
    /// Bits in each half of the Feistel domain (the domain is `2^(2 * half_bits)`).
    half_bits: u32,
    half_mask: u64,
    key: u64,
}

impl Permutation {
    fn new(n: u64, key: u64) -> Permutation {
        // Bits needed for values 0..n-1, rounded up to an even count (at least 2).
        let bits = if n <= 1 {
            0
        } else {
            64 - (n - 1).leading_zeros()
        };
        let half_bits = bits.div_ceil(2).max(1);
        let half_mask = if half_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << half_bits) - 1
        };
        Permutation {
            n,
            half_bits,
            half_mask,
            key,
        }
    }

    /// One pass of the Feistel network over the power-of-two domain (a bijection on it).
    #[inline]
    fn feistel(&self, x: u64) -> u64 {
        let mut left = (x >> self.half_bits) & self.half_mask;
        let mut right = x & self.half_mask;
        for round in 0..FEISTEL_ROUNDS {
            let f = hash2(self.key.wrapping_add(round), right) & self.half_mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }

    /// The image of `p < n`. Cycle walking: apply the domain bijection until the value lands
    /// in `[0, n)`. This terminates because `p` lies on its own cycle, and it is a bijection
    /// of `[0, n)` because it maps each `p` to the next in-range element on `p`'s cycle.
    #[inline]
    fn apply(&self, p: u64) -> u64 {
        let mut x = self.feistel(p);
        while x >= self.n {
            x = self.feistel(x);
        }
        x
    }
}

/// Hands out GET name indices over `n` names to all cores; see the module docs.
#[derive(Debug)]
pub struct GetSelector {
    n: u64,
    /// This rank's shard: positions `rank + j * ranks` for `j < span` (`(0, 1, n)` unsharded).
    rank: u64,
    ranks: u64,
    span: u64,
    unique: bool,
    seed: u64,
    epochs: u64,
    /// `Some(epochs * span)` when `epochs > 0`.
    budget: Option<u64>,
    cursor: AtomicU64,
}

impl GetSelector {
    /// A selector over indices `0..n`. `epochs == 0` means no GET budget. `epochs * n`
    /// saturates at `u64::MAX`.
    pub fn new(n: u64, unique: bool, epochs: u64, seed: u64) -> GetSelector {
        GetSelector {
            n,
            rank: 0,
            ranks: 1,
            span: n,
            unique,
            seed,
            epochs,
            budget: (epochs > 0).then(|| epochs.saturating_mul(n)),
            cursor: AtomicU64::new(0),
        }
    }

    /// Restricts a unique selector to rank `rank`'s shard of every epoch (see the module docs).
    /// `epochs` then counts passes over the shard. A rank beyond the name count gets nothing.
    pub fn sharded(mut self, rank: u64, ranks: u64) -> GetSelector {
        debug_assert!(self.unique, "sharding cuts the per-epoch permutation");
        let ranks = ranks.max(1);
        self.rank = rank;
        self.ranks = ranks;
        self.span = if rank < self.n {
            (self.n - rank).div_ceil(ranks)
        } else {
            0
        };
        self.budget = (self.epochs > 0).then(|| self.epochs.saturating_mul(self.span));
        self
    }

    /// The next name index, or `None` when there are no names or the budget is spent.
    #[inline]
    pub fn next(&self, rng: &mut FastRng) -> Option<u64> {
        if self.span == 0 {
            return None;
        }
        // Relaxed: the ticket only has to be unique; it publishes no other memory.
        let k = self.cursor.fetch_add(1, Ordering::Relaxed);
        if self.budget.is_some_and(|b| k >= b) {
            return None;
        }
        if self.unique {
            Some(self.index_at(k))
        } else {
            Some(rng.below(self.n))
        }
    }

    /// The index unique mode yields for ticket `k` (pure; used by `next` and by tests).
    #[inline]
    fn index_at(&self, k: u64) -> u64 {
        let (epoch, j) = (k / self.span, k % self.span);
        let pos = self.rank + j * self.ranks;
        Permutation::new(self.n, hash2(self.seed, epoch)).apply(pos)
    }

    /// The total number of GETs this selector will hand out (`epochs` × the names of one
    /// epoch), if bounded by `epochs`.
    pub fn budget(&self) -> Option<u64> {
        self.budget
    }

    /// The number of names one epoch of this selector reads (the shard's length if sharded).
    pub fn len(&self) -> u64 {
        self.span
    }

    /// True when there is nothing to read (every `next` returns `None`).
    pub fn is_empty(&self) -> bool {
        self.span == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl GetSelector {
        /// Tickets handed out so far that yielded a name (capped at the budget).
        fn issued(&self) -> u64 {
            if self.span == 0 {
                return 0;
            }
            let k = self.cursor.load(Ordering::Relaxed);
            self.budget.map_or(k, |b| k.min(b))
        }
    }
    use std::sync::Arc;

    fn epoch(s: &GetSelector, rng: &mut FastRng) -> Vec<u64> {
        (0..s.len()).map(|_| s.next(rng).unwrap()).collect()
    }

    #[test]
    fn shards_cover_every_epoch_exactly_once() {
        let mut rng = FastRng::new(7);
        for (n, ranks) in [(1000u64, 4u64), (1001, 4), (10, 3), (5, 8), (1, 2), (97, 1)] {
            for epoch in 0..3u64 {
                let mut all = Vec::new();
                for r in 0..ranks {
                    let s = GetSelector::new(n, true, 3, 42).sharded(r, ranks);
                    let span = s.len();
                    assert!(span == n / ranks || span == n / ranks + 1 || r >= n);
                    // Skip to this epoch, then read one shard's epoch.
                    for _ in 0..epoch * span {
                        s.next(&mut rng);
                    }
                    all.extend((0..span).map(|_| s.next(&mut rng).unwrap()));
                }
                assert_permutation(&all, n);
            }
            // The budget is epochs x shard, then nothing.
            let s = GetSelector::new(n, true, 1, 42).sharded(0, ranks);
            let got = std::iter::from_fn(|| s.next(&mut rng)).count() as u64;
            assert_eq!(got, n.div_ceil(ranks));
        }
    }

    #[test]
    fn one_shard_equals_the_unsharded_order() {
        let mut rng = FastRng::new(1);
        let a = GetSelector::new(50, true, 2, 9);
        let b = GetSelector::new(50, true, 2, 9).sharded(0, 1);
        for _ in 0..100 {
            assert_eq!(a.next(&mut rng), b.next(&mut rng));
        }
    }

    fn assert_permutation(v: &[u64], n: u64) {
        let mut seen = vec![false; n as usize];
        for &i in v {
            assert!(i < n, "index {i} out of range {n}");
            assert!(!seen[i as usize], "index {i} repeated (n = {n})");
            seen[i as usize] = true;
        }
        assert_eq!(v.len() as u64, n);
    }

    #[test]
    fn every_epoch_is_a_permutation() {
        let mut rng = FastRng::new(0);
        for n in [1u64, 2, 3, 4, 5, 7, 16, 17, 1000, 65537] {
            let s = GetSelector::new(n, true, 0, 9);
            for _ in 0..3 {
                assert_permutation(&epoch(&s, &mut rng), n);
            }
        }
    }

    #[test]
    fn epochs_differ_and_seeds_reproduce() {
        let mut rng = FastRng::new(0);
        let s = GetSelector::new(1000, true, 0, 1);
        let e0 = epoch(&s, &mut rng);
        let e1 = epoch(&s, &mut rng);
        assert_ne!(e0, e1);
        let identity: Vec<u64> = (0..1000).collect();
        assert_ne!(e0, identity, "order must be shuffled");
        let again = GetSelector::new(1000, true, 0, 1);
        assert_eq!(epoch(&again, &mut rng), e0);
        assert_eq!(epoch(&again, &mut rng), e1);
        let other = GetSelector::new(1000, true, 0, 2);
        assert_ne!(epoch(&other, &mut rng), e0);
    }

    #[test]
    fn large_n_permutation_is_cheap_to_evaluate() {
        let n = (1u64 << 40) + 3;
        let s = GetSelector::new(n, true, 0, 5);
        for k in [0, 1, n - 1, n, 3 * n + 7] {
            assert!(s.index_at(k) < n);
        }
        let full = GetSelector::new(u64::MAX, true, 0, 5);
        assert!(full.index_at(12345) < u64::MAX);
    }

    #[test]
    fn budget_is_exact_then_none() {
        let mut rng = FastRng::new(3);
        let s = GetSelector::new(5, true, 2, 0);
        assert_eq!(s.budget(), Some(10));
        let got: Vec<u64> = std::iter::from_fn(|| s.next(&mut rng)).collect();
        assert_eq!(got.len(), 10);
        assert_permutation(&got[..5], 5);
        assert_permutation(&got[5..], 5);
        assert_eq!(s.next(&mut rng), None);
        assert_eq!(s.issued(), 10);
        let unbounded = GetSelector::new(5, false, 0, 0);
        assert_eq!(unbounded.budget(), None);
        assert!((0..100).all(|_| unbounded.next(&mut rng).is_some_and(|i| i < 5)));
        assert_eq!(unbounded.issued(), 100);
    }

    #[test]
    fn non_unique_is_uniform_with_replacement() {
        let mut rng = FastRng::new(4);
        let s = GetSelector::new(4, false, 1000, 0);
        let mut counts = [0u32; 4];
        while let Some(i) = s.next(&mut rng) {
            counts[i as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<u32>(), 4000);
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn zero_names_never_panics() {
        let mut rng = FastRng::new(0);
        for unique in [true, false] {
            let s = GetSelector::new(0, unique, 3, 0);
            assert_eq!(s.next(&mut rng), None);
            assert_eq!(s.issued(), 0);
            assert!(s.is_empty());
        }
    }

    #[test]
    fn threads_share_the_budget_exactly() {
        const N: u64 = 10_007;
        const EPOCHS: u64 = 3;
        let s = Arc::new(GetSelector::new(N, true, EPOCHS, 77));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    let mut rng = FastRng::new(t);
                    let mut mine = Vec::new();
                    while let Some(i) = s.next(&mut rng) {
                        mine.push(i);
                    }
                    mine
                })
            })
            .collect();
        let mut counts = vec![0u32; N as usize];
        for h in handles {
            for i in h.join().unwrap() {
                counts[i as usize] += 1;
            }
        }
        assert!(counts.iter().all(|&c| c == EPOCHS as u32));
        assert_eq!(s.issued(), N * EPOCHS);
        assert_eq!(s.next(&mut FastRng::new(0)), None);
    }
}
