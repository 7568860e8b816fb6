//! drift-core: the pure core of drift-detection, which finds where live
//! infrastructure has drifted from the Terraform that manages it. No tokio,
//! no AWS SDK, no process: bytes in, a report out.
//!
//! Data flows one way:
//!
//! 1. [`plan`] reads Terraform's JSON output (`terraform show -json`, the
//!    `terraform plan -json` stream) into a [`plan::PlanDocument`];
//! 2. [`drift`] classifies each change: drift made outside Terraform versus
//!    pending configuration changes, changed attributes, severity, remediation;
//! 3. [`report`] builds the versioned report (contract v1) and renders it.
//!
//! [`attribution`] answers "who changed it" from CloudTrail events, without
//! the network: lookup keys, event parsing, the choice of the event.
//!
//! [`unmanaged`] compares what the states claim with what exists (an
//! inventory): resources nobody manages, managed twice, or gone.
//!
//! [`workspace`] is the workspace contract (one entry of an inventory, the
//! worker's event; the schemas are generated from it) and [`inventory`]
//! reads inventory files against it: text in, checked entries out.
//!
//! The edges that touch the world live in other crates: `drift-runner` runs
//! terraform, checks workspaces and writes reports (shared by the CLI
//! and the worker), `drift-worker` is the AWS Lambda edge.
//!
//! ```
//! use drift_core::{drift, plan, report};
//!
//! let json = br#"{"format_version":"1.2","resource_drift":[{"address":"aws_s3_bucket.logs",
//!   "mode":"managed","type":"aws_s3_bucket","name":"logs","change":{"actions":["update"],
//!   "before":{"tags":{"Env":"prod"}},"after":{"tags":{"Env":"dev"}}}}]}"#;
//! let doc = plan::parse_slice("plan.json", json).unwrap();
//! let analysis = drift::analyze(&[&doc], &drift::rules::RuleSet::embedded());
//! let report = report::build_report(
//!     report::ReportIdentity::new(),
//!     report::WorkspaceInfo { name: "logs".into(), ..Default::default() },
//!     analysis,
//!     report::RunFacts::default(),
//! );
//! assert_eq!(report.status, report::Status::Drift);
//! assert_eq!(report.drift[0].changed_attributes[0].path, "tags.Env");
//! ```
#![deny(missing_docs)]

pub mod attribution;
pub mod drift;
pub mod encoding;
pub mod error;
pub mod index;
pub mod inventory;
pub mod plan;
pub mod report;
pub mod textfile;
pub mod unmanaged;
pub mod workspace;

pub use error::{Error, Result};
