"""Step Functions on moto, with the two pieces moto 5.2.5 lacks here.

moto executes state machine definitions when its config
``stepfunctions.execute_state_machine`` is true, but

* without Docker its Lambda backend answers every invocation by echoing the
  payload: :class:`LocalLambdas` routes invocations by function name to
  Python callables instead (the scripted worker, the real summarize handler,
  or, in the end-to-end rig, the real worker over HTTP);
* its Distributed Map ``ResultWriter`` writes the manifest with no result
  files (a TODO in ``resource_eval_s3.py``): :func:`complete_result_writer`
  writes the children's outputs as ``SUCCEEDED_0.json`` / ``FAILED_0.json``
  in the format AWS documents (``ExecutionArn``, ``Input``, ``Output``,
  ``Status``...), so the summarize step reads what it would read on AWS.

The state machine is the stack's own definition, rendered from
``modules/state-machine/definition.asl.json`` as Terraform's
``templatefile()`` renders it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda_simple import models as lambda_simple
from moto.core.config import DefaultConfig
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
    resource_eval_s3,
)

import orchestrator
import summarize
from tests.support import ACCOUNT, REGION, REPORT_BUCKET, SECRET, FakeContext, summary_validator

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

REPO = Path(__file__).resolve().parents[3]
DEFINITION = REPO / "modules" / "state-machine" / "definition.asl.json"
_TEMPLATE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: What a local function does with an event: returns the response payload,
#: or raises :class:`FunctionError` / :class:`Throttled`.
Function = Callable[[dict[str, Any]], object]


class FunctionError(Exception):
    """The function failed: Lambda answers with ``X-Amz-Function-Error``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.payload = {"errorType": error_type, "errorMessage": message}


class Throttled(LambdaClientError):
    """Lambda refused the invocation: ``TooManyRequestsException``."""

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate exceeded")


def template_variables(text: str) -> set[str]:
    """The ``${name}`` variables a template uses."""
    return set(_TEMPLATE_VARIABLE.findall(text))


def render_definition(values: Mapping[str, object]) -> str:
    """The definition, rendered as ``templatefile(path, values)`` renders it."""
    text = DEFINITION.read_text()
    used = template_variables(text)
    missing, unused = used - set(values), set(values) - used
    assert not missing, f"template variables not given: {missing}"
    assert not unused, f"template variables given but not used: {unused}"
    rendered = _TEMPLATE_VARIABLE.sub(lambda m: str(values[m.group(1)]), text).replace("$${", "${")
    json.loads(rendered)
    return rendered


@dataclass
class LocalLambdas:
    """Lambda functions by name, run in-process."""

    functions: Mapping[str, Function] = field(default_factory=dict)
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def invoke(self, function_name: str, body: str | bytes | None, response_headers: dict[str, str]) -> bytes:
        name = function_name.split(":function:")[-1].split(":")[0]
        event = json.loads(body or "{}")
        self.invocations.append((name, event))
        function = self.functions.get(name)
        if function is None:
            raise LambdaClientError("ResourceNotFoundException", f"Function not found: {name}")
        try:
            result = function(event)
        except FunctionError as e:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(e.payload).encode()
        return json.dumps(result).encode()


