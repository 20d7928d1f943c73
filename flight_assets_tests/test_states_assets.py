"""validated_states and country_aggregates through a real DagsterInstance, on real data landed like production."""

from __future__ import annotations

import gzip
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import pytest

from flight_assets.definitions import defs
from flight_assets.defs.partitions import hourly_partitions
from flight_assets.lake.hourly_tables import partition_key_path
from flight_assets.lake.layout import (
    COUNTRY_AGGREGATES_PREFIX,
    QUARANTINE_STATES_PREFIX,
    VALIDATED_STATES_PREFIX,
)
from flight_assets.lake.store import LocalLake
from flight_assets_tests.hour_data import GLOBAL, land_bodies, load_global, retimed_body

HOUR = "2025-08-30-18:00"
HOUR_START = 1_756_576_800


@pytest.fixture
def lake(configured_lake: LocalLake) -> LocalLake:
    return configured_lake


@pytest.fixture(scope="module")
def global_doc(opensky_data: Path) -> dict[str, Any]:
    return load_global(opensky_data)


def run_hours(instance: dg.DagsterInstance, first: str, last: str | None = None) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("hourly_states_job")
    if last is None:
        return job.execute_in_process(instance=instance, partition_key=first, raise_on_error=False)
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name, e.partition or ""): e
        for e in (event.event_specific_data for event in result.all_events
                  if event.event_type_value == "ASSET_CHECK_EVALUATION")
    }


def materializations(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, dg.AssetMaterialization]:
    events = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    return {m.partition: m for m in events if m.asset_key.to_user_string() == asset and m.partition}


BAD_ROWS = [
    ["XYZ123", "BAD1    ", "Nowhere", HOUR_START + 100, HOUR_START + 100, 1.0, 2.0, 100, False, 10, 10, 0, None,
     100, None, False, 0],  # bad icao24
    ["abc123", "BAD2    ", "Nowhere", HOUR_START + 100, HOUR_START + 100, 1.0, 95.0, 100, False, 10, 10, 0, None,
     100, None, False, 0],  # latitude out of range
    ["abc124", "BAD3    ", "Nowhere", HOUR_START + 100, None, 1.0, 2.0, 100, False, 10, 10, 0, None, 100, None,
     False, 0],  # no last_contact
    ["abc125", "BAD4    ", "Nowhere", HOUR_START + 100, HOUR_START + 100, 1.0, 2.0, 100, False, 10, 10, 0, None,
     100, None, False, 9],  # unknown position_source
]


def test_hour_validates_aggregates_and_reports(instance: dg.DagsterInstance, lake: LocalLake,
                                               global_doc: dict[str, Any]) -> None:
    # One snapshot per 864-s slot that the anonymous tier's governor plans: 3 real, 1 crafted, 1 real.
    bodies = [retimed_body(global_doc, HOUR_START + 60 + 864 * i) for i in (0, 1, 2)]
    bodies.append(retimed_body(global_doc, HOUR_START + 3500))
    bodies.append(json.dumps({"time": HOUR_START + 3000, "states": BAD_ROWS + [global_doc["states"][0]] * 2})
                  .encode())
    land_bodies(lake, bodies)
    result = run_hours(instance, HOUR)
    assert result.success
    validated = pq.read_table(lake.root / partition_key_path(VALIDATED_STATES_PREFIX, HOUR))
    quarantine = pq.read_table(lake.root / partition_key_path(QUARANTINE_STATES_PREFIX, HOUR))
    assert validated.num_rows == 4 * 10_578 + 1
    reasons = sorted(quarantine["reason"].to_pylist())
    assert len(reasons) == 5 and "duplicate_state" in " ".join(reasons)  # the repeated row after the first
    assert all(json.loads(raw)[0] for raw in quarantine["raw_row"].to_pylist())  # the original row is kept
    meta = materializations(result, "validated_states")[HOUR].metadata
    assert meta["rows"].value == validated.num_rows and meta["quarantined_rows"].value == 5
    assert meta["snapshots"].value == 5 and meta["distinct_aircraft"].value >= 10_578
    assert 0.99 < meta["quality_score"].value < 1.0
    checks = check_results(result)
    assert {name for (_, name, _) in checks} == {"schema_contract", "quality_score", "no_duplicate_states",
                                                "value_ranges", "completeness", "row_count_anomaly",
                                                "reconciliation", "has_countries"}
    assert all(partition == HOUR for (_, _, partition) in checks)
    assert checks[("validated_states", "quality_score", HOUR)].passed
    completeness = checks[("validated_states", "completeness", HOUR)]
    assert completeness.passed and completeness.metadata["expected_snapshots"].value == 5  # anonymous: 864 s
    assert checks[("country_aggregates", "reconciliation", HOUR)].passed
    aggregates = pq.read_table(lake.root / partition_key_path(COUNTRY_AGGREGATES_PREFIX, HOUR))
    assert sum(aggregates["states"].to_pylist()) == validated.num_rows
    # The check results are stored per partition in the instance.
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("validated_states"), "quality_score"), limit=5)
    assert history and history[0].partition == HOUR


