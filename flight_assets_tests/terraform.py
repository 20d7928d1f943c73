"""Helpers for the deployment tests: find Terraform and a local AWS provider mirror, run Terraform in a scratch copy.

Nothing here writes into the repository: every `terraform init` runs in a copy of deploy/terraform under a temporary
directory, so no `.terraform/`, lock file or state is ever left in the work tree.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = REPO_ROOT / "deploy" / "terraform"
ENV_ROOTS = sorted(p for p in (TERRAFORM_DIR / "envs").iterdir() if p.is_dir())
MODULES = sorted(p for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir())
MIN_PROVIDER = (5, 100)

# Where a filesystem mirror of providers usually lives (the "plugin dir" holds registry.terraform.io/).
_MIRROR_ROOTS = (
    Path("/opt"),
    Path("/usr/local"),
    Path("/usr/local/share"),
    Path("/usr/share"),
    Path.home() / ".terraform.d",
    Path.home() / ".local" / "share" / "terraform",
)

# Every AWS API the configuration calls; moto's one server answers them all.
MOTO_SERVICES = (
    "athena", "cloudwatch", "ec2", "ecr", "ecs", "elbv2", "events", "glue", "iam", "kms", "lambda", "logs", "rds",
    "route53", "s3", "secretsmanager", "servicediscovery", "sfn", "sns", "sqs", "sts",
)


def terraform_binary() -> str | None:
    return shutil.which("terraform")


def _platform_dir() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def find_provider_mirror() -> Path | None:
    """The plugin directory (the one holding registry.terraform.io/) of a local hashicorp/aws >= 5.100 mirror.

    TF_PROVIDER_MIRROR names it explicitly; otherwise the usual roots are searched a few levels deep.
    """
    explicit = os.environ.get("TF_PROVIDER_MIRROR")
    roots = [Path(explicit)] if explicit else list(_MIRROR_ROOTS)
    wanted_platform = _platform_dir()
    for root in roots:
        if not root.is_dir():
            continue
        for depth in range(4):
            pattern = "/".join(["*"] * depth + ["registry.terraform.io", "hashicorp", "aws", "5.*", wanted_platform,
                                                "terraform-provider-aws*"])
            for hit in sorted(root.glob(pattern)):
                try:
                    version = tuple(int(part) for part in hit.parents[1].name.split(".")[:2])
                except ValueError:
                    continue
                if version >= MIN_PROVIDER:
                    return hit.parents[5]
    return None


def copy_tree(destination: Path) -> Path:
    """A scratch copy of deploy/terraform (without any local Terraform state) under `destination`."""
    target = destination / "terraform"
    shutil.copytree(
        TERRAFORM_DIR, target,
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "*_override.tf"),
    )
    return target


class Terraform:
    """Runs the terraform CLI in one directory with a throwaway CLI config and data dir."""

    def __init__(self, binary: str, workdir: Path, plugin_dir: Path, scratch: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.plugin_dir = plugin_dir
        cli_config = scratch / "terraformrc"
        cli_config.touch()
        self.env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config),  # no user config, no plugin cache from outside
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        for name in ("TF_DATA_DIR", "TF_PLUGIN_CACHE_DIR", "TF_WORKSPACE"):
            self.env.pop(name, None)

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.binary, *args], cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-60:])
            raise AssertionError(f"terraform {' '.join(args)} failed in {self.workdir} (exit {result.returncode}):\n{tail}")
        return result

    def init(self) -> None:
        self.run("init", "-backend=false", "-input=false", "-no-color", f"-plugin-dir={self.plugin_dir}", timeout=300)

    def output(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json", "-no-color").stdout)
        return {name: value["value"] for name, value in raw.items()}


def moto_override(endpoint: str) -> str:
    """A test-only `*_override.tf`: the same provider, pointed at moto's server on loopback.

    skip_requesting_account_id stays false: with it the provider builds some ARNs (Athena workgroups) without an
    account id, which moto then cannot find; moto's STS answers GetCallerIdentity like AWS.
    """
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in MOTO_SERVICES)
    return f"""provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = false
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""
