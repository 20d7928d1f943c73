terraform {
  # For this root and every module it calls (the modules declare only their provider).
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State stays local until you configure a backend, e.g.:
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "flight-assets/prod.tfstate"
  #   region       = "us-east-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}
