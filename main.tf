# drift-detection: the whole system in one root stack.
#
# An EventBridge schedule (and on-demand invocations) starts the Python
# orchestrator, which fans out to the Rust worker once per workspace. The
# worker runs Terraform from a layer against each workspace, writes a drift
# report to the reports bucket and emits Embedded Metric Format metrics; the
# orchestrator summarises the run and both publish to the alert topic. AWS
# Config records the EC2, RDS and S3 resources drift is most often found in.
#
# Everything here is removable with `terraform destroy`: no retention, no
# deletion protection, and the reports bucket is emptied on destroy. The KMS
# key is scheduled for deletion after the minimum 7-day window.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project           = "drift-detection"
      Environment       = var.environment
      EnvironmentSuffix = var.environment_suffix
      ManagedBy         = "terraform"
    })
  }
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # Names used in more than one place. Every name is
  # drift-detection-<component>-<suffix>.
  worker_function_name       = "drift-detection-worker-${var.environment_suffix}"
  orchestrator_function_name = "drift-detection-orchestrator-${var.environment_suffix}"
  dead_letter_queue_name     = "drift-detection-dlq-${var.environment_suffix}"
  dashboard_name             = "drift-detection-dashboard-${var.environment_suffix}"

  # The orchestrator's Powertools service name: the `service` dimension of its
  # metrics, which the alarms select on.
  orchestrator_service_name = "drift-detection-orchestrator"

  # ARNs spelled out from names where the resource itself would close a
  # dependency cycle through the KMS key policy.
  dead_letter_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dead_letter_queue_name}"
  log_group_arn_pattern = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/drift-detection-*-${var.environment_suffix}"
  alarm_arn_pattern     = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:drift-detection-*-${var.environment_suffix}"

  # Build artefacts; relative paths are taken from this directory.
  worker_zip_path             = startswith(var.worker_zip_path, "/") ? var.worker_zip_path : "${path.module}/${var.worker_zip_path}"
  terraform_layer_zip_path    = startswith(var.terraform_layer_zip_path, "/") ? var.terraform_layer_zip_path : "${path.module}/${var.terraform_layer_zip_path}"
  orchestrator_layer_zip_path = startswith(var.orchestrator_layer_zip_path, "/") ? var.orchestrator_layer_zip_path : "${path.module}/${var.orchestrator_layer_zip_path}"

  # Reports bucket layout: what the functions write and Config delivers, all
  # of which ages out; inputs (bundles/, inventory/) are never expired.
  report_prefix        = "drift-reports"
  run_prefix           = "runs"
  config_prefix        = "config"
  expiring_prefixes    = ["${local.report_prefix}/", "${local.run_prefix}/", "${local.config_prefix}/"]
  infrequent_access_at = 30

  # AWS Config records exactly these types; the managed rules below cover them.
  config_resource_types = [
    "AWS::EC2::Instance",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Volume",
    "AWS::EC2::NetworkInterface",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBSnapshot",
    "AWS::RDS::DBClusterSnapshot",
    "AWS::S3::Bucket",
  ]
  config_rules = {
    "encrypted-volumes" = {
      identifier     = "ENCRYPTED_VOLUMES"
      resource_types = ["AWS::EC2::Volume"]
      description    = "Attached EBS volumes are encrypted."
    }
    "ec2-instance-no-public-ip" = {
      identifier     = "EC2_INSTANCE_NO_PUBLIC_IP"
      resource_types = ["AWS::EC2::Instance"]
      description    = "EC2 instances have no public IPv4 address."
    }
    "restricted-ssh" = {
      identifier     = "INCOMING_SSH_DISABLED"
      resource_types = ["AWS::EC2::SecurityGroup"]
      description    = "Security groups do not allow SSH from 0.0.0.0/0 or ::/0."
    }
    "rds-storage-encrypted" = {
      identifier     = "RDS_STORAGE_ENCRYPTED"
      resource_types = ["AWS::RDS::DBInstance"]
      description    = "RDS DB instances have storage encryption enabled."
    }
    "rds-instance-public-access" = {
      identifier     = "RDS_INSTANCE_PUBLIC_ACCESS_CHECK"
      resource_types = ["AWS::RDS::DBInstance"]
      description    = "RDS DB instances are not publicly accessible."
    }
    "rds-snapshots-public-prohibited" = {
      identifier     = "RDS_SNAPSHOTS_PUBLIC_PROHIBITED"
      resource_types = ["AWS::RDS::DBSnapshot", "AWS::RDS::DBClusterSnapshot"]
      description    = "RDS snapshots are not public."
    }
    "s3-bucket-versioning-enabled" = {
      identifier     = "S3_BUCKET_VERSIONING_ENABLED"
      resource_types = ["AWS::S3::Bucket"]
      description    = "S3 buckets have versioning enabled."
    }
    "s3-bucket-sse-enabled" = {
      identifier     = "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED"
      resource_types = ["AWS::S3::Bucket"]
      description    = "S3 buckets have default server-side encryption."
    }
    "s3-bucket-public-read-prohibited" = {
      identifier     = "S3_BUCKET_PUBLIC_READ_PROHIBITED"
      resource_types = ["AWS::S3::Bucket"]
      description    = "S3 buckets do not allow public read access."
    }
  }

  # Worker metrics the dashboard draws per environment, two widgets a row.
  dashboard_drift_metrics = [
    { metric = "DriftedResources", title = "Drifted resources by environment" },
    { metric = "CriticalDrift", title = "Critical drift by environment" },
    { metric = "PendingChanges", title = "Pending changes by environment" },
    { metric = "DetectionErrors", title = "Detection errors by environment" },
  ]

  # What the worker may read and lock. Workspace sources are always readable;
  # state buckets get s3:ListBucket so that a missing key is a 404, not a 403.
  workspace_source_arns = [for w in var.workspaces : "arn:${local.partition}:s3:::${trimprefix(w.source, "s3://")}"]
  workspace_bundle_arns = distinct(concat(
    var.workspace_bundle_arns == null ? ["${aws_s3_bucket.this.arn}/bundles/*"] : var.workspace_bundle_arns,
    local.workspace_source_arns,
  ))
  state_bucket_arns = distinct([for a in var.state_object_arns : split("/", a)[0]])
  state_objects_by_bucket = {
    for b in local.state_bucket_arns : split(":::", b)[1] => [for a in var.state_object_arns : a if startswith(a, "${b}/")]
  }
  lock_table_arns      = concat([for t in aws_dynamodb_table.state_lock : t.arn], var.state_lock_table_arns)
  inventory_object_arn = var.inventory_s3_uri == null ? null : "arn:${local.partition}:s3:::${trimprefix(var.inventory_s3_uri, "s3://")}"

  # Target accounts of the cross-account drift role, each with the external
  # IDs its workspaces use (or the stack-wide one).
  cross_account_ids = distinct(concat(
    [for a in var.cross_account_role_arns : split(":", a)[4]],
    [for w in var.workspaces : w.account_id if w.role_arn != null],
  ))
  cross_account_external_ids = {
    for id in local.cross_account_ids : id => distinct(compact(concat(
      [for w in var.workspaces : w.external_id if w.account_id == id && w.role_arn != null],
      [var.cross_account_external_id],
    )))
  }
}

