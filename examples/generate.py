#!/usr/bin/env python3
"""Generate the example plans under examples/plans/.

These plans are produced by this script in Terraform 1.5's `terraform show -json`
shape; re-run to regenerate:

    python3 examples/generate.py            # writes examples/plans/*
    python3 examples/generate.py --check    # exits 1 if a committed file differs

Python 3.11, standard library only, fully deterministic (no clock, no randomness:
every id, ARN and timestamp is derived from fixed strings).

What "Terraform 1.5's shape" means here (checked against the real v1.5.7 outputs
in shared/fixtures/terraform-json/ and the jsonplan/jsonstate/jsonconfig
marshalling code):

* top-level keys in Terraform's struct order: format_version "1.2",
  terraform_version "1.5.7", variables, planned_values, resource_drift,
  resource_changes, output_changes, prior_state, configuration,
  relevant_attributes, timestamp, errored;
* Go-map objects (attribute values, variables, outputs, expressions,
  provider_config) have their keys sorted, as encoding/json does;
* resource_changes / resource_drift are ordered like addrs.AbsResourceInstance.Less
  (root module first, data before managed, then type, name, index);
  planned_values / prior_state resources are ordered by address string;
* change.after omits unknown attributes; after_unknown is `{}` when the new
  value is wholly known, otherwise the unknownAsBool structure;
  before_sensitive / after_sensitive are always the SensitiveAsBool structure
  (lists become arrays of false, maps become {}) and are `false` for a missing
  side; schema-sensitive attributes (aws_db_instance.password) are flagged even
  when null, and their values appear in clear text in before/after, exactly as
  Terraform writes them;
* prior_state is the *refreshed* state (so a resource deleted outside Terraform
  is absent from it) and carries depends_on;
* a plan made with -refresh-only has no resource_changes and an empty
  planned_values.root_module;
* strings are escaped like Go's encoding/json (<, >, & as \\u003c \\u003e \\u0026).

One deliberate difference: Terraform prints the document on one line; these
files are indented with two spaces so that they are readable in review. The
benchmark generator (benches/gen_plan.py) writes the compact form.

The `.plan.jsonl` file is the `terraform plan -json` UI stream of the same plan
as staging-app.json, in the message format of Terraform 1.5 (ui "1.1").
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys
from datetime import UTC, datetime, timedelta

TF_VERSION = "1.5.7"
FORMAT_VERSION = "1.2"
AWS = "registry.terraform.io/hashicorp/aws"
AWS_CONSTRAINT = "~> 5.31"

HERE = os.path.dirname(os.path.abspath(__file__))
PLANS = os.path.join(HERE, "plans")


class _Unknown:
    """A value Terraform will only know after apply."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "UNKNOWN"


UNKNOWN = _Unknown()


# --------------------------------------------------------------------------
# Deterministic identifiers
# --------------------------------------------------------------------------


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def hexid(n: int, *parts: str) -> str:
    return _digest(*parts).hex()[:n]


def rid(prefix: str, *parts: str) -> str:
    """AWS-style resource id, e.g. vpc-0a1b2c3d4e5f60718 (17 hex digits)."""
    return f"{prefix}-0{hexid(16, prefix, *parts)}"


