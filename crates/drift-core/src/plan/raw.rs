//! Change values kept as the JSON text Terraform wrote.
//!
//! A resource's `before` and `after` objects are split into their members in
//! the one pass that reads the document: each member keeps its key and its
//! value's JSON text, and nothing is parsed into [`Value`]s. The analyzer then
//! compares members' text and parses only what differs, so an unchanged
//! attribute costs a byte comparison and the document is never read twice.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use sonic_rs::LazyValue;

/// A JSON value kept as text: an object as its members (sorted by key, each
/// key once), anything else as one JSON text.
#[derive(Clone, Default)]
pub struct RawJson {
    /// The JSON text of a non-object; an object's keys and values, one after
    /// the other.
    text: String,
    /// An object's members, as ranges of `text`; `None` for any other value.
    members: Option<Vec<MemberSpan>>,
}

#[derive(Clone, Debug, PartialEq)]
struct MemberSpan {
    key: Range<usize>,
    value: Range<usize>,
}

impl RawJson {
    /// Reads JSON text.
    pub fn parse(text: &str) -> sonic_rs::Result<RawJson> {
        sonic_rs::from_str::<ReadJson<'_>>(text).map(ReadJson::into_owned)
    }

    /// An object's members as `(key, value JSON text)`, sorted by key; `None`
    /// when the value is not an object.
    pub fn members(&self) -> Option<impl ExactSizeIterator<Item = (&str, &str)> + Clone> {
        let members = self.members.as_ref()?;
        Some(
            members
                .iter()
                .map(|m| (&self.text[m.key.clone()], &self.text[m.value.clone()])),
        )
    }

    /// The value of one member of an object, as JSON text.
    pub fn member(&self, key: &str) -> Option<&str> {
        let members = self.members.as_ref()?;
        let index = members
            .binary_search_by(|m| self.text[m.key.clone()].cmp(key))
            .ok()?;
        Some(&self.text[members[index].value.clone()])
    }

    /// The JSON text of a value that is not an object.
    pub fn text(&self) -> Option<&str> {
        match self.members {
            Some(_) => None,
            None if self.text.is_empty() => Some("null"),
            None => Some(&self.text),
        }
    }

    /// Whether the value is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.text() == Some("null")
    }

    /// The value parsed.
    pub fn to_value(&self) -> Value {
        match (self.members(), self.text()) {
            (Some(members), _) => Value::Object(
                members
                    .map(|(key, value)| (key.to_string(), parse_text(value)))
                    .collect::<Map<_, _>>(),
            ),
            (None, Some(text)) => parse_text(text),
            (None, None) => Value::Null,
        }
    }

    /// An object of only the members named in `keys` (those present), parsed.
    pub fn project(&self, keys: &[&str]) -> Value {
        match self.members {
            Some(_) => Value::Object(
                keys.iter()
                    .filter_map(|key| Some((key.to_string(), parse_text(self.member(key)?))))
                    .collect(),
            ),
            None => self.to_value(),
        }
    }

    fn object<'k>(members: impl IntoIterator<Item = (Cow<'k, str>, &'k str)>) -> Self {
        let pairs = in_key_order(members.into_iter().collect());
        let mut text = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len()).sum());
        let mut spans = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let key_start = text.len();
            text.push_str(&key);
            let value_start = text.len();
            text.push_str(value);
            spans.push(MemberSpan {
                key: key_start..value_start,
                value: value_start..text.len(),
            });
        }
        RawJson {
            text,
            members: Some(spans),
        }
    }

    fn other(text: String) -> Self {
        RawJson {
            text,
            members: None,
        }
    }
}

/// An object's members as `(key, value)` borrowed from `text`, in key order
/// (the value's JSON text is [`LazyValue::as_raw_str`]); `None` when `text`
/// is not an object.
pub(crate) fn split_members(text: &str) -> Option<Vec<(Cow<'_, str>, LazyValue<'_>)>> {
    if !text.starts_with('{') {
        return None;
    }
    match sonic_rs::from_str::<ReadJson<'_>>(text).ok()? {
        ReadJson::Object(members) => Some(in_key_order(members)),
        ReadJson::Other(_) => None,
    }
}

