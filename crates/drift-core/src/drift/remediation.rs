//! What to do about a finding: a suggestion, a command and whether it may run unattended.
//!
//! Commands target the single resource (`-target`) and quote its address for
//! a POSIX shell, since addresses can hold `["keys"]`. Anything critical or
//! stateful is `blocked`: the suggestion asks for a manual review and the
//! command only plans.

use super::rules::{ActionKind, AutoRemediation};
use super::{ChangeOrigin, Remediation, Verdict};

/// Facts the suggestion is built from.
pub struct Finding<'a> {
    /// The resource address.
    pub address: &'a str,
    /// Drift or pending change.
    pub source: ChangeOrigin,
    /// The action, classified.
    pub action: ActionKind,
    /// Whether the resource type holds data.
    pub stateful: bool,
    /// Whether the severity is critical.
    pub critical: bool,
    /// Whether only tags changed.
    pub tags_only: bool,
    /// What the next apply does about it, when the input tells.
    pub verdict: Option<Verdict>,
    /// Changed attribute paths, for the text.
    pub changed_paths: Vec<&'a str>,
    /// Paths that force replacement.
    pub replace_paths: &'a [String],
    /// A rule's forced remediation mode.
    pub forced: Option<AutoRemediation>,
}

/// Builds the remediation for one finding.
pub fn suggest(f: &Finding<'_>) -> Remediation {
    // Absorbed drift is not undone by an apply: a person decides.
    let absorbed = f.verdict == Some(Verdict::Absorbed);
    let blocked =
        f.critical || f.stateful || absorbed || f.forced == Some(AutoRemediation::Blocked);
    let target = shell_quote(f.address);
    let plan_cmd = || format!("terraform plan -target={target}");
    let apply_cmd = || format!("terraform apply -target={target}");
    let apply_unless_blocked = || if blocked { plan_cmd() } else { apply_cmd() };
    let what = || describe_paths(&f.changed_paths);

    let (suggestion, command) = match (f.source, f.action) {
        (ChangeOrigin::OutsideTerraform, ActionKind::Delete) if absorbed => (
            format!(
                "{} was deleted outside Terraform, and the plan does not re-create it (it has left the configuration): the next apply only forgets it. If it should exist, restore it and put it back in the configuration.",
                f.address
            ),
            plan_cmd(),
        ),
        (ChangeOrigin::OutsideTerraform, _) if absorbed => (
            format!(
                "{} was changed outside Terraform ({}), and no planned change sets it back: `ignore_changes`, a computed attribute or a configuration that already says the new value lets it stand, so `terraform apply` will not undo it. Codify the change if it is wanted; change it back by hand (or stop ignoring it) if not.",
                f.address,
                what()
            ),
            plan_cmd(),
        ),
        (ChangeOrigin::OutsideTerraform, ActionKind::Delete) if f.stateful => (
            format!(
                "{} was deleted outside Terraform and held data. Restore it from its latest snapshot or backup and bring it back under management with `terraform import`, or re-create it empty with `terraform apply`; if the deletion was intended, remove it from the configuration.",
                f.address
            ),
            plan_cmd(),
        ),
        (ChangeOrigin::OutsideTerraform, ActionKind::Delete) => (
            format!(
                "{} was deleted outside Terraform. Re-create it with `terraform apply -target`, or remove it from the configuration if the deletion was intended.",
                f.address
            ),
            apply_unless_blocked(),
        ),
        (ChangeOrigin::OutsideTerraform, _) if f.tags_only => (
            format!(
                "Only tags of {} changed outside Terraform ({}). Re-apply to restore them, or, if another system owns these tags, ignore them with `lifecycle {{ ignore_changes = [tags] }}` or an ignore rule.",
                f.address,
                what()
            ),
            apply_cmd(),
        ),
        (ChangeOrigin::OutsideTerraform, _) => (
            format!(
                "{} was changed outside Terraform ({}). Revert it with `terraform apply -target` to restore the configured values, or adopt the change by updating the configuration and running `terraform apply -refresh-only`.",
                f.address,
                what()
            ),
            apply_unless_blocked(),
        ),
        (ChangeOrigin::ConfigChange, ActionKind::Replace) => (
            format!(
                "The configuration of {} forces its replacement{}. Review the plan before applying it through your pipeline.",
                f.address,
                if f.replace_paths.is_empty() {
                    String::new()
                } else {
                    format!(" (because of {})", f.replace_paths.join(", "))
                }
            ),
            plan_cmd(),
        ),
        (ChangeOrigin::ConfigChange, _) => (
            format!(
                "The configuration of {} differs from its state ({}). Apply the reviewed plan through your pipeline, or change the configuration back.",
                f.address,
                if f.changed_paths.is_empty() { f.action.as_str().to_string() } else { what() }
            ),
            apply_unless_blocked(),
        ),
    };
    let suggestion = if blocked {
        "Manual review required: ".to_string() + &suggestion
    } else {
        suggestion
    };
    Remediation {
        suggestion,
        command: Some(command),
        auto_remediation: if blocked {
            AutoRemediation::Blocked
        } else {
            AutoRemediation::Allowed
        },
    }
}