def upper_id(n: int, *parts: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    d = _digest(*parts)
    return "".join(alphabet[b % 32] for b in d[:n])


def uuid_like(*parts: str) -> str:
    h = hexid(32, *parts)
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def tf_unique_id(*parts: str) -> str:
    """The provider's resource.UniqueId() suffix: a timestamp plus a counter, 26 digits."""
    d = _digest(*parts)
    return "2023061909" + "".join(str(b % 10) for b in d[:14]) + "01"


def policy(doc: dict) -> str:
    """IAM policy documents are stored by the provider as compact JSON."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


# --------------------------------------------------------------------------
# Account / region context
# --------------------------------------------------------------------------


class Account:
    def __init__(self, account_id: str, region: str, environment: str, project: str):
        self.id = account_id
        self.region = region
        self.env = environment
        self.project = project
        self.default_tags = {
            "Environment": environment,
            "ManagedBy": "terraform",
            "Project": project,
        }

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        r = self.region if region else ""
        a = self.id if account else ""
        return f"arn:aws:{service}:{r}:{a}:{resource}"

    def tags(self, tags: dict | None) -> tuple[dict | None, dict]:
        """(tags, tags_all) as the AWS provider v5 stores them with default_tags."""
        merged = dict(self.default_tags)
        merged.update(tags or {})
        return (dict(tags) if tags is not None else None), merged

    def az_id(self, az: str) -> str:
        short = {"us-east-1": "use1", "us-west-2": "usw2", "eu-central-1": "euc1"}[self.region]
        return f"{short}-az{'abcdef'.index(az[-1]) + 1}"


# --------------------------------------------------------------------------
# hashicorp/aws v5 resource builders: full attribute sets as the provider
# writes them to state (schema versions in SCHEMA_VERSION).
# --------------------------------------------------------------------------

SCHEMA_VERSION = {
    "aws_vpc": 1,
    "aws_subnet": 1,
    "aws_security_group": 1,
    "aws_instance": 1,
    "aws_db_instance": 2,
    "aws_dynamodb_table": 1,
    "aws_cloudwatch_metric_alarm": 1,
}


def sg_rule(
    from_port, to_port, protocol="tcp", *, cidr=(), ipv6=(), sgs=(), description="", prefix_lists=(), self_=False
):
    return {
        "cidr_blocks": list(cidr),
        "description": description,
        "from_port": from_port,
        "ipv6_cidr_blocks": list(ipv6),
        "prefix_list_ids": list(prefix_lists),
        "protocol": protocol,
        "security_groups": sorted(sgs),
        "self": self_,
        "to_port": to_port,
    }


def aws_vpc(a: Account, key: str, cidr: str, tags: dict):
    vid = rid("vpc", a.id, key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"vpc/{vid}"),
        "assign_generated_ipv6_cidr_block": False,
        "cidr_block": cidr,
        "default_network_acl_id": rid("acl", a.id, key),
        "default_route_table_id": rid("rtb", a.id, key, "default"),
        "default_security_group_id": rid("sg", a.id, key, "default"),
        "dhcp_options_id": rid("dopt", a.id),
        "enable_dns_hostnames": True,
        "enable_dns_support": True,
        "enable_network_address_usage_metrics": False,
        "id": vid,
        "instance_tenancy": "default",
        "ipv4_ipam_pool_id": None,
        "ipv4_netmask_length": None,
        "ipv6_association_id": "",
        "ipv6_cidr_block": "",
        "ipv6_cidr_block_network_border_group": "",
        "ipv6_ipam_pool_id": "",
        "ipv6_netmask_length": 0,
        "main_route_table_id": rid("rtb", a.id, key, "default"),
        "owner_id": a.id,
        "tags": t,
        "tags_all": ta,
    }


def aws_subnet(a: Account, key: str, vpc_id: str, cidr: str, az: str, public: bool, tags: dict):
    sid = rid("subnet", a.id, key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"subnet/{sid}"),
        "assign_ipv6_address_on_creation": False,
        "availability_zone": az,
        "availability_zone_id": a.az_id(az),
        "cidr_block": cidr,
        "customer_owned_ipv4_pool": "",
        "enable_dns64": False,
        "enable_lni_at_device_index": 0,
        "enable_resource_name_dns_a_record_on_launch": False,
        "enable_resource_name_dns_aaaa_record_on_launch": False,
        "id": sid,
        "ipv6_cidr_block": "",
        "ipv6_cidr_block_association_id": "",
        "ipv6_native": False,
        "map_customer_owned_ip_on_launch": False,
        "map_public_ip_on_launch": public,
        "outpost_arn": "",
        "owner_id": a.id,
        "private_dns_hostname_type_on_launch": "ip-name",
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "vpc_id": vpc_id,
    }


def aws_internet_gateway(a: Account, key: str, vpc_id: str, tags: dict):
    gid = rid("igw", a.id, key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"internet-gateway/{gid}"),
        "id": gid,
        "owner_id": a.id,
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "vpc_id": vpc_id,
    }


def aws_eip(a: Account, key: str, public_ip: str, private_ip: str, eni: str, tags: dict):
    alloc = rid("eipalloc", a.id, key)
    t, ta = a.tags(tags)
    return {
        "address": None,
        "allocation_id": alloc,
        "associate_with_private_ip": None,
        "association_id": rid("eipassoc", a.id, key),
        "carrier_ip": "",
        "customer_owned_ip": "",
        "customer_owned_ipv4_pool": "",
        "domain": "vpc",
        "id": alloc,
        "instance": "",
        "network_border_group": a.region,
        "network_interface": eni,
        "private_dns": f"ip-{private_ip.replace('.', '-')}.ec2.internal"
        if a.region == "us-east-1"
        else f"ip-{private_ip.replace('.', '-')}.{a.region}.compute.internal",
        "private_ip": private_ip,
        "public_dns": f"ec2-{public_ip.replace('.', '-')}.compute-1.amazonaws.com",
        "public_ip": public_ip,
        "public_ipv4_pool": "amazon",
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "vpc": True,
    }


def aws_nat_gateway(
    a: Account, key: str, alloc: str, subnet_id: str, public_ip: str, private_ip: str, eni: str, tags: dict
):
    t, ta = a.tags(tags)
    return {
        "allocation_id": alloc,
        "association_id": rid("eipassoc", a.id, key.replace("nat", "eip")),
        "connectivity_type": "public",
        "id": rid("nat", a.id, key),
        "network_interface_id": eni,
        "private_ip": private_ip,
        "public_ip": public_ip,
        "secondary_allocation_ids": None,
        "secondary_private_ip_address_count": 0,
        "secondary_private_ip_addresses": [],
        "subnet_id": subnet_id,
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
    }


def route(cidr: str, *, gateway_id: str = "", nat_gateway_id: str = ""):
    return {
        "carrier_gateway_id": "",
        "cidr_block": cidr,
        "core_network_arn": "",
        "destination_prefix_list_id": "",
        "egress_only_gateway_id": "",
        "gateway_id": gateway_id,
        "ipv6_cidr_block": "",
        "local_gateway_id": "",
        "nat_gateway_id": nat_gateway_id,
        "network_interface_id": "",
        "transit_gateway_id": "",
        "vpc_endpoint_id": "",
        "vpc_peering_connection_id": "",
    }


def aws_route_table(a: Account, key: str, vpc_id: str, routes: list, tags: dict):
    rtb = rid("rtb", a.id, key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"route-table/{rtb}"),
        "id": rtb,
        "owner_id": a.id,
        "propagating_vgws": [],
        "route": routes,
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "vpc_id": vpc_id,
    }


def aws_route_table_association(a: Account, key: str, rtb: str, subnet_id: str):
    return {
        "gateway_id": "",
        "id": rid("rtbassoc", a.id, key),
        "route_table_id": rtb,
        "subnet_id": subnet_id,
        "timeouts": None,
    }


def aws_security_group(
    a: Account, key: str, name: str, description: str, vpc_id: str, ingress: list, egress: list, tags: dict
):
    sg = rid("sg", a.id, key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"security-group/{sg}"),
        "description": description,
        "egress": egress,
        "id": sg,
        "ingress": ingress,
        "name": name,
        "name_prefix": "",
        "owner_id": a.id,
        "revoke_rules_on_delete": False,
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "vpc_id": vpc_id,
    }


def aws_vpc_endpoint(a: Account, key: str, vpc_id: str, route_table_ids: list, tags: dict):
    vpce = rid("vpce", a.id, key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"vpc-endpoint/{vpce}"),
        "auto_accept": None,
        "cidr_blocks": [
            "3.5.0.0/19",
            "16.182.0.0/16",
            "18.34.0.0/19",
            "18.34.232.0/21",
            "52.216.0.0/15",
            "54.231.0.0/16",
        ],
        "dns_entry": [],
        "dns_options": [],
        "id": vpce,
        "ip_address_type": "",
        "network_interface_ids": [],
        "owner_id": a.id,
        "policy": policy(
            {
                "Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}],
                "Version": "2008-10-17",
            }
        ),
        "prefix_list_id": "pl-63a5400a",
        "private_dns_enabled": False,
        "requester_managed": False,
        "route_table_ids": sorted(route_table_ids),
        "security_group_ids": [],
        "service_name": f"com.amazonaws.{a.region}.s3",
        "state": "available",
        "subnet_ids": [],
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "vpc_endpoint_type": "Gateway",
        "vpc_id": vpc_id,
    }


def aws_cloudwatch_log_group(a: Account, name: str, retention: int, tags: dict, kms_key_id: str = ""):
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("logs", f"log-group:{name}"),
        "id": name,
        "kms_key_id": kms_key_id,
        "log_group_class": "STANDARD",
        "name": name,
        "name_prefix": "",
        "retention_in_days": retention,
        "skip_destroy": False,
        "tags": t,
        "tags_all": ta,
    }


def aws_iam_role(
    a: Account,
    name: str,
    service: str,
    tags: dict,
    *,
    description: str = "",
    managed=(),
    created="2023-02-07T14:21:09Z",
    path="/",
):
    t, ta = a.tags(tags)
    return {
        "arn": f"arn:aws:iam::{a.id}:role{path}{name}",
        "assume_role_policy": policy(
            {
                "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}],
                "Version": "2012-10-17",
            }
        ),
        "create_date": created,
        "description": description,
        "force_detach_policies": False,
        "id": name,
        "inline_policy": [],
        "managed_policy_arns": sorted(managed),
        "max_session_duration": 3600,
        "name": name,
        "name_prefix": "",
        "path": path,
        "permissions_boundary": "",
        "tags": t,
        "tags_all": ta,
        "unique_id": "AROA" + upper_id(17, a.id, "role", name),
    }


def aws_iam_role_policy(role: str, name: str, doc: dict):
    return {
        "id": f"{role}:{name}",
        "name": name,
        "name_prefix": "",
        "policy": policy(doc),
        "role": role,
    }


def aws_iam_role_policy_attachment(a: Account, role: str, policy_arn: str):
    return {
        "id": f"{role}-{tf_unique_id(a.id, role, policy_arn)}",
        "policy_arn": policy_arn,
        "role": role,
    }


def aws_iam_instance_profile(a: Account, name: str, role: str, tags: dict):
    t, ta = a.tags(tags)
    return {
        "arn": f"arn:aws:iam::{a.id}:instance-profile/{name}",
        "create_date": "2023-06-19T09:02:44Z",
        "id": name,
        "name": name,
        "name_prefix": "",
        "path": "/",
        "role": role,
        "tags": t,
        "tags_all": ta,
        "unique_id": "AIPA" + upper_id(17, a.id, "profile", name),
    }


def aws_flow_log(a: Account, key: str, vpc_id: str, role_arn: str, log_group_arn: str, log_group: str, tags: dict):
    fl = rid("fl", a.id, key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"vpc-flow-log/{fl}"),
        "deliver_cross_account_role": "",
        "destination_options": [],
        "eni_id": None,
        "iam_role_arn": role_arn,
        "id": fl,
        "log_destination": log_group_arn,
        "log_destination_type": "cloud-watch-logs",
        "log_format": "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} "
        "${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}",
        "log_group_name": log_group,
        "max_aggregation_interval": 600,
        "subnet_id": None,
        "tags": t,
        "tags_all": ta,
        "traffic_type": "ALL",
        "transit_gateway_attachment_id": None,
        "transit_gateway_id": None,
        "vpc_id": vpc_id,
    }


def aws_kms_key(a: Account, key: str, description: str, tags: dict):
    kid = uuid_like(a.id, "kms", key)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("kms", f"key/{kid}"),
        "bypass_policy_lockout_safety_check": False,
        "custom_key_store_id": "",
        "customer_master_key_spec": "SYMMETRIC_DEFAULT",
        "deletion_window_in_days": 30,
        "description": description,
        "enable_key_rotation": True,
        "id": kid,
        "is_enabled": True,
        "key_id": kid,
        "key_usage": "ENCRYPT_DECRYPT",
        "multi_region": False,
        "policy": policy(
            {
                "Id": "key-default-1",
                "Statement": [
                    {
                        "Action": "kms:*",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{a.id}:root"},
                        "Resource": "*",
                        "Sid": "Enable IAM User Permissions",
                    }
                ],
                "Version": "2012-10-17",
            }
        ),
        "tags": t,
        "tags_all": ta,
        "xks_key_id": "",
    }


def aws_kms_alias(a: Account, name: str, key_arn: str, key_id: str):
    return {
        "arn": a.arn("kms", name),
        "id": name,
        "name": name,
        "name_prefix": "",
        "target_key_arn": key_arn,
        "target_key_id": key_id,
    }


def aws_s3_bucket(
    a: Account, bucket: str, tags: dict, *, force_destroy=False, versioning=False, kms_key_arn: str | None = None
):
    t, ta = a.tags(tags)
    regional = f"{bucket}.s3.amazonaws.com" if a.region == "us-east-1" else f"{bucket}.s3.{a.region}.amazonaws.com"
    sse = [
        {
            "rule": [
                {
                    "apply_server_side_encryption_by_default": [
                        {
                            "kms_master_key_id": kms_key_arn or "",
                            "sse_algorithm": "aws:kms" if kms_key_arn else "AES256",
                        }
                    ],
                    "bucket_key_enabled": bool(kms_key_arn),
                }
            ],
        }
    ]
    zones = {"us-east-1": "Z3AQBSTGFYJSTF", "us-west-2": "Z3BJ6K6RIION7M", "eu-central-1": "Z21DNDUVLTQW6Q"}
    return {
        "acceleration_status": "",
        "acl": None,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucket": bucket,
        "bucket_domain_name": f"{bucket}.s3.amazonaws.com",
        "bucket_prefix": "",
        "bucket_regional_domain_name": regional,
        "cors_rule": [],
        "force_destroy": force_destroy,
        "grant": [
            {
                "id": hexid(64, a.id, "canonical-user"),
                "permissions": ["FULL_CONTROL"],
                "type": "CanonicalUser",
                "uri": "",
            }
        ],
        "hosted_zone_id": zones[a.region],
        "id": bucket,
        "lifecycle_rule": [],
        "logging": [],
        "object_lock_configuration": [],
        "object_lock_enabled": False,
        "policy": "",
        "region": a.region,
        "replication_configuration": [],
        "request_payer": "BucketOwner",
        "server_side_encryption_configuration": sse,
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "versioning": [{"enabled": versioning, "mfa_delete": False}],
        "website": [],
        "website_domain": None,
        "website_endpoint": None,
    }


def aws_s3_bucket_public_access_block(bucket: str, *, acls=True, policy_=True, ignore=True, restrict=True):
    return {
        "block_public_acls": acls,
        "block_public_policy": policy_,
        "bucket": bucket,
        "id": bucket,
        "ignore_public_acls": ignore,
        "restrict_public_buckets": restrict,
    }


def aws_s3_bucket_sse(bucket: str, kms_key_arn: str | None):
    return {
        "bucket": bucket,
        "expected_bucket_owner": "",
        "id": bucket,
        "rule": [
            {
                "apply_server_side_encryption_by_default": [
                    {
                        "kms_master_key_id": kms_key_arn or "",
                        "sse_algorithm": "aws:kms" if kms_key_arn else "AES256",
                    }
                ],
                "bucket_key_enabled": bool(kms_key_arn),
            }
        ],
    }


def aws_s3_bucket_versioning(bucket: str):
    return {
        "bucket": bucket,
        "expected_bucket_owner": "",
        "id": bucket,
        "mfa": None,
        "versioning_configuration": [{"mfa_delete": "", "status": "Enabled"}],
    }


def aws_db_subnet_group(a: Account, name: str, vpc_id: str, subnet_ids: list, tags: dict):
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("rds", f"subgrp:{name}"),
        "description": "Managed by Terraform",
        "id": name,
        "name": name,
        "name_prefix": "",
        "subnet_ids": sorted(subnet_ids),
        "supported_network_types": ["IPV4"],
        "tags": t,
        "tags_all": ta,
        "vpc_id": vpc_id,
    }


def aws_db_parameter_group(a: Account, name: str, family: str, params: list, tags: dict):
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("rds", f"pg:{name}"),
        "description": "Managed by Terraform",
        "family": family,
        "id": name,
        "name": name,
        "name_prefix": "",
        "parameter": [{"apply_method": m, "name": n, "value": v} for (n, v, m) in sorted(params)],
        "tags": t,
        "tags_all": ta,
    }


def aws_db_instance(
    a: Account,
    identifier: str,
    *,
    instance_class: str,
    db_name: str,
    username: str,
    password: str | None,
    allocated_storage: int,
    max_allocated_storage: int,
    kms_key_arn: str,
    subnet_group: str,
    parameter_group: str,
    sg_ids: list,
    monitoring_role_arn: str,
    az: str,
    tags: dict,
    multi_az: bool = True,
    manage_master_user_password: bool | None = None,
    created_seed: str = "",
):
    host_suffix = hexid(12, a.id, "rds-cluster-host")
    resource_id = "db-" + upper_id(26, a.id, "rds", identifier, created_seed)
    t, ta = a.tags(tags)
    address = f"{identifier}.c{host_suffix}.{a.region}.rds.amazonaws.com"
    secret = []
    if manage_master_user_password:
        secret = [
            {
                "kms_key_id": kms_key_arn,
                "secret_arn": a.arn(
                    "secretsmanager", f"secret:rds!db-{uuid_like(a.id, identifier)}-{hexid(6, identifier)}"
                ),
                "secret_status": "active",
            }
        ]
    return {
        "address": address,
        "allocated_storage": allocated_storage,
        "allow_major_version_upgrade": None,
        "apply_immediately": False,
        "arn": a.arn("rds", f"db:{identifier}"),
        "auto_minor_version_upgrade": True,
        "availability_zone": az,
        "backup_retention_period": 14,
        "backup_target": "region",
        "backup_window": "01:30-02:30",
        "blue_green_update": [],
        "ca_cert_identifier": "rds-ca-rsa2048-g1",
        "character_set_name": "",
        "copy_tags_to_snapshot": True,
        "custom_iam_instance_profile": "",
        "customer_owned_ip_enabled": False,
        "db_name": db_name,
        "db_subnet_group_name": subnet_group,
        "delete_automated_backups": True,
        "deletion_protection": True,
        "domain": "",
        "domain_auth_secret_arn": "",
        "domain_dns_ips": [],
        "domain_fqdn": "",
        "domain_iam_role_name": "",
        "domain_ou": "",
        "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
        "endpoint": f"{address}:5432",
        "engine": "postgres",
        "engine_version": "15.4",
        "engine_version_actual": "15.4",
        "final_snapshot_identifier": f"{identifier}-final",
        "hosted_zone_id": "Z1RLNUO7B9Q6NB",
        "iam_database_authentication_enabled": False,
        "id": resource_id,
        "identifier": identifier,
        "identifier_prefix": "",
        "instance_class": instance_class,
        "iops": 3000,
        "kms_key_id": kms_key_arn,
        "latest_restorable_time": "2024-05-14T08:55:00Z",
        "license_model": "postgresql-license",
        "listener_endpoint": [],
        "maintenance_window": "sun:03:30-sun:04:30",
        "manage_master_user_password": manage_master_user_password,
        "master_user_secret": secret,
        "master_user_secret_kms_key_id": kms_key_arn if manage_master_user_password else None,
        "max_allocated_storage": max_allocated_storage,
        "monitoring_interval": 60,
        "monitoring_role_arn": monitoring_role_arn,
        "multi_az": multi_az,
        "nchar_character_set_name": "",
        "network_type": "IPV4",
        "option_group_name": "default:postgres-15",
        "parameter_group_name": parameter_group,
        "password": password,
        "performance_insights_enabled": True,
        "performance_insights_kms_key_id": kms_key_arn,
        "performance_insights_retention_period": 7,
        "port": 5432,
        "publicly_accessible": False,
        "replica_mode": "",
        "replicas": [],
        "replicate_source_db": "",
        "resource_id": resource_id,
        "restore_to_point_in_time": [],
        "s3_import": [],
        "skip_final_snapshot": False,
        "snapshot_identifier": None,
        "status": "available",
        "storage_encrypted": True,
        "storage_throughput": 125,
        "storage_type": "gp3",
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "timezone": "",
        "username": username,
        "vpc_security_group_ids": sorted(sg_ids),
    }


def aws_dynamodb_table(
    a: Account,
    name: str,
    hash_key: str,
    range_key: str | None,
    attrs: list,
    kms_key_arn: str,
    tags: dict,
    ttl_attr: str | None = None,
):
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("dynamodb", f"table/{name}"),
        "attribute": [{"name": n, "type": ty} for (n, ty) in sorted(attrs)],
        "billing_mode": "PAY_PER_REQUEST",
        "deletion_protection_enabled": True,
        "global_secondary_index": [],
        "hash_key": hash_key,
        "id": name,
        "import_table": [],
        "local_secondary_index": [],
        "name": name,
        "point_in_time_recovery": [{"enabled": True}],
        "range_key": range_key,
        "read_capacity": 0,
        "replica": [],
        "restore_date_time": None,
        "restore_source_name": None,
        "restore_to_latest_time": None,
        "server_side_encryption": [{"enabled": True, "kms_key_arn": kms_key_arn}],
        "stream_arn": "",
        "stream_enabled": False,
        "stream_label": "",
        "stream_view_type": "",
        "table_class": "STANDARD",
        "tags": t,
        "tags_all": ta,
        "timeouts": None,
        "ttl": [{"attribute_name": ttl_attr or "", "enabled": bool(ttl_attr)}],
        "write_capacity": 0,
    }


def aws_cloudwatch_metric_alarm(
    a: Account,
    name: str,
    *,
    namespace: str,
    metric: str,
    statistic: str,
    comparison: str,
    threshold: float,
    periods: int,
    period: int,
    dimensions: dict,
    actions: list,
    description: str,
    tags: dict,
):
    t, ta = a.tags(tags)
    return {
        "actions_enabled": True,
        "alarm_actions": sorted(actions),
        "alarm_description": description,
        "alarm_name": name,
        "arn": a.arn("cloudwatch", f"alarm:{name}"),
        "comparison_operator": comparison,
        "datapoints_to_alarm": 0,
        "dimensions": dimensions,
        "evaluate_low_sample_count_percentiles": "",
        "evaluation_periods": periods,
        "extended_statistic": "",
        "id": name,
        "insufficient_data_actions": [],
        "metric_name": metric,
        "metric_query": [],
        "namespace": namespace,
        "ok_actions": sorted(actions),
        "period": period,
        "statistic": statistic,
        "tags": t,
        "tags_all": ta,
        "threshold": threshold,
        "threshold_metric_id": "",
        "treat_missing_data": "missing",
        "unit": "",
    }


def aws_sns_topic(a: Account, name: str, kms: str, tags: dict):
    t, ta = a.tags(tags)
    arn = a.arn("sns", name)
    return {
        "application_failure_feedback_role_arn": "",
        "application_success_feedback_role_arn": "",
        "application_success_feedback_sample_rate": 0,
        "archive_policy": "",
        "arn": arn,
        "beginning_archive_time": "",
        "content_based_deduplication": False,
        "delivery_policy": "",
        "display_name": "",
        "fifo_topic": False,
        "firehose_failure_feedback_role_arn": "",
        "firehose_success_feedback_role_arn": "",
        "firehose_success_feedback_sample_rate": 0,
        "http_failure_feedback_role_arn": "",
        "http_success_feedback_role_arn": "",
        "http_success_feedback_sample_rate": 0,
        "id": arn,
        "kms_master_key_id": kms,
        "lambda_failure_feedback_role_arn": "",
        "lambda_success_feedback_role_arn": "",
        "lambda_success_feedback_sample_rate": 0,
        "name": name,
        "name_prefix": "",
        "owner": a.id,
        "policy": policy(
            {
                "Id": "__default_policy_ID",
                "Statement": [
                    {
                        "Action": [
                            "SNS:GetTopicAttributes",
                            "SNS:SetTopicAttributes",
                            "SNS:AddPermission",
                            "SNS:RemovePermission",
                            "SNS:DeleteTopic",
                            "SNS:Subscribe",
                            "SNS:ListSubscriptionsByTopic",
                            "SNS:Publish",
                        ],
                        "Condition": {"StringEquals": {"AWS:SourceOwner": a.id}},
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Resource": arn,
                        "Sid": "__default_statement_ID",
                    }
                ],
                "Version": "2008-10-17",
            }
        ),
        "signature_version": 0,
        "sqs_failure_feedback_role_arn": "",
        "sqs_success_feedback_role_arn": "",
        "sqs_success_feedback_sample_rate": 0,
        "tags": t,
        "tags_all": ta,
        "tracing_config": "",
    }


def aws_instance(
    a: Account,
    key: str,
    *,
    ami: str,
    instance_type: str,
    subnet_id: str,
    az: str,
    private_ip: str,
    sg_ids: list,
    profile: str,
    tags: dict,
    volume_size: int = 30,
    key_name: str = "",
    user_data_seed: str = "",
):
    iid = "i-0" + hexid(16, a.id, "instance", key)
    t, ta = a.tags(tags)
    dns = (
        f"ip-{private_ip.replace('.', '-')}.ec2.internal"
        if a.region == "us-east-1"
        else f"ip-{private_ip.replace('.', '-')}.{a.region}.compute.internal"
    )
    return {
        "ami": ami,
        "arn": a.arn("ec2", f"instance/{iid}"),
        "associate_public_ip_address": False,
        "availability_zone": az,
        "capacity_reservation_specification": [
            {
                "capacity_reservation_preference": "open",
                "capacity_reservation_target": [],
            }
        ],
        "cpu_core_count": 1,
        "cpu_options": [{"amd_sev_snp": "", "core_count": 1, "threads_per_core": 2}],
        "cpu_threads_per_core": 2,
        "credit_specification": [{"cpu_credits": "unlimited"}],
        "disable_api_stop": False,
        "disable_api_termination": False,
        "ebs_block_device": [],
        "ebs_optimized": False,
        "enclave_options": [{"enabled": False}],
        "ephemeral_block_device": [],
        "get_password_data": False,
        "hibernation": False,
        "host_id": "",
        "host_resource_group_arn": None,
        "iam_instance_profile": profile,
        "id": iid,
        "instance_initiated_shutdown_behavior": "stop",
        "instance_lifecycle": "",
        "instance_market_options": [],
        "instance_state": "running",
        "instance_type": instance_type,
        "ipv6_address_count": 0,
        "ipv6_addresses": [],
        "key_name": key_name,
        "launch_template": [],
        "maintenance_options": [{"auto_recovery": "default"}],
        "metadata_options": [
            {
                "http_endpoint": "enabled",
                "http_protocol_ipv6": "disabled",
                "http_put_response_hop_limit": 2,
                "http_tokens": "required",
                "instance_metadata_tags": "disabled",
            }
        ],
        "monitoring": True,
        "network_interface": [],
        "outpost_arn": "",
        "password_data": "",
        "placement_group": "",
        "placement_partition_number": 0,
        "primary_network_interface_id": rid("eni", a.id, key),
        "private_dns": dns,
        "private_dns_name_options": [
            {
                "enable_resource_name_dns_a_record": False,
                "enable_resource_name_dns_aaaa_record": False,
                "hostname_type": "ip-name",
            }
        ],
        "private_ip": private_ip,
        "public_dns": "",
        "public_ip": "",
        "root_block_device": [
            {
                "delete_on_termination": True,
                "device_name": "/dev/xvda",
                "encrypted": True,
                "iops": 3000,
                "kms_key_id": a.arn("kms", f"key/{uuid_like(a.id, 'aws/ebs')}"),
                "tags": {},
                "throughput": 125,
                "volume_id": rid("vol", a.id, key),
                "volume_size": volume_size,
                "volume_type": "gp3",
            }
        ],
        "secondary_private_ips": [],
        "security_groups": [],
        "source_dest_check": True,
        "spot_instance_request_id": "",
        "subnet_id": subnet_id,
        "tags": t,
        "tags_all": ta,
        "tenancy": "default",
        "timeouts": None,
        "user_data": hexid(40, "user-data", user_data_seed or key),
        "user_data_base64": None,
        "user_data_replace_on_change": False,
        "volume_tags": None,
        "vpc_security_group_ids": sorted(sg_ids),
    }


def aws_launch_template(
    a: Account,
    key: str,
    *,
    name: str,
    ami: str,
    instance_type: str,
    profile_arn: str,
    sg_ids: list,
    tags: dict,
    version: int = 3,
):
    lt = "lt-0" + hexid(16, a.id, "lt", key, name)
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("ec2", f"launch-template/{lt}"),
        "block_device_mappings": [
            {
                "device_name": "/dev/xvda",
                "ebs": [
                    {
                        "delete_on_termination": "true",
                        "encrypted": "true",
                        "iops": 3000,
                        "kms_key_id": "",
                        "snapshot_id": "",
                        "throughput": 125,
                        "volume_size": 30,
                        "volume_type": "gp3",
                    }
                ],
                "no_device": "",
                "virtual_name": "",
            }
        ],
        "capacity_reservation_specification": [],
        "cpu_options": [],
        "credit_specification": [],
        "default_version": version,
        "description": "",
        "disable_api_stop": False,
        "disable_api_termination": False,
        "ebs_optimized": "",
        "elastic_gpu_specifications": [],
        "elastic_inference_accelerator": [],
        "enclave_options": [],
        "hibernation_options": [],
        "iam_instance_profile": [{"arn": profile_arn, "name": ""}],
        "id": lt,
        "image_id": ami,
        "instance_initiated_shutdown_behavior": "",
        "instance_market_options": [],
        "instance_requirements": [],
        "instance_type": instance_type,
        "kernel_id": "",
        "key_name": "",
        "latest_version": version,
        "license_specification": [],
        "maintenance_options": [],
        "metadata_options": [
            {
                "http_endpoint": "enabled",
                "http_protocol_ipv6": "",
                "http_put_response_hop_limit": 2,
                "http_tokens": "required",
                "instance_metadata_tags": "",
            }
        ],
        "monitoring": [{"enabled": True}],
        "name": name,
        "name_prefix": "",
        "network_interfaces": [],
        "placement": [],
        "private_dns_name_options": [],
        "ram_disk_id": "",
        "security_group_names": [],
        "tag_specifications": [{"resource_type": "instance", "tags": {"Name": name}}],
        "tags": t,
        "tags_all": ta,
        "update_default_version": True,
        "user_data": "",
        "vpc_security_group_ids": sorted(sg_ids),
    }


def aws_lb_target_group(a: Account, name: str, vpc_id: str, tags: dict, port: int = 8443):
    suffix = f"targetgroup/{name}/{hexid(16, a.id, 'tg', name)}"
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("elasticloadbalancing", suffix),
        "arn_suffix": suffix,
        "connection_termination": None,
        "deregistration_delay": "30",
        "health_check": [
            {
                "enabled": True,
                "healthy_threshold": 3,
                "interval": 15,
                "matcher": "200",
                "path": "/healthz",
                "port": "traffic-port",
                "protocol": "HTTPS",
                "timeout": 5,
                "unhealthy_threshold": 3,
            }
        ],
        "id": a.arn("elasticloadbalancing", suffix),
        "ip_address_type": "ipv4",
        "lambda_multi_value_headers_enabled": False,
        "load_balancing_algorithm_type": "round_robin",
        "load_balancing_anomaly_mitigation": "off",
        "load_balancing_cross_zone_enabled": "use_load_balancer_configuration",
        "name": name,
        "name_prefix": "",
        "port": port,
        "preserve_client_ip": None,
        "protocol": "HTTPS",
        "protocol_version": "HTTP1",
        "proxy_protocol_v2": False,
        "slow_start": 0,
        "stickiness": [{"cookie_duration": 86400, "cookie_name": "", "enabled": False, "type": "lb_cookie"}],
        "tags": t,
        "tags_all": ta,
        "target_failover": [{"on_deregistration": None, "on_unhealthy": None}],
        "target_health_state": [{"enable_unhealthy_connection_termination": None}],
        "target_type": "instance",
        "vpc_id": vpc_id,
    }


def aws_lb_target_group_attachment(tg_arn: str, instance_id: str, port: int = 8443):
    return {
        "availability_zone": None,
        "id": f"{tg_arn}-{tf_unique_id(tg_arn, instance_id)}",
        "port": port,
        "target_group_arn": tg_arn,
        "target_id": instance_id,
    }


def aws_sqs_queue(a: Account, name: str, tags: dict):
    t, ta = a.tags(tags)
    return {
        "arn": a.arn("sqs", name),
        "content_based_deduplication": False,
        "deduplication_scope": "",
        "delay_seconds": 0,
        "fifo_queue": False,
        "fifo_throughput_limit": "",
        "id": f"https://sqs.{a.region}.amazonaws.com/{a.id}/{name}",
        "kms_data_key_reuse_period_seconds": 300,
        "kms_master_key_id": "",
        "max_message_size": 262144,
        "message_retention_seconds": 345600,
        "name": name,
        "name_prefix": "",
        "policy": "",
        "receive_wait_time_seconds": 20,
        "redrive_allow_policy": "",
        "redrive_policy": "",
        "sqs_managed_sse_enabled": True,
        "tags": t,
        "tags_all": ta,
        "url": f"https://sqs.{a.region}.amazonaws.com/{a.id}/{name}",
        "visibility_timeout_seconds": 60,
    }


# --------------------------------------------------------------------------
# Terraform's JSON value transforms (jsonplan / jsonstate)
# --------------------------------------------------------------------------


def canon(v):
    """Sort object keys recursively, as Go does for maps and cty objects."""
    if isinstance(v, dict):
        return {k: canon(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [canon(x) for x in v]
    return v


def wholly_known(v) -> bool:
    if v is UNKNOWN:
        return False
    if isinstance(v, dict):
        return all(wholly_known(x) for x in v.values())
    if isinstance(v, list):
        return all(wholly_known(x) for x in v)
    return True


def omit_unknowns(v):
    if isinstance(v, dict):
        return {k: omit_unknowns(x) for k, x in v.items() if x is not UNKNOWN}
    if isinstance(v, list):
        return [None if x is UNKNOWN else omit_unknowns(x) for x in v]
    return v


def unknown_as_bool(v):
    if v is UNKNOWN:
        return True
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            b = unknown_as_bool(x)
            if b is not False:
                out[k] = b
        return out
    if isinstance(v, list):
        return [unknown_as_bool(x) for x in v]
    return False


def sensitive_as_bool(v, sensitive_attrs=()):
    """jsonstate.SensitiveAsBool with the schema's sensitive top-level attributes marked."""

    def walk(x):
        if isinstance(x, dict):
            out = {}
            for k, y in x.items():
                b = walk(y)
                if b is not False:
                    out[k] = b
            return out
        if isinstance(x, list):
            return [walk(y) for y in x]
        return False

    if v is None:
        return False
    out = {}
    for k, x in v.items():
        b = True if k in sensitive_attrs else walk(x)
        if b is not False:
            out[k] = b
    return out


def after_unknown_of(after):
    if after is None:
        return {}
    return {} if wholly_known(after) else unknown_as_bool(after)


SENSITIVE_ATTRS = {"aws_db_instance": ("password",)}


def key_suffix(index) -> str:
    if index is None:
        return ""
    if isinstance(index, int):
        return f"[{index}]"
    return f'["{index}"]'


def instance_less_key(module: str | None, mode: str, rtype: str, name: str, index):
    mod_parts = module.split(".") if module else []
    if index is None:
        k = (0, 0, "")
    elif isinstance(index, int):
        k = (1, index, "")
    else:
        k = (2, 0, index)
    return (len(mod_parts) // 2, module or "", 0 if mode == "data" else 1, rtype, name, k)


# --------------------------------------------------------------------------
# Plan model
# --------------------------------------------------------------------------

_MISSING = object()


def C(value):
    return {"constant_value": value}


def R(*refs: str):
    """References as jsonconfig lists them: each traversal and its prefixes."""
    out: list[str] = []
    for ref in refs:
        parts = ref.split(".")
        if parts[0] in ("var", "local", "each", "count", "path"):
            chain = [ref]
        elif parts[0] == "module":
            chain = [".".join(parts[:i]) for i in range(len(parts), 1, -1)]
        elif parts[0] == "data":
            chain = [".".join(parts[:i]) for i in range(len(parts), 2, -1)]
        else:
            chain = [".".join(parts[:i]) for i in range(len(parts), 1, -1)]
        for c in chain:
            if c not in out:
                out.append(c)
    return {"references": out}


class Res:
    def __init__(
        self,
        rtype: str,
        name: str,
        *,
        module: str | None = None,
        index=None,
        prior=None,
        refreshed=_MISSING,
        planned=_MISSING,
        depends_on=(),
        action_reason: str | None = None,
        replace_paths=None,
        previous_address: str | None = None,
        id_key: str = "id",
    ):
        self.type = rtype
        self.name = name
        self.module = module
        self.index = index
        self.prior = prior
        self.refreshed = prior if refreshed is _MISSING else refreshed
        self.planned = self.refreshed if planned is _MISSING else planned
        self.depends_on = sorted(depends_on)
        self.action_reason = action_reason
        self.replace_paths = replace_paths
        self.previous_address = previous_address
        self.id_key = id_key

    @property
    def local_address(self) -> str:
        return f"{self.type}.{self.name}{key_suffix(self.index)}"

    @property
    def address(self) -> str:
        return f"{self.module}.{self.local_address}" if self.module else self.local_address

    @property
    def sort_key(self):
        return instance_less_key(self.module, "managed", self.type, self.name, self.index)

    @property
    def sensitive(self):
        return SENSITIVE_ATTRS.get(self.type, ())

    @property
    def drifted(self) -> bool:
        return self.prior is not None and canon(self.prior) != canon(self.refreshed)

    @property
    def actions(self) -> list[str]:
        if self.replace_paths:
            return ["delete", "create"]
        if self.refreshed is None and self.planned is not None:
            return ["create"]
        if self.planned is None:
            return ["delete"]
        if canon(self.refreshed) == canon(self.planned):
            return ["no-op"]
        return ["update"]

    def _head(self) -> dict:
        d = {"address": self.address}
        if self.previous_address:
            d["previous_address"] = self.previous_address
        if self.module:
            d["module_address"] = self.module
        d["mode"] = "managed"
        d["type"] = self.type
        d["name"] = self.name
        if self.index is not None:
            d["index"] = self.index
        d["provider_name"] = AWS
        return d

    def drift_entry(self, include_moves: bool = False):
        if not self.drifted:
            if include_moves and self.previous_address and self.prior is not None:
                before = after = canon(self.prior)
                actions = ["no-op"]
            else:
                return None
        else:
            before = canon(self.prior)
            after = canon(self.refreshed) if self.refreshed is not None else None
            actions = ["update"] if after is not None else ["delete"]
        d = self._head()
        d["change"] = {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": {},
            "before_sensitive": sensitive_as_bool(before, self.sensitive),
            "after_sensitive": sensitive_as_bool(after, self.sensitive),
        }
        return d

    def change_entry(self):
        before = canon(self.refreshed) if self.refreshed is not None else None
        planned = canon(self.planned) if self.planned is not None else None
        after = omit_unknowns(planned) if planned is not None else None
        d = self._head()
        change = {
            "actions": self.actions,
            "before": before,
            "after": after,
            "after_unknown": after_unknown_of(planned),
            "before_sensitive": sensitive_as_bool(before, self.sensitive),
            "after_sensitive": sensitive_as_bool(planned, self.sensitive),
        }
        if self.replace_paths:
            change["replace_paths"] = self.replace_paths
        d["change"] = change
        if self.action_reason:
            d["action_reason"] = self.action_reason
        return d

    def value_entry(self, values, *, with_depends: bool):
        d = {"address": self.address, "mode": "managed", "type": self.type, "name": self.name}
        if self.index is not None:
            d["index"] = self.index
        d["provider_name"] = AWS
        d["schema_version"] = SCHEMA_VERSION.get(self.type, 0)
        v = canon(values)
        d["values"] = omit_unknowns(v)
        d["sensitive_values"] = sensitive_as_bool(v, self.sensitive)
        if with_depends and self.depends_on:
            d["depends_on"] = self.depends_on
        return d


class CfgRes:
    """One resource block of the configuration (jsonconfig resource)."""

    def __init__(self, rtype: str, name: str, expressions: dict, *, count=None, for_each=None, depends_on=()):
        self.type = rtype
        self.name = name
        self.expressions = expressions
        self.count = count
        self.for_each = for_each
        self.depends_on = list(depends_on)

    def to_json(self):
        d = {
            "address": f"{self.type}.{self.name}",
            "mode": "managed",
            "type": self.type,
            "name": self.name,
            "provider_config_key": "aws",
            "expressions": canon(self.expressions),
            "schema_version": SCHEMA_VERSION.get(self.type, 0),
        }
        if self.count is not None:
            d["count_expression"] = self.count
        if self.for_each is not None:
            d["for_each_expression"] = self.for_each
        if self.depends_on:
            d["depends_on"] = self.depends_on
        return d


class Output:
    def __init__(self, name: str, before, after, expression: dict, *, type_, sensitive=False, description: str = ""):
        self.name = name
        self.before = before
        self.after = after
        self.expression = expression
        self.type = type_
        self.sensitive = sensitive
        self.description = description

    @property
    def actions(self):
        if self.before is None:
            return ["create"]
        if self.after is not UNKNOWN and self.after == self.before:
            return ["no-op"]
        return ["update"]

    def change(self):
        d = {"actions": self.actions, "before": self.before}
        if self.after is not UNKNOWN:
            d["after"] = self.after
        d["after_unknown"] = self.after is UNKNOWN
        d["before_sensitive"] = self.sensitive
        d["after_sensitive"] = self.sensitive
        return d


def module_parent(path: str) -> str:
    """module.a.module.b -> module.a ; module.a -> '' (root)."""
    parts = path.split(".")
    return ".".join(parts[:-2])


def _order_by_address(entries):
    return sorted(entries, key=lambda e: e["address"])


class Plan:
    def __init__(
        self,
        *,
        account: Account,
        timestamp: str,
        variables: dict,
        variable_decls: dict,
        provider_expressions: dict,
        refresh_only: bool = False,
    ):
        self.a = account
        self.timestamp = timestamp
        self.variables = variables
        self.variable_decls = variable_decls
        self.provider_expressions = provider_expressions
        self.refresh_only = refresh_only
        self.resources: list[Res] = []
        self.root_cfg: list[CfgRes] = []
        self.module_calls: dict[str, dict] = {}
        self.module_cfg: dict[str, list[CfgRes]] = {}
        self.outputs: list[Output] = []
        self.relevant: list[tuple[str, list]] = []

    def add(self, r: Res) -> Res:
        self.resources.append(r)
        return r

    def cfg(self, c: CfgRes, module: str | None = None) -> CfgRes:
        if module:
            self.module_cfg.setdefault(module, []).append(c)
        else:
            self.root_cfg.append(c)
        return c

    # -- sections ---------------------------------------------------------

    @staticmethod
    def _module_tree(entries: list[tuple[str | None, dict]]):
        """root_module with nested child_modules, as jsonplan/jsonstate build it."""
        by_module: dict[str, list] = {}
        for m, e in entries:
            by_module.setdefault(m or "", []).append(e)
        children: dict[str, set] = {}
        for m in by_module:
            while m:
                parent = module_parent(m)
                children.setdefault(parent, set()).add(m)
                m = parent

        def node(path: str) -> dict:
            d = {}
            if by_module.get(path):
                d["resources"] = _order_by_address(by_module[path])
            if path:
                d["address"] = path
            if children.get(path):
                d["child_modules"] = [node(c) for c in sorted(children[path])]
            return d

        return node("")

    def planned_values(self):
        pv = {}
        outs = {}
        for o in sorted(self.outputs, key=lambda o: o.name):
            entry = {"sensitive": o.sensitive}
            if o.after is not UNKNOWN:
                entry["type"] = o.type
                entry["value"] = o.after
            outs[o.name] = entry
        if outs:
            pv["outputs"] = outs
        if self.refresh_only:
            pv["root_module"] = {}
        else:
            pv["root_module"] = self._module_tree(
                [
                    (r.module, r.value_entry(r.planned, with_depends=False))
                    for r in self.resources
                    if r.planned is not None and r.actions != ["delete"]
                ]
            )
        return pv

    def prior_state(self):
        values = {}
        outs = {}
        for o in sorted(self.outputs, key=lambda o: o.name):
            if o.before is not None:
                outs[o.name] = {"sensitive": o.sensitive, "value": o.before, "type": o.type}
        if outs:
            values["outputs"] = outs
        values["root_module"] = self._module_tree(
            [
                (r.module, r.value_entry(r.refreshed, with_depends=True))
                for r in self.resources
                if r.refreshed is not None
            ]
        )
        return {"format_version": "1.0", "terraform_version": TF_VERSION, "values": values}

    def configuration(self):
        pc = {
            "aws": {
                "name": "aws",
                "full_name": AWS,
                "version_constraint": AWS_CONSTRAINT,
                "expressions": canon(self.provider_expressions),
            }
        }
        root = {}
        outs = {}
        for o in sorted(self.outputs, key=lambda o: o.name):
            e = {}
            if o.sensitive:
                e["sensitive"] = True
            e["expression"] = o.expression
            if o.description:
                e["description"] = o.description
            outs[o.name] = e
        if outs:
            root["outputs"] = outs
        root["resources"] = sorted((c.to_json() for c in self.root_cfg), key=lambda d: d["address"])
        calls = self._module_calls("")
        if calls:
            root["module_calls"] = calls
        if self.variable_decls:
            root["variables"] = canon(self.variable_decls)
        return {"provider_config": pc, "root_module": root}

    def _module_calls(self, parent: str) -> dict:
        calls = {}
        for path in sorted(self.module_calls):
            if module_parent(path) != parent:
                continue
            call = self.module_calls[path]
            mod = {}
            if call.get("outputs"):
                mod["outputs"] = canon(call["outputs"])
            mod["resources"] = sorted((c.to_json() for c in self.module_cfg.get(path, [])), key=lambda d: d["address"])
            nested = self._module_calls(path)
            if nested:
                mod["module_calls"] = nested
            if call.get("variables"):
                mod["variables"] = canon(call["variables"])
            calls[path.rsplit(".", 1)[1]] = {
                "source": call["source"],
                "expressions": canon(call["expressions"]),
                "module": mod,
            }
        return calls

    def build(self) -> dict:
        res = sorted(self.resources, key=lambda r: r.sort_key)
        doc = {"format_version": FORMAT_VERSION, "terraform_version": TF_VERSION}
        if self.variables:
            doc["variables"] = {k: {"value": self.variables[k]} for k in sorted(self.variables)}
        doc["planned_values"] = self.planned_values()
        drift = [e for e in (r.drift_entry(include_moves=self.refresh_only) for r in res) if e]
        if drift:
            doc["resource_drift"] = drift
        if not self.refresh_only:
            doc["resource_changes"] = [r.change_entry() for r in res]
        if self.outputs:
            doc["output_changes"] = {o.name: o.change() for o in sorted(self.outputs, key=lambda o: o.name)}
        doc["prior_state"] = self.prior_state()
        doc["configuration"] = self.configuration()
        if self.relevant and not self.refresh_only:
            doc["relevant_attributes"] = [{"resource": r, "attribute": a} for r, a in sorted(self.relevant)]
        doc["timestamp"] = self.timestamp
        doc["errored"] = False
        return doc


def dumps_go(doc, *, indent: int | None = 2) -> str:
    """json.dumps, escaping like Go's encoding/json (HTML-safe)."""
    if indent is None:
        s = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    else:
        s = json.dumps(doc, indent=indent, ensure_ascii=False)
    return (
        s.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


# --------------------------------------------------------------------------
# prod-network (111111111111 / us-east-1)
# --------------------------------------------------------------------------


def prod_network(refresh_only: bool = False) -> Plan:
    a = Account("111111111111", "us-east-1", "prod", "core-network")
    azs = ["us-east-1a", "us-east-1b", "us-east-1c"]
    vpc_cidr = "10.20.0.0/16"
    p = Plan(
        account=a,
        timestamp="2024-05-14T09:12:44Z" if not refresh_only else "2024-05-14T09:15:02Z",
        variables={"azs": azs, "environment": "prod", "region": "us-east-1", "vpc_cidr": vpc_cidr},
        variable_decls={
            "azs": {"default": azs, "description": "Availability zones to spread subnets over"},
            "environment": {"description": "Deployment environment"},
            "region": {"default": "us-east-1"},
            "vpc_cidr": {"default": vpc_cidr, "description": "Primary IPv4 CIDR of the VPC"},
        },
        provider_expressions={
            "default_tags": [{"tags": C(a.default_tags)}],
            "region": R("var.region"),
        },
        refresh_only=refresh_only,
    )

    # VPC: tag-only drift (someone edited tags in the console).
    vpc_prior = aws_vpc(a, "main", vpc_cidr, {"Name": "prod-core-vpc", "Owner": "network-team"})
    vpc_now = copy.deepcopy(vpc_prior)
    vpc_now["tags"] = {"Name": "prod-core-vpc", "Owner": "jsmith", "Ticket": "CHG-20931"}
    vpc_now["tags_all"] = {**a.default_tags, **vpc_now["tags"]}
    p.add(Res("aws_vpc", "main", prior=vpc_prior, refreshed=vpc_now, planned=vpc_prior))
    vpc_id = vpc_prior["id"]
    p.cfg(
        CfgRes(
            "aws_vpc",
            "main",
            {
                "cidr_block": R("var.vpc_cidr"),
                "enable_dns_hostnames": C(True),
                "enable_dns_support": C(True),
                "tags": C({"Name": "prod-core-vpc", "Owner": "network-team"}),
            },
        )
    )

    public, private = {}, {}
    for i, az in enumerate(azs):
        pub = aws_subnet(
            a, f"public-{az}", vpc_id, f"10.20.{i}.0/24", az, True, {"Name": f"prod-public-{az}", "Tier": "public"}
        )
        prv = aws_subnet(
            a,
            f"private-{az}",
            vpc_id,
            f"10.20.{16 * (i + 1)}.0/20",
            az,
            False,
            {"Name": f"prod-private-{az}", "Tier": "private"},
        )
        public[az] = p.add(Res("aws_subnet", "public", index=az, prior=pub, depends_on=["aws_vpc.main"]))
        private[az] = p.add(Res("aws_subnet", "private", index=az, prior=prv, depends_on=["aws_vpc.main"]))
    for name, pub in (("public", True), ("private", False)):
        p.cfg(
            CfgRes(
                "aws_subnet",
                name,
                {
                    "availability_zone": R("each.key"),
                    "cidr_block": R("var.vpc_cidr", "each.value"),
                    "map_public_ip_on_launch": C(pub),
                    "tags": R("each.key"),
                    "vpc_id": R("aws_vpc.main.id"),
                },
                for_each=R("var.azs"),
            )
        )

    igw = p.add(
        Res(
            "aws_internet_gateway",
            "main",
            prior=aws_internet_gateway(a, "main", vpc_id, {"Name": "prod-core-igw"}),
            depends_on=["aws_vpc.main"],
        )
    )
    p.cfg(
        CfgRes("aws_internet_gateway", "main", {"tags": C({"Name": "prod-core-igw"}), "vpc_id": R("aws_vpc.main.id")})
    )

    nat_eni = rid("eni", a.id, "nat")
    eip = p.add(
        Res(
            "aws_eip",
            "nat",
            prior=aws_eip(a, "eip-nat", "52.4.118.203", "10.20.0.87", nat_eni, {"Name": "prod-core-nat"}),
            depends_on=["aws_internet_gateway.main", "aws_vpc.main"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_eip",
            "nat",
            {"domain": C("vpc"), "tags": C({"Name": "prod-core-nat"})},
            depends_on=["aws_internet_gateway.main"],
        )
    )

    nat = p.add(
        Res(
            "aws_nat_gateway",
            "main",
            prior=aws_nat_gateway(
                a,
                "nat-main",
                eip.prior["id"],
                public["us-east-1a"].prior["id"],
                "52.4.118.203",
                "10.20.0.87",
                nat_eni,
                {"Name": "prod-core-nat"},
            ),
            depends_on=["aws_eip.nat", "aws_internet_gateway.main", "aws_subnet.public", "aws_vpc.main"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_nat_gateway",
            "main",
            {
                "allocation_id": R("aws_eip.nat.id"),
                "subnet_id": R('aws_subnet.public["us-east-1a"].id'),
                "tags": C({"Name": "prod-core-nat"}),
            },
        )
    )

    rt_pub = p.add(
        Res(
            "aws_route_table",
            "public",
            prior=aws_route_table(
                a, "public", vpc_id, [route("0.0.0.0/0", gateway_id=igw.prior["id"])], {"Name": "prod-public"}
            ),
            depends_on=["aws_internet_gateway.main", "aws_vpc.main"],
        )
    )
    rt_prv = p.add(
        Res(
            "aws_route_table",
            "private",
            prior=aws_route_table(
                a, "private", vpc_id, [route("0.0.0.0/0", nat_gateway_id=nat.prior["id"])], {"Name": "prod-private"}
            ),
            depends_on=[
                "aws_eip.nat",
                "aws_internet_gateway.main",
                "aws_nat_gateway.main",
                "aws_subnet.public",
                "aws_vpc.main",
            ],
        )
    )
    p.cfg(
        CfgRes(
            "aws_route_table",
            "public",
            {
                "route": R("aws_internet_gateway.main.id"),
                "tags": C({"Name": "prod-public"}),
                "vpc_id": R("aws_vpc.main.id"),
            },
        )
    )
    p.cfg(
        CfgRes(
            "aws_route_table",
            "private",
            {
                "route": R("aws_nat_gateway.main.id"),
                "tags": C({"Name": "prod-private"}),
                "vpc_id": R("aws_vpc.main.id"),
            },
        )
    )
    for az in azs:
        p.add(
            Res(
                "aws_route_table_association",
                "public",
                index=az,
                prior=aws_route_table_association(a, f"public-{az}", rt_pub.prior["id"], public[az].prior["id"]),
                depends_on=["aws_internet_gateway.main", "aws_route_table.public", "aws_subnet.public", "aws_vpc.main"],
            )
        )
        p.add(
            Res(
                "aws_route_table_association",
                "private",
                index=az,
                prior=aws_route_table_association(a, f"private-{az}", rt_prv.prior["id"], private[az].prior["id"]),
                depends_on=[
                    "aws_eip.nat",
                    "aws_internet_gateway.main",
                    "aws_nat_gateway.main",
                    "aws_route_table.private",
                    "aws_subnet.private",
                    "aws_subnet.public",
                    "aws_vpc.main",
                ],
            )
        )
    for name in ("public", "private"):
        p.cfg(
            CfgRes(
                "aws_route_table_association",
                name,
                {
                    "route_table_id": R(f"aws_route_table.{name}.id"),
                    "subnet_id": R("each.value.id"),
                },
                for_each=R(f"aws_subnet.{name}"),
            )
        )

    everything_out = [sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])]
    alb = p.add(
        Res(
            "aws_security_group",
            "alb",
            prior=aws_security_group(
                a,
                "alb",
                "prod-alb",
                "Public HTTPS entry point",
                vpc_id,
                [
                    sg_rule(443, 443, cidr=["0.0.0.0/0"], description="HTTPS from the internet"),
                    sg_rule(80, 80, cidr=["0.0.0.0/0"], description="HTTP redirect to HTTPS"),
                ],
                everything_out,
                {"Name": "prod-alb"},
            ),
            depends_on=["aws_vpc.main"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_security_group",
            "alb",
            {
                "description": C("Public HTTPS entry point"),
                "egress": C([sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])]),
                "ingress": C(
                    [
                        sg_rule(443, 443, cidr=["0.0.0.0/0"], description="HTTPS from the internet"),
                        sg_rule(80, 80, cidr=["0.0.0.0/0"], description="HTTP redirect to HTTPS"),
                    ]
                ),
                "name": C("prod-alb"),
                "tags": C({"Name": "prod-alb"}),
                "vpc_id": R("aws_vpc.main.id"),
            },
        )
    )

    # App security group: someone opened SSH to the world in the console.
    app_ingress = [
        sg_rule(8443, 8443, sgs=[alb.prior["id"]], description="App traffic from the ALB"),
        sg_rule(9100, 9100, cidr=[vpc_cidr], description="Prometheus node exporter"),
    ]
    app_prior = aws_security_group(
        a, "app", "prod-app", "Application tier", vpc_id, app_ingress, everything_out, {"Name": "prod-app"}
    )
    app_now = copy.deepcopy(app_prior)
    app_now["ingress"].append(sg_rule(22, 22, cidr=["0.0.0.0/0"]))
    p.add(
        Res(
            "aws_security_group",
            "app",
            prior=app_prior,
            refreshed=app_now,
            planned=app_prior,
            depends_on=["aws_security_group.alb", "aws_vpc.main"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_security_group",
            "app",
            {
                "description": C("Application tier"),
                "egress": C([sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])]),
                "ingress": R("aws_security_group.alb.id", "var.vpc_cidr"),
                "name": C("prod-app"),
                "tags": C({"Name": "prod-app"}),
                "vpc_id": R("aws_vpc.main.id"),
            },
        )
    )

    p.add(
        Res(
            "aws_vpc_endpoint",
            "s3",
            prior=aws_vpc_endpoint(
                a, "s3", vpc_id, [rt_pub.prior["id"], rt_prv.prior["id"]], {"Name": "prod-s3-gateway"}
            ),
            depends_on=["aws_route_table.private", "aws_route_table.public", "aws_vpc.main"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_vpc_endpoint",
            "s3",
            {
                "route_table_ids": R("aws_route_table.public.id", "aws_route_table.private.id"),
                "service_name": R("var.region"),
                "tags": C({"Name": "prod-s3-gateway"}),
                "vpc_endpoint_type": C("Gateway"),
                "vpc_id": R("aws_vpc.main.id"),
            },
        )
    )

    lg_name = "/aws/vpc/prod-core-vpc/flow-logs"
    lg = p.add(
        Res(
            "aws_cloudwatch_log_group",
            "flow_logs",
            prior=aws_cloudwatch_log_group(a, lg_name, 90, {"Name": "prod-flow-logs"}),
        )
    )
    p.cfg(
        CfgRes(
            "aws_cloudwatch_log_group",
            "flow_logs",
            {"name": C(lg_name), "retention_in_days": C(90), "tags": C({"Name": "prod-flow-logs"})},
        )
    )
    role = p.add(
        Res(
            "aws_iam_role",
            "flow_logs",
            prior=aws_iam_role(
                a,
                "prod-vpc-flow-logs",
                "vpc-flow-logs.amazonaws.com",
                {"Name": "prod-vpc-flow-logs"},
                description="Lets VPC Flow Logs publish to CloudWatch Logs",
            ),
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role",
            "flow_logs",
            {
                "assume_role_policy": C(role.prior["assume_role_policy"]),
                "description": C("Lets VPC Flow Logs publish to CloudWatch Logs"),
                "name": C("prod-vpc-flow-logs"),
                "tags": C({"Name": "prod-vpc-flow-logs"}),
            },
        )
    )
    p.add(
        Res(
            "aws_iam_role_policy",
            "flow_logs",
            prior=aws_iam_role_policy(
                "prod-vpc-flow-logs",
                "publish-flow-logs",
                {
                    "Statement": [
                        {
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:DescribeLogGroups",
                                "logs:DescribeLogStreams",
                                "logs:PutLogEvents",
                            ],
                            "Effect": "Allow",
                            "Resource": f"{lg.prior['arn']}:*",
                        }
                    ],
                    "Version": "2012-10-17",
                },
            ),
            depends_on=["aws_cloudwatch_log_group.flow_logs", "aws_iam_role.flow_logs"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role_policy",
            "flow_logs",
            {
                "name": C("publish-flow-logs"),
                "policy": R("aws_cloudwatch_log_group.flow_logs.arn"),
                "role": R("aws_iam_role.flow_logs.id"),
            },
        )
    )
    p.add(
        Res(
            "aws_flow_log",
            "main",
            prior=aws_flow_log(
                a, "main", vpc_id, role.prior["arn"], lg.prior["arn"], lg_name, {"Name": "prod-core-vpc"}
            ),
            depends_on=["aws_cloudwatch_log_group.flow_logs", "aws_iam_role.flow_logs", "aws_vpc.main"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_flow_log",
            "main",
            {
                "iam_role_arn": R("aws_iam_role.flow_logs.arn"),
                "log_destination": R("aws_cloudwatch_log_group.flow_logs.arn"),
                "tags": C({"Name": "prod-core-vpc"}),
                "traffic_type": C("ALL"),
                "vpc_id": R("aws_vpc.main.id"),
            },
        )
    )

    pub_ids = [public[az].prior["id"] for az in azs]
    prv_ids = [private[az].prior["id"] for az in azs]
    p.outputs = [
        Output("vpc_id", vpc_id, vpc_id, R("aws_vpc.main.id"), type_="string"),
        Output("public_subnet_ids", pub_ids, pub_ids, R("aws_subnet.public"), type_=["tuple", ["string"] * 3]),
        Output("private_subnet_ids", prv_ids, prv_ids, R("aws_subnet.private"), type_=["tuple", ["string"] * 3]),
        Output(
            "app_security_group_id", app_prior["id"], app_prior["id"], R("aws_security_group.app.id"), type_="string"
        ),
    ]
    p.relevant = [("aws_security_group.alb", ["id"]), ("aws_vpc.main", ["id"])]
    return p


# --------------------------------------------------------------------------
# prod-data (111111111111 / eu-central-1)
# --------------------------------------------------------------------------

ORDERS_DB_PASSWORD = "example-only-N0t-a-real-Passw0rd"


def prod_data() -> Plan:
    a = Account("111111111111", "eu-central-1", "prod", "data-platform")
    vpc_id = rid("vpc", a.id, "eu-main")
    subnets = [rid("subnet", a.id, f"eu-private-{z}") for z in "abc"]
    app_sg = rid("sg", a.id, "eu-app")
    p = Plan(
        account=a,
        timestamp="2024-05-14T09:31:08Z",
        variables={
            "app_security_group_id": app_sg,
            "environment": "prod",
            "orders_db_password": ORDERS_DB_PASSWORD,
            "private_subnet_ids": subnets,
            "region": "eu-central-1",
            "vpc_id": vpc_id,
        },
        variable_decls={
            "app_security_group_id": {},
            "environment": {},
            "orders_db_password": {"description": "Master password of the orders database", "sensitive": True},
            "private_subnet_ids": {},
            "region": {"default": "eu-central-1"},
            "vpc_id": {},
        },
        provider_expressions={"default_tags": [{"tags": C(a.default_tags)}], "region": R("var.region")},
    )

    kms = p.add(
        Res(
            "aws_kms_key",
            "data",
            prior=aws_kms_key(a, "data", "prod data-platform at-rest encryption", {"Name": "prod-data"}),
        )
    )
    p.cfg(
        CfgRes(
            "aws_kms_key",
            "data",
            {
                "deletion_window_in_days": C(30),
                "description": C("prod data-platform at-rest encryption"),
                "enable_key_rotation": C(True),
                "tags": C({"Name": "prod-data"}),
            },
        )
    )
    kms_arn = kms.prior["arn"]
    p.add(
        Res(
            "aws_kms_alias",
            "data",
            prior=aws_kms_alias(a, "alias/prod-data", kms_arn, kms.prior["id"]),
            depends_on=["aws_kms_key.data"],
        )
    )
    p.cfg(
        CfgRes("aws_kms_alias", "data", {"name": C("alias/prod-data"), "target_key_id": R("aws_kms_key.data.key_id")})
    )

    p.add(
        Res(
            "aws_db_subnet_group",
            "main",
            prior=aws_db_subnet_group(a, "prod-data", vpc_id, subnets, {"Name": "prod-data"}),
        )
    )
    p.cfg(
        CfgRes(
            "aws_db_subnet_group",
            "main",
            {"name": C("prod-data"), "subnet_ids": R("var.private_subnet_ids"), "tags": C({"Name": "prod-data"})},
        )
    )
    db_sg = p.add(
        Res(
            "aws_security_group",
            "db",
            prior=aws_security_group(
                a,
                "eu-db",
                "prod-postgres",
                "PostgreSQL from the application tier",
                vpc_id,
                [sg_rule(5432, 5432, sgs=[app_sg], description="PostgreSQL from app tier")],
                [sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])],
                {"Name": "prod-postgres"},
            ),
        )
    )
    p.cfg(
        CfgRes(
            "aws_security_group",
            "db",
            {
                "description": C("PostgreSQL from the application tier"),
                "egress": C([sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])]),
                "ingress": R("var.app_security_group_id"),
                "name": C("prod-postgres"),
                "tags": C({"Name": "prod-postgres"}),
                "vpc_id": R("var.vpc_id"),
            },
        )
    )
    p.add(
        Res(
            "aws_db_parameter_group",
            "postgres15",
            prior=aws_db_parameter_group(
                a,
                "prod-postgres15",
                "postgres15",
                [
                    ("log_min_duration_statement", "500", "immediate"),
                    ("rds.force_ssl", "1", "immediate"),
                    ("shared_preload_libraries", "pg_stat_statements", "pending-reboot"),
                ],
                {"Name": "prod-postgres15"},
            ),
        )
    )
    p.cfg(
        CfgRes(
            "aws_db_parameter_group",
            "postgres15",
            {
                "family": C("postgres15"),
                "name": C("prod-postgres15"),
                "parameter": [
                    {"apply_method": C(m), "name": C(n), "value": C(v)}
                    for n, v, m in (
                        ("log_min_duration_statement", "500", "immediate"),
                        ("rds.force_ssl", "1", "immediate"),
                        ("shared_preload_libraries", "pg_stat_statements", "pending-reboot"),
                    )
                ],
                "tags": C({"Name": "prod-postgres15"}),
            },
        )
    )
    mon = p.add(
        Res(
            "aws_iam_role",
            "rds_monitoring",
            prior=aws_iam_role(
                a,
                "prod-rds-enhanced-monitoring",
                "monitoring.rds.amazonaws.com",
                {"Name": "prod-rds-monitoring"},
                managed=["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"],
            ),
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role",
            "rds_monitoring",
            {
                "assume_role_policy": C(mon.prior["assume_role_policy"]),
                "name": C("prod-rds-enhanced-monitoring"),
                "tags": C({"Name": "prod-rds-monitoring"}),
            },
        )
    )
    p.add(
        Res(
            "aws_iam_role_policy_attachment",
            "rds_monitoring",
            prior=aws_iam_role_policy_attachment(
                a,
                "prod-rds-enhanced-monitoring",
                "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            ),
            depends_on=["aws_iam_role.rds_monitoring"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role_policy_attachment",
            "rds_monitoring",
            {
                "policy_arn": C("arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"),
                "role": R("aws_iam_role.rds_monitoring.name"),
            },
        )
    )

    db_deps = [
        "aws_db_parameter_group.postgres15",
        "aws_db_subnet_group.main",
        "aws_iam_role.rds_monitoring",
        "aws_kms_key.data",
        "aws_security_group.db",
    ]
    common_db = {
        "kms_key_arn": kms_arn,
        "subnet_group": "prod-data",
        "parameter_group": "prod-postgres15",
        "sg_ids": [db_sg.prior["id"]],
        "monitoring_role_arn": mon.prior["arn"],
    }

    # orders: deleted outside Terraform -> drift ["delete"], plan ["create"].
    orders_prior = aws_db_instance(
        a,
        "prod-orders-db",
        instance_class="db.r6g.large",
        db_name="orders",
        username="orders_admin",
        password=ORDERS_DB_PASSWORD,
        allocated_storage=200,
        max_allocated_storage=1000,
        az="eu-central-1a",
        tags={"Name": "prod-orders-db"},
        **common_db,
    )
    orders_planned = copy.deepcopy(orders_prior)
    for k in (
        "address",
        "arn",
        "availability_zone",
        "backup_target",
        "ca_cert_identifier",
        "character_set_name",
        "endpoint",
        "engine_version_actual",
        "hosted_zone_id",
        "id",
        "iops",
        "latest_restorable_time",
        "license_model",
        "listener_endpoint",
        "master_user_secret",
        "master_user_secret_kms_key_id",
        "nchar_character_set_name",
        "network_type",
        "option_group_name",
        "replica_mode",
        "replicas",
        "resource_id",
        "status",
        "storage_throughput",
        "timezone",
        "domain_fqdn",
        "identifier_prefix",
    ):
        orders_planned[k] = UNKNOWN
    for k in (
        "manage_master_user_password",
        "snapshot_identifier",
        "allow_major_version_upgrade",
        "domain",
        "domain_auth_secret_arn",
        "domain_dns_ips",
        "domain_iam_role_name",
        "domain_ou",
        "custom_iam_instance_profile",
    ):
        orders_planned[k] = None
    orders_planned["replicate_source_db"] = None
    p.add(
        Res("aws_db_instance", "orders", prior=orders_prior, refreshed=None, planned=orders_planned, depends_on=db_deps)
    )

    # analytics: instance class scaled up by hand in the console.
    ana_prior = aws_db_instance(
        a,
        "prod-analytics-db",
        instance_class="db.r6g.large",
        db_name="analytics",
        username="analytics_admin",
        password=None,
        allocated_storage=500,
        max_allocated_storage=2000,
        az="eu-central-1b",
        multi_az=False,
        manage_master_user_password=True,
        tags={"Name": "prod-analytics-db"},
        **common_db,
    )
    ana_now = copy.deepcopy(ana_prior)
    ana_now["instance_class"] = "db.r6g.xlarge"
    p.add(
        Res("aws_db_instance", "analytics", prior=ana_prior, refreshed=ana_now, planned=ana_prior, depends_on=db_deps)
    )
    for name, ident, dbn, user, extra in (
        (
            "orders",
            "prod-orders-db",
            "orders",
            "orders_admin",
            {"multi_az": C(True), "password": R("var.orders_db_password")},
        ),
        (
            "analytics",
            "prod-analytics-db",
            "analytics",
            "analytics_admin",
            {
                "manage_master_user_password": C(True),
                "master_user_secret_kms_key_id": R("aws_kms_key.data.arn"),
                "multi_az": C(False),
            },
        ),
    ):
        e = {
            "allocated_storage": C(200 if name == "orders" else 500),
            "backup_retention_period": C(14),
            "backup_window": C("01:30-02:30"),
            "copy_tags_to_snapshot": C(True),
            "db_name": C(dbn),
            "db_subnet_group_name": R("aws_db_subnet_group.main.name"),
            "deletion_protection": C(True),
            "enabled_cloudwatch_logs_exports": C(["postgresql", "upgrade"]),
            "engine": C("postgres"),
            "engine_version": C("15.4"),
            "final_snapshot_identifier": C(f"{ident}-final"),
            "identifier": C(ident),
            "instance_class": C("db.r6g.large"),
            "kms_key_id": R("aws_kms_key.data.arn"),
            "maintenance_window": C("sun:03:30-sun:04:30"),
            "max_allocated_storage": C(1000 if name == "orders" else 2000),
            "monitoring_interval": C(60),
            "monitoring_role_arn": R("aws_iam_role.rds_monitoring.arn"),
            "parameter_group_name": R("aws_db_parameter_group.postgres15.name"),
            "performance_insights_enabled": C(True),
            "performance_insights_kms_key_id": R("aws_kms_key.data.arn"),
            "publicly_accessible": C(False),
            "storage_encrypted": C(True),
            "storage_type": C("gp3"),
            "tags": C({"Name": ident}),
            "username": C(user),
            "vpc_security_group_ids": R("aws_security_group.db.id"),
        }
        e.update(extra)
        p.cfg(CfgRes("aws_db_instance", name, e))

    # reports bucket: tag edited by hand; its public access block loosened.
    rep_prior = aws_s3_bucket(
        a,
        "acme-prod-reports-euc1",
        {"CostCenter": "fin-analytics", "Name": "acme-prod-reports-euc1"},
        versioning=True,
        kms_key_arn=kms_arn,
    )
    rep_now = copy.deepcopy(rep_prior)
    rep_now["tags"]["CostCenter"] = "fin-bi"
    rep_now["tags_all"]["CostCenter"] = "fin-bi"
    p.add(Res("aws_s3_bucket", "reports", prior=rep_prior, refreshed=rep_now, planned=rep_prior))
    pab_prior = aws_s3_bucket_public_access_block("acme-prod-reports-euc1")
    pab_now = dict(pab_prior, block_public_acls=False)
    p.add(
        Res(
            "aws_s3_bucket_public_access_block",
            "reports",
            prior=pab_prior,
            refreshed=pab_now,
            planned=pab_prior,
            depends_on=["aws_s3_bucket.reports"],
        )
    )
    p.add(
        Res(
            "aws_s3_bucket_server_side_encryption_configuration",
            "reports",
            prior=aws_s3_bucket_sse("acme-prod-reports-euc1", kms_arn),
            depends_on=["aws_kms_key.data", "aws_s3_bucket.reports"],
        )
    )
    p.add(
        Res(
            "aws_s3_bucket_versioning",
            "reports",
            prior=aws_s3_bucket_versioning("acme-prod-reports-euc1"),
            depends_on=["aws_s3_bucket.reports"],
        )
    )
    p.add(
        Res(
            "aws_s3_bucket",
            "backups",
            prior=aws_s3_bucket(
                a, "acme-prod-db-backups-euc1", {"Name": "acme-prod-db-backups-euc1"}, kms_key_arn=kms_arn
            ),
        )
    )
    p.add(
        Res(
            "aws_s3_bucket_public_access_block",
            "backups",
            prior=aws_s3_bucket_public_access_block("acme-prod-db-backups-euc1"),
            depends_on=["aws_s3_bucket.backups"],
        )
    )
    p.add(
        Res(
            "aws_s3_bucket_server_side_encryption_configuration",
            "backups",
            prior=aws_s3_bucket_sse("acme-prod-db-backups-euc1", kms_arn),
            depends_on=["aws_kms_key.data", "aws_s3_bucket.backups"],
        )
    )
    for name, bucket, tags in (
        ("reports", "acme-prod-reports-euc1", {"CostCenter": "fin-analytics", "Name": "acme-prod-reports-euc1"}),
        ("backups", "acme-prod-db-backups-euc1", {"Name": "acme-prod-db-backups-euc1"}),
    ):
        p.cfg(CfgRes("aws_s3_bucket", name, {"bucket": C(bucket), "tags": C(tags)}))
        p.cfg(
            CfgRes(
                "aws_s3_bucket_public_access_block",
                name,
                {
                    "block_public_acls": C(True),
                    "block_public_policy": C(True),
                    "bucket": R(f"aws_s3_bucket.{name}.id"),
                    "ignore_public_acls": C(True),
                    "restrict_public_buckets": C(True),
                },
            )
        )
        p.cfg(
            CfgRes(
                "aws_s3_bucket_server_side_encryption_configuration",
                name,
                {
                    "bucket": R(f"aws_s3_bucket.{name}.id"),
                    "rule": [
                        {
                            "apply_server_side_encryption_by_default": [
                                {"kms_master_key_id": R("aws_kms_key.data.arn"), "sse_algorithm": C("aws:kms")}
                            ],
                            "bucket_key_enabled": C(True),
                        }
                    ],
                },
            )
        )
    p.cfg(
        CfgRes(
            "aws_s3_bucket_versioning",
            "reports",
            {"bucket": R("aws_s3_bucket.reports.id"), "versioning_configuration": [{"status": C("Enabled")}]},
        )
    )

    p.add(
        Res(
            "aws_dynamodb_table",
            "sessions",
            prior=aws_dynamodb_table(
                a,
                "prod-sessions",
                "session_id",
                None,
                [("session_id", "S")],
                kms_arn,
                {"Name": "prod-sessions"},
                ttl_attr="expires_at",
            ),
            depends_on=["aws_kms_key.data"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_dynamodb_table",
            "sessions",
            {
                "attribute": [{"name": C("session_id"), "type": C("S")}],
                "billing_mode": C("PAY_PER_REQUEST"),
                "deletion_protection_enabled": C(True),
                "hash_key": C("session_id"),
                "name": C("prod-sessions"),
                "point_in_time_recovery": [{"enabled": C(True)}],
                "server_side_encryption": [{"enabled": C(True), "kms_key_arn": R("aws_kms_key.data.arn")}],
                "tags": C({"Name": "prod-sessions"}),
                "ttl": [{"attribute_name": C("expires_at"), "enabled": C(True)}],
            },
        )
    )

    topic = a.arn("sns", "prod-data-alerts")
    p.add(
        Res(
            "aws_cloudwatch_metric_alarm",
            "analytics_cpu",
            prior=aws_cloudwatch_metric_alarm(
                a,
                "prod-analytics-db-cpu-high",
                namespace="AWS/RDS",
                metric="CPUUtilization",
                statistic="Average",
                comparison="GreaterThanThreshold",
                threshold=80,
                periods=3,
                period=300,
                dimensions={"DBInstanceIdentifier": "prod-analytics-db"},
                actions=[topic],
                description="Analytics DB CPU above 80% for 15 minutes",
                tags={"Name": "prod-analytics-db-cpu-high"},
            ),
            depends_on=["aws_db_instance.analytics"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_cloudwatch_metric_alarm",
            "analytics_cpu",
            {
                "alarm_actions": C([topic]),
                "alarm_description": C("Analytics DB CPU above 80% for 15 minutes"),
                "alarm_name": C("prod-analytics-db-cpu-high"),
                "comparison_operator": C("GreaterThanThreshold"),
                "dimensions": R("aws_db_instance.analytics.identifier"),
                "evaluation_periods": C(3),
                "metric_name": C("CPUUtilization"),
                "namespace": C("AWS/RDS"),
                "ok_actions": C([topic]),
                "period": C(300),
                "statistic": C("Average"),
                "tags": C({"Name": "prod-analytics-db-cpu-high"}),
                "threshold": C(80),
            },
        )
    )

    p.outputs = [
        Output(
            "orders_db_endpoint",
            orders_prior["endpoint"],
            UNKNOWN,
            R("aws_db_instance.orders.endpoint"),
            type_="string",
        ),
        Output(
            "analytics_db_endpoint",
            ana_prior["endpoint"],
            ana_prior["endpoint"],
            R("aws_db_instance.analytics.endpoint"),
            type_="string",
        ),
        Output(
            "reports_bucket_arn", rep_prior["arn"], rep_prior["arn"], R("aws_s3_bucket.reports.arn"), type_="string"
        ),
        Output("data_kms_key_arn", kms_arn, kms_arn, R("aws_kms_key.data.arn"), type_="string"),
    ]
    p.relevant = [
        ("aws_db_parameter_group.postgres15", ["name"]),
        ("aws_db_subnet_group.main", ["name"]),
        ("aws_iam_role.rds_monitoring", ["arn"]),
        ("aws_kms_key.data", ["arn"]),
        ("aws_s3_bucket.reports", ["id"]),
        ("aws_security_group.db", ["id"]),
    ]
    return p


# --------------------------------------------------------------------------
# staging-app (222222222222 / us-west-2): no drift, pending config changes
# --------------------------------------------------------------------------


def staging_app() -> Plan:
    a = Account("222222222222", "us-west-2", "staging", "storefront")
    vpc_id = rid("vpc", a.id, "staging")
    subnets = [rid("subnet", a.id, f"staging-private-{z}") for z in "ab"]
    azs = ["us-west-2a", "us-west-2b"]
    p = Plan(
        account=a,
        timestamp="2024-05-14T10:02:17Z",
        variables={
            "alb_arn_suffix": "app/staging-storefront/5d1e2f3a4b5c6d7e",
            "environment": "staging",
            "instance_type": "t3.large",
            "region": "us-west-2",
            "subnet_ids": subnets,
            "vpc_id": vpc_id,
        },
        variable_decls={
            "alb_arn_suffix": {},
            "environment": {},
            "instance_type": {"default": "t3.large"},
            "region": {"default": "us-west-2"},
            "subnet_ids": {},
            "vpc_id": {},
        },
        provider_expressions={"default_tags": [{"tags": C(a.default_tags)}], "region": R("var.region")},
    )
    ami = "ami-0c2ab3b8efb09f272"

    topic = p.add(
        Res(
            "aws_sns_topic",
            "alerts",
            prior=aws_sns_topic(a, "staging-storefront-alerts", "alias/aws/sns", {"Name": "staging-storefront-alerts"}),
        )
    )
    p.cfg(
        CfgRes(
            "aws_sns_topic",
            "alerts",
            {
                "kms_master_key_id": C("alias/aws/sns"),
                "name": C("staging-storefront-alerts"),
                "tags": C({"Name": "staging-storefront-alerts"}),
            },
        )
    )

    # Renamed in configuration with a `moved` block: no-op with previous_address.
    role = p.add(
        Res(
            "aws_iam_role",
            "app_instance",
            prior=aws_iam_role(
                a,
                "staging-storefront-app",
                "ec2.amazonaws.com",
                {"Name": "staging-storefront-app"},
                managed=["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
                created="2023-06-19T09:02:41Z",
            ),
            previous_address="aws_iam_role.app",
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role",
            "app_instance",
            {
                "assume_role_policy": C(role.prior["assume_role_policy"]),
                "name": C("staging-storefront-app"),
                "tags": C({"Name": "staging-storefront-app"}),
            },
        )
    )
    p.add(
        Res(
            "aws_iam_role_policy_attachment",
            "app_ssm",
            prior=aws_iam_role_policy_attachment(
                a, "staging-storefront-app", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
            ),
            depends_on=["aws_iam_role.app_instance"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role_policy_attachment",
            "app_ssm",
            {
                "policy_arn": C("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
                "role": R("aws_iam_role.app_instance.name"),
            },
        )
    )
    prof = p.add(
        Res(
            "aws_iam_instance_profile",
            "app",
            prior=aws_iam_instance_profile(
                a, "staging-storefront-app", "staging-storefront-app", {"Name": "staging-storefront-app"}
            ),
            depends_on=["aws_iam_role.app_instance"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_instance_profile",
            "app",
            {
                "name": C("staging-storefront-app"),
                "role": R("aws_iam_role.app_instance.name"),
                "tags": C({"Name": "staging-storefront-app"}),
            },
        )
    )

    web_sg = p.add(
        Res(
            "aws_security_group",
            "web",
            prior=aws_security_group(
                a,
                "staging-web",
                "staging-storefront-web",
                "Storefront web instances",
                vpc_id,
                [sg_rule(8443, 8443, cidr=["10.40.0.0/16"], description="App traffic from the VPC")],
                [sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])],
                {"Name": "staging-storefront-web"},
            ),
        )
    )
    p.cfg(
        CfgRes(
            "aws_security_group",
            "web",
            {
                "description": C("Storefront web instances"),
                "egress": C([sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])]),
                "ingress": C([sg_rule(8443, 8443, cidr=["10.40.0.0/16"], description="App traffic from the VPC")]),
                "name": C("staging-storefront-web"),
                "tags": C({"Name": "staging-storefront-web"}),
                "vpc_id": R("var.vpc_id"),
            },
        )
    )

    # Launch template renamed -> name forces replacement.
    lt_prior = aws_launch_template(
        a,
        "web",
        name="staging-web-lt",
        ami=ami,
        instance_type="t3.large",
        profile_arn=prof.prior["arn"],
        sg_ids=[web_sg.prior["id"]],
        tags={"Name": "staging-web-lt"},
        version=3,
    )
    lt_planned = aws_launch_template(
        a,
        "web",
        name="staging-storefront-web",
        ami=ami,
        instance_type="t3.large",
        profile_arn=prof.prior["arn"],
        sg_ids=[web_sg.prior["id"]],
        tags={"Name": "staging-storefront-web"},
        version=1,
    )
    for k in ("arn", "id", "latest_version", "default_version"):
        lt_planned[k] = UNKNOWN
    p.add(
        Res(
            "aws_launch_template",
            "web",
            prior=lt_prior,
            planned=lt_planned,
            action_reason="replace_because_cannot_update",
            replace_paths=[["name"]],
            depends_on=["aws_iam_instance_profile.app", "aws_iam_role.app_instance", "aws_security_group.web"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_launch_template",
            "web",
            {
                "block_device_mappings": [
                    {
                        "device_name": C("/dev/xvda"),
                        "ebs": [{"encrypted": C("true"), "volume_size": C(30), "volume_type": C("gp3")}],
                    }
                ],
                "iam_instance_profile": [{"arn": R("aws_iam_instance_profile.app.arn")}],
                "image_id": C(ami),
                "instance_type": R("var.instance_type"),
                "metadata_options": [
                    {"http_endpoint": C("enabled"), "http_put_response_hop_limit": C(2), "http_tokens": C("required")}
                ],
                "monitoring": [{"enabled": C(True)}],
                "name": C("staging-storefront-web"),
                "tag_specifications": [{"resource_type": C("instance"), "tags": C({"Name": "staging-storefront-web"})}],
                "tags": C({"Name": "staging-storefront-web"}),
                "update_default_version": C(True),
                "vpc_security_group_ids": R("aws_security_group.web.id"),
            },
        )
    )

    art = "acme-staging-storefront-artifacts"
    p.add(Res("aws_s3_bucket", "artifacts", prior=aws_s3_bucket(a, art, {"Name": art}, force_destroy=True)))
    p.add(
        Res(
            "aws_s3_bucket_public_access_block",
            "artifacts",
            prior=aws_s3_bucket_public_access_block(art),
            depends_on=["aws_s3_bucket.artifacts"],
        )
    )
    p.add(
        Res(
            "aws_s3_bucket_server_side_encryption_configuration",
            "artifacts",
            prior=aws_s3_bucket_sse(art, None),
            depends_on=["aws_s3_bucket.artifacts"],
        )
    )
    p.cfg(CfgRes("aws_s3_bucket", "artifacts", {"bucket": C(art), "force_destroy": C(True), "tags": C({"Name": art})}))
    p.cfg(
        CfgRes(
            "aws_s3_bucket_public_access_block",
            "artifacts",
            {
                "block_public_acls": C(True),
                "block_public_policy": C(True),
                "bucket": R("aws_s3_bucket.artifacts.id"),
                "ignore_public_acls": C(True),
                "restrict_public_buckets": C(True),
            },
        )
    )
    p.cfg(
        CfgRes(
            "aws_s3_bucket_server_side_encryption_configuration",
            "artifacts",
            {
                "bucket": R("aws_s3_bucket.artifacts.id"),
                "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": C("AES256")}]}],
            },
        )
    )

    # module.app
    m = "module.app"
    tg = p.add(
        Res(
            "aws_lb_target_group",
            "web",
            module=m,
            prior=aws_lb_target_group(a, "staging-storefront-web", vpc_id, {"Name": "staging-storefront-web"}),
        )
    )
    instances = []
    for i in range(2):
        prior = aws_instance(
            a,
            f"web-{i}",
            ami=ami,
            instance_type="t3.medium",
            subnet_id=subnets[i],
            az=azs[i],
            private_ip=f"10.40.{16 * (i + 1) + 3}.{37 + i * 54}",
            sg_ids=[web_sg.prior["id"]],
            profile="staging-storefront-app",
            tags={"Name": f"staging-storefront-web-{i}", "Role": "web"},
        )
        planned = dict(prior, instance_type="t3.large")
        instances.append(p.add(Res("aws_instance", "web", module=m, index=i, prior=prior, planned=planned)))
        p.add(
            Res(
                "aws_lb_target_group_attachment",
                "web",
                module=m,
                index=i,
                prior=aws_lb_target_group_attachment(tg.prior["arn"], prior["id"]),
                depends_on=["module.app.aws_instance.web", "module.app.aws_lb_target_group.web"],
            )
        )
    p.add(
        Res(
            "aws_cloudwatch_log_group",
            "app",
            module=m,
            prior=aws_cloudwatch_log_group(a, "/storefront/staging/web", 30, {"Name": "staging-storefront-web"}),
        )
    )
    p.cfg(
        CfgRes(
            "aws_instance",
            "web",
            {
                "ami": R("var.ami"),
                "iam_instance_profile": R("var.instance_profile"),
                "instance_type": R("var.instance_type"),
                "metadata_options": [{"http_tokens": C("required")}],
                "monitoring": C(True),
                "root_block_device": [{"encrypted": C(True), "volume_size": C(30), "volume_type": C("gp3")}],
                "subnet_id": R("var.subnet_ids", "count.index"),
                "tags": R("var.environment", "count.index"),
                "vpc_security_group_ids": R("var.security_group_ids"),
            },
            count=R("var.instance_count"),
        ),
        module=m,
    )
    p.cfg(
        CfgRes(
            "aws_lb_target_group",
            "web",
            {
                "deregistration_delay": C("30"),
                "health_check": [
                    {
                        "healthy_threshold": C(3),
                        "interval": C(15),
                        "matcher": C("200"),
                        "path": C("/healthz"),
                        "protocol": C("HTTPS"),
                        "timeout": C(5),
                        "unhealthy_threshold": C(3),
                    }
                ],
                "name": R("var.environment"),
                "port": C(8443),
                "protocol": C("HTTPS"),
                "tags": R("var.environment"),
                "vpc_id": R("var.vpc_id"),
            },
        ),
        module=m,
    )
    p.cfg(
        CfgRes(
            "aws_lb_target_group_attachment",
            "web",
            {
                "port": C(8443),
                "target_group_arn": R("aws_lb_target_group.web.arn"),
                "target_id": R("aws_instance.web", "count.index"),
            },
            count=R("var.instance_count"),
        ),
        module=m,
    )
    p.cfg(
        CfgRes(
            "aws_cloudwatch_log_group",
            "app",
            {"name": R("var.environment"), "retention_in_days": C(30), "tags": R("var.environment")},
        ),
        module=m,
    )
    p.module_calls["module.app"] = {
        "source": "./modules/app",
        "expressions": {
            "ami": C(ami),
            "environment": R("var.environment"),
            "instance_count": C(2),
            "instance_profile": R("aws_iam_instance_profile.app.name"),
            "instance_type": R("var.instance_type"),
            "security_group_ids": R("aws_security_group.web.id"),
            "subnet_ids": R("var.subnet_ids"),
            "vpc_id": R("var.vpc_id"),
        },
        "outputs": {
            "instance_ids": {"expression": R("aws_instance.web")},
            "target_group_arn_suffix": {"expression": R("aws_lb_target_group.web.arn_suffix")},
        },
        "variables": {
            "ami": {},
            "environment": {},
            "instance_count": {"default": 1},
            "instance_profile": {},
            "instance_type": {"default": "t3.medium"},
            "security_group_ids": {},
            "subnet_ids": {},
            "vpc_id": {},
        },
    }

    # New alarm: create with unknowns.
    alarm = aws_cloudwatch_metric_alarm(
        a,
        "staging-storefront-unhealthy-hosts",
        namespace="AWS/ApplicationELB",
        metric="UnHealthyHostCount",
        statistic="Maximum",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=1,
        periods=2,
        period=60,
        dimensions={"LoadBalancer": "app/staging-storefront/5d1e2f3a4b5c6d7e", "TargetGroup": tg.prior["arn_suffix"]},
        actions=[topic.prior["arn"]],
        description="At least one storefront instance failing health checks",
        tags={"Name": "staging-storefront-unhealthy-hosts"},
    )
    alarm["arn"] = UNKNOWN
    alarm["id"] = UNKNOWN
    alarm["datapoints_to_alarm"] = None
    alarm["evaluate_low_sample_count_percentiles"] = UNKNOWN
    alarm["extended_statistic"] = None
    alarm["threshold_metric_id"] = None
    alarm["unit"] = None
    alarm["insufficient_data_actions"] = None
    p.add(Res("aws_cloudwatch_metric_alarm", "web_unhealthy_hosts", prior=None, planned=alarm))
    p.cfg(
        CfgRes(
            "aws_cloudwatch_metric_alarm",
            "web_unhealthy_hosts",
            {
                "alarm_actions": R("aws_sns_topic.alerts.arn"),
                "alarm_description": C("At least one storefront instance failing health checks"),
                "alarm_name": C("staging-storefront-unhealthy-hosts"),
                "comparison_operator": C("GreaterThanOrEqualToThreshold"),
                "dimensions": R("var.alb_arn_suffix", "module.app.target_group_arn_suffix"),
                "evaluation_periods": C(2),
                "metric_name": C("UnHealthyHostCount"),
                "namespace": C("AWS/ApplicationELB"),
                "ok_actions": R("aws_sns_topic.alerts.arn"),
                "period": C(60),
                "statistic": C("Maximum"),
                "tags": C({"Name": "staging-storefront-unhealthy-hosts"}),
                "threshold": C(1),
            },
        )
    )

    ids = [r.prior["id"] for r in instances]
    p.outputs = [
        Output("instance_ids", ids, ids, R("module.app.instance_ids"), type_=["tuple", ["string", "string"]]),
        Output("launch_template_id", lt_prior["id"], UNKNOWN, R("aws_launch_template.web.id"), type_="string"),
        Output(
            "alerts_topic_arn", topic.prior["arn"], topic.prior["arn"], R("aws_sns_topic.alerts.arn"), type_="string"
        ),
    ]
    p.relevant = [
        ("aws_iam_instance_profile.app", ["arn"]),
        ("aws_security_group.web", ["id"]),
        ("aws_sns_topic.alerts", ["arn"]),
        ("module.app.aws_lb_target_group.web", ["arn_suffix"]),
    ]
    return p


# --------------------------------------------------------------------------
# dev-sandbox (333333333333 / us-west-2): clean
# --------------------------------------------------------------------------


def dev_sandbox() -> Plan:
    a = Account("333333333333", "us-west-2", "dev", "sandbox")
    vpc_id = rid("vpc", a.id, "dev-default")
    subnet = rid("subnet", a.id, "dev-a")
    p = Plan(
        account=a,
        timestamp="2024-05-14T10:20:55Z",
        variables={"environment": "dev", "owner": "platform-team", "region": "us-west-2"},
        variable_decls={
            "environment": {"default": "dev"},
            "owner": {"default": "platform-team"},
            "region": {"default": "us-west-2"},
        },
        provider_expressions={"default_tags": [{"tags": C(a.default_tags)}], "region": R("var.region")},
    )
    kms = p.add(
        Res(
            "aws_kms_key",
            "sandbox",
            prior=aws_kms_key(a, "sandbox", "dev sandbox scratch data", {"Name": "dev-sandbox"}),
        )
    )
    p.cfg(
        CfgRes(
            "aws_kms_key",
            "sandbox",
            {
                "description": C("dev sandbox scratch data"),
                "enable_key_rotation": C(True),
                "tags": C({"Name": "dev-sandbox"}),
            },
        )
    )
    b = "acme-dev-sandbox-scratch"
    p.add(
        Res(
            "aws_s3_bucket",
            "scratch",
            prior=aws_s3_bucket(a, b, {"Name": b, "Owner": "platform-team"}, force_destroy=True),
        )
    )
    p.add(
        Res(
            "aws_s3_bucket_public_access_block",
            "scratch",
            prior=aws_s3_bucket_public_access_block(b),
            depends_on=["aws_s3_bucket.scratch"],
        )
    )
    p.cfg(CfgRes("aws_s3_bucket", "scratch", {"bucket": C(b), "force_destroy": C(True), "tags": R("var.owner")}))
    p.cfg(
        CfgRes(
            "aws_s3_bucket_public_access_block",
            "scratch",
            {
                "block_public_acls": C(True),
                "block_public_policy": C(True),
                "bucket": R("aws_s3_bucket.scratch.id"),
                "ignore_public_acls": C(True),
                "restrict_public_buckets": C(True),
            },
        )
    )
    role = p.add(
        Res(
            "aws_iam_role",
            "ci",
            prior=aws_iam_role(
                a,
                "dev-sandbox-ci",
                "codebuild.amazonaws.com",
                {"Name": "dev-sandbox-ci"},
                managed=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            ),
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role",
            "ci",
            {
                "assume_role_policy": C(role.prior["assume_role_policy"]),
                "name": C("dev-sandbox-ci"),
                "tags": C({"Name": "dev-sandbox-ci"}),
            },
        )
    )
    p.add(
        Res(
            "aws_iam_role_policy_attachment",
            "ci_readonly",
            prior=aws_iam_role_policy_attachment(a, "dev-sandbox-ci", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
            depends_on=["aws_iam_role.ci"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_iam_role_policy_attachment",
            "ci_readonly",
            {"policy_arn": C("arn:aws:iam::aws:policy/ReadOnlyAccess"), "role": R("aws_iam_role.ci.name")},
        )
    )
    p.add(Res("aws_sqs_queue", "jobs", prior=aws_sqs_queue(a, "dev-sandbox-jobs", {"Name": "dev-sandbox-jobs"})))
    p.cfg(
        CfgRes(
            "aws_sqs_queue",
            "jobs",
            {
                "name": C("dev-sandbox-jobs"),
                "receive_wait_time_seconds": C(20),
                "tags": C({"Name": "dev-sandbox-jobs"}),
                "visibility_timeout_seconds": C(60),
            },
        )
    )
    p.add(
        Res(
            "aws_dynamodb_table",
            "experiments",
            prior=aws_dynamodb_table(
                a,
                "dev-experiments",
                "experiment_id",
                "run_at",
                [("experiment_id", "S"), ("run_at", "N")],
                kms.prior["arn"],
                {"Name": "dev-experiments"},
            ),
            depends_on=["aws_kms_key.sandbox"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_dynamodb_table",
            "experiments",
            {
                "attribute": [{"name": C("experiment_id"), "type": C("S")}, {"name": C("run_at"), "type": C("N")}],
                "billing_mode": C("PAY_PER_REQUEST"),
                "hash_key": C("experiment_id"),
                "name": C("dev-experiments"),
                "range_key": C("run_at"),
                "server_side_encryption": [{"enabled": C(True), "kms_key_arn": R("aws_kms_key.sandbox.arn")}],
                "tags": C({"Name": "dev-experiments"}),
            },
        )
    )
    sg = p.add(
        Res(
            "aws_security_group",
            "dev_box",
            prior=aws_security_group(
                a,
                "dev-box",
                "dev-box",
                "Developer box, reachable over SSM only",
                vpc_id,
                [],
                [sg_rule(443, 443, cidr=["0.0.0.0/0"], description="HTTPS out (SSM, package mirrors)")],
                {"Name": "dev-box"},
            ),
        )
    )
    p.cfg(
        CfgRes(
            "aws_security_group",
            "dev_box",
            {
                "description": C("Developer box, reachable over SSM only"),
                "egress": C([sg_rule(443, 443, cidr=["0.0.0.0/0"], description="HTTPS out (SSM, package mirrors)")]),
                "name": C("dev-box"),
                "tags": C({"Name": "dev-box"}),
                "vpc_id": C(vpc_id),
            },
        )
    )
    p.add(
        Res(
            "aws_instance",
            "dev_box",
            prior=aws_instance(
                a,
                "dev-box",
                ami="ami-0a70b9d193ae8a799",
                instance_type="t3.small",
                subnet_id=subnet,
                az="us-west-2a",
                private_ip="172.31.20.14",
                sg_ids=[sg.prior["id"]],
                profile="",
                tags={"Name": "dev-box"},
                volume_size=40,
            ),
            depends_on=["aws_security_group.dev_box"],
        )
    )
    p.cfg(
        CfgRes(
            "aws_instance",
            "dev_box",
            {
                "ami": C("ami-0a70b9d193ae8a799"),
                "instance_type": C("t3.small"),
                "metadata_options": [{"http_tokens": C("required")}],
                "monitoring": C(True),
                "root_block_device": [{"encrypted": C(True), "volume_size": C(40), "volume_type": C("gp3")}],
                "subnet_id": C(subnet),
                "tags": C({"Name": "dev-box"}),
                "vpc_security_group_ids": R("aws_security_group.dev_box.id"),
            },
        )
    )
    lg = "/sandbox/dev/app"
    p.add(Res("aws_cloudwatch_log_group", "app", prior=aws_cloudwatch_log_group(a, lg, 7, {"Name": "dev-sandbox"})))
    p.cfg(
        CfgRes(
            "aws_cloudwatch_log_group",
            "app",
            {"name": C(lg), "retention_in_days": C(7), "tags": C({"Name": "dev-sandbox"})},
        )
    )
    p.outputs = [
        Output("scratch_bucket", b, b, R("aws_s3_bucket.scratch.bucket"), type_="string"),
        Output(
            "jobs_queue_url",
            f"https://sqs.us-west-2.amazonaws.com/{a.id}/dev-sandbox-jobs",
            f"https://sqs.us-west-2.amazonaws.com/{a.id}/dev-sandbox-jobs",
            R("aws_sqs_queue.jobs.url"),
            type_="string",
        ),
    ]
    return p


# --------------------------------------------------------------------------
# `terraform plan -json` stream
# --------------------------------------------------------------------------


def _resource_addr(r: Res, address: str | None = None) -> dict:
    if address is None:
        module, local, key, name, rtype = r.module or "", r.local_address, r.index, r.name, r.type
        addr = r.address
    else:  # a previous address string (root module, possibly indexed)
        addr = address
        module = ""
        local = address
        rtype, rest = address.split(".", 1)
        name = rest.split("[", 1)[0]
        key = None
    return {
        "addr": addr,
        "module": module,
        "resource": local,
        "implied_provider": "aws",
        "resource_type": rtype,
        "resource_name": name,
        "resource_key": key,
    }


def plan_stream(p: Plan, start: datetime) -> list[dict]:
    """Messages in the order Terraform 1.5's JSON view writes them."""
    t = start
    step = [0]

    def ts(delta_us: int) -> str:
        nonlocal t
        t = t + timedelta(microseconds=delta_us)
        step[0] += 1
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def msg(message: str, delta_us: int, **fields) -> dict:
        d = {"@level": "info", "@message": message, "@module": "terraform.ui", "@timestamp": ts(delta_us)}
        for k in sorted(fields):
            d[k] = fields[k]
        return d

    def refresh_complete(r: Res, delta_us: int) -> dict:
        # PostRefresh reports the id of the *new* state: nothing when the object is gone.
        hook = {"resource": _resource_addr(r)}
        suffix = ""
        if r.refreshed is not None:
            hook["id_key"] = r.id_key
            hook["id_value"] = r.refreshed[r.id_key]
            suffix = f" [{r.id_key}={r.refreshed[r.id_key]}]"
        return msg(f"{r.address}: Refresh complete{suffix}", delta_us, hook=hook, type="refresh_complete")

    out = [msg(f"Terraform {TF_VERSION}", 0, terraform=TF_VERSION, type="version", ui="1.1")]
    # Refresh every instance that exists in state, in dependency-ish order. Terraform walks the graph
    # concurrently (-parallelism=10 by default), so starts and completions interleave.
    existing = [r for r in p.resources if r.prior is not None]
    existing.sort(key=lambda r: (len(r.depends_on), r.address))
    delay = 187_311
    pending: list[Res] = []
    for r in existing:
        idv = r.prior[r.id_key]
        hook = {"resource": _resource_addr(r), "id_key": r.id_key, "id_value": idv}
        out.append(msg(f"{r.address}: Refreshing state... [{r.id_key}={idv}]", delay, hook=hook, type="refresh_start"))
        delay = 1_412
        pending.append(r)
        if len(pending) == 10:
            out.append(refresh_complete(pending.pop(0), 21_000 + (len(out) * 7_919) % 43_000))
    for done in pending:
        out.append(refresh_complete(done, 9_000 + (len(out) * 7_919) % 23_000))

    for r in sorted(p.resources, key=lambda r: r.sort_key):
        if r.drifted:
            action = "delete" if r.refreshed is None else "update"
            ch = {"resource": _resource_addr(r)}
            if r.previous_address:
                ch["previous_resource"] = _resource_addr(r, r.previous_address)
            ch["action"] = action
            out.append(msg(f"{r.address}: Drift detected ({action})", 2_101, change=ch, type="resource_drift"))

    add = change = remove = 0
    first = True
    for r in sorted(p.resources, key=lambda r: r.sort_key):
        acts = r.actions
        if acts == ["create"]:
            add += 1
            action = "create"
        elif acts == ["delete"]:
            remove += 1
            action = "delete"
        elif acts == ["update"]:
            change += 1
            action = "update"
        elif acts in (["delete", "create"], ["create", "delete"]):
            add += 1
            remove += 1
            action = "replace"
        else:
            action = "move" if r.previous_address else None
        if action is None:
            continue
        ch = {"resource": _resource_addr(r)}
        if r.previous_address:
            ch["previous_resource"] = _resource_addr(r, r.previous_address)
        ch["action"] = action
        if action == "replace" and r.action_reason == "replace_because_cannot_update":
            ch["reason"] = "cannot_update"
        verb = {"create": "create", "update": "update", "delete": "delete", "replace": "replace", "move": "move"}[
            action
        ]
        out.append(msg(f"{r.address}: Plan to {verb}", 48_219 if first else 57, change=ch, type="planned_change"))
        first = False
    out.append(
        msg(
            f"Plan: {add} to add, {change} to change, {remove} to destroy.",
            36,
            changes={"add": add, "change": change, "import": 0, "remove": remove, "operation": "plan"},
            type="change_summary",
        )
    )
    if p.outputs:
        outs = {}
        for o in sorted(p.outputs, key=lambda o: o.name):
            act = {"no-op": "noop", "create": "create", "update": "update"}[o.actions[0]]
            outs[o.name] = {"sensitive": o.sensitive, "action": act}
        out.append(msg(f"Outputs: {len(outs)}", 14, outputs=outs, type="outputs"))
    return out


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def render() -> dict[str, str]:
    files = {
        "prod-network.json": dumps_go(prod_network().build()) + "\n",
        "prod-network.refresh-only.json": dumps_go(prod_network(refresh_only=True).build()) + "\n",
        "prod-data.json": dumps_go(prod_data().build()) + "\n",
        "staging-app.json": dumps_go(staging_app().build()) + "\n",
        "dev-sandbox.json": dumps_go(dev_sandbox().build()) + "\n",
    }
    start = datetime(2024, 5, 14, 10, 2, 9, 481_503, tzinfo=UTC)
    lines = plan_stream(staging_app(), start)
    files["staging-app.plan.jsonl"] = "".join(dumps_go(m, indent=None) + "\n" for m in lines)
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify the committed files are up to date")
    ap.add_argument("--out", default=PLANS, help="output directory (default: examples/plans)")
    args = ap.parse_args(argv)
    files = render()
    if args.check:
        stale = []
        for name, text in files.items():
            path = os.path.join(args.out, name)
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        for name in stale:
            print(f"stale: {os.path.join(args.out, name)}", file=sys.stderr)
        return 1 if stale else 0
    os.makedirs(args.out, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(args.out, name), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(os.path.join(args.out, name))} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
