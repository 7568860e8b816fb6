//! A real moto server on 127.0.0.1 for the tests that talk to AWS APIs:
//! started on a free port, stopped when the guard drops.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

/// The region every moto test uses.
pub const REGION: &str = "us-east-1";

/// A running moto server.
pub struct Moto {
    child: Child,
    port: u16,
}

fn moto_binary() -> PathBuf {
    let path = super::repo().join(".venv/bin/moto_server");
    assert!(
        path.exists(),
        "{} not found: run scripts/bootstrap (scripts/test does) to install the pinned moto",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub fn start() -> Moto {
        // Another test may take the port between probe and bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(moto_binary())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts");
            let mut moto = Moto { child, port };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return moto;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = moto.child.kill();
        }
        panic!("moto_server did not start on 127.0.0.1");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server now (to simulate an outage).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SDK configuration pointed at this server with test credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// An S3 client with path-style addressing.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
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
