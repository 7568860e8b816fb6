# drift-detection: the whole system in one root stack, wired from the
# modules in modules/ (function, storage, alerting, config-recorder,
# state-machine, codebuild-lane, dashboard); moved.tf maps the addresses of
# the former single-file stack.
#
# An EventBridge schedule (and on-demand invocations) starts the Python
# orchestrator, which plans the run's lanes, writes them to the reports
# bucket and starts an execution of the run's state machine. Its Distributed
# Map checks every workspace with the Rust worker Lambda (or, for checks
# that outlast Lambda, the same binary in CodeBuild), which runs Terraform
# against the workspace, writes a drift report (and the identifiers its
# state manages) and emits Embedded Metric Format metrics; the summarize
# Lambda then writes the run summary, sends the run's alerts and emits the
# run metrics, and lists what exists (AWS Config, optionally through an
# aggregator, or the service APIs) to report what no workspace manages.
# AWS Config records the EC2, RDS and S3 resources drift is most often found
# in. With var.event_checks_enabled, changes themselves start checks:
# EventBridge rules (modules/event-checks) deliver CloudTrail writes and
# Config item changes, this account's and those member accounts forward, to
# a queue the trigger Lambda reads; it looks the changed resources up in the
# resource index the worker writes and checks the workspaces that manage
# them, through the same state machine.
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
  dead_letter_queue_name = "drift-detection-dlq-${var.environment_suffix}"

  # Powertools service names: the `service` dimension of each function's
  # metrics. The run metrics (WorkspacesChecked, CriticalDrift, ...) are the
  # summarize step's, which the alarms and the dashboard select on.
  orchestrator_service_name = "drift-detection-orchestrator"
  summarize_service_name    = "drift-detection-summarize"
  trigger_service_name      = "drift-detection-trigger"

  # ARNs spelled out from names where the resource itself would close a
  # dependency cycle through the KMS key policy.
  dead_letter_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dead_letter_queue_name}"
  change_events_queue_arns = [
    for name in ["drift-detection-change-events-${var.environment_suffix}", "drift-detection-change-events-dlq-${var.environment_suffix}"] :
    "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${name}"
  ]
  log_group_arn_patterns = [
    for prefix in ["/aws/lambda/", "/aws/vendedlogs/states/", "/aws/codebuild/"] :
    "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${prefix}drift-detection-*-${var.environment_suffix}"
  ]
  alarm_arn_pattern = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:drift-detection-*-${var.environment_suffix}"

  # Build artefacts; relative paths are taken from this directory.
  worker_zip_path             = startswith(var.worker_zip_path, "/") ? var.worker_zip_path : "${path.module}/${var.worker_zip_path}"
  terraform_layer_zip_path    = startswith(var.terraform_layer_zip_path, "/") ? var.terraform_layer_zip_path : "${path.module}/${var.terraform_layer_zip_path}"
  orchestrator_layer_zip_path = startswith(var.orchestrator_layer_zip_path, "/") ? var.orchestrator_layer_zip_path : "${path.module}/${var.orchestrator_layer_zip_path}"

  # Reports bucket layout: what the functions write and Config delivers, all
  # of which ages out; inputs (bundles/, inventory/, artifacts/) are never
  # expired. executions/ (the run's items, the map's results and the
  # CodeBuild lane's responses) is working data with a short life of its
  # own (var.execution_data_retention_days). managed/ holds each check's
  # managed-resources sidecar (managed/<environment>/<workspace>/<run_id>.json,
  # the worker's), unmanaged/ each run's unmanaged-resources report (the
  # summarize step's).
  report_prefix        = "drift-reports"
  run_prefix           = "runs"
  config_prefix        = "config"
  managed_prefix       = "managed"
  unmanaged_prefix     = "unmanaged"
  execution_prefix     = "executions"
  results_prefix       = "${local.execution_prefix}/results"
  expiring_prefixes    = ["${local.report_prefix}/", "${local.run_prefix}/", "${local.config_prefix}/", "${local.managed_prefix}/", "${local.unmanaged_prefix}/"]
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
    var.workspace_bundle_arns == null ? ["${module.storage.bucket_arn}/bundles/*"] : var.workspace_bundle_arns,
    local.workspace_source_arns,
  ))
  state_bucket_arns = distinct([for a in var.state_object_arns : split("/", a)[0]])
  state_objects_by_bucket = {
    for b in local.state_bucket_arns : split(":::", b)[1] => [for a in var.state_object_arns : a if startswith(a, "${b}/")]
  }
  lock_table_arns      = concat(values(module.storage.lock_table_arns), var.state_lock_table_arns)
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

  # The AWS Config aggregator the unmanaged-resource inventory reads: one
  # this stack creates (over accounts or the organization), an existing one
  # named by var.config_aggregator_name, or none (each account's own Config,
  # then the service APIs). At most one mode (the summarize function's
  # preconditions). An aggregator's ARN ends in an ID AWS generates
  # (config-aggregator/config-aggregator-xxxxxxxx), not its name, so an
  # existing one is matched by this account's and region's pattern.
  config_aggregator_modes  = (length(var.config_aggregator_account_ids) > 0 ? 1 : 0) + (var.config_aggregator_organization ? 1 : 0) + (var.config_aggregator_name == null ? 0 : 1)
  create_config_aggregator = length(var.config_aggregator_account_ids) > 0 || var.config_aggregator_organization
  config_aggregator_name   = local.create_config_aggregator ? aws_config_configuration_aggregator.this[0].name : var.config_aggregator_name
  config_aggregator_arns = (
    local.create_config_aggregator ? [aws_config_configuration_aggregator.this[0].arn] :
    var.config_aggregator_name != null ? ["arn:${local.partition}:config:${local.region}:${local.account_id}:config-aggregator/*"] : []
  )

  # Event-driven checks (var.event_checks_enabled): this account's default
  # bus receives its own events and those the member accounts (the drift
  # roles' and the workspaces' other accounts, or var.event_source_organization_id)
  # forward to it.
  default_event_bus_arn    = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"
  event_member_account_ids = var.event_checks_enabled ? [for id in local.cross_account_ids : id if id != local.account_id] : []
  create_event_bus_policy  = var.event_checks_enabled && (length(local.event_member_account_ids) > 0 || var.event_source_organization_id != null)
  # The accounts that get forwarding documents: the members, and this
  # account for its regions other than this stack's (IAM's events, for one,
  # reach EventBridge only in us-east-1).
  event_forwarding_account_ids = var.event_checks_enabled ? concat(local.event_member_account_ids, [local.account_id]) : []
  event_forwarding_role        = "drift-detection-forward-events-${var.environment_suffix}"
  # The minutes between scheduled runs for a rate() schedule (null for
  # cron): the resource index must outlive two of them.
  schedule_interval_minutes = can(regex("^rate\\(", var.schedule_expression)) ? tonumber(regex("^rate\\(([0-9]+) ", var.schedule_expression)[0]) * lookup({ minute = 1, minutes = 1, hour = 60, hours = 60, day = 1440, days = 1440 }, regex(" ([a-z]+)\\)$", var.schedule_expression)[0], 0) : null
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
      values   = local.log_group_arn_patterns
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

  # The change-events queue and its dead-letter queue (modules/event-checks),
  # names spelled out as the dead-letter queue's above.
  dynamic "statement" {
    for_each = var.event_checks_enabled ? [true] : []

    content {
      sid       = "EventBridgeToChangeEventsQueues"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:aws:sqs:arn"
        values   = local.change_events_queue_arns
      }
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
# Reports bucket and state-lock tables
################################################################################

module "storage" {
  source = "./modules/storage"

  environment_suffix                 = var.environment_suffix
  kms_key_arn                        = aws_kms_key.this.arn
  expiring_prefixes                  = local.expiring_prefixes
  infrequent_access_days             = local.infrequent_access_at
  glacier_ir_transition_days         = var.report_glacier_ir_transition_days
  expiration_days                    = var.report_retention_days
  working_data_prefix                = "${local.execution_prefix}/"
  working_data_expiration_days       = var.execution_data_retention_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  policy_documents                   = [data.aws_iam_policy_document.bucket_config_delivery.json]
  lock_tables                        = var.state_lock_tables
}

# AWS Config's delivery to the reports bucket, admitted by source account
# (whether the recorder is this stack's or the account's own).
data "aws_iam_policy_document" "bucket_config_delivery" {
  statement {
    sid       = "AWSConfigBucketPermissionsCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [module.storage.bucket_arn]

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
    resources = [module.storage.bucket_arn]

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
    resources = ["${module.storage.bucket_arn}/${local.config_prefix}/AWSLogs/${local.account_id}/Config/*"]

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

################################################################################
# AWS Config
################################################################################

module "config" {
  source = "./modules/config-recorder"

  enabled                     = var.create_aws_config
  environment_suffix          = var.environment_suffix
  partition                   = local.partition
  account_id                  = local.account_id
  bucket_name                 = module.storage.bucket_name_with_policy
  bucket_arn                  = module.storage.bucket_arn
  key_prefix                  = local.config_prefix
  kms_key_arn                 = aws_kms_key.this.arn
  snapshot_delivery_frequency = var.config_snapshot_delivery_frequency
  resource_types              = local.config_resource_types
  rules                       = local.config_rules
}

# The optional aggregator the unmanaged-resource inventory reads across
# accounts and regions (var.config_aggregator_account_ids, or the whole
# organization with var.config_aggregator_organization). Account sources
# must each authorize this account (aws_config_aggregate_authorization in
# the source account); an organization source needs the role below.
resource "aws_config_configuration_aggregator" "this" {
  count = local.create_config_aggregator ? 1 : 0

  name = "drift-detection-aggregator-${var.environment_suffix}"

  dynamic "account_aggregation_source" {
    for_each = length(var.config_aggregator_account_ids) > 0 ? [true] : []

    content {
      account_ids = var.config_aggregator_account_ids
      all_regions = var.config_aggregator_regions == null
      regions     = var.config_aggregator_regions
    }
  }

  dynamic "organization_aggregation_source" {
    for_each = var.config_aggregator_organization ? [true] : []

    content {
      role_arn    = aws_iam_role.config_aggregator[0].arn
      all_regions = var.config_aggregator_regions == null
      regions     = var.config_aggregator_regions
    }
  }

  # AWS Config checks the role's permissions when the aggregator is made.
  depends_on = [aws_iam_role_policy_attachment.config_aggregator]
}

# The organization aggregator's role, trusted by AWS Config as AWS documents
# it for organization aggregators: without an aws:SourceAccount condition,
# which AWS does not document for this role (the recorder's role has one).
# The role holds only AWS's read-only AWSConfigRoleForOrganizations.
data "aws_iam_policy_document" "config_aggregator_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "config_aggregator" {
  count = var.config_aggregator_organization ? 1 : 0

  name               = "drift-detection-aggregator-${var.environment_suffix}"
  description        = "AWS Config organization aggregator of drift-detection-${var.environment_suffix}"
  assume_role_policy = data.aws_iam_policy_document.config_aggregator_assume_role.json
}

resource "aws_iam_role_policy_attachment" "config_aggregator" {
  count = var.config_aggregator_organization ? 1 : 0

  role       = aws_iam_role.config_aggregator[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSConfigRoleForOrganizations"
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

module "alerting" {
  source = "./modules/alerting"

  environment_suffix  = var.environment_suffix
  kms_key_arn         = aws_kms_key.this.arn
  account_id          = local.account_id
  alarm_arn_pattern   = local.alarm_arn_pattern
  publisher_role_arns = [module.worker.role_arn, module.codebuild_lane.role_arn, module.orchestrator.role_arn, module.summarize.role_arn]
  emails              = var.alert_emails
}

################################################################################
# Lambda: worker (Rust, one workspace per invocation), and what a check needs
################################################################################

resource "aws_lambda_layer_version" "terraform" {
  layer_name               = "drift-detection-terraform-${var.environment_suffix}"
  description              = "Terraform CLI at /opt/bin/terraform for the drift-detection worker"
  filename                 = local.terraform_layer_zip_path
  source_code_hash         = filebase64sha256(local.terraform_layer_zip_path)
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = ["arm64"]
}

# What one workspace check needs, wherever it runs: the worker Lambda and
# the CodeBuild lane (modules/codebuild-lane) both get these statements; the
# function module adds the worker's logs, traces, the stack key and the
# dead-letter queue, the lane module its own logs, artefacts and key.
data "aws_iam_policy_document" "drift_check" {
  statement {
    sid       = "ReadWriteDriftReports"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${module.storage.bucket_arn}/${local.report_prefix}/*"]
  }

  statement {
    sid       = "ListDriftReports"
    actions   = ["s3:ListBucket"]
    resources = [module.storage.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.report_prefix}/*"]
    }
  }

  # What nobody manages: each check writes the identifiers its state holds
  # (managed/<environment>/<workspace>/<run_id>.json), which the summarize
  # step compares with the inventory.
  statement {
    sid       = "WriteManagedResources"
    actions   = ["s3:PutObject"]
    resources = ["${module.storage.bucket_arn}/${local.managed_prefix}/*"]
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
    resources = [module.alerting.topic_arn]
  }

  # Event-driven checks: each check records which identifiers its workspace
  # manages in the resource index (tests/contract/resource-index.json),
  # reading the workspace's claims item first to skip an unchanged set.
  dynamic "statement" {
    for_each = var.event_checks_enabled ? [true] : []

    content {
      sid       = "WriteResourceIndex"
      actions   = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
      resources = [module.event_checks.table_arn]
    }
  }

  # Who changed it: the check reads CloudTrail's event history for each
  # drifted resource (workspaces without a role_arn, in this account).
  # LookupEvents has no resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "LookupCloudTrailEvents"
    actions   = ["cloudtrail:LookupEvents"]
    resources = ["*"]
  }
}

module "worker" {
  source = "./modules/function"

  component          = "worker"
  environment_suffix = var.environment_suffix
  description        = "drift-detection worker: runs Terraform against one workspace and reports drift"

  runtime                = "provided.al2023"
  handler                = "bootstrap"
  filename               = local.worker_zip_path
  source_code_hash       = filebase64sha256(local.worker_zip_path)
  layers                 = [aws_lambda_layer_version.terraform.arn]
  timeout                = var.worker_timeout_seconds
  memory_size            = var.worker_memory_size
  ephemeral_storage_size = var.worker_ephemeral_storage_size
  reserved_concurrency   = var.worker_reserved_concurrency

  environment_variables = {
    REPORT_BUCKET                 = module.storage.bucket_name
    REPORT_KMS_KEY_ARN            = aws_kms_key.this.arn
    SNS_TOPIC_ARN                 = module.alerting.topic_arn
    METRICS_NAMESPACE             = var.metrics_namespace
    TERRAFORM_PATH                = "/opt/bin/terraform"
    TERRAFORM_PARALLELISM         = tostring(var.terraform_parallelism)
    ATTRIBUTION                   = var.attribution_enabled ? "on" : "off"
    ATTRIBUTION_IGNORE_PRINCIPALS = join(",", var.attribution_ignore_principals)
    LOG_LEVEL                     = lower(var.log_level)
    INDEX_TABLE                   = var.event_checks_enabled ? module.event_checks.table_name : ""
    INDEX_TTL_HOURS               = tostring(var.resource_index_ttl_hours)
  }

  kms_key_arn                = aws_kms_key.this.arn
  log_retention_days         = var.log_retention_days
  tracing_mode               = var.tracing_mode
  policy_documents           = [data.aws_iam_policy_document.drift_check.json]
  on_failure_destination_arn = aws_sqs_queue.this.arn
  maximum_retry_attempts     = var.worker_maximum_retry_attempts
  maximum_event_age_seconds  = var.async_maximum_event_age_seconds
  alarm_topic_arn            = module.alerting.topic_arn

  preconditions = [
    {
      condition     = var.worker_reserved_concurrency == -1 || var.worker_reserved_concurrency >= var.max_concurrency
      error_message = "The worker_reserved_concurrency must be -1 or at least max_concurrency, or the state machine's checks are throttled."
    },
    {
      condition     = length(setsubtract(compact([for w in var.workspaces : w.role_arn]), var.cross_account_role_arns)) == 0
      error_message = "Every role_arn in workspaces must also be listed in cross_account_role_arns, or the worker cannot assume it."
    },
  ]
}

################################################################################
# Lambda: orchestrator (Python: plans the run, starts the state machine) and
# summarize (Python, same package: the run's summary, alerts and metrics)
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
  description              = "aws-lambda-powertools for the drift-detection orchestrator and summarize functions"
  filename                 = local.orchestrator_layer_zip_path
  source_code_hash         = filebase64sha256(local.orchestrator_layer_zip_path)
  compatible_runtimes      = ["python3.11"]
  compatible_architectures = ["arm64"]
}

# What starting a run needs: the orchestrator's statements, which the
# trigger shares (it starts one-item runs through the same code).
data "aws_iam_policy_document" "start_run" {
  dynamic "statement" {
    for_each = local.inventory_object_arn == null ? [] : [local.inventory_object_arn]

    content {
      sid       = "ReadInventory"
      actions   = ["s3:GetObject"]
      resources = [statement.value]
    }
  }

  # A run first looks for its own summary (a retried delivery of the same
  # run), so it reads runs/*; listing makes a missing one a 404.
  statement {
    sid       = "ReadRunSummaries"
    actions   = ["s3:GetObject"]
    resources = ["${module.storage.bucket_arn}/${local.run_prefix}/*"]
  }

  statement {
    sid       = "ListRunSummaries"
    actions   = ["s3:ListBucket"]
    resources = [module.storage.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.run_prefix}/*"]
    }
  }

  # The run's items file and run.json, which the state machine reads.
  statement {
    sid       = "WriteRunExecutionData"
    actions   = ["s3:PutObject"]
    resources = ["${module.storage.bucket_arn}/${local.execution_prefix}/*"]
  }

  statement {
    sid       = "StartRun"
    actions   = ["states:StartExecution"]
    resources = [module.state_machine.state_machine_arn]
  }

  # A retried delivery finds the execution its run already started.
  statement {
    sid       = "DescribeRun"
    actions   = ["states:DescribeExecution"]
    resources = ["${module.state_machine.execution_arn_prefix}*"]
  }
}

# The orchestrator's statements: starting runs, and its alerts; the function
# module adds its logs, traces, the stack key and the dead-letter queue.
data "aws_iam_policy_document" "orchestrator" {
  source_policy_documents = [data.aws_iam_policy_document.start_run.json]

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [module.alerting.topic_arn]
  }
}

module "orchestrator" {
  source = "./modules/function"

  component          = "orchestrator"
  environment_suffix = var.environment_suffix
  description        = "drift-detection orchestrator: plans the run's lanes and starts the run's state machine"

  runtime              = "python3.11"
  handler              = "orchestrator.handler"
  filename             = data.archive_file.orchestrator.output_path
  source_code_hash     = data.archive_file.orchestrator.output_base64sha256
  layers               = [aws_lambda_layer_version.orchestrator.arn]
  timeout              = var.orchestrator_timeout_seconds
  memory_size          = var.orchestrator_memory_size
  reserved_concurrency = var.orchestrator_reserved_concurrency

  environment_variables = {
    STATE_MACHINE_ARN            = module.state_machine.state_machine_arn
    REPORT_BUCKET                = module.storage.bucket_name
    SNS_TOPIC_ARN                = module.alerting.topic_arn
    INVENTORY_S3_URI             = var.inventory_s3_uri == null ? "" : var.inventory_s3_uri
    WORKSPACES_JSON              = var.inventory_s3_uri == null ? jsonencode(var.workspaces) : ""
    MAX_CONCURRENCY              = tostring(var.max_concurrency)
    MAX_CONCURRENCY_PER_ACCOUNT  = tostring(var.max_concurrency_per_account)
    MAX_CONCURRENCY_PER_REGION   = tostring(var.max_concurrency_per_region)
    POWERTOOLS_SERVICE_NAME      = local.orchestrator_service_name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    LOG_LEVEL                    = var.log_level == "WARN" ? "WARNING" : var.log_level
  }

  kms_key_arn                = aws_kms_key.this.arn
  log_retention_days         = var.log_retention_days
  tracing_mode               = var.tracing_mode
  policy_documents           = [data.aws_iam_policy_document.orchestrator.json]
  on_failure_destination_arn = aws_sqs_queue.this.arn
  maximum_retry_attempts     = var.orchestrator_maximum_retry_attempts
  maximum_event_age_seconds  = var.async_maximum_event_age_seconds
  alarm_topic_arn            = module.alerting.topic_arn

  preconditions = [
    {
      condition     = var.inventory_s3_uri == null || length(var.workspaces) == 0
      error_message = "Set either workspaces or inventory_s3_uri, not both: the orchestrator reads exactly one inventory."
    },
    {
      condition     = var.max_concurrency_per_account <= var.max_concurrency && var.max_concurrency_per_region <= var.max_concurrency
      error_message = "The max_concurrency_per_account and max_concurrency_per_region must not exceed max_concurrency, the state machine's concurrency as a whole."
    },
  ]
}

# The summary's statements: it reads the run's execution data (items,
# run.json, the map's results), writes the run summary and the durations
# file, and publishes the run's alerts.
data "aws_iam_policy_document" "summarize" {
  statement {
    sid       = "ReadRunExecutionData"
    actions   = ["s3:GetObject"]
    resources = ["${module.storage.bucket_arn}/${local.execution_prefix}/*"]
  }

  statement {
    sid       = "ReadWriteRunSummaries"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${module.storage.bucket_arn}/${local.run_prefix}/*"]
  }

  # Listing makes a missing object a 404 and finds the map's result files.
  statement {
    sid       = "ListRunData"
    actions   = ["s3:ListBucket"]
    resources = [module.storage.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.run_prefix}/*", "${local.execution_prefix}/*"]
    }
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [module.alerting.topic_arn]
  }

  # What nobody manages (var.unmanaged_resources): the summary reads each
  # check's managed-resources sidecar and writes the run's unmanaged report;
  # listing makes a missing sidecar (a failed check) a 404.
  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "ReadManagedResources"
      actions   = ["s3:GetObject"]
      resources = ["${module.storage.bucket_arn}/${local.managed_prefix}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "ListManagedResources"
      actions   = ["s3:ListBucket"]
      resources = [module.storage.bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${local.managed_prefix}/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "WriteUnmanagedReports"
      actions   = ["s3:PutObject"]
      resources = ["${module.storage.bucket_arn}/${local.unmanaged_prefix}/*"]
    }
  }

  # The inventory of a workspace with a role_arn is read through the same
  # drift role its check assumed (with the workspace's external ID, which
  # the role's trust policy requires: cross_account_trust).
  dynamic "statement" {
    for_each = var.unmanaged_resources && length(var.cross_account_role_arns) > 0 ? [true] : []

    content {
      sid       = "AssumeCrossAccountDriftRoles"
      actions   = ["sts:AssumeRole"]
      resources = var.cross_account_role_arns
    }
  }

  # The inventory of workspaces without a role_arn (this account, any
  # region): AWS Config first, its recorders telling which types it records.
  # ListDiscoveredResources and BatchGetResourceConfig (the listed items'
  # ARNs and tags) have no resource-level permissions, so AWS requires
  # Resource "*"; the recorder reads have none either, or at most
  # an optional recorder ARN, which ends in an ID AWS generates and names no
  # recorder this stack can know (the account's own may predate it): "*".
  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "ReadConfigInventory"
      actions   = ["config:BatchGetResourceConfig", "config:DescribeConfigurationRecorderStatus", "config:DescribeConfigurationRecorders", "config:ListDiscoveredResources"]
      resources = ["*"]
    }
  }

  # The service APIs where Config does not record a type. EC2's Describe*
  # actions have no resource-level permissions: AWS requires Resource "*".
  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "DescribeEc2Inventory"
      actions   = ["ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes"]
      resources = ["*"]
    }
  }

  # RDS authorizes these on the db and cluster resource types: this
  # account's, in any region (workspaces of this account may be anywhere).
  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid     = "DescribeRdsInventory"
      actions = ["rds:DescribeDBClusters", "rds:DescribeDBInstances"]
      resources = [
        "arn:${local.partition}:rds:*:${local.account_id}:db:*",
        "arn:${local.partition}:rds:*:${local.account_id}:cluster:*",
      ]
    }
  }

  # s3:ListAllMyBuckets has no resource-level permissions: AWS requires
  # Resource "*".
  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "ListBucketsInventory"
      actions   = ["s3:ListAllMyBuckets"]
      resources = ["*"]
    }
  }

  # A bucket's region where ListBuckets leaves BucketRegion out (it gives it
  # on AWS; older endpoints do not): authorized on the bucket resource type.
  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "LocateBucketsInventory"
      actions   = ["s3:GetBucketLocation"]
      resources = ["arn:${local.partition}:s3:::*"]
    }
  }

  # IAM authorizes ListRoles on the path prefix it lists
  # (arn:aws:iam::<account>:role/<prefix>), which role/* covers.
  dynamic "statement" {
    for_each = var.unmanaged_resources ? [true] : []

    content {
      sid       = "ListRolesInventory"
      actions   = ["iam:ListRoles"]
      resources = ["arn:${local.partition}:iam::${local.account_id}:role/*"]
    }
  }

  # With an aggregator, one listing covers its accounts and regions. Both
  # actions are authorized on the ConfigurationAggregator resource type (the
  # Service Authorization Reference lists it as required for
  # ListAggregateDiscoveredResources; for DescribeConfigurationAggregators we
  # rely on it too, so summarize must name the aggregator,
  # ConfigurationAggregatorNames = [CONFIG_AGGREGATOR_NAME], never list all).
  dynamic "statement" {
    for_each = var.unmanaged_resources && length(local.config_aggregator_arns) > 0 ? [true] : []

    content {
      sid       = "ReadConfigAggregator"
      actions   = ["config:BatchGetAggregateResourceConfig", "config:DescribeConfigurationAggregators", "config:ListAggregateDiscoveredResources"]
      resources = local.config_aggregator_arns
    }
  }
}

module "summarize" {
  source = "./modules/function"

  component          = "summarize"
  environment_suffix = var.environment_suffix
  description        = "drift-detection summarize: the run's summary, alerts and metrics, after the state machine's checks"

  runtime              = "python3.11"
  handler              = "summarize.handler"
  filename             = data.archive_file.orchestrator.output_path
  source_code_hash     = data.archive_file.orchestrator.output_base64sha256
  layers               = [aws_lambda_layer_version.orchestrator.arn]
  timeout              = var.summarize_timeout_seconds
  memory_size          = var.summarize_memory_size
  reserved_concurrency = -1

  environment_variables = {
    REPORT_BUCKET                 = module.storage.bucket_name
    SNS_TOPIC_ARN                 = module.alerting.topic_arn
    POWERTOOLS_SERVICE_NAME       = local.summarize_service_name
    POWERTOOLS_METRICS_NAMESPACE  = var.metrics_namespace
    LOG_LEVEL                     = var.log_level == "WARN" ? "WARNING" : var.log_level
    UNMANAGED                     = var.unmanaged_resources ? "on" : "off"
    UNMANAGED_ALERT               = var.unmanaged_alert ? "on" : "off"
    UNMANAGED_IGNORE_JSON         = jsonencode(var.unmanaged_ignore)
    UNMANAGED_TIME_BUDGET_SECONDS = tostring(var.unmanaged_time_budget_seconds)
    CONFIG_AGGREGATOR_NAME        = local.config_aggregator_name == null ? "" : local.config_aggregator_name
  }

  kms_key_arn                = aws_kms_key.this.arn
  log_retention_days         = var.log_retention_days
  tracing_mode               = var.tracing_mode
  policy_documents           = [data.aws_iam_policy_document.summarize.json]
  on_failure_destination_arn = aws_sqs_queue.this.arn
  maximum_retry_attempts     = 0 # the state machine invokes it synchronously and retries it itself
  maximum_event_age_seconds  = var.async_maximum_event_age_seconds
  alarm_topic_arn            = module.alerting.topic_arn

  preconditions = [
    {
      condition     = !var.unmanaged_resources || var.summarize_timeout_seconds >= var.unmanaged_time_budget_seconds + 60
      error_message = "The summarize_timeout_seconds must exceed unmanaged_time_budget_seconds by at least 60 seconds, so that the summary is still written when the inventory uses its whole budget."
    },
    {
      condition     = local.config_aggregator_modes <= 1
      error_message = "Set at most one of config_aggregator_account_ids (create an aggregator over accounts), config_aggregator_organization (create one over the organization) and config_aggregator_name (use an existing one)."
    },
    {
      condition     = var.config_aggregator_regions == null || local.create_config_aggregator
      error_message = "The config_aggregator_regions apply only to an aggregator this stack creates: set config_aggregator_account_ids or config_aggregator_organization, or leave config_aggregator_regions null."
    },
  ]
}

################################################################################
# Event-driven checks: the index, the change-events queue and rules
# (modules/event-checks), the trigger, and what member accounts create to
# forward their events
################################################################################

module "event_checks" {
  source = "./modules/event-checks"

  enabled                 = var.event_checks_enabled
  environment_suffix      = var.environment_suffix
  kms_key_arn             = aws_kms_key.this.arn
  trigger_function_arn    = one(module.trigger[*].function_arn)
  trigger_timeout_seconds = var.trigger_timeout_seconds
}

# The trigger's own statements, with those of starting a run (the
# orchestrator's, shared); the function module adds its logs, traces, the
# stack key (which the queues and the table are encrypted with) and the
# dead-letter queue.
data "aws_iam_policy_document" "trigger" {
  source_policy_documents = [data.aws_iam_policy_document.start_run.json]

  # Look events up (Query on pk, sk beginning with ws#), and debounce: a
  # conditional write of the workspace's debounce item per check.
  statement {
    sid       = "ReadResourceIndexAndDebounce"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = [module.event_checks.table_arn]
  }

  # The event source mapping reads the queue with the function's role.
  statement {
    sid       = "ReceiveChangeEvents"
    actions   = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    resources = [module.event_checks.queue_arn]
  }

  # Trailing checks: a message to the same queue, delayed until the
  # workspace's interval is over.
  statement {
    sid       = "SendTrailingChecks"
    actions   = ["sqs:SendMessage"]
    resources = [module.event_checks.queue_arn]
  }

  # Changes to resources no workspace manages are kept for the unmanaged
  # view, not dropped.
  statement {
    sid       = "StoreUnmanagedChangeEvents"
    actions   = ["s3:PutObject"]
    resources = ["${module.storage.bucket_arn}/${local.unmanaged_prefix}/events/*"]
  }
}

module "trigger" {
  source = "./modules/function"
  count  = var.event_checks_enabled ? 1 : 0

  component          = "trigger"
  environment_suffix = var.environment_suffix
  description        = "drift-detection trigger: starts a check of the workspaces a change touched"

  runtime              = "python3.11"
  handler              = "trigger.handler"
  filename             = data.archive_file.orchestrator.output_path
  source_code_hash     = data.archive_file.orchestrator.output_base64sha256
  layers               = [aws_lambda_layer_version.orchestrator.arn]
  timeout              = var.trigger_timeout_seconds
  memory_size          = var.trigger_memory_size
  reserved_concurrency = -1

  # What the orchestrator gets for starting runs (the same values), then
  # the trigger's own. EVENT_IGNORE_PRINCIPALS: the drift roles, this
  # stack's roles that act in the accounts, and var.event_ignore_principals
  # (a role ARN also matches its sessions, as in ATTRIBUTION_IGNORE_PRINCIPALS).
  environment_variables = {
    STATE_MACHINE_ARN                = module.state_machine.state_machine_arn
    REPORT_BUCKET                    = module.storage.bucket_name
    SNS_TOPIC_ARN                    = module.alerting.topic_arn
    INVENTORY_S3_URI                 = var.inventory_s3_uri == null ? "" : var.inventory_s3_uri
    WORKSPACES_JSON                  = var.inventory_s3_uri == null ? jsonencode(var.workspaces) : ""
    MAX_CONCURRENCY                  = tostring(var.max_concurrency)
    MAX_CONCURRENCY_PER_ACCOUNT      = tostring(var.max_concurrency_per_account)
    MAX_CONCURRENCY_PER_REGION       = tostring(var.max_concurrency_per_region)
    POWERTOOLS_SERVICE_NAME          = local.trigger_service_name
    POWERTOOLS_METRICS_NAMESPACE     = var.metrics_namespace
    LOG_LEVEL                        = var.log_level == "WARN" ? "WARNING" : var.log_level
    INDEX_TABLE                      = module.event_checks.table_name
    TRIGGER_QUEUE_URL                = module.event_checks.queue_url
    EVENT_CHECK_MIN_INTERVAL_MINUTES = tostring(var.event_check_min_interval)
    EVENT_IGNORE_PRINCIPALS          = join(",", concat(var.cross_account_role_arns, [module.worker.role_arn, module.codebuild_lane.role_arn, module.orchestrator.role_arn, module.summarize.role_arn], var.event_ignore_principals))
  }

  kms_key_arn                = aws_kms_key.this.arn
  log_retention_days         = var.log_retention_days
  tracing_mode               = var.tracing_mode
  policy_documents           = [data.aws_iam_policy_document.trigger.json]
  on_failure_destination_arn = aws_sqs_queue.this.arn
  maximum_retry_attempts     = 0 # invoked synchronously by the event source mapping, which retries through the queue
  maximum_event_age_seconds  = var.async_maximum_event_age_seconds
  alarm_topic_arn            = module.alerting.topic_arn

  # The index outlives two scheduled runs (a cron schedule, whose interval
  # is null, is not measured: || does not short-circuit, so null counts as 0).
  preconditions = [
    {
      condition     = var.resource_index_ttl_hours * 60 > 2 * coalesce(local.schedule_interval_minutes, 0)
      error_message = "The resource_index_ttl_hours must exceed two schedule intervals (for a rate() schedule), or the index forgets workspaces between scheduled checks."
    },
    {
      condition     = var.inventory_s3_uri == null || length(var.workspaces) == 0
      error_message = "Set either workspaces or inventory_s3_uri, not both: the trigger reads exactly one inventory."
    },
  ]
}

# This account's default bus admits the member accounts' forwarded events
# (PutEvents only). The bus has one policy: this replaces any policy the
# default bus already has, so one made elsewhere must be merged here.
data "aws_iam_policy_document" "event_bus" {
  count = local.create_event_bus_policy ? 1 : 0

  dynamic "statement" {
    for_each = length(local.event_member_account_ids) > 0 ? [true] : []

    content {
      sid       = "MemberAccountsForwardEvents"
      actions   = ["events:PutEvents"]
      resources = [local.default_event_bus_arn]

      principals {
        type        = "AWS"
        identifiers = [for id in local.event_member_account_ids : "arn:${local.partition}:iam::${id}:root"]
      }
    }
  }

  # An organization's accounts are not known one by one: any principal,
  # held to the organization (AWS's documented form for organizations).
  dynamic "statement" {
    for_each = var.event_source_organization_id == null ? [] : [var.event_source_organization_id]

    content {
      sid       = "OrganizationForwardsEvents"
      actions   = ["events:PutEvents"]
      resources = [local.default_event_bus_arn]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  count = local.create_event_bus_policy ? 1 : 0

  event_bus_name = "default"
  policy         = data.aws_iam_policy_document.event_bus[0].json
}

# The role EventBridge assumes in each member account (and in this one, for
# its other regions) to put the matched events on this account's default
# bus (event_forwarding output): trusted by EventBridge on that account's
# behalf only, allowed PutEvents on this bus only.
data "aws_iam_policy_document" "event_forwarding_trust" {
  for_each = toset(local.event_forwarding_account_ids)

  statement {
    sid     = "EventBridgeForwardsEvents"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [each.key]
    }
  }
}

data "aws_iam_policy_document" "event_forwarding" {
  statement {
    sid       = "PutEventsOnCentralBus"
    actions   = ["events:PutEvents"]
    resources = [local.default_event_bus_arn]
  }
}

################################################################################
# The run: state machine and CodeBuild lane
################################################################################

module "codebuild_lane" {
  source = "./modules/codebuild-lane"

  environment_suffix       = var.environment_suffix
  report_bucket_name       = module.storage.bucket_name
  report_bucket_arn        = module.storage.bucket_arn
  response_prefix          = local.execution_prefix
  worker_zip_path          = local.worker_zip_path
  terraform_layer_zip_path = local.terraform_layer_zip_path
  image                    = var.codebuild_image
  compute_type             = var.codebuild_compute_type
  timeout_minutes          = var.codebuild_timeout_minutes
  kms_key_arn              = aws_kms_key.this.arn
  log_retention_days       = var.log_retention_days
  policy_documents         = [data.aws_iam_policy_document.drift_check.json]

  # The worker's configuration, as its Lambda gets it.
  environment_variables = {
    REPORT_BUCKET                 = module.storage.bucket_name
    REPORT_KMS_KEY_ARN            = aws_kms_key.this.arn
    SNS_TOPIC_ARN                 = module.alerting.topic_arn
    METRICS_NAMESPACE             = var.metrics_namespace
    TERRAFORM_PARALLELISM         = tostring(var.terraform_parallelism)
    ATTRIBUTION                   = var.attribution_enabled ? "on" : "off"
    ATTRIBUTION_IGNORE_PRINCIPALS = join(",", var.attribution_ignore_principals)
    LOG_LEVEL                     = lower(var.log_level)
    INDEX_TABLE                   = var.event_checks_enabled ? module.event_checks.table_name : ""
    INDEX_TTL_HOURS               = tostring(var.resource_index_ttl_hours)
  }
}

module "state_machine" {
  source = "./modules/state-machine"

  environment_suffix        = var.environment_suffix
  worker_function_arn       = module.worker.function_arn
  summarize_function_arn    = module.summarize.function_arn
  codebuild_project_name    = module.codebuild_lane.project_name
  codebuild_project_arn     = module.codebuild_lane.project_arn
  report_bucket_name        = module.storage.bucket_name
  report_bucket_arn         = module.storage.bucket_arn
  execution_prefix          = local.execution_prefix
  results_prefix            = local.results_prefix
  worker_retry_max_attempts = var.worker_retry_max_attempts
  kms_key_arn               = aws_kms_key.this.arn
  log_retention_days        = var.log_retention_days
  log_level                 = var.state_machine_log_level
  tracing_mode              = var.tracing_mode
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
  arn       = module.orchestrator.function_arn

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
  function_name = module.orchestrator.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}

################################################################################
# Cross-account access (documents for target accounts) and remote state
################################################################################

# Trust policy of the read-only drift role in each target account: only the
# roles that run checks (the worker's and the CodeBuild lane's) and, with
# var.unmanaged_resources, the summarize function's (it lists the account's
# inventory through the same role), and only with that account's external
# ID(s).
data "aws_iam_policy_document" "cross_account_trust" {
  for_each = local.cross_account_external_ids

  statement {
    sid     = "DriftDetectionWorker"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = concat([module.worker.role_arn, module.codebuild_lane.role_arn], var.unmanaged_resources ? [module.summarize.role_arn] : [])
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

# Inline policy of the read-only drift role in each target account: the
# check asks CloudTrail who made each drift, through that role. (AWS's
# ReadOnlyAccess includes it; a narrower role needs this statement.)
# LookupEvents has no resource-level permissions: AWS requires Resource "*".
data "aws_iam_policy_document" "cross_account_attribution" {
  statement {
    sid       = "LookupCloudTrailEvents"
    actions   = ["cloudtrail:LookupEvents"]
    resources = ["*"]
  }
}

# Inline policy of the read-only drift role in each target account for the
# unmanaged-resource inventory the summarize step lists through that role
# (AWS's ReadOnlyAccess includes all of it; a narrower role needs these
# statements), with the attribution statement above, keyed by account.
data "aws_iam_policy_document" "cross_account_inventory" {
  for_each = toset(local.cross_account_ids)

  source_policy_documents = [data.aws_iam_policy_document.cross_account_attribution.json]

  # ListDiscoveredResources and BatchGetResourceConfig (the listed items'
  # ARNs and tags) have no resource-level permissions, so AWS requires
  # Resource "*"; the recorder reads have none either, or at most
  # an optional recorder ARN, which ends in an ID AWS generates: "*".
  statement {
    sid       = "ReadConfigInventory"
    actions   = ["config:BatchGetResourceConfig", "config:DescribeConfigurationRecorderStatus", "config:DescribeConfigurationRecorders", "config:ListDiscoveredResources"]
    resources = ["*"]
  }

  # EC2's Describe* actions have no resource-level permissions: AWS
  # requires Resource "*".
  statement {
    sid       = "DescribeEc2Inventory"
    actions   = ["ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes"]
    resources = ["*"]
  }

  statement {
    sid     = "DescribeRdsInventory"
    actions = ["rds:DescribeDBClusters", "rds:DescribeDBInstances"]
    resources = [
      "arn:${local.partition}:rds:*:${each.key}:db:*",
      "arn:${local.partition}:rds:*:${each.key}:cluster:*",
    ]
  }

  # s3:ListAllMyBuckets has no resource-level permissions: AWS requires
  # Resource "*".
  statement {
    sid       = "ListBucketsInventory"
    actions   = ["s3:ListAllMyBuckets"]
    resources = ["*"]
  }

  statement {
    sid       = "LocateBucketsInventory"
    actions   = ["s3:GetBucketLocation"]
    resources = ["arn:${local.partition}:s3:::*"]
  }

  statement {
    sid       = "ListRolesInventory"
    actions   = ["iam:ListRoles"]
    resources = ["arn:${local.partition}:iam::${each.key}:role/*"]
  }
}

# Statements for each state bucket's policy: the roles that run checks and
# the drift roles may read exactly the listed state objects (and list the
# bucket). Terraform runs as the drift role for a workspace that names one
# (backend included), and as the check's own role otherwise.
data "aws_iam_policy_document" "state_bucket_access" {
  for_each = local.state_objects_by_bucket

  statement {
    sid       = "DriftDetectionReadState"
    actions   = ["s3:GetObject"]
    resources = each.value

    principals {
      type        = "AWS"
      identifiers = concat([module.worker.role_arn, module.codebuild_lane.role_arn], var.cross_account_role_arns)
    }
  }

  statement {
    sid       = "DriftDetectionListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${each.key}"]

    principals {
      type        = "AWS"
      identifiers = concat([module.worker.role_arn, module.codebuild_lane.role_arn], var.cross_account_role_arns)
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

module "dashboard" {
  source = "./modules/dashboard"

  environment_suffix       = var.environment_suffix
  region                   = local.region
  metrics_namespace        = var.metrics_namespace
  environments             = var.dashboard_environments
  drift_metrics            = local.dashboard_drift_metrics
  run_metrics_service_name = local.summarize_service_name
  event_checks_enabled     = var.event_checks_enabled
  trigger_service_name     = local.trigger_service_name
  worker_function_name     = module.worker.function_name
  worker_log_group_name    = module.worker.log_group_name
  state_machine_arn        = module.state_machine.state_machine_arn
  functions = [
    { label = "worker", function_name = module.worker.function_name },
    { label = "orchestrator", function_name = module.orchestrator.function_name },
    { label = "summarize", function_name = module.summarize.function_name },
  ]
}

################################################################################
# Stack alarms (all notify the alert topic; each function module has its own
# errors alarm)
################################################################################

resource "aws_cloudwatch_metric_alarm" "critical_drift" {
  alarm_name          = "drift-detection-critical-drift-${var.environment_suffix}"
  alarm_description   = "A drift-detection run found critical drift. The latest critical items are on the ${module.dashboard.dashboard_name} dashboard."
  namespace           = var.metrics_namespace
  metric_name         = "CriticalDrift"
  dimensions          = { service = local.summarize_service_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "missed_run" {
  alarm_name          = "drift-detection-missed-run-${var.environment_suffix}"
  alarm_description   = "No drift-detection run has been summarised for ${var.missed_run_alarm_hours} hours (no WorkspacesChecked data from the summarize step; missing data counts as breaching)."
  namespace           = var.metrics_namespace
  metric_name         = "WorkspacesChecked"
  dimensions          = { service = local.summarize_service_name }
  statistic           = "SampleCount"
  period              = 3600
  evaluation_periods  = var.missed_run_alarm_hours
  datapoints_to_alarm = var.missed_run_alarm_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
}

# A run whose inventory could not list part of the cloud (access denied,
# throttled, out of time budget): its unmanaged view is incomplete.
resource "aws_cloudwatch_metric_alarm" "inventory_errors" {
  count = var.unmanaged_resources ? 1 : 0

  alarm_name          = "drift-detection-inventory-errors-${var.environment_suffix}"
  alarm_description   = "A drift-detection run could not list part of the inventory, so its unmanaged-resource report is incomplete; the run summary and unmanaged/<run_id>.json name what was not covered and why."
  namespace           = var.metrics_namespace
  metric_name         = "InventoryErrors"
  dimensions          = { service = local.summarize_service_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
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
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
}

# A run that fails or times out as a whole (a failed lane does not fail
# the run; the summary reports it).
resource "aws_cloudwatch_metric_alarm" "runs_failed" {
  alarm_name          = "drift-detection-runs-failed-${var.environment_suffix}"
  alarm_description   = "An execution of ${module.state_machine.state_machine_name} failed: the run may have no summary. Its history: aws stepfunctions list-executions --state-machine-arn ${module.state_machine.state_machine_arn} --status-filter FAILED."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = module.state_machine.state_machine_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "runs_timed_out" {
  alarm_name          = "drift-detection-runs-timed-out-${var.environment_suffix}"
  alarm_description   = "An execution of ${module.state_machine.state_machine_name} timed out: the run may have no summary."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsTimedOut"
  dimensions          = { StateMachineArn = module.state_machine.state_machine_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
}

# Event-driven checks: a change took longer than the threshold to reach its
# report (the worker's DetectionLatencySeconds, from the oldest event of
# the check, in its dimensionless aggregate).
resource "aws_cloudwatch_metric_alarm" "detection_latency" {
  count = var.event_checks_enabled ? 1 : 0

  alarm_name          = "drift-detection-detection-latency-${var.environment_suffix}"
  alarm_description   = "An event-driven check reported more than ${var.detection_latency_alarm_seconds} s after the change that caused it (DetectionLatencySeconds); see the Event-driven checks row of the ${module.dashboard.dashboard_name} dashboard."
  namespace           = var.metrics_namespace
  metric_name         = "DetectionLatencySeconds"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.detection_latency_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "change_events_dead_letters" {
  count = var.event_checks_enabled ? 1 : 0

  alarm_name          = "drift-detection-change-events-dead-letters-${var.environment_suffix}"
  alarm_description   = "Change events the trigger failed five times, or EventBridge could not deliver, are waiting in ${module.event_checks.dead_letter_queue_name}: their workspaces wait for the next scheduled run."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = module.event_checks.dead_letter_queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerting.topic_arn]
  ok_actions          = [module.alerting.topic_arn]
}
