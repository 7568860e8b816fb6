//! The whole system, end to end, on this machine: drift made by hand is found.
//!
//! * Cloud: moto's server on 127.0.0.1 (S3, EC2, RDS, STS, SNS, SQS, DynamoDB).
//! * Terraform: the real binary (1.0.3, pinned wheel) with the stand-in
//!   `hashicorp/aws` provider of `tests/standin-provider` from a filesystem
//!   mirror (`scripts/build-standin-provider`), state in moto's S3 and locks
//!   in moto's DynamoDB.
//! * Scenario: `examples/terraform/aws-network` is applied twice (prod,
//!   staging); prod is then changed behind Terraform's back (SSH opened to
//!   the world, a bucket tag changed, one database deleted, another resized).
//!   The CLI `scan`, the Rust worker (real binary under `cargo lambda watch`)
//!   and the Python orchestrator (its handler, fanning out to that worker)
//!   must each find exactly that, and nothing in staging; after `terraform
//!   apply` re-converges, everything is clean again.
//! * Faults on the same rig: a held state lock, terraform killed by the
//!   deadline, the report bucket's endpoint gone mid-run.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::moto::{AlertInbox, Moto};
use serde_json::{json, Value};

const STATE_BUCKET: &str = "tf-state";

/// Prints a timing line even when the test passes: written to the stderr
/// handle directly, which the test harness does not capture (as it does
/// `eprintln!`), so the suite's duration shows in every run.
macro_rules! progress {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
const LOCK_TABLE: &str = "tf-locks";
const DB_PASSWORD: &str = "e2e-Secret-Passw0rd";

fn terraform() -> PathBuf {
    let path = std::env::var_os("DRIFT_TEST_TERRAFORM")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join(".tools/bin/terraform"));
    assert!(path.exists(), "{}: run scripts/bootstrap", path.display());
    path
}

fn mirror() -> PathBuf {
    let dir = common::repo().join("target/standin-provider-mirror");
    assert!(
        dir.join("registry.terraform.io/hashicorp/aws").is_dir(),
        "{} is missing: run scripts/build-standin-provider (scripts/test does)",
        dir.display()
    );
    dir
}

fn venv(tool: &str) -> PathBuf {
    let path = common::repo().join(".venv/bin").join(tool);
    assert!(path.exists(), "{}: run scripts/bootstrap", path.display());
    path
}

fn output_text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on 127.0.0.1:{port}");
}

/// A child process killed when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto plus the clients the suite uses to change the cloud by hand.
struct Cloud {
    moto: Moto,
    s3: aws_sdk_s3::Client,
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    inbox: AlertInbox,
    tmp: tempfile::TempDir,
    cli_config: PathBuf,
}

