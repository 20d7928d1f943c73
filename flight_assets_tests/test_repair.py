"""Gap repair against fake-opensky answering `time=`: a lake with a deliberate 5-minute gap (and an older one
beyond OpenSky's hour), repaired through `flight-assets repair` and `repair_gaps`."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from flight_assets.cli import main
from flight_assets.config import load_settings
from flight_assets.definitions import defs
from flight_assets.defs.ingestion.sensors import (
    gap_repair_sensor,
    raw_landing_sensor,
    repair_materializations,
    repair_sensor_default_status,
)
from flight_assets.ingestion.poll import Ingester, land_snapshot
from flight_assets.ingestion.repair import find_gaps, parse_duration, repair_gaps
from flight_assets.lake.layout import parse_raw_key, partition_key_for_time
from flight_assets.lake.store import LocalLake
from flight_assets.opensky.credits import HISTORY_S
from flight_assets.opensky.governor import CreditGovernor
from flight_assets.opensky.snapshot import parse_snapshot
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig, SimulatedTraffic
from flight_assets_tests.test_hourly_automation import AGGREGATES, VALIDATED, Automation, at, report_raw

CLIENT, SECRET = "repair-client", "repair-secret"
INTERVAL = 30  # licensed tier, the globe: the 30-s cadence
AIRCRAFT = 150


@pytest.fixture
def fake() -> Iterator[FakeOpenSky]:
    config = FakeOpenSkyConfig(simulate=AIRCRAFT, tier="licensed", client_id=CLIENT, client_secret=SECRET)
    with FakeOpenSky(config) as server:
        yield server


def env_for(fake: FakeOpenSky, lake: LocalLake) -> dict[str, str]:
    return {"OPENSKY_API_URL": fake.api_url, "OPENSKY_TOKEN_URL": fake.token_url, "FLIGHT_LAKE": str(lake.root),
            "OPENSKY_CLIENT_ID": CLIENT, "OPENSKY_CLIENT_SECRET": SECRET, "OPENSKY_TIER": "licensed"}


def slots_back(now: float, first: int, last: int) -> list[int]:
    """Slot times `first`..`last` intervals before the newest slot the live poller has had time to land."""
    newest = math.floor((now - 2 * INTERVAL) / INTERVAL) * INTERVAL
    return [newest - k * INTERVAL for k in range(first, last + 1)]


@pytest.fixture
def gapped_lake(tmp_path: Path) -> tuple[LocalLake, float, list[int], list[int]]:
    """75 minutes of 30-s snapshots, minus a 5-minute gap 20 minutes ago and a 2-minute gap 70 minutes ago.

    Snapshots carry a `time` up to 3 s into their slot, not on its start (OpenSky's time is the newest last_contact).
    """
    lake = LocalLake(tmp_path / "lake")
    now = time.time()
    traffic = SimulatedTraffic(AIRCRAFT, seed=7, epoch=now)
    recent_gap = slots_back(now, 30, 39)  # 10 slots = 5 minutes
    old_gap = slots_back(now, 140, 143)  # older than an hour: OpenSky has no history there
    # Up to the slot in progress, so that a slot turning due while the test runs is never a gap.
    for k, slot in enumerate(slots_back(now, -2, 150)):
        if slot in recent_gap or slot in old_gap:
            continue
        at = slot + (k % 4)
        body = traffic.body(at)
        land_snapshot(lake, body, parse_snapshot(body), {"writer": "test"})
    return lake, now, sorted(recent_gap, reverse=True), old_gap


def test_repair_lands_exactly_the_missing_slots_and_is_idempotent(
    fake: FakeOpenSky, gapped_lake: tuple[LocalLake, float, list[int], list[int]],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    lake, now, gap, old_gap = gapped_lake
    for name, value in env_for(fake, lake).items():
        monkeypatch.setenv(name, value)
    before = {o.key for o in lake.list("raw/")}

    assert main(["repair", "--since", "2h", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["gaps"]["missing"] == gap  # newest first
    assert report["gaps"]["beyond_horizon"] > len(old_gap)
    assert (report["fetched"], report["landed"], report["already_there"], report["not_fetched"]) == (10, 10, 0, 0)
    # Only the missing slots were asked for, newest first; nothing older than the hour, no present slot.
    assert fake.history_requests == gap
    assert min(fake.history_requests) >= now - HISTORY_S
    new = sorted({o.key for o in lake.list("raw/")} - before)
    assert len(new) == 10 and sorted(report["landed_keys"]) == new
    assert sorted(parse_raw_key(key)[0] for key in new) == sorted(gap)  # type: ignore[index]
    for key in new:
        meta = lake.head(key)
        assert meta is not None and meta["writer"] == "repair"
        assert meta["requested-time"] == str(parse_raw_key(key)[0])  # type: ignore[index]
        assert "time=" in meta["source-url"]
    assert sum(report["partitions"].values()) == 10

    # A second run finds nothing missing and calls nothing.
    assert main(["repair", "--since", "60m"]) == 0
    out = capsys.readouterr().out
    assert "0 missing" in out and "fetched 0, landed 0" in out
    assert len(fake.history_requests) == 10
    assert {o.key for o in lake.list("raw/")} - before == set(new)


def test_a_failed_repair_call_stops_with_one_sentence(
    fake: FakeOpenSky, gapped_lake: tuple[LocalLake, float, list[int], list[int]],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    lake, _, gap, _ = gapped_lake
    for name, value in env_for(fake, lake).items():
        monkeypatch.setenv(name, value)
    fake.enqueue({"status": 403})
    assert main(["repair"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith(f"error: fetching time={gap[0]} failed: OpenSky answered HTTP 403") and "\n" not in err
    assert "fetched 0, landed 0" in captured.out and f"skipped {len(gap)}" in captured.out
    assert main(["repair"]) == 0  # the next run repairs them
    assert f"landed {len(gap)}" in capsys.readouterr().out


def test_dry_run_lists_without_calling(
    fake: FakeOpenSky, gapped_lake: tuple[LocalLake, float, list[int], list[int]],
) -> None:
    lake, now, gap, _ = gapped_lake
    settings = load_settings(env_for(fake, lake))
    report = repair_gaps(settings, dry_run=True, now=now)
    assert list(report.gaps.missing) == gap and report.fetched == 0
    assert fake.requests_served == 0
    assert "10 missing" in report.describe() and "dry run" in report.describe()


def test_repair_spends_only_spare_credits(
    gapped_lake: tuple[LocalLake, float, list[int], list[int]],
) -> None:
    lake, now, gap, _ = gapped_lake
    cost = 4  # a global call
    live_reserve = (HISTORY_S // INTERVAL + 1) * cost  # every live poll until the hourly window renews, + 1
    credits = cost + live_reserve + 3 * cost  # one live poll, the reserve, and three calls to spare
    config = FakeOpenSkyConfig(simulate=AIRCRAFT, tier="licensed", client_id=CLIENT, client_secret=SECRET,
                               credits=credits)
    with FakeOpenSky(config) as server:
        settings = load_settings(env_for(server, lake))
        assert Ingester(settings, lake=lake).poll(now).status == "landed"  # the governor learns the balance
        report = repair_gaps(settings, now=now)
        assert report.landed == 3 and report.not_fetched == 7
        assert report.stop_reason is not None and report.stop_reason.startswith("no spare credits")
        assert not report.failed
        assert server.history_requests == gap[:3]  # the newest first
        # What the live cadence needs is still there at OpenSky: repair never eats into it, never meets a 429.
        assert server.credits_remaining(CLIENT) == live_reserve
        assert CreditGovernor(lake, "licensed").spare_credits(now) == 0
        assert CreditGovernor(lake, "licensed").peek(now + INTERVAL).allowed


def test_anonymous_repair_refuses_with_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLIGHT_LAKE", str(tmp_path / "lake"))
    assert main(["repair"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("error: repair needs OpenSky credentials") and "\n" not in err


def test_since_parsing_and_gap_window(tmp_path: Path) -> None:
    assert parse_duration("60m") == 3600 and parse_duration("90s") == 90 and parse_duration("1h") == 3600
    assert parse_duration("15") == 900
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
    lake = LocalLake(tmp_path / "empty")
    gaps = find_gaps(lake, INTERVAL, 600, now=1_800_000_000.0)
    # 10 minutes back, minus the two newest intervals left to the live poller
    assert gaps.slots == len(gaps.missing) == 19 and gaps.missing[0] == 1_800_000_000 - 2 * INTERVAL


# ------------------------------------------------------------------------------------------------------ Dagster


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def test_gap_repair_sensor_repairs_and_reports_the_hours(
    fake: FakeOpenSky, gapped_lake: tuple[LocalLake, float, list[int], list[int]],
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, _, gap, _ = gapped_lake
    for name, value in env_for(fake, lake).items():
        monkeypatch.setenv(name, value)
    result = gap_repair_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult) and result.asset_events
    events = [e for e in result.asset_events if isinstance(e, dg.AssetMaterialization)]
    assert {e.partition for e in events} == {partition_key_for_time(slot) for slot in gap}
    assert sum(e.metadata["repaired_snapshots"].value for e in events) == len(gap)  # type: ignore[union-attr]
    assert all(e.asset_key == dg.AssetKey("raw_snapshots") for e in events)
    repaired = [o.key for o in lake.list("raw/") if (lake.head(o.key) or {}).get("writer") == "dagster-repair"]
    assert sorted(parse_raw_key(k)[0] for k in repaired) == sorted(gap)  # type: ignore[index]
    # raw_landing_sensor does not report them a second time.
    landing = raw_landing_sensor(dg.build_sensor_context(instance=instance))
    reported = sum(e.metadata["new_snapshots"].value for e in landing.asset_events)  # type: ignore[union-attr]
    assert reported == len(list(lake.list("raw/"))) - len(gap)
    # The next tick finds nothing to do and says so.
    again = gap_repair_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(again, dg.SensorResult) and not again.asset_events
    assert again.skip_reason is not None and "0 missing" in str(again.skip_reason.skip_message)
    assert len(fake.history_requests) == len(gap)


def test_gap_repair_sensor_skips_without_credentials(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLIGHT_LAKE", str(tmp_path / "lake"))
    skipped = gap_repair_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason)
    assert str(skipped.skip_message).startswith("cannot repair: repair needs OpenSky credentials")
    assert repair_sensor_default_status() == dg.DefaultSensorStatus.STOPPED
    monkeypatch.setenv("OPENSKY_CLIENT_ID", CLIENT)
    monkeypatch.setenv("OPENSKY_CLIENT_SECRET", SECRET)
    assert repair_sensor_default_status() == dg.DefaultSensorStatus.RUNNING
    monkeypatch.setenv("FLIGHT_REPAIR_SENSOR", "off")
    assert repair_sensor_default_status() == dg.DefaultSensorStatus.STOPPED


HOUR = "2025-08-30-18:00"
HOUR_START = 1_756_576_800


def completeness_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e.event_specific_data for e in result.all_events
                     if e.event_type_value == "ASSET_CHECK_EVALUATION"
                     and e.event_specific_data.check_name == "completeness"]
    return evaluation


def test_a_repaired_hour_is_rebuilt_by_the_automation_and_completeness_counts_the_repair(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = HOUR_START + 3600 + 20 * 60  # 19:20: hour 18 is closed but within OpenSky's history from 18:21 on
    lake = LocalLake(tmp_path / "lake")
    traffic = SimulatedTraffic(AIRCRAFT, seed=7, epoch=now)
    gap = list(range(HOUR_START + 50 * 60, HOUR_START + 55 * 60, INTERVAL))  # 18:50:00-18:54:30
    for slot in range(HOUR_START, now, INTERVAL):
        if slot not in gap:
            body = traffic.body(slot + 1)
            land_snapshot(lake, body, parse_snapshot(body), {"writer": "test"})
    config = FakeOpenSkyConfig(simulate=AIRCRAFT, tier="licensed", client_id=CLIENT, client_secret=SECRET,
                               clock=lambda: float(now))
    with FakeOpenSky(config) as server:
        for name, value in env_for(server, lake).items():
            monkeypatch.setenv(name, value)
        automation = Automation(instance)
        automation.tick(at(18, 30))
        report_raw(instance, HOUR)
        assert automation.tick(at(19, 0, 30)) == {VALIDATED: {HOUR}, AGGREGATES: {HOUR}}
        before = build_hour(instance)
        assert before.metadata["snapshots"].value == 110 and before.metadata["missing_slots"].value == 10
        assert not before.passed or before.severity == dg.AssetCheckSeverity.WARN
        assert automation.tick(at(19, 1)) == {}

        report = repair_gaps(load_settings(), now=now)
        assert report.landed == 10 and report.partitions == {HOUR: 10}
        assert server.history_requests == sorted(gap, reverse=True)
        for event in repair_materializations(lake, report):  # what gap_repair_sensor reports
            instance.report_runless_asset_event(event)
        assert automation.tick(at(19, 21)) == {VALIDATED: {HOUR}, AGGREGATES: {HOUR}}
        after = build_hour(instance)
        assert after.passed and after.metadata["snapshots"].value == 120
        assert after.metadata["missing_slots"].value == 0


def build_hour(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    result = defs.resolve_job_def("hourly_states_job").execute_in_process(
        instance=instance, partition_key=HOUR, raise_on_error=False)
    assert result.success
    return completeness_of(result)
