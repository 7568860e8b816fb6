/*!
Who changed it: the pure half of CloudTrail attribution.

A drift finding (`outside_terraform`) says *what* changed; CloudTrail's
management events say *who*. This module holds everything about that
question that needs no network:

* [`lookup_keys`]: the identifiers CloudTrail's `LookupEvents` is asked
  about (`ResourceName`), taken from the prior state the plan holds for the
  resource (the drift entry's `before`): its `id`, `arn`, `name`, and
  `identifier`; a security-group rule maps to its parent security group, an
  S3 bucket sub-resource (policy, versioning, public access block, ...) to
  its bucket;
* [`parse_event`]: one `CloudTrailEvent` JSON document (as `LookupEvents`
  returns it) into a [`TrailEvent`], its `userIdentity` resolved to a person
  ([`resolve_identity`]): for an assumed role (IAM Identity Center's
  `AWSReservedSSO_*` roles included) the session name, keeping the raw ARN,
  the issuing role and the `principalId` beside it;
* [`choose`]: of the events found, the latest *write* event at or before the
  check, inside the [`Window`], not made by a principal of the ignore list
  ([`IgnorePrincipals`]: the Terraform and drift roles themselves), as an
  [`Attribution`]: a [`ChangedBy`], or [`Unknown`] with an [`UnknownReason`].

The lookup itself (rate limits, retries, the time budget) is an edge:
`drift_runner::attribution`.

```
use drift_core::attribution::{choose, parse_event, Attribution, IgnorePrincipals, Window};

let json = r#"{"eventVersion":"1.08","eventTime":"2026-11-29T10:00:00Z",
  "eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress",
  "eventID":"e1","readOnly":false,"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2",
  "userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice",
    "arn":"arn:aws:sts::123456789012:assumed-role/Admin/alice"}}"#;
let event = parse_event(json, None).unwrap();
let window = Window::new(None, "2026-11-30T00:00:00Z".parse().unwrap());
match choose(&[event], &window, &IgnorePrincipals::default()) {
    Attribution::ChangedBy(by) => assert_eq!(by.principal, "alice"),
    other => panic!("{other:?}"),
}
```
*/

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::RawJson;

/// How far back CloudTrail's event history (`LookupEvents`) reaches.
pub const MAX_LOOKBACK_DAYS: i64 = 90;

/// At most this many identifiers are looked up per finding: each costs a
/// `LookupEvents` call, of which an account and region get two a second.
pub const MAX_KEYS_PER_FINDING: usize = 3;

/// Who made a drift, or why that is not known: a finding's `changed_by`.
/// Serialized as the `ChangedBy` object itself, or as
/// `{"unknown": "<reason>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Attribution {
    /// The CloudTrail write event that made the change.
    ChangedBy(Box<ChangedBy>),
    /// No event could be named.
    Unknown(Unknown),
}

impl Attribution {
    /// `{"unknown": reason}`.
    pub fn unknown(reason: UnknownReason) -> Attribution {
        Attribution::Unknown(Unknown { unknown: reason })
    }
}

/// Why no event is named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unknown {
    /// The reason.
    pub unknown: UnknownReason,
}

/// Why a finding's author is unknown.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    /// CloudTrail holds no write event for the resource, by anyone but the
    /// ignored principals, between the last clean check and this one.
    NoEventInWindow,
    /// `cloudtrail:LookupEvents` was refused.
    AccessDenied,
    /// CloudTrail kept throttling the lookup after the retries.
    Throttled,
    /// No event found, and the window reached back the 90 days CloudTrail
    /// keeps: the change may be older.
    #[serde(rename = "older_than_90_days")]
    OlderThan90Days,
    /// The check's time budget ran out before this finding was looked up.
    SkippedTimeBudget,
    /// No AWS credentials to look up with.
    NoCredentials,
    /// Not looked up: the prior state holds no identifier for the resource
    /// (a plan stream has no values), or the lookup failed otherwise.
    NotAttempted,
}

impl UnknownReason {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownReason::NoEventInWindow => "no_event_in_window",
            UnknownReason::AccessDenied => "access_denied",
            UnknownReason::Throttled => "throttled",
            UnknownReason::OlderThan90Days => "older_than_90_days",
            UnknownReason::SkippedTimeBudget => "skipped_time_budget",
            UnknownReason::NoCredentials => "no_credentials",
            UnknownReason::NotAttempted => "not_attempted",
        }
    }
}

