"""The stack against the real schemas of hashicorp/aws 5.100.0 and
hashicorp/archive 2.7.1 (scripts/fetch-provider-schema), and the checker
against configurations that terraform validate would refuse."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from provider_schema import (
    REPO,
    SCHEMA_DIR,
    Checker,
    check_tree,
    load_schemas,
    lower_bound,
    module_dirs,
    release_set,
    required_provider_versions,
    satisfies,
)

# Per provider, the newest release checked and the lowest the stack admits.
PINNED = {"hashicorp/aws": ["5.100.0", "5.70.0"], "hashicorp/archive": ["2.7.1", "2.7.0"]}


@pytest.fixture(scope="session")
def all_schemas() -> dict[str, dict[str, Any]]:
    found = load_schemas()
    have = {source: sorted(found.get(source, {})) for source in PINNED}
    assert have == {source: sorted(versions) for source, versions in PINNED.items()}, (
        f"schemas in {SCHEMA_DIR}: {have}; run scripts/fetch-provider-schema"
    )
    return found


@pytest.fixture(scope="session")
def schemas(all_schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return release_set(all_schemas)


def test_schemas_are_the_pinned_releases(all_schemas: dict[str, dict[str, Any]]) -> None:
    for source, versions in PINNED.items():
        assert {v: all_schemas[source][v]["version"] for v in versions} == {v: v for v in versions}
    # The whole provider, not a subset: a type the stack does not use yet is there too.
    newest = all_schemas["hashicorp/aws"]["5.100.0"]
    assert len(newest["resources"]) > 1500
    assert len(newest["data_sources"]) > 600
    assert "archive_file" in all_schemas["hashicorp/archive"]["2.7.0"]["data_sources"]
    # 5.100.0 is not 5.70.0 relabelled: types added in between are only in the newer one.
    assert len(all_schemas["hashicorp/aws"]["5.70.0"]["resources"]) < len(newest["resources"])


@pytest.mark.parametrize("newest", [True, False], ids=["newest", "oldest-admitted"])
def test_stack_matches_the_provider_schemas(all_schemas: dict[str, dict[str, Any]], newest: bool) -> None:
    checker = Checker(release_set(all_schemas, newest))
    findings = checker.check_tree(REPO)
    assert not findings, "\n".join(str(f) for f in findings)
    # Not vacuous: every resource and data block of the root and of every
    # module was checked against a schema.
    declared = 0
    for directory in module_dirs(REPO):
        for tf in directory.glob("*.tf"):
            declared += len(re.findall(r'^(?:resource|data) "', tf.read_text(), re.MULTILINE))
    assert declared > 40
    assert len(checker.checked) == declared


def test_required_provider_versions_admit_the_checked_releases(all_schemas: dict[str, dict[str, Any]]) -> None:
    """The schema check is about the releases the stack may install: each
    module's version constraint must admit every pinned release, and its
    lowest admitted release must be one of them."""
    constraints = required_provider_versions()
    assert {source for _, source, _ in constraints} >= set(PINNED)
    for directory, source, constraint in constraints:
        assert source in all_schemas, f"{directory}: no schema pinned for {source}"
        for version in all_schemas[source]:
            assert satisfies(version, constraint), f"{directory}: {source} {constraint} excludes {version}"
        lowest = lower_bound(constraint)
        assert lowest in all_schemas[source], f"{directory}: {source} {constraint} admits {lowest}, not pinned"


@pytest.mark.parametrize(
    ("version", "constraint", "ok"),
    [
        ("5.100.0", "~> 5.70", True),
        ("6.0.0", "~> 5.70", False),
        ("5.69.9", "~> 5.70", False),
        ("2.7.1", "~> 2.7.0", True),
        ("2.8.0", "~> 2.7.0", False),
        ("1.11.4", ">= 1.5, < 2", True),
        ("2.0.0", ">= 1.5, < 2", False),
    ],
)
def test_version_constraints(version: str, constraint: str, ok: bool) -> None:
    assert satisfies(version, constraint) is ok


def test_lower_bounds() -> None:
    assert [lower_bound(c) for c in ("~> 5.70", "~> 2.7", ">= 1.5, < 2", "= 2.7.1", "< 2")] == [
        "5.70.0",
        "2.7.0",
        "1.5.0",
        "2.7.1",
        None,
    ]


# Negative cases: one mistake each, in a small configuration of its own, so
# they hold whatever shape the real stack takes.

HEADER = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }
}

resource "aws_s3_bucket" "logs" {
  bucket = "logs"
}
"""


