//! A real moto server on 127.0.0.1 for the tests that talk to AWS APIs:
//! started on a free port, stopped when the guard drops.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

use super::moto_server::MotoServer;

/// The region every moto test uses.
pub const REGION: &str = "us-east-1";

/// A running moto server, with SDK clients pointed at it.
pub struct Moto {
    server: MotoServer,
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub fn start() -> Moto {
        // About 1 s on an idle machine, 5-6 s with both cores busy; two tests
        // start it at once beside a build. A dead server is noticed at once
        // (its exit), so the ceiling only bounds a hung one.
        Moto {
            server: MotoServer::start(&super::repo(), Duration::from_secs(60)),
        }
    }

    /// Starts moto able to run the stack's state machine end to end
    /// (`tests/e2e/moto_with_states.py`), its Lambda functions routed by the
    /// JSON file `routes`.
    pub fn start_with_states(routes: &std::path::Path) -> Moto {
        Moto {
            server: MotoServer::start_program(
                &super::repo(),
                &[".venv/bin/python", "tests/e2e/moto_with_states.py"],
                &["--routes".to_string(), routes.display().to_string()],
                Duration::from_secs(60),
            ),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Stops the server now (to simulate an outage).
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// SDK configuration pointed at this server with test credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_as(Credentials::new("testing", "testing", None, None, "moto"))
            .await
    }

    async fn sdk_config_as(&self, credentials: Credentials) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new(REGION))
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// Creates IAM user `name` whose only rights are the inline `policy`, and
    /// returns SDK configuration signed with its keys. The policy is only
    /// enforced while [`Moto::enforce_iam`] is on.
    pub async fn user_with_policy(&self, name: &str, policy: &serde_json::Value) -> SdkConfig {
        let iam = aws_sdk_iam::Client::new(&self.sdk_config().await);
        iam.create_user().user_name(name).send().await.unwrap();
        iam.put_user_policy()
            .user_name(name)
            .policy_name(format!("{name}-policy"))
            .policy_document(policy.to_string())
            .send()
            .await
            .unwrap();
        let key = iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap();
        self.sdk_config_as(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            None,
            "moto-iam-user",
        ))
        .await
    }

    /// Turns moto's IAM enforcement on or off. While it is on, a request
    /// must be signed by an IAM user's keys and allowed by its policies; the
    /// test credentials of [`Moto::sdk_config`] are refused.
    pub fn enforce_iam(&self, on: bool) {
        use std::io::{Read, Write};
        // moto's own API: the number of requests let through before
        // enforcement starts.
        let body = if on { "0" } else { "inf" };
        let url = self.url();
        let host = url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host).expect("moto answers");
        write!(
            stream,
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    /// An S3 client with path-style addressing.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

/// An SNS topic subscribed by an SQS queue: what the code under test
/// publishes is read back from the queue.
pub struct AlertInbox {
    /// The topic to publish to.
    pub topic_arn: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Moto {
    /// Creates the topic `name` and a queue subscribed to it.
    pub async fn alert_inbox(&self, name: &str) -> AlertInbox {
        let sdk = self.sdk_config().await;
        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic_arn = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = format!("{name}-inbox");
        let queue_url = sqs
            .create_queue()
            .queue_name(&queue)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{REGION}:123456789012:{queue}"))
            .send()
            .await
            .unwrap();
        AlertInbox {
            topic_arn,
            sqs,
            queue_url,
        }
    }
}

impl AlertInbox {
    /// Every notification delivered since the last call (SNS envelopes:
    /// `Subject`, `Message`, `MessageAttributes`).
    pub async fn drain(&self) -> Vec<serde_json::Value> {
        let mut found = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() {
                return found;
            }
            for m in out.messages() {
                found.push(serde_json::from_str(m.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}
