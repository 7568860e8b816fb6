//! Checking one workspace end to end: input in, [`Report`] out, always.
//!
//! For a saved plan the file is parsed and analyzed. For a working directory
//! terraform runs in a private data directory (`TF_DATA_DIR` in a temporary
//! folder, so the workspace itself is not modified):
//!
//! 1. `terraform init -input=false` (with `-backend-config` pairs);
//! 2. `terraform plan -detailed-exitcode -json -out=…` (`-parallelism=N` when
//!    asked for; the JSON stream gives
//!    diagnostics and the terraform version): one refresh, which finds the
//!    drift (`resource_drift`) and plans what the next apply does about it
//!    (`resource_changes`) in one go; `-refresh-only` on request;
//! 3. `terraform show -json` of the saved plan, then the analyzer.
//!
//! Whatever goes wrong (terraform missing, failing, timing out, unreadable
//! output) ends in a report with status `error` or `timeout` that keeps the
//! findings gathered before the failure, never in a panic or a lost result.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::terraform::{CommandOutput, Terraform, TerraformError};
use drift_core::drift::{analyze, rules::RuleSet};
use drift_core::inventory::{Input, Workspace};
use drift_core::plan::{self, Diagnostic, PlanDocument};
use drift_core::report::{
    build_report, Failure, Report, ReportIdentity, RunFacts, TerraformRun, WorkspaceInfo,
};
use drift_core::unmanaged::{self, ClaimsUnknown, ManagedResource};

/// Which plan to run: part of the workspace contract, where an entry's
/// `mode` names it.
pub use drift_core::workspace::PlanMode;

/// The report note for a deprecated `both`.
pub const BOTH_IS_PLAN: &str = "mode `both` is deprecated and ran one normal plan: its drift (resource_drift) is what a refresh-only plan finds, so a second refresh added nothing but API reads; ask for `plan`";

/// How to check workspaces.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Which plans to run.
    pub mode: PlanMode,
    /// The whole workspace's time budget.
    pub timeout: Duration,
    /// Whether terraform may take the state lock (`false` passes `-lock=false`).
    pub lock: bool,
    /// Passed as `-lock-timeout`.
    pub lock_timeout: String,
    /// Refuse plan documents larger than this.
    pub max_input_bytes: u64,
    /// For saved plans: the exit code terraform gave when they were made.
    pub reported_exit_code: Option<i32>,
    /// Passed to `terraform plan` as `-parallelism` (terraform's own default,
    /// 10, when `None`); a workspace's own `parallelism` wins.
    pub parallelism: Option<u16>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            mode: PlanMode::Plan,
            timeout: Duration::from_secs(15 * 60),
            lock: true,
            lock_timeout: "60s".to_string(),
            max_input_bytes: plan::DEFAULT_MAX_INPUT_BYTES,
            reported_exit_code: None,
            parallelism: None,
        }
    }
}

/// Checks one workspace from an inventory.
pub async fn check_workspace(
    workspace: &Workspace,
    terraform: Result<&Terraform, &TerraformError>,
    rules: &RuleSet,
    options: &ScanOptions,
) -> Report {
    check_workspace_with_claims(workspace, terraform, rules, options)
        .await
        .report
}

/// A check's report and what the workspace's state claims (its plan's
/// prior state, for [`drift_core::unmanaged`]).
#[derive(Debug, Clone)]
pub struct Checked {
    /// The report, as [`check_workspace`] gives it.
    pub report: Report,
    /// The managed resources of the plan's prior state, or why they are
    /// unknown (no plan was read, a stream, a plan without prior state).
    pub claims: Result<Vec<ManagedResource>, ClaimsUnknown>,
}

impl Checked {
    fn without_claims(report: Report) -> Checked {
        Checked {
            report,
            claims: Err(ClaimsUnknown::NoState),
        }
    }
}

/// [`check_workspace`], keeping the claims of the plan it read.
pub async fn check_workspace_with_claims(
    workspace: &Workspace,
    terraform: Result<&Terraform, &TerraformError>,
    rules: &RuleSet,
    options: &ScanOptions,
) -> Checked {
    let own = &workspace.settings;
    let options = &ScanOptions {
        mode: own.mode.unwrap_or(options.mode),
        lock: own.lock.unwrap_or(options.lock),
        lock_timeout: own
            .lock_timeout
            .clone()
            .unwrap_or_else(|| options.lock_timeout.clone()),
        parallelism: own.parallelism.or(options.parallelism),
        ..options.clone()
    };
    match &workspace.input {
        Input::PlanFile(path) => {
            analyze_file_with_claims(path, workspace.info.clone(), rules, options)
        }
        Input::Directory(dir) => match terraform {
            Ok(tf) => run_directory(tf, dir, workspace, rules, options).await,
            Err(e) => Checked::without_claims(error_report(
                workspace.info.clone(),
                Diagnostic::error(e.to_string(), None),
            )),
        },
    }
}

