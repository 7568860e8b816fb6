"""Errors that stop a run before any workspace is checked.

Each carries one human sentence naming the bad input. None of them ever
includes an ``external_id`` or any credential.
"""

from __future__ import annotations


class OrchestratorError(Exception):
    """A run cannot start; the message says why."""


class ConfigError(OrchestratorError):
    """The function's environment variables are missing or invalid."""


class InventoryError(OrchestratorError):
    """The workspace inventory cannot be read or has bad entries."""


class EventError(OrchestratorError):
    """The invocation event is neither a scheduled event nor a valid manual one."""
