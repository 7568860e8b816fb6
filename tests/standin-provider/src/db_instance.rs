//! `aws_db_instance`: identifier, engine, engine_version, instance_class,
//! allocated_storage, username, password, publicly_accessible,
//! storage_encrypted, skip_final_snapshot, final_snapshot_identifier, tags;
//! computed id, arn, address, endpoint, status, tags_all.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_rds::types::{DbInstance as AwsInstance, Tag};
use serde::{Deserialize, Serialize};
use tf_provider::schema::{
    AttributeConstraint as C, AttributeType as T, Block, Description, Schema,
};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::common::*;
use crate::provider::{Clients, Shared};

/// How long create/modify/delete wait for the instance to settle (moto is
/// instant; real RDS is not, and the stand-in is not meant for it).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceState {
    pub id: Str,
    pub identifier: Str,
    pub engine: Str,
    pub engine_version: Str,
    pub instance_class: Str,
    pub allocated_storage: Num,
    pub username: Str,
    pub password: Str,
    pub publicly_accessible: Bool,
    pub storage_encrypted: Bool,
    pub skip_final_snapshot: Bool,
    pub final_snapshot_identifier: Str,
    pub tags: StrMap,
    pub tags_all: StrMap,
    pub arn: Str,
    pub address: Str,
    pub endpoint: Str,
    pub status: Str,
}

pub struct DbInstance {
    shared: Shared,
}

impl DbInstance {
    pub fn new(shared: Shared) -> DbInstance {
        DbInstance { shared }
    }
}

fn what(id: &str) -> String {
    format!("aws_db_instance ({id})")
}

/// Whether the configured engine version names the actual one: equal, or a
/// prefix at a dot boundary (`15` and `15.4` both name `15.4`).
pub fn version_matches(configured: &str, actual: &str) -> bool {
    actual == configured
        || actual
            .strip_prefix(configured)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn to_i32(n: i64, name: &'static str) -> Res<i32> {
    i32::try_from(n).map_err(|_| Failure::new(format!("`{name}` is out of range")).at(name))
}

fn rds_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

async fn describe(c: &Clients, id: &str) -> Res<Option<AwsInstance>> {
    match c
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .db_instances()
            .iter()
            .find(|i| i.db_instance_identifier() == Some(id))
            .cloned()),
        Err(err) if err.code() == Some("DBInstanceNotFound") => Ok(None),
        Err(err) => Err(aws_failure(format!("reading {}", what(id)), &err)),
    }
}

