//! The worker's AWS edges: S3 (bundles in, reports out), SNS (alerts), STS
//! (cross-account roles), CloudTrail (who made a drift) and DynamoDB (the
//! resource index). Clients are
//! built once per container from one `SdkConfig`, with the SDK's standard retry mode (exponential backoff with
//! jitter, throttling errors included).
//!
//! Error messages carry the service's error code and the resource, never a
//! credential or an external id.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_sns::types::MessageAttributeValue;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use crate::cloud::{Cloud, IndexRecord, IndexValue, StoredClaims};
use drift_runner::attribution::aws::AwsTrail;

/// Attempts per AWS call, first included.
const MAX_ATTEMPTS: u32 = 5;
/// How long an assumed-role session lasts by default: the longest a Lambda
/// worker can run.
const SESSION_SECONDS: i32 = 900;
/// The longest session a role assumed from another role's credentials (a
/// Lambda's, a CodeBuild build's) may have: IAM's limit on role chaining.
pub const MAX_CHAINED_SESSION_SECONDS: u64 = 3600;

/// Temporary credentials of an assumed role. `Debug` hides the secrets.
#[derive(Clone)]
pub struct TemporaryCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: String,
}

impl std::fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TemporaryCredentials(** redacted **)")
    }
}

/// An AWS call that failed, after the SDK's retries.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {message}")]
pub struct AwsError {
    /// What was attempted, naming the resource.
    pub action: String,
    /// The service's error code, when it gave one (`NoSuchKey`, `AccessDenied`, ...).
    pub code: Option<String>,
    /// The SDK's full explanation.
    pub message: String,
}

impl AwsError {
    fn new<E>(action: String, err: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = err.code().map(str::to_string);
        // A service's refusal reads best as its code and message; the SDK's
        // full context would dump the raw HTTP response. Anything else (no
        // connection, a timeout) keeps the whole context: it names the cause.
        let message = match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                match (err.code(), err.message()) {
                    (Some(code), Some(text)) => format!("{code}: {text} (HTTP {status})"),
                    (Some(code), None) => format!("{code} (HTTP {status})"),
                    _ => format!("the service refused the request with HTTP {status}"),
                }
            }
            _ => DisplayErrorContext(&err).to_string(),
        };
        AwsError {
            action,
            code,
            message,
        }
    }
}

/// The worker's AWS clients.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    s3: aws_sdk_s3::Client,
    sns: aws_sdk_sns::Client,
    sts: aws_sdk_sts::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    session_seconds: i32,
}

fn to_attributes(record: IndexRecord) -> HashMap<String, AttributeValue> {
    record
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                IndexValue::S(s) => AttributeValue::S(s),
                IndexValue::N(n) => AttributeValue::N(n.to_string()),
            };
            (name, value)
        })
        .collect()
}

fn from_attributes(item: &HashMap<String, AttributeValue>) -> IndexRecord {
    item.iter()
        .filter_map(|(name, value)| {
            let value = match value {
                AttributeValue::S(s) => IndexValue::S(s.clone()),
                AttributeValue::N(n) => IndexValue::N(n.parse().ok()?),
                _ => return None,
            };
            Some((name.clone(), value))
        })
        .collect()
}

/// Loads the SDK configuration for `region` (credentials and
/// `AWS_ENDPOINT_URL` from the environment), with standard retries and
/// bounded timeouts.
pub async fn load_sdk_config(region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .load()
        .await
}

impl Aws {
    /// Builds the clients from one configuration. When an endpoint is set
    /// (a local emulator), S3 uses path-style addressing.
    pub fn new(config: &SdkConfig) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Aws {
            config: config.clone(),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sns: aws_sdk_sns::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            session_seconds: SESSION_SECONDS,
        }
    }

    /// Assumed-role sessions that last `seconds`, within 900 (STS's least)
    /// and [`MAX_CHAINED_SESSION_SECONDS`]: for a one-shot run longer than
    /// a Lambda invocation. (The role's own maximum session duration must
    /// allow it; its default is one hour.)
    pub fn with_session_seconds(mut self, seconds: u64) -> Self {
        let seconds = seconds.clamp(SESSION_SECONDS as u64, MAX_CHAINED_SESSION_SECONDS);
        self.session_seconds = i32::try_from(seconds).unwrap_or(SESSION_SECONDS);
        self
    }
}

impl Cloud for Aws {
    type Trail = AwsTrail;

