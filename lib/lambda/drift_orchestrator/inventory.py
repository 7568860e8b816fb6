"""The workspace inventory: which workspaces a run checks, and how.

The inventory is JSON: a list of workspaces, or an object whose only key is
``workspaces`` (the same shapes the ``drift-detection`` CLI reads, so one file
can serve both). It comes from the S3 object named by ``INVENTORY_S3_URI`` or
from ``WORKSPACES_JSON``, which the Terraform stack sets.

.. code-block:: json

    [{"name": "network", "environment": "prod", "account_id": "111111111111",
      "region": "us-east-1",
      "role_arn": "arn:aws:iam::111111111111:role/drift-detection-read",
      "external_id": "…", "source": "s3://bundles/network.zip",
      "backend_config": {"bucket": "state", "key": "network/terraform.tfstate"}}]

Every entry is checked against the workspace contract (``$defs/AwsEntry`` of
the packaged ``schemas/workspace.v1.json``, see :mod:`.contract`), the rules
the CLI and the worker apply too, and every fault is reported at once, each
naming its entry (``workspace #3 ('network')``) and field. Two entries with the
same environment and name are refused (a rule across entries, which the schema
cannot state): their reports would overwrite each other. No fault quotes a
field's value: an ``external_id`` is a shared secret, and it stays out of
every error, log line and ``repr``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from . import contract
from .config import InlineInventory, S3Location
from .errors import InventoryError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Values the worker accepts for ``mode``: ``plan`` (the default), or
#: ``refresh-only``; ``both`` is a deprecated alias of ``plan``.
MODES = contract.modes()
#: Values of ``runner``, where a workspace's check runs: ``lambda`` (the
#: default) or ``codebuild`` (the same worker, once, in a CodeBuild build).
RUNNERS = contract.runners()
#: How many faults one error message lists.
_MAX_FAULTS_LISTED = 20


@dataclass(frozen=True)
class Workspace:
    """One validated inventory entry."""

    name: str
    environment: str
    account_id: str
    region: str
    source: str
    role_arn: str | None = None
    #: The ``sts:ExternalId``; kept out of ``repr`` so it never reaches a log.
    external_id: str | None = field(default=None, repr=False)
    backend_config: Mapping[str, str] = field(default_factory=dict)
    mode: str | None = None
    terraform_workspace: str | None = None
    lock: bool | None = None
    lock_timeout: str | None = None
    #: Where the check runs: ``lambda`` (the default) or ``codebuild``.
    runner: Literal["lambda", "codebuild"] = "lambda"
    #: Terraform's ``-parallelism`` for the plan (1-256); ``None``: the worker's own.
    parallelism: int | None = None

    @property
    def label(self) -> str:
        """``environment/name``, for messages."""
        return f"{self.environment}/{self.name}"


def _workspace(entry: Mapping[str, Any]) -> Workspace:
    """The workspace of an entry the contract accepts (null means absent)."""
    return Workspace(
        name=entry["name"],
        environment=entry["environment"],
        account_id=entry["account_id"],
        region=entry["region"],
        source=entry["source"],
        role_arn=entry.get("role_arn"),
        external_id=entry.get("external_id"),
        backend_config=dict(entry.get("backend_config") or {}),
        mode=entry.get("mode"),
        terraform_workspace=entry.get("terraform_workspace"),
        lock=entry.get("lock"),
        lock_timeout=entry.get("lock_timeout"),
        runner="codebuild" if entry.get("runner") == "codebuild" else "lambda",
        # JSON Schema's integer takes 4.0 too; the worker's event wants 4.
        parallelism=None if entry.get("parallelism") is None else int(entry["parallelism"]),
    )


def _entry_label(index: int, entry: object) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"workspace #{index}" + (f" ({name!r})" if isinstance(name, str) else "")


def parse_inventory(text: str, origin: str) -> list[Workspace]:
    """Parses and validates an inventory document.

    ``origin`` names where it came from in error messages. An empty list is a
    valid (if idle) inventory.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise InventoryError(f"inventory {origin} is not valid JSON: {e}") from None
    whole = document
    if isinstance(document, dict):
        extra = sorted(set(document) - {"workspaces"})
        if extra or "workspaces" not in document:
            raise InventoryError(
                f"inventory {origin} must be a list of workspaces or an object with only a "
                f"`workspaces` list (found keys: {', '.join(sorted(document)) or 'none'})"
            )
        document = document["workspaces"]
    if not isinstance(document, list):
        raise InventoryError(f"inventory {origin} must be a JSON list of workspaces")

    faults: list[str] = []
    workspaces: list[Workspace] = []
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(document, start=1):
        label = _entry_label(index, entry)
        entry_faults = contract.faults(contract.aws_entry(), entry, contract.WORKSPACE_SCHEMA)
        faults.extend(f"{label}: {fault}" for fault in entry_faults)
        if entry_faults:
            continue
        workspace = _workspace(entry)
        identity = (workspace.environment, workspace.name)
        if identity in seen:
            faults.append(
                f"{label}: repeats workspace {workspace.name!r} in environment "
                f"{workspace.environment!r} (first at #{seen[identity]}); "
                "their reports would overwrite each other"
            )
            continue
        seen[identity] = index
        workspaces.append(workspace)

    if not faults and not contract.aws_inventory().is_valid(whole):
        # The checks above are the schema's, entry by entry; this holds the
        # document to $defs/AwsInventory itself, should the two ever part.
        faults.append(f"does not match $defs/AwsInventory of schemas/{contract.WORKSPACE_SCHEMA}")
    if faults:
        listed = faults[:_MAX_FAULTS_LISTED]
        more = len(faults) - len(listed)
        tail = f"; and {more} more" if more else ""
        raise InventoryError(
            f"inventory {origin} has {len(faults)} problem{'s' if len(faults) > 1 else ''}: " + "; ".join(listed) + tail
        )
    return workspaces


def load_inventory(source: S3Location | InlineInventory, s3: S3Client) -> list[Workspace]:
    """Reads the inventory from S3 or the inline document, then validates it."""
    if isinstance(source, InlineInventory):
        return parse_inventory(source.text, source.origin)
    try:
        response = s3.get_object(Bucket=source.bucket, Key=source.key)
        body = response["Body"].read()
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Unknown")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise InventoryError(f"inventory {source.uri} does not exist") from None
        if code == "NoSuchBucket":
            raise InventoryError(f"inventory bucket {source.bucket!r} does not exist") from None
        raise InventoryError(f"inventory {source.uri} could not be read: {code}: {e}") from None
    except BotoCoreError as e:
        raise InventoryError(f"inventory {source.uri} could not be read: {e}") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InventoryError(f"inventory {source.uri} is not UTF-8 text") from None
    return parse_inventory(text, source.uri)
