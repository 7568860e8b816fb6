//! Workspace inventories: which workspaces to check and where their inputs are.
//!
//! An inventory is TOML (`[[workspace]]` tables) or JSON (a list, or an object
//! with a `workspaces` list). Each workspace names either `dir`, a Terraform
//! working directory that `scan` runs terraform in, or `plan`, the saved output
//! of `terraform show -json` (or `terraform plan -json`) to analyze as is.
//! Relative paths are relative to the inventory file. The fields the AWS
//! orchestrator uses (`role_arn`, `external_id`, `source`) are accepted so one
//! inventory can serve both.
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

use crate::error::{Error, Result};
use crate::report::WorkspaceInfo;

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    dir: Option<PathBuf>,
    #[serde(default)]
    plan: Option<PathBuf>,
    #[serde(default)]
    terraform_workspace: Option<String>,
    #[serde(default)]
    backend_config: BTreeMap<String, String>,
    // Used by the AWS orchestrator; accepted here so one file serves both.
    #[serde(default)]
    #[allow(dead_code)]
    role_arn: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    external_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JsonInventory {
    List(Vec<Entry>),
    Object { workspaces: Vec<Entry> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlInventory {
    #[serde(default)]
    workspace: Vec<Entry>,
}

/// Reads and validates an inventory file.
pub fn load(path: &Path) -> Result<Vec<Workspace>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    parse(&text, is_json, base, &path.display().to_string())
}

/// Parses inventory text; relative paths are resolved against `base`.
pub fn parse(text: &str, is_json: bool, base: &Path, origin: &str) -> Result<Vec<Workspace>> {
    let shape = |message: String| Error::Shape {
        source_name: origin.to_string(),
        message,
    };
    let entries = if is_json {
        match serde_json::from_str::<JsonInventory>(text) {
            Ok(JsonInventory::List(list)) | Ok(JsonInventory::Object { workspaces: list }) => list,
            // The untagged error says little; retry as a list for the real reason.
            Err(_) => serde_json::from_str::<Vec<Entry>>(text)
                .map_err(|e| shape(format!("not a workspace inventory: {e}")))?,
        }
    } else {
        toml::from_str::<TomlInventory>(text)
            .map_err(|e| {
                shape(format!(
                    "not a workspace inventory: {}",
                    e.to_string().trim_end()
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
        if entry.name.trim().is_empty() {
            return Err(shape(format!("workspace #{} has an empty name", i + 1)));
        }
        let input = match (entry.dir, entry.plan) {
            (Some(dir), None) => Input::Directory(base.join(dir)),
            (None, Some(plan)) => Input::PlanFile(base.join(plan)),
            (Some(_), Some(_)) => {
                return Err(shape(format!(
                    "{label} names both `dir` and `plan`; give one"
                )))
            }
            (None, None) => return Err(shape(format!("{label} names neither `dir` nor `plan`"))),
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
            backend_config: entry.backend_config,
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
        let json = r#"{"workspaces": [{"name": "a", "plan": "a.json", "role_arn": "arn:aws:iam::1:role/x"}]}"#;
        let ws = parse(json, true, Path::new("/inv"), "i.json").unwrap();
        assert_eq!(ws[0].input, Input::PlanFile(PathBuf::from("/inv/a.json")));
    }

    #[test]
    fn rejects_bad_entries_naming_them() {
        let cases = [
            ("[[workspace]]\nname = \"a\"\n", "neither"),
            ("[[workspace]]\nname = \"a\"\ndir = \"x\"\nplan = \"y\"\n", "both"),
            ("[[workspace]]\nname = \"a\"\ndir = \"x\"\n[[workspace]]\nname = \"a\"\ndir = \"y\"\n", "repeats"),
            ("[[workspace]]\nname = \"a\"\ndir = \"x\"\nregoin = \"y\"\n", "regoin"),
            ("", "no workspaces"),
        ];
        for (text, expected) in cases {
            let err = parse(text, false, Path::new("."), "i.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
