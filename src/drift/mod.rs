//! Drift classification: pure functions from [`PlanDocument`]s to findings.
//!
//! [`analyze`] turns each `resource_drift` entry into a finding with source
//! `outside_terraform` (drift proper) and each `resource_changes` entry that is
//! not `no-op`/`read` into one with source `config_change` (a pending change),
//! keeping the two apart. Each finding gets its changed leaf attributes
//! ([`diff`]), a severity from the first matching rule ([`rules`]) and a
//! remediation ([`remediation`]). Ignore rules drop resources or attributes
//! before classification. Nothing here touches the network, a process or a
//! file.

pub mod diff;
pub mod remediation;
pub mod rules;

use foldhash::{HashSet, HashSetExt};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::{ChangeDetail, Diagnostic, Mode, PlanDocument, ResourceChange};
use rules::{ActionKind, AutoRemediation, Candidate, RuleSet, Severity};

/// Where a finding comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Found by refresh: the real resource no longer matches the state.
    OutsideTerraform,
    /// The configuration differs from the state: a pending change.
    ConfigChange,
}

/// One changed leaf attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangedAttribute {
    /// HCL-style path, e.g. `ingress[0].cidr_blocks[1]`.
    pub path: String,
    /// Value before (redacted when sensitive, null when absent).
    pub before: Value,
    /// Value after (redacted when sensitive, null when absent or unknown).
    pub after: Value,
    /// Whether Terraform marks the value sensitive.
    pub sensitive: bool,
    /// Whether the after value is only known after apply.
    pub unknown: bool,
}

/// What to do about a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Remediation {
    /// A sentence or two for a person.
    pub suggestion: String,
    /// A command that acts on this resource only.
    pub command: Option<String>,
    /// Whether automation may apply the fix.
    pub auto_remediation: AutoRemediation,
}

/// One drifted resource or pending change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriftItem {
    /// Full resource address.
    pub address: String,
    /// Module address, null in the root module.
    pub module: Option<String>,
    /// Resource type.
    pub resource_type: String,
    /// Resource name.
    pub name: String,
    /// Provider address.
    pub provider: Option<String>,
    /// Drift (`outside_terraform`) or pending change (`config_change`).
    pub source: Source,
    /// Terraform's action list.
    pub actions: Vec<String>,
    /// Terraform's reason for the action.
    pub action_reason: Option<String>,
    /// The address before a `moved` block, if it moved.
    pub previous_address: Option<String>,
    /// Changed leaf attributes; empty when the input has no values (streams).
    pub changed_attributes: Vec<ChangedAttribute>,
    /// Attribute paths that force replacement.
    pub replace_paths: Vec<String>,
    /// Drifted attribute paths Terraform found relevant to the planned changes.
    pub relevant_attributes: Vec<String>,
    /// How serious it is.
    pub severity: Severity,
    /// The rule that decided the severity.
    pub rule: String,
    /// What to do about it.
    pub remediation: Remediation,
}

/// The findings of one workspace, before they are put into a report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    /// Findings, drift first, then by severity (most serious first) and address.
    pub items: Vec<DriftItem>,
    /// Managed resources known to the inputs, if they list them.
    pub total_resources: Option<usize>,
    /// Findings dropped entirely by ignore rules.
    pub ignored: usize,
    /// Diagnostics carried over from the inputs.
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    /// Findings from refresh (changes made outside Terraform).
    pub fn drift(&self) -> impl Iterator<Item = &DriftItem> {
        self.items
            .iter()
            .filter(|i| i.source == Source::OutsideTerraform)
    }

    /// Findings from the configuration (pending changes).
    pub fn pending(&self) -> impl Iterator<Item = &DriftItem> {
        self.items
            .iter()
            .filter(|i| i.source == Source::ConfigChange)
    }

    /// Whether anything changed outside Terraform.
    pub fn has_drift(&self) -> bool {
        self.drift().next().is_some()
    }
}

