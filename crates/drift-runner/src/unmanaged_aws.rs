//! What exists, from AWS Config, for `drift-detection unmanaged` (feature `aws`).
//!
//! Per (account, region) of the workspaces, through the workspace's
//! `role_arn` when it has one (STS AssumeRole, with its external id), else
//! the caller's own credentials:
//!
//! 1. `DescribeConfigurationRecorders` and `DescribeConfigurationRecorderStatus`
//!    say whether Config records there and which types its recording group
//!    covers ([`recorded_kinds`]);
//! 2. `ListDiscoveredResources` lists each recorded kind of the kinds table,
//!    page by page (at most [`MAX_PAGES`] pages of 100 per kind).
//!
//! A recorded kind gets a coverage entry (source `config`), with an `error`
//! when its listing stopped; a kind Config does not record there gets none,
//! and is "not inventoried" in the report. `AWS_ENDPOINT_URL_CONFIG_SERVICE`
//! (or `AWS_ENDPOINT_URL`) points the client elsewhere, as for any SDK client.

use std::collections::BTreeSet;

use aws_config::{Region, SdkConfig};
use aws_sdk_config::error::DisplayErrorContext;
use aws_sdk_config::types::{RecordingGroup, RecordingStrategyType, ResourceType};

use drift_core::unmanaged::{kinds, Coverage, CoverageSource, InventoryItem, Kind};

/// Pages of `ListDiscoveredResources` read per kind and scope (100 items a
/// page): a bound on one listing, far above what an account holds of one kind.
pub const MAX_PAGES: usize = 500;

/// One (account, region) to list, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scope {
    /// The account the workspaces there say they are in.
    pub account_id: String,
    /// The region.
    pub region: String,
    /// The role to assume, if any.
    pub role_arn: Option<String>,
    /// Its external id.
    pub external_id: Option<String>,
}

/// What the listing found: items, coverage, and problems that kept a scope
/// or a kind from being listed (one line each, for stderr).
#[derive(Debug, Default)]
pub struct Listing {
    /// What exists.
    pub inventory: Vec<InventoryItem>,
    /// What was listed.
    pub coverage: Vec<Coverage>,
    /// What could not be listed, and why (a failure).
    pub problems: Vec<String>,
    /// Where Config records none of the kinds (not a failure: those kinds
    /// are not inventoried there).
    pub notes: Vec<String>,
}

/// The kinds of the kinds table a recording group records. Without a group
/// Config records every supported type but the global ones (IAM).
pub fn recorded_kinds(group: Option<&RecordingGroup>) -> Vec<&'static Kind> {
    let global = |k: &Kind| k.config_type.starts_with("AWS::IAM::");
    let Some(group) = group else {
        return kinds().iter().filter(|k| !global(k)).collect();
    };
    let listed = |types: &[ResourceType]| -> BTreeSet<String> {
        types.iter().map(|t| t.as_str().to_string()).collect()
    };
    let strategy = group.recording_strategy().and_then(|s| s.use_only());
    match strategy {
        Some(RecordingStrategyType::ExclusionByResourceTypes) => {
            let excluded = group
                .exclusion_by_resource_types()
                .map(|e| listed(e.resource_types()))
                .unwrap_or_default();
            kinds()
                .iter()
                .filter(|k| !excluded.contains(&k.config_type))
                .collect()
        }
        Some(RecordingStrategyType::InclusionByResourceTypes) => {
            let included = listed(group.resource_types());
            kinds()
                .iter()
                .filter(|k| included.contains(&k.config_type))
                .collect()
        }
        _ if group.all_supported() => kinds()
            .iter()
            .filter(|k| !global(k) || group.include_global_resource_types())
            .collect(),
        _ => {
            let included = listed(group.resource_types());
            kinds()
                .iter()
                .filter(|k| included.contains(&k.config_type))
                .collect()
        }
    }
}

fn message(e: impl std::error::Error) -> String {
    DisplayErrorContext(e).to_string()
}

/// Lists every scope through `config` (the caller's credentials).
pub async fn list(config: &SdkConfig, scopes: &[Scope], session: &str) -> Listing {
    let mut listing = Listing::default();
    for scope in scopes {
        list_scope(config, scope, session, &mut listing).await;
    }
    listing
}

