//! The `drift-detection` command line: `analyze` saved plans, `scan` workspaces,
//! `unmanaged` resources.
//!
//! A thin edge over the library: parse arguments, read inputs, call the core,
//! write reports, print a summary and exit with a code a CI job can gate on
//! (see `drift_core::report::exit_code`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use drift_core::drift::rules::RuleSet;
use drift_core::inventory::{self, Input, Workspace};
use drift_core::plan::DiagnosticSeverity;
use drift_core::report::render::{render, summary_table, terminal_text, Format};
use drift_core::report::{combined_exit_code, exit_code, json_schema, Report, WorkspaceInfo};
use drift_runner::attribution;
use drift_runner::output;
use drift_runner::scan::{self, PlanMode, ScanOptions};
use drift_runner::terraform::Terraform;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const EXIT_CODES_HELP: &str = "Exit codes: 0 clean, 1 error (a workspace could not be checked), \
2 drift, 3 critical finding, 4 pending changes only. The most serious wins, error first.";

/// Finds where live infrastructure has drifted from its Terraform.
#[derive(Parser)]
#[command(name = "drift-detection", version, about, after_help = EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more to stderr (-v info, -vv debug). DRIFT_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Analyze saved Terraform JSON: `terraform show -json PLANFILE` or `terraform plan -json` output.
    Analyze(AnalyzeArgs),
    /// Run terraform in workspace directories (or an inventory's workspaces) and analyze the plans.
    Scan(ScanArgs),
    /// Compare what the states claim with what exists (AWS Config, or an
    /// inventory file): resources nobody manages, managed twice, or gone.
    Unmanaged(UnmanagedArgs),
    /// Print the JSON Schema of the report (contract v1).
    Schema,
}

const UNMANAGED_HELP: &str = "Exit codes: 0 nothing unmanaged, managed twice or gone, 1 error (a state or the inventory could not be read), 2 findings. Error first.";