/// Sorts members by key; of repeated keys the last one read stays and wins,
/// as when parsing into a `Value`. Terraform writes keys sorted, so this
/// mostly only checks.
fn in_key_order<V>(mut pairs: Vec<(Cow<'_, str>, V)>) -> Vec<(Cow<'_, str>, V)> {
    if !pairs.is_sorted_by(|x, y| x.0 < y.0) {
        pairs.sort_by(|x, y| x.0.cmp(&y.0));
        pairs.reverse();
        pairs.dedup_by(|later, earlier| later.0 == earlier.0);
        pairs.reverse();
    }
    pairs
}

/// The value of JSON text that was read as JSON before; a number too large
/// for [`Value`] is kept as its text rather than dropped.
pub(crate) fn parse_text(text: &str) -> Value {
    if let Some(value) = parse_simple(text) {
        return value;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Most changed leaves are short strings, small integers and booleans: read
/// them without setting up a JSON parser. `None` for anything else.
fn parse_simple(text: &str) -> Option<Value> {
    match text {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "null" => return Some(Value::Null),
        "{}" => return Some(Value::Object(Map::new())),
        "[]" => return Some(Value::Array(Vec::new())),
        _ => {}
    }
    let bytes = text.as_bytes();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        // Text already read as JSON: without a backslash, the quotes are the
        // only syntax in a string.
        return (!inner.contains('\\') && !inner.contains('"'))
            .then(|| Value::String(inner.to_string()));
    }
    let plain_integer = !bytes.is_empty()
        && bytes.len() <= 19
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1);
    plain_integer
        .then(|| text.parse::<u64>().ok().map(Value::from))
        .flatten()
}

impl From<&Value> for RawJson {
    fn from(value: &Value) -> Self {
        match value {
            Value::Object(map) => {
                let texts: Vec<(Cow<'_, str>, String)> = map
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), v.to_string()))
                    .collect();
                RawJson::object(texts.iter().map(|(k, v)| (k.clone(), v.as_str())))
            }
            other => RawJson::other(other.to_string()),
        }
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        match (self.members(), other.members()) {
            (Some(a), Some(b)) => a.eq(b),
            (None, None) => self.text() == other.text(),
            _ => false,
        }
    }
}

impl fmt::Debug for RawJson {
    /// Keys and sizes only: the values may be sensitive, and debug output
    /// ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.members() {
            Some(members) => f
                .debug_map()
                .entries(members.map(|(key, value)| (key, format!("<{} bytes>", value.len()))))
                .finish(),
            None => write!(f, "<{} bytes>", self.text().map_or(0, str::len)),
        }
    }
}

/// A change value as it is read: an object's members borrowed from the input,
/// or the JSON text of anything else.
pub(crate) enum ReadJson<'a> {
    Object(Vec<(Cow<'a, str>, LazyValue<'a>)>),
    Other(String),
}

impl ReadJson<'_> {
    pub(crate) fn into_owned(self) -> RawJson {
        match self {
            ReadJson::Object(members) => RawJson::object(
                members
                    .iter()
                    .map(|(key, value)| (Cow::Borrowed(key.as_ref()), value.as_raw_str())),
            ),
            ReadJson::Other(text) => RawJson::other(text),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ReadJson<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ReadVisitor(PhantomData))
    }
}

struct ReadVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ReadVisitor<'a> {
    type Value = ReadJson<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some((key, value)) = map.next_entry::<Text<'a>, LazyValue<'a>>()? {
            members.push((key.0, value));
        }
        Ok(ReadJson::Object(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut text = String::from("[");
        while let Some(item) = seq.next_element::<LazyValue<'a>>()? {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(item.as_raw_str());
        }
        text.push(']');
        Ok(ReadJson::Other(text))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ReadJson::Other("null".to_string()))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(ReadJson::Other("null".to_string()))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(ReadJson::Other(v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(ReadJson::Other(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ReadJson::Other(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(ReadJson::Other(Value::from(v).to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ReadJson::Other(Value::from(v).to_string()))
    }
}

/// A string (a value or an object key) borrowed from the input unless it
/// holds escapes. (A bare `Option<Cow<str>>` field would always copy.)
#[derive(Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

impl Text<'_> {
    pub(crate) fn owned(self) -> String {
        self.0.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> RawJson {
        RawJson::parse(text).unwrap()
    }

    #[test]
    fn objects_are_split_into_sorted_members_and_read_back_whole() {
        let raw = read(r#"{"b": [1, 2], "a": {"x": "y\"z"}, "c": null, "b": 3}"#);
        let members: Vec<_> = raw.members().unwrap().collect();
        assert_eq!(
            members,
            vec![("a", r#"{"x": "y\"z"}"#), ("b", "3"), ("c", "null")]
        );
        assert_eq!(raw.member("a"), Some(r#"{"x": "y\"z"}"#));
        assert_eq!(
            raw.to_value(),
            json!({"a": {"x": "y\"z"}, "b": 3, "c": null})
        );
        assert_eq!(raw.project(&["b", "nope"]), json!({"b": 3}));
        assert_eq!(RawJson::from(&raw.to_value()).to_value(), raw.to_value());
    }

    #[test]
    fn simple_leaves_read_as_serde_json_reads_them() {
        for text in [
            "true",
            "false",
            "null",
            "0",
            "7",
            "1844674407370955161",
            "18446744073709551615",
            "-1",
            "1.0",
            "1e3",
            r#""""#,
            r#""plain text""#,
            r#""a\"b""#,
            r#""\u0041""#,
            r#""tab\there""#,
            "[]",
            "{}",
        ] {
            assert_eq!(
                parse_text(text),
                serde_json::from_str::<Value>(text).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn other_values_keep_their_json_text() {
        for text in [
            "null",
            "true",
            "-3",
            "18446744073709551615",
            "1.5",
            r#""a\"b""#,
            "[1,{\"a\":[]}]",
        ] {
            let raw = read(text);
            assert!(raw.members().is_none());
            assert_eq!(
                raw.to_value(),
                serde_json::from_str::<Value>(text).unwrap(),
                "{text}"
            );
        }
        assert!(RawJson::default().is_null());
        assert!(read("null").is_null());
    }
}
