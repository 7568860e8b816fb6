output "bucket_name" {
  description = "Name (ID) of the reports bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the reports bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_name_with_policy" {
  description = "Name of the reports bucket, read from its bucket policy: a reference waits until the policy is in place (AWS Config checks it when its delivery channel is created)."
  value       = aws_s3_bucket_policy.this.bucket
}

output "lock_table_names" {
  description = "Names of the state-lock tables, keyed like lock_tables."
  value       = { for k, t in aws_dynamodb_table.state_lock : k => t.name }
}

output "lock_table_arns" {
  description = "ARNs of the state-lock tables, keyed like lock_tables."
  value       = { for k, t in aws_dynamodb_table.state_lock : k => t.arn }
}
