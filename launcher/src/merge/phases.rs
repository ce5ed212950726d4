//! The merge of the ranks' per-phase latency (`ops.<op>.phases`, recorded for every
//! operation): each phase's histograms are added exactly, its count summed, min and max taken over
//! the ranks and its mean weighted by count, the same rules as `latency_us` ([`summary`]).
//!
//! A multipart upload's `part` phase (`put_mpu` only) merges by the same rules, over the
//! ranks that recorded one.
//!
//! A rank without phases (a file written before every run recorded them) merged with ranks
//! that have them: the merged phases are those of the ranks that have them, and a warning names the
//! ranks left out, so the phases' counts are never read as the whole run's.
//!
//! Phase histograms are few (four per class and rank), so they are decoded with the
//! `hdrhistogram` crate into a rank's [`RankPhases`] while its file is read (a corrupt one
//! rejects the file, like any histogram), and added into [`PhaseTotals`] once the file is
//! accepted; nothing of them stays behind per rank.
//!
//! [`summary`]: super::summary

use hdrhistogram::Histogram;

use ringload_core::hist::{add_histogram, new_histogram, LatencySummary, PHASE_NAMES};
use ringload_core::result::{decode_histogram, encode_histogram, PhaseRecord, PhasesRecord};

use super::error::ranges;
use super::rank::OP_NAMES;

/// One phase of one rank: its figures as the file states them and its decoded histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct RankPhase {
    pub count: u64,
    pub latency: LatencySummary,
    pub hist: Histogram<u64>,
}

/// One class's phases in one rank: the four phases, and a multipart upload's `part` phase
/// when the class recorded one.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPhases {
    pub phases: [RankPhase; 4],
    pub part: Option<RankPhase>,
}

/// One rank's phases per operation class (`None`: the class has no `phases` key).
pub type RankPhases = [Option<Box<ClassPhases>>; super::rank::N_OPS];

/// Decodes one class's `phases` (`op` names it in errors).
pub fn decode(op: usize, rec: &PhasesRecord) -> Result<Box<ClassPhases>, String> {
    let one = |p: &PhaseRecord, name: &str| {
        let hist = decode_histogram(&p.histogram)
            .map_err(|e| format!("ops.{}.phases.{name}.histogram: {e}", OP_NAMES[op]))?;
        Ok::<_, String>(RankPhase {
            count: p.count,
            latency: p.latency,
            hist,
        })
    };
    let mut out = Vec::with_capacity(4);
    for (p, name) in rec.all().into_iter().zip(PHASE_NAMES) {
        out.push(one(p, name)?);
    }
    let phases = out
        .try_into()
        .map_err(|_| "a phases record has four phases".to_string())?;
    let part = rec.part.as_ref().map(|p| one(p, "part")).transpose()?;
    Ok(Box::new(ClassPhases { phases, part }))
}

/// One latency distribution summed over ranks (a phase, the service latency, the schedule
/// lag, a sweep step's class): the rules of `latency_us`.
///
/// Order independence: counts, extremes and histograms add exactly in any order, but the
/// count-weighted mean is a float sum, so each rank's term is kept with its key (the rank,
/// or the order of [`Acc::add_parts`] calls) and summed in key order when read: the same
/// arithmetic as adding them one by one in rank order, whatever order they arrived in.
#[derive(Debug)]
pub struct Acc {
    count: u64,
    min: u64,
    max: u64,
    /// `(key, mean · count)` per contribution with a count.
    weighted: Vec<(u32, f64)>,
    hist: Histogram<u64>,
}

impl Default for Acc {
    fn default() -> Acc {
        Acc::new()
    }
}

impl Acc {
    pub fn new() -> Acc {
        Acc {
            count: 0,
            min: u64::MAX,
            max: 0,
            weighted: Vec::new(),
            hist: new_histogram(),
        }
    }

    /// Adds rank `rank`'s phase (in any order of ranks).
    pub fn add_ranked(&mut self, rank: u32, p: &RankPhase) {
        self.add_keyed(rank, p.count, &p.latency, &p.hist);
    }

    /// Adds one contribution: `count` operations summarised by `latency`, held in `hist`,
    /// keyed by the order of calls (for sums that are folded sequentially).
    pub fn add_parts(&mut self, count: u64, latency: &LatencySummary, hist: &Histogram<u64>) {
        let key = self.weighted.len() as u32;
        self.add_keyed(key, count, latency, hist);
    }

