################################################################################
# Reports bucket and key
################################################################################

output "reports_bucket_name" {
  description = "Name of the reports bucket (drift reports under `drift-reports/`, run summaries under `runs/`, the runs' working data under `executions/`, the CodeBuild lane's artefacts under `artifacts/`, AWS Config under `config/`, bundles under `bundles/`)."
  value       = module.storage.bucket_name
}

output "reports_bucket_arn" {
  description = "ARN of the reports bucket."
  value       = module.storage.bucket_arn
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key encrypting the bucket, lock tables, topic, queue, logs and Lambda environment."
  value       = aws_kms_key.this.arn
}

output "kms_key_alias" {
  description = "Alias of the KMS key."
  value       = aws_kms_alias.this.name
}

################################################################################
# State-lock tables
################################################################################

output "state_lock_table_names" {
  description = "Names of the DynamoDB state-lock tables, keyed by workspace group (use as `dynamodb_table` in S3 backends)."
  value       = module.storage.lock_table_names
}

output "state_lock_table_arns" {
  description = "ARNs of the DynamoDB state-lock tables, keyed by workspace group."
  value       = module.storage.lock_table_arns
}

################################################################################
# Functions
################################################################################

output "worker_function_name" {
  description = "Name of the Rust worker Lambda function."
  value       = module.worker.function_name
}

output "worker_function_arn" {
  description = "ARN of the Rust worker Lambda function."
  value       = module.worker.function_arn
}

output "worker_role_arn" {
  description = "ARN of the worker's execution role: the principal target accounts trust and state buckets grant read to."
  value       = module.worker.role_arn
}

output "orchestrator_function_name" {
  description = "Name of the Python orchestrator Lambda function (invoke it for an on-demand run)."
  value       = module.orchestrator.function_name
}

output "orchestrator_function_arn" {
  description = "ARN of the Python orchestrator Lambda function."
  value       = module.orchestrator.function_arn
}

output "orchestrator_role_arn" {
  description = "ARN of the orchestrator's execution role."
  value       = module.orchestrator.role_arn
}

output "summarize_function_name" {
  description = "Name of the Python summarize Lambda function, the state machine's last step (run summary, alerts, run metrics)."
  value       = module.summarize.function_name
}

output "summarize_function_arn" {
  description = "ARN of the summarize Lambda function."
  value       = module.summarize.function_arn
}

output "summarize_role_arn" {
  description = "ARN of the summarize function's execution role: with `unmanaged_resources`, target accounts' drift roles trust it too (it lists their inventory through them)."
  value       = module.summarize.role_arn
}

output "terraform_layer_arn" {
  description = "ARN (with version) of the Terraform CLI layer."
  value       = aws_lambda_layer_version.terraform.arn
}

output "orchestrator_layer_arn" {
  description = "ARN (with version) of the orchestrator's dependency layer."
  value       = aws_lambda_layer_version.orchestrator.arn
}

################################################################################
# The run: state machine and CodeBuild lane
################################################################################

output "state_machine_arn" {
  description = "ARN of the run's Step Functions state machine (STANDARD, a Distributed Map over the run's lanes); the orchestrator starts one execution per run."
  value       = module.state_machine.state_machine_arn
}

output "state_machine_name" {
  description = "Name of the run's state machine."
  value       = module.state_machine.state_machine_name
}

output "codebuild_project_name" {
  description = "Name of the CodeBuild project that runs checks outlasting Lambda (the worker binary, one-shot)."
  value       = module.codebuild_lane.project_name
}

output "codebuild_role_arn" {
  description = "ARN of the CodeBuild lane's service role: it runs terraform like the worker, so target accounts' drift roles and state buckets trust it too."
  value       = module.codebuild_lane.role_arn
}

output "follow_a_run" {
  description = "Shell commands that start a run and follow it: invoke the orchestrator, list the recent executions, describe the one it started and its map run, copy the run summary (EXECUTION_NAME, RUN_ID and the date path come from the orchestrator's answer: execution_arn, summary_uri)."
  value       = <<-EOT
    aws lambda invoke --function-name ${module.orchestrator.function_name} --cli-binary-format raw-in-base64-out --payload '{}' /dev/stdout
    aws stepfunctions list-executions --state-machine-arn ${module.state_machine.state_machine_arn} --max-results 5
    aws stepfunctions describe-execution --execution-arn ${module.state_machine.execution_arn_prefix}"$EXECUTION_NAME"
    aws stepfunctions list-map-runs --execution-arn ${module.state_machine.execution_arn_prefix}"$EXECUTION_NAME"
    aws s3 cp s3://${module.storage.bucket_name}/${local.run_prefix}/"$YYYY/$MM/$DD/$RUN_ID".json -
  EOT
}