/// The claims of the documents a check read: the first one that holds a state.
fn claims_of(documents: &[PlanDocument]) -> Result<Vec<ManagedResource>, ClaimsUnknown> {
    let mut unknown = ClaimsUnknown::NoState;
    for doc in documents {
        match unmanaged::claims(doc) {
            Ok(list) => return Ok(list.to_vec()),
            Err(reason) => unknown = reason,
        }
    }
    Err(unknown)
}

/// Where [`check_all`] is: a workspace's check starts (with its name) or ends.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A check starts.
    Started(&'a str),
    /// A check ended.
    Finished,
}

/// Checks every workspace, at most `jobs` at a time (at least one), and
/// returns their reports in the order given: a check that stopped
/// unexpectedly still has an error report in its place. `progress` hears of
/// each start and end.
pub async fn check_all(
    workspaces: &[Workspace],
    terraform: Arc<Result<Terraform, TerraformError>>,
    rules: Arc<RuleSet>,
    options: Arc<ScanOptions>,
    jobs: usize,
    progress: impl Fn(Progress<'_>) + Send + Sync + 'static,
) -> Vec<Report> {
    let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let progress = Arc::new(progress);
    let mut tasks = tokio::task::JoinSet::new();
    for (index, workspace) in workspaces.iter().cloned().enumerate() {
        let (limit, rules, options, terraform, progress) = (
            limit.clone(),
            rules.clone(),
            options.clone(),
            terraform.clone(),
            progress.clone(),
        );
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            progress(Progress::Started(&workspace.info.name));
            let report =
                check_workspace(&workspace, terraform.as_ref().as_ref(), &rules, &options).await;
            progress(Progress::Finished);
            (index, report)
        });
    }
    let mut slots: Vec<Option<Report>> = vec![None; workspaces.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, report)) => slots[index] = Some(report),
            Err(e) => tracing::error!("a workspace task failed: {e}"),
        }
    }
    slots
        .into_iter()
        .zip(workspaces)
        .map(|(slot, ws)| {
            slot.unwrap_or_else(|| {
                error_report(
                    ws.info.clone(),
                    Diagnostic::error("the check of this workspace stopped unexpectedly", None),
                )
            })
        })
        .collect()
}

/// Analyzes a saved plan file (or `-` for stdin).
pub fn analyze_file(
    path: &Path,
    info: WorkspaceInfo,
    rules: &RuleSet,
    options: &ScanOptions,
) -> Report {
    analyze_file_with_claims(path, info, rules, options).report
}

fn analyze_file_with_claims(
    path: &Path,
    info: WorkspaceInfo,
    rules: &RuleSet,
    options: &ScanOptions,
) -> Checked {
    let name = path.display().to_string();
    let parsed = if name == "-" {
        plan::read_document("-", std::io::stdin().lock(), options.max_input_bytes)
    } else {
        plan::read_file(path, options.max_input_bytes)
    };
    match parsed {
        Ok(doc) => {
            let facts = RunFacts {
                terraform_version: doc.terraform_version.clone(),
                format_version: doc.format_version.clone(),
                reported_exit_code: options.reported_exit_code,
                ..RunFacts::default()
            };
            Checked {
                report: build_report(ReportIdentity::new(), info, analyze(&[&doc], rules), facts),
                claims: claims_of(std::slice::from_ref(&doc)),
            }
        }
        Err(e) => {
            Checked::without_claims(error_report(info, Diagnostic::error(e.to_string(), None)))
        }
    }
}

/// A report with status `error` and one diagnostic.
pub fn error_report(info: WorkspaceInfo, diagnostic: Diagnostic) -> Report {
    let facts = RunFacts {
        failure: Some(Failure::Error),
        diagnostics: vec![diagnostic],
        ..RunFacts::default()
    };
    build_report(ReportIdentity::new(), info, Default::default(), facts)
}

/// Collects the facts and documents of a terraform run as it goes, so that a
/// failure at any step still yields everything gathered before it.
struct Run<'a> {
    terraform: Terraform,
    dir: &'a Path,
    deadline: Instant,
    facts: RunFacts,
    documents: Vec<PlanDocument>,
}

