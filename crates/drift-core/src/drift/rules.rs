//! Severity rules and ignore rules.
//!
//! A [`RuleSet`] is an ordered list of [`Rule`]s (the first match decides an
//! item's severity), a list of stateful resource types (never remediated
//! automatically) and [`IgnoreRule`]s that drop whole resources or single
//! attributes by glob, like driftctl's `.driftignore`. The embedded defaults
//! live in `default_rules.toml`; a user file in TOML or YAML with the same
//! keys is tried first, or replaces them with `replace_defaults = true`.
//!
//! Globs use `*` (any run of characters, dots and brackets included) and `?`
//! (one character); nothing else is special, so `ingress[*].cidr_blocks*` and
//! `module.legacy.*` mean what they say.

use std::collections::BTreeSet;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wildmatch::WildMatch;

use crate::unmanaged::UnmanagedIgnore;

use super::{ChangeOrigin, ChangedAttribute, Verdict};
use crate::error::{Error, Result};
use crate::textfile;

mod yaml;

const DEFAULT_RULES: &str = include_str!("default_rules.toml");

/// The largest rules file read. Rules files are written by hand: the
/// embedded defaults are 4 KiB, and a megabyte is thousands of rules.
pub const MAX_RULES_FILE_BYTES: u64 = 1024 * 1024;

/// How many times its own size a YAML rules file may grow to once its
/// aliases are expanded (see [`yaml::check`]). A file without aliases never
/// comes near it (the densest, `[{a},{a},...]`, is 24), and serde_yaml_ng's
/// own list of the file's events already takes about this much memory.
const YAML_EXPANSION_FACTOR: usize = 64;

/// The budget of a small file, so that sharing a list between a few rules
/// with an anchor stays possible in a short file.
const YAML_MIN_BUDGET: usize = 4 * 1024 * 1024;

/// How serious a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Tag-only and other cosmetic changes.
    Low,
    /// Other in-place changes.
    Medium,
    /// Deletes, replaces and in-place changes to core services.
    High,
    /// Data loss or an opened security boundary.
    Critical,
}

impl Severity {
    /// All severities, most serious first.
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Whether a fix may be applied without a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AutoRemediation {
    /// A `terraform apply` of the reviewed configuration may fix it.
    Allowed,
    /// A person must decide: data or a security boundary is at stake.
    Blocked,
}

/// The one action a rule matches, derived from Terraform's action list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// `["create"]`
    Create,
    /// `["read"]`
    Read,
    /// `["update"]`
    Update,
    /// `["delete"]`
    Delete,
    /// `["delete", "create"]` or `["create", "delete"]`
    Replace,
    /// `["no-op"]`
    NoOp,
    /// An import (Terraform 1.5+)
    Import,
    /// `["forget"]` (Terraform 1.7+)
    Forget,
    /// An action word this tool does not know yet.
    Other,
}

impl ActionKind {
    /// Classifies Terraform's action list.
    pub fn of(actions: &[String]) -> ActionKind {
        let has = |word: &str| actions.iter().any(|a| a == word);
        if has("delete") && has("create") {
            return ActionKind::Replace;
        }
        match actions.first().map(String::as_str) {
            Some("create") => ActionKind::Create,
            Some("read") => ActionKind::Read,
            Some("update") => ActionKind::Update,
            Some("delete") => ActionKind::Delete,
            Some("no-op") | None => ActionKind::NoOp,
            Some("import") => ActionKind::Import,
            Some("forget") => ActionKind::Forget,
            Some(_) => ActionKind::Other,
        }
    }

    /// The label used in `summary.by_action`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Read => "read",
            ActionKind::Update => "update",
            ActionKind::Delete => "delete",
            ActionKind::Replace => "replace",
            ActionKind::NoOp => "no-op",
            ActionKind::Import => "import",
            ActionKind::Forget => "forget",
            ActionKind::Other => "other",
        }
    }
}

/// A built-in test on a change's values that a glob cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// A security group (or rule) gains ingress from 0.0.0.0/0 or ::/0.
    OpensIngressToWorld,
    /// An encryption flag goes from true to false, an encryption block is
    /// removed, or an encryption resource is deleted.
    DisablesEncryption,
    /// An S3 public access block (bucket or account) has one of its four
    /// settings go from true to false, or is deleted.
    WeakensPublicAccessBlock,
}

/// One severity rule, as written in a rules file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name, written to each matching item's `rule`.
    pub id: String,
    /// The severity this rule assigns.
    pub severity: Severity,
    /// What the rule is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Resource type globs; empty matches every type.
    #[serde(default)]
    pub resource_types: Vec<String>,
    /// Resource address globs; empty matches every address.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Actions; empty matches every action.
    #[serde(default)]
    pub actions: Vec<ActionKind>,
    /// Only drift (`outside_terraform`) or only pending changes (`config_change`).
    #[serde(default)]
    pub source: Option<ChangeOrigin>,
    /// Only findings with one of these verdicts (`reverted_by_apply`,
    /// `absorbed`, `config_change`); empty matches every finding, including
    /// those whose verdict the input cannot tell.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    /// Only resources of a stateful type.
    #[serde(default)]
    pub stateful: bool,
    /// At least one changed attribute path matches one of these globs.
    #[serde(default)]
    pub attributes_any: Vec<String>,
    /// Every changed attribute path matches one of these globs (and there is at least one).
    #[serde(default)]
    pub attributes_only: Vec<String>,
    /// A built-in test on the values.
    #[serde(default)]
    pub condition: Option<Condition>,
    /// Forces the remediation mode for matching items.
    #[serde(default)]
    pub auto_remediation: Option<AutoRemediation>,
}

