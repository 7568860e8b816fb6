# Stand-in for the dev network stack. It manages no infrastructure: it only
# publishes the VPC layout as outputs, so that ../dev-outputs can read them
# through a `terraform_remote_state` data source without any provider plugin.
#
# terraform.tfstate next to this file was written by `terraform apply` of this
# configuration (Terraform 1.0.3); see examples/README.md.

terraform {
  required_version = ">= 1.0.0"
}

locals {
  vpc_id     = "vpc-0d3e5f7a9b1c24e68"
  vpc_cidr   = "10.30.0.0/16"
  azs        = ["us-east-1a", "us-east-1b"]
  public_ids = ["subnet-0a41c7e2d95b3f106", "subnet-0c58e1f4a27d96b35"]
  private_ids = [
    "subnet-07e2b9c4d1a35f680",
    "subnet-0f6d3a8e2c5b17944",
  ]
}

output "vpc_id" {
  description = "ID of the dev VPC"
  value       = local.vpc_id
}

output "vpc_cidr_block" {
  value = local.vpc_cidr
}

output "availability_zones" {
  value = local.azs
}

output "public_subnet_ids" {
  value = local.public_ids
}

output "private_subnet_ids" {
  value = local.private_ids
}
