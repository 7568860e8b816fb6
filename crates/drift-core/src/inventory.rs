//! Workspace inventories: which workspaces to check and where their inputs are.
//!
//! An inventory is TOML (`[[workspace]]` tables) or JSON (a list, or an object
//! with a `workspaces` list). Each workspace names either `dir`, a Terraform
//! working directory that `scan` runs terraform in, or `plan`, the saved output
//! of `terraform show -json` (or `terraform plan -json`) to analyze as is.
//! Relative paths are relative to the inventory file. An entry is the
//! workspace contract's ([`crate::workspace`]), checked by its rules: the
//! fields the AWS orchestrator uses (`source`, `role_arn`, `external_id`)
//! are checked here too, so one inventory serves both (`runner` is the
//! orchestrator's alone), and an entry's own `mode`, `lock`, `lock_timeout`
//! and `parallelism` apply to its workspace.
//!
//! ```toml
//! [[workspace]]
//! name = "network"
//! environment = "prod"
//! account_id = "111111111111"
//! region = "us-east-1"
//! dir = "terraform/network"
//! backend_config = { key = "network/terraform.tfstate" }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{without_input_values, Error, Result};
use crate::report::WorkspaceInfo;
use crate::textfile;
use crate::workspace::{EntryPoint, PlanMode, WorkspaceEntry as Entry};

/// Where a workspace's Terraform input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A working directory to run terraform in.
    Directory(PathBuf),
    /// A saved plan (show-json document or plan -json stream).
    PlanFile(PathBuf),
}

/// One workspace to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// Name, environment, account, region.
    pub info: WorkspaceInfo,
    /// Its input.
    pub input: Input,
    /// `terraform workspace` to select (`TF_WORKSPACE`), if not `default`.
    pub terraform_workspace: Option<String>,
    /// Passed to `terraform init` as `-backend-config=KEY=VALUE`.
    pub backend_config: BTreeMap<String, String>,
    /// What the entry sets for itself instead of the run's options.
    pub settings: Settings,
}

/// An `sts:ExternalId`, which no debug output or log shows.
#[derive(Clone, PartialEq, Eq)]
pub struct ExternalId(pub String);

impl std::fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExternalId(..)")
    }
}

/// An entry's own `mode`, `lock`, `lock_timeout` and `parallelism`, which
/// win over the command line's for that workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Which plan to run.
    pub mode: Option<PlanMode>,
    /// Whether terraform takes the state lock.
    pub lock: Option<bool>,
    /// `-lock-timeout`.
    pub lock_timeout: Option<String>,
    /// `-parallelism` of the plan.
    pub parallelism: Option<u16>,
    /// The role to read the cloud through (`drift-detection unmanaged`
    /// lists AWS Config with it), if not the caller's own credentials.
    pub role_arn: Option<String>,
    /// The role's `sts:ExternalId`.
    pub external_id: Option<ExternalId>,
}

/// The JSON form that is an object: `{"workspaces": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonInventory {
    workspaces: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlInventory {
    #[serde(default)]
    workspace: Vec<Entry>,
}

/// The largest JSON inventory read. An organisation may list thousands of
/// workspaces, a few hundred bytes each: this is tens of thousands. Reading
/// one this size takes about 200 MB.
pub const MAX_INVENTORY_BYTES: u64 = 16 * 1024 * 1024;

/// The largest TOML inventory read, smaller: toml keeps a document of the
/// whole file before handing it over, about 90 bytes for each byte of the
/// densest TOML (370 MB at this size) and 40 for a plain list of workspaces.
/// TOML is the form written by hand; a list this long is generated, and
/// JSON suits it better.
pub const MAX_TOML_INVENTORY_BYTES: u64 = 4 * 1024 * 1024;

/// The size limit for an inventory of this form, and the words for it.
fn limit(is_json: bool) -> (u64, &'static str) {
    if is_json {
        (MAX_INVENTORY_BYTES, "an inventory")
    } else {
        (
            MAX_TOML_INVENTORY_BYTES,
            "a TOML inventory (a JSON one may be 16 MiB)",
        )
    }
}

