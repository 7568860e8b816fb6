//! The worker's configuration: environment variables only, checked once at
//! cold start so a misconfigured function fails loudly before any event.

use std::path::PathBuf;

/// Where the terraform layer puts the binary.
pub const DEFAULT_TERRAFORM_PATH: &str = "/opt/bin/terraform";

/// Settings read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// `REPORT_BUCKET`: where reports go.
    pub report_bucket: String,
    /// `REPORT_KMS_KEY_ARN`: the bucket's customer-managed key; reports are
    /// written with SSE-KMS under it, else with SSE-S3 (AES256).
    pub report_kms_key_arn: Option<String>,
    /// `SNS_TOPIC_ARN`: where alerts go.
    pub sns_topic_arn: String,
    /// `METRICS_NAMESPACE`: the CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// `TERRAFORM_PATH`: the terraform binary.
    pub terraform_path: PathBuf,
    /// `TERRAFORM_PARALLELISM`: the plan's `-parallelism` (1-256) for events
    /// that set none; unset, terraform's own default (10).
    pub terraform_parallelism: Option<u16>,
    /// `LOG_LEVEL`: a tracing filter such as `info` or `debug`.
    pub log_level: String,
    /// `AWS_REGION` (Lambda sets it), else `AWS_DEFAULT_REGION`: the region
    /// of the report bucket and the topic. Required, so that the SDK never
    /// goes looking for one on the instance metadata endpoint.
    pub region: String,
    /// The largest plan (and terraform output) read, from
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (which Lambda sets): a quarter of
    /// the function's memory, since terraform and its provider share it and
    /// a plan takes about its size again once read. Outside Lambda, the
    /// CLI's default.
    pub max_input_bytes: u64,
    /// `ATTRIBUTION`: `off` (or `false`, `0`) turns CloudTrail attribution
    /// off for every event; default on (an event's `attribute` decides).
    pub attribution: bool,
    /// `ATTRIBUTION_IGNORE_PRINCIPALS`: comma-separated globs of principals
    /// whose CloudTrail events never name a drift's author (the Terraform
    /// roles), besides the rules file's and the event's own `role_arn`.
    pub attribution_ignore_principals: Vec<String>,
    /// `INDEX_TABLE`: the resource → workspace index table of event-driven
    /// checks (issue 16); unset or empty, no index is written.
    pub index_table: Option<String>,
    /// `INDEX_TTL_HOURS`: how long index items live (a whole number ≥ 1,
    /// default 24): a workspace not checked for that long drops out.
    pub index_ttl_hours: u32,
}

/// `INDEX_TTL_HOURS` when unset.
pub const DEFAULT_INDEX_TTL_HOURS: u32 = 24;

