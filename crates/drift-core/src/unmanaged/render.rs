//! The unmanaged-resource report as JSON (the contract), a terminal table
//! or Markdown: one [`Render`] implementation per format, as for the drift
//! report ([`crate::report::render`]). Every name, id, tag and address comes
//! from the cloud or a state and is untrusted: the table shows it through
//! [`terminal_text`], Markdown as code spans or escaped prose.

use std::fmt::Write as _;

use super::{kinds, InventoryItem, UnmanagedReport};
use crate::report::render::{markdown_code, markdown_text, terminal_text, Format};

/// One format of the unmanaged-resource report.
pub trait Render {
    /// The whole report in this format, ending with a newline.
    fn render(&self, report: &UnmanagedReport) -> String;
}

/// The report contract, pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

/// A plain listing for a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Table;

/// Markdown, for tickets and pull requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

/// The renderer of a format.
pub fn renderer(format: Format) -> &'static dyn Render {
    match format {
        Format::Json => &Json,
        Format::Table => &Table,
        Format::Markdown => &Markdown,
    }
}

/// Renders the report.
pub fn render(report: &UnmanagedReport, format: Format) -> String {
    renderer(format).render(report)
}

impl Render for Json {
    fn render(&self, report: &UnmanagedReport) -> String {
        let mut text = serde_json::to_string_pretty(report)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    }
}

/// The kinds of the kinds table that no coverage entry lists, and the
/// coverage entries that failed: what the report cannot speak for.
pub fn not_inventoried(report: &UnmanagedReport) -> (Vec<&'static str>, Vec<String>) {
    let missing = kinds()
        .iter()
        .filter(|k| {
            !report
                .coverage
                .iter()
                .any(|c| c.resource_type == k.config_type)
        })
        .map(|k| k.config_type.as_str())
        .collect();
    let failed = report
        .coverage
        .iter()
        .filter_map(|c| {
            c.error.as_ref().map(|e| {
                format!(
                    "{} in {} {}: {}",
                    c.resource_type, c.account_id, c.region, e
                )
            })
        })
        .collect();
    (missing, failed)
}

fn summary_line(report: &UnmanagedReport) -> String {
    let s = &report.summary;
    format!(
        "{} unmanaged, {} managed twice, {} gone, {} ignored, {} withheld scope(s); {} workspace(s), {} claimed resource(s), {} inventoried",
        s.unmanaged, s.managed_twice, s.gone, s.ignored, s.withheld_scopes, s.workspaces, s.claims, s.inventoried
    )
}

fn item_name(item: &InventoryItem) -> Option<&str> {
    item.resource_name
        .as_deref()
        .filter(|n| !n.is_empty() && *n != item.resource_id)
}

impl Render for Table {
    fn render(&self, report: &UnmanagedReport) -> String {
        let t = |s: &str| terminal_text(s).into_owned();
        let mut out = String::new();
        let _ = writeln!(out, "Unmanaged resources: {}", summary_line(report));
        if !report.unmanaged.is_empty() {
            let _ = writeln!(out, "\nunmanaged (in the cloud, in no checked state):");
            for item in &report.unmanaged {
                let name = item_name(item).map_or(String::new(), |n| format!(" ({})", t(n)));
                let _ = writeln!(
                    out,
                    "  {} {} {} {}{}",
                    t(&item.resource_type),
                    t(&item.account_id),
                    t(&item.region),
                    t(&item.resource_id),
                    name
                );
            }
        }
        if !report.managed_twice.is_empty() {
            let _ = writeln!(out, "\nmanaged twice (one resource in two states):");
            for group in &report.managed_twice {
                let _ = writeln!(
                    out,
                    "  {} {} {} {}",
                    t(&group.resource_type),
                    t(&group.account_id),
                    t(group.region.as_deref().unwrap_or("(account-wide)")),
                    t(&group.identifier)
                );
                for claim in &group.claims {
                    let env = claim
                        .environment
                        .as_deref()
                        .map_or(String::new(), |e| format!("/{}", t(e)));
                    let _ = writeln!(
                        out,
                        "    {}{} {}",
                        t(&claim.workspace),
                        env,
                        t(&claim.address)
                    );
                }
            }
        }
        if !report.gone.is_empty() {
            let _ = writeln!(out, "\ngone (in a state, no longer in the inventory):");
            for gone in &report.gone {
                let env = gone
                    .environment
                    .as_deref()
                    .map_or(String::new(), |e| format!("/{}", t(e)));
                let _ = writeln!(
                    out,
                    "  {}{} {} ({} {} {})",
                    t(&gone.workspace),
                    env,
                    t(&gone.address),
                    t(&gone.resource_type),
                    t(&gone.account_id),
                    t(&gone.identifiers.join(", "))
                );
            }
        }
        if !report.ignored.is_empty() {
            let _ = writeln!(out, "\nignored:");
            for ignored in &report.ignored {
                let _ = writeln!(
                    out,
                    "  {} {} {} {}: {}",
                    t(&ignored.item.resource_type),
                    t(&ignored.item.account_id),
                    t(&ignored.item.region),
                    t(&ignored.item.resource_id),
                    t(&ignored.reason)
                );
            }
        }
        for withheld in &report.withheld {
            let _ = writeln!(
                out,
                "\nwithheld {} {}: {}",
                t(&withheld.account_id),
                t(&withheld.region),
                t(&withheld.reason)
            );
        }
        let (missing, failed) = not_inventoried(report);
        if !missing.is_empty() {
            let _ = writeln!(out, "\nnot inventoried: {}", missing.join(", "));
        }
        for failure in failed {
            let _ = writeln!(out, "inventory incomplete: {}", t(&failure));
        }
        out
    }
}

