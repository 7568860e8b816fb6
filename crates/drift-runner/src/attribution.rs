/*!
The lookup edge of CloudTrail attribution: who made each drift.

[`Attributor::attribute`] fills the `changed_by` of every `outside_terraform`
finding of a report. For each finding it asks a [`Trail`] (CloudTrail's
`LookupEvents` with `LookupAttributes` `ResourceName=<key>`, `StartTime`,
`EndTime`; [`aws::AwsTrail`] with feature `aws`) about each identifier the
prior state holds for the resource (`drift_core::attribution::lookup_keys`),
and lets the pure core choose the event (`drift_core::attribution::choose`).

* `LookupEvents` allows two requests a second per account and region: one
  [`TokenBucket`] per account-region, shared by every lookup of the
  attributor (one per run), paces the requests;
* each key is looked up once per run: results (and failures) are cached;
* a time budget: past the deadline the remaining findings are
  `skipped_time_budget` rather than the check timing out;
* a refusal is `access_denied`, throttling the SDK's retries did not
  overcome is `throttled`, no credentials `no_credentials`.

The bucket's arithmetic takes the time as an argument ([`TokenBucket::take_at`]),
so its tests use a fake clock and assert no timing.

```no_run
# async fn example<T: drift_runner::attribution::Trail>(trail: T, report: &mut drift_core::report::Report) {
use drift_core::attribution::{IgnorePrincipals, Window};
use drift_runner::attribution::Attributor;

let attributor = Attributor::new(trail);
let window = Window::new(None, chrono::Utc::now());
let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
attributor
    .attribute(report, &window, &IgnorePrincipals::default(), deadline)
    .await;
# }
```
*/

#[cfg(feature = "aws")]
pub mod aws;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use drift_core::attribution::{
    choose, Attribution, IgnorePrincipals, TrailEvent, UnknownReason, Window,
};
use drift_core::drift::ChangeOrigin;
use drift_core::report::Report;

/// `LookupEvents`' documented limit: requests per second per account and region.
pub const LOOKUPS_PER_SECOND: f64 = 2.0;

/// Pages (of up to 50 events) read per key at most: the newest come first.
pub const MAX_PAGES_PER_KEY: usize = 4;

/// The most time attribution takes after a check, whatever the check's own
/// deadline leaves.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(120);

/// One `LookupEvents` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRequest {
    /// The region to ask (the workspace's); `None`: the client's own.
    pub region: Option<String>,
    /// `ResourceName`: an identifier from the prior state.
    pub resource_name: String,
    /// `StartTime`.
    pub start: DateTime<Utc>,
    /// `EndTime`.
    pub end: DateTime<Utc>,
    /// The previous page's `NextToken`.
    pub next_token: Option<String>,
}

/// One page of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupPage {
    /// The events, read by `drift_core::attribution::parse_event`.
    pub events: Vec<TrailEvent>,
    /// More to read.
    pub next_token: Option<String>,
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrailError {
    /// `cloudtrail:LookupEvents` was refused.
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// Still throttled after the retries.
    #[error("throttled: {0}")]
    Throttled(String),
    /// No credentials to sign with.
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// Anything else (no connection, a bad answer).
    #[error("{0}")]
    Other(String),
}

impl TrailError {
    fn reason(&self) -> UnknownReason {
        match self {
            TrailError::AccessDenied(_) => UnknownReason::AccessDenied,
            TrailError::Throttled(_) => UnknownReason::Throttled,
            TrailError::NoCredentials(_) => UnknownReason::NoCredentials,
            TrailError::Other(_) => UnknownReason::NotAttempted,
        }
    }
}