def test_rematerializing_gives_identical_bytes(instance: dg.DagsterInstance, lake: LocalLake,
                                               global_doc: dict[str, Any]) -> None:
    land_bodies(lake, [retimed_body(global_doc, HOUR_START + 60 + 864 * i) for i in range(2)])
    assert run_hours(instance, HOUR).success
    paths = [lake.root / partition_key_path(p, HOUR)
             for p in (VALIDATED_STATES_PREFIX, QUARANTINE_STATES_PREFIX, COUNTRY_AGGREGATES_PREFIX)]
    first = [p.read_bytes() for p in paths]
    assert run_hours(instance, HOUR).success
    assert [p.read_bytes() for p in paths] == first
    assert [len(list(p.parent.iterdir())) for p in paths] == [1, 1, 1]  # one object per hour, replaced


def test_three_hour_backfill_is_one_run_with_per_hour_results(
    instance: dg.DagsterInstance, lake: LocalLake, global_doc: dict[str, Any]
) -> None:
    for hour in range(3):
        land_bodies(lake, [retimed_body(global_doc, HOUR_START + 3600 * hour + 120)])
    result = run_hours(instance, "2025-08-30-18:00", "2025-08-30-20:00")
    assert result.success
    assert len(instance.get_runs()) == 1
    hours = ["2025-08-30-18:00", "2025-08-30-19:00", "2025-08-30-20:00"]
    for asset in ("validated_states", "country_aggregates"):
        assert sorted(materializations(result, asset)) == hours
    validated = materializations(result, "validated_states")
    assert [validated[h].metadata["rows"].value for h in hours] == [10_578] * 3
    checks = check_results(result)
    assert len(checks) == 3 * 8
    # The third hour's anomaly check compares with the two before it in the same run (too few: passes).
    assert checks[("validated_states", "row_count_anomaly", hours[2])].metadata["hours_compared"].value == 2


def test_a_bad_hour_fails_its_blocking_check_and_stops_downstream(
    instance: dg.DagsterInstance, lake: LocalLake, global_doc: dict[str, Any]
) -> None:
    good = global_doc["states"][:50]
    bad = [["not-hex", *row[1:]] for row in global_doc["states"][50:100]]  # half the rows have a bad icao24
    land_bodies(lake, [json.dumps({"time": HOUR_START + 30, "states": good + bad}).encode()])
    result = run_hours(instance, HOUR)
    assert not result.success
    quality = check_results(result)[("validated_states", "quality_score", HOUR)]
    assert not quality.passed and quality.severity == dg.AssetCheckSeverity.ERROR
    assert "50.0%" in (quality.description or "") and quality.metadata["quarantined_bad_icao24"].value == 50
    assert materializations(result, "validated_states")  # the hour and its quarantine are kept for inspection
    assert not materializations(result, "country_aggregates")  # …but nothing flowed downstream
    assert not (lake.root / partition_key_path(COUNTRY_AGGREGATES_PREFIX, HOUR)).exists()


