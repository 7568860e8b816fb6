//! `terraform show -json` documents: plans, Terraform Cloud redacted plans and states.
//!
//! Plans are large (every resource's full object three times: planned values,
//! prior state, changes), and most resources are unchanged. So the document is
//! deserialized into slices borrowed from the input first: entries that change
//! nothing (`no-op`, `read`) only count as resources, only real changes keep
//! their `before`/`after` text (parsed later, and only where it differs), and
//! planned values and prior state are only walked for resource addresses.
//! This keeps analysis close to the cost of merely scanning the bytes, and
//! memory close to the input's size.

use foldhash::{HashSet, HashSetExt};
use std::borrow::Cow;

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::{
    raw::{ReadJson, Text},
    split_module, stream, ChangeDetail, Diagnostic, DocumentKind, Mode, PlanDocument,
    RelevantAttribute, ResourceChange,
};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct RawDocument {
    format_version: Option<String>,
    plan_format_version: Option<String>,
    terraform_version: Option<String>,
    resource_drift: Option<ChangeList>,
    resource_changes: Option<ChangeList>,
    relevant_attributes: Option<Vec<RawRelevantAttribute>>,
    planned_values: Option<RawValues>,
    prior_state: Option<RawState>,
    values: Option<RawValues>,
    configuration: Option<IgnoredAny>,
    errored: Option<bool>,
    checks: Option<Vec<RawCheck>>,
    condition_results: Option<Vec<RawConditionResult>>,

    // A lone diagnostic object.
    severity: Option<String>,
    summary: Option<String>,
    detail: Option<String>,

    // A single stream message, or a raw state file.
    #[serde(rename = "type")]
    message_type: Option<IgnoredAny>,
    lineage: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawChange<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow)]
    module_address: Option<Text<'a>>,
    #[serde(borrow)]
    mode: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    resource_type: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    provider_name: Option<Text<'a>>,
    #[serde(borrow)]
    action_reason: Option<Text<'a>>,
    #[serde(borrow)]
    previous_address: Option<Text<'a>>,
    #[serde(borrow)]
    change: RawChangeBody<'a>,
}

/// A `resource_drift` or `resource_changes` list, converted entry by entry
/// as it is read: only entries that change something are kept, and every
/// managed entry's address is noted for the resource count.
#[derive(Default)]
struct ChangeList {
    changes: Vec<ResourceChange>,
    managed_addresses: Vec<AddressPrint>,
}

impl<'de> Deserialize<'de> for ChangeList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = ChangeList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of resource changes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = ChangeList::default();
                while let Some(raw) = seq.next_element::<RawChange<'de>>()? {
                    if raw.mode.as_ref().is_none_or(|m| m.0 != "data") {
                        list.managed_addresses.push(AddressPrint::of(&raw.address));
                    }
                    if let Some(change) = convert_change(raw) {
                        list.changes.push(change);
                    }
                }
                Ok(list)
            }
        }
        deserializer.deserialize_seq(Entries)
    }
}

/// A change's `change` object. Terraform writes `actions` first, so the
/// values of an entry that changes nothing are skipped unread.
#[derive(Default)]
struct RawChangeBody<'a> {
    actions: RawActions<'a>,
    before: Option<ReadJson<'a>>,
    after: Option<ReadJson<'a>>,
    after_unknown: Option<ReadJson<'a>>,
    before_sensitive: Option<ReadJson<'a>>,
    after_sensitive: Option<ReadJson<'a>>,
    replace_paths: Option<Vec<Vec<Value>>>,
    importing: bool,
    values_skipped: bool,
}

impl RawChangeBody<'_> {
    fn changes_something(&self) -> bool {
        self.actions.iter().any(|a| a != "no-op" && a != "read")
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawChangeBody<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Fields<'a> {
            type Value = RawChangeBody<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a change object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut body = RawChangeBody::default();
                let mut actions_read = false;
                while let Some(key) = map.next_key::<Text<'a>>()? {
                    let field = key.0.as_ref();
                    let wanted = matches!(
                        field,
                        "before"
                            | "after"
                            | "after_unknown"
                            | "before_sensitive"
                            | "after_sensitive"
                    );
                    if wanted && actions_read && !body.changes_something() {
                        map.next_value::<IgnoredAny>()?;
                        body.values_skipped = true;
                        continue;
                    }
                    match field {
                        "actions" => {
                            body.actions = map.next_value::<Option<_>>()?.unwrap_or_default();
                            actions_read = true;
                        }
                        "before" => body.before = map.next_value()?,
                        "after" => body.after = map.next_value()?,
                        "after_unknown" => body.after_unknown = map.next_value()?,
                        "before_sensitive" => body.before_sensitive = map.next_value()?,
                        "after_sensitive" => body.after_sensitive = map.next_value()?,
                        "replace_paths" => body.replace_paths = map.next_value()?,
                        "importing" => {
                            body.importing = map.next_value::<Option<IgnoredAny>>()?.is_some();
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(body)
            }
        }
        deserializer.deserialize_map(Fields(PhantomData))
    }
}

