//! Identity resolution, the write-only filter, the ignore list, the choice
//! of the latest event in the window and the lookup keys, on the documented
//! event shapes in `testdata/cloudtrail` (see its PROVENANCE.md).

use super::*;

macro_rules! sample {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/cloudtrail/",
            $name
        ))
    };
}

fn event(json: &str) -> TrailEvent {
    parse_event(json, None).expect("a documented event parses")
}

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

fn window() -> Window {
    Window::new(Some(at("2026-11-26T00:00:00Z")), at("2026-11-30T00:00:00Z"))
}

#[test]
fn an_assumed_role_resolves_to_its_session_and_keeps_the_raw_arn_and_issuer() {
    let e = event(sample!("assumed-role.json"));
    assert_eq!(e.identity.identity_type, "AssumedRole");
    assert_eq!(e.identity.principal, "MySessionName");
    assert_eq!(e.identity.session.as_deref(), Some("MySessionName"));
    assert_eq!(
        e.identity.principal_arn.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName")
    );
    assert_eq!(
        e.identity.issuer_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/RoleToBeAssumed")
    );
    assert_eq!(
        e.identity.principal_id.as_deref(),
        Some("AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName")
    );
    assert_eq!(e.event_name, "AuthorizeSecurityGroupIngress");
    assert_eq!(e.event_source, "ec2.amazonaws.com");
    assert_eq!(e.source_ip.as_deref(), Some("198.51.100.7"));
    assert!(!e.read_only);
}

#[test]
fn an_identity_center_session_resolves_to_the_person() {
    let e = event(sample!("sso.json"));
    assert_eq!(e.identity.identity_type, "SSO");
    assert_eq!(e.identity.principal, "jane.doe@example.com");
    assert!(e
        .identity
        .issuer_arn
        .as_deref()
        .unwrap()
        .ends_with("/AWSReservedSSO_AdministratorAccess_0123456789abcdef"));
}

#[test]
fn an_iam_user_root_a_service_and_a_federated_user_resolve() {
    let user = event(sample!("iam-user.json"));
    assert_eq!(
        (
            user.identity.identity_type.as_str(),
            user.identity.principal.as_str()
        ),
        ("IAMUser", "Alice")
    );
    assert_eq!(user.identity.session, None);

    let root = event(sample!("root.json"));
    assert_eq!(root.identity.principal, "root");
    assert_eq!(
        root.identity.principal_arn.as_deref(),
        Some("arn:aws:iam::123456789012:root")
    );

    let service = event(sample!("aws-service.json"));
    assert_eq!(service.identity.identity_type, "AWSService");
    assert_eq!(service.identity.principal, "autoscaling.amazonaws.com");
    assert_eq!(service.identity.principal_arn, None);

    let federated = event(sample!("federated-user.json"));
    assert_eq!(federated.identity.principal, "Bob");
    assert_eq!(
        federated.identity.issuer_arn.as_deref(),
        Some("arn:aws:iam::123456789012:user/Alice")
    );
}

#[test]
fn an_assumed_role_without_an_arn_takes_the_session_from_the_principal_id() {
    let identity = resolve_identity(&serde_json::json!({
        "type": "AssumedRole", "principalId": "AROAEXAMPLE:carol",
    }));
    assert_eq!(identity.principal, "carol");
    assert_eq!(identity.session.as_deref(), Some("carol"));
}

#[test]
fn read_only_comes_from_the_lookup_attribute_then_the_document_then_the_name() {
    let json = sample!("assumed-role.json");
    assert!(parse_event(json, Some("true")).unwrap().read_only);
    assert!(event(sample!("read-only.json")).read_only);
    let unmarked =
        r#"{"eventName":"DescribeInstances","eventTime":"2026-11-29T00:00:00Z","eventID":"x"}"#;
    assert!(event(unmarked).read_only);
    let unmarked_write =
        r#"{"eventName":"RunInstances","eventTime":"2026-11-29T00:00:00Z","eventID":"y"}"#;
    assert!(!event(unmarked_write).read_only);
}