    /// CloudTrail through the same configuration (endpoints, retries),
    /// signed with the assumed drift role's credentials when there are.
    fn trail(&self, credentials: Option<&TemporaryCredentials>) -> AwsTrail {
        match credentials {
            Some(c) => AwsTrail::with_credentials(
                self.config.clone(),
                &c.access_key_id,
                &c.secret_access_key,
                &c.session_token,
            ),
            None => AwsTrail::new(self.config.clone()),
        }
    }

    /// Reads a whole object.
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
        let action = format!("reading s3://{bucket}/{key}");
        let output = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| AwsError::new(action.clone(), e))?;
        let body = output.body.collect().await.map_err(|e| AwsError {
            action,
            code: None,
            message: e.to_string(),
        })?;
        Ok(body.into_bytes().to_vec())
    }

    /// Writes a JSON object with server-side encryption: SSE-KMS under
    /// `kms_key` when given, else SSE-S3.
    async fn put_json(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        kms_key: Option<&str>,
    ) -> Result<(), AwsError> {
        let mut request = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        request = match kms_key {
            Some(key_id) => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id),
            None => request.server_side_encryption(ServerSideEncryption::Aes256),
        };
        request
            .send()
            .await
            .map_err(|e| AwsError::new(format!("writing s3://{bucket}/{key}"), e))?;
        Ok(())
    }

    /// Publishes one message with string attributes; returns the message id.
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let action = format!("publishing to {topic_arn}");
        let mut request = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(message);
        for (name, value) in attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| AwsError {
                    action: action.clone(),
                    code: None,
                    message: e.to_string(),
                })?;
            request = request.message_attributes(name, attribute);
        }
        let output = request.send().await.map_err(|e| AwsError::new(action, e))?;
        Ok(output.message_id().unwrap_or_default().to_string())
    }

    /// Assumes `role_arn` (with `external_id` when the role requires one).
    async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<TemporaryCredentials, AwsError> {
        let action = format!("assuming {role_arn}");
        let output = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .set_external_id(external_id.map(str::to_string))
            .duration_seconds(self.session_seconds)
            .send()
            .await
            .map_err(|e| AwsError::new(action.clone(), e))?;
        let credentials = output.credentials().ok_or_else(|| AwsError {
            action,
            code: None,
            message: "STS answered without credentials".to_string(),
        })?;
        Ok(TemporaryCredentials {
            access_key_id: credentials.access_key_id().to_string(),
            secret_access_key: credentials.secret_access_key().to_string(),
            session_token: credentials.session_token().to_string(),
        })
    }

    /// `GetItem` of the workspace's `claims` item, strongly consistent.
    async fn index_claims(
        &self,
        table: &str,
        workspace_pk: &str,
    ) -> Result<Option<StoredClaims>, AwsError> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(workspace_pk.to_string()))
            .key(
                "sk",
                AttributeValue::S(drift_core::index::CLAIMS_SK.to_string()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::new(format!("reading {workspace_pk} from {table}"), e))?;
        Ok(output.item().map(from_attributes).and_then(|item| {
            match (item.get("digest"), item.get("written_at")) {
                (Some(IndexValue::S(digest)), Some(IndexValue::N(written_at))) => {
                    Some(StoredClaims {
                        digest: digest.clone(),
                        written_at: *written_at,
                    })
                }
                _ => None,
            }
        }))
    }

    /// One `BatchWriteItem` of put requests; returns the unprocessed items.
    async fn put_index(
        &self,
        table: &str,
        items: Vec<IndexRecord>,
    ) -> Result<Vec<IndexRecord>, AwsError> {
        let action = format!("writing {} items to {table}", items.len());
        let requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(to_attributes(item)))
                    .build()
                    .map_err(|e| AwsError {
                        action: action.clone(),
                        code: None,
                        message: e.to_string(),
                    })?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, AwsError>>()?;
        let output = self
            .dynamodb
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(|e| AwsError::new(action, e))?;
        Ok(output
            .unprocessed_items()
            .and_then(|by_table| by_table.get(table))
            .into_iter()
            .flatten()
            .filter_map(|request| request.put_request())
            .map(|put| from_attributes(put.item()))
            .collect())
    }

    /// One `PutItem`.
    async fn put_index_item(&self, table: &str, item: IndexRecord) -> Result<(), AwsError> {
        self.dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(to_attributes(item)))
            .send()
            .await
            .map_err(|e| AwsError::new(format!("writing an item to {table}"), e))?;
        Ok(())
    }
}
