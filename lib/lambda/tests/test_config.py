"""The environment: required variables, defaults, and one message for all faults."""

from __future__ import annotations

import pytest

from drift_orchestrator.config import (
    InlineInventory,
    S3Location,
    load_config,
    log_level_or_default,
)
from drift_orchestrator.errors import ConfigError
from tests.support import REPORT_BUCKET, WORKER_ARN


def test_a_complete_environment_loads_with_defaults(config_env: pytest.MonkeyPatch) -> None:
    config_env.delenv("MAX_CONCURRENCY")
    config_env.setenv("WORKSPACES_JSON", "[]")
    config = load_config()
    assert config.worker_function_arn == WORKER_ARN
    assert config.report_bucket == REPORT_BUCKET
    assert config.max_concurrency == 8
    assert config.worker_timeout_seconds == 300.0
    assert config.inventory == InlineInventory("[]")
    assert config.log_level == "INFO"


def test_the_inventory_can_come_from_s3(config_env: pytest.MonkeyPatch) -> None:
    config_env.setenv("INVENTORY_S3_URI", "s3://inventories/drift/workspaces.json")
    assert load_config().inventory == S3Location("inventories", "drift/workspaces.json")


def test_a_plain_function_name_is_accepted_for_local_runs(config_env: pytest.MonkeyPatch) -> None:
    config_env.setenv("WORKER_FUNCTION_ARN", "drift-detection-worker:live")
    config_env.setenv("WORKSPACES_JSON", "[]")
    assert load_config().worker_function_arn == "drift-detection-worker:live"


def test_every_missing_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "WORKER_FUNCTION_ARN",
        "REPORT_BUCKET",
        "SNS_TOPIC_ARN",
        "WORKER_TIMEOUT_SECONDS",
        "INVENTORY_S3_URI",
        "WORKSPACES_JSON",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    for expected in (
        "WORKER_FUNCTION_ARN is not set",
        "REPORT_BUCKET is not set",
        "SNS_TOPIC_ARN is not set",
        "WORKER_TIMEOUT_SECONDS is not set",
        "neither INVENTORY_S3_URI nor WORKSPACES_JSON is set",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MAX_CONCURRENCY", "0", "MAX_CONCURRENCY '0' must be a whole number from 1 to 64"),
        ("MAX_CONCURRENCY", "eight", "MAX_CONCURRENCY 'eight'"),
        ("MAX_CONCURRENCY", "65", "MAX_CONCURRENCY '65'"),
        ("WORKER_TIMEOUT_SECONDS", "901", "WORKER_TIMEOUT_SECONDS '901' must be a whole number"),
        ("WORKER_TIMEOUT_SECONDS", "-5", "WORKER_TIMEOUT_SECONDS '-5'"),
        ("WORKER_FUNCTION_ARN", "arn:aws:s3:::bucket", "is not a Lambda function ARN or name"),
        ("SNS_TOPIC_ARN", "drift-alerts", "SNS_TOPIC_ARN 'drift-alerts' is not a standard SNS"),
        ("REPORT_BUCKET", "Not_A_Bucket", "REPORT_BUCKET 'Not_A_Bucket' is not an S3 bucket"),
        ("INVENTORY_S3_URI", "s3://only-a-bucket", "INVENTORY_S3_URI 's3://only-a-bucket' must be"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL 'CHATTY' must be one of"),
    ],
)
def test_a_bad_value_is_named(config_env: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    if name != "INVENTORY_S3_URI":
        config_env.setenv("WORKSPACES_JSON", "[]")
    config_env.setenv(name, value)
    with pytest.raises(ConfigError, match="invalid configuration") as caught:
        load_config()
    assert expected in str(caught.value)


def test_both_inventory_sources_at_once_are_refused(config_env: pytest.MonkeyPatch) -> None:
    config_env.setenv("WORKSPACES_JSON", "[]")
    config_env.setenv("INVENTORY_S3_URI", "s3://inventories/workspaces.json")
    with pytest.raises(ConfigError, match="both INVENTORY_S3_URI and WORKSPACES_JSON are set"):
        load_config()


def test_an_empty_variable_counts_as_unset(config_env: pytest.MonkeyPatch) -> None:
    config_env.setenv("WORKSPACES_JSON", "[]")
    config_env.setenv("INVENTORY_S3_URI", "")
    assert isinstance(load_config().inventory, InlineInventory)


def test_a_bad_log_level_falls_back_to_info_for_the_logger() -> None:
    assert log_level_or_default("debug") == "DEBUG"
    assert log_level_or_default("chatty") == "INFO"
    assert log_level_or_default(None) == "INFO"
