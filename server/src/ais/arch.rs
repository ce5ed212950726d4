//! Shards on the built-in AIS target: files inside TAR objects, read by `archpath`.
//!
//! (Stub: the shard store is built separately; until then no object has files inside it.)

use crate::node::Node;
use crate::provider::Provider;

/// The size of file `archpath` inside shard `bucket/obj` of provider `p`, if the shard exists
/// and holds it. Its content name is `bucket/obj/archpath`.
pub(crate) fn member(
    _node: &Node,
    _p: Provider,
    _bucket: &str,
    _obj: &str,
    _archpath: &str,
) -> Option<u64> {
    None
}
