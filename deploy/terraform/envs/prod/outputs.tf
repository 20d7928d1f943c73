output "lake_uri" {
  description = "FLIGHT_LAKE for every flight_assets process that should use this lake."
  value       = module.data_lake.lake_uri
}

output "lake_bucket" {
  description = "Lake bucket."
  value       = module.data_lake.lake_bucket
}

output "kms_key_arn" {
  description = "Customer-managed key of the lake."
  value       = module.data_lake.kms_key_arn
}

output "ingest_function_name" {
  description = "Ingestion Lambda function."
  value       = module.ingestion.function_name
}

output "opensky_secret_arn" {
  description = "Put the OpenSky credentials here: {\"client_id\": ..., \"client_secret\": ...}."
  value       = module.ingestion.opensky_secret_arn
}

output "ingest_dlq_name" {
  description = "Dead-letter queue of failed ingestion invocations."
  value       = module.ingestion.dlq_name
}

output "alerts_topic_arn" {
  description = "SNS alerts topic (FLIGHT_ALERTS_TOPIC_ARN)."
  value       = module.monitoring.alerts_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.monitoring.dashboard_name
}

output "glue_database" {
  description = "Glue database of the lake's tables."
  value       = module.analytics.database
}

output "athena_workgroup" {
  description = "Athena workgroup to query in."
  value       = module.analytics.workgroup
}

output "ecr_repository_url" {
  description = "Push the Dagster image here."
  value       = var.enable_dagster ? module.dagster_ecs[0].ecr_repository_url : null
}

output "ecs_cluster_name" {
  description = "ECS cluster."
  value       = var.enable_dagster ? module.dagster_ecs[0].cluster_name : null
}

output "dagster_url" {
  description = "The Dagster UI (from webserver_allowed_cidrs only)."
  value       = var.enable_dagster ? module.dagster_ecs[0].webserver_url : null
}

output "athena_views" {
  description = "Athena views over the Glue tables: live_states and latest_states."
  value       = module.analytics.views
}

output "external_poller_policy_json" {
  description = "Least-privilege IAM policy for a poller outside AWS (raw/ and _state/ only, plus the lake key via S3)."
  value       = module.ingestion.external_poller_policy_json
}

output "external_poller_user_name" {
  description = "IAM user for the external poller; null unless external_poller = true. Create its access key with the CLI."
  value       = module.ingestion.external_poller_user_name
}
