"""The resource -> workspace index: which workspaces manage what a change touched.

The worker writes the index after every check (``tests/contract/resource-index.json``):
one item per identifier of every managed resource, pk
``res#ACCOUNT#REGION#IDENTIFIER``, sk ``ws#ENVIRONMENT/NAME``, REGION being
``*`` for account-wide kinds. A change is looked up by each identifier it
names under both its own region and ``*`` (:func:`lookup_keys`), with one
DynamoDB Query per key (pk, sk beginning with ``ws#``); the workspaces found
are deduplicated (:func:`find_workspaces`).

The table client is any object with boto3's ``query`` (:class:`IndexTable`),
so tests pass moto's or a stub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .change_events import ChangeEvent

RESOURCE_PREFIX = "res#"
WORKSPACE_PREFIX = "ws#"
#: The region of account-wide kinds (IAM, S3 bucket names...).
ANY_REGION = "*"
#: Workspaces kept per change (one check each).
MAX_WORKSPACES_PER_EVENT = 50
#: Pages read per key: a key names a resource, which few workspaces claim.
MAX_PAGES_PER_KEY = 5


class IndexTable(Protocol):
    """The DynamoDB client calls the index needs."""

    def query(self, **kwargs: Any) -> Mapping[str, Any]:
        """DynamoDB Query."""


def lookup_keys(event: ChangeEvent) -> list[str]:
    """The pks to query: each identifier under the event's region and ``*``."""
    keys: list[str] = []
    for identifier in event.identifiers:
        for region in dict.fromkeys((event.region, ANY_REGION)):
            keys.append(f"{RESOURCE_PREFIX}{event.account_id}#{region}#{identifier}")
    return keys


def workspace_of(sort_key: str) -> str | None:
    """``ENVIRONMENT/NAME`` from an sk ``ws#ENVIRONMENT/NAME``."""
    if not sort_key.startswith(WORKSPACE_PREFIX):
        return None
    key = sort_key[len(WORKSPACE_PREFIX) :]
    environment, slash, name = key.partition("/")
    return key if slash and environment and name and "/" not in name else None


def find_workspaces(table: IndexTable, table_name: str, event: ChangeEvent) -> list[str]:
    """Every workspace (``ENVIRONMENT/NAME``) claiming a resource the event names, in first-found order."""
    found: dict[str, None] = {}
    for pk in lookup_keys(event):
        start: Mapping[str, Any] | None = None
        for _ in range(MAX_PAGES_PER_KEY):
            request: dict[str, Any] = {
                "TableName": table_name,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ws)",
                "ExpressionAttributeValues": {":pk": {"S": pk}, ":ws": {"S": WORKSPACE_PREFIX}},
                "ProjectionExpression": "sk",
            }
            if start:
                request["ExclusiveStartKey"] = start
            response = table.query(**request)
            for item in response.get("Items", []):
                workspace = workspace_of(str(item.get("sk", {}).get("S", "")))
                if workspace is not None:
                    found[workspace] = None
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        if len(found) >= MAX_WORKSPACES_PER_EVENT:
            break
    return list(found)[:MAX_WORKSPACES_PER_EVENT]


__all__: Sequence[str] = ["IndexTable", "find_workspaces", "lookup_keys", "workspace_of"]