#[test]
fn broken_events_are_errors_not_panics() {
    assert_eq!(parse_event("[]", None), Err(EventError::NotAnObject));
    assert_eq!(parse_event("not json", None), Err(EventError::NotAnObject));
    assert_eq!(
        parse_event(r#"{"eventName":"X","eventID":"1"}"#, None),
        Err(EventError::Missing("eventTime"))
    );
    assert_eq!(
        parse_event(
            r#"{"eventName":"X","eventTime":"2026-01-01T00:00:00Z"}"#,
            None
        ),
        Err(EventError::Missing("eventID"))
    );
}

#[test]
fn only_write_events_count() {
    let read = event(sample!("read-only.json"));
    let chosen = choose(&[read], &window(), &IgnorePrincipals::default());
    assert_eq!(chosen, Attribution::unknown(UnknownReason::NoEventInWindow));
}

#[test]
fn the_latest_write_event_in_the_window_wins() {
    // Written 10:15; the read at 11:00 and Bob's revoke at 09:30 lose; an
    // event after the check and one before the window do not count.
    let write = event(sample!("assumed-role.json"));
    let mut after_check = write.clone();
    after_check.event_time = at("2026-11-30T00:00:01Z");
    after_check.event_id = "later".into();
    let mut before_window = write.clone();
    before_window.event_time = at("2026-11-25T23:59:59Z");
    before_window.event_id = "earlier".into();
    let events = [
        event(sample!("federated-user.json")),
        event(sample!("read-only.json")),
        after_check,
        write,
        before_window,
    ];
    let Attribution::ChangedBy(by) = choose(&events, &window(), &IgnorePrincipals::default())
    else {
        panic!("an event is chosen")
    };
    assert_eq!(by.event_id, "3a6c2d1e-5b7f-4c8d-9e0f-1a2b3c4d5e6f");
    assert_eq!(by.principal, "MySessionName");
    assert_eq!(by.event_time, "2026-11-29T10:15:00Z");
    assert_eq!(by.event_name, "AuthorizeSecurityGroupIngress");
}

#[test]
fn the_ignore_list_drops_the_terraform_role_by_issuer_or_caller_arn() {
    let terraform = event(sample!("terraform-role.json"));
    let person = event(sample!("assumed-role.json"));
    let events = [terraform.clone(), person];
    // Without the list, Terraform's own later change would be named.
    let Attribution::ChangedBy(by) = choose(&events, &window(), &IgnorePrincipals::default())
    else {
        panic!()
    };
    assert_eq!(by.principal, "terraform-apply-1234");
    for pattern in [
        "arn:aws:iam::*:role/terraform-*",
        "arn:aws:sts::123456789012:assumed-role/terraform-apply/*",
    ] {
        let ignore = IgnorePrincipals::new([pattern]);
        assert!(ignore.ignores(&terraform.identity), "{pattern}");
        let Attribution::ChangedBy(by) = choose(&events, &window(), &ignore) else {
            panic!()
        };
        assert_eq!(by.principal, "MySessionName", "{pattern}");
    }
    let only_terraform = IgnorePrincipals::new(["arn:aws:iam::123456789012:role/terraform-apply"]);
    assert_eq!(
        choose(&[terraform], &window(), &only_terraform),
        Attribution::unknown(UnknownReason::NoEventInWindow)
    );
}

#[test]
fn a_role_arn_in_the_list_also_ignores_its_sessions_without_an_issuer() {
    let ignore = IgnorePrincipals::new(["arn:aws:iam::123456789012:role/ops/terraform-apply"]);
    let bare = resolve_identity(&serde_json::json!({
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/terraform-apply/run-7",
    }));
    assert!(ignore.ignores(&bare));
    let other = resolve_identity(&serde_json::json!({
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/terraform-apply-2/run-7",
    }));
    assert!(!ignore.ignores(&other));
    let elsewhere = resolve_identity(&serde_json::json!({
        "type": "AssumedRole",
        "arn": "arn:aws:sts::999999999999:assumed-role/terraform-apply/run-7",
    }));
    assert!(!ignore.ignores(&elsewhere));
}

#[test]
fn a_window_is_at_most_ninety_days_and_says_when_it_was_cut() {
    let now = at("2026-11-30T00:00:00Z");
    let recent = Window::new(Some(at("2026-11-29T00:00:00Z")), now);
    assert!(!recent.clipped);
    let old = Window::new(Some(at("2026-01-01T00:00:00Z")), now);
    assert!(old.clipped);
    assert_eq!(old.start, now - Duration::days(90));
    assert!(Window::new(None, now).clipped);
    // A "last clean check" in the future (a skewed clock) is not trusted.
    assert!(Window::new(Some(at("2027-01-01T00:00:00Z")), now).clipped);
    assert_eq!(
        choose(&[], &old, &IgnorePrincipals::default()),
        Attribution::unknown(UnknownReason::OlderThan90Days)
    );
}

#[test]
fn the_report_shape_is_the_object_or_unknown_with_its_reason() {
    let by = choose(
        &[event(sample!("iam-user.json"))],
        &window(),
        &IgnorePrincipals::default(),
    );
    let json = serde_json::to_value(&by).unwrap();
    assert_eq!(json["principal"], "Alice");
    assert_eq!(
        json["principal_arn"],
        "arn:aws:iam::123456789012:user/Alice"
    );
    assert_eq!(json["event_name"], "PutBucketTagging");
    assert_eq!(serde_json::from_value::<Attribution>(json).unwrap(), by);
    let unknown = Attribution::unknown(UnknownReason::SkippedTimeBudget);
    let json = serde_json::to_value(&unknown).unwrap();
    assert_eq!(json, serde_json::json!({"unknown": "skipped_time_budget"}));
    assert_eq!(
        serde_json::from_value::<Attribution>(json).unwrap(),
        unknown
    );
}

#[test]
fn every_reason_is_written_as_its_documented_name() {
    use UnknownReason::*;
    for reason in [
        NoEventInWindow,
        AccessDenied,
        Throttled,
        OlderThan90Days,
        SkippedTimeBudget,
        NoCredentials,
        NotAttempted,
    ] {
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            serde_json::json!(reason.as_str())
        );
    }
    assert_eq!(OlderThan90Days.as_str(), "older_than_90_days");
}

