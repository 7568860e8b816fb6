# The root pins Terraform itself; a module states its provider.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }
}
