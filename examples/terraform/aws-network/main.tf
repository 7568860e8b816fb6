# A small, realistic AWS workspace for the end-to-end suite and the demo:
# a report bucket, an archive bucket, an application security group and
# three PostgreSQL databases, with state in S3 and locks in DynamoDB.
#
# With `aws_endpoint` set (a local AWS emulator such as moto's server), the
# provider and the backend talk to it instead of AWS; the end-to-end suite
# pairs it with the stand-in provider of tests/standin-provider. Without it,
# this is an ordinary configuration for the real hashicorp/aws provider.
#
#   terraform init -backend-config=bucket=STATE_BUCKET -backend-config=key=prod/network.tfstate \
#     -backend-config=region=us-east-1 -backend-config=dynamodb_table=LOCK_TABLE
#   terraform apply -var name_prefix=prod
#
# With terraform 1.1 or later, also copy since-1.1/moved.tf here: it records
# that aws_s3_bucket.archive was once declared as aws_s3_bucket.exports (a
# `moved` block, which terraform 1.0 refuses).

terraform {
  required_version = ">= 1.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  backend "s3" {}
}

variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every name, e.g. the environment (prod, staging)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name_prefix))
    error_message = "The name_prefix must be 2-21 lowercase letters, digits and hyphens."
  }
}

variable "aws_endpoint" {
  description = "Endpoint of a local AWS emulator for every service; null for AWS itself."
  type        = string
  default     = null
}

variable "db_password" {
  description = "Master password of the databases."
  type        = string
  sensitive   = true
  default     = "change-me-in-a-real-account"
}

provider "aws" {
  region = var.region

  s3_use_path_style           = var.aws_endpoint != null
  skip_credentials_validation = var.aws_endpoint != null
  skip_requesting_account_id  = var.aws_endpoint != null

  endpoints {
    s3  = var.aws_endpoint
    ec2 = var.aws_endpoint
    rds = var.aws_endpoint
    sts = var.aws_endpoint
  }
}

locals {
  tags = {
    Environment = var.name_prefix
    Owner       = "platform-team"
    ManagedBy   = "terraform"
  }
}

resource "aws_s3_bucket" "reports" {
  bucket        = "${var.name_prefix}-acme-reports"
  force_destroy = true
  tags          = merge(local.tags, { Name = "${var.name_prefix}-acme-reports" })
}

resource "aws_s3_bucket" "archive" {
  bucket        = "${var.name_prefix}-acme-archive"
  force_destroy = true
  tags          = merge(local.tags, { Name = "${var.name_prefix}-acme-archive", Retention = "400d" })
}

resource "aws_security_group" "app" {
  name        = "${var.name_prefix}-app"
  description = "Application servers: HTTPS from the load balancer subnets only"

  ingress {
    description = "HTTPS from the load balancers"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.20.0.0/16"]
  }

  egress {
    description = "All outbound"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(local.tags, { Name = "${var.name_prefix}-app" })
}

resource "aws_db_instance" "orders" {
  identifier          = "${var.name_prefix}-orders"
  engine              = "postgres"
  instance_class      = "db.t3.medium"
  allocated_storage   = 50
  username            = "orders"
  password            = var.db_password
  storage_encrypted   = true
  publicly_accessible = false
  skip_final_snapshot = true
  tags                = merge(local.tags, { Name = "${var.name_prefix}-orders" })
}

resource "aws_db_instance" "analytics" {
  identifier          = "${var.name_prefix}-analytics"
  engine              = "postgres"
  instance_class      = "db.t3.large"
  allocated_storage   = 100
  username            = "analytics"
  password            = var.db_password
  storage_encrypted   = true
  publicly_accessible = false
  skip_final_snapshot = true
  tags                = merge(local.tags, { Name = "${var.name_prefix}-analytics" })
}

# RDS storage autoscaling (or the on-call DBA) grows this database's disk as
# events pile up; applying must never try to shrink it back, so Terraform
# sets the initial size and then leaves it alone.
resource "aws_db_instance" "events" {
  identifier          = "${var.name_prefix}-events"
  engine              = "postgres"
  instance_class      = "db.t3.medium"
  allocated_storage   = 20
  username            = "events"
  password            = var.db_password
  storage_encrypted   = true
  publicly_accessible = false
  skip_final_snapshot = true
  tags                = merge(local.tags, { Name = "${var.name_prefix}-events" })

  lifecycle {
    ignore_changes = [allocated_storage]
  }
}

output "reports_bucket" {
  description = "Name of the report bucket."
  value       = aws_s3_bucket.reports.bucket
}

output "app_security_group_id" {
  description = "ID of the application security group."
  value       = aws_security_group.app.id
}
