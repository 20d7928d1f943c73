"""The local Dagster instance of `make dev`/`make demo` (dev/dagster.yaml): valid, monitored, one run per hour."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from flight_assets_tests.conftest import REPO_ROOT

DEV_YAML = REPO_ROOT / "dev" / "dagster.yaml"
PARTITION_LIMIT = {"key": "dagster/partition", "limit": 1, "value": {"applyLimitPerUniqueValue": True}}


def test_dev_instance_config_loads_with_run_monitoring_and_one_run_per_partition(tmp_path: Path) -> None:
    from dagster import DagsterInstance
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEV_YAML, home / "dagster.yaml")
    # from_config validates the file against the instance schema and builds every component it names.
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert 0 < instance.run_monitoring_start_timeout_seconds <= 300
        assert 0 < instance.run_monitoring_settings["poll_interval_seconds"] <= 30
        assert isinstance(instance.run_launcher, DefaultRunLauncher)
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 2
        assert queue.tag_concurrency_limits == [PARTITION_LIMIT]
        # One hourly build at a time on a 2-core laptop (the `hourly_tables` pool of the hourly multi-asset).
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    # The ECS instance holds the same one-run-per-hour limit and a pool of parallel builds; it loads too.
    deploy = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    assert PARTITION_LIMIT in deploy["concurrency"]["runs"]["tag_concurrency_limits"]
    assert deploy["concurrency"]["pools"]["default_limit"] == 3


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_copies_the_dev_instance_only_into_a_home_without_one(tmp_path: Path) -> None:
    home = tmp_path / "home dir"  # a space: the recipe quotes the path
    make = ["make", "--no-print-directory", "-C", str(REPO_ROOT), f"DAGSTER_HOME={home}"]
    subprocess.run([*make, "dagster-home"], check=True, capture_output=True, timeout=60)
    assert (home / "dagster.yaml").read_bytes() == DEV_YAML.read_bytes()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # the user's own file stays
    subprocess.run([*make, "dagster-home"], check=True, capture_output=True, timeout=60)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    # `make dev` and `make demo` run that step before starting Dagster.
    for target in ("dev", "demo"):
        dry = subprocess.run([*make, "-n", target], check=True, capture_output=True, text=True, timeout=60).stdout
        assert "cp dev/dagster.yaml" in dry, dry
