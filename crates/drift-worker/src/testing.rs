//! Test support shared by the unit tests: an in-memory [`Cloud`] and a
//! record sink that keeps what it is given.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use crate::aws::{AwsError, TemporaryCredentials};
use crate::cloud::{Cloud, IndexRecord, IndexValue, StoredClaims};
use crate::handler::RecordSink;
use drift_core::attribution::TrailEvent;
use drift_runner::attribution::{LookupPage, LookupRequest, Trail, TrailError};

/// An in-memory S3, SNS and STS. `refuse` names the calls that fail,
/// each with the service code given.
#[derive(Debug, Default)]
pub(crate) struct MockCloud {
    pub(crate) objects: Mutex<HashMap<(String, String), Vec<u8>>>,
    pub(crate) published: Mutex<Vec<(String, String, String)>>,
    pub(crate) calls: Mutex<Vec<&'static str>>,
    pub(crate) refuse: HashMap<&'static str, &'static str>,
    /// `put_json` fails (AccessDenied) for keys under these prefixes only.
    pub(crate) refuse_keys: Vec<&'static str>,
    /// CloudTrail: events by resource name (or a failure for every lookup).
    pub(crate) trail: MockTrail,
    /// DynamoDB: items by (table, pk, sk).
    pub(crate) table: Mutex<BTreeMap<(String, String, String), IndexRecord>>,
    /// How many times `put_index` leaves its last item unprocessed.
    pub(crate) unprocessed: Mutex<usize>,
}

/// An in-memory CloudTrail event history.
#[derive(Debug, Default, Clone)]
pub(crate) struct MockTrail {
    pub(crate) events: HashMap<String, Vec<TrailEvent>>,
    pub(crate) failure: Option<TrailError>,
    pub(crate) lookups: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Trail for MockTrail {
    async fn lookup_events(&self, request: &LookupRequest) -> Result<LookupPage, TrailError> {
        self.lookups
            .lock()
            .unwrap()
            .push(request.resource_name.clone());
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        Ok(LookupPage {
            events: self
                .events
                .get(&request.resource_name)
                .cloned()
                .unwrap_or_default(),
            next_token: None,
        })
    }
}

impl MockCloud {
    pub(crate) fn refusing(calls: &[(&'static str, &'static str)]) -> Self {
        MockCloud {
            refuse: calls.iter().copied().collect(),
            ..MockCloud::default()
        }
    }

