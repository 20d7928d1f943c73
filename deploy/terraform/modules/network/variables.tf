variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "cidr_block" {
  description = "CIDR block of the VPC; split into /20 subnets, public ones first."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zone_suffixes" {
  description = "Zones of the region to span, by letter (RDS subnet groups and ALBs need at least 2)."
  type        = list(string)
  default     = ["a", "b"]

  validation {
    condition     = length(var.availability_zone_suffixes) >= 2
    error_message = "Give at least two availability zones."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the flow-log group."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow-log group."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
