"""End to end through a running Dagster: `dagster dev` (webserver + daemon) against fake-opensky and moto's S3 on
127.0.0.1, once with SQLite storage and once with Postgres storage on a PostgreSQL server started here.

Each flow (flight_assets_tests/e2e_support.py) lands three real hours in the S3 lake, lets the poll sensor land
snapshots, backfills the three hours through GraphQL and waits for the daemon to finish it; the tests below read
the outcome through GraphQL, and through `flight-assets query` as a user would.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from flight_assets_tests.e2e_support import (
    AGGREGATE_CHECKS,
    BIN,
    HOURS,
    LOCATION,
    POLLER_LOCATION,
    REPOSITORY,
    VALIDATED_CHECKS,
    E2EFlow,
    shared_sqlite_flow,
    started_flow,
)
from flight_assets_tests.servers import poll_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def flow(request: pytest.FixtureRequest) -> Iterator[E2EFlow]:
    """Postgres first and stopped after its tests; SQLite last and kept for the browser tests (test_ui.py)."""
    if request.param == "sqlite":
        yield shared_sqlite_flow(request)
        return
    moto = request.getfixturevalue("moto_server")
    with started_flow("postgres", moto.url, request.getfixturevalue("opensky_data")) as started:
        yield started


def rows_of(body: bytes) -> list[list[Any]]:
    return json.loads(body)["states"]


def test_poll_sensor_lands_snapshots_through_the_ingest_job(flow: E2EFlow) -> None:
    assert len(flow.poll_snapshots) >= 2
    for event in flow.poll_snapshots:
        meta = event["metadata"]
        assert meta["states"] == 10_578 and meta["snapshots_in_hour"] >= 1 and meta["stored_bytes"] > 100_000
        assert meta["key"].startswith("raw/states/year=") and meta["key"].endswith(".json.gz")
    assert len({e["metadata"]["key"] for e in flow.poll_snapshots}) == len(flow.poll_snapshots)  # distinct bodies
    runs = {r["runId"]: r for r in flow.dagster.runs(job="ingest_snapshot_job")}
    for event in flow.poll_snapshots:
        run = runs[event["runId"]]
        assert run["status"] == "SUCCESS" and run["tags"]["dagster/sensor_name"] == "opensky_poll_sensor"
        assert run["tags"]["dagster/run_key"].startswith("poll-")
    # Stopped by the flow once it had its snapshots.
    assert flow.dagster.sensor("opensky_poll_sensor", POLLER_LOCATION)["sensorState"]["status"] == "STOPPED"


def test_landing_sensor_reports_the_hours_landed_outside_dagster(flow: E2EFlow) -> None:
    events = flow.dagster.materializations("raw_snapshots", HOURS)
    by_hour: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_hour[event["partition"]].append(event)
    assert sorted(by_hour) == HOURS
    for hour in HOURS:
        assert sum(e["metadata"]["new_snapshots"] for e in by_hour[hour]) == 2
        assert max(e["metadata"]["snapshots_in_hour"] for e in by_hour[hour]) == 2
        assert sum(e["metadata"]["states"] for e in by_hour[hour]) == sum(len(rows_of(b)) for b in flow.bodies[hour])
        assert all(e["runId"] == "" or e["runId"] is None for e in by_hour[hour])  # runless: reported by a sensor


def test_backfill_is_one_run_that_builds_every_hour(flow: E2EFlow) -> None:
    backfill = flow.backfill
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    assert backfill["isAssetBackfill"] and backfill["numPartitions"] == 3
    assert sorted(backfill["partitionNames"]) == HOURS
    runs = flow.dagster.runs(tags={"dagster/backfill": flow.backfill_id})
    assert len(runs) == 1, runs  # BackfillPolicy.multi_run(24): three hours fit in one run
    [run] = runs
    assert run["status"] == "SUCCESS"
    assert run["tags"]["dagster/asset_partition_range_start"] == HOURS[0]
    assert run["tags"]["dagster/asset_partition_range_end"] == HOURS[-1]
    assert sorted(a["path"][0] for a in run["assetSelection"]) == ["country_aggregates", "validated_states"]
    for asset in ("validated_states", "country_aggregates"):
        events = flow.dagster.materializations(asset, HOURS)
        assert sorted(e["partition"] for e in events) == HOURS, asset  # exactly one per hour
        assert {e["runId"] for e in events} == {run["runId"]}


def test_materialization_metadata_matches_the_landed_data(flow: E2EFlow) -> None:
    validated = {e["partition"]: e["metadata"] for e in flow.dagster.materializations("validated_states", HOURS)}
    aggregates = {e["partition"]: e["metadata"] for e in flow.dagster.materializations("country_aggregates", HOURS)}
    for hour in HOURS:
        rows = [row for body in flow.bodies[hour] for row in rows_of(body)]
        meta = validated[hour]
        assert meta["rows"] + meta["quarantined_rows"] == len(rows) == 2 * 10_578
        assert meta["quarantined_rows"] == 0 and meta["quality_score"] == 1.0  # every recorded row is valid
        assert meta["snapshots"] == 2 and meta["duplicate_snapshots"] == 0
        assert meta["distinct_aircraft"] == len({row[0] for row in rows})
        assert meta["countries"] == len({row[2] for row in rows if row[2]})
        assert meta["bytes_in"] > 0 and meta["bytes_out"] > 0 and meta["duration_s"] >= 0
        agg = aggregates[hour]
        assert agg["states"] == meta["rows"]
        assert agg["countries"] == len({row[2] or "Unknown" for row in rows})
        assert agg["top_countries"].startswith("United States ")


def test_asset_checks_report_one_result_per_hour_with_metadata(flow: E2EFlow) -> None:
    [run] = flow.dagster.runs(tags={"dagster/backfill": flow.backfill_id})
    for asset, names in (("validated_states", VALIDATED_CHECKS), ("country_aggregates", AGGREGATE_CHECKS)):
        for name in names:
            for hour in HOURS:
                executions = flow.dagster.check_executions(asset, name, hour)
                assert len(executions) == 1, (asset, name, hour, executions)
                [execution] = executions
                assert execution["runId"] == run["runId"] and execution["partition"] == hour
                assert execution["evaluation"]["partition"] == hour
                assert execution["metadata"]["partition"] == hour
                if name == "completeness":  # 2 snapshots where the licensed tier's 30-s cadence plans 120
                    assert execution["status"] == "FAILED" and execution["evaluation"]["severity"] == "WARN"
                    assert execution["metadata"]["expected_snapshots"] == 120
                    assert execution["metadata"]["cadence_s"] == 30 and execution["metadata"]["snapshots"] == 2
                else:
                    assert execution["status"] == "SUCCEEDED", (asset, name, hour, execution)
    quality = flow.dagster.check_executions("validated_states", "quality_score", HOURS[0])[0]
    assert quality["evaluation"]["severity"] == "ERROR" and quality["evaluation"]["success"]
    assert quality["metadata"]["quality_score"] == 1.0
    assert quality["metadata"]["valid_rows"] == quality["metadata"]["total_rows"] == 2 * 10_578
    assert "100.00%" in quality["evaluation"]["description"]
    reconciliation = flow.dagster.check_executions("country_aggregates", "reconciliation", HOURS[1])[0]
    assert reconciliation["metadata"]["difference"] == 0
    assert reconciliation["metadata"]["sum_states"] == reconciliation["metadata"]["validated_rows"] == 2 * 10_578
    anomaly = flow.dagster.check_executions("validated_states", "row_count_anomaly", HOURS[2])[0]
    assert anomaly["metadata"]["hours_compared"] == 2  # the two hours before it, from the same run


def expected_country_hours(bodies: dict[str, list[bytes]]) -> dict[tuple[int, str], dict[str, Any]]:
    """What country_aggregates must hold, computed in plain Python from the landed JSON bodies."""
    expected = {}
    for hour, hour_bodies in bodies.items():
        groups: dict[str, list[tuple[int, list[Any]]]] = defaultdict(list)
        for body in hour_bodies:
            doc = json.loads(body)
            for row in doc["states"]:
                groups[row[2] or "Unknown"].append((doc["time"], row))
        for country, group in groups.items():
            airborne = [row for _, row in group if not row[8]]
            altitudes = [row[7] for row in airborne if row[7] is not None]
            speeds = [row[9] for row in airborne if row[9] is not None]
            expected[(int(hour[11:13]), country)] = {
                "states": len(group),
                "aircraft": len({row[0] for _, row in group}),
                "snapshots": len({t for t, _ in group}),
                "airborne": len(airborne),
                "on_ground": len(group) - len(airborne),
                "avg_baro_altitude_m": statistics.fmean(altitudes) if altitudes else None,
                "max_velocity_ms": float(max(speeds)) if speeds else None,
            }
    return expected


def test_query_cli_returns_the_aggregates_computed_independently(flow: E2EFlow) -> None:
    sql = ("SELECT hour, origin_country, states, aircraft, snapshots, airborne, on_ground, avg_baro_altitude_m, "
           "max_velocity_ms FROM country_aggregates WHERE year = 2025 AND month = 8 AND day = 30 "
           "ORDER BY hour, origin_country")
    result = subprocess.run([str(BIN / "flight-assets"), "query", sql, "--format", "json"], env=flow.env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    got = {(row.pop("hour"), row.pop("origin_country")): row for row in rows}
    expected = expected_country_hours(flow.bodies)
    assert set(got) == set(expected)
    assert {hour for hour, _ in got} == {18, 19, 20}
    for key, want in expected.items():
        have = got[key]
        for column in ("states", "aircraft", "snapshots", "airborne", "on_ground"):
            assert have[column] == want[column], (key, column)
        for column in ("avg_baro_altitude_m", "max_velocity_ms"):
            assert have[column] == pytest.approx(want[column]), (key, column)
    # The lake the CLI read is the S3 one the runs wrote: the totals agree with the runs' metadata.
    validated = {e["partition"]: e["metadata"]["rows"]
                 for e in flow.dagster.materializations("validated_states", HOURS)}
    for hour in HOURS:
        assert sum(r["states"] for (h, _), r in got.items() if h == int(hour[11:13])) == validated[hour]


def test_runs_and_events_live_in_the_configured_storage(flow: E2EFlow) -> None:
    [run] = flow.dagster.runs(tags={"dagster/backfill": flow.backfill_id})
    if flow.postgres is None:
        assert (flow.dagster.home / "history" / "runs.db").exists()  # SQLite under DAGSTER_HOME
        return
    assert not (flow.dagster.home / "history" / "runs.db").exists()
    assert flow.postgres.query("SELECT status FROM runs WHERE run_id = %s", run["runId"]) == [("SUCCESS",)]
    [(backfills,)] = flow.postgres.query("SELECT count(*) FROM bulk_actions WHERE key = %s", flow.backfill_id)
    assert backfills == 1
    checks = flow.postgres.query("SELECT check_name, partition, execution_status FROM asset_check_executions "
                                 "WHERE run_id = %s", run["runId"])
    assert len(checks) == 3 * (len(VALIDATED_CHECKS) + len(AGGREGATE_CHECKS))
    assert {partition for _, partition, _ in checks} == set(HOURS)


def test_first_visit_pop_up_is_marked_seen(flow: E2EFlow) -> None:
    assert flow.nux_seen
    assert flow.dagster.should_show_nux() is False


def test_the_dagster_dev_terminal_has_no_preview_beta_or_deprecation_warnings(flow: E2EFlow) -> None:
    # Everything `make dev` prints: webserver, daemon, code server and every run's process (the backfill, polls).
    log = flow.dagster.log_path.read_text(errors="replace")
    assert flow.dagster.runs()  # runs happened while this log was written
    noisy = [line for line in log.splitlines()
             if re.search(r"(Preview|Beta|Deprecation|Supersession|ExperimentalWarning)Warning", line)]
    assert not noisy, "\n".join(noisy[:10])


def test_raw_snapshots_freshness_follows_the_planned_cadence_in_the_ui(flow: E2EFlow) -> None:
    # The policy as the UI reads it. (The status turning red needs five minutes without a snapshot, longer than
    # this flow lasts; that transition is Dagster's own evaluation and is not asserted here.)
    data = flow.dagster.graphql(
        "{ assetNodeOrError(assetKey: {path: [\"raw_snapshots\"]}) { ... on AssetNode { "
        "internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds } } } } }"
    )["assetNodeOrError"]
    # The licensed tier plans a 30-s cadence: warn after 2 minutes without a snapshot, fail after 5.
    assert data["internalFreshnessPolicy"] == {"failWindowSeconds": 300, "warnWindowSeconds": 120}


def test_the_hourly_automation_runs_in_the_daemon_and_requests_nothing_for_old_hours(flow: E2EFlow) -> None:
    # The recorded hours (2025-08-30) lie far outside the automation's 3-hour window, and were built by the
    # backfill: the daemon evaluates the conditions (ticks recorded) and requests no run for them.
    data = flow.dagster.graphql(
        "query ($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { ... on Sensor { "
        "sensorType sensorState { status ticks(limit: 20) { status error { message } } } } } }",
        {"selector": {"repositoryName": REPOSITORY, "repositoryLocationName": LOCATION,
                      "sensorName": "hourly_tables_automation"}},
    )["sensorOrError"]
    # GraphQL names an automation-condition sensor's type AUTO_MATERIALIZE.
    assert data["sensorType"] == "AUTO_MATERIALIZE" and data["sensorState"]["status"] == "RUNNING"
    assert data["sensorState"]["ticks"], "the daemon never evaluated the automation conditions"
    failed = [t["error"] for t in data["sensorState"]["ticks"] if t["status"] not in ("SKIPPED", "SUCCESS")]
    assert not failed
    automated = [r for r in flow.dagster.runs() if r["tags"].get("dagster/from_automation_condition")]
    assert not [r for r in automated if r["tags"].get("dagster/partition", "").startswith("2025-08-30")]


def test_a_failed_poll_run_in_the_poller_location_is_alerted_by_the_other_location(flow: E2EFlow) -> None:
    # run_failure_alert_sensor lives in flight_assets; the poll job in flight_assets_poller. Launched as the UI's
    # Launchpad does, with the lake pointed at a bucket that does not exist: the run fails, and the sensor must
    # react to it (its tick names the run, as the sensor's page shows) and send the alert.
    result = flow.dagster.graphql(
        "mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename "
        "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }",
        {"params": {"selector": {"repositoryLocationName": POLLER_LOCATION, "repositoryName": REPOSITORY,
                                 "jobName": "ingest_snapshot_job"},
                    "runConfigData": {"resources": {"lake": {"config": {"uri": "s3://no-such-bucket-e2e/lake"}}}}}},
    )["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id = result["run"]["runId"]

    def failed() -> bool:
        [run] = [r for r in flow.dagster.runs(job="ingest_snapshot_job") if r["runId"] == run_id]
        assert run["status"] not in ("SUCCESS", "CANCELED"), run
        return run["status"] == "FAILURE"

    poll_until(failed, 180, f"the poll run {run_id} to fail", alive=flow.dagster.check_alive)

    def alerted() -> bool:
        ticks = flow.dagster.graphql(
            "query ($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { ... on Sensor { "
            "sensorState { ticks(limit: 50) { status originRunIds } } } } }",
            {"selector": {"repositoryName": REPOSITORY, "repositoryLocationName": LOCATION,
                          "sensorName": "run_failure_alert_sensor"}},
        )["sensorOrError"]["sensorState"]["ticks"]
        return any(run_id in tick["originRunIds"] for tick in ticks if tick["status"] == "SUCCESS")

    poll_until(alerted, 180, "run_failure_alert_sensor to react to the poller's failed run",
               alive=flow.dagster.check_alive)
    assert f"alert for run {run_id} sent to log" in flow.dagster.log_path.read_text(errors="replace")
