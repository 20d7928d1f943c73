# The lake: one bucket holding every layer under one prefix (raw/, validated/, quarantine/, aggregates/, _state/ and
# Dagster's compute logs), because the code addresses the lake as one root (FLIGHT_LAKE=s3://bucket/prefix) with the
# same keys as a local folder. Layers differ by lifecycle rule, not by bucket. Beside it: Athena's query results and
# the access logs of both. Everything is encrypted with one customer-managed KMS key, except the access-log bucket
# (S3 server access logging and ALB access logs can only write to SSE-S3 buckets).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  lake_bucket   = "${var.name_prefix}-lake-${local.account_id}"
  athena_bucket = "${var.name_prefix}-athena-${local.account_id}"
  logs_bucket   = "${var.name_prefix}-logs-${local.account_id}"
  lake_key_root = var.lake_prefix == "" ? "" : "${var.lake_prefix}/"

  # Layer prefixes (raw/, validated/, quarantine/, aggregates/, _state/) from the lake contract
  # (deploy/terraform/lake_contract.json, generated from flight_assets/lake/layout.py by deploy/lake_contract.py).
  layers   = jsondecode(file("${path.module}/../../lake_contract.json")).prefixes
  lake_uri = var.lake_prefix == "" ? "s3://${local.lake_bucket}" : "s3://${local.lake_bucket}/${var.lake_prefix}"

  # The three buckets. What they share (ownership, public access block, encryption, versioning, a TLS-only policy)
  # is declared once for all of them under "every bucket" below. The access-log bucket alone is SSE-S3 (S3 server
  # access logging and ALB access logs cannot write to SSE-KMS buckets) and is not logged itself; the other two log
  # their requests into it. (sse is a value here, not a condition below: checkov resolves only the former.)
  buckets = {
    logs   = { id = aws_s3_bucket.logs.id, arn = aws_s3_bucket.logs.arn, name = local.logs_bucket, sse = "AES256", logged = false }
    lake   = { id = aws_s3_bucket.lake.id, arn = aws_s3_bucket.lake.arn, name = local.lake_bucket, sse = "aws:kms", logged = true }
    athena = { id = aws_s3_bucket.athena.id, arn = aws_s3_bucket.athena.arn, name = local.athena_bucket, sse = "aws:kms", logged = true }
  }
  logged_buckets = { for key, bucket in local.buckets : key => bucket if bucket.logged }
}

# ------------------------------------------------------------------------------------------------------------ KMS

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" is this key only; the account root keeps administration so IAM policies decide who may use it.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" is this key only; write actions are limited to the account root and to the named AWS services under conditions.
  #checkov:skip=CKV_AWS_356:In a key policy "*" means this key; there is no narrower resource to name.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsLogGroupsOfThisAccount"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:*"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopics"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}: lake, Athena results, logs, queues, topics and secrets"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

# ------------------------------------------------------------------------------------------------ access-log bucket

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_145:S3 server access logging and ALB access logs only deliver to SSE-S3 (AES256) buckets, not SSE-KMS.
  #checkov:skip=CKV_AWS_18:This is the access-log bucket; logging it into itself would log its own log writes forever.
  #checkov:skip=CKV_AWS_144:Access logs are kept in one region; replicating them doubles cost for no recovery need.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new access-log objects; event notifications would have no consumer.
  bucket        = local.logs_bucket
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.logs_bucket, Layer = "logs" })
}

