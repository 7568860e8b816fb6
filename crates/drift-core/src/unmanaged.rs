//! What nobody manages: the resources that exist in the cloud but in no
//! checked workspace's state, the ones two states claim, and the ones a
//! state holds that are gone from the cloud.
//!
//! Three documents meet here, all pure data:
//!
//! * [`ManagedResources`] ("managed-resources v1"): what one workspace's
//!   state claims, as resource addresses with their identifiers (the
//!   worker's sidecar next to its report). [`claims`] takes them from a
//!   parsed plan's prior state or a state document, read in the same pass as
//!   the rest of the plan (see [`crate::plan::PlanDocument::state_resources`]).
//! * [`InventoryItem`] and [`Coverage`]: what exists (AWS Config, a service
//!   API, a file), and which account/region/type was listed completely.
//! * [`UnmanagedReport`] ("unmanaged-report v1"): what [`compare`] makes of
//!   them, with the ignore rules of the rules file ([`UnmanagedIgnore`]).
//!
//! The resource kinds (which Terraform types manage which Config type, which
//! state attributes identify it, whether it is unique per account or per
//! region) come from `unmanaged/kinds.json`, which the Python orchestrator
//! reads too. The comparison's semantics are fixed case by case by
//! `tests/contract/unmanaged-cases.json`, which both sides run.
//!
//! ```
//! use drift_core::unmanaged::{self, InventoryItem, ManagedResource, ManagedResources, WorkspaceRef};
//!
//! let ws = WorkspaceRef { name: "network".into(), environment: Some("prod".into()),
//!     account_id: "111111111111".into(), region: "us-east-1".into() };
//! let bucket = ManagedResource { address: "aws_s3_bucket.logs".into(), resource_type: "aws_s3_bucket".into(),
//!     identifiers: [("id".to_string(), "logs".to_string())].into() };
//! let claims = ManagedResources::new(None, "2026-01-01T00:00:00Z".into(), ws, vec![bucket]);
//! let item = |id: &str| InventoryItem { resource_type: "AWS::S3::Bucket".into(),
//!     account_id: "111111111111".into(), region: "us-east-1".into(), resource_id: id.into(),
//!     resource_name: None, arn: None, tags: None, source: None };
//! let report = unmanaged::compare(&[claims], &[], &[item("logs"), item("by-hand")], &[], &[]);
//! assert_eq!(report.unmanaged.len(), 1);
//! assert_eq!(report.unmanaged[0].resource_id, "by-hand");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::drift::rules::Glob;
use crate::error::{without_input_values, Error, Result};
use crate::plan::{depth, DocumentKind, PlanDocument};
use crate::textfile;

pub mod render;

/// The contract version of both documents.
pub const SCHEMA_VERSION: &str = "1.0";
/// `kind` of a [`ManagedResources`] document.
pub const MANAGED_RESOURCES_KIND: &str = "managed-resources";
/// `kind` of an [`UnmanagedReport`].
pub const UNMANAGED_REPORT_KIND: &str = "unmanaged-report";
/// The largest inventory file read (`{"inventory": [...], "coverage": [...]}`):
/// an account's worth of Config items is a few megabytes.
pub const MAX_INVENTORY_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The resource kinds table, as committed (and copied for the orchestrator).
pub const KINDS_JSON: &str = include_str!("unmanaged/kinds.json");

/// One resource kind of the inventory.
#[derive(Debug, Clone, Deserialize)]
pub struct Kind {
    /// The AWS Config resource type, e.g. `AWS::S3::Bucket`.
    pub config_type: String,
    /// The Terraform resource types that manage it.
    pub terraform_types: Vec<String>,
    /// The state attributes that identify it.
    pub state_ids: Vec<String>,
    /// Whether its identifiers are unique in the whole account rather than
    /// per region.
    pub account_wide: bool,
}

#[derive(Deserialize)]
struct KindsFile {
    kinds: Vec<Kind>,
}

/// The resource kinds of `unmanaged/kinds.json`.
pub fn kinds() -> &'static [Kind] {
    static KINDS: OnceLock<Vec<Kind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        serde_json::from_str::<KindsFile>(KINDS_JSON)
            .map(|f| f.kinds)
            .expect("the embedded kinds table parses; a unit test covers this")
    })
}