/// CloudTrail's event history, as attribution asks it: one page of
/// `LookupEvents` by resource name. [`aws::AwsTrail`] is the SDK one.
pub trait Trail: Send + Sync {
    /// One page of management events that name `request.resource_name`.
    fn lookup_events(
        &self,
        request: &LookupRequest,
    ) -> impl Future<Output = Result<LookupPage, TrailError>> + Send;
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up. The
/// arithmetic ([`TokenBucket::take_at`]) takes the time as an argument.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    /// The time of the last refill, as a duration since the bucket's epoch.
    at: Duration,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `rate` a second.
    pub fn new(rate: f64, burst: f64) -> Self {
        TokenBucket {
            rate,
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                at: Duration::ZERO,
            }),
        }
    }

    /// Takes a token at time `now` (since the bucket's epoch; times never
    /// go back): `None` when one was taken, else how long until one is due.
    pub fn take_at(&self, now: Duration) -> Option<Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now > state.at {
            let refill = (now - state.at).as_secs_f64() * self.rate;
            state.tokens = (state.tokens + refill).min(self.burst);
            state.at = now;
        }
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - state.tokens) / self.rate))
        }
    }

    /// Waits for a token on the tokio clock measured from `epoch`; `false`
    /// when none would be due before `deadline`.
    pub async fn take(&self, epoch: Instant, deadline: Instant) -> bool {
        loop {
            let now = Instant::now();
            match self.take_at(now.saturating_duration_since(epoch)) {
                None => return true,
                Some(wait) if now + wait > deadline => return false,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

type Cached = Result<Vec<TrailEvent>, TrailError>;

/// Attribution for one run: the trail, one rate limiter per account-region
/// and the cache of lookups, shared by every workspace the run checks.
pub struct Attributor<T> {
    trail: T,
    epoch: Instant,
    limiters: Mutex<HashMap<String, Arc<TokenBucket>>>,
    cache: tokio::sync::Mutex<HashMap<(String, String, i64, i64), Cached>>,
}

impl<T> std::fmt::Debug for Attributor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attributor").finish_non_exhaustive()
    }
}

impl<T: Trail> Attributor<T> {
    /// An attributor over `trail`, limited to [`LOOKUPS_PER_SECOND`] per
    /// account-region.
    pub fn new(trail: T) -> Self {
        Attributor {
            trail,
            epoch: Instant::now(),
            limiters: Mutex::new(HashMap::new()),
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The trail.
    pub fn trail(&self) -> &T {
        &self.trail
    }

    fn limiter(&self, scope: &str) -> Arc<TokenBucket> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        limiters
            .entry(scope.to_string())
            .or_insert_with(|| Arc::new(TokenBucket::new(LOOKUPS_PER_SECOND, LOOKUPS_PER_SECOND)))
            .clone()
    }

    /// Sets `changed_by` on each `outside_terraform` finding of `report`
    /// (the others are left alone), from CloudTrail events in `window`,
    /// leaving out those of `ignore`; stops at `deadline`.
    pub async fn attribute(
        &self,
        report: &mut Report,
        window: &Window,
        ignore: &IgnorePrincipals,
        deadline: Instant,
    ) {
        let scope = format!(
            "{}/{}",
            report.workspace.account_id.as_deref().unwrap_or("-"),
            report.workspace.region.as_deref().unwrap_or("-")
        );
        let region = report.workspace.region.clone();
        let mut out_of_time = false;
        for item in report
            .drift
            .iter_mut()
            .filter(|i| i.source == ChangeOrigin::OutsideTerraform)
        {
            if item.lookup_keys.is_empty() {
                item.changed_by = Some(Attribution::unknown(UnknownReason::NotAttempted));
                continue;
            }
            if out_of_time || Instant::now() >= deadline {
                out_of_time = true;
                item.changed_by = Some(Attribution::unknown(UnknownReason::SkippedTimeBudget));
                continue;
            }
            let mut events = Vec::new();
            let mut failure: Option<TrailError> = None;
            for key in &item.lookup_keys {
                match self
                    .lookup(&scope, region.as_deref(), key, window, deadline)
                    .await
                {
                    Some(Ok(found)) => events.extend(found),
                    Some(Err(e)) => {
                        tracing::warn!(key = %key, error = %e, "CloudTrail lookup failed");
                        failure.get_or_insert(e);
                    }
                    None => {
                        out_of_time = true;
                        break;
                    }
                }
            }
            let chosen = choose(&events, window, ignore);
            item.changed_by = Some(match (&chosen, failure, out_of_time) {
                (Attribution::ChangedBy(_), _, _) => chosen,
                (_, _, true) => Attribution::unknown(UnknownReason::SkippedTimeBudget),
                (_, Some(e), _) => Attribution::unknown(e.reason()),
                _ => chosen,
            });
        }
    }

    /// Every event naming `key` in `window`, once per run; `None` when the
    /// deadline came first (nothing is cached then).
    async fn lookup(
        &self,
        scope: &str,
        region: Option<&str>,
        key: &str,
        window: &Window,
        deadline: Instant,
    ) -> Option<Cached> {
        let cache_key = (
            scope.to_string(),
            key.to_string(),
            window.start.timestamp(),
            window.end.timestamp(),
        );
        // Held across the lookup: a second finding with the same key waits
        // for the first one's answer instead of asking again.
        let mut cache = self.cache.lock().await;
        if let Some(hit) = cache.get(&cache_key) {
            return Some(hit.clone());
        }
        let limiter = self.limiter(scope);
        let mut request = LookupRequest {
            region: region.map(str::to_string),
            resource_name: key.to_string(),
            start: window.start,
            end: window.end,
            next_token: None,
        };
        let mut events = Vec::new();
        for _ in 0..MAX_PAGES_PER_KEY {
            if !limiter.take(self.epoch, deadline).await {
                return None;
            }
            let page =
                match tokio::time::timeout_at(deadline, self.trail.lookup_events(&request)).await {
                    Err(_) => return None,
                    Ok(Err(e)) => {
                        cache.insert(cache_key, Err(e.clone()));
                        return Some(Err(e));
                    }
                    Ok(Ok(page)) => page,
                };
            events.extend(page.events);
            match page.next_token {
                Some(token) if !token.is_empty() => request.next_token = Some(token),
                _ => break,
            }
        }
        cache.insert(cache_key, Ok(events.clone()));
        Some(Ok(events))
    }
}

/// Marks every `outside_terraform` finding `unknown` with `reason` (no
/// credentials, attribution off for a reason the run states once).
pub fn mark_all(report: &mut Report, reason: UnknownReason) {
    for item in report
        .drift
        .iter_mut()
        .filter(|i| i.source == ChangeOrigin::OutsideTerraform)
    {
        item.changed_by = Some(Attribution::unknown(reason));
    }
}

/// When the workspace was last seen clean, from its previous report (JSON):
/// that report's `generated_at` when its status was `clean`. A report that
/// was not clean, or cannot be read, says nothing: the window then reaches
/// back CloudTrail's 90 days.
pub fn last_clean_check(previous_report: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Previous {
        status: String,
        generated_at: String,
    }
    let previous: Previous = serde_json::from_slice(previous_report).ok()?;
    if previous.status != "clean" {
        return None;
    }
    DateTime::parse_from_rfc3339(&previous.generated_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests;
