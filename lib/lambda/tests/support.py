"""Test doubles: a fake Lambda context, a fake clock, a scripted worker."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

ACCOUNT = "123456789012"
REGION = "us-east-1"
WORKER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:drift-detection-worker"
REPORT_BUCKET = "drift-reports-test"
SECRET = "ext-id-do-not-leak-7f3a"


class FakeContext(LambdaContext):
    """A Lambda context whose remaining time is set by the test."""

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self._function_name = "drift-detection-orchestrator"
        self._function_version = "$LATEST"
        self._memory_limit_in_mb = 256
        self._invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:drift-detection-orchestrator"
        self._aws_request_id = "00000000-0000-4000-8000-000000000001"
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.remaining_ms


@dataclass
class FakeClock:
    """A monotonic clock the test moves; ``sleep`` advances it."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds


class UpperBoundRng:
    """A ``random.Random`` stand-in whose draws are the top of the range."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b


def workspace_entry(name: str, environment: str, **overrides: Any) -> dict[str, Any]:
    """An inventory entry, valid unless overridden."""
    entry: dict[str, Any] = {
        "name": name,
        "environment": environment,
        "account_id": "111111111111",
        "region": "us-east-1",
        "role_arn": "arn:aws:iam::111111111111:role/drift-detection-read",
        "external_id": SECRET,
        "source": f"s3://tf-bundles/{environment}/{name}.zip",
        "backend_config": {"bucket": "tf-state", "key": f"{environment}/{name}.tfstate"},
    }
    entry.update(overrides)
    return entry


def _body(document: object) -> StreamingBody:
    data = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(data), len(data))


class ScriptedWorker:
    """A real Lambda client whose Invoke answers are scripted with Stubber.

    Answers are consumed in order, so tests that script several workspaces run
    the fan-out with a concurrency of 1. Every payload sent is recorded.
    """

    def __init__(
        self,
        client: LambdaClient,
        function_name: str = WORKER_ARN,
        on_call: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.function_name = function_name
        self.stubber = Stubber(client)
        self.sent: list[dict[str, Any]] = []
        client.meta.events.register("before-parameter-build.lambda.Invoke", self._record)
        if on_call is not None:
            client.meta.events.register("after-call.lambda.Invoke", lambda **_: on_call())
        self.stubber.activate()

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.sent.append(json.loads(params["Payload"]))

    def _expected(self) -> dict[str, Any]:
        return {
            "FunctionName": self.function_name,
            "InvocationType": "RequestResponse",
            "Payload": ANY,
        }

    def completes(
        self,
        run_id: str,
        workspace: str,
        environment: str,
        status: str = "clean",
        *,
        critical: int = 0,
        high: int = 0,
        medium: int = 0,
        low: int = 0,
        **replace: Any,
    ) -> None:
        """The worker finishes the check normally."""
        key = f"drift-reports/{environment}/{workspace}/2026/11/27/{run_id}.json"
        payload: dict[str, Any] = {
            "run_id": run_id,
            "workspace": workspace,
            "environment": environment,
            "status": status,
            "report_key": key,
            "report_uri": f"s3://{REPORT_BUCKET}/{key}",
            "summary": {
                "total_resources": 12,
                "drifted_resources": critical + high + medium + low,
                "pending_changes": 1 if status == "pending_changes" else 0,
                "by_severity": {"critical": critical, "high": high, "medium": medium, "low": low},
            },
            "duration_seconds": 41.5,
        }
        payload.update(replace)
        self.stubber.add_response(
            "invoke",
            {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": _body(payload)},
            self._expected(),
        )

    def fails(self, error_type: str, message: str) -> None:
        """The worker returns a function error."""
        self.stubber.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "ExecutedVersion": "$LATEST",
                "Payload": _body({"errorType": error_type, "errorMessage": message}),
            },
            self._expected(),
        )

    def raw(self, payload: bytes) -> None:
        """The worker answers with these bytes."""
        self.stubber.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            },
            self._expected(),
        )

    def api_error(self, code: str, status: int = 429) -> None:
        """The Lambda API refuses the call (throttling and friends)."""
        self.stubber.add_client_error(
            "invoke",
            service_error_code=code,
            service_message=f"{code} (scripted)",
            http_status_code=status,
            expected_params=self._expected(),
        )

    def assert_done(self) -> None:
        """Every scripted answer was used."""
        self.stubber.assert_no_pending_responses()
