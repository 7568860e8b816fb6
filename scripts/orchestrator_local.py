"""Runs the orchestrator's Lambda handler on this machine, once.

    .venv/bin/python scripts/orchestrator_local.py '{"environments": ["prod"]}'

The handler runs as in Lambda, with a context whose deadline is
``--timeout`` seconds away, and with its configuration from the environment
(``WORKER_FUNCTION_ARN``, ``REPORT_BUCKET``, ``SNS_TOPIC_ARN``,
``WORKSPACES_JSON`` or ``INVENTORY_S3_URI``, ...). Point boto3 at local
services with ``AWS_ENDPOINT_URL`` (e.g. moto's server for S3 and SNS) and
``AWS_ENDPOINT_URL_LAMBDA`` (e.g. ``cargo lambda watch``'s invoke endpoint,
``http://127.0.0.1:9000``, with ``WORKER_FUNCTION_ARN=drift-detection-worker``).
The handler's own logs go to stdout, as in Lambda; the run summary follows
as the last line, or goes to the file ``--out`` names.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib" / "lambda"))


class LocalContext:
    """The parts of Lambda's context object the handler uses."""

    function_name = "drift-detection-orchestrator-local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:drift-detection-orchestrator-local"
    memory_limit_in_mb = 512
    aws_request_id = "local"
    log_group_name = "local"
    log_stream_name = "local"

    def __init__(self, timeout_seconds: float) -> None:
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("event", nargs="?", default="{}", help="the event as JSON (default: {})")
    parser.add_argument("--timeout", type=float, default=900, help="seconds until the context's deadline")
    parser.add_argument("--out", type=Path, help="write the run summary to this file instead of stdout")
    args = parser.parse_args()
    event = json.loads(args.event)

    import orchestrator  # after sys.path: the Lambda code folder

    summary = orchestrator.handler(event, LocalContext(args.timeout))
    text = json.dumps(summary)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