/// The kind whose Config type is `config_type`.
pub fn kind(config_type: &str) -> Option<&'static Kind> {
    kinds().iter().find(|k| k.config_type == config_type)
}

/// The kind a Terraform resource type manages.
pub fn kind_of_terraform_type(resource_type: &str) -> Option<&'static Kind> {
    kinds()
        .iter()
        .find(|k| k.terraform_types.iter().any(|t| t == resource_type))
}

/// The identifier attributes kept for types outside the kinds table.
const OTHER_STATE_IDS: [&str; 2] = ["id", "arn"];

/// Whether a state attribute may be an identifier of some type: the parser
/// keeps only these members of a resource's values. Asked for every member
/// of every resource of a prior state, so it is a plain comparison; a unit
/// test holds it to the kinds table's `state_ids` and [`OTHER_STATE_IDS`].
pub(crate) fn is_identifier_attribute(name: &str) -> bool {
    matches!(
        name,
        "id" | "arn"
            | "name"
            | "bucket"
            | "identifier"
            | "unique_id"
            | "resource_id"
            | "cluster_identifier"
            | "cluster_resource_id"
    )
}

/// The identifier attributes of a Terraform type, most telling first.
pub fn state_ids(resource_type: &str) -> Vec<&'static str> {
    match kind_of_terraform_type(resource_type) {
        Some(kind) => kind.state_ids.iter().map(String::as_str).collect(),
        None => OTHER_STATE_IDS.to_vec(),
    }
}

/// A workspace as the comparison knows it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct WorkspaceRef {
    /// The workspace's name.
    pub name: String,
    /// Its environment, if it has one.
    pub environment: Option<String>,
    /// The AWS account its resources live in.
    pub account_id: String,
    /// Its region (the provider's default region).
    pub region: String,
}

impl WorkspaceRef {
    /// `name/environment`, as messages write it.
    pub fn label(&self) -> String {
        match &self.environment {
            Some(env) => format!("{}/{env}", self.name),
            None => self.name.clone(),
        }
    }
}

/// One managed resource of a state, with its identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ManagedResource {
    /// The address as Terraform writes it (`module.net.aws_vpc.this["a"]`).
    pub address: String,
    /// The Terraform resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// State attribute → its string value: the kind's `state_ids` for types
    /// in the kinds table, `id` and `arn` for any other type. Empty values
    /// are left out (and dropped when read).
    #[serde(deserialize_with = "non_empty_strings")]
    #[schemars(with = "BTreeMap<String, Option<String>>")]
    pub identifiers: BTreeMap<String, String>,
}

fn non_empty_strings<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, Option<String>>::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect())
}

impl ManagedResource {
    /// Builds a claim from the string members of a resource's values,
    /// keeping the identifiers of its type.
    pub fn new(address: String, resource_type: String, values: &[(String, String)]) -> Self {
        let wanted = state_ids(&resource_type);
        let identifiers = values
            .iter()
            .filter(|(k, v)| !v.is_empty() && wanted.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ManagedResource {
            address,
            resource_type,
            identifiers,
        }
    }

    /// The identifier two claims of one resource share: `id`, else the
    /// first state id present.
    pub fn primary_identifier(&self) -> Option<&str> {
        if let Some(id) = self.identifiers.get("id") {
            return Some(id);
        }
        state_ids(&self.resource_type)
            .into_iter()
            .find_map(|k| self.identifiers.get(k).map(String::as_str))
    }
}

/// What one workspace's state manages: the worker's sidecar document
/// ("managed-resources v1").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "ManagedResources")]
pub struct ManagedResources {
    /// Always "1.0".
    pub schema_version: String,
    /// Always "managed-resources".
    pub kind: String,
    /// The run it belongs to, if any.
    pub run_id: Option<String>,
    /// When it was written (RFC 3339).
    pub generated_at: String,
    /// The workspace whose state this is.
    pub workspace: WorkspaceRef,
    /// Its managed resources, every module, sorted by address.
    pub resources: Vec<ManagedResource>,
}

impl ManagedResources {
    /// A document of the current version; the resources are sorted.
    pub fn new(
        run_id: Option<String>,
        generated_at: String,
        workspace: WorkspaceRef,
        mut resources: Vec<ManagedResource>,
    ) -> Self {
        resources.sort_by(|a, b| (&a.address, &a.identifiers).cmp(&(&b.address, &b.identifiers)));
        ManagedResources {
            schema_version: SCHEMA_VERSION.to_string(),
            kind: MANAGED_RESOURCES_KIND.to_string(),
            run_id,
            generated_at,
            workspace,
            resources,
        }
    }
}

/// Why a document says nothing known about what its workspace manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsUnknown {
    /// A `terraform plan -json` stream carries no state values.
    #[error("a plan stream carries no state: its workspace's resources are unknown")]
    Stream,
    /// A plan without `prior_state` (a redacted or very old plan).
    #[error("the plan has no prior_state: its workspace's resources are unknown")]
    NoPriorState,
    /// A lone diagnostic or another document without resources.
    #[error("the input holds no state")]
    NoState,
}

