# The archive bucket was declared as aws_s3_bucket.exports until a refactor
# renamed it: this block moves existing state to the new address instead of
# destroying the bucket and creating it again. Terraform 1.1 or later only
# (1.0 does not know `moved` blocks): copy this file next to ../main.tf.
moved {
  from = aws_s3_bucket.exports
  to   = aws_s3_bucket.archive
}
