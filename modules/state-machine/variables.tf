variable "environment_suffix" {
  description = "Suffix of every name: the state machine is drift-detection-runs-<suffix>, its role drift-detection-states-<suffix>, its log group /aws/vendedlogs/states/drift-detection-runs-<suffix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

################################################################################
# Definition
################################################################################

variable "worker_function_arn" {
  description = "ARN (unqualified) of the worker Lambda the Lambda lane invokes (`worker_function_arn` in the definition); the role may invoke it and its versions and aliases."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.worker_function_arn))
    error_message = "The worker_function_arn must be an unqualified Lambda function ARN."
  }
}

variable "summarize_function_arn" {
  description = "ARN (unqualified) of the summarize Lambda invoked after the map (`summarize_function_arn` in the definition)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.summarize_function_arn))
    error_message = "The summarize_function_arn must be an unqualified Lambda function ARN."
  }
}

variable "codebuild_project_name" {
  description = "Name of the CodeBuild project of the long-check lane (`codebuild_project_name` in the definition)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$", var.codebuild_project_name))
    error_message = "The codebuild_project_name must be a CodeBuild project name (2-255 letters, digits, '-' and '_')."
  }
}

variable "codebuild_project_arn" {
  description = "ARN of that CodeBuild project: the role may start, stop and read its builds."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:codebuild:[a-z0-9-]+:[0-9]{12}:project/", var.codebuild_project_arn))
    error_message = "The codebuild_project_arn must be a CodeBuild project ARN."
  }
}

variable "report_bucket_name" {
  description = "Name of the reports bucket holding the run's items file and the map's results (`report_bucket` in the definition)."
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

variable "execution_prefix" {
  description = "Key prefix (no trailing slash) of the run's execution data in the bucket, where the orchestrator writes the items file the map reads."
  type        = string
  default     = "executions"

  validation {
    condition     = can(regex("^[a-z0-9-]+(/[a-z0-9-]+)*$", var.execution_prefix))
    error_message = "The execution_prefix must be lowercase path segments without leading or trailing slashes."
  }
}

variable "results_prefix" {
  description = "Static key prefix (no trailing slash) under which the Distributed Map's ResultWriter writes (`results_prefix` in the definition). Must lie under `execution_prefix`."
  type        = string
  default     = "executions/results"

  validation {
    condition     = can(regex("^[a-z0-9-]+(/[a-z0-9-]+)+$", var.results_prefix))
    error_message = "The results_prefix must be two or more lowercase path segments without leading or trailing slashes."
  }
}

variable "worker_retry_max_attempts" {
  description = "Retries of a check on Lambda throttling or transient Lambda errors, and on CodeBuild throttling (`worker_retry_max_attempts` in the definition), 0-20."
  type        = number
  default     = 6

  validation {
    condition     = var.worker_retry_max_attempts == floor(var.worker_retry_max_attempts) && var.worker_retry_max_attempts >= 0 && var.worker_retry_max_attempts <= 20
    error_message = "The worker_retry_max_attempts must be a whole number between 0 and 20."
  }
}

################################################################################
# Logs, traces, encryption
################################################################################

variable "kms_key_arn" {
  description = "ARN of the stack's KMS key: encrypts the log group and the bucket's objects; the role may use it (kms:Decrypt, kms:GenerateDataKey)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the state machine's log group, in days (at least 7)."
  type        = number

  validation {
    condition     = var.log_retention_days >= 7
    error_message = "The log_retention_days must be at least 7."
  }
}

variable "log_level" {
  description = "Execution history logged: `ALL`, `ERROR`, `FATAL` or `OFF`. Execution data is never included (it holds the workspaces' external IDs)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "The log_level must be one of ALL, ERROR, FATAL, OFF."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: `Active` traces the executions, `PassThrough` does not (the functions' setting, reused)."
  type        = string

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "The tracing_mode must be Active or PassThrough."
  }
}
