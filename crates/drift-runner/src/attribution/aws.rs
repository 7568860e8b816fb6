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

#[cfg(test)]
mod tests {
    //! The SDK implementation against a one-answer HTTP server on
    //! 127.0.0.1: the request it makes, a page read, and the failures told
    //! apart by their codes.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;
    use aws_sdk_cloudtrail::config::Credentials;

    /// Serves `answers` (status, JSON body) in turn, one per connection;
    /// sends each request's headers and body back through the channel.
    fn server(answers: Vec<(u16, String)>) -> (String, mpsc::Receiver<(String, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (seen, requests) = mpsc::channel();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut request = vec![0; length];
                let _ = reader.read_exact(&mut request);
                let _ = seen.send((head, String::from_utf8_lossy(&request).into_owned()));
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, requests)
    }

    async fn trail(url: &str) -> AwsTrail {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .endpoint_url(url)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await;
        AwsTrail::new(config)
    }

    fn request() -> LookupRequest {
        LookupRequest {
            region: Some("us-east-1".into()),
            resource_name: "sg-0123".into(),
            start: "2026-11-26T00:00:00Z".parse().unwrap(),
            end: "2026-11-30T00:00:00Z".parse().unwrap(),
            next_token: None,
        }
    }

    #[tokio::test]
    async fn a_page_is_read_and_the_request_names_the_resource_and_window() {
        let event = serde_json::json!({
            "eventName": "AuthorizeSecurityGroupIngress", "eventTime": "2026-11-29T10:00:00Z",
            "eventID": "e1", "readOnly": false,
            "userIdentity": {"type": "IAMUser", "userName": "Alice",
                             "arn": "arn:aws:iam::123456789012:user/Alice"},
        });
        let body = serde_json::json!({
            "Events": [{"EventId": "e1", "EventName": "AuthorizeSecurityGroupIngress",
                        "ReadOnly": "false", "EventTime": 1.7964e9,
                        "CloudTrailEvent": event.to_string()},
                       {"EventId": "broken", "CloudTrailEvent": "not json"}],
            "NextToken": "page-2",
        });
        let (url, requests) = server(vec![(200, body.to_string())]);
        let page = trail(&url).await.lookup_events(&request()).await.unwrap();
        assert_eq!(page.events.len(), 1, "the broken event is skipped");
        assert_eq!(page.events[0].identity.principal, "Alice");
        assert_eq!(page.next_token.as_deref(), Some("page-2"));
        let (head, body) = requests.recv().unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains("x-amz-target: cloudtrail_20131101.lookupevents"),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["LookupAttributes"],
            serde_json::json!([{"AttributeKey": "ResourceName", "AttributeValue": "sg-0123"}])
        );
        assert_eq!(body["StartTime"].as_f64(), Some(1_795_651_200.0));
        assert_eq!(body["EndTime"].as_f64(), Some(1_795_996_800.0));
    }

    #[tokio::test]
    async fn refusals_and_throttling_are_told_apart() {
        let (url, _requests) = server(vec![
            (
                400,
                r#"{"__type":"AccessDeniedException","message":"not allowed"}"#.into(),
            ),
            (
                400,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into(),
            ),
            (
                400,
                r#"{"__type":"InvalidLookupAttributesException","message":"bad"}"#.into(),
            ),
        ]);
        let trail = trail(&url).await;
        assert!(matches!(
            trail.lookup_events(&request()).await,
            Err(TrailError::AccessDenied(_))
        ));
        assert!(matches!(
            trail.lookup_events(&request()).await,
            Err(TrailError::Throttled(_))
        ));
        assert!(matches!(
            trail.lookup_events(&request()).await,
            Err(TrailError::Other(_))
        ));
    }
}