/// Terraform's action list: one or two words, read without allocating.
#[derive(Default)]
struct RawActions<'a> {
    first_two: [Option<Text<'a>>; 2],
    more: Vec<Text<'a>>,
}

impl RawActions<'_> {
    fn iter(&self) -> impl Iterator<Item = &str> {
        self.first_two
            .iter()
            .flatten()
            .chain(&self.more)
            .map(|word| word.0.as_ref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawActions<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Words<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Words<'a> {
            type Value = RawActions<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of actions")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut actions = RawActions::default();
                let mut count = 0;
                while let Some(word) = seq.next_element::<Text<'a>>()? {
                    match actions.first_two.get_mut(count) {
                        Some(slot) => *slot = Some(word),
                        None => actions.more.push(word),
                    }
                    count += 1;
                }
                Ok(actions)
            }
        }
        deserializer.deserialize_seq(Words(PhantomData))
    }
}

#[derive(Deserialize)]
struct RawRelevantAttribute {
    resource: String,
    #[serde(default)]
    attribute: Vec<Value>,
}

#[derive(Deserialize)]
struct RawValues {
    root_module: Option<RawModule>,
}

#[derive(Deserialize)]
struct RawState {
    values: Option<RawValues>,
}

#[derive(Deserialize)]
struct RawModule {
    #[serde(default)]
    resources: ManagedResources,
    #[serde(default)]
    child_modules: Vec<RawModule>,
}

/// A module's `resources`, reduced to the managed ones' address prints.
#[derive(Default)]
struct ManagedResources(Vec<AddressPrint>);

impl<'de> Deserialize<'de> for ManagedResources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = ManagedResources;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of resources")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut prints = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(resource) = seq.next_element::<RawResource<'de>>()? {
                    if resource.mode.as_ref().is_none_or(|m| m.0 == "managed") {
                        prints.push(AddressPrint::of(&resource.address));
                    }
                }
                Ok(ManagedResources(prints))
            }
        }
        deserializer.deserialize_seq(Entries)
    }
}

#[derive(Deserialize)]
struct RawResource<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow)]
    mode: Option<Text<'a>>,
}

/// A 128-bit fingerprint of a resource address, taken while the address is
/// fresh in the cache: the resource count is the number of distinct prints.
/// (Hashing the borrowed addresses after the parse read them all again from
/// memory, which cost a tenth of the whole analysis.) Two different
/// addresses share a print with odds near 2^-128.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct AddressPrint(u128);

impl AddressPrint {
    fn of(address: &str) -> Self {
        use std::hash::BuildHasher;
        const SEEDS: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f];
        let half = |seed| foldhash::quality::FixedState::with_seed(seed).hash_one(address);
        AddressPrint(u128::from(half(SEEDS[0])) << 64 | u128::from(half(SEEDS[1])))
    }
}

#[derive(Deserialize)]
struct RawCheck {
    status: Option<String>,
    address: Option<RawCheckAddress>,
    #[serde(default)]
    instances: Vec<RawCheckInstance>,
}

#[derive(Deserialize)]
struct RawCheckAddress {
    to_display: Option<String>,
}

#[derive(Deserialize)]
struct RawCheckInstance {
    status: Option<String>,
    address: Option<RawCheckAddress>,
    #[serde(default)]
    problems: Vec<RawCheckProblem>,
}

#[derive(Deserialize)]
struct RawCheckProblem {
    message: Option<String>,
}

#[derive(Deserialize)]
struct RawConditionResult {
    address: Option<String>,
    result: Option<bool>,
    error_message: Option<String>,
}

