//! The operation classes the merge knows, in the engine's order: their result keys, their
//! labels in tables and plots, and how many every result has. The launcher does not link the
//! engine, so the names come from the interval carrier's list, the one list both share.

/// The operation classes merged, in index order (the engine's `OPS` order, the carrier's
/// [`CLASSES`](ringload_core::intervals::CLASSES)): `get`, `put`, then the ML classes
/// `get_batch`, `put_mpu`, `get_mpd`, merged when any rank has them.
pub const OP_NAMES: [&str; N_OPS] = ringload_core::intervals::CLASSES;
/// The classes' labels in tables and plots, as the run summary prints them.
pub const OP_LABELS: [&str; N_OPS] = ["GET", "PUT", "GET(batch)", "PUT(mpu)", "GET(mpd)"];
/// The label of class `name` ([`OP_LABELS`]); a name not in [`OP_NAMES`] in capitals.
pub fn op_label(name: &str) -> String {
    OP_NAMES
        .iter()
        .position(|n| *n == name)
        .map_or_else(|| name.to_uppercase(), |i| OP_LABELS[i].to_string())
}

/// How many operation classes there are.
pub const N_OPS: usize = ringload_core::intervals::CLASSES.len();
/// How many classes every result has (`get`, `put`); the others only when used.
pub const BASIC_OPS: usize = ringload_core::intervals::BASIC;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_run_summarys_and_other_names_are_capitals() {
        let labels: Vec<String> = OP_NAMES.iter().map(|n| op_label(n)).collect();
        assert_eq!(labels, ["GET", "PUT", "GET(batch)", "PUT(mpu)", "GET(mpd)"]);
        assert_eq!(op_label("list"), "LIST");
        assert_eq!((N_OPS, BASIC_OPS), (5, 2));
    }
}