################################################################################
# Schedule, alerts and dead letters
################################################################################

output "schedule_rule_name" {
  description = "Name of the EventBridge rule that starts scheduled runs."
  value       = aws_cloudwatch_event_rule.this.name
}

output "sns_topic_arn" {
  description = "ARN of the KMS-encrypted drift alert topic."
  value       = module.alerting.topic_arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue holding failed scheduled deliveries and asynchronous invocations."
  value       = aws_sqs_queue.this.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.this.arn
}

################################################################################
# AWS Config
################################################################################

# The recorder exists only with create_aws_config (the module's count); the
# module's output is null without it, the one value here that can be absent.
output "config_recorder_name" {
  description = "Name of the AWS Config recorder this stack created, or null when `create_aws_config` is false."
  value       = module.config.recorder_name
}

output "config_rule_names" {
  description = "Names of the managed AWS Config rules, keyed by rule."
  value       = module.config.rule_names
}

# The aggregator exists only with config_aggregator_account_ids or
# config_aggregator_organization (its count).
output "config_aggregator_name" {
  description = "Name of the AWS Config aggregator the unmanaged-resource inventory reads (`CONFIG_AGGREGATOR_NAME`): the one this stack created, the existing `config_aggregator_name`, or null without one."
  value       = local.config_aggregator_name
}

output "config_aggregator_arn" {
  description = "ARN of the AWS Config aggregator this stack created, or null when it created none (an existing aggregator's ARN ends in an ID AWS generates: `aws configservice describe-configuration-aggregators`)."
  value       = one(aws_config_configuration_aggregator.this[*].arn)
}

output "config_aggregator_role_arn" {
  description = "ARN of the organization aggregator's IAM role (AWS managed policy `AWSConfigRoleForOrganizations`), or null without `config_aggregator_organization`."
  value       = one(aws_iam_role.config_aggregator[*].arn)
}

################################################################################
# Monitoring
################################################################################

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.dashboard.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${module.dashboard.dashboard_name}"
}

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms, keyed by purpose."
  value = {
    critical_drift      = aws_cloudwatch_metric_alarm.critical_drift.arn
    worker_errors       = module.worker.errors_alarm_arn
    orchestrator_errors = module.orchestrator.errors_alarm_arn
    summarize_errors    = module.summarize.errors_alarm_arn
    missed_run          = aws_cloudwatch_metric_alarm.missed_run.arn
    runs_failed         = aws_cloudwatch_metric_alarm.runs_failed.arn
    runs_timed_out      = aws_cloudwatch_metric_alarm.runs_timed_out.arn
    dead_letters        = aws_cloudwatch_metric_alarm.dead_letters.arn
    inventory_errors    = one(aws_cloudwatch_metric_alarm.inventory_errors[*].arn)
    trigger_errors      = one(module.trigger[*].errors_alarm_arn)
    detection_latency   = one(aws_cloudwatch_metric_alarm.detection_latency[*].arn)
    change_events_dlq   = one(aws_cloudwatch_metric_alarm.change_events_dead_letters[*].arn)
  }
}

################################################################################
# Event-driven checks (with event_checks_enabled; null or empty without)
################################################################################

output "resource_index_table_name" {
  description = "Name of the DynamoDB resource index (resource identifier -> workspaces, and the trigger's debounce items), or null without event_checks_enabled."
  value       = module.event_checks.table_name
}

output "resource_index_table_arn" {
  description = "ARN of the DynamoDB resource index, or null without event_checks_enabled."
  value       = module.event_checks.table_arn
}

output "change_events_queue_url" {
  description = "URL of the SQS queue the event rules deliver to and the trigger reads (and sends its delayed trailing checks to), or null without event_checks_enabled."
  value       = module.event_checks.queue_url
}

output "change_events_dead_letter_queue_arn" {
  description = "ARN of the change-events queue's dead-letter queue (messages the trigger failed five times, events EventBridge could not deliver), or null without event_checks_enabled."
  value       = module.event_checks.dead_letter_queue_arn
}

output "event_rule_arns" {
  description = "ARNs of the rules on this account's default bus, keyed by pattern (cloudtrail-writes, config-changes: modules/event-checks/patterns/<key>.json); empty without event_checks_enabled."
  value       = module.event_checks.rule_arns
}

output "trigger_function_name" {
  description = "Name of the trigger function, or null without event_checks_enabled."
  value       = one(module.trigger[*].function_name)
}

