//! `aws_security_group`: name, description, vpc_id, ingress, egress, tags;
//! computed id, arn, owner_id, tags_all.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType,
    SecurityGroup as AwsGroup, Tag, TagSpecification, UserIdGroupPair,
};
use serde::{Deserialize, Serialize};
use tf_provider::schema::{
    AttributeConstraint as C, AttributeType as T, Block, Description, Schema,
};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::common::*;
use crate::provider::{Clients, Shared};
use crate::rules::{self, Atom, Rules, Source};

pub const DEFAULT_DESCRIPTION: &str = "Managed by Terraform";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupState {
    pub id: Str,
    pub arn: Str,
    pub name: Str,
    pub description: Str,
    pub vpc_id: Str,
    pub owner_id: Str,
    pub ingress: Rules,
    pub egress: Rules,
    pub tags: StrMap,
    pub tags_all: StrMap,
}

pub struct SecurityGroup {
    shared: Shared,
}

impl SecurityGroup {
    pub fn new(shared: Shared) -> SecurityGroup {
        SecurityGroup { shared }
    }
}

fn what(id: &str) -> String {
    format!("aws_security_group ({id})")
}

fn rule_type() -> T {
    let fields: HashMap<String, T> = map! {
        "from_port" => T::Number,
        "to_port" => T::Number,
        "protocol" => T::String,
        "cidr_blocks" => T::List(Box::new(T::String)),
        "ipv6_cidr_blocks" => T::List(Box::new(T::String)),
        "prefix_list_ids" => T::List(Box::new(T::String)),
        "security_groups" => T::Set(Box::new(T::String)),
        "self" => T::Bool,
        "description" => T::String,
    };
    T::Set(Box::new(T::Object(fields)))
}

fn permission_atoms(permissions: &[IpPermission], own_id: &str) -> BTreeSet<Atom> {
    let mut out = BTreeSet::new();
    for p in permissions {
        let protocol = rules::normalize_protocol(p.ip_protocol().unwrap_or("-1"));
        let (from, to) = rules::normalize_ports(
            &protocol,
            i64::from(p.from_port().unwrap_or(0)),
            i64::from(p.to_port().unwrap_or(0)),
        );
        let mut push = |source: Source, description: Option<&str>| {
            out.insert(Atom {
                protocol: protocol.clone(),
                from,
                to,
                description: description.unwrap_or("").to_string(),
                source,
            });
        };
        for r in p.ip_ranges() {
            if let Some(cidr) = r.cidr_ip() {
                push(Source::Cidr(cidr.to_string()), r.description());
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(cidr) = r.cidr_ipv6() {
                push(Source::Ipv6(cidr.to_string()), r.description());
            }
        }
        for r in p.prefix_list_ids() {
            if let Some(id) = r.prefix_list_id() {
                push(Source::PrefixList(id.to_string()), r.description());
            }
        }
        for r in p.user_id_group_pairs() {
            if let Some(id) = r.group_id() {
                let source = if id == own_id {
                    Source::SelfRef
                } else {
                    Source::Group(id.to_string())
                };
                push(source, r.description());
            }
        }
    }
    out
}

fn atom_permission(atom: &Atom, own_id: &str) -> IpPermission {
    let description = (!atom.description.is_empty()).then(|| atom.description.clone());
    let mut p = IpPermission::builder().ip_protocol(&atom.protocol);
    if atom.protocol != "-1" {
        p = p
            .from_port(atom.from.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
            .to_port(atom.to.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32);
    }
    match &atom.source {
        Source::Cidr(c) => p.ip_ranges(
            IpRange::builder()
                .cidr_ip(c)
                .set_description(description)
                .build(),
        ),
        Source::Ipv6(c) => p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(c)
                .set_description(description)
                .build(),
        ),
        Source::PrefixList(id) => p.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(id)
                .set_description(description)
                .build(),
        ),
        Source::Group(id) => p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(id)
                .set_description(description)
                .build(),
        ),
        Source::SelfRef => p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(own_id)
                .set_description(description)
                .build(),
        ),
    }
    .build()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

