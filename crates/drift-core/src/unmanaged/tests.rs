use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::drift::rules::RuleSet;
use crate::plan;

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_embedded_kinds_parse_and_name_each_terraform_type_once() {
    assert!(kinds().len() >= 7);
    let mut seen = std::collections::HashSet::new();
    for kind in kinds() {
        assert!(!kind.state_ids.is_empty(), "{}", kind.config_type);
        for t in &kind.terraform_types {
            assert!(seen.insert(t.clone()), "{t} is in two kinds");
        }
    }
    assert!(kind("AWS::IAM::Role").unwrap().account_wide);
    assert_eq!(
        kind_of_terraform_type("aws_default_security_group")
            .unwrap()
            .config_type,
        "AWS::EC2::SecurityGroup"
    );
}

#[test]
fn the_parser_keeps_exactly_the_state_ids_of_the_kinds_table() {
    let mut wanted: Vec<&str> = kinds()
        .iter()
        .flat_map(|k| k.state_ids.iter().map(String::as_str))
        .chain(OTHER_STATE_IDS)
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    for name in &wanted {
        assert!(is_identifier_attribute(name), "{name}");
    }
    let kept = [
        "id",
        "arn",
        "name",
        "bucket",
        "identifier",
        "unique_id",
        "resource_id",
        "cluster_identifier",
        "cluster_resource_id",
    ];
    assert_eq!(
        kept.len(),
        wanted.len(),
        "update is_identifier_attribute: {wanted:?}"
    );
    assert!(!is_identifier_attribute("tags") && !is_identifier_attribute("ID"));
}

/// The orchestrator's copy of the kinds table and the generated schemas are
/// what this module holds; with `DRIFT_UPDATE_SCHEMAS=1` the test writes them.
#[test]
fn the_committed_schemas_and_kinds_copy_are_generated_from_this_module() {
    let text = |schema: Value| serde_json::to_string_pretty(&schema).unwrap() + "\n";
    let files = [
        (
            "lib/lambda/drift_orchestrator/schemas/resource-kinds.json",
            KINDS_JSON.to_string(),
        ),
        (
            "schemas/managed-resources.v1.json",
            text(managed_resources_schema()),
        ),
        (
            "lib/lambda/drift_orchestrator/schemas/managed-resources.v1.json",
            text(managed_resources_schema()),
        ),
        (
            "schemas/unmanaged-report.v1.json",
            text(unmanaged_report_schema()),
        ),
        (
            "lib/lambda/drift_orchestrator/schemas/unmanaged-report.v1.json",
            text(unmanaged_report_schema()),
        ),
    ];
    for (path, generated) in files {
        let path = repo().join(path);
        if std::env::var_os("DRIFT_UPDATE_SCHEMAS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} differs from what crates/drift-core/src/unmanaged.rs holds; regenerate with: \
             DRIFT_UPDATE_SCHEMAS=1 cargo test -p drift-core --lib unmanaged::",
            path.display()
        );
    }
}

#[derive(Deserialize)]
struct Case {
    case: String,
    claims: Vec<CaseClaims>,
    unclaimed: Vec<WorkspaceRef>,
    inventory: Vec<InventoryItem>,
    coverage: Vec<Coverage>,
    ignore: Vec<UnmanagedIgnore>,
    expect: Expect,
}

