//! `terraform-provider-schema`: test support for the stack's schema check.
//! Serves, over plugin protocol 6, the schema of one real provider release
//! as extracted by `scripts/fetch-provider-schema` (no more: it cannot read,
//! plan or apply anything), so that `terraform validate` judges the stack
//! with the real provider's types, arguments and blocks, offline.
//!
//! Installed in a filesystem mirror as
//! `<host>/hashicorp/<name>/<version>/<os_arch>/terraform-provider-<name>_v<version>`,
//! it serves `$SCHEMA_PROVIDER_DIR/hashicorp-<name>-<version>.json`, the
//! name and version read from its own file name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use async_trait::async_trait;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;
use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema,
};
use tf_provider::{
    AttributePath, DataSource, Diagnostics, DynamicDataSource, DynamicResource, Provider, Resource,
};

fn attribute_type(t: &Json) -> AttributeType {
    match t {
        Json::String(s) => match s.as_str() {
            "string" => AttributeType::String,
            "number" => AttributeType::Number,
            "bool" => AttributeType::Bool,
            // "object" (a nested-attribute type the extract does not detail) and "any".
            _ => AttributeType::Any,
        },
        Json::Array(pair) if pair.len() == 2 => {
            let element = Box::new(attribute_type(&pair[1]));
            match pair[0].as_str() {
                Some("map") => AttributeType::Map(element),
                _ => AttributeType::List(element),
            }
        }
        _ => AttributeType::Any,
    }
}

fn block(spec: &Json) -> Block {
    let mut attributes = HashMap::new();
    if let Some(attrs) = spec["attributes"].as_object() {
        for (name, attr) in attrs {
            let constraint = match attr["mode"].as_str() {
                Some("required") => AttributeConstraint::Required,
                Some("computed") => AttributeConstraint::Computed,
                // The extract cannot tell optional from optional+computed;
                // both validate alike.
                _ => AttributeConstraint::OptionalComputed,
            };
            attributes.insert(
                name.clone(),
                Attribute {
                    attr_type: attribute_type(&attr["type"]),
                    description: Description::plain(""),
                    constraint,
                    sensitive: false,
                    deprecated: false,
                },
            );
        }
    }
    let mut blocks = HashMap::new();
    if let Some(nested) = spec["blocks"].as_object() {
        for (name, nb) in nested {
            let inner = if nb["block"].is_null() {
                Block::default()
            } else {
                block(&nb["block"])
            };
            let min = nb["min"].as_i64().unwrap_or(0);
            let max = nb["max"].as_i64();
            // tf-provider's nesting modes fix min/max items: Single is
            // exactly one, Optional at most one, List any number.
            let nested = match (min, max) {
                (1, Some(1)) => NestedBlock::Single(inner),
                (_, Some(1)) => NestedBlock::Optional(inner),
                _ => NestedBlock::List(inner),
            };
            blocks.insert(name.clone(), nested);
        }
    }
    Block {
        attributes,
        blocks,
        ..Default::default()
    }
}

fn schema(spec: &Json) -> Schema {
    Schema {
        version: 0,
        block: block(spec),
    }
}

struct SchemaOnly(Arc<Schema>);

/// Whatever terraform sends (unknown values included) is accepted and
/// dropped: only the schema matters, and terraform checks the configuration
/// against it before the provider sees anything.
struct Opaque;

impl<'de> Deserialize<'de> for Opaque {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Opaque)
    }
}

impl Serialize for Opaque {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }
}

const NOT_HERE: &str = "terraform-provider-schema serves a schema for `terraform validate` only";

fn refuse<T>(diags: &mut Diagnostics) -> Option<T> {
    diags.root_error_short(NOT_HERE);
    None
}

