# Dagster on ECS Fargate, after dagster's examples/deploy_ecs: one image (deploy/Dockerfile) runs as three services
# (webserver behind an ALB, daemon, code-location gRPC server) and, through EcsRunLauncher, as one task per run.
# Improvements over the example: no public access by default (allow-list), RDS PostgreSQL with an RDS-managed
# password in Secrets Manager instead of a Postgres container, a task role per service with only what it calls,
# run monitoring for runs stuck in STARTING, KMS everywhere, Cloud Map DNS for the code server.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  lake_key_root = var.lake_prefix == "" ? "" : "${var.lake_prefix}/"
  # The services (and their task definitions) exist once an image tag is set: image_tag is the one switch.
  create_services = var.image_tag != null
  image           = local.create_services ? "${aws_ecr_repository.this.repository_url}:${var.image_tag}" : null
  code_host       = "code.${aws_service_discovery_private_dns_namespace.this.name}"
  code_port       = 4000 # flight_assets (deploy/workspace.yaml)
  poller_port     = 4001 # flight_assets_poller, in the same task
  web_port        = 3000
  dagster_home    = "/opt/dagster/dagster_home"
  db_name         = "dagster"
  db_username     = "dagster"

  # Every variable deploy/dagster.yaml and deploy/workspace.yaml read, identical in all services; EcsRunLauncher
  # passes them on to run tasks (env_vars in dagster.yaml).
  environment = merge(var.extra_environment, {
    AWS_REGION                     = local.region
    AWS_DEFAULT_REGION             = local.region
    DAGSTER_HOME                   = local.dagster_home
    DAGSTER_PG_HOST                = aws_db_instance.this.address
    DAGSTER_PG_PORT                = tostring(aws_db_instance.this.port)
    DAGSTER_PG_DB                  = local.db_name
    DAGSTER_PG_USERNAME            = local.db_username
    DAGSTER_PG_PASSWORD_SECRET     = local.db_password_value_from
    DAGSTER_CODE_SERVER_HOST       = local.code_host
    DAGSTER_COMPUTE_LOGS_BUCKET    = split(":", var.lake_bucket_arn)[5]
    DAGSTER_COMPUTE_LOGS_PREFIX    = var.compute_logs_prefix
    DAGSTER_RUN_TASK_ROLE_ARN      = aws_iam_role.this["run"].arn
    DAGSTER_RUN_EXECUTION_ROLE_ARN = aws_iam_role.this["execution"].arn
    DAGSTER_RUN_LOG_GROUP          = aws_cloudwatch_log_group.this["runs"].name
    DAGSTER_RUN_CPU_ARCHITECTURE   = var.cpu_architecture
    FLIGHT_LAKE                    = var.lake_uri
    FLIGHT_ALERTS_TOPIC_ARN        = var.alerts_topic_arn
    FLIGHT_POLL_SENSOR             = "off"
    FLIGHT_PARTITIONS_START        = var.partitions_start
    # The Lambda's OpenSky settings: ingest_snapshot_job and the gap repair sensor share its credit budget.
    OPENSKY_TIER       = var.opensky_tier
    OPENSKY_BBOX       = var.opensky_bbox == null ? "" : var.opensky_bbox
    OPENSKY_EXTENDED   = var.opensky_extended ? "1" : "0"
    OPENSKY_SECRET_ARN = var.opensky_secret_arn == null ? "" : var.opensky_secret_arn
  })

  db_password_value_from = "${local.db_secret_arn}:password::"
}

# ------------------------------------------------------------------------------------------------------------ ECR

resource "aws_ecr_repository" "this" {
  name                 = var.name_prefix
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_destroy

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 20 most recent images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 20 }
      action       = { type = "expire" }
    }]
  })
}

# ------------------------------------------------------------------------------------------------------------ ECS

resource "aws_ecs_cluster" "this" {
  name = var.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this["exec"].name
      }
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  for_each          = toset(["webserver", "daemon", "code", "runs", "exec"])
  name              = "/ecs/${var.name_prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = "${var.name_prefix}.internal"
  description = "Dagster's code-location gRPC server"
  vpc         = var.vpc_id
  tags        = var.tags
}

resource "aws_service_discovery_service" "code" {
  name = "code"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"
    dns_records {
      ttl  = 10
      type = "A"
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }

  tags = var.tags
}
