# The provider this module uses. Terraform's own version is required once, by the root (envs/prod/versions.tf).
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
