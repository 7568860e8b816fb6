"""Fixtures for the Terraform stack tests: the parsed stack, once per session."""

from __future__ import annotations

import pytest
from stack_hcl import Stack, load_stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    return load_stack()
