//! Operation classes: the [`Op`] enum, its result-file keys and table labels, and which
//! classes a result shows ([`Snapshot::shown_ops`]).
//!
//! Kept apart from the counters so the list of classes (and the rule that the ML classes
//! appear only when a run used them) reads in one place.

use super::Snapshot;

/// An operation class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Get = 0,
    Put = 1,
    /// An AIS GetBatch request: many objects (or files in shards) in one TAR stream.
    GetBatch = 2,
    /// A multipart upload: create, the parts, complete (or abort on failure).
    PutMpu = 3,
    /// A multipart download stream: one object read with parallel ranged GETs.
    GetMpd = 4,
}

/// How many operation classes there are.
pub const OP_COUNT: usize = 5;

/// Every operation class, in index order (`OPS[op as usize] == op`).
pub const OPS: [Op; OP_COUNT] = [Op::Get, Op::Put, Op::GetBatch, Op::PutMpu, Op::GetMpd];

impl Op {
    /// The key used in result files: `"get"`, `"put"`, `"get_batch"`, `"put_mpu"`, `"get_mpd"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::GetBatch => "get_batch",
            Op::PutMpu => "put_mpu",
            Op::GetMpd => "get_mpd",
        }
    }

    /// The label used in the human table: `"GET"`, `"PUT"`.
    pub fn label(self) -> &'static str {
        match self {
            Op::Get => "GET",
            Op::Put => "PUT",
            Op::GetBatch => "GET(batch)",
            Op::PutMpu => "PUT(mpu)",
            Op::GetMpd => "GET(mpd)",
        }
    }
}

impl Snapshot {
    /// The operation classes a result shows: `get` and `put` always (every reader expects
    /// them), the ML classes (`get_batch`, `put_mpu`, `get_mpd`) only when this snapshot (the
    /// run's total) has an operation of theirs, so a run without them writes what it always did.
    pub fn shown_ops(&self) -> Vec<Op> {
        OPS.into_iter()
            .filter(|&op| {
                matches!(op, Op::Get | Op::Put) || {
                    let s = self.get(op);
                    s.count + s.errors > 0
                }
            })
            .collect()
    }
}
