"""Upgrading a deployment of the former single-file stack replaces nothing.

fixtures/main.tf.1bbbd43 is main.tf as it was at commit 1bbbd43, before the
modules. Every resource it declared must still be declared at the same
address, or be the `from` of a `moved` block whose `to` is declared: then
`terraform plan` on an old state moves each one instead of destroying and
recreating it. A move must keep the resource type and the kind of instance
keys (count, for_each, none) with the same expression, or the state's
instances would not line up.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from stack_hcl import Body, Stack, old_resource_addresses, parse_config
from test_stack_structure import NAMED_TYPES

OLD_MAIN = Path(__file__).with_name("fixtures") / "main.tf.1bbbd43"
# `git show 1bbbd43:main.tf | sha256sum`: the fixture is that file unchanged.
OLD_MAIN_SHA256 = "399b59bdfde5e02e0490210900276b6d20f7a389ae6d4fcfded2ae58dba29716"


def _body(stack: Stack, address: str) -> Body:
    parts = address.split(".")
    if parts[0] == "module":
        return stack.resource(parts[2], f"module.{parts[1]}.{parts[3]}")
    return stack.resource(parts[0], parts[1])


def coverage_problems(stack: Stack, old: dict[str, Body], moved: list[tuple[str, str]]) -> list[str]:
    """Why an old state would not upgrade in place; empty when it would."""
    problems: list[str] = []
    froms = [f for f, _ in moved]
    tos = [t for _, t in moved]
    problems += [f"moved twice from {a}" for a in sorted({a for a in froms if froms.count(a) > 1})]
    problems += [f"moved twice to {a}" for a in sorted({a for a in tos if tos.count(a) > 1})]
    targets = dict(moved)
    for address, old_body in sorted(old.items()):
        if address in targets:
            new = targets[address]
            if stack.address_exists(address):
                problems.append(f"{address} is moved but still declared")
            if not stack.address_exists(new):
                problems.append(f"{address} moves to {new}, which is not declared")
                continue
        elif stack.address_exists(address):
            new = address
        else:
            problems.append(f"{address} is gone and no moved block says where")
            continue
        if new.split(".")[-2] != address.split(".")[-2]:
            problems.append(f"{address} -> {new}: the resource type changes")
        new_body = _body(stack, new)
        for meta in ("count", "for_each"):
            if old_body.get(meta) != new_body.get(meta):
                problems.append(f"{address} -> {new}: {meta} {old_body.get(meta)!r} becomes {new_body.get(meta)!r}")
    for source in froms:
        if source not in old:
            problems.append(f"moved from {source}, which the old stack did not declare")
    return problems


@pytest.fixture(scope="module")
def old() -> dict[str, Body]:
    text = OLD_MAIN.read_bytes()
    assert hashlib.sha256(text).hexdigest() == OLD_MAIN_SHA256, "the fixture must stay the 1bbbd43 main.tf"
    return old_resource_addresses(text.decode())


def test_the_old_stack_is_read_whole(old: dict[str, Body]) -> None:
    assert len(old) == 43
    assert {
        "aws_lambda_function.worker",
        "aws_dynamodb_table.state_lock",
        "aws_config_configuration_recorder.this",
    } <= set(old)


def test_every_old_resource_is_kept_or_moved(stack: Stack, old: dict[str, Body]) -> None:
    assert stack.moved, "moved.tf holds the moves"
    assert coverage_problems(stack, old, stack.moved) == []


def test_every_moved_resource_now_lives_in_a_module(stack: Stack) -> None:
    for source, target in stack.moved:
        assert target.startswith("module."), f"{source} -> {target}"
        assert target.split(".")[1] in stack.modules, target


def test_the_coverage_check_catches_what_would_replace_a_resource(stack: Stack, old: dict[str, Body]) -> None:
    # Guards the check: a dropped block, a wrong target, a changed type or
    # instance keys and a stale block each fail it.
    moved = list(stack.moved)
    dropped = [m for m in moved if m[0] != "aws_lambda_function.worker"]
    assert coverage_problems(stack, old, dropped) == [
        "aws_lambda_function.worker is gone and no moved block says where"
    ]
    wrong = [
        (f, "module.worker.aws_lambda_function.that" if f == "aws_lambda_function.worker" else t) for f, t in moved
    ]
    assert "not declared" in " ".join(coverage_problems(stack, old, wrong))
    retyped = [(f, "module.worker.aws_iam_role.this" if f == "aws_lambda_function.worker" else t) for f, t in moved]
    assert "type changes" in " ".join(coverage_problems(stack, old, retyped))
    rekeyed = [
        (f, "module.storage.aws_s3_bucket.this" if f == "aws_dynamodb_table.state_lock" else t)
        for f, t in moved
        if f != "aws_s3_bucket.this"
    ]
    problems = " ".join(coverage_problems(stack, old, rekeyed))
    assert "for_each" in problems and "aws_s3_bucket.this is gone" in problems
    stale = [*moved, ("aws_lambda_function.summarize", "module.worker.aws_lambda_function.this")]
    assert "did not declare" in " ".join(coverage_problems(stack, old, stale))


# Arguments besides the name that make the provider replace the resource
# when they change (hashicorp/aws 5.x "ForceNew"), per moved type.
FORCE_NEW = {
    "aws_iam_role_policy": ("role",),
    "aws_s3_bucket_ownership_controls": ("bucket",),
    "aws_s3_bucket_public_access_block": ("bucket",),
    "aws_s3_bucket_versioning": ("bucket",),
    "aws_s3_bucket_server_side_encryption_configuration": ("bucket",),
    "aws_s3_bucket_lifecycle_configuration": ("bucket",),
    "aws_s3_bucket_policy": ("bucket",),
    "aws_dynamodb_table": ("hash_key", "attribute"),
    "aws_iam_role_policy_attachment": ("role", "policy_arn"),
    "aws_sns_topic_subscription": ("topic_arn", "protocol", "endpoint"),
    "aws_lambda_function_event_invoke_config": ("function_name",),
    "aws_config_configuration_recorder_status": ("name",),
}


def _as_now(value: object, locals_: dict[str, object], moved: dict[str, str]) -> object:
    """An old value as the new code would write it: plain-string locals
    spelled out and references to moved resources renamed."""
    text = json.dumps(value)
    for name, local in locals_.items():
        if isinstance(local, str):
            text = text.replace("${local." + name + "}", json.dumps(local)[1:-1])
    for source, target in sorted(moved.items(), key=lambda m: -len(m[0])):
        text = re.sub(r"(?<![\w.])" + re.escape(source) + r"\b", target, text)
    return json.loads(text)


def test_moves_keep_what_would_force_a_replacement(stack: Stack, old: dict[str, Body]) -> None:
    # A move does not help if the resource's name, or another argument the
    # provider cannot change in place, is different: each keeps its value.
    old_locals = parse_config({"main.tf": OLD_MAIN.read_text()}).locals
    targets = dict(stack.moved)
    compared = 0
    for address, old_body in old.items():
        rtype = address.split(".")[0]
        attrs = FORCE_NEW.get(rtype, ()) + ((NAMED_TYPES[rtype][0],) if rtype in NAMED_TYPES else ())
        new_body = _body(stack, targets.get(address, address))
        for attr in attrs:
            assert attr in old_body, f"{address}: {attr}"
            now = _as_now(new_body.get(attr), stack.locals, {})
            assert now == _as_now(old_body[attr], old_locals, targets), f"{address}: {attr}"
            compared += 1
    assert compared >= 40
