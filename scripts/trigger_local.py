"""Hands a queue's change events to the trigger's handler, as Lambda's SQS event source mapping would.

    .venv/bin/python scripts/trigger_local.py QUEUE_URL --local-state-machine --wait --out checks.json

Receives what the queue holds now (the stack's EventBridge rules deliver
there), calls ``trigger.handler`` with SQS batches of up to 10 records,
deletes the messages it handled (a ``batchItemFailures`` entry stays in the
queue, as with ``ReportBatchItemFailures``), and answers
``{"handled", "failed", "executions": [...]}``: the executions the batch
started. With ``--wait`` it follows each to its end and adds its run
summary. Configuration comes from the environment, as in Lambda (the
orchestrator's variables plus ``INDEX_TABLE``, ``TRIGGER_QUEUE_URL``,
``EVENT_CHECK_MIN_INTERVAL_MINUTES``, ``EVENT_IGNORE_PRINCIPALS``);
``--local-state-machine`` creates the stack's state machine in
``AWS_ENDPOINT_URL`` first, as ``scripts/orchestrator_local.py`` does.
Delayed messages (trailing checks) are not waited for.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orchestrator_local import REGION, LocalContext, create_local_state_machine, follow

#: Receives per run at most (10 messages each): a guard against a queue that never empties.
MAX_RECEIVES = 100


class TriggerContext(LocalContext):
    """Lambda's context object, named as the trigger."""

    function_name = "drift-detection-trigger-local"


def sqs_event(queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes for ``messages``."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queue_url", help="the change-events queue")
    parser.add_argument("--wait", action="store_true", help="follow the started executions to their end")
    parser.add_argument("--wait-limit", type=float, default=1800, help="seconds --wait waits at most per execution")
    parser.add_argument(
        "--local-state-machine", action="store_true", help="create the stack's state machine in AWS_ENDPOINT_URL first"
    )
    parser.add_argument("--out", type=Path, help="write the answer to this file instead of stdout")
    args = parser.parse_args()

    import boto3

    sfn = boto3.client("stepfunctions")
    sqs = boto3.client("sqs")
    if args.local_state_machine:
        os.environ["STATE_MACHINE_ARN"] = create_local_state_machine(sfn, os.environ.get("REPORT_BUCKET", ""))
    os.environ.setdefault("TRIGGER_QUEUE_URL", args.queue_url)
    state_machine = os.environ["STATE_MACHINE_ARN"]
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=state_machine)["executions"]}
    queue_arn = sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    import trigger  # after sys.path: the Lambda code folder

    handled = failed = 0
    for _ in range(MAX_RECEIVES):
        messages = sqs.receive_message(
            QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        answer = trigger.handler(sqs_event(queue_arn, messages), TriggerContext())
        failures = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] in failures:
                failed += 1
                continue
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    else:
        raise SystemExit(f"the queue still held messages after {MAX_RECEIVES} receives")

    started = [
        e for e in sfn.list_executions(stateMachineArn=state_machine)["executions"] if e["executionArn"] not in before
    ]
    executions: list[dict[str, Any]] = []
    s3 = boto3.client("s3")
    bucket = os.environ.get("REPORT_BUCKET", "")
    for execution in sorted(started, key=lambda e: e["name"]):
        entry: dict[str, Any] = {"name": execution["name"], "execution_arn": execution["executionArn"]}
        if args.wait:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            run_key = json.loads(described["input"])["run_key"]
            manifest = json.loads(s3.get_object(Bucket=bucket, Key=run_key)["Body"].read())
            summary_uri = f"s3://{bucket}/{manifest['summary_key']}"
            entry["summary"] = follow(
                sfn, s3, {"execution_arn": execution["executionArn"], "summary_uri": summary_uri}, args.wait_limit
            )
        executions.append(entry)
    text = json.dumps({"handled": handled, "failed": failed, "executions": executions})
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
