//! Round trip of the stand-in provider with the real terraform (1.0.3, from
//! scripts/bootstrap) and a real moto server on 127.0.0.1: apply, clean
//! refresh, hand-made changes reported as `resource_drift`, re-convergence,
//! import, the read log, destroy. The provider is installed the way the suite installs
//! it: a filesystem mirror named in a CLI config file (TF_CLI_CONFIG_FILE),
//! then a plain `terraform init -input=false`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::types::{Tag, Tagging};
use serde_json::Value as Json;

#[path = "../../common/moto_server.rs"]
mod moto_server;
#[path = "../../common/process.rs"]
#[allow(dead_code)]
mod process;
use moto_server::MotoServer;

const BUCKET: &str = "standin-roundtrip-reports";
const GROUP: &str = "standin-web";
const DB: &str = "standin-db";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn terraform_binary() -> PathBuf {
    let path = repo().join(".tools/bin/terraform");
    assert!(
        path.exists(),
        "{} not found: run scripts/bootstrap to install the pinned terraform",
        path.display()
    );
    path
}

/// moto on 127.0.0.1, with the launcher the main crate's tests use; the
/// round trip waits longer for it, beside a terraform build.
fn start_moto() -> MotoServer {
    MotoServer::start(&repo(), Duration::from_secs(30))
}

/// A terraform working directory with the provider in a filesystem mirror.
struct Workspace {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    home: PathBuf,
    cli_config: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let tmp = tempfile::Builder::new()
            .prefix("standin-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp dir");
        let root = tmp.path().to_path_buf();
        let platform = root.join("mirror/registry.terraform.io/hashicorp/aws/5.99.0/linux_amd64");
        std::fs::create_dir_all(&platform).unwrap();
        let plugin = platform.join("terraform-provider-aws_v5.99.0");
        // Like scripts/build-standin-provider: a copy without debug info
        // (terraform hashes the whole plugin on every init).
        let built = env!("CARGO_BIN_EXE_terraform-provider-aws");
        let stripped = Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(&plugin)
            .arg(built)
            .status()
            .is_ok_and(|s| s.success());
        if !stripped {
            std::fs::copy(built, &plugin).expect("copy the provider into the mirror");
        }
        let cli_config = root.join("terraformrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
                root.join("mirror").display()
            ),
        )
        .unwrap();
        let dir = root.join("work");
        let home = root.join("home");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        Workspace {
            _tmp: tmp,
            dir,
            home,
            cli_config,
        }
    }

    fn write_main(&self, hcl: &str) {
        std::fs::write(self.dir.join("main.tf"), hcl).unwrap();
    }

    fn run_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(terraform_binary());
        cmd.args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        if let Some(log) = std::env::var_os("STANDIN_TEST_TF_LOG") {
            cmd.env("TF_LOG", log);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().expect("terraform runs")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "terraform {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Json {
        serde_json::from_str(&self.ok(args)).expect("terraform prints JSON")
    }

    /// `plan -refresh-only -out=p && show -json p`.
    fn refresh_only_plan(&self) -> Json {
        self.ok(&[
            "plan",
            "-refresh-only",
            "-input=false",
            "-no-color",
            "-out=p",
        ]);
        self.json(&["show", "-json", "p"])
    }

    fn assert_clean(&self) {
        for args in [
            &[
                "plan",
                "-refresh-only",
                "-detailed-exitcode",
                "-input=false",
                "-no-color",
            ][..],
            &["plan", "-detailed-exitcode", "-input=false", "-no-color"][..],
        ] {
            let out = self.run(args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "terraform {args:?} is not clean:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Attribute values of one resource in the current state.
    fn state_values(&self, address: &str) -> Json {
        let state = self.json(&["show", "-json"]);
        state["values"]["root_module"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} not in state"))["values"]
            .clone()
    }
}

fn main_tf(moto: &str, extra_provider_args: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "5.99.0"
    }}
  }}
}}

provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  s3_use_path_style           = true
  skip_credentials_validation = false
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = false
{extra_provider_args}
  endpoints {{
    s3  = "{moto}"
    ec2 = "{moto}"
    rds = "{moto}"
    sts = "{moto}"
  }}
}}

resource "aws_s3_bucket" "reports" {{
  bucket        = "{BUCKET}"
  force_destroy = true
  tags = {{
    team = "drift"
    env  = "test"
  }}
}}

