//! Leaf-level differences between a resource's `before` and `after` objects.
//!
//! The result is one [`ChangedAttribute`] per changed leaf, with a path in the
//! form users write in HCL (`ingress[0].cidr_blocks[1]`, `tags.Name`,
//! `tags["kubernetes.io/role"]`). Terraform's masks decide what a value may
//! show, by one rule: a value is shown only if no mark anywhere under it says
//! sensitive, and nothing under a sensitive mark is walked into, so its keys
//! never appear in a path either. A value under `before_sensitive` or
//! `after_sensitive` shows [`REDACTED`] on both sides; a leaf under
//! `after_unknown` has no after value and `unknown: true`.
//!
//! Lists of equal length are compared index by index. When lengths differ
//! (typically a set gaining or losing an element), equal elements are matched
//! first, so that adding one ingress rule reports that rule, not a shifted
//! copy of every rule after it.
//!
//! [`changed_attributes_raw`] gives the same result from the JSON text as
//! Terraform wrote it: objects are split one level at a time and equal texts
//! are skipped unparsed, so an unchanged attribute costs a byte comparison
//! and only what differs is parsed into values.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::plan::raw::{parse_text, split_members};
use crate::plan::RawJson;

use super::ChangedAttribute;

/// What a sensitive value is replaced with, everywhere this tool writes.
pub const REDACTED: &str = "(sensitive value)";

/// Above this many element comparisons, lists are compared by index only.
const MATCHING_BUDGET: usize = 4096;

static TRUE: Value = Value::Bool(true);

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object attribute or map key.
    Key(String),
    /// A list or set index.
    Index(usize),
}

/// Formats steps as an HCL-style path.
pub fn format_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(key) => push_key(&mut out, key),
            Step::Index(i) => push_index(&mut out, *i),
        }
    }
    out
}

fn push_key(path: &mut String, key: &str) {
    if is_identifier(key) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_string()).to_string());
        path.push(']');
    }
}

fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(path, "[{index}]");
}

/// Formats a path given as Terraform's JSON steps (strings and numbers), as in
/// `replace_paths` and `relevant_attributes`.
pub fn format_json_path(steps: &[Value]) -> String {
    let steps: Vec<Step> = steps
        .iter()
        .map(|s| match s {
            Value::Number(n) => n
                .as_u64()
                .map_or_else(|| Step::Key(n.to_string()), |i| Step::Index(i as usize)),
            Value::String(s) => Step::Key(s.clone()),
            other => Step::Key(other.to_string()),
        })
        .collect();
    format_path(&steps)
}

/// A path given as Terraform's JSON steps (as in `replace_paths` and
/// `relevant_attributes`), cut after the first step that Terraform marks
/// sensitive: the keys below a sensitive value are as secret as the value.
pub fn format_visible_path(steps: &[Value], masks: TextMasks<'_>) -> String {
    let mut before = None::<Value>;
    let mut after = None::<Value>;
    for (taken, step) in steps.iter().enumerate() {
        let (next_before, next_after) = if taken == 0 {
            let member = |mask: &RawJson| match (mask.text(), step) {
                (Some("true"), _) => Some(Value::Bool(true)),
                (_, Value::String(key)) => mask.member(key).map(parse_text),
                _ => None,
            };
            (
                member(masks.before_sensitive),
                member(masks.after_sensitive),
            )
        } else {
            let step_into = |mask: Option<&Value>| match step {
                Value::String(key) => mask_key(mask, key).cloned(),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|i| mask_index(mask, usize::try_from(i).ok()?))
                    .cloned(),
                _ => None,
            };
            (step_into(before.as_ref()), step_into(after.as_ref()))
        };
        before = next_before;
        after = next_after;
        if is_true(before.as_ref()) || is_true(after.as_ref()) {
            return format_json_path(&steps[..=taken]);
        }
    }
    format_json_path(steps)
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Terraform's masks for one value, each possibly absent.
#[derive(Clone, Copy, Default)]
pub struct Masks<'a> {
    /// `before_sensitive` at this point.
    pub before_sensitive: Option<&'a Value>,
    /// `after_sensitive` at this point.
    pub after_sensitive: Option<&'a Value>,
    /// `after_unknown` at this point.
    pub after_unknown: Option<&'a Value>,
}