async fn authorize(c: &Clients, id: &str, direction: Direction, atoms: &BTreeSet<Atom>) -> Res<()> {
    if atoms.is_empty() {
        return Ok(());
    }
    let permissions: Vec<IpPermission> = atoms.iter().map(|a| atom_permission(a, id)).collect();
    match direction {
        Direction::Ingress => c
            .ec2
            .authorize_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_failure(format!("authorizing ingress rules of {}", what(id)), &e)),
        Direction::Egress => c
            .ec2
            .authorize_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_failure(format!("authorizing egress rules of {}", what(id)), &e)),
    }
}

/// A revoke error that only says the rule (or a group it references) is
/// already gone, which is what revoking wants anyway.
fn already_gone(code: Option<&str>, message: Option<&str>, own_id: &str) -> bool {
    match code {
        Some("InvalidPermission.NotFound") => true,
        Some("InvalidGroup.NotFound") => !message.unwrap_or("").contains(own_id),
        _ => false,
    }
}

async fn revoke_some(
    c: &Clients,
    id: &str,
    direction: Direction,
    atoms: &[&Atom],
) -> Result<(), (bool, Failure)> {
    let permissions: Vec<IpPermission> = atoms.iter().map(|a| atom_permission(a, id)).collect();
    let what_rules = match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    let action = format!("revoking {what_rules} rules of {}", what(id));
    match direction {
        Direction::Ingress => c
            .ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                (
                    already_gone(e.code(), e.message(), id),
                    aws_failure(&action, &e),
                )
            }),
        Direction::Egress => c
            .ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                (
                    already_gone(e.code(), e.message(), id),
                    aws_failure(&action, &e),
                )
            }),
    }
}

/// Revokes rules; rules already gone (or referencing a group that no
/// longer exists) are skipped.
async fn revoke(c: &Clients, id: &str, direction: Direction, atoms: &BTreeSet<Atom>) -> Res<()> {
    if atoms.is_empty() {
        return Ok(());
    }
    let all: Vec<&Atom> = atoms.iter().collect();
    match revoke_some(c, id, direction, &all).await {
        Ok(()) => Ok(()),
        Err((true, _)) => {
            // One of them is gone: go one by one to revoke the others.
            for atom in all {
                match revoke_some(c, id, direction, &[atom]).await {
                    Ok(()) | Err((true, _)) => {}
                    Err((false, failure)) => return Err(failure),
                }
            }
            Ok(())
        }
        Err((false, failure)) => Err(failure),
    }
}

