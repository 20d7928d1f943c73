"""The offline demo: history landed and built in the DAGSTER_HOME instance; `--serve` stops all it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import requests
from dagster._core.instance.ref import InstanceRef

from flight_assets.defs.partitions import hourly_partitions
from flight_assets_tests.servers import free_port, poll_until

pytestmark = pytest.mark.slow  # runs the demo and dagster dev as subprocesses


def test_demo_lands_and_builds_closed_hours(tmp_path: Path) -> None:
    home, lake = tmp_path / "home", tmp_path / "lake"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "FLIGHT_LAKE": str(lake)}
    result = subprocess.run([sys.executable, "-m", "flight_assets.cli", "demo", "--hours", "2", "--aircraft", "300"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "landed 240/240 simulated snapshots" in result.stdout and "succeeded" in result.stdout
    assert len(list((lake / "raw").rglob("*.json.gz"))) == 240
    # The hours the demo says it built (not recomputed from the clock, which moved on while it ran).
    [first, last] = re.search(r"building (\S+) … (\S+) in one run", result.stdout).groups()  # type: ignore[union-attr]
    expected = set(hourly_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)))
    assert len(expected) == 2
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        [run] = instance.get_runs()
        assert run.is_success
        partitions = {r.partition_key for r in instance.fetch_materializations(
            dg.AssetKey("country_aggregates"), limit=10).records}
        # What each check's Partitions tab shows: a result per hour, tied to that hour's materialization.
        check_keys = [dg.AssetCheckKey(dg.AssetKey("validated_states"), "quality_score"),
                      dg.AssetCheckKey(dg.AssetKey("country_aggregates"), "reconciliation")]
        infos = instance.event_log_storage.get_asset_check_partition_info(check_keys)
        current = {(i.check_key.name, i.partition_key) for i in infos
                   if i.is_current and i.latest_execution_status.value == "SUCCEEDED"}
    assert partitions == expected
    assert current == {(k.name, hour) for k in check_keys for hour in expected}


def test_demo_serve_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    ui_port, fake_port = free_port(), free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "FLIGHT_LAKE": str(tmp_path / "lake")}
    demo = subprocess.Popen(
        [sys.executable, "-m", "flight_assets.cli", "demo", "--serve", "--hours", "0", "--aircraft", "100",
         "--ui-port", str(ui_port), "--fake-port", str(fake_port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        def ui_up() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{ui_port}/server_info", timeout=2).ok
            except requests.RequestException:
                return False

        poll_until(ui_up, 120, "the demo's Dagster UI")
        assert requests.get(f"http://127.0.0.1:{fake_port}/_control/state", timeout=2).ok
        os.kill(demo.pid, signal.SIGINT)  # what Ctrl-C sends
        assert demo.wait(timeout=60) == 0
        for port in (ui_port, fake_port):
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                raise AssertionError(f"something still listens on {port}")
            except requests.ConnectionError:
                pass
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