impl<'a> Masks<'a> {
    fn key(self, key: &str) -> Masks<'a> {
        Masks {
            before_sensitive: mask_key(self.before_sensitive, key),
            after_sensitive: mask_key(self.after_sensitive, key),
            after_unknown: mask_key(self.after_unknown, key),
        }
    }

    fn indexes(self, before: Option<usize>, after: Option<usize>) -> Masks<'a> {
        Masks {
            before_sensitive: before.and_then(|i| mask_index(self.before_sensitive, i)),
            after_sensitive: after.and_then(|i| mask_index(self.after_sensitive, i)),
            after_unknown: after.and_then(|i| mask_index(self.after_unknown, i)),
        }
    }

    /// Whether this value itself is marked sensitive: nothing below it
    /// may be walked into, its keys included.
    fn sensitive(self) -> bool {
        is_true(self.before_sensitive) || is_true(self.after_sensitive)
    }

    /// Whether any part of this value is marked sensitive: then it cannot
    /// be shown whole.
    fn hides_any(self) -> bool {
        marks_any(self.before_sensitive) || marks_any(self.after_sensitive)
    }
}

fn is_true(mask: Option<&Value>) -> bool {
    matches!(mask, Some(Value::Bool(true)))
}

fn mask_key<'a>(mask: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    match mask {
        Some(Value::Bool(true)) => Some(&TRUE),
        Some(Value::Object(map)) => map.get(key),
        _ => None,
    }
}

fn mask_index(mask: Option<&Value>, index: usize) -> Option<&Value> {
    match mask {
        Some(Value::Bool(true)) => Some(&TRUE),
        Some(Value::Array(items)) => items.get(index),
        _ => None,
    }
}

/// Every changed leaf between `before` and `after`, in path order.
pub fn changed_attributes(
    before: &Value,
    after: &Value,
    masks: Masks<'_>,
) -> Vec<ChangedAttribute> {
    let mut walker = Walker::default();
    walker.walk(present(before), present(after), masks);
    walker.out
}

/// [`changed_attributes`] of two values kept as JSON text, with Terraform's
/// masks kept likewise: the same result, parsing only the parts (values and
/// masks) whose text differs.
pub fn changed_attributes_raw(
    before: &RawJson,
    after: &RawJson,
    masks: TextMasks<'_>,
) -> Vec<ChangedAttribute> {
    let mut walker = Walker::default();
    let whole = |mask: &RawJson| mask.text() == Some("true");
    let split = !whole(masks.after_unknown)
        && !whole(masks.before_sensitive)
        && !whole(masks.after_sensitive);
    match (before.members(), after.members()) {
        (Some(b), Some(a)) if split => walker.objects(b, a, &masks),
        // A creation: every member of `after` is new, parsed one by one.
        (None, Some(a)) if split && before.is_null() => {
            walker.objects(std::iter::empty(), a, &masks)
        }
        _ => {
            let parsed = ChildMasks {
                before_sensitive: Some(Cow::Owned(masks.before_sensitive.to_value())),
                after_sensitive: Some(Cow::Owned(masks.after_sensitive.to_value())),
                after_unknown: Some(Cow::Owned(masks.after_unknown.to_value())),
            };
            walker.walk(
                present(&before.to_value()),
                present(&after.to_value()),
                parsed.masks(),
            )
        }
    }
    walker.out
}

/// Terraform's masks for a whole resource, kept as JSON text like its values.
#[derive(Clone, Copy)]
pub struct TextMasks<'a> {
    /// `before_sensitive`.
    pub before_sensitive: &'a RawJson,
    /// `after_sensitive`.
    pub after_sensitive: &'a RawJson,
    /// `after_unknown`.
    pub after_unknown: &'a RawJson,
}

