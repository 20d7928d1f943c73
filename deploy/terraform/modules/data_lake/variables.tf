variable "name_prefix" {
  description = "Prefix of every resource name, e.g. flight-assets-prod. Bucket names append the account id."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the lake bucket (FLIGHT_LAKE=s3://<bucket>/<lake_prefix>). Empty for the bucket root."
  type        = string
  default     = "lake"

  validation {
    condition     = !startswith(var.lake_prefix, "/") && !endswith(var.lake_prefix, "/")
    error_message = "lake_prefix has no leading or trailing slash."
  }
}

variable "raw_ia_days" {
  description = "Days after which raw snapshots move to S3 Standard-IA (at least 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.raw_ia_days >= 30
    error_message = "S3 moves objects to Standard-IA no earlier than 30 days after creation."
  }
}

variable "raw_glacier_days" {
  description = "Days after which raw snapshots move to Glacier (raw_glacier_storage_class)."
  type        = number
  default     = 90
}

variable "raw_glacier_storage_class" {
  description = "GLACIER_IR keeps raw objects readable by Athena; GLACIER or DEEP_ARCHIVE are cheaper but need a restore."
  type        = string
  default     = "GLACIER_IR"

  validation {
    condition     = contains(["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.raw_glacier_storage_class)
    error_message = "raw_glacier_storage_class is one of GLACIER_IR, GLACIER, DEEP_ARCHIVE."
  }
}

variable "raw_expiration_days" {
  description = "Days after which raw snapshots expire. Must exceed raw_glacier_days by the storage class minimum (90 days for GLACIER_IR/GLACIER)."
  type        = number
  default     = 730
}

variable "processed_expiration_days" {
  description = "Days after which validated, quarantined and aggregated Parquet expires; null keeps it forever."
  type        = number
  default     = null
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept (the bucket is versioned)."
  type        = number
  default     = 30
}

variable "compute_log_days" {
  description = "Days Dagster compute logs (stdout/stderr of runs) are kept."
  type        = number
  default     = 30
}

variable "athena_results_days" {
  description = "Days Athena query results are kept."
  type        = number
  default     = 30
}

variable "access_log_days" {
  description = "Days S3 server access logs and ALB access logs are kept."
  type        = number
  default     = 365
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the customer-managed key is deleted after terraform destroy."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets. Keep false in production."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
