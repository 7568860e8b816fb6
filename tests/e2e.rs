//! The whole system, end to end, on this machine: drift made by hand is found.
//!
//! * Cloud: moto's server on 127.0.0.1 (S3, EC2, RDS, STS, SNS, SQS, DynamoDB).
//! * Terraform: the real binary with the stand-in `hashicorp/aws` provider of
//!   `tests/standin-provider` from a filesystem mirror
//!   (`scripts/build-standin-provider`), state in moto's S3 and locks in
//!   moto's DynamoDB. Every scenario runs on the pinned terraform 1.0.3
//!   (plan format 0.2), which must be there, and again, on a rig of its own
//!   (its own moto, its own state), on the newer terraform users run (format
//!   1.2) when this machine has one: `DRIFT_TEST_TERRAFORM_EXTRA`, else
//!   `/usr/local/bin/terraform`. Each test prints the versions it ran on.
//! * Scenario: `examples/terraform/aws-network` is applied twice (prod,
//!   staging); prod is then changed behind Terraform's back (SSH opened to
//!   the world, a bucket tag changed, one database deleted, another resized,
//!   the disk of a database whose size Terraform ignores grown, a tag changed
//!   on a bucket that a `moved` block renames). The CLI `scan`, the Rust
//!   worker (real binary under `cargo lambda watch`) and the Python
//!   orchestrator (its handler starting the stack's state machine, run by moto,
//!   whose map invokes that worker and ends in the summarize handler) must each find
//!   exactly that, each change once with what `terraform apply` would do
//!   about it, and nothing in staging, reading each managed resource from
//!   the cloud once per check (the stand-in provider logs its reads); after
//!   `terraform apply` re-converges, everything is clean again.
//! * What nobody manages, on the same rig: a bucket and a security group
//!   made by hand, prod's report bucket imported into a second workspace
//!   (`legacy`); `drift-detection unmanaged` (AWS Config: moto's recorder
//!   lists S3 buckets) and a second orchestrator run (Config for buckets,
//!   the EC2 and RDS APIs for the rest) report exactly those, and the
//!   database deleted by hand as gone.
//! * Minutes, not hours: SSH opened by hand again, the CloudTrail-shaped
//!   event AWS emits for it routed by the stack's own rule patterns on
//!   moto's EventBridge into a queue (`tests/e2e/change_events.py`), handed
//!   to the trigger as Lambda's SQS mapping would (`scripts/trigger_local.py`),
//!   starts one check, of exactly prod's workspace (found through the
//!   resource index the worker wrote), whose report and alert name the
//!   change; an event for a hand-made group starts none, the drift role's
//!   own call is ignored; the change -> report latency is printed.
//! * Faults on the same rig: a held state lock, terraform killed by the
//!   deadline, the report bucket's endpoint gone mid-run.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use common::moto::{AlertInbox, Moto};
use common::process::{free_port, wait_for_port, Background};
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
/// The resource -> workspace index of event-driven checks.
const INDEX_TABLE: &str = "drift-detection-resource-index-e2e";
/// The drift role the worker assumes; its own changes never start a check.
const DRIFT_ROLE: &str = "arn:aws:iam::123456789012:role/drift-detection-read";
/// Who opens SSH on prod by hand, as the rig's CloudTrail records it.
const ALICE: &str = "arn:aws:sts::123456789012:assumed-role/Admin/alice";
const DB_PASSWORD: &str = "e2e-Secret-Passw0rd";

/// Where the newer terraform is looked for when `DRIFT_TEST_TERRAFORM_EXTRA`
/// is not set; PATH is not searched, so which binaries ran is never a guess.
const NEWER_TERRAFORM: &str = "/usr/local/bin/terraform";

/// One terraform binary the scenarios run on.
#[derive(Debug, Clone)]
struct Terraform {
    path: PathBuf,
    /// As `terraform version -json` says, e.g. `1.11.4`.
    version: String,
    /// Why it runs: `pinned`, or where it was found.
    origin: String,
}

impl Terraform {
    fn at(path: PathBuf, origin: String) -> Terraform {
        let output = Command::new(&path)
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .output()
            .unwrap_or_else(|e| panic!("{} ({origin}) does not run: {e}", path.display()));
        let version: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{} version -json: {e}: {}",
                path.display(),
                output_text(&output)
            )
        });
        let version = version["terraform_version"]
            .as_str()
            .unwrap_or_else(|| panic!("{} version -json: {version}", path.display()))
            .to_string();
        Terraform {
            path,
            version,
            origin,
        }
    }

    /// `1.11.4 (/usr/local/bin/terraform)`.
    fn describe(&self) -> String {
        format!("{} ({})", self.version, self.origin)
    }

    /// (major, minor).
    fn release(&self) -> (u32, u32) {
        let mut parts = self.version.split('.').map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// `moved` blocks came in terraform 1.1; 1.0 refuses them.
    fn has_moved_blocks(&self) -> bool {
        self.release() >= (1, 1)
    }
}

/// The terraforms every scenario runs on: the pinned one first (its absence
/// fails the suite), then the newer one if this machine has one. Decided
/// once per test binary, and said on stderr.
fn terraforms() -> &'static [Terraform] {
    static FOUND: OnceLock<Vec<Terraform>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let pinned = match std::env::var_os("DRIFT_TEST_TERRAFORM") {
            Some(path) => (PathBuf::from(path), "DRIFT_TEST_TERRAFORM"),
            None => (common::repo().join(".tools/bin/terraform"), "pinned"),
        };
        assert!(
            pinned.0.is_file(),
            "the pinned terraform is missing at {}: run scripts/bootstrap (scripts/test does); \
             the end-to-end suite does not run without it",
            pinned.0.display()
        );
        let pinned = Terraform::at(pinned.0, pinned.1.to_string());
        let newer = match std::env::var("DRIFT_TEST_TERRAFORM_EXTRA") {
            Ok(off) if off == "none" => {
                progress!("e2e: DRIFT_TEST_TERRAFORM_EXTRA=none: no second terraform");
                None
            }
            Ok(path) => {
                assert!(
                    Path::new(&path).is_file(),
                    "DRIFT_TEST_TERRAFORM_EXTRA={path}: no such file"
                );
                Some(Terraform::at(
                    path.into(),
                    "DRIFT_TEST_TERRAFORM_EXTRA".into(),
                ))
            }
            Err(_) if Path::new(NEWER_TERRAFORM).is_file() => Some(Terraform::at(
                NEWER_TERRAFORM.into(),
                NEWER_TERRAFORM.into(),
            )),
            Err(_) => {
                progress!(
                    "e2e: no newer terraform ({NEWER_TERRAFORM} absent, DRIFT_TEST_TERRAFORM_EXTRA \
                     unset): terraform {} only",
                    pinned.describe()
                );
                None
            }
        };
        let mut found = vec![pinned];
        match newer {
            Some(newer) if newer.version == found[0].version => progress!(
                "e2e: {} is the same version as {}: run once",
                newer.describe(),
                found[0].describe()
            ),
            Some(newer) => found.push(newer),
            None => {}
        }
        found
    })
}