impl WorkerConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<WorkerConfig, String> {
        WorkerConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, naming every missing or bad
    /// variable in one message.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<WorkerConfig, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut faults = Vec::new();
        let report_bucket = get("REPORT_BUCKET").unwrap_or_default();
        if report_bucket.is_empty() {
            faults.push("REPORT_BUCKET is not set (the report bucket's name)".to_string());
        } else if report_bucket.len() < 3
            || report_bucket.len() > 63
            || !report_bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
        {
            faults.push(format!(
                "REPORT_BUCKET {report_bucket:?} is not an S3 bucket name"
            ));
        }
        let sns_topic_arn = get("SNS_TOPIC_ARN").unwrap_or_default();
        if !sns_topic_arn.starts_with("arn:") || sns_topic_arn.split(':').count() != 6 {
            faults.push(format!(
                "SNS_TOPIC_ARN {sns_topic_arn:?} must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
            ));
        }
        let report_kms_key_arn = get("REPORT_KMS_KEY_ARN");
        if let Some(arn) = &report_kms_key_arn {
            if !arn.starts_with("arn:") {
                faults.push(format!("REPORT_KMS_KEY_ARN {arn:?} must be a KMS key ARN"));
            }
        }
        let metrics_namespace =
            get("METRICS_NAMESPACE").unwrap_or_else(|| "DriftDetection".to_string());
        if metrics_namespace.len() > 255 || metrics_namespace.starts_with(':') {
            faults.push(format!(
                "METRICS_NAMESPACE {metrics_namespace:?} is not a CloudWatch namespace"
            ));
        }
        let terraform_path = PathBuf::from(
            get("TERRAFORM_PATH").unwrap_or_else(|| DEFAULT_TERRAFORM_PATH.to_string()),
        );
        let parallelism = drift_core::workspace::PARALLELISM;
        let terraform_parallelism = get("TERRAFORM_PARALLELISM").and_then(|text| {
            let n = text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|n| parallelism.contains(n));
            if n.is_none() {
                faults.push(format!(
                    "TERRAFORM_PARALLELISM {text:?} {}",
                    drift_core::workspace::phrase::PARALLELISM
                ));
            }
            n
        });
        let log_level = get("LOG_LEVEL").unwrap_or_else(|| "info".to_string());
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_default();
        if region.is_empty() {
            faults.push(
                "AWS_REGION is not set (Lambda sets it; set it to run the worker elsewhere)"
                    .to_string(),
            );
        } else if !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            faults.push(format!("AWS_REGION {region:?} is not an AWS region name"));
        }
        let max_input_bytes = match get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
            None => drift_core::plan::DEFAULT_MAX_INPUT_BYTES,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(megabytes) => (megabytes << 20) / 4,
                Err(_) => {
                    faults.push(format!(
                        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE {text:?} is not a number of megabytes"
                    ));
                    0
                }
            },
        };
        let attribution = match get("ATTRIBUTION").map(|t| t.trim().to_ascii_lowercase()) {
            None => true,
            Some(t) if matches!(t.as_str(), "on" | "true" | "1") => true,
            Some(t) if matches!(t.as_str(), "off" | "false" | "0") => false,
            Some(t) => {
                faults.push(format!("ATTRIBUTION {t:?} must be on or off"));
                true
            }
        };
        let attribution_ignore_principals = get("ATTRIBUTION_IGNORE_PRINCIPALS")
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let index_table = get("INDEX_TABLE").map(|t| t.trim().to_string());
        let index_ttl_hours = match get("INDEX_TTL_HOURS") {
            None => DEFAULT_INDEX_TTL_HOURS,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(hours) if hours >= 1 => hours,
                _ => {
                    faults.push(format!(
                        "INDEX_TTL_HOURS {text:?} must be a whole number of hours, at least 1"
                    ));
                    DEFAULT_INDEX_TTL_HOURS
                }
            },
        };
        if !faults.is_empty() {
            return Err(format!(
                "the worker is misconfigured: {}",
                faults.join("; ")
            ));
        }
        Ok(WorkerConfig {
            report_bucket,
            report_kms_key_arn,
            sns_topic_arn,
            metrics_namespace,
            terraform_path,
            terraform_parallelism,
            log_level,
            region,
            max_input_bytes,
            attribution,
            attribution_ignore_principals,
            index_table,
            index_ttl_hours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<WorkerConfig, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WorkerConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_fill_the_optional_settings() {
        let c = config(&[
            ("REPORT_BUCKET", "drift-detection-reports-dev"),
            ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:alerts"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
        ])
        .unwrap();
        assert_eq!(c.region, "eu-central-1");
        assert_eq!(c.terraform_path, PathBuf::from("/opt/bin/terraform"));
        assert_eq!(c.metrics_namespace, "DriftDetection");
        assert_eq!(c.report_kms_key_arn, None);
        assert_eq!(c.terraform_parallelism, None);
        assert_eq!(c.max_input_bytes, drift_core::plan::DEFAULT_MAX_INPUT_BYTES);
        assert!(c.attribution);
        assert!(c.attribution_ignore_principals.is_empty());
        assert_eq!(c.index_table, None);
        assert_eq!(c.index_ttl_hours, 24);
    }

    #[test]
    fn the_index_table_is_optional_and_its_ttl_a_whole_number_of_hours() {
        let base = [
            ("REPORT_BUCKET", "drift-detection-reports-dev"),
            ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:alerts"),
            ("AWS_REGION", "us-east-1"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let c = with(&[("INDEX_TABLE", "idx"), ("INDEX_TTL_HOURS", "6")]).unwrap();
        assert_eq!(c.index_table.as_deref(), Some("idx"));
        assert_eq!(c.index_ttl_hours, 6);
        assert_eq!(with(&[("INDEX_TABLE", "  ")]).unwrap().index_table, None);
        for bad in ["0", "-1", "1.5", "a day"] {
            let e = with(&[("INDEX_TTL_HOURS", bad)]).unwrap_err();
            assert!(e.contains("INDEX_TTL_HOURS"), "{e}");
        }
    }

    #[test]
    fn attribution_can_be_turned_off_and_given_principals_to_ignore() {
        let with = |vars: &[(&str, &str)]| {
            let mut all = vec![
                ("REPORT_BUCKET", "drift-detection-reports-dev"),
                ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:alerts"),
                ("AWS_REGION", "us-east-1"),
            ];
            all.extend_from_slice(vars);
            config(&all)
        };
        assert!(!with(&[("ATTRIBUTION", "off")]).unwrap().attribution);
        assert!(with(&[("ATTRIBUTION", "ON")]).unwrap().attribution);
        let err = with(&[("ATTRIBUTION", "maybe")]).unwrap_err();
        assert!(
            err.contains("ATTRIBUTION \"maybe\" must be on or off"),
            "{err}"
        );
        let c = with(&[(
            "ATTRIBUTION_IGNORE_PRINCIPALS",
            "arn:aws:iam::*:role/terraform-*, ,arn:aws:iam::1:role/ci",
        )])
        .unwrap();
        assert_eq!(
            c.attribution_ignore_principals,
            ["arn:aws:iam::*:role/terraform-*", "arn:aws:iam::1:role/ci"]
        );
    }

    #[test]
    fn the_input_limit_follows_the_function_memory() {
        let with_memory = |memory: &str| {
            config(&[
                ("REPORT_BUCKET", "drift-detection-reports-dev"),
                ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:alerts"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory),
            ])
        };
        assert_eq!(with_memory("1024").unwrap().max_input_bytes, 256 << 20);
        assert_eq!(with_memory("10240").unwrap().max_input_bytes, 2560 << 20);
        let err = with_memory("lots").unwrap_err();
        assert!(err.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "{err}");
    }

    #[test]
    fn terraform_parallelism_is_1_to_256() {
        let with = |value: &str| {
            config(&[
                ("REPORT_BUCKET", "drift-detection-reports-dev"),
                ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:alerts"),
                ("AWS_REGION", "us-east-1"),
                ("TERRAFORM_PARALLELISM", value),
            ])
        };
        assert_eq!(with("4").unwrap().terraform_parallelism, Some(4));
        assert_eq!(with("256").unwrap().terraform_parallelism, Some(256));
        assert_eq!(with(" ").unwrap().terraform_parallelism, None);
        for bad in ["0", "257", "-1", "four", "4.5", "70000"] {
            let err = with(bad).unwrap_err();
            assert!(
                err.contains(&format!(
                    "TERRAFORM_PARALLELISM {bad:?} must be a whole number from 1 to 256"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn every_missing_setting_is_named() {
        let err = config(&[("REPORT_BUCKET", "Bad_Bucket")]).unwrap_err();
        assert!(err.contains("REPORT_BUCKET \"Bad_Bucket\""), "{err}");
        assert!(err.contains("SNS_TOPIC_ARN"), "{err}");
        assert!(err.contains("AWS_REGION is not set"), "{err}");
        let err = config(&[("AWS_REGION", "US East")]).unwrap_err();
        assert!(err.contains("AWS_REGION \"US East\""), "{err}");
    }
}