def test_aggregates_equal_an_independent_computation(
    instance: dg.DagsterInstance, lake: LocalLake, global_doc: dict[str, Any], opensky_data: Path
) -> None:
    body = (opensky_data / GLOBAL).read_bytes()
    land_bodies(lake, [body])
    assert run_hours(instance, HOUR).success
    ours = {r["origin_country"]: r for r in
            pq.read_table(lake.root / partition_key_path(COUNTRY_AGGREGATES_PREFIX, HOUR)).to_pylist()}
    # Plain Python over the raw JSON (every row of this file is valid).
    rows = json.loads(gzip.decompress(gzip.compress(body)))["states"]
    by_country: dict[str, list[list[Any]]] = defaultdict(list)
    for row in rows:
        by_country[row[2] or "Unknown"].append(row)
    assert set(ours) == set(by_country)
    for country, group in by_country.items():
        airborne = [r for r in group if not r[8]]
        altitudes = [r[7] for r in airborne if r[7] is not None]
        speeds = [r[9] for r in airborne if r[9] is not None]
        got = ours[country]
        assert got["states"] == len(group) and got["aircraft"] == len({r[0] for r in group})
        assert got["airborne"] == len(airborne) and got["on_ground"] == len(group) - len(airborne)
        if altitudes:
            assert got["avg_baro_altitude_m"] == pytest.approx(statistics.fmean(altitudes))
            assert got["median_baro_altitude_m"] == pytest.approx(statistics.median(altitudes))
            assert got["max_baro_altitude_m"] == pytest.approx(max(altitudes))
        if speeds:
            assert got["avg_velocity_ms"] == pytest.approx(statistics.fmean(speeds))
    assert ours.get("Unknown", {"states": 0})["states"] == sum(1 for r in rows if not r[2])


# ------------------------------------------------------------------------------------------------------------
# What the UI is told, hour by hour


def events_of(result: dg.ExecuteInProcessResult, kind: str) -> list[dg.DagsterEvent]:
    return [e for e in result.all_events if e.event_type_value == kind]


def test_hours_without_raw_data_stay_missing_and_fail_the_run_with_a_sentence(
    instance: dg.DagsterInstance, lake: LocalLake, global_doc: dict[str, Any]
) -> None:
    land_bodies(lake, [retimed_body(global_doc, HOUR_START + 120)])  # raw data only at 18:00
    result = run_hours(instance, "2025-08-30-17:00", "2025-08-30-19:00")
    assert not result.success
    assert sorted(materializations(result, "validated_states")) == [HOUR]
    assert sorted(materializations(result, "country_aggregates")) == [HOUR]
    assert {p for (_, _, p) in check_results(result)} == {HOUR}  # no check result for an hour never built
    [failure] = events_of(result, "STEP_FAILURE")
    message = str(failure.step_failure_data.user_failure_data.description)
    assert "1 of 3 hours built" in message
    assert "no snapshot was landed for 2025-08-30-17:00, 2025-08-30-19:00" in message
    assert not (lake.root / partition_key_path(VALIDATED_STATES_PREFIX, "2025-08-30-17:00")).exists()
    assert not events_of(result, "STEP_UP_FOR_RETRY")  # a data problem is not retried


def test_an_unreadable_object_is_quarantined_and_does_not_fail_its_range(
    instance: dg.DagsterInstance, lake: LocalLake, global_doc: dict[str, Any]
) -> None:
    for hour in range(4):
        land_bodies(lake, [retimed_body(global_doc, HOUR_START + 3600 * hour + 120)])
    broken = f"raw/states/year=2025/month=08/day=30/hour=20/{HOUR_START + 2 * 3600 + 600}_0badc0de.json.gz"
    lake.put(broken, b"<html>502 Bad Gateway</html>")
    result = run_hours(instance, "2025-08-30-18:00", "2025-08-30-21:00")
    assert result.success
    hours = ["2025-08-30-18:00", "2025-08-30-19:00", "2025-08-30-20:00", "2025-08-30-21:00"]
    assert sorted(materializations(result, "country_aggregates")) == hours
    hour20 = materializations(result, "validated_states")["2025-08-30-20:00"].metadata
    assert hour20["objects_unreadable_object"].value == 1 and broken in str(hour20["quarantined_object_keys"].value)
    quality = check_results(result)[("validated_states", "quality_score", "2025-08-30-20:00")]
    assert not quality.passed and quality.severity == dg.AssetCheckSeverity.WARN
    assert "unreadable_object 1" in (quality.description or "")
    quarantine = pq.read_table(lake.root / partition_key_path(QUARANTINE_STATES_PREFIX, "2025-08-30-20:00"))
    [row] = [r for r in quarantine.to_pylist() if r["reason"] == "unreadable_object"]
    assert row["source_key"] == broken and "not gzip" in row["detail"]


