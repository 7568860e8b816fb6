"""moto's server, able to run the stack's state machine end to end, for the end-to-end suite.

    python tests/e2e/moto_with_states.py -H 127.0.0.1 -p PORT --routes FILE

The same server as ``moto_server`` (S3, SNS, EC2, RDS, DynamoDB...), with
Step Functions executing definitions (moto's ``execute_state_machine``) and
the two pieces moto lacks without Docker filled in by
``lib/lambda/tests/local_states.py``: Lambda invocations are routed by
function name, and the Distributed Map's ResultWriter writes its result
files. ``FILE`` (JSON, read at each invocation, so the suite can write it
once the worker is up) maps a function name to where it runs::

    {"drift-detection-worker": {"url": "http://127.0.0.1:PORT"},
     "drift-detection-summarize": {"python": "summarize", "env": {...}}}

``url`` is a Lambda Invoke API (``cargo lambda watch`` behind
``lambda_api_proxy.py``); ``python`` names a module of ``lib/lambda`` whose
``handler`` runs in this process, with ``env`` set first; every boto3 client
in this process talks to this server (``AWS_ENDPOINT_URL``). It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lib" / "lambda"))


class Routes(Mapping[str, Any]):
    """The routes file, read when a function is looked up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def _routes(self) -> dict[str, Any]:
        try:
            routes: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return routes

    def __getitem__(self, name: str) -> Any:
        from tests.local_states import invoke_over_http
        from tests.support import FakeContext

        route = self._routes()[name]
        if "url" in route:
            return invoke_over_http(route["url"], name)
        with self.lock:
            os.environ.update(route.get("env", {}))
            module = importlib.import_module(route["python"])
        return lambda event: module.handler(event, FakeContext())

    def __iter__(self) -> Iterator[str]:
        return iter(self._routes())

    def __len__(self) -> int:
        return len(self._routes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--routes", type=Path, required=True)
    args = parser.parse_args()
    if args.host != "127.0.0.1":
        parser.error("this server listens on 127.0.0.1 only")
    # Before any handler module is imported (they build their boto3 clients
    # at import): every client in this process talks to this server.
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{args.port}",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_SERVICE_NAME": "drift-detection-summarize",
            # moto's Step Functions call the other services of this server
            # at http://localhost:$MOTO_PORT.
            "MOTO_PORT": str(args.port),
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)

    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from tests.local_states import complete_result_writer, local_lambdas
    from werkzeug.serving import make_server

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}
    with ExitStack() as patches:
        patches.enter_context(complete_result_writer())
        patches.enter_context(local_lambdas(Routes(args.routes)))
        # As ThreadedMotoServer serves, but in this thread: a port another
        # process took in the meantime ends this one (OSError), and the
        # suite's launcher tries another port, as it does for moto_server.
        server = make_server(
            args.host,
            args.port,
            DomainDispatcherApplication(create_backend_app),
            True,
            request_handler=MotoRequestHandler,
        )
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
