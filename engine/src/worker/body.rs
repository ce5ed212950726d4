//! Where a request's body bytes come from: the object's content (a PUT, or one part of a
//! multipart upload) or bytes built for the request (a GetBatch request's JSON, a multipart
//! upload's completion list).
//!
//! Why apart: the plain send, the fused send and the TLS session all ask for "the next body
//! slice", and must get the same bytes; one function answers them all.
//!
//! Invariant: a slice handed out stays valid until the connection's next request: content
//! slices live in the shared pattern, built bytes in the connection's `body_buf`, which is
//! only rewritten when the next request is encoded.

use ringload_core::content;

/// The body source of a connection's current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// The content of the object whose pattern window starts at `start`, from byte `offset`
    /// of the object on (0 for a whole object; a part's first byte for a multipart part).
    Content { start: u64, offset: u64 },
    /// The connection's `body_buf`.
    Built,
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
    fn built_bytes_are_sliced_and_end() {
        let b = Body::Built;
        assert_eq!(b.chunk(b"hello", 1, 3), b"ell");
        assert_eq!(b.chunk(b"hello", 3, 100), b"lo");
        assert_eq!(b.chunk(b"hello", 9, 100), b"");
    }
}