#[derive(Args)]
#[command(after_help = UNMANAGED_HELP)]
struct UnmanagedArgs {
    /// Saved `terraform show -json` output: a state, or a plan with its
    /// prior state. Each is a workspace named after its file, in
    /// --account-id and --region.
    #[arg(
        value_name = "STATE_OR_PLAN_JSON",
        required_unless_present = "workspaces"
    )]
    files: Vec<PathBuf>,
    /// Inventory of workspaces (the one `scan` takes): `dir` entries get
    /// `terraform init` and `terraform show -json` (the state, no refresh,
    /// no cloud read), `plan` entries are read.
    #[arg(long, value_name = "FILE")]
    workspaces: Option<PathBuf>,
    /// The account of the STATE_OR_PLAN_JSON files, and of inventory entries without one.
    #[arg(long)]
    account_id: Option<String>,
    /// The region of the STATE_OR_PLAN_JSON files, and of inventory entries without one.
    #[arg(long)]
    region: Option<String>,
    /// The environment of the STATE_OR_PLAN_JSON files.
    #[arg(long)]
    environment: Option<String>,
    /// What exists, as JSON `{"inventory": [InventoryItem], "coverage":
    /// [Coverage]}` (schemas/unmanaged-report.v1.json, $defs), instead of
    /// asking AWS Config.
    #[arg(long, value_name = "FILE")]
    inventory_file: Option<PathBuf>,
    /// Rules file (TOML or YAML); its `unmanaged.ignore` adds to the embedded ignores.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Write the JSON report (unmanaged-report v1) to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The terraform binary (default: TERRAFORM_PATH, then PATH).
    #[arg(long, value_name = "PATH")]
    terraform: Option<PathBuf>,
    /// Seconds terraform may take per workspace.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Refuse a state or plan larger than this many bytes.
    #[arg(long, default_value_t = drift_core::plan::DEFAULT_MAX_INPUT_BYTES)]
    max_input_bytes: u64,
    /// Print nothing on stdout.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct Common {
    /// What to print on stdout; JSON and Markdown files are always written to --out.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Folder for the reports.
    #[arg(long, default_value = "drift-reports")]
    out: PathBuf,
    /// Severity and ignore rules (TOML or YAML), tried before the embedded defaults.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Refuse input (a plan, a stream, stdin, terraform's output) larger than this many bytes.
    #[arg(long, default_value_t = drift_core::plan::DEFAULT_MAX_INPUT_BYTES)]
    max_input_bytes: u64,
    /// Print nothing on stdout; only write reports and set the exit code.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Plan JSON or JSON-lines stream files; `-` reads stdin.
    #[arg(required = true, value_name = "PLAN")]
    plans: Vec<PathBuf>,
    /// Workspace name (default: from the file name).
    #[arg(long)]
    workspace: Option<String>,
    /// Environment, e.g. prod.
    #[arg(long)]
    environment: Option<String>,
    /// AWS account id.
    #[arg(long)]
    account_id: Option<String>,
    /// AWS region.
    #[arg(long)]
    region: Option<String>,
    /// The exit code `terraform plan -detailed-exitcode` gave, to reconcile with the content.
    #[arg(long, value_name = "CODE", value_parser = clap::value_parser!(i32).range(0..=2))]
    terraform_exit_code: Option<i32>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ScanArgs {
    /// Terraform working directories.
    #[arg(value_name = "DIR", required_unless_present = "workspaces")]
    dirs: Vec<PathBuf>,
    /// Inventory of workspaces (TOML or JSON), instead of or beside DIRs.
    #[arg(long, value_name = "FILE")]
    workspaces: Option<PathBuf>,
    /// The terraform binary (default: TERRAFORM_PATH, then PATH).
    #[arg(long, value_name = "PATH")]
    terraform: Option<PathBuf>,
    /// Workspaces checked at once.
    #[arg(long, short, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// Seconds one workspace may take; terraform is then stopped and the report says `timeout`.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Which plan to run: `plan` reads each resource once and says, per
    /// drifted attribute, whether the next apply sets it back.
    #[arg(long, value_enum, default_value_t = ModeArg::Plan)]
    mode: ModeArg,
    /// How long terraform waits for the state lock.
    #[arg(long, default_value = "60s")]
    lock_timeout: String,
    /// Plan without taking the state lock (`-lock=false`). Only where nothing else writes the state.
    #[arg(long)]
    no_lock: bool,
    /// Terraform's `-parallelism` for every plan (terraform's default is 10;
    /// fewer concurrent provider calls, less API throttling). An inventory
    /// entry's own `parallelism` wins.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    parallelism: Option<u16>,
    /// Look up in CloudTrail who made each drift (`changed_by` in the
    /// report), with the default AWS credential chain: `LookupEvents` by the
    /// resource's identifiers, since the workspace's last clean report in
    /// --out (at most 90 days), two requests a second per account-region.
    #[arg(long)]
    attribute: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    /// One normal plan: drift, its verdicts and pending changes, one refresh.
    Plan,
    /// Only `plan -refresh-only`: drift, without verdicts.
    RefreshOnly,
    /// Deprecated: the same as `plan` (it once ran a second refresh for
    /// nothing more).
    Both,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors must not read as drift (clap's own code is 2).
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(exit_code::ERROR),
            };
        }
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Messages quote file names and input, which may hold escape sequences.
            eprintln!("drift-detection: {}", terminal_text(&format!("{e:#}")));
            ExitCode::from(exit_code::ERROR)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DRIFT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Scan(args) => scan(args),
        Command::Unmanaged(args) => unmanaged(args),
        Command::Schema => {
            let text = serde_json::to_string_pretty(&json_schema())?;
            print_out(&format!("{text}\n"));
            Ok(exit_code::CLEAN)
        }
    }
}

fn load_rules(path: Option<&Path>) -> Result<RuleSet> {
    match path {
        Some(path) => Ok(RuleSet::from_path(path)?),
        None => Ok(RuleSet::embedded()),
    }
}

fn analyze(args: AnalyzeArgs) -> Result<u8> {
    let rules = load_rules(args.common.rules.as_deref())?;
    let options = ScanOptions {
        max_input_bytes: args.common.max_input_bytes,
        reported_exit_code: args.terraform_exit_code,
        ..ScanOptions::default()
    };
    if args.workspace.is_some() && args.plans.len() > 1 {
        anyhow::bail!("--workspace names one workspace, but {} plans were given; drop it to name each after its file", args.plans.len());
    }
    let mut infos: Vec<WorkspaceInfo> = args
        .plans
        .iter()
        .map(|path| WorkspaceInfo {
            name: args
                .workspace
                .clone()
                .unwrap_or_else(|| workspace_name(path)),
            environment: args.environment.clone(),
            account_id: args.account_id.clone(),
            region: args.region.clone(),
        })
        .collect();
    // Two plans may give one name (`x/a.json` and `y/a.json`): the second
    // becomes `a-2`, so neither report replaces the other.
    output::unique_workspace_names(&mut infos);
    let reports: Vec<Report> = args
        .plans
        .iter()
        .zip(infos)
        .map(|(path, info)| scan::analyze_file(path, info, &rules, &options))
        .collect();
    finish(&reports, &args.common)
}

