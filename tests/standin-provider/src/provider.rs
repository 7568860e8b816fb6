//! Provider configuration: the shape of the real hashicorp/aws provider block
//! (the subset the stand-in needs), turned into SDK clients.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use serde::{Deserialize, Serialize};
use tf_provider::schema::{
    AttributeConstraint as C, AttributeType as T, Block, Description, NestedBlock, Schema,
};
use tf_provider::value::{Value, ValueAny, ValueEmpty};
use tf_provider::{map, Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::common::{attr, aws_failure, sensitive, Bool, Failure, Num, Res, Str, StrList};
use crate::{db_instance::DbInstance, s3_bucket::S3Bucket, security_group::SecurityGroup};

/// The SDK clients every resource uses, built by `configure`.
pub struct Clients {
    pub region: String,
    pub s3: aws_sdk_s3::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub rds: aws_sdk_rds::Client,
}

/// Handle the resources share with the provider: empty until `configure`.
#[derive(Clone, Default)]
pub struct Shared(Arc<RwLock<Option<Arc<Clients>>>>);

impl Shared {
    pub fn get(&self) -> Res<Arc<Clients>> {
        self.0
            .read()
            .ok()
            .and_then(|guard| guard.clone())
            .ok_or_else(|| Failure::new("the aws provider has not been configured"))
    }

    fn set(&self, clients: Clients) {
        if let Ok(mut guard) = self.0.write() {
            *guard = Some(Arc::new(clients));
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoints {
    pub s3: Str,
    pub ec2: Str,
    pub rds: Str,
    pub sts: Str,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderConfig {
    pub region: Str,
    pub access_key: Str,
    pub secret_key: Str,
    pub token: Str,
    pub max_retries: Num,
    pub s3_use_path_style: Bool,
    pub skip_credentials_validation: Bool,
    pub skip_requesting_account_id: Bool,
    pub skip_metadata_api_check: Bool,
    pub skip_region_validation: Bool,
    pub endpoints: Value<Vec<Endpoints>>,
    // Accepted by hashicorp/aws, refused here with a diagnostic.
    pub profile: Str,
    pub shared_config_files: StrList,
    pub shared_credentials_files: StrList,
    pub default_tags: Value<Vec<ValueAny>>,
    pub assume_role: Value<Vec<ValueAny>>,
    pub ignore_tags: Value<Vec<ValueAny>>,
}

#[derive(Default)]
pub struct AwsProvider {
    shared: Shared,
}

const UNSUPPORTED_HINT: &str = "The stand-in hashicorp/aws provider used by the drift-detection \
test suite supports only the subset documented in tests/standin-provider/README.md.";

fn string(c: C, description: &str) -> tf_provider::schema::Attribute {
    attr(T::String, c, description)
}

fn boolean(description: &str) -> tf_provider::schema::Attribute {
    attr(T::Bool, C::Optional, description)
}

/// Errors for arguments the real provider has and the stand-in refuses.
fn unsupported(config: &ProviderConfig) -> Vec<Failure> {
    let mut out = Vec::new();
    let mut refuse = |set: bool, name: &'static str| {
        if set {
            out.push(
                Failure::new(format!(
                    "Unsupported argument: `{name}` is not supported by the stand-in aws provider"
                ))
                .detail(UNSUPPORTED_HINT)
                .at(name),
            );
        }
    };
    let blocks = |v: &Value<Vec<ValueAny>>| match v {
        Value::Value(items) => !items.is_empty(),
        Value::Null => false,
        Value::Unknown => true,
    };
    refuse(!config.profile.is_null(), "profile");
    refuse(!config.shared_config_files.is_null(), "shared_config_files");
    refuse(
        !config.shared_credentials_files.is_null(),
        "shared_credentials_files",
    );
    refuse(blocks(&config.default_tags), "default_tags");
    refuse(blocks(&config.assume_role), "assume_role");
    refuse(blocks(&config.ignore_tags), "ignore_tags");
    if let Value::Value(endpoints) = &config.endpoints {
        if endpoints.len() > 1 {
            out.push(
                Failure::new("Invalid endpoints: at most one `endpoints` block is supported")
                    .at("endpoints"),
            );
        }
    }
    if let Value::Value(n) = config.max_retries {
        if !(0..=100).contains(&n) {
            out.push(Failure::new("`max_retries` must be between 0 and 100").at("max_retries"));
        }
    }
    out
}

/// `us-east-1`, `eu-west-3`, `us-gov-west-1`, `ap-southeast-2`... (the
/// stand-in's version of the real provider's region validation).
pub fn plausible_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Endpoint for one service: the `endpoints` block, else
/// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else AWS's own.
pub fn resolve_endpoint(
    configured: &Str,
    service: &'static str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Res<Option<String>> {
    let url = match configured {
        Value::Value(url) if !url.is_empty() => Some(url.clone()),
        Value::Unknown => {
            return Err(Failure::new(format!(
                "endpoints.{service} is unknown when the provider is configured"
            ))
            .at("endpoints"))
        }
        _ => env(&format!(
            "AWS_ENDPOINT_URL_{}",
            service.to_ascii_uppercase()
        ))
        .or_else(|| env("AWS_ENDPOINT_URL")),
    };
    if let Some(url) = &url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Failure::new(format!(
                "Invalid endpoint for {service}: {url:?} is not an http(s) URL"
            ))
            .at("endpoints"));
        }
    }
    Ok(url)
}

fn known_bool(value: &Bool, name: &'static str) -> Res<bool> {
    match value {
        Value::Value(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::Unknown => Err(Failure::new(format!(
            "`{name}` is unknown when the provider is configured"
        ))
        .at(name)),
    }
}

fn known_opt(value: &Str, name: &'static str) -> Res<Option<String>> {
    match value {
        Value::Value(s) if !s.is_empty() => Ok(Some(s.clone())),
        Value::Unknown => Err(Failure::new(format!(
            "`{name}` is unknown when the provider is configured"
        ))
        .at(name)),
        _ => Ok(None),
    }
}

async fn build_clients(config: &ProviderConfig) -> Res<Clients> {
    let region = match known_opt(&config.region, "region")? {
        Some(region) => region,
        None => env_nonempty("AWS_REGION")
            .or_else(|| env_nonempty("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                Failure::new("No AWS region: set `region` in the provider block or AWS_REGION")
                    .at("region")
            })?,
    };
    if !known_bool(&config.skip_region_validation, "skip_region_validation")?
        && !plausible_region(&region)
    {
        return Err(Failure::new(format!("invalid AWS Region: {region}")).at("region"));
    }

    let credentials = match (
        known_opt(&config.access_key, "access_key")?,
        known_opt(&config.secret_key, "secret_key")?,
    ) {
        (Some(access_key), Some(secret_key)) => SharedCredentialsProvider::new(Credentials::new(
            access_key,
            secret_key,
            known_opt(&config.token, "token")?,
            None,
            "terraform-provider-aws-standin",
        )),
        (None, None) => {
            if env_nonempty("AWS_ACCESS_KEY_ID").is_none()
                || env_nonempty("AWS_SECRET_ACCESS_KEY").is_none()
            {
                return Err(Failure::new("No valid credential sources found").detail(
                    "Set access_key and secret_key in the provider block, or \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the \
                     environment. The stand-in reads no profiles and never contacts the \
                     instance metadata service.",
                ));
            }
            SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new())
        }
        (Some(_), None) => {
            return Err(Failure::new("`access_key` is set but `secret_key` is not").at("secret_key"))
        }
        (None, Some(_)) => {
            return Err(Failure::new("`secret_key` is set but `access_key` is not").at("access_key"))
        }
    };

    let max_attempts = match config.max_retries {
        Value::Value(n) => u32::try_from(n).unwrap_or(0).saturating_add(1),
        _ => 3,
    };
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.clone()))
        .credentials_provider(credentials)
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(120))
                .build(),
        )
        .load()
        .await;

    let empty = Endpoints::default();
    let endpoints = match &config.endpoints {
        Value::Value(list) => list.first().unwrap_or(&empty),
        Value::Unknown => {
            return Err(Failure::new(
                "`endpoints` is unknown when the provider is configured",
            ))
        }
        Value::Null => &empty,
    };
    let env = |name: &str| env_nonempty(name);
    let s3_endpoint = resolve_endpoint(&endpoints.s3, "s3", &env)?;
    let ec2_endpoint = resolve_endpoint(&endpoints.ec2, "ec2", &env)?;
    let rds_endpoint = resolve_endpoint(&endpoints.rds, "rds", &env)?;
    let sts_endpoint = resolve_endpoint(&endpoints.sts, "sts", &env)?;

    let mut s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(known_bool(&config.s3_use_path_style, "s3_use_path_style")?);
    s3.set_endpoint_url(s3_endpoint);
    let mut ec2 = aws_sdk_ec2::config::Builder::from(&sdk);
    ec2.set_endpoint_url(ec2_endpoint);
    let mut rds = aws_sdk_rds::config::Builder::from(&sdk);
    rds.set_endpoint_url(rds_endpoint);

    // Like the real provider: one sts:GetCallerIdentity unless both checks
    // that need it are skipped (the account id itself is not used).
    let skip_validation = known_bool(
        &config.skip_credentials_validation,
        "skip_credentials_validation",
    )?;
    let skip_account = known_bool(
        &config.skip_requesting_account_id,
        "skip_requesting_account_id",
    )?;
    known_bool(&config.skip_metadata_api_check, "skip_metadata_api_check")?;
    if !(skip_validation && skip_account) {
        let mut sts = aws_sdk_sts::config::Builder::from(&sdk);
        sts.set_endpoint_url(sts_endpoint);
        let sts = aws_sdk_sts::Client::from_conf(sts.build());
        sts.get_caller_identity().send().await.map_err(|err| {
            aws_failure(
                "validating provider credentials: retrieving caller identity from STS",
                &err,
            )
        })?;
    }

    Ok(Clients {
        region,
        s3: aws_sdk_s3::Client::from_conf(s3.build()),
        ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
        rds: aws_sdk_rds::Client::from_conf(rds.build()),
    })
}