fn before(json: &str) -> RawJson {
    RawJson::parse(json).unwrap()
}

#[test]
fn lookup_keys_come_from_the_prior_state() {
    let sg = before(
        r#"{"id":"sg-0123","arn":"arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123","name":"web","ingress":[]}"#,
    );
    assert_eq!(
        lookup_keys("aws_security_group", &sg),
        [
            "sg-0123",
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123",
            "web"
        ]
    );
    let db = before(r#"{"id":"db-ABC","identifier":"prod-orders","arn":null,"name":""}"#);
    assert_eq!(
        lookup_keys("aws_db_instance", &db),
        ["db-ABC", "prod-orders"]
    );
    let bucket = before(
        r#"{"id":"prod-app-logs","bucket":"prod-app-logs","arn":"arn:aws:s3:::prod-app-logs"}"#,
    );
    assert_eq!(
        lookup_keys("aws_s3_bucket", &bucket),
        ["prod-app-logs", "arn:aws:s3:::prod-app-logs"]
    );
    assert!(lookup_keys("aws_s3_bucket", &RawJson::default()).is_empty());
}

#[test]
fn security_group_rules_map_to_their_group() {
    let rule = before(r#"{"id":"sgrule-123456","security_group_id":"sg-0123","type":"ingress"}"#);
    assert_eq!(lookup_keys("aws_security_group_rule", &rule), ["sg-0123"]);
    let ingress = before(
        r#"{"id":"sgr-0abc","security_group_rule_id":"sgr-0abc","security_group_id":"sg-0123"}"#,
    );
    assert_eq!(
        lookup_keys("aws_vpc_security_group_ingress_rule", &ingress),
        ["sg-0123"]
    );
    assert_eq!(
        lookup_keys("aws_vpc_security_group_egress_rule", &ingress),
        ["sg-0123"]
    );
}

#[test]
fn bucket_sub_resources_map_to_their_bucket() {
    let sub = before(r#"{"id":"prod-app-logs","bucket":"prod-app-logs","policy":"{}"}"#);
    for kind in [
        "aws_s3_bucket_policy",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_tagging",
    ] {
        assert_eq!(lookup_keys(kind, &sub), ["prod-app-logs"], "{kind}");
    }
}
