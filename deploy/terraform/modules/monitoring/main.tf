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

# The ingestion function's alarms (the OpenSky-blocked one included) are in modules/ingestion; they publish here.

locals {
  region = data.aws_region.current.name
  fn     = var.ingest_function_name

  # The dashboard's widgets, in order: time series on a 24-column grid, 6 high. stat applies to every metric of a
  # widget unless a metric names its own; a widget without one sets it per metric.
  widgets = concat(
    [
      {
        title = "Snapshots landed and states per minute", x = 0, y = 0, width = 12, stat = "Sum", period = 60
        metrics = [
          ["FlightAssets/Ingest", "Landed", "Function", local.fn],
          ["FlightAssets/Ingest", "Blocked", "Function", local.fn],
          ["FlightAssets/Ingest", "States", "Function", local.fn, { yAxis = "right" }],
        ]
      },
      {
        title = "OpenSky credits remaining and poll latency", x = 12, y = 0, width = 12, stat = null, period = 60
        metrics = [
          ["FlightAssets/Ingest", "CreditsRemaining", "Function", local.fn, { stat = "Minimum" }],
          ["FlightAssets/Ingest", "LatencyMs", "Function", local.fn, { stat = "p95", yAxis = "right" }],
        ]
      },
      {
        title = "Ingestion Lambda: errors, throttles, failed polls", x = 0, y = 6, width = 12, stat = "Sum", period = 300
        metrics = [
          ["AWS/Lambda", "Errors", "FunctionName", local.fn],
          ["AWS/Lambda", "Throttles", "FunctionName", local.fn],
          ["FlightAssets/Ingest", "Errors", "Function", local.fn],
        ]
      },
      {
        title = "Ingestion: duration and dead-letter queue", x = 12, y = 6, width = 12, stat = null, period = 300
        metrics = [
          ["AWS/Lambda", "Duration", "FunctionName", local.fn, { stat = "Maximum" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.ingest_dlq_name, { stat = "Maximum", yAxis = "right" }],
        ]
      },
    ],
    var.ecs_cluster_name == null ? [] : [
      {
        title = "Dagster services: CPU and memory (%)", x = 0, y = 12, width = 12, stat = "Average", period = 300
        metrics = concat(
          [for s in var.ecs_service_names : ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", s]],
          [for s in var.ecs_service_names : ["AWS/ECS", "MemoryUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", s]],
        )
      },
    ],
    var.alb_arn_suffix == null ? [] : [
      {
        title = "Dagster UI load balancer", x = 12, y = 12, width = 12, stat = "Sum", period = 300
        metrics = [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.alb_arn_suffix],
          ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", var.alb_arn_suffix, { stat = "Maximum" }],
        ]
      },
    ],
    var.db_instance_identifier == null ? [] : [
      {
        title = "Dagster storage (RDS PostgreSQL)", x = 0, y = 18, width = 24, stat = "Average", period = 300
        metrics = [
          ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_identifier],
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_identifier],
          ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_identifier, { yAxis = "right" }],
        ]
      },
    ],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({ widgets = [for w in local.widgets : {
    type = "metric", x = w.x, y = w.y, width = w.width, height = 6
    properties = merge(
      { title = w.title, region = local.region, period = w.period, view = "timeSeries", metrics = w.metrics },
      w.stat == null ? {} : { stat = w.stat },
    )
  }] })
}
