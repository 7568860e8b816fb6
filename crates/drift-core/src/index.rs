//! The resource → workspace index of event-driven checks: which workspace
//! manages each resource identifier, as DynamoDB items
//! (`tests/contract/resource-index.json`).
//!
//! [`items`] turns a workspace's claims (the managed-resources sidecar's
//! [`ManagedResources`]) into one [`IndexItem`] per identifier, keyed
//! `res#ACCOUNT#REGION#IDENTIFIER` / `ws#ENVIRONMENT/NAME`, scoped by
//! [`crate::unmanaged::claim_scope`] (REGION `*` for account-wide kinds).
//! [`digest`] is what the workspace's `claims` item stores, so that a check
//! whose claims did not change can skip the writes. Pure: the worker does
//! the I/O.
//!
//! ```
//! use drift_core::index::{items, workspace_key};
//! use drift_core::unmanaged::{ManagedResource, ManagedResources, WorkspaceRef};
//! let ws = WorkspaceRef { name: "network".into(), environment: Some("prod".into()),
//!     account_id: "123456789012".into(), region: "us-east-1".into() };
//! let sg = ManagedResource::new("aws_security_group.app".into(), "aws_security_group".into(),
//!     &[("id".into(), "sg-1".into())]);
//! let doc = ManagedResources::new(None, "2026-11-27T06:00:00Z".into(), ws.clone(), vec![sg]);
//! let items = items(&doc);
//! assert_eq!(items[0].pk, "res#123456789012#us-east-1#sg-1");
//! assert_eq!(items[0].sk, workspace_key(&ws));
//! assert_eq!(items[0].sk, "ws#prod/network");
//! ```

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::unmanaged::{claim_scope, ManagedResources, WorkspaceRef};

/// The most resource items one check writes: a workspace claiming more
/// identifiers has the first of them (in key order) indexed and the rest
/// left out, with a log line (at 25 items a request, 400 requests).
pub const MAX_ITEMS: usize = 10_000;

/// The sort key of the workspace's own `claims` item.
pub const CLAIMS_SK: &str = "claims";

/// One resource identifier's item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexItem {
    /// `res#ACCOUNT#REGION#IDENTIFIER`.
    pub pk: String,
    /// `ws#ENVIRONMENT/NAME`.
    pub sk: String,
    /// The resource's address.
    pub address: String,
    /// Its Terraform type.
    pub resource_type: String,
}

/// `ws#ENVIRONMENT/NAME` (`ws#NAME` without an environment): the sort key of
/// a workspace's resource items and the key of its own items.
pub fn workspace_key(workspace: &WorkspaceRef) -> String {
    match &workspace.environment {
        Some(env) => format!("ws#{env}/{}", workspace.name),
        None => format!("ws#{}", workspace.name),
    }
}

/// One item per distinct identifier of every claimed resource, sorted by
/// key. Two resources of one workspace naming the same identifier in the
/// same scope make one item (the first by address), as a table holds one.
pub fn items(claims: &ManagedResources) -> Vec<IndexItem> {
    let sk = workspace_key(&claims.workspace);
    let mut by_pk: BTreeMap<String, IndexItem> = BTreeMap::new();
    for resource in &claims.resources {
        let (account, region) = claim_scope(&claims.workspace, resource);
        let region = region.as_deref().unwrap_or("*");
        for identifier in resource.identifiers.values().filter(|i| !i.is_empty()) {
            let pk = format!("res#{account}#{region}#{identifier}");
            by_pk.entry(pk.clone()).or_insert_with(|| IndexItem {
                pk,
                sk: sk.clone(),
                address: resource.address.clone(),
                resource_type: resource.resource_type.clone(),
            });
        }
    }
    by_pk.into_values().collect()
}

/// SHA-256 (lowercase hex) of the items' sorted `pk sk` lines, each ended by
/// a newline: what the workspace's `claims` item stores.
pub fn digest(items: &[IndexItem]) -> String {
    let mut lines: Vec<String> = items
        .iter()
        .map(|i| format!("{} {}\n", i.pk, i.sk))
        .collect();
    lines.sort();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/contract/resource-index.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_contract_s_index_items_cases() {
        let table = contract();
        for case in table["index_items"].as_array().unwrap() {
            let claims: ManagedResources = serde_json::from_value(case["claims"].clone()).unwrap();
            let got: Vec<String> = items(&claims)
                .iter()
                .map(|i| format!("{} {}", i.pk, i.sk))
                .collect();
            let want: Vec<String> = case["expect"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, want, "{}", case["case"]);
        }
    }

    #[test]
    fn items_carry_the_address_and_type_and_the_digest_follows_the_keys_only() {
        let table = contract();
        let claims: ManagedResources =
            serde_json::from_value(table["index_items"][0]["claims"].clone()).unwrap();
        let all = items(&claims);
        let role = all.iter().find(|i| i.pk.ends_with("#AROAAPP")).unwrap();
        assert_eq!(role.address, "aws_iam_role.app");
        assert_eq!(role.resource_type, "aws_iam_role");
        let d = digest(&all);
        assert_eq!(d.len(), 64);
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(digest(&reversed), d, "order does not matter");
        assert_ne!(digest(&all[1..]), d);
        // The empty document's digest is SHA-256 of nothing.
        assert_eq!(
            digest(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
