//! A zero-allocation decoder of HdrHistogram V2 (+DEFLATE) histograms in base64.
//!
//! A merge of 1,024 ranks × 3,600 intervals decodes millions of small histograms. Building a
//! `Histogram<u64>` for each (a 184 KiB counts array, zeroed, then added) would dominate the
//! merge, so this decoder walks the encoding and hands each non-zero counter, as
//! `(index, count)`, straight to the caller, which adds it where it belongs.
//!
//! It owns three reused buffers: the base64 output (decoded by [`b64`](super::b64), the
//! `base64` crate only explains failures), the inflated V2 payload, and the inflate
//! state (a `flate2::Decompress` on the zlib-rs backend, reset per stream; the miniz backend's
//! reset zeroes a 32 KiB window each time and its table setup was 3× slower).
//!
//! Invariants: counters arrive in non-decreasing index order, every index is
//! `< hist::COUNTS_LEN` (larger ones are clamped to the last, as `saturating_record` would),
//! and a malformed input is an error, never a panic. Histograms with other bounds than
//! ringload's are decoded by the `hdrhistogram` crate and re-indexed value by value (slow
//! path, allocates).

use base64::Engine as _;
use flate2::{Decompress, FlushDecompress, Status};

use super::fold::{COUNT_BITS, COUNT_MASK};
use super::hist::{self, COUNTS_LEN};

const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// cookie, payload length, normalizing offset, digits (4 bytes each), low, high, ratio (8 each).
const V2_HEADER_LEN: usize = 40;
/// Inflate output to start with: the largest ringload V2 encoding (40 + 23,552 × 9 bytes)
/// fits, so the buffer never grows for ringload's own histograms.
const INFLATE_START_LEN: usize = 256 * 1024;