#[async_trait]
impl Resource for SchemaOnly {
    type State<'a> = Opaque;
    type PrivateState<'a> = Opaque;
    type ProviderMetaState<'a> = Opaque;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some((*self.0).clone())
    }
    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        _state: Opaque,
        _private_state: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        _proposed: Opaque,
        _config: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _proposed: Opaque,
        _config: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque, Vec<AttributePath>)> {
        refuse(diags)
    }
    async fn plan_destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<Opaque> {
        refuse(diags)
    }
    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        _planned: Opaque,
        _config: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _planned: Opaque,
        _config: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<()> {
        refuse(diags)
    }
}

#[async_trait]
impl DataSource for SchemaOnly {
    type State<'a> = Opaque;
    type ProviderMetaState<'a> = Opaque;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some((*self.0).clone())
    }
    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        _config: Opaque,
        _meta: Opaque,
    ) -> Option<Opaque> {
        refuse(diags)
    }
}

struct SchemaProvider {
    provider: Schema,
    resources: HashMap<String, Arc<Schema>>,
    data_sources: HashMap<String, Arc<Schema>>,
}

impl SchemaProvider {
    fn from_json(name: &str, spec: &Json) -> anyhow::Result<Self> {
        // tf-provider prefixes every type with `<provider name>_` itself.
        let prefix = format!("{name}_");
        let types = |kind: &str| -> anyhow::Result<HashMap<String, Arc<Schema>>> {
            let map = spec[kind]
                .as_object()
                .with_context(|| format!("no {kind} in the schema"))?;
            map.iter()
                .map(|(full, s)| {
                    let short = full
                        .strip_prefix(&prefix)
                        .with_context(|| format!("{kind} {full} lacks the prefix {prefix}"))?;
                    Ok((short.to_string(), Arc::new(schema(s))))
                })
                .collect()
        };
        let mut provider = schema(&spec["provider_config"]);
        // `alias` is Terraform's meta-argument, not the provider's.
        provider.block.attributes.remove("alias");
        Ok(Self {
            provider,
            resources: types("resources")?,
            data_sources: types("data_sources")?,
        })
    }
}

#[async_trait]
impl Provider for SchemaProvider {
    type Config<'a> = Opaque;
    type MetaState<'a> = Opaque;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.provider.clone())
    }
    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(
            self.resources
                .iter()
                .map(|(name, s)| {
                    let r: Box<dyn DynamicResource> = SchemaOnly(s.clone()).into();
                    (name.clone(), r)
                })
                .collect(),
        )
    }
    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(
            self.data_sources
                .iter()
                .map(|(name, s)| {
                    let d: Box<dyn DynamicDataSource> = SchemaOnly(s.clone()).into();
                    (name.clone(), d)
                })
                .collect(),
        )
    }
}

/// `terraform-provider-<name>_v<version>` -> (name, version).
fn release_of(exe: &Path) -> anyhow::Result<(String, String)> {
    let file = exe
        .file_name()
        .and_then(|f| f.to_str())
        .context("no file name")?;
    let Some((name, version)) = file
        .strip_prefix("terraform-provider-")
        .and_then(|rest| rest.split_once("_v"))
    else {
        bail!("{file}: not named terraform-provider-<name>_v<version>");
    };
    Ok((name.to_string(), version.to_string()))
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("TF_PLUGIN_MAGIC_COOKIE").is_none() {
        eprintln!(
            "This binary is a Terraform plugin (test support: a schema for terraform validate)."
        );
        std::process::exit(1);
    }
    let exe = std::env::current_exe()?;
    let (name, version) = release_of(&exe)?;
    let dir = PathBuf::from(
        std::env::var_os("SCHEMA_PROVIDER_DIR").context("SCHEMA_PROVIDER_DIR is not set")?,
    );
    let path = dir.join(format!("hashicorp-{name}-{version}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    let spec: Json = serde_json::from_str(&text)?;
    let provider = SchemaProvider::from_json(&name, &spec)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(tf_provider::serve(name, provider))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_from_the_mirror_file_name() {
        let exe = Path::new("/m/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0");
        assert_eq!(release_of(exe).unwrap(), ("aws".into(), "5.100.0".into()));
        assert!(release_of(Path::new("/x/terraform-provider-aws")).is_err());
    }
}
