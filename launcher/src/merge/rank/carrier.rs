//! Staging a `ringload.result/2` file's intervals from its binary carrier: the carrier's
//! words are already the staging area's packed form ([`Staged`]), so they are copied, not
//! decoded. The carrier's own checks ([`IntervalsFile`], `Carrier`) run first, so a
//! hostile carrier rejects the file before anything is folded.

use ringload_core::intervals::{ClassView, IntervalsFile};

use super::super::fold::Staged;
use super::super::head::Head;
use super::super::mapped;
use super::{Iv, Reader};

impl Reader {
    /// Stages the intervals of a `/2` file's carrier: its words are already the staging
    /// area's packed form, so they are copied, not decoded.
    pub(super) fn stage_carrier(
        &mut self,
        head: &Head,
        f: &IntervalsFile,
        sums: &mut [u64; 2],
    ) -> Result<(), String> {
        let what = |e: String| format!("intervals_file {:?}: {e}", f.name);
        let path = f.path_beside(&head.path).map_err(what)?;
        let mut side = std::mem::take(&mut self.side);
        let out = (|| {
            let bytes =
                mapped::open(&path, &mut side).map_err(|e| what(format!("cannot read it: {e}")))?;
            let mut c = f.open(&bytes).map_err(what)?;
            for iv in c.by_ref() {
                let iv = iv.map_err(what)?;
                self.stage_view(&iv.ops, iv.start_unix_ns, iv.end_unix_ns, sums);
            }
            c.finish().map_err(what)
        })();
        self.side = side;
        out
    }

    /// Stages one carrier interval (its words were checked by the carrier).
    fn stage_view(&mut self, ops: &[ClassView; 2], start: u64, end: u64, sums: &mut [u64; 2]) {
        let mut rec = Iv {
            start_unix_ns: start,
            end_unix_ns: end,
            ..Iv::default()
        };
        for (op, (o, out)) in ops.iter().zip(&mut rec.ops).enumerate() {
            (out.count, out.bytes, out.errors) = (o.count, o.bytes, o.errors);
            if o.count == 0 {
                continue;
            }
            let packed = &mut self.batch.packed;
            let (start, big_start) = (packed.len() as u32, self.big.len() as u32);
            let w = o.words;
            // Usually no count is wide: then the words are the staged form as they are, copied
            // in one vectorised pass (and checked in another).
            let mask = ringload_core::intervals::COUNT_MASK;
            packed.extend(
                w.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            let wide = packed[start as usize..].iter().any(|&p| p & mask == 0);
            let mut at = if wide {
                packed.truncate(start as usize);
                0
            } else {
                w.len()
            };
            while at + 4 <= w.len() {
                let word = u32::from_le_bytes([w[at], w[at + 1], w[at + 2], w[at + 3]]);
                packed.push(word);
                at += 4;
                if word & ringload_core::intervals::COUNT_MASK == 0 {
                    let lo = u32::from_le_bytes([w[at], w[at + 1], w[at + 2], w[at + 3]]);
                    let hi = u32::from_le_bytes([w[at + 4], w[at + 5], w[at + 6], w[at + 7]]);
                    self.big.push(u64::from(lo) | (u64::from(hi) << 32));
                    at += 8;
                }
            }
            out.hist = Staged {
                start,
                end: packed.len() as u32,
                big_start,
                big_end: self.big.len() as u32,
            };
            sums[op] += o.count;
        }
        self.ivs.push(rec);
    }
}