impl Cloud {
    async fn start() -> Cloud {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let s3 = moto.s3().await;
        for bucket in [STATE_BUCKET, "reports", "bundles"] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        dynamodb
            .create_table()
            .table_name(LOCK_TABLE)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let inbox = moto.alert_inbox("drift-detection-alerts-e2e").await;

        let tmp = tempfile::tempdir().unwrap();
        let cli_config = tmp.path().join("terraformrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
                mirror().display()
            ),
        )
        .unwrap();
        Cloud {
            s3,
            ec2: aws_sdk_ec2::Client::new(&sdk),
            rds: aws_sdk_rds::Client::new(&sdk),
            dynamodb,
            inbox,
            tmp,
            cli_config,
            moto,
        }
    }

    /// What every terraform and drift-detection process here gets.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            (
                "TF_CLI_CONFIG_FILE".into(),
                self.cli_config.display().to_string(),
            ),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
        ]
    }

    fn backend_config(&self, env: &str) -> BTreeMap<String, String> {
        let url = self.moto.url();
        BTreeMap::from(
            [
                ("bucket", STATE_BUCKET.to_string()),
                ("key", format!("{env}/network.tfstate")),
                ("region", "us-east-1".into()),
                ("dynamodb_table", LOCK_TABLE.into()),
                ("endpoint", url.clone()),
                ("dynamodb_endpoint", url.clone()),
                ("sts_endpoint", url),
                ("force_path_style", "true".into()),
                ("skip_credentials_validation", "true".into()),
                ("skip_metadata_api_check", "true".into()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        )
    }

    /// A copy of the example workspace for `env`, pointed at moto.
    fn workspace(&self, env: &str) -> PathBuf {
        let dir = self.tmp.path().join(env).join("network");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            common::repo().join("examples/terraform/aws-network/main.tf"),
            dir.join("main.tf"),
        )
        .unwrap();
        std::fs::write(
            dir.join("terraform.auto.tfvars"),
            format!(
                "name_prefix  = \"{env}\"\naws_endpoint = \"{}\"\ndb_password  = \"{DB_PASSWORD}\"\n",
                self.moto.url()
            ),
        )
        .unwrap();
        dir
    }

    fn terraform(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(terraform())
            .args(args)
            .args(["-input=false", "-no-color"])
            .current_dir(dir)
            .envs(self.env())
            .output()
            .unwrap()
    }

    fn init_and_apply(&self, dir: &Path, env: &str) {
        let mut init = vec!["init".to_string()];
        init.extend(
            self.backend_config(env)
                .iter()
                .map(|(k, v)| format!("-backend-config={k}={v}")),
        );
        let init: Vec<&str> = init.iter().map(String::as_str).collect();
        let out = self.terraform(dir, &init);
        assert!(out.status.success(), "init: {}", output_text(&out));
        self.apply(dir);
    }

    fn apply(&self, dir: &Path) {
        let out = self.terraform(dir, &["apply", "-auto-approve"]);
        assert!(out.status.success(), "apply: {}", output_text(&out));
    }

    /// `drift-detection scan` over an inventory of these workspaces.
    fn scan(
        &self,
        workspaces: &[(&str, &Path)],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (Output, PathBuf) {
        let out = self.tmp.path().join(format!("reports-{}", free_port()));
        let mut inventory = String::new();
        for (environment, dir) in workspaces {
            inventory.push_str(&format!(
                "[[workspace]]\nname = \"network\"\nenvironment = \"{environment}\"\naccount_id = \"123456789012\"\nregion = \"us-east-1\"\ndir = \"{}\"\n[workspace.backend_config]\n",
                dir.display()
            ));
            for (k, v) in self.backend_config(environment) {
                inventory.push_str(&format!("{k} = \"{v}\"\n"));
            }
        }
        let path = self.tmp.path().join("workspaces.toml");
        std::fs::write(&path, inventory).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_drift-detection"))
            .args(["scan", "--workspaces"])
            .arg(&path)
            .arg("--terraform")
            .arg(terraform())
            .arg("--out")
            .arg(&out)
            .args(["-q", "--jobs", "2"])
            .args(extra)
            .envs(self.env())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (output, out)
    }

    async fn security_group_id(&self, name: &str) -> String {
        let groups = self
            .ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-name")
                    .values(name)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        groups.security_groups()[0].group_id().unwrap().to_string()
    }

    /// The changes someone makes by hand in the console.
    async fn change_prod_behind_terraforms_back(&self) {
        let sg = self.security_group_id("prod-app").await;
        self.ec2
            .authorize_security_group_ingress()
            .group_id(&sg)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(
                        aws_sdk_ec2::types::IpRange::builder()
                            .cidr_ip("0.0.0.0/0")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let tags = self
            .s3
            .get_bucket_tagging()
            .bucket("prod-acme-reports")
            .send()
            .await
            .unwrap();
        let mut tag_set: Vec<aws_sdk_s3::types::Tag> = tags.tag_set().to_vec();
        for tag in &mut tag_set {
            if tag.key() == "Owner" {
                *tag = aws_sdk_s3::types::Tag::builder()
                    .key("Owner")
                    .value("jsmith")
                    .build()
                    .unwrap();
            }
        }
        self.s3
            .put_bucket_tagging()
            .bucket("prod-acme-reports")
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(tag_set))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        self.rds
            .delete_db_instance()
            .db_instance_identifier("prod-orders")
            .skip_final_snapshot(true)
            .send()
            .await
            .unwrap();
        self.rds
            .modify_db_instance()
            .db_instance_identifier("prod-analytics")
            .db_instance_class("db.t3.xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
    }

    /// Every SNS notification delivered since the last call.
    async fn alerts(&self) -> Vec<Value> {
        self.inbox.drain().await
    }

    async fn object(&self, bucket: &str, key: &str) -> Option<Value> {
        let out = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = out.body.collect().await.unwrap().into_bytes();
        Some(serde_json::from_slice(&bytes).unwrap())
    }

    /// The workspace's configuration as the bundle the worker downloads.
    async fn upload_bundle(&self, dir: &Path, key: &str) -> String {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            for name in ["main.tf", "terraform.auto.tfvars"] {
                zip.start_file(name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(&std::fs::read(dir.join(name)).unwrap())
                    .unwrap();
            }
            zip.finish().unwrap();
        }
        self.s3
            .put_object()
            .bucket("bundles")
            .key(key)
            .body(buf.into_inner().into())
            .send()
            .await
            .unwrap();
        format!("s3://bundles/{key}")
    }

    /// The real worker binary under `cargo lambda watch`, behind the Lambda
    /// Invoke API proxy; returns (guards, invoke URL, log file).
    fn start_worker(&self, extra_env: &[(&str, String)]) -> (Vec<Background>, String, PathBuf) {
        let watch_port = free_port();
        let mut env: Vec<(String, String)> = self.env();
        env.extend([
            ("AWS_ENDPOINT_URL".into(), self.moto.url()),
            ("REPORT_BUCKET".into(), "reports".into()),
            ("SNS_TOPIC_ARN".into(), self.inbox.topic_arn.clone()),
            ("TERRAFORM_PATH".into(), terraform().display().to_string()),
            ("METRICS_NAMESPACE".into(), "DriftDetection".into()),
            ("LOG_LEVEL".into(), "info".into()),
        ]);
        // The worker's scratch folders and terraform plugin cache (Lambda's
        // /tmp) belong to this rig: a cache shared with other runs could hold
        // another build of the stand-in provider under the same version.
        let scratch = self.tmp.path().join(format!("worker-tmp-{watch_port}"));
        std::fs::create_dir_all(&scratch).unwrap();
        env.push(("TMPDIR".into(), scratch.display().to_string()));
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let env_file = self.tmp.path().join(format!("worker-{watch_port}.env"));
        std::fs::write(
            &env_file,
            env.iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect::<String>(),
        )
        .unwrap();
        let log = self.tmp.path().join(format!("worker-{watch_port}.log"));
        let path = format!(
            "{}:{}",
            venv("cargo-lambda").parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let watch = Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "--bin",
                "drift-detection-worker",
                "--ignore-changes",
                "--quiet",
            ])
            .args(["-A", "127.0.0.1", "-P", &watch_port.to_string()])
            .arg("--env-file")
            .arg(&env_file)
            .current_dir(common::repo())
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .expect("cargo lambda watch starts");
        let watch = Background(watch);
        wait_for_port(watch_port, "cargo lambda watch");
        let proxy_port = free_port();
        let proxy = Background(
            Command::new(venv("python"))
                .arg(common::repo().join("tests/e2e/lambda_api_proxy.py"))
                .arg(proxy_port.to_string())
                .arg(format!("http://127.0.0.1:{watch_port}"))
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(proxy_port, "the Lambda API proxy");
        (
            vec![proxy, watch],
            format!("http://127.0.0.1:{proxy_port}"),
            log,
        )
    }
}

/// Invokes the worker through the Lambda Invoke API; returns (function error, payload).
fn invoke(url: &str, event: &Value) -> (Option<String>, Value) {
    let output = Command::new("curl")
        .args(["-s", "-D", "-", "-X", "POST", "--max-time", "600"])
        .arg(format!(
            "{url}/2015-03-31/functions/drift-detection-worker/invocations"
        ))
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(event.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let function_error = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("X-Amz-Function-Error: ")
                .or_else(|| l.strip_prefix("x-amz-function-error: "))
        })
        .map(|s| s.trim().to_string());
    let payload = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    (function_error, payload)
}

fn report(out: &Path, environment: &str) -> Value {
    let path = out.join(environment).join("network.json");
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn item<'a>(report: &'a Value, address: &str, source: &str) -> &'a Value {
    report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["address"] == address && i["source"] == source)
        .unwrap_or_else(|| panic!("no {source} item for {address} in {report:#}"))
}

