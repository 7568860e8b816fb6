# AWS Config for drift-detection: managed rules always, and, when `enabled`,
# a recorder of exactly `resource_types` with its IAM role and a delivery
# channel to the reports bucket. AWS Config allows one recorder per account
# and region: where the account already has one, set `enabled = false` and
# the rules evaluate with that recorder.

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.enabled ? 1 : 0

  name               = "drift-detection-config-${var.environment_suffix}"
  description        = "AWS Config recorder of drift-detection-${var.environment_suffix}"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

resource "aws_iam_role_policy_attachment" "this" {
  count = var.enabled ? 1 : 0

  role       = aws_iam_role.this[0].name
  policy_arn = "arn:${var.partition}:iam::aws:policy/service-role/AWS_ConfigRole"
}

data "aws_iam_policy_document" "delivery" {
  statement {
    sid       = "DeliverToConfigPrefix"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/${var.key_prefix}/AWSLogs/${var.account_id}/*"]

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }

  statement {
    sid       = "CheckBucketAcl"
    actions   = ["s3:GetBucketAcl"]
    resources = [var.bucket_arn]
  }

  statement {
    sid       = "EncryptDeliveries"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  count = var.enabled ? 1 : 0

  name   = "drift-detection-config-delivery-${var.environment_suffix}"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.delivery.json
}

resource "aws_config_configuration_recorder" "this" {
  # checkov:skip=CKV2_AWS_48:Scope is deliberately EC2, RDS and S3 (issue 5); recording every type, global IAM types included, would multiply the Config bill for resources drift-detection does not report on.
  count = var.enabled ? 1 : 0

  name     = "drift-detection-config-recorder-${var.environment_suffix}"
  role_arn = aws_iam_role.this[0].arn

  recording_group {
    all_supported                 = false
    include_global_resource_types = false
    resource_types                = var.resource_types

    recording_strategy {
      use_only = "INCLUSION_BY_RESOURCE_TYPES"
    }
  }
}

resource "aws_config_delivery_channel" "this" {
  count = var.enabled ? 1 : 0

  name           = "drift-detection-config-delivery-${var.environment_suffix}"
  s3_bucket_name = var.bucket_name
  s3_key_prefix  = var.key_prefix
  s3_kms_key_arn = var.kms_key_arn

  snapshot_delivery_properties {
    delivery_frequency = var.snapshot_delivery_frequency
  }

  # Config needs the recorder first, and checks its role's permissions when
  # the channel is created (and the bucket policy: bucket_name comes from
  # that policy, so the channel waits for it).
  depends_on = [
    aws_config_configuration_recorder.this,
    aws_iam_role_policy.this,
    aws_iam_role_policy_attachment.this,
  ]
}

resource "aws_config_configuration_recorder_status" "this" {
  # checkov:skip=CKV2_AWS_45:The recorder it starts deliberately records only EC2, RDS and S3 types (issue 5), not all supported resources.
  count = var.enabled ? 1 : 0

  name       = aws_config_configuration_recorder.this[0].name
  is_enabled = true

  # A recorder can only start once it has a delivery channel.
  depends_on = [aws_config_delivery_channel.this]
}

resource "aws_config_config_rule" "this" {
  for_each = var.rules

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
  # enabled = false the account's existing recorder is used).
  depends_on = [aws_config_configuration_recorder_status.this]
}
