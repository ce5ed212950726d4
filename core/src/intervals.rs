//! The binary interval carrier: `rank-<r>.intervals`, the per-second figures of a
//! `ringload.result/2` file (docs/results.md, "The interval carrier").
//!
//! A one-hour run has 3,600 intervals per operation class, each with a histogram. Carried as
//! base64 inside the JSON, decoding them took about 40% of a 1,024-rank merge
//! (benches/RESULTS.md). Here they are laid out for summation instead: fixed-width
//! little-endian counters, and each histogram as the `(index, count)` pairs a merge adds,
//! packed in one 32-bit word each.
//!
//! Layout (all integers little-endian):
//! - header, 40 bytes: magic `RLIVALS1`; classes `u32`: 2 (`get`, `put`) or 5 (those, then
//!   `get_batch`, `put_mpu`, `get_mpd`: [`CLASSES`] order), 5 only when the intervals hold an
//!   ML class, so a run without one writes what it always did; significant digits `u32`;
//!   lowest and highest trackable latency `u64` (µs); interval count `u64`.
//! - per interval: `start_unix_ns u64`, `end_unix_ns u64`, then per class `count u64`,
//!   `bytes u64`, `errors u64`, `words u32`, `0u32` (80 bytes in all for 2 classes, 176 for
//!   5: [`fixed_len`]), then the words of each class in order.
//! - a word is `index << 17 | count` (count 1..=131,071) with indices strictly ascending
//!   within a class; count 0 means the count did not fit: the next two words are its low and
//!   high 32 bits. `index` is the counter index of [`crate::hist_index`].
//!
//! Invariants: the file's length is exactly what its header and word counts say (a torn or
//! foreign file is refused, never half read); decoding never panics on hostile bytes.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::hist::{new_histogram, LATENCY_MAX_US, LATENCY_MIN_US, LATENCY_SIGFIG};
use crate::hist_index::{index_for, value_for, COUNTS_LEN};
use crate::result::{decode_histogram, encode_histogram_plain, IntervalOp, IntervalRecord};

/// The `format` named in a result file's `intervals_file` key.
pub const FORMAT: &str = "ringload.intervals/1";
pub const MAGIC: [u8; 8] = *b"RLIVALS1";
pub const HEADER_LEN: usize = 40;
/// Bytes of one interval of a 2-class carrier before its words.
pub const FIXED_LEN: usize = 80;

/// Bytes of one interval before its words, for a carrier of `classes` classes.
pub const fn fixed_len(classes: usize) -> usize {
    16 + 32 * classes
}
/// Bits of a word's count field; count 0 escapes to the next two words.
pub const COUNT_BITS: u32 = 17;
pub const COUNT_MASK: u32 = (1 << COUNT_BITS) - 1;
/// The operation classes, in carrier order (the engine's `OPS` order). A carrier holds the
/// first [`BASIC`] or all of them.
pub const CLASSES: [&str; 5] = ["get", "put", "get_batch", "put_mpu", "get_mpd"];
/// How many classes a carrier of a run without ML classes holds (`get`, `put`).
pub const BASIC: usize = 2;

/// The `intervals_file` key of a `ringload.result/2` file: where its intervals are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalsFile {
    /// The carrier's file name, in the result file's directory (`rank-<r>.intervals`).
    pub name: String,
    /// [`FORMAT`].
    pub format: String,
    /// How many intervals it holds.
    pub intervals: u64,
    /// Its exact length in bytes.
    pub bytes: u64,
}

impl IntervalsFile {
    /// The carrier's path beside result file `result`; refuses a format this ringload does not
    /// read and a name that would leave the result file's directory.
    pub fn path_beside(&self, result: &std::path::Path) -> Result<std::path::PathBuf, String> {
        if self.format != FORMAT || self.name.contains(['/', '\\']) || self.name.is_empty() {
            return Err(format!(
                "intervals_file names {:?} in format {:?}; this ringload reads {FORMAT:?} files \
                 beside the result file",
                self.name, self.format
            ));
        }
        Ok(result.with_file_name(&self.name))
    }

    /// Opens `bytes` as this carrier, checking its length and interval count against what the
    /// result file says of it.
    pub fn open<'a>(&self, bytes: &'a [u8]) -> Result<Carrier<'a>, String> {
        if bytes.len() as u64 != self.bytes {
            return Err(format!(
                "{} bytes, but the result file says {}",
                bytes.len(),
                self.bytes
            ));
        }
        let c = Carrier::open(bytes)?;
        if c.intervals != self.intervals {
            return Err(format!(
                "{} intervals, but the result file says {}",
                c.intervals, self.intervals
            ));
        }
        Ok(c)
    }
}

/// Appends `h` as carrier words; returns how many words.
pub fn push_words(h: &Histogram<u64>, out: &mut Vec<u8>) -> u32 {
    let mut n = 0;
    for v in h.iter_recorded() {
        let (i, c) = (index_for(v.value_iterated_to()) as u32, v.count_at_value());
        if c <= u64::from(COUNT_MASK) {
            out.extend_from_slice(&((i << COUNT_BITS) | c as u32).to_le_bytes());
            n += 1;
        } else {
            out.extend_from_slice(&(i << COUNT_BITS).to_le_bytes());
            out.extend_from_slice(&(c as u32).to_le_bytes());
            out.extend_from_slice(&((c >> 32) as u32).to_le_bytes());
            n += 3;
        }
    }
    n
}

