################################################################################
# General
################################################################################

variable "region" {
  description = "AWS region the stack is deployed to (e.g. `us-east-1`). Drift is detected in any region; this is only where the detector itself lives."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region code such as us-east-1, us-west-2 or eu-central-1."
  }
}

variable "environment" {
  description = "Environment of this deployment of the detector, used in tags (e.g. `dev`, `staging`, `prod`). Lowercase letters, digits and hyphens, at most 16 characters."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "The environment must start with a lowercase letter and contain only lowercase letters, digits and hyphens (at most 16 characters)."
  }
}

variable "environment_suffix" {
  description = "Suffix appended to every resource name: `drift-detection-<component>-<suffix>`. 1 to 20 lowercase letters, digits and hyphens, starting and ending with a letter or digit, so that every name fits its service limit (S3 63, IAM role 64, Lambda 64 characters)."
  type        = string

  validation {
    condition     = length(var.environment_suffix) <= 20 && can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.environment_suffix))
    error_message = "The environment_suffix must be 1-20 characters of lowercase letters, digits and hyphens, and start and end with a letter or digit."
  }
}

variable "tags" {
  description = "Additional tags for every resource. `Project`, `Environment`, `EnvironmentSuffix` and `ManagedBy` are always set through the provider's default_tags and override keys of the same name here."
  type        = map(string)
  default     = {}
}

################################################################################
# Reports bucket
################################################################################

variable "report_retention_days" {
  description = "Days after which drift reports, run summaries and AWS Config snapshots are deleted from the reports bucket. Must be later than `report_glacier_ir_transition_days`."
  type        = number
  default     = 365

  validation {
    condition     = var.report_retention_days == floor(var.report_retention_days) && var.report_retention_days >= 61 && var.report_retention_days <= 3650
    error_message = "The report_retention_days must be a whole number of days between 61 and 3650."
  }
}

variable "report_glacier_ir_transition_days" {
  description = "Days after which reports move from STANDARD_IA to GLACIER_IR. S3 requires at least 30 days in STANDARD_IA, which reports enter after 30 days, so the minimum is 60."
  type        = number
  default     = 90

  validation {
    condition     = var.report_glacier_ir_transition_days == floor(var.report_glacier_ir_transition_days) && var.report_glacier_ir_transition_days >= 60
    error_message = "The report_glacier_ir_transition_days must be a whole number of at least 60."
  }
}

variable "execution_data_retention_days" {
  description = "Days after which a run's execution data under `executions/` (the orchestrator's items and run files, the Distributed Map's results, the CodeBuild lane's responses) is deleted, 1-365. The run summary under `runs/` keeps what matters."
  type        = number
  default     = 30

  validation {
    condition     = var.execution_data_retention_days == floor(var.execution_data_retention_days) && var.execution_data_retention_days >= 1 && var.execution_data_retention_days <= 365
    error_message = "The execution_data_retention_days must be a whole number between 1 and 365."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions in the reports bucket are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days == floor(var.noncurrent_version_expiration_days) && var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650
    error_message = "The noncurrent_version_expiration_days must be a whole number between 1 and 3650."
  }
}

################################################################################
# State-lock tables
################################################################################