/// Why a histogram string could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HistError {
    #[error("histogram is not valid base64 (standard alphabet, padded): {0}")]
    Base64(String),
    #[error("histogram has cookie {0:#010x}, not HdrHistogram V2 (0x1c849313) or V2+DEFLATE (0x1c849314)")]
    Cookie(u32),
    #[error("histogram is truncated ({0})")]
    Truncated(&'static str),
    #[error("histogram's DEFLATE stream is corrupt ({0})")]
    Inflate(String),
    #[error("histogram uses an unsupported HdrHistogram feature ({0})")]
    Unsupported(&'static str),
}

/// Decodes histograms into caller-supplied accumulators, reusing its buffers.
pub struct HistDecoder {
    b64: Vec<u8>,
    inflated: Vec<u8>,
    inflater: Decompress,
}

impl Default for HistDecoder {
    fn default() -> Self {
        HistDecoder::new()
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

impl HistDecoder {
    pub fn new() -> HistDecoder {
        HistDecoder {
            b64: Vec::new(),
            inflated: vec![0; INFLATE_START_LEN],
            inflater: Decompress::new(true),
        }
    }

    /// Decodes `text` and calls `add(index, count)` for every non-zero counter, in
    /// non-decreasing index order. Returns the total count.
    pub fn decode(
        &mut self,
        text: &[u8],
        mut add: impl FnMut(usize, u64),
    ) -> Result<u64, HistError> {
        match self.payload(text)? {
            Found::Native(at) => walk_counts(self.bytes(at), |i, c| add(i.min(COUNTS_LEN - 1), c)),
            Found::Foreign => foreign(&self.b64, add),
        }
    }

    /// Like [`decode`](Self::decode), appending the counters to `packed` in the batch's
    /// packing (see `fold::Staged`), with counts too large to pack appended to `big`.
    pub fn decode_packed(
        &mut self,
        text: &[u8],
        packed: &mut Vec<u32>,
        big: &mut Vec<u64>,
    ) -> Result<u64, HistError> {
        match self.payload(text)? {
            Found::Native(at) => walk_packed(self.bytes(at), packed, big),
            Found::Foreign => foreign(&self.b64, |i, c| push_packed(packed, big, i, c)),
        }
    }

    fn bytes(&self, at: At) -> &[u8] {
        let buf = if at.inflated {
            &self.inflated
        } else {
            &self.b64
        };
        &buf[at.start..at.end]
    }

    /// Decodes the base64 (and inflates) up to the V2 counts payload.
    fn payload(&mut self, text: &[u8]) -> Result<Found, HistError> {
        let text = trim(text);
        if !super::b64::decode_into(text, &mut self.b64) {
            // Not canonical base64: the crate says exactly why (or accepts it after all).
            self.b64.clear();
            base64::engine::general_purpose::STANDARD
                .decode_vec(text, &mut self.b64)
                .map_err(|e| HistError::Base64(e.to_string()))?;
        }
        let raw = &self.b64[..];
        if raw.len() < 8 {
            return Err(HistError::Truncated("shorter than its 8-byte header"));
        }
        let (v2, inflated): (&[u8], bool) = match be32(raw, 0) {
            V2_COOKIE => (raw, false),
            V2_COMPRESSED_COOKIE => {
                let len = be32(raw, 4) as usize;
                let data = raw
                    .get(8..8usize.saturating_add(len))
                    .ok_or(HistError::Truncated(
                        "compressed payload shorter than declared",
                    ))?;
                let n = inflate(&mut self.inflater, data, &mut self.inflated)?;
                (&self.inflated[..n], true)
            }
            other => return Err(HistError::Cookie(other)),
        };
        if v2.len() < V2_HEADER_LEN {
            return Err(HistError::Truncated("V2 header"));
        }
        if be32(v2, 0) != V2_COOKIE {
            return Err(HistError::Cookie(be32(v2, 0)));
        }
        let payload_len = be32(v2, 4) as usize;
        if be32(v2, 8) != 0 {
            return Err(HistError::Unsupported("normalizing index offset"));
        }
        let digits = be32(v2, 12);
        let low = be64(v2, 16);
        if f64::from_bits(be64(v2, 32)) != 1.0 {
            return Err(HistError::Unsupported("integer-to-double conversion ratio"));
        }
        let end = V2_HEADER_LEN.saturating_add(payload_len);
        if end > v2.len() {
            return Err(HistError::Truncated("V2 payload shorter than declared"));
        }
        if low == hist::LOW && digits == u32::from(hist::SIGFIG) {
            // Same low bound and precision: the crate's indices are ours (a different high
            // bound only changes the array length).
            Ok(Found::Native(At {
                inflated,
                start: V2_HEADER_LEN,
                end,
            }))
        } else {
            Ok(Found::Foreign)
        }
    }
}

/// Where a native payload sits: in the base64 output or the inflated buffer.
#[derive(Clone, Copy)]
struct At {
    inflated: bool,
    start: usize,
    end: usize,
}

enum Found {
    Native(At),
    Foreign,
}

/// Stages one counter: packed when its count fits, else an escape and the count in `big`.
#[inline]
pub(super) fn push_packed(packed: &mut Vec<u32>, big: &mut Vec<u64>, i: usize, c: u64) {
    let i = (i.min(COUNTS_LEN - 1) as u32) << COUNT_BITS;
    if c <= COUNT_MASK {
        packed.push(i | c as u32);
    } else {
        packed.push(i);
        big.push(c);
    }
}

/// `text` without surrounding whitespace (checked at the ends only: the common case is free).
/// The bytes are not checked for UTF-8 (base64 rejects anything else); non-ASCII ends are
/// trimmed as `str::trim` would, for text that is UTF-8.
fn trim(text: &[u8]) -> &[u8] {
    match text {
        [f, ..] | [.., f] if !f.is_ascii() => match std::str::from_utf8(text) {
            Ok(s) => s.trim().as_bytes(),
            Err(_) => text,
        },
        [f, ..] | [.., f] if f.is_ascii_whitespace() => text.trim_ascii(),
        _ => text,
    }
}

/// Inflates one whole zlib stream into `out` (grown if needed); returns the length.
fn inflate(state: &mut Decompress, data: &[u8], out: &mut Vec<u8>) -> Result<usize, HistError> {
    loop {
        state.reset(true);
        let status = state
            .decompress(data, out, FlushDecompress::Finish)
            .map_err(|e| HistError::Inflate(e.to_string()))?;
        let written = state.total_out() as usize;
        match status {
            Status::StreamEnd => return Ok(written),
            _ if written == out.len() && out.len() < (64 << 20) => {
                let grown = out.len() * 2;
                out.resize(grown, 0);
            }
            _ => return Err(HistError::Truncated("DEFLATE stream ends early")),
        }
    }
}

/// Walks the zigzag-LEB128 counts of a V2 payload (negative = a run of empty counters).
///
/// Most varints of a latency histogram are 1 or 2 bytes; while 8 bytes are left, those are
/// read from one little-endian word without per-byte bounds checks. The rest goes through
/// the general byte-by-byte loop.
#[inline]
fn walk_counts(payload: &[u8], mut add: impl FnMut(usize, u64)) -> Result<u64, HistError> {
    let mut pos = 0usize;
    let mut index = 0usize;
    let mut total = 0u64;
    while pos < payload.len() {
        let v = match payload.get(pos..pos + 8) {
            Some(w) => {
                let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
                if w & 0x80 == 0 {
                    pos += 1;
                    w & 0x7f
                } else if w & 0x8000 == 0 {
                    pos += 2;
                    (w & 0x7f) | ((w >> 1) & (0x7f << 7))
                } else {
                    varint(payload, &mut pos)?
                }
            }
            None => varint(payload, &mut pos)?,
        };
        let n = ((v >> 1) as i64) ^ -((v & 1) as i64);
        if n < 0 {
            index = index.saturating_add(n.unsigned_abs() as usize);
        } else {
            if n > 0 {
                if index >= 1 << 24 {
                    return Err(HistError::Truncated("counter index far beyond the range"));
                }
                add(index, n as u64);
                total = total.saturating_add(n as u64);
            }
            index += 1;
        }
    }
    Ok(total)
}

/// [`walk_counts`] specialised for the batch's packing, branch-free in the common case: each
/// 1–2 byte varint is decoded from one word, every step writes a slot and advances the
/// output only for a non-zero count. Longer varints and unpackable counts take a slow path.
fn walk_packed(
    payload: &[u8],
    packed: &mut Vec<u32>,
    big: &mut Vec<u64>,
) -> Result<u64, HistError> {
    const LAST: usize = COUNTS_LEN - 1;
    let base = packed.len();
    // Every counter takes at least one byte of the payload.
    packed.resize(base + payload.len(), 0);
    let out = &mut packed[base..];
    let mut k = 0usize;
    let mut pos = 0usize;
    let mut index = 0usize;
    let mut last = 0usize;
    let mut total = 0u64;
    while pos < payload.len() {
        let v = match payload.get(pos..pos + 8) {
            Some(w) => {
                let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
                // Continuation bits of bytes 0 and 1: both set means 3+ bytes (rare).
                let two = (w >> 7) & 1;
                if two & (w >> 15) != 0 {
                    varint(payload, &mut pos)?
                } else {
                    pos += 1 + two as usize;
                    (w & 0x7f) | ((((w >> 8) & 0x7f) << 7) * two)
                }
            }
            None => varint(payload, &mut pos)?,
        };
        // Zigzag without branches: odd = a run of `v/2 + 1` empty counters, even = a count.
        let odd = v & 1;
        let neg = odd.wrapping_neg();
        let count = (v >> 1) & !neg;
        index = index.saturating_add((((v >> 1) + 1) & neg) as usize);
        let slot = (index.min(LAST) as u32) << COUNT_BITS;
        if count > COUNT_MASK {
            big.push(count);
            out[k] = slot;
            k += 1;
        } else {
            out[k] = slot | count as u32;
            k += usize::from(count != 0);
        }
        last = if count != 0 { index } else { last };
        total = total.saturating_add(count);
        index += (odd ^ 1) as usize;
    }
    // Indices only grow, so the last counted one bounds them all.
    if last >= 1 << 24 {
        packed.truncate(base);
        return Err(HistError::Truncated("counter index far beyond the range"));
    }
    packed.truncate(base + k);
    Ok(total)
}

/// One LEB128 varint of up to 9 bytes (the 9th carries 8 bits), byte by byte.
fn varint(payload: &[u8], pos: &mut usize) -> Result<u64, HistError> {
    let mut v = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *payload
            .get(*pos)
            .ok_or(HistError::Truncated("a count's varint"))?;
        *pos += 1;
        if shift == 56 {
            return Ok(v | u64::from(b) << 56);
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

/// Slow path for histograms with other bounds: decode with the crate, re-index by value.
fn foreign(raw: &[u8], mut add: impl FnMut(usize, u64)) -> Result<u64, HistError> {
    let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut &raw[..])
        .map_err(|e| HistError::Inflate(format!("{e}")))?;
    let mut total = 0u64;
    for r in h.iter_recorded() {
        add(hist::index_for(r.value_iterated_to()), r.count_at_value());
        total = total.saturating_add(r.count_at_value());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::{Serializer, V2Serializer};
    use proptest::prelude::*;
    use ringload_core::hist::new_histogram;
    use ringload_core::result::{decode_histogram, encode_histogram};

    fn sparse_of(h: &hdrhistogram::Histogram<u64>) -> Vec<(usize, u64)> {
        h.iter_recorded()
            .map(|r| (hist::index_for(r.value_iterated_to()), r.count_at_value()))
            .collect()
    }

    fn decode_all(d: &mut HistDecoder, s: &str) -> Result<Vec<(usize, u64)>, HistError> {
        let mut v = Vec::new();
        d.decode(s.as_bytes(), |i, c| v.push((i, c)))?;
        Ok(v)
    }

    proptest! {
        #[test]
        fn agrees_with_the_crate(values in prop::collection::vec((1u64..4_000_000_000, 1u64..1000), 0..200)) {
            let mut h = new_histogram();
            for (v, n) in &values {
                h.saturating_record_n(*v, *n);
            }
            let text = encode_histogram(&h);
            let mut d = HistDecoder::new();
            let got = decode_all(&mut d, &text).unwrap();
            // The crate's own deserializer is the reference.
            let reference = decode_histogram(&text).unwrap();
            prop_assert_eq!(&got, &sparse_of(&reference));
            // And the decoder is reusable: a second decode gives the same answer.
            prop_assert_eq!(decode_all(&mut d, &text).unwrap(), got);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), cut in 0usize..400) {
            let mut d = HistDecoder::new();
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let _ = decode_all(&mut d, &text);
            let mut h = new_histogram();
            h.record_n(1234, 5).unwrap();
            let good = encode_histogram(&h);
            let cut = cut.min(good.len());
            let _ = decode_all(&mut d, &good[..cut]);
        }
    }

    #[test]
    fn uncompressed_v2_and_foreign_bounds_decode() {
        let mut h = new_histogram();
        h.record_n(100, 3).unwrap();
        h.record_n(1_000_000, 2).unwrap();
        let mut buf = Vec::new();
        V2Serializer::new().serialize(&h, &mut buf).unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(&buf);
        let mut d = HistDecoder::new();
        assert_eq!(decode_all(&mut d, &text).unwrap(), sparse_of(&h));

        // Another precision (2 digits): counters are re-indexed by value.
        let mut other = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1_000_000, 2).unwrap();
        other.record_n(100, 3).unwrap();
        let text = encode_histogram(&other);
        let got = decode_all(&mut d, &text).unwrap();
        assert_eq!(got, vec![(hist::index_for(100), 3)]);
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let mut h = new_histogram();
        h.record_n(1234, 5).unwrap();
        let text = encode_histogram(&h);
        let mut d = HistDecoder::new();
        let want = decode_all(&mut d, &text).unwrap();
        for wrapped in [
            format!(" {text}\n"),
            format!("\u{a0}{text}"),
            format!("{text}\t"),
        ] {
            assert_eq!(decode_all(&mut d, &wrapped).unwrap(), want);
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let mut d = HistDecoder::new();
        assert!(matches!(
            decode_all(&mut d, "!!!"),
            Err(HistError::Base64(_))
        ));
        let text = base64::engine::general_purpose::STANDARD.encode([0u8; 16]);
        assert_eq!(decode_all(&mut d, &text), Err(HistError::Cookie(0)));
        let good = encode_histogram(&new_histogram());
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&good)
            .unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(&raw[..raw.len() - 3]);
        assert!(decode_all(&mut d, &text).is_err());
    }
}
