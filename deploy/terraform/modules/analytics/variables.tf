variable "name_prefix" {
  description = "Prefix of every resource name; the Glue database is its snake_case form."
  type        = string
}

variable "lake_bucket" {
  description = "Name of the lake bucket."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the bucket (no slashes at either end; empty for the root)."
  type        = string
}

variable "athena_results_bucket" {
  description = "Bucket for Athena query results."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting Athena query results."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query of this workgroup that scans more bytes than this (minimum 10 MB)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "Athena's smallest bytes-scanned cutoff is 10 MB (10485760)."
  }
}

variable "projection_years" {
  description = "First and last year partition projection enumerates (year=YYYY)."
  type        = tuple([number, number])
  default     = [2025, 2035]
}

variable "example_day" {
  description = "UTC day (YYYY-MM-DD) the saved example queries filter on; edit it in the console before running."
  type        = string
  default     = "2025-08-30"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.example_day))
    error_message = "example_day is YYYY-MM-DD."
  }
}

variable "named_queries" {
  description = "Save the two example queries as Athena named queries."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let terraform destroy delete the workgroup with its saved queries and history."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
