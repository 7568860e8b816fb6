variable "environment_suffix" {
  description = "Suffix of the dashboard's name, drift-detection-dashboard-<suffix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

variable "region" {
  description = "Region of every widget's metrics and logs."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as us-east-1."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' own metrics."
  type        = string

  validation {
    condition     = length(var.metrics_namespace) > 0 && !startswith(var.metrics_namespace, "AWS/")
    error_message = "The metrics_namespace must be non-empty and not in the reserved AWS/ namespace."
  }
}

variable "environments" {
  description = "Environments drawn one line each (the Environment dimension of the worker's metrics)."
  type        = list(string)

  validation {
    condition     = length(var.environments) >= 1
    error_message = "The environments must list at least one environment."
  }
}

variable "drift_metrics" {
  description = "Worker metrics drawn per environment, in order, two widgets a row: metric name and widget title."
  type = list(object({
    metric = string
    title  = string
  }))

  validation {
    condition     = length(var.drift_metrics) >= 1 && length(var.drift_metrics) % 2 == 0
    error_message = "The drift_metrics must list an even, non-zero number of metrics (two widgets a row)."
  }
}

variable "run_metrics_service_name" {
  description = "The `service` metric dimension of the run metrics (WorkspacesChecked, RunDurationSeconds, ...): the Powertools service name of the function that emits them, the summarize step."
  type        = string

  validation {
    condition     = length(var.run_metrics_service_name) > 0
    error_message = "The run_metrics_service_name must not be empty."
  }
}

variable "state_machine_arn" {
  description = "ARN of the run's state machine, whose executions (AWS/States, dimension StateMachineArn) are drawn."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:states:[a-z0-9-]+:[0-9]{12}:stateMachine:", var.state_machine_arn))
    error_message = "The state_machine_arn must be a Step Functions state machine ARN."
  }
}

variable "worker_function_name" {
  description = "Name of the worker function, whose duration is drawn."
  type        = string

  validation {
    condition     = length(var.worker_function_name) > 0
    error_message = "The worker_function_name must not be empty."
  }
}

variable "worker_log_group_name" {
  description = "Log group the critical-drift table queries (the worker's)."
  type        = string

  validation {
    condition     = startswith(var.worker_log_group_name, "/aws/lambda/")
    error_message = "The worker_log_group_name must be a Lambda log group (/aws/lambda/...)."
  }
}

variable "functions" {
  description = "Functions whose Lambda errors and throttles are drawn, in order: label and function name."
  type = list(object({
    label         = string
    function_name = string
  }))

  validation {
    condition     = length(var.functions) >= 1
    error_message = "The functions must list at least one function."
  }
}

variable "event_checks_enabled" {
  description = "Whether to draw the Event-driven checks row: the trigger's counts and the worker's detection latency."
  type        = bool
  default     = false
}

variable "trigger_service_name" {
  description = "Powertools service name (the `service` dimension) of the trigger's metrics."
  type        = string
  default     = "drift-detection-trigger"

  validation {
    condition     = length(var.trigger_service_name) > 0
    error_message = "The trigger_service_name must not be empty."
  }
}
