# Deliberately broken workspace for error-path demos: `terraform init` succeeds
# (the configuration parses and needs no provider), but `terraform plan` fails
# with exit code 1 because the output refers to a variable that is not declared:
#
#   Error: Reference to undeclared input variable
#     on main.tf line 19, in output "bucket_name":
#     An input variable with the name "bucket_prefix" has not been declared.

terraform {
  required_version = ">= 1.0.0"
}

variable "environment" {
  type    = string
  default = "dev"
}

output "bucket_name" {
  value = "${var.bucket_prefix}-${var.environment}"
}
