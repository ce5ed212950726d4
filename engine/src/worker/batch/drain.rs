//! The streaming TAR drain of a GetBatch answer: fed the response body as it arrives, it reads
//! each 512-byte header, checks the member's name against the request (the TAR is in request
//! order) and its size against the listing's when the name came from one,
//! and says how many upcoming body bytes may be dropped in the kernel (a member's body and its
//! padding), or, when verifying, checks each member body against its name-derived content.
//!
//! Why a pure state machine: the same drain runs under both drivers and behind TLS, and every
//! split of a header or a body across reads must behave the same; tests feed it every split.
//!
//! Invariants: hostile bytes are errors, never panics; a PAX (`x`, `g`) or GNU long-name (`L`)
//! body is small and read (capped at [`MAX_META`]), never dropped; the stream is complete only
//! after two zero blocks with every requested member seen; nothing allocates once the
//! buffers are warm (header names are compared where they lie in the block, as
//! `tar::parse` borrows them; expected names, PAX bodies and long names live in buffers
//! reused for every batch).

use ringload_core::content;
use ringload_core::tar::{self, Kind, TarError, BLOCK};

/// Largest PAX or GNU long-name body read (names are at most a few KiB).
pub const MAX_META: u64 = 64 * 1024;
/// The directory AIS puts missing members under with `coer` (`__404__/<name>`, size 0).
pub const MISSING_DIR: &[u8] = b"__404__/";

/// Why a GetBatch stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DrainError {
    #[error(transparent)]
    Tar(#[from] TarError),
    #[error("a member's name differs from the request's name at its position")]
    WrongName,
    #[error("a member's size differs from its object's size in the listing")]
    WrongSize,
    #[error("the archive holds more members than were requested")]
    Extra,
    #[error("the archive ended before every requested member")]
    Missing,
    #[error("a missing member came back without continue-on-error, or with a body")]
    BadMissing,
    #[error("a PAX or long-name header's body is too large")]
    BigMeta,
    #[error("bytes follow the end of the archive")]
    Trailing,
    #[error("the stream ended inside the archive")]
    Truncated,
    #[error("a member's bytes differ from its content")]
    Corrupt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting a header block (`hlen` bytes so far).
    Header,
    /// Reading a PAX/GNU body (`left` bytes, then `pad`).
    Meta { kind: Kind, left: u64, pad: u64 },
    /// A member's body (`left` bytes, then `pad`); `pos` is the next body byte's position.
    Body { left: u64, pad: u64, pos: u64 },
    /// After the first zero block.
    Zero,
    /// Two zero blocks seen: the archive is complete.
    End,
    /// Failed; later input is ignored.
    Failed(DrainError),
}

/// One GetBatch answer's drain; reused for every batch of a connection.
#[derive(Debug)]
pub struct Drain {
    /// Expected member names, back to back, with their end offsets.
    names: Vec<u8>,
    ends: Vec<usize>,
    /// Content start of each expected member (only when verifying).
    starts: Vec<u64>,
    /// Each expected member's size, when known (its name came from a listing).
    sizes: Vec<Option<u64>>,
    verify: bool,
    coer: bool,
    state: State,
    hdr: [u8; BLOCK],
    hlen: usize,
    /// The body of the PAX or GNU header being read.
    meta: Vec<u8>,
    /// The next member's name from a PAX `path` or GNU long name.
    long_name: Vec<u8>,
    has_long: bool,
    /// Index of the next expected member.
    next: usize,
    /// Members delivered (present, not missing), missing members, member body bytes.
    pub delivered: u64,
    pub missing: u64,
    pub body_bytes: u64,
    /// The index of the member being verified.
    cur: usize,
}