    fn call(&self, name: &'static str, action: String) -> Result<(), AwsError> {
        self.calls.lock().unwrap().push(name);
        match self.refuse.get(name) {
            Some(code) => Err(AwsError {
                action,
                code: Some(code.to_string()),
                message: format!("{code} (HTTP 403)"),
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    /// The index items of `table` whose pk starts with `prefix`.
    pub(crate) fn index_items(&self, table: &str, prefix: &str) -> Vec<IndexRecord> {
        self.table
            .lock()
            .unwrap()
            .iter()
            .filter(|((t, pk, _), _)| t == table && pk.starts_with(prefix))
            .map(|(_, item)| item.clone())
            .collect()
    }

    fn insert(&self, table: &str, item: IndexRecord) {
        let text = |name: &str| match item.get(name) {
            Some(IndexValue::S(s)) => s.clone(),
            _ => panic!("an index item without {name}: {item:?}"),
        };
        let key = (table.to_string(), text("pk"), text("sk"));
        self.table.lock().unwrap().insert(key, item);
    }

    pub(crate) fn stored(&self, bucket: &str, key: &str) -> Option<Value> {
        let objects = self.objects.lock().unwrap();
        let bytes = objects.get(&(bucket.to_string(), key.to_string()))?;
        Some(serde_json::from_slice(bytes).unwrap())
    }
}

impl Cloud for MockCloud {
    type Trail = MockTrail;

    fn trail(&self, _credentials: Option<&TemporaryCredentials>) -> MockTrail {
        self.trail.clone()
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
        self.call("get_object", format!("reading s3://{bucket}/{key}"))?;
        let objects = self.objects.lock().unwrap();
        objects
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
            .ok_or_else(|| AwsError {
                action: format!("reading s3://{bucket}/{key}"),
                code: Some("NoSuchKey".into()),
                message: "NoSuchKey (HTTP 404)".into(),
            })
    }

    async fn put_json(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        _kms_key: Option<&str>,
    ) -> Result<(), AwsError> {
        self.call("put_json", format!("writing s3://{bucket}/{key}"))?;
        if self.refuse_keys.iter().any(|p| key.starts_with(p)) {
            return Err(AwsError {
                action: format!("writing s3://{bucket}/{key}"),
                code: Some("AccessDenied".into()),
                message: "AccessDenied (HTTP 403)".into(),
            });
        }
        let mut objects = self.objects.lock().unwrap();
        objects.insert((bucket.to_string(), key.to_string()), body);
        Ok(())
    }

    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
        _attributes: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        self.call("publish", format!("publishing to {topic_arn}"))?;
        let mut published = self.published.lock().unwrap();
        published.push((topic_arn.into(), subject.into(), message.into()));
        Ok(format!("message-{}", published.len()))
    }

    async fn assume_role(
        &self,
        role_arn: &str,
        _external_id: Option<&str>,
        _session_name: &str,
    ) -> Result<TemporaryCredentials, AwsError> {
        self.call("assume_role", format!("assuming {role_arn}"))?;
        Ok(TemporaryCredentials {
            access_key_id: "AKIA".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
        })
    }

    async fn index_claims(
        &self,
        table: &str,
        workspace_pk: &str,
    ) -> Result<Option<StoredClaims>, AwsError> {
        self.call(
            "index_claims",
            format!("reading {workspace_pk} from {table}"),
        )?;
        let key = (
            table.to_string(),
            workspace_pk.to_string(),
            "claims".to_string(),
        );
        let items = self.table.lock().unwrap();
        Ok(items
            .get(&key)
            .and_then(|item| match (item.get("digest"), item.get("written_at")) {
                (Some(IndexValue::S(digest)), Some(IndexValue::N(written_at))) => {
                    Some(StoredClaims {
                        digest: digest.clone(),
                        written_at: *written_at,
                    })
                }
                _ => None,
            }))
    }

    async fn put_index(
        &self,
        table: &str,
        mut items: Vec<IndexRecord>,
    ) -> Result<Vec<IndexRecord>, AwsError> {
        self.call(
            "put_index",
            format!("writing {} items to {table}", items.len()),
        )?;
        assert!(items.len() <= 25, "BatchWriteItem takes at most 25 items");
        let mut unprocessed = Vec::new();
        {
            let mut left = self.unprocessed.lock().unwrap();
            if *left > 0 && !items.is_empty() {
                *left -= 1;
                unprocessed.extend(items.pop());
            }
        }
        for item in items {
            self.insert(table, item);
        }
        Ok(unprocessed)
    }

    async fn put_index_item(&self, table: &str, item: IndexRecord) -> Result<(), AwsError> {
        self.call("put_index_item", format!("writing an item to {table}"))?;
        self.insert(table, item);
        Ok(())
    }
}

/// Keeps the records, for the tests to read.
#[derive(Debug, Default)]
pub(crate) struct MemorySink(Mutex<Vec<Value>>);

impl RecordSink for MemorySink {
    fn write(&self, record: &Value) {
        self.0.lock().unwrap().push(record.clone());
    }
}

impl MemorySink {
    pub(crate) fn events(&self, event: &str) -> Vec<Value> {
        let records = self.0.lock().unwrap();
        records
            .iter()
            .filter(|r| r["event"] == event)
            .cloned()
            .collect()
    }
}

/// A worker on `cloud` with its scratch folder in `scratch`, reports to
/// bucket `reports`, alerts to topic `alerts`, a terraform that is not there
/// (tests that reach it set their own), a wall clock years after the events'
/// own `run_started_at`, and its records kept.
pub(crate) fn worker(
    cloud: MockCloud,
    scratch: &std::path::Path,
) -> (crate::Worker<MockCloud>, std::sync::Arc<MemorySink>) {
    let records = std::sync::Arc::new(MemorySink::default());
    let worker = crate::Worker {
        config: crate::config::WorkerConfig {
            report_bucket: "reports".into(),
            report_kms_key_arn: None,
            sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:alerts".into(),
            metrics_namespace: "DriftDetection".into(),
            terraform_path: scratch.join("no-terraform"),
            terraform_parallelism: None,
            log_level: "info".into(),
            region: "us-east-1".into(),
            max_input_bytes: 1 << 20,
            attribution: true,
            attribution_ignore_principals: Vec::new(),
            index_table: None,
            index_ttl_hours: 24,
        },
        cloud,
        rules: drift_core::drift::rules::RuleSet::embedded(),
        scratch_root: scratch.to_path_buf(),
        records: records.clone(),
        clock: || {
            use chrono::TimeZone;
            chrono::Utc.with_ymd_and_hms(2031, 2, 3, 4, 5, 6).unwrap()
        },
    };
    (worker, records)
}

/// A terraform stand-in that answers `plan` with "changes" and `show -json`
/// with `examples/plans/prod-network.json` (drift, a critical finding, and a
/// prior state whose claims the sidecar and the index get).
pub(crate) fn drifted_terraform(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let shown = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/plans/prod-network.json");
    let script = dir.join("terraform");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  init) exit 0 ;;\n  plan) exit 2 ;;\n  show) cat {shown}; exit 0 ;;\nesac\nexit 1\n",
            shown = shown.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}
