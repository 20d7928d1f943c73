# OpenSky → raw/ on a schedule: a Lambda built from the project's pure ingestion modules only (build/lambda.zip),
# fired every minute by EventBridge and polling twice, 30 s apart. Overlapping invocations are serialised by the
# credit governor's conditional PUT on _state/ (no reserved concurrency by default: var.reserved_concurrency); a
# failed invocation is not retried (the next one comes a minute later) but recorded in an SQS queue.

locals {
  function_name = "${var.name_prefix}-ingest"
  lake_key_root = var.lake_prefix == "" ? "" : "${var.lake_prefix}/"

  # Layer prefixes (raw/, validated/, quarantine/, aggregates/, _state/) from the lake contract
  # (deploy/terraform/lake_contract.json, generated from flight_assets/lake/layout.py by deploy/lake_contract.py).
  layers = jsondecode(file("${path.module}/../../lake_contract.json")).prefixes
  # What a poller (the Lambda, or one outside AWS: external_poller.tf) may list, read and write: raw/ and _state/.
  poller_keys        = [for layer in ["raw", "state"] : "${local.lake_key_root}${local.layers[layer]}*"]
  poller_object_arns = [for key in local.poller_keys : "${var.lake_bucket_arn}/${key}"]
  create_secret      = var.opensky_secret_arn == null && var.opensky_tier != "anonymous"
  secret_arn         = local.create_secret ? aws_secretsmanager_secret.opensky[0].arn : var.opensky_secret_arn

  environment = merge(
    {
      FLIGHT_LAKE          = var.lake_uri
      OPENSKY_TIER         = var.opensky_tier
      OPENSKY_EXTENDED     = var.opensky_extended ? "1" : "0"
      POLLS_PER_INVOCATION = tostring(var.polls_per_invocation)
      POLL_SPACING_S       = tostring(var.poll_spacing_s)
    },
    local.secret_arn == null ? {} : { OPENSKY_SECRET_ARN = local.secret_arn },
    var.opensky_bbox == null ? {} : { OPENSKY_BBOX = var.opensky_bbox },
  )
}

# ---------------------------------------------------------------------------------------------- OpenSky credentials

resource "aws_secretsmanager_secret" "opensky" {
  #checkov:skip=CKV2_AWS_57:OpenSky API clients are issued on the OpenSky account page; there is no API a rotation Lambda could call. Rotate by hand (deploy/README.md).
  count                   = local.create_secret ? 1 : 0
  name                    = "${var.name_prefix}/opensky"
  description             = "OpenSky OAuth2 client credentials: {\"client_id\": ..., \"client_secret\": ...}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

# ------------------------------------------------------------------------------------------------ dead-letter queue

resource "aws_sqs_queue" "dlq" {
  name                              = "${local.function_name}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  tags                              = var.tags
}

# ------------------------------------------------------------------------------------------------------------- IAM

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ingest" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "ingest" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ingest.arn}:*"]
  }

  # Listing lets a missing key answer 404 rather than 403 (the governor's state may not exist yet).
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
  }

  statement {
    sid       = "LandRawAndShareTheCreditBudget"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = local.poller_object_arns
  }

  statement {
    sid       = "EncryptWithTheLakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "RecordFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    #checkov:skip=CKV_AWS_356:X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions; AWS requires "*".
    sid       = "SendTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.secret_arn == null ? [] : [local.secret_arn]
    content {
      sid       = "ReadOpenSkyCredentials"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "ingest" {
  name   = "ingest"
  role   = aws_iam_role.ingest.id
  policy = data.aws_iam_policy_document.ingest.json
}


# ------------------------------------------------------------------------------------------------------- function

resource "aws_cloudwatch_log_group" "ingest" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "ingest" {
  #checkov:skip=CKV_AWS_117:The function only calls OpenSky's public API, S3 and Secrets Manager; a VPC would add a NAT gateway to its path and nothing to its security.
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the SQS queue through the on-failure destination (aws_lambda_function_event_invoke_config), which records the request and error, unlike a DLQ.
  #checkov:skip=CKV_AWS_272:The package is built and deployed by this Terraform from the repository (make lambda-zip); there is no separate signing pipeline.
  function_name                  = local.function_name
  description                    = "Polls OpenSky /states/all and lands raw snapshots in the lake"
  role                           = aws_iam_role.ingest.arn
  runtime                        = "python3.13"
  architectures                  = ["arm64"]
  handler                        = "flight_assets.lambda_handler.lambda_handler"
  filename                       = var.lambda_zip_path
  source_code_hash               = filebase64sha256(var.lambda_zip_path)
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_s
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.ingest, aws_iam_role_policy.ingest]
}

resource "aws_lambda_function_event_invoke_config" "ingest" {
  function_name                = aws_lambda_function.ingest.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}

# ------------------------------------------------------------------------------------------------------- schedule

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.function_name
  description         = "Every minute (EventBridge's shortest rate); the function polls ${var.polls_per_invocation} times, ${var.poll_spacing_s} s apart"
  schedule_expression = "rate(1 minute)"
  state               = var.ingestion_enabled ? "ENABLED" : "DISABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "ingest" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "ingest"
  arn       = aws_lambda_function.ingest.arn
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.ingest.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}

