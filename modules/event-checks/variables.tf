variable "enabled" {
  description = "Whether to create anything: the resource index table, the change-events queue and its dead-letter queue, the rules and the trigger's event source mapping."
  type        = bool
  default     = true
}

variable "environment_suffix" {
  description = "Suffix of every name (drift-detection-resource-index-<suffix>, drift-detection-change-events-<suffix>, ...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the table, the queue and the dead-letter queue; its key policy must let EventBridge (events.amazonaws.com) use it for both queues."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "trigger_function_arn" {
  description = "ARN of the trigger function the queue's event source mapping invokes; null only when enabled is false."
  type        = string
  default     = null

  validation {
    condition     = var.trigger_function_arn == null || can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$", var.trigger_function_arn))
    error_message = "The trigger_function_arn must be null or a Lambda function ARN."
  }
}

variable "trigger_timeout_seconds" {
  description = "Timeout of the trigger function in seconds; the queue's visibility timeout is six times this (AWS's advice for Lambda event sources), and Lambda refuses a mapping whose queue's is shorter than the function's."
  type        = number

  validation {
    condition     = var.trigger_timeout_seconds == floor(var.trigger_timeout_seconds) && var.trigger_timeout_seconds >= 10 && var.trigger_timeout_seconds <= 300
    error_message = "The trigger_timeout_seconds must be a whole number between 10 and 300."
  }
}

variable "maximum_batching_window_seconds" {
  description = "How long the event source mapping gathers messages (up to 10) before invoking the trigger, in seconds, 0-300."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_batching_window_seconds == floor(var.maximum_batching_window_seconds) && var.maximum_batching_window_seconds >= 0 && var.maximum_batching_window_seconds <= 300
    error_message = "The maximum_batching_window_seconds must be a whole number between 0 and 300."
  }
}
