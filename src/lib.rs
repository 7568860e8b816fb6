//! drift-detection: finds where live infrastructure has drifted from the
//! Terraform that manages it.
//!
//! Data flows one way through a small, pure core:
//!
//! 1. [`plan`] reads Terraform's JSON output (`terraform show -json`, the
//!    `terraform plan -json` stream) into a [`plan::PlanDocument`];
//! 2. [`drift`] classifies each change: drift made outside Terraform versus
//!    pending configuration changes, changed attributes, severity, remediation;
//! 3. [`report`] builds the versioned report (contract v1) and renders it.
//!
//! The edges that touch the world live beside the core: [`terraform`] runs the
//! terraform binary with deadlines, [`inventory`] reads workspace lists,
//! [`scan`] ties them together for one workspace, and [`output`] writes
//! reports to a folder. [`worker`] (feature `worker`, on by default) is the
//! AWS Lambda edge: one workspace per invocation, reports to S3, alerts to
//! SNS, metrics as EMF log lines.
//!
//! ```
//! use drift_detection::{drift, plan, report};
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

pub mod drift;
pub mod encoding;
pub mod error;
pub mod inventory;
pub mod output;
pub mod plan;
pub mod report;
pub mod scan;
pub mod terraform;
pub mod textfile;
#[cfg(feature = "worker")]
pub mod worker;
pub mod workspace;

pub use error::{Error, Result};
