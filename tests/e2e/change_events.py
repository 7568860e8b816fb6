"""The end-to-end rig's EventBridge: the stack's change-event rules, on moto.

    change_events.py ENDPOINT route QUEUE_NAME     # prints the queue's URL
    change_events.py ENDPOINT put EVENTS_JSON       # a JSON list of PutEvents entries

``route`` creates the queue and, on moto's default bus, one rule per pattern
file of ``modules/event-checks/patterns`` (read as the stack reads them, not
copied) targeting it, as the stack's ``modules/event-checks`` does in AWS.
``put`` publishes entries as AWS services would (moto accepts their
``aws.*`` sources; AWS itself emits CloudTrail's and Config's events on the
bus), and fails if any entry is refused. moto's EventBridge then matches the
patterns and delivers what matches to the queue.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3

PATTERNS = Path(__file__).resolve().parents[2] / "modules" / "event-checks" / "patterns"


def route(endpoint: str, queue_name: str) -> str:
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    events = boto3.client("events", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for path in sorted(PATTERNS.glob("*.json")):
        name = f"drift-detection-{path.stem}-e2e"
        events.put_rule(Name=name, EventPattern=path.read_text(), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "change-events", "Arn": arn}])
    return url


def put(endpoint: str, entries_file: str) -> None:
    events = boto3.client("events", endpoint_url=endpoint)
    entries = json.loads(Path(entries_file).read_text())
    answer = events.put_events(Entries=entries)
    if answer.get("FailedEntryCount"):
        raise SystemExit(f"PutEvents refused entries: {answer['Entries']}")


def main() -> int:
    endpoint, command, argument = sys.argv[1:4]
    if command == "route":
        print(route(endpoint, argument))
    elif command == "put":
        put(endpoint, argument)
    else:
        raise SystemExit(f"unknown command {command!r}: route or put")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
