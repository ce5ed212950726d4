//! Quantiles of sparse `(index, count)` histograms, with the index arithmetic of
//! `ringload_core::hist_index` re-exported for the merge.
//!
//! Every ringload histogram has the same bounds (1 µs .. 1 h, 3 significant digits, see
//! `ringload_core::hist`), so a recorded value maps to one of [`COUNTS_LEN`] counter
//! indices, and an index maps back to a value range. The merge keeps many small histograms
//! as sparse `(index, count)` lists; this module gives them the exact semantics of
//! `hdrhistogram::Histogram<u64>` with those bounds: the same index of a value, and the same
//! `value_at_quantile` (proved against the crate in the tests).
//!
//! Invariants: indices are `< COUNTS_LEN` (so they fit a `u16`); quantile answers equal
//! `Histogram::value_at_quantile` on a histogram holding the same counts.

pub use ringload_core::hist_index::{highest_for, index_for, value_for, COUNTS_LEN, LOW, SIGFIG};

/// `Histogram::value_at_quantile` for counts given as `(index, count)` in ascending index
/// order, with `total` their sum. Answers several ascending quantiles in one pass.
pub fn quantiles<I, const N: usize>(sorted: I, total: u64, qs: [f64; N]) -> [u64; N]
where
    I: IntoIterator<Item = (usize, u64)>,
{
    let mut out = [0u64; N];
    if total == 0 {
        return out;
    }
    let mut it = sorted.into_iter();
    let mut seen = 0u64;
    let mut at = 0usize;
    for (k, &q) in qs.iter().enumerate() {
        let target = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        while seen < target {
            match it.next() {
                Some((i, c)) => {
                    seen += c;
                    at = i;
                }
                None => break,
            }
        }
        out[k] = if q == 0.0 {
            value_for(at)
        } else {
            highest_for(at)
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringload_core::hist::{new_histogram, LATENCY_MAX_US};

    #[test]
    fn counts_len_matches_the_crate() {
        let mut h = new_histogram();
        h.record(LATENCY_MAX_US).unwrap();
        // The highest value fits; anything larger is clamped to the last counter.
        assert!(index_for(LATENCY_MAX_US) < COUNTS_LEN);
        assert_eq!(index_for(u64::MAX), COUNTS_LEN - 1);
        assert_eq!(h.distinct_values(), COUNTS_LEN);
    }

    #[test]
    fn index_and_value_agree_with_the_crate() {
        let h = new_histogram();
        let mut v = 0u64;
        while v <= LATENCY_MAX_US {
            let i = index_for(v);
            assert_eq!(value_for(i), h.lowest_equivalent(v), "value {v}");
            assert_eq!(highest_for(i), h.highest_equivalent(v), "value {v}");
            v = v * 21 / 20 + 1;
        }
    }

    #[test]
    fn quantiles_agree_with_the_crate() {
        let mut h = new_histogram();
        let mut seed = 7u64;
        for _ in 0..5000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = 1 + (seed >> 40) % 2_000_000;
            h.record_n(v, 1 + (seed >> 20) % 5).unwrap();
        }
        let sparse: Vec<(usize, u64)> = h
            .iter_recorded()
            .map(|r| (index_for(r.value_iterated_to()), r.count_at_value()))
            .collect();
        let qs = [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0];
        let got = quantiles(sparse.iter().copied(), h.len(), qs);
        for (k, q) in qs.iter().enumerate() {
            assert_eq!(got[k], h.value_at_quantile(*q), "q {q}");
        }
    }
}
