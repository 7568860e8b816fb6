variable "enabled" {
  description = "Whether to create the recorder, its delivery channel, its IAM role and start it. AWS Config allows one recorder per account and region: false where the account already has one (the rules are created either way)."
  type        = bool
  default     = true
}

variable "environment_suffix" {
  description = "Suffix of every name (drift-detection-config-<suffix>, drift-detection-<rule>-<suffix>, ...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

variable "partition" {
  description = "AWS partition (aws, aws-cn, aws-us-gov) of the managed policy ARN."
  type        = string

  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "The partition must be aws, aws-cn or aws-us-gov."
  }
}

variable "account_id" {
  description = "This account's ID: the role trusts Config only on its behalf, and deliveries go under AWSLogs/<account_id>/."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "The account_id must be 12 digits."
  }
}

variable "bucket_name" {
  description = "Name of the bucket Config delivers to; pass it from the bucket policy so that the channel waits for the policy."
  type        = string

  validation {
    condition     = length(var.bucket_name) >= 3 && length(var.bucket_name) <= 63
    error_message = "The bucket_name must be 3 to 63 characters."
  }
}

variable "bucket_arn" {
  description = "ARN of the same bucket, for the role's delivery policy."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:s3:::", var.bucket_arn))
    error_message = "The bucket_arn must be an S3 bucket ARN."
  }
}

variable "key_prefix" {
  description = "Key prefix of Config's deliveries in the bucket, without a trailing slash."
  type        = string

  validation {
    condition     = length(var.key_prefix) > 0 && !endswith(var.key_prefix, "/")
    error_message = "The key_prefix must be non-empty and have no trailing slash."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key deliveries are encrypted with (the role may use it)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "snapshot_delivery_frequency" {
  description = "How often Config delivers a configuration snapshot."
  type        = string

  validation {
    condition     = contains(["One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"], var.snapshot_delivery_frequency)
    error_message = "The snapshot_delivery_frequency must be One_Hour, Three_Hours, Six_Hours, Twelve_Hours or TwentyFour_Hours."
  }
}

variable "resource_types" {
  description = "Resource types the recorder records (and nothing else)."
  type        = list(string)

  validation {
    condition     = length(var.resource_types) > 0 && alltrue([for t in var.resource_types : can(regex("^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$", t))])
    error_message = "The resource_types must list at least one AWS::Service::Type."
  }
}

variable "rules" {
  description = "AWS managed Config rules keyed by name component: the managed rule's identifier, the resource types it is scoped to and a description."
  type = map(object({
    identifier     = string
    resource_types = list(string)
    description    = string
  }))

  validation {
    condition     = alltrue([for k in keys(var.rules) : can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", k))])
    error_message = "Each rule key must be lowercase letters, digits and single hyphens."
  }
}
