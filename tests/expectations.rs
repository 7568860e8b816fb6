//! Hand-checked expectations on real Terraform output: drift, moved, replace,
//! delete, sensitive, unknown, module and stream cases. Each expectation was
//! read off the fixture by a person, not produced by this tool.

mod common;

use drift_core::drift::rules::{AutoRemediation, RuleSet, Severity};
use drift_core::drift::{analyze, ChangeOrigin, DriftItem, Verdict};
use drift_core::plan;
use drift_core::report::{build_report, Report, ReportIdentity, RunFacts, Status, WorkspaceInfo};
use serde_json::json;

fn report(fixture: &str) -> Report {
    let path = common::shared_fixtures().join(fixture);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = plan::parse_slice(fixture, &bytes).unwrap_or_else(|e| panic!("{e}"));
    build_report(
        ReportIdentity::new(),
        WorkspaceInfo::default(),
        analyze(&[&doc], &RuleSet::embedded()),
        RunFacts::default(),
    )
}

fn item<'a>(report: &'a Report, source: ChangeOrigin, address: &str) -> &'a DriftItem {
    report
        .drift
        .iter()
        .find(|i| i.source == source && i.address == address)
        .unwrap_or_else(|| panic!("no {source:?} item {address} in {:#?}", report.drift))
}

fn paths(item: &DriftItem) -> Vec<&str> {
    item.changed_attributes
        .iter()
        .map(|a| a.path.as_str())
        .collect()
}

#[test]
fn drift_is_kept_apart_from_pending_changes() {
    // show-json/drift: should_refresh drifted ami refresh-me -> refreshed; the plan
    // then wants ami = baz on both resources.
    let r = report("show-json/drift/output.json");
    assert_eq!(r.status, Status::Drift);
    assert_eq!(
        (r.summary.drifted_resources, r.summary.pending_changes),
        (1, 2)
    );
    let drift = item(
        &r,
        ChangeOrigin::OutsideTerraform,
        "test_instance.should_refresh",
    );
    assert_eq!(drift.actions, vec!["update"]);
    assert_eq!(drift.changed_attributes[0].path, "ami");
    assert_eq!(drift.changed_attributes[0].before, json!("refresh-me"));
    assert_eq!(drift.changed_attributes[0].after, json!("refreshed"));
    // The apply overwrites the drift, with a value that is new code too
    // (baz, not the refresh-me it had): reverted, and a pending change.
    assert_eq!(drift.verdict, Some(Verdict::RevertedByApply));
    let pending = item(
        &r,
        ChangeOrigin::ConfigChange,
        "test_instance.should_refresh",
    );
    assert_eq!(pending.verdict, Some(Verdict::ConfigChange));
    assert_eq!(pending.changed_attributes[0].before, json!("refreshed"));
    assert_eq!(pending.changed_attributes[0].after, json!("baz"));
    assert_eq!(r.summary.total_resources, Some(2));
}

#[test]
fn refresh_only_drift_is_reported_and_nothing_is_pending() {
    let r = report("show-json/equivalence-drift_refresh_only/output.json");
    assert_eq!(r.status, Status::Drift);
    let drift = item(
        &r,
        ChangeOrigin::OutsideTerraform,
        "tfcoremock_simple_resource.drift",
    );
    assert_eq!(paths(drift), vec!["string"]);
    assert_eq!(drift.changed_attributes[0].after, json!("Hello, drift!"));
    assert_eq!(r.summary.pending_changes, 0);
    // A refresh-only plan lists no planned changes: no verdict can be given.
    assert_eq!(drift.verdict, None);
    assert_eq!(r.summary.by_verdict, Default::default());
}

#[test]
fn moved_resources_keep_their_previous_address_and_relevant_attributes() {
    let r = report("show-json/equivalence-moved_with_drift/output.json");
    let drift = item(
        &r,
        ChangeOrigin::OutsideTerraform,
        "tfcoremock_simple_resource.base_after",
    );
    assert_eq!(
        drift.previous_address.as_deref(),
        Some("tfcoremock_simple_resource.base_before")
    );
    assert_eq!(drift.relevant_attributes, vec!["string"]);
    assert_eq!(drift.changed_attributes[0].after, json!("Hello, drift!"));

    // A move with no other change is a refactor, not drift.
    let r = report("show-json/equivalence-moved_with_refresh_only/output.json");
    assert_eq!(r.status, Status::Clean);
    assert!(r.drift.is_empty());
}

#[test]
fn replacements_name_the_attributes_that_force_them() {
    let r = report("show-json/equivalence-local_provider_update/output.json");
    let replace = item(&r, ChangeOrigin::ConfigChange, "local_file.local_file");
    assert_eq!(replace.actions, vec!["delete", "create"]);
    assert_eq!(
        replace.action_reason.as_deref(),
        Some("replace_because_cannot_update")
    );
    assert_eq!(replace.replace_paths, vec!["content"]);
    assert_eq!(replace.severity, Severity::High);
    assert_eq!(replace.rule, "delete-or-replace");
    assert!(
        replace
            .remediation
            .suggestion
            .contains("because of content"),
        "{}",
        replace.remediation.suggestion
    );
    assert_eq!(r.summary.by_action.get("replace"), Some(&1));

    let r = report("show-json/equivalence-replace_within_list/output.json");
    let replace = item(&r, ChangeOrigin::ConfigChange, "tfcoremock_list.list");
    assert_eq!(replace.replace_paths, vec!["list[1].id"]);
    assert_eq!(paths(replace), vec!["list[1].id"]);
}

