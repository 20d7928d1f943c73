output "function_name" {
  description = "Name of the ingestion Lambda function."
  value       = aws_lambda_function.ingest.function_name
}

output "function_arn" {
  description = "ARN of the ingestion Lambda function."
  value       = aws_lambda_function.ingest.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue of failed invocations."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "opensky_secret_arn" {
  description = "Secrets Manager secret the function reads OpenSky credentials from (null for the anonymous tier)."
  value       = local.secret_arn
}

output "schedule_rule_name" {
  description = "Name of the EventBridge rule."
  value       = aws_cloudwatch_event_rule.schedule.name
}

output "external_poller_policy_json" {
  description = "The least-privilege policy of a poller outside AWS: read/write raw/ and _state/ of the lake, the lake key via S3."
  value       = data.aws_iam_policy_document.external_poller.json
}

output "external_poller_user_name" {
  description = "The IAM user for the external poller (null unless external_poller = true)."
  value       = var.external_poller ? aws_iam_user.external_poller[0].name : null
}
