"""A snapshot of every definition in both code locations, in the spirit of dagster-open-platform's test_defs.py:
a rename, a lost check or a sensor that stopped being on by default shows up here, not in production."""

from __future__ import annotations

import dagster as dg

from flight_assets.definitions import defs
from flight_assets.poll_definitions import defs as poller_defs


def test_definitions_load_and_validate() -> None:
    dg.Definitions.validate_loadable(defs)
    dg.Definitions.validate_loadable(poller_defs)


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
    assets_def = defs.resolve_assets_def("validated_states")
    assert assets_def is defs.resolve_assets_def("country_aggregates")  # one step builds both, hour by hour
    assert assets_def.node_def.name == "hourly_tables" and assets_def.can_subset
    assert assets_def.backfill_policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=24)
    assert assets_def.op.retry_policy == dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL,
                                                        jitter=dg.Jitter.PLUS_MINUS)
    assert assets_def.op.pool == "hourly_tables"
    for name in ("raw_snapshots", "validated_states", "country_aggregates"):
        node = graph.get(dg.AssetKey(name))
        assert node.freshness_policy is not None and node.owners == ["team:flight-data"]
        assert node.tags["layer"] == {"raw_snapshots": "bronze", "validated_states": "silver",
                                      "country_aggregates": "gold"}[name]
    for name in ("validated_states", "country_aggregates"):
        node = graph.get(dg.AssetKey(name))
        assert node.automation_condition is not None and node.automation_condition.get_label() == "eager"
        assert "dagster/column_schema" in node.metadata and "dagster/code_references" in node.metadata
        assert node.description
    lineage = graph.get(dg.AssetKey("country_aggregates")).metadata["dagster/column_lineage"]
    assert {d.column_name for d in lineage.deps_by_column["avg_velocity_ms"]} == {"velocity", "on_ground"}
    columns = [c.name for c in graph.get(dg.AssetKey("validated_states")).metadata["dagster/column_schema"].columns]
    assert columns[:3] == ["snapshot_time", "icao24", "callsign"] and "source_key" in columns


def test_raw_freshness_follows_the_planned_cadence() -> None:
    from datetime import timedelta

    from flight_assets.defs.ingestion.assets import raw_freshness_policy

    def windows(cadence_s: int) -> tuple[timedelta, timedelta]:
        policy = raw_freshness_policy(cadence_s)
        return policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()

    assert windows(30) == (timedelta(minutes=2), timedelta(minutes=5))  # licensed tier: red 5 min after the last
    assert windows(864) == (timedelta(seconds=2592), timedelta(seconds=5184))  # anonymous global: every 14.4 min


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
                        ("country_aggregates", "reconciliation"), ("country_aggregates", "has_countries")}
    assert all(isinstance(spec.partitions_def, dg.HourlyPartitionsDefinition) for spec in checks.values())
    assert all(spec.description for spec in checks.values())


def test_jobs_schedules_and_sensors() -> None:
    job_names = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert job_names == {"hourly_states_job"}
    assert not list(defs.schedules or [])  # the hourly build is declarative automation now
    sensors = {s.name: s for s in defs.sensors or []}
    assert set(sensors) == {"raw_landing_sensor", "hourly_tables_automation", "run_failure_alert_sensor",
                            "gap_repair_sensor"}
    # Failed polls alert too, although the poller is a code location of its own (Dagster keeps the flag private).
    assert sensors["run_failure_alert_sensor"]._monitor_all_code_locations  # noqa: SLF001
    repair = sensors["gap_repair_sensor"]
    assert repair.minimum_interval_seconds == 300 and not repair.has_jobs  # reports events, starts no run
    assert repair.description and "time=" in repair.description
    automation = sensors["hourly_tables_automation"]
    assert isinstance(automation, dg.AutomationConditionSensorDefinition)
    assert automation.default_status == dg.DefaultSensorStatus.RUNNING
    assert automation.minimum_interval_seconds == 30
    assert set(defs.resources or {}) == {"lake", "duckdb"}  # OpenSky is the poller's alone


def test_the_poller_location_holds_the_poll_job_and_its_sensor_only() -> None:
    assert {job.name for job in poller_defs.resolve_all_job_defs()} == {"ingest_snapshot_job"}
    assert poller_defs.resolve_job_def("ingest_snapshot_job").executor_def.name == "in_process"
    assert not list(poller_defs.assets or []) and not list(poller_defs.schedules or [])
    [poll] = poller_defs.sensors or []
    assert poll.name == "opensky_poll_sensor"
    assert poll.minimum_interval_seconds == 30 and poll.job_name == "ingest_snapshot_job"
    assert poll.default_status == dg.DefaultSensorStatus.RUNNING  # local lake by default
    assert set(poller_defs.resources or {}) == {"lake", "opensky"}
