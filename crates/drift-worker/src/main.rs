//! The drift-detection worker on AWS Lambda (`provided.al2023`), and once
//! outside it.
//!
//! Without arguments it serves Lambda invocations: configuration is read and
//! checked once at cold start, the AWS clients are built once per container,
//! then each event checks one workspace (see `drift_worker`). Logs are JSON
//! lines on stdout, beside the CloudWatch Embedded Metric Format lines the
//! handler prints.
//!
//! With `--event-file PATH|-` it checks that one event and exits (for AWS
//! CodeBuild; see `drift_worker::oneshot`): the response, or the error body,
//! is the only line on stdout (logs and metric lines go to stderr), also
//! written to `--response-file`, and the exit code says which answer it is.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use drift_worker::aws::{load_sdk_config, Aws};
use drift_worker::config::WorkerConfig;
use drift_worker::event::WorkerResponse;
use drift_worker::oneshot::{self, exit_code, Outcome};
use drift_worker::{RecordSink, Worker, WorkerError};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

const EXIT_CODES_HELP: &str = "Without --event-file, serves AWS Lambda invocations. \
Exit codes of a one-shot run: 0 the check completed (clean, drift or pending changes), \
2 the worker could not start (bad arguments, response file, WorkerMisconfigured), \
3 InvalidEvent, 4 DriftCheckFailed, 5 DriftCheckTimedOut, 6 ReportNotStored, 7 AlertNotSent.";

/// Checks one Terraform workspace for drift: serves AWS Lambda invocations,
/// or with --event-file checks one event and exits.
#[derive(Parser)]
#[command(name = "drift-detection-worker", version, about, after_help = EXIT_CODES_HELP)]
struct Args {
    /// Check this one worker event (a JSON file, or - for stdin) and exit,
    /// instead of serving Lambda invocations.
    #[arg(long, value_name = "PATH|-")]
    event_file: Option<PathBuf>,
    /// Also write the response (or the error body) to this file.
    #[arg(long, value_name = "PATH", requires = "event_file")]
    response_file: Option<PathBuf>,
    /// Seconds the one-shot check may take, Lambda's deadline's stand-in:
    /// terraform is stopped 20 s before it, so that a `timeout` report is
    /// still stored. Set it to the build's own timeout.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 3600,
        requires = "event_file",
        value_parser = clap::value_parser!(u64).range(60..=129_600)
    )]
    timeout: u64,
}

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

/// Where logs go: stdout in Lambda, stderr in a one-shot run (whose stdout
/// is the answer alone).
fn init_logging(config: &Result<WorkerConfig, String>, to_stderr: bool) {
    let level = config
        .as_ref()
        .map(|c| c.log_level.clone())
        .unwrap_or_else(|_| "info".to_string());
    let builder = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .with_target(false);
    if to_stderr {
        builder.with_writer(std::io::stderr).init();
    } else {
        builder.init();
    }
}

/// A one-shot run's records (EMF lines, critical items, unsaved reports):
/// on stderr, beside the logs.
#[derive(Debug)]
struct Stderr;

impl RecordSink for Stderr {
    fn write(&self, record: &Value) {
        eprintln!("{record}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(exit_code::NOT_STARTED),
            };
        }
    };
    match args.event_file {
        Some(event_file) => {
            ExitCode::from(once(&event_file, args.response_file, args.timeout).await)
        }
        None => match serve().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e:?}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Serves Lambda invocations until the runtime stops.
async fn serve() -> Result<(), lambda_runtime::Error> {
    let config = WorkerConfig::from_env();
    init_logging(&config, false);
    let config = config.map_err(|message| {
        tracing::error!(%message, "cold start failed");
        lambda_runtime::Error::from(message)
    })?;
    let sdk_config = load_sdk_config(&config.region).await;
    let worker = Worker::new(config, Aws::new(&sdk_config));
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event| handle(worker, event))).await
}

/// Checks the one event in `event_file`; returns the exit code.
async fn once(event_file: &std::path::Path, response_file: Option<PathBuf>, timeout: u64) -> u8 {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let config = WorkerConfig::from_env();
    init_logging(&config, true);
    // A response file that cannot be written fails the run before the check.
    if let Some(path) = &response_file {
        if let Err(e) = std::fs::write(path, b"") {
            eprintln!(
                "drift-detection-worker: the response file {} cannot be written: {e}",
                path.display()
            );
            return exit_code::NOT_STARTED;
        }
    }
    let outcome = match config {
        Err(message) => {
            tracing::error!(%message, "start failed");
            Outcome::misconfigured(&message)
        }
        Ok(config) => match oneshot::read_event(event_file, std::io::stdin().lock()) {
            Err(error) => {
                tracing::error!(error_type = error.error_type(), error = %error, "invalid event");
                Outcome::error(&error)
            }
            Ok(text) => {
                let sdk_config = load_sdk_config(&config.region).await;
                let cloud = Aws::new(&sdk_config).with_session_seconds(timeout);
                let mut worker = Worker::new(config, cloud);
                worker.records = Arc::new(Stderr);
                tracing::info!(timeout_seconds = timeout, "one-shot check");
                let outcome = oneshot::run(&worker, &text, deadline).await;
                if let Some(error_type) = outcome.body.get("errorType") {
                    tracing::error!(%error_type, "check failed");
                }
                outcome
            }
        },
    };
    let line = outcome.to_line();
    let mut code = outcome.exit_code;
    if let Some(path) = &response_file {
        if let Err(e) = std::fs::write(path, &line) {
            eprintln!(
                "drift-detection-worker: the response file {} cannot be written: {e}",
                path.display()
            );
            code = exit_code::NOT_STARTED;
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush());
    code
}