/// The group, or `None` when it does not exist.
async fn describe(c: &Clients, id: &str) -> Res<Option<AwsGroup>> {
    match c.ec2.describe_security_groups().group_ids(id).send().await {
        Ok(out) => Ok(out
            .security_groups()
            .iter()
            .find(|g| g.group_id() == Some(id))
            .cloned()),
        Err(err)
            if matches!(
                err.code(),
                Some("InvalidGroup.NotFound" | "InvalidGroupId.Malformed")
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(aws_failure(format!("reading {}", what(id)), &err)),
    }
}

fn aws_tags(group: &AwsGroup) -> BTreeMap<String, String> {
    group
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// State from what AWS has; `prior` supplies the rule spelling and the
/// spelling of "no tags".
fn state_from(group: &AwsGroup, prior: &GroupState, region: &str) -> GroupState {
    let id = group.group_id().unwrap_or_default().to_string();
    let owner = group.owner_id().unwrap_or_default().to_string();
    let arn = group
        .security_group_arn()
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:aws:ec2:{region}:{owner}:security-group/{id}"));
    let tags = aws_tags(group);
    let ingress = rules::reconcile(
        &prior.ingress,
        &permission_atoms(group.ip_permissions(), &id),
        &id,
    );
    let egress = rules::reconcile(
        &prior.egress,
        &permission_atoms(group.ip_permissions_egress(), &id),
        &id,
    );
    GroupState {
        id: Value::Value(id),
        arn: Value::Value(arn),
        name: group
            .group_name()
            .map_or(Value::Null, |n| Value::Value(n.to_string())),
        description: group
            .description()
            .map_or(Value::Null, |d| Value::Value(d.to_string())),
        vpc_id: group
            .vpc_id()
            .map_or(Value::Null, |v| Value::Value(v.to_string())),
        owner_id: Value::Value(owner),
        ingress: Value::Value(ingress),
        egress: Value::Value(egress),
        tags: tags_after_read(&prior.tags, &tags),
        tags_all: to_str_map(tags),
    }
}

async fn default_vpc(c: &Clients) -> Res<Option<String>> {
    let out = c
        .ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .map_err(|e| aws_failure("looking up the default VPC for aws_security_group", &e))?;
    Ok(out
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_string))
}

fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Creates the group; returns its id (set as soon as it exists).
async fn create_group(c: &Clients, planned: &GroupState) -> Res<String> {
    let name = known(&planned.name, "name")?;
    let description = match &planned.description {
        Value::Value(d) => d.clone(),
        _ => DEFAULT_DESCRIPTION.to_string(),
    };
    let vpc_id = match &planned.vpc_id {
        Value::Value(v) => Some(v.clone()),
        _ => default_vpc(c).await?,
    };
    let tags = tags_map(&planned.tags)?;
    let mut request = c
        .ec2
        .create_security_group()
        .group_name(name)
        .description(description)
        .set_vpc_id(vpc_id);
    if !tags.is_empty() {
        request = request.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(ec2_tags(&tags)))
                .build(),
        );
    }
    let out = request
        .send()
        .await
        .map_err(|e| aws_failure(format!("creating aws_security_group ({name})"), &e))?;
    out.group_id().map(str::to_string).ok_or_else(|| {
        Failure::new(format!(
            "creating aws_security_group ({name}): no group id returned"
        ))
    })
}

/// After creation: drop AWS's default egress rule (as the real provider
/// does), then add the configured rules; returns the state to record.
async fn finish_create(c: &Clients, id: &str, planned: &GroupState) -> Res<GroupState> {
    let group = describe(c, id)
        .await?
        .ok_or_else(|| Failure::new(format!("{} vanished right after creation", what(id))))?;
    revoke(
        c,
        id,
        Direction::Egress,
        &permission_atoms(group.ip_permissions_egress(), id),
    )
    .await?;
    let ingress = rules::rules_atoms(&planned.ingress, Some(id)).unwrap_or_default();
    let egress = rules::rules_atoms(&planned.egress, Some(id)).unwrap_or_default();
    authorize(c, id, Direction::Ingress, &ingress).await?;
    authorize(c, id, Direction::Egress, &egress).await?;
    let group = describe(c, id)
        .await?
        .ok_or_else(|| Failure::new(format!("{} vanished right after creation", what(id))))?;
    let read = state_from(&group, &GroupState::default(), &c.region);
    Ok(merge_applied(planned, read))
}

/// The planned state with whatever it left unknown filled in from a read
/// (known planned values are what was applied, and terraform insists on
/// getting exactly those back).
fn merge_applied(planned: &GroupState, read: GroupState) -> GroupState {
    let pick = |p: &Str, r: Str| if p.is_unknown() { r } else { p.clone() };
    GroupState {
        id: read.id,
        arn: pick(&planned.arn, read.arn),
        name: pick(&planned.name, read.name),
        description: pick(&planned.description, read.description),
        vpc_id: pick(&planned.vpc_id, read.vpc_id),
        owner_id: pick(&planned.owner_id, read.owner_id),
        ingress: if planned.ingress.is_unknown() {
            read.ingress
        } else {
            planned.ingress.clone()
        },
        egress: if planned.egress.is_unknown() {
            read.egress
        } else {
            planned.egress.clone()
        },
        tags: planned.tags.clone(),
        tags_all: if planned.tags_all.is_unknown() {
            read.tags_all
        } else {
            planned.tags_all.clone()
        },
    }
}