def invoke_over_http(base_url: str, function_name: str, timeout_seconds: float = 900.0) -> Function:
    """A function served by Lambda's Invoke API at ``base_url`` (``cargo lambda watch``)."""
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError(f"{base_url!r}: local functions are served on 127.0.0.1 only")

    def call(event: dict[str, Any]) -> object:
        request = urllib.request.Request(
            f"{base_url}/2015-03-31/functions/{function_name}/invocations",
            data=json.dumps(event).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            payload = json.loads(response.read() or b"null")
            if response.headers.get("X-Amz-Function-Error"):
                error = payload if isinstance(payload, dict) else {}
                raise FunctionError(str(error.get("errorType", "Unhandled")), str(error.get("errorMessage", "")))
        return payload

    return call


@contextmanager
def local_lambdas(functions: Mapping[str, Function]) -> Iterator[LocalLambdas]:
    """Routes moto's Lambda invocations to ``functions`` while active."""
    local = LocalLambdas(functions=functions)
    original = lambda_simple.LambdaSimpleBackend.invoke

    def invoke(
        self: object, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        return local.invoke(function_name, body, response_headers)

    lambda_simple.LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        yield local
    finally:
        lambda_simple.LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]


@contextmanager
def complete_result_writer() -> Iterator[None]:
    """Makes moto's ResultWriter write result files, as AWS does."""
    resource = resource_eval_s3.ResourceEvalS3
    saved = resource.__dict__["_handle_put_object"]
    original = resource._handle_put_object

    def handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack[-1]
        results = env.stack[-2]
        original(env, resource_runtime_part, state_credentials)
        details = env.stack[-1]["ResultWriterDetails"]
        s3 = resource._get_s3_client(resource_runtime_part, state_credentials)
        manifest_key = details["Key"]
        prefix = manifest_key.rsplit("/", 1)[0]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        succeeded, failed = [], []
        for index, output in enumerate(results if isinstance(results, list) else []):
            record = {
                "ExecutionArn": f"{env.stack[-1]['MapRunArn']}:{uuid.uuid4()}",
                "Name": f"child-{index}",
                "StartDate": now,
                "StopDate": now,
                "RedriveCount": 0,
            }
            if output is None:
                failed.append({**record, "Status": "FAILED", "Error": "States.Runtime", "Cause": "child failed"})
            else:
                succeeded.append({**record, "Status": "SUCCEEDED", "Output": json.dumps(output)})
        files: dict[str, list[dict[str, object]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status, records in (("SUCCEEDED", succeeded), ("FAILED", failed)):
            if records:
                key = f"{prefix}/{status}_0.json"
                body = json.dumps(records).encode()
                s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
                files[status].append({"Key": key, "Size": len(body)})
        manifest = json.loads(s3.get_object(Bucket=parameters["Bucket"], Key=manifest_key)["Body"].read())
        manifest["ResultFiles"] = files
        s3.put_object(Bucket=parameters["Bucket"], Key=manifest_key, Body=json.dumps(manifest).encode())

    resource._handle_put_object = staticmethod(handle_put_object)  # type: ignore[method-assign]
    try:
        yield
    finally:
        resource._handle_put_object = saved  # type: ignore[method-assign]


def wait_for(sfn: Any, execution_arn: str, limit_seconds: float = 300.0) -> dict[str, Any]:
    """The execution once it ended; a guard against a hang, not a timing check."""
    deadline = time.monotonic() + limit_seconds
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{execution_arn} still running after {limit_seconds}s"
        # Not time.sleep: under scripts/test-any-date's libfaketime (monotonic
        # clock left real) it fails with EINVAL; a timed wait does not.
        threading.Event().wait(0.05)


SUFFIX = "test"
WORKER = f"drift-detection-worker-{SUFFIX}"
SUMMARIZE = f"drift-detection-summarize-{SUFFIX}"
RETRY_MAX_ATTEMPTS = 4
SCHEDULED_EVENT = {
    "version": "0",
    "id": "5b9d9a0e-1f7a-4c1e-9a57-3a1f5c0e2b11",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": "2026-11-27T06:00:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/drift-detection-schedule-{SUFFIX}"],
    "detail": {},
}


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@dataclass
class ScriptedWorker:
    """The worker's answers, by workspace name; records concurrency per account."""

    throttles_left: dict[str, int] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: What each workspace's state manages, by name: the worker writes its
    #: ``managed-resources`` document and answers with its ``managed_key``.
    claims: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    s3: Any = None

    def __call__(self, event: dict[str, Any]) -> object:
        account = event["account_id"]
        with self.lock:
            self.in_flight[account] += 1
            self.most_in_flight[account] = max(self.most_in_flight[account], self.in_flight[account])
        try:
            return self.answer(event)
        finally:
            with self.lock:
                self.in_flight[account] -= 1

    def answer(self, event: dict[str, Any]) -> object:
        name = event["workspace"]
        if self.throttles_left.get(name, 0) > 0:
            self.throttles_left[name] -= 1
            raise Throttled
        if name.startswith("flaky") and self.throttles_left.pop(f"crash:{name}", 0):
            raise FunctionError("ReportNotStored", "the report could not be written: S3 answered 503")
        if name.startswith("fails"):
            raise FunctionError("DriftCheckFailed", f"terraform init failed for {name} (role {SECRET})")
        if name.startswith("slow"):
            raise FunctionError("Sandbox.Timedout", "Task timed out after 300.00 seconds")
        critical = 1 if name.startswith("critical") else 0
        key = f"drift-reports/{event['environment']}/{name}/2026/11/27/{event['run_id']}.json"
        answer: dict[str, Any] = {
            "run_id": event["run_id"],
            "workspace": name,
            "environment": event["environment"],
            "status": "drift" if critical else "clean",
            "report_key": key,
            "report_uri": f"s3://{REPORT_BUCKET}/{key}",
            "summary": {
                "total_resources": 12,
                "drifted_resources": critical,
                "by_severity": {"critical": critical, "high": 0, "medium": 0, "low": 0},
            },
            "duration_seconds": 42.5,
        }
        if name in self.claims:
            managed_key = f"managed/{event['environment']}/{name}/{event['run_id']}.json"
            document = {
                "schema_version": "1.0",
                "kind": "managed-resources",
                "run_id": event["run_id"],
                "generated_at": "2026-11-27T06:01:00Z",
                "workspace": {k: event[k] for k in ("environment", "account_id", "region")} | {"name": name},
                "resources": self.claims[name],
            }
            self.s3.put_object(Bucket=REPORT_BUCKET, Key=managed_key, Body=json.dumps(document).encode())
            answer["managed_key"] = managed_key
        return answer


@dataclass
class States:
    """The moto account with the stack's state machine."""

    s3: S3Client
    sqs: SQSClient
    sfn: SFNClient
    queue_url: str
    state_machine_arn: str
    lambdas: LocalLambdas
    worker: ScriptedWorker

    def start(self, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = orchestrator.handler(event, FakeContext())
        return answer

    def finish(self, answer: dict[str, Any]) -> dict[str, Any]:
        described = wait_for(self.sfn, answer["execution_arn"])
        assert described["status"] == "SUCCEEDED", described
        summary: dict[str, Any] = json.loads(
            self.s3.get_object(Bucket=REPORT_BUCKET, Key=answer["summary_uri"].split("/", 3)[3])["Body"].read()
        )
        errors = [e.message for e in summary_validator().iter_errors(summary)]
        assert not errors, errors
        return summary

    def alerts(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return received


@contextmanager
def states_on_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[States]:
    """moto with the stack's state machine, the real handlers, a scripted worker."""
    config: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        s3 = boto3.client("s3")
        sns = boto3.client("sns")
        sqs = boto3.client("sqs")
        sfn = boto3.client("stepfunctions")
        s3.create_bucket(Bucket=REPORT_BUCKET)
        topic_arn = sns.create_topic(Name=f"drift-detection-alerts-{SUFFIX}")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        definition = render_definition(
            {
                "worker_function_arn": lambda_arn(WORKER),
                "summarize_function_arn": lambda_arn(SUMMARIZE),
                "codebuild_project_name": f"drift-detection-large-checks-{SUFFIX}",
                "report_bucket": REPORT_BUCKET,
                "results_prefix": "executions/results",
                "worker_retry_max_attempts": RETRY_MAX_ATTEMPTS,
            }
        )
        state_machine_arn = sfn.create_state_machine(
            name=f"drift-detection-runs-{SUFFIX}",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/drift-detection-states-{SUFFIX}",
            type="STANDARD",
        )["stateMachineArn"]
        for module in (orchestrator, summarize):
            monkeypatch.setattr(module, "s3_client", s3)
            monkeypatch.setattr(module, "sns_client", sns)
        monkeypatch.setattr(orchestrator, "sfn_client", sfn)
        monkeypatch.setenv("STATE_MACHINE_ARN", state_machine_arn)
        monkeypatch.setenv("REPORT_BUCKET", REPORT_BUCKET)
        monkeypatch.setenv("SNS_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("MAX_CONCURRENCY_PER_ACCOUNT", "2")
        monkeypatch.setenv("MAX_CONCURRENCY_PER_REGION", "1")
        worker = ScriptedWorker(s3=s3)

        def run_summarize(event: dict[str, Any]) -> object:
            return summarize.handler(event, FakeContext())

        with complete_result_writer(), local_lambdas({WORKER: worker, SUMMARIZE: run_summarize}) as lambdas:
            yield States(
                s3=s3,
                sqs=sqs,
                sfn=sfn,
                queue_url=queue_url,
                state_machine_arn=state_machine_arn,
                lambdas=lambdas,
                worker=worker,
            )