def findings_for(
    schemas: dict[str, Any], tmp_path: Path, body: str, modules: dict[str, str] | None = None
) -> list[str]:
    (tmp_path / "main.tf").write_text(HEADER + textwrap.dedent(body))
    for name, text in (modules or {}).items():
        (tmp_path / "modules" / name).mkdir(parents=True)
        (tmp_path / "modules" / name / "main.tf").write_text(textwrap.dedent(text))
    return [str(f) for f in check_tree(tmp_path, schemas)]


def test_a_clean_configuration_has_no_findings(schemas: dict[str, Any], tmp_path: Path) -> None:
    """The control for the cases below: each differs from this by one mistake."""
    body = """
    resource "aws_s3_bucket_versioning" "logs" {
      bucket = aws_s3_bucket.logs.id
      versioning_configuration {
        status = "Enabled"
      }
    }

    resource "aws_sqs_queue" "q" {
      count                     = 1
      name                      = "q-${aws_s3_bucket.logs.bucket}"
      delay_seconds             = 10
      message_retention_seconds = "86400"
      tags                      = { team = "drift" }
      lifecycle {
        prevent_destroy = true
        ignore_changes  = [tags["team"], redrive_policy]
      }
    }

    data "aws_iam_policy_document" "p" {
      dynamic "statement" {
        for_each = ["s3:GetObject"]
        content {
          actions   = [statement.value]
          resources = ["${aws_s3_bucket.logs.arn}/*", aws_sqs_queue.q[0].arn]
        }
      }
    }

    resource "aws_security_group" "sg" {
      name = "sg"
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = ["10.0.0.0/8"]
      }
      egress = []
    }

    data "archive_file" "zip" {
      type        = "zip"
      source_dir  = "lib"
      output_path = "out.zip"
    }

    output "hash" {
      value = data.archive_file.zip.output_base64sha256
    }
    """
    assert findings_for(schemas, tmp_path, body) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            'resource "aws_s3_bucket" "b" {\n  buckt = "x"\n}\n',
            "aws_s3_bucket.b: buckt: unknown argument buckt (did you mean bucket?)",
            id="argument-typo",
        ),
        pytest.param(
            'resource "aws_s3_bucket" "b" {\n  versioning = {\n    enabled = true\n  }\n}\n',
            "aws_s3_bucket.b: versioning: versioning is a block, not an argument",
            id="block-written-as-argument",
        ),
        pytest.param(
            'resource "aws_s3_bucket_versioning" "v" {\n  bucket = "b"\n  expected_bucket_owner {\n  }\n'
            '  versioning_configuration {\n    status = "Enabled"\n  }\n}\n',
            "aws_s3_bucket_versioning.v: expected_bucket_owner: expected_bucket_owner is an argument, not a block",
            id="argument-written-as-block",
        ),
        pytest.param(
            'data "aws_iam_policy_document" "p" {\n  dynamic "version" {\n    for_each = []\n'
            "    content {\n    }\n  }\n}\n",
            "data.aws_iam_policy_document.p: dynamic version: version is an argument, not a block",
            id="dynamic-block-for-an-argument",
        ),
        pytest.param(
            'resource "aws_s3_bucket" "b" {\n  arn = "arn:aws:s3:::b"\n}\n',
            "aws_s3_bucket.b: arn: arn is read-only (computed by the provider), it cannot be set",
            id="read-only-attribute-set",
        ),
        pytest.param(
            'resource "aws_sqs_queue" "q" {\n  delay_seconds = "ten"\n}\n',
            'aws_sqs_queue.q: delay_seconds: delay_seconds must be number: the string "ten" is not a number',
            id="string-for-a-number",
        ),
        pytest.param(
            'resource "aws_sqs_queue" "q" {\n  fifo_queue = 1\n}\n',
            "aws_sqs_queue.q: fifo_queue: fifo_queue must be bool: a number was given",
            id="number-for-a-bool",
        ),
        pytest.param(
            'resource "aws_s3_bucket" "b" {\n  tags = ["a"]\n}\n',
            "aws_s3_bucket.b: tags: tags must be map(string): a list was given",
            id="list-for-a-map",
        ),
        pytest.param(
            'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  layers = "arn"\n}\n',
            "aws_lambda_function.f: layers: layers must be list(string): a string was given",
            id="string-for-a-list",
        ),
        pytest.param(
            'resource "aws_lambda_function" "f" {\n  function_name = "f"\n}\n',
            "aws_lambda_function.f: required argument role is missing",
            id="missing-required-argument",
        ),
        pytest.param(
            'resource "aws_s3_bucket_versioning" "v" {\n  bucket = "b"\n}\n',
            "aws_s3_bucket_versioning.v: required block versioning_configuration is missing",
            id="missing-required-block",
        ),
        pytest.param(
            'resource "aws_s3_bucket" "b" {\n  versioning {\n  }\n  versioning {\n  }\n}\n',
            "aws_s3_bucket.b: block versioning given 2 times, at most 1 allowed",
            id="single-block-twice",
        ),
        pytest.param(
            'resource "aws_s3_bukket" "b" {\n  bucket = "b"\n}\n',
            "aws_s3_bukket.b: hashicorp/aws 5.100.0 has no resource type aws_s3_bukket (did you mean aws_s3_bucket?)",
            id="unknown-resource-type",
        ),
        pytest.param(
            'data "aws_regions_x" "r" {\n}\n',
            "data.aws_regions_x.r: hashicorp/aws 5.100.0 has no data source type aws_regions_x",
            id="unknown-data-source-type",
        ),
        pytest.param(
            'output "o" {\n  value = aws_s3_bucket.logs.bucket_arn\n}\n',
            "aws_s3_bucket.logs.bucket_arn: aws_s3_bucket has no attribute bucket_arn",
            id="bad-reference-attribute",
        ),
        pytest.param(
            'output "o" {\n  value = "${data.archive_file.zip.output_sha}"\n}\n',
            "data.archive_file.zip.output_sha: data.archive_file.zip is not declared in this module",
            id="reference-to-undeclared",
        ),
        pytest.param(
            'resource "aws_sqs_queue" "q" {\n  count = 2\n}\noutput "o" {\n  value = aws_sqs_queue.q.arn\n}\n',
            "aws_sqs_queue.q.arn: aws_sqs_queue.q has count or for_each, the reference needs an instance key",
            id="reference-without-instance-key",
        ),
        pytest.param(
            'resource "aws_sqs_queue" "q" {\n  lifecycle {\n    prevent_destroyed = true\n  }\n}\n',
            "aws_sqs_queue.q: lifecycle: prevent_destroyed: unknown argument prevent_destroyed",
            id="lifecycle-typo",
        ),
        pytest.param(
            'resource "aws_sqs_queue" "q" {\n  lifecycle {\n    ignore_changes = [tags, polcy]\n  }\n}\n',
            "aws_sqs_queue.q: lifecycle: ignore_changes: polcy is not an argument of this type (did you mean policy?)",
            id="ignore-changes-typo",
        ),
        pytest.param(
            'provider "aws" {\n  regoin = "eu-west-1"\n}\n',
            "provider.aws: regoin: unknown argument regoin (did you mean region?)",
            id="provider-argument-typo",
        ),
        pytest.param(
            'terraform {\n  required_providers {\n    google = {\n      source = "hashicorp/google"\n    }\n  }\n}\n'
            'resource "google_storage_bucket" "b" {\n}\n',
            "google_storage_bucket.b: no schema for provider hashicorp/google",
            id="provider-without-schema",
        ),
    ],
)
def test_a_mistake_is_found(schemas: dict[str, Any], tmp_path: Path, body: str, expected: str) -> None:
    found = findings_for(schemas, tmp_path, body)
    assert any(expected in f for f in found), found