async fn wait_available(c: &Clients, id: &str) -> Res<AwsInstance> {
    let started = Instant::now();
    loop {
        let instance = describe(c, id).await?.ok_or_else(|| {
            Failure::new(format!("{} disappeared while waiting for it", what(id)))
        })?;
        if instance.db_instance_status() == Some("available") {
            return Ok(instance);
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            return Err(Failure::new(format!(
                "waiting for {} to become available: still {:?}",
                what(id),
                instance.db_instance_status()
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn wait_gone(c: &Clients, id: &str) -> Res<()> {
    let started = Instant::now();
    while describe(c, id).await?.is_some() {
        if started.elapsed() > SETTLE_TIMEOUT {
            return Err(Failure::new(format!(
                "waiting for {} to be deleted",
                what(id)
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}

async fn aws_tags(c: &Clients, instance: &AwsInstance) -> Res<BTreeMap<String, String>> {
    let Some(arn) = instance.db_instance_arn() else {
        return Ok(BTreeMap::new());
    };
    let out = c
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| {
            aws_failure(
                format!(
                    "listing tags of {}",
                    what(instance.db_instance_identifier().unwrap_or(arn))
                ),
                &e,
            )
        })?;
    Ok(out
        .tag_list()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect())
}

fn opt_string(s: Option<&str>) -> Str {
    s.map_or(Value::Null, |s| Value::Value(s.to_string()))
}

/// State from what AWS has; `prior` supplies what AWS does not return
/// (password, skip_final_snapshot, final_snapshot_identifier), the
/// configured spelling of the engine version, and of "no tags".
fn state_from(
    instance: &AwsInstance,
    tags: BTreeMap<String, String>,
    prior: &InstanceState,
) -> InstanceState {
    let identifier = instance
        .db_instance_identifier()
        .unwrap_or_default()
        .to_string();
    let engine_version = match (&prior.engine_version, instance.engine_version()) {
        (Value::Value(configured), Some(actual)) if version_matches(configured, actual) => {
            Value::Value(configured.clone())
        }
        (_, actual) => opt_string(actual),
    };
    let address = instance.endpoint().and_then(|e| e.address());
    let endpoint = instance
        .endpoint()
        .and_then(|e| Some(format!("{}:{}", e.address()?, e.port()?)));
    InstanceState {
        id: Value::Value(identifier.clone()),
        identifier: Value::Value(identifier),
        engine: opt_string(instance.engine()),
        engine_version,
        instance_class: opt_string(instance.db_instance_class()),
        allocated_storage: instance
            .allocated_storage()
            .map_or(Value::Null, |n| Value::Value(i64::from(n))),
        username: opt_string(instance.master_username()),
        password: prior.password.clone(),
        publicly_accessible: Value::Value(instance.publicly_accessible().unwrap_or(false)),
        storage_encrypted: Value::Value(instance.storage_encrypted().unwrap_or(false)),
        skip_final_snapshot: with_default(&prior.skip_final_snapshot, false),
        final_snapshot_identifier: prior.final_snapshot_identifier.clone(),
        tags: tags_after_read(&prior.tags, &tags),
        tags_all: to_str_map(tags),
        arn: opt_string(instance.db_instance_arn()),
        address: opt_string(address),
        endpoint: endpoint.map_or(Value::Null, Value::Value),
        status: opt_string(instance.db_instance_status()),
    }
}

/// The planned state with the computed values it left unknown filled in
/// from a read.
fn merge_applied(planned: &InstanceState, read: InstanceState) -> InstanceState {
    fn pick<T: Clone>(p: &Value<T>, r: Value<T>) -> Value<T> {
        if p.is_unknown() {
            r
        } else {
            p.clone()
        }
    }
    InstanceState {
        id: read.id,
        identifier: pick(&planned.identifier, read.identifier),
        engine: pick(&planned.engine, read.engine),
        engine_version: pick(&planned.engine_version, read.engine_version),
        instance_class: pick(&planned.instance_class, read.instance_class),
        allocated_storage: pick(&planned.allocated_storage, read.allocated_storage),
        username: pick(&planned.username, read.username),
        password: planned.password.clone(),
        publicly_accessible: pick(&planned.publicly_accessible, read.publicly_accessible),
        storage_encrypted: pick(&planned.storage_encrypted, read.storage_encrypted),
        skip_final_snapshot: planned.skip_final_snapshot,
        final_snapshot_identifier: planned.final_snapshot_identifier.clone(),
        tags: planned.tags.clone(),
        tags_all: pick(&planned.tags_all, read.tags_all),
        arn: pick(&planned.arn, read.arn),
        address: pick(&planned.address, read.address),
        endpoint: pick(&planned.endpoint, read.endpoint),
        status: pick(&planned.status, read.status),
    }
}

async fn create_instance(c: &Clients, planned: &InstanceState) -> Res<InstanceState> {
    let id = known(&planned.identifier, "identifier")?.clone();
    let tags = tags_map(&planned.tags)?;
    let mut request = c
        .rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine(known(&planned.engine, "engine")?)
        .db_instance_class(known(&planned.instance_class, "instance_class")?)
        .set_engine_version(
            opt_str(&planned.engine_version, "engine_version")
                .unwrap_or(None)
                .map(str::to_string),
        )
        .set_master_username(
            opt_str(&planned.username, "username")
                .unwrap_or(None)
                .map(str::to_string),
        )
        .set_master_user_password(opt_str(&planned.password, "password")?.map(str::to_string))
        .publicly_accessible(planned.publicly_accessible == Value::Value(true))
        .storage_encrypted(planned.storage_encrypted == Value::Value(true))
        .set_tags((!tags.is_empty()).then(|| rds_tags(&tags)));
    if let Value::Value(n) = planned.allocated_storage {
        request = request.allocated_storage(to_i32(n, "allocated_storage")?);
    }
    request
        .send()
        .await
        .map_err(|e| aws_failure(format!("creating {}", what(&id)), &e))?;
    let instance = wait_available(c, &id).await?;
    let tags = aws_tags(c, &instance).await?;
    Ok(merge_applied(planned, state_from(&instance, tags, planned)))
}

async fn update_instance(
    c: &Clients,
    prior: &InstanceState,
    planned: &InstanceState,
) -> Res<InstanceState> {
    let id = known(&prior.identifier, "identifier")?.clone();
    let mut modify = c
        .rds
        .modify_db_instance()
        .db_instance_identifier(&id)
        .apply_immediately(true);
    let mut changed = false;
    if planned.instance_class != prior.instance_class {
        modify = modify.db_instance_class(known(&planned.instance_class, "instance_class")?);
        changed = true;
    }
    if planned.allocated_storage != prior.allocated_storage {
        if let Value::Value(n) = planned.allocated_storage {
            modify = modify.allocated_storage(to_i32(n, "allocated_storage")?);
            changed = true;
        }
    }
    if planned.publicly_accessible != prior.publicly_accessible {
        modify = modify.publicly_accessible(planned.publicly_accessible == Value::Value(true));
        changed = true;
    }
    if planned.engine_version != prior.engine_version {
        if let Value::Value(v) = &planned.engine_version {
            modify = modify.engine_version(v);
            changed = true;
        }
    }
    if planned.password != prior.password {
        if let Value::Value(p) = &planned.password {
            modify = modify.master_user_password(p);
            changed = true;
        }
    }
    if changed {
        modify
            .send()
            .await
            .map_err(|e| aws_failure(format!("modifying {}", what(&id)), &e))?;
    }
    let instance = wait_available(c, &id).await?;
    let arn = instance
        .db_instance_arn()
        .map(str::to_string)
        .ok_or_else(|| Failure::new(format!("{} has no ARN", what(&id))))?;
    let old_tags = tags_map(&prior.tags_all)?;
    let new_tags = tags_map(&planned.tags)?;
    let (removed, upserted) = tag_changes(&old_tags, &new_tags);
    if !removed.is_empty() {
        c.rds
            .remove_tags_from_resource()
            .resource_name(&arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_failure(format!("untagging {}", what(&id)), &e))?;
    }
    if !upserted.is_empty() {
        c.rds
            .add_tags_to_resource()
            .resource_name(&arn)
            .set_tags(Some(rds_tags(&upserted)))
            .send()
            .await
            .map_err(|e| aws_failure(format!("tagging {}", what(&id)), &e))?;
    }
    let tags = aws_tags(c, &instance).await?;
    let mut state = merge_applied(planned, state_from(&instance, tags, planned));
    state.tags_all = to_str_map(new_tags);
    Ok(state)
}

async fn delete_instance(c: &Clients, prior: &InstanceState) -> Res<()> {
    let id = known(&prior.identifier, "identifier")?.clone();
    let skip = prior.skip_final_snapshot == Value::Value(true);
    let final_snapshot = opt_str(
        &prior.final_snapshot_identifier,
        "final_snapshot_identifier",
    )?;
    if !skip && final_snapshot.is_none() {
        return Err(Failure::new(format!(
            "deleting {}: final_snapshot_identifier is required when skip_final_snapshot is false",
            what(&id)
        )));
    }
    match c
        .rds
        .delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(skip)
        .set_final_db_snapshot_identifier(if skip {
            None
        } else {
            final_snapshot.map(str::to_string)
        })
        .send()
        .await
    {
        Ok(_) => {}
        Err(err) if err.code() == Some("DBInstanceNotFound") => return Ok(()),
        Err(err) => return Err(aws_failure(format!("deleting {}", what(&id)), &err)),
    }
    wait_gone(c, &id).await
}

#[async_trait]
impl Resource for DbInstance {
    type State<'a> = InstanceState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let mut attributes = map! {
            "id" => attr(T::String, C::Computed, "The identifier (the real provider v5 uses the resource id here)."),
            "identifier" => attr(T::String, C::Required, "DB instance identifier (forces replacement)."),
            "engine" => attr(T::String, C::Required, "Engine (forces replacement)."),
            "engine_version" => attr(T::String, C::OptionalComputed, "Engine version; a prefix such as \"15\" matches \"15.4\"."),
            "instance_class" => attr(T::String, C::Required, "Instance class."),
            "allocated_storage" => attr(T::Number, C::OptionalComputed, "Storage in GiB."),
            "username" => attr(T::String, C::OptionalComputed, "Master user name (forces replacement)."),
            "password" => sensitive(attr(T::String, C::Optional, "Master password (never read back).")),
            "publicly_accessible" => attr(T::Bool, C::OptionalComputed, "Default false."),
            "storage_encrypted" => attr(T::Bool, C::OptionalComputed, "Default false; forces replacement."),
            "skip_final_snapshot" => attr(T::Bool, C::OptionalComputed, "Default false."),
            "final_snapshot_identifier" => attr(T::String, C::Optional, "Snapshot taken on delete unless skip_final_snapshot."),
            "arn" => attr(T::String, C::Computed, "ARN."),
            "address" => attr(T::String, C::Computed, "Host name."),
            "endpoint" => attr(T::String, C::Computed, "address:port."),
            "status" => attr(T::String, C::Computed, "RDS status."),
        };
        tags_attributes(&mut attributes);
        Some(Schema {
            version: 2,
            block: Block {
                version: 2,
                attributes,
                description: Description::plain("RDS DB instance (stand-in subset)."),
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if let Value::Value(n) = config.allocated_storage {
            if n <= 0 || n > i64::from(i32::MAX) {
                diags.error_short(
                    "`allocated_storage` must be a positive number of GiB",
                    AttributePath::new("allocated_storage"),
                );
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
        let result: Res<Option<InstanceState>> = async {
            read_delay().await?;
            let c = self.shared.get()?;
            let id = match (&state.identifier, &state.id) {
                (Value::Value(id), _) | (_, Value::Value(id)) => id.clone(),
                _ => return Err(Failure::new("aws_db_instance state has no identifier")),
            };
            log_read("aws_db_instance", &id)?;
            let Some(instance) = describe(&c, &id).await? else {
                return Ok(None);
            };
            let tags = aws_tags(&c, &instance).await?;
            Ok(Some(state_from(&instance, tags, &state)))
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
        for v in [
            &mut planned.id,
            &mut planned.arn,
            &mut planned.address,
            &mut planned.endpoint,
            &mut planned.status,
        ] {
            *v = Value::Unknown;
        }
        planned.engine_version = or_prior(&config.engine_version, None);
        planned.allocated_storage = or_prior(&config.allocated_storage, None);
        planned.username = or_prior(&config.username, None);
        planned.publicly_accessible = with_default(&config.publicly_accessible, false);
        planned.storage_encrypted = with_default(&config.storage_encrypted, false);
        planned.skip_final_snapshot = with_default(&config.skip_final_snapshot, false);
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
        planned.engine_version = match (&config.engine_version, &prior.engine_version) {
            (Value::Value(c), Value::Value(p)) if version_matches(c, p) => {
                prior.engine_version.clone()
            }
            (c, _) => or_prior(c, Some(&prior.engine_version)),
        };
        planned.allocated_storage =
            or_prior(&config.allocated_storage, Some(&prior.allocated_storage));
        planned.username = or_prior(&config.username, Some(&prior.username));
        planned.publicly_accessible = with_default(&config.publicly_accessible, false);
        planned.storage_encrypted = with_default(&config.storage_encrypted, false);
        planned.skip_final_snapshot = with_default(&config.skip_final_snapshot, false);
        planned.tags_all = plan_tags_all(&config.tags);
        let mut replace = Vec::new();
        for (name, changed) in [
            ("identifier", planned.identifier != prior.identifier),
            ("engine", planned.engine != prior.engine),
            (
                "storage_encrypted",
                planned.storage_encrypted != prior.storage_encrypted,
            ),
            ("username", planned.username != prior.username),
        ] {
            if changed {
                replace.push(AttributePath::new(name));
            }
        }
        if !replace.is_empty() {
            for v in [
                &mut planned.id,
                &mut planned.arn,
                &mut planned.address,
                &mut planned.endpoint,
                &mut planned.status,
            ] {
                *v = Value::Unknown;
            }
            if config.engine_version.is_null() {
                planned.engine_version = Value::Unknown;
            }
            if config.allocated_storage.is_null() {
                planned.allocated_storage = Value::Unknown;
            }
            if config.username.is_null() {
                planned.username = Value::Unknown;
            }
        } else {
            planned.id = prior.id.clone();
            planned.arn = prior.arn.clone();
            planned.address = prior.address.clone();
            planned.endpoint = prior.endpoint.clone();
            // Like the real provider: the status shown is the last one read
            // (update waits for "available" again).
            planned.status = prior.status.clone();
        }
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
        let result = match self.shared.get() {
            Ok(c) => create_instance(&c, &planned).await,
            Err(f) => Err(f),
        };
        reported(diags, result).map(|state| (state, private))
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
            Ok(c) => update_instance(&c, &prior, &planned).await,
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
        let result = match self.shared.get() {
            Ok(c) => delete_instance(&c, &prior).await,
            Err(f) => Err(f),
        };
        reported(diags, result)
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if id.is_empty() {
            diags.root_error_short("import id must be the DB instance identifier");
            return None;
        }
        Some((
            InstanceState {
                id: Value::Value(id.clone()),
                identifier: Value::Value(id),
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
    fn engine_versions_match_by_prefix_at_dots() {
        assert!(version_matches("15", "15.4"));
        assert!(version_matches("15.4", "15.4"));
        assert!(version_matches("8.0", "8.0.35"));
        assert!(!version_matches("1", "15.4"));
        assert!(!version_matches("15.4", "15"));
    }
}