/// Masks for the members of an object being compared.
trait MaskSource {
    /// The masks of member `key`.
    fn child(&self, key: &str) -> ChildMasks<'_>;
    /// Whether anything below may be unknown (may err towards yes).
    fn marks_any_unknown(&self) -> bool;
    /// Keys the unknown mask names.
    fn unknown_keys(&self) -> impl Iterator<Item = &str>;
}

impl MaskSource for Masks<'_> {
    fn child(&self, key: &str) -> ChildMasks<'_> {
        let child = self.key(key);
        ChildMasks {
            before_sensitive: child.before_sensitive.map(Cow::Borrowed),
            after_sensitive: child.after_sensitive.map(Cow::Borrowed),
            after_unknown: child.after_unknown.map(Cow::Borrowed),
        }
    }

    fn marks_any_unknown(&self) -> bool {
        marks_any(self.after_unknown)
    }

    fn unknown_keys(&self) -> impl Iterator<Item = &str> {
        unknown_keys(*self).map(String::as_str)
    }
}

impl MaskSource for TextMasks<'_> {
    fn child(&self, key: &str) -> ChildMasks<'_> {
        let member = |mask: &RawJson| match mask.text() {
            Some("true") => Some(Cow::Borrowed(&TRUE)),
            _ => mask.member(key).map(|text| Cow::Owned(parse_text(text))),
        };
        ChildMasks {
            before_sensitive: member(self.before_sensitive),
            after_sensitive: member(self.after_sensitive),
            after_unknown: member(self.after_unknown),
        }
    }

    fn marks_any_unknown(&self) -> bool {
        // `true` in the text may be part of a key: then the exact (slower)
        // way is taken for nothing, never the other way round.
        match self.after_unknown.members() {
            Some(mut members) => members.any(|(_, value)| value.contains("true")),
            None => self.after_unknown.text() == Some("true"),
        }
    }

    fn unknown_keys(&self) -> impl Iterator<Item = &str> {
        self.after_unknown
            .members()
            .into_iter()
            .flatten()
            .filter(|(_, value)| *value != "false")
            .map(|(key, _)| key)
    }
}

/// The masks of one member: borrowed from parsed masks, or parsed from the
/// text of a resource's masks (only for members whose text differs).
#[derive(Default)]
struct ChildMasks<'a> {
    before_sensitive: Option<Cow<'a, Value>>,
    after_sensitive: Option<Cow<'a, Value>>,
    after_unknown: Option<Cow<'a, Value>>,
}

impl ChildMasks<'_> {
    fn masks(&self) -> Masks<'_> {
        Masks {
            before_sensitive: self.before_sensitive.as_deref(),
            after_sensitive: self.after_sensitive.as_deref(),
            after_unknown: self.after_unknown.as_deref(),
        }
    }
}

fn present(value: &Value) -> Option<&Value> {
    (!value.is_null()).then_some(value)
}

/// A list's elements as JSON text; `None` when `text` is not a list.
fn split_list(text: &str) -> Option<Vec<&RawValue>> {
    if !text.starts_with('[') {
        return None;
    }
    serde_json::from_str(text).ok()
}

fn present_text(text: &str) -> Option<&str> {
    (text != "null").then_some(text)
}

/// Whether a mask marks anything at all (an unknown value somewhere below).
fn marks_any(mask: Option<&Value>) -> bool {
    match mask {
        Some(Value::Bool(true)) => true,
        Some(Value::Object(map)) => map.values().any(|v| marks_any(Some(v))),
        Some(Value::Array(items)) => items.iter().any(|v| marks_any(Some(v))),
        _ => false,
    }
}

#[derive(Default)]
struct Walker {
    /// The path of the value being compared, as it will be printed.
    path: String,
    out: Vec<ChangedAttribute>,
}

