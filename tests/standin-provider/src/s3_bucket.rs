//! `aws_s3_bucket`: bucket, force_destroy, tags; computed id, arn, tags_all.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, Tag, Tagging,
};
use serde::{Deserialize, Serialize};
use tf_provider::schema::{
    AttributeConstraint as C, AttributeType as T, Block, Description, Schema,
};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::common::*;
use crate::provider::{Clients, Shared};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketState {
    pub id: Str,
    pub bucket: Str,
    pub arn: Str,
    pub force_destroy: Bool,
    pub tags: StrMap,
    pub tags_all: StrMap,
}

pub struct S3Bucket {
    shared: Shared,
}

impl S3Bucket {
    pub fn new(shared: Shared) -> S3Bucket {
        S3Bucket { shared }
    }
}

fn what(bucket: &str) -> String {
    format!("aws_s3_bucket ({bucket})")
}

fn arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn s3_tagging(tags: &BTreeMap<String, String>) -> Res<Tagging> {
    let tag_set = tags
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Failure::new(format!("building tag {k}: {e}")))
        })
        .collect::<Res<Vec<_>>>()?;
    Tagging::builder()
        .set_tag_set(Some(tag_set))
        .build()
        .map_err(|e| Failure::new(format!("building tag set: {e}")))
}

async fn put_tags(c: &Clients, bucket: &str, tags: &BTreeMap<String, String>) -> Res<()> {
    if tags.is_empty() {
        c.s3.delete_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_failure(format!("deleting tags of {}", what(bucket)), &e))?;
    } else {
        c.s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(s3_tagging(tags)?)
            .send()
            .await
            .map_err(|e| aws_failure(format!("tagging {}", what(bucket)), &e))?;
    }
    Ok(())
}

/// The bucket's tags; `None` when the bucket does not exist.
async fn read_bucket(c: &Clients, bucket: &str) -> Res<Option<BTreeMap<String, String>>> {
    if let Err(err) = c.s3.head_bucket().bucket(bucket).send().await {
        let gone = err.as_service_error().is_some_and(|e| e.is_not_found())
            || matches!(err.code(), Some("NotFound" | "NoSuchBucket"))
            || error_status(&err) == Some(404);
        if gone {
            return Ok(None);
        }
        return Err(aws_failure(format!("reading {}", what(bucket)), &err));
    }
    match c.s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(Some(
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )),
        Err(err) if err.code() == Some("NoSuchTagSet") => Ok(Some(BTreeMap::new())),
        Err(err) if err.code() == Some("NoSuchBucket") => Ok(None),
        Err(err) => Err(aws_failure(
            format!("reading tags of {}", what(bucket)),
            &err,
        )),
    }
}

/// Deletes every object version and delete marker (force_destroy).
async fn empty_bucket(c: &Clients, bucket: &str) -> Res<()> {
    loop {
        let out =
            c.s3.list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| aws_failure(format!("listing objects of {}", what(bucket)), &e))?;
        let mut objects = Vec::new();
        for v in out.versions() {
            if let Some(key) = v.key() {
                objects.push((key.to_string(), v.version_id().map(str::to_string)));
            }
        }
        for m in out.delete_markers() {
            if let Some(key) = m.key() {
                objects.push((key.to_string(), m.version_id().map(str::to_string)));
            }
        }
        if objects.is_empty() {
            return Ok(());
        }
        for chunk in objects.chunks(1000) {
            let ids = chunk
                .iter()
                .map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version.clone())
                        .build()
                        .map_err(|e| Failure::new(format!("building object id: {e}")))
                })
                .collect::<Res<Vec<_>>>()?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| Failure::new(format!("building delete request: {e}")))?;
            let out =
                c.s3.delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|e| aws_failure(format!("emptying {}", what(bucket)), &e))?;
            if let Some(err) = out.errors().first() {
                return Err(Failure::new(format!(
                    "emptying {}: AWS error {}: {}",
                    what(bucket),
                    err.code().unwrap_or("unknown"),
                    err.message().unwrap_or("")
                )));
            }
        }
    }
}

