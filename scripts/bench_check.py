#!/usr/bin/env python3
"""What one drift check costs, per mode and terraform version (a benchmark, not a test).

Run through scripts/bench-check, which builds the CLI and the stand-in
provider's mirror first. Per terraform version, on a rig of its own (a moto
server on 127.0.0.1, state in its S3, locks in its DynamoDB): the end-to-end
suite's workspace (examples/terraform/aws-network, six resources) is applied
for prod, changed by hand as the suite does, then checked with
`drift-detection scan` in each mode, round-robin, --runs times. Every read of
the stand-in provider sleeps --delay seconds first
(STANDIN_PROVIDER_READ_DELAY_SECONDS), so that the refresh weighs as it does
against AWS, and is logged (STANDIN_PROVIDER_READ_LOG), so the reads of each
check are counted, not inferred.

Printed per (terraform, build, mode): terraform plans run (the report's
`terraform.runs`), provider reads, findings (drift / pending), and the wall
time of the check: median, min and max.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
MOTO = ROOT / ".venv" / "bin" / "moto_server"
EXAMPLE = ROOT / "examples" / "terraform" / "aws-network"
NEWER_TERRAFORM = Path("/usr/local/bin/terraform")
STATE_BUCKET = "tf-state"
LOCK_TABLE = "tf-locks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def terraform_version(path: Path) -> str:
    out = subprocess.run(
        [str(path), "version", "-json"],
        env={**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"},
        check=True,
        capture_output=True,
    )
    return str(json.loads(out.stdout)["terraform_version"])


class Rig:
    """moto on 127.0.0.1 with the prod workspace applied and changed by hand."""

    def __init__(self, terraform: Path, tfrc: Path, work: Path) -> None:
        self.terraform = terraform
        self.work = work
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.moto = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.moto.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("moto_server did not start") from None
                time.sleep(0.1)
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TF_CLI_CONFIG_FILE": str(tfrc),
            "CHECKPOINT_DISABLE": "1",
        }
        for var in ("STANDIN_PROVIDER_READ_DELAY_SECONDS", "STANDIN_PROVIDER_READ_LOG", "TF_LOG"):
            self.env.pop(var, None)
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self.s3 = session.client("s3", endpoint_url=self.url, config=Config(s3={"addressing_style": "path"}))
        self.ec2 = session.client("ec2", endpoint_url=self.url)
        self.rds = session.client("rds", endpoint_url=self.url)
        self.s3.create_bucket(Bucket=STATE_BUCKET)
        session.client("dynamodb", endpoint_url=self.url).create_table(
            TableName=LOCK_TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        )
        self.dir = work / "prod" / "network"
        self.dir.mkdir(parents=True)
        shutil.copy(EXAMPLE / "main.tf", self.dir / "main.tf")
        (self.dir / "terraform.auto.tfvars").write_text(
            f'name_prefix  = "prod"\naws_endpoint = "{self.url}"\ndb_password  = "bench-Secret-Passw0rd"\n'
        )
        self.backend = {
            "bucket": STATE_BUCKET,
            "key": "prod/network.tfstate",
            "region": "us-east-1",
            "dynamodb_table": LOCK_TABLE,
            "endpoint": self.url,
            "dynamodb_endpoint": self.url,
            "sts_endpoint": self.url,
            "force_path_style": "true",
            "skip_credentials_validation": "true",
            "skip_metadata_api_check": "true",
        }
        self.tf("init", *[f"-backend-config={k}={v}" for k, v in self.backend.items()])
        self.tf("apply", "-auto-approve")
        self.change_by_hand()
        self.inventory = work / "workspaces.toml"
        lines = [
            "[[workspace]]",
            'name = "network"',
            'environment = "prod"',
            f'dir = "{self.dir}"',
            "[workspace.backend_config]",
        ]
        lines += [f'{k} = "{v}"' for k, v in self.backend.items()]
        self.inventory.write_text("\n".join(lines) + "\n")

    def tf(self, *args: str) -> None:
        out = subprocess.run(
            [str(self.terraform), *args, "-input=false", "-no-color"],
            check=False,
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise SystemExit(f"terraform {args[0]} failed:\n{out.stdout}\n{out.stderr}")

    def retag(self, bucket: str, key: str, value: str) -> None:
        tags = self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        tags = [{"Key": t["Key"], "Value": value if t["Key"] == key else t["Value"]} for t in tags]
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})

    def change_by_hand(self) -> None:
        """The end-to-end suite's hand-made changes (tests/e2e.rs)."""
        group = self.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["prod-app"]}])
        self.ec2.authorize_security_group_ingress(
            GroupId=group["SecurityGroups"][0]["GroupId"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        self.retag("prod-acme-reports", "Owner", "jsmith")
        self.retag("prod-acme-archive", "Retention", "30d")
        self.rds.delete_db_instance(DBInstanceIdentifier="prod-orders", SkipFinalSnapshot=True)
        self.rds.modify_db_instance(
            DBInstanceIdentifier="prod-analytics", DBInstanceClass="db.t3.xlarge", ApplyImmediately=True
        )
        self.rds.modify_db_instance(DBInstanceIdentifier="prod-events", AllocatedStorage=40, ApplyImmediately=True)

    def check(self, binary: Path, mode: str | None, delay: float) -> dict[str, object]:
        """One `drift-detection scan` of prod: wall time, reads, plans, findings."""
        run = self.work / f"run-{free_port()}"
        run.mkdir()
        log = run / "reads.log"
        args = [str(binary), "scan", "--workspaces", str(self.inventory), "--terraform", str(self.terraform)]
        args += ["--out", str(run / "reports"), "-q", "--format", "json"]
        if mode is not None:
            args += ["--mode", mode]
        env = {**self.env, "STANDIN_PROVIDER_READ_DELAY_SECONDS": str(delay), "STANDIN_PROVIDER_READ_LOG": str(log)}
        started = time.perf_counter()
        out = subprocess.run(args, check=False, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        report_path = run / "reports" / "prod" / "network.json"
        if out.returncode not in (2, 3) or not report_path.exists():
            raise SystemExit(f"{' '.join(args)}: exit {out.returncode}\n{out.stderr}")
        report = json.loads(report_path.read_text())
        reads = len(log.read_text().splitlines()) if log.exists() else 0
        plans = sum(1 for r in report["terraform"]["runs"] if str(r["command"]).startswith("plan"))
        drift = sum(1 for i in report["drift"] if i["source"] == "outside_terraform")
        pending = sum(1 for i in report["drift"] if i["source"] == "config_change")
        shutil.rmtree(run)
        return {"wall": wall, "reads": reads, "plans": plans, "drift": drift, "pending": pending}

    def close(self) -> None:
        self.moto.terminate()
        self.moto.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, required=True, help="the drift-detection build to measure")
    parser.add_argument("--vs", type=Path, help="another build (an older release): its default mode is measured too")
    parser.add_argument("--tfrc", type=Path, required=True, help="CLI config naming the stand-in provider's mirror")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds each provider read sleeps first")
    parser.add_argument("--terraform", type=Path, action="append", help="default: pinned, then the newer one")
    args = parser.parse_args()

    terraforms = args.terraform
    if not terraforms:
        terraforms = [ROOT / ".tools" / "bin" / "terraform"]
        extra = os.environ.get("DRIFT_TEST_TERRAFORM_EXTRA")
        if extra and extra != "none":
            terraforms.append(Path(extra))
        elif extra is None and NEWER_TERRAFORM.is_file():
            terraforms.append(NEWER_TERRAFORM)
    # (label, binary, mode): None is the build's default mode.
    configurations: list[tuple[str, Path, str | None]] = []
    if args.vs:
        configurations.append(("other", args.vs, None))
    configurations += [("this", args.binary, m) for m in (None, "both", "plan", "refresh-only")]

    print(
        f"one check of the rig's prod workspace (6 resources), each provider read delayed {args.delay:g} s; "
        f"wall time median (min-max) of {args.runs} runs"
    )
    print()
    print("| terraform | build | mode | plans | provider reads | findings (drift / pending) | wall s | min-max s |")
    print("|---|---|---|---:|---:|---|---:|---|")
    for terraform in terraforms:
        version = terraform_version(terraform)
        with tempfile.TemporaryDirectory(prefix="bench-check-") as work:
            rig = Rig(terraform, args.tfrc, Path(work))
            try:
                for _label, binary, mode in configurations:  # warm-up, unmeasured
                    rig.check(binary, mode, args.delay)
                results: dict[int, list[dict[str, object]]] = {i: [] for i in range(len(configurations))}
                for _ in range(args.runs):
                    for i, (_label, binary, mode) in enumerate(configurations):
                        results[i].append(rig.check(binary, mode, args.delay))
            finally:
                rig.close()
        for i, (label, _binary, mode) in enumerate(configurations):
            runs = results[i]
            walls = [float(str(r["wall"])) for r in runs]
            facts = {k: sorted({str(r[k]) for r in runs}) for k in ("plans", "reads", "drift", "pending")}
            print(
                f"| {version} | {label} | {mode or 'default'} | {'/'.join(facts['plans'])} | "
                f"{'/'.join(facts['reads'])} | {'/'.join(facts['drift'])} / {'/'.join(facts['pending'])} | "
                f"{statistics.median(walls):.2f} | {min(walls):.2f}-{max(walls):.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
