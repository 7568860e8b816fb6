"""Events: scheduled and manual shapes, run ids, filters."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from drift_orchestrator.errors import EventError
from drift_orchestrator.events import RunRequest, parse_event, provisional_run_id, select
from drift_orchestrator.inventory import parse_inventory
from tests.support import workspace_entry

NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
SCHEDULED: dict[str, Any] = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-26T23:59:58Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/drift-detection-every-6h"],
    "detail": {},
}
INVENTORY = parse_inventory(
    json.dumps(
        [
            workspace_entry("network", "prod"),
            workspace_entry("data", "prod", account_id="222222222222"),
            workspace_entry("network", "staging"),
            workspace_entry("app", "staging", account_id="222222222222"),
        ]
    ),
    "test",
)


def test_a_scheduled_event_is_keyed_by_its_id_and_dated_by_its_time() -> None:
    request = parse_event(SCHEDULED, NOW)
    assert request == RunRequest(
        run_id="53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        trigger="schedule",
        reference_time=datetime(2026, 11, 26, 23, 59, 58, tzinfo=UTC),
    )
    assert provisional_run_id(SCHEDULED) == request.run_id


def test_a_scheduled_event_without_a_usable_time_is_dated_now() -> None:
    event = {**SCHEDULED, "time": "yesterday"}
    assert parse_event(event, NOW).reference_time == NOW


def test_a_scheduled_event_needs_a_safe_id() -> None:
    with pytest.raises(EventError, match=r"the EventBridge event's `id` '\.\./x' must be"):
        parse_event({**SCHEDULED, "id": "../x"}, NOW)
    event = dict(SCHEDULED)
    del event["id"]
    with pytest.raises(EventError, match="`id` None"):
        parse_event(event, NOW)


def test_an_empty_manual_event_checks_everything_with_a_fresh_id() -> None:
    request = parse_event({}, NOW)
    assert request.trigger == "manual"
    assert request.reference_time == NOW
    assert not request.dry_run
    assert request.filters() == {"environments": None, "workspaces": None, "accounts": None}
    assert uuid.UUID(request.run_id).version == 4
    assert parse_event(None, NOW).trigger == "manual"


def test_the_provisional_id_is_the_one_the_manual_run_gets() -> None:
    run_id = provisional_run_id({"dry_run": True})
    assert parse_event({"dry_run": True}, NOW, run_id=run_id).run_id == run_id
    given = {"run_id": "hotfix-1"}
    assert provisional_run_id(given) == "hotfix-1"
    assert parse_event(given, NOW, run_id="other").run_id == "hotfix-1"


def test_a_manual_event_with_everything() -> None:
    event = {
        "environments": ["prod", "prod"],
        "workspaces": ["network"],
        "accounts": ["111111111111"],
        "dry_run": True,
        "run_id": "manual-2026-11-27",
        "mode": "refresh-only",
    }
    request = parse_event(event, NOW)
    assert request.environments == ("prod",)
    assert request.workspaces == ("network",)
    assert request.accounts == ("111111111111",)
    assert request.dry_run
    assert request.mode == "refresh-only"
    assert request.run_id == "manual-2026-11-27"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"environment": ["prod"]}, "unknown key 'environment' in the manual event; allowed:"),
        ({"dry_run": "yes"}, "`dry_run` must be true or false, not 'yes'"),
        ({"workspaces": "network"}, "`workspaces` must be a list of non-empty strings"),
        ({"accounts": [111111111111]}, "`accounts` must be a list of non-empty strings"),
        ({"environments": []}, "`environments` is an empty list"),
        ({"run_id": "a/b"}, "`run_id` 'a/b' must be 1-128 letters"),
        ({"mode": "apply"}, "`mode` 'apply' must be one of"),
        (["prod"], "the event must be a JSON object, not list"),
    ],
)
def test_a_bad_manual_event_is_refused_naming_the_fault(event: object, expected: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(event, NOW)
    assert expected in str(caught.value)


def names(request: RunRequest) -> list[str]:
    return [w.label for w in select(INVENTORY, request)]


def test_no_filter_selects_everything_in_inventory_order() -> None:
    assert names(parse_event({}, NOW)) == [
        "prod/network",
        "prod/data",
        "staging/network",
        "staging/app",
    ]


def test_filters_combine_with_and_and_values_with_or() -> None:
    assert names(parse_event({"environments": ["prod"]}, NOW)) == ["prod/network", "prod/data"]
    assert names(parse_event({"workspaces": ["network", "app"]}, NOW)) == [
        "prod/network",
        "staging/network",
        "staging/app",
    ]
    assert names(parse_event({"environments": ["staging"], "accounts": ["222222222222"]}, NOW)) == ["staging/app"]
    assert names(parse_event({"environments": ["prod"], "workspaces": ["app"]}, NOW)) == []


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"environments": ["prd"]}, "unknown environment 'prd': the inventory has prod, staging"),
        ({"workspaces": ["netwrok"]}, "unknown workspace 'netwrok': the inventory has app, data"),
        ({"accounts": ["333333333333"]}, "unknown account '333333333333'"),
    ],
)
def test_a_filter_value_unknown_to_the_inventory_is_an_error(event: dict[str, Any], expected: str) -> None:
    with pytest.raises(EventError) as caught:
        select(INVENTORY, parse_event(event, NOW))
    assert expected in str(caught.value)