#[async_trait]
impl Resource for S3Bucket {
    type State<'a> = BucketState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let mut attributes = map! {
            "id" => attr(T::String, C::Computed, "The bucket name."),
            "bucket" => attr(T::String, C::Required, "Name of the bucket (forces replacement)."),
            "arn" => attr(T::String, C::Computed, "ARN of the bucket."),
            "force_destroy" => attr(T::Bool, C::OptionalComputed, "Delete all objects when the bucket is destroyed (default false)."),
        };
        tags_attributes(&mut attributes);
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                attributes,
                description: Description::plain("S3 bucket (stand-in subset)."),
                ..Default::default()
            },
        })
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let result: Res<Option<BucketState>> = async {
            read_delay().await?;
            let c = self.shared.get()?;
            let bucket = match (&state.id, &state.bucket) {
                (Value::Value(id), _) => id.clone(),
                (_, Value::Value(b)) => b.clone(),
                _ => return Err(Failure::new("aws_s3_bucket state has no id")),
            };
            log_read("aws_s3_bucket", &bucket)?;
            let Some(tags) = read_bucket(&c, &bucket).await? else {
                return Ok(None);
            };
            Ok(Some(BucketState {
                id: Value::Value(bucket.clone()),
                bucket: Value::Value(bucket.clone()),
                arn: Value::Value(arn(&bucket)),
                force_destroy: with_default(&state.force_destroy, false),
                tags: tags_after_read(&state.tags, &tags),
                tags_all: to_str_map(tags),
            }))
        }
        .await;
        match result {
            Ok(Some(new)) => Some((new, private_state)),
            Ok(None) => None,
            Err(failure) => {
                failure.report(diags);
                Some((state, private_state))
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
        planned.force_destroy = with_default(&config.force_destroy, false);
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
        let mut replace = Vec::new();
        if planned.bucket != prior.bucket {
            replace.push(AttributePath::new("bucket"));
            planned.id = Value::Unknown;
            planned.arn = Value::Unknown;
        } else {
            planned.id = prior.id.clone();
            planned.arn = prior.arn.clone();
        }
        planned.force_destroy = with_default(&config.force_destroy, false);
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
        let bucket = match known(&planned.bucket, "bucket") {
            Ok(b) => b.clone(),
            Err(f) => {
                f.report(diags);
                return None;
            }
        };
        let mut request = c.s3.create_bucket().bucket(&bucket);
        if c.region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(c.region.as_str()))
                    .build(),
            );
        }
        if let Err(err) = request.send().await {
            aws_failure(format!("creating {}", what(&bucket)), &err).report(diags);
            return None;
        }
        let mut state = planned;
        state.id = Value::Value(bucket.clone());
        state.arn = Value::Value(arn(&bucket));
        // The bucket exists from here on: return it even if tagging fails
        // (terraform then records it as tainted).
        match tags_map(&state.tags) {
            Ok(tags) => {
                if !tags.is_empty() {
                    if let Err(f) = put_tags(&c, &bucket, &tags).await {
                        f.report(diags);
                    }
                }
                state.tags_all = to_str_map(tags);
            }
            Err(f) => f.report(diags),
        }
        Some((state, private))
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
        let result: Res<BucketState> = async {
            let c = self.shared.get()?;
            let bucket = known(&prior.id, "id")?.clone();
            let old = tags_map(&prior.tags_all)?;
            let new = tags_map(&planned.tags)?;
            if old != new {
                put_tags(&c, &bucket, &new).await?;
            }
            let mut state = planned.clone();
            state.tags_all = to_str_map(new);
            Ok(state)
        }
        .await;
        reported(diags, result).map(|state| (state, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let result: Res<()> = async {
            let c = self.shared.get()?;
            let bucket = known(&prior.id, "id")?.clone();
            if prior.force_destroy == Value::Value(true) {
                match empty_bucket(&c, &bucket).await {
                    Err(f) if f.summary.contains("NoSuchBucket") => return Ok(()),
                    other => other?,
                }
            }
            match c.s3.delete_bucket().bucket(&bucket).send().await {
                Ok(_) => Ok(()),
                Err(err) if err.code() == Some("NoSuchBucket") => Ok(()),
                Err(err) if err.code() == Some("BucketNotEmpty") => Err(aws_failure(
                    format!("deleting {}", what(&bucket)),
                    &err,
                )
                .detail(
                    "The bucket is not empty; set force_destroy = true to delete its objects too.",
                )),
                Err(err) => Err(aws_failure(format!("deleting {}", what(&bucket)), &err)),
            }
        }
        .await;
        reported(diags, result)
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if id.is_empty() {
            diags.root_error_short("import id must be the bucket name");
            return None;
        }
        Some((
            BucketState {
                id: Value::Value(id.clone()),
                bucket: Value::Value(id),
                ..Default::default()
            },
            ValueEmpty::Null,
        ))
    }
}