/// The CloudTrail write event that made a change, and who made it. Every
/// text here comes from the cloud: renderers treat it as untrusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangedBy {
    /// The caller's ARN as CloudTrail recorded it (`userIdentity.arn`), e.g.
    /// `arn:aws:sts::123456789012:assumed-role/Admin/alice`; null for an AWS
    /// service.
    pub principal_arn: Option<String>,
    /// The person (or service) behind it: an assumed role's session name
    /// (for IAM Identity Center, the user), an IAM user's name, `root`, or
    /// the AWS service that acted.
    pub principal: String,
    /// The role session name, for assumed roles.
    pub session: Option<String>,
    /// The role (or user) that issued the session
    /// (`sessionContext.sessionIssuer.arn`).
    pub issuer_arn: Option<String>,
    /// `userIdentity.principalId`.
    pub principal_id: Option<String>,
    /// `userIdentity.type`: `AssumedRole`, `IAMUser`, `Root`, `AWSService`,
    /// `FederatedUser`, ...; `SSO` for an IAM Identity Center session.
    pub identity_type: String,
    /// The API call, e.g. `AuthorizeSecurityGroupIngress`.
    pub event_name: String,
    /// The service called, e.g. `ec2.amazonaws.com`.
    pub event_source: String,
    /// When, RFC 3339 in UTC.
    pub event_time: String,
    /// CloudTrail's event id.
    pub event_id: String,
    /// `sourceIPAddress`, when present.
    pub source_ip: Option<String>,
    /// `userAgent`, when present.
    pub user_agent: Option<String>,
}

/// A caller, resolved from an event's `userIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `userIdentity.arn`.
    pub principal_arn: Option<String>,
    /// The person or service.
    pub principal: String,
    /// The role session name.
    pub session: Option<String>,
    /// The session's issuer.
    pub issuer_arn: Option<String>,
    /// `userIdentity.principalId`.
    pub principal_id: Option<String>,
    /// `userIdentity.type`, or `SSO` for IAM Identity Center sessions.
    pub identity_type: String,
}

/// One management event, as attribution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEvent {
    /// `eventID`.
    pub event_id: String,
    /// `eventName`.
    pub event_name: String,
    /// `eventSource`.
    pub event_source: String,
    /// `eventTime`.
    pub event_time: DateTime<Utc>,
    /// Whether the call changes nothing.
    pub read_only: bool,
    /// Who called.
    pub identity: Identity,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not a JSON object.
    #[error("the CloudTrail event is not a JSON object")]
    NotAnObject,
    /// A required member is missing or of the wrong type.
    #[error("the CloudTrail event has no usable `{0}`")]
    Missing(&'static str),
}

/// Reads one `CloudTrailEvent` document. `read_only` is `LookupEvents`'
/// own `ReadOnly` attribute of the event (`"true"`/`"false"`), which wins
/// over the document's `readOnly`; when neither says, calls named
/// `Describe*`, `Get*`, `List*`, `Head*` or `Lookup*` are read-only.
pub fn parse_event(json: &str, read_only: Option<&str>) -> Result<TrailEvent, EventError> {
    let value: Value = serde_json::from_str(json).map_err(|_| EventError::NotAnObject)?;
    let object = value.as_object().ok_or(EventError::NotAnObject)?;
    let text = |key: &'static str| object.get(key).and_then(Value::as_str);
    let required = |key: &'static str| {
        text(key)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or(EventError::Missing(key))
    };
    let event_name = required("eventName")?;
    let event_time = text("eventTime")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or(EventError::Missing("eventTime"))?;
    let read_only = match read_only.map(str::to_ascii_lowercase).as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => match object.get("readOnly") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => ["Describe", "Get", "List", "Head", "Lookup"]
                .iter()
                .any(|p| event_name.starts_with(p)),
        },
    };
    let identity = resolve_identity(object.get("userIdentity").unwrap_or(&Value::Null));
    Ok(TrailEvent {
        event_id: required("eventID")?,
        event_source: text("eventSource").unwrap_or_default().to_string(),
        event_name,
        event_time,
        read_only,
        identity,
        source_ip: text("sourceIPAddress").map(str::to_string),
        user_agent: text("userAgent").map(str::to_string),
    })
}