/// The managed resources the document's state holds: a plan's prior state
/// or a state document (`terraform show -json` without a plan file; an
/// empty state has none). A stream or a plan without prior state claims
/// nothing known, which is not the same as claiming nothing.
pub fn claims(doc: &PlanDocument) -> std::result::Result<&[ManagedResource], ClaimsUnknown> {
    match (&doc.state_resources, doc.kind) {
        (Some(list), _) => Ok(list),
        (None, DocumentKind::Stream) => Err(ClaimsUnknown::Stream),
        (None, DocumentKind::Plan) => Err(ClaimsUnknown::NoPriorState),
        (None, _) => Err(ClaimsUnknown::NoState),
    }
}

/// One resource that exists, as an inventory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InventoryItem {
    /// The AWS Config resource type, e.g. `AWS::EC2::SecurityGroup`.
    pub resource_type: String,
    /// The account it lives in.
    pub account_id: String,
    /// The region it was listed in.
    pub region: String,
    /// Config's resource id (`sg-…`, `i-…`, a bucket's name, a role's `AROA…` id).
    pub resource_id: String,
    /// Its name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Its ARN, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Its tags, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Where the item came from (`config`, `service_api`, a file, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl InventoryItem {
    /// Its non-empty identifiers: resource id, name and ARN.
    fn identifiers(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.resource_id.as_str())
            .chain(self.resource_name.as_deref())
            .chain(self.arn.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// The order of the report's lists: type, account, id, region (the
    /// contract's cases write an item `TYPE ACCOUNT ID`).
    fn sort_key(&self) -> (&str, &str, &str, &str) {
        (
            &self.resource_type,
            &self.account_id,
            &self.resource_id,
            &self.region,
        )
    }
}

/// Where a coverage entry's listing came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CoverageSource {
    /// AWS Config in the account and region.
    Config,
    /// An AWS Config aggregator.
    ConfigAggregator,
    /// The service's own API (Config does not record there).
    ServiceApi,
    /// An inventory file.
    File,
}

/// One (account, region, type) the inventory listed: completely when it
/// has no `error`. Only covered kinds can say a claimed resource is gone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Coverage {
    /// The account.
    pub account_id: String,
    /// The region.
    pub region: String,
    /// The Config resource type.
    pub resource_type: String,
    /// Where the listing came from.
    pub source: CoverageSource,
    /// Why the listing is incomplete, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An inventory file (`--inventory-file`): items and what they cover.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryFile {
    /// What exists.
    #[serde(default)]
    pub inventory: Vec<InventoryItem>,
    /// Which account/region/type was listed completely.
    #[serde(default)]
    pub coverage: Vec<Coverage>,
}

impl InventoryFile {
    /// Reads an inventory file of at most [`MAX_INVENTORY_FILE_BYTES`].
    pub fn from_path(path: &Path) -> Result<InventoryFile> {
        let name = path.display().to_string();
        let text =
            textfile::read(path, MAX_INVENTORY_FILE_BYTES, "an inventory file").map_err(|e| {
                Error::Shape {
                    source_name: name.clone(),
                    message: e.to_string(),
                }
            })?;
        InventoryFile::from_text(&name, &text)
    }

