//! Shards (`--arch-*`): PUTs of TAR objects whose files are generated from their names, and
//! GETs of one file inside a shard by `archpath`.
//!
//! (Placeholder: the hooks are wired; the operation is not built yet, and validation refuses
//! `--arch-pct` and `--arch-list` until it is.)

use super::{Step, Worker};

impl Worker {
    /// Starts a shard PUT on connection `i` (its name is in `self.name`); `size` is the size
    /// the namer drew, which a shard replaces with its files' total.
    pub(super) fn start_shard_put(&mut self, _i: usize, _size: u64) -> Step {
        unreachable!("shards are refused at validation until they are built")
    }
}