/// Parses one JSON value: a show-json plan or state, a redacted plan, a lone
/// diagnostic, or a one-line stream. `line_offset` counts lines skipped before
/// `bytes`, so that error positions match the original input.
pub fn parse_single(source_name: &str, bytes: &[u8], line_offset: usize) -> Result<PlanDocument> {
    // Checking the UTF-8 once up front (fast, the input is mostly ASCII)
    // spares the parser checking every string it borrows.
    let text = simdutf8::basic::from_utf8(bytes).ok();
    let parsed = match text {
        Some(text) => sonic_rs::from_str::<RawDocument>(text),
        None => sonic_rs::from_slice::<RawDocument>(bytes),
    };
    let raw =
        parsed.map_err(|e| read_error(source_name, bytes, text.is_some(), line_offset, &e))?;

    let is_plan = raw.plan_format_version.is_some()
        || raw.planned_values.is_some()
        || raw.resource_changes.is_some()
        || raw.resource_drift.is_some()
        || raw.prior_state.is_some()
        || raw.configuration.is_some();

    if !is_plan && raw.format_version.is_none() {
        if raw.message_type.is_some() {
            let mut parser = stream::StreamParser::new(source_name, line_offset);
            parser.push_line(bytes)?;
            return Ok(parser.finish());
        }
        if let (Some(severity), Some(summary)) = (&raw.severity, &raw.summary) {
            let mut doc = PlanDocument::empty(DocumentKind::Diagnostic);
            doc.diagnostics.push(Diagnostic {
                severity: severity.clone(),
                summary: summary.clone(),
                detail: raw.detail.clone(),
                address: None,
            });
            return Ok(doc);
        }
        let hint = if raw.lineage.is_some() {
            "this is a raw state file; run `terraform show -json` to get its JSON representation"
        } else {
            "a JSON object with none of format_version, resource_changes or resource_drift is not Terraform plan output; produce one with `terraform show -json PLANFILE` or `terraform plan -json`"
        };
        return Err(Error::Shape {
            source_name: source_name.to_string(),
            message: hint.to_string(),
        });
    }

    let kind = if is_plan {
        DocumentKind::Plan
    } else {
        DocumentKind::State
    };
    let mut doc = PlanDocument::empty(kind);
    doc.format_version = raw.format_version.or(raw.plan_format_version);
    doc.terraform_version = raw.terraform_version;
    doc.errored = raw.errored.unwrap_or(false);
    if doc.errored {
        doc.diagnostics.push(Diagnostic::error(
            "Terraform marked this plan as errored",
            Some(
                "planning stopped before it finished, so the changes listed may be incomplete"
                    .to_string(),
            ),
        ));
    }
    if let Some(major) = doc.format_version.as_deref().and_then(major_version) {
        if major > 1 {
            doc.diagnostics.push(Diagnostic::warning(
                format!(
                    "format_version {} is newer than this tool knows; read on a best-effort basis",
                    doc.format_version.as_deref().unwrap_or_default()
                ),
                None,
            ));
        }
    }

    let mut addresses: HashSet<AddressPrint> = HashSet::new();
    let mut saw_resource_list = false;
    for values in [
        raw.planned_values.as_ref(),
        raw.values.as_ref(),
        raw.prior_state.as_ref().and_then(|s| s.values.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(root) = &values.root_module {
            saw_resource_list = true;
            collect_managed(root, &mut addresses);
        }
    }

    for (list, out) in [
        (raw.resource_drift, &mut doc.resource_drift),
        (raw.resource_changes, &mut doc.resource_changes),
    ] {
        let Some(list) = list else {
            continue;
        };
        saw_resource_list = true;
        addresses.extend(list.managed_addresses);
        *out = list.changes;
    }
    if saw_resource_list {
        doc.total_resources = Some(addresses.len());
    }

    doc.relevant_attributes = raw
        .relevant_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|r| RelevantAttribute {
            resource: r.resource,
            attribute: r.attribute,
        })
        .collect();

    for check in raw.checks.unwrap_or_default() {
        add_check_diagnostics(check, &mut doc.diagnostics);
    }
    for result in raw.condition_results.unwrap_or_default() {
        if result.result == Some(false) {
            doc.diagnostics.push(Diagnostic {
                severity: "warning".to_string(),
                summary: "Condition failed".to_string(),
                detail: result.error_message,
                address: result.address,
            });
        }
    }
    Ok(doc)
}