/// Runs `scenario` on every terraform, one after the other, each on a rig of
/// its own; prints the versions it ran on and how long each took, and fails
/// naming each version that failed (after trying them all).
async fn on_every_terraform<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Terraform) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut ran = Vec::new();
    let mut failed = Vec::new();
    for tf in terraforms() {
        let started = Instant::now();
        let outcome = tokio::spawn(scenario(tf.clone())).await;
        let took = format!(
            "{} in {:.1}s",
            tf.describe(),
            started.elapsed().as_secs_f64()
        );
        match outcome {
            Ok(()) => ran.push(took),
            Err(e) => {
                let panic = e.into_panic();
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed.push(format!("{took}: {message}"));
            }
        }
    }
    if !ran.is_empty() {
        progress!("e2e: {name} ran on terraform {}", ran.join(" and "));
    }
    assert!(
        failed.is_empty(),
        "e2e: {name} failed on terraform {}",
        failed.join("\n  and on terraform ")
    );
}

/// The stand-in provider's mirror, in cargo's target folder
/// (`CARGO_TARGET_DIR` when set, as for `scripts/build-standin-provider`).
fn mirror() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| common::repo().join(dir))
        .unwrap_or_else(|| common::repo().join("target"));
    let dir = target.join("standin-provider-mirror");
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

/// Provider reads: how many times each (resource type, id) was read.
type Reads = BTreeMap<(String, String), usize>;

/// The reads the stand-in provider logged in `log` (none if it has no
/// file); the log is removed, so the next check starts from nothing.
fn take_reads(log: &Path) -> Reads {
    let text = match std::fs::read_to_string(log) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => panic!("{}: {e}", log.display()),
    };
    let _ = std::fs::remove_file(log);
    let mut reads = Reads::new();
    for line in text.lines() {
        let (kind, id) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("not a read log line: {line:?}"));
        *reads.entry((kind.to_string(), id.to_string())).or_default() += 1;
    }
    reads
}

/// moto plus the clients the suite uses to change the cloud by hand.
struct Cloud {
    tf: Terraform,
    /// Where `tests/e2e/moto_with_states.py` finds the Lambda functions the
    /// state machine invokes.
    routes: PathBuf,
    moto: Moto,
    s3: aws_sdk_s3::Client,
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    inbox: AlertInbox,
    tmp: tempfile::TempDir,
    cli_config: PathBuf,
    /// What the rig records of its own calls, as CloudTrail would; served
    /// by `tests/e2e/cloudtrail_lookup_events.py` (moto has no LookupEvents).
    trail_events: PathBuf,
    trail_url: String,
    _trail: Background,
}

impl Cloud {
    async fn start(tf: Terraform) -> Cloud {
        let tmp = tempfile::tempdir().unwrap();
        let routes = tmp.path().join("lambda-routes.json");
        let moto = Moto::start_with_states(&routes);
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
        // The resource index the worker writes after each check and the
        // trigger reads (tests/contract/resource-index.json): pk, sk.
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        let string = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        dynamodb
            .create_table()
            .table_name(INDEX_TABLE)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .attribute_definitions(string("pk"))
            .attribute_definitions(string("sk"))
            .send()
            .await
            .unwrap();
        let inbox = moto.alert_inbox("drift-detection-alerts-e2e").await;

        let cli_config = tmp.path().join("terraformrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
                mirror().display()
            ),
        )
        .unwrap();
        let trail_events = tmp.path().join("cloudtrail-events.jsonl");
        std::fs::write(&trail_events, "").unwrap();
        let trail_port = free_port();
        let trail = Background(
            Command::new(venv("python"))
                .arg(common::repo().join("tests/e2e/cloudtrail_lookup_events.py"))
                .arg(trail_port.to_string())
                .arg(&trail_events)
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(trail_port, "the CloudTrail LookupEvents stand-in");
        Cloud {
            trail_events,
            trail_url: format!("http://127.0.0.1:{trail_port}"),
            _trail: trail,
            tf,
            routes,
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
            // Attribution's LookupEvents goes to the rig's stand-in.
            ("AWS_ENDPOINT_URL_CLOUDTRAIL".into(), self.trail_url.clone()),
        ]
    }

