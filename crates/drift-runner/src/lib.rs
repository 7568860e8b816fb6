//! drift-runner: the edges of drift-detection that touch the world, shared by
//! the CLI and the Lambda worker, around the pure `drift-core`.
//!
//! [`terraform`] runs the terraform binary with deadlines, [`inventory`]
//! reads workspace lists, [`scan`] ties them together for one workspace (and
//! fans out over many, bounded), and [`output`] writes reports to a folder.
#![deny(missing_docs)]

pub mod inventory;
pub mod output;
pub mod scan;
pub mod terraform;
pub mod workspace;
