//! What the handler asks of the cloud, as a trait: the four calls it makes,
//! and CloudTrail's event history for attribution.
//!
//! [`crate::aws::Aws`] is the one Lambda runs, on the AWS SDK; the handler's
//! unit tests run on an in-memory one, so that they need no server, and
//! `tests/worker.rs` runs the SDK one against moto. (The shape the
//! aws-lambda-rust-runtime examples use: the handler generic over a small
//! trait, the SDK client behind it, a mock in the tests.)

use std::collections::BTreeMap;
use std::future::Future;

use crate::aws::{AwsError, TemporaryCredentials};
use drift_runner::attribution::Trail;

/// Object storage, notifications and cross-account roles, as the worker
/// uses them. Errors are [`AwsError`]s, with the service's code when it gave
/// one: the handler turns `NoSuchKey`, `AccessDenied`, ... into advice.
pub trait Cloud: Send + Sync {
    /// CloudTrail's event history, for attribution.
    type Trail: Trail;

    /// The event history as `credentials` (the assumed drift role's) see
    /// it; `None`: the worker's own.
    fn trail(&self, credentials: Option<&TemporaryCredentials>) -> Self::Trail;

    /// The bytes of `s3://bucket/key`.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, AwsError>> + Send;

    /// Stores a JSON document at `s3://bucket/key`, encrypted with
    /// `kms_key` when given (SSE-KMS), else with S3's own keys.
    fn put_json(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        kms_key: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Publishes one message to an SNS topic; returns its message id.
    fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
        attributes: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Temporary credentials of `role_arn`.
    fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> impl Future<Output = Result<TemporaryCredentials, AwsError>> + Send;
}
