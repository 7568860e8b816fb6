"""The environment: required variables, defaults, and one message for all faults."""

from __future__ import annotations

import pytest

from drift_orchestrator.config import (
    InlineInventory,
    S3Location,
    load_config,
    load_summarize_config,
    log_level_or_default,
)
from drift_orchestrator.errors import ConfigError
from tests.support import REPORT_BUCKET, STATE_MACHINE_ARN


def test_a_complete_environment_loads_with_defaults(config_env: pytest.MonkeyPatch) -> None:
    config_env.setenv("WORKSPACES_JSON", "[]")
    config = load_config()
    assert config.state_machine_arn == STATE_MACHINE_ARN
    assert config.report_bucket == REPORT_BUCKET
    assert config.max_concurrency == 40
    assert config.max_concurrency_per_account == 5
    assert config.max_concurrency_per_region == 5
    assert config.inventory == InlineInventory("[]")
    assert config.log_level == "INFO"


def test_the_inventory_can_come_from_s3(config_env: pytest.MonkeyPatch) -> None:
    config_env.setenv("INVENTORY_S3_URI", "s3://inventories/drift/workspaces.json")
    assert load_config().inventory == S3Location("inventories", "drift/workspaces.json")


def test_the_summarize_step_needs_only_the_bucket_and_the_topic(config_env: pytest.MonkeyPatch) -> None:
    config_env.delenv("STATE_MACHINE_ARN")
    config = load_summarize_config()
    assert config.report_bucket == REPORT_BUCKET
    config_env.delenv("SNS_TOPIC_ARN")
    with pytest.raises(ConfigError, match="SNS_TOPIC_ARN is not set"):
        load_summarize_config()


def test_every_missing_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "STATE_MACHINE_ARN",
        "REPORT_BUCKET",
        "SNS_TOPIC_ARN",
        "INVENTORY_S3_URI",
        "WORKSPACES_JSON",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    for expected in (
        "STATE_MACHINE_ARN is not set",
        "REPORT_BUCKET is not set",
        "SNS_TOPIC_ARN is not set",
        "neither INVENTORY_S3_URI nor WORKSPACES_JSON is set",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MAX_CONCURRENCY", "0", "MAX_CONCURRENCY '0' must be a whole number from 1 to 10000"),
        ("MAX_CONCURRENCY", "eight", "MAX_CONCURRENCY 'eight'"),
        ("MAX_CONCURRENCY", "10001", "MAX_CONCURRENCY '10001'"),
        ("MAX_CONCURRENCY_PER_ACCOUNT", "0", "MAX_CONCURRENCY_PER_ACCOUNT '0' must be a whole number from 1 to 1000"),
        ("MAX_CONCURRENCY_PER_REGION", "1001", "MAX_CONCURRENCY_PER_REGION '1001'"),
        ("STATE_MACHINE_ARN", "arn:aws:lambda:us-east-1:123456789012:function:x", "is not a Step Functions"),
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