@pytest.mark.slow
def test_a_transient_s3_error_is_retried_and_events_always_match_bytes(
    instance: dg.DagsterInstance, s3_proxy: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch,
    global_doc: dict[str, Any],
) -> None:
    from flight_assets.lake.store import S3Lake

    uri = f"s3://{s3_bucket}/lake"
    monkeypatch.setenv("FLIGHT_LAKE", uri)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_proxy.url)
    lake = S3Lake(uri, endpoint_url=s3_proxy.url)
    for hour in range(3):
        land_bodies(lake, [retimed_body(global_doc, HOUR_START + 3600 * hour + 120)])
    # The first read of hour 20's raw object fails (403): hours 18 and 19 are already built by then.
    s3_proxy.fail_next(1, lambda method, path: method == "GET" and "raw/states" in path and "hour%3D20" in path
                       or method == "GET" and "raw/states" in path and "hour=20" in path)
    result = run_hours(instance, "2025-08-30-18:00", "2025-08-30-20:00")
    assert result.success and len(s3_proxy.failed) == 1
    kinds = [(e.event_type_value, getattr(e.event_specific_data, "materialization", None)) for e in result.all_events]
    retry_at = next(i for i, (kind, _) in enumerate(kinds) if kind == "STEP_UP_FOR_RETRY")
    before = [m.partition for kind, m in kinds[:retry_at] if kind == "ASSET_MATERIALIZATION"]
    # Before the failure: hours 18 and 19 published *and* reported (both tables), nothing of hour 20.
    assert sorted(set(before)) == ["2025-08-30-18:00", "2025-08-30-19:00"] and len(before) == 4
    checks_before = [e for e in result.all_events[:retry_at] if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks_before) == 2 * 8
    # The retry rebuilt the range; hour 20 now has its file and events, with identical bytes for 18 and 19.
    assert sorted(materializations(result, "country_aggregates")) == [
        "2025-08-30-18:00", "2025-08-30-19:00", "2025-08-30-20:00"]
    assert lake.head(partition_key_path(VALIDATED_STATES_PREFIX, "2025-08-30-20:00")) is not None


def test_a_stale_build_never_replaces_a_newer_one(lake: LocalLake, global_doc: dict[str, Any]) -> None:
    from flight_assets.states.build import RawInputs, build_validated

    land_bodies(lake, [retimed_body(global_doc, HOUR_START + 60 + 30 * i) for i in range(2)])
    seen: list[int] = []

    def newer_run_publishes_meanwhile(inputs: RawInputs) -> None:
        seen.append(len(inputs.objects))
        if len(seen) == 1:  # while the older build is in flight: a snapshot lands and a newer run publishes
            land_bodies(lake, [retimed_body(global_doc, HOUR_START + 120)])
            assert build_validated(lake, HOUR).written.result.stats.snapshots_read == 3

    older = build_validated(lake, HOUR, before_publish=newer_run_publishes_meanwhile)
    assert seen == [2, 3] and older.builds == 2  # it noticed the new input and rebuilt instead of publishing
    published = pq.read_table(lake.root / partition_key_path(VALIDATED_STATES_PREFIX, HOUR))
    assert published.num_rows == 3 * 10_578 and older.written.result.stats.rows_valid == published.num_rows


