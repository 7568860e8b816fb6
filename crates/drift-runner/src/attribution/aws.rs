//! [`Trail`] on the AWS SDK: CloudTrail's `LookupEvents`.
//!
//! One client per region, built from one SDK configuration (the default
//! credential chain for the CLI, the assumed drift role's credentials for
//! the worker) with the SDK's standard retries, which back off on
//! `ThrottlingException`; what is still throttled after them is
//! [`TrailError::Throttled`]. `AWS_ENDPOINT_URL_CLOUDTRAIL` (or
//! `AWS_ENDPOINT_URL`) points it at another endpoint, as the end-to-end
//! suite does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudtrail::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudtrail::primitives::DateTime as SmithyTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};

use super::{LookupPage, LookupRequest, Trail, TrailError};
use drift_core::attribution::parse_event;

/// Attempts per `LookupEvents` call, the first included.
const MAX_ATTEMPTS: u32 = 4;

/// CloudTrail through the AWS SDK.
#[derive(Debug)]
pub struct AwsTrail {
    config: SdkConfig,
    credentials: Option<aws_sdk_cloudtrail::config::Credentials>,
    clients: Mutex<HashMap<String, aws_sdk_cloudtrail::Client>>,
}

/// The SDK configuration attribution uses: `region` (else the environment's),
/// the default credential chain, standard retries and bounded timeouts.
pub async fn load_config(region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    loader.load().await
}

impl AwsTrail {
    /// A trail over `config` (its credentials and endpoint).
    pub fn new(config: SdkConfig) -> Self {
        AwsTrail {
            config,
            credentials: None,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// A trail over `config` that signs with these temporary credentials
    /// (the worker's assumed drift role) instead of the configuration's.
    pub fn with_credentials(
        config: SdkConfig,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: &str,
    ) -> Self {
        AwsTrail {
            credentials: Some(aws_sdk_cloudtrail::config::Credentials::new(
                access_key_id,
                secret_access_key,
                Some(session_token.to_string()),
                None,
                "drift-detection-assumed-role",
            )),
            ..AwsTrail::new(config)
        }
    }

    /// Whether the configuration can produce credentials at all; `Err`
    /// says why not, once, before any lookup.
    pub async fn check_credentials(&self) -> Result<(), String> {
        use aws_sdk_cloudtrail::config::ProvideCredentials as _;
        let Some(provider) = self.config.credentials_provider() else {
            return Err("no credential provider is configured".to_string());
        };
        provider
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }

    fn client(&self, region: Option<&str>) -> aws_sdk_cloudtrail::Client {
        let key = region.unwrap_or_default().to_string();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(key)
            .or_insert_with(|| {
                let mut builder = aws_sdk_cloudtrail::config::Builder::from(&self.config);
                if let Some(region) = region {
                    builder = builder.region(Region::new(region.to_string()));
                }
                if let Some(credentials) = &self.credentials {
                    builder = builder.credentials_provider(credentials.clone());
                }
                aws_sdk_cloudtrail::Client::from_conf(builder.build())
            })
            .clone()
    }
}

fn smithy_time(t: chrono::DateTime<chrono::Utc>) -> SmithyTime {
    SmithyTime::from_secs(t.timestamp())
}

impl Trail for AwsTrail {
    async fn lookup_events(&self, request: &LookupRequest) -> Result<LookupPage, TrailError> {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::ResourceName)
            .attribute_value(&request.resource_name)
            .build()
            .map_err(|e| TrailError::Other(e.to_string()))?;
        let output = self
            .client(request.region.as_deref())
            .lookup_events()
            .lookup_attributes(attribute)
            .start_time(smithy_time(request.start))
            .end_time(smithy_time(request.end))
            .max_results(50)
            .set_next_token(request.next_token.clone())
            .send()
            .await
            .map_err(classify)?;
        let mut events = Vec::new();
        for event in output.events() {
            let Some(json) = event.cloud_trail_event() else {
                continue;
            };
            match parse_event(json, event.read_only()) {
                Ok(parsed) => events.push(parsed),
                Err(e) => tracing::warn!(error = %e, "a CloudTrail event was skipped"),
            }
        }
        Ok(LookupPage {
            events,
            next_token: output.next_token().map(str::to_string),
        })
    }
}

/// A failed call, as attribution tells them apart.
fn classify<E>(err: SdkError<E>) -> TrailError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let text = match err.message() {
        Some(message) if !code.is_empty() => format!("{code}: {message}"),
        _ if !code.is_empty() => code.clone(),
        _ => DisplayErrorContext(&err).to_string(),
    };
    if code.contains("AccessDenied") || code == "UnauthorizedOperation" {
        return TrailError::AccessDenied(text);
    }
    if code.contains("Throttl") || code == "TooManyRequestsException" {
        return TrailError::Throttled(text);
    }
    if let SdkError::ServiceError(service) = &err {
        match service.raw().status().as_u16() {
            403 => return TrailError::AccessDenied(text),
            429 => return TrailError::Throttled(text),
            _ => {}
        }
    }
    if matches!(
        err,
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_)
    ) && text.to_ascii_lowercase().contains("credential")
    {
        return TrailError::NoCredentials(text);
    }
    TrailError::Other(text)
}