    /// Records a call the rig made by hand, as CloudTrail would: an
    /// assumed-role session's write event naming `resources`.
    fn record_event(&self, event_name: &str, principal_arn: &str, resources: &[&str]) {
        let now = chrono::Utc::now();
        let session = principal_arn.rsplit('/').next().unwrap_or_default();
        let record = json!({
            "resources": resources,
            "event": {
                "eventVersion": "1.08",
                "userIdentity": {
                    "type": "AssumedRole",
                    "principalId": format!("AROAE2EEXAMPLE:{session}"),
                    "arn": principal_arn,
                    "accountId": "123456789012",
                    "sessionContext": {"sessionIssuer": {
                        "type": "Role", "principalId": "AROAE2EEXAMPLE",
                        "arn": "arn:aws:iam::123456789012:role/Admin",
                        "accountId": "123456789012", "userName": "Admin"}},
                },
                "eventTime": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "eventSource": "ec2.amazonaws.com",
                "eventName": event_name,
                "awsRegion": "us-east-1",
                "sourceIPAddress": "198.51.100.7",
                "userAgent": "aws-sdk-rust (e2e rig)",
                "eventID": format!("e2e-{event_name}-{}", now.timestamp_nanos_opt().unwrap_or_default()),
                "readOnly": false,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "123456789012",
            },
        });
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.trail_events)
            .unwrap();
        writeln!(file, "{record}").unwrap();
    }

    fn backend_config(&self, env: &str) -> BTreeMap<String, String> {
        self.backend_config_of(env, "network")
    }

    fn backend_config_of(&self, env: &str, workspace: &str) -> BTreeMap<String, String> {
        let url = self.moto.url();
        BTreeMap::from(
            [
                ("bucket", STATE_BUCKET.to_string()),
                ("key", format!("{env}/{workspace}.tfstate")),
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

    /// A copy of the example workspace for `env`, pointed at moto (with its
    /// `moved` block where this terraform knows them).
    fn workspace(&self, env: &str) -> PathBuf {
        let dir = self.tmp.path().join(env).join("network");
        std::fs::create_dir_all(&dir).unwrap();
        let example = common::repo().join("examples/terraform/aws-network");
        std::fs::copy(example.join("main.tf"), dir.join("main.tf")).unwrap();
        if self.tf.has_moved_blocks() {
            std::fs::copy(example.join("since-1.1/moved.tf"), dir.join("moved.tf")).unwrap();
        }
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
        Command::new(&self.tf.path)
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

    /// What the last apply before the refactor left in prod's state: the
    /// archive bucket under its old address, which the `moved` block of
    /// `since-1.1/moved.tf` now renames. (Terraform 1.0 has no `moved`
    /// blocks: there the bucket keeps its address.)
    fn prod_state_from_before_the_rename(&self, prod: &Path) {
        if !self.tf.has_moved_blocks() {
            return;
        }
        // Not self.terraform(): `state mv` takes neither -input nor -no-color.
        let out = Command::new(&self.tf.path)
            .args(["state", "mv", "-lock-timeout=60s"])
            .args(["aws_s3_bucket.archive", "aws_s3_bucket.exports"])
            .current_dir(prod)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "state mv: {}", output_text(&out));
    }

    /// Every managed resource in the state of `env` as the stand-in provider
    /// logs its reads: (type, id), once each.
    async fn managed_resources(&self, env: &str) -> Reads {
        let state = self
            .object(STATE_BUCKET, &format!("{env}/network.tfstate"))
            .await
            .unwrap_or_else(|| panic!("no state for {env}"));
        let mut managed = Reads::new();
        for resource in state["resources"].as_array().unwrap() {
            if resource["mode"] != "managed" {
                continue;
            }
            for instance in resource["instances"].as_array().unwrap() {
                let id = instance["attributes"]["id"].as_str().unwrap();
                let kind = resource["type"].as_str().unwrap();
                *managed
                    .entry((kind.to_string(), id.to_string()))
                    .or_default() += 1;
            }
        }
        assert_eq!(
            managed.len(),
            6,
            "the rig manages six resources: {managed:?}"
        );
        managed
    }

    /// A check of `envs` read each of their managed resources exactly once.
    async fn assert_read_once(&self, reads: &Reads, envs: &[&str], check: &str) {
        let mut expected = Reads::new();
        for env in envs {
            expected.extend(self.managed_resources(env).await);
        }
        assert_eq!(
            reads,
            &expected,
            "{check} on terraform {}: one provider read per managed resource of {envs:?}",
            self.tf.describe()
        );
    }

    /// The CLI's workspace inventory of `entries` (name, environment,
    /// directory), each with its backend in moto, written to `file_name`.
    fn workspaces_file(&self, entries: &[(&str, &str, &Path)], file_name: &str) -> PathBuf {
        let mut inventory = String::new();
        for (name, environment, dir) in entries {
            inventory.push_str(&format!(
                "[[workspace]]\nname = \"{name}\"\nenvironment = \"{environment}\"\naccount_id = \"123456789012\"\nregion = \"us-east-1\"\ndir = \"{}\"\n[workspace.backend_config]\n",
                dir.display()
            ));
            for (k, v) in self.backend_config_of(environment, name) {
                inventory.push_str(&format!("{k} = \"{v}\"\n"));
            }
        }
        let path = self.tmp.path().join(file_name);
        std::fs::write(&path, inventory).unwrap();
        path
    }

    /// `drift-detection scan` over an inventory of these workspaces, with
    /// the reads it made.
    fn scan(
        &self,
        workspaces: &[(&str, &Path)],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (Output, PathBuf, Reads) {
        let run = free_port();
        let out = self.tmp.path().join(format!("reports-{run}"));
        let read_log = self.tmp.path().join(format!("reads-{run}.log"));
        let entries: Vec<(&str, &str, &Path)> = workspaces
            .iter()
            .map(|(env, dir)| ("network", *env, *dir))
            .collect();
        let path = self.workspaces_file(&entries, "workspaces.toml");
        let output = Command::new(env!("CARGO_BIN_EXE_drift-detection"))
            .args(["scan", "--workspaces"])
            .arg(&path)
            .arg("--terraform")
            .arg(&self.tf.path)
            .arg("--out")
            .arg(&out)
            .args(["-q", "--jobs", "2"])
            .args(extra)
            .envs(self.env())
            .env("STANDIN_PROVIDER_READ_LOG", &read_log)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (output, out, take_reads(&read_log))
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
        // Terraform ignores this size (`ignore_changes`): the drift stays
        // after an apply.
        self.rds
            .modify_db_instance()
            .db_instance_identifier("prod-events")
            .allocated_storage(40)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        // The bucket a `moved` block renames (with terraform 1.1 and later).
        self.retag("prod-acme-archive", "Retention", "30d").await;
        let sg = self.security_group_id("prod-app").await;
        self.open_ssh(&sg).await;
        self.record_event("AuthorizeSecurityGroupIngress", ALICE, &[&sg]);
        self.retag("prod-acme-reports", "Owner", "jsmith").await;
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

    /// Sets the existing tag `key` of `bucket` to `value`.
    async fn retag(&self, bucket: &str, key: &str, value: &str) {
        let tags = self
            .s3
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let mut tag_set: Vec<aws_sdk_s3::types::Tag> = tags.tag_set().to_vec();
        let tag = tag_set
            .iter_mut()
            .find(|t| t.key() == key)
            .unwrap_or_else(|| panic!("{bucket} has no tag {key}"));
        *tag = aws_sdk_s3::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .unwrap();
        self.s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(tag_set))
                    .build()
                    .unwrap(),
            )
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
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.ends_with(".tf") || n.ends_with(".tfvars"))
                .collect();
            names.sort();
            for name in names {
                zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(&std::fs::read(dir.join(&name)).unwrap())
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

    /// What someone makes in the console and never imports: a bucket and a
    /// security group.
    async fn make_unmanaged_by_hand(&self) {
        self.s3
            .create_bucket()
            .bucket("hand-made-logs")
            .send()
            .await
            .unwrap();
        self.ec2
            .create_security_group()
            .group_name("hand-made-debug")
            .description("opened for a debugging session")
            .send()
            .await
            .unwrap();
    }

    /// A second workspace, prod's "legacy", whose state also holds `bucket`
    /// (imported by someone who did not know prod manages it).
    fn legacy_workspace_claiming(&self, bucket: &str) -> PathBuf {
        let dir = self.tmp.path().join("prod").join("legacy");
        std::fs::create_dir_all(&dir).unwrap();
        let example =
            std::fs::read_to_string(common::repo().join("examples/terraform/aws-network/main.tf"))
                .unwrap();
        // The example's terraform, variable and provider blocks; one bucket.
        let head = &example[..example.find("locals {").expect("the example's locals")];
        std::fs::write(
            dir.join("main.tf"),
            format!(
                "{head}resource \"aws_s3_bucket\" \"reports\" {{\n  bucket        = \"{bucket}\"\n  force_destroy = true\n}}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("terraform.auto.tfvars"),
            format!(
                "name_prefix  = \"prod\"\naws_endpoint = \"{}\"\n",
                self.moto.url()
            ),
        )
        .unwrap();
        let mut init = vec!["init".to_string()];
        init.extend(
            self.backend_config_of("prod", "legacy")
                .iter()
                .map(|(k, v)| format!("-backend-config={k}={v}")),
        );
        let init: Vec<&str> = init.iter().map(String::as_str).collect();
        let out = self.terraform(&dir, &init);
        assert!(out.status.success(), "init legacy: {}", output_text(&out));
        // Not self.terraform(): import's options must come before its arguments.
        let out = Command::new(&self.tf.path)
            .args(["import", "-input=false", "-no-color", "-lock-timeout=60s"])
            .args(["aws_s3_bucket.reports", bucket])
            .current_dir(&dir)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "import: {}", output_text(&out));
        dir
    }

    /// An AWS Config recorder that records S3 buckets and IAM roles, all
    /// moto's Config can list.
    fn record_s3_and_iam_in_config(&self) {
        let script = r#"
import boto3, sys
config = boto3.client("config", endpoint_url=sys.argv[1], region_name="us-east-1")
config.put_configuration_recorder(ConfigurationRecorder={
    "name": "default", "roleARN": "arn:aws:iam::123456789012:role/config",
    "recordingGroup": {"allSupported": False, "includeGlobalResourceTypes": False,
                       "resourceTypes": ["AWS::S3::Bucket", "AWS::IAM::Role"]}})
config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "reports"})
config.start_configuration_recorder(ConfigurationRecorderName="default")
"#;
        let out = Command::new(venv("python"))
            .args(["-c", script])
            .arg(self.moto.url())
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "Config recorder: {}",
            output_text(&out)
        );
    }

    /// `drift-detection unmanaged` over these workspaces and `legacy`:
    /// (its output, its JSON report).
    fn unmanaged(&self, workspaces: &[(&str, &PathBuf)], legacy: &Path) -> (Output, PathBuf) {
        let mut entries: Vec<(&str, &str, &Path)> = workspaces
            .iter()
            .map(|(env, dir)| ("network", *env, dir.as_path()))
            .collect();
        entries.push(("legacy", "prod", legacy));
        let path = self.workspaces_file(&entries, "unmanaged-workspaces.toml");
        let rules = self.tmp.path().join("rules.yaml");
        std::fs::write(
            &rules,
            format!(
                "unmanaged:\n  ignore: {}\n",
                serde_json::to_string(&*RIG_BUCKETS_IGNORED).unwrap()
            ),
        )
        .unwrap();
        let report = self.tmp.path().join("unmanaged.json");
        let output = Command::new(env!("CARGO_BIN_EXE_drift-detection"))
            .args(["unmanaged", "--workspaces"])
            .arg(&path)
            .arg("--terraform")
            .arg(&self.tf.path)
            .arg("--rules")
            .arg(&rules)
            .arg("--out")
            .arg(&report)
            .envs(self.env())
            .env("AWS_ENDPOINT_URL_CONFIG_SERVICE", self.moto.url())
            .output()
            .unwrap();
        (output, report)
    }

    /// The stack's change-event rules on moto's default bus, delivering to a
    /// new queue: its URL.
    fn route_change_events(&self) -> String {
        let out = Command::new(venv("python"))
            .arg(common::repo().join("tests/e2e/change_events.py"))
            .arg(self.moto.url())
            .args(["route", "drift-detection-change-events-e2e"])
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "rules: {}", output_text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Publishes CloudTrail-shaped `details` as AWS does for API calls.
    fn put_change_events(&self, details: &[Value]) {
        let entries: Vec<Value> = details
            .iter()
            .map(|detail| {
                // CloudTrail's eventSource ec2.amazonaws.com is the bus's aws.ec2.
                let service = detail["eventSource"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_end_matches(".amazonaws.com");
                json!({"Source": format!("aws.{service}"),
                       "DetailType": "AWS API Call via CloudTrail",
                       "Detail": detail.to_string(), "Resources": []})
            })
            .collect();
        let file = self.tmp.path().join("change-events.json");
        std::fs::write(&file, Value::Array(entries).to_string()).unwrap();
        let out = Command::new(venv("python"))
            .arg(common::repo().join("tests/e2e/change_events.py"))
            .arg(self.moto.url())
            .arg("put")
            .arg(&file)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "PutEvents: {}", output_text(&out));
    }

    /// SSH from anywhere on `group`, by hand.
    async fn open_ssh(&self, group: &str) {
        self.ec2
            .authorize_security_group_ingress()
            .group_id(group)
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
    }

    /// The keys under `prefix` in `bucket`.
    async fn object_keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    /// The real worker binary under `cargo lambda watch`, behind the Lambda
    /// Invoke API proxy; returns (guards, invoke URL, log file, the stand-in
    /// provider's read log for [`take_reads`]).
    fn start_worker(
        &self,
        extra_env: &[(&str, String)],
    ) -> (Vec<Background>, String, PathBuf, PathBuf) {
        let watch_port = free_port();
        let read_log = self
            .tmp
            .path()
            .join(format!("worker-reads-{watch_port}.log"));
        let mut env: Vec<(String, String)> = self.env();
        env.extend([
            ("AWS_ENDPOINT_URL".into(), self.moto.url()),
            ("REPORT_BUCKET".into(), "reports".into()),
            ("SNS_TOPIC_ARN".into(), self.inbox.topic_arn.clone()),
            ("TERRAFORM_PATH".into(), self.tf.path.display().to_string()),
            (
                "STANDIN_PROVIDER_READ_LOG".into(),
                read_log.display().to_string(),
            ),
            ("METRICS_NAMESPACE".into(), "DriftDetection".into()),
            ("LOG_LEVEL".into(), "info".into()),
            ("INDEX_TABLE".into(), INDEX_TABLE.into()),
            ("INDEX_TTL_HOURS".into(), "24".into()),
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
            read_log,
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

/// The rig's own buckets, which the drift-detection stack and the
/// Terraform backend would manage in AWS: ignored as a user would.
static RIG_BUCKETS_IGNORED: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!(["tf-state", "reports", "bundles"].map(
        |bucket| json!({"resource_type": "AWS::S3::Bucket", "id": bucket,
                             "reason": "the rig's state, report and bundle buckets"})
    ))
});

/// prod's report bucket, claimed by prod and by legacy.
const TWICE: &str =
    "AWS::S3::Bucket prod-acme-reports: legacy/prod aws_s3_bucket.reports, network/prod aws_s3_bucket.reports";

/// Each entry of the list `items` as its `fields` joined by spaces.
fn keys(items: &Value, fields: &[&str]) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .map(|item| {
            fields
                .iter()
                .map(|f| item[*f].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// An unmanaged report's `managed_twice` as `TYPE ID: WORKSPACE/ENV ADDRESS, ...`.
fn twice(view: &Value) -> Vec<String> {
    view["managed_twice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| {
            let claims = keys(&group["claims"], &["workspace", "environment", "address"])
                .iter()
                .map(|c| {
                    let mut parts = c.splitn(3, ' ');
                    let (w, e, a) = (parts.next(), parts.next(), parts.next());
                    format!(
                        "{}/{} {}",
                        w.unwrap_or_default(),
                        e.unwrap_or_default(),
                        a.unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{} {}: {claims}",
                group["resource_type"].as_str().unwrap_or_default(),
                group["identifier"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The CloudTrail record of an EC2 security-group call by `principal_arn`
/// (an assumed-role session) at `time`, shaped as AWS documents it.
fn cloudtrail_event(event_name: &str, principal_arn: &str, group: &str, time: &str) -> Value {
    let mut parts = principal_arn.rsplitn(3, '/');
    let session = parts.next().unwrap_or_default();
    let role = parts.next().unwrap_or_default();
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROAE2EEXAMPLE:{session}"),
            "arn": principal_arn,
            "accountId": "123456789012",
            "sessionContext": {"sessionIssuer": {
                "type": "Role", "principalId": "AROAE2EEXAMPLE",
                "arn": format!("arn:aws:iam::123456789012:role/{role}"),
                "accountId": "123456789012", "userName": role}},
        },
        "eventTime": time,
        "eventSource": "ec2.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-sdk-rust (e2e rig)",
        "requestParameters": {"groupId": group, "ipPermissions": {"items": [{
            "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
            "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
        "responseElements": {"_return": true},
        "requestID": format!("e2e-{event_name}-{group}"),
        "eventID": format!("e2e-{}-{group}-{session}", time.replace([':', '-'], "")),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management",
    })
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

/// The findings that are changes made outside Terraform.
fn drift_findings(report: &Value) -> Vec<&Value> {
    report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"] == "outside_terraform")
        .collect()
}

/// What every check of prod must find after the hand-made changes: each
/// change once, with its severity, its attribute paths and what `terraform
/// apply` would do about it.
fn assert_prod_drift(report: &Value, tf: &Terraform) {
    assert_eq!(report["status"], "drift", "{report:#}");
    assert_eq!(
        report["terraform"]["version"],
        tf.version.as_str(),
        "the report is from the terraform under test"
    );
    let mut drifted: Vec<&str> = drift_findings(report)
        .iter()
        .map(|i| i["address"].as_str().unwrap())
        .collect();
    drifted.sort_unstable();
    assert_eq!(
        drifted,
        [
            "aws_db_instance.analytics",
            "aws_db_instance.events",
            "aws_db_instance.orders",
            "aws_s3_bucket.archive",
            "aws_s3_bucket.reports",
            "aws_security_group.app",
        ],
        "exactly the hand-made changes, each once: {report:#}"
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
    // Apply creates it again (an empty database: the remediation stays blocked).
    assert_eq!(orders["verdict"], "reverted_by_apply", "{orders:#}");

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

    // The bucket renamed by a `moved` block (terraform 1.1 and later; 1.0
    // has no moves, so there it simply keeps its address): one finding,
    // under the new address, saying where it came from.
    let archive = item(report, "aws_s3_bucket.archive", "outside_terraform");
    assert_eq!(archive["severity"], "low");
    assert_eq!(archive["rule"], "tags-only");
    let retention = changed(archive, "tags.Retention");
    assert_eq!(
        (&retention["before"], &retention["after"]),
        (&json!("400d"), &json!("30d"))
    );
    let previous = if tf.has_moved_blocks() {
        json!("aws_s3_bucket.exports")
    } else {
        Value::Null
    };
    assert_eq!(archive["previous_address"], previous, "{archive:#}");

    // Terraform's plan sets each of these back: every drifted attribute is
    // reverted by apply, and the planned update that does it is not counted
    // a second time as a pending change.
    for finding in [sg, analytics, bucket, archive] {
        let address = finding["address"].as_str().unwrap();
        assert_eq!(finding["verdict"], "reverted_by_apply", "{finding:#}");
        for attribute in finding["changed_attributes"].as_array().unwrap() {
            assert_eq!(
                attribute["verdict"], "reverted_by_apply",
                "{address}: {attribute:#}"
            );
        }
        assert_no_pending_change(report, address);
    }

    // The size Terraform ignores (`ignore_changes`): drift that apply keeps.
    let events = item(report, "aws_db_instance.events", "outside_terraform");
    assert_eq!(events["actions"], json!(["update"]));
    assert_eq!(events["severity"], "high");
    assert_eq!(events["verdict"], "absorbed", "{events:#}");
    let storage = changed(events, "allocated_storage");
    assert_eq!(
        (&storage["before"], &storage["after"]),
        (&json!(20), &json!(40))
    );
    assert_eq!(storage["verdict"], "absorbed", "{events:#}");
    assert_no_pending_change(report, "aws_db_instance.events");

    let summary = &report["summary"];
    assert_eq!(summary["drifted_resources"], 6, "{summary:#}");
    assert_eq!(summary["by_verdict"]["reverted_by_apply"], 5, "{summary:#}");
    assert_eq!(summary["by_verdict"]["absorbed"], 1, "{summary:#}");
    // The deleted database comes back with a create: reverted, not pending.
    assert_no_pending_change(report, "aws_db_instance.orders");
    assert_eq!(summary["pending_changes"], 0, "{report:#}");
    assert_eq!(
        summary["by_verdict"]["config_change"].as_u64().unwrap_or(0),
        0,
        "{summary:#}"
    );

    // The database password is sensitive: never in a report.
    assert!(!report.to_string().contains(DB_PASSWORD));
}

/// The SSH opening's `changed_by` names the rig's own call; returns it as
/// the renderers say it.
fn assert_ssh_opened_by_alice(report: &Value) -> String {
    let by = &item(report, "aws_security_group.app", "outside_terraform")["changed_by"];
    assert_eq!(by["principal_arn"], ALICE, "{by:#}");
    assert_eq!(by["principal"], "alice", "{by:#}");
    assert_eq!(by["session"], "alice", "{by:#}");
    assert_eq!(by["event_name"], "AuthorizeSecurityGroupIngress", "{by:#}");
    assert_eq!(by["event_source"], "ec2.amazonaws.com", "{by:#}");
    // Nobody's event names the other drifts.
    for other in drift_findings(report) {
        if other["address"] != "aws_security_group.app" {
            assert!(other["changed_by"].get("unknown").is_some(), "{other:#}");
        }
    }
    format!(
        "changed by {} ({}) at {} via {}",
        by["principal_arn"].as_str().unwrap(),
        by["principal"].as_str().unwrap(),
        by["event_time"].as_str().unwrap(),
        by["event_name"].as_str().unwrap()
    )
}

fn assert_no_pending_change(report: &Value, address: &str) {
    let pending: Vec<&Value> = report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["address"] == address && i["source"] == "config_change")
        .collect();
    assert!(
        pending.is_empty(),
        "{address}: the plan only sets the drift back (or leaves it), yet: {pending:#?}"
    );
}

fn assert_clean(report: &Value) {
    assert_eq!(report["status"], "clean", "{report:#}");
    assert_eq!(report["drift"], json!([]), "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_made_by_hand_is_found_by_the_cli_the_worker_and_the_orchestrator() {
    on_every_terraform("story", story).await;
}

async fn story(tf: Terraform) {
    let started = Instant::now();
    let on = tf.version.clone();
    let cloud = Cloud::start(tf).await;
    let tf = &cloud.tf;
    let prod = cloud.workspace("prod");
    let staging = cloud.workspace("staging");
    cloud.init_and_apply(&prod, "prod");
    cloud.init_and_apply(&staging, "staging");

    // Right after apply, nothing has drifted anywhere.
    let (output, out, reads) = cloud.scan(&[("prod", &prod), ("staging", &staging)], &[], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", output_text(&output));
    assert_clean(&report(&out, "prod"));
    assert_clean(&report(&out, "staging"));
    cloud
        .assert_read_once(&reads, &["prod", "staging"], "a clean check")
        .await;

    cloud.prod_state_from_before_the_rename(&prod);
    cloud.change_prod_behind_terraforms_back().await;

    // 1. The CLI, in its default mode: one refresh, one read per resource;
    // with --attribute, CloudTrail (the rig's stand-in) says who did it.
    let (output, out, reads) = cloud.scan(
        &[("prod", &prod), ("staging", &staging)],
        &["--attribute"],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(3),
        "critical drift: {}",
        output_text(&output)
    );
    let cli = report(&out, "prod");
    assert_prod_drift(&cli, tf);
    let line = assert_ssh_opened_by_alice(&cli);
    progress!("e2e [{on}]: CLI attribution: aws_security_group.app {line}");
    assert_clean(&report(&out, "staging"));
    cloud
        .assert_read_once(&reads, &["prod", "staging"], "the default check")
        .await;
    // `both`, the old default that refreshed twice, is now the same check.
    let (output, out, reads) = cloud.scan(&[("prod", &prod)], &["--mode", "both"], &[]);
    assert_eq!(output.status.code(), Some(3), "{}", output_text(&output));
    let both = report(&out, "prod");
    assert_prod_drift(&both, tf);
    let essentials = |r: &Value| -> Vec<Value> {
        r["drift"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                json!([
                    i["address"],
                    i["source"],
                    i["severity"],
                    i["verdict"],
                    i["changed_attributes"]
                ])
            })
            .collect()
    };
    assert_eq!(
        essentials(&both),
        essentials(&cli),
        "--mode both finds what the default finds"
    );
    cloud
        .assert_read_once(&reads, &["prod"], "--mode both")
        .await;
    progress!(
        "e2e [{on}]: CLI checked after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // 2. The worker: its real binary, an assumed role, a bundle from S3.
    let (_worker, invoke_url, worker_log, worker_reads) = cloud.start_worker(&[]);
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
        "role_arn": DRIFT_ROLE,
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
    let stored = cloud
        .object("reports", key)
        .await
        .expect("the worker's report");
    assert_prod_drift(&stored, tf);
    let line = assert_ssh_opened_by_alice(&stored);
    progress!("e2e [{on}]: worker attribution: aws_security_group.app {line}");
    cloud
        .assert_read_once(&take_reads(&worker_reads), &["prod"], "the worker's check")
        .await;
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
    let message = alerts[0]["Message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("changed by {ALICE} (alice) at ")),
        "{message}"
    );
    assert!(
        message.contains(" via AuthorizeSecurityGroupIngress"),
        "{message}"
    );
    let log = std::fs::read_to_string(&worker_log).unwrap();
    assert!(
        log.contains("\"CriticalDrift\":2"),
        "EMF line in the worker's log"
    );
    assert!(!log.contains("e2e-external-id") && !log.contains(DB_PASSWORD));
    progress!(
        "e2e [{on}]: worker checked after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // 3. A run as the stack runs it: the orchestrator's handler starts the
    // stack's state machine (moto runs the definition), whose map invokes
    // that same worker per workspace and ends in the summarize handler.
    let workspaces = json!([
        {"name": "network", "environment": "prod", "account_id": "123456789012", "region": "us-east-1",
         "source": prod_bundle, "backend_config": backend("prod")},
        {"name": "network", "environment": "staging", "account_id": "123456789012", "region": "us-east-1",
         "source": staging_bundle, "backend_config": backend("staging")},
    ]);
    let python_env = json!({
        "AWS_ENDPOINT_URL": cloud.moto.url(),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "REPORT_BUCKET": "reports",
        "SNS_TOPIC_ARN": cloud.inbox.topic_arn,
        "POWERTOOLS_SERVICE_NAME": "drift-detection-summarize",
        "POWERTOOLS_METRICS_NAMESPACE": "DriftDetection",
    });
    std::fs::write(
        &cloud.routes,
        json!({
            "drift-detection-worker": {"url": invoke_url},
            "drift-detection-summarize": {"python": "summarize", "env": python_env},
        })
        .to_string(),
    )
    .unwrap();
    let summary_file = cloud.tmp.path().join("summary.json");
    let run = Command::new(venv("python"))
        .arg(common::repo().join("scripts/orchestrator_local.py"))
        .arg(json!({"run_id": "e2e-run-1"}).to_string())
        .args(["--local-state-machine", "--wait", "--out"])
        .arg(&summary_file)
        .envs(cloud.env())
        .env("AWS_ENDPOINT_URL", cloud.moto.url())
        .env("REPORT_BUCKET", "reports")
        .env("SNS_TOPIC_ARN", &cloud.inbox.topic_arn)
        .env("WORKSPACES_JSON", workspaces.to_string())
        .env("MAX_CONCURRENCY", "2")
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
    assert!(
        stored["execution"]["arn"]
            .as_str()
            .unwrap()
            .ends_with(":execution:drift-detection-runs-local:e2e-run-1"),
        "{stored:#}"
    );
    assert_eq!(stored["throttle_retries"], 0);
    cloud
        .assert_read_once(
            &take_reads(&worker_reads),
            &["prod", "staging"],
            "the orchestrator's run",
        )
        .await;
    let alerts = cloud.alerts().await;
    assert_eq!(alerts.len(), 1, "one aggregated alert per run: {alerts:#?}");
    assert_eq!(
        alerts[0]["MessageAttributes"]["kind"]["Value"],
        "critical_drift"
    );
    progress!(
        "e2e [{on}]: orchestrator run after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // 3b. What nobody manages: a bucket and a security group made by hand,
    // and prod's report bucket imported into a second workspace, "legacy".
    // The CLI sees it through AWS Config (moto's records S3 buckets and IAM
    // roles), the run through Config and, for EC2 and RDS, which this rig's
    // recorder does not record, their own APIs.
    cloud.make_unmanaged_by_hand().await;
    let legacy = cloud.legacy_workspace_claiming("prod-acme-reports");
    cloud.record_s3_and_iam_in_config();
    let claims = [("prod", &prod), ("staging", &staging)];
    let (output, report_file) = cloud.unmanaged(&claims, &legacy);
    assert_eq!(
        output.status.code(),
        Some(2),
        "findings: {}",
        output_text(&output)
    );
    let cli_view: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(
        keys(&cli_view["unmanaged"], &["resource_type", "resource_id"]),
        ["AWS::S3::Bucket hand-made-logs"],
        "{cli_view:#}"
    );
    assert_eq!(twice(&cli_view), [TWICE], "{cli_view:#}");
    progress!(
        "e2e [{on}]: CLI unmanaged: {} unmanaged, {} managed twice ({})",
        cli_view["summary"]["unmanaged"],
        cli_view["summary"]["managed_twice"],
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap_or_default()
    );
    let legacy_bundle = cloud.upload_bundle(&legacy, "prod/legacy.zip").await;
    let mut with_legacy = workspaces.as_array().unwrap().clone();
    with_legacy.push(json!({"name": "legacy", "environment": "prod", "account_id": "123456789012",
        "region": "us-east-1", "source": legacy_bundle, "backend_config": serde_json::to_value(cloud.backend_config_of("prod", "legacy")).unwrap()}));
    let mut summarize_env = python_env.clone();
    summarize_env["UNMANAGED_ALERT"] = json!("on");
    summarize_env["UNMANAGED_IGNORE_JSON"] = json!(RIG_BUCKETS_IGNORED.to_string());
    std::fs::write(
        &cloud.routes,
        json!({
            "drift-detection-worker": {"url": invoke_url},
            "drift-detection-summarize": {"python": "summarize", "env": summarize_env},
        })
        .to_string(),
    )
    .unwrap();
    let run = Command::new(venv("python"))
        .arg(common::repo().join("scripts/orchestrator_local.py"))
        .arg(json!({"run_id": "e2e-run-2"}).to_string())
        .args(["--local-state-machine", "--wait", "--out"])
        .arg(&summary_file)
        .envs(cloud.env())
        .env("AWS_ENDPOINT_URL", cloud.moto.url())
        .env("REPORT_BUCKET", "reports")
        .env("SNS_TOPIC_ARN", &cloud.inbox.topic_arn)
        .env(
            "WORKSPACES_JSON",
            Value::Array(with_legacy.clone()).to_string(),
        )
        .env("MAX_CONCURRENCY", "2")
        .env("POWERTOOLS_SERVICE_NAME", "drift-detection-orchestrator")
        .env("POWERTOOLS_METRICS_NAMESPACE", "DriftDetection")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", output_text(&run));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_file).unwrap()).unwrap();
    let counts = &summary["unmanaged"];
    assert_eq!(
        counts["report_key"], "unmanaged/e2e-run-2.json",
        "{summary:#}"
    );
    let run_view = cloud
        .object("reports", "unmanaged/e2e-run-2.json")
        .await
        .expect("the run's unmanaged report");
    let hand_sg = cloud.security_group_id("hand-made-debug").await;
    assert_eq!(
        keys(&run_view["unmanaged"], &["resource_type", "resource_id"]),
        [
            format!("AWS::EC2::SecurityGroup {hand_sg}"),
            "AWS::S3::Bucket hand-made-logs".to_string()
        ],
        "{run_view:#}"
    );
    assert_eq!(twice(&run_view), [TWICE], "{run_view:#}");
    assert_eq!(
        keys(&run_view["gone"], &["workspace", "environment", "address"]),
        ["network prod aws_db_instance.orders"],
        "deleted by hand: in prod's state, gone from RDS: {run_view:#}"
    );
    assert_eq!(
        (
            counts["unmanaged"].clone(),
            counts["managed_twice"].clone(),
            counts["gone"].clone()
        ),
        (json!(2), json!(1), json!(1)),
        "{summary:#}"
    );
    let kinds: Vec<Value> = cloud
        .alerts()
        .await
        .iter()
        .map(|a| a["MessageAttributes"]["kind"]["Value"].clone())
        .collect();
    assert!(kinds.contains(&json!("unmanaged_resources")), "{kinds:?}");
    progress!(
        "e2e [{on}]: run unmanaged: {} unmanaged, {} managed twice, {} gone, after {:.1}s",
        counts["unmanaged"],
        counts["managed_twice"],
        counts["gone"],
        started.elapsed().as_secs_f64()
    );

    // 4. terraform apply puts back everything it does not ignore, and takes
    // the ignored size into its state as it is: clean again.
    cloud.apply(&prod);
    let (output, out, reads) = cloud.scan(&[("prod", &prod), ("staging", &staging)], &[], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", output_text(&output));
    assert_clean(&report(&out, "prod"));
    assert_clean(&report(&out, "staging"));
    cloud
        .assert_read_once(&reads, &["prod", "staging"], "the check after apply")
        .await;
    let events = cloud
        .rds
        .describe_db_instances()
        .db_instance_identifier("prod-events")
        .send()
        .await
        .unwrap();
    assert_eq!(
        events.db_instances()[0].allocated_storage(),
        Some(40),
        "absorbed: apply left the grown disk alone"
    );
    // 5. Minutes, not hours: SSH opened again by hand, and the event AWS
    // emits for that call starts a check of exactly the workspace that
    // manages the group. The stack's rules (its pattern files) route the
    // CloudTrail-shaped events on moto's EventBridge into the queue; the
    // trigger's handler takes them from there as Lambda's SQS mapping would,
    // and starts a one-workspace run of the state machine: the same worker.
    let queue_url = cloud.route_change_events();
    let prod_sg = cloud.security_group_id("prod-app").await;
    let changed_at = chrono::Utc::now();
    let change_started = Instant::now();
    cloud.open_ssh(&prod_sg).await;
    let when = changed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    cloud.put_change_events(&[
        cloudtrail_event("AuthorizeSecurityGroupIngress", ALICE, &prod_sg, &when),
        // A group no workspace manages: no check, kept for the unmanaged view.
        cloudtrail_event("AuthorizeSecurityGroupIngress", ALICE, &hand_sg, &when),
        // The drift role's own call: ignored.
        cloudtrail_event(
            "AuthorizeSecurityGroupIngress",
            "arn:aws:sts::123456789012:assumed-role/drift-detection-read/drift-check",
            &prod_sg,
            &when,
        ),
    ]);
    let checks_file = cloud.tmp.path().join("event-checks.json");
    let run = Command::new(venv("python"))
        .arg(common::repo().join("scripts/trigger_local.py"))
        .arg(&queue_url)
        .args(["--local-state-machine", "--wait", "--out"])
        .arg(&checks_file)
        .envs(cloud.env())
        .env("AWS_ENDPOINT_URL", cloud.moto.url())
        .env("REPORT_BUCKET", "reports")
        .env("SNS_TOPIC_ARN", &cloud.inbox.topic_arn)
        .env(
            "WORKSPACES_JSON",
            Value::Array(with_legacy.clone()).to_string(),
        )
        .env("MAX_CONCURRENCY", "2")
        .env("INDEX_TABLE", INDEX_TABLE)
        .env("EVENT_CHECK_MIN_INTERVAL_MINUTES", "10")
        .env("EVENT_IGNORE_PRINCIPALS", DRIFT_ROLE)
        .env("POWERTOOLS_SERVICE_NAME", "drift-detection-trigger")
        .env("POWERTOOLS_METRICS_NAMESPACE", "DriftDetection")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", output_text(&run));
    let reaction = change_started.elapsed().as_secs_f64();
    let checks: Value =
        serde_json::from_str(&std::fs::read_to_string(&checks_file).unwrap()).unwrap();
    assert_eq!(checks["handled"], 3, "{checks:#}");
    let executions = checks["executions"].as_array().unwrap();
    assert_eq!(
        executions.len(),
        1,
        "one check, of prod/network: {checks:#}"
    );
    let summary = &executions[0]["summary"];
    assert_eq!(summary["trigger"], "event", "{summary:#}");
    let checked: Vec<String> = summary["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}/{} {}",
                w["environment"].as_str().unwrap_or_default(),
                w["name"].as_str().unwrap_or_default(),
                w["status"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(checked, ["prod/network drift"], "{summary:#}");
    let report_key = summary["workspaces"][0]["report_key"].as_str().unwrap();
    let stored = cloud
        .object("reports", report_key)
        .await
        .expect("the event check's report");
    assert_eq!(stored["trigger"]["kind"], "event", "{stored:#}");
    let cause = &stored["trigger"]["events"][0];
    assert_eq!(
        (
            cause["name"].clone(),
            cause["principal"].clone(),
            cause["time"].clone()
        ),
        (
            json!("AuthorizeSecurityGroupIngress"),
            json!(ALICE),
            json!(when)
        ),
        "{stored:#}"
    );
    assert!(
        item(&stored, "aws_security_group.app", "outside_terraform")["changed_attributes"]
            .to_string()
            .contains("0.0.0.0/0"),
        "SSH open to the world again: {stored:#}"
    );
    let alerts = cloud.alerts().await;
    let message = alerts
        .iter()
        .find_map(|a| {
            a["Message"]
                .as_str()
                .filter(|m| m.contains("checked because"))
        })
        .unwrap_or_else(|| panic!("an alert naming the cause: {alerts:#?}"));
    assert!(
        message.contains(&format!(
            "checked because AuthorizeSecurityGroupIngress by {ALICE} at "
        )),
        "{message}"
    );
    assert!(
        cloud
            .object_keys("reports", "unmanaged/events/")
            .await
            .len()
            == 1,
        "the change to the hand-made group is kept for the unmanaged view"
    );
    let log = std::fs::read_to_string(&worker_log).unwrap();
    let latency = log
        .lines()
        .rev()
        .filter(|l| l.contains("\"DetectionLatencySeconds\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|l| l["DetectionLatencySeconds"].as_f64())
        .expect("the worker's DetectionLatencySeconds EMF line");
    progress!(
        "e2e [{on}]: event check: change -> report {latency:.1}s (the worker's DetectionLatencySeconds; {reaction:.1}s from the change to the run's end, on this rig)"
    );

    progress!(
        "e2e [{on}]: story finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_a_held_lock_a_deadline_and_a_lost_report_bucket() {
    on_every_terraform("faults", faults).await;
}

async fn faults(tf: Terraform) {
    let started = Instant::now();
    let on = tf.version.clone();
    let cloud = Cloud::start(tf).await;
    let tf = &cloud.tf;
    let prod = cloud.workspace("prod");
    cloud.init_and_apply(&prod, "prod");
    cloud.prod_state_from_before_the_rename(&prod);
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
    let (output, out, _) = cloud.scan(&[("prod", &prod)], &["--lock-timeout", "2s"], &[]);
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
    let (output, out, _) = cloud.scan(
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
    let (_worker, invoke_url, worker_log, _) =
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
    assert_prod_drift(&kept["report"], tf);
    let alerts = cloud.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0]["Message"]
        .as_str()
        .unwrap()
        .contains("not stored"));
    progress!(
        "e2e [{on}]: faults finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