/// Resolves a `userIdentity` element (CloudTrail's documented shapes:
/// `AssumedRole`, `IAMUser`, `Root`, `AWSService`, `FederatedUser`,
/// `IdentityCenterUser`, ...) to the person or service behind it.
pub fn resolve_identity(user: &Value) -> Identity {
    let text = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let kind = text(user, "type").unwrap_or_else(|| "Unknown".to_string());
    let arn = text(user, "arn");
    let principal_id = text(user, "principalId");
    let issuer = user
        .get("sessionContext")
        .and_then(|c| c.get("sessionIssuer"))
        .unwrap_or(&Value::Null);
    let issuer_arn = text(issuer, "arn");
    let after = |arn: &Option<String>, marker: &str| {
        arn.as_deref()
            .and_then(|a| a.split_once(marker))
            .map(|(_, rest)| rest.to_string())
    };
    let mut identity = Identity {
        principal_arn: arn.clone(),
        principal: String::new(),
        session: None,
        issuer_arn: issuer_arn.clone(),
        principal_id: principal_id.clone(),
        identity_type: kind.clone(),
    };
    match kind.as_str() {
        "AssumedRole" => {
            // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
            let (role, session) = match after(&arn, ":assumed-role/") {
                Some(rest) => match rest.split_once('/') {
                    Some((role, session)) => (Some(role.to_string()), Some(session.to_string())),
                    None => (Some(rest), None),
                },
                None => (None, None),
            };
            let session = session.or_else(|| {
                principal_id
                    .as_deref()
                    .and_then(|p| p.split_once(':'))
                    .map(|(_, s)| s.to_string())
            });
            let role = role.or_else(|| text(issuer, "userName"));
            if role
                .as_deref()
                .is_some_and(|r| r.starts_with("AWSReservedSSO_"))
            {
                identity.identity_type = "SSO".to_string();
            }
            identity.principal = session
                .clone()
                .or(role)
                .or_else(|| arn.clone())
                .unwrap_or_else(|| "unknown".to_string());
            identity.session = session;
        }
        "IAMUser" => {
            identity.principal = text(user, "userName")
                .or_else(|| after(&arn, ":user/"))
                .or_else(|| principal_id.clone())
                .unwrap_or_else(|| "unknown".to_string());
        }
        "Root" => identity.principal = "root".to_string(),
        "AWSService" => {
            identity.principal = text(user, "invokedBy").unwrap_or_else(|| "AWS".to_string());
        }
        "FederatedUser" => {
            // arn:aws:sts::ACCOUNT:federated-user/NAME
            identity.principal = after(&arn, ":federated-user/")
                .or_else(|| {
                    principal_id
                        .as_deref()
                        .and_then(|p| p.split_once(':'))
                        .map(|(_, s)| s.to_string())
                })
                .unwrap_or_else(|| "unknown".to_string());
        }
        _ => {
            identity.principal = text(user, "userName")
                .or_else(|| {
                    user.get("onBehalfOf")
                        .and_then(|o| o.get("userId"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .or_else(|| arn.clone())
                .or_else(|| principal_id.clone())
                .or_else(|| text(user, "invokedBy"))
                .unwrap_or_else(|| "unknown".to_string());
        }
    }
    identity
}

/// Principals whose events are not attributions: the Terraform and drift
/// roles themselves. Each pattern is a glob (`*`, `?`) matched against the
/// caller's ARN, the session's issuer ARN and the resolved principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnorePrincipals {
    patterns: Vec<String>,
}

impl IgnorePrincipals {
    /// From patterns; empty ones are dropped.
    pub fn new<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        IgnorePrincipals {
            patterns: patterns
                .into_iter()
                .map(Into::into)
                .filter(|p: &String| !p.trim().is_empty())
                .collect(),
        }
    }

    /// Adds patterns.
    pub fn extend<I, S>(&mut self, patterns: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.patterns
            .extend(IgnorePrincipals::new(patterns).patterns);
    }

    /// The patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `identity` is one of the ignored principals. A pattern that
    /// is an IAM role ARN (`arn:aws:iam::ACCOUNT:role/[PATH/]NAME`) also
    /// matches that role's sessions (`arn:aws:sts::ACCOUNT:assumed-role/NAME/*`),
    /// which is what events record when their session issuer is missing.
    pub fn ignores(&self, identity: &Identity) -> bool {
        let candidates = [
            identity.principal_arn.as_deref(),
            identity.issuer_arn.as_deref(),
            Some(identity.principal.as_str()),
        ];
        self.patterns.iter().any(|pattern| {
            let glob = wildmatch::WildMatch::new(pattern);
            let sessions = role_sessions(pattern).map(|p| wildmatch::WildMatch::new(&p));
            candidates
                .iter()
                .flatten()
                .any(|c| glob.matches(c) || sessions.as_ref().is_some_and(|s| s.matches(c)))
        })
    }
}

/// `arn:P:sts::A:assumed-role/NAME/*` for a role ARN pattern
/// `arn:P:iam::A:role/[PATH/]NAME`.
fn role_sessions(pattern: &str) -> Option<String> {
    let (head, role) = pattern.split_once(":role/")?;
    let (prefix, account) = head.rsplit_once("::")?;
    let partition = prefix.strip_suffix(":iam")?;
    let name = role.rsplit('/').next()?;
    Some(format!("{partition}:sts::{account}:assumed-role/{name}/*"))
}

/// The time a drift can have been made in: from the workspace's last clean
/// check (or 90 days back, whichever is later) to this check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The earliest event time considered.
    pub start: DateTime<Utc>,
    /// The check's own time: later events are not the drift's.
    pub end: DateTime<Utc>,
    /// Whether `start` was cut at CloudTrail's 90 days (no clean check, or
    /// an older one): then finding nothing may mean the change is older.
    pub clipped: bool,
}

impl Window {
    /// The window from `last_clean` (when known) to `now`, at most 90 days.
    pub fn new(last_clean: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Window {
        let floor = now - Duration::days(MAX_LOOKBACK_DAYS);
        match last_clean {
            Some(t) if t > floor && t <= now => Window {
                start: t,
                end: now,
                clipped: false,
            },
            _ => Window {
                start: floor,
                end: now,
                clipped: true,
            },
        }
    }

    /// Whether `t` lies inside.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t <= self.end
    }
}

/// Of `events` (any order, duplicates allowed), the latest write event
/// inside `window` not made by an ignored principal; else why none.
pub fn choose(events: &[TrailEvent], window: &Window, ignore: &IgnorePrincipals) -> Attribution {
    let best = events
        .iter()
        .filter(|e| !e.read_only)
        .filter(|e| window.contains(e.event_time))
        .filter(|e| !ignore.ignores(&e.identity))
        .max_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
    match best {
        Some(e) => Attribution::ChangedBy(Box::new(changed_by(e))),
        None if window.clipped => Attribution::unknown(UnknownReason::OlderThan90Days),
        None => Attribution::unknown(UnknownReason::NoEventInWindow),
    }
}

/// The report's view of an event.
pub fn changed_by(e: &TrailEvent) -> ChangedBy {
    ChangedBy {
        principal_arn: e.identity.principal_arn.clone(),
        principal: e.identity.principal.clone(),
        session: e.identity.session.clone(),
        issuer_arn: e.identity.issuer_arn.clone(),
        principal_id: e.identity.principal_id.clone(),
        identity_type: e.identity.identity_type.clone(),
        event_name: e.event_name.clone(),
        event_source: e.event_source.clone(),
        event_time: e.event_time.to_rfc3339_opts(SecondsFormat::Secs, true),
        event_id: e.event_id.clone(),
        source_ip: e.source_ip.clone(),
        user_agent: e.user_agent.clone(),
    }
}

/// Security-group rule resources, whose events name the parent group.
const SECURITY_GROUP_RULES: [&str; 3] = [
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
];

/// The identifiers CloudTrail is asked about for a resource of
/// `resource_type` whose prior state is `before`, most specific first, each
/// once, at most [`MAX_KEYS_PER_FINDING`]. Empty when the state holds none
/// (a stream has no values).
pub fn lookup_keys(resource_type: &str, before: &RawJson) -> Vec<String> {
    let member = |key: &str| -> Option<String> {
        let text = before.member(key)?;
        match serde_json::from_str::<Value>(text).ok()? {
            Value::String(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    };
    let names: &[&str] = if SECURITY_GROUP_RULES.contains(&resource_type) {
        &["security_group_id"]
    } else if resource_type.starts_with("aws_s3_bucket_") {
        &["bucket"]
    } else {
        &["id", "arn", "name", "identifier", "bucket"]
    };
    let mut keys: Vec<String> = Vec::new();
    for name in names {
        if let Some(value) = member(name) {
            if !keys.contains(&value) {
                keys.push(value);
            }
        }
    }
    keys.truncate(MAX_KEYS_PER_FINDING);
    keys
}

#[cfg(test)]
mod tests;
