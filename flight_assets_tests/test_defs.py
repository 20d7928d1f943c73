"""A snapshot of every definition in the code location, in the spirit of dagster-open-platform's test_defs.py:
a rename, a lost check or a sensor that stopped being on by default shows up here, not in production."""

from __future__ import annotations

import dagster as dg

from flight_assets.definitions import defs


def test_definitions_load_and_validate() -> None:
    dg.Definitions.validate_loadable(defs)


def test_assets_groups_and_partitions() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"raw_snapshots", "validated_states", "country_aggregates"}
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"raw_snapshots": "ingestion", "validated_states": "validation",
                      "country_aggregates": "aggregation"}
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        assert isinstance(partitions, dg.HourlyPartitionsDefinition) and partitions.timezone == "UTC"
        assert partitions.get_first_partition_key() == "2025-01-01-00:00"
    assert not graph.get(dg.AssetKey("raw_snapshots")).is_materializable  # landed outside runs
    assert graph.get(dg.AssetKey("validated_states")).parent_keys == {dg.AssetKey("raw_snapshots")}
    assert graph.get(dg.AssetKey("country_aggregates")).parent_keys == {dg.AssetKey("validated_states")}
    for name in ("validated_states", "country_aggregates"):
        assets_def = defs.resolve_assets_def(name)
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run()
        assert graph.get(dg.AssetKey(name)).freshness_policy is not None


def test_asset_checks() -> None:
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert set(checks) == {
        ("validated_states", "schema_contract"), ("validated_states", "quality_score"),
        ("validated_states", "no_duplicate_states"), ("validated_states", "value_ranges"),
        ("validated_states", "completeness"), ("validated_states", "row_count_anomaly"),
        ("country_aggregates", "reconciliation"), ("country_aggregates", "has_countries"),
    }
    blocking = {key for key, spec in checks.items() if spec.blocking}
    assert blocking == {("validated_states", "schema_contract"), ("validated_states", "quality_score"),
                        ("validated_states", "no_duplicate_states"), ("validated_states", "value_ranges"),
                        ("country_aggregates", "reconciliation")}
    assert all(isinstance(spec.partitions_def, dg.HourlyPartitionsDefinition) for spec in checks.values())


def test_jobs_schedules_and_sensors() -> None:
    job_names = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert job_names == {"ingest_snapshot_job", "hourly_states_job"}
    assert defs.resolve_job_def("ingest_snapshot_job").executor_def.name == "in_process"
    schedules = {s.name: s for s in defs.schedules or []}
    assert set(schedules) == {"hourly_states_schedule"}
    schedule = defs.resolve_schedule_def("hourly_states_schedule")
    assert schedule.cron_schedule == "5 * * * *" and schedule.job_name == "hourly_states_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    sensors = {s.name: s for s in defs.sensors or []}
    assert set(sensors) == {"opensky_poll_sensor", "raw_landing_sensor", "late_snapshot_sensor",
                            "run_failure_alert_sensor"}
    poll = sensors["opensky_poll_sensor"]
    assert poll.minimum_interval_seconds == 30 and poll.job_name == "ingest_snapshot_job"
    assert poll.default_status == dg.DefaultSensorStatus.RUNNING  # local lake by default
    assert sensors["late_snapshot_sensor"].job_name == "hourly_states_job"
    assert set(defs.resources or {}) == {"lake", "opensky", "duckdb"}
