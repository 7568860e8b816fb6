output "state_machine_arn" {
  description = "ARN of the state machine: the orchestrator starts executions of it."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "execution_arn_prefix" {
  description = "Prefix of its execution ARNs (`<prefix><execution name>`), for IAM and for `aws stepfunctions describe-execution`."
  value       = "${local.arn_prefix}:execution:${local.name}:"
}

output "role_arn" {
  description = "ARN of the state machine's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the state machine's log group."
  value       = aws_cloudwatch_log_group.this.name
}
