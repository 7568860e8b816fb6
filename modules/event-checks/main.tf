# Event-driven checks (issue 16): the events in, and the index the trigger
# reads them against.
#
# Two rules on this account's default event bus, one per pattern file in
# patterns/ (CloudTrail management writes of the tracked services, AWS
# Config configuration item changes of the tracked kinds), deliver to the
# change-events queue; the trigger function reads it through an event
# source mapping, and sends its own delayed trailing checks to it. What the
# trigger fails five times goes to the queue's dead-letter queue. Member
# accounts forward the same events to this bus (the root's event_forwarding
# output). The resource index table maps resource identifiers to the
# workspaces that manage them (tests/contract/resource-index.json): the
# worker writes it, the trigger reads it and keeps its debounce items there.
#
# Nothing here is retained on destroy, and the table has no deletion
# protection.

locals {
  create = var.enabled

  # The pattern files are the deployed patterns: the rules read them as
  # they are, and so do the tests (routing sample events through moto).
  # The strings are AWS's documented ones: CloudTrail's events arrive with
  # detail-type "AWS API Call via CloudTrail" and detail.readOnly, a failed
  # call with detail.errorCode; AWS Config's item changes with detail-type
  # "Config Configuration Item Change" and detail.messageType
  # "ConfigurationItemChangeNotification" (an oversized item comes as
  # "OversizedConfigurationItemChangeNotification" with only a
  # configurationItemSummary, and does not match: the schedule covers it).
  # Not verified against AWS here: that every management write of these
  # services carries readOnly (one without it does not match), and that a
  # rule in state ENABLED gets no read-only events (AWS documents that
  # they need ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS); the trigger
  # drops read-only calls again either way.
  patterns = local.create ? {
    cloudtrail-writes = file("${path.module}/patterns/cloudtrail-writes.json")
    config-changes    = file("${path.module}/patterns/config-changes.json")
  } : {}
}

################################################################################
# Resource index
################################################################################

resource "aws_dynamodb_table" "this" {
  count = local.create ? 1 : 0

  name                        = "drift-detection-resource-index-${var.environment_suffix}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = false

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  # Entries of workspaces no longer checked expire (epoch seconds the
  # worker sets from INDEX_TTL_HOURS).
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

################################################################################
# Change-events queue and its dead-letter queue
################################################################################

resource "aws_sqs_queue" "dead_letter" {
  count = local.create ? 1 : 0

  name                              = "drift-detection-change-events-dlq-${var.environment_suffix}"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "this" {
  count = local.create ? 1 : 0

  name                              = "drift-detection-change-events-${var.environment_suffix}"
  visibility_timeout_seconds        = 6 * var.trigger_timeout_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[0].arn
    maxReceiveCount     = 5
  })
}

# Only the change-events queue may move its messages here.
resource "aws_sqs_queue_redrive_allow_policy" "this" {
  count = local.create ? 1 : 0

  queue_url = aws_sqs_queue.dead_letter[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[0].arn]
  })
}

# EventBridge may send to the queue (and dead-letter what it cannot
# deliver) for these rules only. The trigger's own trailing checks are
# sent with its role's permission, which needs nothing here.
data "aws_iam_policy_document" "queue" {
  count = local.create ? 1 : 0

  statement {
    sid       = "EventBridgeChangeEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for r in aws_cloudwatch_event_rule.this : r.arn]
    }
  }
}

data "aws_iam_policy_document" "dead_letter" {
  count = local.create ? 1 : 0

  statement {
    sid       = "EventBridgeUndeliveredChangeEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for r in aws_cloudwatch_event_rule.this : r.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  count = local.create ? 1 : 0

  queue_url = aws_sqs_queue.this[0].id
  policy    = data.aws_iam_policy_document.queue[0].json
}

resource "aws_sqs_queue_policy" "dead_letter" {
  count = local.create ? 1 : 0

  queue_url = aws_sqs_queue.dead_letter[0].id
  policy    = data.aws_iam_policy_document.dead_letter[0].json
}

################################################################################
# Rules on the default bus
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.patterns

  name          = "drift-detection-${each.key}-${var.environment_suffix}"
  description   = "Changes that start an event-driven drift check (modules/event-checks/patterns/${each.key}.json)"
  event_pattern = each.value
  # ENABLED, not ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS: the bus
  # then receives no read-only management events at all.
  state = "ENABLED"
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.patterns

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "change-events"
  arn       = aws_sqs_queue.this[0].arn

  # A change older than an hour is the next scheduled run's to find.
  retry_policy {
    maximum_retry_attempts       = 20
    maximum_event_age_in_seconds = 3600
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter[0].arn
  }

  # EventBridge can only deliver (or dead-letter) once both grants exist.
  depends_on = [aws_sqs_queue_policy.this, aws_sqs_queue_policy.dead_letter]
}

################################################################################
# Trigger
################################################################################

resource "aws_lambda_event_source_mapping" "this" {
  count = local.create ? 1 : 0

  event_source_arn                   = aws_sqs_queue.this[0].arn
  function_name                      = var.trigger_function_arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = var.maximum_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  lifecycle {
    precondition {
      condition     = var.trigger_function_arn != null
      error_message = "The event-checks module needs trigger_function_arn when enabled."
    }
  }
}
