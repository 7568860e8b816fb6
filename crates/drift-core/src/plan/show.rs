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
use sonic_rs::LazyValue;

use super::{
    depth,
    raw::{ReadJson, Text},
    split_module, stream, ChangeDetail, Diagnostic, DiagnosticSeverity, DocumentKind, Mode,
    PlanDocument, RelevantAttribute, ResourceChange,
};
use crate::error::{without_input_values, Error, Result};
use crate::unmanaged::{state_ids, ManagedResource};

/// A show-json document as read. `LENIENT` is the second, slower reading of
/// a document whose first reading failed on its shape: each entry of the
/// resource lists is then read on its own, so that one malformed entry
/// costs that entry (with a diagnostic), not the document.
#[derive(Deserialize)]
struct RawDocument<'a, const LENIENT: bool> {
    format_version: Option<String>,
    plan_format_version: Option<String>,
    terraform_version: Option<String>,
    resource_drift: Option<ChangeList<LENIENT>>,
    resource_changes: Option<ChangeList<LENIENT>>,
    planned_values: Option<RawValues<LENIENT, false>>,
    prior_state: Option<RawState<LENIENT>>,
    values: Option<RawValues<LENIENT, true>>,
    configuration: Option<IgnoredAny>,
    errored: Option<bool>,
    // Small and rare: kept as text and read after the document, so that a
    // malformed one is ignored with a warning.
    #[serde(borrow)]
    relevant_attributes: Option<LazyValue<'a>>,
    #[serde(borrow)]
    checks: Option<LazyValue<'a>>,
    #[serde(borrow)]
    condition_results: Option<LazyValue<'a>>,

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
    /// Absent from the drift entries of Terraform 1.0.0, which wrote
    /// neither address nor index: derived then from the other fields.
    #[serde(borrow)]
    address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    module_address: Option<Text<'a>>,
    #[serde(borrow)]
    mode: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    resource_type: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    index: Option<LazyValue<'a>>,
    #[serde(borrow)]
    provider_name: Option<Text<'a>>,
    #[serde(borrow)]
    action_reason: Option<Text<'a>>,
    #[serde(borrow)]
    previous_address: Option<Text<'a>>,
    #[serde(borrow)]
    change: RawChangeBody<'a>,
}

/// Only the address of an entry that could not be read, for its diagnostic.
#[derive(Deserialize)]
struct EntryAddress<'a> {
    #[serde(borrow)]
    address: Option<Cow<'a, str>>,
}

/// An entry of a resource list that could not be used.
struct EntryProblem {
    /// Its position in the list.
    index: usize,
    /// Its address, when it has a readable one.
    address: Option<String>,
    /// What is wrong with it.
    message: String,
}

/// A `resource_drift` or `resource_changes` list, converted entry by entry
/// as it is read: only entries that change something are kept, and every
/// managed entry's address is noted for the resource count.
#[derive(Default)]
struct ChangeList<const LENIENT: bool> {
    changes: Vec<ResourceChange>,
    managed_addresses: Vec<AddressPrint>,
    problems: Vec<EntryProblem>,
    /// Entries whose address was derived (Terraform 1.0.0's drift).
    derived_addresses: Vec<String>,
}

impl<const LENIENT: bool> ChangeList<LENIENT> {
    fn add(&mut self, index: usize, raw: RawChange<'_>) {
        let managed = raw.mode.as_ref().is_none_or(|m| m.0 != "data");
        let derived = raw.address.is_none();
        match convert_change(raw) {
            Ok(converted) => {
                let address = converted.address();
                if managed {
                    self.managed_addresses.push(AddressPrint::of(address));
                }
                if derived {
                    self.derived_addresses.push(address.to_string());
                }
                if let Converted::Change(change) = converted {
                    self.changes.push(change);
                }
            }
            Err((address, message)) => self.problems.push(EntryProblem {
                index,
                address,
                message,
            }),
        }
    }
}

