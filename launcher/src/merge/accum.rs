//! Compact histogram accumulators for the merge's time series.
//!
//! A cluster time series holds one histogram per bucket and operation class (3,600 buckets for
//! an hour at 1 s). A full `Histogram<u64>` is a 184 KiB counts array, so 3,600 of them would
//! cost 660 MB. Interval histograms hold a few dozen distinct latencies, and their union over
//! all ranks a few thousand, so:
//!
//! - [`Paged`] (one per cluster bucket): counters in 64-wide pages of `u32`, allocated on first
//!   touch, found through a 368-entry page table (allocated on first add). Adding is O(1).
//!   A counter that would pass `u32::MAX` keeps its overflow in a sorted side list, so counts
//!   stay exact.
//! - [`Sparse`] (one per rank and operation, reused): a sorted `(index, count)` list, merged
//!   with each incoming interval list, for the per-rank series of the rank being read.
//!
//! Invariant: both answer quantiles exactly as a `Histogram<u64>` with the same counts would
//! (`hist::quantiles`), which the tests check.

use super::hist::{self, COUNTS_LEN};

const PAGE: usize = 64;
const PAGES: usize = COUNTS_LEN.div_ceil(PAGE);

/// A histogram as pages of `u32` counters (see the module doc).
#[derive(Default, Clone)]
pub struct Paged {
    total: u64,
    /// Page number → 1 + position in `pages`, 0 = no page yet. Empty until the first add.
    table: Vec<u16>,
    pages: Vec<Box<[u32; PAGE]>>,
    /// `(index, overflow)`: counts above `u32::MAX`, in multiples of 2^32, sorted by index.
    carry: Vec<(u32, u64)>,
}

impl Paged {
    /// Adds `count` at counter `index` (< `COUNTS_LEN`).
    #[inline]
    pub fn add(&mut self, index: usize, count: u64) {
        if self.table.is_empty() {
            self.table = vec![0; PAGES];
        }
        let p = index / PAGE;
        let mut slot = self.table[p] as usize;
        if slot == 0 {
            self.pages.push(Box::new([0; PAGE]));
            slot = self.pages.len();
            self.table[p] = slot as u16;
        }
        let cell = &mut self.pages[slot - 1][index % PAGE];
        let sum = u64::from(*cell) + count;
        *cell = sum as u32;
        let over = sum & !u64::from(u32::MAX);
        if over != 0 {
            match self.carry.binary_search_by_key(&(index as u32), |e| e.0) {
                Ok(at) => self.carry[at].1 += over,
                Err(at) => self.carry.insert(at, (index as u32, over)),
            }
        }
        self.total += count;
    }

    /// Total count.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The non-zero counters in ascending index order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let mut carry = self.carry.iter().peekable();
        self.table
            .iter()
            .enumerate()
            .filter(|(_, &s)| s != 0)
            .flat_map(move |(p, &s)| {
                self.pages[s as usize - 1]
                    .iter()
                    .enumerate()
                    .map(move |(j, &c)| (p * PAGE + j, u64::from(c)))
            })
            .filter_map(move |(i, mut c)| {
                if let Some(&&(ci, over)) = carry.peek() {
                    if ci as usize == i {
                        c += over;
                        carry.next();
                    }
                }
                (c != 0).then_some((i, c))
            })
    }

    /// Adds every counter of `other`.
    pub fn add_all(&mut self, other: &Paged) {
        for (i, c) in other.iter() {
            self.add(i, c);
        }
    }

    /// `value_at_quantile` for ascending quantiles.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [u64; N] {
        hist::quantiles(self.iter(), self.total, qs)
    }
}

/// A sorted `(index, count)` histogram with a reused merge buffer.
#[derive(Default)]
pub struct Sparse {
    entries: Vec<(u32, u64)>,
    scratch: Vec<(u32, u64)>,
    total: u64,
}

impl Sparse {
    /// Adds a list sorted by index (an index may repeat).
    pub fn add_sorted(&mut self, list: &[(u32, u64)]) {
        if list.is_empty() {
            return;
        }
        self.scratch.clear();
        let (mut a, mut b) = (0, 0);
        while a < self.entries.len() || b < list.len() {
            let next = match (self.entries.get(a), list.get(b)) {
                (Some(&x), Some(&y)) if x.0 <= y.0 => {
                    a += 1;
                    x
                }
                (_, Some(&y)) => {
                    b += 1;
                    y
                }
                (Some(&x), None) => {
                    a += 1;
                    x
                }
                (None, None) => break,
            };
            match self.scratch.last_mut() {
                Some(last) if last.0 == next.0 => last.1 += next.1,
                _ => self.scratch.push(next),
            }
        }
        self.total += list.iter().map(|e| e.1).sum::<u64>();
        std::mem::swap(&mut self.entries, &mut self.scratch);
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.total = 0;
    }

    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [u64; N] {
        hist::quantiles(
            self.entries.iter().map(|&(i, c)| (i as usize, c)),
            self.total,
            qs,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ringload_engine::stats::new_histogram;

    const QS: [f64; 6] = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0];

    proptest! {
        #[test]
        fn paged_and_sparse_match_a_histogram(
            lists in prop::collection::vec(
                prop::collection::vec((1u64..5_000_000, 1u64..100_000), 0..40), 1..20)
        ) {
            let mut h = new_histogram();
            let mut paged = Paged::default();
            let mut sparse = Sparse::default();
            for list in &lists {
                let mut sorted: Vec<(u32, u64)> = list
                    .iter()
                    .map(|&(v, c)| (hist::index_for(v) as u32, c))
                    .collect();
                sorted.sort_by_key(|e| e.0);
                for &(v, c) in list {
                    h.record_n(v, c).unwrap();
                }
                for &(i, c) in &sorted {
                    paged.add(i as usize, c);
                }
                sparse.add_sorted(&sorted);
            }
            let want: Vec<u64> = QS.iter().map(|&q| h.value_at_quantile(q)).collect();
            prop_assert_eq!(paged.total(), h.len());
            prop_assert_eq!(sparse.total(), h.len());
            prop_assert_eq!(paged.quantiles(QS).to_vec(), want.clone());
            prop_assert_eq!(sparse.quantiles(QS).to_vec(), want);
        }
    }

    #[test]
    fn counts_past_u32_stay_exact() {
        let mut p = Paged::default();
        p.add(500, u64::from(u32::MAX));
        p.add(500, 10);
        p.add(501, 1);
        p.add(500, 3 << 32);
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![(500, u64::from(u32::MAX) + 10 + (3 << 32)), (501, 1)]
        );
        let mut q = Paged::default();
        q.add_all(&p);
        assert_eq!(q.total(), p.total());
        assert_eq!(q.iter().collect::<Vec<_>>(), p.iter().collect::<Vec<_>>());
    }

    #[test]
    fn empty_answers_zero() {
        assert_eq!(Paged::default().quantiles(QS), [0; 6]);
        assert_eq!(Sparse::default().quantiles(QS), [0; 6]);
    }
}
