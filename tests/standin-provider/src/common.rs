//! Shared helpers: value aliases, schema shorthands, tags, errors, the
//! fault-injection read delay and the read log.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
pub use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Description};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

pub type Str = Value<String>;
pub type Bool = Value<bool>;
pub type Num = Value<i64>;
pub type StrList = Value<Vec<Value<String>>>;
pub type StrMap = Value<BTreeMap<String, Value<String>>>;

/// Environment variable that makes every resource read sleep first (fault
/// tests use it to make terraform hang until a deadline kills it).
pub const READ_DELAY_ENV: &str = "STANDIN_PROVIDER_READ_DELAY_SECONDS";

/// Environment variable naming a file that gets one line per resource read
/// (`<type>\t<id>`): how the suite proves a check refreshes each resource
/// once, since a refresh (one read per resource) is what a check costs.
pub const READ_LOG_ENV: &str = "STANDIN_PROVIDER_READ_LOG";

/// An error on its way to becoming a terraform diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub summary: String,
    pub detail: String,
    pub attribute: Option<&'static str>,
}

pub type Res<T> = Result<T, Failure>;

/// The value of `result`, or `None` once its failure is reported to terraform.
pub fn reported<T>(diags: &mut Diagnostics, result: Res<T>) -> Option<T> {
    result.map_err(|f| f.report(diags)).ok()
}