/// Encodes intervals (their histograms as `encode_histogram_plain` strings) into a carrier:
/// of 2 classes when every interval holds only `get` and `put`, of 5 otherwise. Classes not
/// in [`CLASSES`] are refused by name.
pub fn encode(ivs: &[IntervalRecord]) -> Result<Vec<u8>, String> {
    let mut classes = BASIC;
    for (k, iv) in ivs.iter().enumerate() {
        for c in iv.ops.keys() {
            match CLASSES.iter().position(|x| x == c) {
                Some(i) if i >= BASIC => classes = CLASSES.len(),
                Some(_) => {}
                None => {
                    return Err(format!(
                        "intervals[{k}].ops.{c}: the carrier holds only {}",
                        CLASSES.join(", ")
                    ))
                }
            }
        }
    }
    let mut out = Vec::with_capacity(HEADER_LEN + ivs.len() * (fixed_len(classes) + 64));
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(classes as u32).to_le_bytes());
    out.extend_from_slice(&u32::from(LATENCY_SIGFIG).to_le_bytes());
    out.extend_from_slice(&LATENCY_MIN_US.to_le_bytes());
    out.extend_from_slice(&LATENCY_MAX_US.to_le_bytes());
    out.extend_from_slice(&(ivs.len() as u64).to_le_bytes());
    let mut words = Vec::new();
    for (k, iv) in ivs.iter().enumerate() {
        out.extend_from_slice(&iv.start_unix_ns.to_le_bytes());
        out.extend_from_slice(&iv.end_unix_ns.to_le_bytes());
        words.clear();
        for class in &CLASSES[..classes] {
            let (mut count, mut bytes, mut errors, mut n) = (0, 0, 0, 0u32);
            if let Some(o) = iv.ops.get(*class) {
                (count, bytes, errors) = (o.count, o.bytes, o.errors);
                if !o.histogram.is_empty() {
                    let h = decode_histogram(&o.histogram)
                        .map_err(|e| format!("intervals[{k}].ops.{class}.histogram: {e}"))?;
                    n = push_words(&h, &mut words);
                }
            }
            for v in [count, bytes, errors] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
        out.extend_from_slice(&words);
    }
    Ok(out)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32_at(b, at)) | (u64::from(u32_at(b, at + 4)) << 32)
}

/// One class of one interval, borrowed from the carrier.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassView<'a> {
    pub count: u64,
    pub bytes: u64,
    pub errors: u64,
    /// The raw words (4 bytes each, little-endian), checked by [`Carrier::next`].
    pub words: &'a [u8],
    /// Whether a count is wide (escaped to two more words); when not, every word is one
    /// counter, as it stands.
    pub wide: bool,
}

impl ClassView<'_> {
    /// `(index, count)` in ascending index order (the words were checked when read).
    pub fn entries(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let w = self.words;
        let mut at = 0;
        std::iter::from_fn(move || {
            if at + 4 > w.len() {
                return None;
            }
            let word = u32_at(w, at);
            at += 4;
            let mut c = u64::from(word & COUNT_MASK);
            if c == 0 && at + 8 <= w.len() {
                c = u64_at(w, at);
                at += 8;
            }
            Some(((word >> COUNT_BITS) as usize, c))
        })
    }

    /// The class's histogram (for readers that want one; the merge adds the entries).
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for (i, c) in self.entries() {
            h.saturating_record_n(value_for(i), c);
        }
        h
    }
}

/// One interval, borrowed from the carrier: every class of [`CLASSES`], those the carrier
/// does not hold all zero.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntervalView<'a> {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub ops: [ClassView<'a>; CLASSES.len()],
}

/// A carrier being read: its intervals in order, each checked as it is reached.
pub struct Carrier<'a> {
    bytes: &'a [u8],
    at: usize,
    left: u64,
    /// How many intervals the header announces.
    pub intervals: u64,
    /// How many classes each interval holds: [`BASIC`] or `CLASSES.len()`.
    pub classes: usize,
}

impl<'a> Carrier<'a> {
    /// Checks the header.
    pub fn open(bytes: &'a [u8]) -> Result<Carrier<'a>, String> {
        if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
            return Err("not a ringload interval carrier (bad magic or too short)".into());
        }
        let classes = u32_at(bytes, 8);
        let sigfig = u32_at(bytes, 12);
        let (low, high) = (u64_at(bytes, 16), u64_at(bytes, 24));
        if !(classes == BASIC as u32 || classes == CLASSES.len() as u32)
            || sigfig != u32::from(LATENCY_SIGFIG)
            || low != LATENCY_MIN_US
            || high != LATENCY_MAX_US
        {
            return Err(format!(
                "carrier of {classes} classes with histograms {low}..{high} µs at {sigfig} \
                 digits; this ringload reads 2 or 5 classes, {LATENCY_MIN_US}..{LATENCY_MAX_US} µs \
                 at {LATENCY_SIGFIG} digits"
            ));
        }
        let intervals = u64_at(bytes, 32);
        Ok(Carrier {
            bytes,
            at: HEADER_LEN,
            left: intervals,
            intervals,
            classes: classes as usize,
        })
    }