#[derive(Deserialize)]
struct CaseClaims {
    workspace: WorkspaceRef,
    resources: Vec<ManagedResource>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Expect {
    unmanaged: Vec<String>,
    managed_twice: Vec<Twice>,
    gone: Vec<String>,
    ignored: Vec<String>,
    withheld: Vec<String>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Twice {
    resource: String,
    claims: Vec<String>,
}

fn item_key(item: &InventoryItem) -> String {
    format!(
        "{} {} {}",
        item.resource_type, item.account_id, item.resource_id
    )
}

fn claim_key(workspace: &str, environment: &Option<String>, address: &str) -> String {
    format!(
        "{workspace}/{} {address}",
        environment.as_deref().unwrap_or("")
    )
}

fn keys(report: &UnmanagedReport) -> Expect {
    Expect {
        unmanaged: report.unmanaged.iter().map(item_key).collect(),
        managed_twice: report
            .managed_twice
            .iter()
            .map(|g| Twice {
                resource: format!("{} {} {}", g.resource_type, g.account_id, g.identifier),
                claims: g
                    .claims
                    .iter()
                    .map(|c| claim_key(&c.workspace, &c.environment, &c.address))
                    .collect(),
            })
            .collect(),
        gone: report
            .gone
            .iter()
            .map(|g| claim_key(&g.workspace, &g.environment, &g.address))
            .collect(),
        ignored: report.ignored.iter().map(|i| item_key(&i.item)).collect(),
        withheld: report
            .withheld
            .iter()
            .map(|w| format!("{} {}", w.account_id, w.region))
            .collect(),
    }
}

/// Every case of the shared contract file, which the orchestrator runs too.
#[test]
fn the_shared_cases_come_out_as_the_contract_says() {
    let text = std::fs::read_to_string(repo().join("tests/contract/unmanaged-cases.json")).unwrap();
    let table: Value = serde_json::from_str(&text).unwrap();
    let cases: Vec<Case> = serde_json::from_value(table["cases"].clone()).unwrap();
    assert!(cases.len() >= 10);
    let report_schema = jsonschema::validator_for(&unmanaged_report_schema()).unwrap();
    for case in cases {
        let docs: Vec<ManagedResources> = case
            .claims
            .into_iter()
            .map(|c| {
                ManagedResources::new(
                    None,
                    "2026-01-01T00:00:00Z".into(),
                    c.workspace,
                    c.resources,
                )
            })
            .collect();
        let mut ignore = RuleSet::embedded().unmanaged_ignore().to_vec();
        ignore.extend(case.ignore);
        let report = compare(
            &docs,
            &case.unclaimed,
            &case.inventory,
            &case.coverage,
            &ignore,
        );
        assert_eq!(keys(&report), case.expect, "case: {}", case.case);
        let json = serde_json::to_value(&report).unwrap();
        assert!(report_schema.is_valid(&json), "case: {}: schema", case.case);
        // The claims as documents validate against their schema too.
        let managed_schema = jsonschema::validator_for(&managed_resources_schema()).unwrap();
        for doc in &docs {
            assert!(managed_schema.is_valid(&serde_json::to_value(doc).unwrap()));
        }
    }
}

const PLAN: &str = r#"{"format_version":"1.2","terraform_version":"1.9.0",
  "prior_state":{"format_version":"1.0","values":{"root_module":{
    "resources":[
      {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs",
       "values":{"id":"prod-logs","arn":"arn:aws:s3:::prod-logs","bucket":"prod-logs","tags":{"id":"x"},"policy":null}},
      {"address":"data.aws_caller_identity.me","mode":"data","type":"aws_caller_identity","name":"me",
       "values":{"id":"111111111111","arn":"arn:aws:iam::111111111111:root"}},
      {"address":"aws_sqs_queue.q","mode":"managed","type":"aws_sqs_queue","name":"q",
       "values":{"id":"https://sqs/q","arn":"arn:aws:sqs:us-east-1:1:q","name":"q","url":"x"}}
    ],
    "child_modules":[{"address":"module.net","resources":[
      {"address":"module.net.aws_security_group.this[\"a\"]","mode":"managed","type":"aws_security_group","name":"this","index":"a",
       "values":{"id":"sg-1","arn":"","name":7,"description":"d"}}
    ],"child_modules":[{"address":"module.net.module.deep","resources":[
      {"address":"module.net.module.deep.aws_iam_role.r","mode":"managed","type":"aws_iam_role","name":"r",
       "values":{"id":"r","name":"r","unique_id":"AROAR","arn":["not","a","string"]}}]}]}]}}},
  "resource_changes":[]}"#;

/// An address and its identifiers.
type Claimed = (String, Vec<(String, String)>);

fn claims_of(text: &str) -> std::result::Result<Vec<Claimed>, ClaimsUnknown> {
    let doc = plan::parse_slice("t.json", text.as_bytes()).unwrap();
    claims(&doc).map(|list| {
        let mut out: Vec<_> = list
            .iter()
            .map(|r| {
                (
                    r.address.clone(),
                    r.identifiers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            })
            .collect();
        out.sort();
        out
    })
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_plans_prior_state_claims_its_managed_resources_in_every_module() {
    assert_eq!(
        claims_of(PLAN).unwrap(),
        vec![
            (
                "aws_s3_bucket.logs".to_string(),
                pairs(&[
                    ("arn", "arn:aws:s3:::prod-logs"),
                    ("bucket", "prod-logs"),
                    ("id", "prod-logs")
                ])
            ),
            (
                "aws_sqs_queue.q".to_string(),
                pairs(&[
                    ("arn", "arn:aws:sqs:us-east-1:1:q"),
                    ("id", "https://sqs/q")
                ])
            ),
            (
                "module.net.aws_security_group.this[\"a\"]".to_string(),
                pairs(&[("id", "sg-1")])
            ),
            (
                "module.net.module.deep.aws_iam_role.r".to_string(),
                pairs(&[("id", "r"), ("name", "r"), ("unique_id", "AROAR")])
            ),
        ]
    );
    // The resource count is unchanged by the claims.
    let doc = plan::parse_slice("t.json", PLAN.as_bytes()).unwrap();
    assert_eq!(doc.total_resources, Some(4));
}

#[test]
fn a_state_document_claims_and_an_empty_one_claims_nothing() {
    let state = r#"{"format_version":"1.0","terraform_version":"1.9.0","values":{"root_module":{"resources":[
      {"address":"aws_instance.web","mode":"managed","type":"aws_instance","name":"web","values":{"id":"i-1","arn":"arn:aws:ec2:eu-west-1:1:instance/i-1"}}]}}}"#;
    assert_eq!(
        claims_of(state).unwrap(),
        vec![(
            "aws_instance.web".to_string(),
            pairs(&[
                ("arn", "arn:aws:ec2:eu-west-1:1:instance/i-1"),
                ("id", "i-1")
            ])
        )]
    );
    assert_eq!(claims_of(r#"{"format_version":"1.0"}"#).unwrap(), vec![]);
    // A plan of an empty state: prior_state without values.
    assert_eq!(
        claims_of(r#"{"format_version":"1.2","prior_state":{"format_version":"1.0"},"resource_changes":[]}"#).unwrap(),
        vec![]
    );
}

#[test]
fn what_was_deleted_outside_terraform_is_still_claimed_as_the_stored_state_holds_it() {
    // The prior state is refreshed: the database deleted by hand is only in
    // resource_drift, as a delete whose `before` holds its identifiers.
    let plan = r#"{"format_version":"1.2","prior_state":{"format_version":"1.0","values":{"root_module":{"resources":[
      {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs","values":{"id":"prod-logs","bucket":"prod-logs"}}]}}},
      "resource_drift":[
        {"address":"aws_db_instance.orders","mode":"managed","type":"aws_db_instance","name":"orders",
         "change":{"actions":["delete"],"before":{"id":"db-ORDERS","identifier":"prod-orders","allocated_storage":20},"after":null}},
        {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs",
         "change":{"actions":["update"],"before":{"id":"prod-logs","bucket":"prod-logs"},"after":{"id":"prod-logs","bucket":"prod-logs"}}}],
      "resource_changes":[]}"#;
    assert_eq!(
        claims_of(plan).unwrap(),
        vec![
            (
                "aws_db_instance.orders".to_string(),
                pairs(&[("id", "db-ORDERS"), ("identifier", "prod-orders")])
            ),
            (
                "aws_s3_bucket.logs".to_string(),
                pairs(&[("bucket", "prod-logs"), ("id", "prod-logs")])
            ),
        ]
    );
}

#[test]
fn streams_and_plans_without_prior_state_claim_nothing_known() {
    assert_eq!(
        claims_of(
            r#"{"format_version":"1.2","resource_changes":[],"planned_values":{"root_module":{}}}"#
        ),
        Err(ClaimsUnknown::NoPriorState)
    );
    let stream = "{\"@level\":\"info\",\"type\":\"version\",\"terraform\":\"1.9.0\",\"ui\":\"1.2\"}\n{\"@level\":\"info\",\"type\":\"change_summary\",\"changes\":{\"add\":0,\"change\":0,\"remove\":0,\"operation\":\"plan\"}}\n";
    assert_eq!(claims_of(stream), Err(ClaimsUnknown::Stream));
}

#[test]
fn hostile_state_entries_cost_only_themselves() {
    // Values of every wrong shape, a resource without type, one that is not
    // an object: no panic, the readable ones still claim.
    let text = r#"{"format_version":"1.0","values":{"root_module":{"resources":[
      {"address":"a.b","mode":"managed","type":"aws_instance","values":"text"},
      {"address":"a.c","mode":"managed","type":"aws_instance","values":[1,{"id":"x"}]},
      {"address":"a.d","mode":"managed","values":{"id":"no-type"}},
      {"address":"a.e","mode":"managed","type":"aws_instance","values":{"id":{"nested":"x"},"arn":null}},
      {"address":"a.f","mode":"managed","type":"aws_instance","values":{"id":"i-ok"}},
      42,
      {"mode":"managed","type":"aws_instance"}
    ]}}}"#;
    let doc = plan::parse_slice("t.json", text.as_bytes()).unwrap();
    let list = claims(&doc).unwrap();
    let addresses: Vec<&str> = list.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(addresses, ["a.b", "a.c", "a.e", "a.f"]);
    assert!(list[..3].iter().all(|r| r.identifiers.is_empty()));
    assert_eq!(list[3].identifiers["id"], "i-ok");
    // Nesting past the limit inside values is refused before any reader runs.
    let deep = format!(
        r#"{{"format_version":"1.0","values":{{"root_module":{{"resources":[{{"address":"a.b","type":"t","values":{{"x":{}1{}}}}}]}}}}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(matches!(
        plan::parse_slice("deep.json", deep.as_bytes()),
        Err(Error::TooDeep { .. })
    ));
}