impl<'de, const LENIENT: bool> Deserialize<'de> for ChangeList<LENIENT> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<const LENIENT: bool>;
        impl<'de, const LENIENT: bool> Visitor<'de> for Entries<LENIENT> {
            type Value = ChangeList<LENIENT>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of resource changes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = ChangeList::default();
                let mut index = 0;
                if LENIENT {
                    while let Some(entry) = seq.next_element::<LazyValue<'de>>()? {
                        let text = entry.as_raw_str();
                        match sonic_rs::from_str::<RawChange<'_>>(text) {
                            Ok(raw) => list.add(index, raw),
                            Err(e) => list.problems.push(EntryProblem {
                                index,
                                address: sonic_rs::from_str::<EntryAddress<'_>>(text)
                                    .ok()
                                    .and_then(|a| a.address)
                                    .map(Cow::into_owned),
                                message: shape_message(&e),
                            }),
                        }
                        index += 1;
                    }
                } else {
                    while let Some(raw) = seq.next_element::<RawChange<'de>>()? {
                        list.add(index, raw);
                        index += 1;
                    }
                }
                Ok(list)
            }
        }
        deserializer.deserialize_seq(Entries::<LENIENT>)
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

/// `CLAIMS`: whether the resources' identifiers are kept (the prior state
/// and a state document's values, for [`crate::unmanaged`]); planned values
/// are only counted.
#[derive(Deserialize)]
struct RawValues<const LENIENT: bool, const CLAIMS: bool> {
    root_module: Option<RawModule<LENIENT, CLAIMS>>,
}

#[derive(Deserialize)]
struct RawState<const LENIENT: bool> {
    values: Option<RawValues<LENIENT, true>>,
}

#[derive(Deserialize)]
struct RawModule<const LENIENT: bool, const CLAIMS: bool> {
    #[serde(default)]
    resources: ModuleResources<LENIENT, CLAIMS>,
    #[serde(default)]
    child_modules: Vec<RawModule<LENIENT, CLAIMS>>,
}

/// A module's `resources`, reduced to the managed ones' address prints
/// (and, read leniently, a count of the entries that could not be read),
/// and with `CLAIMS` their identifiers.
#[derive(Default)]
struct ModuleResources<const LENIENT: bool, const CLAIMS: bool> {
    prints: Vec<AddressPrint>,
    unreadable: usize,
    claims: Vec<ManagedResource>,
}

impl<'de, const LENIENT: bool, const CLAIMS: bool> Deserialize<'de>
    for ModuleResources<LENIENT, CLAIMS>
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<const LENIENT: bool, const CLAIMS: bool>;
        impl<'de, const LENIENT: bool, const CLAIMS: bool> Visitor<'de> for Entries<LENIENT, CLAIMS> {
            type Value = ModuleResources<LENIENT, CLAIMS>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of resources")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = ModuleResources {
                    prints: Vec::with_capacity(seq.size_hint().unwrap_or(0)),
                    unreadable: 0,
                    claims: Vec::new(),
                };
                fn add<const L: bool, const C: bool>(
                    list: &mut ModuleResources<L, C>,
                    resource: RawResource<'_>,
                ) {
                    if resource.mode.as_ref().is_none_or(|m| m.0 == "managed") {
                        list.prints.push(AddressPrint::of(&resource.address));
                    }
                }
                fn add_claim<const L: bool, const C: bool>(
                    list: &mut ModuleResources<L, C>,
                    resource: RawStateResource<'_>,
                ) {
                    if resource.mode.as_ref().is_none_or(|m| m.0 == "managed") {
                        list.prints.push(AddressPrint::of(&resource.address));
                        // A resource without a type cannot be told apart;
                        // it still counts as a resource.
                        if let Some(resource_type) = resource.resource_type {
                            list.claims.push(ManagedResource::new(
                                resource.address.into_owned(),
                                resource_type.owned(),
                                &resource.values.0,
                            ));
                        }
                    }
                }
                match (LENIENT, CLAIMS) {
                    (true, false) => {
                        while let Some(entry) = seq.next_element::<LazyValue<'de>>()? {
                            match sonic_rs::from_str::<RawResource<'_>>(entry.as_raw_str()) {
                                Ok(resource) => add(&mut list, resource),
                                Err(_) => list.unreadable += 1,
                            }
                        }
                    }
                    (true, true) => {
                        while let Some(entry) = seq.next_element::<LazyValue<'de>>()? {
                            match sonic_rs::from_str::<RawStateResource<'_>>(entry.as_raw_str()) {
                                Ok(resource) => add_claim(&mut list, resource),
                                Err(_) => list.unreadable += 1,
                            }
                        }
                    }
                    (false, false) => {
                        while let Some(resource) = seq.next_element::<RawResource<'de>>()? {
                            add(&mut list, resource);
                        }
                    }
                    (false, true) => {
                        while let Some(resource) = seq.next_element::<RawStateResource<'de>>()? {
                            add_claim(&mut list, resource);
                        }
                    }
                }
                Ok(list)
            }
        }
        deserializer.deserialize_seq(Entries::<LENIENT, CLAIMS>)
    }
}

