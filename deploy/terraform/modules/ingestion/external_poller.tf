# The supported alternative when OpenSky blocks AWS's IP ranges: the same poller on a host outside AWS
# (`flight-assets ingest --interval 30`, deploy/flight-assets-ingest.service), writing into this lake and sharing the
# credit governor's _state/ with anything else that polls. Its policy: read/write raw/ and _state/ only, and the lake
# key to encrypt/decrypt them. The policy JSON is always an output; the IAM user (in a group holding the policy) is
# created with external_poller = true. No access key here: it would land in the Terraform state (README: create it
# with the CLI and store it on the host).

data "aws_region" "current" {}

data "aws_iam_policy_document" "external_poller" {
  # Listing only under raw/ and _state/: a missing key then answers 404 rather than 403.
  statement {
    sid       = "ListRawAndState"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.poller_keys
    }
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
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_group" "external_poller" {
  count = var.external_poller ? 1 : 0
  name  = "${local.function_name}-external-poller"
}

resource "aws_iam_group_policy" "external_poller" {
  count  = var.external_poller ? 1 : 0
  name   = "external-poller"
  group  = aws_iam_group.external_poller[0].name
  policy = data.aws_iam_policy_document.external_poller.json
}

resource "aws_iam_user" "external_poller" {
  #checkov:skip=CKV_AWS_273:The poller runs on a host outside AWS (OpenSky blocks AWS's ranges) without SSO or an instance role; a user with one narrow group policy and a key kept on that host is the supported way.
  count = var.external_poller ? 1 : 0
  name  = "${local.function_name}-external-poller"
  tags  = var.tags
}

resource "aws_iam_user_group_membership" "external_poller" {
  count  = var.external_poller ? 1 : 0
  user   = aws_iam_user.external_poller[0].name
  groups = [aws_iam_group.external_poller[0].name]
}
