//! drift-runner: the edges of drift-detection that touch the world, shared by
//! the CLI and the Lambda worker, around the pure `drift-core`.
//!
//! [`terraform`] runs the terraform binary with deadlines, [`scan`] checks
//! one workspace of an inventory (read by `drift_core::inventory`) and fans
//! out over many, bounded, and [`output`] writes reports to a folder.
#![deny(missing_docs)]

pub mod output;
pub mod scan;
pub mod terraform;