output "trigger_function_arn" {
  description = "ARN of the trigger function, or null without event_checks_enabled."
  value       = one(module.trigger[*].function_arn)
}

output "trigger_role_arn" {
  description = "ARN of the trigger function's execution role, or null without event_checks_enabled."
  value       = one(module.trigger[*].role_arn)
}

# What forwards a member account's changes to this account's default bus.
# This stack applies the bus policy itself; the rest is created in each
# member account, in every region its workspaces use (IAM's events only
# reach EventBridge in us-east-1: forward from there too), and in this
# account in its regions other than the stack's.
output "event_forwarding" {
  description = "Forwarding of member accounts' change events to this account's default bus: `central_event_bus_arn`, `event_bus_policy` (the JSON this stack applies to its default bus, null when no member account or organization is set), and `accounts`, keyed by account ID (the member accounts, and this account for its regions other than the stack's), what to create there, in each region its workspaces use and in us-east-1 for IAM's events: `role_name`, `role_trust_policy` and `role_policy` (JSON: EventBridge may put events on the central bus), and `rules`, keyed like the central rules, each with `name`, `event_pattern` (JSON, the central rule's pattern) and `target` (`arn`: the central bus, `role_arn`: that role). Empty without event_checks_enabled."
  value = {
    central_event_bus_arn = var.event_checks_enabled ? local.default_event_bus_arn : null
    event_bus_policy      = one(data.aws_iam_policy_document.event_bus[*].json)
    accounts = {
      for id, trust in data.aws_iam_policy_document.event_forwarding_trust : id => {
        role_name         = local.event_forwarding_role
        role_trust_policy = trust.json
        role_policy       = data.aws_iam_policy_document.event_forwarding.json
        rules = {
          for key, pattern in module.event_checks.event_patterns : key => {
            name          = "drift-detection-forward-${key}-${var.environment_suffix}"
            event_pattern = jsonencode(pattern)
            target = {
              arn      = local.default_event_bus_arn
              role_arn = "arn:${local.partition}:iam::${id}:role/${local.event_forwarding_role}"
            }
          }
        }
      }
    }
  }
}

################################################################################
# Cross-account (documents a target account applies)
################################################################################

output "cross_account_drift_role_name" {
  description = "Suggested name of the read-only drift role in each target account; list its ARN in `cross_account_role_arns` and the workspaces' `role_arn`."
  value       = "drift-detection-read-${var.environment_suffix}"
}

output "cross_account_drift_role_trust_policies" {
  description = "Trust policy JSON of the read-only drift role, keyed by target account ID: it trusts only the roles that run checks (the worker's and the CodeBuild lane's) and, with `unmanaged_resources`, the summarize function's (which lists the account's inventory through it), and only with that account's `sts:ExternalId`."
  value       = { for account, doc in data.aws_iam_policy_document.cross_account_trust : account => doc.json }
  sensitive   = true # the external IDs are shared secrets
}

output "cross_account_drift_role_policy_arns" {
  description = "AWS managed policies to attach to the read-only drift role in each target account so that `terraform plan` can refresh every resource type."
  value       = ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"]
}

output "cross_account_drift_role_attribution_policy" {
  description = "Inline policy JSON for the drift role in each target account: `cloudtrail:LookupEvents` (Resource \"*\", as AWS requires), so that reports say who made each drift. AWS's ReadOnlyAccess already includes it."
  value       = data.aws_iam_policy_document.cross_account_attribution.json
}

output "cross_account_drift_role_inventory_policies" {
  description = "Inline policy JSON for the drift role, keyed by target account ID: what the unmanaged-resource inventory lists through it (AWS Config's recorders and discovered resources; EC2 instances, security groups and volumes; RDS instances and clusters; S3 buckets; IAM roles), with `cloudtrail:LookupEvents` for attribution. AWS's ReadOnlyAccess already includes all of it."
  value       = { for account, doc in data.aws_iam_policy_document.cross_account_inventory : account => doc.json }
}

output "cross_account_state_bucket_policies" {
  description = "Bucket policy JSON, keyed by state bucket name, granting the roles that run checks (worker, CodeBuild lane) and the cross-account drift roles (terraform runs as the drift role for a workspace that names one) read on exactly the state objects in `state_object_arns` (merge the statements into each bucket's policy)."
  value       = { for bucket, doc in data.aws_iam_policy_document.state_bucket_access : bucket => doc.json }
}

output "remote_state_outputs" {
  description = "Outputs of the states read through `remote_states`, keyed like that variable."
  value       = { for k, s in data.terraform_remote_state.this : k => s.outputs }
  sensitive   = true
}
