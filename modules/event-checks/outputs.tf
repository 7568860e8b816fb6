output "table_name" {
  description = "Name of the resource index table, or null when enabled is false."
  value       = one(aws_dynamodb_table.this[*].name)
}

output "table_arn" {
  description = "ARN of the resource index table, or null when enabled is false."
  value       = one(aws_dynamodb_table.this[*].arn)
}

output "queue_url" {
  description = "URL of the change-events queue (the trigger sends its trailing checks there), or null when enabled is false."
  value       = one(aws_sqs_queue.this[*].url)
}

output "queue_arn" {
  description = "ARN of the change-events queue, or null when enabled is false."
  value       = one(aws_sqs_queue.this[*].arn)
}

output "dead_letter_queue_name" {
  description = "Name of the change-events dead-letter queue, or null when enabled is false."
  value       = one(aws_sqs_queue.dead_letter[*].name)
}

output "dead_letter_queue_arn" {
  description = "ARN of the change-events dead-letter queue, or null when enabled is false."
  value       = one(aws_sqs_queue.dead_letter[*].arn)
}

output "rule_arns" {
  description = "ARNs of the rules on the default bus, keyed by pattern file name (cloudtrail-writes, config-changes); empty when enabled is false."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
}

output "event_patterns" {
  description = "The rules' event patterns as objects, keyed by pattern file name, for the member accounts' forwarding rules; empty when enabled is false."
  value       = { for k, p in local.patterns : k => jsondecode(p) }
}
