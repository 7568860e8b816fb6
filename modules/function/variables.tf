variable "component" {
  description = "Component name of the function: every name is drift-detection-<component>-<environment_suffix> (the function, its role and policy, its log group /aws/lambda/<name>, its alarm drift-detection-<component>-errors-<environment_suffix>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.component)) && length(var.component) <= 24
    error_message = "The component must be lowercase letters, digits and single hyphens, at most 24 characters, so that every name fits its service limit."
  }
}

variable "environment_suffix" {
  description = "Suffix of every name (the stack's environment_suffix)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string

  validation {
    condition     = length(var.description) > 0 && length(var.description) <= 256
    error_message = "The description must be 1 to 256 characters."
  }
}

variable "runtime" {
  description = "Lambda runtime identifier (e.g. provided.al2023, python3.11)."
  type        = string

  validation {
    condition     = can(regex("^(provided\\.al2023|provided\\.al2|python3\\.[0-9]+)$", var.runtime))
    error_message = "The runtime must be provided.al2023, provided.al2 or a python3.N runtime."
  }
}

variable "handler" {
  description = "Handler: `bootstrap` for a custom runtime, module.function for Python."
  type        = string

  validation {
    condition     = length(var.handler) > 0
    error_message = "The handler must not be empty."
  }
}

variable "filename" {
  description = "Path of the deployment zip."
  type        = string

  validation {
    condition     = endswith(var.filename, ".zip")
    error_message = "The filename must be a .zip file."
  }
}

variable "source_code_hash" {
  description = "Base64 SHA-256 of the deployment zip, so that a new build is deployed."
  type        = string

  validation {
    condition     = length(var.source_code_hash) > 0
    error_message = "The source_code_hash must not be empty."
  }
}

variable "layers" {
  description = "Layer version ARNs, in order."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layers) <= 5
    error_message = "Lambda allows at most 5 layers."
  }
}

variable "timeout" {
  description = "Timeout of one invocation, in seconds."
  type        = number

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "The timeout must be 1 to 900 seconds."
  }
}

variable "memory_size" {
  description = "Memory of the function, in MB."
  type        = number

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "The memory_size must be 128 to 10240 MB."
  }
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB, or null for Lambda's default (512)."
  type        = number
  default     = null

  validation {
    condition     = var.ephemeral_storage_size == null || (coalesce(var.ephemeral_storage_size, 512) >= 512 && coalesce(var.ephemeral_storage_size, 512) <= 10240)
    error_message = "The ephemeral_storage_size must be null or 512 to 10240 MB."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions, or -1 for none."
  type        = number

  validation {
    condition     = var.reserved_concurrency >= -1
    error_message = "The reserved_concurrency must be -1 (unreserved) or a count."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function (encrypted with kms_key_arn)."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k))])
    error_message = "Environment variable names must be letters, digits and underscores, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "ARN of the stack's KMS key: encrypts the environment and the log group; the role may use it (kms:Decrypt, kms:GenerateDataKey)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (at least 7)."
  type        = number

  validation {
    condition     = var.log_retention_days >= 7
    error_message = "The log_retention_days must be at least 7."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: Active or PassThrough."
  type        = string

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "The tracing_mode must be Active or PassThrough."
  }
}

variable "policy_documents" {
  description = "Policy documents (JSON, from aws_iam_policy_document) with the function's own statements, merged into its role policy. Their statement IDs must differ from WriteOwnLogs, UseStackKey, SendFailedInvocations and WriteTraces."
  type        = list(string)

  validation {
    condition     = alltrue([for d in var.policy_documents : try(jsondecode(d).Version, "") == "2012-10-17"])
    error_message = "Each policy_documents entry must be a JSON policy document (Version 2012-10-17)."
  }
}

variable "on_failure_destination_arn" {
  description = "ARN of the SQS queue that receives failed asynchronous invocations (the role may send to it)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:[a-z-]+:sqs:", var.on_failure_destination_arn))
    error_message = "The on_failure_destination_arn must be an SQS queue ARN."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed asynchronous invocation (0 to 2)."
  type        = number

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "The maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_seconds" {
  description = "Maximum age of an asynchronous event before it goes to the on-failure destination, in seconds."
  type        = number

  validation {
    condition     = var.maximum_event_age_seconds >= 60 && var.maximum_event_age_seconds <= 21600
    error_message = "The maximum_event_age_seconds must be 60 to 21600."
  }
}

variable "alarm_topic_arn" {
  description = "ARN of the SNS topic the errors alarm notifies (alarm and OK)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:sns:", var.alarm_topic_arn))
    error_message = "The alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "preconditions" {
  description = "Cross-variable checks of the caller: each `condition` must hold, else the plan fails with its `error_message`."
  type = list(object({
    condition     = bool
    error_message = string
  }))
  default = []

  validation {
    condition     = alltrue([for c in var.preconditions : endswith(c.error_message, ".")])
    error_message = "Each precondition's error_message must be a sentence ending with a full stop."
  }
}
