"""The hourly tables' automation conditions, evaluated by Dagster's own evaluator against a real instance and lake:
a closed hour with raw data is built once, a late snapshot rebuilds it, an hour without raw data is never requested,
an hour in progress is not requested again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from flight_assets.definitions import defs
from flight_assets.lake.store import LocalLake
from flight_assets_tests.hour_data import land_bodies, load_global, retimed_body

HOUR = "2025-08-30-18:00"
HOUR_START = 1_756_576_800
VALIDATED, AGGREGATES = dg.AssetKey("validated_states"), dg.AssetKey("country_aggregates")


@pytest.fixture
def lake(configured_lake: LocalLake) -> LocalLake:
    return configured_lake


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2025, 8, 30, hour, minute, second, tzinfo=UTC)


class Automation:
    """Successive ticks of the automation, as the sensor's daemon would evaluate them (cursor carried over)."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.cursor: Any = None

    def tick(self, when: datetime) -> dict[dg.AssetKey, set[str | None]]:
        result = dg.evaluate_automation_conditions(defs=defs, instance=self.instance, evaluation_time=when,
                                                   cursor=self.cursor)
        self.cursor = result.cursor
        return {key: result.get_requested_partitions(key) for key in (VALIDATED, AGGREGATES)
                if result.get_requested_partitions(key)}


def report_raw(instance: dg.DagsterInstance, partition: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_snapshots", partition=partition))


def build(instance: dg.DagsterInstance, partition: str) -> None:
    result = defs.resolve_job_def("hourly_states_job").execute_in_process(
        instance=instance, partition_key=partition, raise_on_error=False)
    assert result.success


def test_closed_hour_is_built_once_rebuilt_on_a_late_snapshot_and_empty_hours_never(
    instance: dg.DagsterInstance, lake: LocalLake, opensky_data: Path
) -> None:
    automation = Automation(instance)
    assert automation.tick(at(18, 30)) == {}  # first tick: nothing to do
    land_bodies(lake, [retimed_body(load_global(opensky_data), HOUR_START + 60)])
    report_raw(instance, HOUR)  # the open hour's snapshot: the hour is not a partition until it closes
    assert automation.tick(at(18, 45)) == {}
    # 19:00:30: hour 18 closed, raw data exists -> both tables requested for that hour, in one evaluation.
    assert automation.tick(at(19, 0, 30)) == {VALIDATED: {HOUR}, AGGREGATES: {HOUR}}
    build(instance, HOUR)
    assert automation.tick(at(19, 1)) == {}  # built: nothing more
    report_raw(instance, HOUR)  # a late snapshot of hour 18, reported after its build
    assert automation.tick(at(19, 2)) == {VALIDATED: {HOUR}, AGGREGATES: {HOUR}}
    build(instance, HOUR)
    # 20:00:30: hour 19 closed without any raw snapshot -> never requested, now or later.
    assert automation.tick(at(20, 0, 30)) == {}
    assert automation.tick(at(20, 5)) == {}


@pytest.mark.parametrize("queued_run", [False, True], ids=["no run", "run queued"])
def test_an_hour_in_progress_is_not_requested_again(instance: dg.DagsterInstance, lake: LocalLake,
                                                    queued_run: bool) -> None:
    automation = Automation(instance)
    automation.tick(at(18, 30))
    report_raw(instance, HOUR)
    if queued_run:  # e.g. a manual run of the hour, created (its planned materializations recorded), not finished
        instance.create_run_for_job(defs.resolve_job_def("hourly_states_job"), tags={"dagster/partition": HOUR},
                                    asset_selection=frozenset({VALIDATED, AGGREGATES}))
    expected = {} if queued_run else {VALIDATED: {HOUR}, AGGREGATES: {HOUR}}
    assert automation.tick(at(19, 0, 30)) == expected
