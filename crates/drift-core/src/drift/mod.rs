//! Drift classification: pure functions from [`PlanDocument`]s to findings.
//!
//! [`analyze`] turns each `resource_drift` entry into a finding with source
//! `outside_terraform` (drift proper) and each `resource_changes` entry that is
//! not `no-op`/`read` into one with source `config_change` (a pending change),
//! keeping the two apart. Each finding gets its changed leaf attributes
//! ([`diff`]), a [`Verdict`] (what the next apply does about it), a severity
//! from the first matching rule ([`rules`]) and a remediation
//! ([`remediation`]). Ignore rules drop resources or attributes before
//! classification. Nothing here touches the network, a process or a file.
//!
//! A normal plan holds both answers: `resource_drift` (what changed outside
//! Terraform) and `resource_changes` (what the next apply does), joined here
//! on the address. A drifted attribute that a planned change touches is
//! `reverted_by_apply`; one that none touches is `absorbed`; a planned
//! change to an attribute that did not drift is a `config_change`. A planned
//! change that only sets drift back is the drift's own verdict, not a second
//! finding.

pub mod diff;
pub mod remediation;
pub mod rules;

use foldhash::{HashMap, HashSet, HashSetExt};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attribution::{self, Attribution};
use crate::plan::{ChangeDetail, Diagnostic, Mode, PlanDocument, ResourceChange};
use rules::{ActionKind, AutoRemediation, Candidate, RuleSet, Severity};

// Who made the change: someone outside Terraform (drift), or the
// configuration (a pending change); a finding's `source`. Its doc comment is
// the schema's description, so it stays as published.
/// Where a finding comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
// The report schema's name for it (schemas/drift-report.v1.json) stays.
#[schemars(rename = "Source")]
pub enum ChangeOrigin {
    /// Found by refresh: the real resource no longer matches the state.
    OutsideTerraform,
    /// The configuration differs from the state: a pending change.
    ConfigChange,
}

/// What the next `terraform apply` does about a change: the question a drift
/// finding raises.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Changed outside Terraform, and the planned change sets it back: the
    /// next apply undoes the manual change.
    RevertedByApply,
    /// Changed outside Terraform, and no planned change touches it
    /// (`ignore_changes`, a computed attribute, or a configuration that
    /// already says the new value): the cloud and the code disagree with
    /// nothing to fix it.
    Absorbed,
    /// Planned, not drifted: configuration not applied yet.
    ConfigChange,
}