variable "state_lock_tables" {
  description = "DynamoDB Terraform state-lock tables to create, keyed by workspace group. Key `default` is named `drift-detection-state-lock-<suffix>`, any other key `drift-detection-state-lock-<key>-<suffix>`. Keys: 1-32 lowercase letters, digits and hyphens. The worker may lock every table created here."
  type = map(object({
    tags = optional(map(string), {})
  }))
  default = {
    default = {}
  }

  validation {
    condition     = length(var.state_lock_tables) >= 1 && alltrue([for k in keys(var.state_lock_tables) : can(regex("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", k))])
    error_message = "The state_lock_tables map needs at least one entry, and every key must be 1-32 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

################################################################################
# AWS Config
################################################################################

variable "create_aws_config" {
  description = "Whether to create the AWS Config configuration recorder, its delivery channel to the reports bucket and its IAM role. AWS Config allows one recorder per account and region: set to `false` where the account already has one. The managed Config rules are created either way."
  type        = bool
  default     = true
}

variable "config_snapshot_delivery_frequency" {
  description = "How often AWS Config delivers configuration snapshots to the reports bucket under `config/`. One of `One_Hour`, `Three_Hours`, `Six_Hours`, `Twelve_Hours`, `TwentyFour_Hours`."
  type        = string
  default     = "TwentyFour_Hours"

  validation {
    condition     = contains(["One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"], var.config_snapshot_delivery_frequency)
    error_message = "The config_snapshot_delivery_frequency must be one of One_Hour, Three_Hours, Six_Hours, Twelve_Hours, TwentyFour_Hours."
  }
}

variable "config_aggregator_account_ids" {
  description = "Create the AWS Config aggregator `drift-detection-aggregator-<suffix>` over these source accounts (12-digit IDs), for the unmanaged-resource inventory (`config:ListAggregateDiscoveredResources`). Each source account must authorize this account (`aws_config_aggregate_authorization` there) and record the types the inventory covers. Empty (the default) creates no account aggregator. At most one of this, `config_aggregator_organization` and `config_aggregator_name`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.config_aggregator_account_ids : can(regex("^[0-9]{12}$", a))]) && length(distinct(var.config_aggregator_account_ids)) == length(var.config_aggregator_account_ids)
    error_message = "Every config_aggregator_account_ids entry must be a 12-digit AWS account ID, each listed once."
  }
}

variable "config_aggregator_regions" {
  description = "Source regions of the aggregator this stack creates (`config_aggregator_account_ids` or `config_aggregator_organization`), e.g. `[\"us-east-1\", \"eu-west-1\"]`. `null` (the default) aggregates all AWS regions, those enabled later included."
  type        = list(string)
  default     = null

  validation {
    condition     = var.config_aggregator_regions == null ? true : length(var.config_aggregator_regions) >= 1 && alltrue([for r in var.config_aggregator_regions : can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$", r))]) && length(distinct(var.config_aggregator_regions)) == length(var.config_aggregator_regions)
    error_message = "The config_aggregator_regions must be null (all regions) or a non-empty list of distinct AWS region codes such as us-east-1."
  }
}

variable "config_aggregator_organization" {
  description = "Create the AWS Config aggregator `drift-detection-aggregator-<suffix>` over the whole AWS Organization (this account must be the management account or a delegated administrator for Config), with an IAM role for it that has the AWS managed policy `service-role/AWSConfigRoleForOrganizations`. At most one of this, `config_aggregator_account_ids` and `config_aggregator_name`."
  type        = bool
  default     = false
}

variable "config_aggregator_name" {
  description = "Name of an existing AWS Config aggregator in this account and region that the unmanaged-resource inventory reads (`CONFIG_AGGREGATOR_NAME`), instead of creating one. `null` (the default): none, or the one this stack creates. At most one of this, `config_aggregator_account_ids` and `config_aggregator_organization`."
  type        = string
  default     = null

  validation {
    condition     = var.config_aggregator_name == null || can(regex("^[A-Za-z0-9_-]{1,256}$", var.config_aggregator_name))
    error_message = "The config_aggregator_name must be null or 1-256 letters, digits, '_' and '-' (AWS Config's pattern for aggregator names)."
  }
}

################################################################################
# Functions and the run's state machine
################################################################################

variable "worker_zip_path" {
  description = "Path of the Rust worker's deployment zip built by `cargo lambda build --release --arm64 --output-format zip`. A relative path is taken from the stack's directory."
  type        = string
  default     = "target/lambda/drift-detection-worker/bootstrap.zip"

  validation {
    condition     = can(regex("\\.zip$", var.worker_zip_path))
    error_message = "The worker_zip_path must name a .zip file."
  }
}

variable "terraform_layer_zip_path" {
  description = "Path of the Terraform layer zip built by `scripts/build-terraform-layer` (contains `bin/terraform`, mounted at `/opt/bin/terraform`). A relative path is taken from the stack's directory."
  type        = string
  default     = "target/terraform-layer.zip"

  validation {
    condition     = can(regex("\\.zip$", var.terraform_layer_zip_path))
    error_message = "The terraform_layer_zip_path must name a .zip file."
  }
}

variable "orchestrator_layer_zip_path" {
  description = "Path of the orchestrator's dependency layer zip (aws-lambda-powertools) built by `scripts/build-orchestrator-layer`. A relative path is taken from the stack's directory."
  type        = string
  default     = "target/orchestrator-layer.zip"

  validation {
    condition     = can(regex("\\.zip$", var.orchestrator_layer_zip_path))
    error_message = "The orchestrator_layer_zip_path must name a .zip file."
  }
}

variable "worker_timeout_seconds" {
  description = "Timeout of one worker invocation (one workspace) in seconds, 60-900. A check that needs longer belongs in the CodeBuild lane (`codebuild_timeout_minutes`)."
  type        = number
  default     = 300

  validation {
    condition     = var.worker_timeout_seconds == floor(var.worker_timeout_seconds) && var.worker_timeout_seconds >= 60 && var.worker_timeout_seconds <= 900
    error_message = "The worker_timeout_seconds must be a whole number between 60 and 900."
  }
}

variable "worker_memory_size" {
  description = "Memory of the worker in MB, 512-10240. Terraform and its providers run inside it; CPU scales with memory."
  type        = number
  default     = 2048

  validation {
    condition     = var.worker_memory_size == floor(var.worker_memory_size) && var.worker_memory_size >= 512 && var.worker_memory_size <= 10240
    error_message = "The worker_memory_size must be a whole number of MB between 512 and 10240."
  }
}

variable "worker_ephemeral_storage_size" {
  description = "Size of the worker's /tmp in MB, 512-10240. It holds the unpacked workspace bundle and the Terraform provider plugins."
  type        = number
  default     = 4096

  validation {
    condition     = var.worker_ephemeral_storage_size == floor(var.worker_ephemeral_storage_size) && var.worker_ephemeral_storage_size >= 512 && var.worker_ephemeral_storage_size <= 10240
    error_message = "The worker_ephemeral_storage_size must be a whole number of MB between 512 and 10240."
  }
}

variable "worker_reserved_concurrency" {
  description = "Reserved concurrent executions of the worker; `-1` reserves none (use it in accounts whose concurrency quota is too low to reserve). When reserved it must be at least `max_concurrency`, or the state machine's checks are throttled (and retried)."
  type        = number
  default     = 40

  validation {
    condition     = var.worker_reserved_concurrency == floor(var.worker_reserved_concurrency) && var.worker_reserved_concurrency >= -1 && var.worker_reserved_concurrency <= 1000
    error_message = "The worker_reserved_concurrency must be -1 (unreserved) or a whole number between 0 and 1000."
  }
}

variable "orchestrator_timeout_seconds" {
  description = "Timeout of one orchestrator invocation in seconds, 60-900. It only reads the inventory, plans the lanes, writes them and starts the state machine."
  type        = number
  default     = 60

  validation {
    condition     = var.orchestrator_timeout_seconds == floor(var.orchestrator_timeout_seconds) && var.orchestrator_timeout_seconds >= 60 && var.orchestrator_timeout_seconds <= 900
    error_message = "The orchestrator_timeout_seconds must be a whole number between 60 and 900."
  }
}

variable "orchestrator_memory_size" {
  description = "Memory of the orchestrator in MB, 128-10240."
  type        = number
  default     = 512

  validation {
    condition     = var.orchestrator_memory_size == floor(var.orchestrator_memory_size) && var.orchestrator_memory_size >= 128 && var.orchestrator_memory_size <= 10240
    error_message = "The orchestrator_memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "orchestrator_reserved_concurrency" {
  description = "Reserved concurrent executions of the orchestrator; `1` keeps runs from overlapping, `-1` reserves none."
  type        = number
  default     = 1

  validation {
    condition     = var.orchestrator_reserved_concurrency == floor(var.orchestrator_reserved_concurrency) && var.orchestrator_reserved_concurrency >= -1 && var.orchestrator_reserved_concurrency <= 1000
    error_message = "The orchestrator_reserved_concurrency must be -1 (unreserved) or a whole number between 0 and 1000."
  }
}

variable "max_concurrency" {
  description = "How many lanes the state machine's Distributed Map runs at once (`MAX_CONCURRENCY`, passed in each execution's input), 1-10000; each lane checks one workspace at a time, so this bounds the checks in flight."
  type        = number
  default     = 40

  validation {
    condition     = var.max_concurrency == floor(var.max_concurrency) && var.max_concurrency >= 1 && var.max_concurrency <= 10000
    error_message = "The max_concurrency must be a whole number between 1 and 10000."
  }
}

variable "max_concurrency_per_account" {
  description = "How many checks of one target account run at once at most (`MAX_CONCURRENCY_PER_ACCOUNT`: the orchestrator plans that many lanes per account), 1-1000, at most `max_concurrency`."
  type        = number
  default     = 5

  validation {
    condition     = var.max_concurrency_per_account == floor(var.max_concurrency_per_account) && var.max_concurrency_per_account >= 1 && var.max_concurrency_per_account <= 1000
    error_message = "The max_concurrency_per_account must be a whole number between 1 and 1000."
  }
}

variable "max_concurrency_per_region" {
  description = "How many checks of one account's region run at once at most (`MAX_CONCURRENCY_PER_REGION`), 1-1000, at most `max_concurrency`."
  type        = number
  default     = 5

  validation {
    condition     = var.max_concurrency_per_region == floor(var.max_concurrency_per_region) && var.max_concurrency_per_region >= 1 && var.max_concurrency_per_region <= 1000
    error_message = "The max_concurrency_per_region must be a whole number between 1 and 1000."
  }
}

variable "terraform_parallelism" {
  description = "Terraform's `-parallelism` in each check of a workspace without its own `parallelism` (`TERRAFORM_PARALLELISM` of the worker and the CodeBuild lane), 1-256: concurrent provider operations against one target account; fewer mean less AWS API throttling."
  type        = number
  default     = 10

  validation {
    condition     = var.terraform_parallelism == floor(var.terraform_parallelism) && var.terraform_parallelism >= 1 && var.terraform_parallelism <= 256
    error_message = "The terraform_parallelism must be a whole number between 1 and 256."
  }
}

variable "attribution_enabled" {
  description = "Whether checks ask CloudTrail who made each drift (`changed_by` in reports; `ATTRIBUTION` of the worker and the CodeBuild lane). `cloudtrail:LookupEvents` allows 2 requests/s per account and region; an event's `attribute` can turn it off for one workspace."
  type        = bool
  default     = true
}

variable "attribution_ignore_principals" {
  description = "Globs of principals whose CloudTrail events never name a drift's author, such as the roles Terraform applies with (`arn:aws:iam::*:role/terraform-*`); `ATTRIBUTION_IGNORE_PRINCIPALS`. The drift role itself is always ignored."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.attribution_ignore_principals : length(trimspace(p)) > 0 && length(regexall(",", p)) == 0])
    error_message = "Each of attribution_ignore_principals must be a non-empty glob without a comma."
  }
}

variable "summarize_timeout_seconds" {
  description = "Timeout of the summarize function in seconds, 30-900: it reads every check's result, writes the run summary and, with `unmanaged_resources`, lists the inventory. With `unmanaged_resources` it must exceed `unmanaged_time_budget_seconds` by at least 60 s (the default 600 leaves the default 300 s budget room for the summary itself)."
  type        = number
  default     = 600

  validation {
    condition     = var.summarize_timeout_seconds == floor(var.summarize_timeout_seconds) && var.summarize_timeout_seconds >= 30 && var.summarize_timeout_seconds <= 900
    error_message = "The summarize_timeout_seconds must be a whole number between 30 and 900."
  }
}

variable "summarize_memory_size" {
  description = "Memory of the summarize function in MB, 128-10240."
  type        = number
  default     = 1024

  validation {
    condition     = var.summarize_memory_size == floor(var.summarize_memory_size) && var.summarize_memory_size >= 128 && var.summarize_memory_size <= 10240
    error_message = "The summarize_memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "worker_retry_max_attempts" {
  description = "Retries the state machine makes of one check on Lambda throttling or a transient Lambda error (and on CodeBuild throttling), with jittered exponential backoff, 0-20."
  type        = number
  default     = 6

  validation {
    condition     = var.worker_retry_max_attempts == floor(var.worker_retry_max_attempts) && var.worker_retry_max_attempts >= 0 && var.worker_retry_max_attempts <= 20
    error_message = "The worker_retry_max_attempts must be a whole number between 0 and 20."
  }
}

variable "orchestrator_maximum_retry_attempts" {
  description = "Retries of a failed asynchronous orchestrator invocation (0-2) before the event goes to the dead-letter queue."
  type        = number
  default     = 1

  validation {
    condition     = contains([0, 1, 2], var.orchestrator_maximum_retry_attempts)
    error_message = "The orchestrator_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "worker_maximum_retry_attempts" {
  description = "Retries of a failed asynchronous worker invocation (0-2). The state machine invokes the worker synchronously (see `worker_retry_max_attempts`); this applies to on-demand asynchronous invocations."
  type        = number
  default     = 0

  validation {
    condition     = contains([0, 1, 2], var.worker_maximum_retry_attempts)
    error_message = "The worker_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "async_maximum_event_age_seconds" {
  description = "Maximum age in seconds of an asynchronous invocation event before Lambda sends it to the dead-letter queue, 60-21600."
  type        = number
  default     = 3600

  validation {
    condition     = var.async_maximum_event_age_seconds == floor(var.async_maximum_event_age_seconds) && var.async_maximum_event_age_seconds >= 60 && var.async_maximum_event_age_seconds <= 21600
    error_message = "The async_maximum_event_age_seconds must be a whole number between 60 and 21600."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda, state machine and CodeBuild log groups in days. At least 7, and one of the values CloudWatch Logs accepts (7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 7 && contains([7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be at least 7 and one of 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_level" {
  description = "Log level of the functions and the CodeBuild lane: `DEBUG`, `INFO`, `WARN` or `ERROR`. The worker gets it lowercased as a tracing filter, the orchestrator and summarize as a Python level (`WARN` becomes `WARNING`)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)
    error_message = "The log_level must be one of DEBUG, INFO, WARN, ERROR."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the functions and the state machine: `Active` or `PassThrough` (the state machine traces only when `Active`)."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "The tracing_mode must be Active or PassThrough."
  }
}

variable "state_machine_log_level" {
  description = "Execution history the state machine logs to its log group: `ALL`, `ERROR`, `FATAL` or `OFF`. Execution data (which holds the workspaces' external IDs) is never logged."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "The state_machine_log_level must be one of ALL, ERROR, FATAL, OFF."
  }
}

################################################################################
# Unmanaged resources (the summarize step's inventory of what no workspace manages)
################################################################################

variable "unmanaged_resources" {
  description = "Whether the summarize step compares the run's states with the inventory of what exists (AWS Config, or the aggregator of `config_aggregator_*`, with the service APIs as fallback) and writes `unmanaged/<run_id>.json` (`UNMANAGED`, `on`/`off`). Its IAM statements (inventory reads, assuming the drift roles) exist only when this is true."
  type        = bool
  default     = true
}

variable "unmanaged_alert" {
  description = "Whether the run sends an alert when it finds unmanaged resources, resources managed twice or resources gone from the inventory (`UNMANAGED_ALERT`, `on`/`off`). Off by default: the counts are metrics and dashboard lines either way."
  type        = bool
  default     = false
}

variable "unmanaged_ignore" {
  description = "Ignore rules of the unmanaged-resource view, added to the rules file's `unmanaged.ignore` and the embedded defaults (`UNMANAGED_IGNORE_JSON`). Each rule has a `reason` and at least one matcher: `resource_type` (an AWS Config type glob, e.g. `AWS::EC2::*`), `id` (an identifier glob, e.g. `tf-state*`), `tag` (`key` or `key=value-glob`, e.g. `aws:cloudformation:stack-name`), `account_id` (12 digits), `region`; all the matchers a rule sets must match. The JSON must stay under 3000 characters, and the summarize environment as a whole within Lambda's 4 KB (checked at plan)."
  type = list(object({
    resource_type = optional(string)
    id            = optional(string)
    tag           = optional(string)
    account_id    = optional(string)
    region        = optional(string)
    reason        = string
  }))
  default = []

  validation {
    condition     = alltrue([for r in var.unmanaged_ignore : length(trimspace(r.reason)) > 0])
    error_message = "Every unmanaged_ignore rule needs a non-empty reason."
  }

  validation {
    condition     = alltrue([for r in var.unmanaged_ignore : anytrue([for m in [r.resource_type, r.id, r.tag, r.account_id, r.region] : try(length(trimspace(m)) > 0, false)])])
    error_message = "Every unmanaged_ignore rule needs at least one non-empty matcher: resource_type, id, tag, account_id or region."
  }

  validation {
    condition     = alltrue([for r in var.unmanaged_ignore : r.account_id == null || can(regex("^[0-9]{12}$", r.account_id))])
    error_message = "Every unmanaged_ignore account_id must be null or a 12-digit AWS account ID."
  }

  validation {
    condition     = length(jsonencode(var.unmanaged_ignore)) <= 3000
    error_message = "The unmanaged_ignore list encodes to more than 3000 characters and would crowd Lambda's 4 KB environment limit; put longer lists in the rules file's unmanaged.ignore instead."
  }
}

variable "unmanaged_time_budget_seconds" {
  description = "Seconds the summarize step may spend listing the inventory (`UNMANAGED_TIME_BUDGET_SECONDS`), 30-840; what is left unlisted is reported as not covered, never as unmanaged. `summarize_timeout_seconds` must exceed it by at least 60 s."
  type        = number
  default     = 300

  validation {
    condition     = var.unmanaged_time_budget_seconds == floor(var.unmanaged_time_budget_seconds) && var.unmanaged_time_budget_seconds >= 30 && var.unmanaged_time_budget_seconds <= 840
    error_message = "The unmanaged_time_budget_seconds must be a whole number between 30 and 840."
  }
}

################################################################################
# Event-driven checks (a check of the workspace a change touched, minutes after it)
################################################################################

variable "event_checks_enabled" {
  description = "Whether changes start checks: EventBridge rules for CloudTrail management writes (EC2, RDS, S3, IAM) and AWS Config item changes deliver to the change-events queue, the trigger function checks the workspaces whose resources they name (the resource index table), and the worker writes that index. The schedule stays the backstop either way."
  type        = bool
  default     = true
}

variable "event_check_min_interval" {
  description = "At most one event-driven check of a workspace per this many minutes, 1-15 (`EVENT_CHECK_MIN_INTERVAL_MINUTES`); the changes in between are checked by one trailing check, a queue message delayed up to this long (SQS delays stop at 15 minutes)."
  type        = number
  default     = 10

  validation {
    condition     = var.event_check_min_interval == floor(var.event_check_min_interval) && var.event_check_min_interval >= 1 && var.event_check_min_interval <= 15
    error_message = "The event_check_min_interval must be a whole number of minutes between 1 and 15."
  }
}

variable "event_ignore_principals" {
  description = "Globs of principals whose changes start no check, such as the roles Terraform applies with (`arn:aws:iam::*:role/terraform-*`; a role ARN also matches its sessions). Added to the drift roles (`cross_account_role_arns`) and this stack's function roles in `EVENT_IGNORE_PRINCIPALS`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.event_ignore_principals : length(trimspace(p)) > 0 && length(regexall(",", p)) == 0])
    error_message = "Each of event_ignore_principals must be a non-empty glob without a comma."
  }
}

variable "event_source_organization_id" {
  description = "AWS Organizations ID (o-...) whose accounts may put events on this account's default bus, instead of the member accounts of `workspaces` and `cross_account_role_arns`; null for those accounts only."
  type        = string
  default     = null

  validation {
    condition     = var.event_source_organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.event_source_organization_id))
    error_message = "The event_source_organization_id must be an organization ID, o- followed by 10-32 lowercase letters or digits."
  }
}

variable "resource_index_ttl_hours" {
  description = "Hours an entry of the resource index lives after the check that wrote it (`INDEX_TTL_HOURS`), at least 12 and more than two schedule intervals for a rate() schedule: the default 24 outlives four 6-hour runs, so a workspace's entries expire only when it is no longer checked."
  type        = number
  default     = 24

  validation {
    condition     = var.resource_index_ttl_hours == floor(var.resource_index_ttl_hours) && var.resource_index_ttl_hours >= 12 && var.resource_index_ttl_hours <= 8760
    error_message = "The resource_index_ttl_hours must be a whole number of hours between 12 and 8760."
  }
}

variable "detection_latency_alarm_seconds" {
  description = "Alarm when an event-driven check's detection latency (the change's event time to the report written, the worker's `DetectionLatencySeconds`) exceeds this many seconds, 60-86400."
  type        = number
  default     = 900

  validation {
    condition     = var.detection_latency_alarm_seconds == floor(var.detection_latency_alarm_seconds) && var.detection_latency_alarm_seconds >= 60 && var.detection_latency_alarm_seconds <= 86400
    error_message = "The detection_latency_alarm_seconds must be a whole number between 60 and 86400."
  }
}

variable "trigger_timeout_seconds" {
  description = "Timeout of one trigger invocation (a batch of up to 10 queue messages) in seconds, 10-300; the change-events queue's visibility timeout is six times this."
  type        = number
  default     = 60

  validation {
    condition     = var.trigger_timeout_seconds == floor(var.trigger_timeout_seconds) && var.trigger_timeout_seconds >= 10 && var.trigger_timeout_seconds <= 300
    error_message = "The trigger_timeout_seconds must be a whole number between 10 and 300."
  }
}

variable "trigger_memory_size" {
  description = "Memory of the trigger function in MB, 128-10240."
  type        = number
  default     = 256

  validation {
    condition     = var.trigger_memory_size == floor(var.trigger_memory_size) && var.trigger_memory_size >= 128 && var.trigger_memory_size <= 10240
    error_message = "The trigger_memory_size must be a whole number between 128 and 10240."
  }
}

################################################################################
# CodeBuild lane (checks that outlast Lambda)
################################################################################

variable "codebuild_image" {
  description = "Build image of the CodeBuild lane, an ARM container image (the worker is built for arm64)."
  type        = string
  default     = "aws/codebuild/amazonlinux-aarch64-standard:3.0"

  validation {
    condition     = length(var.codebuild_image) > 0
    error_message = "The codebuild_image must not be empty."
  }
}

variable "codebuild_compute_type" {
  description = "Compute type of the CodeBuild lane: `BUILD_GENERAL1_SMALL` (the default), `BUILD_GENERAL1_MEDIUM`, `BUILD_GENERAL1_LARGE`, `BUILD_GENERAL1_XLARGE` or `BUILD_GENERAL1_2XLARGE`; which ARM sizes exist depends on the region."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"], var.codebuild_compute_type)
    error_message = "The codebuild_compute_type must be one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE."
  }
}

variable "codebuild_timeout_minutes" {
  description = "Build timeout of one check in the CodeBuild lane, in minutes, 5-480."
  type        = number
  default     = 120

  validation {
    condition     = var.codebuild_timeout_minutes == floor(var.codebuild_timeout_minutes) && var.codebuild_timeout_minutes >= 5 && var.codebuild_timeout_minutes <= 480
    error_message = "The codebuild_timeout_minutes must be a whole number between 5 and 480."
  }
}

################################################################################
# Metrics
################################################################################

variable "metrics_namespace" {
  description = "CloudWatch namespace of the Embedded Metric Format metrics the functions and the CodeBuild lane emit (`METRICS_NAMESPACE`, `POWERTOOLS_METRICS_NAMESPACE`); the dashboard and alarms read it."
  type        = string
  default     = "DriftDetection"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._/#:-]{0,254}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "The metrics_namespace must be 1-255 characters of letters, digits and . _ / # : - and must not start with AWS/."
  }
}

################################################################################
# Workspaces and access
################################################################################

variable "workspaces" {
  description = "Workspaces to check (entries of the workspace contract, schemas/workspace.v1.json: the same file serves the CLI), passed to the orchestrator as `WORKSPACES_JSON` (leave empty when `inventory_s3_uri` is set: the orchestrator takes exactly one of the two). `source` is the S3 URI of the workspace bundle (`s3://bucket/key.zip`) or a path on the worker's own file system; `role_arn`/`external_id` the read-only role the worker assumes in the target account; `backend_config` the `-backend-config` pairs for `terraform init`; `mode` one of `plan` (the default: one refresh, drift with verdicts and pending changes), `refresh-only` (drift only), `both` (deprecated alias of `plan`); `terraform_workspace`, `lock`, `lock_timeout` (e.g. `60s`, `5m`) and `parallelism` (1-256, Terraform's `-parallelism`; its default is 10) are passed to Terraform; `runner` is where the check runs, `lambda` (the default) or `codebuild`. The JSON must stay under 3000 characters (Lambda caps all environment variables at 4 KB); use `inventory_s3_uri` for larger inventories."
  type = list(object({
    name                = string
    environment         = string
    account_id          = string
    region              = string
    source              = string
    role_arn            = optional(string)
    external_id         = optional(string)
    backend_config      = optional(map(string), {})
    mode                = optional(string)
    terraform_workspace = optional(string)
    lock                = optional(bool)
    lock_timeout        = optional(string)
    parallelism         = optional(number)
    runner              = optional(string)
  }))
  default = []

  # The rules of the workspace contract, schemas/workspace.v1.json ($defs/AwsEntry),
  # with its patterns verbatim (RE2's `$`, like JSON Schema's, matches only at
  # the end) and its lengths as length(): RE2 caps a repeat count at 1000.
  # tests/stack/test_stack_contract.py holds the two together.
  validation {
    condition     = alltrue([for w in var.workspaces : can(regex("^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$", w.name)) && length(w.name) >= 1 && length(w.name) <= 128 && can(regex("^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$", w.environment)) && length(w.environment) >= 1 && length(w.environment) <= 64])
    error_message = "Every workspace name (1-128) and environment (1-64) must be letters, digits, '_', '.' and '-', and not only dots."
  }

  validation {
    condition     = length(distinct([for w in var.workspaces : "${w.environment}/${w.name}"])) == length(var.workspaces)
    error_message = "Every workspace environment/name pair must be unique: their reports would overwrite each other."
  }

  validation {
    condition     = alltrue([for w in var.workspaces : can(regex("^[0-9]{12}$", w.account_id)) && can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$", w.region))])
    error_message = "Every workspace needs a 12-digit account_id and an AWS region code such as us-east-1."
  }

  validation {
    condition     = alltrue([for w in var.workspaces : w.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", w.role_arn))])
    error_message = "Every workspace role_arn must be null or an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
  }

  validation {
    condition     = alltrue([for w in var.workspaces : w.external_id == null || try(can(regex("^[^\\x00-\\x1f\\x7f-\\x9f]*$", w.external_id)) && length(w.external_id) >= 2 && length(w.external_id) <= 1224, false)]) && alltrue([for w in var.workspaces : w.role_arn != null || w.external_id == null])
    error_message = "Every workspace external_id must be 2-1224 characters, none of them a control character, and is only allowed together with a role_arn."
  }

  validation {
    condition     = alltrue([for w in var.workspaces : can(regex("^s3://[^/]+/[\\s\\S]", w.source)) || (!can(regex("://", w.source)) && can(regex("[^ \\t\\r\\n]", w.source)))])
    error_message = "Every workspace source must be s3://BUCKET/KEY or a path on the worker's own file system."
  }

  validation {
    condition     = alltrue([for w in var.workspaces : alltrue([for k in keys(w.backend_config) : can(regex("^[A-Za-z0-9_]+$", k))])])
    error_message = "Every backend_config key must be letters, digits and '_' (a terraform init -backend-config name)."
  }

  validation {
    condition     = alltrue([for w in var.workspaces : (w.mode == null || contains(["plan", "refresh-only", "both"], coalesce(w.mode, "plan"))) && (w.terraform_workspace == null || try(can(regex("^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$", w.terraform_workspace)) && length(w.terraform_workspace) >= 1 && length(w.terraform_workspace) <= 90, false)) && (w.lock_timeout == null || can(regex("^[0-9]+[smh]$", w.lock_timeout)))])
    error_message = "Every workspace mode must be plan, refresh-only or both (deprecated); terraform_workspace 1-90 letters, digits, '_', '.', '-', not only dots; lock_timeout a duration such as 60s or 5m."
  }

  validation {
    condition     = alltrue([for w in var.workspaces : (w.parallelism == null || try(w.parallelism >= 1 && w.parallelism <= 256 && floor(w.parallelism) == w.parallelism, false)) && (w.runner == null || contains(["lambda", "codebuild"], coalesce(w.runner, "lambda")))])
    error_message = "Every workspace parallelism must be a whole number from 1 to 256, and runner lambda or codebuild."
  }

  validation {
    condition     = length(jsonencode(var.workspaces)) <= 3000
    error_message = "The workspaces list encodes to more than 3000 characters and would exceed Lambda's 4 KB environment limit; put the inventory in S3 and set inventory_s3_uri instead."
  }
}

variable "inventory_s3_uri" {
  description = "S3 URI of the workspace inventory JSON the orchestrator reads (`INVENTORY_S3_URI`), e.g. `s3://<reports bucket>/inventory/workspaces.json`, instead of `workspaces` (set one of the two). `null` (the default) means no inventory object: the orchestrator uses `workspaces`, and the variable is passed as an empty string."
  type        = string
  default     = null

  validation {
    condition     = var.inventory_s3_uri == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\\.json$", var.inventory_s3_uri))
    error_message = "The inventory_s3_uri must be null or an S3 URI of a .json object: s3://bucket/key.json."
  }
}

variable "workspace_bundle_arns" {
  description = "S3 object ARNs or ARN patterns of workspace bundles the worker may read, e.g. `arn:aws:s3:::my-bundles/drift/*`. `null` (the default) allows the reports bucket's `bundles/*` prefix. The `source` objects of `workspaces` are always allowed in addition."
  type        = list(string)
  default     = null

  validation {
    condition     = var.workspace_bundle_arns == null ? true : alltrue([for a in var.workspace_bundle_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$", a))])
    error_message = "Every workspace_bundle_arns entry must be an S3 object ARN or pattern: arn:aws:s3:::bucket/key-or-prefix*."
  }
}

variable "state_object_arns" {
  description = "ARNs of the Terraform state objects the worker reads, exact keys such as `arn:aws:s3:::tf-state-prod/network/terraform.tfstate` (buckets in any region or account). The worker also gets `s3:ListBucket` on their buckets."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.state_object_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^*]+$", a))])
    error_message = "Every state_object_arns entry must be an exact S3 object ARN (no wildcards): arn:aws:s3:::bucket/path/terraform.tfstate."
  }
}

variable "state_kms_key_arns" {
  description = "ARNs of KMS keys that encrypt the state objects in `state_object_arns`; the worker may decrypt with them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.state_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", a))])
    error_message = "Every state_kms_key_arns entry must be a KMS key ARN: arn:aws:kms:<region>:<account>:key/<uuid>."
  }
}