#[test]
fn ignore_rules_come_from_the_rules_file_in_toml_and_yaml() {
    let embedded = RuleSet::embedded();
    assert_eq!(embedded.unmanaged_ignore().len(), 4);
    let toml = "[[unmanaged.ignore]]\nid = \"tf-state-*\"\nreason = \"state buckets\"\n";
    let rules = RuleSet::from_text(toml, false, Path::new("r.toml")).unwrap();
    assert_eq!(rules.unmanaged_ignore().len(), 5);
    assert_eq!(
        rules.unmanaged_ignore()[0].id.as_deref(),
        Some("tf-state-*")
    );
    let yaml = "replace_defaults: true\nunmanaged:\n  ignore:\n    - tag: team=data*\n      reason: sandbox\n";
    let rules = RuleSet::from_text(yaml, true, Path::new("r.yaml")).unwrap();
    assert_eq!(rules.unmanaged_ignore().len(), 1);
    // The schema's $defs/UnmanagedIgnore (the orchestrator validates its
    // ignore-rule variable with it) refuses what the rules file refuses.
    let schema = unmanaged_report_schema();
    let root = serde_json::json!({"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/UnmanagedIgnore"});
    let validator = jsonschema::validator_for(&root).unwrap();
    for (rule, valid) in [
        (serde_json::json!({"id": "x", "reason": "r"}), true),
        (
            serde_json::json!({"tag": "k=v", "account_id": "1", "reason": "r"}),
            true,
        ),
        (serde_json::json!({"reason": "r"}), false),
        (serde_json::json!({"id": null, "reason": "r"}), false),
        (serde_json::json!({"id": "x"}), false),
        (serde_json::json!({"id": "x", "reason": " "}), false),
        (
            serde_json::json!({"id": "x", "reason": "r", "name": "y"}),
            false,
        ),
    ] {
        assert_eq!(validator.is_valid(&rule), valid, "{rule}");
        let parsed = serde_json::from_value::<UnmanagedIgnore>(rule.clone());
        assert_eq!(parsed.is_ok_and(|r| r.problem().is_none()), valid, "{rule}");
    }
    for (bad, says) in [
        ("[[unmanaged.ignore]]\nreason = \"x\"\n", "at least one of"),
        ("[[unmanaged.ignore]]\nid = \"x\"\n", "reason"),
        (
            "[[unmanaged.ignore]]\nid = \"x\"\nreason = \" \"\n",
            "needs a reason",
        ),
        (
            "[[unmanaged.ignore]]\nname = \"x\"\nreason = \"r\"\n",
            "unknown field",
        ),
    ] {
        let err = RuleSet::from_text(bad, false, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("r.toml") && err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn tag_rules_match_keys_and_values_and_never_untagged_items() {
    let rule = |tag: &str| UnmanagedIgnore {
        resource_type: None,
        id: None,
        tag: Some(tag.into()),
        account_id: None,
        region: None,
        reason: "r".into(),
    };
    let item = |tags: Option<&[(&str, &str)]>| InventoryItem {
        resource_type: "AWS::EC2::Volume".into(),
        account_id: "1".into(),
        region: "r".into(),
        resource_id: "vol-1".into(),
        resource_name: None,
        arn: None,
        tags: tags.map(|t| {
            t.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }),
        source: None,
    };
    let matches = |r: &UnmanagedIgnore, i: &InventoryItem| CompiledIgnore::new(r).matches(i);
    assert!(matches(&rule("team"), &item(Some(&[("team", "x")]))));
    assert!(matches(
        &rule("te?m=da*"),
        &item(Some(&[("team", "data-1")]))
    ));
    assert!(!matches(
        &rule("team=data"),
        &item(Some(&[("team", "web")]))
    ));
    assert!(!matches(&rule("*"), &item(None)));
    assert!(!matches(&rule("*"), &item(Some(&[]))));
}

#[test]
fn inventory_files_with_the_wrong_shape_say_which_file_and_never_quote_values() {
    let good = r#"{"inventory":[{"resource_type":"AWS::S3::Bucket","account_id":"1","region":"r","resource_id":"b"}],
      "coverage":[{"account_id":"1","region":"r","resource_type":"AWS::S3::Bucket","source":"file"}]}"#;
    let file = InventoryFile::from_text("inv.json", good).unwrap();
    assert_eq!((file.inventory.len(), file.coverage.len()), (1, 1));
    for bad in [
        "",
        "not json",
        "[]",
        r#"{"inventory":"hunter2"}"#,
        r#"{"inventory":[{"resource_type":"x"}]}"#,
        r#"{"coverage":[{"account_id":"1","region":"r","resource_type":"t","source":"s3cr3t"}]}"#,
        r#"{"items":[]}"#,
        &format!("{{\"inventory\":{}{}}}", "[".repeat(300), "]".repeat(300)),
    ] {
        let err = InventoryFile::from_text("inv.json", bad)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("inv.json"), "{bad}: {err}");
        assert!(!err.contains("hunter2") && !err.contains("s3cr3t"), "{err}");
    }
}

#[test]
fn renderers_show_cloud_names_as_text() {
    let hostile = "evil\u{1b}[2J<script>|`x`";
    let item = InventoryItem {
        resource_type: "AWS::S3::Bucket".into(),
        account_id: "1".into(),
        region: "us-east-1".into(),
        resource_id: hostile.into(),
        resource_name: Some("[link](http://x)".into()),
        arn: None,
        tags: None,
        source: None,
    };
    let report = compare(&[], &[], &[item], &[], &[]);
    let table = render::render(&report, crate::report::render::Format::Table);
    assert!(
        !table.contains('\u{1b}') && table.contains("\\u{1b}"),
        "{table}"
    );
    assert!(table.contains("not inventoried: AWS::EC2::Instance"));
    let md = render::render(&report, crate::report::render::Format::Markdown);
    // Names stay in code spans, where neither markup nor a link is one.
    assert!(!md.contains('\u{1b}'), "{md}");
    assert!(
        md.contains("| `` evil\\u{1b}[2J<script>\\|`x` `` | `[link](http://x)` |"),
        "{md}"
    );
    let json = render::render(&report, crate::report::render::Format::Json);
    let back: UnmanagedReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.unmanaged[0].resource_id, hostile);
    assert_eq!(back, report);
}

