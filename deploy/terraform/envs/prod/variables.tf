variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Environment name; resources are named flight-assets-<environment>."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.environment))
    error_message = "environment is 1-12 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "lambda_zip_path" {
  description = "Lambda package built by `make lambda-zip`; null means <repo>/build/lambda.zip."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------------- OpenSky

variable "opensky_tier" {
  description = "Tier of the OpenSky credentials: anonymous, standard, feeder or licensed. Polling every 30 s needs a box <= 25 sq deg on standard, <= 100 sq deg on feeder; only licensed can poll the globe that often."
  type        = string
  default     = "standard"
}

variable "opensky_bbox" {
  description = "lamin,lomin,lamax,lomax, or null for the globe."
  type        = string
  default     = null
}

variable "opensky_extended" {
  description = "Ask for the aircraft category field (extended=1)."
  type        = bool
  default     = false
}

variable "opensky_secret_arn" {
  description = "An existing secret {\"client_id\", \"client_secret\"}; null creates <prefix>/opensky for you to fill."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the created OpenSky secret after destroy (0 deletes at once)."
  type        = number
  default     = 30
}

# ------------------------------------------------------------------------------------------------------- lake

variable "lake_prefix" {
  description = "Key prefix of the lake in its bucket (FLIGHT_LAKE=s3://<bucket>/<lake_prefix>)."
  type        = string
  default     = "lake"
}

variable "raw_ia_days" {
  description = "Raw snapshots move to Standard-IA after this many days."
  type        = number
  default     = 30
}

variable "raw_glacier_days" {
  description = "Raw snapshots move to raw_glacier_storage_class after this many days."
  type        = number
  default     = 90
}

variable "raw_glacier_storage_class" {
  description = "GLACIER_IR (Athena can still read it), GLACIER or DEEP_ARCHIVE."
  type        = string
  default     = "GLACIER_IR"
}

variable "raw_expiration_days" {
  description = "Raw snapshots expire after this many days."
  type        = number
  default     = 730
}

variable "processed_expiration_days" {
  description = "Parquet layers expire after this many days; null keeps them."
  type        = number
  default     = null
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets, the ECR repository and the Athena workgroup."
  type        = bool
  default     = false
}

# ------------------------------------------------------------------------------------------- ingestion / alerts

variable "ingestion_enabled" {
  description = "Whether the Lambda's every-minute schedule is on. Off by default: turn on after the OpenSky secret holds credentials; leave off when polling from outside AWS (external_poller)."
  type        = bool
  default     = false
}

variable "ingest_reserved_concurrency" {
  description = "Reserved concurrency of the ingestion Lambda; null reserves none (new accounts have a quota of 10 and cannot reserve). The credit governor's conditional PUT on _state/ already serialises overlapping polls."
  type        = number
  default     = null
}

variable "no_snapshot_alarm_minutes" {
  description = "Alarm when no snapshot landed for this many minutes."
  type        = number
  default     = 10
}

variable "log_retention_days" {
  description = "Retention of every log group."
  type        = number
  default     = 365
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to the alerts topic."
  type        = list(string)
  default     = []
}

# ----------------------------------------------------------------------------------------------------- Athena

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query scan limit of the Athena workgroup, bytes."
  type        = number
  default     = 10737418240
}

variable "athena_named_queries" {
  description = "Save the README's two example queries as Athena named queries."
  type        = bool
  default     = true
}

# ----------------------------------------------------------------------------------------------- Dagster / ECS

variable "enable_dagster" {
  description = "Deploy Dagster on ECS (network, RDS, ALB, services). False deploys the lake, ingestion, Athena and monitoring only."
  type        = bool
  default     = true
}

variable "image_tag" {
  description = "The Dagster image's tag in ECR, set in terraform.tfvars and only there. null (the first apply, before an image is pushed) creates everything but the three ECS services; a tag runs them on that image."
  type        = string
  default     = null
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: the architecture the image is built for."
  type        = string
  default     = "X86_64"
}

variable "webserver_allowed_cidrs" {
  description = "CIDRs allowed to open the Dagster UI. Empty: nobody."
  type        = list(string)
  default     = []
}

variable "alb_internet_facing" {
  description = "Put the UI's load balancer in public subnets (still limited to webserver_allowed_cidrs)."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate (issued for webserver_domain_name) for HTTPS on the load balancer; port 80 then only redirects. Required when alb_internet_facing; null serves HTTP on 80 from an internal load balancer."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn != null || !var.alb_internet_facing
    error_message = "alb_internet_facing = true needs certificate_arn (and webserver_domain_name): the Dagster UI has no login and is never served over plain HTTP on the internet."
  }
}

variable "webserver_domain_name" {
  description = "The name on certificate_arn (e.g. dagster.example.com); dagster_url is https://<this name>. Required with certificate_arn."
  type        = string
  default     = null
}

variable "route53_zone_id" {
  description = "Hosted zone of webserver_domain_name: creates an alias record to the load balancer. null: create the DNS record yourself."
  type        = string
  default     = null
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "db_instance_class" {
  description = "RDS instance class of Dagster's storage."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_multi_az" {
  description = "Multi-AZ standby for Dagster's database."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "Protect Dagster's database from deletion (and snapshot it when deleted)."
  type        = bool
  default     = true
}

variable "db_performance_insights" {
  description = "Performance Insights on Dagster's database."
  type        = bool
  default     = true
}

variable "db_monitoring_interval" {
  description = "Enhanced monitoring interval of Dagster's database, seconds (0 disables)."
  type        = number
  default     = 60
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC created for Dagster."
  type        = string
  default     = "10.40.0.0/16"
}

variable "partitions_start" {
  description = "First hourly partition of the Dagster assets (FLIGHT_PARTITIONS_START, YYYY-MM-DD): the day the lake's data starts."
  type        = string
  default     = "2026-12-01"
}

variable "external_poller" {
  description = "Create an IAM user for polling OpenSky from a host outside AWS (when OpenSky blocks AWS; deploy/README.md). Its policy is the output external_poller_policy_json. Set ingestion_enabled = false when it polls."
  type        = bool
  default     = false
}