    /// Reads an inventory file's text; `source_name` names it in errors.
    pub fn from_text(source_name: &str, text: &str) -> Result<InventoryFile> {
        let shape = |message: String| Error::Shape {
            source_name: source_name.to_string(),
            message,
        };
        if text.trim().is_empty() {
            return Err(shape(
                "the inventory file is empty; expected {\"inventory\": [...], \"coverage\": [...]}"
                    .to_string(),
            ));
        }
        if !text.trim_start().starts_with('{') {
            return Err(shape(
                "not an inventory file: expected a JSON object {\"inventory\": [...], \"coverage\": [...]}"
                    .to_string(),
            ));
        }
        if let Some(offset) = depth::first_too_deep(text.as_bytes(), depth::MAX_NESTING_DEPTH) {
            return Err(depth::too_deep(source_name, text.as_bytes(), offset, 0));
        }
        serde_json::from_str(text).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                Error::json(source_name, 0, &e)
            } else {
                shape(format!(
                    "not an inventory file ({} at line {}); expected {{\"inventory\": [InventoryItem], \"coverage\": [Coverage]}} (schemas/unmanaged-report.v1.json, $defs)",
                    without_input_values(e.to_string().split(" at line ").next().unwrap_or_default()),
                    e.line()
                ))
            }
        })
    }
}

/// An ignore rule of the rules file's `unmanaged` table: the inventory
/// items it matches are never reported as unmanaged. Globs take `*` and `?`;
/// every field present must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [
    {"required": ["resource_type"]},
    {"required": ["id"]},
    {"required": ["tag"]},
    {"required": ["account_id"]},
    {"required": ["region"]}
]))]
pub struct UnmanagedIgnore {
    /// Config resource type glob, e.g. `AWS::EC2::*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub resource_type: Option<String>,
    /// Glob on the resource id, its name or its ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub id: Option<String>,
    /// `KEY` or `KEY=VALUE` (globs): some tag must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub tag: Option<String>,
    /// Account id glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub account_id: Option<String>,
    /// Region glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub region: Option<String>,
    /// Why, shown in the report.
    #[schemars(length(min = 1), regex(pattern = r"\S"))]
    pub reason: String,
}

impl UnmanagedIgnore {
    /// What is wrong with the rule, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        let any = [
            &self.resource_type,
            &self.id,
            &self.tag,
            &self.account_id,
            &self.region,
        ]
        .iter()
        .any(|f| f.is_some());
        if !any {
            Some("needs at least one of resource_type, id, tag, account_id, region")
        } else if self.reason.trim().is_empty() {
            Some("needs a reason")
        } else {
            None
        }
    }
}

struct CompiledIgnore<'a> {
    rule: &'a UnmanagedIgnore,
    resource_type: Option<Glob>,
    id: Option<Glob>,
    tag: Option<(Glob, Option<Glob>)>,
    account_id: Option<Glob>,
    region: Option<Glob>,
}

impl<'a> CompiledIgnore<'a> {
    fn new(rule: &'a UnmanagedIgnore) -> Self {
        let glob = |p: &Option<String>| p.as_deref().map(Glob::new);
        CompiledIgnore {
            rule,
            resource_type: glob(&rule.resource_type),
            id: glob(&rule.id),
            tag: rule.tag.as_deref().map(|t| match t.split_once('=') {
                Some((key, value)) => (Glob::new(key), Some(Glob::new(value))),
                None => (Glob::new(t), None),
            }),
            account_id: glob(&rule.account_id),
            region: glob(&rule.region),
        }
    }

    fn matches(&self, item: &InventoryItem) -> bool {
        // A rule without matchers never validates; it must not match all.
        if self.rule.problem().is_some() {
            return false;
        }
        let on = |g: &Option<Glob>, text: &str| g.as_ref().is_none_or(|g| g.matches(text));
        on(&self.resource_type, &item.resource_type)
            && on(&self.account_id, &item.account_id)
            && on(&self.region, &item.region)
            && self
                .id
                .as_ref()
                .is_none_or(|g| item.identifiers().any(|i| g.matches(i)))
            && self.tag.as_ref().is_none_or(|(key, value)| {
                item.tags.iter().flatten().any(|(k, v)| {
                    key.matches(k) && value.as_ref().is_none_or(|value| value.matches(v))
                })
            })
    }
}