fn describe_paths(paths: &[&str]) -> String {
    const SHOWN: usize = 3;
    match paths.len() {
        0 => "no attribute detail available".to_string(),
        n if n <= SHOWN => paths.join(", "),
        n => format!("{} and {} more", paths[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Quotes a string for a POSIX shell.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(source: ChangeOrigin, action: ActionKind) -> Finding<'static> {
        Finding {
            address: r#"aws_instance.web["a"]"#,
            source,
            action,
            stateful: false,
            critical: false,
            tags_only: false,
            verdict: None,
            changed_paths: vec!["instance_type"],
            replace_paths: &[],
            forced: None,
        }
    }

    #[test]
    fn absorbed_drift_is_not_left_to_an_apply() {
        let mut absorbed = finding(ChangeOrigin::OutsideTerraform, ActionKind::Update);
        absorbed.verdict = Some(Verdict::Absorbed);
        absorbed.tags_only = true;
        let r = suggest(&absorbed);
        assert_eq!(r.auto_remediation, AutoRemediation::Blocked);
        assert!(
            r.suggestion.contains("will not undo it"),
            "{}",
            r.suggestion
        );
        assert!(r.command.unwrap().starts_with("terraform plan "));
        let mut reverted = finding(ChangeOrigin::OutsideTerraform, ActionKind::Update);
        reverted.verdict = Some(Verdict::RevertedByApply);
        let r = suggest(&reverted);
        assert_eq!(r.auto_remediation, AutoRemediation::Allowed);
        assert!(r.command.unwrap().starts_with("terraform apply "));
    }

    #[test]
    fn quotes_addresses_for_the_shell() {
        let r = suggest(&finding(ChangeOrigin::OutsideTerraform, ActionKind::Update));
        assert_eq!(
            r.command.as_deref(),
            Some(r#"terraform apply -target='aws_instance.web["a"]'"#)
        );
        assert_eq!(r.auto_remediation, AutoRemediation::Allowed);
        assert!(r.suggestion.contains("instance_type"));
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn critical_and_stateful_findings_are_blocked() {
        let mut f = finding(ChangeOrigin::OutsideTerraform, ActionKind::Delete);
        f.stateful = true;
        let r = suggest(&f);
        assert_eq!(r.auto_remediation, AutoRemediation::Blocked);
        assert!(r.suggestion.starts_with("Manual review required"));
        assert!(r.suggestion.contains("snapshot"));
        assert!(r.command.unwrap().starts_with("terraform plan"));

        let mut f = finding(ChangeOrigin::ConfigChange, ActionKind::Update);
        f.critical = true;
        assert_eq!(suggest(&f).auto_remediation, AutoRemediation::Blocked);
    }
}
