"""The module-scope Powertools Logger and Metrics every module shares.

Built once per container from the environment: ``POWERTOOLS_SERVICE_NAME``
names the service (and is the metrics' only dimension),
``POWERTOOLS_METRICS_NAMESPACE`` the CloudWatch namespace, ``LOG_LEVEL`` the
level. The handler appends ``run_id`` to the logger's keys, so every line of
a run carries it, including those logged from worker threads.
"""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics

from .config import log_level_or_default

#: The service name (the stack sets ``drift-detection-orchestrator``).
SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME", "drift-detection-orchestrator")
#: The metrics namespace (the stack sets ``DriftDetection``).
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DriftDetection")

logger = Logger(
    service=SERVICE_NAME,
    level=log_level_or_default(os.environ.get("LOG_LEVEL")),
    utc=True,
)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

# Dry runs, retried deliveries of a finished run and runs that fail before
# checking anything emit no metrics on purpose (so "no run" alarms still see
# no run); Powertools would warn about the empty metric set on each of them.
warnings.filterwarnings("ignore", message="No application metrics to publish")