impl Render for Markdown {
    fn render(&self, report: &UnmanagedReport) -> String {
        let code = |s: &str| markdown_code(s, true);
        let mut out = String::new();
        let _ = writeln!(out, "# Unmanaged resources\n");
        let _ = writeln!(out, "{}\n", markdown_text(&summary_line(report)));
        if !report.unmanaged.is_empty() {
            let _ = writeln!(out, "## Unmanaged\n");
            let _ = writeln!(
                out,
                "| Type | Account | Region | Id | Name |\n|---|---|---|---|---|"
            );
            for item in &report.unmanaged {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    code(&item.resource_type),
                    code(&item.account_id),
                    code(&item.region),
                    code(&item.resource_id),
                    item_name(item).map_or(String::new(), code)
                );
            }
            out.push('\n');
        }
        if !report.managed_twice.is_empty() {
            let _ = writeln!(out, "## Managed twice\n");
            let _ = writeln!(
                out,
                "| Type | Account | Region | Identifier | Claims |\n|---|---|---|---|---|"
            );
            for group in &report.managed_twice {
                let claims: Vec<String> = group
                    .claims
                    .iter()
                    .map(|c| {
                        let ws = match &c.environment {
                            Some(env) => format!("{}/{env}", c.workspace),
                            None => c.workspace.clone(),
                        };
                        format!("{} {}", code(&ws), code(&c.address))
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    code(&group.resource_type),
                    code(&group.account_id),
                    group
                        .region
                        .as_deref()
                        .map_or("account-wide".to_string(), code),
                    code(&group.identifier),
                    claims.join("<br>")
                );
            }
            out.push('\n');
        }
        if !report.gone.is_empty() {
            let _ = writeln!(out, "## Gone from the inventory\n");
            let _ = writeln!(
                out,
                "| Workspace | Address | Type | Account | Identifiers |\n|---|---|---|---|---|"
            );
            for gone in &report.gone {
                let ws = match &gone.environment {
                    Some(env) => format!("{}/{env}", gone.workspace),
                    None => gone.workspace.clone(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    code(&ws),
                    code(&gone.address),
                    code(&gone.resource_type),
                    code(&gone.account_id),
                    gone.identifiers
                        .iter()
                        .map(|i| code(i))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            out.push('\n');
        }
        if !report.ignored.is_empty() {
            let _ = writeln!(out, "## Ignored\n");
            let _ = writeln!(out, "| Type | Account | Id | Reason |\n|---|---|---|---|");
            for ignored in &report.ignored {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    code(&ignored.item.resource_type),
                    code(&ignored.item.account_id),
                    code(&ignored.item.resource_id),
                    markdown_text(&ignored.reason)
                );
            }
            out.push('\n');
        }
        if !report.withheld.is_empty() {
            let _ = writeln!(out, "## Withheld\n");
            for withheld in &report.withheld {
                let _ = writeln!(
                    out,
                    "- {} {}: {}",
                    markdown_code(&withheld.account_id, false),
                    markdown_code(&withheld.region, false),
                    markdown_text(&withheld.reason)
                );
            }
            out.push('\n');
        }
        let (missing, failed) = not_inventoried(report);
        if !missing.is_empty() || !failed.is_empty() {
            let _ = writeln!(out, "## Not inventoried\n");
            for kind in missing {
                let _ = writeln!(out, "- {}", markdown_code(kind, false));
            }
            for failure in failed {
                let _ = writeln!(out, "- incomplete: {}", markdown_text(&failure));
            }
        }
        out
    }
}
