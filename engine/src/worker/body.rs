//! Where a request's body bytes come from: the object's content (a PUT, or one part of a
//! multipart upload), bytes built for the request (a GetBatch request's JSON, a multipart
//! upload's completion list), or a shard: the TAR of its files, sent as segments (each file's
//! header from `body_buf`, its content from the pattern, its zero padding, then the end)
//! without building the archive in memory.
//!
//! Why apart: the plain send, the fused send and the TLS session all ask for "the next body
//! slice", and must get the same bytes; one function answers them all.
//!
//! Invariant: a slice handed out stays valid until the connection's next request: content
//! slices live in the shared pattern, built bytes in the connection's `body_buf`, which is
//! only rewritten when the next request is encoded.

use ringload_core::{content, tar};

/// The body source of a connection's current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// The content of the object whose pattern window starts at `start`, from byte `offset`
    /// of the object on (0 for a whole object; a part's first byte for a multipart part).
    Content { start: u64, offset: u64 },
    /// The connection's `body_buf`.
    Built,
    /// A shard's TAR, laid out in `body_buf` by [`ShardLayout`]: `records` segment records
    /// of [`REC`] bytes first, then the files' headers and the end-of-archive blocks.
    Shard { records: u32 },
}

/// Zeros for a shard's padding.
static ZEROS: [u8; tar::BLOCK] = [0; tar::BLOCK];

/// Bytes per segment record of a shard's layout: its TAR position, its header's offset (high
/// 32 bits) and length (low 32) in `body_buf`, its content's pattern start and its size, each
/// little-endian.
pub const REC: usize = 32;

/// Builds a shard's layout into a connection's `body_buf` (see [`Body::Shard`]): `begin` with
/// the number of files, `add` each file in order, then `finish`. Allocation-free once the
/// buffer is warm.
pub struct ShardLayout {
    next: usize,
    records: usize,
    tar_len: u64,
}

impl ShardLayout {
    /// Starts the layout of a shard of `files` files in `buf` (cleared).
    pub fn begin(buf: &mut Vec<u8>, files: usize) -> ShardLayout {
        buf.clear();
        let records = files + 1; // and the end
        buf.resize(records * REC, 0);
        ShardLayout {
            next: 0,
            records,
            tar_len: 0,
        }
    }

    /// Adds file `name` of `size` bytes whose content starts at pattern position `start`.
    pub fn add(&mut self, buf: &mut Vec<u8>, name: &[u8], size: u64, start: u64) {
        let off = buf.len();
        tar::encode_file(name, size, buf);
        self.record(buf, off, start, size);
    }

    fn record(&mut self, buf: &mut [u8], off: usize, start: u64, size: u64) {
        let len = buf.len() - off;
        let at = self.next * REC;
        let rec = [self.tar_len, (off as u64) << 32 | len as u64, start, size];
        for (k, v) in rec.iter().enumerate() {
            buf[at + k * 8..at + k * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        self.next += 1;
        self.tar_len += len as u64 + tar::padded(size);
    }

    /// Appends the end of the archive; returns the body source and the TAR's length.
    pub fn finish(mut self, buf: &mut Vec<u8>) -> (Body, u64) {
        debug_assert_eq!(self.next + 1, self.records, "every file added");
        let off = buf.len();
        tar::encode_end(buf);
        self.record(buf, off, 0, 0);
        let body = Body::Shard {
            records: self.next as u32,
        };
        (body, self.tar_len)
    }
}

/// Field `k` of record `r` in `built`.
#[inline]
fn field(built: &[u8], r: usize, k: usize) -> u64 {
    let at = r * REC + k * 8;
    built
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Up to `max` bytes of the shard laid out in `built` (`n` records) from TAR position `sent`.
fn shard_chunk(built: &[u8], n: usize, sent: u64, max: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    // The last segment starting at or before `sent` (records are in TAR order).
    let (mut lo, mut hi) = (0, n);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if field(built, mid, 0) <= sent {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut rel = sent - field(built, lo, 0).min(sent);
    let hdr = field(built, lo, 1);
    let (off, len) = ((hdr >> 32) as usize, hdr as u32 as u64);
    let (start, size) = (field(built, lo, 2), field(built, lo, 3));
    if rel < len {
        let from = off + rel as usize;
        let to = (off + len as usize).min(from + max);
        return built.get(from..to).unwrap_or(&[]);
    }
    rel -= len;
    if rel < size {
        return content::pattern().chunk(start, rel, (size - rel).min(max as u64) as usize);
    }
    rel -= size;
    let pad = tar::padded(size) - size;
    if rel < pad {
        return &ZEROS[..(pad - rel).min(max as u64) as usize];
    }
    &[]
}

impl Default for Body {
    fn default() -> Self {
        Body::Content {
            start: 0,
            offset: 0,
        }
    }
}

impl Body {
    /// Up to `max` body bytes from body position `sent` (fewer at the pattern's wrap; empty
    /// past the end of built bytes).
    #[inline]
    pub fn chunk<'a>(&self, built: &'a [u8], sent: u64, max: usize) -> &'a [u8] {
        match *self {
            Body::Content { start, offset } => content::pattern().chunk(start, offset + sent, max),
            Body::Built => {
                let from = (sent as usize).min(built.len());
                &built[from..(from + max).min(built.len())]
            }
            Body::Shard { records } => shard_chunk(built, records as usize, sent, max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_with_an_offset_is_the_object_from_that_byte() {
        let start = content::object_start(b"bk/obj");
        let whole = Body::Content { start, offset: 0 };
        let part = Body::Content {
            start,
            offset: 1000,
        };
        assert_eq!(part.chunk(&[], 0, 64), whole.chunk(&[], 1000, 64));
        assert_eq!(part.chunk(&[], 24, 64), whole.chunk(&[], 1024, 64));
    }

    #[test]
    fn a_shard_is_sent_as_its_tar_in_slices_of_any_size() {
        let files: [(&[u8], u64); 4] = [
            (b"a", 1000),
            (b"b/c", 512),
            (b"empty", 0),
            (&[b'x'; 300], 70_000),
        ];
        let mut want = Vec::new();
        let mut buf = Vec::new();
        let mut l = ShardLayout::begin(&mut buf, files.len());
        for (i, (name, size)) in files.iter().enumerate() {
            let start = 1000 * i as u64;
            tar::encode_file(name, *size, &mut want);
            let mut done = 0;
            while done < *size {
                let c = content::pattern().chunk(start, done, (*size - done) as usize);
                want.extend_from_slice(c);
                done += c.len() as u64;
            }
            want.resize(want.len() + (tar::padded(*size) - *size) as usize, 0);
            l.add(&mut buf, name, *size, start);
        }
        tar::encode_end(&mut want);
        let (body, len) = l.finish(&mut buf);
        assert_eq!(len, want.len() as u64);
        for max in [1, 7, 512, 4096, 1 << 20] {
            let mut got = Vec::new();
            loop {
                let c = body.chunk(&buf, got.len() as u64, max);
                if c.is_empty() {
                    break;
                }
                assert!(c.len() <= max);
                got.extend_from_slice(c);
            }
            assert!(got == want, "slices of {max} rebuild the TAR");
        }
    }

    #[test]
    fn built_bytes_are_sliced_and_end() {
        let b = Body::Built;
        assert_eq!(b.chunk(b"hello", 1, 3), b"ell");
        assert_eq!(b.chunk(b"hello", 3, 100), b"lo");
        assert_eq!(b.chunk(b"hello", 9, 100), b"");
    }
}