/// Reads and validates an inventory file (UTF-8, a byte-order mark is fine,
/// or UTF-16) of at most [`MAX_INVENTORY_BYTES`] (JSON) or
/// [`MAX_TOML_INVENTORY_BYTES`] (TOML). Errors name it as "inventory PATH".
pub fn load(path: &Path) -> Result<Vec<Workspace>> {
    let origin = format!("inventory {}", path.display());
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let (max, kind) = limit(is_json);
    let text = textfile::read(path, max, kind).map_err(|e| Error::Shape {
        source_name: origin.clone(),
        message: e.to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, is_json, base, &origin)
}

/// Parses inventory text; relative paths are resolved against `base`.
/// Errors quote no values from the text (an inventory holds external ids).
pub fn parse(text: &str, is_json: bool, base: &Path, origin: &str) -> Result<Vec<Workspace>> {
    let shape = |message: String| Error::Shape {
        source_name: origin.to_string(),
        message,
    };
    let (max, kind) = limit(is_json);
    if text.len() as u64 > max {
        return Err(shape(
            textfile::TextFileError::TooLarge { kind, limit: max }.to_string(),
        ));
    }
    let entries = if is_json {
        let json_error = |e: serde_json::Error| {
            shape(format!(
                "not a workspace inventory: {}",
                without_input_values(&e.to_string())
            ))
        };
        // The first character tells the two forms apart; an untagged enum
        // would buffer the whole file and then say only that neither fits.
        if text.trim_start().starts_with('{') {
            serde_json::from_str::<JsonInventory>(text)
                .map_err(json_error)?
                .workspaces
        } else {
            serde_json::from_str::<Vec<Entry>>(text).map_err(json_error)?
        }
    } else {
        toml::from_str::<TomlInventory>(text)
            .map_err(|e| {
                shape(format!(
                    "not a workspace inventory: {}",
                    textfile::toml_error(text, &e)
                ))
            })?
            .workspace
    };
    if entries.is_empty() {
        return Err(shape("the inventory lists no workspaces".to_string()));
    }

    let mut seen = HashSet::new();
    let mut workspaces = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let label = format!("workspace #{} ({:?})", i + 1, entry.name);
        let faults = entry.faults(EntryPoint::Cli, "name");
        if !faults.is_empty() {
            return Err(shape(format!("{label}: {}", faults.join("; "))));
        }
        let input = match (entry.dir, entry.plan) {
            (Some(dir), None) => Input::Directory(base.join(dir)),
            (None, Some(plan)) => Input::PlanFile(base.join(plan)),
            // The faults above named both and neither already.
            _ => return Err(shape(format!("{label} needs one of `dir` and `plan`"))),
        };
        if !seen.insert((entry.environment.clone(), entry.name.clone())) {
            return Err(shape(format!(
                "{label} repeats a workspace name within environment {:?}; reports would overwrite each other",
                entry.environment.as_deref().unwrap_or("(none)")
            )));
        }
        workspaces.push(Workspace {
            info: WorkspaceInfo {
                name: entry.name,
                environment: entry.environment,
                account_id: entry.account_id,
                region: entry.region,
            },
            input,
            terraform_workspace: entry.terraform_workspace,
            backend_config: entry.backend_config.unwrap_or_default(),
            settings: Settings {
                mode: entry.mode.as_deref().and_then(PlanMode::from_name),
                lock: entry.lock,
                lock_timeout: entry.lock_timeout,
                parallelism: entry.parallelism,
                role_arn: entry.role_arn,
                external_id: entry.external_id.map(ExternalId),
            },
        });
    }
    Ok(workspaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_and_json_with_relative_paths() {
        let toml = "[[workspace]]\nname = \"net\"\nenvironment = \"prod\"\ndir = \"tf/net\"\n";
        let ws = parse(toml, false, Path::new("/inv"), "i.toml").unwrap();
        assert_eq!(ws[0].input, Input::Directory(PathBuf::from("/inv/tf/net")));
        let json = r#"{"workspaces": [{"name": "a", "plan": "a.json", "role_arn": "arn:aws:iam::111111111111:role/x"}]}"#;
        let ws = parse(json, true, Path::new("/inv"), "i.json").unwrap();
        assert_eq!(ws[0].input, Input::PlanFile(PathBuf::from("/inv/a.json")));
    }

    #[test]
    fn an_entry_s_parallelism_is_its_own_and_runner_is_accepted() {
        let toml = "[[workspace]]\nname = \"a\"\ndir = \"x\"\nparallelism = 4\nrunner = \"codebuild\"\n[[workspace]]\nname = \"b\"\ndir = \"y\"\n";
        let ws = parse(toml, false, Path::new("."), "i.toml").unwrap();
        assert_eq!(ws[0].settings.parallelism, Some(4));
        assert_eq!(ws[1].settings.parallelism, None);
        for (bad, expected) in [
            (
                "parallelism = 0",
                "`parallelism` 0 must be a whole number from 1 to 256",
            ),
            ("parallelism = 257", "`parallelism` 257 must be"),
            ("parallelism = \"4\"", "invalid type: string"),
            (
                "runner = \"ec2\"",
                "`runner` \"ec2\" must be one of lambda, codebuild",
            ),
        ] {
            let text = format!("[[workspace]]\nname = \"a\"\ndir = \"x\"\n{bad}\n");
            let err = parse(&text, false, Path::new("."), "i.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn rejects_bad_entries_naming_them() {
        let cases = [
            ("[[workspace]]\nname = \"a\"\n", "neither"),
            ("[[workspace]]\nname = \"a\"\ndir = \"x\"\nplan = \"y\"\n", "both"),
            ("[[workspace]]\nname = \"a\"\ndir = \"x\"\n[[workspace]]\nname = \"a\"\ndir = \"y\"\n", "repeats"),
            ("[[workspace]]\nname = \"a\"\ndir = \"x\"\nregoin = \"y\"\n", "line 4, column 1: unknown field, expected one of `name`"),
            ("", "no workspaces"),
        ];
        for (text, expected) in cases {
            let err = parse(text, false, Path::new("."), "i.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    /// An inventory holds external ids: no error may show one, whether
    /// toml's message quotes the value or its snippet shows the line.
    #[test]
    fn errors_give_the_place_and_never_quote_the_external_id() {
        let secret = "987654321";
        let cases = [
            (
                format!("[[workspace]]\nname = \"a\"\ndir = \"x\"\nexternal_id = {secret}\n"),
                false,
                "line 4, column 15: invalid type: integer, expected a string",
            ),
            (
                format!("[[workspace]]\nname = \"a\"\nexternal_id = \"{secret}\"\ndir = [\"x\"]\n"),
                false,
                "line 4, column 7: invalid type: sequence, expected",
            ),
            (
                format!("[[workspace]]\nname = \"a\"\nexternal_id = \"{secret}\" x\n"),
                false,
                "line 3, column ",
            ),
            (
                format!("[{{\"name\": \"a\", \"dir\": \"x\", \"external_id\": {secret}}}]"),
                true,
                "invalid type: integer, expected a string at line 1 column",
            ),
            (
                format!(
                    "{{\"workspaces\": [{{\"name\": \"a\", \"external_id\": [\"{secret}\"]}}]}}"
                ),
                true,
                "invalid type: sequence, expected a string at line 1 column",
            ),
            (
                format!("[{{\"name\": \"a\", \"{secret}\": 1}}]"),
                true,
                "unknown field, expected one of",
            ),
        ];
        for (text, is_json, expected) in cases {
            let err = parse(&text, is_json, Path::new("."), "inventory i")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected) && !err.contains(secret),
                "{expected}: {err}"
            );
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn the_json_forms_are_told_apart_by_their_first_character() {
        let list = r#"  [{"name": "a", "plan": "a.json"}]"#;
        assert_eq!(parse(list, true, Path::new("."), "i").unwrap().len(), 1);
        // Anything but `workspaces` in the object is refused, as the
        // orchestrator refuses it (lib/lambda/drift_orchestrator/inventory.py).
        let extra = r#"{"workspaces": [{"name": "a", "plan": "a.json"}], "version": 2}"#;
        let err = parse(extra, true, Path::new("."), "i")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field"), "{err}");
        let err = parse("42", true, Path::new("."), "i")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a sequence"), "{err}");
    }

    #[test]
    fn load_names_the_inventory_reads_windows_encodings_and_caps_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.toml");
        let named = format!("inventory {}: ", path.display());
        let toml = "[[workspace]]\nname = \"cafe\"\ndir = \"x\"\nbackend_config = { key = \"caf\u{e9}\" }\n";
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(toml.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for bytes in [
            [b"\xEF\xBB\xBF".as_slice(), toml.as_bytes()].concat(),
            utf16,
        ] {
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(load(&path).unwrap()[0].backend_config["key"], "caf\u{e9}");
        }
        std::fs::write(&path, b"[[workspace]]\nname = \"caf\xE9\"\n").unwrap();
        assert_eq!(
            load(&path).unwrap_err().to_string(),
            format!("{named}not valid UTF-8 at byte 25 (line 2); save it as UTF-8")
        );
        let entry = "[[workspace]]\nname = \"n\"\ndir = \"d\"\n";
        let big = entry.repeat(MAX_TOML_INVENTORY_BYTES as usize / entry.len() + 1);
        std::fs::write(&path, &big).unwrap();
        assert_eq!(
            load(&path).unwrap_err().to_string(),
            format!("{named}the file is larger than 4 MiB (4194304 bytes), the limit for a TOML inventory (a JSON one may be 16 MiB)")
        );
        let json = dir.path().join("inv.json");
        let entry = r#"{"name": "n", "dir": "d"}, "#;
        let big = format!(
            "[{}]",
            entry.repeat(MAX_INVENTORY_BYTES as usize / entry.len() + 1)
        );
        std::fs::write(&json, &big).unwrap();
        assert_eq!(
            load(&json).unwrap_err().to_string(),
            format!("inventory {}: the file is larger than 16 MiB (16777216 bytes), the limit for an inventory", json.display())
        );
        let err = load(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("inventory ") && err.contains("missing.toml: "),
            "{err}"
        );
    }
}
