provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "flight_assets"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
