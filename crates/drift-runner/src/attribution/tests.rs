//! The lookup edge on a mock [`Trail`]: one lookup per key per run, the
//! failures' reasons, the time budget, and the token bucket on a fake
//! clock (no timing is asserted).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use drift_core::attribution::{parse_event, ChangedBy};
use drift_core::drift::{analyze, rules::RuleSet};
use drift_core::plan::parse_slice;
use drift_core::report::{build_report, ReportIdentity, RunFacts, WorkspaceInfo};

/// Answers from a table of resource name → events (or a failure), counting calls.
#[derive(Default)]
struct MockTrail {
    answers: HashMap<String, Result<Vec<TrailEvent>, TrailError>>,
    calls: Mutex<Vec<LookupRequest>>,
    hang: bool,
}

impl Trail for MockTrail {
    async fn lookup_events(&self, request: &LookupRequest) -> Result<LookupPage, TrailError> {
        self.calls.lock().unwrap().push(request.clone());
        if self.hang {
            std::future::pending::<()>().await;
        }
        match self.answers.get(&request.resource_name) {
            Some(Ok(events)) => Ok(LookupPage {
                events: events.clone(),
                next_token: None,
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(LookupPage::default()),
        }
    }
}

fn event(name: &str, arn: &str, time: &str) -> TrailEvent {
    let json = serde_json::json!({
        "eventName": name, "eventTime": time, "eventID": format!("{name}-{time}"),
        "eventSource": "ec2.amazonaws.com", "readOnly": false,
        "userIdentity": {"type": "AssumedRole", "arn": arn, "principalId": "AROAEXAMPLE:x"},
    });
    parse_event(&json.to_string(), None).unwrap()
}

/// A report with a drifted security group (sg-1), a drifted rule of it,
/// and a drifted bucket; plus a pending change.
fn report() -> Report {
    let plan = r#"{"format_version":"1.2","resource_drift":[
      {"address":"aws_security_group.web","mode":"managed","type":"aws_security_group","name":"web",
       "change":{"actions":["update"],"before":{"id":"sg-1","name":"web","tags":{}},"after":{"id":"sg-1","name":"web","tags":{"a":"b"}}}},
      {"address":"aws_security_group_rule.ssh","mode":"managed","type":"aws_security_group_rule","name":"ssh",
       "change":{"actions":["update"],"before":{"id":"sgrule-9","security_group_id":"sg-1","description":"x"},"after":{"id":"sgrule-9","security_group_id":"sg-1","description":"y"}}},
      {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs",
       "change":{"actions":["update"],"before":{"id":"logs","bucket":"logs","tags":{}},"after":{"id":"logs","bucket":"logs","tags":{"x":"y"}}}}],
     "resource_changes":[
      {"address":"aws_sqs_queue.q","mode":"managed","type":"aws_sqs_queue","name":"q",
       "change":{"actions":["update"],"before":{"id":"q","delay_seconds":0},"after":{"id":"q","delay_seconds":5}}}]}"#;
    let doc = parse_slice("plan.json", plan.as_bytes()).unwrap();
    build_report(
        ReportIdentity::new(),
        WorkspaceInfo {
            name: "net".into(),
            account_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            ..Default::default()
        },
        analyze(&[&doc], &RuleSet::embedded()),
        RunFacts::default(),
    )
}

fn window() -> Window {
    Window::new(
        Some("2026-11-26T00:00:00Z".parse().unwrap()),
        "2026-11-30T00:00:00Z".parse().unwrap(),
    )
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

fn by<'a>(report: &'a Report, address: &str) -> &'a Attribution {
    report
        .drift
        .iter()
        .find(|i| i.address == address)
        .and_then(|i| i.changed_by.as_ref())
        .unwrap_or_else(|| panic!("{address} has no changed_by"))
}

