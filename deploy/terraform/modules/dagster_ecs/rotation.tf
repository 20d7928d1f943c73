# Surviving the rotation of the RDS-managed master password (every 7 days). ECS injects DAGSTER_PG_PASSWORD only when
# a task starts, so after a rotation the running webserver, daemon and code server would fail every new database
# connection while the load balancer's /server_info check still passed. When Secrets Manager reports that the
# database secret rotated (RotationSucceeded: the new password is set in PostgreSQL and is the secret's AWSCURRENT),
# EventBridge starts a Step Functions state machine that forces a new deployment of the three services: their new
# tasks read the new password. No code to package: the state machine calls ECS UpdateService directly. Run tasks
# start with the secret as it is then, so runs launched after the redeploy are fine; a run that was writing to the
# database during the rotation fails its next event write and run retries (deploy/dagster.yaml) start it again.

locals {
  redeploy_count = local.create_services ? 1 : 0
  redeploy_name  = "${var.name_prefix}-redeploy-on-db-rotation"
  # What the rule passes to the state machine: the cluster and the services to restart (the keys of local.services
  # are the service names).
  redeploy_input = { cluster = aws_ecs_cluster.this.name, services = keys(local.services) }

  # The Secrets Manager event for a successful rotation of the database's secret (a CloudTrail service event that
  # EventBridge receives without a trail).
  db_rotation_event_pattern = {
    source        = ["aws.secretsmanager"]
    "detail-type" = ["AWS Service Event via CloudTrail"]
    detail = {
      eventSource         = ["secretsmanager.amazonaws.com"]
      eventName           = ["RotationSucceeded"]
      additionalEventData = { SecretId = [local.db_secret_arn] }
    }
  }

  redeploy_definition = {
    Comment = "Force a new deployment of the Dagster services so that their tasks read the rotated database password."
    StartAt = "RedeployEachService"
    States = {
      RedeployEachService = {
        Type         = "Map"
        ItemsPath    = "$.services"
        ItemSelector = { "cluster.$" = "$.cluster", "service.$" = "$$.Map.Item.Value" }
        ItemProcessor = {
          ProcessorConfig = { Mode = "INLINE" }
          StartAt         = "ForceNewDeployment"
          States = {
            ForceNewDeployment = {
              Type       = "Task"
              Resource   = "arn:${local.partition}:states:::aws-sdk:ecs:updateService"
              Parameters = { "Cluster.$" = "$.cluster", "Service.$" = "$.service", ForceNewDeployment = true }
              ResultPath = null
              Retry      = [{ ErrorEquals = ["States.ALL"], IntervalSeconds = 10, MaxAttempts = 3, BackoffRate = 2 }]
              End        = true
            }
          }
        }
        End = true
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "redeploy" {
  count             = local.redeploy_count
  name              = "/aws/vendedlogs/states/${local.redeploy_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "redeploy" {
  count              = local.redeploy_count
  name               = local.redeploy_name
  assume_role_policy = data.aws_iam_policy_document.assume["states"].json
  tags               = var.tags
}

data "aws_iam_policy_document" "redeploy" {
  statement {
    sid       = "RedeployTheDagsterServices"
    actions   = ["ecs:UpdateService", "ecs:DescribeServices"]
    resources = [for name in keys(local.services) : "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${aws_ecs_cluster.this.name}/${name}"]
  }

  statement {
    #checkov:skip=CKV_AWS_111:Step Functions delivers its logs through CloudWatch Logs' vended-log delivery APIs, which have no resource-level permissions; AWS requires "*".
    #checkov:skip=CKV_AWS_356:The log delivery and X-Ray APIs have no resource-level permissions; AWS requires "*".
    sid = "DeliverLogsAndTraces"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
      "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "redeploy" {
  count  = local.redeploy_count
  name   = "redeploy-services"
  role   = aws_iam_role.redeploy[0].id
  policy = data.aws_iam_policy_document.redeploy.json
}

resource "aws_sfn_state_machine" "redeploy" {
  count      = local.redeploy_count
  name       = local.redeploy_name
  role_arn   = aws_iam_role.redeploy[0].arn
  type       = "STANDARD"
  definition = jsonencode(local.redeploy_definition)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.redeploy[0].arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.redeploy]
}

resource "aws_cloudwatch_event_rule" "db_rotation" {
  count         = local.redeploy_count
  name          = local.redeploy_name
  description   = "The Dagster database password rotated: redeploy the webserver, daemon and code server."
  event_pattern = jsonencode(local.db_rotation_event_pattern)
  tags          = var.tags
}

resource "aws_iam_role" "db_rotation_events" {
  count              = local.redeploy_count
  name               = "${var.name_prefix}-db-rotation-events"
  assume_role_policy = data.aws_iam_policy_document.assume["events"].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "db_rotation_events" {
  count = local.redeploy_count
  name  = "start-redeploy"
  role  = aws_iam_role.db_rotation_events[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "StartTheRedeploy"
      Effect   = "Allow"
      Action   = "states:StartExecution"
      Resource = aws_sfn_state_machine.redeploy[0].arn
    }]
  })
}

resource "aws_cloudwatch_event_target" "db_rotation" {
  count     = local.redeploy_count
  rule      = aws_cloudwatch_event_rule.db_rotation[0].name
  target_id = "redeploy-dagster-services"
  arn       = aws_sfn_state_machine.redeploy[0].arn
  role_arn  = aws_iam_role.db_rotation_events[0].arn
  input     = jsonencode(local.redeploy_input)
}

# A redeploy that failed leaves the services on the old password: page whoever gets the alerts.
resource "aws_cloudwatch_metric_alarm" "redeploy_failed" {
  count               = local.redeploy_count
  alarm_name          = "${local.redeploy_name}-failed"
  alarm_description   = "The redeploy after a database password rotation failed: the Dagster services may be unable to reach their database. Force a new deployment of the webserver, daemon and code services (deploy/README.md)."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.redeploy[0].arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alerts_topic_arn]
  tags                = var.tags
}