CHECK_STATUSES = """
query ($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      metadataEntries { label }
      owners { ... on TeamAssetOwner { team } }
      tags { key value }
      automationCondition { label }
      assetChecksOrError { ... on AssetChecks { checks { name
        partitionStatuses { ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } } } } }
    }
  }
  assetOrError(assetKey: {path: $path}) {
    ... on Asset { assetMaterializations(limit: 10) { partition metadataEntries { label } } }
  }
}"""


@pytest.mark.slow  # GraphQL through a Dagster code server process
def test_each_hour_shows_its_own_check_status_through_graphql(
    instance: dg.DagsterInstance, lake: LocalLake, global_doc: dict[str, Any]
) -> None:
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    good = retimed_body(global_doc, HOUR_START + 120)
    bad_rows = [["not-hex", *row[1:]] for row in global_doc["states"][:100]]
    bad = json.dumps({"time": HOUR_START + 3600 + 30, "states": global_doc["states"][:50] + bad_rows}).encode()
    land_bodies(lake, [good, bad, retimed_body(global_doc, HOUR_START + 2 * 3600 + 120)])
    result = run_hours(instance, "2025-08-30-18:00", "2025-08-30-21:00")  # 21:00 has no raw data
    assert not result.success
    definitions = str(Path(__file__).resolve().parents[1] / "flight_assets" / "definitions.py")
    with define_out_of_process_context(definitions, "defs", instance) as context:
        validated = execute_dagster_graphql(context, CHECK_STATUSES, {"path": ["validated_states"]}).data
        aggregates = execute_dagster_graphql(context, CHECK_STATUSES, {"path": ["country_aggregates"]}).data

    def statuses(data: dict[str, Any], check: str) -> dict[str, str]:
        [found] = [c for c in data["assetNodeOrError"]["assetChecksOrError"]["checks"] if c["name"] == check]
        out = {}
        for r in found["partitionStatuses"]["ranges"]:  # consecutive hours of one status form one range
            keys = hourly_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(r["startKey"], r["endKey"]))
            out.update(dict.fromkeys(keys, r["status"]))
        return out

    # The hour without raw data is never green: its checks could not run (the run failed saying why).
    assert statuses(validated, "quality_score") == {
        "2025-08-30-18:00": "SUCCEEDED", "2025-08-30-19:00": "FAILED", "2025-08-30-20:00": "SUCCEEDED",
        "2025-08-30-21:00": "EXECUTION_FAILED"}
    assert statuses(validated, "schema_contract") == {
        **dict.fromkeys(["2025-08-30-18:00", "2025-08-30-19:00", "2025-08-30-20:00"], "SUCCEEDED"),
        "2025-08-30-21:00": "EXECUTION_FAILED"}
    # The bad hour did not flow downstream.
    assert statuses(aggregates, "reconciliation") == {
        "2025-08-30-18:00": "SUCCEEDED", "2025-08-30-19:00": "EXECUTION_FAILED", "2025-08-30-20:00": "SUCCEEDED",
        "2025-08-30-21:00": "EXECUTION_FAILED"}
    node_labels = {e["label"] for e in validated["assetNodeOrError"]["metadataEntries"]}
    assert {"dagster/column_schema", "dagster/code_references"} <= node_labels
    for data, layer in ((validated, "silver"), (aggregates, "gold")):  # the asset page's owners, tags, automation
        node = data["assetNodeOrError"]
        assert node["owners"] == [{"team": "flight-data"}]
        assert {"key": "layer", "value": layer} in node["tags"]
        assert node["automationCondition"]["label"] == "eager"
    assert "dagster/column_lineage" in {e["label"] for e in aggregates["assetNodeOrError"]["metadataEntries"]}
    for data in (validated, aggregates):
        materialized = data["assetOrError"]["assetMaterializations"]
        assert {m["partition"] for m in materialized} <= {"2025-08-30-18:00", "2025-08-30-19:00",
                                                          "2025-08-30-20:00"}
        for m in materialized:
            assert {"dagster/row_count", "dagster/uri"} <= {e["label"] for e in m["metadataEntries"]}
