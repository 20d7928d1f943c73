variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the alerts topic."
  type        = string
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to the alerts topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "ingest_function_name" {
  description = "Name of the ingestion Lambda function (dashboard widgets)."
  type        = string
}

variable "ingest_dlq_name" {
  description = "Name of the ingestion dead-letter queue (dashboard widgets)."
  type        = string
}

variable "ecs_cluster_name" {
  description = "Name of the Dagster ECS cluster; null leaves the Dagster widgets out."
  type        = string
  default     = null
}

variable "ecs_service_names" {
  description = "Names of the Dagster ECS services (webserver, daemon, code server)."
  type        = list(string)
  default     = []
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the webserver's load balancer; null leaves its widget out."
  type        = string
  default     = null
}

variable "db_instance_identifier" {
  description = "Identifier of Dagster's RDS instance; null leaves its widget out."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
