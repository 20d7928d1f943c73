# Addresses from before the buckets' shared settings were declared once for all three (for_each over local.buckets):
# a deployment made with the old addresses keeps its resources (nothing is destroyed and re-created).

moved {
  from = aws_s3_bucket_ownership_controls.logs
  to   = aws_s3_bucket_ownership_controls.this["logs"]
}

moved {
  from = aws_s3_bucket_ownership_controls.lake
  to   = aws_s3_bucket_ownership_controls.this["lake"]
}

moved {
  from = aws_s3_bucket_ownership_controls.athena
  to   = aws_s3_bucket_ownership_controls.this["athena"]
}

moved {
  from = aws_s3_bucket_public_access_block.logs
  to   = aws_s3_bucket_public_access_block.this["logs"]
}

moved {
  from = aws_s3_bucket_public_access_block.lake
  to   = aws_s3_bucket_public_access_block.this["lake"]
}

moved {
  from = aws_s3_bucket_public_access_block.athena
  to   = aws_s3_bucket_public_access_block.this["athena"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.logs
  to   = aws_s3_bucket_server_side_encryption_configuration.this["logs"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.lake
  to   = aws_s3_bucket_server_side_encryption_configuration.this["lake"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.athena
  to   = aws_s3_bucket_server_side_encryption_configuration.this["athena"]
}

moved {
  from = aws_s3_bucket_versioning.logs
  to   = aws_s3_bucket_versioning.this["logs"]
}

moved {
  from = aws_s3_bucket_versioning.lake
  to   = aws_s3_bucket_versioning.this["lake"]
}

moved {
  from = aws_s3_bucket_versioning.athena
  to   = aws_s3_bucket_versioning.this["athena"]
}

moved {
  from = aws_s3_bucket_policy.logs
  to   = aws_s3_bucket_policy.this["logs"]
}

moved {
  from = aws_s3_bucket_policy.lake
  to   = aws_s3_bucket_policy.this["lake"]
}

moved {
  from = aws_s3_bucket_policy.athena
  to   = aws_s3_bucket_policy.this["athena"]
}

moved {
  from = aws_s3_bucket_logging.lake
  to   = aws_s3_bucket_logging.this["lake"]
}

moved {
  from = aws_s3_bucket_logging.athena
  to   = aws_s3_bucket_logging.this["athena"]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.logs
  to   = aws_s3_bucket_lifecycle_configuration.expire_all["logs"]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.athena
  to   = aws_s3_bucket_lifecycle_configuration.expire_all["athena"]
}