impl Run<'_> {
    /// Runs one command and records it. `Err(())` means the run must stop;
    /// the reason is already recorded.
    async fn command(&mut self, label: &str, args: Vec<String>) -> Result<CommandOutput, ()> {
        match self.terraform.run(self.dir, &args, self.deadline).await {
            Ok(output) => {
                self.facts.runs.push(TerraformRun {
                    command: label.to_string(),
                    exit_code: output.exit_code,
                    duration_seconds: output.duration.as_secs_f64(),
                });
                Ok(output)
            }
            Err(e) => {
                let timed_out = matches!(e, TerraformError::TimedOut { .. });
                if let TerraformError::TimedOut { elapsed, .. } = &e {
                    self.facts.runs.push(TerraformRun {
                        command: label.to_string(),
                        exit_code: None,
                        duration_seconds: *elapsed,
                    });
                }
                self.fail(
                    if timed_out {
                        Failure::Timeout
                    } else {
                        Failure::Error
                    },
                    Diagnostic::error(e.to_string(), None),
                );
                Err(())
            }
        }
    }

    fn fail(&mut self, failure: Failure, diagnostic: Diagnostic) {
        self.facts.failure.get_or_insert(failure);
        self.facts.diagnostics.push(diagnostic);
    }

    /// Records a failed command's reason: its JSON diagnostics if it gave
    /// any, else the end of its stderr.
    fn command_failed(
        &mut self,
        label: &str,
        output: &CommandOutput,
        json_diagnostics: Vec<Diagnostic>,
    ) {
        let errors: Vec<Diagnostic> = json_diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        if errors.is_empty() {
            let code = output
                .exit_code
                .map_or("a signal".to_string(), |c| format!("exit code {c}"));
            self.fail(
                Failure::Error,
                Diagnostic::error(
                    format!("`terraform {label}` failed with {code}"),
                    stderr_tail(&output.stderr),
                ),
            );
        } else {
            self.facts.failure.get_or_insert(Failure::Error);
            self.facts.diagnostics.extend(errors);
        }
    }
}

fn stderr_tail(stderr: &str) -> Option<String> {
    const LINES: usize = 25;
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(LINES)..].join("\n");
    (!tail.is_empty()).then_some(tail)
}

async fn run_directory(
    terraform: &Terraform,
    dir: &Path,
    workspace: &Workspace,
    rules: &RuleSet,
    options: &ScanOptions,
) -> Checked {
    let info = workspace.info.clone();
    if !dir.is_dir() {
        return Checked::without_claims(error_report(
            info,
            Diagnostic::error(
                format!("{}: no such Terraform working directory", dir.display()),
                Some("check the workspace's `dir` in the inventory".to_string()),
            ),
        ));
    }
    let scratch = match tempfile::Builder::new()
        .prefix("drift-detection-")
        .tempdir()
    {
        Ok(t) => t,
        Err(e) => {
            return Checked::without_claims(error_report(
                info,
                Diagnostic::error(format!("cannot create a temporary folder: {e}"), None),
            ))
        }
    };
    let mut tf = terraform
        .clone()
        .with_max_output_bytes(options.max_input_bytes)
        .with_env("TF_DATA_DIR", scratch.path().join("terraform-data"));
    if let Some(name) = &workspace.terraform_workspace {
        tf = tf.with_env("TF_WORKSPACE", name);
    }
    let mut run = Run {
        terraform: tf,
        dir,
        deadline: Instant::now() + options.timeout,
        facts: RunFacts::default(),
        documents: Vec::new(),
    };
    execute(&mut run, workspace, scratch.path(), options).await;

    let Run {
        mut facts,
        documents,
        ..
    } = run;
    let refs: Vec<&PlanDocument> = documents.iter().collect();
    facts.terraform_version = facts
        .terraform_version
        .or_else(|| documents.iter().find_map(|d| d.terraform_version.clone()));
    facts.format_version = documents.iter().find_map(|d| d.format_version.clone());
    Checked {
        report: build_report(ReportIdentity::new(), info, analyze(&refs, rules), facts),
        claims: claims_of(&documents),
    }
}