################################################################################
# KMS key: reports bucket, lock tables, topic, queue, logs, Lambda environment
################################################################################

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:Key policy: Resource "*" is the key it is attached to, and only this account's root manages it.
  # checkov:skip=CKV_AWS_111:Key policy: Resource "*" is the key it is attached to; usage is delegated to IAM in this account only.
  # checkov:skip=CKV_AWS_356:Key policy: Resource "*" is the key it is attached to, not every resource.
  statement {
    sid = "KeyAdministration"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListKeyPolicies",
      "kms:ListKeyRotations",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:RevokeGrant",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Cryptographic use is delegated to IAM in this account: the function roles
  # and the Config role get it from their own policies, on this key only.
  statement {
    sid = "KeyUsageThroughIam"
    actions = [
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:RetireGrant",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Lambda (environment variables) and DynamoDB (tables) hold the key through
  # grants; grants may only be made for AWS services.
  statement {
    sid       = "GrantsForAwsServicesOnly"
    actions   = ["kms:CreateGrant"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid = "CloudWatchLogsForOurLogGroups"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.${data.aws_partition.current.dns_suffix}"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.log_group_arn_pattern]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsToAlertTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_pattern]
    }
  }

  statement {
    sid       = "EventBridgeToDeadLetterQueue"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:sqs:arn"
      values   = [local.dead_letter_queue_arn]
    }
  }

  statement {
    sid       = "ConfigDeliveryToReportsBucket"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "drift-detection-${var.environment_suffix}: reports bucket, state-lock tables, alert topic, dead-letter queue, Lambda logs and environment"
  deletion_window_in_days = 7
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/drift-detection-key-${var.environment_suffix}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Reports bucket
################################################################################

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:Server access logs would need a second bucket that outlives this one; object access is audited by CloudTrail data events in the account trail.
  # checkov:skip=CKV_AWS_144:Reports are regenerated every run; a replica in another region would survive `terraform destroy`, which this stack must not leave behind.
  # checkov:skip=CKV2_AWS_62:Nothing consumes object events; alerts are published to SNS by the functions themselves.
  bucket        = "drift-detection-reports-${var.environment_suffix}"
  force_destroy = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # Reports, run summaries and Config snapshots: cheaper storage as they age,
  # then gone.
  dynamic "rule" {
    for_each = toset(local.expiring_prefixes)

    content {
      id     = "age-out-${trimsuffix(rule.value, "/")}"
      status = "Enabled"

      filter {
        prefix = rule.value
      }

      transition {
        days          = local.infrequent_access_at
        storage_class = "STANDARD_IA"
      }

      transition {
        days          = var.report_glacier_ir_transition_days
        storage_class = "GLACIER_IR"
      }

      expiration {
        days = var.report_retention_days
      }
    }
  }

  # Whole bucket: old versions, dangling delete markers and failed uploads.
  rule {
    id     = "clean-up-versions-and-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules on noncurrent versions need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.this]

  lifecycle {
    precondition {
      condition     = var.report_retention_days > var.report_glacier_ir_transition_days
      error_message = "The report_retention_days must be greater than report_glacier_ir_transition_days."
    }
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "AWSConfigBucketPermissionsCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.this.arn]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "AWSConfigBucketExistenceCheck"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "AWSConfigBucketDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${local.config_prefix}/AWSLogs/${local.account_id}/Config/*"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 rejects a bucket policy while the public access block is being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# State-lock tables
################################################################################

resource "aws_dynamodb_table" "state_lock" {
  for_each = var.state_lock_tables

  name                        = each.key == "default" ? "drift-detection-state-lock-${var.environment_suffix}" : "drift-detection-state-lock-${each.key}-${var.environment_suffix}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = false

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = each.value.tags
}

################################################################################
# AWS Config
################################################################################

data "aws_iam_policy_document" "config_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "config" {
  count = var.create_aws_config ? 1 : 0

  name               = "drift-detection-config-${var.environment_suffix}"
  description        = "AWS Config recorder of drift-detection-${var.environment_suffix}"
  assume_role_policy = data.aws_iam_policy_document.config_assume_role.json
}

resource "aws_iam_role_policy_attachment" "config" {
  count = var.create_aws_config ? 1 : 0

  role       = aws_iam_role.config[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWS_ConfigRole"
}

data "aws_iam_policy_document" "config_delivery" {
  statement {
    sid       = "DeliverToConfigPrefix"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${local.config_prefix}/AWSLogs/${local.account_id}/*"]

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }

  statement {
    sid       = "CheckBucketAcl"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid       = "EncryptDeliveries"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "config" {
  count = var.create_aws_config ? 1 : 0

  name   = "drift-detection-config-delivery-${var.environment_suffix}"
  role   = aws_iam_role.config[0].id
  policy = data.aws_iam_policy_document.config_delivery.json
}

resource "aws_config_configuration_recorder" "this" {
  # checkov:skip=CKV2_AWS_48:Scope is deliberately EC2, RDS and S3 (issue 5); recording every type, global IAM types included, would multiply the Config bill for resources drift-detection does not report on.
  count = var.create_aws_config ? 1 : 0

  name     = "drift-detection-config-recorder-${var.environment_suffix}"
  role_arn = aws_iam_role.config[0].arn

  recording_group {
    all_supported                 = false
    include_global_resource_types = false
    resource_types                = local.config_resource_types

    recording_strategy {
      use_only = "INCLUSION_BY_RESOURCE_TYPES"
    }
  }
}

resource "aws_config_delivery_channel" "this" {
  count = var.create_aws_config ? 1 : 0

  name           = "drift-detection-config-delivery-${var.environment_suffix}"
  s3_bucket_name = aws_s3_bucket.this.id
  s3_key_prefix  = local.config_prefix
  s3_kms_key_arn = aws_kms_key.this.arn

  snapshot_delivery_properties {
    delivery_frequency = var.config_snapshot_delivery_frequency
  }

  # Config needs the recorder first, and checks the bucket policy and its
  # role's permissions when the channel is created.
  depends_on = [
    aws_config_configuration_recorder.this,
    aws_s3_bucket_policy.this,
    aws_iam_role_policy.config,
    aws_iam_role_policy_attachment.config,
  ]
}

resource "aws_config_configuration_recorder_status" "this" {
  # checkov:skip=CKV2_AWS_45:The recorder it starts deliberately records only EC2, RDS and S3 types (issue 5), not all supported resources.
  count = var.create_aws_config ? 1 : 0

  name       = aws_config_configuration_recorder.this[0].name
  is_enabled = true

  # A recorder can only start once it has a delivery channel.
  depends_on = [aws_config_delivery_channel.this]
}

resource "aws_config_config_rule" "this" {
  for_each = local.config_rules

  name        = "drift-detection-${each.key}-${var.environment_suffix}"
  description = each.value.description

  source {
    owner             = "AWS"
    source_identifier = each.value.identifier
  }

  scope {
    compliance_resource_types = each.value.resource_types
  }

  # Rules need a running recorder; when it is ours, wait for it (with
  # create_aws_config = false the account's existing recorder is used).
  depends_on = [aws_config_configuration_recorder_status.this]
}

################################################################################
# Dead-letter queue (failed scheduled deliveries and async invocations)
################################################################################

resource "aws_sqs_queue" "this" {
  name                              = local.dead_letter_queue_name
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "EventBridgeScheduleDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.this.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.queue.json
}

################################################################################
# Alert topic
################################################################################

resource "aws_sns_topic" "this" {
  name              = "drift-detection-alerts-${var.environment_suffix}"
  display_name      = "Drift detection alerts (${var.environment_suffix})"
  kms_master_key_id = aws_kms_key.this.arn
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "FunctionsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.worker.arn, aws_iam_role.orchestrator.arn]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_pattern]
    }
  }

  # No other IAM principal publishes, whatever its own policies allow. Service
  # principals carry no aws:PrincipalArn and are not affected.
  statement {
    sid       = "DenyPublishFromOtherPrincipals"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "aws:PrincipalArn"
      values   = ["false"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.worker.arn, aws_iam_role.orchestrator.arn]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Lambda: shared
################################################################################

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/aws/lambda/${local.worker_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_cloudwatch_log_group" "orchestrator" {
  name              = "/aws/lambda/${local.orchestrator_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

################################################################################
# Lambda: worker (Rust, one workspace per invocation)
################################################################################

resource "aws_lambda_layer_version" "terraform" {
  layer_name               = "drift-detection-terraform-${var.environment_suffix}"
  description              = "Terraform CLI at /opt/bin/terraform for the drift-detection worker"
  filename                 = local.terraform_layer_zip_path
  source_code_hash         = filebase64sha256(local.terraform_layer_zip_path)
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = ["arm64"]
}

resource "aws_iam_role" "worker" {
  name               = "drift-detection-worker-${var.environment_suffix}"
  description        = "Execution role of ${local.worker_function_name}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker.arn}:*"]
  }

  statement {
    sid       = "ReadWriteDriftReports"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${local.report_prefix}/*"]
  }

  statement {
    sid       = "ListDriftReports"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.report_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadWorkspaceBundles"
    actions   = ["s3:GetObject"]
    resources = local.workspace_bundle_arns
  }

  dynamic "statement" {
    for_each = length(var.state_object_arns) > 0 ? [true] : []

    content {
      sid       = "ReadTerraformState"
      actions   = ["s3:GetObject"]
      resources = var.state_object_arns
    }
  }

  dynamic "statement" {
    for_each = length(local.state_bucket_arns) > 0 ? [true] : []

    content {
      sid       = "ListTerraformStateBuckets"
      actions   = ["s3:ListBucket"]
      resources = local.state_bucket_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.state_kms_key_arns) > 0 ? [true] : []

    content {
      sid       = "DecryptTerraformState"
      actions   = ["kms:Decrypt"]
      resources = var.state_kms_key_arns
    }
  }

  statement {
    sid       = "LockTerraformState"
    actions   = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    resources = local.lock_table_arns
  }

  dynamic "statement" {
    for_each = length(var.cross_account_role_arns) > 0 ? [true] : []

    content {
      sid       = "AssumeCrossAccountDriftRoles"
      actions   = ["sts:AssumeRole"]
      resources = var.cross_account_role_arns
    }
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
  }

  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "SendFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]
  }

  # X-Ray has no resource-level permissions: Resource "*", held to this region.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "drift-detection-worker-${var.environment_suffix}"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json

  lifecycle {
    precondition {
      condition     = length(setsubtract(compact([for w in var.workspaces : w.role_arn]), var.cross_account_role_arns)) == 0
      error_message = "Every role_arn in workspaces must also be listed in cross_account_role_arns, or the worker cannot assume it."
    }
  }
}

resource "aws_lambda_function" "worker" {
  # checkov:skip=CKV_AWS_116:Failed async invocations go to the on-failure destination (aws_lambda_function_event_invoke_config.worker), which records the error as well as the event; a DLQ as well would duplicate every failure.
  # checkov:skip=CKV_AWS_117:The worker only calls AWS APIs and the Terraform registry; a VPC would need NAT gateways, adding cost without narrowing access, which IAM already scopes.
  # checkov:skip=CKV_AWS_272:The zip is built locally by cargo-lambda and uploaded directly; code signing needs AWS Signer and S3-hosted signed artefacts, outside this stack.
  function_name = local.worker_function_name
  description   = "drift-detection worker: runs Terraform against one workspace and reports drift"
  role          = aws_iam_role.worker.arn

  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  filename         = local.worker_zip_path
  source_code_hash = filebase64sha256(local.worker_zip_path)
  layers           = [aws_lambda_layer_version.terraform.arn]

  timeout                        = var.worker_timeout_seconds
  memory_size                    = var.worker_memory_size
  reserved_concurrent_executions = var.worker_reserved_concurrency
  kms_key_arn                    = aws_kms_key.this.arn

  ephemeral_storage {
    size = var.worker_ephemeral_storage_size
  }

  environment {
    variables = {
      REPORT_BUCKET      = aws_s3_bucket.this.id
      REPORT_KMS_KEY_ARN = aws_kms_key.this.arn
      SNS_TOPIC_ARN      = aws_sns_topic.this.arn
      METRICS_NAMESPACE  = var.metrics_namespace
      TERRAFORM_PATH     = "/opt/bin/terraform"
      LOG_LEVEL          = lower(var.log_level)
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.worker.name
  }

  tracing_config {
    mode = var.tracing_mode
  }

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.worker]

  lifecycle {
    precondition {
      condition     = var.worker_reserved_concurrency == -1 || var.worker_reserved_concurrency >= var.max_concurrency
      error_message = "The worker_reserved_concurrency must be -1 or at least max_concurrency, or the orchestrator's fan-out is throttled."
    }
  }
}

resource "aws_lambda_function_event_invoke_config" "worker" {
  function_name                = aws_lambda_function.worker.function_name
  maximum_retry_attempts       = var.worker_maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.this.arn
    }
  }

  # Lambda checks that the role may send to the destination when saving this.
  depends_on = [aws_iam_role_policy.worker]
}

################################################################################
# Lambda: orchestrator (Python, fans out to the worker)
################################################################################

data "archive_file" "orchestrator" {
  type             = "zip"
  source_dir       = "${path.module}/lib/lambda"
  output_path      = "${path.module}/target/orchestrator.zip"
  output_file_mode = "0644"
  excludes = [
    "tests",
    "tests/**",
    "**/__pycache__",
    "**/__pycache__/**",
    "README.md",
    ".mypy_cache",
    ".mypy_cache/**",
    ".pytest_cache",
    ".pytest_cache/**",
  ]
}

resource "aws_lambda_layer_version" "orchestrator" {
  layer_name               = "drift-detection-orchestrator-deps-${var.environment_suffix}"
  description              = "aws-lambda-powertools for the drift-detection orchestrator"
  filename                 = local.orchestrator_layer_zip_path
  source_code_hash         = filebase64sha256(local.orchestrator_layer_zip_path)
  compatible_runtimes      = ["python3.11"]
  compatible_architectures = ["arm64"]
}

resource "aws_iam_role" "orchestrator" {
  name               = "drift-detection-orchestrator-${var.environment_suffix}"
  description        = "Execution role of ${local.orchestrator_function_name}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
}

data "aws_iam_policy_document" "orchestrator" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.orchestrator.arn}:*"]
  }

  statement {
    sid       = "InvokeWorker"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.worker.arn]
  }

  dynamic "statement" {
    for_each = local.inventory_object_arn == null ? [] : [local.inventory_object_arn]

    content {
      sid       = "ReadInventory"
      actions   = ["s3:GetObject"]
      resources = [statement.value]
    }
  }

  # A run first looks for its own summary (a retried delivery of the same
  # run), so it reads runs/* too; listing makes a missing one a 404.
  statement {
    sid       = "ReadWriteRunSummaries"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${local.run_prefix}/*"]
  }

  statement {
    sid       = "ListRunSummaries"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.run_prefix}/*"]
    }
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
  }

  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "SendFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]
  }

  # X-Ray has no resource-level permissions: Resource "*", held to this region.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }
}

resource "aws_iam_role_policy" "orchestrator" {
  name   = "drift-detection-orchestrator-${var.environment_suffix}"
  role   = aws_iam_role.orchestrator.id
  policy = data.aws_iam_policy_document.orchestrator.json
}

resource "aws_lambda_function" "orchestrator" {
  # checkov:skip=CKV_AWS_116:Failed async invocations go to the on-failure destination (aws_lambda_function_event_invoke_config.orchestrator) and undeliverable schedules to the rule target's DLQ, both the same encrypted queue; a function DLQ as well would duplicate every failure.
  # checkov:skip=CKV_AWS_117:The orchestrator only calls AWS APIs; a VPC would need NAT gateways or endpoints and add cost without narrowing access, which IAM already scopes.
  # checkov:skip=CKV_AWS_272:The zip is built from lib/lambda by archive_file and uploaded directly; code signing needs AWS Signer and S3-hosted signed artefacts, outside this stack.
  function_name = local.orchestrator_function_name
  description   = "drift-detection orchestrator: fans out to the worker per workspace and summarises the run"
  role          = aws_iam_role.orchestrator.arn

  runtime          = "python3.11"
  handler          = "orchestrator.handler"
  architectures    = ["arm64"]
  filename         = data.archive_file.orchestrator.output_path
  source_code_hash = data.archive_file.orchestrator.output_base64sha256
  layers           = [aws_lambda_layer_version.orchestrator.arn]

  timeout                        = var.orchestrator_timeout_seconds
  memory_size                    = var.orchestrator_memory_size
  reserved_concurrent_executions = var.orchestrator_reserved_concurrency
  kms_key_arn                    = aws_kms_key.this.arn

  environment {
    variables = {
      WORKER_FUNCTION_ARN          = aws_lambda_function.worker.arn
      REPORT_BUCKET                = aws_s3_bucket.this.id
      SNS_TOPIC_ARN                = aws_sns_topic.this.arn
      INVENTORY_S3_URI             = var.inventory_s3_uri == null ? "" : var.inventory_s3_uri
      WORKSPACES_JSON              = var.inventory_s3_uri == null ? jsonencode(var.workspaces) : ""
      MAX_CONCURRENCY              = tostring(var.max_concurrency)
      WORKER_TIMEOUT_SECONDS       = tostring(var.worker_timeout_seconds)
      POWERTOOLS_SERVICE_NAME      = local.orchestrator_service_name
      POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
      LOG_LEVEL                    = var.log_level == "WARN" ? "WARNING" : var.log_level
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.orchestrator.name
  }

  tracing_config {
    mode = var.tracing_mode
  }

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.orchestrator]

  lifecycle {
    precondition {
      condition     = var.orchestrator_timeout_seconds >= var.worker_timeout_seconds + 60
      error_message = "The orchestrator_timeout_seconds must be at least worker_timeout_seconds + 60: a check starts only while the orchestrator can wait out the worker's whole timeout plus 35 s for its summary and alerts, and it needs a few seconds to start."
    }

    precondition {
      condition     = var.inventory_s3_uri == null || length(var.workspaces) == 0
      error_message = "Set either workspaces or inventory_s3_uri, not both: the orchestrator reads exactly one inventory."
    }
  }
}

resource "aws_lambda_function_event_invoke_config" "orchestrator" {
  function_name                = aws_lambda_function.orchestrator.function_name
  maximum_retry_attempts       = var.orchestrator_maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.this.arn
    }
  }

  # Lambda checks that the role may send to the destination when saving this.
  depends_on = [aws_iam_role_policy.orchestrator]
}

################################################################################
# Schedule
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  name                = "drift-detection-schedule-${var.environment_suffix}"
  description         = "Starts a drift-detection run (${var.schedule_expression})"
  schedule_expression = var.schedule_expression
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"
}

resource "aws_cloudwatch_event_target" "this" {
  rule      = aws_cloudwatch_event_rule.this.name
  target_id = "orchestrator"
  arn       = aws_lambda_function.orchestrator.arn

  retry_policy {
    maximum_retry_attempts       = var.schedule_maximum_retry_attempts
    maximum_event_age_in_seconds = var.schedule_maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.this.arn
  }

  # EventBridge can only deliver (or dead-letter) once both grants exist.
  depends_on = [aws_lambda_permission.schedule, aws_sqs_queue_policy.this]
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowDriftDetectionSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.orchestrator.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}

################################################################################
# Cross-account access (documents for target accounts) and remote state
################################################################################

# Trust policy of the read-only drift role in each target account: only the
# worker role, and only with that account's external ID(s).
data "aws_iam_policy_document" "cross_account_trust" {
  for_each = local.cross_account_external_ids

  statement {
    sid     = "DriftDetectionWorker"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.worker.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = each.value
    }
  }

  lifecycle {
    precondition {
      condition     = length(each.value) > 0
      error_message = "Account ${each.key} has a cross-account role but no external ID: set external_id on its workspaces or cross_account_external_id."
    }
  }
}

# Statements for each state bucket's policy: the worker role and the drift
# roles may read exactly the listed state objects (and list the bucket).
# Terraform runs as the drift role for a workspace that names one (backend
# included), and as the worker role otherwise.
data "aws_iam_policy_document" "state_bucket_access" {
  for_each = local.state_objects_by_bucket

  statement {
    sid       = "DriftDetectionReadState"
    actions   = ["s3:GetObject"]
    resources = each.value

    principals {
      type        = "AWS"
      identifiers = concat([aws_iam_role.worker.arn], var.cross_account_role_arns)
    }
  }

  statement {
    sid       = "DriftDetectionListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${each.key}"]

    principals {
      type        = "AWS"
      identifiers = concat([aws_iam_role.worker.arn], var.cross_account_role_arns)
    }
  }
}

data "terraform_remote_state" "this" {
  for_each = var.remote_states

  backend   = each.value.backend
  config    = each.value.config
  workspace = each.value.workspace
}

################################################################################
# Dashboard
################################################################################

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.dashboard_name

  dashboard_body = jsonencode({
    widgets = concat(
      # Worker metrics (dimensions Environment, Workspace), one line per
      # environment: the sum over that environment's workspaces.
      [
        for i, m in local.dashboard_drift_metrics : {
          type   = "metric"
          x      = (i % 2) * 12
          y      = floor(i / 2) * 6
          width  = 12
          height = 6
          properties = {
            title   = m.title
            region  = local.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            yAxis   = { left = { min = 0 } }
            metrics = [
              for j, env in var.dashboard_environments : [{
                id         = "e${j}"
                label      = env
                expression = "SUM(SEARCH('{${var.metrics_namespace},Environment,Workspace} MetricName=\"${m.metric}\" Environment=\"${env}\"', 'Maximum', 3600))"
              }]
            ]
          }
        }
      ],
      [
        {
          type   = "metric"
          x      = 0
          y      = 12
          width  = 8
          height = 6
          properties = {
            title   = "Orchestrator runs"
            region  = local.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            metrics = [
              [var.metrics_namespace, "WorkspacesChecked", "service", local.orchestrator_service_name, { label = "Workspaces checked" }],
              [var.metrics_namespace, "WorkspacesDrifted", "service", local.orchestrator_service_name, { label = "Workspaces drifted" }],
              [var.metrics_namespace, "CriticalDrift", "service", local.orchestrator_service_name, { label = "Critical drift" }],
              [var.metrics_namespace, "DetectionErrors", "service", local.orchestrator_service_name, { label = "Detection errors" }],
            ]
          }
        },
        {
          type   = "metric"
          x      = 8
          y      = 12
          width  = 8
          height = 6
          properties = {
            title   = "Worker duration (ms)"
            region  = local.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            metrics = [
              ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.worker.function_name, { stat = "p50", label = "p50" }],
              ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.worker.function_name, { stat = "p90", label = "p90" }],
              ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.worker.function_name, { stat = "Maximum", label = "max" }],
            ]
          }
        },
        {
          type   = "metric"
          x      = 16
          y      = 12
          width  = 8
          height = 6
          properties = {
            title   = "Lambda errors and throttles"
            region  = local.region
            view    = "timeSeries"
            stacked = false
            period  = 300
            stat    = "Sum"
            metrics = [
              ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.worker.function_name, { label = "worker errors" }],
              ["AWS/Lambda", "Throttles", "FunctionName", aws_lambda_function.worker.function_name, { label = "worker throttles" }],
              ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.orchestrator.function_name, { label = "orchestrator errors" }],
              ["AWS/Lambda", "Throttles", "FunctionName", aws_lambda_function.orchestrator.function_name, { label = "orchestrator throttles" }],
            ]
          }
        },
        {
          type   = "log"
          x      = 0
          y      = 18
          width  = 24
          height = 8
          properties = {
            title  = "Latest critical drift"
            region = local.region
            view   = "table"
            query  = "SOURCE '${aws_cloudwatch_log_group.worker.name}' | fields @timestamp, environment, workspace, address, rule, report_key | filter event = \"critical_drift\" | sort @timestamp desc | limit 50"
          }
        },
      ],
    )
  })
}

################################################################################
# Alarms (all notify the alert topic)
################################################################################

resource "aws_cloudwatch_metric_alarm" "critical_drift" {
  alarm_name          = "drift-detection-critical-drift-${var.environment_suffix}"
  alarm_description   = "A drift-detection run found critical drift. The latest critical items are on the ${local.dashboard_name} dashboard."
  namespace           = var.metrics_namespace
  metric_name         = "CriticalDrift"
  dimensions          = { service = local.orchestrator_service_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "worker_errors" {
  alarm_name          = "drift-detection-worker-errors-${var.environment_suffix}"
  alarm_description   = "The drift-detection worker failed (Lambda Errors > 0)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.worker.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "orchestrator_errors" {
  alarm_name          = "drift-detection-orchestrator-errors-${var.environment_suffix}"
  alarm_description   = "The drift-detection orchestrator failed (Lambda Errors > 0)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.orchestrator.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "missed_run" {
  alarm_name          = "drift-detection-missed-run-${var.environment_suffix}"
  alarm_description   = "No drift-detection run has completed for ${var.missed_run_alarm_hours} hours (no WorkspacesChecked data; missing data counts as breaching)."
  namespace           = var.metrics_namespace
  metric_name         = "WorkspacesChecked"
  dimensions          = { service = local.orchestrator_service_name }
  statistic           = "SampleCount"
  period              = 3600
  evaluation_periods  = var.missed_run_alarm_hours
  datapoints_to_alarm = var.missed_run_alarm_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "drift-detection-dead-letters-${var.environment_suffix}"
  alarm_description   = "Scheduled events or async invocations failed and are waiting in ${local.dead_letter_queue_name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}
