//! Property tests: no input, however malformed, makes the parsers or the
//! analyzer panic; and sensitive values never come out, whatever the shape.

use drift_core::drift::diff::{changed_attributes, changed_attributes_raw, Masks, TextMasks};
use drift_core::drift::{analyze, rules::RuleSet};
use drift_core::plan;
use drift_core::plan::RawJson;
use drift_core::report::render::{render, Format};
use drift_core::report::{build_report, ReportIdentity, RunFacts, WorkspaceInfo};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Keys Terraform's JSON uses, so that generated documents reach deep code paths.
const KEYS: &[&str] = &[
    "format_version",
    "plan_format_version",
    "terraform_version",
    "resource_drift",
    "resource_changes",
    "planned_values",
    "prior_state",
    "values",
    "root_module",
    "child_modules",
    "resources",
    "address",
    "module_address",
    "mode",
    "type",
    "name",
    "provider_name",
    "change",
    "actions",
    "before",
    "after",
    "after_unknown",
    "before_sensitive",
    "after_sensitive",
    "replace_paths",
    "action_reason",
    "previous_address",
    "relevant_attributes",
    "resource",
    "attribute",
    "checks",
    "status",
    "instances",
    "problems",
    "errored",
    "severity",
    "summary",
    "detail",
    "ingress",
    "cidr_blocks",
    "tags",
    "importing",
    "@level",
    "@message",
    "diagnostic",
    "hook",
    "changes",
    "ui",
    "terraform",
    "addr",
];

const WORDS: &[&str] = &[
    "update",
    "delete",
    "create",
    "no-op",
    "read",
    "managed",
    "data",
    "1.2",
    "0.1",
    "2.0",
    "aws_s3_bucket",
    "aws_security_group",
    "aws_db_instance",
    "0.0.0.0/0",
    "::/0",
    "resource_drift",
    "planned_change",
    "version",
    "error",
    "tags",
    "module.a.aws_vpc.v[\"k\"]",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn analyze_bytes(bytes: &[u8]) {
    if let Ok(doc) = plan::parse_slice("fuzz", bytes) {
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        let report = build_report(
            ReportIdentity::new(),
            WorkspaceInfo::default(),
            analysis,
            RunFacts::default(),
        );
        for format in [Format::Json, Format::Table, Format::Markdown] {
            let _ = render(&report, format);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_documents_never_panic(value in json_value()) {
        analyze_bytes(value.to_string().as_bytes());
        analyze_bytes(serde_json::to_string_pretty(&value).unwrap().as_bytes());
    }

    #[test]
    fn arbitrary_json_lines_never_panic(lines in prop::collection::vec(json_value(), 1..6)) {
        let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
        analyze_bytes(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        analyze_bytes(&bytes);
    }

    #[test]
    fn sensitive_values_stay_hidden_whatever_the_shape(
        before in json_value(),
        after in json_value(),
        actions in prop::sample::select(vec![vec!["update"], vec!["delete", "create"], vec!["create"]]),
    ) {
        let secret = "s3cr3t-value-0042";
        let plant = |v: &Value| json!({"password": secret, "nested": [{"token": secret}], "other": v});
        let plan = json!({
            "format_version": "1.2",
            "resource_drift": [{
                "address": "aws_db_instance.x", "mode": "managed", "type": "aws_db_instance", "name": "x",
                "change": {
                    "actions": actions,
                    "before": plant(&before), "after": plant(&after),
                    "before_sensitive": {"password": true, "nested": true},
                    "after_sensitive": {"password": true, "nested": [{"token": true}]},
                    "after_unknown": {}
                }
            }]
        });
        let doc = plan::parse_slice("p.json", plan.to_string().as_bytes()).unwrap();
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        let report = build_report(ReportIdentity::new(), WorkspaceInfo::default(), analysis, RunFacts::default());
        for format in [Format::Json, Format::Table, Format::Markdown] {
            prop_assert!(!render(&report, format).contains(secret));
        }
    }

    /// The analyzer diffs Terraform's text, parsing only what differs; it must
    /// find exactly what a diff of the parsed values finds, masks included.
    #[test]
    fn diffing_text_finds_what_diffing_values_finds(
        shared in json_value(),
        before in json_value(),
        after in json_value(),
        unknown in json_value(),
        before_sensitive in json_value(),
        after_sensitive in json_value(),
    ) {
        let before = json!({"shared": shared, "tags": {"same": shared, "x": before}, "x": before});
        let after = json!({"shared": shared, "tags": {"same": shared, "x": after}, "x": after});
        let mask_sets = [
            (json!({}), json!({}), json!({})),
            (json!({"x": true, "tags": {"same": true}}), json!({"tags": true}), json!({"x": {"k": true}})),
            (json!(true), json!(true), json!(false)),
            (unknown, before_sensitive, after_sensitive),
        ];
        for (unknown, before_sensitive, after_sensitive) in &mask_sets {
            let masks = Masks {
                after_unknown: Some(unknown),
                before_sensitive: Some(before_sensitive),
                after_sensitive: Some(after_sensitive),
            };
            let raw = |v: &Value| RawJson::parse(&v.to_string()).unwrap();
            let (unknown, before_sensitive, after_sensitive) = (raw(unknown), raw(before_sensitive), raw(after_sensitive));
            let text_masks = TextMasks {
                after_unknown: &unknown,
                before_sensitive: &before_sensitive,
                after_sensitive: &after_sensitive,
            };
            for (b, a) in [(&before, &after), (&before, &before), (&Value::Null, &after), (&before, &Value::Null)] {
                prop_assert_eq!(
                    changed_attributes_raw(&raw(b), &raw(a), text_masks),
                    changed_attributes(b, a, masks)
                );
            }
        }
    }
}
