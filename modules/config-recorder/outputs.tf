output "recorder_name" {
  description = "Name of the recorder this module created, or null when enabled is false."
  value       = one(aws_config_configuration_recorder.this[*].name)
}

output "role_arn" {
  description = "ARN of the recorder's IAM role, or null when enabled is false."
  value       = one(aws_iam_role.this[*].arn)
}

output "rule_names" {
  description = "Names of the managed Config rules, keyed like rules."
  value       = { for k, r in aws_config_config_rule.this : k => r.name }
}