variable "state_lock_table_arns" {
  description = "ARNs of other DynamoDB state-lock tables the worker may lock (`GetItem`, `PutItem`, `DeleteItem`), in any region. The tables from `state_lock_tables` are always included."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.state_lock_table_arns : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", a))])
    error_message = "Every state_lock_table_arns entry must be a DynamoDB table ARN: arn:aws:dynamodb:<region>:<account>:table/<name>."
  }
}

variable "cross_account_role_arns" {
  description = "ARNs of the read-only drift roles in target accounts that the worker may assume (`sts:AssumeRole`, nothing else). Every `role_arn` in `workspaces` must be listed here."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cross_account_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", a))])
    error_message = "Every cross_account_role_arns entry must be an IAM role ARN: arn:aws:iam::<account>:role/<name>."
  }
}

variable "cross_account_external_id" {
  description = "External ID the cross-account drift roles require from the worker (`sts:ExternalId`) where a workspace sets none of its own. Used in the `cross_account_drift_role_trust_policies` output."
  type        = string
  default     = null

  validation {
    condition     = var.cross_account_external_id == null || can(regex("^[A-Za-z0-9+=,.@:/_-]{2,1224}$", var.cross_account_external_id))
    error_message = "The cross_account_external_id must be null or 2-1224 characters of letters, digits and +=,.@:/_-."
  }
}

