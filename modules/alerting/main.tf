# The alert topic (KMS-encrypted) and its e-mail subscriptions.
#
# Only the given publisher roles and this account's CloudWatch alarms may
# publish: every other IAM principal is denied, whatever its own policies
# allow. Service principals carry no aws:PrincipalArn and are not affected.

resource "aws_sns_topic" "this" {
  name              = "drift-detection-alerts-${var.environment_suffix}"
  display_name      = "Drift detection alerts (${var.environment_suffix})"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "FunctionsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "AWS"
      identifiers = var.publisher_role_arns
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
      values   = [var.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [var.alarm_arn_pattern]
    }
  }

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
      values   = var.publisher_role_arns
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}