/// The region of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`), when it names one.
fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(5, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some(_), Some(region)) if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// A claim's place: the account, and the region unless its kind is account-wide.
pub type Scope = (String, Option<String>);

/// Where `resource`, claimed by `workspace`, lives: the workspace's account
/// and, unless its kind is account-wide (kinds.json), the region of its
/// `arn` identifier when that names one, else the workspace's. The one
/// definition the comparison and the resource index
/// ([`crate::index`]) share.
pub fn claim_scope(workspace: &WorkspaceRef, resource: &ManagedResource) -> Scope {
    let account_wide =
        kind_of_terraform_type(&resource.resource_type).is_some_and(|k| k.account_wide);
    (
        workspace.account_id.clone(),
        (!account_wide).then(|| claim_region(workspace, resource).to_string()),
    )
}

/// The region of a claim: its `arn` identifier's when that names one, else
/// its workspace's.
fn claim_region<'a>(workspace: &'a WorkspaceRef, resource: &'a ManagedResource) -> &'a str {
    resource
        .identifiers
        .get("arn")
        .and_then(|a| arn_region(a))
        .unwrap_or(&workspace.region)
}

/// One claim, with its kind and scope worked out.
struct Claim<'a> {
    workspace: &'a WorkspaceRef,
    resource: &'a ManagedResource,
    kind: Option<&'static Kind>,
    /// The region of the claim (its ARN's, else its workspace's).
    region: String,
}

impl Claim<'_> {
    fn scope(&self) -> Scope {
        claim_scope(self.workspace, self.resource)
    }

    /// The Config type, or the Terraform type outside the kinds table.
    fn type_name(&self) -> &str {
        self.kind
            .map_or(self.resource.resource_type.as_str(), |k| &k.config_type)
    }

    fn identifiers(&self) -> impl Iterator<Item = &str> {
        self.resource
            .identifiers
            .values()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

fn item_scope(item: &InventoryItem) -> Scope {
    let account_wide = kind(&item.resource_type).is_some_and(|k| k.account_wide);
    (
        item.account_id.clone(),
        (!account_wide).then(|| item.region.clone()),
    )
}

/// The comparison's result ("unmanaged-report v1").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "UnmanagedReport")]
pub struct UnmanagedReport {
    /// Always "1.0".
    pub schema_version: String,
    /// Always "unmanaged-report".
    pub kind: String,
    /// The run, if any.
    pub run_id: Option<String>,
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// The counts.
    pub summary: UnmanagedSummary,
    /// Resources in the cloud that no checked state claims.
    pub unmanaged: Vec<InventoryItem>,
    /// Resources two or more workspaces claim.
    pub managed_twice: Vec<ManagedTwice>,
    /// Resources in a state that the (complete) inventory no longer lists.
    pub gone: Vec<Gone>,
    /// Unclaimed resources an ignore rule matched.
    pub ignored: Vec<IgnoredItem>,
    /// Scopes whose unclaimed resources are not reported, and why.
    pub withheld: Vec<Withheld>,
    /// What the inventory listed.
    pub coverage: Vec<Coverage>,
    /// Changes to unmanaged resources that event-driven checks saw (no
    /// workspace manages them, so no check ran): who touched them, and when.
    /// Only the deployed view has them; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<UnmanagedChange>,
}

/// A change to an unmanaged resource, as the trigger kept it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedChange {
    /// The unmanaged resource's Config type.
    pub resource_type: String,
    /// Its account.
    pub account_id: String,
    /// Its resource id, as in `unmanaged`.
    pub resource_id: String,
    /// When the change was made (RFC 3339).
    pub time: String,
    /// The API call, or Config's `CHANGE_TYPE RESOURCE_TYPE`.
    pub name: String,
    /// Who made it (the caller's ARN), or `unknown`.
    pub principal: String,
    /// The event's id.
    pub event_id: String,
}