/// Analyzes one workspace's Terraform output, possibly from several runs (a
/// `-refresh-only` plan and a normal plan). The same resource reported by two
/// documents counts once per source; earlier documents win.
pub fn analyze(documents: &[&PlanDocument], rules: &RuleSet) -> Analysis {
    let mut analysis = Analysis::default();
    let mut seen: HashSet<(Source, &str)> = HashSet::new();
    for doc in documents {
        analysis.total_resources = analysis.total_resources.max(doc.total_resources);
        analysis.diagnostics.extend(doc.diagnostics.iter().cloned());
        let sources = [
            (Source::OutsideTerraform, &doc.resource_drift),
            (Source::ConfigChange, &doc.resource_changes),
        ];
        for (source, changes) in sources {
            for change in changes.iter() {
                if change.mode != Mode::Managed || !is_reportable(change) {
                    continue;
                }
                if !seen.insert((source, change.address.as_str())) {
                    continue;
                }
                if rules.ignores_resource(&change.address, &change.resource_type) {
                    analysis.ignored += 1;
                    continue;
                }
                match classify(change, source, doc, rules) {
                    Some(item) => analysis.items.push(item),
                    None => analysis.ignored += 1,
                }
            }
        }
    }
    analysis.items.sort_by(|a, b| {
        (a.source, b.severity, &a.address).cmp(&(b.source, a.severity, &b.address))
    });
    analysis
}

fn is_reportable(change: &ResourceChange) -> bool {
    !matches!(
        ActionKind::of(&change.actions),
        ActionKind::NoOp | ActionKind::Read
    )
}

