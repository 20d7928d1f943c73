"""The cost and capacity model's arithmetic, and sizes measured from a real lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from flight_assets.analytics import capacity, sizes
from flight_assets.cli import main
from flight_assets.lake.store import LocalLake
from flight_assets_tests.hour_data import land_bodies, load_global, retimed_body


def test_licensed_global_plan_arithmetic() -> None:
    plan = capacity.plan_capacity("licensed", None, sizes.reference_sizes(None))
    assert plan.interval_s == 30 and plan.snapshots_per_day == 2_880 and plan.credits_per_day == 11_520
    assert plan.states_per_day == 2_880 * 10_578
    assert plan.raw_bytes_per_day == pytest.approx(2_880 * 10_578 * 41.7)
    assert plan.parquet_bytes_per_day == pytest.approx(2_880 * 10_578 * 10.6)
    assert plan.lambda_invocations_per_month == 43_200
    # Each invocation: the first poll, the 30-s wait, the second poll (0.2 s each), at 256 MB.
    assert plan.lambda_gb_seconds_per_month == pytest.approx(43_200 * 30.4 * 0.25)
    prices = capacity.Prices()
    assert plan.monthly_cost["Lambda (GB-seconds + requests)"] == pytest.approx(
        43_200 * 30.4 * 0.25 * prices.lambda_gb_s_arm + 0.0432 * prices.lambda_per_million_requests)
    assert plan.monthly_cost["Fargate services"] == pytest.approx(720 * 3 * (0.5 * 0.04048 + 0.004445))
    assert plan.monthly_cost["NAT gateway (private subnets)"] == pytest.approx(720 * 0.045)
    assert plan.monthly_cost["RDS PostgreSQL db.t4g.micro + 20 GB"] == pytest.approx(720 * 0.016 + 20 * 0.115)
    assert plan.monthly_total == pytest.approx(sum(plan.monthly_cost.values()))


def test_anonymous_tier_polls_less() -> None:
    plan = capacity.plan_capacity("anonymous", None, sizes.reference_sizes(None))
    assert plan.interval_s == 864 and plan.snapshots_per_day == 100 and plan.credits_per_day == 400


def test_box_states_are_an_area_share_unless_given() -> None:
    box = (38.0, -78.0, 40.0, -76.0)
    assert sizes.reference_sizes(box).states_per_snapshot == pytest.approx(10_578 * 4 / 64_800)
    assert sizes.reference_sizes(box, 70).states_per_snapshot == 70
    assert capacity.plan_capacity("standard", box, sizes.reference_sizes(box, 70)).states_per_day == 2_880 * 70


def test_sizes_are_measured_from_the_lake(tmp_path: Path, opensky_data: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    assert sizes.measure_sizes(lake) is None
    doc = load_global(opensky_data)
    keys = land_bodies(lake, [retimed_body(doc, 1_756_576_800 + 30 * i) for i in range(3)])
    stored = sum(o.size for o in lake.list("raw/") if o.key in keys)
    measured = sizes.measure_sizes(lake)
    assert measured is not None and measured.states_per_snapshot == 10_578
    assert measured.raw_bytes_per_state == pytest.approx(stored / (3 * 10_578))
    assert measured.source.startswith("lake")


def test_plan_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "--tier", "feeder", "--lake", str(tmp_path / "empty")]) == 0
    out = capsys.readouterr().out
    assert "one poll every 44 s" in out and "snapshots per day:      1,963" in out
    assert "sizes from reference" in out and "total" in out


def test_a_year_of_backfill_on_ecs() -> None:
    plan = capacity.plan_capacity("licensed", None, sizes.reference_sizes(None))
    hour_s = (capacity.DAGSTER_SECONDS_PER_HOUR + capacity.REFERENCE_HOUR_BUILD_S * 120 * 10_578 / 1_269_360
              + 120 * 10_578 * 41.7 / capacity.S3_READ_BYTES_PER_S)
    one = capacity.plan_backfill(plan, parallel=1)
    assert one.runs == 365 and one.hour_s == pytest.approx(hour_s)  # 8,760 hours in runs of 24
    assert one.run_s == pytest.approx(capacity.FARGATE_RUN_STARTUP_S + 24 * hour_s)
    assert one.wall_s == pytest.approx(365 * one.run_s)
    thirty = capacity.plan_backfill(plan, parallel=30)
    assert thirty.wall_s == pytest.approx(13 * one.run_s)  # 365 runs in waves of 30: 13 waves
    assert thirty.cost == one.cost  # parallel tasks finish sooner, they do not cost more
    task_hours = (365 * capacity.FARGATE_RUN_STARTUP_S + 8_760 * hour_s) / 3600
    assert one.cost["Fargate run tasks"] == pytest.approx(task_hours * (0.04048 + 2 * 0.004445))
    assert one.cost["S3 GETs of the raw objects"] == pytest.approx(8_760 * 120 * 0.0004 / 1000)


def test_a_day_of_athena_queries_over_a_year() -> None:
    plan = capacity.plan_capacity("licensed", None, sizes.reference_sizes(None))
    year_bytes = 2_880 * 10_578 * 10.6 * 365
    assert capacity.athena_scan_bytes(plan, ["*"]) == pytest.approx(year_bytes)
    tracks = capacity.athena_scan_bytes(plan, ["icao24", "longitude", "latitude", "snapshot_time"])
    assert tracks == pytest.approx(year_bytes * (0.018 + 0.369 + 0.352 + 0.001))
    assert capacity.athena_query_cost(year_bytes) == pytest.approx(year_bytes / 1e12 * 5)
    # A small scan is billed as Athena's 10-MB minimum.
    assert capacity.athena_query_cost(1e6) == capacity.athena_query_cost(10e6) == pytest.approx(10e6 / 1e12 * 5)
    assert capacity.athena_scan_bytes(plan, None) == pytest.approx(11_223 * 8_760)


def test_plan_prints_the_year_and_rejects_a_bad_parallel(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "--tier", "licensed", "--reference", "--parallel", "1,10"]) == 0
    out = capsys.readouterr().out
    assert "backfilling a year (8,760 hours) on ECS: 365 runs of 24 hours" in out
    assert "  1 task(s) at a time" in out and " 10 task(s) at a time" in out
    assert "a day of Athena queries over a year of data (100 of each" in out
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--parallel", "0"])
    assert exited.value.code == 2
    assert "--parallel: expected whole numbers above 0" in capsys.readouterr().err
