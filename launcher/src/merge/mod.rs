//! Placeholder: the merge of rank result files (issue 4). See `model` for the data it produces.

pub mod model;