impl Verdict {
    /// All verdicts, in report order.
    pub const ALL: [Verdict; 3] = [
        Verdict::RevertedByApply,
        Verdict::Absorbed,
        Verdict::ConfigChange,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::RevertedByApply => "reverted_by_apply",
            Verdict::Absorbed => "absorbed",
            Verdict::ConfigChange => "config_change",
        }
    }
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
    /// What the next apply does about this attribute; null when the input
    /// cannot tell (a refresh-only plan lists no planned changes).
    pub verdict: Option<Verdict>,
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
    pub source: ChangeOrigin,
    /// What the next apply does about it: a drift finding is `absorbed` when
    /// any of its drifted attributes is, else `reverted_by_apply`; a pending
    /// change is a `config_change`. Null when the input cannot tell.
    pub verdict: Option<Verdict>,
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
    /// Who made a drift, from CloudTrail (schema 1.2): the event's author,
    /// or `{"unknown": reason}`. Absent when attribution was not asked for,
    /// and on pending changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<Attribution>,
    /// The identifiers CloudTrail is asked about for a drift, from the prior
    /// state ([`crate::attribution::lookup_keys`]); kept in memory for the
    /// lookup, never written to the report.
    #[serde(skip)]
    #[schemars(skip)]
    pub lookup_keys: Vec<String>,
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
            .filter(|i| i.source == ChangeOrigin::OutsideTerraform)
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
    let mut seen: HashSet<(ChangeOrigin, &str)> = HashSet::new();
    for doc in documents {
        analysis.total_resources = analysis.total_resources.max(doc.total_resources);
        analysis.diagnostics.extend(doc.diagnostics.iter().cloned());
        let reportable = |changes: &'_ [ResourceChange]| -> Vec<usize> {
            (0..changes.len())
                .filter(|&i| changes[i].mode == Mode::Managed && is_reportable(&changes[i]))
                .collect()
        };
        // Each change's attributes, once: the drift is judged against the
        // planned ones, and the planned ones against the drift.
        let drifted: Vec<(&ResourceChange, Vec<ChangedAttribute>)> =
            reportable(&doc.resource_drift)
                .into_iter()
                .map(|i| {
                    (
                        &doc.resource_drift[i],
                        changed_attributes(&doc.resource_drift[i]),
                    )
                })
                .collect();
        let planned: Vec<(&ResourceChange, Vec<ChangedAttribute>)> =
            reportable(&doc.resource_changes)
                .into_iter()
                .map(|i| {
                    let change = &doc.resource_changes[i];
                    (change, changed_attributes(change))
                })
                .collect();
        let planned_at: HashMap<&str, usize> = planned
            .iter()
            .enumerate()
            .map(|(i, (change, _))| (change.address.as_str(), i))
            .collect();
        let drifted_at: HashMap<&str, usize> = drifted
            .iter()
            .enumerate()
            .map(|(i, (change, _))| (change.address.as_str(), i))
            .collect();
        let judged = doc.planned_changes_listed;

        for (change, mut attributes) in drifted.iter().cloned() {
            let plan = planned_at
                .get(change.address.as_str())
                .map(|&i| &planned[i]);
            let verdict = judged.then(|| judge_drift(change, &mut attributes, plan));
            analysis.consider(
                &mut seen,
                doc,
                change,
                ChangeOrigin::OutsideTerraform,
                attributes,
                verdict,
                rules,
            );
        }
        for (change, mut attributes) in planned.iter().cloned() {
            if let Some(&i) = drifted_at.get(change.address.as_str()) {
                let (drift, drifted_attributes) = &drifted[i];
                // What sets drift back is the drift's verdict, not a second
                // finding; what else the plan changes stays a pending change.
                let had_attributes = !attributes.is_empty();
                attributes.retain(|a| !drifted_attributes.iter().any(|d| sets_back(a, d)));
                let revert_only = (had_attributes && attributes.is_empty())
                    || (ActionKind::of(&drift.actions) == ActionKind::Delete
                        && ActionKind::of(&change.actions) == ActionKind::Create);
                if revert_only {
                    continue;
                }
            }
            for attribute in &mut attributes {
                attribute.verdict = Some(Verdict::ConfigChange);
            }
            analysis.consider(
                &mut seen,
                doc,
                change,
                ChangeOrigin::ConfigChange,
                attributes,
                Some(Verdict::ConfigChange),
                rules,
            );
        }
    }
    analysis.items.sort_by(|a, b| {
        (a.source, b.severity, &a.address).cmp(&(b.source, a.severity, &b.address))
    });
    analysis
}

impl Analysis {
    /// Adds the finding for `change` unless an earlier document reported it,
    /// or ignore rules drop it.
    #[allow(clippy::too_many_arguments)]
    fn consider<'d>(
        &mut self,
        seen: &mut HashSet<(ChangeOrigin, &'d str)>,
        doc: &PlanDocument,
        change: &'d ResourceChange,
        source: ChangeOrigin,
        attributes: Vec<ChangedAttribute>,
        verdict: Option<Verdict>,
        rules: &RuleSet,
    ) {
        if !seen.insert((source, change.address.as_str())) {
            return;
        }
        if rules.ignores_resource(&change.address, &change.resource_type) {
            self.ignored += 1;
            return;
        }
        match classify(change, source, attributes, verdict, doc, rules) {
            Some(item) => self.items.push(item),
            None => self.ignored += 1,
        }
    }
}

/// Sets each drifted attribute's verdict against the plan's change to the
/// same resource (if any), and returns the finding's.
fn judge_drift(
    drift: &ResourceChange,
    attributes: &mut [ChangedAttribute],
    plan: Option<&(&ResourceChange, Vec<ChangedAttribute>)>,
) -> Verdict {
    let reverted = |path: &str| match plan {
        None => false,
        // A stream names the change but not its attributes: the resource
        // is planned, so its drift is taken as set back.
        Some((change, _)) if change.detail.is_none() => true,
        Some((_, planned)) => planned.iter().any(|p| touches(&p.path, path)),
    };
    for attribute in attributes.iter_mut() {
        attribute.verdict = Some(if reverted(&attribute.path) {
            Verdict::RevertedByApply
        } else {
            Verdict::Absorbed
        });
    }
    let resource_reverted = match plan {
        None => false,
        Some((change, _)) => {
            // A resource deleted outside Terraform comes back with a create.
            ActionKind::of(&drift.actions) != ActionKind::Delete
                || ActionKind::of(&change.actions) == ActionKind::Create
                || ActionKind::of(&change.actions) == ActionKind::Replace
        }
    };
    if attributes.is_empty() {
        return if resource_reverted {
            Verdict::RevertedByApply
        } else {
            Verdict::Absorbed
        };
    }
    if attributes
        .iter()
        .any(|a| a.verdict == Some(Verdict::Absorbed))
    {
        Verdict::Absorbed
    } else {
        Verdict::RevertedByApply
    }
}

