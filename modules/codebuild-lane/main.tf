# The CodeBuild lane: checks that outlast Lambda's 15 minutes run the same
# worker binary, one-shot, in a CodeBuild build the state machine starts
# (codebuild:startBuild.sync) with the S3 key of the worker event in DRIFT_EVENT_KEY.
# Makes the project (no source: buildspec.yml here), its role and policy,
# its KMS-encrypted log group, and the two artefacts the build downloads,
# the worker zip and the terraform layer zip, uploaded to the reports
# bucket under `artifact_prefix/`.
#
# The policy is the caller's statements (`policy_documents`: what one
# workspace check needs, shared with the worker Lambda) merged with the
# build's own: its log group, the artefacts, the responses it uploads and
# the stack key. Nothing here is retained on destroy.

data "aws_caller_identity" "current" {}

locals {
  name = "drift-detection-large-checks-${var.environment_suffix}"
}

resource "aws_s3_object" "worker" {
  bucket      = var.report_bucket_name
  key         = "${var.artifact_prefix}/drift-detection-worker-bootstrap.zip"
  source      = var.worker_zip_path
  source_hash = filemd5(var.worker_zip_path)
  kms_key_id  = var.kms_key_arn
}

resource "aws_s3_object" "terraform" {
  bucket      = var.report_bucket_name
  key         = "${var.artifact_prefix}/terraform-layer.zip"
  source      = var.terraform_layer_zip_path
  source_hash = filemd5(var.terraform_layer_zip_path)
  kms_key_id  = var.kms_key_arn
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codebuild.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "drift-detection-codebuild-${var.environment_suffix}"
  description        = "Service role of the CodeBuild project ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = var.policy_documents

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid     = "ReadArtifacts"
    actions = ["s3:GetObject"]
    resources = [
      "${var.report_bucket_arn}/${aws_s3_object.worker.key}",
      "${var.report_bucket_arn}/${aws_s3_object.terraform.key}",
    ]
  }

  # The worker event the orchestrator wrote for this build, and the worker's
  # response, which the summarize step reads.
  statement {
    sid       = "ReadEventsWriteResponses"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.report_bucket_arn}/${var.response_prefix}/*"]
  }

  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "drift-detection-codebuild-${var.environment_suffix}"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/codebuild/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_codebuild_project" "this" {
  name           = local.name
  description    = "drift-detection: one workspace check that outlasts Lambda, started by the run's state machine"
  service_role   = aws_iam_role.this.arn
  build_timeout  = var.timeout_minutes
  queued_timeout = var.queued_timeout_minutes
  encryption_key = var.kms_key_arn

  source {
    type      = "NO_SOURCE"
    buildspec = file("${path.module}/buildspec.yml")
  }

  artifacts {
    type = "NO_ARTIFACTS"
  }

  environment {
    type                        = "ARM_CONTAINER"
    image                       = var.image
    compute_type                = var.compute_type
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false

    # DRIFT_CHECK_TIMEOUT_SECONDS is the check's own deadline: the build's,
    # less two minutes to upload the response and end the build cleanly.
    dynamic "environment_variable" {
      for_each = merge(var.environment_variables, {
        WORKER_ARTIFACT             = "s3://${var.report_bucket_name}/${aws_s3_object.worker.key}"
        TERRAFORM_ARTIFACT          = "s3://${var.report_bucket_name}/${aws_s3_object.terraform.key}"
        TERRAFORM_PATH              = "${var.terraform_install_dir}/bin/terraform"
        DRIFT_INSTALL_DIR           = var.terraform_install_dir
        DRIFT_CHECK_TIMEOUT_SECONDS = tostring(var.timeout_minutes * 60 - 120)
      })

      content {
        name  = environment_variable.key
        value = environment_variable.value
        type  = "PLAINTEXT"
      }
    }
  }

  logs_config {
    cloudwatch_logs {
      status     = "ENABLED"
      group_name = aws_cloudwatch_log_group.this.name
    }

    s3_logs {
      status = "DISABLED"
    }
  }

  # CodeBuild checks on create that the role can be assumed; the build
  # needs its log and artefact permissions from the first run.
  depends_on = [aws_iam_role_policy.this]
}