/// The report's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedSummary {
    /// Unmanaged resources.
    pub unmanaged: usize,
    /// Resources managed twice.
    pub managed_twice: usize,
    /// Claimed resources gone from the inventory.
    pub gone: usize,
    /// Unclaimed resources ignored by a rule.
    pub ignored: usize,
    /// Withheld scopes.
    pub withheld_scopes: usize,
    /// Workspaces compared (with and without claims).
    pub workspaces: usize,
    /// Managed resources of all claims.
    pub claims: usize,
    /// Inventory items.
    pub inventoried: usize,
}

/// One claim of a resource managed twice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ClaimRef {
    /// The claiming workspace.
    pub workspace: String,
    /// Its environment.
    pub environment: Option<String>,
    /// The resource's address there.
    pub address: String,
}

/// A resource that two or more workspaces claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ManagedTwice {
    /// The Config type, or the Terraform type outside the kinds table.
    pub resource_type: String,
    /// The account.
    pub account_id: String,
    /// The region; null for account-wide kinds.
    pub region: Option<String>,
    /// The identifier the claims share.
    pub identifier: String,
    /// Every claim, sorted.
    pub claims: Vec<ClaimRef>,
}

/// A resource a state holds that the inventory no longer lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Gone {
    /// The claiming workspace.
    pub workspace: String,
    /// Its environment.
    pub environment: Option<String>,
    /// The resource's address.
    pub address: String,
    /// The Config type.
    pub resource_type: String,
    /// The account.
    pub account_id: String,
    /// The claim's region (its ARN's, else its workspace's).
    pub region: String,
    /// The identifiers the state holds, sorted.
    pub identifiers: Vec<String>,
}

/// An unclaimed resource an ignore rule matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IgnoredItem {
    /// The resource.
    pub item: InventoryItem,
    /// The rule's reason.
    pub reason: String,
}

/// A scope whose unclaimed resources are not reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Withheld {
    /// The account.
    pub account_id: String,
    /// The region.
    pub region: String,
    /// Why, naming the workspaces.
    pub reason: String,
}

impl UnmanagedReport {
    /// Whether anything needs a look: unmanaged, managed twice or gone.
    pub fn has_findings(&self) -> bool {
        !(self.unmanaged.is_empty() && self.managed_twice.is_empty() && self.gone.is_empty())
    }
}

/// Compares what the checked states claim with what exists.
///
/// `unclaimed` are the run's workspaces whose check produced no claims;
/// `ignore` is the whole list of ignore rules in force (the embedded
/// defaults and the user's: [`crate::drift::rules::RuleSet::unmanaged_ignore`]).
pub fn compare(
    claims: &[ManagedResources],
    unclaimed: &[WorkspaceRef],
    inventory: &[InventoryItem],
    coverage: &[Coverage],
    ignore: &[UnmanagedIgnore],
) -> UnmanagedReport {
    compare_at(
        None,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        claims,
        unclaimed,
        inventory,
        coverage,
        ignore,
    )
}

