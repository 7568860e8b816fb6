# One Lambda function of drift-detection and everything it needs to run on
# its own: execution role and inline policy, KMS-encrypted log group, errors
# alarm, and the on-failure destination of asynchronous invocations.
#
# The policy is the caller's statements (`policy_documents`) merged with the
# ones every function needs: writing its own log streams, traces, the stack
# key and its on-failure destination. Nothing here is
# retained on destroy.

data "aws_region" "current" {}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/drift-detection-${var.component}-${var.environment_suffix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_iam_role" "this" {
  name               = "drift-detection-${var.component}-${var.environment_suffix}"
  description        = "Execution role of drift-detection-${var.component}-${var.environment_suffix}"
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
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "SendFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [var.on_failure_destination_arn]
  }

  # X-Ray has no resource-level permissions: Resource "*", held to this region.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [data.aws_region.current.name]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "drift-detection-${var.component}-${var.environment_suffix}"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:Failed async invocations go to the on-failure destination (aws_lambda_function_event_invoke_config.this), which records the error as well as the event; a function DLQ as well would duplicate every failure.
  # checkov:skip=CKV_AWS_117:The functions only call AWS APIs and the Terraform registry; a VPC would need NAT gateways or endpoints, adding cost without narrowing access, which IAM already scopes.
  # checkov:skip=CKV_AWS_272:The zips are built locally (cargo-lambda, archive_file) and uploaded directly; code signing needs AWS Signer and S3-hosted signed artefacts, outside this stack.
  function_name = "drift-detection-${var.component}-${var.environment_suffix}"
  description   = var.description
  role          = aws_iam_role.this.arn

  runtime          = var.runtime
  handler          = var.handler
  architectures    = ["arm64"]
  filename         = var.filename
  source_code_hash = var.source_code_hash
  layers           = var.layers

  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  dynamic "ephemeral_storage" {
    for_each = var.ephemeral_storage_size == null ? [] : [var.ephemeral_storage_size]

    content {
      size = ephemeral_storage.value
    }
  }

  environment {
    variables = var.environment_variables
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tracing_config {
    mode = var.tracing_mode
  }

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    # The caller's cross-variable checks, held here so that a bad
    # combination fails the plan before anything is changed.
    precondition {
      condition     = alltrue([for c in var.preconditions : c.condition])
      error_message = join(" ", [for c in var.preconditions : c.error_message if !c.condition])
    }

    # Lambda refuses an environment whose names and values together exceed
    # 4 KB; checked here rather than at the API (values made by this apply,
    # such as a new topic's ARN, make it an apply-time check).
    precondition {
      condition     = length(join("", [for k, v in var.environment_variables : "${k}${v}"])) <= 4096
      error_message = "The environment variables of drift-detection-${var.component}-${var.environment_suffix} exceed Lambda's 4 KB (names and values together); shorten the longest value (a JSON list such as workspaces or unmanaged_ignore)."
    }
  }
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = var.on_failure_destination_arn
    }
  }

  # Lambda checks that the role may send to the destination when saving this.
  depends_on = [aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "drift-detection-${var.component}-errors-${var.environment_suffix}"
  alarm_description   = "The drift-detection ${var.component} failed (Lambda Errors > 0)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
}