async fn list_scope(config: &SdkConfig, scope: &Scope, session: &str, out: &mut Listing) {
    let where_ = format!("{} {}", scope.account_id, scope.region);
    let mut builder =
        aws_sdk_config::config::Builder::from(config).region(Region::new(scope.region.clone()));
    if let Some(role_arn) = &scope.role_arn {
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(config)
                .region(Region::new(scope.region.clone()))
                .build(),
        );
        let assumed = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session)
            .set_external_id(scope.external_id.clone())
            .send()
            .await;
        match assumed.map(|o| o.credentials().cloned()) {
            Ok(Some(c)) => {
                builder = builder.credentials_provider(aws_sdk_config::config::Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_string()),
                    None,
                    "drift-detection-assumed-role",
                ));
            }
            Ok(None) => {
                out.problems.push(format!(
                    "{where_}: cannot assume {role_arn}: STS returned no credentials"
                ));
                return;
            }
            Err(e) => {
                out.problems.push(format!(
                    "{where_}: cannot assume {role_arn}: {}",
                    message(e)
                ));
                return;
            }
        }
    }
    let client = aws_sdk_config::Client::from_conf(builder.build());
    let recorders = match client.describe_configuration_recorders().send().await {
        Ok(r) => r,
        Err(e) => {
            out.problems.push(format!(
                "{where_}: AWS Config's recorders not read: {}",
                message(e)
            ));
            return;
        }
    };
    let statuses = match client.describe_configuration_recorder_status().send().await {
        Ok(s) => s,
        Err(e) => {
            out.problems.push(format!(
                "{where_}: AWS Config's recorder status not read: {}",
                message(e)
            ));
            return;
        }
    };
    let recording: BTreeSet<&str> = statuses
        .configuration_recorders_status()
        .iter()
        .filter(|s| s.recording())
        .filter_map(|s| s.name())
        .collect();
    let mut recorded: Vec<&'static Kind> = Vec::new();
    for recorder in recorders.configuration_recorders() {
        if recorder.name().is_some_and(|n| recording.contains(n)) {
            for kind in recorded_kinds(recorder.recording_group()) {
                if !recorded.iter().any(|k| k.config_type == kind.config_type) {
                    recorded.push(kind);
                }
            }
        }
    }
    if recorded.is_empty() {
        out.notes.push(format!(
            "{where_}: AWS Config records none of the inventoried kinds here (no recorder is recording them)"
        ));
        return;
    }
    for kind in recorded {
        let mut error = None;
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            if pages == MAX_PAGES {
                error = Some(format!("stopped after {MAX_PAGES} pages"));
                break;
            }
            pages += 1;
            let page = client
                .list_discovered_resources()
                .resource_type(ResourceType::from(kind.config_type.as_str()))
                .limit(100)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    error = Some(message(e));
                    break;
                }
            };
            for id in page.resource_identifiers() {
                let Some(resource_id) = id.resource_id().filter(|s| !s.is_empty()) else {
                    continue;
                };
                out.inventory.push(InventoryItem {
                    resource_type: kind.config_type.clone(),
                    account_id: scope.account_id.clone(),
                    region: scope.region.clone(),
                    resource_id: resource_id.to_string(),
                    resource_name: id.resource_name().map(str::to_string),
                    arn: None,
                    tags: None,
                    source: Some("config".to_string()),
                });
            }
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        if let Some(e) = &error {
            out.problems.push(format!(
                "{where_}: {} listed incompletely: {e}",
                kind.config_type
            ));
        }
        out.coverage.push(Coverage {
            account_id: scope.account_id.clone(),
            region: scope.region.clone(),
            resource_type: kind.config_type.clone(),
            source: CoverageSource::Config,
            error,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_config::types::{ExclusionByResourceTypes, RecordingStrategy};

    fn names(kinds: Vec<&Kind>) -> Vec<&str> {
        kinds.iter().map(|k| k.config_type.as_str()).collect()
    }

    #[test]
    fn the_recording_group_decides_what_is_inventoried() {
        assert!(!names(recorded_kinds(None)).contains(&"AWS::IAM::Role"));
        let all = RecordingGroup::builder()
            .all_supported(true)
            .include_global_resource_types(true)
            .build();
        assert_eq!(recorded_kinds(Some(&all)).len(), kinds().len());
        let regional = RecordingGroup::builder().all_supported(true).build();
        assert!(!names(recorded_kinds(Some(&regional))).contains(&"AWS::IAM::Role"));
        let some = RecordingGroup::builder()
            .all_supported(false)
            .resource_types(ResourceType::from("AWS::S3::Bucket"))
            .resource_types(ResourceType::from("AWS::SNS::Topic"))
            .recording_strategy(
                RecordingStrategy::builder()
                    .use_only(RecordingStrategyType::InclusionByResourceTypes)
                    .build(),
            )
            .build();
        assert_eq!(names(recorded_kinds(Some(&some))), ["AWS::S3::Bucket"]);
        let but = RecordingGroup::builder()
            .all_supported(false)
            .exclusion_by_resource_types(
                ExclusionByResourceTypes::builder()
                    .resource_types(ResourceType::from("AWS::EC2::Volume"))
                    .build(),
            )
            .recording_strategy(
                RecordingStrategy::builder()
                    .use_only(RecordingStrategyType::ExclusionByResourceTypes)
                    .build(),
            )
            .build();
        let kinds_but = names(recorded_kinds(Some(&but)));
        assert!(!kinds_but.contains(&"AWS::EC2::Volume"));
        assert!(kinds_but.contains(&"AWS::EC2::Instance"));
    }
}
