//! drift-runner: the edges of drift-detection that touch the world, shared by
//! the CLI and the Lambda worker, around the pure `drift-core`.
//!
//! [`terraform`] runs the terraform binary with deadlines, [`scan`] checks
//! one workspace of an inventory (read by `drift_core::inventory`) and fans
//! out over many, bounded, and [`output`] writes reports to a folder.
//! [`attribution`] asks CloudTrail who made each drift (its AWS SDK half
//! with feature `aws`). [`scan::read_claims`] reads what a workspace's state
//! claims for `drift-detection unmanaged`, and `unmanaged_aws` (feature
//! `aws`) lists what exists from AWS Config.
#![deny(missing_docs)]

pub mod attribution;
pub mod output;
pub mod scan;
pub mod terraform;
#[cfg(feature = "aws")]
pub mod unmanaged_aws;