fn add_check_diagnostics(check: RawCheck, out: &mut Vec<Diagnostic>) {
    let failed = |status: &Option<String>| matches!(status.as_deref(), Some("fail" | "error"));
    if !failed(&check.status) {
        return;
    }
    let check_name = check.address.and_then(|a| a.to_display);
    let mut any_instance = false;
    for instance in check.instances.into_iter().filter(|i| failed(&i.status)) {
        any_instance = true;
        let problems: Vec<String> = instance
            .problems
            .into_iter()
            .filter_map(|p| p.message)
            .collect();
        out.push(Diagnostic {
            severity: "warning".to_string(),
            summary: "Check assertion failed".to_string(),
            detail: (!problems.is_empty()).then(|| problems.join("; ")),
            address: instance
                .address
                .and_then(|a| a.to_display)
                .or_else(|| check_name.clone()),
        });
    }
    if !any_instance {
        out.push(Diagnostic {
            severity: "warning".to_string(),
            summary: "Check assertion failed".to_string(),
            detail: None,
            address: check_name,
        });
    }
}

fn collect_managed(module: &RawModule, out: &mut HashSet<AddressPrint>) {
    out.extend(module.resources.0.iter().copied());
    for child in &module.child_modules {
        collect_managed(child, out);
    }
}

/// The change, or `None` when it changes nothing (`no-op`, `read`).
fn convert_change(raw: RawChange<'_>) -> Option<ResourceChange> {
    let RawChange {
        address,
        module_address,
        mode,
        resource_type,
        name,
        provider_name,
        action_reason,
        previous_address,
        change: body,
    } = raw;
    let import_only = body.importing && body.actions.iter().all(|a| a == "no-op");
    if !import_only && !body.changes_something() {
        return None;
    }
    let actions: Vec<String> = if import_only {
        vec!["import".to_string()]
    } else {
        body.actions.iter().map(str::to_string).collect()
    };
    let mode = match mode.as_ref().map(|m| m.0.as_ref()) {
        Some("data") => Mode::Data,
        _ => Mode::Managed,
    };
    // An import that changes nothing had its values skipped: it has none to compare.
    let detail = (mode == Mode::Managed && !body.values_skipped).then(|| {
        let value = |read: Option<ReadJson<'_>>| read.map(ReadJson::into_owned).unwrap_or_default();
        ChangeDetail {
            before: value(body.before),
            after: value(body.after),
            after_unknown: value(body.after_unknown),
            before_sensitive: value(body.before_sensitive),
            after_sensitive: value(body.after_sensitive),
            replace_paths: body.replace_paths.unwrap_or_default(),
        }
    });
    let (derived_module, local) = split_module(&address);
    let local = local.strip_prefix("data.").unwrap_or(local);
    let (derived_type, derived_name) = match local.split_once('.') {
        Some((t, rest)) => (t, rest.split('[').next().unwrap_or(rest)),
        None => (local, ""),
    };
    Some(ResourceChange {
        module_address: module_address
            .map(Text::owned)
            .or_else(|| derived_module.map(str::to_string)),
        mode,
        resource_type: resource_type.map_or_else(|| derived_type.to_string(), Text::owned),
        name: name.map_or_else(|| derived_name.to_string(), Text::owned),
        provider: provider_name.map(Text::owned),
        actions,
        action_reason: action_reason.map(Text::owned),
        previous_address: previous_address.map(Text::owned),
        detail,
        address: address.into_owned(),
    })
}

/// The error for input the document reader refused. Broken JSON is reported
/// as serde_json reports it (it names what it expected where); valid JSON of
/// the wrong shape as the reader does. The reader's own message is cut at its
/// position, since after it comes a fragment of the input, which may hold a
/// secret. `is_utf8` says whether `bytes` passed the UTF-8 check.
#[cold]
fn read_error(
    source_name: &str,
    bytes: &[u8],
    is_utf8: bool,
    line_offset: usize,
    e: &sonic_rs::Error,
) -> Error {
    if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(bytes) {
        return Error::json(source_name, line_offset, &syntax);
    }
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = message
        .find(&position)
        .map_or(message.as_str(), |at| &message[..at]);
    let message = message.split('\n').next().unwrap_or_default();
    if !is_utf8 {
        return Error::Json {
            source_name: source_name.to_string(),
            line: e.line() + line_offset,
            column: e.column(),
            message: message.to_string(),
        };
    }
    // The JSON is valid, so the reader refused its shape.
    Error::Shape {
        source_name: source_name.to_string(),
        message: format!(
            "unexpected shape for Terraform JSON output at line {}, column {}: {message}",
            e.line() + line_offset,
            e.column(),
        ),
    }
}