#[async_trait]
impl Provider for AwsProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let endpoints = Block {
            version: 0,
            description: Description::plain(
                "Custom endpoint URLs (moto). Fallback: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL.",
            ),
            attributes: map! {
                "s3" => string(C::Optional, "S3 endpoint URL."),
                "ec2" => string(C::Optional, "EC2 endpoint URL."),
                "rds" => string(C::Optional, "RDS endpoint URL."),
                "sts" => string(C::Optional, "STS endpoint URL."),
            },
            ..Default::default()
        };
        let default_tags = Block {
            version: 0,
            description: Description::plain("Not supported by the stand-in."),
            attributes: map! {
                "tags" => attr(crate::common::string_map(), C::Optional, "Not supported."),
            },
            ..Default::default()
        };
        let assume_role = Block {
            version: 0,
            description: Description::plain("Not supported by the stand-in."),
            attributes: map! {
                "role_arn" => string(C::Optional, "Not supported."),
                "session_name" => string(C::Optional, "Not supported."),
                "external_id" => string(C::Optional, "Not supported."),
                "duration" => string(C::Optional, "Not supported."),
            },
            ..Default::default()
        };
        let ignore_tags = Block {
            version: 0,
            description: Description::plain("Not supported by the stand-in."),
            attributes: map! {
                "keys" => attr(T::Set(Box::new(T::String)), C::Optional, "Not supported."),
                "key_prefixes" => attr(T::Set(Box::new(T::String)), C::Optional, "Not supported."),
            },
            ..Default::default()
        };
        let string_list = || T::List(Box::new(T::String));
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                description: Description::plain(
                    "Test-support stand-in for hashicorp/aws (aws_s3_bucket, aws_security_group, \
                     aws_db_instance against moto). Not a real AWS provider.",
                ),
                attributes: map! {
                    "region" => string(C::Optional, "AWS region; else AWS_REGION / AWS_DEFAULT_REGION."),
                    "access_key" => sensitive(string(C::Optional, "Access key; else AWS_ACCESS_KEY_ID.")),
                    "secret_key" => sensitive(string(C::Optional, "Secret key; else AWS_SECRET_ACCESS_KEY.")),
                    "token" => sensitive(string(C::Optional, "Session token (with access_key); else AWS_SESSION_TOKEN.")),
                    "max_retries" => attr(T::Number, C::Optional, "Retries per request (default 2)."),
                    "s3_use_path_style" => boolean("Path-style S3 addressing."),
                    "skip_credentials_validation" => boolean("Skip sts:GetCallerIdentity at configure."),
                    "skip_requesting_account_id" => boolean("Accepted (the account id is not used)."),
                    "skip_metadata_api_check" => boolean("Accepted (the stand-in never uses the metadata API)."),
                    "skip_region_validation" => boolean("Skip the region name check."),
                    "profile" => string(C::Optional, "Not supported by the stand-in."),
                    "shared_config_files" => attr(string_list(), C::Optional, "Not supported by the stand-in."),
                    "shared_credentials_files" => attr(string_list(), C::Optional, "Not supported by the stand-in."),
                },
                blocks: map! {
                    "endpoints" => NestedBlock::Set(endpoints),
                    "default_tags" => NestedBlock::Optional(default_tags),
                    "assume_role" => NestedBlock::Optional(assume_role),
                    "ignore_tags" => NestedBlock::Optional(ignore_tags),
                },
                deprecated: false,
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::Config<'a>) -> Option<()> {
        for failure in unsupported(&config) {
            failure.report(diags);
        }
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: Self::Config<'a>,
    ) -> Option<()> {
        let refused = unsupported(&config);
        if !refused.is_empty() {
            for failure in refused {
                failure.report(diags);
            }
            return Some(());
        }
        match build_clients(&config).await {
            Ok(clients) => self.shared.set(clients),
            Err(failure) => failure.report(diags),
        }
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(map! {
            "s3_bucket" => S3Bucket::new(self.shared.clone()),
            "security_group" => SecurityGroup::new(self.shared.clone()),
            "db_instance" => DbInstance::new(self.shared.clone()),
        })
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(HashMap::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in ["us-east-1", "eu-west-3", "us-gov-west-1", "ap-southeast-2"] {
            assert!(plausible_region(ok), "{ok}");
        }
        for bad in ["", "us-east", "US-EAST-1", "useast1", "us--1", "us-east-x"] {
            assert!(!plausible_region(bad), "{bad}");
        }
    }

    #[test]
    fn endpoint_precedence() {
        let env = |name: &str| match name {
            "AWS_ENDPOINT_URL_S3" => Some("http://127.0.0.1:1".to_string()),
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:2".to_string()),
            _ => None,
        };
        let block = Value::Value("http://127.0.0.1:3".to_string());
        assert_eq!(
            resolve_endpoint(&block, "s3", &env).unwrap().as_deref(),
            Some("http://127.0.0.1:3")
        );
        assert_eq!(
            resolve_endpoint(&Value::Null, "s3", &env)
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            resolve_endpoint(&Value::Null, "ec2", &env)
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(
            resolve_endpoint(&Value::Null, "rds", &|_| None).unwrap(),
            None
        );
        assert!(resolve_endpoint(&Value::Value("localhost:4566".into()), "s3", &env).is_err());
    }

    #[test]
    fn unsupported_arguments_are_named() {
        let config = ProviderConfig {
            profile: Value::Value("dev".into()),
            assume_role: Value::Value(vec![ValueAny::Null]),
            ..Default::default()
        };
        let refused = unsupported(&config);
        let names: Vec<_> = refused.iter().map(|f| f.attribute).collect();
        assert_eq!(names, vec![Some("profile"), Some("assume_role")]);
        assert!(refused[0].summary.contains("`profile` is not supported"));
        assert!(unsupported(&ProviderConfig::default()).is_empty());
    }
}