resource "aws_security_group" "web" {{
  name        = "{GROUP}"
  description = "web tier"

  ingress {{
    description = "https from the network"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8", "192.168.0.0/16"]
  }}

  ingress {{
    from_port = 8080
    to_port   = 8080
    protocol  = "tcp"
    self      = true
  }}

  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}

  tags = {{
    Name = "web"
  }}
}}

resource "aws_db_instance" "main" {{
  identifier          = "{DB}"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  allocated_storage   = 20
  username            = "app"
  password            = "not-a-real-password"
  skip_final_snapshot = true
  tags = {{
    tier = "data"
  }}
}}
"#
    )
}

struct Aws {
    s3: aws_sdk_s3::Client,
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
}

async fn aws(url: &str) -> Aws {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    Aws {
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        ),
        ec2: aws_sdk_ec2::Client::new(&sdk),
        rds: aws_sdk_rds::Client::new(&sdk),
    }
}

/// `resource_drift` of a saved plan: address -> (actions, before, after).
fn drift(plan: &Json) -> BTreeMap<String, (Vec<String>, Json, Json)> {
    plan["resource_drift"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let actions = d["change"]["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            (
                d["address"].as_str().unwrap().to_string(),
                (
                    actions,
                    d["change"]["before"].clone(),
                    d["change"]["after"].clone(),
                ),
            )
        })
        .collect()
}

fn has_ssh_rule(rules: &Json) -> bool {
    rules.as_array().into_iter().flatten().any(|r| {
        r["from_port"] == 22
            && r["to_port"] == 22
            && r["protocol"] == "tcp"
            && r["cidr_blocks"] == serde_json::json!(["0.0.0.0/0"])
    })
}

