"""One JSON document from S3, read with a bound: the run's items, manifest,
results, durations, a CodeBuild check's event or response.

A document larger than the bound is refused before it is read
(:class:`TooLarge`); one that is not JSON raises ``ValueError`` as
``json.loads`` does, so callers handle both as one "unreadable" case.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class TooLarge(ValueError):
    """The object is larger than the reader's bound."""


def read_json(s3: S3Client, bucket: str, key: str, limit: int) -> Any:
    """The document at ``s3://bucket/key``, at most ``limit`` bytes."""
    response = s3.get_object(Bucket=bucket, Key=key)
    if response.get("ContentLength", 0) > limit:
        raise TooLarge(f"s3://{bucket}/{key} is larger than {limit} bytes")
    return json.loads(response["Body"].read(limit + 1))