impl Walker {
    /// Two objects' members: equal text is skipped unparsed.
    fn objects<'t>(
        &mut self,
        before: impl Iterator<Item = (&'t str, &'t str)> + Clone,
        after: impl Iterator<Item = (&'t str, &'t str)> + Clone,
        masks: &impl MaskSource,
    ) {
        if masks.marks_any_unknown() {
            self.members_with_unknowns(before, after, masks);
            return;
        }
        let (mut b, mut a) = (before.peekable(), after.peekable());
        loop {
            let (key, b_value, a_value) = match (b.peek().copied(), a.peek().copied()) {
                (None, None) => return,
                (Some((bk, bv)), Some((ak, av))) => match bk.cmp(ak) {
                    std::cmp::Ordering::Equal => {
                        b.next();
                        a.next();
                        if bv == av {
                            continue;
                        }
                        (bk, Some(bv), Some(av))
                    }
                    std::cmp::Ordering::Less => {
                        b.next();
                        (bk, Some(bv), None)
                    }
                    std::cmp::Ordering::Greater => {
                        a.next();
                        (ak, None, Some(av))
                    }
                },
                (Some((bk, bv)), None) => {
                    b.next();
                    (bk, Some(bv), None)
                }
                (None, Some((ak, av))) => {
                    a.next();
                    (ak, None, Some(av))
                }
            };
            self.member(key, b_value, a_value, masks);
        }
    }

    /// Both objects' members and the keys the unknown mask names, in key order.
    fn members_with_unknowns<'t>(
        &mut self,
        before: impl Iterator<Item = (&'t str, &'t str)>,
        after: impl Iterator<Item = (&'t str, &'t str)>,
        masks: &impl MaskSource,
    ) {
        let before: Vec<(&str, &str)> = before.collect();
        let after: Vec<(&str, &str)> = after.collect();
        let lookup = |members: &[(&str, &'t str)], key: &str| {
            members
                .binary_search_by(|(k, _)| (*k).cmp(key))
                .ok()
                .map(|i| members[i].1)
        };
        let mut keys: Vec<&str> = before
            .iter()
            .chain(after.iter())
            .map(|(k, _)| *k)
            .chain(masks.unknown_keys())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            self.member(key, lookup(&before, key), lookup(&after, key), masks);
        }
    }

    fn member(
        &mut self,
        key: &str,
        before: Option<&str>,
        after: Option<&str>,
        masks: &impl MaskSource,
    ) {
        let depth = self.path.len();
        push_key(&mut self.path, key);
        let child = masks.child(key);
        self.walk_text(
            before.and_then(present_text),
            after.and_then(present_text),
            child.masks(),
        );
        self.path.truncate(depth);
    }

    /// Two values as JSON text: objects are split and compared member by
    /// member, anything else is parsed and compared as values.
    fn walk_text(&mut self, before: Option<&str>, after: Option<&str>, masks: Masks<'_>) {
        if let (Some(b), Some(a)) = (before, after) {
            if b == a && !marks_any(masks.after_unknown) {
                return;
            }
            if !is_true(masks.after_unknown) && !masks.sensitive() {
                // A nested object is split here (the top level was split
                // when the document was read), borrowing from its text.
                if let (Some(b), Some(a)) = (split_members(b), split_members(a)) {
                    self.objects(
                        b.iter().map(|(k, v)| (k.as_ref(), v.as_raw_str())),
                        a.iter().map(|(k, v)| (k.as_ref(), v.as_raw_str())),
                        &masks,
                    );
                    return;
                }
                // Lists of one length are compared index by index, as values
                // are; other lengths need element matching, on values.
                if let (Some(b), Some(a)) = (split_list(b), split_list(a)) {
                    if b.len() == a.len() {
                        for (i, (b, a)) in b.iter().zip(&a).enumerate() {
                            let depth = self.path.len();
                            push_index(&mut self.path, i);
                            self.walk_text(
                                present_text(b.get()),
                                present_text(a.get()),
                                masks.indexes(Some(i), Some(i)),
                            );
                            self.path.truncate(depth);
                        }
                        return;
                    }
                }
            }
        }
        let (before_text, after_text) = (before, after);
        let before = before.map(parse_text);
        let after = after.map(parse_text);
        // Two numbers that differ in text but not as f64 (integers beyond
        // 2^53, long fractions): the change is real, so it is reported with
        // Terraform's exact digits.
        if let (Some(Value::Number(b)), Some(Value::Number(a)), Some(bt), Some(at)) =
            (&before, &after, before_text, after_text)
        {
            if b == a && bt != at && !is_true(masks.after_unknown) {
                let exact = |text: &str| Value::String(text.to_string());
                self.leaf(Some(&exact(bt)), Some(&exact(at)), masks, false);
                return;
            }
        }
        self.walk(before.as_ref(), after.as_ref(), masks);
    }

    fn walk(&mut self, before: Option<&Value>, after: Option<&Value>, masks: Masks<'_>) {
        if is_true(masks.after_unknown) {
            self.leaf(before, None, masks, true);
            return;
        }
        if masks.sensitive() {
            // One redacted change for the whole value: walking into it would
            // show its keys (a sensitive map's keys are as secret as its values).
            if before != after {
                self.leaf(before, after, masks, false);
            }
            return;
        }
        match (before, after) {
            (Some(Value::Object(b)), Some(Value::Object(a))) => {
                let keys: BTreeSet<&String> = b
                    .keys()
                    .chain(a.keys())
                    .chain(unknown_keys(masks))
                    .collect();
                for key in keys {
                    self.child_key(
                        key,
                        b.get(key).and_then(present),
                        a.get(key).and_then(present),
                        masks,
                    );
                }
            }
            (Some(Value::Object(b)), None) if !b.is_empty() => {
                for (key, value) in b {
                    self.child_key(key, present(value), None, masks);
                }
            }
            (None, Some(Value::Object(a))) if !a.is_empty() || masks.after_unknown.is_some() => {
                let keys: BTreeSet<&String> = a.keys().chain(unknown_keys(masks)).collect();
                for key in keys {
                    self.child_key(key, None, a.get(key).and_then(present), masks);
                }
            }
            (Some(Value::Array(b)), Some(Value::Array(a))) => self.arrays(b, a, masks),
            (Some(Value::Array(b)), None) if !b.is_empty() => self.arrays(b, &[], masks),
            (None, Some(Value::Array(a))) if !a.is_empty() => self.arrays(&[], a, masks),
            (None, None) => {}
            (b, a) => {
                if b != a {
                    self.leaf(b, a, masks, false);
                }
            }
        }
    }

    fn child_key(
        &mut self,
        key: &str,
        before: Option<&Value>,
        after: Option<&Value>,
        masks: Masks<'_>,
    ) {
        let depth = self.path.len();
        push_key(&mut self.path, key);
        self.walk(before, after, masks.key(key));
        self.path.truncate(depth);
    }

    fn child_index(
        &mut self,
        b: Option<usize>,
        a: Option<usize>,
        before: &[Value],
        after: &[Value],
        masks: Masks<'_>,
    ) {
        let path_index = a.or(b).unwrap_or_default();
        let depth = self.path.len();
        push_index(&mut self.path, path_index);
        self.walk(
            b.and_then(|i| before.get(i)).and_then(present),
            a.and_then(|i| after.get(i)).and_then(present),
            masks.indexes(b, a),
        );
        self.path.truncate(depth);
    }

    fn arrays(&mut self, before: &[Value], after: &[Value], masks: Masks<'_>) {
        if before.len() == after.len() || before.len() * after.len() > MATCHING_BUDGET {
            for i in 0..before.len().max(after.len()) {
                let b = (i < before.len()).then_some(i);
                let a = (i < after.len()).then_some(i);
                self.child_index(b, a, before, after, masks);
            }
            return;
        }
        // Match equal elements first; pair what is left in order.
        let mut after_taken = vec![false; after.len()];
        let mut unmatched_before = Vec::new();
        for (i, b) in before.iter().enumerate() {
            match (0..after.len()).find(|&j| !after_taken[j] && after[j] == *b) {
                Some(j) => after_taken[j] = true,
                None => unmatched_before.push(i),
            }
        }
        let unmatched_after: Vec<usize> = (0..after.len()).filter(|&j| !after_taken[j]).collect();
        let pairs = unmatched_before.len().max(unmatched_after.len());
        for k in 0..pairs {
            let b = unmatched_before.get(k).copied();
            let a = unmatched_after.get(k).copied();
            self.child_index(b, a, before, after, masks);
        }
    }

    fn leaf(
        &mut self,
        before: Option<&Value>,
        after: Option<&Value>,
        masks: Masks<'_>,
        unknown: bool,
    ) {
        // A value is shown only if nothing under it is marked: an object
        // that becomes a string, or a value that becomes unknown, would
        // otherwise show its sensitive parts whole.
        let sensitive = masks.hides_any();
        let show = |value: Option<&Value>| match value {
            None | Some(Value::Null) => Value::Null,
            Some(_) if sensitive => Value::String(REDACTED.to_string()),
            Some(v) => v.clone(),
        };
        self.out.push(ChangedAttribute {
            path: self.path.clone(),
            before: show(before),
            after: if unknown { Value::Null } else { show(after) },
            sensitive,
            unknown,
            // Judged once the drift and the plan are joined (see `analyze`).
            verdict: None,
        });
    }
}