variable "remote_states" {
  description = "Other workspaces' states to read with `terraform_remote_state` (e.g. the outputs of the dev/staging/prod stacks in other regions), keyed by a short name. `config` is the backend configuration (for `s3`: bucket, key, region and optionally an assume_role object); the outputs are exposed, sensitive, as `remote_state_outputs`."
  type = map(object({
    backend   = optional(string, "s3")
    config    = any
    workspace = optional(string, "default")
  }))
  default = {}

  validation {
    condition     = alltrue([for k, v in var.remote_states : can(regex("^[a-z0-9_-]{1,64}$", k)) && contains(["s3", "remote", "local", "http", "gcs", "azurerm", "consul", "pg", "kubernetes", "cos", "oss"], v.backend)])
    error_message = "Every remote_states key must be 1-64 lowercase letters, digits, '_' or '-', and backend must be a Terraform backend type such as s3."
  }

  validation {
    condition     = alltrue([for v in values(var.remote_states) : v.backend != "s3" || (can(v.config.bucket) && can(v.config.key) && can(v.config.region))])
    error_message = "Every remote_states entry with the s3 backend needs config.bucket, config.key and config.region."
  }
}

################################################################################
# Schedule
################################################################################

variable "schedule_expression" {
  description = "EventBridge schedule of the drift check, `rate(...)` or `cron(...)`."
  type        = string
  default     = "rate(6 hours)"

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^)]+\\))$", var.schedule_expression))
    error_message = "The schedule_expression must be rate(<n> <unit>) or cron(<fields>), e.g. rate(6 hours)."
  }
}