/// Whether the planned change of one attribute only sets back what drifted:
/// the same attribute, planned back to its value from before the drift. (A
/// plan that sets a third value changes the configuration too.)
fn sets_back(planned: &ChangedAttribute, drifted: &ChangedAttribute) -> bool {
    without_indexes(&planned.path) == without_indexes(&drifted.path)
        && !planned.unknown
        && planned.after == drifted.before
}

/// Whether a change at path `a` touches the value at path `b`: one is the
/// other, or holds it. List and set indexes are left out: a set's element
/// keeps no index between the drift and the plan.
fn touches(a: &str, b: &str) -> bool {
    let (a, b) = (without_indexes(a), without_indexes(b));
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    long.strip_prefix(short.as_str())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// `ingress[0].cidr_blocks[1]` as `ingress[].cidr_blocks[]`; map keys
/// (`tags["a.b"]`) stay.
fn without_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) if after[..close].bytes().all(|b| b.is_ascii_digit()) => {
                out.push_str("[]");
                rest = &after[close + 1..];
            }
            _ => {
                // A quoted key: kept whole, up to its closing `"]`.
                let end = after.find("\"]").map_or(after.len(), |e| e + 2);
                out.push('[');
                out.push_str(&after[..end]);
                rest = &after[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_reportable(change: &ResourceChange) -> bool {
    !matches!(
        ActionKind::of(&change.actions),
        ActionKind::NoOp | ActionKind::Read
    )
}

/// A change's changed leaf attributes, before ignore rules.
fn changed_attributes(change: &ResourceChange) -> Vec<ChangedAttribute> {
    match change.detail.as_ref() {
        // A deletion's "changes" would be every attribute; the action says it all.
        Some(d) if ActionKind::of(&change.actions) != ActionKind::Delete => {
            diff::changed_attributes_raw(
                &d.before,
                &d.after,
                diff::TextMasks {
                    before_sensitive: &d.before_sensitive,
                    after_sensitive: &d.after_sensitive,
                    after_unknown: &d.after_unknown,
                },
            )
        }
        _ => Vec::new(),
    }
}

/// Builds the finding for one change, or `None` when ignore rules removed
/// every attribute that changed.
fn classify(
    change: &ResourceChange,
    source: ChangeOrigin,
    mut changed: Vec<ChangedAttribute>,
    verdict: Option<Verdict>,
    doc: &PlanDocument,
    rules: &RuleSet,
) -> Option<DriftItem> {
    let action = ActionKind::of(&change.actions);
    let detail = change.detail.as_ref();
    let had_changes = !changed.is_empty();
    changed.retain(|a| !rules.ignores_attribute(&change.address, &change.resource_type, &a.path));
    if had_changes && changed.is_empty() && action == ActionKind::Update {
        return None;
    }
    // Ignored attributes no longer decide the finding's verdict.
    let verdict = match verdict {
        Some(Verdict::Absorbed) | Some(Verdict::RevertedByApply) if !changed.is_empty() => {
            if changed.iter().any(|a| a.verdict == Some(Verdict::Absorbed)) {
                Some(Verdict::Absorbed)
            } else {
                Some(Verdict::RevertedByApply)
            }
        }
        other => other,
    };

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
        verdict,
        before: values.as_ref().map(|v| &v.0),
        after: values.as_ref().map(|v| &v.1),
    };
    let decision = rules.classify(&candidate);
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
            .filter(|r| source == ChangeOrigin::OutsideTerraform && r.resource == change.address)
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
        critical: decision.severity == Severity::Critical,
        tags_only,
        verdict,
        changed_paths: changed.iter().map(|a| a.path.as_str()).collect(),
        replace_paths: &replace_paths,
        forced: decision.auto_remediation,
    });

    Some(DriftItem {
        address: change.address.clone(),
        module: change.module_address.clone(),
        resource_type: change.resource_type.clone(),
        name: change.name.clone(),
        provider: change.provider.clone(),
        source,
        verdict,
        actions: change.actions.clone(),
        action_reason: change.action_reason.clone(),
        previous_address: change.previous_address.clone(),
        changed_attributes: changed,
        replace_paths,
        relevant_attributes,
        severity: decision.severity,
        rule: decision.rule,
        remediation,
        changed_by: None,
        lookup_keys: match (source, &change.detail) {
            (ChangeOrigin::OutsideTerraform, Some(detail)) => {
                attribution::lookup_keys(&change.resource_type, &detail.before)
            }
            _ => Vec::new(),
        },
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
         "change": {"actions": ["no-op"], "before": {}, "after": {}}},
        {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs",
         "change": {"actions": ["update"], "before": {"acl": "private"}, "after": {"acl": "log-delivery-write"},
                    "before_sensitive": {}, "after_sensitive": {}, "after_unknown": {}}}
      ]
    }"#;

    #[test]
    fn separates_drift_from_pending_changes() {
        let doc = parse_slice("p.json", PLAN.as_bytes()).unwrap();
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        let got: Vec<_> = analysis
            .items
            .iter()
            .map(|i| {
                (
                    i.source,
                    i.address.as_str(),
                    i.severity,
                    i.rule.as_str(),
                    i.verdict,
                )
            })
            .collect();
        // The planned re-creation of the deleted database is its drift's
        // verdict, not a pending change of its own; the web server's tags
        // are changed by no planned change (a no-op): absorbed.
        assert_eq!(
            got,
            vec![
                (
                    ChangeOrigin::OutsideTerraform,
                    "aws_db_instance.main",
                    Severity::Critical,
                    "stateful-delete-or-replace",
                    Some(Verdict::RevertedByApply)
                ),
                (
                    ChangeOrigin::OutsideTerraform,
                    "aws_instance.web",
                    Severity::Low,
                    "tags-only",
                    Some(Verdict::Absorbed)
                ),
                (
                    ChangeOrigin::ConfigChange,
                    "aws_s3_bucket.logs",
                    Severity::High,
                    "core-service-update",
                    Some(Verdict::ConfigChange)
                ),
            ]
        );
        assert!(analysis.has_drift());
        assert_eq!(analysis.total_resources, Some(3));
        let text = serde_json::to_string(&analysis.items).unwrap();
        assert!(!text.contains("s3cret"), "a sensitive value leaked: {text}");
        // Neither the deleted database nor the absorbed tags are left to an apply.
        assert_eq!(
            analysis.items[0].remediation.auto_remediation,
            AutoRemediation::Blocked
        );
        assert_eq!(
            analysis.items[1].remediation.auto_remediation,
            AutoRemediation::Blocked
        );
    }

    fn change(address: &str, actions: &str, before: &str, after: &str) -> String {
        let (kind, name) = address.split_once('.').unwrap();
        format!(
            r#"{{"address": "{address}", "mode": "managed", "type": "{kind}", "name": "{name}",
                "change": {{"actions": {actions}, "before": {before}, "after": {after},
                           "before_sensitive": {{}}, "after_sensitive": {{}}, "after_unknown": {{}}}}}}"#
        )
    }

    fn verdicts(item: &DriftItem) -> Vec<(&str, Option<Verdict>)> {
        item.changed_attributes
            .iter()
            .map(|a| (a.path.as_str(), a.verdict))
            .collect()
    }

    #[test]
    fn each_drifted_attribute_is_judged_against_the_plan() {
        let sg_before = r#"{"description": "web", "ingress": [{"cidr_blocks": ["10.0.0.0/8"], "from_port": 443}], "tags": {"Env": "prod", "Team": "a"}}"#;
        let sg_drifted = r#"{"description": "web", "ingress": [{"cidr_blocks": ["10.0.0.0/8"], "from_port": 443}, {"cidr_blocks": ["0.0.0.0/0"], "from_port": 22}], "tags": {"Env": "prod", "Team": "b"}}"#;
        // The plan sets the ingress back and changes the description (code
        // not yet applied); the Team tag is ignored by `ignore_changes`.
        let sg_planned = r#"{"description": "web servers", "ingress": [{"cidr_blocks": ["10.0.0.0/8"], "from_port": 443}], "tags": {"Env": "prod", "Team": "b"}}"#;
        let plan = format!(
            r#"{{"format_version": "1.2", "resource_drift": [{}, {}], "resource_changes": [{}, {}]}}"#,
            change(
                "aws_security_group.web",
                r#"["update"]"#,
                sg_before,
                sg_drifted
            ),
            change(
                "aws_db_instance.db",
                r#"["update"]"#,
                r#"{"instance_class": "db.t3.micro"}"#,
                r#"{"instance_class": "db.t3.large"}"#
            ),
            change(
                "aws_security_group.web",
                r#"["update"]"#,
                sg_drifted,
                sg_planned
            ),
            change(
                "aws_db_instance.db",
                r#"["update"]"#,
                r#"{"instance_class": "db.t3.large"}"#,
                r#"{"instance_class": "db.t3.micro"}"#
            ),
        );
        let doc = parse_slice("p.json", plan.as_bytes()).unwrap();
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        let by = |source: ChangeOrigin, address: &str| {
            analysis
                .items
                .iter()
                .find(|i| i.source == source && i.address == address)
        };
        let sg = by(ChangeOrigin::OutsideTerraform, "aws_security_group.web").unwrap();
        assert_eq!(sg.verdict, Some(Verdict::Absorbed));
        assert_eq!(
            verdicts(sg),
            [
                ("ingress[1].cidr_blocks[0]", Some(Verdict::RevertedByApply)),
                ("ingress[1].from_port", Some(Verdict::RevertedByApply)),
                ("tags.Team", Some(Verdict::Absorbed)),
            ]
        );
        // The description is code not yet applied: the one pending change
        // left of the plan's update; the ingress revert is not repeated.
        let pending = by(ChangeOrigin::ConfigChange, "aws_security_group.web").unwrap();
        assert_eq!(pending.verdict, Some(Verdict::ConfigChange));
        assert_eq!(
            verdicts(pending),
            [("description", Some(Verdict::ConfigChange))]
        );
        // A resize set back whole: reverted, and no pending change.
        let db = by(ChangeOrigin::OutsideTerraform, "aws_db_instance.db").unwrap();
        assert_eq!(db.verdict, Some(Verdict::RevertedByApply));
        assert!(by(ChangeOrigin::ConfigChange, "aws_db_instance.db").is_none());
        let pending = analysis
            .items
            .iter()
            .filter(|i| i.source == ChangeOrigin::ConfigChange);
        assert_eq!(pending.count(), 1);
    }

    #[test]
    fn a_refresh_only_plan_cannot_tell_and_says_so() {
        let plan = format!(
            r#"{{"format_version": "1.2", "resource_drift": [{}]}}"#,
            change(
                "aws_s3_bucket.a",
                r#"["update"]"#,
                r#"{"acl": "private"}"#,
                r#"{"acl": "public-read"}"#
            ),
        );
        let doc = parse_slice("p.json", plan.as_bytes()).unwrap();
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        assert_eq!(analysis.items[0].verdict, None);
        assert_eq!(verdicts(&analysis.items[0]), [("acl", None)]);
    }

    #[test]
    fn paths_touch_when_one_holds_the_other_whatever_the_set_index() {
        for (a, b, expected) in [
            ("tags.Env", "tags.Env", true),
            ("tags", "tags.Env", true),
            (
                "ingress[0].cidr_blocks[1]",
                "ingress[3].cidr_blocks[0]",
                true,
            ),
            ("ingress", "ingress[2].from_port", true),
            ("tags.Env", "tags.Environment", false),
            ("tags", "tags_all.Env", false),
            (r#"tags["a.b"]"#, r#"tags["a.b"]"#, true),
            (r#"tags["a[0]"]"#, r#"tags["a[1]"]"#, false),
        ] {
            assert_eq!(touches(a, b), expected, "{a} {b}");
            assert_eq!(touches(b, a), expected, "{b} {a}");
        }
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
        let left: Vec<&str> = analysis.items.iter().map(|i| i.address.as_str()).collect();
        assert_eq!(left, ["aws_s3_bucket.logs"]);
        assert_eq!(analysis.ignored, 2);
    }
}
