"""A snapshot of every definition in the code location, in the spirit of dagster-open-platform's test_defs.py:
a rename or a lost sensor shows up here, not in production."""

from __future__ import annotations

import dagster as dg

from flight_assets.definitions import defs


def test_definitions_load_and_validate() -> None:
    dg.Definitions.validate_loadable(defs)


def test_asset_keys_and_partitions() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw_snapshots"} <= keys
    raw = graph.get(dg.AssetKey("raw_snapshots"))
    partitions = raw.partitions_def
    assert isinstance(partitions, dg.HourlyPartitionsDefinition) and partitions.timezone == "UTC"
    assert partitions.get_first_partition_key() == "2025-01-01-00:00"
    assert not raw.is_materializable  # landed outside runs, reported by the job and the landing sensor


def test_jobs_sensors_and_schedules() -> None:
    job_names = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert {"ingest_snapshot_job"} <= job_names
    sensors = {sensor.name: sensor for sensor in defs.sensors or []}
    assert {"opensky_poll_sensor", "raw_landing_sensor"} <= set(sensors)
    poll = sensors["opensky_poll_sensor"]
    assert poll.minimum_interval_seconds == 30 and poll.job_name == "ingest_snapshot_job"
    job = defs.resolve_job_def("ingest_snapshot_job")
    assert job.executor_def.name == "in_process"
