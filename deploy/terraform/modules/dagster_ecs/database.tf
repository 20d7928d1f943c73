# Dagster's run, event-log and schedule storage: RDS PostgreSQL, encrypted, in the private subnets, reachable only
# from the Dagster tasks. RDS generates the master password and keeps it in Secrets Manager (encrypted with the
# lake's key, rotated by RDS); ECS injects it as DAGSTER_PG_PASSWORD.

locals {
  db_secret_arn = aws_db_instance.this.master_user_secret[0].secret_arn
}

resource "aws_db_subnet_group" "this" {
  name       = var.name_prefix
  subnet_ids = var.private_subnet_ids
  tags       = var.tags
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name_prefix}-postgres${var.db_engine_version}"
  family = "postgres${var.db_engine_version}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  tags = var.tags
}

resource "aws_iam_role" "rds_monitoring" {
  count              = var.db_monitoring_interval > 0 ? 1 : 0
  name               = "${var.name_prefix}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.assume["monitoring.rds"].json
  tags               = var.tags
}

# What the AWS-managed AmazonRDSEnhancedMonitoringRole grants, written out: RDS's own OS-metrics log group only.
data "aws_iam_policy_document" "rds_monitoring" {
  statement {
    sid       = "EnhancedMonitoringLogGroups"
    actions   = ["logs:CreateLogGroup", "logs:PutRetentionPolicy"]
    resources = ["arn:${local.partition}:logs:*:${local.account_id}:log-group:RDS*"]
  }

  statement {
    sid       = "EnhancedMonitoringLogStreams"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"]
    resources = ["arn:${local.partition}:logs:*:${local.account_id}:log-group:RDS*:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "rds_monitoring" {
  count  = var.db_monitoring_interval > 0 ? 1 : 0
  name   = "enhanced-monitoring"
  role   = aws_iam_role.rds_monitoring[0].id
  policy = data.aws_iam_policy_document.rds_monitoring.json
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is the db_multi_az variable (off by default: it doubles the cost of a store that only holds run history).
  identifier                            = var.name_prefix
  engine                                = "postgres"
  engine_version                        = var.db_engine_version
  instance_class                        = var.db_instance_class
  allocated_storage                     = var.db_allocated_storage_gb
  max_allocated_storage                 = var.db_max_allocated_storage_gb
  storage_type                          = "gp3"
  storage_encrypted                     = true
  kms_key_id                            = var.kms_key_arn
  db_name                               = local.db_name
  username                              = local.db_username
  manage_master_user_password           = true
  master_user_secret_kms_key_id         = var.kms_key_arn
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  vpc_security_group_ids                = [aws_security_group.this["db"].id]
  parameter_group_name                  = aws_db_parameter_group.this.name
  publicly_accessible                   = false
  multi_az                              = var.db_multi_az
  backup_retention_period               = var.db_backup_retention_days
  copy_tags_to_snapshot                 = true
  deletion_protection                   = var.db_deletion_protection
  skip_final_snapshot                   = !var.db_deletion_protection
  final_snapshot_identifier             = var.db_deletion_protection ? "${var.name_prefix}-final" : null
  auto_minor_version_upgrade            = true
  iam_database_authentication_enabled   = true
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  performance_insights_enabled          = var.db_performance_insights
  performance_insights_kms_key_id       = var.db_performance_insights ? var.kms_key_arn : null
  performance_insights_retention_period = var.db_performance_insights ? 7 : null
  monitoring_interval                   = var.db_monitoring_interval
  monitoring_role_arn                   = var.db_monitoring_interval > 0 ? aws_iam_role.rds_monitoring[0].arn : null
  apply_immediately                     = false
  tags                                  = var.tags
  depends_on                            = [aws_iam_role_policy.rds_monitoring]
}
