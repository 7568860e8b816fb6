#!/usr/bin/env python3
"""Generate a large synthetic `terraform show -json` plan for benchmarks.

    python3 benches/gen_plan.py N OUT.json [--stream OUT.jsonl] [--seed 42] [--drift 0.10]

Writes a plan with N managed hashicorp/aws v5 resource instances in Terraform
1.5.7's exact show-json shape (compact, one line, as Terraform prints it), and
with --stream the matching `terraform plan -json` JSON-lines stream.

Deterministic: the same N, seed and drift ratio give byte-identical files.
Python 3.11, standard library only. The attribute sets, value transforms
(after_unknown, *_sensitive, omitted unknowns, ordering) and document assembly
are shared with examples/generate.py, which is imported from ../examples.

Content:
* a mix of aws_instance, aws_security_group, aws_s3_bucket (+ its
  public_access_block, server_side_encryption_configuration and versioning
  resources), aws_db_instance (password sensitive), aws_iam_role (+
  policy attachments), aws_subnet (+ route table associations),
  aws_dynamodb_table, aws_kms_key (+ alias), aws_vpc and
  aws_cloudwatch_log_group, with tags/tags_all from provider default_tags and
  their nested blocks -- big resources and the small glue resources real fleets
  are full of, about 4.5 KB of compact JSON per resource overall (the mix
  would need far more glue resources to get lower; big AWS resources alone run
  5-10 KB each);
* roughly 60% in the root module, 30% in module.svc_NN, 10% in
  module.svc_NN.module.storage; some blocks use count (integer index) or
  for_each (string index);
* about --drift of them drifted (resource_drift): roughly half attribute
  updates (1-3 attributes), a quarter tag-only updates (tags and tags_all), a
  fifth deleted outside Terraform (glue resources such as policy attachments
  only ever drift by disappearing); resource_changes revert each drift (update,
  or create with unknowns for deleted ones) and are no-op for every clean
  resource;
* planned_values, prior_state (with depends_on), configuration (expressions,
  module_calls), output_changes, relevant_attributes, like a real plan.
  Expressions and depends_on point at a few shared names (aws_s3_bucket.this,
  var.vpc_id, ...) that are not themselves resolved.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
from datetime import UTC, datetime

sys.dont_write_bytecode = True  # keep examples/ free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "examples"))
import generate as tf

UNKNOWN = tf.UNKNOWN
C, R = tf.C, tf.R

TEAMS = ["payments", "search", "identity", "platform", "data", "growth", "mobile-api", "risk"]
AMIS = ["ami-0c2ab3b8efb09f272", "ami-0a70b9d193ae8a799", "ami-05c13eab67c5d8861", "ami-0fc5d935ebf8bc3bc"]
INSTANCE_TYPES = ["t3.medium", "t3.large", "m6i.large", "m6i.xlarge", "c6i.xlarge", "r6i.large"]
DB_CLASSES = ["db.t4g.medium", "db.r6g.large", "db.r6g.xlarge", "db.m6g.large"]
AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]
POLICIES = [
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess",
]
# Glue resources whose realistic drift is disappearing (detached / re-associated
# by hand); they are never drifted in place.
DELETE_ONLY = {"aws_iam_role_policy_attachment", "aws_route_table_association"}

WEIGHTS = [
    ("aws_instance", 4),
    ("aws_security_group", 6),
    ("aws_s3_bucket", 5),
    ("aws_s3_bucket_public_access_block", 7),
    ("aws_s3_bucket_server_side_encryption_configuration", 6),
    ("aws_s3_bucket_versioning", 5),
    ("aws_db_instance", 1.5),
    ("aws_iam_role", 8),
    ("aws_iam_role_policy_attachment", 15),
    ("aws_subnet", 5),
    ("aws_route_table_association", 9),
    ("aws_dynamodb_table", 3),
    ("aws_kms_key", 3),
    ("aws_kms_alias", 3),
    ("aws_vpc", 1),
    ("aws_cloudwatch_log_group", 11),
]

# Attributes that are "(known after apply)" when a resource deleted outside
# Terraform is planned to be created again.
COMPUTED = {
    "aws_instance": [
        "arn",
        "id",
        "instance_state",
        "primary_network_interface_id",
        "private_dns",
        "private_ip",
        "public_dns",
        "public_ip",
        "cpu_core_count",
        "cpu_threads_per_core",
        "host_id",
        "ipv6_address_count",
        "ipv6_addresses",
        "network_interface",
        "outpost_arn",
        "password_data",
        "placement_group",
        "placement_partition_number",
        "secondary_private_ips",
        "security_groups",
        "spot_instance_request_id",
        "instance_lifecycle",
        "tenancy",
        "availability_zone",
    ],
    "aws_security_group": ["arn", "id", "owner_id"],
    "aws_s3_bucket": [
        "arn",
        "id",
        "bucket_domain_name",
        "bucket_regional_domain_name",
        "hosted_zone_id",
        "region",
        "acceleration_status",
        "request_payer",
        "grant",
        "policy",
        "cors_rule",
        "lifecycle_rule",
        "logging",
        "object_lock_configuration",
        "replication_configuration",
        "server_side_encryption_configuration",
        "versioning",
        "website",
        "website_domain",
        "website_endpoint",
        "object_lock_enabled",
    ],
    "aws_s3_bucket_public_access_block": ["id"],
    "aws_s3_bucket_server_side_encryption_configuration": ["id"],
    "aws_s3_bucket_versioning": ["id"],
    "aws_iam_role_policy_attachment": ["id"],
    "aws_route_table_association": ["id", "gateway_id"],
    "aws_kms_alias": ["arn", "id", "target_key_arn"],
    "aws_db_instance": [
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
    ],
    "aws_iam_role": ["arn", "create_date", "id", "unique_id", "inline_policy", "managed_policy_arns"],
    "aws_subnet": ["arn", "id", "owner_id", "availability_zone_id", "ipv6_cidr_block_association_id"],
    "aws_dynamodb_table": ["arn", "id", "stream_arn", "stream_label"],
    "aws_kms_key": ["arn", "id", "key_id", "policy"],
    "aws_vpc": [
        "arn",
        "id",
        "default_network_acl_id",
        "default_route_table_id",
        "default_security_group_id",
        "dhcp_options_id",
        "ipv6_association_id",
        "main_route_table_id",
        "owner_id",
    ],
    "aws_cloudwatch_log_group": ["arn", "id"],
}


class Gen:
    def __init__(self, n: int, seed: int, drift_ratio: float):
        self.n = n
        self.rng = random.Random(seed)
        self.drift_ratio = drift_ratio
        self.a = tf.Account("444444444444", "us-east-1", "prod", "bench-fleet")
        self.vpcs = [tf.rid("vpc", "bench", str(i)) for i in range(4)]
        self.subnets = [tf.rid("subnet", "bench", str(i)) for i in range(12)]
        self.sgs = [tf.rid("sg", "bench", str(i)) for i in range(24)]
        self.kms = [self.a.arn("kms", f"key/{tf.uuid_like('bench', str(i))}") for i in range(6)]
        self.password = "bench-only-" + tf.hexid(16, "bench-password")
        self.plan = tf.Plan(
            account=self.a,
            timestamp="2024-05-14T11:00:00Z",
            variables={
                "db_password": self.password,
                "environment": "prod",
                "region": "us-east-1",
                "vpc_id": self.vpcs[0],
            },
            variable_decls={
                "db_password": {"sensitive": True},
                "environment": {},
                "region": {"default": "us-east-1"},
                "vpc_id": {},
            },
            provider_expressions={"default_tags": [{"tags": C(self.a.default_tags)}], "region": R("var.region")},
        )
        self.counts = {"drift_update": 0, "drift_tags": 0, "drift_delete": 0}
        # Glue resources (DELETE_ONLY) drift less often; the others a bit more, so
        # that the overall share stays at drift_ratio and most drift is in place.
        total = sum(w for _, w in WEIGHTS)
        w_glue = sum(w for t, w in WEIGHTS if t in DELETE_ONLY) / total
        glue = 0.3 * drift_ratio
        other = min(1.0, (drift_ratio - glue * w_glue) / (1 - w_glue))
        self.p_drift = {t: glue if t in DELETE_ONLY else other for t, _ in WEIGHTS}

    # -- values -----------------------------------------------------------

    def tags(self, name: str, team: str) -> dict:
        t = {"Name": name, "Team": team}
        if self.rng.random() < 0.4:
            t["CostCenter"] = f"cc-{self.rng.randrange(1000, 9999)}"
        if self.rng.random() < 0.2:
            t["DataClassification"] = self.rng.choice(["internal", "confidential", "public"])
        return t

    def values(self, rtype: str, key: str, team: str):
        rng, a = self.rng, self.a
        tags = self.tags(key, team)
        if rtype == "aws_instance":
            i = rng.randrange(len(AZS))
            return tf.aws_instance(
                a,
                key,
                ami=rng.choice(AMIS),
                instance_type=rng.choice(INSTANCE_TYPES),
                subnet_id=self.subnets[i],
                az=AZS[i],
                private_ip=f"10.{rng.randrange(16, 64)}.{rng.randrange(256)}.{rng.randrange(4, 250)}",
                sg_ids=rng.sample(self.sgs, rng.randint(1, 3)),
                profile=f"{team}-instance",
                tags=tags,
                volume_size=rng.choice([20, 30, 50, 100, 200]),
                user_data_seed=key,
            )
        if rtype == "aws_security_group":
            ingress = []
            for _ in range(rng.randint(1, 4)):
                port = rng.choice([443, 8080, 8443, 5432, 6379, 9090, 3000])
                if rng.random() < 0.5:
                    ingress.append(
                        tf.sg_rule(
                            port, port, cidr=[f"10.{rng.randrange(16, 64)}.0.0/16"], description=f"{team} traffic"
                        )
                    )
                else:
                    ingress.append(tf.sg_rule(port, port, sgs=rng.sample(self.sgs, 1), description="from peers"))
            egress = [tf.sg_rule(0, 0, "-1", cidr=["0.0.0.0/0"])]
            return tf.aws_security_group(a, key, key, f"{team} {key}", rng.choice(self.vpcs), ingress, egress, tags)
        if rtype == "aws_s3_bucket":
            return tf.aws_s3_bucket(
                a,
                f"acme-{key}",
                tags,
                versioning=rng.random() < 0.6,
                kms_key_arn=rng.choice(self.kms) if rng.random() < 0.5 else None,
            )
        if rtype == "aws_s3_bucket_public_access_block":
            return tf.aws_s3_bucket_public_access_block(f"acme-{key}")
        if rtype == "aws_s3_bucket_server_side_encryption_configuration":
            return tf.aws_s3_bucket_sse(f"acme-{key}", rng.choice(self.kms) if rng.random() < 0.6 else None)
        if rtype == "aws_s3_bucket_versioning":
            return tf.aws_s3_bucket_versioning(f"acme-{key}")
        if rtype == "aws_iam_role_policy_attachment":
            return tf.aws_iam_role_policy_attachment(a, f"{team}-{key}", rng.choice(POLICIES))
        if rtype == "aws_route_table_association":
            return tf.aws_route_table_association(
                a, key, tf.rid("rtb", "bench", str(rng.randrange(8))), rng.choice(self.subnets)
            )
        if rtype == "aws_kms_alias":
            i = rng.randrange(len(self.kms))
            return tf.aws_kms_alias(a, f"alias/{key}", self.kms[i], self.kms[i].rsplit("/", 1)[1])
        if rtype == "aws_db_instance":
            managed = rng.random() < 0.5
            return tf.aws_db_instance(
                a,
                key,
                instance_class=rng.choice(DB_CLASSES),
                db_name=team.replace("-", "_"),
                username=f"{team.replace('-', '_')}_admin",
                password=None if managed else self.password,
                allocated_storage=rng.choice([100, 200, 500]),
                max_allocated_storage=rng.choice([1000, 2000]),
                kms_key_arn=rng.choice(self.kms),
                subnet_group=f"{team}-db",
                parameter_group="default.postgres15",
                sg_ids=rng.sample(self.sgs, 1),
                monitoring_role_arn=f"arn:aws:iam::{a.id}:role/rds-monitoring",
                az=rng.choice(AZS),
                tags=tags,
                multi_az=rng.random() < 0.5,
                manage_master_user_password=True if managed else None,
                created_seed=key,
            )
        if rtype == "aws_iam_role":
            svc = rng.choice(["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com"])
            managed = rng.sample(
                [
                    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                    "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
                    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                ],
                rng.randint(0, 2),
            )
            return tf.aws_iam_role(a, key, svc, tags, description=f"{team} workload role", managed=managed)
        if rtype == "aws_subnet":
            i = rng.randrange(len(AZS))
            return tf.aws_subnet(
                a,
                key,
                rng.choice(self.vpcs),
                f"10.{rng.randrange(16, 64)}.{rng.randrange(256)}.0/24",
                AZS[i],
                rng.random() < 0.3,
                tags,
            )
        if rtype == "aws_dynamodb_table":
            rk = "sk" if rng.random() < 0.5 else None
            attrs = [("pk", "S")] + ([("sk", "S")] if rk else [])
            return tf.aws_dynamodb_table(
                a,
                key,
                "pk",
                rk,
                attrs,
                rng.choice(self.kms),
                tags,
                ttl_attr="expires_at" if rng.random() < 0.5 else None,
            )
        if rtype == "aws_kms_key":
            return tf.aws_kms_key(a, key, f"{team} {key}", tags)
        if rtype == "aws_vpc":
            return tf.aws_vpc(a, key, f"10.{rng.randrange(16, 64)}.0.0/16", tags)
        if rtype == "aws_cloudwatch_log_group":
            return tf.aws_cloudwatch_log_group(
                a,
                f"/{team}/{key}",
                rng.choice([7, 14, 30, 90, 365]),
                tags,
                kms_key_id=rng.choice(self.kms) if rng.random() < 0.3 else "",
            )
        raise ValueError(rtype)

    # -- drift ------------------------------------------------------------

    def drift_update(self, rtype: str, v: dict) -> None:
        rng = self.rng
        menu = {
            "aws_instance": [
                lambda: v.update(instance_type=rng.choice([t for t in INSTANCE_TYPES if t != v["instance_type"]])),
                lambda: v.update(monitoring=False),
                lambda: v.update(disable_api_termination=True),
                lambda: v.update(vpc_security_group_ids=sorted(set(v["vpc_security_group_ids"]) | {self.sgs[0]})),
                lambda: v["metadata_options"][0].update(http_tokens="optional"),
                lambda: v.update(source_dest_check=False),
            ],
            "aws_security_group": [
                lambda: v["ingress"].append(tf.sg_rule(p := rng.choice([22, 3389, 5432]), p, cidr=["0.0.0.0/0"])),
                lambda: v["ingress"][0].update(cidr_blocks=v["ingress"][0]["cidr_blocks"] + ["203.0.113.0/24"]),
                lambda: v["ingress"][0].update(description="temporary debug access"),
                lambda: v["egress"][0].update(cidr_blocks=["10.0.0.0/8"]),
            ],
            "aws_s3_bucket": [
                lambda: v["versioning"][0].update(enabled=not v["versioning"][0]["enabled"]),
                lambda: v["server_side_encryption_configuration"][0]["rule"][0][
                    "apply_server_side_encryption_by_default"
                ][0].update(kms_master_key_id="", sse_algorithm="AES256"),
                lambda: v.update(
                    policy=tf.policy(
                        {
                            "Statement": [
                                {
                                    "Action": "s3:GetObject",
                                    "Effect": "Allow",
                                    "Principal": "*",
                                    "Resource": f"{v['arn']}/*",
                                }
                            ],
                            "Version": "2012-10-17",
                        }
                    )
                ),
            ],
            "aws_s3_bucket_server_side_encryption_configuration": [
                lambda: v["rule"][0]["apply_server_side_encryption_by_default"][0].update(
                    kms_master_key_id="", sse_algorithm="AES256"
                ),
                lambda: v["rule"][0].update(bucket_key_enabled=not v["rule"][0]["bucket_key_enabled"]),
            ],
            "aws_s3_bucket_versioning": [
                lambda: v["versioning_configuration"][0].update(status="Suspended"),
            ],
            "aws_kms_alias": [
                lambda: v.update(target_key_arn=self.kms[0], target_key_id=self.kms[0].rsplit("/", 1)[1]),
            ],
            "aws_s3_bucket_public_access_block": [
                lambda: v.update(block_public_acls=False),
                lambda: v.update(block_public_policy=False),
                lambda: v.update(ignore_public_acls=False),
                lambda: v.update(restrict_public_buckets=False),
            ],
            "aws_db_instance": [
                lambda: v.update(instance_class=rng.choice([c for c in DB_CLASSES if c != v["instance_class"]])),
                lambda: v.update(publicly_accessible=True),
                lambda: v.update(deletion_protection=False),
                lambda: v.update(backup_retention_period=1),
                lambda: v.update(allocated_storage=v["allocated_storage"] + 100),
                lambda: v.update(multi_az=not v["multi_az"]),
            ],
            "aws_iam_role": [
                lambda: v.update(
                    managed_policy_arns=sorted(
                        v["managed_policy_arns"] + ["arn:aws:iam::aws:policy/AdministratorAccess"]
                    )
                ),
                lambda: v.update(max_session_duration=43200),
                lambda: v.update(description="edited in console"),
            ],
            "aws_subnet": [
                lambda: v.update(map_public_ip_on_launch=not v["map_public_ip_on_launch"]),
                lambda: v.update(enable_resource_name_dns_a_record_on_launch=True),
            ],
            "aws_dynamodb_table": [
                lambda: v["point_in_time_recovery"][0].update(enabled=False),
                lambda: v.update(deletion_protection_enabled=False),
                lambda: v.update(stream_enabled=True, stream_view_type="NEW_AND_OLD_IMAGES"),
            ],
            "aws_kms_key": [
                lambda: v.update(enable_key_rotation=False),
                lambda: v.update(description=v["description"] + " (rotated manually)"),
                lambda: v.update(is_enabled=False),
            ],
            "aws_vpc": [
                lambda: v.update(enable_dns_hostnames=False),
                lambda: v.update(enable_network_address_usage_metrics=True),
            ],
            "aws_cloudwatch_log_group": [
                lambda: v.update(retention_in_days=rng.choice([1, 3, 3653])),
                lambda: v.update(kms_key_id=""),
            ],
        }[rtype]
        for f in rng.sample(menu, min(len(menu), rng.randint(1, 3))):
            f()

    def drift_tags(self, v: dict) -> None:
        rng = self.rng
        tags = v["tags"]
        roll = rng.random()
        if roll < 0.4:
            tags["Owner"] = rng.choice(["jsmith", "a.nguyen", "ops-oncall"])
        elif roll < 0.7 and len(tags) > 1:
            del tags[rng.choice(sorted(k for k in tags if k != "Name"))]
        else:
            tags["Team"] = rng.choice([t for t in TEAMS if t != tags.get("Team")])
        v["tags_all"] = {**self.a.default_tags, **tags}

    # -- configuration ----------------------------------------------------

    def expressions(self, rtype: str, v: dict) -> dict:
        e = {"tags": R("local.common_tags", "var.environment")} if "tags" in v else {}
        simple = {
            "aws_instance": ["ami", "instance_type", "monitoring", "ebs_optimized"],
            "aws_security_group": ["name", "description", "egress"],
            "aws_s3_bucket": ["bucket", "force_destroy"],
            "aws_s3_bucket_public_access_block": [
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            ],
            "aws_s3_bucket_server_side_encryption_configuration": [],
            "aws_s3_bucket_versioning": [],
            "aws_iam_role_policy_attachment": ["policy_arn"],
            "aws_route_table_association": [],
            "aws_kms_alias": ["name"],
            "aws_db_instance": [
                "identifier",
                "engine",
                "engine_version",
                "instance_class",
                "allocated_storage",
                "storage_encrypted",
                "deletion_protection",
                "publicly_accessible",
                "backup_retention_period",
                "multi_az",
            ],
            "aws_iam_role": ["name", "assume_role_policy", "description", "max_session_duration"],
            "aws_subnet": ["cidr_block", "availability_zone", "map_public_ip_on_launch"],
            "aws_dynamodb_table": ["name", "hash_key", "billing_mode", "deletion_protection_enabled"],
            "aws_kms_key": ["description", "enable_key_rotation", "deletion_window_in_days"],
            "aws_vpc": ["cidr_block", "enable_dns_hostnames", "enable_dns_support"],
            "aws_cloudwatch_log_group": ["name", "retention_in_days"],
        }[rtype]
        for k in simple:
            e[k] = C(v[k])
        if rtype == "aws_instance":
            e["subnet_id"] = R("var.subnet_ids", "count.index")
            e["vpc_security_group_ids"] = R("aws_security_group.shared.id")
            e["root_block_device"] = [
                {
                    "encrypted": C(True),
                    "volume_size": C(v["root_block_device"][0]["volume_size"]),
                    "volume_type": C("gp3"),
                }
            ]
            e["metadata_options"] = [{"http_tokens": C("required")}]
        elif rtype in ("aws_security_group", "aws_subnet"):
            e["vpc_id"] = R("var.vpc_id")
        elif rtype == "aws_db_instance":
            e["kms_key_id"] = R("aws_kms_key.db.arn")
            if v["password"] is not None:
                e["password"] = R("var.db_password")
            else:
                e["manage_master_user_password"] = C(True)
        elif rtype in ("aws_s3_bucket_public_access_block", "aws_s3_bucket_versioning"):
            e["bucket"] = R("aws_s3_bucket.this.id")
            if rtype == "aws_s3_bucket_versioning":
                e["versioning_configuration"] = [{"status": C("Enabled")}]
        elif rtype == "aws_s3_bucket_server_side_encryption_configuration":
            algo = v["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"]
            e["bucket"] = R("aws_s3_bucket.this.id")
            e["rule"] = [
                {
                    "apply_server_side_encryption_by_default": [
                        {"kms_master_key_id": R("aws_kms_key.this.arn"), "sse_algorithm": C(algo)}
                        if algo == "aws:kms"
                        else {"sse_algorithm": C(algo)}
                    ]
                }
            ]
        elif rtype == "aws_iam_role_policy_attachment":
            e["role"] = R("aws_iam_role.this.name")
        elif rtype == "aws_route_table_association":
            e["route_table_id"] = R("aws_route_table.private.id")
            e["subnet_id"] = R("aws_subnet.this.id")
        elif rtype == "aws_kms_alias":
            e["target_key_id"] = R("aws_kms_key.this.key_id")
        return e

    # -- assembly -----------------------------------------------------------

    def build(self) -> tf.Plan:
        rng, p = self.rng, self.plan
        n_modules = max(1, self.n // 60)
        types = [t for t, _ in WEIGHTS]
        weights = [w for _, w in WEIGHTS]
        made = 0
        block = 0
        while made < self.n:
            rtype = rng.choices(types, weights)[0]
            roll = rng.random()
            if roll < 0.6:
                module = None
            else:
                svc = f"module.svc_{rng.randrange(n_modules):02d}"
                module = svc if roll < 0.9 else f"{svc}.module.storage"
            team = rng.choice(TEAMS)
            short = rtype[4:].replace("_", "-")
            name = f"{short.replace('-', '_')}_{block:05d}"
            block += 1
            shape = rng.random()
            if shape < 0.8:
                indexes = [None]
            elif shape < 0.95:
                indexes = list(range(rng.randint(2, 4)))
            else:
                indexes = rng.sample(
                    ["blue", "green", "canary", "east", "west", "primary", "replica"], rng.randint(2, 3)
                )
            indexes = indexes[: self.n - made]
            first_values = None
            for idx in indexes:
                key = f"{team}-{short}-{block:05d}" + ("" if idx is None else f"-{idx}")
                prior = self.values(rtype, key, team)
                first_values = first_values or prior
                refreshed = prior
                planned = prior
                if rng.random() < self.p_drift[rtype]:
                    kind = rng.random()
                    if kind < 0.15 or rtype in DELETE_ONLY:
                        self.counts["drift_delete"] += 1
                        refreshed = None
                        planned = copy.deepcopy(prior)
                        for k in COMPUTED[rtype]:
                            planned[k] = UNKNOWN
                    elif kind < 0.5 and "tags" in prior:
                        self.counts["drift_tags"] += 1
                        refreshed = copy.deepcopy(prior)
                        self.drift_tags(refreshed)
                    else:
                        refreshed = copy.deepcopy(prior)
                        self.drift_update(rtype, refreshed)
                        if tf.canon(refreshed) != tf.canon(prior):
                            self.counts["drift_update"] += 1
                        elif "tags" in prior:  # the mutation happened to be a no-op
                            self.drift_tags(refreshed)
                            self.counts["drift_tags"] += 1
                        else:
                            refreshed = None
                            planned = copy.deepcopy(prior)
                            for k in COMPUTED[rtype]:
                                planned[k] = UNKNOWN
                            self.counts["drift_delete"] += 1
                deps = []
                if rtype.startswith("aws_s3_bucket_"):
                    deps = [(f"{module}." if module else "") + "aws_s3_bucket.this"]
                elif rtype == "aws_iam_role_policy_attachment":
                    deps = [(f"{module}." if module else "") + "aws_iam_role.this"]
                p.add(
                    tf.Res(
                        rtype,
                        name,
                        module=module,
                        index=idx,
                        prior=prior,
                        refreshed=refreshed,
                        planned=planned,
                        depends_on=deps,
                    )
                )
                made += 1
            count = R("var.instance_count") if isinstance(indexes[0], int) else None
            for_each = R("local.deployments") if isinstance(indexes[0], str) else None
            p.cfg(
                tf.CfgRes(rtype, name, self.expressions(rtype, first_values), count=count, for_each=for_each),
                module=module,
            )
            if module:
                parts = module.split(".")
                for i in range(2, len(parts) + 1, 2):
                    path = ".".join(parts[:i])
                    if path not in p.module_calls:
                        p.module_calls[path] = {
                            "source": "./modules/service" if i == 2 else "./modules/storage",
                            "expressions": {
                                "environment": R("var.environment"),
                                "name": C(path.split(".")[-1]),
                                "vpc_id": R("var.vpc_id"),
                            },
                            "variables": {"environment": {}, "name": {}, "vpc_id": {}},
                        }
        p.outputs = [
            tf.Output("vpc_ids", self.vpcs, self.vpcs, R("var.vpc_id"), type_=["tuple", ["string"] * len(self.vpcs)]),
            tf.Output("environment", "prod", "prod", R("var.environment"), type_="string"),
        ]
        p.relevant = [
            ("aws_kms_key.db", ["arn"]),
            ("aws_s3_bucket.this", ["id"]),
            ("aws_security_group.shared", ["id"]),
        ]
        return p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Generate a synthetic terraform show -json plan for benchmarks.")
    ap.add_argument("n", type=int, help="number of managed resource instances")
    ap.add_argument("out", help="output plan JSON path")
    ap.add_argument("--stream", help="also write the terraform plan -json stream here")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--drift", type=float, default=0.10, help="fraction of resources drifted (default 0.10)")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("N must be at least 1")
    g = Gen(args.n, args.seed, args.drift)
    plan = g.build()
    text = tf.dumps_go(plan.build(), indent=None) + "\n"
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    msg = (
        f"{args.out}: {args.n} resources, {sum(g.counts.values())} drifted "
        f"({g.counts['drift_update']} update, {g.counts['drift_tags']} tag-only, "
        f"{g.counts['drift_delete']} deleted), {len(text) / 1e6:.1f} MB, {len(text) / args.n / 1024:.1f} KiB/resource"
    )
    if args.stream:
        start = datetime(2024, 5, 14, 10, 58, 41, 102_334, tzinfo=UTC)
        with open(args.stream, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(tf.dumps_go(m, indent=None) + "\n" for m in tf.plan_stream(plan, start))
        msg += f"; stream {args.stream}"
    print(msg, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
