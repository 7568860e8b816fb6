//! drift-worker: the AWS Lambda worker; one invocation checks one workspace.
//!
//! An edge around the same core the CLI uses. The pure parts are tested
//! without AWS: [`event`] (the invocation contract and its validation),
//! [`config`] (environment variables), [`bundle`] (unpacking an untrusted
//! zipped configuration) and [`publish`] (report keys, alert text, EMF
//! metrics). [`handler`] ties it together over a [`Cloud`] (S3, SNS, STS),
//! which [`aws`] implements on the SDK clients:
//!
//! [`oneshot`] runs the same handler once outside Lambda (AWS CodeBuild).
//!
//! ```text
//! event ─▶ validate ─▶ assume role (STS) ─▶ bundle (S3) ─▶ terraform ─▶ analyze
//!        ─▶ report (S3: dated key + latest.json) ─▶ alert (SNS) ─▶ EMF line (log)
//! ```
#![deny(missing_docs)]

pub mod aws;
pub mod bundle;
pub mod cloud;
pub mod config;
pub mod event;
pub mod handler;
pub mod index;
pub mod oneshot;
pub mod publish;
#[cfg(test)]
mod testing;

pub use cloud::Cloud;
pub use handler::{RecordSink, Stdout, Worker, WorkerError};