#[derive(Deserialize)]
struct RawResource<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow)]
    mode: Option<Text<'a>>,
}

/// A resource of a state, with the members of its values that may identify it.
#[derive(Deserialize)]
struct RawStateResource<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow)]
    mode: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    resource_type: Option<Text<'a>>,
    #[serde(default)]
    values: IdentifierValues,
}

/// The string members of a resource's values that may be identifiers
/// ([`crate::unmanaged`]'s state ids); every other member is skipped
/// unread. Values of any other shape (null, a list) hold none.
#[derive(Default)]
struct IdentifierValues(Vec<(String, String)>);

impl<'de> Deserialize<'de> for IdentifierValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = IdentifierValues;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a resource's values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    if crate::unmanaged::is_identifier_attribute(&key.0) {
                        if let MaybeString(Some(value)) = map.next_value::<MaybeString>()? {
                            out.push((key.owned(), value));
                        }
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(IdentifierValues(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(IdentifierValues::default())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(IdentifierValues::default())
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(IdentifierValues::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(IdentifierValues::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(IdentifierValues::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(IdentifierValues::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(IdentifierValues::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(IdentifierValues::default())
            }
        }
        deserializer.deserialize_any(Members)
    }
}

/// A value kept only when it is a string.
struct MaybeString(Option<String>);

impl<'de> Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = MaybeString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeString(Some(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeString(Some(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeString(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeString(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeString(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeString(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeString(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeString(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeString(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeString(None))
            }
        }
        deserializer.deserialize_any(Any)
    }
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
    // Measured before anything recursive reads it (see `depth`).
    let measured = depth::measure(bytes, depth::MAX_NESTING_DEPTH);
    if let Some(offset) = measured.too_deep_at {
        return Err(depth::too_deep(source_name, bytes, offset, line_offset));
    }
    // The UTF-8 is checked once up front, which spares the parser checking
    // every string it borrows; input that is not UTF-8 is refused before
    // sonic-rs sees it (its lazy values take their text unchecked). The
    // measure found whether it is all ASCII, as plans mostly are, which
    // spares a second pass over it.
    let text = if measured.ascii {
        // SAFETY: every byte is below 0x80 (the measure saw no high bit, a
        // finding tested against `<[u8]>::is_ascii`), and ASCII is UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        simdutf8::basic::from_utf8(bytes)
    };
    let Ok(text) = text else {
        return Err(not_utf8(source_name, bytes, line_offset));
    };
    match sonic_rs::from_str::<RawDocument<'_, false>>(text) {
        Ok(raw) => build(source_name, raw, bytes, line_offset),
        Err(e) => {
            let error = read_error(source_name, bytes, line_offset, &e);
            // Valid JSON of the wrong shape is read again, entry by entry,
            // so that a malformed entry costs only itself.
            if let Error::Shape { .. } = error {
                if let Ok(raw) = sonic_rs::from_str::<RawDocument<'_, true>>(text) {
                    return build(source_name, raw, bytes, line_offset);
                }
            }
            Err(error)
        }
    }
}