/// Drops a resource, or some of its attributes, from reports.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// Resource address glob, e.g. `module.legacy.*`.
    #[serde(default)]
    pub address: Option<String>,
    /// Resource type glob, e.g. `aws_autoscaling_group`.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// Attribute path globs; empty ignores the whole resource.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Why, for the next reader.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The contents of a rules file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// Use only this file's rules, not the embedded defaults.
    #[serde(default)]
    pub replace_defaults: bool,
    /// Replaces the list of stateful resource types (globs).
    #[serde(default)]
    pub stateful_resource_types: Option<Vec<String>>,
    /// Severity rules, tried in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Ignore rules.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// CloudTrail attribution settings.
    #[serde(default)]
    pub attribution: AttributionSettings,
    /// Unmanaged-resource settings.
    #[serde(default)]
    pub unmanaged: UnmanagedSettings,
}

/// The rules file's `unmanaged` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmanagedSettings {
    /// Inventory items never reported as unmanaged. A user file's rules are
    /// added to the embedded ones (which `replace_defaults = true` drops).
    #[serde(default)]
    pub ignore: Vec<UnmanagedIgnore>,
}

/// The rules file's `attribution` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributionSettings {
    /// Principals whose CloudTrail events never name a drift's author: the
    /// roles Terraform and drift-detection run as. Globs matched against the
    /// caller's ARN, its session issuer's ARN and the resolved principal,
    /// e.g. `arn:aws:iam::*:role/terraform-*`.
    #[serde(default)]
    pub ignore_principals: Vec<String>,
}

/// One glob (`*` any run of characters, `?` any one). Most patterns are a
/// plain name or a name with a trailing `*`: those are compared directly,
/// which is several times faster than the general matcher, and every change
/// meets a few dozen patterns.
pub(crate) enum Glob {
    Exact(String),
    Prefix(String),
    Wild(WildMatch),
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        let wild = |c: char| c == '*' || c == '?';
        match pattern.strip_suffix('*') {
            _ if !pattern.contains(wild) => Glob::Exact(pattern.to_string()),
            Some(prefix) if !prefix.contains(wild) => Glob::Prefix(prefix.to_string()),
            _ => Glob::Wild(WildMatch::new(pattern)),
        }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            Glob::Exact(name) => text == name,
            Glob::Prefix(prefix) => text.starts_with(prefix.as_str()),
            Glob::Wild(glob) => glob.matches(text),
        }
    }
}

struct Globs(Vec<Glob>);

impl Globs {
    fn new(patterns: &[String]) -> Globs {
        Globs(patterns.iter().map(|p| Glob::new(p)).collect())
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn any(&self, text: &str) -> bool {
        self.0.iter().any(|g| g.matches(text))
    }
}

struct CompiledRule {
    rule: Rule,
    resource_types: Globs,
    addresses: Globs,
    attributes_any: Globs,
    attributes_only: Globs,
}

struct CompiledIgnore {
    address: Option<Glob>,
    resource_type: Option<Glob>,
    attributes: Globs,
}

impl CompiledIgnore {
    fn covers_resource(&self, address: &str, resource_type: &str) -> bool {
        self.address.as_ref().is_none_or(|g| g.matches(address))
            && self
                .resource_type
                .as_ref()
                .is_none_or(|g| g.matches(resource_type))
    }
}

/// What the classifier looks at for one change.
pub struct Candidate<'a> {
    /// The resource address.
    pub address: &'a str,
    /// The resource type.
    pub resource_type: &'a str,
    /// The action, classified.
    pub action: ActionKind,
    /// Drift or pending change.
    pub source: ChangeOrigin,
    /// Changed leaves, already redacted.
    pub changed: &'a [ChangedAttribute],
    /// What the next apply does about it, when the input tells.
    pub verdict: Option<Verdict>,
    /// The object before the change, if known: at least the members
    /// [`members_read`] names for its type. Read by conditions only, never
    /// written out.
    pub before: Option<&'a Value>,
    /// The object after the change, likewise.
    pub after: Option<&'a Value>,
}

/// The decision for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The id of the rule that decided.
    pub rule: String,
    /// The severity it assigned.
    pub severity: Severity,
    /// The remediation mode it forces, if any.
    pub auto_remediation: Option<AutoRemediation>,
}

/// An ordered, compiled set of severity and ignore rules.
pub struct RuleSet {
    attribution_ignore: Vec<String>,
    unmanaged_ignore: Vec<UnmanagedIgnore>,
    rules: Vec<CompiledRule>,
    ignores: Vec<CompiledIgnore>,
    stateful: Globs,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field(
                "rules",
                &self
                    .rules
                    .iter()
                    .map(|r| r.rule.id.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("ignores", &self.ignores.len())
            .finish()
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::embedded()
    }
}

impl RuleSet {
    /// The embedded default rules.
    pub fn embedded() -> RuleSet {
        let file = embedded_file();
        RuleSet::compile(file, None)
    }

