//! Placeholder: SVG plots and report.html drawn from [`crate::merge::model`].
