# Alerts and the one-page view of the platform. CloudWatch alarms and Dagster's run-failure sensor (through the
# code server's task role and FLIGHT_ALERTS_TOPIC_ARN) publish to the topic.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alerts" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alert_emails)
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# OpenSky refusing AWS's network (HTTP 403, connections refused or reset, timeouts on every attempt): the Lambda's
# EMF metric Blocked (1 per blocked poll, 0 otherwise). Not a rate limit, not an outage: waiting does not end it.
# Runbook: deploy/README.md, "OpenSky blocks AWS".
resource "aws_cloudwatch_metric_alarm" "ingest_blocked" {
  alarm_name          = "${var.ingest_function_name}-opensky-blocked"
  alarm_description   = "OpenSky is refusing the Lambda's network (403 / reset / no answer) in 3 of the last 5 minutes. Runbook: deploy/README.md, section 'OpenSky blocks AWS': poll from outside AWS (external poller) and set ingestion_enabled = false."
  namespace           = "FlightAssets/Ingest"
  metric_name         = "Blocked"
  dimensions          = { Function = var.ingest_function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching" # no polls (schedule off, poller elsewhere) is not a block
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

locals {
  region = data.aws_region.current.name
  fn     = var.ingest_function_name

  ingest_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title  = "Snapshots landed and states per minute"
        region = local.region
        stat   = "Sum"
        period = 60
        view   = "timeSeries"
        metrics = [
          ["FlightAssets/Ingest", "Landed", "Function", local.fn],
          ["FlightAssets/Ingest", "Blocked", "Function", local.fn],
          ["FlightAssets/Ingest", "States", "Function", local.fn, { yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title  = "OpenSky credits remaining and poll latency"
        region = local.region
        period = 60
        view   = "timeSeries"
        metrics = [
          ["FlightAssets/Ingest", "CreditsRemaining", "Function", local.fn, { stat = "Minimum" }],
          ["FlightAssets/Ingest", "LatencyMs", "Function", local.fn, { stat = "p95", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title  = "Ingestion Lambda: errors, throttles, failed polls"
        region = local.region
        stat   = "Sum"
        period = 300
        view   = "timeSeries"
        metrics = [
          ["AWS/Lambda", "Errors", "FunctionName", local.fn],
          ["AWS/Lambda", "Throttles", "FunctionName", local.fn],
          ["FlightAssets/Ingest", "Errors", "Function", local.fn],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title  = "Ingestion: duration and dead-letter queue"
        region = local.region
        period = 300
        view   = "timeSeries"
        metrics = [
          ["AWS/Lambda", "Duration", "FunctionName", local.fn, { stat = "Maximum" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.ingest_dlq_name, { stat = "Maximum", yAxis = "right" }],
        ]
      }
    },
  ]

  ecs_widgets = var.ecs_cluster_name == null ? [] : [
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title  = "Dagster services: CPU and memory (%)"
        region = local.region
        stat   = "Average"
        period = 300
        view   = "timeSeries"
        metrics = concat(
          [for s in var.ecs_service_names : ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", s]],
          [for s in var.ecs_service_names : ["AWS/ECS", "MemoryUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", s]],
        )
      }
    },
  ]

  alb_widgets = var.alb_arn_suffix == null ? [] : [
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title  = "Dagster UI load balancer"
        region = local.region
        stat   = "Sum"
        period = 300
        view   = "timeSeries"
        metrics = [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.alb_arn_suffix],
          ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", var.alb_arn_suffix, { stat = "Maximum" }],
        ]
      }
    },
  ]

  db_widgets = var.db_instance_identifier == null ? [] : [
    {
      type = "metric", x = 0, y = 18, width = 24, height = 6
      properties = {
        title  = "Dagster storage (RDS PostgreSQL)"
        region = local.region
        stat   = "Average"
        period = 300
        view   = "timeSeries"
        metrics = [
          ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_identifier],
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_identifier],
          ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_identifier, { yAxis = "right" }],
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({ widgets = concat(local.ingest_widgets, local.ecs_widgets, local.alb_widgets, local.db_widgets) })
}
