output "project_name" {
  description = "Name of the CodeBuild project."
  value       = aws_codebuild_project.this.name
}

output "project_arn" {
  description = "ARN of the CodeBuild project."
  value       = aws_codebuild_project.this.arn
}

output "role_arn" {
  description = "ARN of the project's service role: it runs terraform, so target accounts and state buckets trust it as they trust the worker role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the project's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "worker_artifact_uri" {
  description = "S3 URI of the worker zip the build downloads."
  value       = "s3://${var.report_bucket_name}/${aws_s3_object.worker.key}"
}

output "terraform_artifact_uri" {
  description = "S3 URI of the terraform layer zip the build downloads."
  value       = "s3://${var.report_bucket_name}/${aws_s3_object.terraform.key}"
}
