# One environment of flight_assets on AWS: lake (S3 + KMS), ingestion (Lambda + EventBridge), analytics (Glue +
# Athena), monitoring (SNS + dashboard) and Dagster on ECS. See deploy/README.md.

locals {
  name_prefix     = "flight-assets-${var.environment}"
  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.root}/../../../../build/lambda.zip")
}

module "data_lake" {
  source = "../../modules/data_lake"

  name_prefix               = local.name_prefix
  lake_prefix               = var.lake_prefix
  raw_ia_days               = var.raw_ia_days
  raw_glacier_days          = var.raw_glacier_days
  raw_glacier_storage_class = var.raw_glacier_storage_class
  raw_expiration_days       = var.raw_expiration_days
  processed_expiration_days = var.processed_expiration_days
  force_destroy             = var.force_destroy
}

module "monitoring" {
  source = "../../modules/monitoring"

  name_prefix            = local.name_prefix
  kms_key_arn            = module.data_lake.kms_key_arn
  alert_emails           = var.alert_emails
  ingest_function_name   = module.ingestion.function_name
  ingest_dlq_name        = module.ingestion.dlq_name
  ecs_cluster_name       = var.enable_dagster ? module.dagster_ecs[0].cluster_name : null
  ecs_service_names      = var.enable_dagster ? module.dagster_ecs[0].service_names : []
  alb_arn_suffix         = var.enable_dagster ? module.dagster_ecs[0].alb_arn_suffix : null
  db_instance_identifier = var.enable_dagster ? module.dagster_ecs[0].db_instance_identifier : null
}

module "ingestion" {
  source = "../../modules/ingestion"

  name_prefix                 = local.name_prefix
  lambda_zip_path             = local.lambda_zip_path
  lake_uri                    = module.data_lake.lake_uri
  lake_bucket_arn             = module.data_lake.lake_bucket_arn
  lake_prefix                 = module.data_lake.lake_prefix
  kms_key_arn                 = module.data_lake.kms_key_arn
  alerts_topic_arn            = module.monitoring.alerts_topic_arn
  opensky_tier                = var.opensky_tier
  opensky_bbox                = var.opensky_bbox
  opensky_extended            = var.opensky_extended
  opensky_secret_arn          = var.opensky_secret_arn
  secret_recovery_window_days = var.secret_recovery_window_days
  ingestion_enabled           = var.ingestion_enabled
  reserved_concurrency        = var.ingest_reserved_concurrency
  external_poller             = var.external_poller
  log_retention_days          = var.log_retention_days
  no_snapshot_alarm_minutes   = var.no_snapshot_alarm_minutes
}

module "analytics" {
  source = "../../modules/analytics"

  name_prefix                    = local.name_prefix
  lake_bucket                    = module.data_lake.lake_bucket
  lake_prefix                    = module.data_lake.lake_prefix
  athena_results_bucket          = module.data_lake.athena_results_bucket
  kms_key_arn                    = module.data_lake.kms_key_arn
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff
  named_queries                  = var.athena_named_queries
  force_destroy                  = var.force_destroy
}

module "network" {
  source = "../../modules/network"
  count  = var.enable_dagster ? 1 : 0

  name_prefix             = local.name_prefix
  cidr_block              = var.vpc_cidr_block
  kms_key_arn             = module.data_lake.kms_key_arn
  flow_log_retention_days = var.log_retention_days
}

module "dagster_ecs" {
  source = "../../modules/dagster_ecs"
  count  = var.enable_dagster ? 1 : 0

  name_prefix             = local.name_prefix
  vpc_id                  = module.network[0].vpc_id
  vpc_cidr_block          = module.network[0].vpc_cidr_block
  private_subnet_ids      = module.network[0].private_subnet_ids
  public_subnet_ids       = module.network[0].public_subnet_ids
  alb_internet_facing     = var.alb_internet_facing
  webserver_allowed_cidrs = var.webserver_allowed_cidrs
  certificate_arn         = var.certificate_arn
  webserver_domain_name   = var.webserver_domain_name
  route53_zone_id         = var.route53_zone_id
  alb_deletion_protection = var.alb_deletion_protection
  access_logs_bucket      = module.data_lake.logs_bucket
  kms_key_arn             = module.data_lake.kms_key_arn
  lake_bucket_arn         = module.data_lake.lake_bucket_arn
  lake_prefix             = module.data_lake.lake_prefix
  lake_uri                = module.data_lake.lake_uri
  partitions_start        = var.partitions_start
  compute_logs_prefix     = module.data_lake.compute_logs_prefix
  alerts_topic_arn        = module.monitoring.alerts_topic_arn
  opensky_tier            = var.opensky_tier
  opensky_bbox            = var.opensky_bbox
  opensky_extended        = var.opensky_extended
  opensky_secret_arn      = module.ingestion.opensky_secret_arn
  image_tag               = var.image_tag
  cpu_architecture        = var.cpu_architecture
  log_retention_days      = var.log_retention_days
  db_instance_class       = var.db_instance_class
  db_multi_az             = var.db_multi_az
  db_deletion_protection  = var.db_deletion_protection
  db_performance_insights = var.db_performance_insights
  db_monitoring_interval  = var.db_monitoring_interval
  force_destroy           = var.force_destroy
}
