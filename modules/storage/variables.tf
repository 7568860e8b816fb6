variable "environment_suffix" {
  description = "Suffix of every name: the bucket is drift-detection-reports-<suffix>, the lock tables drift-detection-state-lock[-<key>]-<suffix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "The environment_suffix must be lowercase letters, digits and single hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the bucket (SSE-KMS with a bucket key) and the lock tables."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "expiring_prefixes" {
  description = "Key prefixes (each ending in /) whose objects age out; everything else is kept."
  type        = list(string)

  validation {
    condition     = alltrue([for p in var.expiring_prefixes : endswith(p, "/") && length(p) > 1])
    error_message = "Each expiring prefix must be non-empty and end with /."
  }
}

variable "working_data_prefix" {
  description = "Key prefix (ending in /) of short-lived working data (a run's execution data), which expires after working_data_expiration_days without changing storage class. Must not overlap expiring_prefixes."
  type        = string

  validation {
    condition     = endswith(var.working_data_prefix, "/") && length(var.working_data_prefix) > 1
    error_message = "The working_data_prefix must be non-empty and end with /."
  }
}

variable "working_data_expiration_days" {
  description = "Days after which objects under working_data_prefix are deleted."
  type        = number

  validation {
    condition     = var.working_data_expiration_days >= 1
    error_message = "The working_data_expiration_days must be at least 1."
  }
}

variable "infrequent_access_days" {
  description = "Days after which expiring objects move to STANDARD_IA (S3's minimum is 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.infrequent_access_days >= 30
    error_message = "The infrequent_access_days must be at least 30 (S3's minimum for STANDARD_IA)."
  }
}

variable "glacier_ir_transition_days" {
  description = "Days after which expiring objects move to GLACIER_IR."
  type        = number

  validation {
    condition     = var.glacier_ir_transition_days >= 60
    error_message = "The glacier_ir_transition_days must be at least 60 (30 days after STANDARD_IA)."
  }
}

variable "expiration_days" {
  description = "Days after which expiring objects are deleted (greater than glacier_ir_transition_days)."
  type        = number

  validation {
    condition     = var.expiration_days >= 1
    error_message = "The expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a noncurrent object version is deleted, bucket-wide."
  type        = number

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "The noncurrent_version_expiration_days must be at least 1."
  }
}

variable "policy_documents" {
  description = "Policy documents (JSON) with further bucket policy statements, merged after the HTTPS-only deny; their statement IDs must differ from DenyInsecureTransport."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for d in var.policy_documents : try(jsondecode(d).Version, "") == "2012-10-17"])
    error_message = "Each policy_documents entry must be a JSON policy document (Version 2012-10-17)."
  }
}

variable "lock_tables" {
  description = "State-lock tables keyed by workspace group (1-32 lowercase characters); `default` is named without its key. Each has its own tags."
  type = map(object({
    tags = optional(map(string), {})
  }))

  validation {
    condition     = alltrue([for k in keys(var.lock_tables) : can(regex("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", k))])
    error_message = "Each lock table key must be 1-32 lowercase letters, digits or hyphens."
  }
}