/// A workspace name from a plan's file name, or its folder's when the file
/// name says nothing (`plan.json`, `output.json`).
fn workspace_name(path: &Path) -> String {
    if path == Path::new("-") {
        return "stdin".to_string();
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("plan");
    let stem = stem.strip_suffix(".plan").unwrap_or(stem);
    let generic = [
        "plan",
        "output",
        "tfplan",
        "plan-redacted",
        "show",
        "terraform",
    ];
    if generic.contains(&stem) {
        if let Some(parent) = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
        {
            return parent.to_string();
        }
    }
    stem.to_string()
}

fn scan(args: ScanArgs) -> Result<u8> {
    let rules = Arc::new(load_rules(args.common.rules.as_deref())?);
    let mut workspaces: Vec<Workspace> = match &args.workspaces {
        // Its errors name it ("inventory PATH: ..."); more context would say it twice.
        Some(path) => inventory::load(path)?,
        None => Vec::new(),
    };
    for dir in &args.dirs {
        let name = std::fs::canonicalize(dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        workspaces.push(Workspace {
            info: WorkspaceInfo {
                name,
                ..WorkspaceInfo::default()
            },
            input: Input::Directory(dir.clone()),
            terraform_workspace: None,
            backend_config: Default::default(),
            settings: Default::default(),
        });
    }
    // `scan x/net y/net` names both after their folder: the second becomes
    // `net-2`, and an inventory's names, listed first, keep theirs.
    output::unique_workspace_names(workspaces.iter_mut().map(|w| &mut w.info));
    if matches!(args.mode, ModeArg::Both) {
        eprintln!(
            "drift-detection: --mode both is deprecated: it runs one plan, as --mode plan does"
        );
    }
    let terraform = Arc::new(Terraform::locate(args.terraform.as_deref()));
    let options = Arc::new(ScanOptions {
        mode: match args.mode {
            ModeArg::Both => PlanMode::Both,
            ModeArg::RefreshOnly => PlanMode::RefreshOnly,
            ModeArg::Plan => PlanMode::Plan,
        },
        timeout: Duration::from_secs(args.timeout),
        lock: !args.no_lock,
        lock_timeout: args.lock_timeout.clone(),
        max_input_bytes: args.common.max_input_bytes,
        reported_exit_code: None,
        parallelism: args.parallelism,
    });

    let progress =
        ProgressBar::with_draw_target(Some(workspaces.len() as u64), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() || args.common.quiet {
        progress.set_draw_target(ProgressDrawTarget::hidden());
    }
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    // Plans nest at most plan::depth::MAX_NESTING_DEPTH levels, which a
    // release build reads in a few dozen KiB of stack; a debug build's
    // frames take about 50 KiB a level, more than tokio's 2 MiB allow.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 << 20)
        .build()
        .context("starting the async runtime")?;
    let attribution_rules = rules.clone();
    let mut reports = runtime.block_on({
        let progress = progress.clone();
        scan::check_all(
            &workspaces,
            terraform,
            rules,
            options,
            usize::from(args.jobs),
            move |event| match event {
                scan::Progress::Started(name) => {
                    progress.set_message(terminal_text(name).into_owned())
                }
                scan::Progress::Finished => progress.inc(1),
            },
        )
    });
    progress.finish_and_clear();
    if args.attribute {
        let budget = Duration::from_secs(args.timeout).min(attribution::DEFAULT_BUDGET);
        runtime.block_on(attribute(
            &mut reports,
            &attribution_rules,
            &args.common.out,
            budget,
        ))?;
    }
    finish(&reports, &args.common)
}

/// Fills the drift findings' `changed_by` from CloudTrail with the default
/// credential chain; without credentials, says so once and marks them
/// `unknown: no_credentials`. Each workspace's window starts at its last
/// clean report in `out` (the report this run is about to replace).
#[cfg(feature = "attribute")]
async fn attribute(
    reports: &mut [Report],
    rules: &RuleSet,
    out: &Path,
    budget: Duration,
) -> Result<()> {
    use drift_core::attribution::{IgnorePrincipals, UnknownReason, Window};
    use drift_runner::attribution::aws::{load_config, AwsTrail};

    if reports.iter().all(|r| r.summary.drifted_resources == 0) {
        return Ok(());
    }
    let trail = AwsTrail::new(load_config(None).await);
    if let Err(e) = trail.check_credentials().await {
        eprintln!(
            "drift-detection: --attribute: no AWS credentials ({}); drift findings say changed_by unknown (no_credentials)",
            terminal_text(&e)
        );
        for report in reports.iter_mut() {
            attribution::mark_all(report, UnknownReason::NoCredentials);
        }
        return Ok(());
    }
    let attributor = attribution::Attributor::new(trail);
    let ignore = IgnorePrincipals::new(rules.attribution_ignore().iter().cloned());
    for report in reports
        .iter_mut()
        .filter(|r| r.summary.drifted_resources > 0)
    {
        let mut previous = output::report_stem(out, report).into_os_string();
        previous.push(".json");
        let last_clean = std::fs::read(PathBuf::from(previous))
            .ok()
            .and_then(|bytes| attribution::last_clean_check(&bytes));
        let window = Window::new(last_clean, chrono::Utc::now());
        let deadline = tokio::time::Instant::now() + budget;
        attributor
            .attribute(report, &window, &ignore, deadline)
            .await;
    }
    Ok(())
}

/// Built without the AWS SDK (`--no-default-features`): `--attribute` is
/// refused rather than ignored.
#[cfg(not(feature = "attribute"))]
async fn attribute(_: &mut [Report], _: &RuleSet, _: &Path, _: Duration) -> Result<()> {
    anyhow::bail!("--attribute needs a build with the `attribute` feature (the AWS SDK)")
}

/// `unmanaged`: reads each workspace's claims, lists what exists, compares.
fn unmanaged(args: UnmanagedArgs) -> Result<u8> {
    use drift_core::unmanaged::{
        self, render as unmanaged_render, InventoryFile, ManagedResources, WorkspaceRef,
    };

    let rules = load_rules(args.rules.as_deref())?;
    let mut workspaces: Vec<Workspace> = match &args.workspaces {
        Some(path) => inventory::load(path)?,
        None => Vec::new(),
    };
    for path in &args.files {
        workspaces.push(Workspace {
            info: WorkspaceInfo {
                name: workspace_name(path),
                environment: args.environment.clone(),
                ..WorkspaceInfo::default()
            },
            input: Input::PlanFile(path.clone()),
            terraform_workspace: None,
            backend_config: Default::default(),
            settings: Default::default(),
        });
    }
    output::unique_workspace_names(workspaces.iter_mut().map(|w| &mut w.info));
    // Every claim is scoped by account and region: a workspace without them
    // cannot be compared.
    let mut refs = Vec::with_capacity(workspaces.len());
    for ws in &mut workspaces {
        let account_id = ws
            .info
            .account_id
            .clone()
            .or_else(|| args.account_id.clone());
        let region = ws.info.region.clone().or_else(|| args.region.clone());
        let (Some(account_id), Some(region)) = (account_id, region) else {
            anyhow::bail!(
                "workspace {}: no account_id or region; give --account-id and --region (or set them in the inventory)",
                ws.info.name
            );
        };
        ws.info.account_id = Some(account_id.clone());
        ws.info.region = Some(region.clone());
        refs.push(WorkspaceRef {
            name: ws.info.name.clone(),
            environment: ws.info.environment.clone(),
            account_id,
            region,
        });
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 << 20)
        .build()
        .context("starting the async runtime")?;
    let terraform = Terraform::locate(args.terraform.as_deref());
    let options = ScanOptions {
        timeout: Duration::from_secs(args.timeout),
        max_input_bytes: args.max_input_bytes,
        ..ScanOptions::default()
    };
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut errored = false;
    let mut claims = Vec::new();
    let mut unclaimed = Vec::new();
    for (ws, ws_ref) in workspaces.iter().zip(refs) {
        match runtime.block_on(scan::read_claims(ws, terraform.as_ref(), &options)) {
            Ok(resources) => claims.push(ManagedResources::new(
                None,
                generated_at.clone(),
                ws_ref,
                resources,
            )),
            Err(e) => {
                eprintln!(
                    "drift-detection: {}: {}; what is unclaimed in {} {} is withheld",
                    terminal_text(&ws_ref.name),
                    terminal_text(&e),
                    terminal_text(&ws_ref.account_id),
                    terminal_text(&ws_ref.region)
                );
                errored = true;
                unclaimed.push(ws_ref);
            }
        }
    }

    let listing = match &args.inventory_file {
        // Its errors name it.
        Some(path) => {
            let file = InventoryFile::from_path(path)?;
            (file.inventory, file.coverage)
        }
        None => {
            let (inventory, coverage, failed) = runtime.block_on(config_inventory(&workspaces))?;
            errored |= failed;
            (inventory, coverage)
        }
    };
    let report = unmanaged::compare_at(
        None,
        generated_at,
        &claims,
        &unclaimed,
        &listing.0,
        &listing.1,
        rules.unmanaged_ignore(),
    );
    if let Some(out) = &args.out {
        let text = unmanaged_render::render(&report, Format::Json);
        std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    }
    if !args.quiet {
        let format = match args.format {
            OutputFormat::Json => Format::Json,
            OutputFormat::Markdown => Format::Markdown,
            OutputFormat::Table => Format::Table,
        };
        print_out(&unmanaged_render::render(&report, format));
    }
    Ok(if errored {
        exit_code::ERROR
    } else if report.has_findings() {
        UNMANAGED_FOUND
    } else {
        exit_code::CLEAN
    })
}

/// `unmanaged`'s exit code when something is unmanaged, managed twice or gone.
const UNMANAGED_FOUND: u8 = exit_code::DRIFT;

type ConfigListing = (
    Vec<drift_core::unmanaged::InventoryItem>,
    Vec<drift_core::unmanaged::Coverage>,
    bool,
);

/// What exists in the workspaces' accounts and regions, from AWS Config
/// with the default credential chain (and each workspace's role_arn).
/// Without credentials it fails, saying so: an empty inventory would read
/// as "everything is gone".
#[cfg(feature = "config")]
async fn config_inventory(workspaces: &[Workspace]) -> Result<ConfigListing> {
    use drift_runner::attribution::aws::{load_config, AwsTrail};
    use drift_runner::unmanaged_aws::{list, Scope};

    let config = load_config(None).await;
    if let Err(e) = AwsTrail::new(config.clone()).check_credentials().await {
        anyhow::bail!(
            "unmanaged: no AWS credentials ({}); give --inventory-file FILE to compare without AWS",
            e
        );
    }
    let scopes: std::collections::BTreeSet<Scope> = workspaces
        .iter()
        .map(|w| Scope {
            account_id: w.info.account_id.clone().unwrap_or_default(),
            region: w.info.region.clone().unwrap_or_default(),
            role_arn: w.settings.role_arn.clone(),
            external_id: w.settings.external_id.as_ref().map(|e| e.0.clone()),
        })
        .collect();
    let scopes: Vec<Scope> = scopes.into_iter().collect();
    let listing = list(&config, &scopes, "drift-detection-unmanaged").await;
    for note in &listing.notes {
        eprintln!("drift-detection: {}", terminal_text(note));
    }
    for problem in &listing.problems {
        eprintln!("drift-detection: {}", terminal_text(problem));
    }
    Ok((
        listing.inventory,
        listing.coverage,
        !listing.problems.is_empty(),
    ))
}

/// Built without the AWS SDK: only --inventory-file works.
#[cfg(not(feature = "config"))]
async fn config_inventory(_: &[Workspace]) -> Result<ConfigListing> {
    anyhow::bail!("unmanaged: this build has no AWS Config client (feature `config`); give --inventory-file FILE")
}

/// Writes every report, prints the chosen output and the summary, and picks the exit code.
fn finish(reports: &[Report], common: &Common) -> Result<u8> {
    let mut rows = Vec::new();
    let mut write_failed = false;
    let mut writer = output::ReportWriter::new(&common.out);
    for report in reports {
        let workspace = terminal_text(&report.workspace.name);
        for error in report
            .errors
            .iter()
            .filter(|e| e.severity == DiagnosticSeverity::Error)
        {
            eprintln!(
                "drift-detection: {workspace}: {}",
                terminal_text(&error.summary)
            );
        }
        let location = match writer.write(report) {
            Ok(path) => path.display().to_string(),
            Err(e) => {
                eprintln!(
                    "drift-detection: cannot write the report of {workspace}: {}",
                    terminal_text(&format!("{e:#}"))
                );
                write_failed = true;
                "(not written)".to_string()
            }
        };
        rows.push((report, location));
    }
    if !common.quiet {
        let mut text = String::new();
        match common.format {
            OutputFormat::Json => {
                for report in reports {
                    text.push_str(&serde_json::to_string(report)?);
                    text.push('\n');
                }
            }
            OutputFormat::Markdown => {
                for report in reports {
                    text.push_str(&render(report, Format::Markdown));
                    text.push('\n');
                }
            }
            OutputFormat::Table => {
                for report in reports {
                    text.push_str(&render(report, Format::Table));
                    text.push('\n');
                }
                text.push_str(&summary_table(&rows));
            }
        }
        print_out(&text);
    }
    if write_failed {
        return Ok(exit_code::ERROR);
    }
    Ok(combined_exit_code(reports))
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("drift-detection: writing to stdout: {e}");
        }
    }
}
