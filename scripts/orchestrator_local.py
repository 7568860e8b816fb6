"""Starts one drift-detection run from this machine, with the orchestrator's handler.

    .venv/bin/python scripts/orchestrator_local.py '{"environments": ["prod"]}' --wait

The handler runs as in Lambda, with its configuration from the environment
(``STATE_MACHINE_ARN``, ``REPORT_BUCKET``, ``SNS_TOPIC_ARN``,
``WORKSPACES_JSON`` or ``INVENTORY_S3_URI``, ...), and answers with the run
id, the execution ARN and where the summary will be written. ``--wait``
follows the execution to its end and prints the run summary instead.

Against local services (``AWS_ENDPOINT_URL``: the end-to-end suite's
``tests/e2e/moto_with_states.py``), ``--local-state-machine`` first creates
the stack's state machine there (``modules/state-machine/definition.asl.json``,
rendered as the stack renders it) and points ``STATE_MACHINE_ARN`` at it.
Output goes to stdout, or to the file ``--out`` names.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lib" / "lambda"))

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOCAL_STATE_MACHINE = "drift-detection-runs-local"


class LocalContext:
    """The parts of Lambda's context object the handler uses."""

    function_name = "drift-detection-orchestrator-local"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:drift-detection-orchestrator-local"
    memory_limit_in_mb = 512
    aws_request_id = "local"
    log_group_name = "local"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def create_local_state_machine(sfn: Any, bucket: str) -> str:
    """The stack's state machine, created in the local endpoint; its ARN."""
    from tests.local_states import render_definition

    definition = render_definition(
        {
            "worker_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:drift-detection-worker",
            "summarize_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:drift-detection-summarize",
            "codebuild_project_name": "drift-detection-large-checks-local",
            "report_bucket": bucket,
            "results_prefix": "executions/results",
            "worker_retry_max_attempts": 6,
        }
    )
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{LOCAL_STATE_MACHINE}"
    existing = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
    if arn not in existing:
        sfn.create_state_machine(
            name=LOCAL_STATE_MACHINE,
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/drift-detection-states-local",
            type="STANDARD",
        )
    return arn


def follow(sfn: Any, s3: Any, answer: dict[str, Any], limit_seconds: float) -> dict[str, Any]:
    """The run summary, once the execution has ended."""
    from tests.local_states import wait_for

    described = wait_for(sfn, answer["execution_arn"], limit_seconds)
    if described["status"] != "SUCCEEDED":
        raise SystemExit(
            f"the execution ended {described['status']}: {described.get('error')} {described.get('cause')}"
        )
    bucket, _, key = answer["summary_uri"].removeprefix("s3://").partition("/")
    summary: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("event", nargs="?", default="{}", help="the event as JSON (default: {})")
    parser.add_argument("--wait", action="store_true", help="follow the execution and print the run summary")
    parser.add_argument("--wait-limit", type=float, default=1800, help="seconds --wait waits at most")
    parser.add_argument(
        "--local-state-machine", action="store_true", help="create the stack's state machine in AWS_ENDPOINT_URL first"
    )
    parser.add_argument("--out", type=Path, help="write the answer or the summary to this file instead of stdout")
    args = parser.parse_args()
    event = json.loads(args.event)

    import boto3

    sfn = boto3.client("stepfunctions")
    if args.local_state_machine:
        os.environ["STATE_MACHINE_ARN"] = create_local_state_machine(sfn, os.environ.get("REPORT_BUCKET", ""))

    import orchestrator  # after sys.path: the Lambda code folder

    answer: Any = orchestrator.handler(event, LocalContext())
    if args.wait and "execution_arn" in answer:
        answer = follow(sfn, boto3.client("s3"), answer, args.wait_limit)
    text = json.dumps(answer)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