#[test]
fn an_account_wide_resource_listed_in_two_regions_is_one_item() {
    let role = |region: &str| InventoryItem {
        resource_type: "AWS::IAM::Role".into(),
        account_id: "1".into(),
        region: region.into(),
        resource_id: "AROAX".into(),
        resource_name: Some("by-hand".into()),
        arn: None,
        tags: None,
        source: None,
    };
    let bucket = |id: &str, region: &str| InventoryItem {
        resource_type: "AWS::S3::Bucket".into(),
        resource_id: id.into(),
        region: region.into(),
        resource_name: None,
        ..role(region)
    };
    let inventory = [
        role("us-east-1"),
        role("eu-west-1"),
        bucket("b", "us-east-1"),
        bucket("a", "us-west-2"),
    ];
    let report = compare(&[], &[], &inventory, &[], &[]);
    assert_eq!(report.summary.inventoried, 3);
    let listed: Vec<(&str, &str)> = report
        .unmanaged
        .iter()
        .map(|i| (i.resource_id.as_str(), i.region.as_str()))
        .collect();
    // Type, account, id, then region: the first region in that order stays.
    assert_eq!(
        listed,
        [
            ("AROAX", "eu-west-1"),
            ("a", "us-west-2"),
            ("b", "us-east-1")
        ]
    );
}
