//! Writes a workspace's entries of the resource → workspace index
//! (`tests/contract/resource-index.json`) after a check whose plan had a
//! prior state: what event-driven checks look a changed resource up in.
//!
//! The items come from [`drift_core::index`] (pure); here they get their
//! `run_id`, `seen_at` and `expires_at` and go to DynamoDB through
//! [`Cloud`]: one `GetItem` of the workspace's `claims` item, and nothing
//! more when its digest is the same and it is younger than half the TTL;
//! else `BatchWriteItem`s of 25 (unprocessed items retried
//! [`BATCH_ATTEMPTS`] times with a doubling pause), then the `claims` item
//! (`PutItem`), last, so that a partial write is redone by the next check.
//! The trigger's `debounce` item (same pk) is never written here. At most
//! [`drift_core::index::MAX_ITEMS`] resource items are written per check.
//! Nothing here fails the check: [`IndexOutcome`] says what happened.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::cloud::{Cloud, IndexRecord, IndexValue};
use drift_core::index::{self, IndexItem, CLAIMS_SK, MAX_ITEMS};
use drift_core::unmanaged::ManagedResources;

/// Items per `BatchWriteItem` (DynamoDB's limit).
pub const BATCH_SIZE: usize = 25;
/// Attempts per batch, the first included, while items come back unprocessed.
pub const BATCH_ATTEMPTS: u32 = 5;
/// The pause before the first retry of unprocessed items; it doubles.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// What one index write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexOutcome {
    /// Resource items written.
    pub written: usize,
    /// The stored digest was the same and fresh: nothing was written.
    pub skipped: bool,
    /// Resource items left out over [`MAX_ITEMS`].
    pub left_out: usize,
    /// Failed calls or items not written (0 when all went well).
    pub errors: usize,
    /// The first failure, for the log.
    pub first_error: Option<String>,
}

/// The epoch seconds `ttl_hours` after `now`.
fn expires_at(now: DateTime<Utc>, ttl_hours: u32) -> i64 {
    now.timestamp() + i64::from(ttl_hours) * 3600
}

/// The DynamoDB item of one resource identifier.
pub fn resource_record(
    item: &IndexItem,
    run_id: &str,
    now: DateTime<Utc>,
    ttl_hours: u32,
) -> IndexRecord {
    IndexRecord::from([
        ("pk".to_string(), IndexValue::S(item.pk.clone())),
        ("sk".to_string(), IndexValue::S(item.sk.clone())),
        ("address".to_string(), IndexValue::S(item.address.clone())),
        (
            "type".to_string(),
            IndexValue::S(item.resource_type.clone()),
        ),
        ("run_id".to_string(), IndexValue::S(run_id.to_string())),
        (
            "seen_at".to_string(),
            IndexValue::S(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ),
        (
            "expires_at".to_string(),
            IndexValue::N(expires_at(now, ttl_hours)),
        ),
    ])
}

/// Writes `claims`' index items to `table`, as the module says.
pub async fn write<C: Cloud>(
    cloud: &C,
    table: &str,
    ttl_hours: u32,
    claims: &ManagedResources,
    run_id: &str,
    now: DateTime<Utc>,
) -> IndexOutcome {
    let mut outcome = IndexOutcome::default();
    let mut items = index::items(claims);
    let digest = index::digest(&items);
    let workspace_pk = index::workspace_key(&claims.workspace);
    let ttl_seconds = i64::from(ttl_hours) * 3600;
    match cloud.index_claims(table, &workspace_pk).await {
        Ok(Some(stored))
            if stored.digest == digest
                && now.timestamp() - stored.written_at < ttl_seconds / 2
                && now.timestamp() >= stored.written_at =>
        {
            outcome.skipped = true;
            return outcome;
        }
        Ok(_) => {}
        // Not knowing costs only the skip: write them all.
        Err(e) => {
            outcome.errors += 1;
            outcome.first_error = Some(e.to_string());
        }
    }
    if items.len() > MAX_ITEMS {
        outcome.left_out = items.len() - MAX_ITEMS;
        items.truncate(MAX_ITEMS);
    }
    let count = items.len();
    let mut all_written = true;
    for chunk in items.chunks(BATCH_SIZE) {
        let mut pending: Vec<IndexRecord> = chunk
            .iter()
            .map(|i| resource_record(i, run_id, now, ttl_hours))
            .collect();
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=BATCH_ATTEMPTS {
            let sent = pending.len();
            match cloud.put_index(table, pending.clone()).await {
                Ok(unprocessed) => {
                    outcome.written += sent - unprocessed.len();
                    pending = unprocessed;
                }
                Err(e) => {
                    // The SDK has retried already: give up on this batch.
                    outcome.first_error.get_or_insert_with(|| e.to_string());
                    break;
                }
            }
            if pending.is_empty() {
                break;
            }
            if attempt < BATCH_ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        if !pending.is_empty() {
            all_written = false;
            outcome.errors += pending.len();
            outcome.first_error.get_or_insert_with(|| {
                format!(
                    "{} items still unprocessed after {BATCH_ATTEMPTS} attempts",
                    pending.len()
                )
            });
        }
    }
    if !all_written {
        // Without the claims item, the next check writes them all again.
        return outcome;
    }
    let record = IndexRecord::from([
        ("pk".to_string(), IndexValue::S(workspace_pk)),
        ("sk".to_string(), IndexValue::S(CLAIMS_SK.to_string())),
        ("digest".to_string(), IndexValue::S(digest)),
        ("count".to_string(), IndexValue::N(count as i64)),
        ("written_at".to_string(), IndexValue::N(now.timestamp())),
        (
            "expires_at".to_string(),
            IndexValue::N(expires_at(now, ttl_hours)),
        ),
    ]);
    if let Err(e) = cloud.put_index_item(table, record).await {
        outcome.errors += 1;
        outcome.first_error.get_or_insert_with(|| e.to_string());
    }
    outcome
}