fn major_version(version: &str) -> Option<u64> {
    version.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_drift_and_changes_and_counts_resources() {
        let json = br#"{
          "format_version": "1.2", "terraform_version": "1.5.7",
          "planned_values": {"root_module": {"resources": [
            {"address": "aws_s3_bucket.a", "mode": "managed", "values": {"bucket": "a"}},
            {"address": "data.aws_caller_identity.c", "mode": "data", "values": {}}
          ], "child_modules": [{"resources": [{"address": "module.m.aws_vpc.v", "mode": "managed"}]}]}},
          "resource_drift": [{"address": "aws_s3_bucket.a", "mode": "managed", "type": "aws_s3_bucket", "name": "a",
             "change": {"actions": ["update"], "before": {"tags": {"a": "1"}}, "after": {"tags": {"a": "2"}},
                        "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}}}],
          "resource_changes": [{"address": "module.m.aws_vpc.v", "module_address": "module.m", "mode": "managed",
             "type": "aws_vpc", "name": "v", "change": {"actions": ["no-op"], "before": {"x": 1}, "after": {"x": 1}}}],
          "some_future_field": {"ignored": true}
        }"#;
        let doc = parse_single("t.json", json, 0).unwrap();
        assert_eq!(doc.kind, DocumentKind::Plan);
        assert_eq!(doc.total_resources, Some(2));
        assert_eq!(doc.resource_drift.len(), 1);
        let drift = &doc.resource_drift[0];
        assert_eq!(drift.actions, vec!["update"]);
        let detail = drift.detail.as_ref().unwrap();
        assert_eq!(detail.after.to_value()["tags"]["a"], "2");
        // no-op changes are counted, not kept: they change nothing.
        assert!(doc.resource_changes.is_empty());
    }

    #[test]
    fn wrong_types_are_shape_errors_with_position() {
        let err = parse_single(
            "t.json",
            br#"{"format_version": "1.2", "resource_changes": 7}"#,
            0,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unexpected shape"), "{text}");
        assert!(text.contains("line 1"), "{text}");
    }

    #[test]
    fn broken_input_is_reported_without_quoting_it() {
        let secret = "hunter2-s3cr3t";
        let broken: [&[u8]; 4] = [
            br#"{"format_version": "1.2", "variables": {"db_password": {"value": "hunter2-s3cr3t"}}, "resource_changes": [}"#,
            br#"{"format_version": "1.2", "variables": {"db_password": {"value": "hunter2-s3cr3t" x}}}"#,
            br#"{"format_version": "1.2", "variables": {"db_password": {"value": "hunter2-s3cr3t"#,
            b"{\"format_version\": \"1.2\", \"variables\": {\"db_password\": {\"value\": \"hunter2-s3cr3t\xff\"}}}",
        ];
        for input in broken {
            let err = parse_single("t.json", input, 0).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Json { .. }), "{text}");
            assert!(text.contains("line 1"), "{text}");
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn input_that_is_not_utf8_is_refused() {
        let err = parse_single(
            "t.json",
            b"{\"format_version\": \"1.2\", \"x\": \"\xfe\"}",
            0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn raw_state_files_get_a_hint() {
        let err = parse_single(
            "t.tfstate",
            br#"{"version": 4, "lineage": "x", "resources": []}"#,
            0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("terraform show -json"), "{err}");
    }

    #[test]
    fn derives_type_and_name_from_address_when_missing() {
        let json = br#"{"format_version":"0.1","resource_changes":[{"address":"module.a.aws_instance.web[\"x\"]","change":{"actions":["delete"],"before":{"id":"i-1"},"after":null}}]}"#;
        let doc = parse_single("t.json", json, 0).unwrap();
        let change = &doc.resource_changes[0];
        assert_eq!(change.resource_type, "aws_instance");
        assert_eq!(change.name, "web");
        assert_eq!(change.module_address.as_deref(), Some("module.a"));
    }
}
