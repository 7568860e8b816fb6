# The reports bucket and the Terraform state-lock tables.
#
# The bucket is private, versioned, encrypted with the stack key, and ages
# out what the stack writes: `expiring_prefixes` move to STANDARD_IA after
# `infrequent_access_days`, to GLACIER_IR later, and expire; the working
# data under `working_data_prefix` expires after
# `working_data_expiration_days`; old versions, dangling delete markers and
# failed uploads are cleaned up bucket-wide. Its policy is HTTPS-only plus
# the caller's statements (`policy_documents`). The lock tables use
# point-in-time recovery and the stack key. Nothing is retained on destroy:
# the bucket is emptied, the tables are not protected.

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
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # What the stack writes: cheaper storage as it ages, then gone.
  dynamic "rule" {
    for_each = toset(var.expiring_prefixes)

    content {
      id     = "age-out-${trimsuffix(rule.value, "/")}"
      status = "Enabled"

      filter {
        prefix = rule.value
      }

      transition {
        days          = var.infrequent_access_days
        storage_class = "STANDARD_IA"
      }

      transition {
        days          = var.glacier_ir_transition_days
        storage_class = "GLACIER_IR"
      }

      expiration {
        days = var.expiration_days
      }
    }
  }

  # Working data (the runs' items, map results and responses): only read
  # while its run lasts and by its summary, so it simply expires.
  rule {
    id     = "expire-${trimsuffix(var.working_data_prefix, "/")}"
    status = "Enabled"

    filter {
      prefix = var.working_data_prefix
    }

    expiration {
      days = var.working_data_expiration_days
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
      condition     = var.expiration_days > var.glacier_ir_transition_days
      error_message = "The expiration_days (the stack's report_retention_days) must be greater than glacier_ir_transition_days (report_glacier_ir_transition_days)."
    }
  }
}

data "aws_iam_policy_document" "bucket" {
  source_policy_documents = var.policy_documents

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
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 rejects a bucket policy while the public access block is being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_dynamodb_table" "state_lock" {
  for_each = var.lock_tables

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
    kms_key_arn = var.kms_key_arn
  }

  tags = each.value.tags
}
