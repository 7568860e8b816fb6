variable "environment_suffix" {
  description = "Suffix of every name: the project is drift-detection-large-checks-<suffix>, its role drift-detection-codebuild-<suffix>, its log group /aws/codebuild/drift-detection-large-checks-<suffix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

################################################################################
# Artefacts and bucket
################################################################################

variable "report_bucket_name" {
  description = "Name of the reports bucket: the artefacts are uploaded to it and the build writes its responses there."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.report_bucket_name))
    error_message = "The report_bucket_name must be an S3 bucket name."
  }
}

variable "report_bucket_arn" {
  description = "ARN of the reports bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.report_bucket_arn))
    error_message = "The report_bucket_arn must be an S3 bucket ARN."
  }
}

variable "artifact_prefix" {
  description = "Key prefix (no trailing slash) of the uploaded artefacts."
  type        = string
  default     = "artifacts"

  validation {
    condition     = can(regex("^[a-z0-9-]+(/[a-z0-9-]+)*$", var.artifact_prefix))
    error_message = "The artifact_prefix must be lowercase path segments without leading or trailing slashes."
  }
}

variable "response_prefix" {
  description = "Key prefix (no trailing slash) under which the build reads its worker event (`DRIFT_EVENT_KEY`) and writes the worker's response (`DRIFT_RESPONSE_KEY`), both set per build by the state machine."
  type        = string
  default     = "executions"

  validation {
    condition     = can(regex("^[a-z0-9-]+(/[a-z0-9-]+)*$", var.response_prefix))
    error_message = "The response_prefix must be lowercase path segments without leading or trailing slashes."
  }
}

variable "worker_zip_path" {
  description = "Path of the worker's deployment zip (`bootstrap` at its root), uploaded as the worker artefact."
  type        = string

  validation {
    condition     = endswith(var.worker_zip_path, ".zip")
    error_message = "The worker_zip_path must be a .zip file."
  }
}

variable "terraform_layer_zip_path" {
  description = "Path of the terraform layer zip (`bin/terraform`), uploaded as the terraform artefact."
  type        = string

  validation {
    condition     = endswith(var.terraform_layer_zip_path, ".zip")
    error_message = "The terraform_layer_zip_path must be a .zip file."
  }
}

variable "terraform_install_dir" {
  description = "Absolute directory the build unpacks the terraform layer into; terraform is `<dir>/bin/terraform` (`TERRAFORM_PATH`)."
  type        = string
  default     = "/opt/drift-detection"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]+[^/]$", var.terraform_install_dir))
    error_message = "The terraform_install_dir must be an absolute path without a trailing slash."
  }
}

################################################################################
# Build
################################################################################

variable "image" {
  description = "Build image of the ARM container, e.g. `aws/codebuild/amazonlinux-aarch64-standard:3.0` (the worker is built for arm64)."
  type        = string
  default     = "aws/codebuild/amazonlinux-aarch64-standard:3.0"

  validation {
    condition     = length(var.image) > 0
    error_message = "The image must not be empty."
  }
}

variable "compute_type" {
  description = "CodeBuild compute type: `BUILD_GENERAL1_SMALL`, `BUILD_GENERAL1_MEDIUM`, `BUILD_GENERAL1_LARGE`, `BUILD_GENERAL1_XLARGE` or `BUILD_GENERAL1_2XLARGE` (what ARM containers offer depends on the region)."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"], var.compute_type)
    error_message = "The compute_type must be one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE."
  }
}

variable "timeout_minutes" {
  description = "Build timeout in minutes, 5-480: the longest one check may take."
  type        = number

  validation {
    condition     = var.timeout_minutes == floor(var.timeout_minutes) && var.timeout_minutes >= 5 && var.timeout_minutes <= 480
    error_message = "The timeout_minutes must be a whole number between 5 and 480."
  }
}

variable "queued_timeout_minutes" {
  description = "Minutes a build may wait in CodeBuild's queue before it times out, 5-480."
  type        = number
  default     = 60

  validation {
    condition     = var.queued_timeout_minutes == floor(var.queued_timeout_minutes) && var.queued_timeout_minutes >= 5 && var.queued_timeout_minutes <= 480
    error_message = "The queued_timeout_minutes must be a whole number between 5 and 480."
  }
}

variable "environment_variables" {
  description = "Environment variables of every build (the worker's configuration, e.g. REPORT_BUCKET, SNS_TOPIC_ARN). WORKER_ARTIFACT, TERRAFORM_ARTIFACT, TERRAFORM_PATH, DRIFT_INSTALL_DIR and DRIFT_CHECK_TIMEOUT_SECONDS are set by the module."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Z][A-Z0-9_]*$", k)) && !contains(["WORKER_ARTIFACT", "TERRAFORM_ARTIFACT", "TERRAFORM_PATH", "DRIFT_INSTALL_DIR", "DRIFT_CHECK_TIMEOUT_SECONDS", "DRIFT_EVENT_KEY", "DRIFT_RESPONSE_KEY"], k)])
    error_message = "The environment_variables names must be uppercase letters, digits and underscores, and not one the module or the state machine sets."
  }
}

################################################################################
# IAM, logs, encryption
################################################################################

variable "policy_documents" {
  description = "Policy documents (JSON, from aws_iam_policy_document) with what a workspace check needs, merged into the role's policy. Their statement IDs must differ from WriteOwnLogs, ReadArtifacts, WriteResponses and UseStackKey."
  type        = list(string)

  validation {
    condition     = alltrue([for d in var.policy_documents : try(jsondecode(d).Version, "") == "2012-10-17"])
    error_message = "Each policy_documents entry must be a JSON policy document (Version 2012-10-17)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the stack's KMS key: encrypts the artefacts, the log group and the build's output; the role may use it (kms:Decrypt, kms:GenerateDataKey)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the project's log group, in days (at least 7)."
  type        = number

  validation {
    condition     = var.log_retention_days >= 7
    error_message = "The log_retention_days must be at least 7."
  }
}
