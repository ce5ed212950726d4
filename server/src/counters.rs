//! Request counters of the built-in target: one padded block per core, summed on demand.
//!
//! Owns: [`ServerCounters`] (the public totals of one listener, with [`StatusCounts`] and
//! [`FaultCounts`]) and `CoreCounters` (one core's live values). Why per core: the hot path must
//! not share a cache line between cores.
//!
//! Invariant: each `CoreCounters` has exactly one writer (its core's thread), so updates are a
//! relaxed load + store (no locked read-modify-write); readers may see a value a few
//! requests old, never a torn one.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::fault::FaultKind;
use super::request::{Status, STATUS_COUNT};

/// Final answers per HTTP status (1xx interim answers are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    counts: [u64; STATUS_COUNT],
}

impl StatusCounts {
    /// Answers with status `code` (0 for a code the target never sends).
    pub fn get(&self, code: u16) -> u64 {
        Status::ALL
            .iter()
            .find(|s| s.code() == code)
            .map_or(0, |s| self.counts[s.index()])
    }

    /// `(code, count)` for every status answered at least once, in code order.
    pub fn nonzero(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        Status::ALL
            .iter()
            .map(|s| (s.code(), self.counts[s.index()]))
            .filter(|&(_, n)| n > 0)
    }
}

/// Injected faults, by kind (see `--fault`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// GETs cut off with a TCP reset after part of the body.
    pub reset: u64,
    /// GETs that sent half the body and closed cleanly.
    pub truncate: u64,
    /// Object requests answered 500.
    pub http500: u64,
    /// Object requests answered 503.
    pub http503: u64,
    /// Answers held back by the configured delay.
    pub delay: u64,
}

/// Totals of one listener across its cores since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCounters {
    /// Object GET requests answered (including 404, 416, redirects and faults).
    pub gets: u64,
    /// Object PUT requests answered (including redirects, refusals and faults).
    pub puts: u64,
    /// Object HEAD requests answered.
    pub heads: u64,
    /// Object DELETE requests answered.
    pub deletes: u64,
    /// Object listings (AIS list-objects, S3 ListObjectsV2).
    pub lists: u64,
    /// Other bucket requests (presence, create, destroy, delete-listrange, S3 bucket calls).
    pub bucket_ops: u64,
    /// Anything else (unknown paths and methods, malformed requests).
    pub other: u64,
    /// Object requests a proxy redirected to a target.
    pub redirects: u64,
    /// Answers that were 404 (GET, HEAD or DELETE of an unknown object).
    pub not_found: u64,
    /// Request body bytes received (PUT payloads, chunk framing excluded).
    pub bytes_in: u64,
    /// Response body bytes sent for GETs (objects and ranges).
    pub bytes_out: u64,
    /// Malformed requests (400), peers that vanished mid-request or mid-response, socket
    /// errors, and failed accepts.
    pub errors: u64,
    /// Final answers per status.
    pub status: StatusCounts,
    /// Injected faults per kind.
    pub faults: FaultCounts,
    /// Requests that carried an `Authorization` header (AIS AuthN tokens, S3 signatures).
    pub authorized: u64,
    /// AIS object GETs that asked `latest-ver=true`.
    pub latest_ver: u64,
    /// The ML data-loading paths (AIS only).
    pub ml: MlCounts,
}

/// Requests and items of the ML data-loading paths, each counted where it is answered (a
/// GetBatch by its designated target, a multipart step by the object's target).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MlCounts {
    /// GetBatch requests answered with a TAR stream.
    pub get_batch: u64,
    /// Members streamed by those answers (objects and files in shards), missing ones included.
    pub get_batch_members: u64,
    /// Members that were missing (`__404__/` entries under `coer`).
    pub get_batch_missing: u64,
    /// Shards stored (PUTs of TAR objects whose file list was recorded).
    pub shard_puts: u64,
    /// GETs of a file inside a shard (`archpath`).
    pub archpath_gets: u64,
    /// Multipart uploads created, parts stored, uploads completed and aborted.
    pub mpt_create: u64,
    pub mpt_parts: u64,
    pub mpt_complete: u64,
    pub mpt_abort: u64,
}

/// Which [`MlCounts`] counter an answer adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MlKind {
    GetBatch,
    GetBatchMembers,
    GetBatchMissing,
    ShardPut,
    ArchpathGet,
    MptCreate,
    MptPart,
    MptComplete,
    MptAbort,
}

impl MlKind {
    const COUNT: usize = 9;
}

/// What a request asked for, for the per-kind request counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Get,
    Put,
    Head,
    Delete,
    List,
    Bucket,
    Other,
}

/// Fault slots: the four [`FaultKind`]s, then delay.
const FAULT_SLOTS: usize = 5;
const DELAY_SLOT: usize = 4;

/// One core's counters, padded to its own cache lines.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct CoreCounters {
    gets: AtomicU64,
    puts: AtomicU64,
    heads: AtomicU64,
    deletes: AtomicU64,
    lists: AtomicU64,
    bucket_ops: AtomicU64,
    other: AtomicU64,
    redirects: AtomicU64,
    not_found: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    errors: AtomicU64,
    authorized: AtomicU64,
    latest_ver: AtomicU64,
    ml: [AtomicU64; MlKind::COUNT],
    status: [AtomicU64; STATUS_COUNT],
    faults: [AtomicU64; FAULT_SLOTS],
}

