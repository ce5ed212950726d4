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
//! - [`Dense`] (one per operation class, reused for every rank): a full counts array plus the
//!   bitmap of counters in use, for the per-rank series of the rank being read.
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
    /// The pages, `PAGE` counters each, in allocation order.
    data: Vec<u32>,
    /// `(index, overflow)`: counts above `u32::MAX`, in multiples of 2^32, sorted by index.
    carry: Vec<(u32, u64)>,
}

impl Paged {
    /// The counter at `index` (< `COUNTS_LEN`), its page allocated on first touch.
    #[inline]
    fn cell(&mut self, index: usize) -> &mut u32 {
        if self.table.is_empty() {
            self.table = vec![0; PAGES];
        }
        let p = index / PAGE;
        let mut slot = self.table[p] as usize;
        if slot == 0 {
            self.data.resize(self.data.len() + PAGE, 0);
            slot = self.data.len() / PAGE;
            self.table[p] = slot as u16;
        }
        &mut self.data[(slot - 1) * PAGE + index % PAGE]
    }

    /// Keeps `over` (a multiple of 2^32 that did not fit counter `index`) in the side list.
    fn add_carry(&mut self, index: usize, over: u64) {
        match self.carry.binary_search_by_key(&(index as u32), |e| e.0) {
            Ok(at) => self.carry[at].1 += over,
            Err(at) => self.carry.insert(at, (index as u32, over)),
        }
    }

    /// Adds `count` at counter `index` (< `COUNTS_LEN`).
    #[inline]
    pub fn add(&mut self, index: usize, count: u64) {
        let cell = self.cell(index);
        let sum = u64::from(*cell) + count;
        *cell = sum as u32;
        let over = sum & !u64::from(u32::MAX);
        if over != 0 {
            self.add_carry(index, over);
        }
        self.total += count;
    }

    /// Adds packed counters (`index << COUNT_BITS | count`, count not 0: a staged run of
    /// the batch), as [`Paged::add`] of each would.
    #[inline]
    pub fn add_packed(&mut self, words: &[u32]) {
        use ringload_core::intervals::{COUNT_BITS, COUNT_MASK};
        let mut total = 0u64;
        for &w in words {
            let index = (w >> COUNT_BITS) as usize;
            let count = w & COUNT_MASK;
            let cell = self.cell(index);
            let (sum, over) = cell.overflowing_add(count);
            *cell = sum;
            if over {
                self.add_carry(index, 1 << 32);
            }
            total += u64::from(count);
        }
        self.total += total;
    }

    /// Reads one counter per cache line, in address order, so the hardware prefetcher streams
    /// the pages in before a burst of adds at scattered indices (which would miss one by one).
    pub fn warm(&self) -> u32 {
        self.data.iter().step_by(16).fold(0, |a, &c| a ^ c)
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
                self.data[(s as usize - 1) * PAGE..s as usize * PAGE]
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
        if self.carry.is_empty() {
            // Fast path: walk the pages directly (the iterator chain is 3× slower).
            let pages = self.table.iter().enumerate().filter(|(_, &s)| s != 0);
            let cells = pages.flat_map(|(p, &s)| {
                let page = &self.data[(s as usize - 1) * PAGE..s as usize * PAGE];
                page.iter()
                    .enumerate()
                    .filter(|(_, &c)| c != 0)
                    .map(move |(j, &c)| (p * PAGE + j, u64::from(c)))
            });
            return hist::quantiles(cells, self.total, qs);
        }
        hist::quantiles(self.iter(), self.total, qs)
    }
}

/// A full counts array with a bitmap of the counters in use: O(1) adds, and clearing and
/// quantiles walk 368 bitmap words instead of 23,552 counters (or a sort of the indices).
/// One per operation class, reused for every rank.
pub struct Dense {
    counts: Vec<u64>,
    used: Vec<u64>,
    total: u64,
}

impl Default for Dense {
    fn default() -> Self {
        Dense {
            counts: vec![0; COUNTS_LEN],
            used: vec![0; COUNTS_LEN.div_ceil(64)],
            total: 0,
        }
    }
}

impl Dense {
    #[inline]
    pub fn add(&mut self, index: usize, count: u64) {
        self.counts[index] += count;
        self.used[index / 64] |= 1 << (index % 64);
        self.total += count;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The counters in use, ascending.
    fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.used.iter().enumerate().flat_map(|(w, &bits)| {
            let mut b = bits;
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let i = b.trailing_zeros() as usize;
                    b &= b - 1;
                    w * 64 + i
                })
            })
        })
    }

    pub fn clear(&mut self) {
        for w in 0..self.used.len() {
            let mut b = self.used[w];
            while b != 0 {
                self.counts[w * 64 + b.trailing_zeros() as usize] = 0;
                b &= b - 1;
            }
            self.used[w] = 0;
        }
        self.total = 0;
    }

    pub fn quantiles<const N: usize>(&mut self, qs: [f64; N]) -> [u64; N] {
        let counts = &self.counts;
        hist::quantiles(self.indices().map(|i| (i, counts[i])), self.total, qs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ringload_core::hist::new_histogram;

    const QS: [f64; 6] = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0];

    proptest! {
        #[test]
        fn paged_and_dense_match_a_histogram(
            lists in prop::collection::vec(
                prop::collection::vec((1u64..5_000_000, 1u64..100_000), 0..40), 1..20)
        ) {
            let mut h = new_histogram();
            let mut paged = Paged::default();
            let mut dense = Dense::default();
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
                for &(i, c) in &sorted {
                    dense.add(i as usize, c);
                }
            }
            let want: Vec<u64> = QS.iter().map(|&q| h.value_at_quantile(q)).collect();
            prop_assert_eq!(paged.total(), h.len());
            prop_assert_eq!(dense.total(), h.len());
            prop_assert_eq!(paged.quantiles(QS).to_vec(), want.clone());
            prop_assert_eq!(dense.quantiles(QS).to_vec(), want.clone());
            dense.clear();
            prop_assert_eq!(dense.total(), 0);
            prop_assert_eq!(dense.quantiles(QS), [0; 6]);
        }
    }

    #[test]
    fn packed_adds_equal_single_adds() {
        use ringload_core::intervals::COUNT_BITS;
        let words: Vec<u32> = [(500u32, 7u32), (3, 1), (500, 131_071), (9_000, 2)]
            .iter()
            .map(|&(i, c)| (i << COUNT_BITS) | c)
            .collect();
        let (mut a, mut b) = (Paged::default(), Paged::default());
        a.add(500, u64::from(u32::MAX) - 5);
        b.add(500, u64::from(u32::MAX) - 5);
        for _ in 0..3 {
            a.add_packed(&words);
            for &w in &words {
                b.add(
                    (w >> COUNT_BITS) as usize,
                    u64::from(w & ((1 << COUNT_BITS) - 1)),
                );
            }
        }
        assert_eq!(a.total(), b.total());
        assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        assert_eq!(a.quantiles(QS), b.quantiles(QS));
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
        assert_eq!(Dense::default().quantiles(QS), [0; 6]);
    }
}
