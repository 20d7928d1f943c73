# One execution role (image pull, logs, the database password) and one task role per kind of task, each with only
# the calls that process makes:
#   webserver: read compute logs; describe/stop run tasks (the UI's "terminate")
#   daemon:    launch run tasks (register the run task definition, RunTask, PassRole of the run roles), watch them
#              (run monitoring), stop them
#   code:      sensors and schedules: list/read the lake, publish alerts to SNS
#   run:       read raw/, write validated/, quarantine/, aggregates/ (and raw/ + _state/ for the ingest job),
#              write compute logs

# Who may assume this module's roles: ECS tasks, Step Functions and EventBridge (rotation.tf), each on behalf of this
# account only; RDS enhanced monitoring (database.tf).
data "aws_iam_policy_document" "assume" {
  for_each = { ecs-tasks = true, states = true, events = true, "monitoring.rds" = false }
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["${each.key}.amazonaws.com"]
    }
    dynamic "condition" {
      for_each = each.value ? [local.account_id] : []
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }
  }
}

locals {
  lake_arn = "${var.lake_bucket_arn}/${local.lake_key_root}"
  # Layer prefixes from the lake contract (deploy/terraform/lake_contract.json, from flight_assets/lake/layout.py).
  layers           = jsondecode(file("${path.module}/../../lake_contract.json")).prefixes
  compute_logs_arn = "${var.lake_bucket_arn}/${var.compute_logs_prefix}/*"
  cluster_arn      = aws_ecs_cluster.this.arn
  task_arns        = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"

}

resource "aws_iam_role" "this" {
  for_each = {
    execution = "${var.name_prefix}-ecs-execution"
    webserver = "${var.name_prefix}-dagster-webserver"
    daemon    = "${var.name_prefix}-dagster-daemon"
    code      = "${var.name_prefix}-dagster-code"
    run       = "${var.name_prefix}-dagster-run"
  }
  name               = each.value
  assume_role_policy = data.aws_iam_policy_document.assume["ecs-tasks"].json
  tags               = var.tags
}

# Each role's inline policy, named after the role's key; the documents follow.
resource "aws_iam_role_policy" "this" {
  for_each = {
    execution = data.aws_iam_policy_document.execution.json
    webserver = data.aws_iam_policy_document.webserver.json
    daemon    = data.aws_iam_policy_document.daemon.json
    code      = data.aws_iam_policy_document.code.json
    run       = data.aws_iam_policy_document.run.json
  }
  name   = each.key
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}

# ----------------------------------------------------------------------------------------------------- execution

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "PullTheImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions; AWS requires "*".
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteTaskLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.this : "${g.arn}:*"]
  }

  statement {
    sid       = "DatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_secret_arn]
  }

  statement {
    sid       = "DecryptImageAndSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

# ------------------------------------------------------------------------------------------------------ webserver

data "aws_iam_policy_document" "webserver" {
  statement {
    sid       = "ReadComputeLogs"
    actions   = ["s3:GetObject"]
    resources = [local.compute_logs_arn]
  }

  statement {
    sid       = "ListComputeLogs"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.compute_logs_prefix}/*"]
    }
  }

  statement {
    sid       = "DecryptLakeObjects"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "TerminateRuns"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = [local.task_arns]
  }
}

# --------------------------------------------------------------------------------------------------------- daemon

data "aws_iam_policy_document" "daemon" {
  statement {
    #checkov:skip=CKV_AWS_356:ecs:RegisterTaskDefinition, ecs:DescribeTaskDefinition and ec2:DescribeNetworkInterfaces have no resource-level permissions; AWS requires "*".
    sid       = "RegisterRunTaskDefinitionsAndReadNetworking"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }

  statement {
    sid       = "LaunchRunTasksInThisClusterOnly"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "WatchTagAndStopRunTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"]
    resources = [local.task_arns]
  }

  statement {
    sid       = "PassOnlyTheRunRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.this["run"].arn, aws_iam_role.this["execution"].arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadRunLogsForFailureMessages"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["runs"].arn}:*"]
  }
}

# ---------------------------------------------------------------------------------------------- code server and runs

# What the code server and the run tasks both need: list and read the lake, use its key (which also encrypts the
# OpenSky secret), and read the OpenSky secret when there is one. Their own statements follow these.
data "aws_iam_policy_document" "lake_reader" {
  statement {
    sid       = "ListTheLake"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
  }

  statement {
    sid       = "ReadTheLake"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}*"]
  }

  statement {
    sid       = "LakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.opensky_secret_arn == null ? [] : [var.opensky_secret_arn]
    content {
      sid       = "OpenSkyCredentials"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
}

data "aws_iam_policy_document" "code" {
  source_policy_documents = [data.aws_iam_policy_document.lake_reader.json]

  statement {
    sid       = "WriteSensorAndScheduleTickLogs"
    actions   = ["s3:PutObject"]
    resources = [local.compute_logs_arn]
  }

  statement {
    sid       = "RunFailureAlerts"
    actions   = ["sns:Publish"]
    resources = [var.alerts_topic_arn]
  }
}

data "aws_iam_policy_document" "run" {
  source_policy_documents = [data.aws_iam_policy_document.lake_reader.json]

  statement {
    sid     = "ReplaceParquetPartitions"
    actions = ["s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${local.lake_arn}${local.layers.validated}*",
      "${local.lake_arn}${local.layers.quarantine}*",
      "${local.lake_arn}${local.layers.aggregates}*",
    ]
  }

  statement {
    sid       = "IngestJobLandsRawAndSharesTheCreditBudget"
    actions   = ["s3:PutObject"]
    resources = ["${local.lake_arn}${local.layers.raw}*", "${local.lake_arn}${local.layers.state}*"]
  }

  statement {
    sid       = "WriteComputeLogs"
    actions   = ["s3:PutObject"]
    resources = [local.compute_logs_arn]
  }
}
