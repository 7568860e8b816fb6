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

Every entry is checked with the rules the worker applies to its event, and
every fault is reported at once, each naming its entry (``workspace #3
("network")``). Two entries with the same environment and name are refused:
their reports would overwrite each other. An ``external_id`` is a shared
secret: it is never echoed in an error, a log line or a ``repr``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .config import InlineInventory, S3Location
from .errors import InventoryError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Values the worker accepts for ``mode``: ``plan`` (the default), or
#: ``refresh-only``; ``both`` is a deprecated alias of ``plan``.
MODES = ("plan", "refresh-only", "both")

_REQUIRED = ("name", "environment", "account_id", "region", "source")
_OPTIONAL = (
    "role_arn",
    "external_id",
    "backend_config",
    "mode",
    "terraform_workspace",
    "lock",
    "lock_timeout",
)
#: Fields only the CLI uses (a local working directory or saved plan); they
#: are accepted and ignored so one inventory file serves both.
_CLI_ONLY = ("dir", "plan")
_KNOWN = frozenset(_REQUIRED + _OPTIONAL + _CLI_ONLY)
#: How many faults one error message lists.
_MAX_FAULTS_LISTED = 20

_KEY_COMPONENT = re.compile(r"^[A-Za-z0-9._-]+$")
_REGION = re.compile(r"^[a-z]+(-[a-z]+)+-\d{1,3}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
_BACKEND_KEY = re.compile(r"^[A-Za-z0-9_]+$")
_DURATION = re.compile(r"^\d+[smh]$")


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

    @property
    def label(self) -> str:
        """``environment/name``, for messages."""
        return f"{self.environment}/{self.name}"


def is_key_component(text: str, max_len: int) -> bool:
    """Whether ``text`` may stand as one S3 key component (the worker's rule):
    1 to ``max_len`` letters, digits, ``-``, ``_`` or ``.``, not only dots."""
    return 0 < len(text) <= max_len and _KEY_COMPONENT.match(text) is not None and text.strip(".") != ""


def is_region(text: str) -> bool:
    """Whether ``text`` looks like an AWS region name such as ``us-east-1``."""
    return _REGION.match(text) is not None


def _string_faults(entry: Mapping[str, Any], faults: list[str]) -> dict[str, str]:
    """The string-valued required fields, with a fault for each missing one."""
    values: dict[str, str] = {}
    for key in _REQUIRED:
        if key not in entry:
            faults.append(f"`{key}` is missing")
            continue
        value = entry[key]
        if not isinstance(value, str):
            hint = " (quote it: JSON numbers lose leading zeros)" if key == "account_id" else ""
            faults.append(f"`{key}` must be a string{hint}")
            continue
        values[key] = value
    return values


def _optional_string(entry: Mapping[str, Any], key: str, faults: list[str]) -> str | None:
    value = entry.get(key)
    if value is None or isinstance(value, str):
        return value
    faults.append(f"`{key}` must be a string or null")
    return None


def _check_entry(entry: Mapping[str, Any]) -> tuple[Workspace | None, list[str]]:
    """Validates one entry; the workspace, or ``None`` and its faults."""
    faults: list[str] = []
    for key in sorted(set(entry) - _KNOWN):
        faults.append(f"unknown field `{key}`")
    values = _string_faults(entry, faults)

    name = values.get("name")
    if name is not None and not is_key_component(name, 128):
        faults.append(f"`name` {name!r} must be 1-128 letters, digits, '-', '_' or '.'")
    environment = values.get("environment")
    if environment is not None and not is_key_component(environment, 64):
        faults.append(f"`environment` {environment!r} must be 1-64 letters, digits, '-', '_' or '.'")
    account_id = values.get("account_id")
    if account_id is not None and not _ACCOUNT.match(account_id):
        faults.append(f"`account_id` {account_id!r} must be 12 digits")
    region = values.get("region")
    if region is not None and not is_region(region):
        faults.append(f"`region` {region!r} is not an AWS region name such as us-east-1")
    source = values.get("source")
    if source is not None:
        if source.startswith("s3://"):
            if S3Location.parse(source) is None:
                faults.append(f"`source` {source!r} must be s3://BUCKET/KEY with both parts")
        elif "://" in source or not source.strip():
            faults.append(f"`source` {source!r} is neither s3://BUCKET/KEY nor a local path")

    role_arn = _optional_string(entry, "role_arn", faults)
    if role_arn is not None and not _ROLE_ARN.match(role_arn):
        faults.append(f"`role_arn` {role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    external_id = entry.get("external_id")
    if external_id is not None:
        # The value is a shared secret: the faults never quote it.
        if not isinstance(external_id, str):
            faults.append("`external_id` must be a string or null")
            external_id = None
        elif not 2 <= len(external_id) <= 1224 or not external_id.isprintable():
            faults.append("`external_id` must be 2-1224 printable characters")
        if external_id is not None and role_arn is None:
            faults.append("`external_id` is given without `role_arn`")

    backend_raw = entry.get("backend_config", {})
    backend: dict[str, str] = {}
    if backend_raw is None:
        backend_raw = {}
    if not isinstance(backend_raw, dict):
        faults.append("`backend_config` must be an object of strings")
    else:
        for key, value in backend_raw.items():
            if not _BACKEND_KEY.match(key):
                faults.append(f"`backend_config` key {key!r} must be letters, digits and '_'")
            elif not isinstance(value, str):
                faults.append(f"`backend_config.{key}` must be a string")
            else:
                backend[key] = value

    mode = _optional_string(entry, "mode", faults)
    if mode is not None and mode not in MODES:
        faults.append(f"`mode` {mode!r} must be one of {', '.join(MODES)}")
    terraform_workspace = _optional_string(entry, "terraform_workspace", faults)
    if terraform_workspace is not None and not is_key_component(terraform_workspace, 90):
        faults.append(f"`terraform_workspace` {terraform_workspace!r} must be letters, digits, '-', '_' or '.'")
    lock = entry.get("lock")
    if lock is not None and not isinstance(lock, bool):
        faults.append("`lock` must be true, false or null")
        lock = None
    lock_timeout = _optional_string(entry, "lock_timeout", faults)
    if lock_timeout is not None and not _DURATION.match(lock_timeout):
        faults.append(f"`lock_timeout` {lock_timeout!r} must be a duration such as 60s or 5m")

    if faults or name is None or environment is None or account_id is None:
        return None, faults
    # No faults: every required field is present.
    assert region is not None
    assert source is not None
    return (
        Workspace(
            name=name,
            environment=environment,
            account_id=account_id,
            region=region,
            source=source,
            role_arn=role_arn,
            external_id=external_id,
            backend_config=backend,
            mode=mode,
            terraform_workspace=terraform_workspace,
            lock=lock,
            lock_timeout=lock_timeout,
        ),
        [],
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
        if not isinstance(entry, dict):
            faults.append(f"{label}: must be an object")
            continue
        workspace, entry_faults = _check_entry(entry)
        faults.extend(f"{label}: {fault}" for fault in entry_faults)
        if workspace is None:
            continue
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