impl Failure {
    pub fn new(summary: impl Into<String>) -> Failure {
        Failure {
            summary: summary.into(),
            detail: String::new(),
            attribute: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Failure {
        self.detail = detail.into();
        self
    }

    pub fn at(mut self, attribute: &'static str) -> Failure {
        self.attribute = Some(attribute);
        self
    }

    pub fn report(self, diags: &mut Diagnostics) {
        match self.attribute {
            Some(attribute) => {
                diags.error(self.summary, self.detail, AttributePath::new(attribute))
            }
            None => diags.root_error(self.summary, self.detail),
        }
    }
}

/// Turns an SDK error into a diagnostic that names what was being done (which
/// includes the resource) and the AWS error code.
pub fn aws_failure<E>(action: impl Display, err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some(code) => {
            let message = err.message().unwrap_or("");
            let summary = if message.is_empty() {
                format!("{action}: AWS error {code}")
            } else {
                format!("{action}: AWS error {code}: {message}")
            };
            let mut detail = format!("AWS error code: {code}");
            if let Some(status) = err.raw_response().map(|r| r.status().as_u16()) {
                detail.push_str(&format!("; HTTP status {status}"));
            }
            if let Some(id) = err.meta().extra("aws_request_id") {
                detail.push_str(&format!("; request id {id}"));
            }
            Failure::new(summary).detail(detail)
        }
        // No response from the service (connection refused, timeout, ...):
        // the error chain says what happened.
        None => Failure::new(format!("{action}: request failed ({err})"))
            .detail(DisplayErrorContext(err).to_string()),
    }
}

/// HTTP status of a service error response, if there was one.
pub fn error_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// A value that must be known and set by the time the provider acts on it.
pub fn known<'v, T>(value: &'v Value<T>, name: &'static str) -> Res<&'v T> {
    match value {
        Value::Value(v) => Ok(v),
        Value::Null => Err(Failure::new(format!("`{name}` is required")).at(name)),
        Value::Unknown => Err(Failure::new(format!(
            "`{name}` is still unknown when the provider needs it"
        ))
        .at(name)),
    }
}

/// A string that may be null; unknown is an error.
pub fn opt_str<'v>(value: &'v Str, name: &'static str) -> Res<Option<&'v str>> {
    match value {
        Value::Value(v) => Ok(Some(v.as_str())),
        Value::Null => Ok(None),
        Value::Unknown => Err(Failure::new(format!(
            "`{name}` is still unknown when the provider needs it"
        ))
        .at(name)),
    }
}

pub fn map_known(value: &StrMap) -> bool {
    match value {
        Value::Unknown => false,
        Value::Null => true,
        Value::Value(items) => items.values().all(|i| !i.is_unknown()),
    }
}

/// Tags as a plain map: null is empty.
pub fn tags_map(tags: &StrMap) -> Res<BTreeMap<String, String>> {
    match tags {
        Value::Null => Ok(BTreeMap::new()),
        Value::Unknown => Err(Failure::new("`tags` is still unknown").at("tags")),
        Value::Value(items) => items
            .iter()
            .map(|(k, v)| match v {
                Value::Value(v) => Ok((k.clone(), v.clone())),
                Value::Null => Err(Failure::new(format!("tag `{k}` is null")).at("tags")),
                Value::Unknown => Err(Failure::new(format!("tag `{k}` is unknown")).at("tags")),
            })
            .collect(),
    }
}

pub fn to_str_map(map: BTreeMap<String, String>) -> StrMap {
    Value::Value(map.into_iter().map(|(k, v)| (k, Value::Value(v))).collect())
}

/// Planned `tags_all`: the configured tags (no `default_tags` support), an
/// empty map when there are none, unknown while any tag is unknown.
pub fn plan_tags_all(tags: &StrMap) -> StrMap {
    if !map_known(tags) {
        return Value::Unknown;
    }
    match tags {
        Value::Value(map) => Value::Value(map.clone()),
        _ => Value::Value(BTreeMap::new()),
    }
}

/// `tags` after a read: what AWS has, except that "no tags" keeps the prior
/// spelling (null or `{}`) so that an untagged resource gives no diff.
pub fn tags_after_read(prior: &StrMap, aws: &BTreeMap<String, String>) -> StrMap {
    if aws.is_empty() {
        match prior {
            Value::Value(map) if map.is_empty() => Value::Value(BTreeMap::new()),
            _ => Value::Null,
        }
    } else {
        to_str_map(aws.clone())
    }
}

/// Keys to remove and key/values to set to get from `old` to `new` tags.
pub fn tag_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (Vec<String>, BTreeMap<String, String>) {
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    let upserted = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (removed, upserted)
}

/// Optional attribute with a default (declared optional+computed, which is
/// how the plugin protocol expresses a default): null in config means the
/// default.
pub fn with_default<T: Clone>(config: &Value<T>, default: T) -> Value<T> {
    match config {
        Value::Null => Value::Value(default),
        other => other.clone(),
    }
}

/// Optional+computed attribute without a default: null in config keeps the
/// prior value (or unknown when there is none).
pub fn or_prior<T: Clone>(config: &Value<T>, prior: Option<&Value<T>>) -> Value<T> {
    match (config, prior) {
        (Value::Null, Some(prior)) => prior.clone(),
        (Value::Null, None) => Value::Unknown,
        (other, _) => other.clone(),
    }
}

/// Sleeps for `STANDIN_PROVIDER_READ_DELAY_SECONDS` when it is set.
pub async fn read_delay() -> Res<()> {
    let Ok(raw) = std::env::var(READ_DELAY_ENV) else {
        return Ok(());
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(());
    }
    let seconds: f64 = raw.parse().map_err(|_| {
        Failure::new(format!(
            "{READ_DELAY_ENV}={raw:?} is not a number of seconds"
        ))
    })?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(Failure::new(format!(
            "{READ_DELAY_ENV}={raw:?} must be a non-negative number of seconds"
        )));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    Ok(())
}

/// Records one read of `resource_type` `id` in the file named by
/// `STANDIN_PROVIDER_READ_LOG`, when it is set. A log that cannot be written
/// fails the read: a count that silently misses reads would prove nothing.
pub fn log_read(resource_type: &str, id: &str) -> Res<()> {
    match std::env::var_os(READ_LOG_ENV) {
        Some(path) if !path.is_empty() => {
            append_read(std::path::Path::new(&path), resource_type, id)
        }
        _ => Ok(()),
    }
}

/// Appends `<type>\t<id>\n` in one `write` on a file opened for appending:
/// terraform runs one provider process per workspace and a scan runs
/// workspaces in parallel, and O_APPEND keeps their lines whole and apart.
pub fn append_read(path: &std::path::Path, resource_type: &str, id: &str) -> Res<()> {
    use std::io::Write;
    let line = format!("{resource_type}\t{}\n", id.replace(['\t', '\n'], " "));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .map_err(|e| {
            Failure::new(format!(
                "{READ_LOG_ENV}: cannot append to {}: {e}",
                path.display()
            ))
        })
}

/// Schema attribute shorthand.
pub fn attr(
    attr_type: AttributeType,
    constraint: AttributeConstraint,
    description: &str,
) -> Attribute {
    Attribute {
        attr_type,
        description: Description::plain(description),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

pub fn sensitive(mut attribute: Attribute) -> Attribute {
    attribute.sensitive = true;
    attribute
}

pub fn string_map() -> AttributeType {
    AttributeType::Map(Box::new(AttributeType::String))
}

pub fn tags_attributes(attributes: &mut HashMap<String, Attribute>) {
    attributes.insert(
        "tags".into(),
        attr(
            string_map(),
            AttributeConstraint::Optional,
            "Tags to assign to the resource.",
        ),
    );
    attributes.insert(
        "tags_all".into(),
        attr(
            string_map(),
            AttributeConstraint::Computed,
            "All tags of the resource (equal to `tags`: the stand-in has no `default_tags`).",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_changes_splits_removals_and_upserts() {
        let (removed, upserted) = tag_changes(
            &map(&[("a", "1"), ("b", "2"), ("c", "3")]),
            &map(&[("a", "1"), ("b", "20"), ("d", "4")]),
        );
        assert_eq!(removed, vec!["c".to_string()]);
        assert_eq!(upserted, map(&[("b", "20"), ("d", "4")]));
    }

    #[test]
    fn empty_aws_tags_keep_the_prior_spelling() {
        assert_eq!(tags_after_read(&Value::Null, &BTreeMap::new()), Value::Null);
        assert_eq!(
            tags_after_read(&Value::Value(BTreeMap::new()), &BTreeMap::new()),
            Value::Value(BTreeMap::new())
        );
        assert_eq!(
            tags_after_read(&Value::Null, &map(&[("k", "v")])),
            to_str_map(map(&[("k", "v")]))
        );
    }

    #[test]
    fn tags_all_follows_tags() {
        assert_eq!(plan_tags_all(&Value::Null), Value::Value(BTreeMap::new()));
        let mut unknown = BTreeMap::new();
        unknown.insert("k".to_string(), Value::Unknown);
        assert_eq!(plan_tags_all(&Value::Value(unknown)), Value::Unknown);
    }

    #[test]
    fn reads_are_appended_one_whole_line_each_even_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("reads.log");
        std::fs::write(&log, "aws_s3_bucket\tearlier\n").unwrap();
        std::thread::scope(|scope| {
            for t in 0..8 {
                let log = &log;
                scope.spawn(move || {
                    for i in 0..200 {
                        append_read(log, "aws_db_instance", &format!("db-{t}-{i}")).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 8 * 200);
        assert_eq!(
            lines[0], "aws_s3_bucket\tearlier",
            "appended, not truncated"
        );
        let mut ids: Vec<&str> = lines[1..]
            .iter()
            .map(|l| l.strip_prefix("aws_db_instance\t").expect(l))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 8 * 200, "every read once, none torn");
    }

    #[test]
    fn an_id_cannot_forge_a_second_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("reads.log");
        append_read(&log, "aws_s3_bucket", "a\nb\tc").unwrap();
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "aws_s3_bucket\ta b c\n"
        );
    }

    #[test]
    fn an_unwritable_read_log_fails_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let failure = append_read(&dir.path().join("missing/reads.log"), "aws_s3_bucket", "b")
            .expect_err("no such folder");
        assert!(
            failure
                .summary
                .starts_with("STANDIN_PROVIDER_READ_LOG: cannot append to "),
            "{failure:?}"
        );
    }

    #[test]
    fn defaults_and_prior_values() {
        assert_eq!(with_default(&Value::Null, false), Value::Value(false));
        assert_eq!(with_default(&Value::Value(true), false), Value::Value(true));
        assert_eq!(or_prior::<i64>(&Value::Null, None), Value::Unknown);
        assert_eq!(
            or_prior(&Value::Null, Some(&Value::Value(5))),
            Value::Value(5)
        );
        assert_eq!(
            or_prior(&Value::Value(6), Some(&Value::Value(5))),
            Value::Value(6)
        );
    }
}
