"""Lambda's Invoke API in front of ``cargo lambda watch``, for the end-to-end suite.

    python tests/e2e/lambda_api_proxy.py LISTEN_PORT UPSTREAM_URL

``cargo lambda watch`` runs the real worker binary under an emulated Lambda
runtime, but answers a function error with HTTP 500, where Lambda answers
200 with an ``X-Amz-Function-Error: Unhandled`` header and the error document
as the payload. The orchestrator, like every Lambda client, tells a function
error (a report exists, the check failed) from a service error (retry) by that
header, so this proxy forwards each invocation and restores Lambda's contract.
Everything else passes through unchanged. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Proxy(BaseHTTPRequestHandler):
    upstream = ""
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = urllib.request.Request(self.upstream + self.path, data=body, method="POST")
        request.add_header("Content-Type", self.headers.get("Content-Type", "application/json"))
        headers: dict[str, str] = {"X-Amz-Executed-Version": "$LATEST"}
        try:
            with urllib.request.urlopen(request, timeout=960) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
            if status == 500 and _is_function_error(payload):
                status = 200
                headers["X-Amz-Function-Error"] = "Unhandled"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("lambda-api-proxy: " + format % args + "\n")


def _is_function_error(payload: bytes) -> bool:
    try:
        document = json.loads(payload)
    except ValueError:
        return False
    return isinstance(document, dict) and "errorType" in document


def main() -> int:
    port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
    Proxy.upstream = upstream
    server = ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