def test_modules_are_checked_and_so_are_calls_to_them(schemas: dict[str, Any], tmp_path: Path) -> None:
    module = """
    variable "name" {
      type = string
    }

    variable "tags" {
      type    = map(string)
      default = {}
    }

    resource "aws_s3_bucket" "this" {
      bucket = var.name
      acll   = "private"
    }

    output "arn" {
      value = aws_s3_bucket.this.arn
    }
    """
    body = """
    module "store" {
      source = "./modules/store"
      nmae   = "x"
    }

    output "arn" {
      value = module.store.arn
    }

    moved {
      from = aws_s3_bucket.old
      to   = module.store.aws_s3_bucket.this
    }

    output "id" {
      value = module.store.id
    }
    """
    found = findings_for(schemas, tmp_path, body, {"store": module})
    assert sorted(found) == sorted(
        [
            "modules/store/main.tf:10: aws_s3_bucket.this: acll: unknown argument acll (did you mean acl?)",
            "main.tf:18: module.store: nmae: module has no variable nmae (did you mean name?)",
            "main.tf:18: module.store: required variable name of the module is not passed",
            "main.tf:34: module.store.id: module store has no output id",
        ]
    )


def test_expressions_are_not_typed(schemas: dict[str, Any], tmp_path: Path) -> None:
    """No false positives where only evaluation could tell: variables,
    templates, conditionals and a block a dynamic block may supply."""
    body = """
    variable "n" {
      type = any
    }

    resource "aws_sqs_queue" "q" {
      delay_seconds = var.n
      fifo_queue    = "${var.n}"
      tags          = var.n
      name          = var.n ? "a" : "b"
    }

    resource "aws_s3_bucket_versioning" "v" {
      bucket = aws_s3_bucket.logs.id
      dynamic "versioning_configuration" {
        for_each = var.n
        content {
          status = versioning_configuration.value
        }
      }
    }
    """
    assert findings_for(schemas, tmp_path, body) == []