fn build<const LENIENT: bool>(
    source_name: &str,
    mut raw: RawDocument<'_, LENIENT>,
    bytes: &[u8],
    line_offset: usize,
) -> Result<PlanDocument> {
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
                severity: severity.clone().into(),
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
    let mut unreadable_resources = 0;
    if let Some(root) = raw
        .planned_values
        .as_ref()
        .and_then(|v| v.root_module.as_ref())
    {
        saw_resource_list = true;
        collect_managed(root, &mut addresses, &mut unreadable_resources);
    }
    // The state the document holds: a plan's prior state (absent from
    // redacted and very old plans: unknown), a state document's values
    // (absent from an empty state: nothing).
    let mut state = if is_plan {
        raw.prior_state.as_mut().map(|s| s.values.as_mut())
    } else {
        Some(raw.values.as_mut())
    };
    if let Some(values) = &mut state {
        let mut claims = Vec::new();
        if let Some(root) = values.as_deref_mut().and_then(|v| v.root_module.as_mut()) {
            saw_resource_list = true;
            collect_managed(root, &mut addresses, &mut unreadable_resources);
            take_claims(root, &mut claims);
        }
        doc.state_resources = Some(claims);
    }
    if unreadable_resources > 0 {
        doc.diagnostics.push(Diagnostic::warning(
            format!("{unreadable_resources} entries of the plan's resource lists (planned values, prior state) could not be read; the resource count leaves them out"),
            None,
        ));
    }

    doc.planned_changes_listed = raw.resource_changes.is_some();
    for (name, list, out) in [
        (
            "resource_drift",
            raw.resource_drift,
            &mut doc.resource_drift,
        ),
        (
            "resource_changes",
            raw.resource_changes,
            &mut doc.resource_changes,
        ),
    ] {
        let Some(list) = list else {
            continue;
        };
        saw_resource_list = true;
        addresses.extend(list.managed_addresses);
        *out = list.changes;
        for problem in list.problems {
            let at = problem
                .address
                .as_deref()
                .map_or(String::new(), |a| format!(" ({a})"));
            doc.diagnostics.push(Diagnostic {
                severity: DiagnosticSeverity::Error,
                summary: format!(
                    "{name}[{}]{at} {}; this entry was not checked",
                    problem.index, problem.message
                ),
                detail: None,
                address: problem.address,
            });
        }
        if let Some(first) = list.derived_addresses.first() {
            doc.diagnostics.push(Diagnostic::warning(
                format!(
                    "{} {name} entries have no `address` (Terraform 1.0.0 writes its drift so); their addresses, such as {first}, were derived from module_address, type, name and index",
                    list.derived_addresses.len()
                ),
                Some("Terraform 1.0.0 leaves out the instance key too: instances of one counted or for_each resource share an address".to_string()),
            ));
        }
    }
    if let Some(claims) = &mut doc.state_resources {
        claim_deleted_outside_terraform(&doc.resource_drift, claims);
    }
    if saw_resource_list {
        doc.total_resources = Some(addresses.len());
    }

    if let Some(list) = read_aux::<Vec<RawRelevantAttribute>>(
        "relevant_attributes",
        raw.relevant_attributes,
        &mut doc.diagnostics,
    ) {
        doc.relevant_attributes = list
            .into_iter()
            .map(|r| RelevantAttribute {
                resource: r.resource,
                attribute: r.attribute,
            })
            .collect();
    }
    for check in
        read_aux::<Vec<RawCheck>>("checks", raw.checks, &mut doc.diagnostics).unwrap_or_default()
    {
        add_check_diagnostics(check, &mut doc.diagnostics);
    }
    let conditions = read_aux::<Vec<RawConditionResult>>(
        "condition_results",
        raw.condition_results,
        &mut doc.diagnostics,
    );
    for result in conditions.unwrap_or_default() {
        if result.result == Some(false) {
            doc.diagnostics.push(Diagnostic {
                severity: DiagnosticSeverity::Warning,
                summary: "Condition failed".to_string(),
                detail: result.error_message,
                address: result.address,
            });
        }
    }
    Ok(doc)
}

/// Reads one of the document's small auxiliary fields from its text; one
/// that cannot be read is ignored with a warning.
fn read_aux<T: serde::de::DeserializeOwned>(
    field: &str,
    text: Option<LazyValue<'_>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    let text = text?;
    match sonic_rs::from_str::<Option<T>>(text.as_raw_str()) {
        Ok(value) => value,
        Err(e) => {
            diagnostics.push(Diagnostic::warning(
                format!(
                    "the plan's `{field}` could not be read ({}); it was ignored",
                    shape_message(&e)
                ),
                None,
            ));
            None
        }
    }
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
            severity: DiagnosticSeverity::Warning,
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
            severity: DiagnosticSeverity::Warning,
            summary: "Check assertion failed".to_string(),
            detail: None,
            address: check_name,
        });
    }
}