    /// The embedded rules plus a user rules file (TOML, or YAML by its
    /// `.yaml`/`.yml` extension) of at most [`MAX_RULES_FILE_BYTES`], in
    /// UTF-8 (a byte-order mark is fine) or UTF-16.
    pub fn from_path(path: &Path) -> Result<RuleSet> {
        let text = textfile::read(path, MAX_RULES_FILE_BYTES, "a rules file").map_err(|e| {
            Error::Rules {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        let yaml = matches!(
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("yaml" | "yml")
        );
        RuleSet::from_text(&text, yaml, path)
    }

    /// The embedded rules plus user rules given as text.
    pub fn from_text(text: &str, yaml: bool, origin: &Path) -> Result<RuleSet> {
        let rules_error = |message: String| Error::Rules {
            path: origin.to_path_buf(),
            message,
        };
        if text.len() as u64 > MAX_RULES_FILE_BYTES {
            return Err(rules_error(
                textfile::TextFileError::TooLarge {
                    kind: "a rules file",
                    limit: MAX_RULES_FILE_BYTES,
                }
                .to_string(),
            ));
        }
        let user: RulesFile = if yaml {
            from_yaml(text).map_err(rules_error)?
        } else {
            from_toml(text).map_err(rules_error)?
        };
        validate(&user).map_err(rules_error)?;
        Ok(RuleSet::compile(embedded_file(), Some(user)))
    }

    fn compile(defaults: RulesFile, user: Option<RulesFile>) -> RuleSet {
        let mut attribution_ignore = defaults.attribution.ignore_principals.clone();
        let mut unmanaged_ignore = Vec::new();
        match &user {
            Some(user) => {
                unmanaged_ignore.extend(user.unmanaged.ignore.iter().cloned());
                if !user.replace_defaults {
                    unmanaged_ignore.extend(defaults.unmanaged.ignore.iter().cloned());
                }
            }
            None => unmanaged_ignore.extend(defaults.unmanaged.ignore.iter().cloned()),
        }
        let (mut rules, mut ignores, mut stateful) = (
            Vec::new(),
            Vec::new(),
            defaults.stateful_resource_types.clone(),
        );
        if let Some(user) = user {
            if user.stateful_resource_types.is_some() {
                stateful = user.stateful_resource_types.clone();
            }
            rules.extend(user.rules);
            ignores.extend(user.ignore);
            attribution_ignore.extend(user.attribution.ignore_principals);
            if !user.replace_defaults {
                rules.extend(defaults.rules);
            }
        } else {
            rules.extend(defaults.rules);
        }
        ignores.extend(defaults.ignore);
        RuleSet {
            attribution_ignore,
            unmanaged_ignore,
            rules: rules
                .into_iter()
                .map(|rule| CompiledRule {
                    resource_types: Globs::new(&rule.resource_types),
                    addresses: Globs::new(&rule.addresses),
                    attributes_any: Globs::new(&rule.attributes_any),
                    attributes_only: Globs::new(&rule.attributes_only),
                    rule,
                })
                .collect(),
            ignores: ignores
                .into_iter()
                .map(|i| CompiledIgnore {
                    address: i.address.as_deref().map(Glob::new),
                    resource_type: i.resource_type.as_deref().map(Glob::new),
                    attributes: Globs::new(&i.attributes),
                })
                .collect(),
            stateful: Globs::new(&stateful.unwrap_or_default()),
        }
    }

    /// The rules file's `attribution.ignore_principals`: principals whose
    /// CloudTrail events never name a drift's author.
    pub fn attribution_ignore(&self) -> &[String] {
        &self.attribution_ignore
    }

    /// The unmanaged-resource ignore rules in force: the user's, then the
    /// embedded ones unless the user's file replaces the defaults.
    pub fn unmanaged_ignore(&self) -> &[UnmanagedIgnore] {
        &self.unmanaged_ignore
    }

    /// The ids of the rules, in the order they are tried.
    pub fn rule_ids(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.rule.id.as_str()).collect()
    }

    /// Whether resources of this type hold data.
    pub fn is_stateful(&self, resource_type: &str) -> bool {
        self.stateful.any(resource_type)
    }

    /// Whether the whole resource is ignored.
    pub fn ignores_resource(&self, address: &str, resource_type: &str) -> bool {
        self.ignores
            .iter()
            .any(|i| i.attributes.is_empty() && i.covers_resource(address, resource_type))
    }

    /// Whether one attribute of the resource is ignored.
    pub fn ignores_attribute(&self, address: &str, resource_type: &str, path: &str) -> bool {
        self.ignores.iter().any(|i| {
            !i.attributes.is_empty()
                && i.covers_resource(address, resource_type)
                && i.attributes.any(path)
        })
    }

    /// The first matching rule's verdict; `unmatched` (medium) if none matches.
    pub fn classify(&self, candidate: &Candidate<'_>) -> Decision {
        self.rules
            .iter()
            .find(|r| self.matches(r, candidate))
            .map(|r| Decision {
                rule: r.rule.id.clone(),
                severity: r.rule.severity,
                auto_remediation: r.rule.auto_remediation,
            })
            .unwrap_or(Decision {
                rule: "unmatched".to_string(),
                severity: Severity::Medium,
                auto_remediation: None,
            })
    }

    fn matches(&self, compiled: &CompiledRule, c: &Candidate<'_>) -> bool {
        let rule = &compiled.rule;
        (rule.actions.is_empty() || rule.actions.contains(&c.action))
            && rule.source.is_none_or(|s| s == c.source)
            && (rule.verdicts.is_empty() || c.verdict.is_some_and(|v| rule.verdicts.contains(&v)))
            && (!rule.stateful || self.is_stateful(c.resource_type))
            && (compiled.resource_types.is_empty() || compiled.resource_types.any(c.resource_type))
            && (compiled.addresses.is_empty() || compiled.addresses.any(c.address))
            && (compiled.attributes_any.is_empty()
                || c.changed
                    .iter()
                    .any(|a| compiled.attributes_any.any(&a.path)))
            && (compiled.attributes_only.is_empty()
                || (!c.changed.is_empty()
                    && c.changed
                        .iter()
                        .all(|a| compiled.attributes_only.any(&a.path))))
            && rule.condition.is_none_or(|cond| holds(cond, c))
    }
}

fn embedded_file() -> RulesFile {
    toml::from_str(DEFAULT_RULES)
        .expect("the embedded default rules parse; a unit test covers this")
}

fn from_toml(text: &str) -> std::result::Result<RulesFile, String> {
    toml::from_str(text).map_err(|e| textfile::toml_error(text, &e))
}

fn from_yaml(text: &str) -> std::result::Result<RulesFile, String> {
    let budget = YAML_EXPANSION_FACTOR
        .saturating_mul(text.len())
        .max(YAML_MIN_BUDGET);
    yaml::check(text, budget).map_err(|refusal| refusal.to_string())?;
    serde_yaml_ng::from_str(text).map_err(|e| textfile::yaml_error(&e))
}

fn validate(file: &RulesFile) -> std::result::Result<(), String> {
    for (i, rule) in file.unmanaged.ignore.iter().enumerate() {
        if let Some(problem) = rule.problem() {
            return Err(format!("unmanaged.ignore #{} {problem}", i + 1));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, rule) in file.rules.iter().enumerate() {
        if rule.id.trim().is_empty() {
            return Err(format!("rule #{} has an empty id", i + 1));
        }
        if !seen.insert(rule.id.as_str()) {
            return Err(format!("rule id `{}` is used twice", rule.id));
        }
    }
    for (i, ignore) in file.ignore.iter().enumerate() {
        if ignore.address.is_none() && ignore.resource_type.is_none() {
            return Err(format!(
                "ignore #{} names neither `address` nor `resource_type`; it would ignore everything",
                i + 1
            ));
        }
    }
    Ok(())
}

fn holds(condition: Condition, c: &Candidate<'_>) -> bool {
    match condition {
        Condition::OpensIngressToWorld => opens_ingress_to_world(c),
        Condition::DisablesEncryption => disables_encryption(c),
        Condition::WeakensPublicAccessBlock => weakens_public_access_block(c),
    }
}

fn is_world(value: &Value) -> bool {
    matches!(value.as_str(), Some("0.0.0.0/0" | "::/0"))
}

/// Ingress entries open to the world, as `protocol:from-to:cidr` keys.
fn world_ingress(group: Option<&Value>) -> BTreeSet<String> {
    let mut open = BTreeSet::new();
    let rules = group
        .and_then(|g| g.get("ingress"))
        .and_then(Value::as_array);
    for rule in rules.into_iter().flatten() {
        for field in ["cidr_blocks", "ipv6_cidr_blocks"] {
            for cidr in rule
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if is_world(cidr) {
                    open.insert(format!(
                        "{}:{}-{}:{}",
                        rule.get("protocol").unwrap_or(&Value::Null),
                        rule.get("from_port").unwrap_or(&Value::Null),
                        rule.get("to_port").unwrap_or(&Value::Null),
                        cidr
                    ));
                }
            }
        }
    }
    open
}

/// CIDRs open to the world in a standalone rule resource.
fn world_cidrs(rule: Option<&Value>, fields: &[&str]) -> BTreeSet<String> {
    let mut open = BTreeSet::new();
    for field in fields {
        match rule.and_then(|r| r.get(*field)) {
            Some(Value::Array(cidrs)) => {
                open.extend(cidrs.iter().filter(|c| is_world(c)).map(Value::to_string))
            }
            Some(cidr) if is_world(cidr) => {
                open.insert(cidr.to_string());
            }
            _ => {}
        }
    }
    open
}

/// The members of a resource's `before`/`after` objects that rule conditions
/// read (see [`Candidate::before`]); other types' conditions only look at
/// changed attributes. The conditions compare these members before and
/// after, so they never fire when none of them changed.
pub fn members_read(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "aws_security_group" => &["ingress"],
        "aws_security_group_rule" => &["type", "cidr_blocks", "ipv6_cidr_blocks"],
        "aws_vpc_security_group_ingress_rule" => &["cidr_ipv4", "cidr_ipv6"],
        _ => &[],
    }
}

fn opens_ingress_to_world(c: &Candidate<'_>) -> bool {
    if matches!(
        c.action,
        ActionKind::Delete | ActionKind::NoOp | ActionKind::Read
    ) {
        return false;
    }
    match c.resource_type {
        "aws_security_group" => !world_ingress(c.after).is_subset(&world_ingress(c.before)),
        "aws_security_group_rule" => {
            let is_ingress = |v: Option<&Value>| {
                v.and_then(|v| v.get("type")).and_then(Value::as_str) == Some("ingress")
            };
            let fields = ["cidr_blocks", "ipv6_cidr_blocks"];
            let before = if is_ingress(c.before) {
                world_cidrs(c.before, &fields)
            } else {
                BTreeSet::new()
            };
            is_ingress(c.after) && !world_cidrs(c.after, &fields).is_subset(&before)
        }
        "aws_vpc_security_group_ingress_rule" => {
            let fields = ["cidr_ipv4", "cidr_ipv6"];
            !world_cidrs(c.after, &fields).is_subset(&world_cidrs(c.before, &fields))
        }
        _ => false,
    }
}

fn weakens_public_access_block(c: &Candidate<'_>) -> bool {
    const SETTINGS: [&str; 4] = [
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ];
    if !matches!(
        c.resource_type,
        "aws_s3_bucket_public_access_block" | "aws_s3_account_public_access_block"
    ) {
        return false;
    }
    matches!(c.action, ActionKind::Delete | ActionKind::Replace)
        || c.changed.iter().any(|a| {
            SETTINGS.contains(&a.path.as_str())
                && a.before == Value::Bool(true)
                && a.after == Value::Bool(false)
        })
}

fn disables_encryption(c: &Candidate<'_>) -> bool {
    let type_is_encryption = c.resource_type.contains("encryption");
    if type_is_encryption && c.action == ActionKind::Delete {
        return true;
    }
    // The values are looked at before the (slower) path.
    c.changed.iter().any(|a| {
        let switched_off = a.before == Value::Bool(true) && a.after == Value::Bool(false);
        let block_removed = !a.before.is_null() && a.after.is_null() && !a.unknown;
        (switched_off && (type_is_encryption || a.path.contains("encrypt")))
            || (block_removed && a.path.contains("encryption"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_as_wildmatch_does() {
        let patterns = [
            "",
            "*",
            "**",
            "tags",
            "tags.*",
            "tags[*",
            "aws_iam_*",
            "aws_*_policy",
            "?ws",
            "a*b*c",
        ];
        let texts = [
            "",
            "tags",
            "tags.Name",
            "tags[0]",
            "tags_all",
            "aws_iam_role",
            "aws_iam_",
            "aws_s3_policy",
            "aws",
            "xws",
            "abc",
            "aXbYc",
            "ab",
        ];
        for pattern in patterns {
            for text in texts {
                assert_eq!(
                    Glob::new(pattern).matches(text),
                    WildMatch::new(pattern).matches(text),
                    "{pattern:?} on {text:?}"
                );
            }
        }
    }

    fn changed(path: &str, before: Value, after: Value) -> ChangedAttribute {
        ChangedAttribute {
            path: path.to_string(),
            before,
            after,
            sensitive: false,
            unknown: false,
            verdict: None,
        }
    }

    fn candidate<'a>(
        resource_type: &'a str,
        action: ActionKind,
        changed: &'a [ChangedAttribute],
    ) -> Candidate<'a> {
        Candidate {
            address: "x.y",
            resource_type,
            action,
            source: ChangeOrigin::OutsideTerraform,
            changed,
            verdict: None,
            before: None,
            after: None,
        }
    }

    #[test]
    fn rules_can_match_on_the_verdict() {
        let rules = RuleSet::from_text(
            "replace_defaults = true\n[[rules]]\nid = \"absorbed-drift-is-high\"\nseverity = \"high\"\nverdicts = [\"absorbed\"]\n[[rules]]\nid = \"rest\"\nseverity = \"low\"\n",
            false,
            Path::new("r.toml"),
        )
        .unwrap();
        let changed = [changed("tags.Env", json!("a"), json!("b"))];
        let mut c = candidate("aws_s3_bucket", ActionKind::Update, &changed);
        for (verdict, rule) in [
            (Some(Verdict::Absorbed), "absorbed-drift-is-high"),
            (Some(Verdict::RevertedByApply), "rest"),
            (None, "rest"),
        ] {
            c.verdict = verdict;
            assert_eq!(rules.classify(&c).rule, rule, "{verdict:?}");
        }
    }

    #[test]
    fn embedded_rules_parse_and_end_with_a_catch_all() {
        let rules = RuleSet::embedded();
        assert_eq!(rules.rule_ids().last(), Some(&"other-change"));
        assert!(rules.is_stateful("aws_db_instance"));
        assert!(!rules.is_stateful("aws_instance"));
    }

    #[test]
    fn default_severities_follow_the_contract() {
        let rules = RuleSet::embedded();
        let tags = [
            changed("tags.Env", json!("a"), json!("b")),
            changed("tags_all.Env", json!("a"), json!("b")),
        ];
        let class = [changed(
            "instance_class",
            json!("db.t3.micro"),
            json!("db.t3.large"),
        )];
        let name = [changed("description", json!("a"), json!("b"))];
        let opened = [changed("block_public_acls", json!(true), json!(false))];
        let closed = [changed("block_public_acls", json!(false), json!(true))];
        let cases = [
            (
                candidate("aws_db_instance", ActionKind::Delete, &[]),
                Severity::Critical,
                "stateful-delete-or-replace",
            ),
            (
                candidate("aws_s3_bucket", ActionKind::Replace, &[]),
                Severity::Critical,
                "stateful-delete-or-replace",
            ),
            (
                candidate("aws_iam_role", ActionKind::Update, &name),
                Severity::Critical,
                "iam-change",
            ),
            (
                candidate("aws_iam_role", ActionKind::Update, &tags),
                Severity::Low,
                "tags-only",
            ),
            (
                candidate(
                    "aws_s3_bucket_public_access_block",
                    ActionKind::Update,
                    &opened,
                ),
                Severity::Critical,
                "s3-public-access-weakened",
            ),
            (
                candidate(
                    "aws_s3_bucket_public_access_block",
                    ActionKind::Update,
                    &closed,
                ),
                Severity::High,
                "core-service-update",
            ),
            (
                candidate(
                    "aws_s3_account_public_access_block",
                    ActionKind::Delete,
                    &[],
                ),
                Severity::Critical,
                "s3-public-access-weakened",
            ),
            (
                candidate("aws_s3_bucket_policy", ActionKind::Update, &name),
                Severity::Critical,
                "s3-policy-or-acl",
            ),
            (
                candidate("aws_instance", ActionKind::Delete, &[]),
                Severity::High,
                "delete-or-replace",
            ),
            (
                candidate("aws_db_instance", ActionKind::Update, &class),
                Severity::High,
                "core-service-update",
            ),
            (
                candidate("aws_lambda_function", ActionKind::Update, &name),
                Severity::Medium,
                "other-update",
            ),
            (
                candidate("aws_lambda_function", ActionKind::Create, &name),
                Severity::Low,
                "other-change",
            ),
        ];
        for (c, severity, rule) in cases {
            let verdict = rules.classify(&c);
            assert_eq!(
                (verdict.severity, verdict.rule.as_str()),
                (severity, rule),
                "{}",
                c.resource_type
            );
        }
    }

    #[test]
    fn ingress_opened_to_the_world_is_critical_but_an_existing_open_rule_is_not() {
        let rules = RuleSet::embedded();
        let https = json!({"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]});
        let ssh = json!({"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]});
        let before = json!({"ingress": [https.clone()]});
        let opened = json!({"ingress": [ssh, https.clone()]});
        let reordered = json!({"ingress": [https], "description": "x"});
        let diff = [changed("ingress[0].from_port", json!(443), json!(22))];
        let mut c = candidate("aws_security_group", ActionKind::Update, &diff);
        c.before = Some(&before);
        c.after = Some(&opened);
        assert_eq!(rules.classify(&c).rule, "ingress-open-to-world");
        c.after = Some(&reordered);
        assert_eq!(rules.classify(&c).rule, "core-service-update");

        let rule_before = json!({"type": "ingress", "cidr_blocks": ["10.0.0.0/8"]});
        let rule_after = json!({"type": "ingress", "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"]});
        let mut c = candidate("aws_security_group_rule", ActionKind::Replace, &[]);
        c.before = Some(&rule_before);
        c.after = Some(&rule_after);
        assert_eq!(rules.classify(&c).severity, Severity::Critical);

        let v6 = json!({"cidr_ipv6": "::/0"});
        let mut c = candidate(
            "aws_vpc_security_group_ingress_rule",
            ActionKind::Create,
            &[],
        );
        c.after = Some(&v6);
        assert_eq!(rules.classify(&c).rule, "ingress-open-to-world");
    }

    #[test]
    fn encryption_turned_off_is_critical() {
        let rules = RuleSet::embedded();
        let off = [changed("storage_encrypted", json!(true), json!(false))];
        assert_eq!(
            rules
                .classify(&candidate("aws_db_instance", ActionKind::Update, &off))
                .rule,
            "encryption-disabled"
        );
        let removed = [changed(
            "server_side_encryption_configuration[0].rule[0].apply_server_side_encryption_by_default[0].sse_algorithm",
            json!("aws:kms"),
            Value::Null,
        )];
        assert_eq!(
            rules
                .classify(&candidate("aws_s3_bucket", ActionKind::Update, &removed))
                .severity,
            Severity::Critical
        );
        let deleted = candidate(
            "aws_s3_bucket_server_side_encryption_configuration",
            ActionKind::Delete,
            &[],
        );
        assert_eq!(rules.classify(&deleted).rule, "encryption-disabled");
        let on = [changed("encrypted", json!(false), json!(true))];
        assert_ne!(
            rules
                .classify(&candidate("aws_ebs_volume", ActionKind::Update, &on))
                .severity,
            Severity::Critical
        );
    }

    #[test]
    fn user_rules_come_first_and_ignores_apply() {
        let toml = r#"
            [[rules]]
            id = "lambda-is-critical"
            severity = "critical"
            resource_types = ["aws_lambda_*"]
            auto_remediation = "blocked"

            [[ignore]]
            address = "module.legacy.*"

            [[ignore]]
            resource_type = "aws_instance"
            attributes = ["tags_all*"]
        "#;
        let rules = RuleSet::from_text(toml, false, Path::new("r.toml")).unwrap();
        let name = [changed("description", json!("a"), json!("b"))];
        let verdict = rules.classify(&candidate("aws_lambda_function", ActionKind::Update, &name));
        assert_eq!(verdict.rule, "lambda-is-critical");
        assert_eq!(verdict.auto_remediation, Some(AutoRemediation::Blocked));
        assert!(rules.ignores_resource("module.legacy.aws_s3_bucket.x", "aws_s3_bucket"));
        assert!(!rules.ignores_resource("aws_instance.web", "aws_instance"));
        assert!(rules.ignores_attribute("aws_instance.web", "aws_instance", "tags_all.Owner"));
        assert!(!rules.ignores_attribute("aws_instance.web", "aws_instance", "tags.Owner"));
    }

    #[test]
    fn yaml_rules_and_replace_defaults() {
        let yaml = "replace_defaults: true\nrules:\n  - id: everything-high\n    severity: high\n";
        let rules = RuleSet::from_text(yaml, true, Path::new("r.yaml")).unwrap();
        assert_eq!(rules.rule_ids(), vec!["everything-high"]);
    }

    #[test]
    fn bad_rules_files_are_named_errors() {
        let cases = [
            ("[[rules]]\nid = \"a\"\nseverity = \"urgent\"\n", "line 3, column 12: unknown variant, expected one of `low`"),
            ("[[rules]]\nid = \"a\"\nseverity = \"low\"\nresource_type = \"x\"\n", "line 4, column 1: unknown field, expected one of `id`"),
            ("[[rules]]\nid = \"a\"\nseverity = \"low\"\n[[rules]]\nid = \"a\"\nseverity = \"low\"\n", "used twice"),
            ("[[ignore]]\nreason = \"x\"\n", "neither"),
        ];
        for (text, expected) in cases {
            let err = RuleSet::from_text(text, false, Path::new("bad.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("rules file bad.toml: ") && err.contains(expected),
                "{err}"
            );
        }
    }

    /// Rules are the user's, but they are also pasted from tickets and
    /// chats, and the errors end up in CI logs: they say where and what
    /// kind, never the value. toml's own message shows the whole line.
    #[test]
    fn errors_give_the_place_and_never_quote_the_value() {
        let secret = "hunter2-s3cr3t";
        let cases = [
            (format!("[[rules]]\nid = \"a\"\nseverity = \"{secret}\"\n"), false, "line 3, column 12: unknown variant"),
            (format!("[[rules]]\nid = \"a\"\nseverity = \"low\"\nstateful = \"{secret}\"\n"), false, "line 4, column 12: invalid type: string, expected a boolean"),
            (format!("[[rules]]\nid = \"a\"\nseverity = \"low\"\n{secret} = 1\n"), false, "line 4, column 1: unknown field"),
            (format!("[[rules]]\nid = \"a\"\nseverity = \"low\"\ndescription = \"{secret}\"x\n"), false, "line 4, column "),
            (format!("rules:\n  - id: a\n    severity: {secret}\n"), true, "unknown variant, expected one of `low`, `medium`, `high`, `critical` at line 3 column 15"),
            (format!("rules:\n  - id: a\n    severity: low\n    stateful: {secret}\n"), true, "invalid type: string, expected a boolean at line 4 column 15"),
        ];
        for (text, yaml, expected) in cases {
            let err = RuleSet::from_text(&text, yaml, Path::new("r"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected) && !err.contains(secret), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    /// A YAML file whose aliases each stand for a long list of long
    /// strings: `n` ignore rules sharing one list of `strings` strings of
    /// `length` bytes (all allowed fields: they would load).
    fn alias_fan_out(n: usize, strings: usize, length: usize) -> String {
        let word = "x".repeat(length);
        let list = vec![word.as_str(); strings].join(", ");
        let mut yaml = format!("ignore:\n  - resource_type: t\n    attributes: &a [{list}]\n");
        for _ in 0..n {
            yaml.push_str("  - resource_type: t\n    attributes: *a\n");
        }
        yaml
    }

    #[test]
    fn yaml_aliases_that_expand_far_beyond_the_file_are_refused() {
        // 86 KB that expand to four million strings (before the check, a
        // test build took 470 MB to load it; the same shape at 150 KB took
        // 3.1 GB and 16 s in a release build).
        let bomb = alias_fan_out(2_000, 2_000, 1);
        assert!(bomb.len() < 90_000, "{}", bomb.len());
        let err = RuleSet::from_text(&bomb, true, Path::new("bomb.yaml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "rules file bomb.yaml: its anchors and aliases expand to more than 64 times the file's size; write the repeated lists out"
        );
        // Billion laughs, nested: serde_yaml_ng's own repetition limit
        // stops it, or the budget does; either way an error.
        let mut laughs =
            String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let above = format!("*a{}", level - 1);
            laughs.push_str(&format!(
                "a{level}: &a{level} [{}]\n",
                [above.as_str(); 10].join(", ")
            ));
        }
        let err = RuleSet::from_text(&laughs, true, Path::new("lol.yaml")).unwrap_err();
        assert!(
            err.to_string().starts_with("rules file lol.yaml: "),
            "{err}"
        );
    }

    #[test]
    fn yaml_anchors_that_share_a_list_still_work() {
        let yaml = "rules:\n  - id: core\n    severity: high\n    resource_types: &core [aws_db_*, aws_rds_*]\n    actions: [delete]\n  - id: core-updates\n    severity: medium\n    resource_types: *core\n";
        let rules = RuleSet::from_text(yaml, true, Path::new("r.yaml")).unwrap();
        assert_eq!(rules.rule_ids()[..2], ["core", "core-updates"]);
        // Sharing a list a hundred times in a small file is within budget.
        RuleSet::from_text(&alias_fan_out(100, 20, 30), true, Path::new("r.yaml")).unwrap();
    }

    /// The budget must never refuse a file without aliases, however dense:
    /// each of these is as many nodes per byte as YAML allows.
    #[test]
    fn dense_yaml_without_aliases_is_never_over_budget() {
        let limit = MAX_RULES_FILE_BYTES as usize;
        let dense = [
            ("ignore: [", "{resource_type: a}, ", "]\n"),
            ("{", "a, ", "}\n"),
            ("[", "a,", "]\n"),
            ("", "-\n", ""),
            ("", "? \n", ""),
            ("[", "[],", "]\n"),
            ("[", "{},", "]\n"),
            ("[", "{a},", "]\n"),
        ];
        for (head, item, tail) in dense {
            let count = (limit - head.len() - tail.len()) / item.len();
            let yaml = format!("{head}{}{tail}", item.repeat(count));
            assert!(yaml.len() <= limit);
            if let Err(err) = RuleSet::from_text(&yaml, true, Path::new("dense.yaml")) {
                assert!(!err.to_string().contains("anchors"), "{item:?}: {err}");
            }
        }
    }

    /// libyaml takes time quadratic in the nesting of flow collections
    /// (100,000 `[` after `rules: ` took 30 s in a release build; 500,000,
    /// a 1 MB file, were still being parsed after two minutes), and
    /// serde_yaml_ng's recursion limit only applies once the whole file is
    /// parsed; the check stops at the first level too many. Self-reference and nesting in TOML are errors
    /// too, not stack overflows.
    #[test]
    fn deep_nesting_and_self_reference_are_refused_early() {
        let deep =
            |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
        let cases = [
            (
                format!("rules: {}", deep("[", "]", 500_000)),
                true,
                "line 1, column 135: nested more than 128 levels deep",
            ),
            (
                format!("rules: {}", deep("[\"a\", ", "]", 100_000)),
                true,
                "line 1, column 770: nested more than 128 levels deep",
            ),
            (
                format!("rules: {}1", deep("{a: ", "}", 100_000)),
                true,
                "nested more than 128 levels deep",
            ),
            (
                deep("[", "]", 500_000),
                true,
                "line 1, column 129: nested more than 128 levels deep",
            ),
            (
                format!("{}a: 1\n", "- ".repeat(50_000)),
                true,
                "line 1, column 257: nested more than 128 levels deep",
            ),
            (
                "a: &a [*a, *a]\nrules: *a\n".to_string(),
                true,
                "line 1, column 8: an alias inside the node its anchor names would repeat forever",
            ),
            (
                "rules: &a\n  - id: x\n    severity: low\n    description: *a\n".to_string(),
                true,
                "line 4, column 18: an alias inside",
            ),
            (
                "rules: &a []\nignore: &a []\n".to_string(),
                true,
                "line 2, column 9: an anchor name is used a second time",
            ),
            (
                "rules: []\n---\nrules: []\n".to_string(),
                true,
                "line 2, column 1: a second YAML document",
            ),
            (
                format!("x = {}", deep("[", "]", 100_000)),
                false,
                "recursion limit exceeded",
            ),
            (
                format!("x = {}1", deep("{a = ", "}", 50_000)),
                false,
                "recursion limit exceeded",
            ),
            (
                format!("[{}]\n", vec!["a"; 100_000].join(".")),
                false,
                "recursion limit exceeded",
            ),
        ];
        for (text, yaml, expected) in cases {
            let err = RuleSet::from_text(&text, yaml, Path::new("deep"))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("rules file deep: ") && err.contains(expected),
                "{expected}: {err}"
            );
        }
    }

    #[test]
    fn rules_files_over_a_mebibyte_are_refused_unread() {
        let big = format!("# {}\n", "x".repeat(MAX_RULES_FILE_BYTES as usize));
        let err = RuleSet::from_text(&big, false, Path::new("big.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "rules file big.toml: the file is larger than 1 MiB (1048576 bytes), the limit for a rules file"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, &big).unwrap();
        let err = RuleSet::from_path(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("rules file {}: ", path.display())) && err.contains("1 MiB"),
            "{err}"
        );
    }

    #[test]
    fn windows_encodings_load_and_others_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "[[rules]]\nid = \"caf\u{e9}\"\nseverity = \"low\"\n";
        let yaml = "rules:\n  - id: caf\u{e9}\n    severity: low\n";
        let utf16 = |text: &str| -> Vec<u8> {
            [0xFF, 0xFE]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect()
        };
        for (name, text) in [("r.toml", toml), ("r.yaml", yaml)] {
            let path = dir.path().join(name);
            let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
            for bytes in [bom, utf16(text)] {
                std::fs::write(&path, bytes).unwrap();
                let rules = RuleSet::from_path(&path).unwrap();
                assert_eq!(rules.rule_ids()[0], "caf\u{e9}");
            }
        }
        let path = dir.path().join("bad.yaml");
        let named = format!("rules file {}: ", path.display());
        std::fs::write(&path, b"rules:\n  - id: caf\xE9\n").unwrap();
        let err = RuleSet::from_path(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{named}not valid UTF-8 at byte 18 (line 2); save it as UTF-8")
        );
        let utf32: Vec<u8> = [0xFF, 0xFE, 0, 0]
            .into_iter()
            .chain(yaml.chars().flat_map(|c| u32::from(c).to_le_bytes()))
            .collect();
        std::fs::write(&path, utf32).unwrap();
        let err = RuleSet::from_path(&path).unwrap_err().to_string();
        assert_eq!(err, format!("{named}the file is UTF-32; save it as UTF-8"));
        let err = RuleSet::from_path(&dir.path().join("missing.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("rules file ") && err.contains("missing.yaml: "),
            "{err}"
        );
    }
}
