variable "environment_suffix" {
  description = "Suffix of the topic's name, drift-detection-alerts-<suffix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the topic (its policy must let CloudWatch alarms use it)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "account_id" {
  description = "This account's ID: only its CloudWatch alarms may publish."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "The account_id must be 12 digits."
  }
}

variable "alarm_arn_pattern" {
  description = "ARN pattern (ArnLike) of the CloudWatch alarms that may publish."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:cloudwatch:", var.alarm_arn_pattern))
    error_message = "The alarm_arn_pattern must be a CloudWatch alarm ARN pattern."
  }
}

variable "publisher_role_arns" {
  description = "ARNs of the IAM roles that may publish; every other IAM principal is denied."
  type        = list(string)

  validation {
    condition     = length(var.publisher_role_arns) > 0
    error_message = "The publisher_role_arns must name at least one role."
  }
}

variable "emails" {
  description = "E-mail addresses subscribed to the topic (each must confirm its subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.emails : can(regex("^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$", e))])
    error_message = "Each entry of emails must be an e-mail address."
  }
}