data "aws_iam_policy_document" "logs" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["logs"].json]

  # One statement per source bucket, each limited to that bucket's log prefix.
  dynamic "statement" {
    for_each = { for key, bucket in local.logged_buckets : title(key) => bucket.name }
    content {
      sid       = "S3ServerAccessLogsOf${statement.key}"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.logs.arn}/s3/${statement.value}/*"]
      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:${local.partition}:s3:::${statement.value}"]
      }
    }
  }

  # ALB access logs: the log delivery service and, in older regions, the region's load-balancer account.
  dynamic "statement" {
    for_each = {
      AlbAccessLogsLogDelivery     = { type = "Service", identifier = "logdelivery.elasticloadbalancing.amazonaws.com" }
      AlbAccessLogsRegionalAccount = { type = "AWS", identifier = data.aws_elb_service_account.current.arn }
    }
    content {
      sid       = statement.key
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]
      principals {
        type        = statement.value.type
        identifiers = [statement.value.identifier]
      }
    }
  }
}

# ------------------------------------------------------------------------------------------------------ lake bucket

resource "aws_s3_bucket" "lake" {
  #checkov:skip=CKV_AWS_144:One-region lake by design; raw is versioned and the Parquet layers are rebuilt from raw. Add replication where a second region is required.
  bucket        = local.lake_bucket
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.lake_bucket, Layer = "lake" })
}

# New objects are sent to EventBridge (free): a hook for alerts or triggers on landing without touching the bucket.
resource "aws_s3_bucket_notification" "lake" {
  bucket      = aws_s3_bucket.lake.id
  eventbridge = true
}

# Versioning (every bucket, below) protects the immutable raw layer from deletion and overwrite; this lifecycle
# expires the non-current versions that the Parquet layers (replaced per partition) and the credit governor's state
# leave behind.
resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket     = aws_s3_bucket.lake.id
  depends_on = [aws_s3_bucket_versioning.this]

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "raw-ia-glacier-expire"
    status = "Enabled"
    filter {
      prefix = "${local.lake_key_root}${local.layers.raw}"
    }
    transition {
      days          = var.raw_ia_days
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = var.raw_glacier_days
      storage_class = var.raw_glacier_storage_class
    }
    expiration {
      days = var.raw_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  # Processed layers (Parquet, replaced per partition): Intelligent-Tiering from day 0. Three rules written out, not a
  # dynamic "rule": checkov 3.3 drops the static rules beside a dynamic one and would fail the abort-uploads check.
  rule {
    id     = "processed-intelligent-tiering-validated"
    status = "Enabled"
    filter {
      prefix = "${local.lake_key_root}${local.layers.validated}"
    }
    transition {
      days          = 0
      storage_class = "INTELLIGENT_TIERING"
    }
    dynamic "expiration" {
      for_each = var.processed_expiration_days == null ? [] : [var.processed_expiration_days]
      content {
        days = expiration.value
      }
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  rule {
    id     = "processed-intelligent-tiering-quarantine"
    status = "Enabled"
    filter {
      prefix = "${local.lake_key_root}${local.layers.quarantine}"
    }
    transition {
      days          = 0
      storage_class = "INTELLIGENT_TIERING"
    }
    dynamic "expiration" {
      for_each = var.processed_expiration_days == null ? [] : [var.processed_expiration_days]
      content {
        days = expiration.value
      }
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  rule {
    id     = "processed-intelligent-tiering-aggregates"
    status = "Enabled"
    filter {
      prefix = "${local.lake_key_root}${local.layers.aggregates}"
    }
    transition {
      days          = 0
      storage_class = "INTELLIGENT_TIERING"
    }
    dynamic "expiration" {
      for_each = var.processed_expiration_days == null ? [] : [var.processed_expiration_days]
      content {
        days = expiration.value
      }
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  # The credit governor rewrites one small object every poll: keep its old versions one day only.
  rule {
    id     = "governor-state-versions"
    status = "Enabled"
    filter {
      prefix = "${local.lake_key_root}${local.layers.state}"
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "dagster-compute-logs"
    status = "Enabled"
    filter {
      prefix = "${local.lake_key_root}_dagster/compute_logs/"
    }
    expiration {
      days = var.compute_log_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }


  lifecycle {
    precondition {
      condition     = var.raw_glacier_days > var.raw_ia_days && var.raw_expiration_days > var.raw_glacier_days
      error_message = "Raw lifecycle days must increase: raw_ia_days < raw_glacier_days < raw_expiration_days."
    }
  }
}

# ---------------------------------------------------------------------------------------------- Athena results bucket

resource "aws_s3_bucket" "athena" {
  #checkov:skip=CKV_AWS_144:Query results are disposable (expired after athena_results_days); replication has no value.
  #checkov:skip=CKV2_AWS_62:Athena results have no consumer for object events.
  bucket        = local.athena_bucket
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.athena_bucket, Layer = "athena-results" })
}

# ------------------------------------------------------------------------------------------------------ every bucket

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = local.buckets
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# SSE-KMS with the customer-managed key; SSE-S3 for the access-log bucket.
resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = each.value.sse
      kms_master_key_id = each.value.sse == "aws:kms" ? aws_kms_key.this.arn : null
    }
    bucket_key_enabled = each.value.sse == "aws:kms" ? true : null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each      = local.logged_buckets
  bucket        = each.value.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${each.value.name}/"
  depends_on    = [aws_s3_bucket_policy.this]
}

# The access logs and the Athena results expire whole: everything after N days, old versions after one.
resource "aws_s3_bucket_lifecycle_configuration" "expire_all" {
  for_each = {
    logs   = { bucket = aws_s3_bucket.logs.id, rule = "expire-access-logs", days = var.access_log_days }
    athena = { bucket = aws_s3_bucket.athena.id, rule = "expire-query-results", days = var.athena_results_days }
  }
  bucket     = each.value.bucket
  depends_on = [aws_s3_bucket_versioning.this]

  rule {
    id     = each.value.rule
    status = "Enabled"
    filter {}
    expiration {
      days = each.value.days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# TLS-only: deny any request without TLS or with TLS < 1.2. Principal {"AWS": "*"} is equivalent to "*" for these
# deny-everyone statements (and moto parses only that form).
data "aws_iam_policy_document" "tls_only" {
  for_each = local.buckets

  dynamic "statement" {
    for_each = {
      DenyInsecureTransport = { test = "Bool", variable = "aws:SecureTransport", value = "false" }
      DenyTlsOlderThan12    = { test = "NumericLessThan", variable = "s3:TlsVersion", value = "1.2" }
    }
    content {
      sid       = statement.key
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [each.value.arn, "${each.value.arn}/*"]
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = statement.value.test
        variable = statement.value.variable
        values   = [statement.value.value]
      }
    }
  }
}

# The access-log bucket's policy adds the log deliveries' grants to the TLS-only statements.
resource "aws_s3_bucket_policy" "this" {
  for_each   = local.buckets
  bucket     = each.value.id
  policy     = each.key == "logs" ? data.aws_iam_policy_document.logs.json : data.aws_iam_policy_document.tls_only[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.this]
}