variable "schedule_enabled" {
  description = "Whether the scheduled rule is enabled. On-demand runs (invoking the orchestrator) work either way."
  type        = bool
  default     = true
}

variable "schedule_maximum_retry_attempts" {
  description = "Retries EventBridge makes to deliver a scheduled event to the orchestrator (0-185) before it goes to the dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.schedule_maximum_retry_attempts == floor(var.schedule_maximum_retry_attempts) && var.schedule_maximum_retry_attempts >= 0 && var.schedule_maximum_retry_attempts <= 185
    error_message = "The schedule_maximum_retry_attempts must be a whole number between 0 and 185."
  }
}

variable "schedule_maximum_event_age_seconds" {
  description = "Maximum age in seconds of a scheduled event EventBridge still tries to deliver (60-86400)."
  type        = number
  default     = 3600

  validation {
    condition     = var.schedule_maximum_event_age_seconds == floor(var.schedule_maximum_event_age_seconds) && var.schedule_maximum_event_age_seconds >= 60 && var.schedule_maximum_event_age_seconds <= 86400
    error_message = "The schedule_maximum_event_age_seconds must be a whole number between 60 and 86400."
  }
}

################################################################################
# Alerts and dashboard
################################################################################

variable "alert_emails" {
  description = "Email addresses subscribed to the drift alert topic. Each must confirm the subscription email AWS sends."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$", e))]) && length(distinct(var.alert_emails)) == length(var.alert_emails)
    error_message = "Every alert_emails entry must be a valid email address, and addresses must be unique."
  }
}

variable "missed_run_alarm_hours" {
  description = "Hours without a summarised run (the summarize step's `WorkspacesChecked` metric) after which the missed-run alarm fires, 1-24. The default of 7 allows one late run on a 6-hour schedule."
  type        = number
  default     = 7

  validation {
    condition     = var.missed_run_alarm_hours == floor(var.missed_run_alarm_hours) && var.missed_run_alarm_hours >= 1 && var.missed_run_alarm_hours <= 24
    error_message = "The missed_run_alarm_hours must be a whole number between 1 and 24."
  }
}

variable "dashboard_environments" {
  description = "Environments the dashboard draws one line each for (the `Environment` dimension of the worker's metrics)."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.dashboard_environments) >= 1 && length(var.dashboard_environments) <= 20 && alltrue([for e in var.dashboard_environments : can(regex("^[a-z][a-z0-9-]{0,15}$", e))])
    error_message = "The dashboard_environments must list 1-20 environment names of lowercase letters, digits and hyphens."
  }
}