    fn add_keyed(&mut self, key: u32, count: u64, latency: &LatencySummary, hist: &Histogram<u64>) {
        self.count += count;
        if count > 0 {
            self.min = self.min.min(latency.min);
            self.max = self.max.max(latency.max);
            self.weighted.push((key, latency.mean * count as f64));
        }
        add_histogram(&mut self.hist, hist);
    }

    /// Adds everything `other` holds (rank-keyed contributions of other ranks).
    pub fn absorb(&mut self, other: Acc) {
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.weighted.extend(other.weighted);
        add_histogram(&mut self.hist, &other.hist);
    }

    /// The sum of the weighted terms in key order, from 0.0 one by one.
    fn weighted_sum(&self) -> f64 {
        let sum = |terms: &[(u32, f64)]| terms.iter().fold(0.0, |a, t| a + t.1);
        if self.weighted.windows(2).all(|w| w[0].0 <= w[1].0) {
            sum(&self.weighted)
        } else {
            let mut terms = self.weighted.clone();
            terms.sort_by_key(|t| t.0);
            sum(&terms)
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn hist(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// The merged value at quantile `q` (0..=1), clamped into [min of mins, max of maxes].
    pub fn at(&self, q: f64) -> u64 {
        if self.count == 0 || self.hist.is_empty() {
            return 0;
        }
        self.hist
            .value_at_quantile(q)
            .clamp(self.min, self.max.max(self.min))
    }

    /// The merged summary (all zero when nothing was recorded).
    pub fn summary(&self) -> LatencySummary {
        if self.count == 0 || self.hist.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            min: self.min,
            mean: self.weighted_sum() / self.count as f64,
            p50: self.at(0.50),
            p90: self.at(0.90),
            p99: self.at(0.99),
            p999: self.at(0.999),
            max: self.max.max(self.min),
        }
    }

    /// The merged histogram, encoded as in a result file.
    pub fn encoded(&self) -> String {
        encode_histogram(&self.hist)
    }

    fn record(&self) -> PhaseRecord {
        PhaseRecord {
            count: self.count,
            latency: self.summary(),
            histogram: self.encoded(),
        }
    }
}

/// One class's phases summed over ranks (`part`: once any rank recorded one).
#[derive(Debug, Default)]
struct ClassAcc {
    phases: [Acc; 4],
    part: Option<Acc>,
}

/// The cluster's phases: what the ranks with phases recorded, and which ranks had none.
#[derive(Debug, Default)]
pub struct PhaseTotals {
    ops: [Option<Box<ClassAcc>>; super::rank::N_OPS],
    traced: Vec<u32>,
    untraced: Vec<u32>,
}

impl PhaseTotals {
    /// Adds rank `rank`'s phases (taken out of its result; ranks in any order).
    pub fn add(&mut self, rank: u32, phases: RankPhases) {
        if phases.iter().all(Option::is_none) {
            self.untraced.push(rank);
            return;
        }
        self.traced.push(rank);
        for (acc, p) in self.ops.iter_mut().zip(phases) {
            if let Some(p) = p {
                let acc = acc.get_or_insert_with(Box::default);
                for (a, one) in acc.phases.iter_mut().zip(p.phases.iter()) {
                    a.add_ranked(rank, one);
                }
                if let Some(part) = &p.part {
                    acc.part.get_or_insert_with(Acc::new).add_ranked(rank, part);
                }
            }
        }
    }

    /// Adds everything `other` holds (other ranks).
    pub fn absorb(&mut self, other: PhaseTotals) {
        for (mine, theirs) in self.ops.iter_mut().zip(other.ops) {
            match (mine.as_mut(), theirs) {
                (_, None) => {}
                (None, Some(t)) => *mine = Some(t),
                (Some(m), Some(t)) => {
                    let ClassAcc { phases, part } = *t;
                    for (acc, o) in m.phases.iter_mut().zip(phases) {
                        acc.absorb(o);
                    }
                    match (&mut m.part, part) {
                        (_, None) => {}
                        (None, Some(p)) => m.part = Some(p),
                        (Some(mine), Some(p)) => mine.absorb(p),
                    }
                }
            }
        }
        self.traced.extend(other.traced);
        self.untraced.extend(other.untraced);
    }

    /// The merged `ops.<op>.phases` of class `op` (`None` when no rank recorded it).
    pub fn record(&self, op: usize) -> Option<PhasesRecord> {
        let acc = self.ops[op].as_deref()?;
        let [a, b, c, d] = &acc.phases;
        Some(PhasesRecord {
            part: acc.part.as_ref().map(Acc::record),
            ..PhasesRecord::from_all([a.record(), b.record(), c.record(), d.record()])
        })
    }

    /// The warning when some ranks have phases and others not.
    pub fn note(&self) -> Option<String> {
        if self.traced.is_empty() || self.untraced.is_empty() {
            return None;
        }
        let (traced, untraced) = (sorted(&self.traced), sorted(&self.untraced));
        let noun = |v: &[u32]| if v.len() == 1 { "rank" } else { "ranks" };
        Some(format!(
            "phases come from {} {} only; {} {} recorded none (older result files)",
            noun(&traced),
            ranges(&traced),
            noun(&untraced),
            ranges(&untraced)
        ))
    }
}

/// `ranks` in ascending order (lists of ranks are kept in arrival order).
pub fn sorted(ranks: &[u32]) -> Vec<u32> {
    let mut v = ranks.to_vec();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(values: &[u64]) -> RankPhase {
        let mut hist = new_histogram();
        values.iter().for_each(|&v| hist.record(v).unwrap());
        let mut latency = LatencySummary::of(&hist);
        if !values.is_empty() {
            latency.mean = values.iter().sum::<u64>() as f64 / values.len() as f64;
        }
        RankPhase {
            count: values.len() as u64,
            latency,
            hist,
        }
    }

    fn rank(fb: &[u64]) -> RankPhases {
        [
            Some(Box::new(ClassPhases {
                phases: [phase(&[50]), phase(&[]), phase(fb), phase(&[3, 4])],
                part: None,
            })),
            None,
            None,
            None,
            None,
        ]
    }

    /// A multipart upload's `part` phase: decoded from a record, merged exactly over ranks
    /// (split over partial merges too), absent when no rank recorded one.
    #[test]
    fn the_part_phase_merges_exactly_when_present() {
        let with_part = |parts: &[u64]| {
            let mut r = rank(&[10]);
            if let Some(c) = r[0].as_deref_mut() {
                c.part = Some(phase(parts));
            }
            r
        };
        let mut t = PhaseTotals::default();
        t.add(0, with_part(&[100, 300]));
        let mut other = PhaseTotals::default();
        other.add(1, rank(&[20]));
        other.add(2, with_part(&[200]));
        t.absorb(other);
        let rec = t.record(0).unwrap();
        let part = rec.part.as_ref().expect("part merged");
        assert_eq!(part.count, 3);
        assert_eq!((part.latency.min, part.latency.max), (100, 300));
        assert!((part.latency.mean - 200.0).abs() < 1e-9, "{part:?}");
        assert_eq!(decode_histogram(&part.histogram).unwrap().len(), 3);
        // Round trip through a record, and no part where none was recorded.
        let back = decode(0, &rec).unwrap();
        assert_eq!(back.part.as_ref().map(|p| p.count), Some(3));
        let mut none = PhaseTotals::default();
        none.add(0, rank(&[1]));
        assert!(none.record(0).unwrap().part.is_none());
    }

    #[test]
    fn phases_add_exactly_and_name_the_ranks_without() {
        let mut t = PhaseTotals::default();
        t.add(0, rank(&[100, 200, 300]));
        t.add(1, Default::default());
        t.add(2, rank(&[1_000]));
        let get = t.record(0).unwrap();
        assert!(t.record(1).is_none(), "no rank recorded PUT phases");
        assert_eq!(get.connect.count, 2);
        assert_eq!(get.redirect.count, 0);
        assert_eq!(get.redirect.latency, LatencySummary::default());
        let fb = &get.first_byte;
        assert_eq!(fb.count, 4);
        assert_eq!((fb.latency.min, fb.latency.max), (100, 1_000));
        assert!((fb.latency.mean - 400.0).abs() < 1e-9, "{fb:?}");
        assert_eq!(decode_histogram(&fb.histogram).unwrap().len(), 4);
        assert_eq!(get.body.count, 4);
        assert_eq!(
            t.note().unwrap(),
            "phases come from ranks 0, 2 only; rank 1 recorded none (older result files)"
        );
        let mut all = PhaseTotals::default();
        all.add(0, rank(&[1]));
        assert!(all.note().is_none());
    }

    #[test]
    fn a_corrupt_phase_histogram_is_named() {
        let mut h = new_histogram();
        h.record(5).unwrap();
        let good = PhaseRecord {
            count: 1,
            latency: LatencySummary::of(&h),
            histogram: encode_histogram(&h),
        };
        let mut bad = good.clone();
        bad.histogram = "not base64!".into();
        let rec = PhasesRecord::from_all([good.clone(), good.clone(), bad, good]);
        let e = decode(1, &rec).unwrap_err();
        assert!(
            e.starts_with("ops.put.phases.first_byte.histogram: "),
            "{e}"
        );
    }
}
