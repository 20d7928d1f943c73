variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_zip_path" {
  description = "Path of the Lambda package built by `make lambda-zip` (build/lambda.zip)."
  type        = string
}

variable "lake_uri" {
  description = "The lake root, s3://<bucket>/<prefix> (FLIGHT_LAKE)."
  type        = string
}

variable "lake_bucket_arn" {
  description = "ARN of the lake bucket."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the bucket (no slashes at either end; empty for the root)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the lake, the queue, the logs and the secret."
  type        = string
}

variable "alerts_topic_arn" {
  description = "SNS topic the alarms notify."
  type        = string
}

variable "opensky_tier" {
  description = "OpenSky tier of the credentials: anonymous, standard, feeder or licensed (OPENSKY_TIER). `flight-assets credits --tier T --bbox B` shows what a tier sustains."
  type        = string
  default     = "standard"

  validation {
    condition     = contains(["anonymous", "standard", "feeder", "licensed"], var.opensky_tier)
    error_message = "opensky_tier is one of anonymous, standard, feeder, licensed."
  }
}

variable "opensky_bbox" {
  description = "Bounding box lamin,lomin,lamax,lomax (OPENSKY_BBOX); null polls the globe. A 30-s cadence needs a box <= 25 sq deg on standard, <= 100 on feeder; licensed can poll the globe."
  type        = string
  default     = null
}

variable "opensky_extended" {
  description = "Ask OpenSky for the 18th `category` field (OPENSKY_EXTENDED)."
  type        = bool
  default     = false
}

variable "opensky_secret_arn" {
  description = "Existing Secrets Manager secret holding {\"client_id\", \"client_secret\"}; null creates an empty one (unless the tier is anonymous) for you to fill."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the created OpenSky secret after terraform destroy (0 deletes at once)."
  type        = number
  default     = 30
}

variable "polls_per_invocation" {
  description = "Polls per invocation (POLLS_PER_INVOCATION): EventBridge fires at most once a minute, so 2 polls 30 s apart give a 30-s cadence."
  type        = number
  default     = 2
}

variable "poll_spacing_s" {
  description = "Seconds between the polls of one invocation (POLL_SPACING_S)."
  type        = number
  default     = 30
}

variable "memory_mb" {
  description = "Lambda memory; a 10,000-state global snapshot parses and gzips well within 256 MB."
  type        = number
  default     = 256
}

variable "timeout_s" {
  description = "Lambda timeout; below 60 s so one invocation ends before the next minute's starts."
  type        = number
  default     = 59

  validation {
    condition     = var.timeout_s >= 30 && var.timeout_s < 60
    error_message = "timeout_s must be between 30 and 59 seconds."
  }
}

variable "ingestion_enabled" {
  description = "Whether the Lambda's EventBridge schedule is enabled. Off by default: the first apply creates the OpenSky secret empty; enable after putting the credentials in, and turn off again to poll from outside AWS instead (deploy/README.md, OpenSky blocks AWS)."
  type        = bool
  default     = false
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function; null (default) reserves none. Not needed for correctness: overlapping invocations are serialised by the credit governor, whose claim is a conditional PUT (If-Match/If-None-Match) on _state/, so at most one poll per slot is spent. Setting 1 fails on new accounts whose concurrency quota is 10 (UnreservedConcurrentExecution below its minimum value)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null ? true : var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be null or at least 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
}

variable "no_snapshot_alarm_minutes" {
  description = "Alarm when no snapshot landed for this many minutes (EMF metric Landed). Keep it above the cadence your tier and box allow."
  type        = number
  default     = 10

  validation {
    condition     = var.no_snapshot_alarm_minutes >= 2 && var.no_snapshot_alarm_minutes <= 1440
    error_message = "no_snapshot_alarm_minutes must be between 2 and 1440."
  }
}

variable "errors_alarm_threshold" {
  description = "Alarm when the function fails this many invocations (every poll failed) within 5 minutes."
  type        = number
  default     = 3
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "external_poller" {
  description = "Create an IAM user (in a group with the external_poller_policy_json policy: raw/ and _state/ only) for running the poller outside AWS, e.g. when OpenSky blocks AWS's IP ranges."
  type        = bool
  default     = false
}