impl Default for Drain {
    fn default() -> Self {
        // Empty until the connection's first batch: every connection has a drain, and only a
        // GetBatch run uses it (its buffers then grow once and are reused).
        Drain {
            names: Vec::new(),
            ends: Vec::new(),
            starts: Vec::new(),
            sizes: Vec::new(),
            verify: false,
            coer: false,
            state: State::Header,
            hdr: [0; BLOCK],
            hlen: 0,
            meta: Vec::new(),
            long_name: Vec::new(),
            has_long: false,
            next: 0,
            delivered: 0,
            missing: 0,
            body_bytes: 0,
            cur: 0,
        }
    }
}

impl Drain {
    /// Starts a new answer: members are pushed with [`Drain::expect`] next.
    pub fn begin(&mut self, verify: bool, coer: bool) {
        self.names.clear();
        self.ends.clear();
        self.starts.clear();
        self.sizes.clear();
        self.verify = verify;
        self.coer = coer;
        self.state = State::Header;
        self.hlen = 0;
        self.has_long = false;
        self.next = 0;
        self.delivered = 0;
        self.missing = 0;
        self.body_bytes = 0;
        self.cur = 0;
    }

    /// Adds the next expected member: its name in the archive (its parts concatenated),
    /// its size when known (`None`: any size passes), and, when verifying, its content start.
    pub fn expect(&mut self, name: &[&[u8]], size: Option<u64>, content_start: u64) {
        for p in name {
            self.names.extend_from_slice(p);
        }
        self.ends.push(self.names.len());
        self.sizes.push(size);
        self.starts.push(content_start);
    }

    /// Members expected.
    #[cfg(test)]
    pub fn expected(&self) -> usize {
        self.ends.len()
    }

    fn name(&self, i: usize) -> &[u8] {
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.names[from..self.ends[i]]
    }

    /// How many upcoming bytes may be dropped unseen (0 while verifying a body, or outside
    /// a member's body and padding).
    pub fn droppable(&self) -> u64 {
        match self.state {
            State::Body { left, pad, .. } if !self.verify => left.saturating_add(pad),
            State::Body { left: 0, pad, .. } => pad,
            _ => 0,
        }
    }

    /// `n` bytes (at most [`Drain::droppable`]) were dropped in the kernel.
    pub fn dropped(&mut self, n: u64) {
        if let State::Body { left, pad, pos } = self.state {
            let from_body = n.min(left);
            self.body_bytes += from_body;
            let left = left - from_body;
            let pad = pad.saturating_sub(n - from_body);
            self.state = State::Body {
                left,
                pad,
                pos: pos + from_body,
            };
            if left == 0 && pad == 0 {
                self.state = State::Header;
            }
        }
    }

    /// The stream ended here: complete, or the reason it is not.
    pub fn finish(&self) -> Result<(), DrainError> {
        match self.state {
            State::End => Ok(()),
            State::Failed(e) => Err(e),
            _ => Err(DrainError::Truncated),
        }
    }

