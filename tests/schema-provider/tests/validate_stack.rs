//! Real `terraform validate` on the stack (the root module and
//! `modules/**`), with this crate's binary serving the real schemas of the
//! pinned provider releases (scripts/fetch-provider-schema) in place of the
//! providers, which cannot be downloaded here: once with each provider's
//! newest pinned release, once with its oldest (the lowest the stack's
//! version constraints admit). A configuration with one mistake per kind
//! must fail, so the served schema is the real one, not a permissive one.
//! (Setting a read-only attribute is refused by the real provider's own
//! validation, not by terraform: tests/stack/test_provider_schema.py checks
//! that one.)
//!
//! terraform: `DRIFT_TEST_TERRAFORM_EXTRA`, else /usr/local/bin/terraform
//! (the stack needs >= 1.5; the pinned 1.0.3 is too old);
//! `DRIFT_TEST_TERRAFORM_EXTRA=none`, or neither being there, skips these
//! tests and says so (as the end-to-end suite does for its newer terraform).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const NEWER_TERRAFORM: &str = "/usr/local/bin/terraform";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn terraform() -> Option<PathBuf> {
    match std::env::var("DRIFT_TEST_TERRAFORM_EXTRA") {
        Ok(off) if off == "none" => {
            eprintln!("validate_stack: DRIFT_TEST_TERRAFORM_EXTRA=none: skipped");
            None
        }
        Ok(path) => {
            assert!(
                Path::new(&path).is_file(),
                "DRIFT_TEST_TERRAFORM_EXTRA={path}: no such file"
            );
            Some(path.into())
        }
        Err(_) if Path::new(NEWER_TERRAFORM).is_file() => Some(NEWER_TERRAFORM.into()),
        Err(_) => {
            eprintln!(
                "validate_stack: no terraform >= 1.5 ({NEWER_TERRAFORM} absent, \
                 DRIFT_TEST_TERRAFORM_EXTRA unset): skipped"
            );
            None
        }
    }
}

/// terraform's name for this platform (`linux_amd64`).
fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}_{arch}")
}

/// Provider name ("aws") -> its pinned versions, from the schema files.
fn pinned() -> BTreeMap<String, Vec<String>> {
    let dir = repo().join(".tools/provider-schema");
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}: run scripts/fetch-provider-schema", dir.display()))
    {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name
            .strip_prefix("hashicorp-")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let (provider, version) = stem.rsplit_once('-').unwrap();
        found
            .entry(provider.into())
            .or_default()
            .push(version.into());
    }
    for versions in found.values_mut() {
        versions.sort_by_key(|v| {
            v.split('.')
                .map(|p| p.parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        });
    }
    assert!(
        found.contains_key("aws") && found.contains_key("archive"),
        "schemas in {}: {found:?}: run scripts/fetch-provider-schema",
        dir.display()
    );
    found
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// `terraform init` and `validate` on a copy of the stack (plus `extra`
/// as one more file), against the given release of each provider.
/// Returns (success, output).
fn validate(terraform: &Path, releases: &[(&str, &str)], extra: Option<&str>) -> (bool, String) {
    let work = tempfile::tempdir().unwrap();
    let mirror = work.path().join("mirror");
    for (provider, version) in releases {
        let dir = mirror.join(format!(
            "registry.terraform.io/hashicorp/{provider}/{version}/{}",
            platform()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            env!("CARGO_BIN_EXE_terraform-provider-schema"),
            dir.join(format!("terraform-provider-{provider}_v{version}")),
        )
        .unwrap();
    }
    let rc = work.path().join("terraformrc");
    std::fs::write(
        &rc,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    \
             include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n  direct {{\n    \
             exclude = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .unwrap();
    let stack = work.path().join("stack");
    std::fs::create_dir_all(&stack).unwrap();
    for entry in std::fs::read_dir(repo()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tf") {
            std::fs::copy(&path, stack.join(path.file_name().unwrap())).unwrap();
        }
    }
    if repo().join("modules").is_dir() {
        copy_tree(&repo().join("modules"), &stack.join("modules"));
    }
    if let Some(text) = extra {
        std::fs::write(stack.join("zz_extra.tf"), text).unwrap();
    }
    let mut output = String::new();
    for args in [
        &["init", "-backend=false", "-input=false", "-no-color"][..],
        &["validate", "-no-color"],
    ] {
        let out = Command::new(terraform)
            .args(args)
            .current_dir(&stack)
            .env("TF_CLI_CONFIG_FILE", &rc)
            .env("SCHEMA_PROVIDER_DIR", repo().join(".tools/provider-schema"))
            // tf-provider cannot take terraform's AutoMTLS client certificate
            // (tests/standin-provider/src/tls_front.rs); plain gRPC on 127.0.0.1.
            .env("TF_DISABLE_PLUGIN_TLS", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_LOG")
            .output()
            .unwrap();
        output.push_str(&String::from_utf8_lossy(&out.stdout));
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return (false, output);
        }
    }
    (true, output)
}

fn releases(pinned: &BTreeMap<String, Vec<String>>, newest: bool) -> Vec<(&str, &str)> {
    pinned
        .iter()
        .map(|(p, v)| {
            (
                p.as_str(),
                if newest { v.last() } else { v.first() }.unwrap().as_str(),
            )
        })
        .collect()
}

#[test]
fn the_stack_validates_against_the_newest_and_the_oldest_pinned_releases() {
    let Some(terraform) = terraform() else { return };
    let pinned = pinned();
    for newest in [true, false] {
        let releases = releases(&pinned, newest);
        let (ok, output) = validate(&terraform, &releases, None);
        assert!(ok, "terraform validate with {releases:?}:\n{output}");
        assert!(output.contains("The configuration is valid"), "{output}");
        eprintln!("validate_stack: valid with {releases:?}");
    }
}

#[test]
fn mistakes_fail_terraform_validate() {
    let Some(terraform) = terraform() else { return };
    let pinned = pinned();
    let mistakes = r#"
resource "aws_s3_bucket" "zz_typo" {
  buckt = "x"
}

resource "aws_s3_bucket_versioning" "zz_block_as_argument" {
  bucket                   = "x"
  versioning_configuration = { status = "Enabled" }
}

resource "aws_sqs_queue" "zz_type" {
  delay_seconds = "ten"
}

resource "aws_lambda_function" "zz_required" {
  function_name = "f"
}

resource "aws_s3_bukket" "zz_type_name" {
}
"#;
    let (ok, output) = validate(&terraform, &releases(&pinned, true), Some(mistakes));
    assert!(!ok, "terraform validate accepted the mistakes:\n{output}");
    for expected in [
        "An argument named \"buckt\" is not expected here",
        "An argument named \"versioning_configuration\" is not expected here",
        "delay_seconds",
        "The argument \"role\" is required",
        "does not support resource type \"aws_s3_bukket\"",
    ] {
        assert!(output.contains(expected), "no {expected:?} in:\n{output}");
    }
    // References are judged once the blocks are valid: a run of its own.
    let reference = "resource \"aws_sqs_queue\" \"zz\" {\n}\n\n\
                     output \"zz_reference\" {\n  value = aws_sqs_queue.zz.no_such_attribute\n}\n";
    let (ok, output) = validate(&terraform, &releases(&pinned, true), Some(reference));
    assert!(
        !ok,
        "terraform validate accepted a bad reference:\n{output}"
    );
    assert!(
        output.contains("Unsupported attribute") && output.contains("\"no_such_attribute\""),
        "{output}"
    );
}