fn unknown_keys<'a>(masks: Masks<'a>) -> impl Iterator<Item = &'a String> {
    masks
        .after_unknown
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| {
            m.iter()
                .filter(|(_, v)| !matches!(v, Value::Bool(false)))
                .map(|(k, _)| k)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(before: Value, after: Value) -> Vec<String> {
        changed_attributes(&before, &after, Masks::default())
            .into_iter()
            .map(|c| c.path)
            .collect()
    }

    #[test]
    fn formats_paths_like_hcl() {
        let steps = [
            Step::Key("ingress".into()),
            Step::Index(0),
            Step::Key("cidr_blocks".into()),
            Step::Index(1),
        ];
        assert_eq!(format_path(&steps), "ingress[0].cidr_blocks[1]");
        assert_eq!(
            format_path(&[
                Step::Key("tags".into()),
                Step::Key("kubernetes.io/role".into())
            ]),
            r#"tags["kubernetes.io/role"]"#
        );
        assert_eq!(format_json_path(&[json!("content")]), "content");
    }

    #[test]
    fn reports_changed_leaves_only() {
        let before = json!({"a": 1, "tags": {"Name": "x", "Env": "dev"}, "same": [1, 2]});
        let after = json!({"a": 2, "tags": {"Name": "x", "Env": "prod"}, "same": [1, 2]});
        assert_eq!(paths(before, after), vec!["a", "tags.Env"]);
    }

    #[test]
    fn a_set_gaining_an_element_reports_only_that_element() {
        let rule = |port: u16, cidr: &str| json!({"from_port": port, "to_port": port, "cidr_blocks": [cidr]});
        let before = json!({"ingress": [rule(443, "10.0.0.0/8"), rule(80, "10.0.0.0/8")]});
        let after = json!({"ingress": [rule(22, "0.0.0.0/0"), rule(443, "10.0.0.0/8"), rule(80, "10.0.0.0/8")]});
        assert_eq!(
            paths(before, after),
            vec![
                "ingress[0].cidr_blocks[0]",
                "ingress[0].from_port",
                "ingress[0].to_port"
            ]
        );
    }

    #[test]
    fn sensitive_values_are_redacted_on_both_sides() {
        let before = json!({"password": "hunter2", "name": "db"});
        let after = json!({"password": "correct horse", "name": "db2"});
        let masks = Masks {
            before_sensitive: Some(&json!({"password": true})),
            after_sensitive: Some(&json!({"password": true})),
            after_unknown: None,
        };
        let changes = changed_attributes(&before, &after, masks);
        let password = changes.iter().find(|c| c.path == "password").unwrap();
        assert!(password.sensitive);
        assert_eq!(password.before, json!(REDACTED));
        assert_eq!(password.after, json!(REDACTED));
        let text = serde_json::to_string(&changes).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("correct horse"));
    }

    #[test]
    fn whole_value_sensitive_masks_everything_below() {
        let before = json!({"block": {"secret": "s1"}});
        let after = json!({"block": {"secret": "s2"}});
        let masks = Masks {
            before_sensitive: Some(&json!(true)),
            after_sensitive: Some(&json!({"block": true})),
            after_unknown: None,
        };
        let changes = changed_attributes(&before, &after, masks);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].before, json!(REDACTED));
    }

    #[test]
    fn unknown_after_values_are_flagged_not_invented() {
        let masks = Masks {
            after_unknown: Some(&json!({"id": true, "arn": true})),
            ..Masks::default()
        };
        let changes = changed_attributes(&json!(null), &json!({"ami": "bar"}), masks);
        let got: Vec<_> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.unknown))
            .collect();
        assert_eq!(got, vec![("ami", false), ("arn", true), ("id", true)]);
        assert!(changes
            .iter()
            .filter(|c| c.unknown)
            .all(|c| c.after.is_null()));
    }

    #[test]
    fn numbers_beyond_double_precision_that_differ_are_reported_exactly() {
        let raw = |text: &str| RawJson::parse(text).unwrap();
        let null = RawJson::default();
        let masks = TextMasks {
            before_sensitive: &null,
            after_sensitive: &null,
            after_unknown: &null,
        };
        let changes = changed_attributes_raw(
            &raw(
                r#"{"big": 123456789012345678901234567890, "list": [0.10000000000000000001, 9007199254740993], "same": 1.5}"#,
            ),
            &raw(
                r#"{"big": 123456789012345678901234567891, "list": [0.10000000000000000002, 9007199254740992], "same": 1.5}"#,
            ),
            masks,
        );
        let got: Vec<_> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.before.clone(), c.after.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "big",
                    json!("123456789012345678901234567890"),
                    json!("123456789012345678901234567891")
                ),
                (
                    "list[0]",
                    json!("0.10000000000000000001"),
                    json!("0.10000000000000000002")
                ),
                // Within u64, integers are exact as numbers.
                (
                    "list[1]",
                    json!(9007199254740993u64),
                    json!(9007199254740992u64)
                ),
            ]
        );
    }

    #[test]
    fn text_diff_reads_unsorted_and_repeated_keys_as_values_do() {
        let raw = |text: &str| RawJson::parse(text).unwrap();
        let before = r#"{"b": 1, "a": {"y": 1, "x": 2}, "c": 1, "c": 2}"#;
        let after = r#"{"a": {"x": 3, "y": 1}, "b": 1, "c": 2}"#;
        let null = RawJson::default();
        let masks = TextMasks {
            before_sensitive: &null,
            after_sensitive: &null,
            after_unknown: &null,
        };
        let by_text = changed_attributes_raw(&raw(before), &raw(after), masks);
        let by_value = changed_attributes(
            &serde_json::from_str(before).unwrap(),
            &serde_json::from_str(after).unwrap(),
            Masks::default(),
        );
        assert_eq!(by_text, by_value);
        let got: Vec<_> = by_text.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(got, vec!["a.x"]);
    }

    /// Every changed attribute of `before` → `after` under the given masks,
    /// read from text as the analyzer reads it, then serialized: what any
    /// output format would be built from.
    fn shown(
        before: &str,
        after: &str,
        before_sensitive: &str,
        after_sensitive: &str,
        after_unknown: &str,
    ) -> String {
        let raw = |text: &str| RawJson::parse(text).unwrap();
        let (bs, as_, au) = (
            raw(before_sensitive),
            raw(after_sensitive),
            raw(after_unknown),
        );
        let changes = changed_attributes_raw(
            &raw(before),
            &raw(after),
            TextMasks {
                before_sensitive: &bs,
                after_sensitive: &as_,
                after_unknown: &au,
            },
        );
        assert!(!changes.is_empty(), "a change must be reported");
        serde_json::to_string(&changes).unwrap()
    }

    #[test]
    fn a_value_whose_type_changes_is_shown_only_if_nothing_in_it_is_sensitive() {
        let cases = [
            // object -> string, list, number, and back
            (
                r#"{"cfg": {"password": "hunter2", "user": "u"}}"#,
                r#"{"cfg": "plain"}"#,
                r#"{"cfg": {"password": true}}"#,
                r#"{}"#,
            ),
            (
                r#"{"cfg": {"password": "hunter2"}}"#,
                r#"{"cfg": [1, 2]}"#,
                r#"{"cfg": {"password": true}}"#,
                r#"{}"#,
            ),
            (
                r#"{"cfg": {"password": "hunter2"}}"#,
                r#"{"cfg": 7}"#,
                r#"{"cfg": {"password": true}}"#,
                r#"{}"#,
            ),
            (
                r#"{"cfg": "plain"}"#,
                r#"{"cfg": {"password": "hunter2"}}"#,
                r#"{}"#,
                r#"{"cfg": {"password": true}}"#,
            ),
            // list -> {}
            (
                r#"{"cfg": [{"token": "hunter2"}]}"#,
                r#"{"cfg": {}}"#,
                r#"{"cfg": [{"token": true}]}"#,
                r#"{}"#,
            ),
        ];
        for (before, after, bs, as_) in cases {
            let text = shown(before, after, bs, as_, "{}");
            assert!(!text.contains("hunter2"), "{before} -> {after}: {text}");
            assert!(text.contains(REDACTED), "{text}");
        }
        // Nothing sensitive inside: shown as before.
        let text = shown(
            r#"{"cfg": {"user": "u"}}"#,
            r#"{"cfg": "plain"}"#,
            "{}",
            "{}",
            "{}",
        );
        assert!(
            text.contains("plain") && text.contains(r#""user":"u""#),
            "{text}"
        );
    }

    #[test]
    fn a_value_becoming_unknown_shows_no_sensitive_part_of_its_old_value() {
        let text = shown(
            r#"{"cfg": {"password": "hunter2", "user": "u"}, "name": "a"}"#,
            r#"{"name": "a"}"#,
            r#"{"cfg": {"password": true}}"#,
            r#"{}"#,
            r#"{"cfg": true}"#,
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(r#""unknown":true"#), "{text}");
    }

    #[test]
    fn keys_under_a_sensitive_mark_never_show_in_paths() {
        let text = shown(
            r#"{"secrets": {"db-root-password-is-hunter2": "x"}, "list": ["a"]}"#,
            r#"{"secrets": {"api-key-name-s3cr3t": "y"}, "list": ["b", "c"]}"#,
            r#"{"secrets": true, "list": true}"#,
            r#"{"secrets": true, "list": true}"#,
            "{}",
        );
        assert!(
            !text.contains("hunter2") && !text.contains("s3cr3t"),
            "{text}"
        );
        let changes: Vec<ChangedAttribute> = serde_json::from_str(&text).unwrap();
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["list", "secrets"]);
        // A whole-resource mark: one redacted change at the root.
        let text = shown(
            r#"{"k-hunter2": 1}"#,
            r#"{"k-hunter2": 2}"#,
            "true",
            "true",
            "{}",
        );
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn paths_given_as_steps_stop_at_a_sensitive_value() {
        let raw = |text: &str| RawJson::parse(text).unwrap();
        let (bs, as_, au) = (
            raw(r#"{"tags": true, "block": [{"m": {"inner": true}}]}"#),
            raw("{}"),
            raw("{}"),
        );
        let masks = TextMasks {
            before_sensitive: &bs,
            after_sensitive: &as_,
            after_unknown: &au,
        };
        assert_eq!(
            format_visible_path(&[json!("tags"), json!("secret-key")], masks),
            "tags"
        );
        assert_eq!(
            format_visible_path(
                &[
                    json!("block"),
                    json!(0),
                    json!("m"),
                    json!("inner"),
                    json!("deeper")
                ],
                masks
            ),
            "block[0].m.inner"
        );
        assert_eq!(format_visible_path(&[json!("name")], masks), "name");
    }
}
