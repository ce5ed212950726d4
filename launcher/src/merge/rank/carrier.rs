//! Staging a `ringload.result/2` file's intervals from its binary carrier: the carrier's
//! words are already the staging area's packed form ([`Staged`]), so they are copied, not
//! decoded. The carrier's own checks ([`IntervalsFile`], `Carrier`) run first, so a
//! hostile carrier rejects the file before anything is folded.

use ringload_core::intervals::{ClassView, IntervalsFile};

use super::super::decode::push_packed;
use super::super::fold::Staged;
use super::super::head::Head;
use super::super::mapped;
use super::{Iv, Reader, N_OPS};

impl Reader {
    /// Stages the intervals of a `/2` file's carrier: its words are already the staging
    /// area's packed form, so they are copied, not decoded.
    pub(super) fn stage_carrier(
        &mut self,
        head: &Head,
        f: &IntervalsFile,
        sums: &mut [u64; N_OPS],
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
    fn stage_view(
        &mut self,
        ops: &[ClassView; N_OPS],
        start: u64,
        end: u64,
        sums: &mut [u64; N_OPS],
    ) {
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
            if o.wide {
                for (i, c) in o.entries() {
                    push_packed(packed, &mut self.big, i, c);
                }
            } else {
                // The words are the staged form as they stand: one vectorised copy.
                packed.extend(
                    o.words
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
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
