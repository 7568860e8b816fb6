#!/usr/bin/env python3
"""Prints the Lambda worker's figures: zip size, cold-start init, handler overhead.

Run through scripts/bench-worker, which builds the arm64 deployment zip and the
host release binary first. Measured on this machine, nothing leaves 127.0.0.1:

* zip size: target/lambda/drift-detection-worker/bootstrap.zip (target < 10 MB);
* cold-start init: the host release binary is started under a minimal Lambda
  Runtime API served here; init is the time from spawn to its first
  `GET /runtime/invocation/next` (config checked, SDK clients built);
* handler overhead for a 10k-resource plan (target < 1 s): the invocation's
  wall time (event served -> response posted) minus the time terraform itself
  took (the report's `terraform.runs` durations). Terraform is a stand-in that
  replays a synthetic 10k-resource plan (benches/gen_plan.py), the bundle
  comes from S3 and the report goes to S3, both on a moto server.

Each figure is the median of --runs cold starts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "target" / "release" / "drift-detection-worker"
ZIP = ROOT / "target" / "lambda" / "drift-detection-worker" / "bootstrap.zip"
MOTO = ROOT / ".venv" / "bin" / "moto_server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RuntimeApi(BaseHTTPRequestHandler):
    """Lambda's Runtime API for one invocation of one process."""

    event: bytes = b"{}"
    first_next: float | None = None
    served: float | None = None
    answered: float | None = None
    answer: bytes = b""
    done = threading.Event()

    def do_GET(self) -> None:
        cls = type(self)
        if cls.first_next is None:
            cls.first_next = time.perf_counter()
        if cls.served is not None:  # one invocation only: hold the poll
            cls.done.wait(30)
            self.send_response(500)
            self.end_headers()
            return
        deadline_ms = int((time.time() + 900) * 1000)
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(cls.event)))
        self.end_headers()
        self.wfile.write(cls.event)
        cls.served = time.perf_counter()

    def do_POST(self) -> None:
        cls = type(self)
        cls.answer = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        cls.answered = time.perf_counter()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        cls.done.set()

    def log_message(self, format: str, *args: object) -> None:
        pass


def one_cold_start(env: dict[str, str], event: dict[str, object], s3: object) -> tuple[float, float, float]:
    """(init seconds, invocation seconds, terraform seconds)."""

    class Api(RuntimeApi):
        pass

    Api.event = json.dumps(event).encode()
    Api.done = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}"}
    started = time.perf_counter()
    proc = subprocess.Popen([WORKER], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not Api.done.wait(300):
            raise SystemExit("the worker did not answer within 300 s")
    finally:
        proc.kill()
        proc.wait()
        server.shutdown()
    answer = json.loads(Api.answer)
    if "report_key" not in answer:
        raise SystemExit(f"the worker failed: {answer}")
    report = json.loads(s3.get_object(Bucket="reports", Key=answer["report_key"])["Body"].read())  # type: ignore[attr-defined]
    terraform = sum(run["duration_seconds"] for run in report["terraform"]["runs"])
    assert Api.first_next is not None and Api.served is not None and Api.answered is not None
    return Api.first_next - started, Api.answered - Api.served, terraform


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--resources", type=int, default=10_000)
    args = parser.parse_args()
    if not WORKER.exists():
        raise SystemExit(f"{WORKER} is missing: run scripts/bench-worker (it builds it)")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        plan = tmp / "plan.json"
        subprocess.run([sys.executable, ROOT / "benches" / "gen_plan.py", str(args.resources), plan], check=True)
        terraform = tmp / "terraform"
        terraform.write_text(f'#!/bin/sh\ncase "$1" in\n  show) cat {plan} ;;\n  plan) exit 2 ;;\nesac\nexit 0\n')
        terraform.chmod(0o755)

        port = free_port()
        moto = subprocess.Popen(
            [MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            endpoint = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
            s3 = boto3.client("s3", endpoint_url=endpoint, **creds)
            sns = boto3.client("sns", endpoint_url=endpoint, **creds)
            s3.create_bucket(Bucket="reports")
            s3.create_bucket(Bucket="bundles")
            bundle = io.BytesIO()
            with zipfile.ZipFile(bundle, "w") as z:
                z.writestr("main.tf", "# replayed by the stand-in terraform\n")
            s3.put_object(Bucket="bundles", Key="bench.zip", Body=bundle.getvalue())
            topic = sns.create_topic(Name="bench")["TopicArn"]
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "TMPDIR": str(tmp),
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": "bench",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
                "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
                "REPORT_BUCKET": "reports",
                "SNS_TOPIC_ARN": topic,
                "TERRAFORM_PATH": str(terraform),
                "LOG_LEVEL": "warn",
            }
            results = []
            for run in range(args.runs):
                event = {
                    "run_id": f"bench-{run}",
                    "workspace": "bench",
                    "environment": "prod",
                    "account_id": "123456789012",
                    "region": "us-east-1",
                    "source": "s3://bundles/bench.zip",
                    "mode": "plan",
                    "notify": False,
                }
                results.append(one_cold_start(env, event, s3))
        finally:
            moto.kill()
            moto.wait()

    init = statistics.median(r[0] for r in results) * 1000
    invocation = statistics.median(r[1] for r in results)
    overhead = statistics.median(r[1] - r[2] for r in results)
    size = ZIP.stat().st_size / 1e6 if ZIP.exists() else None
    rows = [
        ("deployment zip (arm64)", "n/a (not built)" if size is None else f"{size:.2f} MB", "< 10 MB"),
        ("cold-start init (host binary)", f"{init:.1f} ms", ""),
        (f"invocation, {args.resources:,}-resource plan", f"{invocation * 1000:.0f} ms", ""),
        ("handler overhead beyond terraform", f"{overhead * 1000:.0f} ms", "< 1000 ms"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'figure'.ljust(width)} | measured | target |")
    print(f"|{'-' * (width + 2)}|----------|--------|")
    for name, value, target in rows:
        print(f"| {name.ljust(width)} | {value} | {target} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