fn collect_managed<const LENIENT: bool, const CLAIMS: bool>(
    module: &RawModule<LENIENT, CLAIMS>,
    out: &mut HashSet<AddressPrint>,
    unreadable: &mut usize,
) {
    out.extend(module.resources.prints.iter().copied());
    *unreadable += module.resources.unreadable;
    for child in &module.child_modules {
        collect_managed(child, out, unreadable);
    }
}

/// A plan's prior state is refreshed: what was deleted outside Terraform is
/// no longer in it, but still in the stored state, as `resource_drift`'s
/// deletes say. The claims are the stored state's, so that such a resource
/// shows as gone from the inventory, as it does from a state document.
fn claim_deleted_outside_terraform(drift: &[ResourceChange], claims: &mut Vec<ManagedResource>) {
    let deleted: Vec<ManagedResource> = drift
        .iter()
        .filter(|change| change.mode == Mode::Managed && change.actions == ["delete"])
        .filter(|change| !claims.iter().any(|c| c.address == change.address))
        .filter_map(|change| {
            let before = &change.detail.as_ref()?.before;
            let values: Vec<(String, String)> = state_ids(&change.resource_type)
                .into_iter()
                .filter_map(|key| {
                    let text = before.member(key)?;
                    let value: String = serde_json::from_str(text).ok()?;
                    Some((key.to_string(), value))
                })
                .collect();
            Some(ManagedResource::new(
                change.address.clone(),
                change.resource_type.clone(),
                &values,
            ))
        })
        .collect();
    claims.extend(deleted);
}

fn take_claims<const LENIENT: bool>(
    module: &mut RawModule<LENIENT, true>,
    out: &mut Vec<ManagedResource>,
) {
    out.append(&mut module.resources.claims);
    for child in &mut module.child_modules {
        take_claims(child, out);
    }
}

/// A list entry once read: a change to report, or the address of an entry
/// that changes nothing (`no-op`, `read`).
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per entry and moved straight into its list; boxing would add an allocation per change"
)]
enum Converted<'a> {
    Unchanged(Cow<'a, str>),
    Change(ResourceChange),
}

impl Converted<'_> {
    fn address(&self) -> &str {
        match self {
            Converted::Unchanged(address) => address,
            Converted::Change(change) => &change.address,
        }
    }
}

/// The action lists Terraform writes (`internal/command/jsonplan`).
const VALID_ACTIONS: [&[&str]; 9] = [
    &["no-op"],
    &["create"],
    &["read"],
    &["update"],
    &["delete"],
    &["delete", "create"],
    &["create", "delete"],
    &["forget"],
    &["create", "forget"],
];

/// What is wrong with an action list, if anything. A list made only of
/// known words in an order Terraform never writes is malformed; a word this
/// tool does not know is a newer Terraform's, reported as it is.
fn action_problem(actions: &RawActions<'_>) -> Option<String> {
    // Read for every entry of a plan: the lists Terraform writes are told
    // apart without collecting the words.
    let mut words = actions.iter();
    match (words.next(), words.next(), words.next()) {
        (Some("no-op" | "create" | "read" | "update" | "delete" | "forget"), None, None)
        | (Some("delete"), Some("create"), None)
        | (Some("create"), Some("delete" | "forget"), None) => None,
        _ => malformed_actions(actions),
    }
}

#[cold]
fn malformed_actions(actions: &RawActions<'_>) -> Option<String> {
    let words: Vec<&str> = actions.iter().collect();
    if words.is_empty() {
        return Some("has no actions (`change.actions` is missing, null or empty)".to_string());
    }
    if VALID_ACTIONS.contains(&words.as_slice()) {
        return None;
    }
    let known = |word: &&str| VALID_ACTIONS.iter().any(|list| list.contains(word));
    words
        .iter()
        .all(known)
        .then(|| format!("has the action list {words:?}, which Terraform never writes"))
}

