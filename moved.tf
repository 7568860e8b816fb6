# Where the resources of the former single-file stack (main.tf up to commit
# 1bbbd43) now live, so that a deployment made with it upgrades in place:
# `terraform plan` moves each one to its module address instead of
# destroying and recreating it. Resources that stayed at the root keep their
# address and need no block. tests/stack/test_stack_moved.py checks that
# every former address is covered and that every `to` exists.

# Reports bucket and state-lock tables
moved {
  from = aws_s3_bucket.this
  to   = module.storage.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.storage.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.storage.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.this
  to   = module.storage.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.storage.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.this
  to   = module.storage.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.this
  to   = module.storage.aws_s3_bucket_policy.this
}

moved {
  from = aws_dynamodb_table.state_lock
  to   = module.storage.aws_dynamodb_table.state_lock
}

# AWS Config
moved {
  from = aws_iam_role.config
  to   = module.config.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy_attachment.config
  to   = module.config.aws_iam_role_policy_attachment.this
}

moved {
  from = aws_iam_role_policy.config
  to   = module.config.aws_iam_role_policy.this
}

moved {
  from = aws_config_configuration_recorder.this
  to   = module.config.aws_config_configuration_recorder.this
}

moved {
  from = aws_config_delivery_channel.this
  to   = module.config.aws_config_delivery_channel.this
}

moved {
  from = aws_config_configuration_recorder_status.this
  to   = module.config.aws_config_configuration_recorder_status.this
}

moved {
  from = aws_config_config_rule.this
  to   = module.config.aws_config_config_rule.this
}

# Alert topic
moved {
  from = aws_sns_topic.this
  to   = module.alerting.aws_sns_topic.this
}

moved {
  from = aws_sns_topic_policy.this
  to   = module.alerting.aws_sns_topic_policy.this
}

moved {
  from = aws_sns_topic_subscription.email
  to   = module.alerting.aws_sns_topic_subscription.email
}

# Worker
moved {
  from = aws_cloudwatch_log_group.worker
  to   = module.worker.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.worker
  to   = module.worker.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.worker
  to   = module.worker.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.worker
  to   = module.worker.aws_lambda_function.this
}

moved {
  from = aws_lambda_function_event_invoke_config.worker
  to   = module.worker.aws_lambda_function_event_invoke_config.this
}

moved {
  from = aws_cloudwatch_metric_alarm.worker_errors
  to   = module.worker.aws_cloudwatch_metric_alarm.errors
}

# Orchestrator
moved {
  from = aws_cloudwatch_log_group.orchestrator
  to   = module.orchestrator.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.orchestrator
  to   = module.orchestrator.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.orchestrator
  to   = module.orchestrator.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.orchestrator
  to   = module.orchestrator.aws_lambda_function.this
}

moved {
  from = aws_lambda_function_event_invoke_config.orchestrator
  to   = module.orchestrator.aws_lambda_function_event_invoke_config.this
}

moved {
  from = aws_cloudwatch_metric_alarm.orchestrator_errors
  to   = module.orchestrator.aws_cloudwatch_metric_alarm.errors
}

# Dashboard
moved {
  from = aws_cloudwatch_dashboard.this
  to   = module.dashboard.aws_cloudwatch_dashboard.this
}