    /// Checks one class's words (in bounds, ascending, escapes complete); says whether a
    /// count is wide.
    fn check(words: &[u8]) -> Result<bool, &'static str> {
        // Almost every class has no wide count: one branch-free pass decides it.
        let (mut prev, mut ascending, mut wide) = (0u32, true, false);
        for w in words.chunks_exact(4) {
            let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let key = (word >> COUNT_BITS) + 1;
            ascending &= key > prev;
            wide |= word & COUNT_MASK == 0;
            prev = key;
        }
        if !wide {
            return if ascending && prev <= COUNTS_LEN as u32 {
                Ok(false)
            } else {
                Err("counter index out of range or out of order")
            };
        }
        let mut at = 0;
        let mut last: i64 = -1;
        while at < words.len() {
            let word = u32_at(words, at);
            let index = (word >> COUNT_BITS) as usize;
            if index >= COUNTS_LEN || index as i64 <= last {
                return Err("counter index out of range or out of order");
            }
            last = index as i64;
            at += 4;
            if word & COUNT_MASK == 0 {
                if at + 8 > words.len() {
                    return Err("a wide count runs past the class's words");
                }
                at += 8;
            }
        }
        Ok(true)
    }

    fn read_one(&mut self, k: u64) -> Result<IntervalView<'a>, String> {
        let b = self.bytes;
        let bad = |what: &str| format!("interval {k}: {what}");
        let fixed = fixed_len(self.classes);
        if self.at + fixed > b.len() {
            return Err(bad("the file ends inside it"));
        }
        let f = self.at;
        let mut iv = IntervalView {
            start_unix_ns: u64_at(b, f),
            end_unix_ns: u64_at(b, f + 8),
            ..IntervalView::default()
        };
        let mut at = f + fixed;
        for (c, op) in iv.ops[..self.classes].iter_mut().enumerate() {
            let o = f + 16 + 32 * c;
            let n = u32_at(b, o + 24) as usize;
            let len = n * 4;
            if at + len > b.len() {
                return Err(bad("the file ends inside its words"));
            }
            *op = ClassView {
                count: u64_at(b, o),
                bytes: u64_at(b, o + 8),
                errors: u64_at(b, o + 16),
                words: &b[at..at + len],
                wide: false,
            };
            op.wide = Self::check(op.words).map_err(|e| bad(&format!("{}: {e}", CLASSES[c])))?;
            at += len;
        }
        self.at = at;
        Ok(iv)
    }

    /// After the last interval: whether the file ends exactly there.
    pub fn finish(&self) -> Result<(), String> {
        if self.left == 0 && self.at != self.bytes.len() {
            return Err(format!(
                "{} bytes follow the last of its {} intervals",
                self.bytes.len() - self.at,
                self.intervals
            ));
        }
        Ok(())
    }
}

impl<'a> Iterator for Carrier<'a> {
    type Item = Result<IntervalView<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let k = self.intervals - self.left;
        self.left -= 1;
        let out = self.read_one(k);
        if out.is_err() {
            self.left = 0;
        }
        Some(out)
    }
}

/// Decodes a whole carrier into [`IntervalRecord`]s (histograms as `encode_histogram_plain`
/// strings), the in-memory form of `/1` files: `get` and `put` always present, in every
/// interval; an ML class of a 5-class carrier present in every interval when any interval
/// has an operation of it (count or errors), absent otherwise, as the engine writes them.
pub fn decode(bytes: &[u8]) -> Result<Vec<IntervalRecord>, String> {
    decode_from(Carrier::open(bytes)?)
}

/// [`decode`] of a carrier already opened (e.g. by [`IntervalsFile::open`]).
pub fn decode_from(mut c: Carrier) -> Result<Vec<IntervalRecord>, String> {
    let mut out = Vec::with_capacity(c.intervals.min(1 << 20) as usize);
    let classes = c.classes;
    for iv in c.by_ref() {
        let iv = iv?;
        let ops = iv.ops[..classes]
            .iter()
            .zip(CLASSES)
            .map(|(o, name)| {
                let op = IntervalOp {
                    count: o.count,
                    bytes: o.bytes,
                    errors: o.errors,
                    histogram: encode_histogram_plain(&o.histogram()),
                };
                (name.to_string(), op)
            })
            .collect();
        out.push(IntervalRecord {
            start_unix_ns: iv.start_unix_ns,
            end_unix_ns: iv.end_unix_ns,
            ops,
        });
    }
    c.finish()?;
    for class in &CLASSES[BASIC..] {
        let used = out.iter().any(|iv| {
            iv.ops
                .get(*class)
                .is_some_and(|o| o.count > 0 || o.errors > 0)
        });
        if !used {
            for iv in &mut out {
                iv.ops.remove(*class);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
