# A real, provider-free Terraform workspace for drift-detection demos and tests.
#
# It needs no provider plugin download: it uses only variables, locals, outputs
# and the built-in `terraform_remote_state` data source (local backend) reading
# ../shared-network-state/terraform.tfstate. `terraform init -input=false` and
# `terraform plan -detailed-exitcode` therefore work offline; with the committed
# terraform.tfstate (local backend, default path) the plan is clean: exit code 0.
#
# Run it from this directory (the state path below is relative to the working
# directory, as Terraform resolves it):
#
#   terraform init -input=false
#   terraform plan -input=false -detailed-exitcode   # 0 = clean, 2 = changes, 1 = error

terraform {
  required_version = ">= 1.0.0"
}

variable "environment" {
  type    = string
  default = "dev"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "account_id" {
  type    = string
  default = "333333333333"
}

variable "service" {
  type    = string
  default = "outputs"
}

data "terraform_remote_state" "network" {
  backend = "local"

  config = {
    path = "${path.module}/../shared-network-state/terraform.tfstate"
  }
}

locals {
  network     = data.terraform_remote_state.network.outputs
  name_prefix = "${var.environment}-${var.service}"

  common_tags = {
    Environment = var.environment
    ManagedBy   = "terraform"
    Service     = var.service
  }

  subnets_by_az = zipmap(local.network.availability_zones, local.network.private_subnet_ids)
}

output "name_prefix" {
  value = local.name_prefix
}

output "account_id" {
  value = var.account_id
}

output "region" {
  value = var.region
}

output "vpc_id" {
  value = local.network.vpc_id
}

output "private_subnet_ids" {
  value = local.network.private_subnet_ids
}

output "subnets_by_az" {
  value = local.subnets_by_az
}

output "common_tags" {
  value = local.common_tags
}
