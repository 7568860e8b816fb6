# The run's state machine (Step Functions STANDARD): a Distributed Map over
# the run's items file, one child execution per lane, each workspace checked
# by the worker Lambda or the CodeBuild lane, results written to the reports
# bucket, then the summarize Lambda. Also its execution role, least
# privilege, and its KMS-encrypted log group.
#
# The definition is definition.asl.json, rendered with templatefile(); the
# variables it takes are exactly those in local.definition_variables.
# Nothing here is retained on destroy.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name = "drift-detection-runs-${var.environment_suffix}"

  # Spelled out from the name: the role's policy names the state machine,
  # which itself needs the role first.
  arn_prefix          = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  state_machine_arn   = "${local.arn_prefix}:stateMachine:${local.name}"
  execution_arns      = ["${local.arn_prefix}:execution:${local.name}/*", "${local.arn_prefix}:execution:${local.name}:*"]
  codebuild_rule_arn  = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/StepFunctionsGetEventForCodeBuildStartBuildRule"
  tracing_enabled     = var.tracing_mode == "Active"
  definition_template = "${path.module}/definition.asl.json"

  definition_variables = {
    worker_function_arn       = var.worker_function_arn
    summarize_function_arn    = var.summarize_function_arn
    codebuild_project_name    = var.codebuild_project_name
    report_bucket             = var.report_bucket_name
    results_prefix            = var.results_prefix
    worker_retry_max_attempts = var.worker_retry_max_attempts
  }
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "drift-detection-states-${var.environment_suffix}"
  description        = "Execution role of the state machine ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

data "aws_iam_policy_document" "this" {
  # The checks and the summary: the functions, any version or alias.
  statement {
    sid     = "InvokeWorkerAndSummarize"
    actions = ["lambda:InvokeFunction"]
    resources = [
      var.worker_function_arn,
      "${var.worker_function_arn}:*",
      var.summarize_function_arn,
      "${var.summarize_function_arn}:*",
    ]
  }

  # ItemReader: the run's items file under executions/.
  statement {
    sid       = "ReadRunItems"
    actions   = ["s3:GetObject"]
    resources = ["${var.report_bucket_arn}/${var.execution_prefix}/*"]
  }

  # ResultWriter: the Distributed Map's results (multipart uploads).
  statement {
    sid       = "WriteMapResults"
    actions   = ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"]
    resources = ["${var.report_bucket_arn}/${var.results_prefix}/*"]
  }

  # The bucket is SSE-KMS with the stack key.
  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # The Distributed Map's child executions are executions of this state
  # machine.
  statement {
    sid       = "StartChildExecutions"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    sid       = "ManageChildExecutions"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = local.execution_arns
  }

  # codebuild:startBuild.sync: the build, and the managed EventBridge rule
  # through which Step Functions learns that it finished.
  statement {
    sid       = "RunCodeBuildLane"
    actions   = ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"]
    resources = [var.codebuild_project_arn]
  }

  statement {
    sid       = "CodeBuildSyncRule"
    actions   = ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    resources = [local.codebuild_rule_arn]
  }

  # CloudWatch Logs delivery (the state machine's logging_configuration)
  # has no resource-level permissions: AWS requires Resource "*" for these.
  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [data.aws_region.current.name]
    }
  }

  # X-Ray has no resource-level permissions either: Resource "*", held to
  # this region, and only when tracing is on.
  dynamic "statement" {
    for_each = local.tracing_enabled ? [true] : []

    content {
      sid       = "WriteTraces"
      actions   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      resources = ["*"]

      condition {
        test     = "StringEquals"
        variable = "aws:RequestedRegion"
        values   = [data.aws_region.current.name]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "drift-detection-states-${var.environment_suffix}"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/vendedlogs/states/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_sfn_state_machine" "this" {
  # checkov:skip=CKV_AWS_285:Execution history is logged (level var.log_level) without execution data on purpose: the data holds the workspaces' sts external IDs, which must not reach a log group.
  name       = local.name
  type       = "STANDARD"
  role_arn   = aws_iam_role.this.arn
  definition = templatefile(local.definition_template, local.definition_variables)

  logging_configuration {
    log_destination = "${aws_cloudwatch_log_group.this.arn}:*"
    level           = var.log_level
    # Execution data holds the workspaces' external IDs.
    include_execution_data = false
  }

  tracing_configuration {
    enabled = local.tracing_enabled
  }

  # Step Functions checks on create that the role may deliver logs and
  # invoke what the definition names.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    # The role reads executions/* and writes only the results prefix.
    precondition {
      condition     = startswith(var.results_prefix, "${var.execution_prefix}/")
      error_message = "The results_prefix must lie under execution_prefix: the map's results are execution data."
    }
  }
}
