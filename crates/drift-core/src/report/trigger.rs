//! Why a check ran: the worker event's optional `trigger`, copied as is into
//! the report (schema 1.3).
//!
//! `kind` is `schedule`, `manual` or `event`; an event check carries the
//! changes that caused it (at most [`MAX_EVENTS`], newest last, each naming
//! at most [`MAX_RESOURCES`] resources). The bounds are the worker event
//! schema's ([`crate::workspace::worker_event_schema`]); [`Trigger::faults`]
//! names every breach, as the event's other fields are checked.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most events a trigger carries.
pub const MAX_EVENTS: usize = 20;
/// Most resources one event names.
pub const MAX_RESOURCES: usize = 20;

/// What started a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// The scheduled run.
    Schedule,
    /// Someone started it.
    Manual,
    /// A change in the cloud (`events` say which).
    Event,
}

impl TriggerKind {
    /// The name used in events and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Schedule => "schedule",
            TriggerKind::Manual => "manual",
            TriggerKind::Event => "event",
        }
    }
}

/// One change that caused an event check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerEvent {
    /// The event's id (EventBridge's, or CloudTrail's `eventID`).
    pub id: String,
    /// Its source, e.g. `aws.ec2`.
    pub source: String,
    /// The API call or change, e.g. `AuthorizeSecurityGroupIngress`.
    pub name: String,
    /// Who made it (an ARN), or `unknown`.
    pub principal: String,
    /// When it happened (RFC 3339).
    pub time: String,
    /// The account it happened in.
    pub account_id: String,
    /// The region it happened in.
    pub region: String,
    /// The resource identifiers it names (at most 20).
    pub resources: Vec<String>,
}

impl TriggerEvent {
    /// Its `time`, when it is RFC 3339.
    pub fn parsed_time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Why this check ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// `schedule`, `manual` or `event`.
    pub kind: TriggerKind,
    /// The changes that caused an event check, at most 20, newest last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<TriggerEvent>>,
}

/// The bounds of one text field: (name, most bytes).
const TEXT_BOUNDS: [(&str, usize); 6] = [
    ("id", 256),
    ("source", 256),
    ("name", 256),
    ("principal", 2048),
    ("time", 64),
    ("region", 64),
];

impl Trigger {
    /// Every way this trigger breaks the contract's bounds, each naming the
    /// field (`trigger.events[3].id`, ...); empty when it is valid.
    pub fn faults(&self) -> Vec<String> {
        let mut faults = Vec::new();
        let events = self.events.as_deref().unwrap_or_default();
        if events.len() > MAX_EVENTS {
            faults.push(format!(
                "`trigger.events` has {} events, at most {MAX_EVENTS} are allowed",
                events.len()
            ));
        }
        if self.kind != TriggerKind::Event && !events.is_empty() {
            faults.push(format!(
                "`trigger.events` is only for `event` checks, not `{}`",
                self.kind.as_str()
            ));
        }
        for (i, event) in events.iter().enumerate() {
            let field = |name: &str| format!("`trigger.events[{i}].{name}`");
            for (name, max) in TEXT_BOUNDS {
                let value = match name {
                    "id" => &event.id,
                    "source" => &event.source,
                    "name" => &event.name,
                    "principal" => &event.principal,
                    "time" => &event.time,
                    _ => &event.region,
                };
                if value.len() > max {
                    faults.push(format!("{} is longer than {max} bytes", field(name)));
                }
            }
            if event.id.is_empty() {
                faults.push(format!("{} is empty", field("id")));
            }
            if !crate::workspace::is_account_id(&event.account_id) {
                faults.push(format!(
                    "{} is not a 12-digit account id",
                    field("account_id")
                ));
            }
            if event.resources.len() > MAX_RESOURCES {
                faults.push(format!(
                    "{} names {} resources, at most {MAX_RESOURCES} are allowed",
                    field("resources"),
                    event.resources.len()
                ));
            }
            if event.resources.iter().any(|r| r.len() > 2048) {
                faults.push(format!(
                    "{} has an identifier longer than 2048 bytes",
                    field("resources")
                ));
            }
        }
        faults
    }

    /// The newest event (the last), of an event check.
    pub fn newest(&self) -> Option<&TriggerEvent> {
        self.events.as_deref().and_then(<[_]>::last)
    }

    /// The oldest (first) event's time: `None` without events, an error
    /// with the text when it is not RFC 3339.
    pub fn oldest_time(&self) -> Option<Result<DateTime<Utc>, String>> {
        let events = self.events.as_deref()?;
        let oldest = events.first()?;
        Some(oldest.parsed_time().ok_or_else(|| oldest.time.clone()))
    }
}

/// The JSON Schema of an optional trigger, as the worker event has it: an
/// object or null, with the bounds [`Trigger::faults`] checks.
pub fn trigger_schema() -> serde_json::Value {
    let text = |max: usize| serde_json::json!({"type": "string", "maxLength": max});
    serde_json::json!({
        "anyOf": [
            {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "kind": {"enum": ["schedule", "manual", "event"]},
                    "events": {
                        "description": "The changes that caused an event check, at most 20, newest last.",
                        "type": "array",
                        "maxItems": MAX_EVENTS,
                        "items": {
                            "description": "One change that caused an event check.",
                            "type": "object",
                            "additionalProperties": false,
                            "properties": {
                                "id": {"type": "string", "minLength": 1, "maxLength": 256},
                                "source": text(256),
                                "name": text(256),
                                "principal": text(2048),
                                "time": text(64),
                                "account_id": {"type": "string", "pattern": "^[0-9]{12}$"},
                                "region": text(64),
                                "resources": {
                                    "type": "array",
                                    "maxItems": MAX_RESOURCES,
                                    "items": text(2048),
                                },
                            },
                            "required": ["id", "source", "name", "principal", "time", "account_id", "region", "resources"],
                        },
                    },
                },
                "required": ["kind"],
                // `events` only for event checks.
                "if": {"properties": {"kind": {"enum": ["schedule", "manual"]}}},
                "then": {"properties": {"events": {"maxItems": 0}}},
            },
            {"type": "null"},
        ]
    })
}
