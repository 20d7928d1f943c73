"""`flight_assets.analytics.query`: DuckDB views over a local and an S3 (moto) lake, example queries, output formats."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flight_assets.analytics.output import format_csv, format_json, format_table
from flight_assets.analytics.query import (
    ALTITUDE_BANDS,
    STATES_BY_COUNTRY_FOR_A_DAY,
    TABLE_VIEWS,
    QueryError,
    connect,
    example_sql,
    execute,
    run_query,
)
from flight_assets.config import Settings
from flight_assets.lake.layout import (
    COUNTRY_AGGREGATES_PREFIX,
    QUARANTINE_STATES_PREFIX,
    VALIDATED_STATES_PREFIX,
    hour_prefix,
)
from flight_assets.lake.store import Lake, LakeError, LocalLake, S3Lake
from flight_assets_tests.servers import MotoServer

HOURS = [
    datetime(2025, 8, 30, 17, tzinfo=UTC),
    datetime(2025, 8, 30, 18, tzinfo=UTC),
    datetime(2025, 8, 31, 9, tzinfo=UTC),
]
DAY = date(2025, 8, 30)
COUNTRIES = ["Germany", "France", "United States", None]  # None: OpenSky's empty origin_country
PARTITION = ("year", "month", "day", "hour")


# --------------------------------------------------------------------------------------------------------------
# Test data: a few snapshots per hour, written the way the pipeline writes them


def _validated_rows(hour: datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for snapshot in range(3):
        snapshot_time = hour + timedelta(minutes=10 * snapshot, seconds=7)
        for n in rng.sample(range(30), 14):  # aircraft recur across snapshots, hours and days
            on_ground = n % 7 == 0
            altitude = None if n % 11 == 5 else (0.0 if on_ground else rng.uniform(-50, 14_000))
            rows.append(
                {
                    "snapshot_time": snapshot_time,
                    "icao24": f"3c{n:04x}",
                    "callsign": None if n % 9 == 0 else f"DLH{n:03d}",
                    "origin_country": COUNTRIES[n % len(COUNTRIES)],
                    "time_position": snapshot_time - timedelta(seconds=n % 5),
                    "last_contact": snapshot_time - timedelta(seconds=1),
                    "longitude": rng.uniform(-10, 20),
                    "latitude": rng.uniform(40, 55),
                    "baro_altitude": altitude,
                    "on_ground": on_ground,
                    "velocity": rng.uniform(0, 260),
                    "true_track": rng.uniform(0, 360),
                    "vertical_rate": rng.uniform(-10, 10),
                    "geo_altitude": None if altitude is None else altitude + 30,
                    "squawk": f"{n:04d}",
                    "spi": False,
                    "position_source": n % 3,
                    "category": n % 8,
                    "flag_stale_position": n % 13 == 0,
                    "flag_implausible_altitude": False,
                    "flag_implausible_speed": False,
                    "flag_ground_high_altitude": False,
                    "source_key": f"{hour_prefix('raw/states', hour)}/{int(snapshot_time.timestamp())}_0a1b2c3d.json.gz",
                }
            )
    return rows


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def make_data() -> dict[datetime, dict[str, Any]]:
    """Per hour: the validated rows, the validated table, the quarantine rows and the aggregates table."""
    from flight_assets.states.aggregation import aggregate_country_hour
    from flight_assets.states.validation import QUARANTINE_SCHEMA, VALIDATED_SCHEMA

    rng = random.Random(20250830)
    data = {}
    conn = duckdb.connect()
    for hour in HOURS:
        rows = _validated_rows(hour, rng)
        validated = pa.Table.from_pylist(rows, schema=VALIDATED_SCHEMA)
        quarantine = [
            {"snapshot_time": hour, "source_key": rows[0]["source_key"], "row_index": i, "reason": reason,
             "detail": f"{reason} in row {i}", "raw_row": json.dumps(["zzzzzz", None, i])}
            for i, reason in enumerate(["bad_icao24", "bad_position"][: 1 + hour.hour % 2])
        ]  # fmt: skip
        data[hour] = {
            "rows": rows,
            "validated": validated,
            "quarantine": pa.Table.from_pylist(quarantine, schema=QUARANTINE_SCHEMA),
            "aggregates": aggregate_country_hour(conn, validated, hour),
        }
    conn.close()
    return data


DATA = make_data()


def write_lake(lake: Lake) -> None:
    for hour, tables in DATA.items():
        lake.put(
            f"{hour_prefix(VALIDATED_STATES_PREFIX, hour)}/part-0.parquet", _parquet(tables["validated"])
        )
        lake.put(
            f"{hour_prefix(QUARANTINE_STATES_PREFIX, hour)}/part-0.parquet", _parquet(tables["quarantine"])
        )
        lake.put(
            f"{hour_prefix(COUNTRY_AGGREGATES_PREFIX, hour)}/part-0.parquet", _parquet(tables["aggregates"])
        )


def settings_for(lake: Lake, moto: MotoServer) -> Settings:
    return Settings(lake=lake.uri, aws_endpoint_url=moto.url if isinstance(lake, S3Lake) else None)


@pytest.fixture
def filled(lake: Lake, moto_server: MotoServer) -> Settings:
    write_lake(lake)
    return settings_for(lake, moto_server)


# --------------------------------------------------------------------------------------------------------------
# Independent computations in plain Python


def expected_states_by_country(day: date) -> list[tuple[Any, ...]]:
    states: dict[str, int] = defaultdict(int)
    hourly: dict[str, dict[datetime, set[str]]] = defaultdict(lambda: defaultdict(set))
    for hour, tables in DATA.items():
        if hour.date() != day:
            continue
        for row in tables["rows"]:
            country = row["origin_country"] or "Unknown"
            states[country] += 1
            hourly[country][hour].add(row["icao24"])
    result = [(c, states[c], max(len(s) for s in hourly[c].values()), len(hourly[c])) for c in states]
    return sorted(result, key=lambda r: (-r[1], r[0]))


BANDS = ["ground", "< 1 km", "1-3 km", "3-6 km", "6-9 km", "9-12 km", "> 12 km", "unknown"]


def _band(row: dict[str, Any]) -> int:
    altitude = row["baro_altitude"]
    if row["on_ground"]:
        return 0
    if altitude is None:
        return 7
    return 1 + sum(altitude >= limit for limit in (1000, 3000, 6000, 9000, 12000))


def expected_altitude_bands(day: date) -> list[tuple[Any, ...]]:
    rows = [row for hour, tables in DATA.items() if hour.date() == day for row in tables["rows"]]
    bands: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        bands[_band(row)].append(row)
    return [(BANDS[b], len(rs), len({r["icao24"] for r in rs})) for b, rs in sorted(bands.items())]


def describe_views(settings: Settings) -> list[tuple[Any, ...]]:
    return query(settings, "SELECT table_name, column_name, data_type FROM information_schema.columns "
                           f"WHERE table_name IN {TABLE_VIEWS} ORDER BY table_name, ordinal_position")  # fmt: skip


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    conn = connect(settings)
    try:
        return execute(conn, sql)[1]
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------------------
# Views


def test_views_return_the_written_rows_with_hive_columns(filled: Settings) -> None:
    conn = connect(filled)
    columns, rows = execute(conn, "SELECT * FROM validated_states ORDER BY snapshot_time, icao24")
    written = sorted(
        (row for tables in DATA.values() for row in tables["rows"]),
        key=lambda r: (r["snapshot_time"], r["icao24"]),
    )
    names = list(DATA[HOURS[0]]["validated"].column_names)
    assert columns == names + list(PARTITION)
    assert [dict(zip(columns, row, strict=True)) for row in rows] == [
        {**row, "year": row["snapshot_time"].year, "month": row["snapshot_time"].month,
         "day": row["snapshot_time"].day, "hour": row["snapshot_time"].hour}
        for row in written
    ]  # fmt: skip
    types = dict(conn.sql("SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_name = 'validated_states'").fetchall())  # fmt: skip
    assert {types[c] for c in PARTITION} == {"INTEGER"}
    assert types["snapshot_time"] == "TIMESTAMP WITH TIME ZONE" and types["source_key"] == "VARCHAR"

    per_hour = execute(
        conn, "SELECT year, month, day, hour, count(*) FROM quarantined_states GROUP BY ALL ORDER BY ALL"
    )
    assert per_hour[1] == [(h.year, h.month, h.day, h.hour, len(DATA[h]["quarantine"])) for h in HOURS]

    columns, rows = execute(conn, "SELECT * FROM country_aggregates ORDER BY hour_start, origin_country")
    expected = [
        {**r, "year": r["hour_start"].year, "month": r["hour_start"].month, "day": r["hour_start"].day,
         "hour": r["hour_start"].hour}
        for h in HOURS for r in DATA[h]["aggregates"].to_pylist()
    ]  # fmt: skip
    assert [dict(zip(columns, row, strict=True)) for row in rows] == expected
    assert columns[0] == "hour_start" and columns[-4:] == list(PARTITION)
    conn.close()


def test_empty_lake_has_empty_views_with_all_columns(
    lake: Lake, moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = settings_for(lake, moto_server)
    conn = connect(settings)
    for view in TABLE_VIEWS:
        assert execute(conn, f"SELECT count(*) FROM {view}")[1] == [(0,)]
        assert execute(conn, f"SELECT * FROM {view} WHERE year = 2025 AND day = 30")[1] == []
    conn.close()
    # The same columns and types as a lake that does not exist at all (and, in the test below, one with data).
    described = describe_views(settings)
    assert described == describe_views(Settings(lake=str(tmp_path / "no-such-lake")))
    assert {name for name, *_ in described} >= set(TABLE_VIEWS)
    # run_query (the CLI) does not answer 0 rows from a table that was never written: it says so.
    missing = "there is no lake at" if isinstance(lake, LocalLake) else "holds no country_aggregates data yet"
    with pytest.raises(LakeError, match=missing):  # the local lake's folder was never made
        run_query(STATES_BY_COUNTRY_FOR_A_DAY.format(year=2025, month=8, day=30), settings)


def test_columns_missing_from_older_files_read_null(filled: Settings, lake: Lake, tmp_path: Path) -> None:
    hour = datetime(2025, 8, 29, 23, tzinfo=UTC)
    old = (
        DATA[HOURS[0]]["validated"]
        .select(["snapshot_time", "icao24", "origin_country", "baro_altitude"])
        .slice(0, 2)
    )
    lake.put(f"{hour_prefix(VALIDATED_STATES_PREFIX, hour)}/part-0.parquet", _parquet(old))
    rows = query(filled, "SELECT icao24, callsign, on_ground, category, source_key, day, hour FROM validated_states "
                         "WHERE day = 29 ORDER BY icao24")  # fmt: skip
    assert rows == sorted((icao24, None, None, None, None, 29, 23) for icao24 in old["icao24"].to_pylist())
    assert describe_views(filled) == describe_views(Settings(lake=str(tmp_path / "no-such-lake")))


def test_local_and_s3_give_identical_results(
    tmp_path: Path, s3_lake: S3Lake, moto_server: MotoServer
) -> None:
    local = LocalLake(tmp_path / "lake")
    write_lake(local)
    write_lake(s3_lake)
    local_settings, s3_settings = settings_for(local, moto_server), settings_for(s3_lake, moto_server)
    queries = [
        example_sql(STATES_BY_COUNTRY_FOR_A_DAY, DAY),
        example_sql(ALTITUDE_BANDS, DAY),
        example_sql(ALTITUDE_BANDS, date(2025, 8, 31)),
        "SELECT * FROM validated_states ORDER BY snapshot_time, icao24",
        "SELECT * FROM quarantined_states ORDER BY snapshot_time, row_index",
        "SELECT * FROM country_aggregates ORDER BY hour_start, origin_country",
        "SELECT hour, origin_country, count(*) AS n FROM validated_states WHERE day = 31 GROUP BY ALL ORDER BY ALL",
    ]
    connections = connect(local_settings), connect(s3_settings)
    for sql in queries:
        local_result, s3_result = (execute(conn, sql) for conn in connections)
        assert local_result == s3_result, sql
        for formatter in (format_table, format_csv, format_json):
            assert formatter(*local_result) == formatter(*s3_result), (sql, formatter)
    for conn in connections:
        conn.close()
    assert run_query(queries[0], local_settings, "json") == run_query(queries[0], s3_settings, "json")
    reference = describe_views(Settings(lake=str(tmp_path / "empty")))
    assert describe_views(local_settings) == describe_views(s3_settings) == reference


def test_example_queries_match_a_plain_python_computation(filled: Settings) -> None:
    for day in (DAY, date(2025, 8, 31)):
        assert query(filled, example_sql(STATES_BY_COUNTRY_FOR_A_DAY, day)) == expected_states_by_country(day)
        assert query(filled, example_sql(ALTITUDE_BANDS, day)) == expected_altitude_bands(day)
    # The templates take plain str.format placeholders too.
    assert STATES_BY_COUNTRY_FOR_A_DAY.format(year=2025, month=8, day=30) == example_sql(
        STATES_BY_COUNTRY_FOR_A_DAY, DAY
    )
    # Sanity of the fixture: the day has several countries, an Unknown one, and more than two bands.
    assert {r[0] for r in expected_states_by_country(DAY)} >= {"Germany", "France", "Unknown"}
    assert len(expected_altitude_bands(DAY)) > 4


def test_a_day_filter_reads_only_that_days_partitions(filled: Settings, lake: Lake) -> None:
    rows = query(filled, "SELECT DISTINCT year, month, day, hour FROM validated_states WHERE year = 2025 "
                         "AND month = 8 AND day = 31")  # fmt: skip
    assert rows == [(2025, 8, 31, 9)]
    assert query(filled, "SELECT count(*) FROM validated_states WHERE day = 30") == [
        (sum(len(DATA[h]["rows"]) for h in HOURS if h.day == 30),)
    ]
    if isinstance(lake, LocalLake):
        conn = connect(filled)
        plan = "\n".join(str(r[-1]) for r in conn.sql(
            "EXPLAIN ANALYZE SELECT count(*) FROM validated_states WHERE year = 2025 AND month = 8 AND day = 31"
        ).fetchall())  # fmt: skip
        conn.close()
        assert re.search(r"Scanning Files: 1/3\b", plan), plan
    else:
        # Pruned partitions are never opened: a corrupt object in another day does not disturb the day's query.
        lake.put(f"{hour_prefix(VALIDATED_STATES_PREFIX, datetime(2025, 8, 29, 3, tzinfo=UTC))}/part-0.parquet",
                 b"not parquet at all")  # fmt: skip
        assert query(
            filled, "SELECT count(*) FROM validated_states WHERE year = 2025 AND month = 8 AND day = 31"
        ) == [(len(DATA[HOURS[2]]["rows"]),)]
        with pytest.raises(QueryError):
            query(filled, "SELECT count(*) FROM validated_states")


# --------------------------------------------------------------------------------------------------------------
# Output formats and errors


def test_output_formats(filled: Settings) -> None:
    sql = ("SELECT hour_start, origin_country, states, avg_baro_altitude_m FROM country_aggregates "
           "WHERE day = 30 ORDER BY hour_start, origin_country")  # fmt: skip
    expected = [
        (r["hour_start"], r["origin_country"], r["states"], r["avg_baro_altitude_m"])
        for h in HOURS[:2] for r in DATA[h]["aggregates"].to_pylist()
    ]  # fmt: skip

    table = run_query(sql, filled).splitlines()
    assert table[0].split("|")[0].strip() == "hour_start" and [c.strip() for c in table[0].split("|")] == [
        "hour_start", "origin_country", "states", "avg_baro_altitude_m"
    ]  # fmt: skip
    assert set(table[1]) == {"-", "+"}
    assert table[-1] == f"({len(expected)} rows)"
    body = table[2:-1]
    assert len(body) == len(expected)
    bars = [m.start() for m in re.finditer(r"\|", table[0])]
    assert all([m.start() for m in re.finditer(r"\|", line)] == bars for line in body)  # aligned columns
    assert body[0].startswith("2025-08-30 17:00:00+00:00 | ")
    assert body[0].split("|")[2].strip() == str(expected[0][2]) and body[0].split("|")[2].endswith(" ")

    parsed = list(csv.reader(io.StringIO(run_query(sql, filled, "csv"))))
    assert parsed[0] == ["hour_start", "origin_country", "states", "avg_baro_altitude_m"]
    assert [(datetime.fromisoformat(a), b, int(c), float(d)) for a, b, c, d in parsed[1:]] == expected

    objects = json.loads(run_query(sql, filled, "json"))
    assert [(datetime.fromisoformat(o["hour_start"]), o["origin_country"], o["states"], o["avg_baro_altitude_m"])
            for o in objects] == expected  # fmt: skip
    assert objects[0]["hour_start"] == "2025-08-30T17:00:00+00:00"

    assert run_query("SELECT 1 AS one WHERE false", filled) == "one\n---\n(0 rows)"
    assert run_query("SELECT 1 AS one WHERE false", filled, "json") == "[]"
    assert run_query("SELECT 'x' AS s, NULL AS n, 2.5 AS d", filled).splitlines()[2] == "x | NULL | 2.5"
    assert json.loads(run_query("SELECT NULL AS n, 'nan'::DOUBLE AS f, 2.5 AS d", filled, "json")) == [
        {"n": None, "f": None, "d": 2.5}
    ]
    assert run_query("SELECT NULL AS n, 'a,b' AS s", filled, "csv") == 'n,s\n,"a,b"\n'


def test_bad_sql_raises_query_error_with_duckdbs_message(filled: Settings) -> None:
    with pytest.raises(QueryError, match=r"^Parser Error: syntax error at or near \"SELEC\"$") as info:
        run_query("SELEC * FROM validated_states", filled)
    assert "\n" not in str(info.value) and "LINE 1" in info.value.duckdb_message
    with pytest.raises(
        QueryError, match=r"Table with name states does not exist.*validated_states, quarantined"
    ):
        run_query("SELECT * FROM states", filled)
    with pytest.raises(QueryError, match=r"Referenced column \"altitude\" not found"):
        run_query("SELECT altitude FROM validated_states", filled)
    with pytest.raises(QueryError, match="no SQL"):
        run_query("  ", filled)
    with pytest.raises(QueryError, match="table, csv, json"):
        run_query("SELECT 1", filled, "xml")
    assert isinstance(QueryError("x"), ValueError)


# --------------------------------------------------------------------------------------------------------------
# `flight-assets query` on a lake that is not there or has no data for the view


@pytest.mark.slow
def test_query_command_says_when_the_lake_or_its_table_is_not_there(
    tmp_path: Path, moto_server: MotoServer, s3_lake: S3Lake
) -> None:
    from flight_assets_tests.test_cli import run_cli

    count = "SELECT count(*) AS n FROM validated_states"
    in_a_cte = "WITH x AS (SELECT * FROM country_aggregates) SELECT count(*) FROM x"
    s3 = {"AWS_ENDPOINT_URL": moto_server.url}
    cases = [
        ({"FLIGHT_LAKE": str(tmp_path / "no-such-lake")}, count,
         f"error: there is no lake at FLIGHT_LAKE={tmp_path / 'no-such-lake'}: the folder does not exist"),
        ({"FLIGHT_LAKE": "s3://no-such-bucket/lake", **s3}, count,
         f"error: bucket no-such-bucket does not exist at {moto_server.url} (FLIGHT_LAKE=s3://no-such-bucket/lake)"),
        ({"FLIGHT_LAKE": str(tmp_path)}, count,
         f"error: the lake {tmp_path} holds no validated_states data yet (nothing under validated/states/): land "
         "snapshots and build some hours first (`make demo`, or a backfill in Dagster)"),
        ({"FLIGHT_LAKE": s3_lake.uri, **s3}, in_a_cte,
         f"error: the lake {s3_lake.uri} holds no country_aggregates data yet (nothing under aggregates/"),
    ]
    for env, sql, sentence in cases:
        result = run_cli("query", sql, env=env)
        assert result.returncode == 1, (env, result.stdout)
        assert result.stdout == "" and result.stderr.startswith(sentence) and "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1
        assert run_cli("query", "SELECT 1 AS one", env=env).stdout.splitlines()[-1] == "(1 row)"  # no view read
    # A lake with data and a filter that matches nothing: 0 rows, as it should be.
    write_lake(s3_lake)
    for env in ({"FLIGHT_LAKE": s3_lake.uri, **s3},):
        none = run_cli("query", f"{count} WHERE year = 2024", env=env)
        assert none.returncode == 0 and none.stdout.splitlines() == ["n", "-", "0", "(1 row)"], none.stderr
        some = run_cli("query", count, env=env)
        assert some.returncode == 0 and some.stdout.splitlines()[2].strip() == str(
            sum(len(t["rows"]) for t in DATA.values()))


def test_missing_bucket_and_bad_bucket_names_are_sentences_for_land_and_ingest(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    from flight_assets_tests.test_cli import run_cli

    body = tmp_path / "snapshot.json"
    body.write_text('{"time": 1756577883, "states": []}')
    s3 = {"AWS_ENDPOINT_URL": moto_server.url, "OPENSKY_API_URL": "http://127.0.0.1:9"}
    for lake, bucket in (("s3://bucket with space", "bucket with space"), ("s3://Bad_Bucket/lake", "Bad_Bucket")):
        for args in (["land", str(body)], ["ingest", "--once"], ["query", "SELECT 1"]):
            result = run_cli(*args, env={"FLIGHT_LAKE": lake, **s3})
            assert result.returncode == 2, (args, result.stderr)
            assert result.stderr == (f"error: FLIGHT_LAKE={lake!r}: {bucket!r} is not a valid S3 bucket name "
                                     "(3 to 63 characters: lowercase letters, digits, dots and hyphens, beginning "
                                     "and ending with a letter or digit, no two adjacent dots, not an IP address, "
                                     "no reserved prefix (xn--, sthree-) or suffix (-s3alias, --ol-s3))\n")
    empty_bucket = run_cli("land", str(body), env={"FLIGHT_LAKE": "s3:///prefix", **s3})
    assert empty_bucket.returncode == 2 and empty_bucket.stderr.startswith(
        "error: FLIGHT_LAKE='s3:///prefix' names no bucket")
    missing = f"bucket no-such-bucket does not exist at {moto_server.url} (FLIGHT_LAKE=s3://no-such-bucket/lake)"
    landed = run_cli("land", str(body), env={"FLIGHT_LAKE": "s3://no-such-bucket/lake", **s3})
    assert landed.returncode == 1 and landed.stderr == f"error: {missing}\n"
    polled = run_cli("ingest", "--once", env={"FLIGHT_LAKE": "s3://no-such-bucket/lake", **s3})
    assert polled.returncode == 1 and "Traceback" not in polled.stderr
    assert polled.stdout.endswith(f"error: could not read the credit budget from the lake: {missing}\n")
