"""The inventory: shapes, every bad entry named, duplicates, S3 and env sources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drift_orchestrator.config import InlineInventory, S3Location
from drift_orchestrator.errors import InventoryError
from drift_orchestrator.inventory import Workspace, load_inventory, parse_inventory
from tests.conftest import Aws
from tests.support import REPORT_BUCKET, SECRET, workspace_entry


def parse(entries: Any) -> list[Workspace]:
    return parse_inventory(json.dumps(entries), "WORKSPACES_JSON")


def test_a_list_of_workspaces_parses() -> None:
    [network] = parse([workspace_entry("network", "prod", mode="refresh-only", lock=False)])
    assert network == Workspace(
        name="network",
        environment="prod",
        account_id="111111111111",
        region="us-east-1",
        source="s3://tf-bundles/prod/network.zip",
        role_arn="arn:aws:iam::111111111111:role/drift-detection-read",
        external_id=SECRET,
        backend_config={"bucket": "tf-state", "key": "prod/network.tfstate"},
        mode="refresh-only",
        lock=False,
    )
    assert network.label == "prod/network"


def test_the_object_form_and_cli_only_fields_are_accepted() -> None:
    entry = workspace_entry("app", "staging", dir="terraform/app", terraform_workspace="blue")
    [app] = parse({"workspaces": [entry]})
    assert app.terraform_workspace == "blue"


def test_optional_fields_default() -> None:
    entry = workspace_entry("sandbox", "dev", source="/opt/examples/sandbox.zip")
    for key in ("role_arn", "external_id", "backend_config"):
        del entry[key]
    [sandbox] = parse([entry])
    assert (sandbox.role_arn, sandbox.external_id, dict(sandbox.backend_config)) == (None, None, {})
    assert sandbox.source == "/opt/examples/sandbox.zip"


def test_the_external_id_stays_out_of_repr() -> None:
    [network] = parse([workspace_entry("network", "prod")])
    assert SECRET not in repr(network)


def test_an_empty_inventory_is_valid() -> None:
    assert parse([]) == []
    assert parse({"workspaces": []}) == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"name": ""}, "`name` '' must be 1-128 letters"),
        ({"name": "../etc"}, "`name` '../etc' must be"),
        ({"environment": "prod env"}, "`environment` 'prod env' must be"),
        ({"account_id": "1234"}, "`account_id` '1234' must be 12 digits"),
        ({"account_id": 111111111111}, "`account_id` must be a string (quote it"),
        ({"region": "mars-1"}, "`region` 'mars-1' is not an AWS region name"),
        ({"role_arn": "arn:aws:iam::1:user/x"}, "`role_arn` 'arn:aws:iam::1:user/x' is not"),
        ({"external_id": "x"}, "`external_id` must be 2-1224 printable characters"),
        ({"role_arn": None}, "`external_id` is given without `role_arn`"),
        ({"source": "https://example.com/x.zip"}, "is neither s3://BUCKET/KEY nor a local"),
        ({"source": "s3://bundles"}, "`source` 's3://bundles' must be s3://BUCKET/KEY"),
        ({"backend_config": {"bucket": 1}}, "`backend_config.bucket` must be a string"),
        ({"backend_config": {"dynamo-table": "x"}}, "`backend_config` key 'dynamo-table'"),
        ({"backend_config": ["bucket=x"]}, "`backend_config` must be an object of strings"),
        ({"mode": "apply"}, "`mode` 'apply' must be one of plan, refresh-only, both"),
        ({"lock": "no"}, "`lock` must be true, false or null"),
        ({"lock_timeout": "soon"}, "`lock_timeout` 'soon' must be a duration"),
        ({"terraform_workspace": "a b"}, "`terraform_workspace` 'a b' must be"),
        ({"regoin": "us-east-1"}, "unknown field `regoin`"),
    ],
)
def test_a_bad_entry_is_named_with_its_fault(override: dict[str, Any], expected: str) -> None:
    entries = [workspace_entry("ok", "prod"), {**workspace_entry("network", "prod"), **override}]
    with pytest.raises(InventoryError) as caught:
        parse(entries)
    message = str(caught.value)
    assert message.startswith("inventory WORKSPACES_JSON has 1 problem: workspace #2")
    assert expected in message
    assert SECRET not in message


@pytest.mark.parametrize("missing", ["name", "environment", "account_id", "region", "source"])
def test_a_missing_required_field_is_named(missing: str) -> None:
    entry = workspace_entry("network", "prod")
    del entry[missing]
    with pytest.raises(InventoryError, match=f"workspace #1.*`{missing}` is missing"):
        parse([entry])


def test_every_fault_is_reported_at_once() -> None:
    entries = [
        workspace_entry("a", "prod", region="moon"),
        "not an object",
        workspace_entry("c", "prod", account_id="12"),
    ]
    with pytest.raises(InventoryError) as caught:
        parse(entries)
    message = str(caught.value)
    assert "has 3 problems" in message
    assert "workspace #1 ('a'): `region` 'moon'" in message
    assert "workspace #2: must be an object" in message
    assert "workspace #3 ('c'): `account_id` '12'" in message


def test_duplicates_within_an_environment_are_refused() -> None:
    entries = [
        workspace_entry("network", "prod"),
        workspace_entry("network", "staging"),
        workspace_entry("network", "prod", region="eu-west-1"),
    ]
    with pytest.raises(InventoryError) as caught:
        parse(entries)
    assert (
        "workspace #3 ('network'): repeats workspace 'network' in environment 'prod' "
        "(first at #1); their reports would overwrite each other"
    ) in str(caught.value)


def test_the_same_name_in_two_environments_is_fine() -> None:
    entries = [workspace_entry("network", "prod"), workspace_entry("network", "staging")]
    assert [w.label for w in parse(entries)] == ["prod/network", "staging/network"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[{", "inventory WORKSPACES_JSON is not valid JSON"),
        ('"network"', "must be a JSON list of workspaces"),
        ('{"workspace": []}', "found keys: workspace"),
        ('{"workspaces": [], "version": 2}', "or an object with only a `workspaces` list"),
    ],
)
def test_a_document_of_the_wrong_shape_is_refused(text: str, expected: str) -> None:
    with pytest.raises(InventoryError, match="inventory WORKSPACES_JSON") as caught:
        parse_inventory(text, "WORKSPACES_JSON")
    assert expected in str(caught.value)


def test_the_inline_inventory_is_read_without_s3(aws: Aws) -> None:
    text = json.dumps([workspace_entry("network", "prod")])
    assert [w.name for w in load_inventory(InlineInventory(text), aws.s3)] == ["network"]


def test_the_inventory_is_read_from_s3(aws: Aws) -> None:
    entries = [workspace_entry("network", "prod"), workspace_entry("app", "staging")]
    aws.s3.put_object(Bucket=REPORT_BUCKET, Key="config/workspaces.json", Body=json.dumps(entries))
    location = S3Location(REPORT_BUCKET, "config/workspaces.json")
    assert [w.label for w in load_inventory(location, aws.s3)] == ["prod/network", "staging/app"]


def test_s3_faults_name_the_object(aws: Aws) -> None:
    with pytest.raises(InventoryError, match=r"inventory s3://drift-reports-test/nope.json does"):
        load_inventory(S3Location(REPORT_BUCKET, "nope.json"), aws.s3)
    with pytest.raises(InventoryError, match="inventory bucket 'no-such-bucket' does not exist"):
        load_inventory(S3Location("no-such-bucket", "workspaces.json"), aws.s3)
    aws.s3.put_object(Bucket=REPORT_BUCKET, Key="bad.json", Body=b"[1]")
    with pytest.raises(InventoryError, match=r"inventory s3://drift-reports-test/bad.json has 1 problem"):
        load_inventory(S3Location(REPORT_BUCKET, "bad.json"), aws.s3)
