output "alerts_topic_arn" {
  description = "SNS topic for alerts; Dagster reads it from FLIGHT_ALERTS_TOPIC_ARN."
  value       = aws_sns_topic.alerts.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