async fn execute(run: &mut Run<'_>, workspace: &Workspace, scratch: &Path, options: &ScanOptions) {
    let Ok(output) = run.command("init", init_args(workspace)).await else {
        return;
    };
    if output.exit_code != Some(0) {
        run.command_failed("init", &output, Vec::new());
        return;
    }

    let plans: &[(&str, bool)] = match options.mode {
        PlanMode::RefreshOnly => &[("plan -refresh-only", true)],
        PlanMode::Plan => &[("plan", false)],
        PlanMode::Both => {
            run.facts.notes.push(BOTH_IS_PLAN.to_string());
            &[("plan", false)]
        }
    };
    for (label, refresh_only) in plans {
        let plan_file = scratch.join(if *refresh_only {
            "refresh-only.tfplan"
        } else {
            "plan.tfplan"
        });
        let mut args: Vec<String> = [
            "plan",
            "-input=false",
            "-no-color",
            "-json",
            "-detailed-exitcode",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("-lock-timeout={}", options.lock_timeout));
        if !options.lock {
            args.push("-lock=false".to_string());
        }
        if let Some(n) = options.parallelism {
            args.push(format!("-parallelism={n}"));
        }
        if *refresh_only {
            args.push("-refresh-only".to_string());
        }
        args.push(format!("-out={}", plan_file.display()));
        let Ok(output) = run.command(label, args).await else {
            return;
        };

        let stream =
            plan::read_live_stream(label, output.stdout.as_slice(), options.max_input_bytes).ok();
        let stream_diagnostics = stream
            .as_ref()
            .map(|s| s.diagnostics.clone())
            .unwrap_or_default();
        if run.facts.terraform_version.is_none() {
            run.facts.terraform_version = stream.as_ref().and_then(|s| s.terraform_version.clone());
        }
        if !matches!(output.exit_code, Some(0 | 2)) {
            run.command_failed(label, &output, stream_diagnostics);
            return;
        }
        run.facts
            .diagnostics
            .extend(stream_diagnostics.into_iter().filter(|d| !d.is_error()));

        let show = vec![
            "show".to_string(),
            "-json".to_string(),
            "-no-color".to_string(),
            plan_file.display().to_string(),
        ];
        let show_label = format!("show -json ({label})");
        let Ok(shown) = run.command(&show_label, show).await else {
            return;
        };
        if shown.exit_code != Some(0) {
            run.command_failed(&show_label, &shown, Vec::new());
            return;
        }
        match plan::read_slice(&show_label, &shown.stdout, options.max_input_bytes) {
            Ok(doc) => run.documents.push(doc),
            Err(e) => {
                run.fail(Failure::Error, Diagnostic::error(e.to_string(), None));
                return;
            }
        }
    }
}

/// Reads what a workspace's state claims, without a plan and without
/// reading the cloud: a saved plan or state file is parsed; in a working
/// directory terraform runs `init` (as [`check_workspace`] does, in a
/// private data folder, with the entry's backend configuration and
/// `terraform_workspace`) and then `show -json` of the state. `Err` says
/// why the claims are unknown, naming the workspace's input.
pub async fn read_claims(
    workspace: &Workspace,
    terraform: Result<&Terraform, &TerraformError>,
    options: &ScanOptions,
) -> Result<Vec<ManagedResource>, String> {
    let from_doc = |doc: &PlanDocument| unmanaged::claims(doc).map(<[_]>::to_vec);
    match &workspace.input {
        Input::PlanFile(path) => {
            let doc = plan::read_file(path, options.max_input_bytes).map_err(|e| e.to_string())?;
            from_doc(&doc).map_err(|e| format!("{}: {e}", path.display()))
        }
        Input::Directory(dir) => {
            let terraform = terraform.map_err(|e| e.to_string())?;
            if !dir.is_dir() {
                return Err(format!(
                    "{}: no such Terraform working directory",
                    dir.display()
                ));
            }
            let scratch = tempfile::Builder::new()
                .prefix("drift-detection-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
            let mut tf = terraform
                .clone()
                .with_max_output_bytes(options.max_input_bytes)
                .with_env("TF_DATA_DIR", scratch.path().join("terraform-data"));
            if let Some(name) = &workspace.terraform_workspace {
                tf = tf.with_env("TF_WORKSPACE", name);
            }
            let deadline = Instant::now() + options.timeout;
            let run = |args: Vec<String>, label: &'static str| {
                let tf = tf.clone();
                async move {
                    let output = tf
                        .run(dir, &args, deadline)
                        .await
                        .map_err(|e| e.to_string())?;
                    if output.exit_code != Some(0) {
                        let code = output
                            .exit_code
                            .map_or("a signal".to_string(), |c| format!("exit code {c}"));
                        let tail =
                            stderr_tail(&output.stderr).map_or(String::new(), |t| format!(": {t}"));
                        return Err(format!(
                            "{}: `terraform {label}` failed with {code}{tail}",
                            dir.display()
                        ));
                    }
                    Ok(output)
                }
            };
            run(init_args(workspace), "init").await?;
            // `show -json` without a plan file prints the state as it is:
            // no refresh, no cloud read.
            let shown = run(
                vec![
                    "show".to_string(),
                    "-json".to_string(),
                    "-no-color".to_string(),
                ],
                "show -json",
            )
            .await?;
            let label = format!("{} (terraform show -json)", dir.display());
            let doc = plan::read_slice(&label, &shown.stdout, options.max_input_bytes)
                .map_err(|e| e.to_string())?;
            from_doc(&doc).map_err(|e| format!("{label}: {e}"))
        }
    }
}

fn init_args(workspace: &Workspace) -> Vec<String> {
    let mut init = vec![
        "init".to_string(),
        "-input=false".to_string(),
        "-no-color".to_string(),
    ];
    init.extend(
        workspace
            .backend_config
            .iter()
            .map(|(k, v)| format!("-backend-config={k}={v}")),
    );
    init
}
