"""CloudTrail's ``LookupEvents`` for the end-to-end suite, fed by the rig.

    python tests/e2e/cloudtrail_lookup_events.py LISTEN_PORT EVENTS_FILE

Test support only: it stands in for CloudTrail because moto (5.2.5) does not
implement ``LookupEvents``. It speaks the API's JSON 1.1 protocol (``POST /``,
``X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents``,
or ``CloudTrail_20131101.LookupEvents`` as the Rust SDK sends it)
and answers from EVENTS_FILE, read at each request: one JSON object per
line, ``{"resources": [names...], "event": {CloudTrail record}}``, which the
rig appends when it changes the cloud by hand (as CloudTrail would record
the call). A lookup by ``ResourceName`` returns the events naming it whose
``eventTime`` lies within ``StartTime``-``EndTime``, newest first, in pages of
``MaxResults`` (``NextToken`` is the offset), each with ``CloudTrailEvent`` as
the record's JSON text. Any other target answers 400
``UnknownOperationException``. It listens on 127.0.0.1 only and contacts
nothing; the worker and the CLI reach it through ``AWS_ENDPOINT_URL_CLOUDTRAIL``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The target as botocore sends it, and as the Rust SDK (the service shape's
# name alone) does.
TARGETS = {
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
    "CloudTrail_20131101.LookupEvents",
}


def _epoch(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(record["eventTime"])).timestamp()


def lookup(request: dict[str, Any], lines: list[str]) -> dict[str, Any]:
    """The LookupEvents answer to ``request`` from the recorded ``lines``."""
    names = {
        a["AttributeValue"] for a in request.get("LookupAttributes", []) if a.get("AttributeKey") == "ResourceName"
    }
    start = float(request.get("StartTime", 0))
    end = float(request.get("EndTime", 2**40))
    found = []
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        record = entry["event"]
        if names and not names & set(entry["resources"]):
            continue
        if not start <= _epoch(record) <= end:
            continue
        found.append((entry, record))
    found.sort(key=lambda pair: _epoch(pair[1]), reverse=True)
    offset = int(request.get("NextToken") or 0)
    size = int(request.get("MaxResults") or 50)
    page = found[offset : offset + size]
    answer: dict[str, Any] = {
        "Events": [
            {
                "EventId": record["eventID"],
                "EventName": record["eventName"],
                "ReadOnly": "true" if record.get("readOnly") else "false",
                "EventTime": _epoch(record),
                "EventSource": record.get("eventSource", ""),
                "Username": record.get("userIdentity", {}).get("arn", ""),
                "Resources": [{"ResourceName": name} for name in entry["resources"]],
                "CloudTrailEvent": json.dumps(record),
            }
            for entry, record in page
        ]
    }
    if offset + size < len(found):
        answer["NextToken"] = str(offset + size)
    return answer


class CloudTrail(BaseHTTPRequestHandler):
    events_file = ""
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("X-Amz-Target") not in TARGETS:
            self._answer(400, {"__type": "UnknownOperationException", "message": "only LookupEvents"})
            return
        try:
            with open(self.events_file, encoding="utf-8") as f:
                lines = f.readlines()
        except FileNotFoundError:
            lines = []
        self._answer(200, lookup(json.loads(body or b"{}"), lines))

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "e2e-cloudtrail")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("cloudtrail-lookup-events: " + format % args + "\n")


def main() -> int:
    port, events_file = int(sys.argv[1]), sys.argv[2]
    CloudTrail.events_file = events_file
    server = ThreadingHTTPServer(("127.0.0.1", port), CloudTrail)
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
