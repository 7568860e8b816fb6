//! `drift-detection unmanaged` against AWS Config on a real moto server:
//! the recorder decides what is inventoried, ListDiscoveredResources lists
//! it, and the states' claims leave what nobody manages. (The comparison
//! itself is the core's, tested case by case in drift-core.)

mod common;

use std::process::Command;

use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
use common::moto::Moto;
use serde_json::{json, Value};

/// moto's account.
const ACCOUNT: &str = "123456789012";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_lists_what_exists_and_what_no_state_claims_is_unmanaged() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    for bucket in ["config-delivery", "claimed-bucket", "hand-made-bucket"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let config = aws_sdk_config::Client::new(&sdk);
    config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/config"))
                .recording_group(
                    RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name("config-delivery")
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("network.json");
    let resource = |address: &str, kind: &str, values: Value| json!({"address": address, "mode": "managed", "type": kind, "name": "x", "values": values});
    std::fs::write(
        &state,
        json!({"format_version": "1.0", "values": {"root_module": {"resources": [
            resource("aws_s3_bucket.claimed", "aws_s3_bucket", json!({"id": "claimed-bucket", "bucket": "claimed-bucket", "arn": "arn:aws:s3:::claimed-bucket"})),
            resource("aws_s3_bucket.deleted", "aws_s3_bucket", json!({"id": "deleted-bucket", "bucket": "deleted-bucket"})),
        ]}}})
        .to_string(),
    )
    .unwrap();
    // Listed through the workspace's role (STS AssumeRole with its external
    // id), as the orchestrator's workspaces are.
    let workspaces = tmp.path().join("workspaces.toml");
    std::fs::write(
        &workspaces,
        format!(
            "[[workspace]]\nname = \"network\"\nenvironment = \"prod\"\naccount_id = \"{ACCOUNT}\"\nregion = \"{}\"\nplan = \"network.json\"\nrole_arn = \"arn:aws:iam::{ACCOUNT}:role/drift-read\"\nexternal_id = \"ext-secret\"\n",
            common::moto::REGION
        ),
    )
    .unwrap();
    let out = tmp.path().join("unmanaged.json");
    let output = Command::new(env!("CARGO_BIN_EXE_drift-detection"))
        .args(["unmanaged", "-q", "--workspaces"])
        .arg(&workspaces)
        .arg("--out")
        .arg(&out)
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", common::moto::REGION)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "findings: {stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ids = |list: &str| -> Vec<String> {
        report[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["resource_type"] == "AWS::S3::Bucket")
            .map(|i| i["resource_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids("unmanaged"),
        ["config-delivery", "hand-made-bucket"],
        "{report:#}"
    );
    let gone: Vec<&str> = report["gone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["address"].as_str().unwrap())
        .collect();
    assert_eq!(gone, ["aws_s3_bucket.deleted"], "{report:#}");
    let covered: Vec<&str> = report["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["source"], "config");
            assert!(c.get("error").is_none(), "{c}");
            c["resource_type"].as_str().unwrap()
        })
        .collect();
    assert!(covered.contains(&"AWS::S3::Bucket"), "{covered:?}");
    assert!(covered.contains(&"AWS::IAM::Role"), "{covered:?}");
}