# --------------------------------------------------------------------------------------------------------- alarms

# All to the alerts topic, on alarm and back to OK. Unless an alarm says otherwise: the sum over 5 minutes, one
# period, >= 1, missing data not breaching.
resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = {
    errors = {
      description = "Invocations where every poll failed (OpenSky or S3 errors); see the function's log group."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.ingest.function_name }
      threshold   = var.errors_alarm_threshold
    }
    throttles = {
      description = "An invocation was throttled: Lambda refused it (account concurrency, or reserved_concurrency when set); polls are being missed."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = aws_lambda_function.ingest.function_name }
    }
    dlq-depth = {
      description = "Failed invocations are waiting in the dead-letter queue ${aws_sqs_queue.dlq.name}."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dlq.name }
      statistic   = "Maximum"
    }
    # The handler writes one EMF line per poll with Landed = 1 when a snapshot landed. Missing data (the function did
    # not run at all) counts as breaching: silence is exactly what this alarm is for. It notifies only while the
    # Lambda's schedule is on: with ingestion_enabled = false nothing polls here on purpose.
    no-snapshot = {
      name            = "${local.function_name}-no-snapshot-${var.no_snapshot_alarm_minutes}m"
      description     = "No OpenSky snapshot landed in the lake for ${var.no_snapshot_alarm_minutes} minutes (EMF metric FlightAssets/Ingest Landed)."
      actions_enabled = var.ingestion_enabled
      namespace       = "FlightAssets/Ingest"
      metric          = "Landed"
      dimensions      = { Function = aws_lambda_function.ingest.function_name }
      period          = var.no_snapshot_alarm_minutes * 60
      comparison      = "LessThanThreshold"
      missing_data    = "breaching"
    }
    # OpenSky refusing AWS's network (HTTP 403, connections refused or reset, timeouts on every attempt): the EMF
    # metric Blocked (1 per blocked poll, 0 otherwise). Not a rate limit, not an outage: waiting does not end it.
    # Runbook: deploy/README.md, "OpenSky blocks AWS". No polls (schedule off, poller elsewhere) is not a block.
    opensky-blocked = {
      description = "OpenSky is refusing the Lambda's network (403 / reset / no answer) in 3 of the last 5 minutes. Runbook: deploy/README.md, section 'OpenSky blocks AWS': poll from outside AWS (external poller) and set ingestion_enabled = false."
      namespace   = "FlightAssets/Ingest"
      metric      = "Blocked"
      dimensions  = { Function = aws_lambda_function.ingest.function_name }
      period      = 60
      evaluations = 5
      datapoints  = 3
    }
  }
  alarm_name          = try(each.value.name, "${local.function_name}-${each.key}")
  alarm_description   = each.value.description
  actions_enabled     = try(each.value.actions_enabled, true)
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = try(each.value.statistic, "Sum")
  period              = try(each.value.period, 300)
  evaluation_periods  = try(each.value.evaluations, 1)
  datapoints_to_alarm = try(each.value.datapoints, null)
  threshold           = try(each.value.threshold, 1)
  comparison_operator = try(each.value.comparison, "GreaterThanOrEqualToThreshold")
  treat_missing_data  = try(each.value.missing_data, "notBreaching")
  alarm_actions       = [var.alerts_topic_arn]
  ok_actions          = [var.alerts_topic_arn]
  tags                = var.tags
}