fn actions(plan: &Json, address: &str) -> Vec<String> {
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in resource_changes"))["change"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn round_trip_with_real_terraform_and_moto() {
    let started = Instant::now();
    let moto = start_moto();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let aws = rt.block_on(aws(&moto.url()));
    let ws = Workspace::new();
    ws.write_main(&main_tf(&moto.url(), ""));

    ws.ok(&["init", "-input=false", "-no-color"]);
    let lock = std::fs::read_to_string(ws.dir.join(".terraform.lock.hcl")).unwrap();
    assert!(lock.contains("version     = \"5.99.0\""), "{lock}");
    ws.ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    ws.assert_clean();

    let sg = ws.state_values("aws_security_group.web");
    let sg_id = sg["id"].as_str().unwrap().to_string();
    assert!(sg_id.starts_with("sg-"), "{sg}");
    assert!(sg["vpc_id"].as_str().unwrap().starts_with("vpc-"), "{sg}");
    assert_eq!(sg["ingress"].as_array().unwrap().len(), 2, "{sg}");
    assert_eq!(sg["egress"].as_array().unwrap().len(), 1, "{sg}");
    let db = ws.state_values("aws_db_instance.main");
    assert_eq!(db["status"], "available", "{db}");
    assert!(db["endpoint"].as_str().unwrap().ends_with(":5432"), "{db}");
    assert_eq!(db["password"], "not-a-real-password");
    let bucket = ws.state_values("aws_s3_bucket.reports");
    assert_eq!(bucket["arn"], format!("arn:aws:s3:::{BUCKET}"));
    assert_eq!(
        bucket["tags_all"],
        serde_json::json!({"team": "drift", "env": "test"})
    );

    // Step 1: change the cloud behind terraform's back.
    rt.block_on(async {
        aws.ec2
            .authorize_security_group_ingress()
            .group_id(&sg_id)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .expect("authorize ssh");
        let tagging = Tagging::builder()
            .tag_set(Tag::builder().key("team").value("drift").build().unwrap())
            .tag_set(Tag::builder().key("env").value("prod").build().unwrap())
            .build()
            .unwrap();
        aws.s3
            .put_bucket_tagging()
            .bucket(BUCKET)
            .tagging(tagging)
            .send()
            .await
            .expect("retag bucket");
        aws.rds
            .modify_db_instance()
            .db_instance_identifier(DB)
            .db_instance_class("db.t3.small")
            .apply_immediately(true)
            .send()
            .await
            .expect("resize db");
    });
    let plan = ws.refresh_only_plan();
    let found = drift(&plan);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec![
            "aws_db_instance.main",
            "aws_s3_bucket.reports",
            "aws_security_group.web"
        ],
        "{plan:#}"
    );
    for (address, (acts, _, _)) in &found {
        assert_eq!(acts, &vec!["update".to_string()], "{address}");
    }
    let (_, before, after) = &found["aws_security_group.web"];
    assert!(!has_ssh_rule(&before["ingress"]), "{before:#}");
    assert!(has_ssh_rule(&after["ingress"]), "{after:#}");
    assert_eq!(
        after["ingress"].as_array().unwrap().len(),
        before["ingress"].as_array().unwrap().len() + 1
    );
    let (_, before, after) = &found["aws_s3_bucket.reports"];
    assert_eq!(before["tags"]["env"], "test");
    assert_eq!(after["tags"]["env"], "prod");
    let (_, before, after) = &found["aws_db_instance.main"];
    assert_eq!(before["instance_class"], "db.t3.micro");
    assert_eq!(after["instance_class"], "db.t3.small");

    // Step 2: delete the DB instance by hand.
    rt.block_on(async {
        aws.rds
            .delete_db_instance()
            .db_instance_identifier(DB)
            .skip_final_snapshot(true)
            .send()
            .await
            .expect("delete db");
    });
    let plan = ws.refresh_only_plan();
    let found = drift(&plan);
    assert_eq!(found.len(), 3, "{plan:#}");
    let (acts, before, after) = &found["aws_db_instance.main"];
    assert_eq!(acts, &vec!["delete".to_string()]);
    assert_eq!(before["identifier"], DB);
    assert!(after.is_null(), "{after}");
    assert_eq!(
        found["aws_security_group.web"].0,
        vec!["update".to_string()]
    );
    assert_eq!(found["aws_s3_bucket.reports"].0, vec!["update".to_string()]);

    // Re-converge.
    ws.ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    ws.assert_clean();
    rt.block_on(async {
        let groups = aws
            .ec2
            .describe_security_groups()
            .group_ids(&sg_id)
            .send()
            .await
            .unwrap();
        let ssh = groups.security_groups()[0]
            .ip_permissions()
            .iter()
            .any(|p| p.from_port() == Some(22));
        assert!(!ssh, "the hand-added ssh rule was revoked");
        let tags = aws
            .s3
            .get_bucket_tagging()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        assert!(tags
            .tag_set()
            .iter()
            .any(|t| t.key() == "env" && t.value() == "test"));
        let dbs = aws
            .rds
            .describe_db_instances()
            .db_instance_identifier(DB)
            .send()
            .await
            .expect("the db was re-created");
        assert_eq!(
            dbs.db_instances()[0].db_instance_class(),
            Some("db.t3.micro")
        );
    });

    // Import: forget the bucket and the group, import them by id.
    ws.ok(&[
        "state",
        "rm",
        "aws_s3_bucket.reports",
        "aws_security_group.web",
    ]);
    ws.ok(&[
        "import",
        "-input=false",
        "-no-color",
        "aws_s3_bucket.reports",
        BUCKET,
    ]);
    ws.ok(&[
        "import",
        "-input=false",
        "-no-color",
        "aws_security_group.web",
        &sg_id,
    ]);
    ws.ok(&["plan", "-input=false", "-no-color", "-out=p"]);
    let plan = ws.json(&["show", "-json", "p"]);
    // An imported bucket has force_destroy = false (as with the real
    // provider); everything else matches the configuration.
    assert_eq!(
        actions(&plan, "aws_s3_bucket.reports"),
        vec!["update"],
        "{plan:#}"
    );
    let change = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "aws_s3_bucket.reports")
        .unwrap()["change"]
        .clone();
    let mut before = change["before"].clone();
    before["force_destroy"] = Json::Bool(true);
    assert_eq!(before, change["after"], "only force_destroy differs");
    assert_eq!(
        actions(&plan, "aws_security_group.web"),
        vec!["no-op"],
        "{plan:#}"
    );
    assert_eq!(
        actions(&plan, "aws_db_instance.main"),
        vec!["no-op"],
        "{plan:#}"
    );
    ws.ok(&["apply", "-auto-approve", "-input=false", "-no-color", "p"]);
    ws.assert_clean();

    // The read log: one line per resource read, so a plan (one refresh)
    // logs each resource once, and a second plan appends as many again.
    let log = ws.dir.join("reads.log");
    let log_env = [("STANDIN_PROVIDER_READ_LOG", log.to_str().unwrap())];
    let mut expected = vec![
        format!("aws_db_instance\t{DB}"),
        format!("aws_s3_bucket\t{BUCKET}"),
        format!("aws_security_group\t{sg_id}"),
    ];
    for args in [
        &["plan", "-input=false", "-no-color"][..],
        &["plan", "-refresh-only", "-input=false", "-no-color"][..],
    ] {
        let out = ws.run_with(args, &log_env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        assert_eq!(lines, expected, "after terraform {args:?}");
        expected.extend(expected.clone());
        expected.sort();
    }

    // Fault injection: reads sleep first.
    let delayed = Instant::now();
    let out = ws.run_with(
        &["plan", "-refresh-only", "-input=false", "-no-color"],
        &[("STANDIN_PROVIDER_READ_DELAY_SECONDS", "1.5")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(delayed.elapsed() >= Duration::from_millis(1500));

    // Destroy removes everything.
    ws.ok(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    rt.block_on(async {
        assert!(aws.s3.head_bucket().bucket(BUCKET).send().await.is_err());
        let err = aws
            .ec2
            .describe_security_groups()
            .group_ids(&sg_id)
            .send()
            .await
            .expect_err("group deleted");
        assert_eq!(
            aws_sdk_ec2::error::ProvideErrorMetadata::code(&err),
            Some("InvalidGroup.NotFound")
        );
        assert!(aws
            .rds
            .describe_db_instances()
            .db_instance_identifier(DB)
            .send()
            .await
            .is_err());
    });
    let state = ws.json(&["show", "-json"]);
    assert!(
        state["values"]["root_module"]["resources"].is_null(),
        "{state:#}"
    );

    // AWS errors are diagnostics naming the resource and the AWS error code
    // (and stay clean with RUST_BACKTRACE set: no backtrace in the detail).
    // This time the credentials come from the environment, the way the
    // worker passes assumed-role credentials.
    let full = main_tf(&moto.url(), "");
    let provider_only = full[..full.find("resource \"").unwrap()]
        .lines()
        .filter(|l| !l.contains("access_key") && !l.contains("secret_key"))
        .collect::<Vec<_>>()
        .join("\n");
    ws.write_main(&format!(
        "{provider_only}\nresource \"aws_db_instance\" \"bad\" {{\n  identifier          = \"standin-bad\"\n  engine              = \"no-such-engine\"\n  instance_class      = \"db.t3.micro\"\n  skip_final_snapshot = true\n}}\n"
    ));
    let out = ws.run_with(
        &["apply", "-auto-approve", "-input=false", "-no-color"],
        &[
            ("RUST_BACKTRACE", "1"),
            ("AWS_ACCESS_KEY_ID", "ASIATESTING"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_SESSION_TOKEN", "session-token"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("creating aws_db_instance (standin-bad): AWS error InvalidParameterValue"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("rust_begin_unwind") && !stderr.contains("CRASH"),
        "{stderr}"
    );
    eprintln!(
        "stand-in provider round trip (terraform 1.0.3 + moto) took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn unsupported_and_invalid_provider_arguments_are_diagnosed() {
    let started = Instant::now();
    let ws = Workspace::new();
    ws.write_main(&main_tf("http://127.0.0.1:9", "  profile = \"dev\"\n"));
    ws.ok(&["init", "-input=false", "-no-color"]);
    let out = ws.run(&["validate", "-no-color"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("`profile` is not supported by the stand-in aws provider"),
        "{stderr}"
    );

    // An argument the provider does not know at all: terraform itself names it.
    ws.write_main(&main_tf(
        "http://127.0.0.1:9",
        "  no_such_argument = true\n",
    ));
    let out = ws.run(&["validate", "-no-color"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no_such_argument"), "{stderr}");

    // Nothing listens on port 9: configuring fails with a diagnostic naming
    // the STS call, not a crash.
    ws.write_main(&main_tf("http://127.0.0.1:9", "  max_retries = 0\n"));
    let out = ws.run(&["plan", "-input=false", "-no-color"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("validating provider credentials: retrieving caller identity from STS"),
        "{stderr}"
    );

    // No keys in the provider block and none in the environment.
    let keyless: String = main_tf("http://127.0.0.1:9", "")
        .lines()
        .filter(|l| !l.contains("access_key") && !l.contains("secret_key"))
        .map(|l| format!("{l}\n"))
        .collect();
    ws.write_main(&keyless);
    let out = ws.run(&["plan", "-input=false", "-no-color"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("No valid credential sources found"),
        "{stderr}"
    );
    eprintln!(
        "stand-in provider diagnostics test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
