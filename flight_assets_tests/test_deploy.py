"""The AWS deployment, proven without AWS (issue 4).

- Terraform: `fmt -check` and `validate` of every root and module, with the AWS provider from a local mirror.
- The environment root applied against moto's server on loopback (a test-only provider override), read back with
  boto3 (buckets, encryption, lifecycle, function, schedule, queue, alarms, Glue tables, ECS, RDS, ALB ...), then
  destroyed, leaving nothing behind. Athena named queries are checked in a plan only: moto has no DeleteNamedQuery.
- The Lambda package: built by deploy/build_lambda.py with its pinned boto3/botocore for python3.13 arm64, unpacked
  into a clean python3.13 virtualenv (the local Python when no 3.13 is installed) that holds only an older boto3 (as
  the Lambda runtime does), its handler run in a subprocess against fake-opensky and moto, landing a snapshot with
  If-None-Match through the bundled SDK.
- checkov over deploy/terraform in its own virtualenv (.venv-checkov, created on first use): no failed check, every
  skip justified inline.
- Athena compatibility: the Glue tables match the Parquet files the pipeline writes and the raw key layout.
- deploy/dagster.yaml and deploy/workspace.yaml are valid for this Dagster version; the Dockerfile's invariants.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import os
import re
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from flight_assets.lake import layout
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets_tests.servers import MotoServer
from flight_assets_tests.terraform import (
    ENV_ROOTS,
    MODULES,
    REPO_ROOT,
    TERRAFORM_DIR,
    Terraform,
    copy_tree,
    find_provider_mirror,
    moto_override,
    terraform_binary,
)

pytestmark = pytest.mark.slow

DEPLOY = REPO_ROOT / "deploy"
REGION = "us-east-1"
PREFIX = "flight-assets-prod"
ALLOWED_CIDR = "198.51.100.0/24"
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = REPO_ROOT / ".venv-checkov"
BANNED_IN_LAMBDA = {"dagster", "pyarrow", "pandas", "duckdb", "grpc", "sqlalchemy"}
LAMBDA_PYTHON = "3.13"


def _lambda_pins() -> dict[str, str]:
    """name → version pinned in deploy/lambda_requirements.txt (names normalised like dist-info directories)."""
    pins = {}
    for line in (DEPLOY / "lambda_requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-.]+", "_", name.lower())] = version
    return pins


def _lambda_python() -> tuple[str, bool]:
    """(an interpreter for the Lambda-like virtualenv, whether it is the runtime's python3.13)."""
    import glob
    import shutil

    candidates = [shutil.which(f"python{LAMBDA_PYTHON}"), *sorted(glob.glob(
        os.path.expanduser(f"~/.pyenv/versions/{LAMBDA_PYTHON}*/bin/python{LAMBDA_PYTHON}")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys, venv; print(sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=30)
        if probe.returncode == 0 and probe.stdout.strip() == f"({LAMBDA_PYTHON.replace('.', ', ')})":
            return candidate, True
    return sys.executable, False


def _terraform_or_skip() -> tuple[str, Path]:
    binary = terraform_binary()
    if binary is None:
        pytest.skip("terraform is not installed (https://developer.hashicorp.com/terraform/install)")
    mirror = find_provider_mirror()
    if mirror is None:
        pytest.skip("no local filesystem mirror of hashicorp/aws >= 5.100 found (set TF_PROVIDER_MIRROR to the "
                    "directory that holds registry.terraform.io/); these tests never download providers")
    return binary, mirror


def _client(service: str, moto: MotoServer) -> Any:
    return boto3.client(service, endpoint_url=moto.url, region_name=REGION)


# ================================================================================================ Lambda package


@pytest.fixture(scope="module")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("lambda") / "lambda.zip"
    result = subprocess.run([sys.executable, str(DEPLOY / "build_lambda.py"), "--output", str(output)],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and "pip could not install" in result.stderr:
        pytest.skip(f"the Lambda dependencies could not be installed for manylinux2014_aarch64: {result.stderr[-500:]}")
    assert result.returncode == 0, result.stderr
    assert re.search(r"wrote .*lambda\.zip \(\d+ files\): [\d,]+ bytes", result.stdout), result.stdout
    return output


@pytest.fixture(scope="module")
def lambda_runtime(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> tuple[Path, Path]:
    """(python of a clean virtualenv like the Lambda runtime; the unzipped package).

    The virtualenv is made with python3.13 (the function's runtime) when this machine has one, else with the local
    Python (the test then still proves the bundled SDK wins, on another interpreter version). Like the runtime, it
    holds its own, older boto3 in site-packages, after the package on sys.path: the bundled pins must shadow it.
    """
    base = tmp_path_factory.mktemp("lambda-runtime")
    unzipped = base / "task"
    with zipfile.ZipFile(lambda_zip) as archive:
        archive.extractall(unzipped)
    interpreter, is_313 = _lambda_python()
    if not is_313:
        print(f"\nno python{LAMBDA_PYTHON} here: the Lambda-like virtualenv uses {sys.version.split()[0]}")
    env_dir = base / "venv"
    created = subprocess.run([interpreter, "-m", "venv", "--clear", str(env_dir)], capture_output=True, text=True,
                             timeout=120)
    assert created.returncode == 0, created.stderr
    python = env_dir / "bin" / "python"
    # The runtime's own SDK, older than the pins: installed when the package index has one (not required).
    older = f"boto3<{_lambda_pins()['boto3']}"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", older],
                   capture_output=True, text=True, timeout=300)
    return python, unzipped


_HANDLER_SCRIPT = """
import json, sys
import boto3, botocore, flight_assets, requests
from flight_assets.lambda_handler import lambda_handler
summary = lambda_handler(json.loads(sys.argv[1]), None)
print("RESULT " + json.dumps({
    "summary": summary,
    "modules": sorted({name.split(".")[0] for name in sys.modules}),
    "flight_assets": flight_assets.__file__,
    "requests": requests.__file__,
    "boto3": [boto3.__file__, boto3.__version__],
    "botocore": [botocore.__file__, botocore.__version__],
    "python": list(sys.version_info[:2]),
}))
"""


def run_packaged_handler(runtime: tuple[Path, Path], env: dict[str, str], event: dict[str, Any],
                         cwd: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the unzipped package's handler in the clean virtualenv; (result, the JSON log lines it printed)."""
    python, unzipped = runtime
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(unzipped),
                "PYTHONDONTWRITEBYTECODE": "1", **env}
    completed = subprocess.run([str(python), "-s", "-c", _HANDLER_SCRIPT, json.dumps(event)], cwd=cwd,
                               env=full_env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    result = json.loads(next(line for line in lines if line.startswith("RESULT "))[len("RESULT "):])
    logs = [json.loads(line) for line in lines if line.startswith("{")]
    assert result["flight_assets"].startswith(str(unzipped)) and result["requests"].startswith(str(unzipped))
    pins = _lambda_pins()
    for sdk in ("boto3", "botocore"):  # the bundled, pinned SDK, not the runtime's
        path, version = result[sdk]
        assert path.startswith(str(unzipped)) and version == pins[sdk], (sdk, path, version, pins[sdk])
    assert not BANNED_IN_LAMBDA & set(result["modules"]), result["modules"]
    return result, logs


def test_lambda_zip_holds_only_what_the_handler_imports(lambda_zip: Path) -> None:
    with zipfile.ZipFile(lambda_zip) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"flight_assets", "requests", "urllib3", "idna", "certifi", "charset_normalizer", "boto3",
                   "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "isal", "msgspec"}, top
    # exactly the pinned versions of deploy/lambda_requirements.txt
    installed = {m.group(1).lower(): m.group(2) for name in names
                 if (m := re.fullmatch(r"([^/]+)-([^-/]+)\.dist-info/METADATA", name))}
    assert installed == _lambda_pins(), installed
    # botocore's API models only for the services the handler calls
    models = {name.split("/")[2] for name in names if name.startswith("botocore/data/") and name.count("/") > 2}
    assert models == {"s3", "secretsmanager", "sts"}, models
    project = sorted(name for name in names if name.startswith("flight_assets/"))
    assert project == sorted(f"flight_assets/{m}.py" for m in [
        "__init__", "config", "redact", "lambda_handler",
        "opensky/__init__", "opensky/credits", "opensky/governor", "opensky/client", "opensky/recorded",
        "opensky/snapshot", "opensky/secret", "ingestion/__init__", "ingestion/poll", "ingestion/spool",
        "lake/__init__", "lake/store", "lake/layout"])
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    # Built for the Lambda platform: compiled extensions (charset_normalizer's, isal's, msgspec's) are aarch64
    # ones.
    extensions = [name for name in names if name.endswith(".so")]
    assert extensions and all("aarch64" in name for name in extensions), extensions
    size = lambda_zip.stat().st_size
    print(f"\nlambda.zip: {size:,} bytes ({size / 1_048_576:.2f} MiB), {len(names)} files")
    assert size < 5 * 1_048_576


def test_packaged_handler_lands_a_snapshot(lambda_runtime: tuple[Path, Path], moto_server: MotoServer,
                                           s3_bucket: str, tmp_path: Path) -> None:
    secret_arn = _client("secretsmanager", moto_server).create_secret(
        Name=f"opensky-zip-{s3_bucket}", SecretString=json.dumps({"client_id": "zip", "client_secret": "zip-secret"})
    )["ARN"]
    config = FakeOpenSkyConfig(simulate=50, tier="licensed", credits=100_000, client_id="zip",
                               client_secret="zip-secret")
    with FakeOpenSky(config) as server:
        env = {
            "FLIGHT_LAKE": f"s3://{s3_bucket}/lake", "AWS_ENDPOINT_URL": moto_server.url,
            "OPENSKY_API_URL": server.api_url, "OPENSKY_TOKEN_URL": server.token_url,
            "OPENSKY_SECRET_ARN": secret_arn, "OPENSKY_TIER": "licensed",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        }
        result, logs = run_packaged_handler(lambda_runtime, env, {"polls_per_invocation": 1}, tmp_path)
    summary = result["summary"]
    assert summary["status"] == "ok" and len(summary["keys_landed"]) == 1, summary
    key = f"lake/{summary['keys_landed'][0]}"
    body = _client("s3", moto_server).get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert len(json.loads(gzip.decompress(body))["states"]) == 50
    assert any(line.get("Landed") == 1 for line in logs)


# =============================================================================================== Terraform static


def test_terraform_fmt() -> None:
    binary = terraform_binary()
    if binary is None:
        pytest.skip("terraform is not installed")
    result = subprocess.run([binary, "fmt", "-check", "-recursive", "-diff", "-no-color", str(TERRAFORM_DIR)],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull})
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """init + validate of every root and module (two at a time); directory → None or the failure."""
    binary, mirror = _terraform_or_skip()
    scratch = tmp_path_factory.mktemp("tf-validate")
    tree = copy_tree(scratch)
    dirs = [tree / p.relative_to(TERRAFORM_DIR) for p in ENV_ROOTS + MODULES]

    def check(directory: Path) -> tuple[str, str | None]:
        tf = Terraform(binary, directory, mirror, scratch)
        try:
            tf.init()
            result = json.loads(tf.run("validate", "-json", "-no-color", check=False).stdout)
        except AssertionError as exc:
            return directory.relative_to(tree).as_posix(), str(exc)
        problems = [f"{d['severity']}: {d['summary']} {d.get('detail', '')}" for d in result.get("diagnostics", [])]
        return directory.relative_to(tree).as_posix(), None if result["valid"] and not problems else "\n".join(problems)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(check, dirs))


@pytest.mark.parametrize("directory", [p.relative_to(TERRAFORM_DIR).as_posix() for p in ENV_ROOTS + MODULES])
def test_terraform_validate(validated: dict[str, str | None], directory: str) -> None:
    assert validated[directory] is None, validated[directory]


def test_no_terraform_state_or_lock_files_in_the_repository() -> None:
    leftovers = [p for pattern in (".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*")
                 for p in TERRAFORM_DIR.rglob(pattern)]
    assert not leftovers, leftovers


# ========================================================================================================= checkov


def _checkov() -> Path:
    """checkov in its own virtualenv (it pins an old boto3), created once and then reused."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    stamp = CHECKOV_VENV / ".checkov-version"
    if binary.exists() and stamp.exists() and stamp.read_text().strip() == CHECKOV_VERSION:
        return binary
    venv.EnvBuilder(with_pip=True, clear=True).create(CHECKOV_VENV)
    result = subprocess.run([str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                             "--disable-pip-version-check", f"checkov=={CHECKOV_VERSION}"],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.skip(f"could not install checkov=={CHECKOV_VERSION} into {CHECKOV_VENV}: {result.stderr[-400:]}")
    stamp.write_text(CHECKOV_VERSION)
    return binary


def test_checkov_has_no_failed_check_and_every_skip_is_justified() -> None:
    checkov = _checkov()
    result = subprocess.run(
        [str(checkov), "--directory", str(TERRAFORM_DIR), "--framework", "terraform", "--output", "json",
         "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
              for c in report.get("results", {}).get("failed_checks", [])]
    assert summary["failed"] == 0 and not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 300, summary  # it really scanned the configuration
    skipped = report["results"].get("skipped_checks", [])
    unjustified = [f"{c['check_id']} {c['resource']}" for c in skipped
                   if len((c.get("check_result", {}).get("suppress_comment") or "").strip()) < 20]
    assert not unjustified, f"skips without a reason: {unjustified}"
    print(f"\ncheckov {CHECKOV_VERSION}: {summary['passed']} passed, {summary['failed']} failed, "
          f"{summary['skipped']} skipped (each with its reason inline)")


# ==================================================================================================== Dagster files


_ECS_ENV = {
    "DAGSTER_PG_HOST": "db.internal", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_PG_PASSWORD_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-db-x:password::",
    "DAGSTER_RUN_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/run",
    "DAGSTER_RUN_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/execution",
    "DAGSTER_RUN_LOG_GROUP": "/ecs/flight-assets-prod/runs", "DAGSTER_RUN_CPU_ARCHITECTURE": "X86_64",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "lake-bucket", "DAGSTER_COMPUTE_LOGS_PREFIX": "lake/_dagster/compute_logs",
    "DAGSTER_CODE_SERVER_HOST": "code.flight-assets-prod.internal",
}


def test_dagster_yaml_for_ecs_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._serdes.config_class import class_from_code_pointer
    from dagster_aws.ecs import EcsRunLauncher
    from dagster_postgres import DagsterPostgresStorage

    for name, value in _ECS_ENV.items():
        monkeypatch.setenv(name, value)
    config, _ = dagster_instance_config(str(DEPLOY))  # validates the whole file against the instance schema
    postgres = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert postgres.success, postgres.errors
    assert postgres.value["postgres_db"]["scheme"] == "postgresql+psycopg2"
    for key, expected in [("run_coordinator", "QueuedRunCoordinator"), ("run_launcher", "EcsRunLauncher"),
                          ("compute_logs", "S3ComputeLogManager")]:
        assert config[key]["class"] == expected
        klass = class_from_code_pointer(config[key]["module"], config[key]["class"])
        processed = process_config(klass.config_type(), config[key]["config"])
        assert processed.success, (key, processed.errors)
    # Run limits and the hourly_tables pool live under `concurrency` (Dagster refuses them in both places).
    from dagster._core.instance.config import validate_concurrency_config

    validate_concurrency_config(config)
    assert config["concurrency"]["runs"]["max_concurrent_runs"] > 0
    assert config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert config["concurrency"]["pools"]["default_limit"] > 1  # parallel hourly builds in separate tasks
    assert config["run_monitoring"]["enabled"] and config["run_monitoring"]["start_timeout_seconds"] > 0
    assert config["run_retries"]["enabled"] and config["run_retries"]["max_retries"] > 0
    # The launcher builds without calling AWS (task definition from config, secrets by ARN, no tag lookup).
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    processed = process_config(EcsRunLauncher.config_type(), config["run_launcher"]["config"])
    launcher = EcsRunLauncher(**processed.value)
    assert launcher.task_role_arn == _ECS_ENV["DAGSTER_RUN_TASK_ROLE_ARN"]
    assert launcher.secrets == [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": _ECS_ENV["DAGSTER_PG_PASSWORD_SECRET"]}]
    assert launcher.secrets_tags == []
    # Every variable the file reads is passed on to run tasks (they load the same file).
    referenced = set(re.findall(r"env: (\w+)", (DEPLOY / "dagster.yaml").read_text()))
    passed_on = set(config["run_launcher"]["config"]["env_vars"]) | {"DAGSTER_PG_PASSWORD"}
    assert referenced <= passed_on, referenced - passed_on


def test_workspace_yaml_for_ecs_points_at_the_grpc_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config
    from dagster._core.workspace.config_schema import WORKSPACE_CONFIG_SCHEMA

    monkeypatch.setenv("DAGSTER_CODE_SERVER_HOST", "code.internal")
    processed = process_config(WORKSPACE_CONFIG_SCHEMA, yaml.safe_load((DEPLOY / "workspace.yaml").read_text()))
    assert processed.success, processed.errors
    servers = [entry["grpc_server"] for entry in processed.value["load_from"]]
    assert servers == [{"host": "code.internal", "port": 4000, "location_name": "flight_assets"},
                       {"host": "code.internal", "port": 4001, "location_name": "flight_assets_poller"}]
    # The same two locations as the local workspace.yaml, each served by the module it names there.
    local = {e["python_module"]["location_name"]: e["python_module"]["module_name"]
             for e in yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"]}
    assert set(local) == {server["location_name"] for server in servers}
    services_tf = (DEPLOY / "terraform" / "modules" / "dagster_ecs" / "services.tf").read_text()
    for location, module in local.items():
        assert f'"--module-name", "{module}", "--location-name", "{location}"' in services_tf, location


def test_dockerfile_runs_as_non_root_without_entrypoint() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    instructions = [line.split()[0].upper() for line in lines]
    assert "ENTRYPOINT" not in instructions  # EcsRunLauncher's command override must run as given
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("deploy/dagster.yaml" in line and "deploy/workspace.yaml" in line for line in lines)
    assert any(line.startswith("FROM python:3.11") for line in lines)
    # Bytecode compiled at build time, so the non-root user never compiles Dagster at start or in a health check
    # (test_image_health.py reproduces the install and times the checks).
    text = "\n".join(lines)
    assert "--no-compile" not in text and "PYTHONDONTWRITEBYTECODE" not in text
    assert re.search(r"python -m compileall .*/usr/local/lib/python3\.11", text)


# ================================================================================================ moto deployment

_INVENTORY_CALLS: dict[str, Any] = {
    "s3 buckets": lambda c: {b["Name"] for b in c("s3").list_buckets()["Buckets"]},
    "kms keys": lambda c: {k["KeyId"] for k in c("kms").list_keys()["Keys"]
                           if c("kms").describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"},
    "kms aliases": lambda c: {a["AliasName"] for a in c("kms").list_aliases()["Aliases"]},
    "lambda functions": lambda c: {f["FunctionName"] for f in c("lambda").list_functions()["Functions"]},
    "sqs queues": lambda c: set(c("sqs").list_queues().get("QueueUrls", [])),
    "event rules": lambda c: {r["Name"] for r in c("events").list_rules()["Rules"]},
    "alarms": lambda c: {a["AlarmName"] for a in c("cloudwatch").describe_alarms()["MetricAlarms"]},
    "dashboards": lambda c: {d["DashboardName"] for d in c("cloudwatch").list_dashboards()["DashboardEntries"]},
    "log groups": lambda c: {g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]},
    "sns topics": lambda c: {t["TopicArn"] for t in c("sns").list_topics()["Topics"]},
    "secrets": lambda c: {s["Name"] for s in c("secretsmanager").list_secrets()["SecretList"]},
    "glue databases": lambda c: {d["Name"] for d in c("glue").get_databases()["DatabaseList"]},
    "athena workgroups": lambda c: {w["Name"] for w in c("athena").list_work_groups()["WorkGroups"]},
    "iam roles": lambda c: {r["RoleName"] for r in c("iam").list_roles()["Roles"]},
    "ecr repositories": lambda c: {r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"]},
    "ecs clusters": lambda c: {a for a in c("ecs").list_clusters()["clusterArns"]
                               if c("ecs").describe_clusters(clusters=[a])["clusters"][0]["status"] == "ACTIVE"},
    "ecs task definitions": lambda c: set(c("ecs").list_task_definitions(status="ACTIVE")["taskDefinitionArns"]),
    "rds instances": lambda c: {d["DBInstanceIdentifier"] for d in c("rds").describe_db_instances()["DBInstances"]},
    "rds subnet groups": lambda c: {g["DBSubnetGroupName"] for g in c("rds").describe_db_subnet_groups()["DBSubnetGroups"]},
    "rds parameter groups": lambda c: {g["DBParameterGroupName"]
                                       for g in c("rds").describe_db_parameter_groups()["DBParameterGroups"]},
    "load balancers": lambda c: {lb["LoadBalancerName"] for lb in c("elbv2").describe_load_balancers()["LoadBalancers"]},
    "target groups": lambda c: {t["TargetGroupName"] for t in c("elbv2").describe_target_groups()["TargetGroups"]},
    "vpcs": lambda c: {v["VpcId"] for v in c("ec2").describe_vpcs()["Vpcs"]},
    "subnets": lambda c: {s["SubnetId"] for s in c("ec2").describe_subnets()["Subnets"]},
    "security groups": lambda c: {g["GroupId"] for g in c("ec2").describe_security_groups()["SecurityGroups"]},
    "nat gateways": lambda c: {n["NatGatewayId"] for n in c("ec2").describe_nat_gateways()["NatGateways"]
                               if n["State"] not in ("deleted", "deleting")},
    "elastic ips": lambda c: {a["AllocationId"] for a in c("ec2").describe_addresses()["Addresses"]},
    "vpc endpoints": lambda c: {e["VpcEndpointId"] for e in c("ec2").describe_vpc_endpoints()["VpcEndpoints"]
                                if e["State"].lower() not in ("deleted", "deleting")},
    "flow logs": lambda c: {f["FlowLogId"] for f in c("ec2").describe_flow_logs()["FlowLogs"]},
    "cloud map namespaces": lambda c: {n["Name"] for n in c("servicediscovery").list_namespaces()["Namespaces"]},
    "state machines": lambda c: {m["name"] for m in c("stepfunctions").list_state_machines()["stateMachines"]},
}


def inventory(moto: MotoServer) -> dict[str, set[str]]:
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = _client(service, moto)
        return clients[service]

    return {kind: call(client) for kind, call in _INVENTORY_CALLS.items()}


class Deployment:
    def __init__(self, tf: Terraform, moto: MotoServer, outputs: dict[str, Any], before: dict[str, set[str]]) -> None:
        self.tf = tf
        self.moto = moto
        self.outputs = outputs
        self.before = before
        self.destroyed = False

    def client(self, service: str) -> Any:
        return _client(service, self.moto)

    def destroy(self) -> None:
        if not self.destroyed:
            self.destroyed = True
            self.tf.run("destroy", "-auto-approve", "-input=false", "-no-color", timeout=900)


def _teach_moto_to_validate_state_machines() -> None:
    """moto 5.2.5 has neither ValidateStateMachineDefinition, which the AWS provider (>= 5.67) calls when it plans a
    state machine, nor ListStateMachineVersions, which it calls when it reads one; it would retry the 500s until it
    times out. Answer both in the in-process server: the definition is judged by moto's Amazon States Language
    parser (the one its interpreter runs); no published versions."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    if hasattr(StepFunctionResponse, "validate_state_machine_definition"):
        return

    def validate_state_machine_definition(self: Any) -> Any:
        try:
            StepFunctionsParserBackend._validate_definition(definition=self._get_param("definition"))
        except Exception as exc:  # moto's InvalidDefinition
            return ActionResult({"result": "FAIL", "diagnostics": [
                {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": str(exc)[:1000]}]})
        return ActionResult({"result": "OK", "diagnostics": []})

    def list_state_machine_versions(self: Any) -> Any:
        return ActionResult({"stateMachineVersions": []})

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]


def _teach_moto_to_call_aws_sdk() -> None:
    """moto's Step Functions interpreter passes an `aws-sdk:` task's Parameters to boto3 as written, in the
    PascalCase that Step Functions requires (`Cluster`, `Service`, `ForceNewDeployment`); AWS maps them to the API's
    own member names (ECS: `cluster`, `service`, `forceNewDeployment`). Do that mapping, with the interpreter's own
    helper, against the operation's input shape."""
    from botocore.session import get_session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    if getattr(StateTaskServiceAwsSdk, "_normalises_parameters", False):
        return

    def _normalise_parameters(self: Any, parameters: dict[str, Any], boto_service_name: str | None = None,
                              service_action_name: str | None = None) -> None:
        model = get_session().get_service_model(self._get_boto_service_name(boto_service_name))
        action = self._get_boto_service_action(service_action_name)
        operation = next(name for name in model.operation_names
                         if re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() == action)
        self._to_boto_request(parameters, model.operation_model(operation).input_shape)

    StateTaskServiceAwsSdk._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    StateTaskServiceAwsSdk._normalises_parameters = True  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer, lambda_zip: Path
               ) -> Iterator[Deployment]:
    """deploy/terraform/envs/prod applied to moto's server: everything, Dagster on ECS included."""
    binary, mirror = _terraform_or_skip()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    scratch = tmp_path_factory.mktemp("tf-moto")
    root = copy_tree(scratch) / "envs" / "prod"
    (root / "moto_override.tf").write_text(moto_override(moto_server.url))
    (root / "moto.auto.tfvars.json").write_text(json.dumps({
        "lambda_zip_path": str(lambda_zip),
        "opensky_tier": "licensed",
        "image_tag": "v1",  # as terraform.tfvars sets it once an image is pushed: the services exist
        "external_poller": True,  # the IAM user for polling from outside AWS (OpenSky blocks AWS)
        "webserver_allowed_cidrs": [ALLOWED_CIDR],
        # so that destroy can delete what apply made
        "force_destroy": True,
        "alb_deletion_protection": False,
        "db_deletion_protection": False,
        "secret_recovery_window_days": 0,
        # moto 5.2.5 has no DeleteNamedQuery: the saved queries could be created but never destroyed
        # (test_named_queries_in_the_plan checks them in a plan instead)
        "athena_named_queries": False,
    }))
    _teach_moto_to_validate_state_machines()
    _teach_moto_to_call_aws_sdk()
    # moto's Step Functions interpreter (off by default) keeps its own state machines: on before the apply, so the
    # rotation test can run the deployed one; it also checks every definition with its ASL parser at creation.
    moto_config = f"{moto_server.url}/moto-api/config"
    requests.post(moto_config, json={"stepfunctions": {"execute_state_machine": True}}, timeout=10).raise_for_status()
    tf = Terraform(binary, root, mirror, scratch)
    tf.init()
    before = inventory(moto_server)
    try:
        tf.run("apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20", timeout=900)
        deployed = Deployment(tf, moto_server, tf.output(), before)
    except BaseException:
        tf.run("destroy", "-auto-approve", "-input=false", "-no-color", timeout=900, check=False)
        raise
    yield deployed
    deployed.destroy()
    requests.post(moto_config, json={"stepfunctions": {"execute_state_machine": False}}, timeout=10)


def test_lake_buckets(deployment: Deployment) -> None:
    s3 = deployment.client("s3")
    kms_arn = deployment.outputs["kms_key_arn"]
    lake = deployment.outputs["lake_bucket"]
    assert deployment.outputs["lake_uri"] == f"s3://{lake}/lake"
    athena, logs = lake.replace("-lake-", "-athena-"), lake.replace("-lake-", "-logs-")
    for bucket in (lake, athena, logs):
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block[k] for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                      "RestrictPublicBuckets")), bucket
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        tls = next(st for st in policy["Statement"] if st["Sid"] == "DenyInsecureTransport")
        assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for bucket in (lake, athena):
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_arn}
        assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == logs
    logs_default = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert logs_default["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    kms = deployment.client("kms")
    assert kms.describe_key(KeyId=kms_arn)["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=kms_arn)["KeyRotationEnabled"]

    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=lake)["Rules"]}
    raw = rules["raw-ia-glacier-expire"]
    assert raw["Status"] == "Enabled" and raw["Filter"]["Prefix"] == "lake/raw/"
    assert [(t["Days"], t["StorageClass"]) for t in raw["Transitions"]] == [(30, "STANDARD_IA"), (90, "GLACIER_IR")]
    assert raw["Expiration"]["Days"] == 730
    for layer in ("validated", "quarantine", "aggregates"):
        rule = rules[f"processed-intelligent-tiering-{layer}"]
        assert rule["Filter"]["Prefix"] == f"lake/{layer}/"
        assert rule["Transitions"] == [{"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}]
    assert rules["governor-state-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1


def test_ingestion_function_schedule_queue_and_alarms(deployment: Deployment) -> None:
    name = deployment.outputs["ingest_function_name"]
    lam = deployment.client("lambda")
    fn = lam.get_function_configuration(FunctionName=name)
    assert fn["Runtime"] == "python3.13" and fn["Architectures"] == ["arm64"]
    assert fn["Handler"] == "flight_assets.lambda_handler.lambda_handler"
    assert fn["Timeout"] == 59 and fn["MemorySize"] == 256
    env = fn["Environment"]["Variables"]
    assert env["FLIGHT_LAKE"] == deployment.outputs["lake_uri"]
    assert env["POLLS_PER_INVOCATION"] == "2" and env["POLL_SPACING_S"] == "30"
    assert env["OPENSKY_SECRET_ARN"] == deployment.outputs["opensky_secret_arn"]
    assert env["OPENSKY_TIER"] == "licensed"
    # no reserved concurrency by default (new accounts cannot reserve any); the credit governor's conditional PUT
    # serialises overlapping polls (test_credits.py::test_concurrent_claims_spend_one_slot)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    invoke = lam.get_function_event_invoke_config(FunctionName=name)
    dlq_name = deployment.outputs["ingest_dlq_name"]
    sqs = deployment.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert invoke["MaximumRetryAttempts"] == 0
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == dlq["QueueArn"]
    assert dlq["KmsMasterKeyId"] == deployment.outputs["kms_key_arn"]

    events = deployment.client("events")
    rule = events.describe_rule(Name=name)
    # ingestion_enabled defaults to false: the first apply polls nothing until the secret holds credentials
    assert rule["ScheduleExpression"] == "rate(1 minute)" and rule["State"] == "DISABLED"
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == [fn["FunctionArn"]]

    logs = deployment.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert logs[0]["retentionInDays"] == 365 and logs[0]["kmsKeyId"] == deployment.outputs["kms_key_arn"]

    topic = deployment.outputs["alerts_topic_arn"]
    alarms = {a["AlarmName"]: a for a in
              deployment.client("cloudwatch").describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]}
    assert set(alarms) == {f"{name}-errors", f"{name}-throttles", f"{name}-dlq-depth", f"{name}-no-snapshot-10m",
                           f"{name}-opensky-blocked"}
    blocked = alarms[f"{name}-opensky-blocked"]  # the Lambda's EMF Blocked metric (test_blocked.py)
    assert (blocked["Namespace"], blocked["MetricName"]) == ("FlightAssets/Ingest", "Blocked")
    assert blocked["Dimensions"] == [{"Name": "Function", "Value": name}] and blocked["Statistic"] == "Sum"
    assert blocked["TreatMissingData"] == "notBreaching" and "OpenSky blocks AWS" in blocked["AlarmDescription"]
    assert all(a["AlarmActions"] == [topic] for a in alarms.values())
    silence = alarms[f"{name}-no-snapshot-10m"]
    assert (silence["Namespace"], silence["MetricName"]) == ("FlightAssets/Ingest", "Landed")
    assert silence["Dimensions"] == [{"Name": "Function", "Value": name}]
    assert silence["Period"] == 600 and silence["ComparisonOperator"] == "LessThanThreshold"
    assert silence["TreatMissingData"] == "breaching"
    assert alarms[f"{name}-dlq-depth"]["Dimensions"] == [{"Name": "QueueName", "Value": dlq_name}]

    sns = deployment.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    assert sns["KmsMasterKeyId"] == deployment.outputs["kms_key_arn"]
    dashboard = deployment.client("cloudwatch").get_dashboard(DashboardName=deployment.outputs["dashboard_name"])
    metrics = json.dumps(json.loads(dashboard["DashboardBody"]))
    assert '"FlightAssets/Ingest", "Landed"' in metrics and "ECS" in metrics


def test_external_poller_user_may_touch_raw_and_state_only(deployment: Deployment) -> None:
    """The alternative when OpenSky blocks AWS: a user for a poller outside AWS, its policy an output."""
    root = f"arn:aws:s3:::{deployment.outputs['lake_bucket']}"
    policy = json.loads(deployment.outputs["external_poller_policy_json"])
    user = deployment.outputs["external_poller_user_name"]
    iam = deployment.client("iam")
    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]]
    assert len(groups) == 1 and not iam.list_user_policies(UserName=user)["PolicyNames"]
    assert not iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    applied = iam.get_group_policy(GroupName=groups[0], PolicyName="external-poller")["PolicyDocument"]
    applied = json.loads(applied) if isinstance(applied, str) else applied
    assert applied == policy
    statements = {st["Sid"]: st for st in policy["Statement"]}
    assert set(statements) == {"ListRawAndState", "LandRawAndShareTheCreditBudget", "EncryptWithTheLakeKey"}
    objects = statements["LandRawAndShareTheCreditBudget"]
    assert sorted(objects["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert sorted(objects["Resource"]) == [f"{root}/lake/_state/*", f"{root}/lake/raw/*"]
    listing = statements["ListRawAndState"]
    assert listing["Resource"] == root
    assert sorted(listing["Condition"]["StringLike"]["s3:prefix"]) == ["lake/_state/*", "lake/raw/*"]
    assert statements["EncryptWithTheLakeKey"]["Resource"] == deployment.outputs["kms_key_arn"]


@contextlib.contextmanager
def _without_bucket_policy(s3: Any, bucket: str) -> Iterator[dict[str, Any]]:
    """Lift the bucket's policy for the duration, then put it back exactly as Terraform left it.

    moto applies a Deny statement without evaluating its conditions (it passes no request context), so the
    TLS-only policy denies every object request to moto, HTTPS or not. On AWS the same policy only denies plain HTTP.
    """
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    with pytest.raises(s3.exceptions.ClientError, match="403|AccessDenied|Forbidden"):
        s3.put_object(Bucket=bucket, Key="lake/_probe", Body=b"x")  # moto enforces the Deny
    s3.delete_bucket_policy(Bucket=bucket)
    try:
        yield json.loads(policy)
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)


def test_deployed_function_configuration_runs_the_packaged_handler(
    deployment: Deployment, lambda_runtime: tuple[Path, Path], tmp_path: Path
) -> None:
    """The zip, with exactly the environment Terraform gave the function, lands a snapshot in the deployed lake."""
    name = deployment.outputs["ingest_function_name"]
    deployed_env = deployment.client("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    deployment.client("secretsmanager").put_secret_value(
        SecretId=deployment.outputs["opensky_secret_arn"],
        SecretString=json.dumps({"client_id": "deployed", "client_secret": "from-terraform-secret"}))
    config = FakeOpenSkyConfig(simulate=50, tier="licensed", credits=100_000, client_id="deployed",
                               client_secret="from-terraform-secret")
    s3 = deployment.client("s3")
    lake = deployment.outputs["lake_bucket"]
    with FakeOpenSky(config) as server, _without_bucket_policy(s3, lake):
        env = {**deployed_env, "AWS_ENDPOINT_URL": deployment.moto.url, "OPENSKY_API_URL": server.api_url,
               "OPENSKY_TOKEN_URL": server.token_url, "AWS_LAMBDA_FUNCTION_NAME": name,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
        result, logs = run_packaged_handler(lambda_runtime, env, {"polls_per_invocation": 1}, tmp_path)
        summary = result["summary"]
        assert summary["status"] == "ok" and len(summary["keys_landed"]) == 1, summary
        key = summary["keys_landed"][0]
        assert re.fullmatch(r"raw/states/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/\d+_[0-9a-f]{8}\.json\.gz", key)
        head = s3.head_object(Bucket=lake, Key=f"lake/{key}")
        assert head["ContentLength"] > 0 and head["ServerSideEncryption"] == "aws:kms"
    # The metric line the no-snapshot alarm watches: same namespace, metric and dimension value.
    emf = next(line for line in logs if "_aws" in line)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "FlightAssets/Ingest"
    assert emf["Function"] == name and emf["Landed"] == 1


def _hive_type(column: Any) -> str:
    """The Hive/Athena type a Parquet leaf column is read as (from its physical and logical type)."""
    logical = column.logical_type
    kind = logical.type if logical is not None else "NONE"
    details = json.loads(logical.to_json()) if kind != "NONE" else {}
    if kind == "TIMESTAMP":
        # Athena reads millisecond and microsecond Parquet timestamps (not nanoseconds)
        assert details["timeUnit"] in ("milliseconds", "microseconds"), details
        return "timestamp"
    if kind == "STRING":
        return "string"
    if kind == "INT":
        assert details["isSigned"], details
        return {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"}[details["bitWidth"]]
    return {"DOUBLE": "double", "FLOAT": "float", "BOOLEAN": "boolean", "INT32": "int", "INT64": "bigint"}[
        column.physical_type]


def _stored_columns(schema: Any) -> list[tuple[str, str]]:
    """(name, Hive type) of the columns of a Parquet file written the way the pipeline writes it."""
    import pyarrow.parquet as pq

    try:
        from flight_assets.states.validation import write_parquet

        data = write_parquet(schema.empty_table())
    except ImportError:
        sink = io.BytesIO()
        pq.write_table(schema.empty_table(), sink)
        data = sink.getvalue()
    parquet_schema = pq.ParquetFile(io.BytesIO(data)).schema
    return [(parquet_schema.column(i).name, _hive_type(parquet_schema.column(i)))
            for i in range(len(parquet_schema))]


def _render(template: str, when: datetime) -> str:
    """A storage.location.template with Athena's projected values for the UTC hour `when`."""
    values = {"year": f"{when:%Y}", "month": f"{when:%m}", "day": f"{when:%d}", "hour": f"{when:%H}"}
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)


def test_glue_tables_are_athena_compatible_with_the_lake(deployment: Deployment) -> None:
    try:
        from flight_assets.states.aggregation import COUNTRY_AGGREGATES_SCHEMA
        from flight_assets.states.validation import QUARANTINE_SCHEMA, VALIDATED_SCHEMA
    except ImportError as exc:
        pytest.skip(f"the pipeline's Parquet schemas are not importable yet: {exc}")
    glue = deployment.client("glue")
    database = deployment.outputs["glue_database"]
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]
              if t.get("TableType") != "VIRTUAL_VIEW"}  # the live views: test_athena_live_views
    assert set(tables) == {"validated_states", "quarantined_states", "country_aggregates", "raw_states"}
    lake = deployment.outputs["lake_uri"]
    when = datetime(2025, 8, 30, 18, 18, 3, tzinfo=UTC)
    expected_prefix = {
        "validated_states": layout.VALIDATED_STATES_PREFIX, "quarantined_states": layout.QUARANTINE_STATES_PREFIX,
        "country_aggregates": layout.COUNTRY_AGGREGATES_PREFIX, "raw_states": layout.RAW_STATES_PREFIX,
    }
    for name, table in tables.items():
        params, storage = table["Parameters"], table["StorageDescriptor"]
        # partition projection: the four hive keys, each a zero-padded integer range (year unpadded)
        assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [
            ("year", "string"), ("month", "string"), ("day", "string"), ("hour", "string")]
        assert params["projection.enabled"] == "true"
        for key, (low, high, digits) in {"month": ("1", "12", "2"), "day": ("1", "31", "2"),
                                         "hour": ("0", "23", "2")}.items():
            assert params[f"projection.{key}.type"] == "integer"
            assert params[f"projection.{key}.range"] == f"{low},{high}"
            assert params[f"projection.{key}.digits"] == digits
        first, last = (int(y) for y in params["projection.year.range"].split(","))
        assert params["projection.year.type"] == "integer" and first <= 2025 <= last
        # the location template renders to exactly the layout's hour prefix
        rendered = _render(params["storage.location.template"], when)
        assert rendered == f"{lake}/{layout.hour_prefix(expected_prefix[name], when)}/", (name, rendered)
        assert storage["Location"] == f"{lake}/{expected_prefix[name]}/"
    raw = tables["raw_states"]
    raw_key = layout.raw_key(int(when.timestamp()), "0123abcd")
    # a raw object's key (dated by the snapshot's own time) lies under the rendered template of its hour
    assert f"{lake}/{raw_key}".rsplit("/", 1)[0] + "/" == _render(raw["Parameters"]["storage.location.template"], when)
    assert raw["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [(c["Name"], c["Type"]) for c in raw["StorageDescriptor"]["Columns"]] == [
        ("time", "bigint"), ("states", "array<array<string>>")]

    parquet_tables = {"validated_states": VALIDATED_SCHEMA, "quarantined_states": QUARANTINE_SCHEMA,
                      "country_aggregates": COUNTRY_AGGREGATES_SCHEMA}
    for name, schema in parquet_tables.items():
        storage = tables[name]["StorageDescriptor"]
        assert storage["SerdeInfo"]["SerializationLibrary"] == \
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        glue_columns = [(c["Name"], c["Type"]) for c in storage["Columns"]]
        stored = _stored_columns(schema)
        # Athena reads Parquet columns by name: same names, same order, same types
        assert "parquet.column.index.access" not in storage["SerdeInfo"].get("Parameters", {})
        assert glue_columns == stored, (name, glue_columns, stored)
        assert not {n for n, _ in glue_columns} & {"year", "month", "day", "hour"}, name


def test_athena_live_views(deployment: Deployment) -> None:
    from flight_assets.states import validation

    glue = deployment.client("glue")
    database = deployment.outputs["glue_database"]
    views = {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]
             if t.get("TableType") == "VIRTUAL_VIEW"}
    assert set(views) == {"live_states", "latest_states"}
    validated = glue.get_table(DatabaseName=database, Name="validated_states")["Table"]
    expected = [(c["Name"], c["Type"]) for c in validated["StorageDescriptor"]["Columns"]] + [
        (p, "string") for p in ("year", "month", "day", "hour")]
    for name, view in views.items():
        assert view["Parameters"]["presto_view"] == "true"
        assert [(c["Name"], c["Type"]) for c in view["StorageDescriptor"]["Columns"]] == expected, name
        text = view["ViewOriginalText"]
        assert text.startswith("/* Presto View: ") and text.endswith(" */")
        presto = json.loads(base64.b64decode(text[len("/* Presto View: "):-len(" */")]))
        assert presto["schema"] == database and presto["catalog"] == "awsdatacatalog"
        assert [c["name"] for c in presto["columns"]] == [n for n, _ in expected]
        views[name] = presto["originalSql"]
    live, latest = views["live_states"], views["latest_states"]
    assert "FROM validated_states" in live and "FROM raw_states" in live and "FROM live_states" in latest
    # The SQL validates raw rows by the thresholds of validation.py (one home: a change there must show here).
    assert f"> {validation.STALE_POSITION_S}," in live
    assert f"BETWEEN {validation.MIN_PLAUSIBLE_ALTITUDE_M:g} AND {validation.MAX_PLAUSIBLE_ALTITUDE_M:g}" in live
    assert f"velocity > {validation.MAX_PLAUSIBLE_SPEED_MS:g}," in live
    assert f"baro_altitude > {validation.MAX_GROUND_ALTITUDE_M:g}," in live
    assert f"'{validation._ICAO24.lower().replace('a-fa-f', 'a-f')}'" in live
    assert sorted(deployment.outputs["athena_views"]) == ["latest_states", "live_states"]


def test_athena_workgroup(deployment: Deployment) -> None:
    workgroup = deployment.client("athena").get_work_group(WorkGroup=deployment.outputs["athena_workgroup"])
    config = workgroup["WorkGroup"]["Configuration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    encryption = config["ResultConfiguration"]["EncryptionConfiguration"]
    assert encryption == {"EncryptionOption": "SSE_KMS", "KmsKey": deployment.outputs["kms_key_arn"]}
    assert config["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{PREFIX}-athena-")


def test_named_queries_in_the_plan(deployment: Deployment) -> None:
    tf = deployment.tf
    tf.run("plan", "-refresh=false", "-input=false", "-no-color", "-var", "athena_named_queries=true",
           "-out=named-queries.plan", timeout=300)
    plan = json.loads(tf.run("show", "-json", "-no-color", "named-queries.plan").stdout)
    queries = {c["address"]: c for c in plan["resource_changes"] if c["type"] == "aws_athena_named_query"}
    assert len(queries) == 2 and all(c["change"]["actions"] == ["create"] for c in queries.values())
    after = {c["index"]: c["change"]["after"] for c in queries.values()}  # aws_athena_named_query.this[<key>]
    day = "year = '2025' AND month = '08' AND day = '30'"
    by_country, bands = after["states_by_country_for_a_day"], after["altitude_bands"]
    assert "FROM country_aggregates" in by_country["query"] and day in by_country["query"]
    assert "FROM validated_states" in bands["query"] and day in bands["query"]
    for query in (by_country, bands):
        assert query["workgroup"] == deployment.outputs["athena_workgroup"]
        assert query["database"] == deployment.outputs["glue_database"]


def test_ingestion_switch_and_reserved_concurrency_in_the_plan(deployment: Deployment) -> None:
    """ingestion_enabled = true (after the secret holds credentials) turns the schedule and the no-snapshot alarm's
    notifications on; ingest_reserved_concurrency reserves only when set (the apply above reserved none)."""
    tf = deployment.tf
    tf.run("plan", "-refresh=false", "-input=false", "-no-color", "-var", "ingestion_enabled=true",
           "-var", "ingest_reserved_concurrency=1", "-out=ingestion-on.plan", timeout=300)
    plan = json.loads(tf.run("show", "-json", "-no-color", "ingestion-on.plan").stdout)
    changes = {c["address"]: c for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]}
    rule = changes["module.ingestion.aws_cloudwatch_event_rule.schedule"]["change"]
    assert rule["before"]["state"] == "DISABLED" and rule["after"]["state"] == "ENABLED"
    function = changes["module.ingestion.aws_lambda_function.ingest"]["change"]
    assert function["before"]["reserved_concurrent_executions"] == -1  # the provider's "none reserved"
    assert function["after"]["reserved_concurrent_executions"] == 1
    alarm = next(c["change"] for a, c in changes.items() if a == 'module.ingestion.aws_cloudwatch_metric_alarm.this["no-snapshot"]')
    assert alarm["before"]["actions_enabled"] is False and alarm["after"]["actions_enabled"] is True


def test_dagster_on_ecs(deployment: Deployment) -> None:
    ecs = deployment.client("ecs")
    cluster = deployment.outputs["ecs_cluster_name"]
    services = {s["serviceName"]: s for s in ecs.describe_services(
        cluster=cluster, services=["webserver", "daemon", "code"])["services"]}
    assert set(services) == {"webserver", "daemon", "code"}
    assert all(s["launchType"] == "FARGATE" and s["desiredCount"] == 1 for s in services.values())
    # moto does not return deploymentConfiguration: read what Terraform applied from its state
    state = json.loads(deployment.tf.run("show", "-json", "-no-color").stdout)
    resources = [r for module in state["values"]["root_module"]["child_modules"]
                 for r in module.get("resources", [])]
    for name in ("daemon", "code"):  # never two daemons, never two code versions behind one location name
        service = next(r for r in resources if r["address"].endswith(f'aws_ecs_service.this["{name}"]'))
        assert service["values"]["deployment_maximum_percent"] == 100, name
        assert service["values"]["deployment_minimum_healthy_percent"] == 0, name
    assert services["webserver"]["loadBalancers"][0]["containerPort"] == 3000
    for service in services.values():
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        assert network["assignPublicIp"] == "DISABLED"
    definitions = {name: ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
                   for name, s in services.items()}
    roles = {d["taskRoleArn"] for d in definitions.values()}
    assert len(roles) == 3 and not roles & {d["executionRoleArn"] for d in definitions.values()}
    code = definitions["code"]["containerDefinitions"][0]
    # The poller's code location runs beside the code server, in the same task: same image, role and environment.
    poller = definitions["code"]["containerDefinitions"][1]
    assert poller["name"] == "poller" and poller["image"] == code["image"] and poller["essential"]
    assert poller["command"][:5] == ["dagster", "api", "grpc", "--host", "0.0.0.0"]
    assert "flight_assets.poll_definitions" in poller["command"] and poller["portMappings"][0]["containerPort"] == 4001
    assert poller["healthCheck"]["command"] == ["CMD", "dagster", "api", "grpc-health-check", "--port", "4001"]
    assert poller["environment"] == code["environment"]
    # health checks with room for a cold start on half a vCPU (test_image_health.py times the real commands)
    checks = {name: d["containerDefinitions"][0].get("healthCheck") for name, d in definitions.items()}
    assert checks["webserver"] is None  # the load balancer checks /server_info
    assert checks["daemon"]["command"] == ["CMD", "dagster-daemon", "liveness-check"]
    assert checks["code"]["command"] == ["CMD", "dagster", "api", "grpc-health-check", "--port", "4000"]
    for check in (checks["daemon"], checks["code"]):
        assert check["timeout"] >= 30 and check["interval"] > check["timeout"] and check["startPeriod"] >= 120
    env = {e["name"]: e["value"] for e in code["environment"]}
    assert env["FLIGHT_ALERTS_TOPIC_ARN"] == deployment.outputs["alerts_topic_arn"]
    assert env["FLIGHT_LAKE"] == deployment.outputs["lake_uri"]
    assert env["DAGSTER_CURRENT_IMAGE"].startswith(deployment.outputs["ecr_repository_url"])
    assert code["command"][:3] == ["dagster", "api", "grpc"] and "entryPoint" not in code
    assert [s["name"] for s in code["secrets"]] == ["DAGSTER_PG_PASSWORD"]
    # every variable deploy/dagster.yaml and workspace.yaml read is set on every service
    needed = set(re.findall(r"env: (\w+)", (DEPLOY / "dagster.yaml").read_text() +
                            (DEPLOY / "workspace.yaml").read_text())) - {"DAGSTER_PG_PASSWORD"}
    # ... and so is every variable EcsRunLauncher passes on to run tasks (env_vars)
    launcher = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["run_launcher"]["config"]
    needed |= set(launcher["env_vars"])
    for name, definition in definitions.items():
        container_env = {e["name"]: e["value"] for e in definition["containerDefinitions"][0]["environment"]}
        assert needed <= set(container_env), (name, needed - set(container_env))
        # ingest_snapshot_job polls with the Lambda's tier, box and credentials (read from the secret at run time:
        # an empty secret cannot stop a container from starting)
        assert container_env["OPENSKY_TIER"] == "licensed", name
        assert container_env["OPENSKY_SECRET_ARN"] == deployment.outputs["opensky_secret_arn"], name
        assert "OPENSKY_CLIENT_SECRET" not in container_env
    assert {"OPENSKY_TIER", "OPENSKY_BBOX", "OPENSKY_SECRET_ARN"} <= set(launcher["env_vars"])

    rds = deployment.client("rds").describe_db_instances()["DBInstances"]
    db = next(d for d in rds if d["DBInstanceIdentifier"] == PREFIX)
    assert db["StorageEncrypted"] and not db["PubliclyAccessible"] and db["Engine"] == "postgres"
    assert db["MasterUserSecret"]["SecretArn"]

    elb = deployment.client("elbv2")
    lb = next(b for b in elb.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"].startswith(PREFIX))
    assert lb["Scheme"] == "internal"
    groups = deployment.client("ec2").describe_security_groups(GroupIds=lb["SecurityGroups"])["SecurityGroups"]
    ingress = [(p["FromPort"], r["CidrIp"]) for g in groups for p in g["IpPermissions"] for r in p["IpRanges"]]
    assert ingress == [(80, ALLOWED_CIDR)]  # the allow-list and nothing else

    iam = deployment.client("iam")
    daemon = iam.get_role_policy(RoleName=f"{PREFIX}-dagster-daemon", PolicyName="daemon")["PolicyDocument"]
    daemon = json.loads(daemon) if isinstance(daemon, str) else daemon
    pass_role = next(s for s in daemon["Statement"] if s["Sid"] == "PassOnlyTheRunRoles")
    assert sorted(pass_role["Resource"]) == sorted([f"arn:aws:iam::123456789012:role/{PREFIX}-dagster-run",
                                                    f"arn:aws:iam::123456789012:role/{PREFIX}-ecs-execution"])
    for role, policy_name in ((f"{PREFIX}-dagster-code", "code"), (f"{PREFIX}-dagster-run", "run")):
        document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        read = next(st for st in document["Statement"] if st["Sid"] == "OpenSkyCredentials")
        assert read["Action"] == "secretsmanager:GetSecretValue", role
        assert read["Resource"] == deployment.outputs["opensky_secret_arn"], role
        key = next(st for st in document["Statement"] if st["Sid"] == "LakeKey")  # the secret's key
        assert "kms:Decrypt" in key["Action"] and key["Resource"] == deployment.outputs["kms_key_arn"]


# ====================================================================================== rotation, image tag, HTTPS


def _state_resources(deployment: Deployment) -> list[dict[str, Any]]:
    state = json.loads(deployment.tf.run("show", "-json", "-no-color").stdout)
    return [r for module in state["values"]["root_module"].get("child_modules", [])
            for r in module.get("resources", [])]


def _rotation_event(secret_arn: str) -> dict[str, Any]:
    """The event EventBridge receives when Secrets Manager rotated a secret (a CloudTrail service event)."""
    return {
        "version": "0", "id": "3c1a8f5e-0000-0000-0000-000000000000", "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager", "account": "123456789012", "time": "2026-12-04T12:00:00Z", "region": REGION,
        "resources": [],
        "detail": {"eventVersion": "1.08", "eventSource": "secretsmanager.amazonaws.com",
                   "eventName": "RotationSucceeded", "awsRegion": REGION, "eventType": "AwsServiceEvent",
                   "additionalEventData": {"SecretId": secret_arn}},
    }


def test_database_password_rotation_redeploys_the_services(deployment: Deployment) -> None:
    """RotationSucceeded of the RDS-managed secret → EventBridge → Step Functions → ECS force-new-deployment."""
    events, sfn, ecs = deployment.client("events"), deployment.client("stepfunctions"), deployment.client("ecs")
    cluster = deployment.outputs["ecs_cluster_name"]
    db_secret = deployment.client("rds").describe_db_instances(DBInstanceIdentifier=PREFIX)[
        "DBInstances"][0]["MasterUserSecret"]["SecretArn"]
    name = f"{PREFIX}-redeploy-on-db-rotation"
    rule = events.describe_rule(Name=name)
    # The rule matches the rotation of the database's secret, and nothing else (moto has no TestEventPattern API:
    # its own matcher, the one that routes events to a rule's targets, judges the deployed pattern).
    from moto.events.models import EventPattern

    pattern = EventPattern.load(rule["EventPattern"])
    assert pattern.matches_event(_rotation_event(db_secret))
    assert not pattern.matches_event(_rotation_event(db_secret[:-6] + "zzzzzz"))  # another secret
    failed = _rotation_event(db_secret)
    failed["detail"]["eventName"] = "RotationFailed"
    assert not pattern.matches_event(failed)

    [target] = events.list_targets_by_rule(Rule=name)["Targets"]
    machine = sfn.describe_state_machine(stateMachineArn=target["Arn"])
    assert json.loads(target["Input"]) == {"cluster": cluster, "services": ["code", "daemon", "webserver"]}
    definition = json.loads(machine["definition"])
    task = definition["States"]["RedeployEachService"]["ItemProcessor"]["States"]["ForceNewDeployment"]
    assert task["Resource"] == "arn:aws:states:::aws-sdk:ecs:updateService"
    assert task["Parameters"]["ForceNewDeployment"] is True

    # IAM: EventBridge may start only this state machine; the state machine may update only the three services.
    iam = deployment.client("iam")

    def policy(role: str, name: str) -> dict[str, Any]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        return json.loads(document) if isinstance(document, str) else document

    start = policy(target["RoleArn"].rsplit("/", 1)[1], "start-redeploy")["Statement"]
    assert start == [{"Sid": "StartTheRedeploy", "Effect": "Allow", "Action": "states:StartExecution",
                      "Resource": target["Arn"]}]
    statements = policy(machine["roleArn"].rsplit("/", 1)[1], "redeploy-services")["Statement"]
    update = next(st for st in statements if st["Sid"] == "RedeployTheDagsterServices")
    service_arns = {s["serviceName"]: s["serviceArn"] for s in ecs.describe_services(
        cluster=cluster, services=["webserver", "daemon", "code"])["services"]}
    assert sorted(update["Resource"]) == sorted(service_arns.values())
    assert "ecs:UpdateService" in update["Action"]

    # A failed redeploy pages whoever gets the alerts.
    alarm = deployment.client("cloudwatch").describe_alarms(AlarmNames=[f"{name}-failed"])["MetricAlarms"][0]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert alarm["AlarmActions"] == [deployment.outputs["alerts_topic_arn"]]

    # Run the state machine with exactly the input the rule sends, in moto's Step Functions interpreter, which
    # calls moto's ECS: every service gets a new deployment.
    previous_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(deployment.moto.port)  # where moto's interpreter sends its AWS calls
    try:
        execution = sfn.start_execution(stateMachineArn=target["Arn"], input=target["Input"])["executionArn"]
        deadline = time.monotonic() + 60
        while (status := sfn.describe_execution(executionArn=execution)["status"]) == "RUNNING":
            assert time.monotonic() < deadline, "the redeploy did not finish within 60 s"
            time.sleep(0.5)
    finally:
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port
    history = sfn.get_execution_history(executionArn=execution)["events"]
    assert status == "SUCCEEDED", [e for e in history if "Failed" in e["type"]]
    called = [json.loads(e["taskScheduledEventDetails"]["parameters"]) for e in history
              if e["type"] == "TaskScheduled"]
    assert sorted(c["Service"] for c in called) == ["code", "daemon", "webserver"]
    assert all(c["Cluster"] == cluster and c["ForceNewDeployment"] is True for c in called)
    updated = [json.loads(e["taskSucceededEventDetails"]["output"])["service"] for e in history
               if e["type"] == "TaskSucceeded"]  # ECS's UpdateService answers, one per service
    assert sorted(u["serviceName"] for u in updated) == ["code", "daemon", "webserver"]
    assert {u["serviceArn"] for u in updated} == set(service_arns.values())


def test_a_plain_apply_keeps_the_services_and_the_image(deployment: Deployment) -> None:
    """image_tag is set once (terraform.tfvars; here moto.auto.tfvars.json): a later plain plan changes no service."""
    tf = deployment.tf
    tf.run("plan", "-refresh=false", "-input=false", "-no-color", "-out=plain.plan", timeout=300)
    plan = json.loads(tf.run("show", "-json", "-no-color", "plain.plan").stdout)
    changes = {c["address"].split("module.dagster_ecs[0].", 1)[-1]: c for c in plan["resource_changes"]
               if c["type"] in ("aws_ecs_service", "aws_ecs_task_definition")}
    assert sorted(changes) == [f'{kind}.this["{name}"]' for kind in ("aws_ecs_service", "aws_ecs_task_definition")
                               for name in ("code", "daemon", "webserver")], sorted(changes)
    for address, change in changes.items():
        actions, before, after = change["change"]["actions"], change["change"]["before"], change["change"]["after"]
        if address.startswith("aws_ecs_task_definition."):  # untouched, so the image stays
            assert actions == ["no-op"], (address, actions)
            continue
        # Services stay (never deleted or replaced) on the same task definition and count. moto does not echo some
        # settings (deployment configuration and others), so the provider plans an in-place update to set them again;
        # on AWS that plan is empty.
        assert actions in (["no-op"], ["update"]), (address, actions)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        print(f"\n{address}: {actions[0]} of {changed} (attributes moto does not echo)")
        assert not {"task_definition", "desired_count", "name", "cluster"} & set(changed), (address, changed)
    images = {json.loads(c["change"]["after"]["container_definitions"])[0]["image"]
              for c in plan["resource_changes"] if c["type"] == "aws_ecs_task_definition"}
    assert images == {f"{deployment.outputs['ecr_repository_url']}:v1"}


def test_without_an_image_tag_there_are_no_services(deployment: Deployment) -> None:
    """The very first apply (terraform.tfvars without image_tag): everything but the task definitions and services."""
    (deployment.tf.workdir / "first.tfvars.json").write_text(json.dumps({"image_tag": None}))
    deployment.tf.run("plan", "-refresh=false", "-input=false", "-no-color", "-var-file=first.tfvars.json",
                      "-out=first.plan", timeout=300)
    plan = json.loads(deployment.tf.run("show", "-json", "-no-color", "first.plan").stdout)
    ecs = {c["address"].split("module.dagster_ecs[0].", 1)[-1]: c["change"]["actions"] for c in plan["resource_changes"]
           if c["address"].startswith("module.dagster_ecs[0].") and c["type"] in (
               "aws_ecs_service", "aws_ecs_task_definition", "aws_sfn_state_machine", "aws_cloudwatch_event_rule")}
    assert set(ecs) == {'aws_ecs_service.this["webserver"]', 'aws_ecs_service.this["daemon"]',
                        'aws_ecs_service.this["code"]', 'aws_ecs_task_definition.this["webserver"]',
                        'aws_ecs_task_definition.this["daemon"]', 'aws_ecs_task_definition.this["code"]',
                        "aws_sfn_state_machine.redeploy[0]", "aws_cloudwatch_event_rule.db_rotation[0]"}, ecs
    assert all(actions == ["delete"] for actions in ecs.values()), ecs
    # Deleted: only those and the rest of the rotation redeploy (it has no services to redeploy). The cluster, the
    # database and everything else stay (moto's unechoed attributes may show as in-place updates).
    others = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"]
              if c["address"].split("module.dagster_ecs[0].", 1)[-1] not in ecs}
    deleted = [a for a, actions in others.items() if "delete" in actions]
    assert all(re.fullmatch(r"module\.dagster_ecs\[0\]\.\w+\.(redeploy|db_rotation|db_rotation_events|redeploy_failed)"
                            r"\[0\]", a) for a in deleted), deleted
    assert any(a.endswith("aws_ecs_cluster.this") for a in others) and any(a.endswith("aws_db_instance.this")
                                                                          for a in others)


def test_image_tag_is_set_in_one_place_only() -> None:
    """No -var image_tag/create_ecs_services anywhere in the docs; the example sets image_tag once and nothing else."""
    docs = {path: path.read_text() for path in [REPO_ROOT / "README.md", DEPLOY / "README.md"]}
    for path, text in docs.items():
        assert not re.search(r"-var[ =]+['\"]?(image_tag|create_ecs_services)", text), path
        assert "create_ecs_services" not in text and "create_services" not in text, path
    example = (TERRAFORM_DIR / "envs" / "prod" / "terraform.tfvars.example").read_text()
    assert len(re.findall(r"^#?\s*image_tag\s*=", example, re.M)) == 1
    assert "create_ecs_services" not in example
    tf_sources = "".join(p.read_text() for p in TERRAFORM_DIR.rglob("*.tf"))
    assert "create_ecs_services" not in tf_sources and "var.create_services" not in tf_sources
    assert len(re.findall(r'variable "image_tag"', tf_sources)) == 2  # the root's, passed to the module's


def test_https_when_internet_facing(deployment: Deployment) -> None:
    """An internet-facing UI: HTTPS with the certificate, 80 only redirects, an alias record, a URL on its name."""
    tf = deployment.tf
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    tf.run("plan", "-refresh=false", "-input=false", "-no-color", "-var", "alb_internet_facing=true",
           "-var", f"certificate_arn={certificate}", "-var", "webserver_domain_name=dagster.example.com",
           "-var", "route53_zone_id=Z0123456789EXAMPLE", "-out=https.plan", timeout=300)
    plan = json.loads(tf.run("show", "-json", "-no-color", "https.plan").stdout)
    after = {c["address"].split("module.dagster_ecs[0].", 1)[-1]: c["change"]["after"]
             for c in plan["resource_changes"] if c["change"]["actions"] != ["delete"]}
    assert after["aws_lb.webserver"]["internal"] is False
    https = after["aws_lb_listener.https[0]"]
    assert https["port"] == 443 and https["protocol"] == "HTTPS" and https["certificate_arn"] == certificate
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    http = after["aws_lb_listener.http"]["default_action"][0]
    assert http["type"] == "redirect" and http["redirect"][0]["protocol"] == "HTTPS"
    assert http["redirect"][0]["port"] == "443" and http["redirect"][0]["status_code"] == "HTTP_301"
    record = after["aws_route53_record.webserver[0]"]
    assert record["name"] == "dagster.example.com" and record["type"] == "A"
    assert record["zone_id"] == "Z0123456789EXAMPLE"
    assert plan["planned_values"]["outputs"]["dagster_url"]["value"] == "https://dagster.example.com"
    ports = sorted(r["from_port"] for address, r in after.items() if address.startswith("aws_security_group_rule.alb_in"))
    assert ports == [80, 443]


@pytest.mark.parametrize("variables, message", [
    ({"alb_internet_facing": "true"}, "needs certificate_arn"),
    ({"alb_internet_facing": "true", "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
     "webserver_domain_name"),
    ({"route53_zone_id": "Z0123456789EXAMPLE"}, "route53_zone_id needs webserver_domain_name"),
])
def test_no_plain_http_ui_on_the_internet(deployment: Deployment, variables: dict[str, str], message: str) -> None:
    args = [arg for name, value in variables.items() for arg in ("-var", f"{name}={value}")]
    result = deployment.tf.run("plan", "-refresh=false", "-input=false", "-no-color", *args, timeout=300, check=False)
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split()), result.stderr[-2000:]


# Last: everything above reads the deployment.
def test_destroy_leaves_nothing_behind(deployment: Deployment) -> None:
    deployment.destroy()
    after = inventory(deployment.moto)
    left = {kind: sorted(after[kind] - deployment.before[kind]) for kind in after if after[kind] - deployment.before[kind]}
    assert not left, f"left behind after terraform destroy: {left}"