async fn update_group(c: &Clients, prior: &GroupState, planned: &GroupState) -> Res<GroupState> {
    let id = known(&prior.id, "id")?.clone();
    let old_tags = tags_map(&prior.tags_all)?;
    let new_tags = tags_map(&planned.tags)?;
    let (removed, upserted) = tag_changes(&old_tags, &new_tags);
    if !removed.is_empty() {
        c.ec2
            .delete_tags()
            .resources(&id)
            .set_tags(Some(
                removed
                    .iter()
                    .map(|k| Tag::builder().key(k).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| aws_failure(format!("untagging {}", what(&id)), &e))?;
    }
    if !upserted.is_empty() {
        c.ec2
            .create_tags()
            .resources(&id)
            .set_tags(Some(ec2_tags(&upserted)))
            .send()
            .await
            .map_err(|e| aws_failure(format!("tagging {}", what(&id)), &e))?;
    }
    for (direction, old, new) in [
        (Direction::Ingress, &prior.ingress, &planned.ingress),
        (Direction::Egress, &prior.egress, &planned.egress),
    ] {
        let old = rules::rules_atoms(old, Some(&id)).unwrap_or_default();
        let Some(new) = rules::rules_atoms(new, Some(&id)) else {
            continue;
        };
        let gone: BTreeSet<Atom> = old.difference(&new).cloned().collect();
        let added: BTreeSet<Atom> = new.difference(&old).cloned().collect();
        revoke(c, &id, direction, &gone).await?;
        authorize(c, &id, direction, &added).await?;
    }
    let mut state = planned.clone();
    state.tags_all = to_str_map(new_tags);
    Ok(state)
}

async fn delete_group(c: &Clients, id: &str) -> Res<()> {
    let mut attempts = 0;
    loop {
        match c.ec2.delete_security_group().group_id(id).send().await {
            Ok(_) => return Ok(()),
            Err(err) if err.code() == Some("InvalidGroup.NotFound") => return Ok(()),
            Err(err) if err.code() == Some("DependencyViolation") && attempts < 10 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(err) => return Err(aws_failure(format!("deleting {}", what(id)), &err)),
        }
    }
}

#[async_trait]
impl Resource for SecurityGroup {
    type State<'a> = GroupState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let mut attributes = map! {
            "id" => attr(T::String, C::Computed, "ID of the security group."),
            "arn" => attr(T::String, C::Computed, "ARN of the security group."),
            "name" => attr(T::String, C::Required, "Name (forces replacement)."),
            "description" => attr(T::String, C::OptionalComputed, "Description (default \"Managed by Terraform\", forces replacement)."),
            "vpc_id" => attr(T::String, C::OptionalComputed, "VPC (default VPC when unset; forces replacement)."),
            "owner_id" => attr(T::String, C::Computed, "Owner account id."),
            "ingress" => attr(rule_type(), C::OptionalComputed, "Ingress rules (unset: not managed)."),
            "egress" => attr(rule_type(), C::OptionalComputed, "Egress rules (unset: not managed; AWS's default allow-all egress is removed at creation)."),
        };
        tags_attributes(&mut attributes);
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                attributes,
                description: Description::plain("Security group (stand-in subset)."),
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        for (name, rules) in [("ingress", &config.ingress), ("egress", &config.egress)] {
            if let Value::Value(list) = rules {
                for rule in list {
                    if rule.protocol.is_null() {
                        diags.error_short(
                            format!("every {name} rule needs a protocol"),
                            AttributePath::new(name),
                        );
                    }
                }
            }
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let result: Res<Option<GroupState>> = async {
            read_delay().await?;
            let c = self.shared.get()?;
            let id = known(&state.id, "id")?.clone();
            log_read("aws_security_group", &id)?;
            Ok(describe(&c, &id)
                .await?
                .map(|group| state_from(&group, &state, &c.region)))
        }
        .await;
        match result {
            Ok(Some(new)) => Some((new, private)),
            Ok(None) => None,
            Err(f) => {
                f.report(diags);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut planned = proposed;
        planned.id = Value::Unknown;
        planned.arn = Value::Unknown;
        planned.owner_id = Value::Unknown;
        planned.description = with_default(&config.description, DEFAULT_DESCRIPTION.to_string());
        planned.vpc_id = or_prior(&config.vpc_id, None);
        planned.ingress = rules::plan_rules(&config.ingress, None, None);
        planned.egress = rules::plan_rules(&config.egress, None, None);
        planned.tags_all = plan_tags_all(&config.tags);
        Some((planned, ValueEmpty::Null))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        prior_private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut planned = proposed;
        planned.description = with_default(&config.description, DEFAULT_DESCRIPTION.to_string());
        planned.vpc_id = or_prior(&config.vpc_id, Some(&prior.vpc_id));
        let mut replace = Vec::new();
        if planned.name != prior.name {
            replace.push(AttributePath::new("name"));
        }
        if planned.description != prior.description {
            replace.push(AttributePath::new("description"));
        }
        if planned.vpc_id != prior.vpc_id {
            replace.push(AttributePath::new("vpc_id"));
        }
        let own_id = match &prior.id {
            Value::Value(id) => Some(id.as_str()),
            _ => None,
        };
        if replace.is_empty() {
            planned.id = prior.id.clone();
            planned.arn = prior.arn.clone();
            planned.owner_id = prior.owner_id.clone();
            planned.ingress = rules::plan_rules(&config.ingress, Some(&prior.ingress), own_id);
            planned.egress = rules::plan_rules(&config.egress, Some(&prior.egress), own_id);
        } else {
            planned.id = Value::Unknown;
            planned.arn = Value::Unknown;
            planned.owner_id = Value::Unknown;
            planned.ingress = rules::plan_rules(&config.ingress, None, None);
            planned.egress = rules::plan_rules(&config.egress, None, None);
        }
        planned.tags_all = plan_tags_all(&config.tags);
        Some((planned, prior_private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        prior_private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(prior_private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = reported(diags, self.shared.get())?;
        let id = reported(diags, create_group(&c, &planned).await)?;
        match finish_create(&c, &id, &planned).await {
            Ok(state) => Some((state, private)),
            Err(f) => {
                // The group exists: record it (terraform taints it).
                f.report(diags);
                let mut state = planned;
                state.id = Value::Value(id);
                for v in [&mut state.arn, &mut state.owner_id, &mut state.vpc_id] {
                    if v.is_unknown() {
                        *v = Value::Null;
                    }
                }
                for r in [&mut state.ingress, &mut state.egress] {
                    if r.is_unknown() {
                        *r = Value::Null;
                    }
                }
                if state.tags_all.is_unknown() {
                    state.tags_all = Value::Null;
                }
                Some((state, private))
            }
        }
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let result = match self.shared.get() {
            Ok(c) => update_group(&c, &prior, &planned).await,
            Err(f) => Err(f),
        };
        reported(diags, result).map(|state| (state, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let result = async {
            let c = self.shared.get()?;
            let id = known(&prior.id, "id")?.clone();
            delete_group(&c, &id).await
        }
        .await;
        reported(diags, result)
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if !id.starts_with("sg-") {
            diags.root_error_short(format!(
                "import id must be a security group id (sg-...), got {id:?}"
            ));
            return None;
        }
        Some((
            GroupState {
                id: Value::Value(id),
                ..Default::default()
            },
            ValueEmpty::Null,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_round_trip_through_atoms() {
        let atoms: BTreeSet<Atom> = [
            Atom {
                protocol: "tcp".into(),
                from: 22,
                to: 22,
                description: "ssh".into(),
                source: Source::Cidr("0.0.0.0/0".into()),
            },
            Atom {
                protocol: "-1".into(),
                from: 0,
                to: 0,
                description: String::new(),
                source: Source::SelfRef,
            },
        ]
        .into();
        let permissions: Vec<IpPermission> =
            atoms.iter().map(|a| atom_permission(a, "sg-1")).collect();
        assert_eq!(permission_atoms(&permissions, "sg-1"), atoms);
        // All-protocol rules carry no ports.
        assert!(permissions
            .iter()
            .any(|p| p.ip_protocol() == Some("-1") && p.from_port().is_none()));
    }
}
