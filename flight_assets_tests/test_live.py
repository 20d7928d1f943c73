"""`live_states` and `latest_states`: built hours from validated/, the hour in progress validated on the fly from raw/
(local lake and S3 on moto's server), compared with the built table and with an independent parse of the raw JSON."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from flight_assets.analytics.query import (
    LATEST_VIEW,
    LIVE_AIRCRAFT_BY_COUNTRY,
    LIVE_LAST_15_MINUTES,
    LIVE_VIEW,
    connect,
    execute,
    run_query,
)
from flight_assets.cli import main
from flight_assets.config import Settings
from flight_assets.ingestion.poll import land_snapshot
from flight_assets.lake.layout import parse_raw_key, partition_key_for_time
from flight_assets.lake.store import Lake, LakeError, LocalLake, S3Lake
from flight_assets.opensky.snapshot import parse_snapshot
from flight_assets.states.build import build_validated
from flight_assets.tools.fake_opensky import SimulatedTraffic
from flight_assets_tests.servers import MotoServer

BUILT_HOUR_START = 1_756_576_800  # 2025-08-30 18:00 UTC: built
OPEN_HOUR_START = BUILT_HOUR_START + 3600  # 19:00: raw only, as if in progress
AIRCRAFT = 60
COMPARED = ("snapshot_time", "icao24", "callsign", "origin_country", "last_contact", "longitude", "latitude",
            "baro_altitude", "on_ground", "velocity", "true_track", "squawk", "position_source")


def settings_for(lake: Lake, moto: MotoServer) -> Settings:
    return Settings(lake=lake.uri, aws_endpoint_url=moto.url if isinstance(lake, S3Lake) else None)


def land(lake: Lake, body: bytes) -> str:
    return land_snapshot(lake, body, parse_snapshot(body), {"writer": "test"}).key


def with_bad_row(body: bytes) -> bytes:
    """The body plus one row the validation rules quarantine (an icao24 that is not hex)."""
    doc = json.loads(body)
    bad = list(doc["states"][0])
    bad[0] = "zz!zz!"
    doc["states"].append(bad)
    return json.dumps(doc, separators=(",", ":")).encode()


@pytest.fixture
def live_lake(lake: Lake) -> Lake:
    traffic = SimulatedTraffic(AIRCRAFT, seed=3, epoch=BUILT_HOUR_START)
    for minute in range(0, 60, 10):
        land(lake, traffic.body(BUILT_HOUR_START + minute * 60 + 2))
    build_validated(lake, partition_key_for_time(BUILT_HOUR_START))
    for minute in range(0, 15, 5):
        land(lake, with_bad_row(traffic.body(OPEN_HOUR_START + minute * 60 + 4)))
    return lake


def independent_rows(lake: Lake, keys: list[str]) -> list[tuple[Any, ...]]:
    """What the raw bodies say, parsed here with json and the documented cleaning rules (not the engine)."""
    rows = []
    for key in keys:
        doc = json.loads(gzip.decompress(lake.get(key)))
        at = datetime.fromtimestamp(doc["time"], tz=UTC)
        for s in doc["states"] or []:
            if not all(c in "0123456789abcdef" for c in s[0].lower()):
                continue  # bad_icao24: quarantined
            callsign = s[1].rstrip() or None
            track = None if s[10] is None else float(s[10]) % 360
            rows.append((at, s[0].lower(), callsign, s[2] or None, datetime.fromtimestamp(s[4], tz=UTC),
                         None if s[5] is None else float(s[5]), None if s[6] is None else float(s[6]),
                         None if s[7] is None else float(s[7]), s[8], None if s[9] is None else float(s[9]),
                         track, s[14], s[16]))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def rows_of(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    conn = connect(settings, live=True)
    try:
        return execute(conn, sql)[1]
    finally:
        conn.close()


def raw_keys(lake: Lake, hour_start: int) -> list[str]:
    return [o.key for o in lake.list("raw/") if parse_raw_key(o.key)
            and hour_start <= parse_raw_key(o.key)[0] < hour_start + 3600]  # type: ignore[index]


def test_live_states_is_the_built_table_plus_the_open_hour_validated_from_raw(
    live_lake: Lake, moto_server: MotoServer
) -> None:
    settings = settings_for(live_lake, moto_server)
    columns = ", ".join(COMPARED)
    built = rows_of(settings, "SELECT * FROM validated_states ORDER BY snapshot_time, icao24")
    live_built = rows_of(settings, f"SELECT * FROM {LIVE_VIEW} WHERE hour = 18 ORDER BY snapshot_time, icao24")
    assert built and live_built == built  # every column, the partition columns included
    live_open = rows_of(settings, f"SELECT {columns} FROM {LIVE_VIEW} WHERE hour = 19 ORDER BY snapshot_time, icao24")
    expected = independent_rows(live_lake, raw_keys(live_lake, OPEN_HOUR_START))
    assert len(live_open) == 3 * AIRCRAFT == len(expected)  # the three bad rows are left out, as in the build
    assert live_open == expected
    # The same columns and types as validated_states.
    describe = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{}' ORDER BY ordinal_position"
    assert rows_of(settings, describe.format(LIVE_VIEW)) == rows_of(settings, describe.format("validated_states"))
    assert rows_of(settings, describe.format(LATEST_VIEW)) == rows_of(settings, describe.format("validated_states"))


def test_latest_states_is_the_newest_snapshot_and_follows_every_landing(
    live_lake: Lake, moto_server: MotoServer
) -> None:
    settings = settings_for(live_lake, moto_server)
    columns = ", ".join(COMPARED)
    newest = max(raw_keys(live_lake, OPEN_HOUR_START))
    latest = rows_of(settings, f"SELECT {columns} FROM {LATEST_VIEW} ORDER BY icao24")
    assert latest == independent_rows(live_lake, [newest])
    # A snapshot that lands is the answer of the very next query.
    later = SimulatedTraffic(AIRCRAFT, seed=3, epoch=BUILT_HOUR_START).body(OPEN_HOUR_START + 20 * 60)
    key = land(live_lake, later)
    latest = rows_of(settings, f"SELECT {columns} FROM {LATEST_VIEW} ORDER BY icao24")
    assert latest == independent_rows(live_lake, [key])
    assert {r[0] for r in latest} == {datetime.fromtimestamp(OPEN_HOUR_START + 20 * 60, tz=UTC)}
    assert rows_of(settings, f"SELECT count(*) FROM {LIVE_VIEW} WHERE hour = 19") == [(4 * AIRCRAFT,)]


def test_live_views_through_the_cli(live_lake: Lake, moto_server: MotoServer,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if isinstance(live_lake, S3Lake):
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("FLIGHT_LAKE", live_lake.uri)
    assert main(["query", "SELECT count(*) AS aircraft FROM latest_states", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["aircraft", str(AIRCRAFT)]
    assert main(["query", "SELECT hour, count(*) AS n FROM live_states GROUP BY 1 ORDER BY 1", "--format",
                 "csv"]) == 0
    assert capsys.readouterr().out.split() == ["hour,n", f"18,{6 * AIRCRAFT}", f"19,{3 * AIRCRAFT}"]


def test_live_views_of_a_lake_without_snapshots_say_so(tmp_path: Any) -> None:
    lake = LocalLake(tmp_path / "lake")
    (tmp_path / "lake").mkdir()
    with pytest.raises(LakeError, match="holds no latest_states data yet"):
        run_query("SELECT * FROM latest_states", Settings(lake=lake.uri))
    with pytest.raises(LakeError, match="there is no lake at"):
        run_query("SELECT * FROM live_states", Settings(lake=str(tmp_path / "nowhere")))


def test_latest_states_of_a_lake_polled_right_now(tmp_path: Any) -> None:
    import time

    lake = LocalLake(tmp_path / "lake")
    traffic = SimulatedTraffic(AIRCRAFT, seed=3, epoch=BUILT_HOUR_START)
    land(lake, traffic.body(BUILT_HOUR_START + 60))  # an old hour, never looked at
    now = int(time.time())
    keys = [land(lake, traffic.body(now - 35)), land(lake, traffic.body(now - 5))]
    latest = rows_of(Settings(lake=lake.uri), f"SELECT {', '.join(COMPARED)} FROM {LATEST_VIEW} ORDER BY icao24")
    assert latest == independent_rows(lake, keys[1:])


def test_the_readme_live_queries(live_lake: Lake, moto_server: MotoServer) -> None:
    settings = settings_for(live_lake, moto_server)
    by_country = rows_of(settings, LIVE_AIRCRAFT_BY_COUNTRY)
    assert sum(row[1] for row in by_country) == AIRCRAFT
    assert {row[3] for row in by_country} == {datetime.fromtimestamp(OPEN_HOUR_START + 10 * 60 + 4, tz=UTC)}
    minutes = rows_of(settings, LIVE_LAST_15_MINUTES)
    # 19:00, 19:05 and 19:10 (the hour in progress); 18:50 (built) is 15 min 2 s before the newest
    assert [(m[0].hour, m[0].minute, m[1], m[2]) for m in minutes] == [
        (19, 0, 1, AIRCRAFT), (19, 5, 1, AIRCRAFT), (19, 10, 1, AIRCRAFT)]
    newest_built = rows_of(settings, LIVE_LAST_15_MINUTES.replace("15 MINUTE", "21 MINUTE"))
    assert (newest_built[0][0].hour, newest_built[0][0].minute) == (18, 50)  # built rows in the same answer
