output "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the buckets, logs, queue, topic and secrets."
  value       = aws_kms_key.this.arn
}

output "lake_bucket" {
  description = "Name of the lake bucket."
  value       = aws_s3_bucket.lake.id
}

output "lake_bucket_arn" {
  description = "ARN of the lake bucket."
  value       = aws_s3_bucket.lake.arn
}

output "lake_prefix" {
  description = "Key prefix of the lake inside the bucket (no slashes at either end; empty for the root)."
  value       = var.lake_prefix
}

output "lake_uri" {
  description = "The lake root for FLIGHT_LAKE: s3://<bucket>/<prefix>."
  value       = local.lake_uri
}

output "compute_logs_prefix" {
  description = "Key prefix (inside the lake bucket) for Dagster's S3ComputeLogManager."
  value       = "${local.lake_key_root}_dagster/compute_logs"
}

output "athena_results_bucket" {
  description = "Name of the Athena query-results bucket."
  value       = aws_s3_bucket.athena.id
}

output "athena_results_bucket_arn" {
  description = "ARN of the Athena query-results bucket."
  value       = aws_s3_bucket.athena.arn
}

output "logs_bucket" {
  description = "Name of the access-log bucket (S3 server access logs under s3/, ALB logs under alb/)."
  value       = aws_s3_bucket.logs.id
  # The ALB checks at creation that it may write its access logs: whoever uses this name waits for the policy.
  depends_on = [aws_s3_bucket_policy.this]
}
