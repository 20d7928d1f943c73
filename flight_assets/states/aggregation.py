"""`country_aggregates`: one row per origin_country per UTC hour, computed by DuckDB over the validated rows.

Pure (no Dagster): the asset hands in a DuckDB connection and the hour's validated Arrow table; tests and the
benchmark call the same function. Altitude and speed figures are over *airborne* rows (on_ground false) with a
value, which is what an analyst means by "average altitude of a country's traffic"; ground rows would drag every
figure towards zero.

The output is byte-identical run to run (the README promises it): DuckDB's parallel avg() adds floats in whatever
order its threads finish, which changes the last bit of an average between runs, so averages are built from sums
that do not depend on the order of addition (see `_order_free_avg`).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from flight_assets.states.validation import SOFT_RULES

UNKNOWN_COUNTRY = "Unknown"  # rows whose origin_country is empty (FLARM gliders, some ADS-B) aggregate here

COUNTRY_AGGREGATES_SCHEMA = pa.schema(
    [
        # Not `hour`: that is the hive partition column (hour=HH) in DuckDB, Glue and Athena.
        pa.field("hour_start", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("origin_country", pa.string(), nullable=False),
        pa.field("states", pa.int64(), nullable=False),  # validated rows (one per aircraft per snapshot)
        pa.field("aircraft", pa.int64(), nullable=False),  # distinct icao24
        pa.field("snapshots", pa.int64(), nullable=False),  # snapshots in which the country appears
        pa.field("airborne", pa.int64(), nullable=False),
        pa.field("on_ground", pa.int64(), nullable=False),
        pa.field("positioned", pa.int64(), nullable=False),  # rows with latitude and longitude
        pa.field("callsigns", pa.int64(), nullable=False),  # distinct non-empty callsigns
        pa.field("avg_aircraft_per_snapshot", pa.float64()),
        pa.field("avg_baro_altitude_m", pa.float64()),
        pa.field("median_baro_altitude_m", pa.float64()),
        pa.field("max_baro_altitude_m", pa.float64()),
        pa.field("avg_velocity_ms", pa.float64()),
        pa.field("max_velocity_ms", pa.float64()),
        pa.field("flagged", pa.int64(), nullable=False),  # rows carrying any soft quality flag
    ]
)

# Finite values below this magnitude (any real altitude or speed) are summed exactly as DECIMAL(38, 18): 1e9 × ~1e6
# rows an hour stays far inside its 20 integer digits, and 18 decimals keep each double to ~1e-16 of its value, as
# precise as a float sum.
_EXACT_SUM_LIMIT = "1e9"


def _order_free_avg(column: str, where: str) -> str:
    """SQL for avg(column) FILTER (WHERE where) whose result does not depend on the order rows are added in.

    Ordinary values: an exact DECIMAL sum (integer arithmetic, so any order gives the same sum) divided by the count.
    NaN, ±inf and absurd magnitudes (validation keeps them, flagged) cannot be DECIMALs: they are added as floats in
    sorted order, which only costs anything in an hour that has them. The CASE, not the FILTER, guards the cast:
    DuckDB evaluates an aggregate's argument before applying its FILTER.
    """
    exact = f"abs({column}) < {_EXACT_SUM_LIMIT}"
    return (
        f"(coalesce(sum(CASE WHEN {exact} THEN {column}::DECIMAL(38, 18) END) FILTER (WHERE {where}), 0)::DOUBLE"
        f" + coalesce(list_sum(list_sort(list({column}) FILTER (WHERE {where} AND NOT {exact}))), 0))"
        f" / nullif(count({column}) FILTER (WHERE {where}), 0)"
    )


_AIRBORNE = "on_ground IS NOT TRUE"

_SQL = """
SELECT
    TIMESTAMPTZ '{hour}'                                                  AS hour_start,
    coalesce(origin_country, '{unknown}')                                 AS origin_country,
    count(*)                                                              AS states,
    count(DISTINCT icao24)                                                AS aircraft,
    count(DISTINCT snapshot_time)                                         AS snapshots,
    count(*) FILTER (WHERE on_ground IS NOT TRUE)                         AS airborne,
    count(*) FILTER (WHERE on_ground)                                     AS on_ground,
    count(*) FILTER (WHERE latitude IS NOT NULL AND longitude IS NOT NULL) AS positioned,
    count(DISTINCT callsign)                                              AS callsigns,
    count(*)::DOUBLE / count(DISTINCT snapshot_time)                      AS avg_aircraft_per_snapshot,
    {avg_baro_altitude}                                                   AS avg_baro_altitude_m,
    median(baro_altitude) FILTER (WHERE on_ground IS NOT TRUE)            AS median_baro_altitude_m,
    max(baro_altitude) FILTER (WHERE on_ground IS NOT TRUE)               AS max_baro_altitude_m,
    {avg_velocity}                                                        AS avg_velocity_ms,
    max(velocity) FILTER (WHERE on_ground IS NOT TRUE)                    AS max_velocity_ms,
    count(*) FILTER (WHERE {any_flag})                                    AS flagged
FROM validated_hour
GROUP BY 2
ORDER BY 2
"""


def aggregate_country_hour(
    conn: duckdb.DuckDBPyConnection, validated: pa.Table, hour: datetime
) -> pa.Table:
    """Per-country aggregates of one hour's validated rows, in COUNTRY_AGGREGATES_SCHEMA, sorted by country."""
    flags = [name for name in validated.column_names if name.startswith("flag_")]
    any_flag = " OR ".join(flags) if flags else "FALSE"
    conn.register("validated_hour", validated)
    try:
        sql = _SQL.format(
            unknown=UNKNOWN_COUNTRY,
            any_flag=any_flag,
            hour=hour.isoformat(),
            avg_baro_altitude=_order_free_avg("baro_altitude", _AIRBORNE),
            avg_velocity=_order_free_avg("velocity", _AIRBORNE),
        )
        result = conn.sql(sql).to_arrow_table()
    finally:
        conn.unregister("validated_hour")
    return result.cast(COUNTRY_AGGREGATES_SCHEMA)


# Which validated_states columns each aggregate column is computed from (the SQL above), for column lineage.
COLUMN_SOURCES: dict[str, tuple[str, ...]] = {
    "hour_start": ("snapshot_time",),
    "origin_country": ("origin_country",),
    "states": ("icao24",),
    "aircraft": ("icao24",),
    "snapshots": ("snapshot_time",),
    "airborne": ("on_ground",),
    "on_ground": ("on_ground",),
    "positioned": ("latitude", "longitude"),
    "callsigns": ("callsign",),
    "avg_aircraft_per_snapshot": ("icao24", "snapshot_time"),
    "avg_baro_altitude_m": ("baro_altitude", "on_ground"),
    "median_baro_altitude_m": ("baro_altitude", "on_ground"),
    "max_baro_altitude_m": ("baro_altitude", "on_ground"),
    "avg_velocity_ms": ("velocity", "on_ground"),
    "max_velocity_ms": ("velocity", "on_ground"),
    "flagged": tuple(rule.flag_column for rule in SOFT_RULES),
}
