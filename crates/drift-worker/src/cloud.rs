//! What the handler asks of the cloud, as a trait: the four calls it makes,
//! CloudTrail's event history for attribution, and the three DynamoDB calls
//! of the resource index (issue 16).
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

/// One attribute value of a resource-index item: a string or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexValue {
    /// DynamoDB `S`.
    S(String),
    /// DynamoDB `N` (whole numbers: epoch seconds, counts).
    N(i64),
}

/// One resource-index item: attribute name → value (`pk` and `sk` included).
pub type IndexRecord = BTreeMap<String, IndexValue>;

/// A workspace's stored `claims` item, as far as the skip needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaims {
    /// The digest of the items written then.
    pub digest: String,
    /// When they were written (epoch seconds).
    pub written_at: i64,
}

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

    /// The `claims` item (pk `workspace_pk`, sk `claims`) of the index
    /// table, if there is one (DynamoDB `GetItem`).
    fn index_claims(
        &self,
        table: &str,
        workspace_pk: &str,
    ) -> impl Future<Output = Result<Option<StoredClaims>, AwsError>> + Send;

    /// Writes at most 25 items in one request (DynamoDB `BatchWriteItem`)
    /// and returns those the service left unprocessed.
    fn put_index(
        &self,
        table: &str,
        items: Vec<IndexRecord>,
    ) -> impl Future<Output = Result<Vec<IndexRecord>, AwsError>> + Send;

    /// Writes one item (DynamoDB `PutItem`): the workspace's `claims` item.
    fn put_index_item(
        &self,
        table: &str,
        item: IndexRecord,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}