#[test]
fn deletions_outside_and_inside_terraform() {
    let r = report("show-json/basic-delete/output.json");
    let delete = item(&r, ChangeOrigin::ConfigChange, "test_instance.test-delete");
    assert_eq!(
        delete.action_reason.as_deref(),
        Some("delete_because_no_resource_config")
    );
    assert_eq!(delete.severity, Severity::High);
    assert!(delete.changed_attributes.is_empty());

    // The redacted cloud plan records a resource deleted outside Terraform.
    let r = report("cloud-redacted-plan/plan-json-full/plan-redacted.json");
    let gone = item(
        &r,
        ChangeOrigin::OutsideTerraform,
        "tfcoremock_simple_resource.example",
    );
    assert_eq!(gone.actions, vec!["delete"]);
    assert!(gone
        .remediation
        .suggestion
        .contains("deleted outside Terraform"));
    assert_eq!(r.status, Status::Drift);
}

#[test]
fn sensitive_attributes_are_redacted_and_flagged() {
    let r = report("show-json/show-json-sensitive/output.json");
    assert_eq!(r.summary.pending_changes, 3);
    let created = item(&r, ChangeOrigin::ConfigChange, "test_instance.test[0]");
    let password = created
        .changed_attributes
        .iter()
        .find(|a| a.path == "password")
        .unwrap();
    assert!(password.sensitive);
    assert_eq!(password.after, json!("(sensitive value)"));
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("\"secret\""), "the password leaked");

    // Only the changed sensitive attribute of the replaced file is redacted.
    let r = report("show-json/equivalence-local_provider_update/output.json");
    let content =
        &item(&r, ChangeOrigin::ConfigChange, "local_file.local_file").changed_attributes[0];
    assert!(!content.sensitive);
}

#[test]
fn unknown_values_are_marked_not_guessed() {
    let r = report("show-json/basic-create/output.json");
    let unknown: Vec<_> = r
        .drift
        .iter()
        .flat_map(|i| {
            i.changed_attributes
                .iter()
                .map(move |a| (i.address.as_str(), a))
        })
        .filter(|(_, a)| a.unknown)
        .collect();
    assert!(!unknown.is_empty());
    assert!(unknown.iter().all(|(_, a)| a.after.is_null()));
    assert!(unknown
        .iter()
        .any(|(addr, a)| *addr == "test_instance.test[0]" && a.path == "id"));
}

#[test]
fn module_addresses_are_split_out() {
    let r = report("show-json/nested-modules/output.json");
    let created = item(
        &r,
        ChangeOrigin::ConfigChange,
        "module.my_module.module.more.test_instance.test",
    );
    assert_eq!(
        created.module.as_deref(),
        Some("module.my_module.module.more")
    );
    assert_eq!(created.resource_type, "test_instance");
    assert_eq!(created.name, "test");

    let r = report("show-json/modules/output.json");
    assert!(r
        .drift
        .iter()
        .any(|i| i.module.as_deref() == Some("module.module_test_foo")));
}

#[test]
fn streams_report_drift_and_moves_without_values() {
    let r = report("plan-stream/golit-TestOperationJSON_planDriftWithMove.jsonl");
    assert_eq!(r.status, Status::Drift);
    let deleted = item(&r, ChangeOrigin::OutsideTerraform, "test_resource.beep");
    assert_eq!(deleted.actions, vec!["delete"]);
    let moved = item(&r, ChangeOrigin::OutsideTerraform, "test_resource.boop");
    assert_eq!(
        moved.previous_address.as_deref(),
        Some("test_resource.blep")
    );
    // The planned "move" is a refactor, not a pending change.
    assert_eq!(r.summary.pending_changes, 0);

    let r = report("plan-stream/cloud-plan-json-error.jsonl");
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.errors[0].summary, "Unsupported block type");
}

#[test]
fn stateful_deletion_outside_terraform_is_critical_and_blocked() {
    let plan = json!({
        "format_version": "1.2",
        "resource_drift": [{
            "address": "aws_db_instance.orders", "mode": "managed", "type": "aws_db_instance", "name": "orders",
            "change": {"actions": ["delete"], "before": {"identifier": "orders", "password": "pw-12345"},
                       "after": null, "before_sensitive": {"password": true}, "after_sensitive": false}
        }]
    });
    let doc = plan::parse_slice("p.json", plan.to_string().as_bytes()).unwrap();
    let analysis = analyze(&[&doc], &RuleSet::embedded());
    let item = &analysis.items[0];
    assert_eq!(item.severity, Severity::Critical);
    assert_eq!(item.remediation.auto_remediation, AutoRemediation::Blocked);
    assert!(item
        .remediation
        .suggestion
        .starts_with("Manual review required"));
}