fn person(a: &Attribution) -> &ChangedBy {
    match a {
        Attribution::ChangedBy(by) => by,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn each_key_is_looked_up_once_and_a_rule_finds_its_groups_author() {
    let alice = "arn:aws:sts::123456789012:assumed-role/Admin/alice";
    let mut trail = MockTrail::default();
    trail.answers.insert(
        "sg-1".into(),
        Ok(vec![event(
            "AuthorizeSecurityGroupIngress",
            alice,
            "2026-11-29T10:00:00Z",
        )]),
    );
    let attributor = Attributor::new(trail);
    let mut report = report();
    attributor
        .attribute(
            &mut report,
            &window(),
            &IgnorePrincipals::default(),
            later(),
        )
        .await;

    let sg = person(by(&report, "aws_security_group.web"));
    assert_eq!(sg.principal_arn.as_deref(), Some(alice));
    assert_eq!(sg.principal, "alice");
    assert_eq!(sg.event_name, "AuthorizeSecurityGroupIngress");
    assert_eq!(
        person(by(&report, "aws_security_group_rule.ssh")).event_id,
        sg.event_id
    );
    assert_eq!(
        by(&report, "aws_s3_bucket.logs"),
        &Attribution::unknown(UnknownReason::NoEventInWindow)
    );
    // The pending change is not attributed.
    let pending = report.drift.iter().find(|i| i.address == "aws_sqs_queue.q");
    assert_eq!(pending.unwrap().changed_by, None);
    // sg-1 once (the rule's lookup came from the cache), web, logs: each
    // key once, with the window and the workspace's region.
    let calls = attributor.trail().calls.lock().unwrap().clone();
    let mut names: Vec<&str> = calls.iter().map(|c| c.resource_name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["logs", "sg-1", "web"]);
    assert!(calls
        .iter()
        .all(|c| c.region.as_deref() == Some("us-east-1")
            && c.start == window().start
            && c.end == window().end));
}

#[tokio::test(start_paused = true)]
async fn refusals_and_throttling_are_named() {
    let mut trail = MockTrail::default();
    trail
        .answers
        .insert("sg-1".into(), Err(TrailError::AccessDenied("no".into())));
    trail.answers.insert(
        "logs".into(),
        Err(TrailError::Throttled("slow down".into())),
    );
    let attributor = Attributor::new(trail);
    let mut report = report();
    attributor
        .attribute(
            &mut report,
            &window(),
            &IgnorePrincipals::default(),
            later(),
        )
        .await;
    assert_eq!(
        by(&report, "aws_security_group.web"),
        &Attribution::unknown(UnknownReason::AccessDenied)
    );
    assert_eq!(
        by(&report, "aws_s3_bucket.logs"),
        &Attribution::unknown(UnknownReason::Throttled)
    );
}

#[tokio::test(start_paused = true)]
async fn past_the_budget_the_rest_is_skipped_not_waited_for() {
    let trail = MockTrail {
        hang: true,
        ..MockTrail::default()
    };
    let attributor = Attributor::new(trail);
    let mut report = report();
    let deadline = Instant::now() + Duration::from_secs(5);
    attributor
        .attribute(
            &mut report,
            &window(),
            &IgnorePrincipals::default(),
            deadline,
        )
        .await;
    for item in report
        .drift
        .iter()
        .filter(|i| i.source == ChangeOrigin::OutsideTerraform)
    {
        assert_eq!(
            item.changed_by,
            Some(Attribution::unknown(UnknownReason::SkippedTimeBudget)),
            "{}",
            item.address
        );
    }
    // The hanging lookup was the only one started.
    assert_eq!(attributor.trail().calls.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn findings_without_identifiers_are_not_attempted_and_mark_all_marks_drift() {
    let attributor = Attributor::new(MockTrail::default());
    let mut report = report();
    for item in &mut report.drift {
        item.lookup_keys.clear();
    }
    attributor
        .attribute(
            &mut report,
            &window(),
            &IgnorePrincipals::default(),
            later(),
        )
        .await;
    assert_eq!(
        by(&report, "aws_s3_bucket.logs"),
        &Attribution::unknown(UnknownReason::NotAttempted)
    );
    assert!(attributor.trail().calls.lock().unwrap().is_empty());

    let mut report = self::report();
    mark_all(&mut report, UnknownReason::NoCredentials);
    assert_eq!(
        by(&report, "aws_security_group.web"),
        &Attribution::unknown(UnknownReason::NoCredentials)
    );
    let pending = report.drift.iter().find(|i| i.address == "aws_sqs_queue.q");
    assert_eq!(pending.unwrap().changed_by, None);
}

#[test]
fn the_token_bucket_allows_a_burst_then_two_a_second_on_a_fake_clock() {
    let bucket = TokenBucket::new(2.0, 2.0);
    let t = Duration::from_millis;
    assert_eq!(bucket.take_at(t(0)), None);
    assert_eq!(bucket.take_at(t(0)), None);
    // Empty: the next token is due in half a second.
    assert_eq!(bucket.take_at(t(0)), Some(t(500)));
    assert_eq!(bucket.take_at(t(250)), Some(t(250)));
    assert_eq!(bucket.take_at(t(500)), None);
    assert!(bucket.take_at(t(500)).is_some());
    // A long pause saves up no more than the burst.
    assert_eq!(bucket.take_at(t(60_000)), None);
    assert_eq!(bucket.take_at(t(60_000)), None);
    assert!(bucket.take_at(t(60_000)).is_some());
    // Over ten (fake) seconds, at most 2 + 2·10 tokens.
    let bucket = TokenBucket::new(2.0, 2.0);
    let taken = (0..=1000)
        .filter(|ms| bucket.take_at(t(ms * 10)).is_none())
        .count();
    assert_eq!(taken, 22);
}

#[tokio::test(start_paused = true)]
async fn one_limiter_per_account_region_is_shared_by_the_run() {
    let calls = AtomicUsize::new(0);
    let attributor = Attributor::new(MockTrail::default());
    let a = attributor.limiter("1/us-east-1");
    let b = attributor.limiter("1/us-east-1");
    let c = attributor.limiter("1/eu-west-1");
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
    // Two reports of the same account-region share the bucket: its two
    // tokens are gone after the first two lookups.
    for _ in 0..2 {
        if a.take_at(Duration::ZERO).is_none() {
            calls.fetch_add(1, Ordering::SeqCst);
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(b.take_at(Duration::ZERO).is_some());
    assert_eq!(c.take_at(Duration::ZERO), None);
}

#[test]
fn the_last_clean_check_comes_from_a_clean_previous_report_only() {
    let clean = br#"{"status":"clean","generated_at":"2026-11-29T06:00:00Z"}"#;
    assert_eq!(
        last_clean_check(clean),
        Some("2026-11-29T06:00:00Z".parse().unwrap())
    );
    assert_eq!(
        last_clean_check(br#"{"status":"drift","generated_at":"2026-11-29T06:00:00Z"}"#),
        None
    );
    assert_eq!(last_clean_check(b"not json"), None);
}