/// [`compare`] with the run id and time given.
pub fn compare_at(
    run_id: Option<String>,
    generated_at: String,
    claims: &[ManagedResources],
    unclaimed: &[WorkspaceRef],
    inventory: &[InventoryItem],
    coverage: &[Coverage],
    ignore: &[UnmanagedIgnore],
) -> UnmanagedReport {
    let all: Vec<Claim<'_>> = claims
        .iter()
        .flat_map(|doc| {
            doc.resources.iter().map(move |resource| Claim {
                workspace: &doc.workspace,
                resource,
                kind: kind_of_terraform_type(&resource.resource_type),
                region: claim_region(&doc.workspace, resource).to_string(),
            })
        })
        .collect();

    // (Config type, scope) → the identifiers claimed there.
    let mut claimed: HashMap<(&str, Scope), HashSet<&str>> = HashMap::new();
    for claim in &all {
        if let Some(kind) = claim.kind {
            claimed
                .entry((kind.config_type.as_str(), claim.scope()))
                .or_default()
                .extend(claim.identifiers());
        }
    }

    let withheld_accounts_regions: BTreeMap<(String, String), BTreeSet<String>> =
        unclaimed.iter().fold(BTreeMap::new(), |mut map, ws| {
            map.entry((ws.account_id.clone(), ws.region.clone()))
                .or_default()
                .insert(ws.label());
            map
        });
    let rules: Vec<CompiledIgnore<'_>> = ignore.iter().map(CompiledIgnore::new).collect();

    // One item per resource: an account-wide kind may be listed in several
    // regions (and by several sources); the first in report order stays.
    let mut items: Vec<&InventoryItem> = inventory.iter().collect();
    items.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut seen = HashSet::new();
    items.retain(|item| {
        seen.insert((
            item_scope(item),
            item.resource_type.as_str(),
            item.resource_id.as_str(),
        ))
    });

    let mut unmanaged = Vec::new();
    let mut ignored = Vec::new();
    for &item in &items {
        let key = (item.resource_type.as_str(), item_scope(item));
        let is_claimed = claimed
            .get(&key)
            .is_some_and(|ids| item.identifiers().any(|i| ids.contains(i)));
        if is_claimed {
            continue;
        }
        // The contract's cases withhold by the item's own account and
        // region, account-wide kinds included: a bucket in another region
        // of the account is still reported.
        if withheld_accounts_regions.contains_key(&(item.account_id.clone(), item.region.clone())) {
            continue;
        }
        match rules.iter().find(|r| r.matches(item)) {
            Some(rule) => ignored.push(IgnoredItem {
                item: item.clone(),
                reason: rule.rule.reason.clone(),
            }),
            None => unmanaged.push(item.clone()),
        }
    }
    unmanaged.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    ignored.sort_by(|a, b| a.item.sort_key().cmp(&b.item.sort_key()));

    let managed_twice = managed_twice(&all);
    let gone = gone(&all, inventory, coverage);

    let withheld: Vec<Withheld> = withheld_accounts_regions
        .into_iter()
        .map(|((account_id, region), names)| Withheld {
            reason: format!(
                "no known claims from {} (its check failed or produced no state), so what exists here unclaimed may be its own",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ),
            account_id,
            region,
        })
        .collect();

    let mut coverage = coverage.to_vec();
    coverage.sort();
    UnmanagedReport {
        schema_version: SCHEMA_VERSION.to_string(),
        kind: UNMANAGED_REPORT_KIND.to_string(),
        run_id,
        generated_at,
        summary: UnmanagedSummary {
            unmanaged: unmanaged.len(),
            managed_twice: managed_twice.len(),
            gone: gone.len(),
            ignored: ignored.len(),
            withheld_scopes: withheld.len(),
            workspaces: claims.len() + unclaimed.len(),
            claims: all.len(),
            inventoried: items.len(),
        },
        unmanaged,
        managed_twice,
        gone,
        ignored,
        withheld,
        coverage,
        changes: Vec::new(),
    }
}

fn managed_twice(all: &[Claim<'_>]) -> Vec<ManagedTwice> {
    // Ordered as the report lists them: type, account, identifier, region.
    type Group<'a> = (String, String, &'a str, Option<String>);
    let mut groups: BTreeMap<Group<'_>, Vec<&Claim<'_>>> = BTreeMap::new();
    for claim in all {
        let Some(primary) = claim.resource.primary_identifier() else {
            continue;
        };
        let (account, region) = claim.scope();
        groups
            .entry((claim.type_name().to_string(), account, primary, region))
            .or_default()
            .push(claim);
    }
    groups
        .into_iter()
        .filter_map(
            |((resource_type, account_id, identifier, region), claims)| {
                let workspaces: BTreeSet<(&str, Option<&str>)> = claims
                    .iter()
                    .map(|c| {
                        (
                            c.workspace.name.as_str(),
                            c.workspace.environment.as_deref(),
                        )
                    })
                    .collect();
                if workspaces.len() < 2 {
                    return None;
                }
                let mut claims: Vec<ClaimRef> = claims
                    .iter()
                    .map(|c| ClaimRef {
                        workspace: c.workspace.name.clone(),
                        environment: c.workspace.environment.clone(),
                        address: c.resource.address.clone(),
                    })
                    .collect();
                claims.sort();
                claims.dedup();
                Some(ManagedTwice {
                    resource_type,
                    account_id,
                    region,
                    identifier: identifier.to_string(),
                    claims,
                })
            },
        )
        .collect()
}