fn changed<'a>(item: &'a Value, path: &str) -> &'a Value {
    item["changed_attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("{path} not among the changed attributes of {item:#}"))
}

/// What every check of prod must find after the hand-made changes.
fn assert_prod_drift(report: &Value) {
    assert_eq!(report["status"], "drift", "{report:#}");
    let drift: Vec<&Value> = report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"] == "outside_terraform")
        .collect();
    let addresses: Vec<&str> = drift
        .iter()
        .map(|i| i["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        drift.len(),
        4,
        "exactly the four hand-made changes: {addresses:?}"
    );

    let sg = item(report, "aws_security_group.app", "outside_terraform");
    assert_eq!(sg["severity"], "critical");
    assert_eq!(sg["rule"], "ingress-open-to-world");
    let opened: Vec<&Value> = sg["changed_attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["path"].as_str().unwrap().starts_with("ingress[") && c["after"] == "0.0.0.0/0"
        })
        .collect();
    assert_eq!(opened.len(), 1, "{sg:#}");
    let rule = opened[0]["path"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(changed(sg, &format!("{rule}.from_port"))["after"], 22);
    assert_eq!(changed(sg, &format!("{rule}.to_port"))["after"], 22);

    let orders = item(report, "aws_db_instance.orders", "outside_terraform");
    assert_eq!(orders["actions"], json!(["delete"]));
    assert_eq!(orders["severity"], "critical");
    assert_eq!(orders["remediation"]["auto_remediation"], "blocked");

    let analytics = item(report, "aws_db_instance.analytics", "outside_terraform");
    assert_eq!(analytics["severity"], "high");
    let class = changed(analytics, "instance_class");
    assert_eq!(
        (&class["before"], &class["after"]),
        (&json!("db.t3.large"), &json!("db.t3.xlarge"))
    );

    let bucket = item(report, "aws_s3_bucket.reports", "outside_terraform");
    assert_eq!(bucket["severity"], "low");
    assert_eq!(bucket["rule"], "tags-only");
    let owner = changed(bucket, "tags.Owner");
    assert_eq!(
        (&owner["before"], &owner["after"]),
        (&json!("platform-team"), &json!("jsmith"))
    );

    // Terraform plans to put each back (the deleted database with a
    // create): each is reverted by the next apply, and no pending change
    // repeats them.
    for address in [
        "aws_security_group.app",
        "aws_db_instance.orders",
        "aws_db_instance.analytics",
        "aws_s3_bucket.reports",
    ] {
        let found = item(report, address, "outside_terraform");
        assert_eq!(found["verdict"], "reverted_by_apply", "{found:#}");
    }
    assert_eq!(report["summary"]["drifted_resources"], 4);
    assert_eq!(report["summary"]["pending_changes"], 0, "{report:#}");
    assert_eq!(report["summary"]["by_verdict"]["reverted_by_apply"], 4);

    // The database password is sensitive: never in a report.
    assert!(!report.to_string().contains(DB_PASSWORD));
}

fn assert_clean(report: &Value) {
    assert_eq!(report["status"], "clean", "{report:#}");
    assert_eq!(report["drift"], json!([]), "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_made_by_hand_is_found_by_the_cli_the_worker_and_the_orchestrator() {
    let started = Instant::now();
    let cloud = Cloud::start().await;
    let prod = cloud.workspace("prod");
    let staging = cloud.workspace("staging");
    cloud.init_and_apply(&prod, "prod");
    cloud.init_and_apply(&staging, "staging");

    // Right after apply, nothing has drifted anywhere.
    let (output, out) = cloud.scan(&[("prod", &prod), ("staging", &staging)], &[], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", output_text(&output));
    assert_clean(&report(&out, "prod"));
    assert_clean(&report(&out, "staging"));

    cloud.change_prod_behind_terraforms_back().await;

    // 1. The CLI.
    let (output, out) = cloud.scan(&[("prod", &prod), ("staging", &staging)], &[], &[]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "critical drift: {}",
        output_text(&output)
    );
    assert_prod_drift(&report(&out, "prod"));
    assert_clean(&report(&out, "staging"));
    progress!(
        "e2e: CLI checked after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // 2. The worker: its real binary, an assumed role, a bundle from S3.
    let (_worker, invoke_url, worker_log) = cloud.start_worker(&[]);
    let prod_bundle = cloud.upload_bundle(&prod, "prod/network.zip").await;
    let staging_bundle = cloud.upload_bundle(&staging, "staging/network.zip").await;
    let backend = |env: &str| serde_json::to_value(cloud.backend_config(env)).unwrap();
    let event = json!({
        "run_id": "manual-1",
        "run_started_at": "2026-11-27T06:00:00Z",
        "workspace": "network",
        "environment": "prod",
        "account_id": "123456789012",
        "region": "us-east-1",
        "role_arn": "arn:aws:iam::123456789012:role/drift-detection-read",
        "external_id": "e2e-external-id",
        "source": prod_bundle,
        "backend_config": backend("prod"),
    });
    let (function_error, answer) = invoke(&invoke_url, &event);
    assert_eq!(
        function_error,
        None,
        "{answer:#}\n{}",
        std::fs::read_to_string(&worker_log).unwrap_or_default()
    );
    assert_eq!(answer["status"], "drift");
    assert_eq!(answer["summary"]["by_severity"]["critical"], 2);
    let key = "drift-reports/prod/network/2026/11/27/manual-1.json";
    assert_eq!(answer["report_key"], key);
    assert_prod_drift(
        &cloud
            .object("reports", key)
            .await
            .expect("the worker's report"),
    );
    let alerts = cloud.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0]["MessageAttributes"]["severity"]["Value"],
        "critical"
    );
    assert!(alerts[0]["Subject"]
        .as_str()
        .unwrap()
        .contains("prod/network: 2 critical findings"));
    let log = std::fs::read_to_string(&worker_log).unwrap();
    assert!(
        log.contains("\"CriticalDrift\":2"),
        "EMF line in the worker's log"
    );
    assert!(!log.contains("e2e-external-id") && !log.contains(DB_PASSWORD));
    progress!(
        "e2e: worker checked after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // 3. The orchestrator: its handler, fanning out to that worker.
    let workspaces = json!([
        {"name": "network", "environment": "prod", "account_id": "123456789012", "region": "us-east-1",
         "source": prod_bundle, "backend_config": backend("prod")},
        {"name": "network", "environment": "staging", "account_id": "123456789012", "region": "us-east-1",
         "source": staging_bundle, "backend_config": backend("staging")},
    ]);
    let summary_file = cloud.tmp.path().join("summary.json");
    let run = Command::new(venv("python"))
        .arg(common::repo().join("scripts/orchestrator_local.py"))
        .arg(json!({"run_id": "e2e-run-1"}).to_string())
        .args(["--timeout", "900", "--out"])
        .arg(&summary_file)
        .envs(cloud.env())
        .env("AWS_ENDPOINT_URL", cloud.moto.url())
        .env("AWS_ENDPOINT_URL_LAMBDA", &invoke_url)
        .env("WORKER_FUNCTION_ARN", "drift-detection-worker")
        .env("REPORT_BUCKET", "reports")
        .env("SNS_TOPIC_ARN", &cloud.inbox.topic_arn)
        .env("WORKSPACES_JSON", workspaces.to_string())
        .env("MAX_CONCURRENCY", "2")
        .env("WORKER_TIMEOUT_SECONDS", "300")
        .env("POWERTOOLS_SERVICE_NAME", "drift-detection-orchestrator")
        .env("POWERTOOLS_METRICS_NAMESPACE", "DriftDetection")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", output_text(&run));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_file).unwrap()).unwrap();
    let status = |env: &str| {
        summary["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["environment"] == env)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("prod"), "drift", "{summary:#}");
    assert_eq!(status("staging"), "clean", "{summary:#}");
    let stored = cloud
        .object("reports", summary["summary_key"].as_str().unwrap())
        .await
        .expect("the run summary in S3");
    assert_eq!(stored["run_id"], "e2e-run-1");
    let alerts = cloud.alerts().await;
    assert_eq!(alerts.len(), 1, "one aggregated alert per run: {alerts:#?}");
    assert_eq!(
        alerts[0]["MessageAttributes"]["kind"]["Value"],
        "critical_drift"
    );
    progress!(
        "e2e: orchestrator run after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // 4. terraform apply puts everything back: clean again.
    cloud.apply(&prod);
    let (output, out) = cloud.scan(&[("prod", &prod), ("staging", &staging)], &[], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", output_text(&output));
    assert_clean(&report(&out, "prod"));
    assert_clean(&report(&out, "staging"));
    progress!(
        "e2e: story finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_a_held_lock_a_deadline_and_a_lost_report_bucket() {
    let started = Instant::now();
    let cloud = Cloud::start().await;
    let prod = cloud.workspace("prod");
    cloud.init_and_apply(&prod, "prod");
    cloud.change_prod_behind_terraforms_back().await;

    // A state lock held by someone else: a clear error, the state untouched.
    let state_key = "prod/network.tfstate";
    let before = cloud
        .s3
        .head_object()
        .bucket(STATE_BUCKET)
        .key(state_key)
        .send()
        .await
        .unwrap();
    let state_before = cloud.object(STATE_BUCKET, state_key).await.unwrap();
    let lock_id = format!("{STATE_BUCKET}/{state_key}");
    let info = json!({"ID": "5b2c7e1a-held", "Operation": "OperationTypeApply", "Who": "alice@laptop",
        "Version": "1.9.8", "Created": "2026-11-27T05:59:00Z", "Path": lock_id});
    use aws_sdk_dynamodb::types::AttributeValue;
    cloud
        .dynamodb
        .put_item()
        .table_name(LOCK_TABLE)
        .item("LockID", AttributeValue::S(lock_id.clone()))
        .item("Info", AttributeValue::S(info.to_string()))
        .send()
        .await
        .unwrap();
    let (output, out) = cloud.scan(&[("prod", &prod)], &["--lock-timeout", "2s"], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    let locked = report(&out, "prod");
    assert_eq!(locked["status"], "error");
    assert_eq!(
        locked["errors"][0]["summary"],
        "Error acquiring the state lock"
    );
    assert!(locked["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("alice@laptop"));
    let after = cloud
        .s3
        .head_object()
        .bucket(STATE_BUCKET)
        .key(state_key)
        .send()
        .await
        .unwrap();
    assert_eq!(before.e_tag(), after.e_tag(), "the state was not touched");
    let held = cloud
        .dynamodb
        .get_item()
        .table_name(LOCK_TABLE)
        .key("LockID", AttributeValue::S(lock_id.clone()))
        .send()
        .await
        .unwrap();
    assert!(held.item().is_some(), "the other holder's lock stays");
    cloud
        .dynamodb
        .delete_item()
        .table_name(LOCK_TABLE)
        .key("LockID", AttributeValue::S(lock_id.clone()))
        .send()
        .await
        .unwrap();

    // Terraform stuck in a slow refresh is stopped at the deadline.
    let (output, out) = cloud.scan(
        &[("prod", &prod)],
        &["--timeout", "10", "--mode", "refresh-only"],
        &[("STANDIN_PROVIDER_READ_DELAY_SECONDS", "120")],
    );
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    let slow = report(&out, "prod");
    assert_eq!(slow["status"], "timeout", "{slow:#}");
    assert!(slow["errors"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("still running at the deadline"));
    // SIGTERM first: terraform stops, may re-persist the state it read (a
    // serial bump, no resource changed), and releases its lock.
    let state_after = cloud.object(STATE_BUCKET, state_key).await.unwrap();
    assert_eq!(state_after["resources"], state_before["resources"]);
    let locks = cloud
        .dynamodb
        .scan()
        .table_name(LOCK_TABLE)
        .send()
        .await
        .unwrap();
    assert!(
        locks
            .items()
            .iter()
            .all(|i| i.get("LockID") != Some(&AttributeValue::S(lock_id.clone()))),
        "terraform released the state lock when stopped: {:?}",
        locks.items()
    );

    // The report bucket's endpoint goes away mid-run: the drift found is not
    // lost (it is in the log), the alert says so, and the error asks for a retry.
    let mut reports_endpoint = Moto::start();
    let (_worker, invoke_url, worker_log) =
        cloud.start_worker(&[("AWS_ENDPOINT_URL_S3", reports_endpoint.url())]);
    reports_endpoint.stop();
    let event = json!({
        "run_id": "outage-1",
        "workspace": "network",
        "environment": "prod",
        "account_id": "123456789012",
        "region": "us-east-1",
        "source": prod.display().to_string(),
        "backend_config": serde_json::to_value(cloud.backend_config("prod")).unwrap(),
    });
    let (function_error, answer) = invoke(&invoke_url, &event);
    assert_eq!(function_error.as_deref(), Some("Unhandled"), "{answer:#}");
    assert_eq!(answer["errorType"], "ReportNotStored", "{answer:#}");
    let log = std::fs::read_to_string(&worker_log).unwrap();
    let kept: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "report_not_stored")
        .unwrap_or_else(|| panic!("no report_not_stored record in the worker's log:\n{log}"));
    assert_prod_drift(&kept["report"]);
    let alerts = cloud.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0]["Message"]
        .as_str()
        .unwrap()
        .contains("not stored"));
    progress!(
        "e2e: faults finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
