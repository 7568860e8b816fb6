//! The drift-detection worker on AWS Lambda (`provided.al2023`).
//!
//! Configuration is read and checked once at cold start, the AWS clients are
//! built once per container, then each event checks one workspace (see
//! `drift_worker`). Logs are JSON lines on stdout, beside the
//! CloudWatch Embedded Metric Format lines the handler prints.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use drift_worker::aws::{load_sdk_config, Aws};
use drift_worker::config::WorkerConfig;
use drift_worker::event::WorkerResponse;
use drift_worker::{Worker, WorkerError};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

/// Lambda's error body: `errorType` is the orchestrator's retry contract.
#[derive(Debug)]
struct FunctionError(WorkerError);

impl From<FunctionError> for Diagnostic {
    fn from(FunctionError(error): FunctionError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}

/// Epoch milliseconds before which a deadline cannot be a point in time.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// Turns Lambda's deadline (milliseconds since the epoch) into an `Instant`.
fn deadline_instant(deadline_ms: u64) -> Instant {
    // `cargo lambda watch` sends the function's timeout (e.g. 600000) rather
    // than a point in time; read such a value as milliseconds from now.
    if deadline_ms < EPOCH_MS_FLOOR {
        return Instant::now() + Duration::from_millis(deadline_ms);
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

async fn handle(
    worker: &Worker,
    event: LambdaEvent<Value>,
) -> Result<WorkerResponse, FunctionError> {
    let deadline = deadline_instant(event.context.deadline);
    tracing::info!(
        request_id = %event.context.request_id,
        deadline_ms = event.context.deadline,
        remaining_ms = deadline.saturating_duration_since(Instant::now()).as_millis() as u64,
        "invocation"
    );
    worker
        .handle(event.payload, deadline)
        .await
        .inspect_err(
            |e| tracing::error!(error_type = e.error_type(), error = %e, "invocation failed"),
        )
        .map_err(FunctionError)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = WorkerConfig::from_env();
    let level = config
        .as_ref()
        .map(|c| c.log_level.clone())
        .unwrap_or_else(|_| "info".to_string());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .init();
    let config = config.map_err(|message| {
        tracing::error!(%message, "cold start failed");
        lambda_runtime::Error::from(message)
    })?;
    let sdk_config = load_sdk_config(&config.region).await;
    let worker = Worker::new(config, Aws::new(&sdk_config));
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event| handle(worker, event))).await
}