/// The address Terraform writes, from an entry's other fields (Terraform
/// 1.0.0's drift entries have none).
fn derive_address(
    module_address: Option<&Text<'_>>,
    mode: Option<&Text<'_>>,
    resource_type: Option<&Text<'_>>,
    name: Option<&Text<'_>>,
    index: Option<&LazyValue<'_>>,
) -> Option<String> {
    let (resource_type, name) = (&resource_type?.0, &name?.0);
    if resource_type.is_empty() || name.is_empty() {
        return None;
    }
    let mut address = String::new();
    if let Some(module) = module_address.map(|m| &m.0).filter(|m| !m.is_empty()) {
        address.push_str(module);
        address.push('.');
    }
    if mode.is_some_and(|m| m.0 == "data") {
        address.push_str("data.");
    }
    address.push_str(resource_type);
    address.push('.');
    address.push_str(name);
    if let Some(index) = index.map(LazyValue::as_raw_str) {
        // A count index is a number, a for_each key a JSON string: both
        // are written as Terraform writes them, `[0]` and `["key"]`.
        if index.starts_with('"') || index.bytes().all(|b| b.is_ascii_digit()) {
            address.push('[');
            address.push_str(index);
            address.push(']');
        }
    }
    Some(address)
}

/// The entry as a change, or its address when it changes nothing; an entry
/// that cannot be understood is an error with its address, if any.
fn convert_change(raw: RawChange<'_>) -> Result<Converted<'_>, (Option<String>, String)> {
    let RawChange {
        address,
        module_address,
        mode,
        resource_type,
        name,
        index,
        provider_name,
        action_reason,
        previous_address,
        change: body,
    } = raw;
    let address = match address {
        Some(address) => address,
        None => Cow::Owned(
            derive_address(
                module_address.as_ref(),
                mode.as_ref(),
                resource_type.as_ref(),
                name.as_ref(),
                index.as_ref(),
            )
            .ok_or((
                None,
                "has no `address`, nor a `type` and `name` to derive one from".to_string(),
            ))?,
        ),
    };
    if let Some(problem) = action_problem(&body.actions) {
        return Err((Some(address.into_owned()), problem));
    }
    let import_only = body.importing && body.actions.iter().all(|a| a == "no-op");
    if !import_only && !body.changes_something() {
        return Ok(Converted::Unchanged(address));
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
    Ok(Converted::Change(ResourceChange {
        module_address: module_address
            .map(Text::owned)
            .filter(|m| !m.is_empty())
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
    }))
}

/// A shape error's message without the input it quotes: sonic-rs's own
/// message is cut at its position (after it comes a fragment of the input,
/// which may hold a secret), and serde's quoted values are taken out.
fn shape_message(e: &sonic_rs::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = message
        .find(&position)
        .map_or(message.as_str(), |at| &message[..at]);
    without_input_values(message.split('\n').next().unwrap_or_default())
}

/// The error for input the document reader refused. Broken JSON is reported
/// as serde_json reports it (it names what it expected where); valid JSON of
/// the wrong shape as the reader does, without the input it quotes.
#[cold]
fn read_error(source_name: &str, bytes: &[u8], line_offset: usize, e: &sonic_rs::Error) -> Error {
    if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(bytes) {
        return Error::json(source_name, line_offset, &syntax);
    }
    // The JSON is valid, so the reader refused its shape.
    Error::Shape {
        source_name: source_name.to_string(),
        message: format!(
            "unexpected shape for Terraform JSON output at line {}, column {}: {}",
            e.line() + line_offset,
            e.column(),
            shape_message(e),
        ),
    }
}

/// The error for input that is not UTF-8: a syntax error before the first
/// bad byte if there is one (it is what went wrong first), else the place of
/// that byte.
#[cold]
fn not_utf8(source_name: &str, bytes: &[u8], line_offset: usize) -> Error {
    let valid = std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |_| bytes.len());
    if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(&bytes[..valid]) {
        if !syntax.is_eof() {
            return Error::json(source_name, line_offset, &syntax);
        }
    }
    let before = &bytes[..valid];
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    Error::Json {
        source_name: source_name.to_string(),
        line: line_offset + memchr::memchr_iter(b'\n', before).count() + 1,
        column: valid - line_start + 1,
        message: "invalid UTF-8 (Terraform writes UTF-8: the file was damaged or re-encoded)"
            .to_string(),
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
        assert!(
            matches!(
                err,
                Error::Json {
                    line: 1,
                    column: 33,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("UTF-8"), "{err}");
        // In a value read lazily (a change's members), where sonic-rs takes
        // the text unchecked: found by the fuzzer (a debug panic, unsound
        // in release).
        let err = parse_single(
            "t.json",
            b"{\"resource_drift\":[{\"change\":{\"before\":{\"\":\"\xff\"}}}]}",
            0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid UTF-8"), "{err}");
        // A syntax error before the bad byte is what went wrong first.
        let err = parse_single("t.json", b"{\"a\": tru, \"b\": \"\xff\"}", 0).unwrap_err();
        assert!(err.to_string().contains("expected ident"), "{err}");
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

    fn errors_of(doc: &PlanDocument) -> Vec<String> {
        doc.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.summary.clone())
            .collect()
    }

    fn entry(address: &str, change: &str) -> String {
        format!(
            r#"{{"address": "{address}", "mode": "managed", "type": "aws_s3_bucket", "name": "x", "change": {change}}}"#
        )
    }

    #[test]
    fn missing_empty_and_impossible_action_lists_are_errors_not_clean() {
        for (change, expected) in [
            (
                r#"{"before": {"a": 1}, "after": {"a": 2}}"#,
                "has no actions",
            ),
            (
                r#"{"actions": null, "before": {}, "after": {}}"#,
                "has no actions",
            ),
            (
                r#"{"actions": [], "before": {}, "after": {}}"#,
                "has no actions",
            ),
            (
                r#"{"actions": ["no-op", "update"], "before": {}, "after": {}}"#,
                r#"["no-op", "update"]"#,
            ),
            (
                r#"{"actions": ["read", "delete"], "before": {}, "after": null}"#,
                r#"["read", "delete"]"#,
            ),
            (
                r#"{"actions": ["update", "update"], "before": {}, "after": {}}"#,
                r#"["update", "update"]"#,
            ),
        ] {
            for list in ["resource_drift", "resource_changes"] {
                let json = format!(
                    r#"{{"format_version": "1.2", "{list}": [{}, {}]}}"#,
                    entry(
                        "aws_s3_bucket.good",
                        r#"{"actions": ["update"], "before": {"a": 1}, "after": {"a": 2}}"#
                    ),
                    entry("aws_s3_bucket.bad", change)
                );
                let doc = parse_single("t.json", json.as_bytes(), 0).unwrap();
                let errors = errors_of(&doc);
                assert_eq!(errors.len(), 1, "{change}: {errors:?}");
                assert!(
                    errors[0].starts_with(&format!("{list}[1] (aws_s3_bucket.bad) ")),
                    "{errors:?}"
                );
                assert!(errors[0].contains(expected), "{errors:?}");
                assert_eq!(
                    doc.diagnostics[0].address.as_deref(),
                    Some("aws_s3_bucket.bad")
                );
                // The good entry is still there.
                let kept = if list == "resource_drift" {
                    &doc.resource_drift
                } else {
                    &doc.resource_changes
                };
                assert_eq!(kept.len(), 1);
            }
        }
    }

    #[test]
    fn every_action_list_terraform_writes_is_accepted_and_new_words_are_kept() {
        for actions in [
            r#"["no-op"]"#,
            r#"["create"]"#,
            r#"["read"]"#,
            r#"["update"]"#,
            r#"["delete"]"#,
            r#"["delete", "create"]"#,
            r#"["create", "delete"]"#,
            r#"["forget"]"#,
            r#"["create", "forget"]"#,
        ] {
            let json = format!(
                r#"{{"format_version": "1.2", "resource_changes": [{}]}}"#,
                entry(
                    "aws_s3_bucket.a",
                    &format!(r#"{{"actions": {actions}, "before": {{}}, "after": {{}}}}"#)
                )
            );
            let doc = parse_single("t.json", json.as_bytes(), 0).unwrap();
            assert!(errors_of(&doc).is_empty(), "{actions}");
        }
        let json = format!(
            r#"{{"format_version": "1.2", "resource_changes": [{}]}}"#,
            entry("aws_s3_bucket.a", r#"{"actions": ["transmogrify"]}"#)
        );
        let doc = parse_single("t.json", json.as_bytes(), 0).unwrap();
        assert!(errors_of(&doc).is_empty());
        assert_eq!(doc.resource_changes[0].actions, ["transmogrify"]);
    }

    #[test]
    fn a_malformed_entry_costs_that_entry_not_the_document() {
        let json = format!(
            r#"{{"format_version": "1.2", "resource_drift": [{}, {}, {}, 7], "resource_changes": [{}],
                "planned_values": {{"root_module": {{"resources": [{{"address": "aws_s3_bucket.a", "mode": "managed"}}, {{"address": 5}}]}}}},
                "checks": "not a list"}}"#,
            entry(
                "aws_s3_bucket.a",
                r#"{"actions": ["update"], "before": {"v": 1}, "after": {"v": 2}}"#
            ),
            entry(
                "aws_s3_bucket.b",
                r#"{"actions": "hunter2-in-actions", "before": {}, "after": {}}"#
            ),
            r#"{"address": "aws_s3_bucket.c", "change": {"actions": ["update"], "replace_paths": {"hunter2": 1}}}"#,
            entry(
                "aws_s3_bucket.d",
                r#"{"actions": ["delete"], "before": {}, "after": null}"#
            ),
        );
        let doc = parse_single("t.json", json.as_bytes(), 0).unwrap();
        assert_eq!(doc.resource_drift.len(), 1);
        assert_eq!(doc.resource_drift[0].address, "aws_s3_bucket.a");
        assert_eq!(doc.resource_changes.len(), 1);
        let errors = errors_of(&doc);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with("resource_drift[1] (aws_s3_bucket.b) "),
            "{errors:?}"
        );
        assert!(
            errors[0].contains("invalid type: string, expected a list of actions"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("resource_drift[2] (aws_s3_bucket.c) "),
            "{errors:?}"
        );
        assert!(errors[2].starts_with("resource_drift[3] "), "{errors:?}");
        let all = format!("{:?}", doc.diagnostics);
        assert!(!all.contains("hunter2"), "{all}");
        assert!(all.contains("`checks` could not be read"), "{all}");
        assert!(
            all.contains("1 entries of the plan's resource lists"),
            "{all}"
        );
    }

    #[test]
    fn document_shape_errors_do_not_quote_the_input() {
        for json in [
            r#"{"format_version": "1.2", "errored": "hunter2"}"#,
            r#"{"format_version": "1.2", "resource_changes": "hunter2"}"#,
            r#"{"format_version": 42424242, "resource_changes": []}"#,
        ] {
            let err = parse_single("t.json", json.as_bytes(), 0)
                .unwrap_err()
                .to_string();
            assert!(err.contains("unexpected shape"), "{err}");
            assert!(
                !err.contains("hunter2") && !err.contains("42424242"),
                "{err}"
            );
        }
    }

    #[test]
    fn terraform_1_0_0_drift_without_addresses_is_read_with_derived_ones() {
        // The shape of Terraform 1.0.0's `resource_drift` (jsonplan's
        // marshalResourceDrift at v1.0.0): no address, no index.
        let json = br#"{"format_version": "0.2", "terraform_version": "1.0.0",
          "resource_drift": [
            {"module_address": "module.net", "mode": "managed", "type": "aws_security_group", "name": "web",
             "provider_name": "registry.terraform.io/hashicorp/aws",
             "change": {"actions": ["update"], "before": {"ingress": []}, "after": {"ingress": [{"cidr_blocks": ["0.0.0.0/0"]}]},
                        "before_sensitive": {}, "after_sensitive": {}}},
            {"mode": "managed", "type": "aws_s3_bucket", "name": "logs", "index": "eu",
             "change": {"actions": ["delete"], "before": {"bucket": "logs"}, "after": null}},
            {"mode": "managed", "change": {"actions": ["delete"], "before": {}, "after": null}}
          ],
          "resource_changes": []}"#;
        let doc = parse_single("t.json", json, 0).unwrap();
        let addresses: Vec<&str> = doc
            .resource_drift
            .iter()
            .map(|c| c.address.as_str())
            .collect();
        assert_eq!(
            addresses,
            [
                "module.net.aws_security_group.web",
                r#"aws_s3_bucket.logs["eu"]"#
            ]
        );
        assert_eq!(
            doc.resource_drift[0].module_address.as_deref(),
            Some("module.net")
        );
        let errors = errors_of(&doc);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("resource_drift[2] has no `address`"),
            "{errors:?}"
        );
        let warning = doc.diagnostics.iter().find(|d| !d.is_error()).unwrap();
        assert!(
            warning
                .summary
                .starts_with("2 resource_drift entries have no `address`"),
            "{warning:?}"
        );
    }
}
