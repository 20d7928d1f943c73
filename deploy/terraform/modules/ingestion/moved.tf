# Addresses from before the alarms were declared as one table (for_each): a deployment made with the old addresses
# keeps its alarms. (The OpenSky-blocked alarm moved here from the monitoring module: envs/prod/moved.tf.)

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = aws_cloudwatch_metric_alarm.this["errors"]
}

moved {
  from = aws_cloudwatch_metric_alarm.throttles
  to   = aws_cloudwatch_metric_alarm.this["throttles"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_depth
  to   = aws_cloudwatch_metric_alarm.this["dlq-depth"]
}

moved {
  from = aws_cloudwatch_metric_alarm.no_snapshot
  to   = aws_cloudwatch_metric_alarm.this["no-snapshot"]
}