fn gone(all: &[Claim<'_>], inventory: &[InventoryItem], coverage: &[Coverage]) -> Vec<Gone> {
    // (Config type, scope) listed completely.
    let covered: HashSet<(&str, Scope)> = coverage
        .iter()
        .filter(|c| c.error.is_none())
        .flat_map(|c| {
            let account_wide = kind(&c.resource_type).is_some_and(|k| k.account_wide);
            let scope = (
                c.account_id.clone(),
                (!account_wide).then(|| c.region.clone()),
            );
            Some((c.resource_type.as_str(), scope))
        })
        .collect();
    let mut listed: HashMap<(&str, Scope), HashSet<&str>> = HashMap::new();
    for item in inventory {
        listed
            .entry((item.resource_type.as_str(), item_scope(item)))
            .or_default()
            .extend(item.identifiers());
    }
    let mut gone: Vec<Gone> = all
        .iter()
        .filter_map(|claim| {
            let kind = claim.kind?;
            let key = (kind.config_type.as_str(), claim.scope());
            let mut ids = claim.identifiers().peekable();
            // A claim without identifiers cannot be looked for.
            ids.peek()?;
            if !covered.contains(&key) {
                return None;
            }
            let present = listed
                .get(&key)
                .is_some_and(|seen| claim.identifiers().any(|i| seen.contains(i)));
            if present {
                return None;
            }
            let identifiers: BTreeSet<String> = ids.map(str::to_string).collect();
            Some(Gone {
                workspace: claim.workspace.name.clone(),
                environment: claim.workspace.environment.clone(),
                address: claim.resource.address.clone(),
                resource_type: kind.config_type.clone(),
                account_id: key.1 .0,
                region: claim.region.clone(),
                identifiers: identifiers.into_iter().collect(),
            })
        })
        .collect();
    gone.sort_by(|a, b| {
        (&a.workspace, &a.environment, &a.address, &a.identifiers).cmp(&(
            &b.workspace,
            &b.environment,
            &b.address,
            &b.identifiers,
        ))
    });
    gone
}

fn schema_of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
}

/// Adds the definitions other readers validate on their own (the
/// orchestrator's ignore-rule variable and its inventory) to `$defs`.
fn with_defs(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    for (name, def) in [
        ("UnmanagedIgnore", schema_of::<UnmanagedIgnore>()),
        ("InventoryItem", schema_of::<InventoryItem>()),
        ("Coverage", schema_of::<Coverage>()),
        ("InventoryFile", schema_of::<InventoryFile>()),
    ] {
        let mut def = def;
        // Each generated piece carries its own `$defs` (CoverageSource); they
        // move up so that every `#/$defs/...` reference resolves.
        if let Some(Value::Object(inner)) = def.as_object_mut().and_then(|d| d.remove("$defs")) {
            for (k, v) in inner {
                schema["$defs"][k] = v;
            }
        }
        if let Some(d) = def.as_object_mut() {
            d.remove("$schema");
        }
        schema["$defs"][name] = def;
    }
    schema
}

/// The JSON Schema of [`ManagedResources`] (schemas/managed-resources.v1.json).
pub fn managed_resources_schema() -> Value {
    with_defs(
        schema_of::<ManagedResources>(),
        "What one workspace's state manages, with the identifiers of each resource (managed-resources v1): \
         the worker's sidecar managed/<environment>/<workspace>/<run_id>.json. Generated from \
         crates/drift-core/src/unmanaged.rs.",
    )
}

/// The JSON Schema of [`UnmanagedReport`] (schemas/unmanaged-report.v1.json).
pub fn unmanaged_report_schema() -> Value {
    with_defs(
        schema_of::<UnmanagedReport>(),
        "Unmanaged resources, resources managed twice and resources gone from the inventory \
         (unmanaged-report v1); $defs also hold the ignore rule, the inventory item, coverage and \
         the inventory file. Generated from crates/drift-core/src/unmanaged.rs.",
    )
}

#[cfg(test)]
mod tests;