/// Single-writer add (see the module invariant).
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl CoreCounters {
    pub(crate) fn request(&self, kind: Kind) {
        add(
            match kind {
                Kind::Get => &self.gets,
                Kind::Put => &self.puts,
                Kind::Head => &self.heads,
                Kind::Delete => &self.deletes,
                Kind::List => &self.lists,
                Kind::Bucket => &self.bucket_ops,
                Kind::Other => &self.other,
            },
            1,
        );
    }
    pub(crate) fn redirect(&self) {
        add(&self.redirects, 1);
    }
    pub(crate) fn not_found(&self) {
        add(&self.not_found, 1);
    }
    pub(crate) fn bytes_in(&self, n: u64) {
        add(&self.bytes_in, n);
    }
    pub(crate) fn bytes_out(&self, n: u64) {
        add(&self.bytes_out, n);
    }
    pub(crate) fn error(&self) {
        add(&self.errors, 1);
    }
    pub(crate) fn authorized(&self) {
        add(&self.authorized, 1);
    }
    /// Adds `n` to one of the ML counters.
    pub(crate) fn ml(&self, kind: MlKind, n: u64) {
        add(&self.ml[kind as usize], n);
    }
    pub(crate) fn latest_ver(&self) {
        add(&self.latest_ver, 1);
    }
    pub(crate) fn status(&self, s: Status) {
        add(&self.status[s.index()], 1);
    }
    pub(crate) fn fault(&self, kind: FaultKind) {
        add(&self.faults[kind as usize], 1);
    }
    pub(crate) fn delayed(&self) {
        add(&self.faults[DELAY_SLOT], 1);
    }

    /// Adds this core's values into `t`.
    pub(crate) fn sum_into(&self, t: &mut ServerCounters) {
        t.gets += self.gets.load(Relaxed);
        t.puts += self.puts.load(Relaxed);
        t.heads += self.heads.load(Relaxed);
        t.deletes += self.deletes.load(Relaxed);
        t.lists += self.lists.load(Relaxed);
        t.bucket_ops += self.bucket_ops.load(Relaxed);
        t.other += self.other.load(Relaxed);
        t.redirects += self.redirects.load(Relaxed);
        t.not_found += self.not_found.load(Relaxed);
        t.bytes_in += self.bytes_in.load(Relaxed);
        t.bytes_out += self.bytes_out.load(Relaxed);
        t.errors += self.errors.load(Relaxed);
        t.authorized += self.authorized.load(Relaxed);
        t.latest_ver += self.latest_ver.load(Relaxed);
        let ml = |k: MlKind| self.ml[k as usize].load(Relaxed);
        let m = &mut t.ml;
        m.get_batch += ml(MlKind::GetBatch);
        m.get_batch_members += ml(MlKind::GetBatchMembers);
        m.get_batch_missing += ml(MlKind::GetBatchMissing);
        m.shard_puts += ml(MlKind::ShardPut);
        m.archpath_gets += ml(MlKind::ArchpathGet);
        m.mpt_create += ml(MlKind::MptCreate);
        m.mpt_parts += ml(MlKind::MptPart);
        m.mpt_complete += ml(MlKind::MptComplete);
        m.mpt_abort += ml(MlKind::MptAbort);
        for (sum, c) in t.status.counts.iter_mut().zip(&self.status) {
            *sum += c.load(Relaxed);
        }
        let f: [u64; FAULT_SLOTS] = std::array::from_fn(|i| self.faults[i].load(Relaxed));
        t.faults.reset += f[FaultKind::Reset as usize];
        t.faults.truncate += f[FaultKind::Truncate as usize];
        t.faults.http500 += f[FaultKind::Http500 as usize];
        t.faults.http503 += f[FaultKind::Http503 as usize];
        t.faults.delay += f[DELAY_SLOT];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_across_cores() {
        let a = CoreCounters::default();
        let b = CoreCounters::default();
        a.request(Kind::Get);
        a.bytes_out(10);
        a.status(Status::Ok);
        b.request(Kind::Get);
        b.request(Kind::Put);
        b.bytes_in(5);
        b.error();
        a.authorized();
        b.latest_ver();
        b.latest_ver();
        b.status(Status::Ok);
        b.status(Status::ServiceUnavailable);
        b.fault(FaultKind::Http503);
        b.delayed();
        let mut t = ServerCounters::default();
        a.sum_into(&mut t);
        b.sum_into(&mut t);
        assert_eq!(
            (t.gets, t.puts, t.bytes_in, t.bytes_out, t.errors),
            (2, 1, 5, 10, 1)
        );
        assert_eq!((t.authorized, t.latest_ver), (1, 2));
        assert_eq!(
            (t.status.get(200), t.status.get(503), t.status.get(404)),
            (2, 1, 0)
        );
        assert_eq!(t.status.nonzero().collect::<Vec<_>>(), [(200, 2), (503, 1)]);
        assert_eq!(
            t.faults,
            FaultCounts {
                http503: 1,
                delay: 1,
                ..FaultCounts::default()
            }
        );
    }
}
