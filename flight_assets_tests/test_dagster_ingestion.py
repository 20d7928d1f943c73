"""The Dagster side of ingestion against a real DagsterInstance, fake-opensky and a real lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from flight_assets.defs.ingestion.sensors import raw_landing_sensor
from flight_assets.defs.poll.sensors import opensky_poll_sensor, poll_run_key
from flight_assets.ingestion.poll import compress_body, land_recorded
from flight_assets.ingestion.spool import Spool
from flight_assets.lake.store import LocalLake
from flight_assets.opensky.governor import CreditGovernor
from flight_assets.opensky.snapshot import parse_snapshot
from flight_assets.poll_definitions import defs
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets_tests.hour_data import GLOBAL
from flight_assets_tests.servers import EchoingOpenSky


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, opensky_data: Path) -> Iterator[LocalLake]:
    with FakeOpenSky(FakeOpenSkyConfig(replay=[str(opensky_data / GLOBAL)], credits=1_000)) as server:
        monkeypatch.setenv("OPENSKY_API_URL", server.api_url)
        monkeypatch.setenv("FLIGHT_LAKE", str(tmp_path / "lake"))
        yield LocalLake(tmp_path / "lake")


def raw_materializations(instance: dg.DagsterInstance) -> list[dg.AssetMaterialization]:
    records = instance.fetch_materializations(dg.AssetKey("raw_snapshots"), limit=100).records
    return [r.asset_materialization for r in records if r.asset_materialization]


def test_ingest_job_lands_and_reports_the_partition(instance: dg.DagsterInstance, local_env: LocalLake) -> None:
    result = defs.resolve_job_def("ingest_snapshot_job").execute_in_process(instance=instance)
    assert result.success
    [materialization] = raw_materializations(instance)
    assert materialization.partition == "2025-08-30-18:00"
    meta = materialization.metadata
    assert meta["states"].value == 10_578 and meta["snapshots_in_hour"].value == 1
    assert meta["writer"].value == "dagster" and meta["bytes_in_hour"].value > 300_000
    assert [o.key for o in local_env.list("raw/")] == [meta["key"].value]
    # A second run inside the same cadence slot is a skip, not a failure, and reports nothing new.
    again = defs.resolve_job_def("ingest_snapshot_job").execute_in_process(instance=instance)
    assert again.success and len(raw_materializations(instance)) == 1


def test_ingest_job_fails_with_the_reason(instance: dg.DagsterInstance, local_env: LocalLake,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSKY_API_URL", "http://127.0.0.1:9/api")  # nothing listens on the discard port
    result = defs.resolve_job_def("ingest_snapshot_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure is not None and "could not get a response" in (failure.description or "")


def test_poll_sensor_requests_one_run_per_slot_and_respects_the_governor(
    instance: dg.DagsterInstance, local_env: LocalLake
) -> None:
    assert poll_run_key(1_756_577_880.0) == poll_run_key(1_756_577_909.9) == "poll-1756577880"
    assert poll_run_key(1_756_577_910.0) == "poll-1756577910"
    request = opensky_poll_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(request, dg.RunRequest) and request.run_key and request.run_key.startswith("poll-")
    CreditGovernor(local_env, "anonymous").claim()  # someone just polled: the next slot is 864 s away
    skipped = opensky_poll_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason) and "next poll due" in (skipped.skip_message or "")


def test_landing_sensor_reports_snapshots_written_outside_dagster(
    instance: dg.DagsterInstance, local_env: LocalLake, opensky_data: Path
) -> None:
    list(land_recorded(local_env, [opensky_data / GLOBAL, opensky_data / "states_small_20180213.json"]))
    context = dg.build_sensor_context(instance=instance)
    result = raw_landing_sensor(context)
    assert isinstance(result, dg.SensorResult)
    events = {e.partition: e for e in result.asset_events}
    assert set(events) == {"2025-08-30-18:00", "2018-02-13-20:00"}
    assert events["2025-08-30-18:00"].metadata["states"].value == 10_578
    assert events["2025-08-30-18:00"].metadata["snapshots_in_hour"].value == 1
    # Nothing new: a skip, and the cursor moves on.
    second = raw_landing_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
    assert isinstance(second, dg.SensorResult) and not second.asset_events
    # A late snapshot in a recent hour that sorts before the newest key is still found.
    body = b'{"time": 1756577000, "states": null}'
    late = local_env.root.parent / "late.json"
    late.write_bytes(body)
    list(land_recorded(local_env, [late]))
    third = raw_landing_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
    assert isinstance(third, dg.SensorResult)
    assert [(e.partition, e.metadata["new_snapshots"].value) for e in third.asset_events] == [("2025-08-30-18:00", 1)]


def test_landing_sensor_skips_what_the_poll_job_reported(instance: dg.DagsterInstance, local_env: LocalLake) -> None:
    assert defs.resolve_job_def("ingest_snapshot_job").execute_in_process(instance=instance).success
    result = raw_landing_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult) and not result.asset_events


@pytest.mark.parametrize("token", ["error", "ok"])
def test_ingest_job_stores_no_secret(instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     token: str) -> None:
    # The endpoint echoes the client secret (or the API the bearer token) into its error; the run's failure,
    # its event log and every metadata value in Dagster's storage must hold neither.
    secret = "s3cr3t-0f-the-dagster-test"
    with EchoingOpenSky(token) as echo:
        for name, value in {"OPENSKY_API_URL": f"{echo.url}/api", "OPENSKY_TOKEN_URL": f"{echo.url}/token",
                            "OPENSKY_CLIENT_ID": "me", "OPENSKY_CLIENT_SECRET": secret, "OPENSKY_TIER": "standard",
                            "FLIGHT_LAKE": str(tmp_path / "lake")}.items():
            monkeypatch.setenv(name, value)
        result = defs.resolve_job_def("ingest_snapshot_job").execute_in_process(instance=instance,
                                                                                 raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure is not None and "***" in (failure.description or "")
    stored = "".join(serialize_value(entry) for entry in instance.all_logs(result.run_id))
    assert "***" in stored
    assert secret[:6] not in stored and EchoingOpenSky.TOKEN[:12] not in stored


def test_ingest_job_lands_and_reports_a_spooled_snapshot_first(instance: dg.DagsterInstance,
                                                               local_env: LocalLake) -> None:
    # An earlier poll fetched this body and could not land it; this run lands it before its own and reports both.
    body = json.dumps({"time": 1_756_577_853, "states": None}).encode()
    Spool(os.environ["FLIGHT_SPOOL_DIR"], local_env.uri).keep(
        f"1756577853_{parse_snapshot(body).sha8}", compress_body(body), {"writer": "dagster", "http-status": "200"})
    result = defs.resolve_job_def("ingest_snapshot_job").execute_in_process(instance=instance)
    assert result.success
    materializations = raw_materializations(instance)
    assert len(materializations) == 2 and {m.partition for m in materializations} == {"2025-08-30-18:00"}
    keys = sorted(m.metadata["key"].value for m in materializations)
    assert [o.key for o in local_env.list("raw/")] == keys
    assert keys[0].endswith(f"1756577853_{parse_snapshot(body).sha8}.json.gz")


@pytest.mark.slow  # `dagster job execute` as a process
def test_a_real_run_process_writes_no_secret_to_any_file_of_the_instance(tmp_path: Path) -> None:
    # The same echoing endpoint, through a real run process (`dagster job execute`): its SQLite event and run
    # storage and its compute logs (stdout/stderr captured under DAGSTER_HOME) must not hold the secret.
    secret = "s3cr3t-0f-the-compute-log-test"
    home = tmp_path / "home"
    home.mkdir()
    with EchoingOpenSky("error") as echo:
        env = {**os.environ, "DAGSTER_HOME": str(home), "FLIGHT_LAKE": str(tmp_path / "lake"),
               "OPENSKY_API_URL": f"{echo.url}/api", "OPENSKY_TOKEN_URL": f"{echo.url}/token",
               "OPENSKY_CLIENT_ID": "me", "OPENSKY_CLIENT_SECRET": secret, "OPENSKY_TIER": "standard"}
        result = subprocess.run([str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m",
                                 "flight_assets.poll_definitions", "-j", "ingest_snapshot_job"],
                                env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "***" in result.stdout + result.stderr  # it failed, saying what was echoed
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix in (".out", ".err", ".complete") for p in files), files  # compute logs were written
    assert any(p.name.endswith(".db") for p in files)
    for path in files:
        data = path.read_bytes()
        assert secret[:6].encode() not in data, path
    assert secret[:6] not in result.stdout + result.stderr