    /// Shows the next bytes of the stream.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.step(data) {
                Ok(n) => data = &data[n..],
                Err(e) => {
                    self.state = State::Failed(e);
                    return;
                }
            }
        }
    }

    /// Consumes a prefix of `data` (at least one byte), advancing the state.
    fn step(&mut self, data: &[u8]) -> Result<usize, DrainError> {
        match self.state {
            State::Failed(_) => Ok(data.len()),
            State::End => Err(DrainError::Trailing),
            State::Header | State::Zero => {
                let n = (BLOCK - self.hlen).min(data.len());
                self.hdr[self.hlen..self.hlen + n].copy_from_slice(&data[..n]);
                self.hlen += n;
                if self.hlen == BLOCK {
                    self.hlen = 0;
                    self.on_block()?;
                }
                Ok(n)
            }
            State::Meta { kind, left, pad } => {
                let take = (left.min(data.len() as u64)) as usize;
                self.meta.extend_from_slice(&data[..take]);
                let left = left - take as u64;
                let skip = (pad.min((data.len() - take) as u64)) as usize;
                let pad = pad - skip as u64;
                self.state = State::Meta { kind, left, pad };
                if left == 0 && pad == 0 {
                    self.on_meta(kind)?;
                    self.state = State::Header;
                }
                Ok(take + skip)
            }
            State::Body { left, pad, pos } => {
                let take = (left.min(data.len() as u64)) as usize;
                if self.verify
                    && take > 0
                    && !content::pattern().verify(self.starts[self.cur], pos, &data[..take])
                {
                    return Err(DrainError::Corrupt);
                }
                self.body_bytes += take as u64;
                let left = left - take as u64;
                let skip = (pad.min((data.len() - take) as u64)) as usize;
                let pad = pad - skip as u64;
                self.state = State::Body {
                    left,
                    pad,
                    pos: pos + take as u64,
                };
                if left == 0 && pad == 0 {
                    self.state = State::Header;
                }
                Ok(take + skip)
            }
        }
    }

    /// A whole block is in `hdr`.
    fn on_block(&mut self) -> Result<(), DrainError> {
        if tar::is_zero(&self.hdr) {
            self.state = match self.state {
                State::Zero => State::End,
                _ if self.next < self.ends.len() || self.has_long => {
                    return Err(DrainError::Missing)
                }
                _ => State::Zero,
            };
            return Ok(());
        }
        if self.state == State::Zero {
            return Err(DrainError::Trailing);
        }
        let h = tar::parse(&self.hdr)?;
        // `parse` bounds the size, so neither this nor `left + pad` overflows.
        let pad = tar::padded(h.size) - h.size;
        match h.kind {
            Kind::PaxNext | Kind::PaxGlobal | Kind::GnuLongName => {
                if h.size > MAX_META {
                    return Err(DrainError::BigMeta);
                }
                self.meta.clear();
                self.state = State::Meta {
                    kind: h.kind,
                    left: h.size,
                    pad,
                };
                if h.size == 0 {
                    self.on_meta(h.kind)?;
                    self.state = State::Header;
                }
                Ok(())
            }
            Kind::Other if h.size == 0 => {
                // A directory entry or the like: no member of the request.
                self.has_long = false;
                Ok(())
            }
            Kind::Other | Kind::File => {
                let i = self.next;
                if i >= self.ends.len() {
                    return Err(DrainError::Extra);
                }
                let want = self.name(i);
                // The name is compared where it lies (the long name or the header block),
                // as itself or under the missing members' directory.
                let named = |dir: &[u8]| {
                    if self.has_long {
                        self.long_name.strip_prefix(dir) == Some(want)
                    } else {
                        h.path_is(&[dir, want])
                    }
                };
                if named(b"") {
                    if self.sizes[i].is_some_and(|want| want != h.size) {
                        return Err(DrainError::WrongSize);
                    }
                    self.delivered += 1;
                } else if named(MISSING_DIR) {
                    if !self.coer || h.size != 0 {
                        return Err(DrainError::BadMissing);
                    }
                    self.missing += 1;
                } else {
                    return Err(DrainError::WrongName);
                }
                self.has_long = false;
                self.next += 1;
                self.cur = i;
                if h.size > 0 {
                    self.state = State::Body {
                        left: h.size,
                        pad,
                        pos: 0,
                    };
                }
                Ok(())
            }
        }
    }

    /// A PAX or GNU body is complete in `meta`.
    fn on_meta(&mut self, kind: Kind) -> Result<(), DrainError> {
        match kind {
            Kind::PaxNext => {
                if let Some(p) = tar::pax_path(&self.meta)? {
                    self.long_name.clear();
                    self.long_name.extend_from_slice(p);
                    self.has_long = true;
                }
            }
            Kind::GnuLongName => {
                let end = self
                    .meta
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(self.meta.len());
                self.long_name.clear();
                self.long_name.extend_from_slice(&self.meta[..end]);
                self.has_long = true;
            }
            _ => {}
        }
        Ok(())
    }
}

impl crate::http::Sink for Drain {
    #[inline]
    fn body(&mut self, bytes: &[u8]) {
        self.feed(bytes);
    }
}

#[cfg(test)]
mod tests;
