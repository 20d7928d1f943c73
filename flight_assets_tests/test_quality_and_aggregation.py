"""The pure quality checks and the aggregation SQL, on small tables whose answers are known."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from flight_assets.states import quality
from flight_assets.states.aggregation import COUNTRY_AGGREGATES_SCHEMA, aggregate_country_hour

TS = pa.timestamp("s", tz="UTC")
HOUR = datetime(2025, 8, 30, 18, tzinfo=UTC)
T0 = int(HOUR.timestamp())


def states(**columns: list[object]) -> pa.Table:
    base: dict[str, list[object]] = {
        "snapshot_time": [T0, T0, T0 + 30], "icao24": ["a1", "b2", "a1"], "origin_country": ["X", None, "X"],
        "callsign": ["AB1", None, "AB1"], "on_ground": [False, True, False], "latitude": [1.0, None, 2.0],
        "longitude": [1.0, None, 2.0], "baro_altitude": [1000.0, 5.0, 3000.0], "velocity": [200.0, 0.0, 220.0],
        "true_track": [10.0, 20.0, 30.0], "position_source": [0, 0, 0], "category": [None, None, 1],
        "flag_stale_position": [False, False, True],
    }
    base.update(columns)
    table = pa.table(base)
    return table.set_column(0, "snapshot_time", pa.array(base["snapshot_time"], TS))


def test_aggregation_groups_unknown_country_and_counts_airborne_only() -> None:
    result = aggregate_country_hour(duckdb.connect(), states(), HOUR)
    assert result.schema == COUNTRY_AGGREGATES_SCHEMA
    rows = {r["origin_country"]: r for r in result.to_pylist()}
    assert rows["Unknown"]["states"] == 1 and rows["Unknown"]["on_ground"] == 1
    assert rows["Unknown"]["avg_baro_altitude_m"] is None  # ground rows do not drag averages down
    x = rows["X"]
    assert (x["states"], x["aircraft"], x["snapshots"], x["airborne"], x["flagged"]) == (2, 1, 2, 2, 1)
    assert x["avg_baro_altitude_m"] == 2000.0 and x["max_velocity_ms"] == 220.0
    assert x["hour_start"] == HOUR


def test_quality_thresholds() -> None:
    assert quality.quality_score(99, 100, {}).passed
    warn = quality.quality_score(95, 100, {"bad_icao24": 5})
    assert not warn.passed and warn.severity == quality.WARN and "bad_icao24 5" in warn.description
    error = quality.quality_score(80, 100, {"bad_position": 20})
    assert not error.passed and error.severity == quality.ERROR
    empty = quality.quality_score(0, 0, {})
    assert not empty.passed and empty.severity == quality.ERROR and "no rows" in empty.description
    unreadable = quality.quality_score(100, 100, {}, {"unreadable_object": 1, "wrong_hour": 0})
    assert not unreadable.passed and unreadable.severity == quality.WARN
    assert "unreadable_object 1" in unreadable.description and unreadable.metadata["objects_unreadable_object"] == 1


def test_duplicates_and_ranges_are_found() -> None:
    assert quality.no_duplicate_states(states()).passed
    dup = quality.no_duplicate_states(states(icao24=["a1", "a1", "a1"]))
    assert not dup.passed and dup.metadata["duplicates"] == 1 and "a1 at 18:00:00" in dup.description
    assert quality.value_ranges(states()).passed
    bad = quality.value_ranges(states(latitude=[91.0, None, 2.0], true_track=[360.0, 0.0, 5.0]))
    assert not bad.passed and bad.metadata["out_of_range_latitude"] == 1
    assert bad.metadata["out_of_range_true_track"] == 1


def test_completeness_lists_missing_slots() -> None:
    full = quality.completeness([T0 + 30 * k for k in range(120)], HOUR, 30)
    assert full.passed and full.metadata["completeness"] == 1.0
    gappy = quality.completeness([T0 + 30 * k for k in range(100)], HOUR, 30)
    assert not gappy.passed and gappy.severity == quality.WARN
    assert gappy.metadata["missing_slots"] == 20 and "slots with no snapshot start at 18:50:00" in gappy.description
    assert "18:50:00" in str(gappy.metadata["missing_slot_starts"])


def test_row_count_anomaly_and_reconciliation() -> None:
    assert quality.row_count_anomaly(100, [100, 110]).passed  # too little history
    assert quality.row_count_anomaly(100, [90, 100, 120]).passed
    low = quality.row_count_anomaly(40, [90, 100, 120])
    assert not low.passed and low.metadata["trailing_median_rows"] == 100
    aggregates = aggregate_country_hour(duckdb.connect(), states(), HOUR)
    assert quality.reconciliation(aggregates, 3).passed
    off = quality.reconciliation(aggregates, 4)
    assert not off.passed and off.metadata["difference"] == -1


def test_schema_contract_names_the_difference() -> None:
    expected = pa.schema([("a", pa.int64()), ("b", pa.string())])
    assert quality.schema_contract(expected, expected).passed
    got = pa.schema([("a", pa.int32()), ("c", pa.string())])
    outcome = quality.schema_contract(got, expected)
    assert not outcome.passed and "missing b" in outcome.description and "unexpected c" in outcome.description
    assert "a: int32 (expected int64)" in outcome.description


def large_hour(rows: int) -> pa.Table:
    """`rows` validated-like rows over 105 countries (and Unknown), 120 snapshots, full-precision floats.

    Built by DuckDB from hashes of the row number, so the table is the same every time; single-threaded, so the row
    order is too.
    """
    conn = duckdb.connect()
    conn.sql("SET threads = 1")
    return conn.sql(f"""
        SELECT to_timestamp({T0} + 30 * (hash(i, 1) % 120))::TIMESTAMPTZ           AS snapshot_time,
               printf('%06x', hash(i, 2) % 20000)                                   AS icao24,
               CASE WHEN hash(i, 3) % 106 = 105 THEN NULL ELSE printf('C%03d', hash(i, 3) % 106) END
                                                                                    AS origin_country,
               printf('AB%d', hash(i, 2) % 20000)                                   AS callsign,
               hash(i, 6) % 10 = 0                                                  AS on_ground,
               (hash(i, 7) % 180000) / 1000.0 - 90                                  AS latitude,
               (hash(i, 8) % 360000) / 1000.0 - 180                                 AS longitude,
               CASE WHEN hash(i, 4) % 50 = 0 THEN NULL ELSE (hash(i, 4) % 1200000) * 0.3048 / 100 END
                                                                                    AS baro_altitude,
               (hash(i, 5) % 3000000) / 1.943844 / 10000                            AS velocity,
               hash(i, 9) % 100 = 0                                                 AS flag_stale_position
        FROM range({rows}) t(i) ORDER BY i""").to_arrow_table()


def test_country_aggregates_parquet_is_byte_identical_across_runs_and_threads() -> None:
    from flight_assets.lake.parquet import write_parquet

    validated = large_hour(600_000)
    outputs = set()
    for threads in (8, 8, 8, 4, 1):  # many threads make DuckDB's plain avg() differ in the last bit run to run
        conn = duckdb.connect()
        conn.sql(f"SET threads = {threads}")
        outputs.add(write_parquet(aggregate_country_hour(conn, validated, HOUR)))
        conn.close()
    assert len(outputs) == 1, f"{len(outputs)} different files from 5 runs"
    table = aggregate_country_hour(duckdb.connect(), validated, HOUR)
    assert table.num_rows == 106 and sum(table["states"].to_pylist()) == 600_000
    # The averages are the true averages (exactly rounded sums), not merely repeatable ones.
    rows = validated.select(["origin_country", "on_ground", "baro_altitude", "velocity"]).to_pylist()
    for row in table.to_pylist()[:5]:
        country = None if row["origin_country"] == "Unknown" else row["origin_country"]
        airborne = [r for r in rows if r["origin_country"] == country and not r["on_ground"]]
        for column, name in (("baro_altitude", "avg_baro_altitude_m"), ("velocity", "avg_velocity_ms")):
            values = [r[column] for r in airborne if r[column] is not None]
            assert math.isclose(row[name], math.fsum(values) / len(values), rel_tol=1e-14)


def test_order_free_averages_keep_nan_infinity_and_absurd_values() -> None:
    table = states(
        origin_country=["X", "X", "Y"], on_ground=[False, False, False],
        baro_altitude=[1e300, 1000.0, float("nan")], velocity=[float("inf"), 200.0, 100.0],
    )
    rows = {r["origin_country"]: r for r in aggregate_country_hour(duckdb.connect(), table, HOUR).to_pylist()}
    assert rows["X"]["avg_baro_altitude_m"] == (1e300 + 1000.0) / 2 and rows["X"]["avg_velocity_ms"] == math.inf
    assert math.isnan(rows["Y"]["avg_baro_altitude_m"]) and rows["Y"]["avg_velocity_ms"] == 100.0