/// Builds the finding for one change, or `None` when ignore rules removed
/// every attribute that changed.
fn classify(
    change: &ResourceChange,
    source: Source,
    doc: &PlanDocument,
    rules: &RuleSet,
) -> Option<DriftItem> {
    let action = ActionKind::of(&change.actions);
    let detail = change.detail.as_ref();
    let mut changed = match detail {
        // A deletion's "changes" would be every attribute; the action says it all.
        Some(d) if action != ActionKind::Delete => diff::changed_attributes_raw(
            &d.before,
            &d.after,
            diff::TextMasks {
                before_sensitive: &d.before_sensitive,
                after_sensitive: &d.after_sensitive,
                after_unknown: &d.after_unknown,
            },
        ),
        _ => Vec::new(),
    };
    let had_changes = !changed.is_empty();
    changed.retain(|a| !rules.ignores_attribute(&change.address, &change.resource_type, &a.path));
    if had_changes && changed.is_empty() && action == ActionKind::Update {
        return None;
    }

    // Only the members that rule conditions read are parsed, and only when
    // one of them changed: the conditions compare them before and after.
    let read_members = rules::members_read(&change.resource_type);
    let read_changed = |d: &&ChangeDetail| {
        read_members
            .iter()
            .any(|m| d.before.member(m) != d.after.member(m))
            || d.before.members().is_none()
            || d.after.members().is_none()
    };
    let values = detail.filter(read_changed).map(|d| {
        (
            d.before.project(read_members),
            d.after.project(read_members),
        )
    });
    let candidate = Candidate {
        address: &change.address,
        resource_type: &change.resource_type,
        action,
        source,
        changed: &changed,
        before: values.as_ref().map(|v| &v.0),
        after: values.as_ref().map(|v| &v.1),
    };
    let verdict = rules.classify(&candidate);
    // Paths are cut where Terraform marks a value sensitive: keys below it
    // (a sensitive map's) must not show in the report or the remediation.
    let visible_path = |steps: &[serde_json::Value]| match detail {
        Some(d) => diff::format_visible_path(
            steps,
            diff::TextMasks {
                before_sensitive: &d.before_sensitive,
                after_sensitive: &d.after_sensitive,
                after_unknown: &d.after_unknown,
            },
        ),
        None => diff::format_json_path(steps),
    };
    let replace_paths: Vec<String> = unique(
        detail
            .into_iter()
            .flat_map(|d| d.replace_paths.iter().map(|p| visible_path(p))),
    );
    let relevant_attributes = unique(
        doc.relevant_attributes
            .iter()
            .filter(|r| source == Source::OutsideTerraform && r.resource == change.address)
            .map(|r| visible_path(&r.attribute)),
    );
    let tags_only = !changed.is_empty()
        && changed.iter().all(|a| {
            ["tags", "tags_all"].iter().any(|t| {
                a.path
                    .strip_prefix(t)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
        });
    let stateful = rules.is_stateful(&change.resource_type);
    let remediation = remediation::suggest(&remediation::Finding {
        address: &change.address,
        source,
        action,
        stateful,
        critical: verdict.severity == Severity::Critical,
        tags_only,
        changed_paths: changed.iter().map(|a| a.path.as_str()).collect(),
        replace_paths: &replace_paths,
        forced: verdict.auto_remediation,
    });

    Some(DriftItem {
        address: change.address.clone(),
        module: change.module_address.clone(),
        resource_type: change.resource_type.clone(),
        name: change.name.clone(),
        provider: change.provider.clone(),
        source,
        actions: change.actions.clone(),
        action_reason: change.action_reason.clone(),
        previous_address: change.previous_address.clone(),
        changed_attributes: changed,
        replace_paths,
        relevant_attributes,
        severity: verdict.severity,
        rule: verdict.rule,
        remediation,
    })
}

/// The paths in their first order, each once (two paths cut at one
/// sensitive value become one).
fn unique(paths: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for path in paths {
        if !seen.contains(&path) {
            seen.insert(path.clone());
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_slice;
    use std::path::Path;

    const PLAN: &str = r#"{
      "format_version": "1.2",
      "resource_drift": [
        {"address": "aws_db_instance.main", "mode": "managed", "type": "aws_db_instance", "name": "main",
         "change": {"actions": ["delete"], "before": {"password": "s3cret", "identifier": "main"}, "after": null,
                    "before_sensitive": {"password": true}, "after_sensitive": false, "after_unknown": {}}},
        {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance", "name": "web",
         "change": {"actions": ["update"], "before": {"tags": {"Env": "prod"}, "tags_all": {"Env": "prod"}},
                    "after": {"tags": {"Env": "dev"}, "tags_all": {"Env": "dev"}},
                    "before_sensitive": {}, "after_sensitive": {}, "after_unknown": {}}}
      ],
      "resource_changes": [
        {"address": "aws_db_instance.main", "mode": "managed", "type": "aws_db_instance", "name": "main",
         "change": {"actions": ["create"], "before": null, "after": {"password": "s3cret", "identifier": "main"},
                    "before_sensitive": false, "after_sensitive": {"password": true}, "after_unknown": {"arn": true}}},
        {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance", "name": "web",
         "change": {"actions": ["no-op"], "before": {}, "after": {}}}
      ]
    }"#;

    #[test]
    fn separates_drift_from_pending_changes() {
        let doc = parse_slice("p.json", PLAN.as_bytes()).unwrap();
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        let got: Vec<_> = analysis
            .items
            .iter()
            .map(|i| (i.source, i.address.as_str(), i.severity, i.rule.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Source::OutsideTerraform,
                    "aws_db_instance.main",
                    Severity::Critical,
                    "stateful-delete-or-replace"
                ),
                (
                    Source::OutsideTerraform,
                    "aws_instance.web",
                    Severity::Low,
                    "tags-only"
                ),
                (
                    Source::ConfigChange,
                    "aws_db_instance.main",
                    Severity::Low,
                    "other-change"
                ),
            ]
        );
        assert!(analysis.has_drift());
        assert_eq!(analysis.total_resources, Some(2));
        let text = serde_json::to_string(&analysis.items).unwrap();
        assert!(!text.contains("s3cret"), "a sensitive value leaked: {text}");
        // The pending re-creation is still allowed to run; the deleted database is not.
        assert_eq!(
            analysis.items[0].remediation.auto_remediation,
            AutoRemediation::Blocked
        );
    }

    #[test]
    fn ignore_rules_drop_resources_and_attributes() {
        let doc = parse_slice("p.json", PLAN.as_bytes()).unwrap();
        let rules = RuleSet::from_text(
            "[[ignore]]\naddress = \"aws_db_instance.*\"\n[[ignore]]\nresource_type = \"aws_instance\"\nattributes = [\"tags*\"]\n",
            false,
            Path::new("r.toml"),
        )
        .unwrap();
        let analysis = analyze(&[&doc], &rules);
        assert!(analysis.items.is_empty(), "{:?}", analysis.items);
        assert_eq!(analysis.ignored, 3);
    }
}
