variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the tasks, the database and the load balancer."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC (the tasks' egress to the code server and the database stays inside it)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (with a NAT route) for the Fargate tasks and RDS; at least two AZs."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for an internet-facing load balancer (only used when alb_internet_facing)."
  type        = list(string)
  default     = []
}

variable "alb_internet_facing" {
  description = "Put the webserver's load balancer in the public subnets. Access is still limited to webserver_allowed_cidrs."
  type        = bool
  default     = false
}

variable "webserver_allowed_cidrs" {
  description = "CIDR blocks allowed to reach the Dagster UI through the load balancer. Empty (the default) means nobody: the UI has no login of its own."
  type        = list(string)
  default     = []
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on the load balancer (port 80 then only redirects to 443). Required when alb_internet_facing; null serves plain HTTP on port 80, which only an internal load balancer may do."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn != null || !var.alb_internet_facing
    error_message = "An internet-facing load balancer (alb_internet_facing = true) needs certificate_arn: the Dagster UI is never served over plain HTTP on the internet."
  }
}

variable "webserver_domain_name" {
  description = "The name on certificate_arn that users open (e.g. dagster.example.com); required with certificate_arn, so that the webserver_url output matches the certificate."
  type        = string
  default     = null

  validation {
    condition     = (var.webserver_domain_name == null) == (var.certificate_arn == null)
    error_message = "Set webserver_domain_name (the name on the certificate) together with certificate_arn, and only with it."
  }
}

variable "route53_zone_id" {
  description = "Public or private Route 53 hosted zone of webserver_domain_name: an alias record to the load balancer is created there. null: point the name at the load balancer yourself."
  type        = string
  default     = null

  validation {
    condition     = var.route53_zone_id == null || var.webserver_domain_name != null
    error_message = "route53_zone_id needs webserver_domain_name (and certificate_arn)."
  }
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "Bucket (SSE-S3) receiving the load balancer's access logs under alb/."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key (lake, logs, ECR, RDS, secrets, topic)."
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

variable "lake_uri" {
  description = "The lake root, s3://<bucket>/<prefix> (FLIGHT_LAKE)."
  type        = string
}

variable "compute_logs_prefix" {
  description = "Key prefix in the lake bucket for Dagster's compute logs."
  type        = string
}

variable "alerts_topic_arn" {
  description = "SNS topic Dagster's run-failure sensor publishes to (FLIGHT_ALERTS_TOPIC_ARN)."
  type        = string
}

variable "image_tag" {
  description = "Tag of the image in this module's ECR repository that the services and runs use (tags are immutable: push a new tag per release). null, before the first image is pushed, creates everything but the task definitions and the three services."
  type        = string
  default     = null

  validation {
    condition     = var.image_tag == null || can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag is a Docker tag (letters, digits, _ . -, at most 128 characters) or null."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image and of every Fargate task: X86_64 or ARM64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture is X86_64 or ARM64."
  }
}

variable "task_sizes" {
  description = "Fargate CPU units and memory (MiB) per service. Run tasks get run_resources from deploy/dagster.yaml (1 vCPU, 2 GiB)."
  type = map(object({
    cpu    = number
    memory = number
  }))
  default = {
    webserver = { cpu = 512, memory = 1024 }
    daemon    = { cpu = 512, memory = 1024 }
    code      = { cpu = 512, memory = 1024 }
  }
}

variable "log_retention_days" {
  description = "Retention of the services' and runs' log groups."
  type        = number
  default     = 365
}

variable "db_instance_class" {
  description = "RDS instance class of Dagster's PostgreSQL storage."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "16"
}

variable "db_allocated_storage_gb" {
  description = "Initial storage (gp3); grows automatically up to db_max_allocated_storage_gb."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "Standby in a second AZ (doubles the instance cost)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Automated backup retention."
  type        = number
  default     = 7
}

variable "db_deletion_protection" {
  description = "Protect the database from deletion (and take a final snapshot when it is deleted)."
  type        = bool
  default     = true
}

variable "db_performance_insights" {
  description = "Performance Insights (7 days free)."
  type        = bool
  default     = true
}

variable "db_monitoring_interval" {
  description = "Enhanced monitoring interval in seconds (0 disables it)."
  type        = number
  default     = 60
}

variable "extra_environment" {
  description = "More environment variables for every Dagster container and run task (e.g. OPENSKY_TIER)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "force_destroy" {
  description = "Let terraform destroy delete the ECR repository with its images."
  type        = bool
  default     = false
}

variable "partitions_start" {
  description = "First hourly partition (FLIGHT_PARTITIONS_START, YYYY-MM-DD): the first day of data. Fixed here so that the UI keeps showing every hour since then (unset, a process shows the last 7 days)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", var.partitions_start))
    error_message = "partitions_start must be a date, YYYY-MM-DD."
  }
}

variable "opensky_tier" {
  description = "OPENSKY_TIER for every Dagster container and run task: the same tier as the ingestion Lambda, which shares the credit governor's _state/ with ingest_snapshot_job."
  type        = string
  default     = "anonymous"
}

variable "opensky_bbox" {
  description = "OPENSKY_BBOX (lamin,lomin,lamax,lomax), the Lambda's box; null for the globe."
  type        = string
  default     = null
}

variable "opensky_extended" {
  description = "OPENSKY_EXTENDED, as the Lambda has it."
  type        = bool
  default     = false
}

variable "opensky_secret_arn" {
  description = "The OpenSky credentials secret; the code reads it at run time (OPENSKY_SECRET_ARN), so a secret without a value yet cannot stop a container from starting. When set, the code server and run task roles may read it; null for the anonymous tier."
  type        = string
  default     = null
}
